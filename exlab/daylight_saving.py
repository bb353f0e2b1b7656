"""Local wall times where the clocks change: the hour a time zone skips, and the hour it repeats.

Exports without an offset (Event Viewer CSV/TXT, Get-WinEvent | Export-Csv, Get-ExchangeCertificate's
text) print times in the local zone of the machine that wrote them. A time in the hour the clocks
skip cannot have been printed in the zone given: that zone is likely not the right one. The record
is kept, read with the offset before the change, and the reader is warned. A time in the hour the
clocks go back over is read as the first of the two, and noted; the event readers first ask the order of
the file's records (:mod:`exlab.events.local_time`), note the records it settles and warn of the others,
read as the first. Every reader says it in the same words.

>>> from exlab.parse_report import FileReport
>>> report = FileReport("MSExchangeTransport.csv", "", "event-viewer-csv")
>>> tell(report, daylight_saving_place(datetime(2027, 10, 31, 2, 30), "Europe/Warsaw"),
...      datetime(2027, 10, 31, 2, 30), "Europe/Warsaw")
>>> report.warnings
['the local time 2027-10-31 02:30:00 comes twice in Europe/Warsaw (its clocks go back over that hour): read as the first (an hour earlier than the second)']
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from exlab.errors import AssumptionWarning

GAP, REPEATED = "gap", "repeated"


def daylight_saving_place(moment: datetime, tz: str | None) -> str | None:
    """``"gap"`` for a naive local time that does not exist in ``tz`` (the hour its clocks skip),
    ``"repeated"`` for one that exists twice (the hour they go back over), else None.

    >>> [daylight_saving_place(datetime(*when), "Europe/Warsaw") for when in ((2025, 3, 30, 2, 30),
    ...                                                                    (2027, 10, 31, 2, 30), (2025, 3, 30, 3, 30))]
    ['gap', 'repeated', None]
    """
    zone = ZoneInfo(tz or "UTC")
    first = moment.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == moment.replace(tzinfo=zone, fold=1).utcoffset():
        return None
    back = first.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    return GAP if back != moment else REPEATED


def tell(report: Any, place: str | None, local: datetime, tz: str | None) -> None:
    """Say in ``report`` (a FileReport) that ``local`` is at ``place`` (:func:`daylight_saving_place`):
    an AssumptionWarning for a time in the skipped hour, a note for one in the repeated hour.
    The caller says it once a file."""
    if place == GAP:
        report.warn(f"the local time {local} does not exist in {tz} (its clocks skip that hour): the export was "
                    f"likely not printed in {tz}, the time zone given; read with the offset before the change",
                    None, AssumptionWarning)
    elif place == REPEATED:
        report.note(f"{_twice(local, tz)}: read as the first (an hour earlier than the second)")


def tell_passes(report: Any, local: datetime, tz: str | None, count: int, *, settled: bool,
                where: str | None = None) -> None:
    """Say in ``report`` how ``count`` records of an ordered export at local times the clocks go back
    over (the first of them at ``local``, on ``where``) were read: a note when the order of the file's
    records settled the pass of each, an AssumptionWarning when it did not (read as the first pass,
    so each may be an hour early). The caller says it once a file.

    >>> from exlab.parse_report import FileReport
    >>> report = FileReport("Application.csv", "", "event-viewer-csv")
    >>> tell_passes(report, datetime(2025, 11, 2, 1, 40), "America/Chicago", 4, settled=True)
    >>> print(report.warnings[0])     # doctest: +NORMALIZE_WHITESPACE
    the local time 2025-11-02 01:40:00 comes twice in America/Chicago (its clocks go back over that hour):
    4 record(s) at such times read as the first or the second pass as the order of the file tells
    """
    if settled:
        report.note(f"{_twice(local, tz)}: {count:,} record(s) at such times read as the first or the second "
                    "pass as the order of the file tells")
        return
    report.warn(f"{_twice(local, tz)}, and the order of the file's records does not tell which pass: "
                f"{count:,} record(s) at such times read as the first; each may be the second, an hour later",
                where, AssumptionWarning)


def _twice(local: datetime, tz: str | None) -> str:
    return f"the local time {local} comes twice in {tz} (its clocks go back over that hour)"
