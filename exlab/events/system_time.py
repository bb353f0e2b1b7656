"""``System/TimeCreated/@SystemTime`` as text: ISO 8601 UTC with up to 9 fractional digits.

Windows writes 7 digits (100-ns FILETIME ticks); pyevtx-rs renders 6, python-evtx
puts a space between date and time. Times are kept as integer nanoseconds since
1970-01-01 UTC, so no digit is lost on the way.

>>> format_system_time(parse_system_time("2025-03-20T13:15:04.1234567Z"))
'2025-03-20T13:15:04.1234567Z'
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_SYSTEM_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?")
_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


def parse_system_time(text: str) -> int:
    """Nanoseconds since the epoch (UTC) of a ``SystemTime`` attribute (up to 9 fractional digits).

    >>> parse_system_time("2025-03-20T13:15:04.1234567Z")
    1742476504123456700
    >>> parse_system_time("2020-09-20T06:30:07.000000000Z") == parse_system_time("2020-09-20T06:30:07Z")
    True
    """
    match = _SYSTEM_TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"SystemTime {text!r} is not an ISO 8601 UTC time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8) or "Z"
    try:
        days = datetime(year, month, day, hour, minute, second).toordinal() - _EPOCH_ORDINAL
    except ValueError as err:
        raise ValueError(f"SystemTime {text!r} is not a valid date ({err})") from None
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset * 60
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


def format_system_time(ns: int) -> str:
    """The ``SystemTime`` Windows writes for a time: 7 fractional digits (100 ns) and ``Z``.

    Times finer than 100 ns (not from Windows) keep 9 digits.

    >>> format_system_time(1742476504123456700)
    '2025-03-20T13:15:04.1234567Z'
    """
    seconds, rest = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{rest // 100:07d}" if rest % 100 == 0 else f"{rest:09d}"
    return f"{stamp}.{fraction}Z"
