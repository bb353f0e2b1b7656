"""Windows .evtx files: detection by content, and the walk shared by both engines.

``engine="evtx"`` (the default under ``"auto"``) renders records with pyevtx-rs,
``engine="python-evtx"`` with python-evtx. Either way this module walks every
64 KiB chunk the file holds (not just those the header counts), hands each intact
chunk to the engine, and counts what could not be read: a chunk without its
signature, a truncated tail, a record the engine failed on. Times come from the
record's own FILETIME (100-ns), which both engines render to the microsecond only.

>>> import io
>>> from exlab.events.query import EventQuery
>>> from exlab.evidence import open_evidence
>>> from exlab.parse_report import ParseReport
>>> from exlab.events.evtx_layout import build_file_header
>>> detect(build_file_header(chunk_count=0)), detect(b"<Events/>")
(True, False)
>>> evidence = open_evidence(io.BytesIO(build_file_header(chunk_count=0)))
>>> report = ParseReport().add_file("empty.evtx", sha256="", format=FORMAT)
>>> list(read(evidence, EventQuery.build(), report)), report.engine
([], 'evtx')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

import pandas as pd

from exlab.events import evtx_layout as layout
from exlab.events.evtx_event import FIELDS, system_time
from exlab.events.query import EventQuery
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "evtx"


def detect(head: bytes) -> bool:
    """True for the .evtx signature ``ElfFile\\0`` (the name of the file does not matter)."""
    return layout.is_evtx(head)


@dataclass
class ChunkContext:
    """What an engine needs to turn one chunk into rows, and where it reports losses."""

    slot: layout.ChunkSlot
    query: EventQuery
    report: FileReport
    _walk: layout.RecordWalk | None = field(default=None, repr=False)
    _times: layout.TemplateTimes | None = field(default=None, repr=False)

    @property
    def header(self) -> layout.ChunkHeader:
        return layout.parse_chunk_header(self.slot.data)

    @property
    def walk(self) -> layout.RecordWalk:
        """The chunk's record headers (walked on first use)."""
        if self._walk is None:
            self._walk = layout.walk_records(self.slot.data)
        return self._walk

    def header_at(self, position: int, number: int) -> layout.RecordHeader | None:
        """The record header the engine's ``position``-th record came from (checked by number)."""
        records = self.walk.records
        if 0 <= position < len(records) and records[position].number == number:
            return records[position]
        return next((r for r in records if r.number == number), None)

    def where(self, header: layout.RecordHeader | None) -> str:
        """Where a record sits, for the parse report (the chunk alone if it is unknown)."""
        if header is None:
            return self.slot.where
        return f"{self.slot.where}, record {header.number} at offset {self.slot.offset + header.offset:#x}"

    def time_created(self, header: layout.RecordHeader | None, event: dict) -> int | None:
        """TimeCreated in ns: the FILETIME behind it when the template has one, else the
        rendered text (forwarded events carry it as a string, with its own digits)."""
        if header is not None:
            if self._times is None:
                self._times = layout.TemplateTimes(self.slot.data)
            filetime = self._times.time_created(header.offset)
            if filetime is not None:
                ns = layout.filetime_to_ns(filetime)
                if ns is None:
                    self.report.note(f"{self.where(header)}: TimeCreated is a zero FILETIME (1601-01-01)")
                return ns
        return self.parse_time(system_time(event), header)

    def parse_time(self, rendered: str | None, header: layout.RecordHeader | None) -> int | None:
        """TimeCreated from its rendered text, with every digit it has (None, and a note,
        when it is missing, unreadable or the zero time 1601-01-01)."""
        if not rendered:
            self.report.note(f"{self.where(header)}: no TimeCreated")
            return None
        try:
            stamp = pd.Timestamp(rendered.replace(" ", "T", 1) if "T" not in rendered else rendered)
        except (ValueError, TypeError):
            self.report.note(f"{self.where(header)}: TimeCreated {rendered!r} is not a time")
            return None
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        if stamp.year == 1601:
            self.report.note(f"{self.where(header)}: TimeCreated is a zero FILETIME (1601-01-01)")
            return None
        return int(stamp.tz_convert("UTC").value)


def _engine(name: str) -> ModuleType:
    if name == "python-evtx":
        from exlab.events import evtx_py
        return evtx_py
    from exlab.events import evtx_rs
    return evtx_rs


# What the engines collect per kept record, in this order (a tuple per record).
RECORD_COLUMNS = ("time_created", *FIELDS, "record_number")


def keep(query: EventQuery, fields: tuple) -> bool:
    """The query's event-id and provider filters on one record's ``evtx_event.FIELDS``.

    >>> fields = ("EX01", "Application", "MSExchangeTransport", 2004, 16388, 4, 2, "0x80000000000000", 7, {})
    >>> keep(EventQuery.build(event_ids=[2004]), fields), keep(EventQuery.build(providers="x"), fields)
    (True, False)
    """
    return ((query.event_ids is None or fields[3] in query.event_ids)
            and (query.providers is None or (fields[2] or "").lower() in query.providers))


def read_columns(evidence: Evidence, query: EventQuery, report: FileReport) -> dict[str, list]:
    """The events-frame columns of one .evtx file; losses are counted in ``report``."""
    header = layout.parse_file_header(evidence.head(128), evidence.name)
    engine = _engine(query.engine)
    report.engine = engine.ENGINE
    if not header.checksum_ok:
        report.note("file header checksum does not match (stale header of a dirty log)")
    records: list[tuple] = []
    engine.read_chunks(_chunks(evidence, query, report, header), records)
    columns = dict(zip(RECORD_COLUMNS, (list(values) for values in zip(*records)))) if records else \
        {name: [] for name in RECORD_COLUMNS}
    columns["source"] = [evidence.name] * len(records)
    columns["message"] = [None] * len(records)
    return columns


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Rows of one .evtx file (the format-module interface; ``read_columns`` is faster)."""
    columns = read_columns(evidence, query, report)
    names = list(columns)
    for values in zip(*columns.values()):
        yield dict(zip(names, values))


def _chunks(evidence: Evidence, query: EventQuery, report: FileReport,
            header: layout.FileHeader) -> Iterator[ChunkContext]:
    chunks = 0
    for slot in layout.iter_chunks(evidence.stream, evidence.size):
        if slot.status == layout.EMPTY:
            continue
        chunks += 1
        if slot.status == layout.BAD_SIGNATURE:
            report.skip_chunk(slot.where, f"chunk signature {slot.data[:8]!r}, expected b'ElfChnk\\x00'")
            continue
        if slot.status == layout.TRUNCATED:
            report.skip_chunk(slot.where, f"file ends {len(slot.data)} bytes into a 65536-byte chunk")
            continue
        yield ChunkContext(slot, query, report)
    if chunks > header.chunk_count:
        report.note(f"the file header counts {header.chunk_count} chunks, the file holds {chunks}; "
                    "all were read")
