"""Many servers, months of logs: a Parquet evidence store, DuckDB queries, Dask when one machine is not enough.

``ingest(sources, store)`` reads evidence folders or zips into the store (:mod:`exlab.fleet.store`),
in this process, a local cluster (``workers=N``) or a Dask cluster (``client=``);
``query(store, sql)`` answers SQL over it (:mod:`exlab.fleet.sql`); the helpers
(:mod:`exlab.fleet.helpers`) answer the incident's questions across servers;
``exlab.open_case(store)`` is the Case of the whole store. DuckDB and Dask are imported
when first used.

>>> import exlab.fleet
>>> callable(exlab.fleet.ingest), callable(exlab.fleet.query)
(True, True)
"""

from __future__ import annotations

from exlab.fleet.helpers import certificates_presented, failure_spans, failures_per_hour
from exlab.fleet.ingestion import IngestIncomplete, IngestResult, ingest
from exlab.fleet.read import open_store, read_frame
from exlab.fleet.sql import query
from exlab.fleet.store import Store, StoreError, is_store

__all__ = [
    "IngestIncomplete",
    "IngestResult",
    "Store",
    "StoreError",
    "certificates_presented",
    "failure_spans",
    "failures_per_hour",
    "ingest",
    "is_store",
    "open_store",
    "query",
    "read_frame",
]
