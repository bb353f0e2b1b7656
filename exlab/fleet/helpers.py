"""Ready-made questions about the incident across servers, on a store (DuckDB) or a Case (pandas).

Each helper takes the store's folder (answered in SQL over its Parquet files, see
:mod:`exlab.fleet.sql`) or a :class:`exlab.case.Case` (answered with pandas over its
frames), and gives the same frame either way:

* :func:`failures_per_hour`: refused deliveries per server and hour (UTC) the events log
  (event 2004 and its kin, ``exlab.transport.tls_failures``);
* :func:`certificates_presented`: the certificate each server presented to the remote end of
  its outbound SMTP sessions (protocol log), first and last seen, and the one it replaced;
* :func:`failure_spans`: first and last failure per server and send connector.

An event exported twice (an .evtx and a CSV of the same log) counts once: failures are
told apart by server, provider, event id, time to the second, connector and message id.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

FAILURE_KEY = ["server", "provider", "event_id", "second", "connector", "message_id"]


def _is_case(source: Any) -> bool:
    return hasattr(source, "frames") and hasattr(source, "diagnose_servers")


def _distinct_failures_sql() -> str:
    return ("(SELECT server, provider, event_id, date_trunc('second', time_created) AS second, connector, "
            "message_id, max(time_created) AS time_created FROM failures GROUP BY ALL)")


def case_failures(case: Any) -> pd.DataFrame:
    """The case's failures (``case.failures``) with the ``server`` of each, told apart once
    (see the module's docstring; of copies, the time of the most precise: a CSV export's time has no
    fraction), with ``second`` (the time to the second)."""
    from exlab.attribution import attribute_servers

    context = {k: case.frames[k] for k in ("servers", "connectors") if k in case.frames}
    failures = attribute_servers({**context, "events": case.failures})["events"]
    failures = failures.assign(second=failures["time_created"].dt.floor("s"))
    return failures.sort_values("time_created", kind="stable").drop_duplicates(FAILURE_KEY, keep="last")


def _finish(frame: pd.DataFrame, times: list[str], counts: list[str], keys: list[str]) -> pd.DataFrame:
    """One shape for both answers: times in UTC (ns), counts Int64, text as string, sorted."""
    out = frame.copy()
    for name in times:
        out[name] = pd.to_datetime(out[name], utc=True).astype("datetime64[ns, UTC]")
    for name in counts:
        out[name] = out[name].astype("Int64")
    for name in out.columns.difference([*times, *counts]):
        out[name] = out[name].astype("string")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def failures_per_hour(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, hour (UTC), failures: deliveries refused per server and hour.

    >>> import tempfile
    >>> from exlab.fleet.store import Store
    >>> failures_per_hour(Store.create(tempfile.mkdtemp()).root).columns.tolist()
    ['server', 'hour', 'failures']
    """
    if _is_case(source):
        failures = case_failures(source)
        frame = (failures.assign(hour=failures["second"].dt.floor("h")).groupby(["server", "hour"], dropna=False)
                 .size().rename("failures").reset_index())
    else:
        frame = _sql(source, "failures", f"SELECT server, date_trunc('hour', second) AS hour, count(*) AS failures "
                     f"FROM {_distinct_failures_sql()} GROUP BY ALL", ["server", "hour", "failures"])
    return _finish(frame, ["hour"], ["failures"], ["server", "hour"])


def failure_spans(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, connector, first_failure, last_failure, failures: when each server's refusals
    through each connector began and ended."""
    columns = ["server", "connector", "first_failure", "last_failure", "failures"]
    if _is_case(source):
        frame = (case_failures(source).groupby(["server", "connector"], dropna=False)["time_created"]
                 .agg(first_failure="min", last_failure="max", failures="size").reset_index())
    else:
        frame = _sql(source, "failures", "SELECT server, connector, min(time_created) AS first_failure, "
                     "max(time_created) AS last_failure, count(*) AS failures "
                     f"FROM {_distinct_failures_sql()} GROUP BY ALL", columns)
    return _finish(frame, ["first_failure", "last_failure"], ["failures"], ["server", "connector"])


def certificates_presented(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, cert_thumbprint, cert_subject, cert_issuer, first_seen, last_seen, sessions,
    replaced: each certificate a server presented in its outbound sessions (SMTP send protocol
    log), in the order it began to, and the thumbprint it replaced (NA for the first)."""
    keys = ["server", "cert_thumbprint", "cert_subject", "cert_issuer"]
    if _is_case(source):
        sessions = source.sessions
        if sessions is None:
            sessions = pd.DataFrame({k: pd.Series(dtype="string") for k in [*keys, "direction"]}
                                    | {"start": pd.Series(dtype="datetime64[ns, UTC]")})
        sent = sessions[sessions["direction"].eq("send").fillna(False).astype(bool) & sessions["cert_thumbprint"].notna()]
        frame = (sent.groupby(keys, dropna=False)["start"].agg(first_seen="min", last_seen="max", sessions="size")
                 .reset_index().sort_values(["server", "first_seen"], kind="stable"))
        frame["replaced"] = frame.groupby("server", dropna=False)["cert_thumbprint"].shift(1)
    else:
        frame = _sql(source, "sessions", f"SELECT {', '.join(keys)}, min(start) AS first_seen, max(start) AS last_seen, "
                     "count(*) AS sessions FROM sessions WHERE direction = 'send' AND cert_thumbprint IS NOT NULL "
                     "GROUP BY ALL", [*keys, "first_seen", "last_seen", "sessions"])
        frame = frame.sort_values(["server", "first_seen"], kind="stable")
        frame["replaced"] = frame.groupby("server", dropna=False)["cert_thumbprint"].shift(1)
    return _finish(frame, ["first_seen", "last_seen"], ["sessions"], ["server", "first_seen"])


def _sql(store: str | os.PathLike, view: str, sql: str, columns: list[str]) -> pd.DataFrame:
    """``sql`` over the store; no rows (with ``columns``) when the store holds no ``view``."""
    from exlab.fleet.sql import query
    from exlab.fleet.store import Store

    opened = Store.open(store)
    if view not in opened.kinds():
        return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
    return query(opened, sql)
