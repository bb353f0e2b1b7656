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
en-NZ      20/03/2025 2:15:04 p.m.
en-GB      20/03/2025 14:15:04
en-IE      20/03/2025 14:15:04
en-IN      20-03-2025 14:15:04
fr-FR      20/03/2025 14:15:04
fr-BE      20/03/2025 14:15:04
es-ES      20/03/2025 14:15:04
it-IT      20/03/2025 14:15:04
pt-BR      20/03/2025 14:15:04
de-DE      20.03.2025 14:15:04
de-AT      20.03.2025 14:15:04
de-CH      20.03.2025 14:15:04
pl-PL      20.03.2025 14:15:04
ru-RU      20.03.2025 14:15:04
tr-TR      20.03.2025 14:15:04
nb-NO      20.03.2025 14:15:04
nl-NL      20-3-2025 14:15:04
da-DK      20-03-2025 14:15:04
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exlab.parse_report import FileReport

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
    pad_hour: bool = True   # a 24-hour clock as HH:mm:ss rather than H:mm:ss (es-ES, nl-BE, ja-JP)

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
            clock = f"{hour:02d}:{minute:02d}:{second:02d}" if self.pad_hour else f"{hour}:{minute:02d}:{second:02d}"
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

    def writes_clock(self, text: str) -> bool:
        """Whether this culture reads ``text`` and writes its clock so: the same designators in
        the same case and with the same dots, or none (what hints at a culture, and so at an
        order, when no value settles it; padding does not: users and releases vary it).

        >>> en_au = DATE_FORMATS["en-AU"]
        >>> en_au.writes_clock("4/11/2025 10:00:00 am"), en_au.writes_clock("4/11/2025 10:00:00 AM")
        (True, False)
        """
        if not text.isascii():
            text = text.translate(_INVISIBLE)
        match = self._pattern.fullmatch(text.strip())
        if match is None or self.parse(text) is None:
            return False
        return not self.hour12 or (match["am"] or match["pm"]).strip() in (self.am, self.pm)

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
    # Checked against .NET's CultureInfo data for Windows (ShortDatePattern, LongTimePattern and
    # the designators). Left out: cultures whose patterns changed between Windows releases in ways
    # one entry cannot state (pt-PT, fr-CA), a 12-hour clock with a padded hour (en-ZA:
    # yyyy/MM/dd hh:mm:ss tt) and a time separator other than ':' (fi-FI: H.mm.ss).
    # The order matters once: when nothing in a file tells its day/month order, the first
    # culture that reads it names the order read (and the reader warns).
    "en-US": DateFormat("MDY", "/", pad_day=False, pad_month=False, hour12=True, am="AM", pm="PM"),
    # Windows 10 / Server 2016 and later; older releases wrote AM/PM in capitals
    "en-AU": DateFormat("DMY", "/", pad_day=False, pad_month=True, hour12=True, am="am", pm="pm"),
    "en-NZ": DateFormat("DMY", "/", pad_day=False, pad_month=True, hour12=True, am="a.m.", pm="p.m."),
    "en-GB": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "en-IE": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "en-IN": DateFormat("DMY", "-", pad_day=True, pad_month=True, hour12=False),
    "fr-FR": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "fr-BE": DateFormat("DMY", "/", pad_day=False, pad_month=True, hour12=False),
    "es-ES": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False, pad_hour=False),
    "it-IT": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "pt-BR": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=False),
    "de-DE": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "de-AT": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "de-CH": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "pl-PL": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "ru-RU": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False, pad_hour=False),
    "tr-TR": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "nb-NO": DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False),
    "nl-NL": DateFormat("DMY", "-", pad_day=False, pad_month=False, hour12=False),
    "da-DK": DateFormat("DMY", "-", pad_day=True, pad_month=True, hour12=False),
    "ja-JP": DateFormat("YMD", "/", pad_day=True, pad_month=True, hour12=False, pad_hour=False),
    "sv-SE": DateFormat("YMD", "-", pad_day=True, pad_month=True, hour12=False),
    # Windows 10 / Server 2016 and later (older releases wrote dd/MM/yyyy, en-GB's shape)
    "en-CA": DateFormat("YMD", "-", pad_day=True, pad_month=True, hour12=True, am="a.m.", pm="p.m."),
    # PowerShell's own string conversion ("$($cert.NotAfter)" in a script) ignores the culture
    "invariant": DateFormat("MDY", "/", pad_day=True, pad_month=True, hour12=False),
}

