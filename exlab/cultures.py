"""How Windows cultures write a local date and time: one table for every reader and writer.

``DateTime.ToString()`` in a culture is its short date, a space and its long time, in local
time with no offset. Get-ExchangeCertificate's ``NotBefore``/``NotAfter`` in a console, a
Format-List or an Export-Csv file are written that way, and so is the "Date and Time" column
of Event Viewer's CSV/TXT exports (in the UI language's culture). :data:`DATE_FORMATS` says
how each culture the lab and the readers know writes 2025-03-20 14:15:04 (see ``example``):

>>> for name, date_format in DATE_FORMATS.items():
...     print(f"{name:9}  {date_format.example}")
en-US      3/20/2025 2:15:04 PM
en-AU      20/03/2025 2:15:04 pm
en-GB      20/03/2025 14:15:04
fr-FR      20/03/2025 14:15:04
de-DE      20.03.2025 14:15:04
pl-PL      20.03.2025 14:15:04
nl-NL      20-3-2025 14:15:04
ja-JP      2025/03/20 14:15:04
sv-SE      2025-03-20 14:15:04
en-CA      2025-03-20 2:15:04 p.m.
invariant  03/20/2025 14:15:04

Parsing is strict about what tells cultures apart (the separator, the place of the year, the
12- or 24-hour clock and its designators) and checks the values (a month of 1-12, a day the
month has, an hour the clock has). It is lenient where Windows users and versions vary:
leading zeros may be there or not (``5.3.2025``, ja-JP's own ``2025/03/20 9:01:02``; a
year ``25`` is the year 25, not 2025), designators in any case and with or without dots
(``a.m.``, ``p. m.`` as the Spanish and Canadian cultures write them), more than one space,
and the bidi marks some exports put around dates.

>>> DATE_FORMATS["de-DE"].parse("29.02.2024 09:01:02")
datetime.datetime(2024, 2, 29, 9, 1, 2)
>>> DATE_FORMATS["de-DE"].parse("29.02.2025 09:01:02") is None      # 2025 is no leap year
True
>>> DATE_FORMATS["en-GB"].parse("20.03.2025 14:15:04") is None      # de-DE's separator
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

LocalTime = tuple[int, int, int, int, int, int]  # year, month, day, hour, minute, second

ORDERS = ("MDY", "DMY", "YMD")
_EXAMPLE = datetime(2025, 3, 20, 14, 15, 4)
_INVISIBLE = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e"))  # bidi marks


@dataclass(frozen=True)
class DateFormat:
    """A culture's short date and long time: field order, separator, padding and clock.

    >>> DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False).format((2025, 3, 5, 9, 1, 2))
    '05.03.2025 09:01:02'
    >>> DateFormat("MDY", "/", pad_day=False, pad_month=False, hour12=True)
    Traceback (most recent call last):
    ...
    ValueError: a 12-hour clock needs its AM and PM designators
    """

    order: str              # "MDY", "DMY" or "YMD"
    separator: str          # between the date's three numbers
    pad_day: bool           # 05.03.2025 rather than 5.03.2025
    pad_month: bool         # 5/03/2025 (en-AU: d/MM/yyyy) rather than 5/3/2025
    hour12: bool            # h:mm:ss with a designator; else HH:mm:ss
    am: str = ""            # the designators of a 12-hour clock, as the culture writes them
    pm: str = ""

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {self.order!r}")
        if self.hour12 != bool(self.am and self.pm):
            raise ValueError("a 12-hour clock needs its AM and PM designators" if self.hour12
                             else "a 24-hour clock has no AM and PM designators")

    def format(self, moment: datetime | LocalTime) -> str:
        """A local time (a datetime, whose offset is ignored, or its six fields) as this culture writes it.

        >>> en_us = DATE_FORMATS["en-US"]
        >>> en_us.format(datetime(2024, 12, 2, 0, 5, 0)), en_us.format((2024, 12, 2, 12, 5, 0))
        ('12/2/2024 12:05:00 AM', '12/2/2024 12:05:00 PM')
        >>> DATE_FORMATS["en-AU"].format(datetime(2025, 3, 4, 9, 2, 5))
        '4/03/2025 9:02:05 am'
        """
        if isinstance(moment, datetime):
            moment = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
        year, month, day, hour, minute, second = moment
        day_text = f"{day:02d}" if self.pad_day else str(day)
        month_text = f"{month:02d}" if self.pad_month else str(month)
        year_text = f"{year:04d}"
        fields = {"MDY": (month_text, day_text, year_text), "DMY": (day_text, month_text, year_text),
                  "YMD": (year_text, month_text, day_text)}[self.order]
        if self.hour12:
            clock = f"{hour % 12 or 12}:{minute:02d}:{second:02d} {self.pm if hour >= 12 else self.am}"
        else:
            clock = f"{hour:02d}:{minute:02d}:{second:02d}"
        return f"{self.separator.join(fields)} {clock}"

    def parse(self, text: str) -> datetime | None:
        """The naive local datetime ``text`` holds in this format, or None when it is not one.

        >>> en_us = DATE_FORMATS["en-US"]
        >>> en_us.parse("3/20/2025 2:15:04 PM"), en_us.parse("12/1/2024 12:05:00 a.m.")
        (datetime.datetime(2025, 3, 20, 14, 15, 4), datetime.datetime(2024, 12, 1, 0, 5))
        >>> en_us.parse("3/20/2025 14:15:04"), en_us.parse("3/20/2025 13:15:04 PM"), en_us.parse("20/3/2025 2:15:04 PM")
        (None, None, None)
        """
        if not text.isascii():
            text = text.translate(_INVISIBLE)
        match = self._pattern.fullmatch(text.strip())
        if match is None:
            return None
        hour = int(match["hour"])
        if self.hour12:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if match["pm"] else 0)
        try:
            return datetime(int(match["year"]), int(match["month"]), int(match["day"]), hour,
                            int(match["minute"]), int(match["second"]))
        except ValueError:  # no such month, day or time
            return None

    @property
    def example(self) -> str:
        """How this culture writes 2025-03-20 14:15:04 (for messages that say what was expected).

        >>> DATE_FORMATS["nl-NL"].example
        '20-3-2025 14:15:04'
        """
        return self.format(_EXAMPLE)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        numbers = {"D": r"(?P<day>[0-9]{1,2})", "M": r"(?P<month>[0-9]{1,2})", "Y": r"(?P<year>[0-9]{1,4})"}
        date = re.escape(self.separator).join(numbers[part] for part in self.order)
        clock = r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
        if self.hour12:
            clock += rf"\s*(?:(?P<am>{_designator(self.am)})|(?P<pm>{_designator(self.pm)}))"
        return re.compile(rf"{date}\s+{clock}")


def _designator(text: str) -> str:
    """A pattern of a designator in any case, with or without dots and spaces between its letters."""
    letters = [re.escape(letter) for letter in text if letter not in ". "]
    return "(?i:" + r"[.\s]*".join(letters) + r"\.?)"


DATE_FORMATS: dict[str, DateFormat] = {
    "en-US": DateFormat("MDY", "/", pad_day=False, pad_month=False, hour12=True, am="AM", pm="PM"),
    "en-AU": DateFormat("DMY", "/", pad_day=False, pad_month=True, hour12=True, am="am", pm="pm"),
    "en-GB": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "fr-FR": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "de-DE": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "pl-PL": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "nl-NL": DateFormat("DMY", "-", pad_day=False, pad_month=False, hour12=False),
    "ja-JP": DateFormat("YMD", "/", pad_day=True, pad_month=True, hour12=False),
    "sv-SE": DateFormat("YMD", "-", pad_day=True, pad_month=True, hour12=False),
    # Windows 10 / Server 2016 and later (older releases wrote dd/MM/yyyy, en-GB's shape)
    "en-CA": DateFormat("YMD", "-", pad_day=True, pad_month=True, hour12=True, am="a.m.", pm="p.m."),
    # PowerShell's own string conversion ("$($cert.NotAfter)" in a script) ignores the culture
    "invariant": DateFormat("MDY", "/", pad_day=True, pad_month=True, hour12=False),
}
