"""How a frame's columns are held in Parquet, and read back as the reader gave them.

Each pandas dtype of the frame contracts has one Arrow type: ``string`` as UTF-8, the
nullable integers and booleans as themselves (NA as null), times as UTC nanoseconds.
Object columns hold tuples of text (``dns_names``, ``replies``...) as lists of text, with
three exceptions by name: ``data`` (events, a dict of Data values) as a map of text,
``notes`` (sessions, ``(time, text)`` pairs) as a list of structs, ``der`` as binary.
The schema depends on the dtypes only, never on the values, so every file of a frame
has the same schema (an all-NA column included).

>>> import pandas as pd
>>> frame = pd.DataFrame({"name": pd.array(["a", None], dtype="string"),
...                       "names": [("x", "y"), ()], "data": [{"%1": "v"}, None]})
>>> back = from_arrow(to_arrow(frame), dtypes_of(frame))
>>> back.equals(frame), back.loc[0, "names"], back.loc[0, "data"]
(True, ('x', 'y'), {'%1': 'v'})
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

NOTE = pa.struct([("time", pa.timestamp("ns", tz="UTC")), ("text", pa.string())])
# object columns that are not tuples of text, by name
OBJECT_TYPES = {"data": pa.map_(pa.string(), pa.string()), "notes": pa.list_(NOTE), "der": pa.binary()}
SCALAR_TYPES = {
    "string": pa.string(), "Int8": pa.int8(), "Int16": pa.int16(), "Int32": pa.int32(), "Int64": pa.int64(),
    "boolean": pa.bool_(), "float64": pa.float64(),
    "int64": pa.int64(), "bool": pa.bool_(),
}
PANDAS_TYPES = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(), pa.int8(): pd.Int8Dtype(),
                pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
                pa.bool_(): pd.BooleanDtype()}


def dtypes_of(frame: pd.DataFrame) -> dict[str, str]:
    """The frame's dtypes by name (what :func:`from_arrow` restores).

    >>> dtypes_of(pd.DataFrame({"n": pd.array([1], dtype="Int32")}))
    {'n': 'Int32'}
    """
    return {str(name): str(dtype) for name, dtype in frame.dtypes.items()}


def arrow_type(name: str, dtype: str) -> pa.DataType:
    """The Arrow type of one column (see the module's docstring).

    >>> arrow_type("services", "object"), arrow_type("start", "datetime64[ns, UTC]")
    (ListType(list<item: string>), TimestampType(timestamp[ns, tz=UTC]))
    """
    if dtype == "object":
        return OBJECT_TYPES.get(name, pa.list_(pa.string()))
    if dtype.startswith("datetime64[") and dtype.endswith(", UTC]"):     # any unit the reader left
        return pa.timestamp(dtype[len("datetime64["):-len(", UTC]")], tz="UTC")
    if dtype not in SCALAR_TYPES:
        raise TypeError(f"column {name!r}: no Parquet type for dtype {dtype}")
    return SCALAR_TYPES[dtype]


def schema_of(dtypes: dict[str, str]) -> pa.Schema:
    """The Arrow schema of a frame with these dtypes.

    >>> schema_of({"thumbprint": "string", "der": "object"}).names
    ['thumbprint', 'der']
    """
    return pa.schema([pa.field(name, arrow_type(name, dtype)) for name, dtype in dtypes.items()])


def _object_array(name: str, values: pd.Series, kind: pa.DataType) -> pa.Array:
    """One object column as Arrow takes it (anything but a dict, a tuple or bytes is null)."""
    if name == "data":
        cells = [list(v.items()) if isinstance(v, dict) else None for v in values]
    elif name == "notes":
        cells = [[{"time": when, "text": text} for when, text in v] if isinstance(v, (tuple, list)) else None
                 for v in values]
    elif name == "der":
        cells = [bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else None for v in values]
    else:
        cells = [v if isinstance(v, (tuple, list)) else None for v in values]
        try:
            return pa.array(cells, type=kind)
        except (pa.ArrowTypeError, pa.ArrowInvalid):     # items that are not text: as their text
            cells = [None if v is None else [None if item is None else str(item) for item in v] for v in cells]
    return pa.array(cells, type=kind)


def to_arrow(frame: pd.DataFrame, dtypes: dict[str, str] | None = None) -> pa.Table:
    """The frame as an Arrow table of :func:`schema_of` its dtypes (no index).

    >>> to_arrow(pd.DataFrame({"notes": [((pd.Timestamp(0, tz="UTC"), "TLS failed"),)]})).column("notes")[0]
    <pyarrow.ListScalar: [{'time': Timestamp('1970-01-01 00:00:00+0000', tz='UTC'), 'text': 'TLS failed'}]>
    """
    dtypes = dtypes or dtypes_of(frame)
    schema = schema_of(dtypes)
    arrays = []
    for field_ in schema:
        column = frame[field_.name]
        if dtypes[field_.name] == "object":
            arrays.append(_object_array(field_.name, column, field_.type))
        else:
            arrays.append(pa.Array.from_pandas(column, type=field_.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _back(name: str, value: Any) -> Any:
    """One object cell as the reader gave it."""
    if value is None:
        return None
    if name == "data":
        return dict(value)
    if name == "notes":
        return tuple((pd.Timestamp(note["time"]), note["text"]) for note in value)
    if name == "der":
        return value
    return tuple(value)


def from_arrow(table: pa.Table, dtypes: dict[str, str]) -> pd.DataFrame:
    """An Arrow table read back into a frame with ``dtypes`` (tuples, dicts, nullable types).

    >>> from_arrow(pa.table({"code": pa.array([454, None], pa.int32())}), {"code": "Int32"})["code"].tolist()
    [454, <NA>]
    """
    frame = table.select(list(dtypes)).to_pandas(types_mapper=PANDAS_TYPES.get)
    for name, dtype in dtypes.items():
        if dtype == "object":
            frame[name] = pd.Series([_back(name, v) for v in frame[name]], index=frame.index, dtype="object")
        elif str(frame[name].dtype) != dtype:
            frame[name] = frame[name].astype(dtype)
    return frame
