"""``ingest``: evidence folders and zips into the store, as tasks on this machine or a Dask cluster.

Each source (a case folder or a zip of one) is sorted by content as :func:`exlab.open_case`
sorts it, then cut into batches (see :mod:`exlab.fleet.store`): one per event log and per
tracking log, one per protocol log folder, one per kind of settings export. A batch is one
task, run by :func:`read_batch` wherever it runs: in this process (the default), in a
``LocalCluster`` of ``workers`` processes, or on the cluster of ``client``. An .evtx file of
``span_size`` bytes or more is first read as a task per span of chunks
(:func:`exlab.events.evtx_format.plan_spans`), wherever each runs; its batch's task then
assembles the file from them as ``read_events`` would (one frame, one parse report). The task reads
its files with exlab's readers, attributes the rows to servers, and writes its Parquet files
into the store (workers must see the store's folder); this process then records the
batch's entry. A batch already in the store (same content) is not read again; one whose
folder or file now holds other content replaces the older one.

A task that fails, or whose worker dies and whose retries run out, loses nothing: the
batches done are recorded, the failed ones are named (:class:`IngestIncomplete`), and the
next ingest reads just those.

>>> import tempfile, pathlib
>>> from exlab.lab.transport_logs import demo_protocol_log, demo_tracking_log
>>> case = pathlib.Path(tempfile.mkdtemp()) / "EX01"
>>> (case / "logs").mkdir(parents=True)
>>> _ = (case / "logs" / "SEND20250320-1.LOG").write_bytes(demo_protocol_log().getvalue())
>>> _ = (case / "logs" / "MSGTRK20250320-1.LOG").write_bytes(demo_tracking_log().getvalue())
>>> store = case.parent / "store"
>>> first, again = ingest([case], store, progress=False), ingest([case], store, progress=False)
>>> sorted(first.rows.items()), again.added, again.skipped
([('sessions', 1), ('tracking', 3)], 0, 2)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from exlab import errors
from exlab.attribution import host_name
from exlab.bundle import Member
from exlab.errors import EvidenceNotFound, ExlabError, ExlabWarning
from exlab.events import evtx_format
from exlab.events.query import EventQuery
from exlab.evidence import add_bundles, file_stamp, open_evidence, outside_evidence, text_name, writing
from exlab.fleet.read import read_frame, store_rows
from exlab.fleet.store import (
    DAY_COLUMNS,
    SOURCE,
    Entry,
    Store,
    partition_value,
    report_to_json,
)
from exlab.parallel import cores, ordered_map
from exlab.parse_report import ParseReport, warn_at

if TYPE_CHECKING:
    from exlab.attribution import ServerNames

log = logging.getLogger(__name__)

PER_FILE = ("events", "tracking")          # one batch per file
SPAN_SIZE = 64 << 20                       # an .evtx file this big or bigger: a task per span of chunks
ROWS_PER_GROUP = 64 * 1024                 # Parquet row groups: memory stays flat when writing


@dataclass(frozen=True)
class Batch:
    """What one task reads: files of one kind, and the names the store gives them."""

    kind: str
    slot: str
    files: tuple[Path | Member, ...]
    names: tuple[str, ...]      # as the store names each file: <source folder>/<path in it>
    hashes: tuple[str, ...]
    sizes: tuple[int, ...]
    source: str = ""            # the folder's (or zip's) name it came from
    tz: str | None = None       # its source's time zone and culture (given, or its exlab-case.toml)
    culture: str | None = None

    @property
    def id(self) -> str:
        """The SHA-256 of the kind and the inputs' SHA-256s: the same content is the same batch."""
        return hashlib.sha256(" ".join((self.kind, *self.hashes)).encode()).hexdigest()


@dataclass
class IngestResult:
    """What one ingest did: batches added (replacing ``replaced``), skipped as already in the
    store, failed (file names and why), and rows added per frame (as stored: copies of an event
    exported twice too). Then what the whole store holds per frame after it: ``stored`` (the rows
    SQL's views count) and ``distinct`` (those :func:`exlab.open_case` answers with: such copies
    once; :func:`exlab.fleet.read.store_rows`)."""

    store: Path
    added: int = 0
    skipped: int = 0
    replaced: int = 0
    failed: list[tuple[list[str], str]] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)
    unread: list[dict[str, str]] = field(default_factory=list)
    dashboard: str | None = None


