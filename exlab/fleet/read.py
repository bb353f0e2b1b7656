"""Frames read back from the store, as the readers gave them, and a Case built from them.

``read_frame(store, "events")`` is the events frame of every batch in order of ingest,
each batch's rows in the reader's order, with the reader's columns and dtypes and the
batches' parse reports in ``attrs["parse_report"]``. :func:`open_store` builds the
:class:`exlab.case.Case` of the whole store the way :func:`exlab.open_case` builds one
from a folder (events exported twice kept once, servers attributed across all the
evidence), so ``investigate`` and ``report`` answer per server as on the folders.

>>> import tempfile
>>> read_frame(Store.create(tempfile.mkdtemp()), "events") is None
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from exlab.errors import NoEvidence
from exlab.fleet.store import Store, StoreError, damaged_part
from exlab.parse_report import ParseReport
from exlab.settings import CaseSettings, read_settings


def read_frame(store: Store | str | os.PathLike, kind: str, *, columns: list[str] | None = None) -> pd.DataFrame | None:
    """Frame ``kind`` as stored (None when no batch holds rows of it); ``columns`` limits the
    reader's columns read."""
    import pyarrow as pa

    from exlab.fleet.columns import from_arrow

    store = store if isinstance(store, Store) else Store.open(store)
    frames = []
    reports = ParseReport()
    for entry in store.entries():
        if entry.kind != kind or not entry.parts:
            continue
        dtypes = {k: v for k, v in entry.dtypes.items() if columns is None or k in columns}
        try:
            tables = [_table(store.root / part, [*dtypes, "batch_row"]) for part in entry.parts
                      if part.startswith(f"{kind}/")]
        except StoreError as err:       # one damaged file leaves its batch out, never the store
            store.leave_out(entry, err)
            continue
        table = pa.concat_tables(tables).sort_by("batch_row")
        frames.append(from_arrow(table, dtypes))
        reports = reports.extend([entry.parse_report()])
    if not frames:
        return None
    for name in frames[0].columns:      # times of batches in several units (an all-NaT column is in s): ns
        kinds = {str(f[name].dtype) for f in frames if name in f}
        if len(kinds) > 1 and all(k.startswith("datetime64") for k in kinds):
            frames = [f.assign(**{name: f[name].astype("datetime64[ns, UTC]")}) for f in frames]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs["parse_report"] = reports
    return frame


def store_rows(store: Store | str | os.PathLike) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per frame the store holds (``stored``: what SQL's views count), and how many of them
    :func:`open_store` answers with (``distinct``: an event exported twice, in overlapping or
    repeated exports, once, as :func:`exlab.case.dedupe_events` keeps it). Only the columns that
    tell copies apart are read.

    >>> import tempfile
    >>> store_rows(Store.create(tempfile.mkdtemp()))
    ({}, {})
    """
    from exlab.case import DEDUPE_COLUMNS, dedupe_events

    store = store if isinstance(store, Store) else Store.open(store)
    stored: dict[str, int] = {}
    for entry in store.entries():
        if entry.parts:
            stored[entry.kind] = stored.get(entry.kind, 0) + entry.rows
    distinct = dict(stored)
    if "events" in stored:
        distinct["events"] = len(dedupe_events(read_frame(store, "events", columns=DEDUPE_COLUMNS)))
    return dict(sorted(stored.items())), dict(sorted(distinct.items()))


def _table(path: Path, columns: list[str]) -> Any:
    """One Parquet file of the store, or a StoreError naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as err:
        raise damaged_part(path, err) from None


def open_store(store: str | os.PathLike, *, server_fqdn: str | None = None, connector: str | None = None,
               roots: Any = None, tz: str | None = None, written: CaseSettings | None = None) -> Any:
    """The case of every evidence file in the store (see the module's docstring); ``written``:
    the store folder's settings as :func:`exlab.open_case` read them (read here when None).

    >>> import tempfile
    >>> try:
    ...     open_store(Store.create(tempfile.mkdtemp()).root)
    ... except NoEvidence as err:
    ...     print(err.problem)
    expected evidence ingested with exlab fleet ingest (no batch holds rows)
    """
    from exlab.case import assemble_case, case_own_files, dedupe_events, evidence_kinds

    opened = Store.open(store)
    frames: dict[str, pd.DataFrame] = {}
    for kind in evidence_kinds():
        frame = read_frame(opened, kind.name)
        if frame is None:
            continue
        if kind.name == "events":
            frame = dedupe_events(frame)
        if kind.name == "sessions":     # read_protocol_log's order across folders
            order = frame.sort_values(["start", "direction", "session_id"], key=_send_first, kind="stable").index
            ordered = frame.loc[order].reset_index(drop=True)
            ordered.attrs = frame.attrs
            frame = ordered
        frames[kind.name] = frame
    if not frames:
        raise NoEvidence(str(store), None, "evidence ingested with exlab fleet ingest", "no batch holds rows")
    unread = [row for entry in opened.entries() for row in entry.unread]
    unread += [{"file": Path(path).relative_to(opened.root).as_posix(),
                "reason": f"a batch entry of the store, left out with its batch ({_where(err)}{err.problem})"}
               for path, err in opened.left_out.items()]
    written = read_settings(store) if written is None else written
    trusted = case_own_files(Path(store), roots, written).report     # the trust anchors given, hashed among the inputs
    return assemble_case(Path(store), frames, unread, trusted, name_in_case=str, server_fqdn=server_fqdn,
                         connector=connector, roots=roots, tz=tz)


def _where(err: StoreError) -> str:
    """The place an error names in its file, to go before its problem (the file is named apart)."""
    return f"{err.where}: " if err.where else ""


def _send_first(column: pd.Series) -> pd.Series:
    return column.ne("send") if column.name == "direction" else column
