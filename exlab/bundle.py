"""Evidence bundles: the files of a .zip (nested folders, zips inside zips) read as evidence,
never extracted to disk.

A member is named ``bundle.zip!certs/fl.txt`` (``outer.zip!inner.zip!logs/SEND1.LOG`` in a zip
inside a zip), with ``/`` between folders whatever the zip wrote (Compress-Archive of Windows
PowerShell 5.1 writes ``\\``). :func:`bundle_members` lists the members of a zip once it has
checked every name and size against the limits below; :func:`open_member` opens one as a
stream: a copy in memory up to :data:`MEMORY_COPY_LIMIT`, else the zip's own decompressing
stream (seekable; a seek backwards decompresses again from the start).

>>> import io, tempfile, zipfile
>>> folder = Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(folder / "bundle.zip", "w") as archive:
...     archive.writestr("certs\\\\fl.txt", "Thumbprint : AB")
>>> [member.shown for member in bundle_members(folder / "bundle.zip")]
['certs/fl.txt']
>>> stream, closing = open_member(bundle_members(folder / "bundle.zip")[0])
>>> with closing:
...     stream.read()
b'Thumbprint : AB'
"""

from __future__ import annotations

import io
import lzma
import re
import zipfile
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from exlab.errors import CorruptInput, ExlabError

#: most members (files and folders, over every zip inside) one bundle may hold
MAX_MEMBERS = 100_000
#: largest size of one member once decompressed (an .evtx log tops out at 4 GiB)
MAX_MEMBER_SIZE = 8 << 30
#: largest size of all members of one bundle once decompressed
MAX_BUNDLE_SIZE = 64 << 30
#: highest compression ratio of a member larger than :data:`RATIO_FLOOR` (logs compress 10-30 times)
MAX_RATIO = 250
#: members up to this size are not held to :data:`MAX_RATIO` (small files of repeated text)
RATIO_FLOOR = 1 << 20
#: how many zips deep a member may be (a zip in a zip in a zip)
MAX_DEPTH = 3
#: members up to this size are copied into memory to be read; bigger ones are streamed
MEMORY_COPY_LIMIT = 256 << 20

SEPARATOR = "!"
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")       # a local file header, or the end record of an empty zip
_DRIVE = re.compile(r"^[A-Za-z]:")
#: what zipfile raises on a damaged, encrypted or oddly compressed zip
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError,
               ValueError, OSError)


class UnsafeBundle(ExlabError):
    """A zip exlab will not read: a member named outside the zip, too many or too big members,
    an absurd compression ratio (a zip bomb)."""


