"""Local wall times of exports without an offset (Event Viewer CSV/TXT, Get-WinEvent | Export-Csv)
read in the server's time zone, to nanoseconds since the epoch (UTC)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exlab.daylight_saving import daylight_saving_place, tell
from exlab.errors import ExlabError
from exlab.events.query import EventQuery
from exlab.parse_report import FileReport

_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


def local_to_utc(query: EventQuery, report: FileReport) -> Callable[[datetime], int]:
    """A function from naive local times (in the query's tz, or UTC) to ns since the epoch (UTC).
    A time where the clocks change is read as :mod:`exlab.daylight_saving` says, and said in
    ``report`` once a file: in the skipped hour with the offset before the change (warned: the tz
    given is likely wrong), in the repeated hour as the first of the two (noted). The time zone
    used (or UTC assumed) goes into ``report``.

    >>> import warnings
    >>> from exlab.parse_report import FileReport
    >>> report = FileReport("a.csv", "", "event-viewer-csv")
    >>> to_utc = local_to_utc(EventQuery.build(tz="Europe/Warsaw"), report)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     times = to_utc(datetime(2025, 3, 20, 14, 15, 4)), to_utc(datetime(2025, 3, 30, 2, 30))
    >>> times, report.assumed_tz, caught[0].category.__name__
    ((1742476504000000000, 1743298200000000000), 'Europe/Warsaw', 'AssumptionWarning')
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
    told: set[str] = set()

    @functools.lru_cache(maxsize=4096)
    def hour_start(year: int, month: int, day: int, hour: int) -> int | None:
        """Seconds since the epoch (UTC) at the start of a local hour with one offset throughout;
        None for an hour the clocks change in (at its start, or inside it, as on Lord Howe Island
        at 2:00 or the Chatham Islands at 2:45)."""
        start = datetime(year, month, day, hour, tzinfo=zone)
        end = start.replace(minute=59, second=59)
        offsets = {moment.replace(fold=fold).utcoffset() for moment in (start, end) for fold in (0, 1)}
        if len(offsets) > 1:
            return None
        return (start.replace(tzinfo=None) - _NAIVE_EPOCH) // _SECOND - offsets.pop() // _SECOND

    def changing(local: datetime) -> int:
        """Seconds since the epoch (UTC) of a time in an hour the clocks change in, said once a file."""
        local = local.replace(microsecond=0)
        place = daylight_saving_place(local, query.tz)
        if place is not None and place not in told:
            told.add(place)
            tell(report, place, local, query.tz)
        # fold 0: in a gap, the offset before the change; in a repeated hour, its first occurrence
        return (local - _NAIVE_EPOCH) // _SECOND - local.replace(tzinfo=zone).utcoffset() // _SECOND

    def to_utc(local: datetime) -> int:
        start = hour_start(local.year, local.month, local.day, local.hour)
        if start is None:
            return changing(local) * 1_000_000_000
        return (start + local.minute * 60 + local.second) * 1_000_000_000

    return to_utc
