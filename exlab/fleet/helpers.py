"""Ready-made questions about the incident across servers, on a store (DuckDB) or a Case (pandas).

Each helper takes the store's folder (its rows chosen in SQL over its Parquet files, see
:mod:`exlab.fleet.sql`) or a :class:`exlab.case.Case` (its frames), and gives the same frame either way:

* :func:`failed_attempts`: each refused delivery attempt, its server, connector and time;
* :func:`failures_per_hour`: refused delivery attempts per server and hour (UTC);
* :func:`certificates_presented`: the certificate each server presented to the remote end of
  its outbound SMTP sessions (protocol log), first and last seen, and the one it replaced;
* :func:`failure_spans`: first and last failure per server and send connector.

A failed attempt is counted as the timeline counts it (``exlab.analysis.timeline.preferred``): from
each server's best evidence, its events (event 2004 and its kin, ``exlab.transport.tls_failures``),
else its SMTP send protocol log's failed sessions, else its tracking log's DEFER and FAIL rows, else its
queues' last errors (Get-Queue); so a server whose event log was not collected still shows the failures
its logs hold. An event exported twice (an .evtx and a CSV of the same log) counts once: events are told
apart by server, provider, event id, time to the second, connector and message id.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

FAILURE_KEY = ["server", "provider", "event_id", "second", "connector", "message_id"]


def _is_case(source: Any) -> bool:
    return hasattr(source, "frames") and hasattr(source, "diagnose_servers")


def case_failures(case: Any) -> pd.DataFrame:
    """The case's failures (``case.failures``) with the ``server`` of each, told apart once
    (see the module's docstring; of copies, the time of the most precise: a CSV export's time has no
    fraction)."""
    from exlab.attribution import attribute_servers

    context = {k: case.frames[k] for k in ("servers", "connectors") if k in case.frames}
    return _distinct(attribute_servers({**context, "events": case.failures})["events"])


def _distinct(failures: pd.DataFrame) -> pd.DataFrame:
    """Each failure event once (:data:`FAILURE_KEY`), the copy with the most precise time kept."""
    keyed = failures.assign(second=failures["time_created"].dt.floor("s"))
    return keyed.sort_values("time_created", kind="stable").drop_duplicates(FAILURE_KEY, keep="last")


# the store's rows failure_points may count: its failure events, the send sessions that may have
# failed (a superset of ``session_failed``, which is applied again) and the DEFER and FAIL rows
_STORE_ROWS = {
    "failures": "SELECT * FROM failures",
    "sessions": "SELECT * FROM sessions WHERE direction IS DISTINCT FROM 'receive' AND "
                "(outcome IN ('rejected', 'tls-failed') OR TRY_CAST(reply_code AS INTEGER) >= 400)",
    "tracking": "SELECT * FROM tracking WHERE upper(event_id) IN ('DEFER', 'FAIL')",
    "queues": "SELECT * FROM queues",
}


def failed_attempts(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, connector, time, origin: each refused delivery attempt, from each server's best evidence
    (see the module's docstring), in time order.

    >>> import tempfile
    >>> from exlab.fleet.store import Store
    >>> failed_attempts(Store.create(tempfile.mkdtemp()).root).columns.tolist()
    ['server', 'connector', 'time', 'origin']
    """
    from exlab.analysis.timeline import failure_points
    from exlab.transport.protocol_log import send_sessions

    if _is_case(source):
        failures, sessions, tracking = case_failures(source), send_sessions(source.sessions), source.tracking
        queues = source.queues
    else:
        rows = {view: _rows(source, view, sql) for view, sql in _STORE_ROWS.items()}
        failures, sessions, tracking = rows["failures"], send_sessions(rows["sessions"]), rows["tracking"]
        queues = _with_connectors(source, rows["queues"])
        failures = None if failures is None else _distinct(failures)
    points = failure_points(failures=failures, sessions=sessions, tracking=tracking, queues=queues)
    return points[["server", "connector", "time", "origin"]]