class IngestIncomplete(ExlabError):
    """Some batches could not be ingested: the others are in the store; run the ingest again."""

    def __init__(self, result: IngestResult) -> None:
        self.result = result
        files = "; ".join(f"{', '.join(names)} ({why})" for names, why in result.failed)
        super().__init__(str(result.store), f"{len(result.failed)} batch(es) not ingested",
                         "every evidence file ingested", f"{files}; the rest is stored: run the ingest again")

    def __reduce__(self):
        return (type(self), (self.result,))


def plan(sources: Iterable[str | os.PathLike], *, follow_links: bool = False, tz: str | None = None,
         culture: str | None = None, server_tz: dict[str, str] | None = None) -> tuple[list[Batch], list[dict]]:
    """The batches of ``sources`` (folders or zips of evidence), and the files no reader takes
    (:func:`plan_source` of each).

    >>> import tempfile, pathlib
    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> case = pathlib.Path(tempfile.mkdtemp()) / "EX01"
    >>> (case / "SmtpSend").mkdir(parents=True)
    >>> for day in (20, 21):
    ...     _ = (case / "SmtpSend" / f"SEND202503{day}-1.LOG").write_bytes(demo_protocol_log().getvalue())
    >>> [(b.kind, b.slot, b.names) for b in plan([case])[0]]
    [('sessions', 'sessions:EX01/SmtpSend', ('EX01/SmtpSend/SEND20250320-1.LOG', 'EX01/SmtpSend/SEND20250321-1.LOG'))]
    """
    sources = [Path(source) for source in sources]
    planned = [plan_source(source, label, follow_links=follow_links, tz=tz, culture=culture, server_tz=server_tz)
               for source, label in zip(sources, source_labels(sources))]
    return [batch for one in planned for batch in one.batches], [row for one in planned for row in one.unread]


def source_labels(sources: Sequence[Path]) -> list[str]:
    """Each source's name in the store: its folder's (or zip's) own name (``.`` too), with as many of its
    parent folders' names as tell it from another source of the same name (the store names a source's
    files, and tells what is collected again, by its name).

    >>> source_labels([Path("/e/EX01/collected.zip"), Path("/e/EX02/collected.zip"), Path("/e/org"), Path("/e/org/")])
    ['EX01/collected.zip', 'EX02/collected.zip', 'org', 'org']
    """
    paths = [Path(os.path.abspath(source)) for source in sources]
    depth = dict.fromkeys(paths, 1)
    while True:
        label = {path: "/".join(path.parts[-depth[path]:]) for path in paths}
        clashing = [path for path in depth if sum(label[other] == label[path] for other in depth) > 1]
        if not clashing or all(depth[path] >= len(path.parts) - 1 for path in clashing):
            return [text_name(label[path]) for path in paths]
        for path in clashing:
            depth[path] = min(depth[path] + 1, len(path.parts) - 1)


@dataclass(frozen=True)
class SourcePlan:
    """One source's batches, the files no reader takes (with why), and its entry (kind ``source``)."""

    batches: list[Batch]
    unread: list[dict]
    entry: Entry


def plan_source(root: Path, label: str, *, follow_links: bool = False, tz: str | None = None,
                culture: str | None = None, server_tz: dict[str, str] | None = None) -> SourcePlan:
    """The plan of one source (a folder or zip of evidence), named ``label`` in the store
    (:func:`source_labels`). It is read with ``tz``, ``culture`` and ``server_tz`` (the zones of servers
    whose exports were written in another zone) when given, else with those of its own ``exlab-case.toml`` (:mod:`exlab.settings`), whose trust anchors file is not evidence. Its entry
    records what a direct read lists beside its frames' files: the files passed over (unread, with
    why), the zips read and the settings file, with their SHA-256.

    >>> import tempfile, pathlib
    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> case = pathlib.Path(tempfile.mkdtemp()) / "EX01"
    >>> (case / "logs").mkdir(parents=True)
    >>> _ = (case / "logs" / "SEND20250320-1.LOG").write_bytes(demo_protocol_log().getvalue())
    >>> _ = (case / "notes.txt").write_text("collected on Monday")
    >>> planned = plan_source(case / "logs" / "..", "EX01")
    >>> planned.batches[0].names
    ('EX01/logs/SEND20250320-1.LOG',)
    >>> planned.entry.unread
    [{'file': 'EX01/notes.txt', 'reason': 'no exlab reader recognises its content'}]
    """
    from exlab.case import CASE_SETTINGS, ZONED_KINDS, case_own_files, discover
    from exlab.settings import read_settings, with_given

    written = read_settings(root)       # once per source: its values, the anchors it names, its hash
    settings = with_given(written, tz=tz, culture=culture, server_tz=server_tz)
    own = case_own_files(root, settings.roots, written)
    found, skipped = discover(root, follow_links=follow_links, not_evidence=own.paths)
    name = partial(_store_name, label=label, root=root)
    unread = [{**row, "file": name(row["file"])} for row in skipped]
    batches = []
    for kind, files in found.items():
        groups: dict[tuple[str, str | None], list] = {}
        for file in files:
            slot = name(file) if kind in PER_FILE else _folder_of(name(file)) if kind == "sessions" else label
            zone = settings.zone_of(name(file)) if kind in ZONED_KINDS else settings.tz
            # a server of another zone (server_tz) has a batch of its own, read in its zone
            slot = f"{slot}@{zone}" if zone != settings.tz and kind not in PER_FILE else slot
            groups.setdefault((f"{kind}:{slot}", zone), []).append(file)
        for (slot, zone), members in groups.items():
            hashes, sizes = zip(*(_hash(file) for file in members))
            batches.append(Batch(kind, slot, tuple(members), tuple(name(f) for f in members), hashes, sizes,
                                 label, zone, settings.culture))
    reports = ParseReport()
    add_bundles(reports, [file for batch in batches for file in batch.files], name)
    for own_file in (f for f in own.report.files if f.format == CASE_SETTINGS):
        reports.add_file(name(str(root / own_file.file)), sha256=own_file.sha256, format=own_file.format,
                         size=own_file.size)
    return SourcePlan(batches, unread, _source_entry(label, reports, unread))


