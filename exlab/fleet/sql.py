"""SQL over the evidence store with DuckDB: ``exlab.fleet.query(store, sql)``.

Each frame of the store is a view under its name (``events``, ``certs``, ``sessions``,
``tracking``, ``queues``, ``connectors``, ``receive_connectors``, ``servers``, ``failures``) over the
Parquet files the manifest names (never a file a crashed task left); ``inputs`` lists every
evidence file with its SHA-256 and what its parse report counted. Every view has the
reader's columns plus ``batch``, ``batch_row``, ``server`` (as the whole store tells it:
:func:`exlab.fleet.ingestion.settle_servers`) and, where rows have a time, ``day``. A view
holds the rows of each export as read: an event exported twice is there twice, a certificate
that two sources' exports list is a row per source (:func:`exlab.open_case` keeps each once).
The store is read in place and read-only: only queries (``SELECT``, ``WITH``...) run, DuckDB
may read no file outside the store and writes none anywhere (a query too big for memory
fails rather than spill into the working folder, which may be the evidence).

>>> import tempfile
>>> from exlab.fleet.store import Store
>>> store = Store.create(tempfile.mkdtemp())
>>> query(store.root, "SELECT 42 AS answer")["answer"].tolist()
[42]
>>> query(store.root, "COPY (SELECT 1) TO 'x.csv'")  # doctest: +ELLIPSIS
Traceback (most recent call last):
exlab.fleet.store.StoreError: ...: expected one query (SELECT ...) over the store's views (COPY is not a query)
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from exlab.fleet.store import Entry, Store, StoreError, damaged_part

FRAMES = ("events", "certs", "sessions", "tracking", "queues", "connectors", "receive_connectors", "servers",
          "failures")


def connect(store: str | os.PathLike | Store) -> Any:
    """A DuckDB connection (in memory) with the store's frames as views; it reads only the store."""
    import duckdb

    opened = store if isinstance(store, Store) else Store.open(store)
    root = str(opened.root.resolve())
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "temp_directory": ""})     # no spilling: in-memory DuckDB spills into ./.tmp
    con.execute("SET allowed_directories = ?", [[root]])
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_external_access = false")
    entries = opened.entries()
    for kind in FRAMES:
        while parts := [str((opened.root / part).resolve()) for entry in entries for part in entry.parts
                        if part.startswith(f"{kind}/")]:
            files = ", ".join("'" + part.replace("'", "''") + "'" for part in parts)
            try:
                con.execute(f"CREATE VIEW {kind} AS SELECT * FROM read_parquet([{files}], union_by_name = true, "
                            "hive_partitioning = false)")
                break
            except duckdb.Error as err:
                damaged = _damaged(opened, entries, kind)
                if not damaged:
                    con.close()
                    raise StoreError(str(opened.root / kind), "the query", f"the {kind} frame's Parquet files",
                                     str(err).splitlines()[0]) from None
                entries = [entry for entry in entries if entry.batch not in damaged]
    con.register("inputs", inputs(entries))
    con.execute("SET lock_configuration = true")
    return con


def _damaged(store: Store, entries: list[Entry], kind: str) -> set[str]:
    """The batches of ``entries`` with a Parquet file of ``kind`` whose footer cannot be read (a file
    cut short or overwritten), each left out of the store's reads with a warning (:meth:`Store.leave_out`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    damaged = set()
    for entry in entries:
        for part in (p for p in entry.parts if p.startswith(f"{kind}/")):
            try:
                pq.read_metadata(store.root / part)
            except (OSError, pa.ArrowException) as err:
                store.leave_out(entry, damaged_part(store.root / part, err))
                damaged.add(entry.batch)
                break
    return damaged


def inputs(entries: list[Entry]) -> pd.DataFrame:
    """The ``inputs`` view: every evidence file of the store's ``entries`` with its SHA-256 and its parse
    report's counts (batch, kind, source, file, sha256, size, format, records_read,
    records_skipped, chunks_skipped, warnings).

    >>> import tempfile
    >>> inputs(Store.create(tempfile.mkdtemp()).entries()).columns.tolist()[:5]
    ['batch', 'kind', 'source', 'file', 'sha256']
    """
    rows = []
    for entry in entries:
        reports = {f.file: f for f in entry.parse_report().files}
        for given in entry.inputs:
            report = reports.get(given["file"])
            rows.append({"batch": entry.batch, "kind": entry.kind, "source": entry.source, "file": given["file"],
                         "sha256": given["sha256"], "size": given["size"],
                         "format": report.format if report else None,
                         "records_read": report.records_read if report else None,
                         "records_skipped": report.records_skipped if report else None,
                         "chunks_skipped": report.chunks_skipped if report else None,
                         "warnings": len(report.warnings) if report else None})
    columns = ["batch", "kind", "source", "file", "sha256", "size", "format", "records_read", "records_skipped",
               "chunks_skipped", "warnings"]
    return pd.DataFrame(rows, columns=columns).astype({"size": "Int64", "records_read": "Int64",
                                                       "records_skipped": "Int64", "chunks_skipped": "Int64",
                                                       "warnings": "Int64"})


def query(store: str | os.PathLike | Store, sql: str, *, params: list | None = None) -> pd.DataFrame:
    """The result of one SQL query over the store, as a pandas frame (``params`` fill ``?``)."""
    import duckdb

    con = connect(store)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as err:
            raise StoreError(_name(store), "the query", "SQL DuckDB understands", str(err)) from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            kind = statements[0].type.name if len(statements) == 1 else f"{len(statements)} statements"
            raise StoreError(_name(store), "the query", "one query (SELECT ...) over the store's views",
                             f"{kind} is not a query")
        try:
            return con.execute(sql, params or []).df()
        except duckdb.Error as err:
            raise StoreError(_name(store), "the query", "a query over the views " + ", ".join(_views(con)),
                             str(err).splitlines()[0]) from None
    finally:
        con.close()


def _views(con: Any) -> list[str]:
    return [row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]


def _name(store: str | os.PathLike | Store) -> str:
    return str(store.root if isinstance(store, Store) else store)
