"""Values as Get-ExchangeCertificate writes them: services, enums, lists and culture-bound dates.

Shared by the readers of every export shape and by the lab writers, so that both sides
agree on one table of facts.

Services are flags (IMAP=1, POP=2, UM=4, IIS=8, SMTP=16, Federation=32, UMCallRouter=64),
shown as names (``IMAP, POP, IIS, SMTP``), letters in the default table (``IP.WS..``) or
numbers (ConvertTo-Json):

>>> services_from_flags(27), services_letters(("IMAP", "POP", "IIS", "SMTP"))
(('IMAP', 'POP', 'IIS', 'SMTP'), 'IP.WS..')
>>> parse_services("IP.WS.."), parse_services("IIS, SMTP"), parse_services("None"), parse_services(24)
(('IMAP', 'POP', 'IIS', 'SMTP'), ('IIS', 'SMTP'), (), ('IIS', 'SMTP'))

Dates are the server's culture and local time, without an offset:

>>> style = DateStyle.detect(["12/2/2024 1:43:23 PM", "3/14/2027 9:12:05 AM"])
>>> style.order, style.evidence
('MDY', 'a month-day value above 12 (3/14/2027 9:12:05 AM)')
>>> style.parse("12/2/2024 1:43:23 PM")
datetime.datetime(2024, 12, 2, 13, 43, 23)
>>> DATE_FORMATS["pl-PL"].format(style.parse("12/2/2024 1:43:23 PM"))
'02.12.2024 13:43:23'

Dates are read (and the lab's writers write them) with :data:`exlab.cultures.DATE_FORMATS`, the one
table of Windows date formats; what this module adds is deciding a file's day/month order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from exlab.certs.schema import SERVICE_FLAGS, SERVICES
from exlab.cultures import DATE_FORMATS

SERVICE_LETTERS = "IPUWSFC"   # the default table's Services column, one letter per flag in order

# Exchange's enums, in their numeric order (ConvertTo-Json and CliXml carry the number).
STATUSES = ("Unknown", "Valid", "Revoked", "DateInvalid", "Untrusted", "Invalid", "RevocationCheckFailure",
            "PendingRequest")
ROOT_CA_TYPES = ("None", "ThirdParty", "Enterprise", "Registry", "GroupPolicy", "Unknown")

_TYPE_NAME = re.compile(r"^(?:Deserialized\.)?(?:System|Microsoft)\.[\w.`+]+(?:\[.*\])?$")


def services_from_flags(value: int) -> tuple[str, ...]:
    """The service names set in a flags number, in Exchange's order."""
    return tuple(name for name, flag in SERVICE_FLAGS.items() if value & flag)


def services_flags(services: tuple[str, ...]) -> int:
    """The flags number of service names.

    >>> services_flags(("IIS", "SMTP"))
    24
    """
    return sum(SERVICE_FLAGS[name] for name in services)


def services_text(services: tuple[str, ...]) -> str:
    """Services as the enum's ToString writes them: ``IMAP, POP, IIS, SMTP`` or ``None``.

    >>> services_text(()), services_text(("IIS", "SMTP"))
    ('None', 'IIS, SMTP')
    """
    return ", ".join(services) if services else "None"


def services_letters(services: tuple[str, ...]) -> str:
    """Services as the default table shows them: ``IPUWSFC`` with ``.`` where a service is off."""
    return "".join(letter if name in services else "." for letter, name in zip(SERVICE_LETTERS, SERVICES))


