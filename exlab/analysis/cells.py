"""Reading one cell of an evidence frame, where a missing value may be None, NA, NaN or NaT.

A value comes back as a plain Python value: a numpy boolean (what ``frame.iloc[0]["flag"]`` of a
``boolean`` column holds) becomes ``True`` or ``False``, so ``cell(row, "flag") is True`` means
what it says; a numpy ``False`` compared with ``is`` would read as neither.

>>> import numpy as np
>>> import pandas as pd
>>> present(pd.NA) is None, present(("IIS", "SMTP")), present(np.bool_(False)) is False
(True, ('IIS', 'SMTP'), True)
>>> cell({"fqdn": pd.NA}, "fqdn") is None, cell(pd.Series({"name": "EX01"}), "name")
(True, 'EX01')
>>> column(pd.DataFrame({"fqdn": pd.array(["a", None], dtype="string")}), "fqdn").tolist()
['a', None]
>>> frame = pd.DataFrame({"trusted": pd.array([False], dtype="boolean")})
>>> frame.iloc[0]["trusted"] is False, cell(frame.iloc[0], "trusted") is False
(False, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def present(value: Any) -> Any:
    """The value as a plain Python value, or None for a missing one (None, NA, NaN, NaT);
    tuples and lists kept, numpy scalars (booleans, integers, floats) made Python's own."""
    if value is None or (not isinstance(value, (tuple, list)) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, (np.bool_, np.integer, np.floating)) else value


def cell(row: Any, name: str) -> Any:
    """Column ``name`` of a row (a dict, a Series, or an ``itertuples`` tuple) via :func:`present`."""
    return present(row.get(name) if isinstance(row, (dict, pd.Series)) else getattr(row, name, None))


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` as objects, None where missing (None throughout when the frame lacks it):
    :func:`cell` for a whole column at once."""
    if name not in frame:
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")
    values = frame[name]      # one conversion (astype, then where: a third of the time on a small frame)
    return pd.Series(values.to_numpy(dtype=object, na_value=None), index=values.index, name=values.name, dtype="object")


def event_place(row: Any) -> str | None:
    """Where an event sits in its export: its record id, else the line a text export without
    record ids (Event Viewer CSV/TXT) has it on; None when neither is known.

    >>> event_place({"record_id": 771190, "line": None}), event_place({"record_id": pd.NA, "line": 17})
    ('record 771190', 'line 17')
    """
    record, line = cell(row, "record_id"), cell(row, "line")
    return f"record {record}" if record is not None else f"line {line}" if line is not None else None