def _folder_of(name: str) -> str:
    """The folder (or zip) a store name sits in: a protocol log folder, whose sessions span its files.

    >>> _folder_of("EX01/Logs/SmtpSend/SEND1.LOG"), _folder_of("SmtpSend.zip!SEND1.LOG")
    ('EX01/Logs/SmtpSend', 'SmtpSend.zip')
    """
    return name[:max(name.rfind("/"), name.rfind("!"))]


def _source_entry(label: str, reports: ParseReport, unread: list[dict]) -> Entry:
    """The entry of source ``label``: no rows, the ``reports`` of its zips and settings file, its
    ``unread`` files; its id the SHA-256 of all that (the same source ingested again is the same entry)."""
    said = json.dumps([SOURCE, label, [(f.file, f.sha256) for f in reports.files],
                       [(row["file"], row["reason"]) for row in unread]])
    return Entry(batch=hashlib.sha256(said.encode()).hexdigest(), kind=SOURCE, slot=f"{SOURCE}:{label}", sequence=0,
                 inputs=[], reports=[report_to_json(f) for f in reports.files], parts=[], rows=0, unread=unread,
                 source=label)


def _store_name(file: Path | Member | str, label: str, root: Path) -> str:
    """A file's name in the store: its source's name (``label``) then its path in it, a zip's member
    as ``label!path`` (``EX01/collected.zip!logs/SEND1.LOG``).

    >>> _store_name("/e/EX01/collected.zip!logs/SEND1.LOG", "EX01/collected.zip", Path("/e/EX01/collected.zip"))
    'EX01/collected.zip!logs/SEND1.LOG'
    """
    from exlab.case import case_relative

    if not root.is_dir():     # a zip: its members are named from its folder, the zip's own name in the label
        return label.removesuffix(text_name(root.name)) + case_relative(str(file), root.parent)
    return f"{label}/{case_relative(str(file), root)}"


def _hash(file: Path | Member) -> tuple[str, int]:
    evidence = open_evidence(file)
    try:
        return evidence.sha256, evidence.size
    finally:
        evidence.close()


