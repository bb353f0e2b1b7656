"""Reading one cell of an evidence frame, where a missing value may be None, NA, NaN or NaT.

>>> import pandas as pd
>>> present(pd.NA) is None, present(("IIS", "SMTP"))
(True, ('IIS', 'SMTP'))
>>> cell({"fqdn": pd.NA}, "fqdn") is None, cell(pd.Series({"name": "EX01"}), "name")
(True, 'EX01')
>>> column(pd.DataFrame({"fqdn": pd.array(["a", None], dtype="string")}), "fqdn").tolist()
['a', None]
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def present(value: Any) -> Any:
    """The value, or None for a missing one (None, NA, NaN, NaT); tuples and lists kept."""
    if value is None or (not isinstance(value, (tuple, list)) and pd.isna(value)):
        return None
    return value


def cell(row: Any, name: str) -> Any:
    """Column ``name`` of a row (a dict, a Series, or an ``itertuples`` tuple) via :func:`present`."""
    return present(row.get(name) if isinstance(row, (dict, pd.Series)) else getattr(row, name, None))


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` as objects, None where missing (None throughout when the frame lacks it):
    :func:`cell` for a whole column at once."""
    if name not in frame:
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")
    values = frame[name].astype("object")
    return values.where(values.notna(), None)
