"""Local wall times of exports without an offset (Event Viewer CSV/TXT, Get-WinEvent | Export-Csv, Format-List)
read in the server's time zone, to nanoseconds since the epoch (UTC).

A time in the hour the clocks go back over comes twice. Event Viewer saves its view (newest first
by default) and Get-WinEvent lists records newest first, so the order of the file's records tells
the first pass through that hour from the second: where the records run monotonically in time
(newest or oldest first), each such time is read as the pass that keeps them in order. Where the
order cannot settle it (records in no order, a lone record in that hour), it is read as the first
pass, and the reader is warned: it may be an hour early.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from exlab.cultures import DATE_FORMATS, DateStyle
from exlab.daylight_saving import GAP, daylight_saving_place, tell_gap, tell_passes, utc_passes
from exlab.errors import ExlabError
from exlab.events.query import EventQuery
from exlab.parse_report import FileReport

_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


def date_style(samples: list[str], query: EventQuery, report: FileReport, *, where: str) -> DateStyle:
    """The day/month order of a file's local dates (``samples``, every date of the file), decided by
    :meth:`DateStyle.detect`: the values where they settle it, else ``query.culture``, else a hint or
    a guess; a culture the values contradict is overruled by them. What was decided (and warned, once,
    naming the file) goes into ``report``.

    >>> report = FileReport("a.csv", "", "winevent-csv")
    >>> style = date_style(["4/11/2025 10:00:00 AM"], EventQuery.build(culture="en-AU"), report, where="TimeCreated")
    >>> style.read("4/11/2025 10:00:00 AM"), report.warnings
    (datetime.datetime(2025, 11, 4, 10, 0), ['day/month order: day first, given (culture=en-AU given)'])
    """
    style = DateStyle.detect(samples, query.culture, source=report.file, where=where)
    style.report_to(report)
    return style


def local_time(text: str, dates: DateStyle, what: str) -> datetime:
    """The naive local time of one ``what`` value (TimeCreated, TimeGenerated) of a file whose dates
    :func:`date_style` decided; ValueError says why not.

    >>> dates = date_style(["20.03.2025 14:15:04"], EventQuery.build(), FileReport("fl.txt", "", "winevent-list"),
    ...                    where="TimeCreated")
    >>> local_time("20.03.2025 14:15:04", dates, "TimeCreated")
    datetime.datetime(2025, 3, 20, 14, 15, 4)
    >>> local_time("3/20/2025 2:15:04 PM", dates, "TimeCreated")
    Traceback (most recent call last):
    ValueError: TimeCreated '3/20/2025 2:15:04 PM' is not written as the file's other dates (20.03.2025 14:15:04)
    """
    local = dates.read(text)
    if local is not None:
        return local
    if dates.how == "none":
        raise ValueError(f"{what} {text!r} is not a date and time in any culture exlab knows")
    raise ValueError(f"{what} {text!r} is not written as the file's other dates "
                     f"({DATE_FORMATS[dates.culture].example})")


def local_to_utc(query: EventQuery, report: FileReport) -> Callable[[Sequence[datetime], Sequence[int]], list[int]]:
    """A function from a file's naive local times (in the query's tz, or UTC), in the order of its
    records, and the line each record is on, to ns since the epoch (UTC). A time in the hour the clocks
    skip is read with the offset before the change (warned once a file: the tz given is likely wrong);
    one in the hour they go back over as the module's docstring says. The time zone used (or UTC
    assumed) goes into ``report``.

    >>> report = FileReport("a.csv", "", "event-viewer-csv")
    >>> to_utc = local_to_utc(EventQuery.build(tz="America/Chicago"), report)
    >>> newest_first = [datetime(2025, 11, 2, 1, 40), datetime(2025, 11, 2, 1, 50), datetime(2025, 11, 1, 23, 20)]
    >>> [str(np.datetime64(ns, "ns")) for ns in to_utc(newest_first, [2, 3, 4])]     # 1:40 CST, 1:50 CDT
    ['2025-11-02T07:40:00.000000000', '2025-11-02T06:50:00.000000000', '2025-11-02T04:20:00.000000000']
    >>> report.assumed_tz, report.warnings[-1].startswith("the local time 2025-11-02 01:40:00 comes twice")
    ('America/Chicago', True)
    """
    zone = _zone(query, report)
    passes = _passes(zone)

    def to_utc(times: Sequence[datetime], lines: Sequence[int]) -> list[int]:
        first, second, places = zip(*map(passes, times)) if times else ((), (), ())
        first, second = np.array(first, dtype=np.int64), np.array(second, dtype=np.int64)
        gap = next((local for local, place in zip(times, places) if place == GAP), None)
        if gap is not None:
            tell_gap(report, gap.replace(microsecond=0), query.tz)
        later, unsettled = second_passes(first, second)
        _tell_repeated(times, lines, first != second, unsettled, query.tz, report)
        return [seconds * 1_000_000_000 for seconds in np.where(later, second, first).tolist()]   # no int64 wrap

    return to_utc


def _tell_repeated(times: Sequence[datetime], lines: Sequence[int], twice: np.ndarray, unsettled: np.ndarray,
                   tz: str | None, report: FileReport) -> None:
    """Note the times the clocks go back over that the file's order settled; warn of the others,
    at the line of the first."""
    for chosen, settled in ((np.flatnonzero(twice & ~unsettled), True), (np.flatnonzero(unsettled), False)):
        if chosen.size:
            first = int(chosen[0])
            tell_passes(report, times[first].replace(microsecond=0), tz, int(chosen.size), settled=settled,
                        where=f"line {lines[first]}")


def second_passes(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which times of a file, in the order of its records, to read as the second pass through an hour
    the clocks go back over, and which ones the order leaves unsettled (read as the first).
    ``first``/``second`` are each time's seconds since the epoch (UTC) in the first and the second
    pass (equal for a time that comes once). Every order the records may run in (newest or oldest
    first, each non-strict) that their times allow is tried; a time is settled when all of them
    read it as the same pass.

    >>> first = np.array([6 * 3600 + 2400, 6 * 3600 + 600, 6 * 3600 + 3000, 4 * 3600])   # 1:40, 1:10, 1:50 CDT
    >>> later, unsettled = second_passes(first, first + 3600 * np.array([1, 1, 1, 0]))
    >>> later.tolist(), unsettled.tolist()
    ([True, True, False, False], [False, False, False, False])
    >>> [part.tolist() for part in second_passes(first[:1], first[:1] + 3600)]     # a lone time: no order
    [[False], [True]]
    """
    twice = first != second
    possible = np.zeros((len(first), 2), dtype=bool)      # [first pass, second pass] some order allows
    if twice.any():
        for sign in (1, -1):                              # oldest first, newest first
            allowed = _passes_in_order(sign * first, sign * second, twice)
            if allowed is not None:
                possible |= allowed
    unsettled = twice & (possible[:, 0] == possible[:, 1])
    return twice & possible[:, 1] & ~possible[:, 0], unsettled


