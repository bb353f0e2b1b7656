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
from exlab.fleet.store import SOURCE, Entry, Store, StoreError, damaged_part
from exlab.parse_report import ParseReport
from exlab.settings import CaseSettings, read_settings


def read_frame(store: Store | str | os.PathLike, kind: str, *, columns: list[str] | None = None,
               batch: bool = False) -> pd.DataFrame | None:
    """Frame ``kind`` as stored (None when no batch of it was read); ``columns`` limits the
    reader's columns read, ``batch`` adds the store's ``batch`` column. A batch whose files the reader
    read to no row (an .evtx of bad chunks only) adds no row, and its parse report, losses counted,
    as a direct read does."""
    store = store if isinstance(store, Store) else Store.open(store)
    frames = []
    reports = ParseReport()
    for entry in store.entries():
        if entry.kind != kind or not entry.dtypes:       # no dtypes: its reader refused every file
            continue
        try:
            frame = batch_rows(store, entry, {k: v for k, v in entry.dtypes.items() if columns is None or k in columns}
                               | ({"batch": "string"} if batch else {}))
        except StoreError as err:       # one damaged file leaves its batch out, never the store
            store.leave_out(entry, err)
            continue
        frames.append(frame)
        reports = reports.extend([entry.parse_report()])
    if not frames:
        return None
    frames = [f for f in frames if len(f)] or frames[:1]
    for name in frames[0].columns:      # times of batches in several units (an all-NaT column is in s): ns
        kinds = {str(f[name].dtype) for f in frames if name in f}
        if len(kinds) > 1 and all(k.startswith("datetime64") for k in kinds):
            frames = [f.assign(**{name: f[name].astype("datetime64[ns, UTC]")}) for f in frames]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs["parse_report"] = reports
    return frame


def batch_rows(store: Store, entry: Entry, dtypes: dict[str, str]) -> pd.DataFrame:
    """The rows of ``entry``'s own frame, in the reader's order, with columns ``dtypes`` (the reader's,
    or the store's ``server`` too); a StoreError naming a Parquet file that cannot be read.

    >>> import tempfile
    >>> empty = Entry("ab" * 32, "events", "events:EX01/a.evtx", 1, [], [], [], 0, dtypes={"event_id": "Int32"})
    >>> batch_rows(Store.create(tempfile.mkdtemp()), empty, empty.dtypes).dtypes.to_dict()
    {'event_id': Int32Dtype()}
    """
    import pyarrow as pa

    from exlab.fleet.columns import from_arrow, schema_of

    tables = [_table(store.root / part, [*dtypes, "batch_row"]) for part in entry.parts
              if part.startswith(f"{entry.kind}/")]
    table = pa.concat_tables(tables).sort_by("batch_row") if tables else schema_of(dtypes).empty_table()
    return from_arrow(table, dtypes)


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
        frame = read_frame(opened, kind.name, batch=kind.name == "certs")
        if frame is None:
            continue
        if kind.name == "events":
            frame = dedupe_events(frame)
        if kind.name == "certs":
            frame = merge_certs(frame)
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
    # the zips and settings files of the sources, then the trust anchors given: the inputs besides the frames' files
    reports = ParseReport().extend(entry.parse_report() for entry in opened.entries() if entry.kind == SOURCE)
    reports = reports.extend([case_own_files(Path(store), roots, written).report])
    return assemble_case(Path(store), frames, unread, reports, name_in_case=str, server_fqdn=server_fqdn,
                         connector=connector, roots=roots, tz=tz)


def merge_certs(certs: pd.DataFrame) -> pd.DataFrame:
    """The certificates of the store's batches (``batch``: the batch of each row) merged as one read of
    all their files merges them (:func:`exlab.certs.merge.merge_rows`, once the dates a batch left unsettled
    in the hour the clocks go back over are settled by the others: :func:`exlab.certs.repeated_hour.settle_later`):
    a certificate that several sources' exports list (the servers' folders or zips ingested apart) is one
    row, or a row per server store that binds it otherwise, where the first row of it was; a date settled
    only now is told so in its file's report (:func:`exlab.certs.repeated_hour.retell`); a disagreement
    found only now is noted in the report of the file that says otherwise (the first file its row lists,
    found among the report's files by name, whatever the name holds). Rows of a certificate in one batch
    alone stay as its read merged them.

    >>> from exlab.certs.schema import certs_frame
    >>> rows = [{"thumbprint": "AB" * 20, "services": ("IIS", "SMTP"), "source": f"EX0{n}/fl.txt"} for n in (1, 2)]
    >>> merge_certs(certs_frame(rows).assign(batch=["1", "2"]))["source"].tolist()
    ['EX01/fl.txt; EX02/fl.txt']
    """
    from exlab.attribution import source_files
    from exlab.certs.merge import merge_rows
    from exlab.certs.repeated_hour import retell, settle_later, with_later_readings
    from exlab.certs.schema import certs_frame

    spread = (certs.groupby("thumbprint", dropna=False)["batch"].transform("nunique") > 1).to_numpy()
    read = certs.drop(columns="batch")
    read.attrs = certs.attrs
    if not spread.any():
        return read
    report = read.attrs.get("parse_report", ParseReport())
    by_name = {file.file: file for file in report.files}
    listed = source_files(by_name)
    rows = [{name: _cell(value) for name, value in row.items()} for row in read.to_dict("records")]
    settled, told = settle_later([{**row, "_file": listed(row["source"] or "")[0] or None}
                                  for row, again in zip(rows, spread) if again])
    retell([item._replace(source=file) for item in told for file in listed(item.source)], by_name)
    merged, notes = merge_rows(settled)
    groups: dict[str, list[dict]] = {}
    for row in merged:
        groups.setdefault(row["thumbprint"], []).append(row)
    out = [one for row, again in zip(rows, spread) for one in (groups.pop(row["thumbprint"], []) if again else [row])]
    for file, note in notes:      # a certificate several exports list is noted against the first of them
        if file in by_name:
            by_name[file].note(f"conflict: {note}")
    frame = with_later_readings(certs_frame(out), out)[list(read.columns)]
    frame.attrs = read.attrs
    return frame


def _cell(value: Any) -> Any:
    """A frame's cell as a reader's row holds it: None for NA."""
    return None if not isinstance(value, (tuple, list, dict, bytes)) and pd.isna(value) else value


def _where(err: StoreError) -> str:
    """The place an error names in its file, to go before its problem (the file is named apart)."""
    return f"{err.where}: " if err.where else ""


def _send_first(column: pd.Series) -> pd.Series:
    return column.ne("send") if column.name == "direction" else column
