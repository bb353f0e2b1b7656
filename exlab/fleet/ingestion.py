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
from typing import Any

import pandas as pd

from exlab import errors
from exlab.bundle import Member
from exlab.errors import EvidenceNotFound, ExlabError, ExlabWarning
from exlab.events import evtx_format
from exlab.events.query import EventQuery
from exlab.evidence import file_stamp, open_evidence, outside_evidence, writing
from exlab.fleet.read import read_frame, store_rows
from exlab.fleet.store import (
    DAY_COLUMNS,
    NO_VALUE,
    Entry,
    Store,
    partition_value,
    report_to_json,
)
from exlab.parallel import cores, ordered_map
from exlab.parse_report import warn_at

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
         culture: str | None = None) -> tuple[list[Batch], list[dict]]:
    """The batches of ``sources`` (folders or zips of evidence), and the files no reader takes.
    Each source is read with ``tz`` and ``culture`` when given, else with those of its own
    ``exlab-case.toml`` (:mod:`exlab.settings`), whose trust anchors file is not evidence.

    >>> import tempfile, pathlib
    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> case = pathlib.Path(tempfile.mkdtemp()) / "EX01"
    >>> (case / "SmtpSend").mkdir(parents=True)
    >>> for day in (20, 21):
    ...     _ = (case / "SmtpSend" / f"SEND202503{day}-1.LOG").write_bytes(demo_protocol_log().getvalue())
    >>> [(b.kind, b.slot, b.names) for b in plan([case])[0]]
    [('sessions', 'sessions:EX01/SmtpSend', ('EX01/SmtpSend/SEND20250320-1.LOG', 'EX01/SmtpSend/SEND20250321-1.LOG'))]
    """
    from exlab.case import case_own_files, discover
    from exlab.settings import read_settings, with_given

    batches: list[Batch] = []
    unread: list[dict] = []
    for source in sources:
        root = Path(source)
        label = root.name
        written = read_settings(root)       # once per source: its values, the anchors it names, its hash
        settings = with_given(written, tz=tz, culture=culture)
        own = case_own_files(root, settings.roots, written)
        found, skipped = discover(root, follow_links=follow_links, not_evidence=own.paths)
        name = partial(_store_name, label=label, root=root)
        unread += [{**row, "file": name(row["file"])} for row in skipped]
        for kind, files in found.items():
            groups: dict[str, list] = {}
            for file in files:
                if kind in PER_FILE:
                    slot = name(file)
                elif kind == "sessions":
                    slot = name(file).rsplit("/", 1)[0]
                else:
                    slot = label
                groups.setdefault(f"{kind}:{slot}", []).append(file)
            for slot, members in groups.items():
                hashes, sizes = zip(*(_hash(file) for file in members))
                batches.append(Batch(kind, slot, tuple(members), tuple(name(f) for f in members), hashes, sizes,
                                     label, settings.tz, settings.culture))
    return batches, unread


def _store_name(file: Path | Member, label: str, root: Path) -> str:
    """A file's name in the store: its source's folder name then its path in it, or a zip's
    member as ``bundle.zip!path``."""
    from exlab.case import case_relative
    return case_relative(str(file), root) if root.is_file() else f"{label}/{case_relative(str(file), root)}"


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
    from exlab.attribution import attribute_servers, split_servers
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
                  unread=[{"file": named.get(u["file"], u["file"]), "reason": u["reason"]} for u in unread],
                  warned=[{"file": named.get(str(w.message.source), str(w.message.source)), "where": w.message.where,
                           "text": w.message.text, "category": type(w.message).__name__}
                          for w in caught if isinstance(w.message, ExlabWarning)])
    if frame is None:
        return entry
    frame = with_case_names(frame.reset_index(drop=True), lambda file: named.get(file, file))
    entry.dtypes = dtypes_of(frame)
    entry.reports = [report_to_json(f) for f in frame.attrs["parse_report"].files]
    context = {batch.kind: frame} | ({"servers": servers} if servers is not None and batch.kind != "servers" else {})
    attributed = attribute_servers(context)[batch.kind]
    entry.parts = write_parts(frame, attributed["server"], batch, Path(root))
    entry.servers = sorted({name for cell in attributed["server"].dropna().unique() for name in split_servers(cell)})
    entry.unattributed = int(attributed["server"].isna().sum())
    entry.rows = len(frame)
    if batch.kind == "events":      # the failed deliveries they log, for SQL (exlab.fleet.sql)
        from exlab.transport import tls_failures
        failures = tls_failures(frame)
        if len(failures):
            server = attribute_servers({**context, "events": failures})["events"]["server"]
            entry.parts += write_parts(failures, server, batch, Path(root), kind="failures")
    entry.seconds = time.perf_counter() - began
    return entry


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


