"""The events frame: one row per event record, whatever export it came from.

Readers produce rows as plain dicts keyed by :data:`COLUMNS`; :func:`events_frame`
turns them into the frame with the public dtypes. ``time_created`` in a row is an
``int`` of nanoseconds since 1970-01-01 UTC (keeps the 100-ns precision of FILETIME)
or ``None`` where the record has no usable time (a zero FILETIME, 1601-01-01).

>>> frame = events_frame([{"time_created": 1_700_000_000_123_456_700, "computer": "EX01",
...     "channel": "Application", "provider": "MSExchangeTransport", "event_id": 2004,
...     "qualifiers": 16388, "level": 4, "task": 2, "keywords": "0x80000000000000",
...     "record_id": 7, "record_number": 7, "data": {"%1": "Outbound to Office 365"},
...     "message": None, "source": "Application.evtx"}])
>>> frame.loc[0, "time_created"]
Timestamp('2023-11-14 22:13:20.123456700+0000', tz='UTC')
>>> str(frame["event_id"].dtype), str(frame["level"].dtype)
('Int32', 'Int8')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from exlab.value_ranges import count_lost, fit_integers, fits

# column -> dtype, in the order of the public contract (DESIGN.md), plus record_number:
# the record header's number, which exported logs renumber (record_id keeps the original),
# and line: the line a record starts on in a text export that carries no record id (Event
# Viewer's CSV and TXT), so that each of its events can still be pointed at.
DTYPES: dict[str, str] = {
    "time_created": "datetime64[ns, UTC]",
    "computer": "string",
    "channel": "string",
    "provider": "string",
    "event_id": "Int32",
    "qualifiers": "Int32",
    "level": "Int8",
    "task": "Int32",
    "keywords": "string",
    "record_id": "Int64",
    "record_number": "Int64",
    "data": "object",
    "message": "string",
    "source": "string",
    "line": "Int64",
}
COLUMNS: tuple[str, ...] = tuple(DTYPES)
# pandas keeps the "string" dtype in pyarrow (large_string) unless told otherwise
_ARROW_STRINGS = pd.StringDtype().storage == "pyarrow"

Row = Mapping[str, Any]


def events_frame(rows: Iterable[Row] | Mapping[str, list], report: Any = None) -> pd.DataFrame:
    """Build the events frame from row dicts (or a dict of column lists).

    Missing columns are filled with NA; ``report`` (a ParseReport) goes to ``attrs``.
    """
    if isinstance(rows, Mapping):
        columns = {name: rows.get(name) for name in COLUMNS}
        length = max((len(v) for v in columns.values() if v is not None), default=0)
        columns = {k: (v if v is not None else [None] * length) for k, v in columns.items()}
    else:
        rows = list(rows)
        columns = {name: [row.get(name) for row in rows] for name in COLUMNS}
    lost: dict[str, list[int]] = {}
    frame = pd.DataFrame(
        {
            name: _column(name, values, lost)
            for name, values in columns.items()
        }
    )
    if any(lost.values()):
        count_lost(report, columns["source"], partial(_place, columns),
                   {name: (columns[name], places) for name, places in lost.items() if places})
    if report is not None:
        frame.attrs["parse_report"] = report
    return frame


def _column(name: str, values: list, lost: dict[str, list[int]]) -> pd.Series:
    """The typed column; the places of values it cannot hold (read as NA) go to ``lost[name]``."""
    dtype = DTYPES[name]
    if name == "time_created":
        ints = _integers(values, "Int64", lost.setdefault(name, []))
        return pd.Series(pd.to_datetime(ints.to_numpy(dtype="int64", na_value=pd.NaT.value), unit="ns", utc=True))
    if dtype == "object":
        return pd.Series(values, dtype="object")
    if dtype == "string":
        return pd.Series(_strings(values))
    return pd.Series(_integers(values, dtype, lost.setdefault(name, [])))


def _place(columns: Mapping[str, list], index: int) -> str:
    """Where row ``index`` is in its file: its record number (or id), else its place among the file's rows."""
    for key in ("record_number", "record_id"):
        number = columns[key][index]
        if isinstance(number, int) and fits(number, "Int64"):
            return f"{key.replace('_', ' ')} {number}"
    source = columns["source"][index]
    return f"event {sum(1 for other in columns['source'][:index] if other == source) + 1}"


def _strings(values: list) -> pd.api.extensions.ExtensionArray:
    """A text column: through pyarrow when every value is a str or None (several times
    faster than pandas' own conversion of a list), else pandas' conversion.

    >>> list(_strings(["EX01", None])), str(_strings([1]).dtype)
    (['EX01', <NA>], 'string')
    """
    if _ARROW_STRINGS:
        try:
            return pd.array(pa.array(values, type=pa.large_string()), dtype="string")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return pd.array(values, dtype="string")


def _integers(values: list, dtype: str, lost: list[int]) -> pd.api.extensions.ExtensionArray:
    """A nullable integer column: through pyarrow and numpy when every value is an int
    (or None) that fits ``dtype``, else value by value, a value ``dtype`` cannot hold read as
    NA and its place added to ``lost``.

    >>> lost = []
    >>> list(_integers([4, None], "Int8", lost)), list(_integers([4, 300], "Int8", lost)), lost
    ([np.int8(4), <NA>], [np.int8(4), <NA>], [1])
    """
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        array = None
    if array is not None and (pa.types.is_integer(array.type) or pa.types.is_null(array.type)):
        numbers = np.asarray(array.cast(pa.int64()).fill_null(0))
        kind = np.dtype(dtype.lower())
        limits = np.iinfo(kind)
        if not len(numbers) or (numbers.min() >= limits.min and numbers.max() <= limits.max):
            mask = np.asarray(array.is_null()) if array.null_count else np.zeros(len(numbers), bool)
            return pd.arrays.IntegerArray(numbers.astype(kind), mask)
    fitted, places = fit_integers(values, dtype)
    lost.extend(places)
    return pd.array(fitted, dtype=dtype)


def empty_events_frame(report: Any = None) -> pd.DataFrame:
    """The events frame with no rows, all columns typed."""
    return events_frame([], report)
