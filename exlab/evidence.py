"""Opening evidence read-only: paths, folders and file objects, each hashed.

Every reader goes through :func:`iter_evidence`, which expands folders and zips of
evidence (:mod:`exlab.bundle`: members read in place, never extracted), opens files for
reading only, and hashes each one (SHA-256) before a byte of it is parsed. A folder is
read within itself: a link (symlink, junction) whose target lies outside it is passed
over with a warning naming the link, unless ``follow_links``; a file named by the user
is read wherever it is. Nothing is ever written next to the evidence, nor over it.

>>> import io
>>> [e.name for e in iter_evidence(io.BytesIO(b"hello"))]
['<stream>']
>>> next(iter_evidence(io.BytesIO(b"hello"))).sha256[:16]
'2cf24dba5fb0a30e'
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO, NamedTuple, TypeVar, Union

from exlab.bundle import ZIP_ERRORS, Member, bundle_members, is_bundle, member_of, open_member
from exlab.errors import CorruptInput, EvidenceChanged, EvidenceNotFound, ExlabError, ExlabWarning
from exlab.parse_report import ParseReport, warn_at

Source = Union[str, os.PathLike, BinaryIO, Member]
Sources = Union[Source, "list[Source]", "tuple[Source, ...]"]

_HASH_BLOCK = 1 << 20
#: what a path that is neither a folder nor a regular file is: never read (opening a pipe waits for a writer)
SPECIAL_FILE = "a pipe, a socket or a device"
_Done = TypeVar("_Done")


@dataclass
class Evidence:
    """One evidence file, open for reading, with its hash.

    ``name`` is what reports show (the path as given, ``bundle.zip!member`` for a member
    of a zip, or the stream's name); ``path`` is set for files on disk; ``stream`` is
    positioned at the start; ``stamp`` says which file, of what size and age, was hashed
    (:func:`file_stamp`); ``closing`` holds what a zip member's stream needs open.
    """

    name: str
    sha256: str
    size: int
    stream: BinaryIO
    path: Path | None = None
    stamp: tuple | None = None   # file_stamp() when it was hashed (files on disk)
    closing: ExitStack | None = None

    def close(self) -> None:
        """Close what exlab opened for this evidence (a stream the caller gave stays open)."""
        if self.path is not None:
            self.stream.close()
        if self.closing is not None:
            self.closing.close()

    def head(self, size: int = 4096) -> bytes:
        """The first ``size`` bytes, leaving the stream at the start."""
        self.stream.seek(0)
        data = self.stream.read(size)
        self.stream.seek(0)
        return data


def text_name(source: object) -> str:
    """A file's name as text any frame, report or export can hold: the bytes of a name that are not
    UTF-8 (a folder unzipped from a Windows code page; Python keeps them as surrogate escapes, which
    no UTF-8 text can hold) written as ``\\xNN``.

    >>> text_name(b"/cases/sprawa-\\xb3\\xf3d\\xbc/fl.txt".decode("utf-8", "surrogateescape"))
    '/cases/sprawa-\\\\xb3\\\\xf3d\\\\xbc/fl.txt'
    >>> text_name(Path("/cases/Łódź/fl.txt"))
    '/cases/Łódź/fl.txt'
    """
    text = str(source)
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 (hex) and size of a seekable stream, read from its start; the stream is rewound."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while block := stream.read(_HASH_BLOCK):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


class Walk(NamedTuple):
    """A folder's files (sorted) and what was passed over in it, each with why."""

    files: list[Path]
    passed_over: list[tuple[Path, str]]


def walk(folder: str | os.PathLike, *, follow_links: bool = False) -> Walk:
    """The regular files of ``folder`` and its sub-folders (hidden names left out), never
    leaving it: a link (symlink, junction) whose target is outside the folder, a link to
    nothing and anything not a regular file (a pipe, a device) are passed over with why.
    ``follow_links`` follows links out of the folder (each folder once: no loop).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "app.xml").write_text("<Events/>")
    >>> (folder / "ca.pem").symlink_to("/etc/hostname")
    >>> found = walk(folder)
    >>> [f.name for f in found.files], [(p.name, why) for p, why in found.passed_over]
    (['app.xml'], [('ca.pem', 'a link to a file outside the folder: not followed (follow_links reads it)')])
    """
    root = Path(folder)
    inside = root.resolve()
    files: list[Path] = []
    passed_over: list[tuple[Path, str]] = []
    seen: set[tuple[int, int]] = set()

    def entries(directory: Path) -> Iterator[os.DirEntry] | None:
        """The folder's entries by name, or None for a folder already listed (a loop of links)."""
        status = directory.stat()
        if (status.st_dev, status.st_ino) in seen:
            return None
        seen.add((status.st_dev, status.st_ino))
        return iter(sorted(os.scandir(directory), key=lambda entry: entry.name))

    listing = [entries(root)]          # one per folder open, deepest last: nesting of any depth, no recursion
    while listing:
        entry = next(listing[-1], None)
        if entry is None:
            listing.pop()
            continue
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        leaves = False            # only a link can lead out of a folder reached without leaving it
        if not follow_links and _is_link(entry):
            target = path.resolve()
            leaves = target != inside and inside not in target.parents
        try:
            status = path.stat()
        except OSError:
            passed_over.append((path, "a link to nothing (its target does not exist)"))
            continue
        kind = "folder" if stat.S_ISDIR(status.st_mode) else "file"
        if leaves:
            passed_over.append((path, f"a link to a {kind} outside the folder: not followed "
                                      "(follow_links reads it)"))
        elif kind == "folder":
            if (inner := entries(path)) is not None:
                listing.append(inner)
        elif stat.S_ISREG(status.st_mode):
            files.append(path)
        else:
            passed_over.append((path, f"not a regular file ({SPECIAL_FILE})"))
    return Walk(sorted(files), passed_over)


def _is_link(entry: os.DirEntry) -> bool:
    """A symbolic link, or on Windows a junction or another reparse point: what can lead out of a folder.

    >>> from types import SimpleNamespace
    >>> def entry(link: bool, attributes: int) -> SimpleNamespace:
    ...     status = SimpleNamespace(st_file_attributes=attributes)
    ...     return SimpleNamespace(is_symlink=lambda: link, stat=lambda follow_symlinks: status)
    >>> _is_link(entry(True, 0)), _is_link(entry(False, stat.FILE_ATTRIBUTE_REPARSE_POINT)), _is_link(entry(False, 0x10))
    (True, True, False)
    """
    attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    return entry.is_symlink() or bool(attributes & stat.FILE_ATTRIBUTE_REPARSE_POINT)


def expand(sources: Sources, *, follow_links: bool = False, report: ParseReport | None = None) -> list[Source]:
    """Paths, zip members and streams in a stable order: folders become their files, sorted,
    recursively (:func:`walk`: what it passes over is warned, naming the link), and zips
    (by content) their members (:mod:`exlab.bundle`); ``zip!member`` names one member.
    Each zip opened here is added to ``report``, if given (:func:`add_bundle`)."""
    items = list(sources) if isinstance(sources, (list, tuple)) else [sources]
    out: list[Source] = []

    def add(file: Path) -> None:
        if not is_bundle(file):
            out.append(file)
            return
        members = bundle_members(file)
        out.extend(members)
        if report is not None:
            add_bundle(report, file)
            add_bundles(report, members)

    for item in items:
        if hasattr(item, "read") or isinstance(item, Member):
            out.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            found = walk(path, follow_links=follow_links)
            for passed, why in found.passed_over:
                warn_at(ExlabWarning(f"not read: {why}", str(passed)))
            for file in found.files:
                add(file)
        elif path.is_file():
            add(path)
        elif (member := member_of(str(item))) is not None:
            out.append(member)
            if report is not None:
                add_bundles(report, [member])
        elif path.exists():
            raise EvidenceNotFound(str(path), expected="a regular file or a folder", detail=SPECIAL_FILE)
        else:
            raise EvidenceNotFound(str(path), expected="an existing file or folder")
    return out


def add_bundle(report: ParseReport, archive: Path | Member, name: str | None = None) -> None:
    """Add a zip of evidence (on disk, or a zip inside one) to ``report``: its own SHA-256 and
    size, format ``zip``, under ``name`` (default: its path, ``outer.zip!inner.zip`` for a zip
    inside a zip). Its members get reports of their own from the readers.

    >>> import tempfile, zipfile
    >>> archive = Path(tempfile.mkdtemp()) / "bundle.zip"
    >>> with zipfile.ZipFile(archive, "w") as bundle:
    ...     bundle.writestr("certs/fl.txt", "Thumbprint : AB")
    >>> report = ParseReport()
    >>> add_bundle(report, archive, "bundle.zip")
    >>> [(f.file, f.format, f.size == archive.stat().st_size) for f in report.files]
    [('bundle.zip', 'zip', True)]
    >>> report.files[0].sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    True
    """
    with ExitStack() as closing:
        if isinstance(archive, Member):
            stream, opened = open_member(archive)
            closing.enter_context(opened)
        else:
            stream = closing.enter_context(open(archive, "rb"))
        digest, size = sha256_of(stream)
    report.add_file(str(archive) if name is None else name, sha256=digest, format="zip", size=size)


def add_bundles(report: ParseReport, files: list[Source], name: Callable[[str], str] = str) -> None:
    """Add to ``report`` each zip the zip members among ``files`` come from (:func:`add_bundle`):
    the zip on disk, then each zip inside it that holds one, each once (a zip ``report``
    already lists is left as it is), under ``name(path)``.

    >>> import tempfile, zipfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> inner = io.BytesIO()
    >>> with zipfile.ZipFile(inner, "w") as bundle:
    ...     bundle.writestr("SEND20250320-1.LOG", "#Fields: date-time")
    >>> with zipfile.ZipFile(folder / "case.zip", "w") as bundle:
    ...     bundle.writestr("EX01.zip", inner.getvalue())
    >>> report = ParseReport()
    >>> add_bundles(report, bundle_members(folder / "case.zip"), lambda path: Path(path).name)
    >>> [(f.file, f.format) for f in report.files]
    [('case.zip', 'zip'), ('case.zip!EX01.zip', 'zip')]
    >>> report.files[1].sha256 == hashlib.sha256(inner.getvalue()).hexdigest(), report.files[1].size == len(inner.getvalue())
    (True, True)
    """
    listed = {file.file for file in report.files}
    for bundle in dict.fromkeys(found for file in files if isinstance(file, Member)
                                for found in (file.archive, *file.within)):
        shown = name(str(bundle))
        if shown not in listed:
            add_bundle(report, bundle, shown)
            listed.add(shown)


def split_folders(paths: list[str], belongs: Callable[[Path], bool], *,
                  follow_links: bool = False) -> tuple[list[Source], list[Path]]:
    """The files to read and the ones passed over: every file named is read; of the files in
    named folders (and zips), those ``belongs`` accepts are read and the others passed over
    (links out of a folder too, with a warning, unless ``follow_links``).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = (Path(folder) / "app.xml").write_text("<Events/>")
    ...     _ = (Path(folder) / "notes.txt").write_text("asked the admin")
    ...     files, passed_over = split_folders([folder], lambda path: path.suffix == ".xml")
    >>> [f.name for f in files], [f.name for f in passed_over]
    (['app.xml'], ['notes.txt'])
    """
    files: list[Source] = []
    passed_over: list[Path] = []
    for path in paths:
        if not (Path(path).is_dir() or is_bundle(path)):
            files.extend(expand(path))
            continue
        for candidate in expand(path, follow_links=follow_links):
            (files if belongs(candidate) else passed_over).append(candidate)
    return files, passed_over


def open_evidence(source: Source) -> Evidence:
    """Open one path (read-only) or zip member, or wrap one binary stream, and hash it.

    A stream that cannot seek is read into memory first, so it can be hashed and parsed.
    The caller calls ``evidence.close()`` (streams given by the caller stay theirs).
    """
    if isinstance(source, Member):
        stream, closing = open_member(source)
        try:
            digest, size = sha256_of(stream)
        except ZIP_ERRORS as err:
            closing.close()
            raise CorruptInput(text_name(source), None, "a member the zip can decompress", str(err)) from None
        return Evidence(name=text_name(source), sha256=digest, size=size, stream=stream, closing=closing)
    if hasattr(source, "read"):
        stream = source
        if not (hasattr(stream, "seekable") and stream.seekable()):
            stream = io.BytesIO(stream.read())
        name = getattr(source, "name", None)
        name = str(name) if isinstance(name, (str, os.PathLike)) else "<stream>"
        digest, size = sha256_of(stream)
        return Evidence(name=name, sha256=digest, size=size, stream=stream)
    path = Path(source)
    stream = open(path, "rb")  # noqa: SIM115 - closed by iter_evidence or the caller
    digest, size = sha256_of(stream)
    return Evidence(name=text_name(source), sha256=digest, size=size, stream=stream, path=path,
                    stamp=file_stamp(stream))


def peek_evidence(path: str | os.PathLike) -> Evidence:
    """Open a file on disk (read-only) to tell what it holds, without hashing it: ``sha256`` is
    ``""``, ``size`` the file's. The reader that takes it opens it again with :func:`open_evidence`.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".log") as file:
    ...     _ = file.write(b"#Software: Microsoft Exchange Server"); file.flush()
    ...     evidence = peek_evidence(file.name)
    ...     (evidence.sha256, evidence.size, evidence.head(9)); evidence.close()
    ('', 36, b'#Software')
    """
    stream = open(path, "rb")  # noqa: SIM115 - closed by the caller (evidence.close())
    return Evidence(name=text_name(path), sha256="", size=os.fstat(stream.fileno()).st_size, stream=stream,
                    path=Path(path))


def read_head(source: str | os.PathLike | Member, size: int = 64 * 1024) -> bytes:
    """The first ``size`` bytes of a file or zip member, unhashed (to tell what it holds).

    >>> read_head(__file__, 3) == b'"' * 3
    True
    """
    if isinstance(source, Member):
        stream, closing = open_member(source)
        with closing:
            return stream.read(size)
    with open(source, "rb") as handle:
        return handle.read(size)


def file_stamp(stream: BinaryIO) -> tuple:
    """Device, inode, size and modification time of an open file: a file read later with
    the same stamp is the file that was hashed.

    >>> import tempfile
    >>> with tempfile.TemporaryFile() as handle:
    ...     len(file_stamp(handle))
    4
    """
    status = os.fstat(stream.fileno())
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def check_unchanged(stream: BinaryIO, stamp: tuple | None, name: str, where: str) -> None:
    """Raise EvidenceChanged unless the open file ``stream`` still has the ``stamp`` it was
    hashed with (a live log grew, or another file now stands at the path it was opened by).

    >>> import io
    >>> evidence = next(iter_evidence(io.BytesIO(b"x")))
    >>> check_unchanged(evidence.stream, evidence.stamp, evidence.name, "the end")   # a stream has no stamp
    """
    if stamp is not None and file_stamp(stream) != stamp:
        raise EvidenceChanged(name, where, "the file as it was hashed",
                              "it changed while it was read: copy or export the log, then read the copy")


@dataclass
class _Reads:
    """Where the bytes read go (a progress bar's ``update``), and how many of the current file went."""

    done: Callable[[int], object]
    told: int = 0


#: what :func:`iter_evidence` and :func:`read_progress` tell (see :func:`reporting_reads`)
_READ: ContextVar[_Reads | None] = ContextVar("exlab_evidence_read", default=None)


@contextmanager
def reporting_reads(done: Callable[[int], object]) -> Iterator[None]:
    """Within the block, the bytes of the evidence files readers work through (files opened by
    :func:`iter_evidence`) are handed to ``done(bytes)``: a progress bar's ``update``, moving while
    a reader works through many files, without the readers knowing of it. A reader of a big file
    may tell its progress within it (:func:`read_progress`); the rest of the file is told when the
    reader is done with it.

    >>> sizes = []
    >>> with reporting_reads(sizes.append):
    ...     for evidence in iter_evidence([io.BytesIO(b"abcdef"), io.BytesIO(b"de")]):
    ...         _ = evidence.stream.read(4)
    ...         read_progress(4)
    >>> sizes
    [4, 2, 4, 0]
    """
    token = _READ.set(_Reads(done))
    try:
        yield
    finally:
        _READ.reset(token)


@contextmanager
def progress_over(update: Callable[[int], object], size: int) -> Iterator[None]:
    """Within the block, hand the bytes readers work through to ``update`` (a progress bar's), at most
    ``size`` in all (what the block reads: a file, or the files of one kind), and whatever is left of
    ``size`` when the block ends (files read without :func:`iter_evidence`).

    >>> told = []
    >>> with progress_over(told.append, 10):
    ...     for evidence in iter_evidence([io.BytesIO(b"abcdef")]):
    ...         read_progress(4)
    >>> told, sum(told)
    ([4, 2, 4], 10)
    """
    left = size

    def take(amount: int) -> None:
        nonlocal left
        amount = max(0, min(amount, left))
        if amount:
            left -= amount
            update(amount)

    try:
        with reporting_reads(take):
            yield
    finally:
        take(left)


def read_progress(size: int) -> None:
    """Tell the progress of :func:`reporting_reads` (if any) that ``size`` more bytes of the file
    being read are done (:func:`iter_evidence` tells the rest of the file, if any, when it is done).

    >>> read_progress(4096)    # nothing asked for progress: nothing happens
    """
    reads = _READ.get()
    if reads is not None and size > 0:
        reads.told += size
        reads.done(size)


def iter_evidence(sources: Sources, report: ParseReport | None = None) -> Iterator[Evidence]:
    """Yield each evidence file open and hashed; files exlab opened are closed afterwards.
    Each zip ``sources`` name (or hold in a folder) is added to ``report``, if given, with
    its own SHA-256 (:func:`add_bundle`): the reader adds each member it reads.

    When the reader is done with a file on disk (it asks for the next one, or the loop ends),
    the file is checked against the stamp it was hashed with: one that changed meanwhile (a
    live log that grew) raises EvidenceChanged naming it (:func:`check_unchanged`), since the
    rows read from it would not match its SHA-256. A reader that leaves the loop early (an
    error, a ``break``) vouches for no rows of the file: it is closed unchecked.

    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "SEND20250320-1.LOG"
    >>> _ = log.write_bytes(b"#Fields: date-time\\r\\n")
    >>> for evidence in iter_evidence(log):  # doctest: +ELLIPSIS
    ...     with open(log, "ab") as live:
    ...         _ = live.write(b"2025-03-20T00:00:04.412Z\\r\\n")
    Traceback (most recent call last):
    exlab.errors.EvidenceChanged: .../SEND20250320-1.LOG, once it was read: expected the file as it was hashed (it changed while it was read: copy or export the log, then read the copy)
    """
    for evidence, _ in map_evidence(sources, _nothing, report=report):
        yield evidence


def map_evidence(sources: Sources, work: Callable[[Evidence], _Done], *, workers: int = 1,
                 report: ParseReport | None = None) -> Iterator[tuple[Evidence, _Done]]:
    """:func:`iter_evidence`, each file handed over with ``work(evidence)`` already done on it: with
    ``workers`` > 1 and several files on disk, a pool of that many threads opens, hashes and works
    on the files ahead of the caller, at most ``workers`` files ahead (hashlib, numpy and pyarrow
    work outside the GIL, so the files go through both cores); streams and zip members are worked
    on one by one, in turn. Files come in their order, each as :func:`iter_evidence` hands it
    over: once the caller asks for the next one, it is checked unchanged and closed; ``work``'s
    error is raised at its file's turn (the files ahead are closed unread). ``work`` must leave
    the reports to the caller: what it gives back is told in order.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in "abc":
    ...     _ = (folder / name).write_bytes(name.encode() * (ord(name) - 96))
    >>> [(Path(e.name).name, size) for e, size in map_evidence(folder, lambda e: len(e.stream.read()), workers=2)]
    [('a', 1), ('b', 2), ('c', 3)]
    """
    items = expand(sources, report=report)
    if workers < 2 or len(items) < 2 or not all(isinstance(item, Path) for item in items):
        for source in items:
            evidence = open_evidence(source)
            yield from _handed(evidence, lambda evidence=evidence: work(evidence))
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="exlab-evidence") as pool:
        ahead: deque[Future] = deque()
        queue = iter(items)
        try:
            while True:
                ahead.extend(pool.submit(_opened_and_done, source, work)
                             for source in islice(queue, workers - len(ahead)))
                if not ahead:
                    return
                evidence, done = ahead.popleft().result()
                yield from _handed(evidence, lambda done=done: done)
        finally:
            for future in ahead:
                if not future.cancel() and future.exception() is None:
                    future.result()[0].close()


