"""``Get-WinEvent ... | Export-Csv``: one quoted line per EventLogRecord.

Windows PowerShell 5.1 starts with ``#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord``
(PowerShell 7 does not), then a header of the record's members (``"Message","Id","Version",
"Qualifiers",...,"Properties"``), every cell quoted and a null cell empty; ``-UseCulture``
delimits with the culture's list separator (``;`` in most of Europe). Every value is its
``ToString()``, so:

- ``TimeCreated`` is local time in the exporting culture's short date and long time, without
  offset. Its day/month order is decided as for Event Viewer's CSV/TXT exports
  (:func:`exlab.events.local_time.date_style`: the values where they settle it, else the query's
  ``culture``, else a hint or a guess, warned) and read in the query's ``tz`` (the server's zone;
  UTC assumed otherwise), an hour the clocks go back over by the order of the records
  (Get-WinEvent lists them newest first; :func:`exlab.events.local_time.local_to_utc`).
- ``Properties`` is only a type name: the insertion strings are not in the file. For events in
  exlab's catalog (``exlab.transport.catalog``) the named ones are taken back out of the
  rendered ``Message`` (any language the catalog knows); for other events ``data`` is empty,
  and the parse report counts them and warns once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from functools import partial

from exlab.cultures import DateStyle
from exlab.errors import CorruptInput
from exlab.events.csv_records import csv_records
from exlab.events.local_time import date_style, local_time, local_to_utc
from exlab.events.query import EventQuery
from exlab.events.text_stream import decode_head, open_text, sniff_encoding
from exlab.events.winevent import IDENTIFYING_MEMBERS, RECORD_TYPES, record_row, with_message_data
from exlab.evidence import Evidence
from exlab.limits import iter_capped_lines, skip_long_line
from exlab.parse_report import FileReport

__all__ = ["FORMAT", "detect", "read"]

FORMAT = "winevent-csv"
_DELIMITERS = (",", ";", "\t", "|")


def detect(head: bytes) -> bool:
    """Whether the file is Export-Csv of EventLogRecords (with or without the ``#TYPE`` line).

    >>> detect(b'#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\\r\\n"Message","Id","Version",'
    ...        b'"RecordId","ProviderName","LogName","TimeCreated"\\r\\n')
    True
    >>> detect(b'"Message";"Id";"RecordId";"ProviderName";"LogName";"TimeCreated"\\r\\n')
    True
    >>> detect(b'#TYPE System.Diagnostics.EventLogEntry\\r\\n"Message","Id","RecordId","ProviderName","LogName",'
    ...        b'"TimeCreated"\\r\\n')
    False
    """
    return _header(decode_head(head, sniff_encoding(head))) is not None


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield one event row per record line; a line that cannot be read is skipped and counted.

    >>> import io
    >>> import pandas as pd
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.parse_report import ParseReport
    >>> doc = ('"Message","Id","Qualifiers","Level","RecordId","ProviderName","LogName","TimeCreated"\\r\\n'
    ...        '"The STARTTLS certificate for the FQDN mail.contoso.com has expired.","12016","49156","2","7",'
    ...        '"MSExchangeTransport","Application","20.03.2025 14:15:04"\\r\\n')
    >>> ev = next(iter_evidence(io.BytesIO(doc.encode())))
    >>> [row] = read(ev, EventQuery.build(tz="Europe/Warsaw"),
    ...              ParseReport().add_file(ev.name, sha256=ev.sha256, format=FORMAT))
    >>> row["event_id"], row["qualifiers"], row["level"], str(pd.Timestamp(row["time_created"], tz="UTC"))
    (12016, 49156, 2, '2025-03-20 13:15:04+00:00')
    >>> row["data"]
    {'%1': 'mail.contoso.com'}
    """
    sniffed = sniff_encoding(evidence.head(4096), source=evidence.name)
    found = _header(decode_head(evidence.head(64 * 1024), sniffed))
    if found is None:
        raise CorruptInput(evidence.name, "the header", "the columns of Get-WinEvent | Export-Csv")
    skip_lines, delimiter = found
    with open_text(evidence.stream, sniffed) as text:
        capped = iter_capped_lines(text, evidence.name, on_long=partial(skip_long_line, report))
        lines = csv.reader(capped, delimiter=delimiter, quotechar='"', strict=True)
        try:
            for _ in range(skip_lines):
                next(lines)
            header = next(lines)
        except (csv.Error, StopIteration) as err:   # the head looked like one, but the file ends in it
            raise CorruptInput(evidence.name, "the header", "the columns of Get-WinEvent | Export-Csv",
                               str(err) or "the file ends before it") from None
        records = list(csv_records(lines, evidence.name, report))
    if not records:
        return
    column = header.index("TimeCreated")
    dates = date_style([cells[column] for _, cells in records if len(cells) == len(header)], query, report,
                       where="the TimeCreated column")
    to_utc = local_to_utc(query, report)
    dated = list(_dated_rows(records, header, dates, report, evidence.name))
    times = to_utc([local for _, local, _ in dated], [line for line, _, _ in dated])
    for (_, _, row), time_created in zip(dated, times):
        row["time_created"] = time_created
    wanted = (row for _, _, row in dated if query.wants(row))
    yield from with_message_data(wanted, report, export="Export-Csv",
                                 why="Export-Csv writes only the type name of Properties")


def _header(text: str) -> tuple[int, str] | None:
    """How many lines precede the header (the ``#TYPE`` line) and the delimiter, or None."""
    lines = text.splitlines()
    skip = 0
    if lines and lines[0].startswith("#TYPE "):
        if lines[0][6:].strip() not in RECORD_TYPES:
            return None
        skip = 1
    if len(lines) <= skip or not lines[skip].startswith('"'):
        return None
    header = lines[skip]
    closing = header.find('"', 1)
    delimiter = header[closing + 1:closing + 2]
    if closing < 0 or delimiter not in _DELIMITERS:
        return None
    names = {name.strip('"') for name in header.split(delimiter)}
    return (skip, delimiter) if all(name in names for name in IDENTIFYING_MEMBERS) else None


def _dated_rows(records: list[tuple[int, list[str]]], header: list[str], dates: DateStyle, report: FileReport,
                source: str) -> Iterator[tuple[int, datetime, dict]]:
    """Line, local TimeCreated and row (its time still None) of each record that can be read; the
    others are skipped and counted."""
    for line, cells in records:
        if len(cells) != len(header):
            report.skip_record(f"line {line}", f"expected {len(header)} cells as the header has, found {len(cells)}")
            continue
        record = dict(zip(header, cells))
        try:
            local = local_time(record["TimeCreated"], dates, "TimeCreated")
            row = record_row(record, time_created=None, data=None, source=source)
        except ValueError as err:
            report.skip_record(f"line {line}", str(err))
            continue
        report.records_read += 1
        yield line, local, row
