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

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType
from typing import BinaryIO, NamedTuple

import orjson

from exlab.events import evtx_account
from exlab.events import evtx_layout as layout
from exlab.events.evtx_event import FIELDS, system_time
from exlab.events.query import EventQuery
from exlab.events.system_time import parse_system_time
from exlab.evidence import Evidence, check_unchanged, read_progress
from exlab.parallel import cores, ordered_map, paused_gc
from exlab.parse_report import FileReport

FORMAT = "evtx"
BATCH_CHUNKS = 64            # chunks per batch: 4 MiB, about a tenth of a second of work
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
    _numbers: list[int] | None = field(default=None, repr=False)
    _filetimes: list[int | None] | None = field(default=None, repr=False)
    _times: layout.TemplateTimes | None = field(default=None, repr=False)
    _digests: dict[int, int] | None = field(default=None, repr=False)
    #: the numbers of the records the engine read, in order (for the file's account)
    read_numbers: list[int] = field(default_factory=list, repr=False)

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
        numbers = self._numbers
        if numbers is None:
            numbers = self._numbers = [record.number for record in self.walk.records]
        if 0 <= position < len(numbers) and numbers[position] == number:
            return position
        return numbers.index(number) if number in numbers else None

    @property
    def digests(self) -> dict[int, int]:
        """Record number -> CRC32 of the record's bytes, for the walked records (on first use)."""
        if self._digests is None:
            self._digests = evtx_account.record_digests(self.slot.data, self.walk.records)
        return self._digests

    def digest(self, number: int) -> int:
        """The CRC32 of record ``number``'s bytes (``evtx_account.UNKNOWN`` if the walk did not find it)."""
        return self.digests.get(number, evtx_account.UNKNOWN)

    def where(self, header: layout.RecordHeader | None) -> str:
        """Where a record sits, for the parse report (the chunk alone if it is unknown)."""
        if header is None:
            return self.slot.where
        return f"{self.slot.where}, record {header.number} at offset {self.slot.offset + header.offset:#x}"

    def time_created(self, index: int | None, event: dict) -> int | None:
        """TimeCreated in ns of the ``index``-th walked record: the FILETIME behind it when
        the template has one, else the rendered text (forwarded events carry it as a
        string, with its own digits)."""
        if index is None:
            return self.parse_time(system_time(event), None)
        filetimes = self._filetimes
        filetime = filetimes[index] if filetimes is not None else self._filetime(index)
        if filetime:
            return layout.filetime_to_ns(filetime)
        header = self.walk.records[index]
        if filetime is None:
            return self.parse_time(system_time(event), header)
        self.report.note(f"{self.where(header)}: TimeCreated is a zero FILETIME (1601-01-01)")
        return None

    def _filetime(self, index: int) -> int | None:
        """The TimeCreated FILETIME of the ``index``-th walked record, before the chunk's are
        known: found for the whole chunk at once, unless the read keeps only some events
        (then record by record)."""
        if self._times is None:
            self._times = layout.TemplateTimes(self.slot.data)
        if self.query.event_ids is not None or self.query.providers is not None:
            return self._times.filetimes([self.walk.records[index]])[0]
        self._filetimes = self._times.filetimes(self.walk.records)
        return self._filetimes[index]

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


