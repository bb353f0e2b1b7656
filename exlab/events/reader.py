"""``read_events``: any event export, or many, into one events frame.

The format of each file is detected from its content, never from its name. Each
format module offers ``FORMAT`` (its name), ``detect(head: bytes) -> bool`` and
``read(evidence, query, report) -> Iterator[row dict]``, and applies the query's
filters as early as it can. A module may also offer ``read_columns(evidence, query,
report) -> dict[column, list]`` (used instead of ``read``: no dict per row).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import ModuleType

import pandas as pd

from exlab.errors import UnsupportedFormat
from exlab.events import (
    clixml,
    evtx_format,
    viewer_text,
    winevent_clixml,
    winevent_csv,
    winevent_json,
    winevent_list,
    xml_export,
)
from exlab.events.query import EventQuery
from exlab.events.schema import COLUMNS, events_frame
from exlab.evidence import Evidence, Sources, iter_evidence
from exlab.parse_report import FileReport, ParseReport
from exlab.text_encoding import refuse_foreign_bom

FORMATS: tuple[ModuleType, ...] = (
    evtx_format,
    xml_export,
    clixml,
    winevent_clixml,
    winevent_csv,
    winevent_json,
    winevent_list,
    viewer_text,
)

EXPECTED_FORMATS = ("an .evtx file, Event Viewer or wevtutil XML, an Event Viewer CSV/TXT export, "
                    "Get-EventLog | Export-Clixml, Get-WinEvent | Export-Clixml, Export-Csv or ConvertTo-Json, or "
                    "Get-WinEvent or Get-EventLog | Format-List (fl, fl *; saved, or in a PowerShell transcript)")


def detect_format(evidence: Evidence) -> ModuleType:
    """The format module that recognises this file's first bytes, or UnsupportedFormat (its
    subclass UnsupportedEncoding for the byte order mark of an encoding no export is written in)."""
    head = evidence.head(64 * 1024)
    if not head:
        raise UnsupportedFormat(evidence.name, "the file is empty", EXPECTED_FORMATS)
    refuse_foreign_bom(head, evidence.name)
    for module in FORMATS:
        if module.detect(head):
            return module
    raise UnsupportedFormat(evidence.name, "the first bytes", EXPECTED_FORMATS)


def read_events(source: Sources, *, event_ids: Iterable[int] | int | None = None,
                providers: Iterable[str] | str | None = None,
                start: str | datetime | pd.Timestamp | None = None,
                end: str | datetime | pd.Timestamp | None = None,
                engine: str = "auto", tz: str | None = None, workers: int | None = None,
                culture: str | None = None) -> pd.DataFrame:
    """Read event exports into the events frame (see ``exlab.events.schema``).

    ``source`` is a path, a folder, a list of them, or a binary file object.
    ``tz`` is the server's time zone, used for exports that write local times
    without an offset (Event Viewer CSV/TXT); the parse report says when one was assumed.
    ``culture`` (``en-GB``, ``en-AU``, ``de-DE``, ...) fixes the day/month order of those
    exports' dates where no value tells it (a day above 12 does); without it the reader
    infers it and warns, naming the file, when only a hint or nothing tells it.
    ``workers`` is how many processes read one big .evtx file (None: one per core for
    files of 16 MiB and more; 1: this process alone). The frame is the same either way.
    """
    query = EventQuery.build(event_ids=event_ids, providers=providers, start=start, end=end,
                             engine=engine, tz=tz, workers=workers, culture=culture)
    report = ParseReport()
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    for evidence in iter_evidence(source, report):
        module = detect_format(evidence)
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=module.FORMAT,
                                      size=evidence.size)
        _extend(columns, _read_columns(module, evidence, query, file_report))
        file_report.warn_losses()
    return events_frame(columns, report)


def _read_columns(module: ModuleType, evidence: Evidence, query: EventQuery,
                  report: FileReport) -> dict[str, list]:
    """A file's columns: straight from modules that build columns (``read_columns``, the
    fast path for big binary logs), else gathered from the rows ``read`` yields."""
    if hasattr(module, "read_columns"):
        return module.read_columns(evidence, query, report)
    rows = list(module.read(evidence, query, report))
    return {name: [row.get(name) for row in rows] for name in COLUMNS}


def _extend(columns: dict[str, list], more: dict[str, list]) -> None:
    length = len(next(iter(more.values()), []))
    for name, values in columns.items():
        values.extend(more.get(name) or [None] * length)