def parse_services(value: str | int) -> tuple[str, ...]:
    """Services from any form an export uses (names, letters, a number); ValueError otherwise."""
    if isinstance(value, int):
        return services_from_flags(value)
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return services_from_flags(int(text))
    if len(text) == len(SERVICE_LETTERS) and all(c in (letter, ".") for c, letter in zip(text, SERVICE_LETTERS)):
        return tuple(name for c, name in zip(text, SERVICES) if c != ".")
    names = [part.strip() for part in text.strip("{}").split(",") if part.strip()]
    if names == ["None"]:
        return ()
    by_lower = {name.lower(): name for name in SERVICES}
    unknown = [n for n in names if n.lower() not in by_lower]
    if unknown:
        raise ValueError(f"not an Exchange service: {', '.join(unknown)}")
    wanted = {by_lower[n.lower()] for n in names}
    return tuple(name for name in SERVICES if name in wanted)


def parse_enum(value: str | int, names: tuple[str, ...]) -> str:
    """An enum value by name (case kept as Exchange spells it) or by number.

    >>> parse_enum(2, ROOT_CA_TYPES), parse_enum("thirdparty", ROOT_CA_TYPES), parse_enum("1", STATUSES)
    ('Enterprise', 'ThirdParty', 'Valid')
    """
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if not 0 <= number < len(names):
            raise ValueError(f"{number} is not one of {len(names)} values")
        return names[number]
    by_lower = {name.lower(): name for name in names}
    try:
        return by_lower[value.strip().lower()]
    except KeyError:
        raise ValueError(f"{value!r} is not one of {', '.join(names)}") from None


def parse_bool(value: str | bool) -> bool:
    """``True``/``False`` as PowerShell writes them (any case).

    >>> parse_bool("True"), parse_bool("false")
    (True, False)
    """
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"{value!r} is not True or False")
    return text == "true"


def is_type_name(text: str) -> bool:
    """Whether a value is a .NET type name, what Export-Csv writes for a list it cannot flatten.

    >>> is_type_name("System.Collections.ArrayList"), is_type_name("mail.contoso.com")
    (True, False)
    """
    return bool(_TYPE_NAME.match(text.strip()))


def parse_list(text: str) -> tuple[list[str], bool]:
    """A ``{a, b, c...}`` list as Format-List prints it: the items, and whether it was cut short
    (``$FormatEnumerationLimit``, 4 by default, ends it with ``...``).

    >>> parse_list("{mail.contoso.com, autodiscover.contoso.com}")
    (['mail.contoso.com', 'autodiscover.contoso.com'], False)
    >>> parse_list("{a.contoso.com, b.contoso.com, c.contoso.com, d.contoso.com...}")
    (['a.contoso.com', 'b.contoso.com', 'c.contoso.com', 'd.contoso.com'], True)
    >>> parse_list("{}")
    ([], False)
    """
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    truncated = body.endswith(("...", "\u2026"))
    body = body.removesuffix("...").removesuffix("\u2026")
    return [item.strip() for item in body.split(",") if item.strip()], truncated


# ----------------------------------------------------------------------------- dates

_DATETIME = re.compile(
    r"(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})[ T]+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2})(?:\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?))?")