def read_batch(batch: Batch, root: str, servers: pd.DataFrame | None,
               spans: Sequence[evtx_format.Batch] = ()) -> Entry:
    """Read one batch and write its Parquet files into the store at ``root`` (a task: runs on a
    worker). ``servers`` (Get-ExchangeServer rows of the store) spells server names; the entry
    returned is recorded by the caller. A reader's ExlabError lists the file as unread. An
    .evtx file's ``spans``, when given (every span of :func:`span_jobs`, read in order), make its
    rows and parse report: the file is not read again. Else a big .evtx file (16 MiB or more) is
    read in chunk ranges by helper processes on the task's machine (``exlab.read_events``' own
    ``workers``).

    >>> import tempfile, pathlib
    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> case = pathlib.Path(tempfile.mkdtemp()) / "EX01"
    >>> case.mkdir()
    >>> _ = (case / "SEND20250320-1.LOG").write_bytes(demo_protocol_log().getvalue())
    >>> entry = read_batch(plan([case])[0][0], str(Store.create(case.parent / "store").root), None)
    >>> entry.rows, entry.parts[0].startswith("sessions/server=__none__/day=2025-03-20/")
    (1, True)
    """
    from exlab.case import _load, evidence_kinds, with_case_names
    from exlab.fleet.columns import dtypes_of

    began = time.perf_counter()
    kind = next(k for k in evidence_kinds() if k.name == batch.kind)
    unread: list[dict[str, str]] = []
    with warnings.catch_warnings(record=True) as caught:     # shown by the caller, under the store's names
        warnings.simplefilter("always", ExlabWarning)
        with evtx_format.spans_read_elsewhere({batch.hashes[0]: spans} if spans else {}):
            frame = _load(kind, list(batch.files), batch.tz, batch.culture, unread)
    named = dict(zip(map(str, batch.files), batch.names))
    entry = Entry(batch=batch.id, kind=batch.kind, slot=batch.slot, sequence=0, source=batch.source,
                  inputs=[{"file": n, "sha256": h, "size": s} for n, h, s in zip(batch.names, batch.hashes, batch.sizes)],
                  reports=[], parts=[], rows=0,
                  unread=[{**row, "file": named.get(row["file"], row["file"]),
                           "reason": _in_store(row["reason"], named)} for row in unread],
                  warned=[{"file": named.get(str(w.message.source), str(w.message.source)), "where": w.message.where,
                           "text": w.message.text, "category": type(w.message).__name__}
                          for w in caught if isinstance(w.message, ExlabWarning)])
    if frame is None:
        return entry
    frame = with_case_names(frame.reset_index(drop=True), lambda file: named.get(file, file))
    entry.dtypes = dtypes_of(frame)
    entry.reports = [report_to_json(f) for f in frame.attrs["parse_report"].files]
    context = {"servers": servers} if servers is not None and batch.kind != "servers" else {}
    entry.parts, entry.servers, entry.unattributed = write_batch(frame, batch.kind, batch.id, Path(root), context)
    entry.rows = len(frame)
    entry.seconds = time.perf_counter() - began
    return entry


def _in_store(text: str, named: dict[str, str]) -> str:
    """``text`` with each path of the engineer's machine it names (``named``'s keys) as the store names it.

    >>> _in_store("/home/ana/EX01/fl.txt, line 3: expected ...", {"/home/ana/EX01/fl.txt": "EX01/fl.txt"})
    'EX01/fl.txt, line 3: expected ...'
    """
    for path, name in sorted(named.items(), key=lambda item: -len(item[0])):     # a longer path before its folder
        text = text.replace(path, name)
    return text


def attributed(frame: pd.DataFrame, kind: str, context: dict[str, pd.DataFrame], owner: str | None = None) -> pd.Series:
    """The ``server`` of each row of ``frame`` (of frame ``kind``) as :func:`exlab.attribution.attribute_servers`
    gives it beside ``context`` (the Get-ExchangeServer rows that spell the names); rows of server
    evidence it names no server for are ``owner``'s, when given (the one server of their source).

    >>> frame = pd.DataFrame({"session_id": ["08DD"], "source": ["logs/SEND1.LOG"]})
    >>> attributed(frame, "sessions", {}).tolist(), attributed(frame, "sessions", {}, "ex01.contoso.com").tolist()
    ([<NA>], ['ex01.contoso.com'])
    """
    from exlab.attribution import SERVER_EVIDENCE, attribute_servers

    server = attribute_servers({**context, kind: frame})[kind]["server"]
    return server.fillna(owner) if owner and kind in SERVER_EVIDENCE else server


def write_batch(frame: pd.DataFrame, kind: str, batch: str, root: Path, context: dict[str, pd.DataFrame], *,
                owner: str | None = None, first: int = 0) -> tuple[list[str], list[str], int]:
    """Write batch ``batch``'s rows of frame ``kind``, each with its server (:func:`attributed`), and of an
    event log the failed deliveries it logs too (``failures``, for SQL: :mod:`exlab.fleet.sql`), into the
    store at ``root``, files numbered from ``first``: their paths, the servers named and the rows of none.

    >>> import tempfile
    >>> frame = pd.DataFrame({"source": pd.array(["logs/SEND1.LOG"], dtype="string"),
    ...                       "start": pd.to_datetime(["2025-03-20 09:00"], utc=True)})
    >>> parts, servers, unattributed = write_batch(frame, "sessions", "ab" * 32, Path(tempfile.mkdtemp()), {},
    ...                                            owner="ex01.contoso.com", first=2)
    >>> parts[0].replace("ab" * 32, "<batch>"), servers, unattributed
    ('sessions/server=ex01.contoso.com/day=2025-03-20/<batch>-2.parquet', ['ex01.contoso.com'], 0)
    """
    from exlab.attribution import split_servers

    server = attributed(frame, kind, context, owner)
    parts = write_parts(frame, server, batch, root, kind, first=first)
    if kind == "events":
        from exlab.transport import tls_failures
        failures = tls_failures(frame)
        if len(failures):
            parts += write_parts(failures, attributed(failures, "events", context, owner), batch, root, "failures",
                                 first=first)
    servers = sorted({name for cell in server.dropna().unique() for name in split_servers(cell)})
    return parts, servers, int(server.isna().sum())


