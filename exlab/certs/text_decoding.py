"""Decoding text exports as Windows writes them: UTF-16 LE with BOM from ``>`` in Windows
PowerShell 5.1, UTF-8 with or without BOM, UTF-16 without BOM, or the ANSI code page.

>>> decode_text("Thumbprint\\r\\n".encode("utf-16"))
('Thumbprint\\r\\n', 'utf-16-le')
>>> decode_text(b"\\xef\\xbb\\xbfCN=mail")
('CN=mail', 'utf-8-sig')
>>> decode_text("Wrocław".encode("cp1250"))[1]
'cp1250'
"""

from __future__ import annotations

from typing import BinaryIO

from exlab.errors import CorruptInput
from exlab.limits import read_whole
from exlab.parse_report import FileReport
from exlab.text_encoding import bom_of, refuse_foreign_bom

# Tried in this order when the bytes are neither UTF-16 nor UTF-8: Central European first
# (Polish servers), then Western. Both decode any byte, so the first one wins unless its
# undefined code points appear.
_ANSI = ("cp1250", "cp1252")


def decode_text(data: bytes, source: str | None = None) -> tuple[str, str]:
    """The text of ``data`` and the encoding it was read with (UTF-8 after a BOM is ``utf-8-sig``).

    Raises ``UnicodeDecodeError`` only for UTF-16 or UTF-32 with a cut character or broken
    surrogates, and, given the file's name ``source``, UnsupportedEncoding for the byte order
    mark of an encoding no Windows export is written in (:mod:`exlab.text_encoding`).

    >>> decode_text("Thumbprint".encode("utf-32"))
    ('Thumbprint', 'utf-32-le')
    """
    if source is not None:
        refuse_foreign_bom(data, source)
    found = bom_of(data)
    if found is not None:
        encoding, length = found
        return data[length:].decode(encoding), "utf-8-sig" if encoding == "utf-8" else encoding
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) * 3 > len(sample):
        encoding = "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for encoding in _ANSI:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def read_text(stream: BinaryIO, name: str, report: FileReport) -> str:
    """The whole text of an evidence stream; a guessed (BOM-less, non-UTF-8) encoding is noted.

    Raises CorruptInput when UTF-16 text is cut in half (an odd number of bytes), and
    :class:`~exlab.limits.OverLimit` for a file past :data:`~exlab.limits.MAX_WHOLE_FILE`
    (a certificate text export is kilobytes; the cap keeps a hostile one from exhausting memory).

    >>> import io
    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("fl.txt", sha256="", format="exchange-list")
    >>> read_text(io.BytesIO("Services : SMTP".encode("utf-16-le")), "fl.txt", report), report.warnings
    ('Services : SMTP', ['no byte order mark: read as utf-16-le'])
    """
    data = read_whole(stream, name, "a certificate text export")
    try:
        text, encoding = decode_text(data, name)
    except UnicodeDecodeError as err:
        raise CorruptInput(name, f"byte {err.start}", "text in one encoding", str(err.reason)) from None
    report.engine = encoding
    if encoding in _ANSI or encoding == "latin-1" or (encoding.startswith("utf-16") and bom_of(data) is None):
        report.note(f"no byte order mark: read as {encoding}")
    return text