@dataclass(frozen=True)
class DateStyle:
    """The date order of one file, and what it was decided from (for the parse report).

    Its values are read with the formats of :data:`exlab.cultures.DATE_FORMATS` in that order.
    """

    order: str
    evidence: str
    assumed: bool = False

    @classmethod
    def detect(cls, samples: list[str], culture: str | None = None) -> DateStyle:
        """Decide the order from all the dates in a file, or from ``culture`` when given.

        A day above 12 settles it; so does a 4-digit first number (year first) or a ``.``
        separator (always day first). Otherwise: upper-case ``AM/PM`` means en-US (month
        first), lower-case ``am/pm`` en-AU, a 24-hour ``/`` date en-GB/fr-FR (day first),
        and ``assumed`` is set so the reader can say so.

        >>> DateStyle.detect(["02/12/2024 13:43:23"]).order, DateStyle.detect(["02/12/2024 13:43:23"]).assumed
        ('DMY', True)
        >>> DateStyle.detect(["2/12/2024 1:43:23 PM"], culture="en-AU").order
        'DMY'
        """
        if culture is not None:
            if culture not in DATE_FORMATS:
                raise ValueError(f"unknown culture {culture!r}; known: {', '.join(DATE_FORMATS)}")
            return cls(DATE_FORMATS[culture].order, f"culture={culture} given")
        matches = [(m, text) for text in samples for m in [_DATETIME.search(text)] if m]
        if not matches:
            return cls("YMD", "no dates", assumed=True)
        for m, text in matches:
            if len(m["a"]) == 4:
                return cls("YMD", f"year first ({text})")
            if m["sep"] == ".":
                return cls("DMY", f"'.' date separator ({text})")
        month_first = [text for m, text in matches if int(m["b"]) > 12]
        day_first = [text for m, text in matches if int(m["a"]) > 12]
        if month_first and day_first:
            raise ValueError(f"dates in both orders: {day_first[0]} and {month_first[0]}")
        if month_first:
            return cls("MDY", f"a month-day value above 12 ({month_first[0]})")
        if day_first:
            return cls("DMY", f"a day above 12 ({day_first[0]})")
        ampm = [m["ampm"] for m, _ in matches if m["ampm"]]
        if ampm and all(marker.isupper() for marker in ampm):
            return cls("MDY", "no day above 12; upper-case AM/PM as en-US writes", assumed=True)
        if ampm:
            return cls("DMY", "no day above 12; lower-case am/pm as en-AU writes", assumed=True)
        return cls("DMY", "no day above 12; 24-hour clock with '/' as en-GB/fr-FR write", assumed=True)

    def parse(self, text: str) -> datetime:
        """A naive local datetime from one value, as any culture with this order writes it;
        ValueError when it is none of them.

        >>> style = DateStyle("DMY", "given")
        >>> style.parse("2/12/2024 1:43:23 pm"), style.parse("02.12.2024 13:43:23")
        (datetime.datetime(2024, 12, 2, 13, 43, 23), datetime.datetime(2024, 12, 2, 13, 43, 23))
        >>> style.parse("2024-12-02 13:43:23")   # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: '2024-12-02 13:43:23' is not a DMY date and time as en-AU, en-GB, ... write them
        """
        formats = {name: f for name, f in DATE_FORMATS.items() if f.order == self.order}
        for date_format in formats.values():
            moment = date_format.parse(text)
            if moment is not None:
                return moment
        raise ValueError(f"{text!r} is not a {self.order} date and time as {', '.join(formats)} write them")


def date_samples(text: str) -> list[str]:
    """Every date-and-time value in a text (what :meth:`DateStyle.detect` weighs).

    >>> date_samples("NotAfter : 3/14/2027 9:12:05 AM\\nNotBefore : 3/14/2025 9:02:05 AM")
    ['3/14/2027 9:12:05 AM', '3/14/2025 9:02:05 AM']
    """
    return [m.group(0) for m in _DATETIME.finditer(text)]


def local_to_utc(moment: datetime, tz: str | None) -> pd.Timestamp:
    """A naive local time in ``tz`` (UTC when None) as a UTC Timestamp (first of a repeated hour).

    >>> from datetime import datetime
    >>> local_to_utc(datetime(2024, 12, 2, 14, 43, 23), "Europe/Warsaw")
    Timestamp('2024-12-02 13:43:23+0000', tz='UTC')
    """
    zone = ZoneInfo(tz or "UTC")
    return pd.Timestamp(moment.replace(tzinfo=zone)).tz_convert("UTC")


def utc_to_local(moment: datetime | pd.Timestamp, tz: str | None) -> datetime:
    """A UTC time as the server's naive local time (what Windows prints).

    >>> import pandas as pd
    >>> utc_to_local(pd.Timestamp("2024-12-02 13:43:23", tz="UTC"), "Europe/Warsaw")
    datetime.datetime(2024, 12, 2, 14, 43, 23)
    """
    return pd.Timestamp(moment).tz_convert(ZoneInfo(tz or "UTC")).to_pydatetime().replace(tzinfo=None)