def _passes_in_order(first: np.ndarray, second: np.ndarray, twice: np.ndarray) -> np.ndarray | None:
    """Per time, [first pass, second pass] possible if the times are to run non-decreasing in the
    file's order (``first``/``second`` are the passes' times, negated to test newest first); None when
    no choice of passes does. Times that come once must run in order (checked at once); each run of
    times that come twice, between its neighbours, is checked by :func:`_run_passes`."""
    once = np.flatnonzero(~twice)
    if (np.diff(first[once]) < 0).any():
        return None
    allowed = np.ones((len(first), 2), dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], twice.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist()):
        low = first[start - 1] if start else np.iinfo(np.int64).min
        high = first[stop] if stop < len(first) else np.iinfo(np.int64).max
        run = _run_passes(first[start:stop].tolist(), second[start:stop].tolist(), int(low), int(high))
        if run is None:
            return None
        allowed[start:stop] = run
    return allowed


def _run_passes(first: list[int], second: list[int], low: int, high: int) -> list[tuple[bool, bool]] | None:
    """Per time of a run, which passes a non-decreasing choice from ``low`` to ``high`` can take: those
    a feasible choice of the times before reaches (forward) and a feasible choice after leaves (backward).

    >>> _run_passes([10, 5], [20, 15], 0, 30)      # only 10 then 15 runs in order
    [(True, False), (False, True)]
    >>> _run_passes([10], [20], 21, 30) is None
    True
    """
    keys = list(zip(first, second))
    forward = _reachable(keys, low, operator.ge, min)
    backward = _reachable(keys[::-1], high, operator.le, max)
    if forward is None or backward is None:
        return None
    allowed = [(f0 and b0, f1 and b1) for (f0, f1), (b0, b1) in zip(forward, backward[::-1])]
    return allowed if any(a or b for a, b in allowed) else None


def _reachable(keys: list[tuple[int, int]], bound: int, fits: Callable[[int, int], bool],
               loosest: Callable) -> list[tuple[bool, ...]] | None:
    """Per pair of keys, in turn, which ones a choice that ``fits`` from ``bound`` on can take (each
    next key must fit the ``loosest`` taken before it); None when a pair has none."""
    reach = []
    for pair in keys:
        reach.append(tuple(fits(key, bound) for key in pair))
        bound = loosest((key for key, ok in zip(pair, reach[-1]) if ok), default=None)
        if bound is None:
            return None
    return reach


def _zone(query: EventQuery, report: FileReport) -> tzinfo:
    """The query's time zone (said in ``report``), or UTC assumed; ExlabError for an unknown name."""
    if query.tz is None:
        report.assume_tz("UTC", "the export writes local times without an offset and no time zone was given")
        return timezone.utc
    try:
        zone = ZoneInfo(query.tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ExlabError(report.file, None, "an IANA time zone name such as Europe/Warsaw",
                         f"tz={query.tz!r} is unknown") from err
    report.assumed_tz = query.tz
    report.note(f"local times read as {query.tz} (given)")
    return zone


def _passes(zone: tzinfo) -> Callable[[datetime], tuple[int, int, str | None]]:
    """A function from a naive local time to its seconds since the epoch (UTC) in the first and the
    second pass (equal unless the clocks go back over it; in the hour they skip, with the offset
    before the change) and its :func:`daylight_saving_place`."""
    tz = getattr(zone, "key", None)

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

    def changing(local: datetime) -> tuple[int, int, str | None]:
        local = local.replace(microsecond=0)
        early, late = ((moment - _NAIVE_EPOCH) // _SECOND for moment in utc_passes(local, tz))
        return (early, late, daylight_saving_place(local, tz))

    def passes(local: datetime) -> tuple[int, int, str | None]:
        start = hour_start(local.year, local.month, local.day, local.hour)
        if start is None:
            return changing(local)
        seconds = start + local.minute * 60 + local.second
        return (seconds, seconds, None)

    return passes
