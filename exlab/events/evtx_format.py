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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType

from exlab.events import evtx_layout as layout
from exlab.events.evtx_event import FIELDS, system_time
from exlab.events.query import EventQuery
from exlab.events.system_time import parse_system_time
from exlab.evidence import Evidence
from exlab.parallel import cores, ordered_map, paused_gc
from exlab.parse_report import FileReport

FORMAT = "evtx"
BATCH_CHUNKS = 64            # chunks per batch: 4 MiB, a few tenths of a second of work
PARALLEL_SIZE = 16 << 20     # from this file size on, helper processes read beside this one


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
    _filetimes: list[int | None] | None = field(default=None, repr=False)

    @property
    def header(self) -> layout.ChunkHeader:
        return layout.parse_chunk_header(self.slot.data)

    @property
    def walk(self) -> layout.RecordWalk:
        """The chunk's record headers (walked on first use)."""
        if self._walk is None:
            self._walk = layout.walk_records(self.slot.data)
        return self._walk

    def index_of(self, position: int, number: int) -> int | None:
        """Which walked record the engine's ``position``-th record came from (checked by number)."""
        records = self.walk.records
        if 0 <= position < len(records) and records[position].number == number:
            return position
        return next((index for index, record in enumerate(records) if record.number == number), None)

    def where(self, header: layout.RecordHeader | None) -> str:
        """Where a record sits, for the parse report (the chunk alone if it is unknown)."""
        if header is None:
            return self.slot.where
        return f"{self.slot.where}, record {header.number} at offset {self.slot.offset + header.offset:#x}"

    def time_created(self, index: int | None, event: dict) -> int | None:
        """TimeCreated in ns of the ``index``-th walked record: the FILETIME behind it when
        the template has one, else the rendered text (forwarded events carry it as a
        string, with its own digits)."""
        header = None
        if index is not None:
            if self._filetimes is None:
                self._filetimes = layout.TemplateTimes(self.slot.data).filetimes(self.walk.records)
            filetime = self._filetimes[index]
            header = self.walk.records[index]
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
        if rendered.startswith("1601-"):
            self.report.note(f"{self.where(header)}: TimeCreated is a zero FILETIME (1601-01-01)")
            return None
        try:
            return parse_system_time(rendered)
        except ValueError:
            self.report.note(f"{self.where(header)}: TimeCreated {rendered!r} is not a time")
            return None


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
    """The events-frame columns of one .evtx file; losses are counted in ``report``.

    A big file is read by several processes at once (:func:`exlab.parallel.ordered_map`),
    with the same rows and the same parse report as a read in this process alone.
    """
    header = layout.parse_file_header(evidence.head(128), evidence.name)
    report.engine = _engine(query.engine).ENGINE
    if not header.checksum_ok:
        report.note("file header checksum does not match (stale header of a dirty log)")
    records: list[tuple] = []
    slots = SlotTally(evidence)
    jobs = ((batch, query, report.file) for batch in _batches(slots))
    with paused_gc():
        for batch_records, part in ordered_map(read_batch, jobs, helpers=_helpers(query, evidence.size)):
            records.extend(batch_records)
            report.absorb(part)
    if slots.count > header.chunk_count:
        report.note(f"the file header counts {header.chunk_count} chunks, the file holds {slots.count}; "
                    "all were read")
    columns = dict(zip(RECORD_COLUMNS, (list(values) for values in zip(*records)))) if records else \
        {name: [] for name in RECORD_COLUMNS}
    columns["source"] = [evidence.name] * len(records)
    columns["message"] = [None] * len(records)
    return columns


def read_batch(slots: list[layout.ChunkSlot], query: EventQuery, file: str) -> tuple[list[tuple], FileReport]:
    """The records (:data:`RECORD_COLUMNS` tuples) of a batch of chunk slots, and the parse
    report of that part of ``file`` (damaged chunks, failed records, notes).

    >>> slot = layout.ChunkSlot(0, 0x1000, b"MZ" + bytes(layout.CHUNK_SIZE - 2), layout.BAD_SIGNATURE)
    >>> records, part = read_batch([slot], EventQuery.build(), "x.evtx")
    >>> records, part.losses[0].where
    ([], 'chunk 0 at offset 0x1000')
    """
    part = FileReport(file, "", FORMAT)
    records: list[tuple] = []
    _engine(query.engine).read_chunks(_contexts(slots, query, part), records)
    return records, part


def _helpers(query: EventQuery, size: int) -> int:
    """How many helper processes read this file beside this one: ``query.workers - 1``,
    or by default one per other core for a file of :data:`PARALLEL_SIZE` or more."""
    if query.workers is not None:
        return query.workers if query.workers > 1 else 0
    return cores() if size >= PARALLEL_SIZE else 0


def _batches(slots: Iterable[layout.ChunkSlot]) -> Iterator[list[layout.ChunkSlot]]:
    batch: list[layout.ChunkSlot] = []
    for slot in slots:
        batch.append(slot)
        if len(batch) == BATCH_CHUNKS:
            yield batch
            batch = []
    if batch:
        yield batch


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Rows of one .evtx file (the format-module interface; ``read_columns`` is faster)."""
    columns = read_columns(evidence, query, report)
    names = list(columns)
    for values in zip(*columns.values()):
        yield dict(zip(names, values))


class SlotTally:
    """The chunk slots of an .evtx file that are not blank, in file order, counted as
    they are handed out (the count is complete once they all were)."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.count = 0

    def __iter__(self) -> Iterator[layout.ChunkSlot]:
        for slot in layout.iter_chunks(self.evidence.stream, self.evidence.size):
            if slot.status != layout.EMPTY:
                self.count += 1
                yield slot


def _contexts(slots: Iterable[layout.ChunkSlot], query: EventQuery,
              report: FileReport) -> Iterator[ChunkContext]:
    for slot in slots:
        if slot.status == layout.BAD_SIGNATURE:
            report.skip_chunk(slot.where, f"chunk signature {slot.data[:8]!r}, expected b'ElfChnk\\x00'")
        elif slot.status == layout.TRUNCATED:
            report.skip_chunk(slot.where, f"file ends {len(slot.data)} bytes into a 65536-byte chunk")
        else:
            yield ChunkContext(slot, query, report)