# What the engines collect per kept record, in this order (a tuple per record); the digest
# (``ChunkContext.digest``) tells a record read twice from another under the same number.
RECORD_COLUMNS = ("time_created", *FIELDS, "record_number", "record_digest")
_DATA = RECORD_COLUMNS.index("data")


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

    The file is read in spans of :data:`BATCH_CHUNKS` chunks. A big file on disk is
    read by helper processes (:func:`exlab.parallel.ordered_map`), each opening it for
    reading; the rows and the parse report are the same as from a read in this process.
    Within :func:`spans_read_elsewhere`, a file whose spans were read already (by
    :func:`read_batch`, on other machines perhaps) is assembled from them instead.
    """
    batches = _READ_ELSEWHERE.get().get(evidence.sha256)
    if batches is None:
        helpers = _helpers(query, evidence)
        spans = plan_spans(evidence.stream if not helpers else evidence.path, evidence.size, evidence.stamp)
        batches = ordered_map(read_batch, ((span, query, report.file) for span in spans), helpers)
    header = layout.parse_file_header(evidence.head(128), evidence.name)
    report.engine = _engine(query.engine).ENGINE
    if not header.checksum_ok:
        report.note("file header checksum does not match (stale header of a dirty log)")
    columns: dict[str, list] = {name: [] for name in RECORD_COLUMNS}
    chunks = 0
    accounts: list[evtx_account.ChunkAccount] = []
    told = layout.FILE_HEADER_SIZE
    with paused_gc():
        for batch in batches:
            for values, more in zip(columns.values(), batch.columns):
                values.extend(more)
            report.absorb(batch.part)
            chunks += batch.chunks
            accounts.extend(batch.accounts)
            end = batch.accounts[-1].offset + batch.accounts[-1].size if batch.accounts else told
            read_progress(end - told)      # a progress bar (exlab.evidence.reporting_reads) moves batch by batch
            told = end
    if [chunk.index for chunk in accounts] != list(range(len(accounts))):
        raise ValueError(f"{evidence.name}: the spans read do not follow its chunk slots from the first, in order")
    if chunks > header.chunk_count:
        report.note(f"the file header counts {header.chunk_count} chunks, the file holds {chunks}; "
                    "all were read")
    account, drop = evtx_account.settle(header, accounts, columns["record_number"], columns.pop("record_digest"))
    if drop:
        dropped = set(drop)
        for name, values in columns.items():
            columns[name] = [value for position, value in enumerate(values) if position not in dropped]
    report.records_read -= account.duplicates_dropped
    report.account = account      # said in the file's warning (FileReport.warn_losses)
    rows = len(columns["record_number"])
    columns["source"] = [evidence.name] * rows
    columns["message"] = [None] * rows
    return columns


def plan_spans(source: str | os.PathLike | BinaryIO, size: int, stamp: tuple | None = None, *,
               per_span: int | None = None) -> list[ChunkSpan]:
    """The spans of ``per_span`` chunk slots (:data:`BATCH_CHUNKS` by default) that cover a .evtx file of ``size`` bytes at
    ``source`` (a path: each span is read by whoever opens it; an open stream: in this
    process), for :func:`read_batch` here or elsewhere. ``stamp`` (``Evidence.stamp``)
    makes a reader of a path refuse a file that changed since.

    >>> [(span.first, span.count) for span in plan_spans("Application.evtx", 4096 + 5 * 65536, per_span=2)]
    [(0, 2), (2, 2), (4, 2)]
    """
    per_span = BATCH_CHUNKS if per_span is None else per_span
    if per_span < 1:
        raise ValueError(f"per_span={per_span}: expected one chunk or more")
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else source
    return [ChunkSpan(path, size, first, per_span, stamp) for first in range(0, layout.chunk_count(size), per_span)]


#: the batches of .evtx files read elsewhere, by the files' SHA-256 (see :func:`spans_read_elsewhere`)
_READ_ELSEWHERE: ContextVar[Mapping[str, Sequence[Batch]]] = ContextVar("exlab_evtx_read_elsewhere", default={})


@contextmanager
def spans_read_elsewhere(batches: Mapping[str, Sequence[Batch]]) -> Iterator[None]:
    """Within the block, a .evtx file whose SHA-256 is a key of ``batches`` is not read again:
    its frame is assembled from those batches (:func:`read_batch` of every span
    :func:`plan_spans` gives, in order), with the same rows, dtypes and parse report as a
    read of the file. A Dask task per span, then one that reads the file this way, is how
    ``exlab.fleet`` ingests a big .evtx file.

    >>> import io
    >>> from exlab.events.reader import read_events
    >>> from exlab.lab import write_evtx
    >>> stream = io.BytesIO()
    >>> _ = write_evtx(stream, [{"time_created": 1_742_462_042_000_000_000, "event_id": 12014,
    ...     "record_id": n, "provider": "MSExchangeTransport", "data": {"%1": "x" * 2000}} for n in range(1, 81)])
    >>> data = stream.getvalue()
    >>> spans = plan_spans(io.BytesIO(data), len(data), per_span=1)
    >>> batches = [read_batch(span, EventQuery.build(), "Application.evtx") for span in spans]
    >>> import hashlib
    >>> with spans_read_elsewhere({hashlib.sha256(data).hexdigest(): batches}):
    ...     frame = read_events(io.BytesIO(data))
    >>> len(spans), len(frame), frame.equals(read_events(io.BytesIO(data)))
    (6, 80, True)
    """
    token = _READ_ELSEWHERE.set({**_READ_ELSEWHERE.get(), **batches})
    try:
        yield
    finally:
        _READ_ELSEWHERE.reset(token)


class ChunkSpan(NamedTuple):
    """``count`` chunk slots from slot number ``first`` on, of the file at ``source``: its
    path (a helper process opens it for reading) or its open stream (this process).
    ``stamp`` is what the file was when it was hashed (``Evidence.stamp``): a helper that
    finds another file at the path, or the file grown or rewritten, reads nothing."""

    source: str | BinaryIO
    size: int
    first: int
    count: int
    stamp: tuple | None = None


class Batch(NamedTuple):
    """What a span of chunk slots gave: a list per :data:`RECORD_COLUMNS` of the records
    kept, the parse report of that part of the file, how many slots were not blank, and
    the account of every slot (``evtx_account.ChunkAccount``).

    A batch travels from a helper process as a pickle whose ``data`` column (a dict per
    record) is JSON text: orjson writes and reads it faster than pickle does.

    >>> import pickle
    >>> columns = tuple([] for _ in RECORD_COLUMNS)
    >>> columns[_DATA].append({"%1": "Outbound to Office 365"})
    >>> pickle.loads(pickle.dumps(Batch(columns, FileReport("a.evtx", "", FORMAT), 1, ()))).columns[_DATA]
    [{'%1': 'Outbound to Office 365'}]
    """

    columns: tuple[list, ...]
    part: FileReport
    chunks: int
    accounts: tuple[evtx_account.ChunkAccount, ...]

    def __reduce__(self) -> tuple:
        columns = list(self.columns)
        columns[_DATA] = orjson.dumps(columns[_DATA])
        return _unpack_batch, (tuple(columns), self.part, self.chunks, self.accounts)


def _unpack_batch(columns: tuple, part: FileReport, chunks: int, accounts: tuple) -> Batch:
    columns = list(columns)
    columns[_DATA] = orjson.loads(columns[_DATA])
    return Batch(tuple(columns), part, chunks, accounts)


def read_batch(span: ChunkSpan, query: EventQuery, file: str) -> Batch:
    """Read the records of a span of chunk slots of ``file``.

    >>> import io
    >>> damaged = layout.build_file_header(chunk_count=1) + b"MZ" + bytes(layout.CHUNK_SIZE - 2)
    >>> batch = read_batch(ChunkSpan(io.BytesIO(damaged), len(damaged), 0, 64), EventQuery.build(), "x.evtx")
    >>> batch.columns[0], batch.chunks, batch.part.losses[0].where
    ([], 1, 'chunk 0 at offset 0x1000')
    """
    if isinstance(span.source, str):
        with open(span.source, "rb") as stream:
            check_unchanged(stream, span.stamp, file, f"chunks {span.first} to {span.first + span.count - 1}")
            slots = list(layout.iter_chunks(stream, span.size, span.first, span.count))
    else:
        slots = list(layout.iter_chunks(span.source, span.size, span.first, span.count))
    part = FileReport(file, "", FORMAT)
    contexts: dict[int, ChunkContext] = {}

    def kept(context: ChunkContext) -> ChunkContext:
        contexts[context.slot.index] = context
        return context

    records: list[tuple] = []
    _engine(query.engine).read_chunks(map(kept, _contexts(slots, query, part)), records)
    columns = tuple(map(list, zip(*records))) if records else tuple([] for _ in RECORD_COLUMNS)
    accounts = tuple(_account(slot, contexts.get(slot.index)) for slot in slots)
    return Batch(columns, part, sum(slot.status != layout.EMPTY for slot in slots), accounts)


def _account(slot: layout.ChunkSlot, context: ChunkContext | None) -> evtx_account.ChunkAccount:
    if context is None or not context.read_numbers:
        return evtx_account.chunk_account(slot)
    return evtx_account.chunk_account(slot, context.read_numbers, context.digests)


def _helpers(query: EventQuery, evidence: Evidence) -> int:
    """How many helper processes read this file beside this one: ``query.workers - 1``, or
    by default one per other core for a file on disk of :data:`PARALLEL_SIZE` or more;
    never more than there are batches for them."""
    if evidence.path is None:
        return 0
    if query.workers is not None:
        wanted = query.workers - 1
    else:
        wanted = cores() - 1 if evidence.size >= PARALLEL_SIZE else 0
    batches = -(-layout.chunk_count(evidence.size) // BATCH_CHUNKS)
    return max(min(wanted, batches - 1), 0)


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Rows of one .evtx file (the format-module interface; ``read_columns`` is faster)."""
    columns = read_columns(evidence, query, report)
    names = list(columns)
    for values in zip(*columns.values()):
        yield dict(zip(names, values))


def _contexts(slots: Iterable[layout.ChunkSlot], query: EventQuery,
              report: FileReport) -> Iterator[ChunkContext]:
    """A context per slot an engine can read (a chunk cut short by the end of the file gives
    the records wholly before the cut); the other slots are counted as lost."""
    for slot in slots:
        if slot.status == layout.BAD_SIGNATURE:
            report.skip_chunk(slot.where, f"chunk signature {slot.data[:8]!r}, expected b'ElfChnk\\x00'")
        elif slot.status == layout.TRUNCATED:
            cut = f"file ends {len(slot.data)} bytes into a 65536-byte chunk"
            readable = layout.readable_part(slot)
            if readable is None:
                report.skip_chunk(slot.where, cut)
                continue
            report.skip_record(f"{slot.where}, record header at offset {slot.offset + readable.stop:#x}",
                               f"{cut}; the records from here on are lost")
            yield ChunkContext(readable.slot, query, report)
        elif slot.status == layout.OK:
            yield ChunkContext(slot, query, report)