def _nothing(evidence: Evidence) -> None:
    return None


def _opened_and_done(source: Source, work: Callable[[Evidence], _Done]) -> tuple[Evidence, _Done]:
    """One file opened and hashed (:func:`open_evidence`) and ``work`` done on it (closed if it fails)."""
    evidence = open_evidence(source)
    try:
        return evidence, work(evidence)
    except BaseException:
        evidence.close()
        raise


def _handed(evidence: Evidence, done: Callable[[], _Done]) -> Iterator[tuple[Evidence, _Done]]:
    """Hand one open file and ``done()`` to the caller; once it is done with them, check the file
    unchanged, close it, and tell the progress (:func:`reporting_reads`) the rest of its bytes."""
    reads = _READ.get()
    if reads is not None:
        reads.told = 0
    try:
        yield evidence, done()
        check_unchanged(evidence.stream, evidence.stamp, evidence.name, "once it was read")
    finally:
        evidence.close()
    if reads is not None:
        reads.done(max(0, evidence.size - reads.told))
        reads.told = 0


def outside_evidence(target: str | os.PathLike, evidence: list[str | os.PathLike] | tuple) -> Path:
    """``target`` as given (a link stays the name the user chose), once it is sure that writing it
    leaves the evidence as exported: resolved, it is not inside an evidence folder, not beside an
    evidence file (or zip), and not the same file as any evidence file (by device and inode: a
    hard link or a link to it). Else an ExlabError.

    >>> import tempfile
    >>> case = Path(tempfile.mkdtemp()) / "case"
    >>> case.mkdir()
    >>> outside_evidence(case.parent / "report.html", [case]).name
    'report.html'
    >>> outside_evidence(case / "report.html", [case])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    exlab.errors.ExlabError: .../case/report.html: expected an output path outside the evidence folder (exlab never writes next to the evidence)
    """
    path = Path(target).resolve()
    for given in evidence:
        source = Path(given).resolve()
        folder = source if source.is_dir() else source.parent
        if path == source or folder in path.parents:
            raise ExlabError(str(target), expected="an output path outside the evidence folder",
                             detail="exlab never writes next to the evidence")
    if path.exists() and _identity(path) in _evidence_identities(evidence):
        raise ExlabError(str(target), expected="an output path that is not an evidence file",
                         detail="it is the same file as one of the evidence (a hard link): writing it "
                                "would overwrite the evidence")
    return Path(target)


