"""Which text encoding an event export was saved in, and reading it as a stream.

Windows tools write text exports in UTF-8 (with or without a byte order mark), UTF-16 LE
with a BOM (Windows PowerShell 5.1's ``Out-File``/``Export-Clixml``, Notepad's
"Unicode"), rarely UTF-16 without a BOM, and, from older tools, the ANSI code page.
:func:`sniff_encoding` decides from the first bytes only, so big files are never read
whole; :func:`open_text` reads the evidence stream as text without taking it over.

>>> sniff_encoding(b"\\xef\\xbb\\xbfLevel,Date and Time")
Sniffed(encoding='utf-8', bom=3)
>>> sniff_encoding("Level".encode("utf-16"))
Sniffed(encoding='utf-16-le', bom=2)
>>> sniff_encoding("Level".encode("utf-16-le"))
Sniffed(encoding='utf-16-le', bom=0)
>>> sniff_encoding("Źródło".encode("cp1250"), fallbacks=("cp1250",))
Sniffed(encoding='cp1250', bom=0)
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from exlab.text_encoding import bom_of, refuse_foreign_bom


@dataclass(frozen=True)
class Sniffed:
    """An encoding and the length of the byte order mark that precedes the text."""

    encoding: str
    bom: int


def sniff_encoding(head: bytes, fallbacks: tuple[str, ...] = (), *, source: str | None = None) -> Sniffed:
    """The encoding of a text file from its first bytes.

    A BOM decides (UTF-8, UTF-16, UTF-32; given the file's name ``source``, one of an
    encoding no Windows export is written in raises :class:`~exlab.errors.UnsupportedEncoding`);
    otherwise many NUL bytes mean UTF-16 (the side of the NULs says which byte order); otherwise UTF-8 if the bytes are valid UTF-8 (a character cut at the end
    of ``head`` does not count against it), else the first of ``fallbacks`` (legacy code
    pages), else UTF-8 (decoding will then replace the bad bytes).

    >>> sniff_encoding(b"plain ascii")
    Sniffed(encoding='utf-8', bom=0)
    """
    if source is not None:
        refuse_foreign_bom(head, source)
    found = bom_of(head)
    if found is not None:
        return Sniffed(*found)
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) * 4 >= len(sample):
        odd_nuls = sample[1::2].count(0)
        return Sniffed("utf-16-le" if odd_nuls >= sample[0::2].count(0) else "utf-16-be", 0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return Sniffed("utf-8", 0)
    except UnicodeDecodeError:
        pass
    return Sniffed(fallbacks[0] if fallbacks else "utf-8", 0)


def decode_head(head: bytes, sniffed: Sniffed) -> str:
    """The text of the first bytes, BOM removed, a character cut at the end dropped.

    >>> decode_head("Poziom".encode("utf-16"), sniff_encoding("Poziom".encode("utf-16")))
    'Poziom'
    """
    decoder = codecs.getincrementaldecoder(sniffed.encoding)(errors="replace")
    return decoder.decode(head[sniffed.bom:], final=False)


@contextmanager
def open_text(stream: BinaryIO, sniffed: Sniffed, *, newline: str | None = "") -> Iterator[TextIO]:
    """The binary ``stream`` read as text from after its BOM; undecodable bytes become U+FFFD.

    The stream stays open and belongs to the caller afterwards.

    >>> raw = io.BytesIO("\\ufeffa,b\\r\\n".encode("utf-8"))
    >>> with open_text(raw, sniff_encoding(raw.getvalue())) as text:
    ...     text.read()
    'a,b\\r\\n'
    >>> raw.closed
    False
    """
    stream.seek(sniffed.bom)
    text = io.TextIOWrapper(stream, encoding=sniffed.encoding, errors="replace", newline=newline)
    try:
        yield text
    finally:
        text.detach()
