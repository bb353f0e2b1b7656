"""The evidence store: a folder of Parquet datasets, one per frame, and their manifest.

Layout (``STORE`` is any folder)::

    STORE/exlab-store.json                      the format and its version
    STORE/entries/<batch>.json                  one entry per ingested batch (the manifest)
    STORE/<frame>/server=<s>/day=<d>/<batch>-<n>.parquet     events, sessions, tracking, failures
    STORE/<frame>/server=<s>/<batch>-<n>.parquet             certs, connectors, servers...

A batch is what one task reads: one event log or tracking log, one server's protocol log
folder (sessions span its files), or the exports of one kind in one source (certificates
are merged across exports). Its id is the SHA-256 of its inputs' SHA-256s, so the same
content ingested twice is one batch. Every row carries ``batch`` (that id), ``batch_row``
(its place in the reader's frame), ``server`` (as the whole store tells it: see
:func:`exlab.fleet.ingestion.settle_servers`) and, in frames with a time, ``day`` (UTC).
A batch's Parquet files are written under temporary names and renamed; its entry (inputs
with their SHA-256, parse report, files, dtypes) is written last, so data without an entry
(a task that died) is never read, and is written again by the next ingest. ``failures``
(``exlab.transport.tls_failures`` of each event log) is kept beside the events, for SQL.
Each source (folder or zip) ingested has an entry of kind ``source`` too, without rows: the
files no batch holds, as a direct read of it would list them (those passed over, with why;
its zips and its ``exlab-case.toml``, with their SHA-256).

>>> import tempfile
>>> store = Store.create(tempfile.mkdtemp())
>>> Store.open(store.root).entries()
[]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from exlab.errors import DataLossWarning, ExlabError
from exlab.evidence import writing
from exlab.parse_report import FileReport, Loss, ParseReport, RecordAccount, warn_at

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; one ingest at a time is the engineer's to keep
    fcntl = None

FORMAT = "exlab-store"
VERSION = 5     # 2: source entries; sessions delivered_at/delivered_line; connectors source_transport_servers_cut;
#                 3: servers edge; certs not_before_later/not_after_later; connectors frontend_proxy_enabled;
#                 4: queues (Get-Queue); connectors guid; 5: servers transport_service
MANIFEST = "exlab-store.json"
LOCK = ".lock"
ENTRIES = "entries"
# frames partitioned by day too, and the column that dates their rows
DAY_COLUMNS = {"events": "time_created", "sessions": "start", "tracking": "time", "failures": "time_created"}
STORE_COLUMNS = ("batch", "batch_row", "server", "day")
NO_VALUE = "__none__"     # a partition of rows without a server or a day
MAX_PARTITION = 200       # characters of a partition value: with "server=", within a file name's 255 bytes
SOURCE = "source"         # the kind of a source's entry: its files no batch holds (passed over, zips, settings)
# a Parquet file of the store, as an entry names it (partition values are escaped: no "/" and never "." or "..")
PART = re.compile(r"[a-z_]+/server=(?!\.\.?/)[^/\\]+(/day=(?!\.\.?/)[^/\\]+)?/[0-9a-f]{64}-\d+\.parquet")


class StoreError(ExlabError):
    """A folder that is not an exlab store, or one of a format this exlab does not read."""


def damaged_part(path: Path, err: Exception) -> StoreError:
    """The error of a Parquet file of the store that cannot be read; the reader's own message names the
    file by its name alone (the error is shown in reports, which carry no local path).

    >>> damaged_part(Path("/s/tracking/x.parquet"), OSError("'/s/tracking/x.parquet': no magic bytes")).detail
    "'x.parquet': no magic bytes"
    """
    return StoreError(str(path), expected="a Parquet file of the store with the columns its entry lists",
                      detail=str(err).replace(str(path), path.name))


def is_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a store folder (it holds the store's manifest).

    >>> is_store("no-such-folder")
    False
    """
    return (Path(path) / MANIFEST).is_file()


