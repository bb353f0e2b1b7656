"""XML handed to the parser in blocks that end between tags, so parsing stays linear.

Expat before 2.6 (Python 3.11 ships 2.5) scans an unfinished token again from its start
each time more bytes are fed: a 100 MB attribute fed in 16 KiB blocks, as ``iterparse``
does, is scanned some 6,000 times over. :class:`MarkupAlignedReader` wraps a stream and
gives ``iterparse`` blocks that never end inside a tag, a comment, a CDATA section or a
processing instruction, so every token reaches the parser whole and each byte is looked
at a bounded number of times (once by the boundary search, once by the parser). It also
holds any one tag with its attributes, comment or run of text between tags (an element's
text, a base64 blob) to :data:`exlab.limits.MAX_FIELD`.

Bytes in UTF-8, an ASCII-compatible code page or UTF-16 (known by its BOM, or by the NUL
beside the first ``<``) are read, and text.

>>> import io
>>> reader = MarkupAlignedReader(io.BytesIO(b'<Objs><S N="a>b">' + b'x' * 10 + b'</S></Objs>'), "a.xml", block=8)
>>> list(iter(lambda: reader.read(8), b""))
[b'<Objs>', b'<S N="a>b">xxxxxxxxx', b'x', b'</S>', b'</Objs>']
>>> reader.examined
34
"""

from __future__ import annotations

import re
from typing import BinaryIO, TextIO

from exlab import limits
from exlab.limits import OverLimit

_TEXT, _TAG, _QUOTED, _COMMENT, _CDATA, _PI = range(6)
#: what a tag of this kind starts with, and what ends it
_SPECIAL = ((_COMMENT, "<!--", "-->"), (_CDATA, "<![CDATA[", "]]>"), (_PI, "<?", "?>"))
_LOOKAHEAD = max(len(opener) for _, opener, _ in _SPECIAL)


