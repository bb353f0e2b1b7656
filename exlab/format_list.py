"""Format-List text (``| fl`` saved with ``>``, or copied from the console) read into one block of
properties per object, each value as the lines it was shown on.

Windows PowerShell writes ``Name : value``, the names padded to the longest of the object, and a
blank line between objects. A value wider than the console goes on over lines indented to the value
column: cut between words in the cultures PowerShell wraps words in (en, fr, de, it, pt, es; the
space stays at the end of the line) and at the width exactly in the others (pl, ...). A value of
several lines (an event's message) keeps them, each wrapped on its own and indented too; an empty
one is the indentation alone, or nothing where a copy of the console trimmed the line. So a blank
line followed by an indented one is still inside the value, and :meth:`Layout.value` tells a wrap
from a line of the value by the file's width. The certificate, event and connector readers all read
their ``| fl`` text here (:func:`objects` gives each block's values).

>>> text = ("\\r\\nId      : 2004\\r\\nMessage : One two\\r\\n          three.\\r\\n\\r\\n          Four.\\r\\n\\r\\n"
...         "Id      : 7\\r\\n")
>>> blocks = list(property_blocks(enumerate(text.splitlines(), 1), []))
>>> [block.line for block in blocks]
[2, 8]
>>> layout = Layout.of(blocks, 20)
>>> layout.value(blocks[0].properties["Message"])
'One two three.\\r\\n\\r\\nFour.'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# a property's line: its name at the start, padded, then " : " (": " and nothing after where the value
# is empty and the line was trimmed)
_PROPERTY = re.compile(r"^(?P<name>[A-Za-z_][\w.]*) +(?P<colon>:)(?: |$)")
_FIRST_WORD = re.compile(r"\S*")
LINE_BREAK = "\r\n"     # how a line break inside a value is kept (as Windows renders event messages)
# the narrowest width taken (Out-File writes a character less than the console is wide, 80 at the least): a file
# whose values never reach the width does not tell it
CONSOLE_WIDTH = 79


@dataclass
class Property:
    """One property of a block: the column its value starts at, and its lines as the file shows them
    (the first with the name, then the continuations, blank ones included)."""

    column: int
    lines: list[str]


@dataclass
class Block:
    """One object of the list: the line it starts on and its properties by name, in order."""

    line: int
    properties: dict[str, Property]


def property_line(line: str) -> str | None:
    """The name of the property ``line`` starts, or None when it starts none.

    >>> property_line("TimeCreated  : 3/20/2025 2:15:04 PM"), property_line("UserName :"), property_line("Note: x")
    ('TimeCreated', 'UserName', None)
    """
    match = _PROPERTY.match(line)
    return match["name"] if match else None


def property_blocks(lines: Iterable[tuple[int, str]], stray: list[int]) -> Iterator[Block]:
    """The blocks of numbered lines (line ends removed). A property named again in one block starts
    another block (the blank line between them was lost); the numbers of lines that are neither a
    property nor a continuation of one go to ``stray``.

    >>> stray = []
    >>> [list(b.properties) for b in property_blocks(enumerate(["A : 1", "x", "B : 2", "A : 3"], 1), stray)], stray
    ([['A', 'B'], ['A']], [2])
    """
    block: Block | None = None
    last: Property | None = None
    blank: list[str] = []           # blank lines inside the open block, placed by the line after them
    for number, line in lines:
        if not line.strip():
            if block is not None:
                blank.append(line)
            continue
        if line[:1].isspace():
            if last is None:
                stray.append(number)
            else:
                last.lines.extend(blank)
                last.lines.append(line)
            blank = []
            continue
        match = _PROPERTY.match(line)
        if match is None:
            stray.append(number)
            continue
        if block is not None and (blank or match["name"] in block.properties):
            yield block
            block = None
        if block is None:
            block = Block(number, {})
        blank = []
        last = block.properties[match["name"]] = Property(match.start("colon") + 2, [line])
    if block is not None:
        yield block


@dataclass(frozen=True)
class Layout:
    """How a file's values were wrapped: the console width (its longest line), whether wrapped lines
    kept the space they were cut after (Out-File keeps it; a console copy may trim it), and whether the
    culture wrapped them between words (``words``; None when nothing tells). ``floor`` is the narrowest
    width taken for the console: a file none of whose values reaches the width says nothing of it."""

    width: int
    kept_spaces: bool
    words: bool | None = None

    @classmethod
    def of(cls, blocks: Iterable[Block], floor: int, words: bool | None = None) -> Layout:
        """The layout of the blocks of one file. Whether values were wrapped between words is told by the lines
        they were wrapped after, when two differ: cut at the width, they are all as long (one less where a copy
        trimmed the space a cut fell after); cut between words, their lengths differ. Else ``words``, as the
        culture says (None: unknown).

        >>> Layout.of([Block(1, {"A": Property(4, ["A : one ", "    two"])})], 79)
        Layout(width=79, kept_spaces=True, words=None)
        >>> wrapped = {"A": Property(4, ["A : one two", "    three"]), "B": Property(4, ["B : a", "    b"])}
        >>> Layout.of([Block(1, wrapped)], 0).words
        True
        """
        width, kept, wrapped = floor, False, set()
        for block in blocks:
            for prop in block.properties.values():
                width = max(width, *(len(line) for line in prop.lines))
                kept = kept or any(line[-1:] == " " and line.strip() for line in prop.lines[:-1])
                wrapped.update(line.rstrip() for line in prop.lines[:-1] if line[prop.column:].strip())
        lengths = [len(line) for line in wrapped]       # a value shown twice (Subject, Issuer) counts once
        if len(lengths) > 1:
            words = max(lengths) - min(lengths) > 1
        return cls(width, kept, words)

    def value(self, prop: Property, *, breaks: bool = True) -> str:
        """The property's value: its lines joined where the console wrapped it, a line break where the
        value had one (trailing whitespace dropped). A value that cannot hold a line break (``breaks``
        false: a certificate's issuer, a connector's smart host) is wrapped wherever its lines part:
        where the break cannot be told from the width, between words.

        >>> Layout(30, kept_spaces=False).value(Property(4, ["A : Failed to establish", "    appropriate"]))
        'Failed to establish appropriate'
        >>> Layout(30, kept_spaces=False).value(Property(4, ["A : Failed.", "    Next line"]))
        'Failed.\\r\\nNext line'
        >>> Layout(30, kept_spaces=False).value(Property(4, ["A : O=DigiCert", "    Inc"]), breaks=False)
        'O=DigiCert Inc'
        """
        pieces = [prop.lines[0][prop.column:]]
        for before, line in zip(prop.lines, prop.lines[1:]):
            piece = line[prop.column:] if not line[:prop.column].strip() else line.lstrip()
            pieces += [self._joint(before, prop.column, piece) if breaks else self._wrap(before, prop.column, piece),
                       piece]
        return "".join(pieces).rstrip()

    def _wrap(self, before: str, column: int, piece: str) -> str:
        """What stood between a line a value was wrapped after and the next piece: nothing where the line kept
        the space it was cut after or the piece starts with it; the space a copy of the console trimmed after a
        list's ``,`` (``{a, b}``, ``CN=x, O=y``: cut at the width right after it, the space would start the
        piece) or on a line that stops short of the width. A line at the width was cut there, unless the values
        were wrapped between words (:attr:`words`) and the word across the cut fits a line.

        >>> Layout(29, kept_spaces=False, words=True)._wrap("A : O=Contoso Pharmaceuticals", 4, "Ltd")
        ' '
        >>> Layout(26, kept_spaces=False, words=False)._wrap("A : O=Contoso Pharmaceutic", 4, "als Ltd")
        ''
        >>> Layout(12, kept_spaces=False, words=True)._wrap("A : xy abcde", 4, "fgh rest")    # "abcdefgh " > 8
        ''
        """
        if before[-1:].isspace() or piece[:1].isspace():
            return ""
        if before.endswith(",") or len(before) < self.width:
            return " "
        if not self.words:
            return ""
        tail = before[column:]
        last = len(tail) - 1 - max(tail.rfind(" "), tail.rfind("\t"))      # no regex search: linear on any line
        first = len(_FIRST_WORD.match(piece)[0])
        # the word with the space after it (as PowerShell measures it): longer than a line, it is cut at the width
        across = last + first + (first < len(piece))
        return "" if across > self.width - column else " "

    def _joint(self, before: str, column: int, piece: str) -> str:
        """What stood between a line of a value (``before``, as the file shows it) and the next one."""
        if not piece or not before[column:].strip():
            return LINE_BREAK                         # an empty line of the value, or the one after it
        if before[-1:].isspace() or len(before) >= self.width:
            return ""                                 # cut after a space it kept, or at the width
        word, space, _ = piece.partition(" ")
        if not self.kept_spaces and len(before) + 1 + len(word) + len(space) > self.width:
            return " "                                # a word wrap whose trailing space was trimmed
        return LINE_BREAK


def objects(lines: Iterable[tuple[int, str]], stray: list[int], *, breaks: bool = True,
            words: bool | None = None) -> list[dict[str, str]]:
    """Each block's values by property name (:meth:`Layout.value`, the layout taken from all of them), of
    numbered lines; the numbers of lines neither a property nor its continuation go to ``stray``. Values
    that hold no line break (``breaks`` false) take the file's longest line for the width, however narrow.
    ``words``: whether the culture wraps between words (:func:`exlab.cultures.wraps_words`), when known.

    >>> lines = ["Name       : A", "SmartHosts : {a.mail.protection.outl", "             ook.com}"]
    >>> objects(enumerate(lines, 1), [], breaks=False)
    [{'Name': 'A', 'SmartHosts': '{a.mail.protection.outlook.com}'}]
    """
    blocks = list(property_blocks(lines, stray))
    layout = Layout.of(blocks, CONSOLE_WIDTH if breaks else 0, words)
    return [{name: layout.value(prop, breaks=breaks) for name, prop in block.properties.items()}
            for block in blocks]