def partition_value(value: Any) -> str:
    """A server or day as a folder name: escaped (evidence text never makes a path), NA as ``__none__``;
    a long one (the servers of a connector with many source servers, a hostile name) cut to fit a file
    name, and told apart from the others it begins like by the SHA-256 of the whole.

    >>> partition_value("ex01.contoso.com"), partition_value("../x"), partition_value(".."), partition_value(None)
    ('ex01.contoso.com', '..%2Fx', '%2E%2E', '__none__')
    >>> len(partition_value("EX01; " * 100_000)), partition_value("EX01; " * 50) == partition_value("EX01; " * 51)
    (200, False)
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
        return NO_VALUE
    text = quote(str(value), safe="")
    text = text if text.strip(".") else text.replace(".", "%2E")
    if len(text) <= MAX_PARTITION:
        return text
    return f"{text[:MAX_PARTITION - 17]}~{hashlib.sha256(str(value).encode()).hexdigest()[:16]}"


def report_to_json(report: FileReport) -> dict[str, Any]:
    """One file's parse report as JSON data.

    >>> report_to_json(FileReport("a.log", "00", "w3c"))["file"]
    'a.log'
    """
    return asdict(report)


def report_from_json(data: dict[str, Any]) -> FileReport:
    """A file's parse report back from :func:`report_to_json`.

    >>> f = FileReport("a.evtx", "00", "evtx", account=RecordAccount(lost_ranges=[("chunk 1", 3, 4)]))
    >>> f.skip_record("record 3", "bad")
    >>> report_from_json(json.loads(json.dumps(report_to_json(f)))) == f
    True
    """
    data = dict(data)
    data["losses"] = [Loss(**loss) for loss in data.get("losses", [])]
    if data.get("account") is not None:
        account = dict(data["account"])
        account["lost_ranges"] = [tuple(r) for r in account.get("lost_ranges", [])]
        data["account"] = RecordAccount(**account)
    return FileReport(**data)


@dataclass
class Entry:
    """One ingested batch: what it read and where its rows are."""

    batch: str                      # SHA-256 of the inputs' SHA-256s
    kind: str                       # the frame (events, sessions, ...)
    slot: str                       # what the batch covers: a replaced slot's older batch is dropped
    sequence: int                   # order of ingest (rows are read back in this order)
    inputs: list[dict[str, Any]]    # file, sha256, size
    reports: list[dict[str, Any]]   # the parse report of each file read
    parts: list[str]                # Parquet files, relative to the store
    rows: int
    dtypes: dict[str, str] = field(default_factory=dict)   # the reader frame's columns
    unread: list[dict[str, str]] = field(default_factory=list)   # files the reader refused, and why
    warned: list[dict[str, Any]] = field(default_factory=list)   # the readers' warnings: file, where, text
    servers: list[str] = field(default_factory=list)   # the servers its rows are attributed to
    unattributed: int = 0           # rows attributed to no server (in server=__none__)
    seconds: float = 0.0            # how long its task took (reading and writing)
    source: str = ""                # the evidence folder (or zip) it came from, by name

    def parse_report(self) -> ParseReport:
        """The batch's parse report."""
        return ParseReport([report_from_json(r) for r in self.reports])

    @classmethod
    def from_json(cls, data: Any, name: str) -> Entry:
        """An entry read back from the store, each field of the shape ingest writes; a damaged or
        edited one is a StoreError naming the file and the field (a store may come from a colleague).

        >>> batch = "ab" * 32
        >>> Entry.from_json({"batch": batch, "kind": "events", "slot": "events:a.evtx", "sequence": 1, "inputs": [],
        ...                  "reports": [], "parts": [], "rows": 0}, "e.json").rows
        0
        >>> try:
        ...     Entry.from_json({"batch": batch, "kind": "events", "slot": "events:a.evtx", "sequence": 1,
        ...                      "inputs": [], "reports": 5, "parts": [], "rows": 0}, "e.json")
        ... except StoreError as err:
        ...     print(err.where, "|", err.detail)
        reports | found int
        """
        if not isinstance(data, dict):
            raise StoreError(name, None, "a batch entry of the store: a JSON object", f"found {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise StoreError(name, str(key)[:80], "a batch entry of the store", "no entry has such a field")
        for key, (shape, item, keys) in _ENTRY_SHAPES.items():
            if key not in data:
                if known[key].default is MISSING and known[key].default_factory is MISSING:
                    raise StoreError(name, key, "a batch entry of the store", "the field is missing")
                continue
            problem = _shape_problem(data[key], shape, item, keys)
            if problem is not None:
                raise StoreError(name, key, f"a batch entry of the store: {_SHAPE_WORDS[shape, item]}"
                                 + (f" with {', '.join(sorted(keys))}" if keys else ""), problem)
        entry = cls(**data)
        for key, check in (("reports", entry.parse_report), ("dtypes", lambda: [pd.api.types.pandas_dtype(dtype)
                                                                                 for dtype in entry.dtypes.values()])):
            try:
                check()
            except (TypeError, ValueError, AttributeError, KeyError) as err:
                raise StoreError(name, key, "a batch entry of the store", str(err)[:200]) from None
        return entry


def _stamp(path: Path) -> tuple:
    """What tells a file written since (its name, time and size)."""
    try:
        status = path.stat()
    except OSError:
        return path.name, None, None
    return path.name, status.st_mtime_ns, status.st_size


def _entry_at(path: Path) -> Entry:
    """The entry in file ``path``, or a StoreError naming what is wrong with it (damaged, edited by
    hand, or naming a file outside the store: :meth:`Store.entries` leaves its batch out)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError, OSError) as err:        # UnicodeDecodeError is a ValueError
        raise StoreError(str(path), None, "a batch entry of the store as JSON", str(err)[:200]) from None
    entry = Entry.from_json(data, str(path))
    for part in entry.parts:     # a store is data: its entries never name a file elsewhere
        if not PART.fullmatch(part):
            raise StoreError(str(path), "parts", "Parquet files of the store's frames "
                             "(FRAME/server=S[/day=D]/BATCH-N.parquet)", f"it names {part!r}")
    return entry


# each field of an entry: its JSON type, the type of its items (lists, objects) and the keys each item has
_ENTRY_SHAPES: dict[str, tuple[type | tuple[type, ...], type | None, frozenset[str]]] = {
    "batch": (str, None, frozenset()), "kind": (str, None, frozenset()), "slot": (str, None, frozenset()),
    "sequence": (int, None, frozenset()), "inputs": (list, dict, frozenset({"file", "sha256", "size"})),
    "reports": (list, dict, frozenset({"file", "sha256", "format"})), "parts": (list, str, frozenset()),
    "rows": (int, None, frozenset()), "dtypes": (dict, str, frozenset()),
    "unread": (list, dict, frozenset({"file", "reason"})), "warned": (list, dict, frozenset()),
    "servers": (list, str, frozenset()), "unattributed": (int, None, frozenset()),
    "seconds": ((int, float), None, frozenset()), "source": (str, None, frozenset()),
}
_SHAPE_WORDS = {(str, None): "text", (int, None): "a whole number", ((int, float), None): "a number",
                (list, dict): "a list of JSON objects", (list, str): "a list of texts",
                (dict, str): "a JSON object of texts"}


def _shape_problem(value: Any, shape: type | tuple[type, ...], item: type | None, keys: frozenset[str]) -> str | None:
    """What in ``value`` is not of the shape, or None."""
    if not _is(value, shape):
        return f"found {type(value).__name__}"
    for one in (value.values() if isinstance(value, dict) else value) if item is not None else ():
        if not _is(one, item):
            return f"an item is {type(one).__name__}"
        if keys and not keys <= one.keys():
            return f"an item lacks {', '.join(sorted(keys - one.keys()))}"
    return None


def _is(value: Any, shape: type | tuple[type, ...]) -> bool:
    """``isinstance``, where JSON's true and false are not numbers."""
    return isinstance(value, shape) and not (isinstance(value, bool) and shape is not bool)


@dataclass
class Store:
    """An opened store folder. ``left_out``: the entries no read of it uses (damaged, edited by hand,
    naming a file outside the store), each with why; each is warned about once."""

    root: Path
    left_out: dict[str, StoreError] = field(default_factory=dict, compare=False, repr=False)
    #: the entry files as last read (name, time, size of each), and their entries (file, entry) in order
    #: of ingest: read again only when a file was added, removed or written since
    _read: tuple[tuple, list[tuple[str, Entry]]] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, root: str | os.PathLike) -> Store:
        """Open the store at ``root``, making a new one when the folder is empty or absent.

        >>> import tempfile
        >>> sorted(p.name for p in Store.create(Path(tempfile.mkdtemp()) / "new").root.iterdir())
        ['entries', 'exlab-store.json']
        """
        path = Path(root)
        if path.exists() and not path.is_dir():
            raise StoreError(str(path), expected="a folder for the evidence store")
        if path.is_dir() and not is_store(path) and any(path.iterdir()):
            raise StoreError(str(path), expected=f"an empty folder or an exlab store (with {MANIFEST})",
                             detail="it holds other files")
        if not is_store(path):
            (path / ENTRIES).mkdir(parents=True, exist_ok=True)
            from exlab import __version__
            write_json(path / MANIFEST, {"format": FORMAT, "version": VERSION, "written_by": f"exlab {__version__}"})
        return cls.open(path)

    @classmethod
    def open(cls, root: str | os.PathLike) -> Store:
        """Open an existing store, refusing one of another format version with what to do.

        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_json(folder / MANIFEST, {"format": FORMAT, "version": VERSION + 1})
        >>> try:
        ...     Store.open(folder)
        ... except StoreError as err:
        ...     print(err.problem)
        expected store format version 5 (written by a newer exlab: upgrade exlab to read it)
        """
        path = Path(root)
        manifest = path / MANIFEST
        if not manifest.is_file():
            raise StoreError(str(path), expected=f"an exlab store (a folder holding {MANIFEST})")
        try:
            meta = json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as err:        # UnicodeDecodeError is a ValueError
            raise StoreError(str(manifest), expected="the store's manifest as JSON", detail=str(err)) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise StoreError(str(manifest), expected=f'"format": "{FORMAT}"')
        version = meta.get("version")
        if version != VERSION:
            why = ("written by a newer exlab: upgrade exlab to read it"
                   if isinstance(version, int) and version > VERSION
                   else "written by an older exlab: ingest the evidence again into a new store")
            raise StoreError(str(path), expected=f"store format version {VERSION}", detail=why)
        return cls(path)

    def entries(self) -> list[Entry]:
        """The manifest: every batch ingested, in order of ingest.

        >>> import tempfile
        >>> store = Store.create(tempfile.mkdtemp())
        >>> batch = "ab" * 32
        >>> store.add(Entry(batch, "events", "events:EX01/a.evtx", 1, [], [],
        ...                 [f"events/server=EX01/day=2025-03-20/{batch}-0.parquet"], 3))
        >>> [e.batch == batch for e in store.entries()], store.kinds(), len(store.parts("events"))
        ([True], ['events'], 1)

        One bad entry never stops the store: an entry that is damaged, edited by hand or names a
        file outside the store is left out, with its batch's rows, and warned about once (a
        DataLossWarning naming the file and what is wrong); ingesting that evidence again writes it
        anew.

        >>> import warnings
        >>> _ = (store.root / ENTRIES / f"{'cd' * 32}.json").write_text('{"batch": 1}')
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     kept, kept_again = store.entries(), store.entries()
        >>> len(kept), len(caught), caught[0].message.where
        (1, 1, 'batch')
        >>> _ = (store.root / ENTRIES / f"{'cd' * 32}.json").write_text(json.dumps(asdict(replace(kept[0],
        ...     batch="cd" * 32, sequence=2))))     # mended since: read again, and used
        >>> len(store.entries())
        2
        """
        paths = sorted((self.root / ENTRIES).glob("*.json"))
        stamp = tuple(_stamp(path) for path in paths)
        if self._read is None or self._read[0] != stamp:
            found = []
            for path in paths:
                try:
                    found.append((str(path), _entry_at(path)))
                except StoreError as err:
                    self._leave_out(str(path), err)
                    continue
                if str(path) in self.left_out and self.left_out[str(path)].source == str(path):
                    del self.left_out[str(path)]      # the entry itself was damaged, and is sound now
            self._read = stamp, sorted(found, key=lambda read: (read[1].sequence, read[1].batch))
        # a copy of each: a caller that changes its entry changes the store only through add()
        return [replace(entry) for path, entry in self._read[1] if path not in self.left_out]

    def leave_out(self, entry: Entry, err: StoreError) -> None:
        """Leave ``entry``'s batch out of every later read of this store, for ``err`` (one of its Parquet
        files is damaged), and warn about it once. Its entry is sound, so an ingest would take the
        batch as stored: the warning says to delete the entry first."""
        path = self.root / ENTRIES / f"{entry.batch}.json"
        self._leave_out(str(path), err, f"delete {path.name} and ingest that evidence again to write it anew")

    def _leave_out(self, path: str, err: StoreError,
                   remedy: str = "ingest that evidence again to write it anew") -> None:
        if path in self.left_out:
            return
        self.left_out[path] = err
        where = err.where if err.source == path else None
        what = err.problem if err.source == path else f"{err.source}: {err.problem}"
        warn_at(DataLossWarning(f"{what}: its batch is left out of every read of the store; {remedy}", path, where))

    def add(self, entry: Entry, replaced: Iterable[Entry] = ()) -> None:
        """Record ``entry`` (its files are in place), then drop the batches it replaces."""
        path = self.root / ENTRIES / f"{entry.batch}.json"
        write_json(path, asdict(entry))
        self.left_out.pop(str(path), None)       # written anew: sound again
        for old in replaced:
            if old.batch == entry.batch:
                continue
            (self.root / ENTRIES / f"{old.batch}.json").unlink(missing_ok=True)
            for part in old.parts:
                (self.root / part).unlink(missing_ok=True)

    def parts(self, kind: str) -> list[Path]:
        """The Parquet files of frame ``kind`` that entries name, in order of ingest."""
        return [self.root / part for entry in self.entries() for part in entry.parts if part.startswith(f"{kind}/")]

    def kinds(self) -> list[str]:
        """The frames the store holds rows of (``failures`` too: those the events log)."""
        return sorted({part.split("/", 1)[0] for entry in self.entries() for part in entry.parts})

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's write lock (one ingest at a time; the system frees it if the
        process dies), or a StoreError when another ingest holds it.

        >>> import tempfile
        >>> store = Store.create(tempfile.mkdtemp())
        >>> with store.writing():
        ...     try:
        ...         with Store.open(store.root).writing():
        ...             pass
        ...     except StoreError as err:
        ...         print(err.problem)
        expected no other ingest writing this store (one is: wait for it to end)
        """
        with open(self.root / LOCK, "a+b") as lock:
            if fcntl is not None:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StoreError(str(self.root), expected="no other ingest writing this store",
                                     detail="one is: wait for it to end") from None
            yield

    def clear_staging(self) -> None:
        """Remove what an interrupted write left under temporary names."""
        shutil.rmtree(self.root / ".staging", ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically (a temporary name, then renamed).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.json"
    >>> write_json(path, {"version": 1}); json.loads(path.read_text())
    {'version': 1}
    """
    temporary = path.with_name(f".{path.name}.tmp")
    with writing(path):
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temporary, path)