class MarkupAlignedReader:
    """A read-only stream over ``source`` whose ``read`` returns blocks ending between tokens.

    ``read(size)`` returns at least one whole token (so possibly more than ``size``) and an
    empty block only at the end; the last block is whatever is left, an unfinished tag too,
    for the parser to report. ``examined`` counts the units (bytes, or characters of a text
    source) the boundary search has looked at. A tag, comment or text run longer than ``cap``
    units (default :data:`~exlab.limits.MAX_FIELD`) raises :class:`~exlab.limits.OverLimit`
    naming ``name`` and the offset it starts at.

    >>> import io
    >>> reader = MarkupAlignedReader(io.StringIO("<a b='>'><!-- <c> -->t</a>"), "t.xml")
    >>> reader.read(), reader.read(), reader.read()
    ("<a b='>'><!-- <c> -->t", '</a>', '')
    """

    def __init__(self, source: BinaryIO | TextIO, name: str, *, cap: int | None = None, block: int | None = None) -> None:
        self._source = source
        self._name = name
        self._cap = limits.MAX_FIELD if cap is None else cap
        self._block = block or limits.BLOCK
        self._held = None           # read, not yet returned (bytes or str, as the source gives)
        self._codec: str | None = None
        self._unit = 1
        self._offset = 0            # of the held text's first unit in the stream
        self._scan = 0              # where the boundary search resumes in the held text
        self._run = 0               # where the current tag or text run started, in the stream
        self._state = _TEXT
        self._closing = ""          # what ends the current quoted value, comment, CDATA or PI
        self._eof = False
        self._tag_end = None
        self.examined = 0

    def readable(self) -> bool:
        """Always True: a stream to read.

        >>> import io
        >>> MarkupAlignedReader(io.BytesIO(b""), "x").readable()
        True
        """
        return True

    def read(self, size: int = -1):
        """The next block ending between tokens (``size`` is only a hint); empty at the end."""
        while True:
            if self._held is None:
                self._held = self._source.read(self._block)
                self._codec, self._unit = _codec_of(self._held)
                self._tag_end = _tag_end_pattern(self._encode)
            elif not self._eof:
                more = self._source.read(max(self._block, len(self._held)))   # doubling: copies stay linear
                self._eof = not more
                self._held += more
            safe = len(self._held) if self._eof else self._advance()
            if safe:
                out, self._held = self._held[:safe], self._held[safe:]
                self._offset += safe
                self._scan = max(self._scan - safe, 0)
                return out
            if self._eof:
                return self._held

    def _advance(self) -> int:
        """Search the held text not yet searched; the end of its last whole token (0: none)."""
        held, safe = self._held, 0
        usable = len(held) - len(held) % self._unit
        while True:
            if self._state == _TEXT:
                found = self._find("<")
                end = usable if found == -1 else found
                self._check(end)
                safe = max(safe, end)
                if found == -1 or usable - found < _LOOKAHEAD * self._unit:
                    self._scan = end
                    return safe
                head = self._decode(held[found:found + _LOOKAHEAD * self._unit])
                self._state, self._closing = _TAG, ""
                for state, opener, closing in _SPECIAL:
                    if head.startswith(opener):
                        self._state, self._closing = state, closing
                self._run, self._scan = self._offset + found, found + self._unit
            elif self._state == _TAG:
                found, char = self._find_tag_end()
                if found == -1:
                    self._check(usable)
                    return safe
                self._check(found)
                self._scan = found + self._unit
                if char == ">":
                    self._state, self._run, safe = _TEXT, self._offset + self._scan, self._scan
                else:
                    self._state, self._closing = _QUOTED, char
            else:
                found = self._find(self._closing)
                if found == -1:
                    self._scan = max(self._scan, usable - (len(self._closing) - 1) * self._unit)
                    self._check(usable)
                    return safe
                self._scan = found + len(self._closing) * self._unit
                self._check(self._scan)
                if self._state == _QUOTED:
                    self._state = _TAG
                else:
                    self._state, self._run, safe = _TEXT, self._offset + self._scan, self._scan

    def _check(self, end: int) -> None:
        if self._offset + end - self._run > self._cap:
            what = "text between two tags" if self._state == _TEXT else "a tag (with its attributes) or comment"
            raise OverLimit(self._name, f"{'character' if self._codec is None else 'byte'} "
                                        f"{self._run}", what, self._cap)

    def _find(self, chars: str) -> int:
        """Where ``chars`` next start at a unit boundary from the resume point, or -1."""
        pattern, start = self._encode(chars), self._scan
        while True:
            found = self._held.find(pattern, start)
            if found == -1 or found % self._unit == 0:
                self.examined += (len(self._held) if found == -1 else found + len(pattern)) - self._scan
                return found
            start = found + 1

    def _find_tag_end(self) -> tuple[int, str]:
        """Where the next quote or ``>`` of a tag is, and which it is (-1 and "" for none)."""
        start = self._scan
        while True:
            match = self._tag_end.search(self._held, start)
            if match is None or match.start() % self._unit == 0:
                self.examined += (len(self._held) if match is None else match.end()) - self._scan
                return (-1, "") if match is None else (match.start(), self._decode(match.group()))
            start = match.start() + 1

    def _encode(self, chars: str):
        return chars if self._codec is None else chars.encode(self._codec)

    def _decode(self, units) -> str:
        return units if self._codec is None else units.decode(self._codec, "replace")


def _codec_of(head) -> tuple[str | None, int]:
    """How ASCII markup characters are written in the source: (codec, bytes per character).

    >>> _codec_of("<a/>"), _codec_of(b"\\xff\\xfe<\\x00"), _codec_of(b"\\x00<\\x00a"), _codec_of(b"<a/>")
    ((None, 1), ('utf-16-le', 2), ('utf-16-be', 2), ('latin-1', 1))
    """
    if isinstance(head, str):
        return None, 1
    start = head.lstrip(b"\r\n\t ")[:2] if not head.startswith((b"\xff\xfe", b"\xfe\xff")) else head[:2]
    if start in (b"\xff\xfe", b"<\x00"):
        return "utf-16-le", 2
    if start in (b"\xfe\xff", b"\x00<"):
        return "utf-16-be", 2
    return "latin-1", 1


def _tag_end_pattern(encode) -> re.Pattern:
    return re.compile(b"|".join(re.escape(encode(c)) for c in "\"'>") if not isinstance(encode("a"), str)
                      else "[\"'>]")