def span_jobs(batch: Batch, *, span_size: int = SPAN_SIZE,
              span_chunks: int | None = None) -> list[tuple[evtx_format.ChunkSpan, EventQuery, str]]:
    """The ``evtx_format.read_batch`` jobs (span, query, file name) of a batch that is one .evtx
    file on disk of ``span_size`` bytes or more, a job per span of ``span_chunks`` chunks
    (``evtx_format.BATCH_CHUNKS`` by default); none for any other batch. Each span refuses a
    file that changed since this plan.

    >>> import tempfile
    >>> from exlab.lab import write_evtx
    >>> case = Path(tempfile.mkdtemp()) / "EX01"
    >>> case.mkdir()
    >>> _ = write_evtx(case / "Application.evtx", [{"time_created": 1_742_462_042_000_000_000, "event_id": 12014,
    ...     "record_id": n, "data": {"%1": "x" * 2000}} for n in range(1, 81)])
    >>> batch = plan([case])[0][0]
    >>> [span.first for span, query, file in span_jobs(batch, span_size=0, span_chunks=2)]
    [0, 2, 4]
    >>> span_jobs(batch)
    []
    """
    file = batch.files[0]
    if batch.kind != "events" or len(batch.files) != 1 or not isinstance(file, Path) or batch.sizes[0] < span_size:
        return []
    with open(file, "rb") as stream:
        if not evtx_format.detect(stream.read(8)):
            return []
        stamp = file_stamp(stream)
    query = EventQuery.build(tz=batch.tz, culture=batch.culture)       # as exlab.read_events builds it for the batch's read
    return [(span, query, str(file)) for span in evtx_format.plan_spans(file, stamp[2], stamp, per_span=span_chunks)]


