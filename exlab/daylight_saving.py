"""Local wall times where the clocks change: the hour a time zone skips, and the hour it repeats.

Exports without an offset (Event Viewer CSV/TXT, Get-WinEvent | Export-Csv, Get-ExchangeCertificate's
text) print times in the local zone of the machine that wrote them. A time in the hour the clocks
skip cannot have been printed in the zone given: that zone is likely not the right one. The record
is kept, read with the offset before the change, and the reader is warned. A time in the hour the
clocks go back over has two readings (:func:`utc_passes`); the event readers ask the order of the file's
records (:mod:`exlab.events.local_time`), the certificate readers a file with the certificate's exact times
(:mod:`exlab.certs.repeated_hour`); each notes the times it settles and warns of the others, read as the
first. Every reader says it in the same words (:func:`tell_passes`).

>>> import warnings
>>> from exlab.parse_report import FileReport
>>> report = FileReport("MSExchangeTransport.csv", "", "event-viewer-csv")
>>> with warnings.catch_warnings(record=True):
...     tell_gap(report, datetime(2025, 3, 30, 2, 30), "Europe/Warsaw")
>>> print(report.warnings[0])     # doctest: +NORMALIZE_WHITESPACE
the local time 2025-03-30 02:30:00 does not exist in Europe/Warsaw (its clocks skip that hour): the export
was likely not printed in Europe/Warsaw, the time zone given; read with the offset before the change
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple
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


def utc_passes(local: datetime, tz: str | None) -> tuple[datetime, datetime]:
    """The naive UTC times of the first and the second pass through the naive local time ``local`` in
    ``tz`` (UTC when None): equal unless its clocks go back over it; in the hour they skip, both read
    with the offset before the change.

    >>> [str(moment) for moment in utc_passes(datetime(2024, 10, 27, 2, 30), "Europe/Warsaw")]
    ['2024-10-27 00:30:00', '2024-10-27 01:30:00']
    >>> [str(moment) for moment in utc_passes(datetime(2025, 3, 30, 2, 30), "Europe/Warsaw")]
    ['2025-03-30 01:30:00', '2025-03-30 01:30:00']
    """
    zone = ZoneInfo(tz or "UTC")
    first, second = (local - local.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1))
    return (first, second) if daylight_saving_place(local, tz) == REPEATED else (first, first)


def tell_gap(report: Any, local: datetime, tz: str | None) -> None:
    """Warn in ``report`` (a FileReport) that ``local`` is in the hour ``tz``'s clocks skip
    (:func:`daylight_saving_place`): the time zone given is likely not the export's. The caller
    says it once a file."""
    report.warn(f"the local time {local} does not exist in {tz} (its clocks skip that hour): the export was "
                f"likely not printed in {tz}, the time zone given; read with the offset before the change",
                None, AssumptionWarning)


class Teller(NamedTuple):
    """The words a reader tells the passes through a repeated hour with: what it counts, how it settled
    the pass of each, and why it could not settle the others."""

    counted: str
    settled_by: str
    unsettled: str


#: the event readers': the order of a file's records tells the passes
BY_ORDER = Teller("record(s)", "as the order of the file tells",
                  "the order of the file's records does not tell which pass")


def tell_passes(report: Any, local: datetime, tz: str | None, count: int, *, settled: bool,
                where: str | None = None, teller: Teller = BY_ORDER, detail: str = "") -> None:
    """Say in ``report`` how ``count`` records (``teller.counted``) at local times the clocks go back
    over (the first of them at ``local``, on ``where``) were read: a note when ``teller`` (default: the
    order of the file's records) settled the pass of each, an AssumptionWarning when it did not (read as
    the first pass, so each may be an hour early); ``detail`` ends either. The caller says it once a file.

    >>> from exlab.parse_report import FileReport
    >>> report = FileReport("Application.csv", "", "event-viewer-csv")
    >>> tell_passes(report, datetime(2025, 11, 2, 1, 40), "America/Chicago", 4, settled=True)
    >>> print(report.warnings[0])     # doctest: +NORMALIZE_WHITESPACE
    the local time 2025-11-02 01:40:00 comes twice in America/Chicago (its clocks go back over that hour):
    4 record(s) at such times read as the first or the second pass as the order of the file tells
    """
    if settled:
        report.note(f"{_twice(local, tz)}: {count:,} {teller.counted} at such times read as the first or the "
                    f"second pass {teller.settled_by}{detail}")
        return
    report.warn(f"{_twice(local, tz)}, and {teller.unsettled}: {count:,} {teller.counted} at such times read as "
                f"the first; each may be the second, an hour later{detail}", where, AssumptionWarning)


def _twice(local: datetime, tz: str | None) -> str:
    return f"the local time {local} comes twice in {tz} (its clocks go back over that hour)"