def write_parts(frame: pd.DataFrame, server: pd.Series, batch: Batch, root: Path, kind: str | None = None) -> list[str]:
    """Write the batch's rows of frame ``kind`` (the batch's own by default), one Parquet file
    per (server, day), under temporary names then renamed; the files' paths relative to ``root``.

    >>> import tempfile
    >>> frame = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 09:00", "2025-03-21 10:00"], utc=True)})
    >>> batch = Batch("tracking", "tracking:EX01/MSGTRK.LOG", (), ("EX01/MSGTRK.LOG",), ("00",), (0,))
    >>> parts = write_parts(frame, pd.Series(["ex01.contoso.com"] * 2), batch, Path(tempfile.mkdtemp()))
    >>> [p.replace(batch.id, "<batch>") for p in parts]
    ['tracking/server=ex01.contoso.com/day=2025-03-20/<batch>-0.parquet', 'tracking/server=ex01.contoso.com/day=2025-03-21/<batch>-1.parquet']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from exlab.fleet.columns import schema_of, to_arrow

    kind = kind or batch.kind

    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items() if name != "server"}
    plain = frame.copy(deep=False)
    plain.attrs = {}            # pandas copies attrs (the parse report) at every step otherwise
    stored = plain[list(dtypes)].copy()
    stored["batch"] = pd.array([batch.id] * len(frame), dtype="string")
    stored["batch_row"] = pd.array(range(len(frame)), dtype="Int64")
    stored["server"] = server.astype("string").to_numpy()
    day_column = DAY_COLUMNS.get(kind)
    if day_column:
        stored["day"] = stored[day_column].dt.strftime("%Y-%m-%d").astype("string")
    types = {**dtypes, "batch": "string", "batch_row": "Int64", "server": "string",
             **({"day": "string"} if day_column else {})}
    schema = schema_of(types)
    staging = root / ".staging" / f"{batch.id}-{uuid.uuid4().hex}"
    keys = ["server", "day"] if day_column else ["server"]
    parts: list[tuple[Path, str]] = []
    try:
        for n, (key, rows) in enumerate(stored.groupby(keys, dropna=False, sort=True)):
            key = key if isinstance(key, tuple) else (key,)
            folder = "/".join(f"{k}={partition_value(v)}" for k, v in zip(keys, key))
            relative = f"{kind}/{folder}/{batch.id}-{n}.parquet"
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
           follow_links: bool = False, progress: bool = True, span_size: int = SPAN_SIZE,
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
        batches, unread = plan(sources, follow_links=follow_links, tz=tz, culture=culture)
        known = {entry.batch for entry in target.entries()}
        todo = [b for b in batches if b.id not in known]
        result = IngestResult(store=target.root, skipped=len(batches) - len(todo), unread=unread)
        owned = local_client(workers) if client is None and workers is not None else None
        try:
            _execute(batches, todo, target, result, client or owned, progress=progress,
                     spans=partial(span_jobs, span_size=span_size, span_chunks=span_chunks))
        finally:
            if owned is not None:
                cluster = owned.cluster
                owned.close()
                cluster.close()
        settle_unattributed(target)
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
    whichever task ends first), replacing the older batch of its slot (``slots``: the store's
    batches by kind and slot, kept up to date)."""
    older = slots.get((entry.kind, entry.slot), [])
    entry.sequence = sequence
    store.add(entry, replaced=older)
    slots[(entry.kind, entry.slot)] = [entry]
    result.added += 1
    result.replaced += sum(e.batch != entry.batch for e in older)
    result.rows[entry.kind] = result.rows.get(entry.kind, 0) + entry.rows
    result.unread += entry.unread
    for warned in entry.warned:
        category = getattr(errors, str(warned.get("category")), ExlabWarning)
        category = category if isinstance(category, type) and issubclass(category, ExlabWarning) else ExlabWarning
        warn_at(category(warned["text"], warned["file"], warned["where"]))


def settle_unattributed(store: Store) -> int:
    """Rows of a source (one folder or zip) of one server that no file named a server for (a
    protocol log folder without the server's name, a CSV export without computer names) are
    that server's, as in :func:`exlab.open_case`: their files move from ``server=__none__`` to
    the server's partition (written, then the entry, then the old file removed). The rows moved.

    >>> import tempfile
    >>> settle_unattributed(Store.create(tempfile.mkdtemp()))
    0
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from exlab.attribution import SERVER_EVIDENCE

    moved = 0
    by_source: dict[str, list[Entry]] = {}
    for entry in store.entries():
        if entry.kind in SERVER_EVIDENCE:
            by_source.setdefault(entry.source, []).append(entry)
    for entries in by_source.values():
        named = {server for entry in entries for server in entry.servers}
        if len(named) != 1:
            continue
        server = named.pop()
        for entry in (e for e in entries if e.unattributed):
            parts = []
            for part in entry.parts:
                if f"/server={NO_VALUE}/" not in part:
                    parts.append(part)
                    continue
                table = pq.read_table(store.root / part)
                column = table.schema.get_field_index("server")
                table = table.set_column(column, "server", pa.array([server] * len(table), type=pa.string()))
                target = part.replace(f"/server={NO_VALUE}/", f"/server={partition_value(server)}/")
                (store.root / target).parent.mkdir(parents=True, exist_ok=True)
                temporary = (store.root / target).with_name(f".{Path(target).name}.tmp")
                with writing(store.root / target):
                    pq.write_table(table, temporary, row_group_size=ROWS_PER_GROUP)
                os.replace(temporary, store.root / target)
                parts.append(target)
            old = [part for part in entry.parts if part not in parts]
            moved += entry.unattributed
            entry.parts, entry.servers, entry.unattributed = parts, [server], 0
            store.add(entry)
            for part in old:
                (store.root / part).unlink(missing_ok=True)
    return moved


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