def failures_per_hour(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, hour (UTC), failures: delivery attempts refused per server and hour.

    >>> import tempfile
    >>> from exlab.fleet.store import Store
    >>> failures_per_hour(Store.create(tempfile.mkdtemp()).root).columns.tolist()
    ['server', 'hour', 'failures']
    """
    attempts = failed_attempts(source)
    frame = (attempts.assign(hour=attempts["time"].dt.floor("h")).groupby(["server", "hour"], dropna=False)
             .size().rename("failures").reset_index())
    return _finish(frame, ["hour"], ["failures"], ["server", "hour"])


def failure_spans(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, connector, first_failure, last_failure, failures: when each server's refusals
    through each connector began and ended."""
    frame = (failed_attempts(source).groupby(["server", "connector"], dropna=False)["time"]
             .agg(first_failure="min", last_failure="max", failures="size").reset_index())
    return _finish(frame, ["first_failure", "last_failure"], ["failures"], ["server", "connector"])


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


def certificates_presented(source: str | os.PathLike | Any) -> pd.DataFrame:
    """server, cert_thumbprint, cert_subject, cert_issuer, first_seen, last_seen, sessions,
    replaced: each certificate a server presented in its outbound sessions (SMTP send protocol
    log; not in a hand-off to its own Front End Transport service, ``to_frontend``), in the order it
    began to, and the thumbprint it replaced (NA for the first)."""
    from exlab.transport.protocol_log import OUTBOUND_PROXY_PORT, send_sessions

    keys = ["server", "cert_thumbprint", "cert_subject", "cert_issuer"]
    if _is_case(source):
        sessions = source.sessions
        if sessions is None:
            sessions = pd.DataFrame({k: pd.Series(dtype="string") for k in [*keys, "direction"]}
                                    | {"start": pd.Series(dtype="datetime64[ns, UTC]")})
        sent = send_sessions(sessions[sessions["direction"].eq("send").fillna(False).astype(bool)])
        sent = sent[sent["cert_thumbprint"].notna()]
        frame = (sent.groupby(keys, dropna=False)["start"].agg(first_seen="min", last_seen="max", sessions="size")
                 .reset_index().sort_values(["server", "first_seen"], kind="stable"))
        frame["replaced"] = frame.groupby("server", dropna=False)["cert_thumbprint"].shift(1)
    else:
        frame = _sql(source, "sessions", f"SELECT {', '.join(keys)}, min(start) AS first_seen, max(start) AS last_seen, "
                     "count(*) AS sessions FROM sessions WHERE direction = 'send' AND cert_thumbprint IS NOT NULL "
                     f"AND coalesce(remote_endpoint, '') NOT LIKE '%:{OUTBOUND_PROXY_PORT}' GROUP BY ALL",
                     [*keys, "first_seen", "last_seen", "sessions"])
        frame = frame.sort_values(["server", "first_seen"], kind="stable")
        frame["replaced"] = frame.groupby("server", dropna=False)["cert_thumbprint"].shift(1)
    return _finish(frame, ["first_seen", "last_seen"], ["sessions"], ["server", "first_seen"])


def _sql(store: str | os.PathLike, view: str, sql: str, columns: list[str]) -> pd.DataFrame:
    """``sql`` over the store; no rows (with ``columns``) when the store holds no ``view``."""
    rows = _rows(store, view, sql)
    return pd.DataFrame({name: pd.Series(dtype="object") for name in columns}) if rows is None else rows


def _with_connectors(store: str | os.PathLike, queues: pd.DataFrame | None) -> pd.DataFrame | None:
    """The store's queues, each with its send connector as a Case names it (by Get-SendConnector's Guid, else
    by its next hop: :func:`exlab.transport.queue_routing.queue_connectors`), so a queue of another connector counts as the
    other connectors' failures do."""
    from exlab.transport.queue_routing import queue_connectors

    if queues is None:
        return None
    return queues.assign(connector=queue_connectors(queues, _rows(store, "connectors", "SELECT * FROM connectors")))


def _rows(store: str | os.PathLike, view: str, sql: str) -> pd.DataFrame | None:
    """``sql`` over the store; None when the store holds no ``view``."""
    from exlab.fleet.sql import query
    from exlab.fleet.store import Store

    opened = Store.open(store)
    return query(opened, sql) if view in opened.kinds() else None