@dataclass(frozen=True)
class Member:
    """One file inside a zip on disk: ``names`` are the member names as stored, from the
    outermost zip in; ``size`` is the declared size once decompressed; ``within`` the zips
    inside the zip on disk that hold it, outermost first (each a member itself)."""

    archive: Path
    names: tuple[str, ...]
    size: int
    within: tuple[Member, ...] = ()

    @property
    def shown(self) -> str:
        """The member's name inside the bundle: ``inner.zip!logs/SEND1.LOG``."""
        return SEPARATOR.join(_clean(name) for name in self.names)

    def __str__(self) -> str:
        return f"{self.archive}{SEPARATOR}{self.shown}"


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a zip file, by its content (the first bytes and the end record).

    >>> import tempfile, zipfile
    >>> path = Path(tempfile.mkdtemp()) / "logs.bin"
    >>> with zipfile.ZipFile(path, "w") as archive:
    ...     archive.writestr("a.txt", "a")
    >>> is_bundle(path), is_bundle(__file__)
    (True, False)
    """
    try:
        if not Path(path).is_file():        # a pipe would block the read: only regular files are zips
            return False
        with open(path, "rb") as stream:
            return stream.read(4) in _MAGIC and zipfile.is_zipfile(stream)
    except OSError:
        return False


def bundle_members(archive: str | Path) -> list[Member]:
    """The files of the zip ``archive`` (those of the zips inside it in its place), in name
    order, once every name and size is checked; else :class:`UnsafeBundle` or CorruptInput
    naming the zip and the member."""
    archive = Path(archive)
    found: list[Member] = []
    budget = _Budget(archive)
    try:
        with zipfile.ZipFile(archive) as outer:
            _collect(outer, archive, (), (), found, budget)
    except ExlabError:
        raise
    except ZIP_ERRORS as err:
        raise CorruptInput(str(archive), None, "a readable zip", str(err)) from None
    return found


def member_of(text: str) -> Member | None:
    """The member a ``zip!member`` path names (None when ``text`` names none), or EvidenceNotFound.

    >>> member_of("no-such.zip!a.txt") is None
    True
    """
    from exlab.errors import EvidenceNotFound

    head, separator, rest = text.partition(SEPARATOR)
    while separator:
        if Path(head).is_file() and is_bundle(head):
            wanted = rest.replace("\\", "/")
            for member in bundle_members(head):
                if member.shown == wanted:
                    return member
            raise EvidenceNotFound(text, None, f"a member of {head}")
        more, separator, rest = rest.partition(SEPARATOR)
        head = f"{head}{SEPARATOR}{more}"
    return None


def open_member(member: Member) -> tuple[BinaryIO, ExitStack]:
    """The member as a seekable binary stream, and what to close once it is read."""
    closing = ExitStack()
    try:
        stream: BinaryIO = closing.enter_context(open(member.archive, "rb"))
        for name in member.names:
            archive = closing.enter_context(zipfile.ZipFile(stream))
            info = archive.getinfo(name)
            inner = closing.enter_context(archive.open(info))
            stream = io.BytesIO(inner.read()) if info.file_size <= MEMORY_COPY_LIMIT else inner
    except ZIP_ERRORS as err:
        closing.close()
        raise CorruptInput(str(member), None, "a member the zip can decompress", str(err)) from None
    except BaseException:
        closing.close()
        raise
    return stream, closing


class _Budget:
    """What a bundle has spent of the limits: members and bytes."""

    def __init__(self, archive: Path) -> None:
        self.archive = archive
        self.members = 0
        self.size = 0

    def spend(self, info: zipfile.ZipInfo, shown: str) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise UnsafeBundle(str(self.archive), shown, f"at most {MAX_MEMBERS} members in a bundle")
        if info.file_size > MAX_MEMBER_SIZE:
            raise UnsafeBundle(str(self.archive), shown, f"a member of at most {MAX_MEMBER_SIZE} bytes",
                               f"it says {info.file_size}")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsafeBundle(str(self.archive), shown, f"a compression ratio of at most {MAX_RATIO}:1",
                               f"{info.compress_size} bytes unpack to {info.file_size}: a zip bomb")
        self.size += info.file_size
        if self.size > MAX_BUNDLE_SIZE:
            raise UnsafeBundle(str(self.archive), shown, f"at most {MAX_BUNDLE_SIZE} bytes in all once unpacked")


def _collect(archive: zipfile.ZipFile, path: Path, outer: tuple[str, ...], within: tuple[Member, ...],
             found: list[Member], budget: _Budget) -> None:
    """Add the files of ``archive`` (reached through the members ``outer``, the zips ``within``) to ``found``."""
    seen: set[str] = set()
    for info in sorted(archive.infolist(), key=lambda info: PurePosixPath(_clean(info.filename)).parts):
        names = (*outer, info.filename)
        shown = SEPARATOR.join(_clean(name) for name in names)
        _check_name(info.filename, path, shown)
        if _clean(info.filename) in seen:
            raise UnsafeBundle(str(path), shown, "each member name once in a zip", "two members bear it")
        seen.add(_clean(info.filename))
        budget.spend(info, shown)
        if info.is_dir() or _clean(info.filename).endswith("/"):
            continue
        try:
            with archive.open(info) as stream:
                nested = stream.read(4) in _MAGIC
        except ZIP_ERRORS as err:
            raise CorruptInput(str(path), shown, "a member the zip can decompress", str(err)) from None
        if not nested:
            found.append(Member(path, names, info.file_size, within))
            continue
        if len(names) >= MAX_DEPTH:
            raise UnsafeBundle(str(path), shown, f"zips at most {MAX_DEPTH} deep")
        with archive.open(info) as stream:
            inner_stream = io.BytesIO(stream.read()) if info.file_size <= MEMORY_COPY_LIMIT else stream
            with zipfile.ZipFile(inner_stream) as inner:
                _collect(inner, path, names, (*within, Member(path, names, info.file_size, within)), found, budget)


def _clean(name: str) -> str:
    """A member name with ``/`` between folders (``\\`` as Compress-Archive 5.1 writes it)."""
    return name.replace("\\", "/")


def _check_name(name: str, archive: Path, shown: str) -> None:
    """Refuse a member named outside the zip: ``..``, an absolute path, a drive letter.

    >>> _check_name("certs/../../etc/passwd", Path("b.zip"), "certs/../../etc/passwd")
    Traceback (most recent call last):
    exlab.bundle.UnsafeBundle: b.zip, certs/../../etc/passwd: expected a member name inside the zip (no '..', no absolute path, no drive)
    """
    clean = _clean(name)
    if clean.startswith("/") or _DRIVE.match(clean) or ".." in PurePosixPath(clean).parts or "\0" in clean:
        raise UnsafeBundle(str(archive), shown, "a member name inside the zip (no '..', no absolute path, no drive)")
