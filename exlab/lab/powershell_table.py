"""Format-Table's layout, as Windows PowerShell 5.1 and PowerShell 7 print a table of chosen properties.

What decides each character (PowerShell's ``OutCommandInner``, ``ColumnWidthManager``, ``TableWriter`` and
``StringManipulationHelper``):

* widths: a column is as wide as its label and its longest value among the objects Format-Table holds when
  it starts writing: all of them with ``-AutoSize``, those that reached it within 300 ms without (then a
  later object's longer value is cut). When the columns pass the width ``Out-File`` writes (the console's,
  less one), the last column shrinks, or is dropped when it would be narrower than one character, and the
  one before it shrinks;
* one space between columns; numbers, booleans and enums right-aligned, the rest left-aligned, labels too;
  under each label as many dashes as it has characters (the column's width, when the label is wider);
* a value wider than its column is cut, ending in ``...`` (5.1) or ``…`` (7); a right-aligned one loses its
  head instead (``...SMTP``). With ``-Wrap`` it goes on over the next lines of its column: between words
  where the culture's language is English, French, German, Italian, Portuguese or Spanish, every
  ``width`` characters in the others. A label wider than its column always wraps so;
* 5.1 pads every line to the table's width; 7 leaves the last column unpadded and trims the lines of a
  row that wraps.

>>> print("\\n".join(table_lines(["Name", "PublicKeySize"], [["mail", "2048"]], right=[False, True])))
Name PublicKeySize
---- -------------
mail          2048
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORDS = re.compile(r"[^ \t]*[ \t]|[^ \t]+$")      # each word with the space after it (the last without)


def table_lines(labels: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool], width: int = 120,
                wrap: bool = False, word_wrap: bool = True, windows_powershell: bool = True,
                sized_by: int | None = None) -> list[str]:
    """The header, the dashes and the rows of a table of ``rows`` (each value as PowerShell shows it) under
    ``labels``, ``right`` telling the right-aligned columns, written ``width`` wide (the console's); the
    first ``sized_by`` rows size the columns (all, by default). ``wrap`` is ``-Wrap``; ``word_wrap`` whether
    the culture wraps between words (:func:`exlab.cultures.wraps_words`). The blank lines around are the caller's.

    >>> table_lines(["Subject"], [["CN=mail.contoso.com, O=Contoso"]], right=[False], width=16)
    ['Subject        ', '-------        ', 'CN=mail.cont...']
    >>> table_lines(["Subject"], [["CN=mail.contoso.com, O=Contoso"]], right=[False], width=25, wrap=True,
    ...             windows_powershell=False)
    ['Subject', '-------', 'CN=mail.contoso.com,', 'O=Contoso']
    """
    sizing = rows if sized_by is None else rows[:sized_by]
    widths = fitted_widths([max([len(label)] + [len(row[k]) for row in sizing]) for k, label in enumerate(labels)],
                           width - 1)
    layout = _Layout(widths, tuple(right), word_wrap, windows_powershell)
    lines = layout.wrapped(labels)
    lines.append(layout.single(["-" * min(shown, len(label)) for shown, label in zip(widths, labels)]))
    for row in rows:
        lines.extend(layout.wrapped(row) if wrap else [layout.single(row)])
    return lines


def fitted_widths(widths: Sequence[int], room: int) -> list[int]:
    """Column widths that fit ``room`` characters with a space between columns: the last shown column
    shrinks, or is dropped (-1) when it would be narrower than one character (``TrimToFit``).

    >>> fitted_widths([40, 20, 44], 80), fitted_widths([40, 20, 44], 60)
    ([40, 20, 18], [40, 19, -1])
    """
    fitted = list(widths)
    while True:
        shown = sum(1 for width in fitted if width > 0)
        excess = sum(width for width in fitted if width > 0) + shown - 1 - room
        if excess <= 0 or not shown:
            return fitted
        last = shown - 1                   # the dropped columns are the last ones
        fitted[last] = fitted[last] - excess if fitted[last] - excess >= 1 else -1


def split_lines(text: str, width: int, word_wrap: bool) -> list[str]:
    """A value on the lines of a column ``width`` wide (``GenerateLines``): between words, each keeping the
    space after it, when ``word_wrap`` (a word longer than a line is cut where the line ends), else every
    ``width`` characters.

    >>> split_lines("CN=mail.contoso.com, O=Contoso", 22, True)
    ['CN=mail.contoso.com, ', 'O=Contoso']
    >>> split_lines("CN=mail.contoso.com, O=Contoso", 22, False)
    ['CN=mail.contoso.com, O', '=Contoso']
    """
    if len(text) <= width:
        return [text]
    if not word_wrap:
        return [text[start:start + width] for start in range(0, len(text), width)]
    lines, line, room = [], "", width
    for word in _WORDS.findall(text):
        if len(word) > width:              # wider than a whole line: cut where each line ends
            for char in word:
                if room < 1:
                    lines.append(line)
                    line, room = "", width
                line += char
                room -= 1
        elif len(word) > room:
            lines.append(line)
            line, room = word, width - len(word)
        else:
            line += word
            room -= len(word)
    return lines + [line]


@dataclass(frozen=True)
class _Layout:
    """The columns of one table: their widths (-1: dropped), which are right-aligned, and how lines are made."""

    widths: list[int]
    right: tuple[bool, ...]
    word_wrap: bool
    windows_powershell: bool

    @property
    def ellipsis(self) -> str:
        return "..." if self.windows_powershell else "\u2026"

    def field(self, text: str, k: int, pad: bool) -> str:
        """One value in column ``k`` on one line: cut (its tail, or its head when right-aligned) or padded
        (a left-aligned one only when ``pad``)."""
        width, right = self.widths[k], self.right[k]
        if len(text) > width:
            keep = width - len(self.ellipsis)
            if keep > 0:
                text = self.ellipsis + text[len(text) - keep:] if right else text[:keep] + self.ellipsis
            else:
                text = text[len(text) - width:] if right else text[:width]
        if right:
            return text.rjust(width)
        return text.ljust(width) if pad else text

    def single(self, values: Sequence[str]) -> str:
        """A row on one line (7 pads every column but the table's last, even when that one is dropped)."""
        return " ".join(self.field(value, k, self.windows_powershell or k < len(values) - 1)
                        for k, value in enumerate(values) if self.widths[k] > 0)

    def wrapped(self, values: Sequence[str]) -> list[str]:
        """A row whose long values go on over the next lines of their columns (``GenerateTableRow``)."""
        shown = [k for k in range(len(values)) if self.widths[k] > 0]
        cells = []
        for place, k in enumerate(shown):
            pad = self.windows_powershell or place < len(shown) - 1
            pieces = [self.field(piece, k, pad) for piece in split_lines(values[k], self.widths[k], self.word_wrap)]
            cells.append([" " * (place > 0) + piece for piece in pieces])
        height = max(len(pieces) for pieces in cells)
        blanks = [" " * (self.widths[k] + (place > 0)) for place, k in enumerate(shown)]
        if self.windows_powershell:
            return ["".join(pieces[row] if row < len(pieces) else blank for pieces, blank in zip(cells, blanks))
                    for row in range(height)]
        lines = []
        for row in range(height):
            last = max(place for place, pieces in enumerate(cells) if row < len(pieces))
            parts = [pieces[row] if row < len(pieces) else (blank if place < last else "")
                     for place, (pieces, blank) in enumerate(zip(cells[:last + 1], blanks))]
            lines.append("".join(parts[:-1]) + (parts[-1].rstrip() if height > 1 else parts[-1]))
        return lines
