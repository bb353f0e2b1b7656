"""Local wall times of exports without an offset (Event Viewer CSV/TXT, Get-WinEvent | Export-Csv)
read in the server's time zone, to nanoseconds since the epoch (UTC)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exlab.errors import ExlabError
from exlab.events.query import EventQuery
from exlab.parse_report import FileReport

_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


def local_to_utc(query: EventQuery, report: FileReport) -> Callable[[datetime], int | None]:
    """A function from naive local times (in the query's tz, or UTC) to ns since the epoch (UTC),
    None for a time inside a daylight saving gap; the first of a repeated hour is taken and noted.
    The time zone used (or UTC assumed) goes into ``report``.

    >>> from exlab.parse_report import FileReport
    >>> report = FileReport("a.csv", "", "event-viewer-csv")
    >>> to_utc = local_to_utc(EventQuery.build(tz="Europe/Warsaw"), report)
    >>> to_utc(datetime(2025, 3, 20, 14, 15, 4)), to_utc(datetime(2025, 3, 30, 2, 30)), report.assumed_tz
    (1742476504000000000, None, 'Europe/Warsaw')
    """
    if query.tz is None:
        report.assume_tz("UTC", "the export writes local times without an offset and no time zone was given")
        zone = timezone.utc
    else:
        try:
            zone = ZoneInfo(query.tz)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ExlabError(report.file, None, "an IANA time zone name such as Europe/Warsaw",
                             f"tz={query.tz!r} is unknown") from err
        report.assumed_tz = query.tz
        report.note(f"local times read as {query.tz} (given)")
    ambiguous: list[int] = []

    @functools.lru_cache(maxsize=4096)
    def hour_start(year: int, month: int, day: int, hour: int) -> int | None:
        """Seconds since the epoch (UTC) at the start of a local hour; None inside a DST gap."""
        local = datetime(year, month, day, hour, tzinfo=zone)
        offset = local.utcoffset()
        back = (local - offset).replace(tzinfo=timezone.utc).astimezone(zone)
        if back.replace(tzinfo=None) != local.replace(tzinfo=None):
            return None  # inside a daylight saving gap
        if local.replace(fold=1).utcoffset() != offset:
            ambiguous.append(1)
            if len(ambiguous) == 1:
                report.note(f"local times in the repeated hour {year}-{month:02d}-{day:02d} {hour:02d}:00 "
                            f"({query.tz}) are ambiguous: read as the first occurrence")
        return (local.replace(tzinfo=None) - _NAIVE_EPOCH) // _SECOND - offset // _SECOND

    def to_utc(local: datetime) -> int | None:
        start = hour_start(local.year, local.month, local.day, local.hour)
        return None if start is None else (start + local.minute * 60 + local.second) * 1_000_000_000

    return to_utc