OLDER_FORMATS: dict[str, DateFormat] = {
    # What earlier Windows releases (.NET Framework's data for Windows 7 / Server 2008 R2) wrote
    # for cultures that have changed since: a date in one of these shapes hints at no order.
    "en-AU (Windows 7)": DateFormat("DMY", "/", pad_day=False, pad_month=True, hour12=True, am="AM", pm="PM"),
    "en-CA (Windows 7)": DateFormat("DMY", "/", pad_day=True, pad_month=True, hour12=True, am="AM", pm="PM"),
}


#: the languages of the cultures in which PowerShell wraps a long value between words (``-Wrap``, Format-List);
#: in the others it cuts the value every column's width
WORD_WRAP_LANGUAGES = ("en", "fr", "de", "it", "pt", "es")


def wraps_words(culture: str) -> bool:
    """Whether PowerShell wraps long values between words in ``culture``.

    >>> wraps_words("de-DE"), wraps_words("pl-PL")
    (True, False)
    """
    return culture.split("-")[0].lower() in WORD_WRAP_LANGUAGES


# ----------------------------------------------------------------------------- a file's date order

ORDER_WORDS = {"DMY": "day first", "MDY": "month first", "YMD": "year first"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


@dataclass(frozen=True)
class DateStyle:
    """The day/month order of one file's culture-formatted dates, and how it was decided.

    ``how`` is ``culture`` (given by the caller), ``values`` (a value only one order can read:
    a day above 12, the year first, a ``.`` separator, ...), ``hint`` (no value settles it, but
    their clock is written as only cultures of one order write it, in this or an earlier Windows
    release: lower-case ``am``/``pm``), ``ambiguous`` (nothing tells: read in the order of the first
    culture of :data:`DATE_FORMATS` that reads them all, and warned), ``overruled`` (a culture was
    given, but a value only the other order can read settles it: read as the values say, and
    warned: an export made on another machine) or ``none`` (no dates).
    Values are read with every format of the order in :data:`DATE_FORMATS`.

    >>> style = DateStyle.detect(["4/11/2025 10:00:00 am", "7/02/2028 9:30:00 am"])
    >>> style.order, style.how
    ('DMY', 'hint')
    >>> style.parse("4/11/2025 10:00:00 am")
    datetime.datetime(2025, 11, 4, 10, 0)
    >>> DateStyle.detect(["13/02/2024 14:43:23"]).evidence
    "'13/02/2024 14:43:23' has a day above 12"
    """

    order: str
    how: str
    evidence: str
    culture: str = ""     # the culture named for it: given, or the first whose dates these are
    formats: tuple[str, ...] = ()   # the cultures of the order whose shape most dates have (empty: all)

    @property
    def assumed(self) -> bool:
        """Whether no value and no culture settled the order (a hint, or nothing at all)."""
        return self.how in ("hint", "ambiguous")

    @classmethod
    def detect(cls, samples: list[str], culture: str | None = None, *, source: str = "<text>",
               where: str = "the dates") -> DateStyle:
        """Decide the order from every date of a file (``samples``), or take it from ``culture``.

        A value that no culture of the given ``culture``'s order can read, but another order
        can (a day above 12 where the culture puts the month), overrules the culture: the file
        is read as its values say, and :meth:`report_to` warns; unless the values are all in the
        shape an earlier Windows release wrote for that culture (:data:`OLDER_FORMATS`: an Exchange
        2010 or 2013 server on Windows Server 2008 R2 to 2012 R2), which is then the culture's order.
        Values only two different orders can read are a :class:`~exlab.errors.CorruptInput` naming
        ``source`` and ``where``: never a silent misreading. Values no culture reads are left to the reader
        (skipped and counted there).

        >>> DateStyle.detect(["3/14/2027 9:12:05 AM"]).evidence
        "'3/14/2027 9:12:05 AM' has a day above 12"
        >>> DateStyle.detect(["2/12/2024 1:43:23 PM"], culture="en-AU").how
        'culture'
        >>> overruled = DateStyle.detect(["13/02/2024 1:43:23 PM"], culture="en-US", source="fl.txt")
        >>> overruled.order, overruled.how
        ('DMY', 'overruled')
        """
        weights = _distinct(samples)
        readers = [(text, names) for text in weights for names in [_readers(text)] if names]
        order, how, evidence, named = _decide(readers, culture, source, where)
        return cls(order, how, evidence, named, _dominant(order, readers, weights))

    def parse(self, text: str) -> datetime:
        """A naive local datetime from one value, as any culture with this order writes it;
        ValueError when it is none of them.

        >>> style = DateStyle("DMY", "culture", "given")
        >>> style.parse("2/12/2024 1:43:23 pm"), style.parse("02.12.2024 13:43:23")
        (datetime.datetime(2024, 12, 2, 13, 43, 23), datetime.datetime(2024, 12, 2, 13, 43, 23))
        >>> style.parse("2024-12-02 13:43:23")   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: '2024-12-02 13:43:23' is not a DMY date and time as en-AU, en-NZ, ... write them
        """
        moment = self.read(text)
        if moment is None:
            names = [name for name, f in DATE_FORMATS.items() if f.order == self.order]
            raise ValueError(f"{text!r} is not a {self.order} date and time as {', '.join(names)} write them")
        return moment

    def read(self, text: str) -> datetime | None:
        """Like :meth:`parse`, but None when ``text`` is no date and time of this order.

        >>> DateStyle("MDY", "culture", "given").read("20.03.2025 14:15:04") is None
        True
        """
        return _read(text, self.order, self.formats)

    def describe(self) -> str:
        """What the parse report says about the file's dates.

        >>> DateStyle.detect(["3/14/2027 9:12:05 AM"]).describe()
        "day/month order: month first, settled by the values ('3/14/2027 9:12:05 AM' has a day above 12)"
        """
        how = {"culture": "given", "values": "settled by the values", "hint": "inferred from a hint only",
               "ambiguous": "AMBIGUOUS", "overruled": "settled by the values AGAINST THE CULTURE GIVEN",
               "none": "no dates"}[self.how]
        return f"day/month order: {ORDER_WORDS[self.order]}, {how} ({self.evidence})"

    def report_to(self, report: FileReport) -> None:
        """Write the decision into a file's parse report: a note when the culture or the values
        settled it; a warning instead (once, naming the file; the report keeps its text) when the
        order was inferred from a hint only, stays ambiguous or overrules the culture given.

        >>> import warnings
        >>> from exlab.parse_report import FileReport
        >>> report = FileReport("fl.txt", "", "exchange-list")
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     DateStyle.detect(["4/11/2025 10:00:00 AM"]).report_to(report)
        >>> caught[0].filename
        'fl.txt'
        >>> print(caught[0].message)     # doctest: +NORMALIZE_WHITESPACE
        the day/month order of its dates is ambiguous: nothing tells the order: 4/11/2025 10:00:00 AM =
        11 April 2025 (month first) or 4 November 2025 (day first); read month first as en-US writes.
        Pass the server's culture (culture= or --culture, e.g. en-AU) to read them right
        >>> report.warnings == [str(caught[0].message)]      # kept once, not beside a note that says it again
        True
        """
        if self.how == "none":
            return
        if self.how in ("culture", "values"):
            report.note(self.describe())
            return
        if self.how == "hint":
            message = (f"the day/month order of its dates was inferred from a hint only: read "
                       f"{ORDER_WORDS[self.order]}: {self.evidence}. Pass the server's culture (culture= or "
                       "--culture) to be sure")
        elif self.how == "ambiguous":
            message = (f"the day/month order of its dates is ambiguous: {self.evidence}. Pass the "
                       "server's culture (culture= or --culture, e.g. en-AU) to read them right")
        elif self.how == "overruled":
            message = (f"the day/month order of its dates contradicts the culture given: {self.evidence}; read "
                       f"{ORDER_WORDS[self.order]} as its values say (was it exported on another machine?)")
        from exlab.errors import AssumptionWarning

        report.warn(message, None, AssumptionWarning)


def _decide(readers: list[tuple[str, list[str]]], culture: str | None, source: str,
            where: str) -> tuple[str, str, str, str]:
    """Order, how it was decided, the evidence and the culture named (see :meth:`DateStyle.detect`)."""
    from exlab.errors import CorruptInput

    if culture is not None:
        if culture not in DATE_FORMATS:
            raise ValueError(f"unknown culture {culture!r}; known: {', '.join(DATE_FORMATS)}")
        older = _older_shape(culture, readers)
        if older is not None:
            order = OLDER_FORMATS[older].order
            first = next((n for n in DATE_FORMATS if DATE_FORMATS[n].order == order
                          and all(n in names for _, names in readers)), culture)
            return (order, "culture", f"culture={culture} given, its dates written as {older} wrote them "
                                      f"({OLDER_FORMATS[older].example}): {ORDER_WORDS[order]}", first)
        given = DATE_FORMATS[culture]
        for text, names in readers:
            if all(DATE_FORMATS[name].order != given.order for name in names):
                order, _, _, first = _decide(readers, None, source, where)
                return (order, "overruled", f"culture={culture} given, but {text!r} can only be read "
                                            f"{_read_as(names)}", first)
        return (given.order, "culture", f"culture={culture} given", culture)
    if not readers:
        return ("MDY", "none", "no dates", "")
    possible = [order for order in ORDERS
                if all(any(DATE_FORMATS[n].order == order for n in names) for _, names in readers)]
    if not possible:
        settled = {DATE_FORMATS[names[0]].order: text for text, names in readers
                   if len({DATE_FORMATS[n].order for n in names}) == 1}
        shown = " and ".join(f"{text!r} ({ORDER_WORDS[order]})" for order, text in settled.items())
        raise CorruptInput(source, where, "dates in one culture's order", f"dates in different orders: {shown}")
    if len(possible) == 1:
        first = next(n for _, names in readers for n in names if DATE_FORMATS[n].order == possible[0])
        return (possible[0], "values", _why_settled(possible[0], readers), first)
    shapes = {**DATE_FORMATS, **OLDER_FORMATS}
    exact = [name for name, date_format in shapes.items()
             if date_format.order in possible and all(date_format.writes_clock(text) for text, _ in readers)]
    if len({shapes[name].order for name in exact}) == 1:
        text = readers[0][0]
        order = shapes[exact[0]].order
        others = " or ".join(ORDER_WORDS[o] for o in possible if o != order)
        return (order, "hint", f"no value settles it, but {text!r} has the clock of {', '.join(exact)} "
                               f"({ORDER_WORDS[order]}), which no {others} culture writes",
                next((n for n in exact if n in DATE_FORMATS), exact[0].split()[0]))
    reading = [name for name in DATE_FORMATS if DATE_FORMATS[name].order in possible
               and all(name in names for _, names in readers)]
    first = (reading or [name for name in DATE_FORMATS if DATE_FORMATS[name].order in possible])[0]
    order = DATE_FORMATS[first].order
    text = next((text for text, _ in readers if _readings(text, possible)[0] != _readings(text, possible)[1]),
                readers[0][0])
    readings = " or ".join(f"{_day_text(moment)} ({ORDER_WORDS[o]})"
                           for o, moment in zip(possible, _readings(text, possible)))
    return (order, "ambiguous", f"nothing tells the order: {text} = {readings}; read "
                                f"{ORDER_WORDS[order]} as {first} writes", first)


def _older_shape(culture: str, readers: list[tuple[str, list[str]]]) -> str | None:
    """The :data:`OLDER_FORMATS` entry of ``culture`` in which every date is written, when its current
    shape does not read them all; None otherwise. Exchange 2010 and 2013 run on Windows Server 2008 R2
    to 2012 R2, whose en-CA wrote ``20/03/2025 2:15:04 PM`` (day first), not ``2025-03-20 2:15:04 p.m.``.

    >>> _older_shape("en-CA", [("03/04/2025 2:15:04 PM", ["en-US", "en-AU", "en-NZ"])])
    'en-CA (Windows 7)'
    >>> _older_shape("en-CA", [("2025-04-03 2:15:04 p.m.", ["en-CA"])]) is None
    True
    """
    texts = [text for text, _ in readers]
    if not texts or all(DATE_FORMATS[culture].parse(text) is not None for text in texts):
        return None
    return next((name for name, date_format in OLDER_FORMATS.items() if name.split(" ", 1)[0] == culture
                 and all(date_format.parse(text) is not None for text in texts)), None)


def _dominant(order: str, readers: list[tuple[str, list[str]]], weights: dict[str, float]) -> tuple[str, ...]:
    """The cultures of ``order`` that read the most of the dates: the file's own shape, so that
    a value in another shape (a 24-hour clock among AM/PM ones) is a bad record, not a date."""
    counts = {name: sum(weights[text] for text, names in readers if name in names)
              for name, date_format in DATE_FORMATS.items() if date_format.order == order}
    best = max(counts.values(), default=0)
    return tuple(name for name, count in counts.items() if count == best) if best else ()


def _distinct(samples: list[str], keep: int = 3) -> dict[str, float]:
    """At most ``keep`` samples of each shape (digits masked, and whether each of the first two
    numbers is above 12: what tells orders apart, so that a big file decides fast), each with
    the share of the file's dates it stands for.

    >>> _distinct(["1/02/2025 9:00:00 am"] * 4 + ["13/02/2025 9:00:00 am"], keep=2)
    {'1/02/2025 9:00:00 am': 4.0, '13/02/2025 9:00:00 am': 1.0}
    """
    kept: dict[tuple, list[str]] = {}
    totals: dict[tuple, int] = {}
    for text in samples:
        numbers = re.findall(r"[0-9]+", text)[:2]
        key = (re.sub(r"[0-9]", "9", text), *(len(n) == 4 or int(n) > 12 for n in numbers))
        totals[key] = totals.get(key, 0) + 1
        if len(kept.setdefault(key, [])) < keep:
            kept[key].append(text)
    weights: dict[str, float] = {}
    for key, texts in kept.items():
        for text in texts:
            weights[text] = weights.get(text, 0) + totals[key] / len(texts)
    return weights


def _readers(text: str) -> list[str]:
    """The cultures of :data:`DATE_FORMATS` that read ``text``."""
    return [name for name, date_format in DATE_FORMATS.items() if date_format.parse(text) is not None]


def _read(text: str, order: str, names: tuple[str, ...] = ()) -> datetime | None:
    return next((moment for name, f in DATE_FORMATS.items() if f.order == order and (not names or name in names)
                 for moment in [f.parse(text)] if moment is not None), None)


def _read_as(names: list[str]) -> str:
    orders = dict.fromkeys(DATE_FORMATS[name].order for name in names)
    return " or ".join(ORDER_WORDS[order] for order in orders) + f" ({', '.join(names)})"


def _why_settled(order: str, readers: list[tuple[str, list[str]]]) -> str:
    """The first value only ``order`` reads, and why."""
    for text, names in readers:
        if {DATE_FORMATS[name].order for name in names} == {order}:
            moment = _read(text, order)
            if order != "YMD" and moment is not None and moment.day > 12:
                return f"{text!r} has a day above 12"
            return f"{text!r} is written {ORDER_WORDS[order]} only ({', '.join(names)})"
    return "the values together"


def _readings(text: str, orders: list[str]) -> list[datetime | None]:
    return [_read(text, order) for order in orders]


def _day_text(moment: datetime | None) -> str:
    return "no date" if moment is None else f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"
