"""Many servers, months of logs: a Parquet evidence store, DuckDB queries, Dask when one machine is not enough.

``ingest(sources, store)`` reads evidence folders or zips into the store (:mod:`exlab.fleet.store`),
in this process, a local cluster (``workers=N``) or a Dask cluster (``client=``);
``query(store, sql)`` answers SQL over it (:mod:`exlab.fleet.sql`); the helpers
(:mod:`exlab.fleet.helpers`) answer the incident's questions across servers;
``exlab.open_case(store)`` is the Case of the whole store. Each name loads on first use
(DuckDB and Dask only when a query or a cluster needs them).

>>> import exlab.fleet
>>> callable(exlab.fleet.ingest), callable(exlab.fleet.query)
(True, True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_LAZY = {
    "IngestIncomplete": "exlab.fleet.ingestion",
    "IngestResult": "exlab.fleet.ingestion",
    "ingest": "exlab.fleet.ingestion",
    "query": "exlab.fleet.sql",
    "open_store": "exlab.fleet.read",
    "read_frame": "exlab.fleet.read",
    "Store": "exlab.fleet.store",
    "StoreError": "exlab.fleet.store",
    "is_store": "exlab.fleet.store",
    "certificates_presented": "exlab.fleet.helpers",
    "failed_attempts": "exlab.fleet.helpers",
    "failure_spans": "exlab.fleet.helpers",
    "failures_per_hour": "exlab.fleet.helpers",
}

if TYPE_CHECKING:
    from exlab.fleet.helpers import (
        certificates_presented,
        failed_attempts,
        failure_spans,
        failures_per_hour,
    )
    from exlab.fleet.ingestion import IngestIncomplete, IngestResult, ingest
    from exlab.fleet.read import open_store, read_frame
    from exlab.fleet.sql import query
    from exlab.fleet.store import Store, StoreError, is_store


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'exlab.fleet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "IngestIncomplete",
    "IngestResult",
    "Store",
    "StoreError",
    "certificates_presented",
    "failed_attempts",
    "failure_spans",
    "failures_per_hour",
    "ingest",
    "is_store",
    "open_store",
    "query",
    "read_frame",
]
