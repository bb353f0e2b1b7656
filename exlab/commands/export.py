"""What ``-o FILE`` writes: a table as CSV, Parquet or JSON Lines, chosen by the extension.

One rule set for every column kind, whichever command writes the table:

============================  ======================  =====================  ==================
column kind                   CSV                     JSON Lines             Parquet
============================  ======================  =====================  ==================
time (datetime64)             ISO 8601 UTC text, Z    the same text          timestamp, UTC, ns
tuple or list                 ``; ``-joined text      array                  list
dict                          JSON text               object                 JSON text
bytes                         Base64                  Base64                 Base64
NA (None, NaN, NaT, pd.NA)    empty cell              null                   null
text                          neutralised             as is                  as is
============================  ======================  =====================  ==================

ISO text keeps every digit: 7 fractional digits (Windows' 100-ns ticks) when there is a
fraction, 9 when a time is finer than 100 ns, none on a whole second. CSV is UTF-8
without BOM and with CRLF line ends (as Excel writes it); a CSV cell that a spreadsheet
would run as a formula gets a leading ``'`` (:func:`neutralise`: OWASP's rule, widened to
blanks and invisible characters before the formula sign, full-width signs, and the parts of
a ``;``-separated list as a ``;``-locale Excel splits them), and a lone UTF-16 surrogate (from a
damaged record) is written as a ``\\udcXX`` escape. JSON Lines keep such a surrogate as
a JSON escape. The frame's ``attrs`` (the parse report) are never written, nor its index.

>>> import json, tempfile
>>> table = pd.DataFrame({"time": pd.to_datetime([1_742_462_042_123_456_700], utc=True),
...                       "services": [("IIS", "SMTP")], "data": [{"%1": "=1+1"}]})
>>> with tempfile.TemporaryDirectory() as folder:
...     write_export(table, Path(folder) / "t.jsonl")
...     json.loads((Path(folder) / "t.jsonl").read_text(encoding="utf-8"))
{'time': '2025-03-20T09:14:02.1234567Z', 'services': ['IIS', 'SMTP'], 'data': {'%1': '=1+1'}}
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exlab.errors import ExlabError
from exlab.events.system_time import format_system_time
from exlab.evidence import output_file, writing

OUTPUT_KINDS = (".csv", ".parquet", ".jsonl")
#: signs a spreadsheet starts a formula with: ASCII, full-width (East Asian input) and small forms
FORMULA_SIGNS = "=+-@" "\uff1d\uff0b\uff0d\uff20" "\ufe66\ufe62\ufe63\ufe6b"
#: characters a cell may start with that a spreadsheet skips or that hide what follows
#: (besides every Unicode blank): NUL and the zero-width characters
INVISIBLE = "\0\u200b\u200c\u200d\u2060\ufeff\u180e"
_LIST_SEPARATOR = ";"   # the list separator of the locales (de-DE, fr-FR, ...) where Excel splits CSV lines on it
_WHOLE_SECOND = ".0000000Z"
_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def export_target(output: str | Path | None, inputs: Iterable[str | Path]) -> Path | None:
    """The ``-o`` file checked before any evidence is read: a known extension, outside the evidence.

    ``None`` (no ``-o``) stays ``None``; a bad name raises :class:`~exlab.errors.ExlabError`.

    >>> export_target(None, ["evidence"]) is None
    True
    >>> export_target("out.xlsx", ["evidence"])
    Traceback (most recent call last):
    exlab.errors.ExlabError: out.xlsx: expected an output file ending in .csv, .parquet, .jsonl
    """
    if output is None:
        return None
    _kind(output)
    return output_file(output, list(inputs))


def write_export(table: pd.DataFrame, output: str | Path) -> None:
    """Write ``table`` to ``output`` as CSV, Parquet or JSON Lines, by its extension (rules above).

    >>> import tempfile
    >>> table = pd.DataFrame({"friendly_name": ["=cmd|' /c calc'!A1"], "der": [b"\\x30\\x82"],
    ...                       "services": [("IIS", "SMTP")], "size": pd.array([None], dtype="Int32")})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_export(table, Path(folder) / "certs.csv")
    ...     (Path(folder) / "certs.csv").read_bytes()
    b"friendly_name,der,services,size\\r\\n'=cmd|' /c calc'!A1,MII=,IIS; SMTP,\\r\\n"
    """
    writers = {".csv": _write_csv, ".parquet": _write_parquet, ".jsonl": _write_jsonl}
    with writing(output):
        writers[_kind(output)](table, Path(output))


def neutralise(cell: Any) -> Any:
    """A CSV cell a spreadsheet will show as text, never run as a formula.

    A cell gets a leading ``'`` when it starts with a formula sign (``=+-@``, full-width
    ``＝＋－＠`` and their small forms), also behind blanks (spaces, tabs, CR, LF, NBSP, ...)
    or invisible characters (zero-width, NUL), or when it starts with a tab, CR or LF itself.
    A part after a ``;`` (where a ``;``-locale spreadsheet starts a new cell) that would start
    a formula gets a ``'`` after its ``;``.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-1"), neutralise("EX01"), neutralise(7)
    ('\\'=HYPERLINK("http://x")', "'-1", 'EX01', 7)
    >>> neutralise(" \\u00a0\\u200b=1+1"), neutralise("\\uff1dSUM(A1)"), neutralise("IIS;=1+1; SMTP")
    ("' \\xa0\\u200b=1+1", "'＝SUM(A1)", "IIS;'=1+1; SMTP")
    """
    if not isinstance(cell, str):
        return cell
    return _LIST_SEPARATOR.join(_quoted(part) for part in cell.split(_LIST_SEPARATOR))


def _quoted(text: str) -> str:
    """``text`` with a leading ``'`` if it would start a formula (see :func:`neutralise`)."""
    if text.startswith(("\t", "\r", "\n")):
        return "'" + text
    shown = text
    while shown and (shown[0] in INVISIBLE or shown[0].isspace()):
        shown = shown[1:]
    return "'" + text if shown.startswith(tuple(FORMULA_SIGNS)) else text


def utc_text(stamp: datetime | pd.Timestamp | np.datetime64) -> str:
    """A time as ISO 8601 UTC with ``Z``, every digit kept (naive times are taken as UTC).

    >>> utc_text(pd.Timestamp("2025-03-20 10:14:02.1234567+01:00"))
    '2025-03-20T09:14:02.1234567Z'
    >>> utc_text(pd.Timestamp("2025-03-20 09:14:02.123456789", tz="UTC")), utc_text(datetime(2025, 3, 20))
    ('2025-03-20T09:14:02.123456789Z', '2025-03-20T00:00:00Z')
    """
    stamp = pd.Timestamp(stamp)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return _tick_text(int(stamp.asm8.view("int64")), stamp.unit)


def _tick_text(ticks: int, unit: str) -> str:
    """Ticks of ``unit`` since the epoch as ``SystemTime`` text, the fraction left out on a whole
    second (in Python integers: a year-9999 time in microseconds is beyond int64 nanoseconds)."""
    text = format_system_time(ticks * _NS_PER[unit])
    return text[:-len(_WHOLE_SECOND)] + "Z" if text.endswith(_WHOLE_SECOND) else text


def _kind(output: str | Path) -> str:
    kind = Path(output).suffix.lower()
    if kind not in OUTPUT_KINDS:
        raise ExlabError(str(output), None, f"an output file ending in {', '.join(OUTPUT_KINDS)}")
    return kind


def _write_csv(table: pd.DataFrame, output: Path) -> None:
    plain = _plain(table, _csv_column)
    plain.to_csv(output, index=False, encoding="utf-8", lineterminator="\r\n", errors="backslashreplace")


def _write_parquet(table: pd.DataFrame, output: Path) -> None:
    _plain(table, _parquet_column).to_parquet(output, index=False)


def _write_jsonl(table: pd.DataFrame, output: Path) -> None:
    names = [str(name) for name in table.columns]
    columns = [_time_texts(column) if pd.api.types.is_datetime64_any_dtype(column)
               else [_json_ready(value) for value in column.tolist()] for _, column in table.items()]
    with open(output, "w", encoding="utf-8", newline="\n") as out:
        out.writelines(_json_text(dict(zip(names, row))) + "\n" for row in zip(*columns))


def _plain(table: pd.DataFrame, convert) -> pd.DataFrame:
    """A new frame (no attrs, no index) of ``table``'s columns, each through ``convert``
    (which returns the new column, or None to keep it as it is); categories as their values."""
    columns = {}
    for index, (_, column) in enumerate(table.items()):
        column = column.reset_index(drop=True)
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        values = convert(column)
        columns[index] = column if values is None else pd.Series(
            values, dtype=None if isinstance(values, pd.Series) else object)
    plain = pd.DataFrame(columns, index=range(len(table)))
    plain.columns = table.columns
    return plain


def _csv_column(column: pd.Series) -> pd.Series | list | None:
    """Times as ISO text; objects and text as neutralised cells; numbers and booleans kept."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return _time_texts(column)
    if column.dtype == object:
        return [neutralise(_csv_cell(value)) for value in column]
    if pd.api.types.is_string_dtype(column):
        return column.map(neutralise, na_action="ignore")
    return None


def _parquet_column(column: pd.Series) -> pd.Series | list | None:
    """Times in UTC; objects as Parquet holds them, those that became text (JSON, Base64) as a
    ``string`` column like the frame's other text; the rest kept."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return _utc(column)
    if column.dtype != object:
        return None
    values = [_parquet_cell(value) for value in column]
    texts = [isinstance(value, str) for value in values if value is not None]
    return pd.Series(pd.array(values, dtype="string")) if texts and all(texts) else values


def _utc(column: pd.Series) -> pd.Series:
    """A time column in UTC, a naive one taken as UTC."""
    return column.dt.tz_localize("UTC") if column.dt.tz is None else column.dt.tz_convert("UTC")


def _time_texts(column: pd.Series) -> list:
    """A time column as ISO text (None for NaT), from the ticks of its own unit."""
    missing = column.isna().tolist()
    unit = column.dt.unit
    ticks = _utc(column).array.asi8.tolist()
    return [None if gone else _tick_text(tick, unit) for tick, gone in zip(ticks, missing)]


def _json_ready(value: Any) -> Any:
    """A value as JSON holds it: containers as lists and dicts, times as ISO text, bytes as
    Base64, NA as None, numpy scalars as Python ones, anything JSON has no type for (a
    Decimal, a set) as its text."""
    if type(value) is str:
        return value
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_json_ready(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if not isinstance(value, str) and pd.isna(value):
        return None
    if isinstance(value, (datetime, np.datetime64)):
        return utc_text(value)
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, (str, int, float)) else str(value)


def _csv_cell(value: Any) -> Any:
    """A value as one CSV cell: lists ``; ``-joined, dicts (and lists in lists) as JSON text."""
    value = _json_ready(value)
    if isinstance(value, list):
        return "; ".join("" if item is None else _json_text(item) if isinstance(item, (list, dict)) else str(item)
                         for item in value)
    return _json_text(value) if isinstance(value, dict) else value


def _parquet_cell(value: Any) -> Any:
    """A value for a Parquet column: lists stay lists (of text, numbers or JSON text), dicts
    become JSON text, a lone surrogate in text a ``\\udcXX`` escape (Parquet text is UTF-8)."""
    value = _json_ready(value)
    if isinstance(value, list):
        return [_json_text(item) if isinstance(item, (list, dict)) else _utf8(item) for item in value]
    return _json_text(value) if isinstance(value, dict) else _utf8(value)


def _utf8(value: Any) -> Any:
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _json_text(value: Any) -> str:
    """JSON as UTF-8 text can hold it: readable, with ``\\u`` escapes only where a lone
    surrogate would not encode."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text