def write_parts(frame: pd.DataFrame, server: pd.Series, batch: str, root: Path, kind: str, *,
                first: int = 0) -> list[str]:
    """Write batch ``batch``'s rows of frame ``kind``, one Parquet file per (server, day), numbered
    from ``first``, under temporary names then renamed; the files' paths relative to ``root``.

    >>> import tempfile
    >>> frame = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 09:00", "2025-03-21 10:00"], utc=True)})
    >>> parts = write_parts(frame, pd.Series(["ex01.contoso.com"] * 2), "ab" * 32, Path(tempfile.mkdtemp()), "tracking")
    >>> [p.replace("ab" * 32, "<batch>") for p in parts]
    ['tracking/server=ex01.contoso.com/day=2025-03-20/<batch>-0.parquet', 'tracking/server=ex01.contoso.com/day=2025-03-21/<batch>-1.parquet']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from exlab.fleet.columns import schema_of, to_arrow

    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items() if name != "server"}
    plain = frame.copy(deep=False)
    plain.attrs = {}            # pandas copies attrs (the parse report) at every step otherwise
    stored = plain[list(dtypes)].copy()
    stored["batch"] = pd.array([batch] * len(frame), dtype="string")
    stored["batch_row"] = pd.array(range(len(frame)), dtype="Int64")
    stored["server"] = server.astype("string").to_numpy()
    day_column = DAY_COLUMNS.get(kind)
    if day_column:
        stored["day"] = stored[day_column].dt.strftime("%Y-%m-%d").astype("string")
    types = {**dtypes, "batch": "string", "batch_row": "Int64", "server": "string",
             **({"day": "string"} if day_column else {})}
    schema = schema_of(types)
    staging = root / ".staging" / f"{batch}-{uuid.uuid4().hex}"
    keys = ["server", "day"] if day_column else ["server"]
    parts: list[tuple[Path, str]] = []
    try:
        for n, (key, rows) in enumerate(stored.groupby(keys, dropna=False, sort=True), start=first):
            key = key if isinstance(key, tuple) else (key,)
            folder = "/".join(f"{k}={partition_value(v)}" for k, v in zip(keys, key))
            relative = f"{kind}/{folder}/{batch}-{n}.parquet"
            temporary = staging / f"{kind}-{n}.parquet"
            temporary.parent.mkdir(parents=True, exist_ok=True)
            table = to_arrow(rows, types)
            with writing(root / relative), pq.ParquetWriter(temporary, schema) as writer:
                for chunk in table.to_batches(max_chunksize=ROWS_PER_GROUP):
                    writer.write_table(pa.Table.from_batches([chunk], schema=schema))
            parts.append((temporary, relative))
        for temporary, relative in parts:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, root / relative)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [relative for _, relative in parts]


def _servers_of(store: Store) -> pd.DataFrame | None:
    return read_frame(store, "servers")


def ingest(sources: Iterable[str | os.PathLike] | str | os.PathLike, store: str | os.PathLike, *,
           workers: int | None = None, client: Any = None, tz: str | None = None, culture: str | None = None,
           server_tz: dict[str, str] | None = None, follow_links: bool = False, progress: bool = True, span_size: int = SPAN_SIZE,
           span_chunks: int | None = None) -> IngestResult:
    """Ingest evidence folders or zips into the store at ``store`` (made when absent).

    ``client`` (a ``dask.distributed.Client``) runs the tasks on its cluster; else
    ``workers=N`` starts a local cluster of N processes on the loopback interface for this
    ingest; else the tasks run in this process. An .evtx file of ``span_size`` bytes or more
    is read as a task per span of ``span_chunks`` chunks (see :func:`span_jobs`), then
    assembled by its batch's task. The result counts what was added and
    skipped; a batch that failed raises :class:`IngestIncomplete` naming its files, once
    every other batch is stored.
    """
    sources = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    for source in sources:
        if not Path(source).exists():
            raise EvidenceNotFound(str(source), expected="a folder or a .zip of evidence")
    outside_evidence(store, sources)
    target = Store.create(store)
    with target.writing():
        target.clear_staging()
        roots = [Path(source) for source in sources]
        planned = [plan_source(root, label, follow_links=follow_links, tz=tz, culture=culture, server_tz=server_tz)
                   for root, label in zip(roots, source_labels(roots))]
        batches = [batch for one in planned for batch in one.batches]
        known = {entry.batch for entry in target.entries()}
        todo = []
        for batch in batches:       # each batch once: a folder given twice is read once
            if batch.id not in known:
                known.add(batch.id)
                todo.append(batch)
        result = IngestResult(store=target.root, skipped=len(batches) - len(todo),
                              unread=list({(row["file"], row["reason"]): row for one in planned
                                           for row in one.unread}.values()))
        owned = local_client(workers) if client is None and workers is not None else None
        try:
            _execute(batches, todo, target, result, client or owned, progress=progress,
                     spans=partial(span_jobs, span_size=span_size, span_chunks=span_chunks))
        finally:
            if owned is not None:
                cluster = owned.cluster
                owned.close()
                cluster.close()
        _record_sources([one.entry for one in planned], target)
        settle_servers(target)
        result.stored, result.distinct = store_rows(target)
    if result.failed:
        raise IngestIncomplete(result)
    return result


def _execute(batches: list[Batch], todo: list[Batch], store: Store, result: IngestResult, client: Any, *,
             progress: bool,
             spans: Callable[[Batch], list[tuple]]) -> None:
    """Run the batches ``todo`` (of the planned ``batches``) and record each as it ends: the
    Get-ExchangeServer batches first (their names spell the others' servers), then the rest.
    ``spans`` gives a batch's span jobs (:func:`span_jobs`)."""
    from tqdm.auto import tqdm

    from exlab.case import PROGRESS_DELAY  # a bar only for an ingest that lasts

    start = time.time_ns()     # the batches of this ingest come after those already stored, in planned order
    place = {batch.id: n for n, batch in enumerate(batches)}
    slots: dict[tuple[str, str], list[Entry]] = {}     # the store's batches by slot, read once
    for entry in store.entries():
        slots.setdefault((entry.kind, entry.slot), []).append(entry)
    result.dashboard = getattr(client, "dashboard_link", None) if client is not None else None
    if result.dashboard:
        log.info("Dask dashboard: %s", result.dashboard)
    with tqdm(total=len(todo), desc="ingest", unit="batch", disable=not progress, delay=PROGRESS_DELAY) as bar:
        for phase in ([b for b in todo if b.kind == "servers"], [b for b in todo if b.kind != "servers"]):
            for batch, outcome in _run(phase, store, _servers_of(store), client, spans):
                bar.update(1)
                if isinstance(outcome, BaseException):
                    result.failed.append((list(batch.names), f"{type(outcome).__name__}: {outcome}"))
                else:
                    _record(store, outcome, result, start + place[batch.id], slots)


def _record(store: Store, entry: Entry, result: IngestResult, sequence: int,
            slots: dict[tuple[str, str], list[Entry]]) -> None:
    """Record a batch done: its entry (``sequence``: its place in the store's order, as planned,
    whichever task ends first), replacing the older batch of its slot that it collects again
    (:func:`collected_again`; ``slots``: the store's batches by kind and slot, kept up to date)."""
    kept = slots.get((entry.kind, entry.slot), [])
    older = [e for e in kept if collected_again(e, entry)]
    entry.sequence = sequence
    store.add(entry, replaced=older)
    slots[(entry.kind, entry.slot)] = [e for e in kept if e not in older] + [entry]
    result.added += 1
    result.replaced += sum(e.batch != entry.batch for e in older)
    result.rows[entry.kind] = result.rows.get(entry.kind, 0) + entry.rows
    result.unread += entry.unread
    for warned in entry.warned:
        category = getattr(errors, str(warned.get("category")), ExlabWarning)
        category = category if isinstance(category, type) and issubclass(category, ExlabWarning) else ExlabWarning
        warn_at(category(warned["text"], warned["file"], warned["where"]))


def collected_again(older: Entry, newer: Entry) -> bool:
    """Whether batch ``newer``, of ``older``'s slot (the same file, folder or exports of a source of
    the same name), is that evidence collected again, which replaces it: not when their rows are
    two servers' (two servers' zips of one name, each ``collected.zip``), however spelled.

    >>> one = Entry("ab" * 32, "events", "events:collected.zip!Application.evtx", 1, [], [], [], 9,
    ...             servers=["ex01.contoso.com"])
    >>> from dataclasses import replace
    >>> collected_again(one, replace(one, servers=["EX01"])), collected_again(one, replace(one, servers=["EX02"]))
    (True, False)
    """
    def short(entry: Entry) -> set[str]:
        return {host_name(name) for name in entry.servers}
    return not (older.servers and newer.servers and short(older).isdisjoint(short(newer)))


def _record_sources(entries: list[Entry], store: Store) -> None:
    """Record the entries of the sources ingested (:func:`plan_source`), each replacing the older one of
    its source's name; one already in the store is left as it is."""
    stored = store.entries()
    known = {entry.batch for entry in stored}
    for entry in entries:
        if entry.batch not in known:
            entry.sequence = time.time_ns()
            store.add(entry, replaced=[e for e in stored if (e.kind, e.slot) == (entry.kind, entry.slot)])
            known.add(entry.batch)


def settle_servers(store: Store) -> int:
    """Give every stored row the server the whole store tells, as :func:`exlab.open_case` does for a
    case: a name its batch alone could not spell is spelled as the store's evidence spells it (``WGEX01``
    is ``wgex01.woodgrovebank.com`` once an event or Get-ExchangeServer says so, in this ingest or a
    later one); a file that names no server is the one of its folders the store knows; and the rows
    of a source (one folder or zip) of one server that nothing names a server for (a protocol log
    folder without the server's name) are that server's. A batch whose servers change is written
    again (its new files, then its entry, then its old files removed). The batches written again.

    >>> import tempfile
    >>> settle_servers(Store.create(tempfile.mkdtemp()))
    0
    """
    from exlab.attribution import SERVER_EVIDENCE

    names = _store_names(store)
    context = {"servers": pd.DataFrame({"name": list(names.fqdn_of), "fqdn": list(names.fqdn_of.values())})}
    owners = _owners(store.entries(), names)
    written = 0
    for entry in store.entries():
        owner = owners.get(entry.source) if entry.kind in SERVER_EVIDENCE else None
        if entry.unattributed or any(names.key(name) != name for name in entry.servers):
            written += _settle(store, entry, context, owner)
    return written


def _store_names(store: Store) -> ServerNames:
    """The server names of the whole store (:class:`exlab.attribution.ServerNames`): Get-ExchangeServer's,
    then the FQDNs its batches named."""
    from exlab.attribution import ServerNames

    return ServerNames.build(servers=read_frame(store, "servers", columns=["name", "fqdn"]),
                             fqdns=[name for entry in store.entries() for name in entry.servers])


def _owners(entries: list[Entry], names: ServerNames) -> dict[str, str]:
    """The server of each source whose server evidence names one server only (however spelled)."""
    from exlab.attribution import SERVER_EVIDENCE

    named: dict[str, set[str]] = {}
    for entry in (e for e in entries if e.kind in SERVER_EVIDENCE):
        named.setdefault(entry.source, set()).update(names.key(name) for name in entry.servers)
    return {source: servers.pop() for source, servers in named.items() if len(servers) == 1}


def _settle(store: Store, entry: Entry, context: dict[str, pd.DataFrame], owner: str | None) -> int:
    """Write ``entry``'s batch again when its rows' servers are not those the store now tells (1), else 0."""
    from exlab.fleet.read import batch_rows
    from exlab.fleet.store import StoreError

    try:
        rows = batch_rows(store, entry, {**entry.dtypes, "server": "string"})
    except StoreError as err:       # a damaged file: its batch is left out of every read, and said so
        store.leave_out(entry, err)
        return 0
    frame = rows.drop(columns="server")
    if attributed(frame, entry.kind, context, owner).equals(rows["server"]):
        return 0
    first = 1 + max(int(part.rsplit("-", 1)[1].removesuffix(".parquet")) for part in entry.parts)
    old = entry.parts
    entry.parts, entry.servers, entry.unattributed = write_batch(frame, entry.kind, entry.batch, store.root, context,
                                                                 owner=owner, first=first)
    store.add(entry)
    for part in old:
        (store.root / part).unlink(missing_ok=True)
    return 1


def _run(batches: list[Batch], store: Store, servers: pd.DataFrame | None, client: Any, spans: Callable[[Batch], list[tuple]]) -> Iterator[tuple[Batch, Entry | BaseException]]:
    """Each batch with its entry, or the exception its task ended with, as tasks finish. A batch
    with span jobs (``spans``) is a task per span first, then its own task on what they read:
    here, the spans are read by this process and its helper processes (``ordered_map``)."""
    root = str(store.root)
    if client is None:
        for batch in batches:
            try:
                jobs = spans(batch)
                read = list(ordered_map(evtx_format.read_batch, iter(jobs), max(min(cores(), len(jobs)) - 1, 0)))
                yield batch, read_batch(batch, root, servers, read)
            except Exception as err:
                log.exception("batch %s failed", batch.slot)
                yield batch, err
        return
    from distributed import as_completed
    futures: dict[Any, tuple[Batch, list]] = {}
    for batch in batches:
        try:
            jobs = spans(batch)
        except OSError as err:      # the file is gone or unreadable since it was hashed
            yield batch, err
            continue
        tag = f"{batch.id[:16]}-{uuid.uuid4().hex[:8]}"
        read = [client.submit(evtx_format.read_batch, *job, key=f"exlab-span-{tag}-{n}")
                for n, job in enumerate(jobs)]
        futures[client.submit(read_batch, batch, root, servers, read,
                              key=f"exlab-{batch.kind}-{tag}")] = (batch, read)
    for future in as_completed(futures):
        try:
            outcome = future.result()
        except Exception as err:  # noqa: BLE001 - the task's error, a worker lost too often, a cancel
            outcome = err
        batch, read = futures[future]
        for done in (future, *read):
            done.release()
        yield batch, outcome


def local_client(workers: int, *, memory_limit: str | None = "auto") -> Any:
    """A Dask client of a new ``LocalCluster``: ``workers`` processes of one thread on 127.0.0.1,
    its dashboard on a free port of 127.0.0.1 (``client.cluster`` closes it).

    >>> local_client(0)
    Traceback (most recent call last):
    exlab.errors.ExlabError: workers=0: expected one worker or more
    """
    if workers < 1:
        raise ExlabError(f"workers={workers}", expected="one worker or more")
    from distributed import Client, LocalCluster
    if not log.isEnabledFor(logging.INFO):      # the scheduler's own chatter, unless exlab is verbose
        logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", memory_limit=memory_limit, silence_logs=logging.WARNING)
    return Client(cluster)


def connect(address: str, *, timeout: str = "10s") -> Any:
    """A Dask client of the scheduler at ``address`` (``tcp://host:8786``), or a clear error
    once ``timeout`` has passed.

    >>> connect("tcp://127.0.0.1:not-a-port")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    exlab.errors.ExlabError: tcp://127.0.0.1:not-a-port: expected a Dask scheduler answering at this address (...)
    """
    from distributed import Client
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as err:
        raise ExlabError(address, expected="a Dask scheduler answering at this address",
                         detail=str(err)) from None

