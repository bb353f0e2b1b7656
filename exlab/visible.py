"""Evidence text a person sees as it is: every character that a terminal or a Markdown
renderer would act on instead of showing (escape sequences, carriage returns, line feeds,
bidi overrides, NUL) is shown as its Python escape, so a file name or an event's text never
moves the cursor, recolours or hides output, and never makes a line of its own.

Every ``exlab`` command prints evidence names and text through :func:`visible`, and texts of
several lines through :func:`visible_lines`, line by line; the notebooks' sentences
(:func:`exlab.notebook.md`) go through :func:`visible` too, and HTML (the report, the notebooks'
tables) through :func:`visible_html`.

>>> print(visible("evil\\x1b[2J.evtx"))
evil\\x1b[2J.evtx
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any


def visible(value: Any) -> str:
    """``value`` as text a terminal shows as it is: a character that is not printable
    (control and format characters, line feeds, line and paragraph separators, a lone
    surrogate) becomes its escape (``\\x1b``, ``\\r``, ``\\n``, ``\\u202e``, ``\\udc80``);
    None becomes ``""``.

    >>> visible("EX01\\rOK\\u202etxt.exe"), visible(None), visible("a\\nb")
    ('EX01\\\\rOK\\\\u202etxt.exe', '', 'a\\\\nb')
    """
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def visible_html(value: Any) -> str:
    """``value`` as HTML text a browser shows as it is: escaped (``<`` as ``&lt;``, quotes too), and
    each character :func:`visible` escapes, but a line feed or a tab (HTML lays them out), shown as its
    escape: a bidi override never reorders a file name on screen, a NUL or an ESC never hides.

    >>> visible_html('<b>"x"</b>\\u202etxt.exe\\n'), visible_html(None)
    ('&lt;b&gt;&quot;x&quot;&lt;/b&gt;\\\\u202etxt.exe\\n', '')
    """
    text = "" if value is None else str(value)
    if not text.isprintable():
        text = "".join(char if char.isprintable() or char in "\n\t" else _escape(char) for char in text)
    return html.escape(text)


def _escape(char: str) -> str:
    """One character's Python escape (``repr`` without its quotes)."""
    return repr(char)[1:-1]


def visible_lines(lines: Iterable[Any]) -> str:
    """Lines for the terminal, each made :func:`visible` (a line feed inside one is escaped),
    joined by line feeds.

    >>> print(visible_lines(["not read: evil\\nKB 2888788: confirmed.cer", "", "done"]))
    not read: evil\\nKB 2888788: confirmed.cer
    <BLANKLINE>
    done
    """
    return "\n".join(visible(line) for line in lines)
