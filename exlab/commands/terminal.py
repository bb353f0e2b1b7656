"""Evidence text for the terminal: every character that a terminal would act on instead of
showing (escape sequences, carriage returns, bidi overrides, NUL) is shown as its Python
escape, so a file name or an event's text never moves the cursor, recolours or hides output.

Every ``exlab`` command prints evidence names and text through :func:`visible`.

>>> print(visible("evil\\x1b[2J.evtx"))
evil\\x1b[2J.evtx
"""

from __future__ import annotations

from typing import Any


def visible(value: Any, *, lines: bool = False) -> str:
    """``value`` as text a terminal shows as it is: a character that is not printable
    (control and format characters, line and paragraph separators, a lone surrogate) becomes
    its escape (``\\x1b``, ``\\r``, ``\\u202e``, ``\\udc80``); None becomes ``""``. With ``lines``,
    line feeds are kept (a multi-line message); tabs and everything else are escaped.

    >>> visible("EX01\\rOK\\u202etxt.exe"), visible(None), visible("a\\nb", lines=True)
    ('EX01\\\\rOK\\\\u202etxt.exe', '', 'a\\nb')
    >>> visible("a\\nb")
    'a\\\\nb'
    """
    text = "" if value is None else str(value)
    if text.isprintable() and "\n" not in text:
        return text
    return "".join(char if char.isprintable() or (lines and char == "\n") else _escape(char) for char in text)


def _escape(char: str) -> str:
    """One character's Python escape (``repr`` without its quotes)."""
    return repr(char)[1:-1]