def output_file(target: str | os.PathLike, evidence: list[str | os.PathLike] | tuple) -> Path:
    """``target`` checked as a file exlab can write before any evidence is read: in a folder that
    exists, not a folder itself, and outside the evidence (:func:`outside_evidence`).

    >>> output_file("no-such-folder/report.html", [])
    Traceback (most recent call last):
    exlab.errors.ExlabError: no-such-folder/report.html: expected an output file in an existing folder
    >>> output_file(".", [])
    Traceback (most recent call last):
    exlab.errors.ExlabError: .: expected an output file, not a folder
    """
    path = Path(target)
    if path.is_dir():
        raise ExlabError(str(target), None, "an output file, not a folder")
    if not path.parent.is_dir():
        raise ExlabError(str(target), None, "an output file in an existing folder")
    return outside_evidence(target, evidence)


@contextmanager
def writing(target: str | os.PathLike) -> Iterator[None]:
    """Within the block, an error of the system names ``target``: a write it refuses after the
    file was opened (a full disk, a quota, a network drive gone) raises an OSError that names
    no file, and the command would say only ``[Errno 28] No space left on device``.

    >>> with writing("report.html"):
    ...     raise OSError(28, "No space left on device")
    Traceback (most recent call last):
    OSError: [Errno 28] No space left on device: 'report.html'
    """
    try:
        yield
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), os.fspath(target)) from err


def _identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def _evidence_identities(evidence: list[str | os.PathLike] | tuple) -> set[tuple[int, int]]:
    """Device and inode of every evidence file named or in a named folder (links out of it too)."""
    identities: set[tuple[int, int]] = set()
    for given in evidence:
        path = Path(given)
        files = walk(path, follow_links=True).files if path.is_dir() else [path] if path.is_file() else []
        identities.update(_identity(file) for file in files)
    return identities
