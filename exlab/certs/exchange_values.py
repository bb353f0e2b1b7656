"""Values as Get-ExchangeCertificate writes them: services, enums, lists and culture-bound dates.

Shared by the readers of every export shape and by the lab writers, so that both sides
agree on one table of facts.

Services are flags (IMAP=1, POP=2, UM=4, IIS=8, SMTP=16, Federation=32, UMCallRouter=64),
shown as names (``IMAP, POP, IIS, SMTP``), letters in the default table (``IP.WS..``; one letter
per flag the version knows, so Exchange 2010 writes six, ``IP.WS.``, and 2007 five) or numbers
(ConvertTo-Json):

>>> services_from_flags(27), services_letters(("IMAP", "POP", "IIS", "SMTP"))
(('IMAP', 'POP', 'IIS', 'SMTP'), 'IP.WS..')
>>> parse_services("IP.WS.."), parse_services("IIS, SMTP"), parse_services("None"), parse_services(24)
(('IMAP', 'POP', 'IIS', 'SMTP'), ('IIS', 'SMTP'), (), ('IIS', 'SMTP'))
>>> parse_services("IP.WS."), parse_services("....S")
(('IMAP', 'POP', 'IIS', 'SMTP'), ('SMTP',))

Dates are the server's culture and local time, without an offset:

>>> from exlab.cultures import DATE_FORMATS, DateStyle
>>> style = DateStyle.detect(["12/2/2024 1:43:23 PM", "3/14/2027 9:12:05 AM"])
>>> style.order, style.evidence
('MDY', "'3/14/2027 9:12:05 AM' has a day above 12")
>>> style.parse("12/2/2024 1:43:23 PM")
datetime.datetime(2024, 12, 2, 13, 43, 23)
>>> DATE_FORMATS["pl-PL"].format(style.parse("12/2/2024 1:43:23 PM"))
'02.12.2024 13:43:23'

Dates are read (and the lab's writers write them) with :data:`exlab.cultures.DATE_FORMATS`, the one
table of Windows date formats; a file's day/month order is decided by :class:`exlab.cultures.DateStyle`;
this module finds the date values in a text (:func:`date_samples`).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from exlab.certs.schema import SERVICE_FLAGS, SERVICES
from exlab.value_ranges import ascii_digits

SERVICE_LETTERS = "IPUWSFC"   # the default table's Services column, one letter per flag in order
# the letters Exchange 2007 wrote (IMAP to SMTP); 2010 added Federation (F), 2013 UMCallRouter (C)
_FEWEST_LETTERS = 5

# Exchange's enums, in their numeric order (ConvertTo-Json and CliXml carry the number).
STATUSES = ("Unknown", "Valid", "Revoked", "DateInvalid", "Untrusted", "Invalid", "RevocationCheckFailure",
            "PendingRequest")
ROOT_CA_TYPES = ("None", "ThirdParty", "Enterprise", "Registry", "GroupPolicy", "Unknown")
# The properties Format-Table right-aligns: numbers, booleans and enums (PowerShell's DefaultScalarTypes);
# text, dates and lists it left-aligns.
RIGHT_ALIGNED = frozenset({"Services", "Status", "RootCAType", "HasPrivateKey", "IsSelfSigned", "PublicKeySize",
                           "Version", "Archived", "PrivateKeyExportable", "SendAsTrustedIssuer", "Handle"})

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


def _stripped(value: object) -> str:
    """``value`` stripped when it is text; a TypeError naming what it is otherwise (a damaged or
    odd export's list, object or float where Exchange writes text: the caller leaves it NA).

    >>> _stripped(" Valid ")
    'Valid'
    >>> _stripped(["a"])
    Traceback (most recent call last):
    ...
    TypeError: a list where text or a number was expected
    """
    if not isinstance(value, str):
        raise TypeError(f"a {type(value).__name__} where text or a number was expected")
    return value.strip()


def parse_services(value: str | int) -> tuple[str, ...]:
    """Services from any form an export uses (names, letters, a number); ValueError otherwise."""
    if isinstance(value, int):
        return services_from_flags(value)
    text = _stripped(value)
    if re.fullmatch(r"\d+", text):
        return services_from_flags(int(text))
    letters = services_from_letters(text)
    if letters is not None:
        return letters
    names = [part.strip() for part in text.strip("{}").split(",") if part.strip()]
    if names == ["None"]:
        return ()
    by_lower = {name.lower(): name for name in SERVICES}
    unknown = [n for n in names if n.lower() not in by_lower]
    if unknown:
        raise ValueError(f"not an Exchange service: {', '.join(unknown)}")
    wanted = {by_lower[n.lower()] for n in names}
    return tuple(name for name in SERVICES if name in wanted)


def services_from_letters(text: str) -> tuple[str, ...] | None:
    """Services from the default table's letters, or None when ``text`` is not such letters.

    Each version writes one letter per flag it knows, in flag order, ``.`` where off: Exchange
    2013 and later ``IPUWSFC`` (7), Exchange 2010 ``IPUWSF`` (6, no UMCallRouter), 2007 ``IPUWS`` (5).

    >>> services_from_letters("IP.WS.."), services_from_letters("IP.WS."), services_from_letters(".....F")
    (('IMAP', 'POP', 'IIS', 'SMTP'), ('IMAP', 'POP', 'IIS', 'SMTP'), ('Federation',))
    >>> services_from_letters("SMTP") is None, services_from_letters("IP.SW.") is None
    (True, True)
    """
    if not _FEWEST_LETTERS <= len(text) <= len(SERVICE_LETTERS):
        return None
    if not all(c in (letter, ".") for c, letter in zip(text, SERVICE_LETTERS)):
        return None
    return tuple(name for c, name in zip(text, SERVICES) if c != ".")


def parse_enum(value: str | int, names: tuple[str, ...]) -> str:
    """An enum value by name (case kept as Exchange spells it) or by number.

    >>> parse_enum(2, ROOT_CA_TYPES), parse_enum("thirdparty", ROOT_CA_TYPES), parse_enum("1", STATUSES)
    ('Enterprise', 'ThirdParty', 'Valid')
    """
    if isinstance(value, int) or ascii_digits(_stripped(value)):
        number = int(value)
        if not 0 <= number < len(names):
            raise ValueError(f"{number} is not one of {len(names)} values")
        return names[number]
    by_lower = {name.lower(): name for name in names}
    try:
        return by_lower[_stripped(value).lower()]
    except KeyError:
        raise ValueError(f"{value!r} is not one of {', '.join(names)}") from None


def parse_bool(value: str | bool) -> bool:
    """``True``/``False`` as PowerShell writes them (any case).

    >>> parse_bool("True"), parse_bool("false")
    (True, False)
    """
    if isinstance(value, bool):
        return value
    text = _stripped(value).lower()
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


def date_samples(text: str) -> list[str]:
    """Every date-and-time value in a text (what :meth:`DateStyle.detect` weighs).

    >>> date_samples("NotAfter : 3/14/2027 9:12:05 AM\\nNotBefore : 3/14/2025 9:02:05 AM")
    ['3/14/2027 9:12:05 AM', '3/14/2025 9:02:05 AM']
    """
    return [m.group(0) for m in _DATETIME.finditer(text)]


def utc_to_local(moment: datetime | pd.Timestamp, tz: str | None) -> datetime:
    """A UTC time as the server's naive local time (what Windows prints).

    >>> import pandas as pd
    >>> utc_to_local(pd.Timestamp("2024-12-02 13:43:23", tz="UTC"), "Europe/Warsaw")
    datetime.datetime(2024, 12, 2, 14, 43, 23)
    """
    return pd.Timestamp(moment).tz_convert(ZoneInfo(tz or "UTC")).to_pydatetime().replace(tzinfo=None)
