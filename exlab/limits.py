"""How much of one field, one record and one whole-read file exlab holds in memory at once.

Every reader streams its file in blocks of :data:`BLOCK` bytes and looks at each byte a
bounded number of times; what it must hold whole (one XML tag with its attributes, one
element's text, one line, one CSV cell, one base64 blob, one event of an XML export, one
export read whole) has a cap here, generous for real evidence and small enough that a
hostile file can neither exhaust memory nor make a reader quadratic. Going past a cap is
an :class:`OverLimit` naming the file, the place and the cap, or a counted skip of that
record where the format lets the reader go on. One CSV cell is held to the ``csv`` module's own
``field_size_limit`` (128 KiB unless the caller's process changed it), under :data:`MAX_FIELD`:
a bigger cell is a ``csv.Error``, which the CSV readers count as a skipped record.

>>> str(OverLimit("fl.txt", "line 3", "a line", MAX_FIELD))
'fl.txt, line 3: expected a line of at most 16 MiB'
>>> import io
>>> iter_capped_lines(io.StringIO("a\\r\\nb"), "x.txt").__next__()
'a\\r\\n'
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import AnyStr, BinaryIO, TextIO

from exlab.errors import ExlabError
from exlab.parse_report import FileReport

#: bytes (or characters) read from a stream at a time
BLOCK = 1 << 20
#: one field: an XML tag with its attributes, one element's text, a comment, one line of a text
#: export, one CSV cell, one base64 blob
MAX_FIELD = 16 << 20
#: one record made of many fields: an ``<Event>`` of an event XML export
MAX_RECORD = 64 << 20
#: an export read whole because its format cannot be cut (JSON, a certificate or settings text export)
MAX_WHOLE_FILE = 256 << 20


class OverLimit(ExlabError):
    """A field, a record or a file is bigger than exlab's stated cap (:mod:`exlab.limits`)."""

    def __init__(self, source: str, where: str | None, what: str | int, cap: int | None = None,
                 detail: str | None = None) -> None:
        # (source, where, expected, detail) when unpickled, like every ExlabError
        expected = what if cap is None else f"{what} of at most {size_text(cap)}"
        super().__init__(source, where, str(expected), detail)


def size_text(size: int) -> str:
    """A byte count as people say it.

    >>> size_text(MAX_FIELD), size_text(MAX_WHOLE_FILE), size_text(1500)
    ('16 MiB', '256 MiB', '1500 bytes')
    """
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} bytes"


def read_whole(stream: BinaryIO | TextIO, name: str, what: str, cap: int | None = None) -> AnyStr:
    """All of an export that must be read whole (bytes, or text from a text stream), refused past
    ``cap`` (default :data:`MAX_WHOLE_FILE`): before a byte is read when the stream tells its
    size (a file, a zip member, bytes in memory), else once ``cap`` is read.

    >>> import io
    >>> read_whole(io.BytesIO(b"Thumbprint : AB"), "fl.txt", "a certificate export")
    b'Thumbprint : AB'
    >>> read_whole(io.StringIO("x" * 20), "fl.txt", "a certificate export", cap=16)
    Traceback (most recent call last):
    exlab.limits.OverLimit: fl.txt, character 16: expected a certificate export of at most 16 bytes (the file is longer)
    """
    cap = MAX_WHOLE_FILE if cap is None else cap
    left = _bytes_left(stream)
    if left is not None and left > cap:
        raise OverLimit(name, f"byte {cap}", what, cap, "the file is longer")
    data = stream.read((cap if left is None else left) + 1)    # read(n) sets n bytes aside before it reads
    if left is not None and len(data) > left:                    # the file grew since: read on to the cap
        data += stream.read(cap + 1 - len(data))
    if len(data) > cap:
        raise OverLimit(name, f"{'byte' if isinstance(data, bytes) else 'character'} {cap}", what, cap,
                        "the file is longer")
    return data


def _bytes_left(stream: BinaryIO | TextIO) -> int | None:
    """The bytes of a seekable binary stream past its position (None for text or a pipe: unknown).

    >>> import io
    >>> stream = io.BytesIO(b"abcdef"); _ = stream.read(2)
    >>> _bytes_left(stream), stream.tell(), _bytes_left(io.StringIO("abc"))
    (4, 2, None)
    """
    if isinstance(stream, io.TextIOBase) or not (hasattr(stream, "seekable") and stream.seekable()):
        return None
    at = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(at)
    return end - at


def skip_long_line(report: FileReport, number: int) -> None:
    """Count line ``number`` as a record skipped for being longer than :data:`MAX_FIELD`
    (the ``on_long`` of :func:`iter_capped_lines` for a reader that goes on).

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("a.log", sha256="", format="demo")
    >>> skip_long_line(report, 7); report.losses[0].where, report.losses[0].reason
    ('line 7', 'a line longer than 16 MiB (read through, not held)')
    """
    report.skip_record(f"line {number}", f"a line longer than {size_text(MAX_FIELD)} (read through, not held)")


def iter_capped_lines(stream: TextIO | BinaryIO, name: str, cap: int | None = None,
                      on_long: Callable[[int], None] | None = None) -> Iterator[AnyStr]:
    """The lines of a text or binary stream, line ends kept, none held longer than ``cap`` (its line end aside).

    A line longer than ``cap`` (default :data:`MAX_FIELD`) is read through in blocks, never held whole: with ``on_long``,
    ``on_long(number)`` is called with its line number (1 for the first) for the reader to
    count the skip, and the line comes back as its line end alone (later lines keep their
    numbers); without it, :class:`OverLimit` is raised.

    >>> skipped = []
    >>> import io
    >>> list(iter_capped_lines(io.BytesIO(b"ok\\n" + b"x" * 40 + b"\\nlast"), "a.log", 16, skipped.append))
    [b'ok\\n', b'\\n', b'last']
    >>> skipped
    [2]
    """
    cap = MAX_FIELD if cap is None else cap
    number = 0
    while line := stream.readline(cap + 2):   # the line, its CR LF
        number += 1
        newline = line[-1:]
        ends = "\r\n" if isinstance(line, str) else b"\r\n"
        if len(line.rstrip(ends)) <= cap and (newline == ends[1:] or len(line) < cap + 2):
            yield line
            continue
        while newline not in ("\n", b"\n") and (rest := stream.readline(BLOCK)):
            newline = rest[-1:]
        if on_long is None:
            raise OverLimit(name, f"line {number}", "a line", cap)
        on_long(number)
        yield line[:0] + newline if newline in ("\n", b"\n") else line[:0]
