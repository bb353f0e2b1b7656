"""Seeded mutators: what a bad disk, a careless copy or an attacker does to an evidence file.

Each mutator takes a ``random.Random`` and the file's bytes and returns new bytes; the same
seed always gives the same output, so a failing input is kept as ``(seed file, seed)``.

>>> mutate(b"#Fields: date-time,connector-id\\r\\n2025-03-20T09:14:02.123Z,Outbound\\r\\n", 7) == \\
...     mutate(b"#Fields: date-time,connector-id\\r\\n2025-03-20T09:14:02.123Z,Outbound\\r\\n", 7)
True
"""

from __future__ import annotations

import codecs
import random
import re
from collections.abc import Callable

Mutator = Callable[[random.Random, bytes], bytes]

# numbers past what the fields hold: bytes, signed and unsigned 32/64-bit, years pandas cannot hold
HUGE_NUMBERS = (b"128", b"255", b"65536", b"2147483648", b"4294967296", b"9223372036854775808",
                b"18446744073709551616", b"-1", b"-9223372036854775809", b"1" * 25, b"1600", b"3025",
                b"99999", b"0")
# "encodings" Python knows that are not text encodings, and text ones exlab does not expect
ODD_ENCODINGS = (b"base64", b"hex", b"zlib", b"rot13", b"idna", b"utf-7", b"utf-32", b"bz2", b"uu",
                 b"quopri", b"punycode", b"utf-16-be", b"cp1252", b"koi8-r", b"nonexistent")
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE,
        b"+/v8-")   # the last one is UTF-7's
_DIGITS = re.compile(rb"\d+")
_DECLARATION = re.compile(rb"""encoding\s*=\s*["'][^"']*["']""")


def _span(rng: random.Random, data: bytes, most: int = 64) -> tuple[int, int]:
    start = rng.randrange(len(data) + 1)
    return start, min(len(data), start + rng.randint(1, most))


def flip_bits(rng: random.Random, data: bytes) -> bytes:
    """Flip one bit in each of a few bytes (a bad sector, a bad cable)."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    """Cut the file off (a copy interrupted, a full disk)."""
    return data[:rng.randrange(len(data) + 1)]


def insert_bytes(rng: random.Random, data: bytes) -> bytes:
    """Insert random bytes, or bytes that mean something to a parser, somewhere."""
    start = rng.randrange(len(data) + 1)
    piece = rng.choice((bytes(rng.randrange(256) for _ in range(rng.randint(1, 32))), b"\x00" * 8, b"\r\n",
                        b'"', b"<", b"&#0;", b"]]>", b"\xff\xfe", b",,,,", b"\t", b"#Fields: x\r\n", b"{", b"\\u0000"))
    return data[:start] + piece + data[start:]


def duplicate_region(rng: random.Random, data: bytes) -> bytes:
    """Copy a region of the file elsewhere in it (a shadow copy, a sector written twice)."""
    start, end = _span(rng, data, 4096)
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[start:end] + data[at:]


def zero_region(rng: random.Random, data: bytes) -> bytes:
    """Overwrite a region with zeros (a zeroed chunk, a sparse file's hole)."""
    start, end = _span(rng, data, 4096)
    return data[:start] + bytes(end - start) + data[end:]


def huge_number(rng: random.Random, data: bytes) -> bytes:
    """Replace a run of digits with a number past what its field holds."""
    runs = list(_DIGITS.finditer(data))
    if not runs:
        return data
    run = rng.choice(runs)
    return data[:run.start()] + rng.choice(HUGE_NUMBERS) + data[run.end():]


def odd_encoding(rng: random.Random, data: bytes) -> bytes:
    """Declare an encoding that is no text encoding (or an unexpected one), or put a stray BOM first."""
    declared = _DECLARATION.search(data[:400])
    if declared and rng.random() < 0.7:
        return data[:declared.start()] + b'encoding="' + rng.choice(ODD_ENCODINGS) + b'"' + data[declared.end():]
    if data.startswith(b"<?xml") and rng.random() < 0.5:
        return b'<?xml version="1.0" encoding="' + rng.choice(ODD_ENCODINGS) + b'"?>' + data[data.find(b"?>") + 2:]
    return rng.choice(BOMS) + data


def line_ends(rng: random.Random, data: bytes) -> bytes:
    """Rewrite the line ends as another system or tool does (LF, CR alone, CRLF doubled) in the whole file or from
    somewhere on."""
    start = rng.choice((0, rng.randrange(len(data) + 1)))
    end = rng.choice((b"\n", b"\r", b"\r\r\n", b"\n\r"))
    return data[:start] + data[start:].replace(b"\r\n", b"\n").replace(b"\n", end)


def reencode(rng: random.Random, data: bytes) -> bytes:
    """The text saved again in another encoding (Notepad's "Unicode", a code page), BOM or not, whatever it was."""
    text = data.decode("utf-8", "surrogateescape")
    encoding = rng.choice(("utf-16-le", "utf-16-be", "utf-8-sig", "cp1252", "cp1250", "latin-1"))
    body = text.encode(encoding, "replace") if encoding in ("cp1252", "cp1250", "latin-1") else \
        text.encode(encoding, "surrogatepass")
    return (codecs.BOM_UTF16_LE if encoding == "utf-16-le" and rng.random() < 0.5 else b"") + body


def long_run(rng: random.Random, data: bytes) -> bytes:
    """Insert one long run of a character (past the csv module's cell limit of 128 KiB, or short of it)."""
    start = rng.randrange(len(data) + 1)
    return data[:start] + rng.choice((b"a", b'"', b",", b" ", b"\x00", b"<")) * rng.choice((1000, 70_000, 140_000)) + \
        data[start:]


def swap_regions(rng: random.Random, data: bytes) -> bytes:
    """Exchange two regions of the file (sectors written back in the wrong order)."""
    first, second = sorted((_span(rng, data, 4096), _span(rng, data, 4096)))
    if first[1] > second[0]:
        return data
    return data[:first[0]] + data[second[0]:second[1]] + data[first[1]:second[0]] + data[first[0]:first[1]] + \
        data[second[1]:]


MUTATORS: tuple[Mutator, ...] = (flip_bits, truncate, insert_bytes, duplicate_region, zero_region, huge_number,
                                 odd_encoding)
#: other mutators, for a fresh corpus (``EXLAB_FUZZ_MUTATORS=more``); apart, so that every kept recipe of
#: :data:`MUTATORS` still gives the same bytes
MORE_MUTATORS: tuple[Mutator, ...] = (*MUTATORS, line_ends, reencode, long_run, swap_regions)
SETS = {"base": MUTATORS, "more": MORE_MUTATORS}


def mutate(data: bytes, seed: int, mutators: str = "base") -> bytes:
    """``data`` after one to three of the ``mutators`` (a name of :data:`SETS`) chosen by ``seed``.

    >>> mutate(b"Level 4", 0) != b"Level 4" or mutate(b"Level 4", 1) != b"Level 4"
    True
    >>> mutate(b"Level 4\\r\\n", 3, "more") == mutate(b"Level 4\\r\\n", 3, "more")
    True
    """
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(SETS[mutators])(rng, data)
    return data
