"""The timeline of an outage: failures per bucket, episodes, and what happened around the onset.

Times are UTC underneath. Every function that shows times takes ``tz`` (an IANA name such
as ``"Europe/Warsaw"``) and adds ``*_local`` columns in that zone; buckets are cut in that
zone too, so a day is the engineer's day and an hour bucket across a DST change is an hour.

Each server's failures come from its failures frame rows (event 2004, ``exlab.transport.tls_failures``);
for a server whose events show none (or were not collected), from its SMTP send protocol log (sessions),
else its message tracking log (DEFER / FAIL rows), else the last error of its queues (Get-Queue).
:func:`failure_points` puts them all in one shape:

>>> import pandas as pd
>>> failures = pd.DataFrame({
...     "time_created": pd.to_datetime(["2025-03-20 09:14:02", "2025-03-20 09:29:02",
...                                     "2025-03-20 13:00:00"], utc=True),
...     "computer": ["EX01"] * 3, "event_id": [2004] * 3, "connector": ["Outbound to Office 365"] * 3,
...     "smtp_response": ["454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot"] * 3,
...     "code": [454] * 3, "enhanced_status": ["4.7.0"] * 3, "reason": ["UntrustedRoot"] * 3,
...     "record_id": [10, 11, 12], "source": ["Application.evtx"] * 3})
>>> points = failure_points(failures=failures)
>>> episodes(points)[["onset", "end", "failures"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[[Timestamp('2025-03-20 09:14:02+0000', tz='UTC'), Timestamp('2025-03-20 09:29:02+0000', tz='UTC'), 2],
 [Timestamp('2025-03-20 13:00:00+0000', tz='UTC'), Timestamp('2025-03-20 13:00:00+0000', tz='UTC'), 1]]
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from exlab.analysis.cells import cell, column, event_place
from exlab.attribution import REMOTE_HOST_EVENTS, host_name
from exlab.transport.protocol_log import send_sessions
from exlab.transport.smtp_reply import classify, parse_smtp_reply

# Default quiet gap that ends an episode. A queue that keeps failing is retried at least
# every MessageRetryInterval (15 min by default) on a Mailbox/Hub server and every
# OutboundConnectionFailureRetryInterval (30 min by default) on an Edge server, for as
# long as messages wait (2 days before they expire). An hour without a single failure is
# four retry intervals of a Hub and two of an Edge: the queue had nothing left to retry,
# so mail flowed again or nothing was sent. Shorter pauses are the retry rhythm itself.
DEFAULT_GAP = pd.Timedelta(hours=1)

# category: the failure's kind as ``exlab.transport.smtp_reply.classify`` names it
# (untrusted-root, tlscertificatename-missing, expired, no-private-key, tenant-attribution,
# network, tls-access-denied), NA for anything else.
POINT_COLUMNS = ("time", "origin", "server", "connector", "code", "enhanced_status", "reason", "category",
                 "response", "thumbprint", "message_id", "source", "where")
# the sources of failure points, best first (:func:`preferred`): an attempt one shows, those after it may show again
# (a queue's LastError is the last attempt of those its messages waited through)
SOURCES = ("event", "session", "tracking", "queue")
# one delivery to the next hop, whatever evidence showed it (:func:`deliveries`); ``row``: its label in that frame
DELIVERY_COLUMNS = ("time", "origin", "server", "connector", "thumbprint", "source", "where", "row")
# per server and connector that failed, the first delivery after its last failure (:func:`recoveries`)
RECOVERY_COLUMNS = ("server", "connector", "last_failure", "first_delivery", "origin", "thumbprint", "source",
                    "where")

# Transport events that belong on the timeline next to the failures (EXCHANGE.md's catalog).
CONTEXT_EVENT_IDS = {
    12013: "could not load the certificate with the configured thumbprint",
    12014: "no certificate for the name, no STARTTLS for a connector",
    12016: "the STARTTLS certificate has expired",
    12018: "the STARTTLS certificate expires soon",
    12023: "internal transport certificate missing",
    12024: "fell back to an ephemeral self-signed certificate",
}
# Configuration changes visible in event logs (MSExchange CmdletLogs, admin audit).
CONFIG_CMDLETS = re.compile(r"\b(Enable|Import|New|Remove)-ExchangeCertificate\b|\bSet-SendConnector\b"
                            r"|\bSet-ExchangeServer\b|\bSet-TransportService\b", re.IGNORECASE)
TRANSPORT_SERVICE = re.compile(r"MSExchangeTransport\b|Microsoft Exchange Transport\b", re.IGNORECASE)

_LED = re.compile(r"\{LED=([^{}]*)\}")   # [^{}]: a scan from one "{LED=" ends at the next "{" (linear)


def failure_points(*, failures: pd.DataFrame | None = None, sessions: pd.DataFrame | None = None,
                   tracking: pd.DataFrame | None = None, queues: pd.DataFrame | None = None,
                   prefer: bool = True) -> pd.DataFrame:
    """One row per failed delivery attempt, whatever evidence showed it.

    A session's time is its ``failed_at`` (when the failing reply was logged; ``exlab.Case``
    adds it from the protocol log's lines) or else its start.

    With ``prefer`` (the default) each server's points come from its best source (:func:`preferred`):
    the failures frame (events), else failed sessions, else tracking DEFER/FAIL rows, else the queues'
    last errors (``queues``: Get-Queue's rows, :func:`exlab.transport.read_queues`), so one attempt
    is not counted twice, and a server whose event log was not collected keeps the failures its
    protocol log shows. With ``prefer=False`` all are stacked (``origin`` tells them apart).

    >>> sessions = pd.DataFrame({"session_id": ["08DC48AE1F3C5B21"], "connector": ["Outbound"],
    ...     "start": pd.to_datetime(["2025-03-20 09:14:01"], utc=True),
    ...     "end": pd.to_datetime(["2025-03-20 09:14:02"], utc=True), "cert_thumbprint": ["AB" * 20],
    ...     "final_reply": ["454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot"],
    ...     "reply_code": [454], "enhanced_status": ["4.7.0"], "tls_reason": ["UntrustedRoot"],
    ...     "outcome": ["rejected"], "source": ["SEND20250320-1.LOG"]})
    >>> failure_points(sessions=sessions)[["origin", "code", "reason", "where"]].values.tolist()
    [['session', 454, 'UntrustedRoot', 'session 08DC48AE1F3C5B21']]

    EX01's event 2004 and its session are one attempt; EX02, whose events were not collected, keeps its session:

    >>> failures = pd.DataFrame({"time_created": pd.to_datetime(["2025-03-20 09:14:02"], utc=True),
    ...     "computer": ["ex01.contoso.com"], "event_id": [2004], "connector": ["Outbound"],
    ...     "smtp_response": ["454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot"],
    ...     "record_id": [10], "source": ["Application.evtx"]})
    >>> two = pd.concat([sessions.assign(server="EX01"), sessions.assign(server="EX02", session_id="08DC48AE1F3C5B22")])
    >>> failure_points(failures=failures, sessions=two)[["origin", "server"]].values.tolist()
    [['session', 'EX02'], ['event', 'ex01.contoso.com']]
    """
    hosts = sending_hosts(tracking)
    sources = ((failures, _from_failures), (sessions, lambda s: _from_sessions(s, hosts)), (tracking, _from_tracking),
               (queues, _from_queues))
    converted = (convert(frame) for frame, convert in sources if frame is not None and not frame.empty)
    parts = [points for points in converted if not points.empty]
    if not parts:
        return _points_frame([])
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if prefer:
        out = out[preferred(out)]
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def preferred(points: pd.DataFrame) -> pd.Series:
    """Which failure ``points`` (:func:`failure_points` with ``prefer=False``) are of their server's best
    source, the first of :data:`SOURCES` that has points of that server: a mask over the points.

    Servers are compared by host name, in any case (``EX01`` is ``ex01.contoso.com``). A point that names
    no server may be any server's: it is kept only when no better source has points at all, and a server's
    points are kept only when no better source has points that name no server. So where no point names
    its server, only the best source of the whole case is kept.

    >>> points = pd.DataFrame({"origin": ["event", "session", "session", "tracking", "tracking"],
    ...                        "server": ["ex01.contoso.com", "EX01", "EX02", "EX02", None]})
    >>> preferred(points).tolist()     # EX01's event, EX02's session; the unnamed row may be EX01's
    [True, False, True, False, False]
    >>> preferred(points.assign(server=None)).tolist()
    [True, False, False, False, False]
    """
    rank = column(points, "origin").map({origin: number for number, origin in enumerate(SOURCES)})
    hosts = pd.Series(_named(points, "server", host_name), index=points.index, dtype="object")
    unnamed = hosts.isna()
    best = np.fmin(rank.groupby(hosts).transform("min"), rank[unnamed].min())
    return rank.eq(best.where(~unnamed, rank.min()))


# the columns each kind of failure point is made of (the frames have many more: a row of each is not built)
_FAILURE_CELLS = ("time_created", "computer", "server", "event_id", "connector", "code", "enhanced_status", "reason",
                  "smtp_response", "message_id", "cause", "record_id", "source", "line")


_SESSION_CELLS = ("session_id", "connector", "server", "local_endpoint", "start", "cert_thumbprint", "tls_error",
                  "final_reply", "reply_code", "enhanced_status", "tls_reason", "outcome", "source", "failed_at",
                  "failed_line", "delivered_at", "delivered_line")
_TRACKING_CELLS = ("time", "server", "client_hostname", "server_hostname", "connector_id", "event_id",
                   "internal_message_id", "message_id", "recipient_status", "led", "source", "line")


def _narrow(frame: pd.DataFrame, columns: tuple[str, ...], rows: pd.Series | None = None) -> pd.DataFrame:
    """Only the columns a failure point is made of (those the frame has), of ``rows`` (a mask) if given:
    a month of logs is not copied whole to keep a few rows."""
    narrow = frame[[name for name in columns if name in frame]]
    return narrow if rows is None else narrow[rows]


def _points_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    for row in rows:
        if "category" not in row:
            row["category"] = classify(row["response"]) if row.get("response") else None
    return _points_of({name: [row.get(name) for row in rows] for name in POINT_COLUMNS})


def _points_of(columns: dict[str, Any]) -> pd.DataFrame:
    """The points frame of columns (lists or Series of equal length, by position; missing: NA)."""
    length = max((len(values) for values in columns.values()), default=0)
    if "category" not in columns:
        response = pd.Series(columns.get("response", [None] * length), dtype="object").reset_index(drop=True)
        kinds = {text: classify(text) for text in response.dropna().unique() if text}
        columns["category"] = response.map(kinds)
    frame = _typed(columns, POINT_COLUMNS, other=("code",))
    frame["code"] = pd.array(frame["code"], dtype="Int32")
    return frame


def _typed(columns: dict[str, Any], names: tuple[str, ...], *, times: tuple[str, ...] = ("time",),
           other: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame of ``names`` from columns (lists, scalars or Series, by position; missing: NA): ``times``
    in UTC, ``other`` as given, the rest text."""
    length = max((len(values) for values in columns.values() if not isinstance(values, str)), default=0)
    frame = pd.DataFrame({name: _positional(columns.get(name), length) for name in names})
    for name in names:
        if name in times:
            frame[name] = pd.to_datetime(frame[name], utc=True)
        elif name not in other:
            frame[name] = pd.array(frame[name], dtype="string")
    return frame


def _positional(values: Any, length: int) -> Any:
    if values is None or isinstance(values, str):
        return [values] * length
    return values.reset_index(drop=True) if isinstance(values, pd.Series) else values


def _from_failures(failures: pd.DataFrame) -> pd.DataFrame:
    # 12014 is logged with each attempt that 2004 reports too: count it only when 2004/2015 are absent
    deliveries = failures["event_id"].isin([2004, 2015]).fillna(False).astype(bool)
    if deliveries.any():
        failures = failures[deliveries]
    rows = []
    for row in _narrow(failures, _FAILURE_CELLS).itertuples(index=False):
        place = event_place(row)
        rows.append({
            "time": cell(row, "time_created"), "origin": "event", "server": cell(row, "server") or cell(row, "computer"),
            "connector": cell(row, "connector"), "code": cell(row, "code"),
            "enhanced_status": cell(row, "enhanced_status"), "reason": cell(row, "reason"),
            "response": cell(row, "smtp_response"), "message_id": cell(row, "message_id"),
            "category": cell(row, "cause") if "cause" in failures else classify(cell(row, "smtp_response")),
            "source": cell(row, "source"),
            "where": f"event {cell(row, 'event_id') or 2004}, {place}" if place is not None else None,
        })
    return _points_frame(rows)


def session_failed(sessions: pd.DataFrame) -> pd.Series:
    """Which send sessions failed to deliver: refused (reply >= 400) or TLS failed. A receive
    session (``direction`` ``receive``: another server delivering here) never counts.

    >>> s = pd.DataFrame({"outcome": ["delivered", "rejected", "tls-failed", "disconnected", "rejected"],
    ...                   "reply_code": [250, 454, None, 221, 454], "direction": ["send"] * 4 + ["receive"]})
    >>> session_failed(s).tolist()
    [False, True, True, False, False]
    """
    outcome = sessions["outcome"].astype("string")
    code = pd.to_numeric(sessions.get("reply_code"), errors="coerce")
    failed = outcome.isin(["rejected", "tls-failed"]) | (code >= 400)
    if "direction" in sessions:
        received = sessions["direction"].astype("string").eq("receive").fillna(False).astype(bool)
        return failed.fillna(False).astype(bool) & ~received
    return failed.fillna(False).astype(bool)


def sending_hosts(tracking: pd.DataFrame | None) -> dict[str, str]:
    """Which server sends from which IP address, as the tracking log's SMTP rows say
    (the sending server is the client of the smart host): the server of a protocol-log
    session, whose local endpoint is all the log tells.

    >>> tracking = pd.DataFrame({"event_id": ["SEND", "DEFER", "RECEIVE"], "event_source": ["SMTP"] * 3,
    ...     "client_ip": ["10.0.0.5", "10.0.0.6", "10.0.0.7"], "client_hostname": ["EX01", "EX02", "outside"]})
    >>> sending_hosts(tracking)
    {'10.0.0.5': 'EX01', '10.0.0.6': 'EX02'}
    """
    if tracking is None or tracking.empty or "client_ip" not in tracking or "client_hostname" not in tracking:
        return {}
    sent = tracking["event_id"].astype("string").isin(["SEND", "DEFER"]).fillna(False).astype(bool)
    pairs = tracking.loc[sent, ["client_ip", "client_hostname"]].dropna().drop_duplicates("client_ip")
    return dict(zip(pairs["client_ip"].astype(str), pairs["client_hostname"].astype(str)))


def line_place(source: Any, logged_line: Any) -> str:
    """Where a session's reply was logged, from its ``failed_line`` or ``delivered_line``
    (``SEND20250320-1.LOG line 243``): the line alone when the session's one file (``source``) holds it.

    >>> line_place("logs/SEND20250320-1.LOG", "SEND20250320-1.LOG line 243")
    'line 243'
    >>> line_place("a/SEND1.LOG; a/SEND2.LOG", "SEND2.LOG line 3")
    'SEND2.LOG line 3'
    """
    if not isinstance(logged_line, str) or not logged_line:
        return ""
    file, _, line = logged_line.rpartition(" line ")
    one_file = isinstance(source, str) and "; " not in source
    return f"line {line}" if one_file and source.replace("\\", "/").rsplit("/", 1)[-1] == file else logged_line


def _session_servers(sessions: pd.DataFrame, hosts: dict[str, str]) -> pd.Series:
    """Each session's server: its ``server`` (as ``exlab.Case`` attributes it), else the server that
    sends from its local endpoint's address (:func:`sending_hosts`)."""
    local = column(sessions, "local_endpoint").fillna("").astype(str).str.rsplit(":", n=1).str[0]
    server = column(sessions, "server")
    return server.where(server.notna(), local.map(hosts))


def _session_times(sessions: pd.DataFrame, logged: str) -> tuple[pd.Series, pd.Series]:
    """Each session's time of its ``logged`` reply (``failed`` or ``delivered``: the ``*_at`` column), else
    its start; and where it is, ``session <id>, line <n>`` (the ``*_line`` column, when given)."""
    at = sessions[f"{logged}_at"] if f"{logged}_at" in sessions else pd.Series(pd.NaT, index=sessions.index)
    start = sessions["start"] if "start" in sessions else pd.Series(pd.NaT, index=sessions.index)
    logged_line = column(sessions, f"{logged}_line")
    place = pd.Series([line_place(s, f) for s, f in zip(column(sessions, "source"), logged_line)],
                      index=sessions.index)
    where = "session " + column(sessions, "session_id").astype(str)
    return at.where(at.notna(), start), where.where(~logged_line.map(bool), where + ", " + place)


def _from_sessions(sessions: pd.DataFrame, hosts: dict[str, str] | None = None) -> pd.DataFrame:
    failed = _narrow(sessions, _SESSION_CELLS, session_failed(sessions))
    reply, error = column(failed, "final_reply"), column(failed, "tls_error")
    # the last reply of a failed handshake is the 220 to STARTTLS: the error says more
    handshake = column(failed, "outcome").eq("tls-failed") & error.map(bool)
    said = error[handshake].map(lambda text: text if "negotiation failed" in text
                                else f"TLS negotiation failed with error {text}")
    reply = reply.where(~handshake, said)
    reason = column(failed, "tls_reason")
    time, where = _session_times(failed, "failed")
    return _points_of({
        "time": time, "origin": ["session"] * len(failed),
        "server": _session_servers(failed, hosts or {}), "connector": column(failed, "connector"),
        "code": column(failed, "reply_code"), "enhanced_status": column(failed, "enhanced_status"),
        "reason": reason.where(reason.map(bool), column(failed, "tls_error")), "response": reply,
        "thumbprint": column(failed, "cert_thumbprint"), "source": column(failed, "source"), "where": where,
    })


def tracking_reply(recipient_status: str | None) -> str | None:
    """The SMTP reply inside a tracking log's recipient-status (``{LED=...}`` or plain).

    >>> tracking_reply("[{LED=454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot};{MSG=}]")
    '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot'
    >>> tracking_reply("250 2.6.0 <a@b> Queued mail for delivery")
    '250 2.6.0 <a@b> Queued mail for delivery'
    """
    if recipient_status is None or pd.isna(recipient_status):
        return None
    match = _LED.search(recipient_status)
    return (match.group(1) if match else recipient_status).strip() or None


def _from_tracking(tracking: pd.DataFrame) -> pd.DataFrame:
    failed = tracking["event_id"].astype("string").str.upper().isin(["DEFER", "FAIL"]).fillna(False)
    rows = _narrow(tracking, _TRACKING_CELLS, failed.astype(bool))
    led = column(rows, "led")
    status = column(rows, "recipient_status")
    reply_text = led.where(led.map(bool), status.map({text: tracking_reply(text) for text in status.dropna().unique()}))
    reply_text = reply_text.where(reply_text.notna(), None)
    return _points_of({
        "time": rows["time"] if "time" in rows else [None] * len(rows), "origin": ["tracking"] * len(rows),
        "server": _tracking_servers(rows), "connector": column(rows, "connector_id"), **_reply_columns(reply_text),
        "message_id": column(rows, "message_id"), "source": column(rows, "source"), "where": _tracking_where(rows),
    })


def _reply_columns(reply_text: pd.Series) -> dict[str, pd.Series]:
    """The SMTP replies held in a queue (a tracking row's, a queue's last error) as the points' ``response``,
    ``code``, ``enhanced_status``, ``reason`` and ``category``; each distinct reply parsed once. A message
    expired in the queue (4.4.7) is the consequence of the failures, not a kind of its own: no category.

    >>> columns = _reply_columns(pd.Series(["454 4.7.0 x: UntrustedRoot", "550 4.4.7 QUEUE.Expired"]))
    >>> columns["code"].tolist(), columns["category"][0], pd.isna(columns["category"][1])
    ([454, 550], 'untrusted-root', True)
    """
    replies = {text: parse_smtp_reply(text) for text in reply_text.dropna().unique() if text}
    category = {text: None if found.enhanced_status == "4.4.7" else classify(found) for text, found in replies.items()}
    return {"response": reply_text, "code": reply_text.map({text: found.code for text, found in replies.items()}),
            "enhanced_status": reply_text.map({text: found.enhanced_status for text, found in replies.items()}),
            "reason": reply_text.map({text: found.tls_reason for text, found in replies.items()}),
            "category": reply_text.map(category)}


def _tracking_servers(rows: pd.DataFrame) -> pd.Series:
    """Each tracking row's server: its ``server`` (as ``exlab.Case`` attributes it), else the host that
    logged it: the client of the smart host for a SEND, DEFER or FAIL, else ``server_hostname``."""
    remote = column(rows, "event_id").isin(list(REMOTE_HOST_EVENTS))
    logged = column(rows, "client_hostname").where(remote, column(rows, "server_hostname"))
    server = column(rows, "server")
    return server.where(server.notna(), logged)


def _tracking_where(rows: pd.DataFrame) -> pd.Series:
    """Where each tracking row is: ``line 6, DEFER of <message id>`` (the internal id without one)."""
    message = column(rows, "message_id")
    named = message.where(message.map(bool), column(rows, "internal_message_id"))
    line = ("line " + rows["line"].astype("string") + ", ").fillna("") if "line" in rows else ""
    return line + column(rows, "event_id").astype(str) + " of " + named.astype(str)


_QUEUE_CELLS = ("server", "identity", "connector", "next_hop_domain", "message_count", "led", "last_error_time",
                "last_retry_time", "source", "line")


def _from_queues(queues: pd.DataFrame) -> pd.DataFrame:
    """A point per queue with a last error: Exchange Online's answer (LastError's LED) at the last retry
    (its LRT, else LastRetryTime). The same snapshot exported twice (``fl`` and Export-Clixml) is one point.
    Its connector is the queues frame's ``connector`` (``exlab.Case`` names it by Get-SendConnector's Guid, else
    by its next hop: :func:`exlab.transport.queue_routing.queue_connectors`), unnamed without one."""
    rows = _narrow(queues, _QUEUE_CELLS, column(queues, "led").map(bool))
    time = column(rows, "last_error_time")
    time = time.where(time.notna(), column(rows, "last_retry_time"))
    count = pd.to_numeric(column(rows, "message_count"), errors="coerce")
    waiting = (", " + count.astype("Int64").astype("string") + " message(s) waiting").fillna("")
    hop = (" to " + column(rows, "next_hop_domain").astype("string")).fillna("")
    points = _points_of({
        "time": time, "origin": ["queue"] * len(rows), "server": column(rows, "server"),
        "connector": column(rows, "connector"), **_reply_columns(column(rows, "led").str.strip()),
        "source": column(rows, "source"), "where": "queue " + column(rows, "identity").fillna("?") + hop + waiting,
    })
    return points.drop_duplicates(["server", "where", "time", "response"], ignore_index=True)


def deliveries(*, sessions: pd.DataFrame | None = None, tracking: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per message handed to the next hop, whatever evidence showed it: each delivered send
    session, at its ``delivered_at`` (the reply that accepted its first message) or else its start, and
    each tracking SEND row. Columns: :data:`DELIVERY_COLUMNS` (``thumbprint``: the certificate the
    session presented; ``row``: the row's label in its frame), in order of time.

    >>> sessions = pd.DataFrame({"session_id": ["A1", "B2"], "connector": ["O365"] * 2, "server": ["EX01", "EX02"],
    ...     "start": pd.to_datetime(["2025-03-20 09:00", "2025-03-20 10:00"], utc=True),
    ...     "delivered_at": pd.to_datetime(["2025-03-20 09:00:01", None], utc=True),
    ...     "delivered_line": ["SEND1.LOG line 9", None], "outcome": ["delivered", "rejected"],
    ...     "source": ["SEND1.LOG"] * 2})
    >>> deliveries(sessions=sessions)[["time", "server", "where"]].values.tolist()
    [[Timestamp('2025-03-20 09:00:01+0000', tz='UTC'), 'EX01', 'session A1, line 9']]
    """
    parts = []
    if sessions is not None and not sessions.empty:
        parts.append(_delivered_sessions(send_sessions(sessions), sending_hosts(tracking)))
    if tracking is not None and not tracking.empty:
        parts.append(_sent_rows(tracking))
    frames = [_typed(part, DELIVERY_COLUMNS, other=("row",)) for part in parts] or [
        _typed({}, DELIVERY_COLUMNS, other=("row",))]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def _delivered_sessions(sessions: pd.DataFrame, hosts: dict[str, str]) -> dict[str, Any]:
    delivered = _narrow(sessions, _SESSION_CELLS, (sessions["outcome"].astype("string") == "delivered")
                        .fillna(False).astype(bool))
    time, where = _session_times(delivered, "delivered")
    return {"time": time, "origin": "session", "server": _session_servers(delivered, hosts),
            "connector": column(delivered, "connector"), "thumbprint": column(delivered, "cert_thumbprint"),
            "source": column(delivered, "source"), "where": where, "row": pd.Series(delivered.index, dtype=object)}


def _sent_rows(tracking: pd.DataFrame) -> dict[str, Any]:
    rows = _narrow(tracking, _TRACKING_CELLS, tracking["event_id"].astype("string").str.upper().eq("SEND")
                   .fillna(False).astype(bool))
    return {"time": rows["time"] if "time" in rows else None, "origin": "tracking", "server": _tracking_servers(rows),
            "connector": column(rows, "connector_id"), "source": column(rows, "source"),
            "where": _tracking_where(rows), "row": pd.Series(rows.index, dtype=object)}


def _named(frame: pd.DataFrame, name: str, shape: Any) -> list[str | None]:
    """Column ``name`` as ``shape`` gives each value, stripped and in lower case (None where missing)."""
    values = column(frame, name)
    shaped = {value: shape(str(value).strip().lower()) or None for value in values.dropna().unique()}
    return [shaped.get(value) if value is not None else None for value in values]


Route = tuple[str | None, str | None]


def _routes(frame: pd.DataFrame) -> tuple[np.ndarray, list[Route]]:
    """Each row's route, as a number into the routes: its server's host name and its connector, in lower
    case (None where the row does not say)."""
    routes = np.empty(len(frame), dtype=object)
    routes[:] = list(zip(_named(frame, "server", host_name), _named(frame, "connector", str)))
    numbers, distinct = pd.factorize(routes)
    return numbers, list(distinct)


def _may_be_one_keys(route: Route) -> list[tuple]:
    """The keys (:func:`_best_of`) of the routes that may be one with ``route``: each part the same, or not
    said on either side. A route that says both parts may be one of four routes; one that does not say its
    connector, any route of its server (or of none); one that says neither, any route.

    >>> _may_be_one_keys(("ex01", "o365"))
    [('route', 'ex01', 'o365'), ('route', 'ex01', None), ('route', None, 'o365'), ('route', None, None)]
    >>> _may_be_one_keys(("ex01", None)), _may_be_one_keys((None, None))
    ([('server', 'ex01'), ('server', None)], [('any',)])
    """
    server, connector = route
    if server is not None and connector is not None:
        return [("route", mine, theirs) for mine in (server, None) for theirs in (connector, None)]
    if server is not None:
        return [("server", server), ("server", None)]
    return [("connector", connector), ("connector", None)] if connector is not None else [("any",)]


def _best_of(routes: list[Route], values: list[Any], better: Callable[[Any, Any], bool]) -> Callable[[Route], Any]:
    """The best of ``values`` (one per route of ``routes``; ``better(a, b)``: a is better than b) over the
    routes that may be one with a route (None when none may). Each value is filed once under each key that
    finds it (:func:`_may_be_one_keys`), so that asking for every route takes time in proportion to the
    routes, however many servers and connector names the evidence names (never routes times routes).

    >>> latest = _best_of([("ex01", "o365"), ("ex01", None), ("ex02", "o365")], [3, 5, 9], lambda a, b: a > b)
    >>> latest(("ex01", "o365")), latest(("ex01", "internet")), latest((None, "o365")), latest(("ex03", None))
    (5, 5, 9, None)
    """
    filed: dict[tuple, Any] = {}
    for (server, connector), value in zip(routes, values):
        for key in (("route", server, connector), ("server", server), ("connector", connector), ("any",)):
            if key not in filed or better(value, filed[key]):
                filed[key] = value

    def best(route: Route) -> Any:
        found = [filed[key] for key in _may_be_one_keys(route) if key in filed]
        return functools.reduce(lambda one, other: other if better(other, one) else one, found) if found else None

    return best


def _later(time: pd.Timestamp, other: pd.Timestamp) -> bool:
    """Whether ``time`` is later than ``other``; a time is later than none (NaT), none later than any."""
    return not pd.isna(time) and (pd.isna(other) or time > other)


def _failed_routes(points: pd.DataFrame) -> pd.DataFrame:
    """Each route the points failed on (``route``), its server and connector as first named, and its last
    failure."""
    numbers, routes = _routes(points)
    failed = pd.DataFrame({"route": pd.Series(routes, dtype=object)})
    for name in ("server", "connector"):
        failed[name] = points[name].groupby(numbers).first()
    failed["last_failure"] = points["time"].groupby(numbers).max()
    return failed


def flows_again(deliveries: pd.DataFrame, points: pd.DataFrame) -> pd.Series:
    """Which ``deliveries`` (frames with ``time``, ``server`` and ``connector``) show mail flowing again
    after the failure ``points`` (:func:`failure_points`): a mask over the deliveries.

    The one rule the timeline, the diagnosis and the report share: a delivery counts when it went out
    from a server that failed, through a connector it failed through, after that server's last failure
    through it. Servers are compared by host name (``EX01`` is ``ex01.contoso.com``), connectors by name,
    both in any case. Where the evidence does not tell (a failure or a delivery without a server or a
    connector), it does not tell them apart either: a delivery counts only after every failure that may
    be of its route, so with no server named anywhere, a delivery counts after the last failure of all.

    >>> points = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:00"], utc=True),
    ...                        "server": ["ex01.contoso.com"], "connector": ["Outbound to Office 365"]})
    >>> sent = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 09:00", "2025-03-20 11:00", "2025-03-20 11:30",
    ...                                              "2025-03-20 11:40"], utc=True),
    ...                      "server": ["EX01", "EX02", "EX01", "EX01"],
    ...                      "connector": ["Outbound to Office 365"] * 3 + ["Internet"]})
    >>> flows_again(sent, points).tolist()      # EX02 never failed; EX01 failed through another connector
    [False, False, True, False]
    """
    failed = _failed_routes(points)
    numbers, routes = _routes(deliveries)
    last_failure = _best_of(list(failed["route"]), list(failed["last_failure"]), _later)
    limits = [last_failure(route) for route in routes]
    after = pd.to_datetime(pd.Series(limits, dtype=object), utc=True).take(numbers).set_axis(deliveries.index)
    return (deliveries["time"] > after).fillna(False).astype(bool)


def recoveries(deliveries: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Each route the failure ``points`` failed on (server and connector), with its last failure and the
    first of ``deliveries`` (:func:`deliveries`) that :func:`flows_again` counts for it (NaT and NA where
    none does). Columns: :data:`RECOVERY_COLUMNS`, in order of last failure.

    >>> points = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:00", "2025-03-20 10:05"], utc=True),
    ...                        "server": ["EX01", "EX03"], "connector": ["O365"] * 2})
    >>> sent = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 11:00", "2025-03-20 11:30"], utc=True),
    ...     "server": ["EX02", "EX01"], "connector": ["O365"] * 2, "origin": ["session"] * 2, "where": ["s1", "s2"]})
    >>> recoveries(sent, points)[["server", "first_delivery", "where"]].values.tolist()
    [['EX01', Timestamp('2025-03-20 11:30:00+0000', tz='UTC'), 's2'], ['EX03', NaT, <NA>]]
    """
    failed = _failed_routes(points).sort_values("last_failure", kind="stable")
    counted = deliveries[flows_again(deliveries, points)].sort_values("time", kind="stable")
    numbers, routes = _routes(counted)
    seen, at = np.unique(numbers, return_index=True)       # each route's first delivery, by place in time
    first_delivery = _best_of([routes[n] for n in seen], at.tolist(), operator.lt)
    rows = []
    for failure in failed.itertuples(index=False):
        place = first_delivery(failure.route)
        found = counted.iloc[place] if place is not None else {}
        rows.append({"server": failure.server, "connector": failure.connector, "last_failure": failure.last_failure,
                     "first_delivery": cell(found, "time"),
                     **{name: cell(found, name) for name in ("origin", "thumbprint", "source", "where")}})
    return _typed({name: [row[name] for row in rows] for name in RECOVERY_COLUMNS}, RECOVERY_COLUMNS,
                  times=("last_failure", "first_delivery"))


def flowing_since(recovered: pd.DataFrame, connector: str | None = None) -> pd.Timestamp | None:
    """When mail flowed again (through ``connector``; through every connector when None), from the
    :func:`recoveries` of a case: once every server that failed delivered again after its last failure,
    the latest of their first deliveries; None while one has not (or nothing failed).

    >>> recovered = pd.DataFrame({"server": ["EX01", "EX03"], "connector": ["O365", "Internet"],
    ...     "first_delivery": pd.to_datetime(["2025-03-20 11:30", None], utc=True)})
    >>> flowing_since(recovered), flowing_since(recovered, "o365")
    (None, Timestamp('2025-03-20 11:30:00+0000', tz='UTC'))
    """
    if connector is not None:
        through = recovered["connector"].astype("string").str.lower()
        recovered = recovered[(through.eq(connector.lower()) | through.isna()).fillna(True).astype(bool)]
    times = recovered["first_delivery"]
    return None if times.empty or times.isna().any() else times.max()


def _local(times: pd.Series | pd.DatetimeIndex, tz: str | None) -> Any:
    return times.dt.tz_convert(tz) if isinstance(times, pd.Series) else times.tz_convert(tz)


def failures_per_bucket(points: pd.DataFrame, *, bucket: str = "1h", by: str | None = None,
                        tz: str | None = None) -> pd.DataFrame:
    """Failures counted per time bucket, cut in ``tz`` (UTC when None).

    ``by`` is None, ``"connector"`` or ``"server"``: one row per bucket and value then.
    Columns: start (UTC), start_local (in ``tz``), [by], failures. Empty buckets inside
    the covered span are kept with 0, so gaps show on a plot.

    >>> t = pd.to_datetime(["2025-10-26 00:10", "2025-10-26 00:50", "2025-10-26 01:20"], utc=True)
    >>> points = pd.DataFrame({"time": t, "connector": ["A", "A", "B"]})
    >>> counts = failures_per_bucket(points, tz="Europe/Warsaw")
    >>> [str(s) for s in counts["start_local"]], counts["failures"].tolist()
    (['2025-10-26 02:00:00+02:00', '2025-10-26 02:00:00+01:00'], [2, 1])
    >>> failures_per_bucket(points, by="connector")[["connector", "failures"]].values.tolist()
    [['A', 2], ['A', 0], ['B', 0], ['B', 1]]
    """
    zone = tz or "UTC"
    groups = [(None, points)] if by is None else list(points.groupby(points[by].astype("string"), dropna=False))
    if points.empty:
        groups = []
    index = pd.DatetimeIndex(points["time"]).tz_convert(zone) if not points.empty else None
    frames = []
    for key, group in groups:
        series = pd.Series(1, index=pd.DatetimeIndex(group["time"]).tz_convert(zone))
        counts = series.resample(bucket).size()
        # the same bins for every group: reindex on the span of all points
        full = pd.Series(1, index=index).resample(bucket).size().index
        counts = counts.reindex(full, fill_value=0)
        part = pd.DataFrame({"start": counts.index.tz_convert("UTC"), "start_local": counts.index,
                             "failures": counts.to_numpy(dtype="int64")})
        if by is not None:
            part.insert(2, by, pd.array([key if not pd.isna(key) else None] * len(part), dtype="string"))
        frames.append(part)
    if not frames:
        columns = ["start", "start_local"] + ([by] if by else []) + ["failures"]
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(frames, ignore_index=True)


def episodes(points: pd.DataFrame, *, gap: str | pd.Timedelta = DEFAULT_GAP, tz: str | None = None) -> pd.DataFrame:
    """Bursts of failures separated by quiet gaps longer than ``gap`` (see :data:`DEFAULT_GAP`).

    Columns: episode (1..n), onset, end (UTC), failures, duration, connectors and servers
    (tuples), and onset_local / end_local in ``tz``.

    >>> t = pd.to_datetime(["2025-03-20 09:00", "2025-03-20 09:50", "2025-03-20 11:00"], utc=True)
    >>> episodes(pd.DataFrame({"time": t}), gap="30min")["failures"].tolist()
    [1, 1, 1]
    """
    gap = pd.Timedelta(gap)
    columns = ["episode", "onset", "end", "failures", "duration", "connectors", "servers", "onset_local", "end_local"]
    if points.empty:
        return pd.DataFrame({c: [] for c in columns})
    ordered = points.sort_values("time", kind="stable").reset_index(drop=True)
    times = ordered["time"]
    number = (times.diff() > gap).cumsum() + 1
    rows = []
    for episode, group in ordered.groupby(number, sort=True):
        onset, end = group["time"].iloc[0], group["time"].iloc[-1]
        rows.append({
            "episode": int(episode), "onset": onset, "end": end, "failures": len(group), "duration": end - onset,
            "connectors": _distinct(group, "connector"), "servers": _distinct(group, "server"),
        })
    frame = pd.DataFrame(rows)
    frame["onset_local"] = _local(frame["onset"], tz or "UTC")
    frame["end_local"] = _local(frame["end"], tz or "UTC")
    return frame[columns]


def _distinct(frame: pd.DataFrame, column: str) -> tuple[str, ...]:
    if column not in frame:
        return ()
    return tuple(sorted({str(v) for v in frame[column].dropna()}))


def onset_context(onset: pd.Timestamp | None, *, events: pd.DataFrame | None = None,
                  certs: pd.DataFrame | None = None, recovered: pd.DataFrame | None = None,
                  tz: str | None = None) -> pd.DataFrame:
    """What happened around the onset, lined up with it in one frame.

    Rows: each certificate's NotBefore and NotAfter, transport certificate events
    (12013/12014/12016/12018/12023/12024), configuration changes and transport service
    restarts seen in the events, and where mail flows again: per server and connector that
    failed, the first delivery after its last failure (``recovered``: :func:`recoveries`).
    Columns: time (UTC), time_local, offset (time minus onset; NaT without an onset), kind,
    detail, source, where.

    >>> certs = pd.DataFrame({"thumbprint": ["3F" * 20], "subject": ["CN=mail.contoso.com"],
    ...     "issuer": ["CN=Contoso Issuing CA 01"], "not_before": pd.to_datetime(["2025-03-20 08:00"], utc=True),
    ...     "not_after": pd.to_datetime(["2027-03-20 08:00"], utc=True), "source": ["certs.xml"]})
    >>> ctx = onset_context(pd.Timestamp("2025-03-20 09:14", tz="UTC"), certs=certs)
    >>> ctx[["kind", "offset"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['certificate valid from', Timedelta('-1 days +22:46:00')],
     ['certificate expires', Timedelta('729 days 22:46:00')]]
    """
    rows: list[dict[str, Any]] = []
    if certs is not None and not certs.empty:
        rows.extend(_certificate_rows(certs))
    if events is not None and not events.empty:
        rows.extend(_event_rows(events))
    if recovered is not None:
        rows.extend(_recovery_rows(recovered))
    frame = pd.DataFrame({name: [row.get(name) for row in rows]
                          for name in ("time", "kind", "detail", "source", "where")})
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame = frame.dropna(subset=["time"]).sort_values("time", kind="stable").reset_index(drop=True)
    frame.insert(1, "time_local", _local(frame["time"], tz or "UTC"))
    frame.insert(2, "offset", frame["time"] - onset if onset is not None else pd.NaT)
    if onset is None:
        frame["offset"] = pd.Series(pd.NaT, index=frame.index, dtype="timedelta64[ns]")
    for name in ("kind", "detail", "source", "where"):
        frame[name] = pd.array(frame[name], dtype="string")
    return frame


def _certificate_rows(certs: pd.DataFrame) -> Iterable[dict[str, Any]]:
    for row in certs.itertuples(index=False):
        services = cell(row, "services")
        label = f"{cell(row, 'subject')} from {cell(row, 'issuer')}"
        if services is not None:
            label += f" (services: {', '.join(services) or 'none'})"
        where = f"thumbprint {cell(row, 'thumbprint')}"
        yield {"time": cell(row, "not_before"), "kind": "certificate valid from", "detail": label,
               "source": cell(row, "source"), "where": where}
        yield {"time": cell(row, "not_after"), "kind": "certificate expires", "detail": label,
               "source": cell(row, "source"), "where": where}


def _event_text(row: Any) -> str:
    data = cell(row, "data") or {}
    return " ".join([str(cell(row, "message") or ""), *(str(v) for v in data.values())])


def _event_rows(events: pd.DataFrame) -> Iterable[dict[str, Any]]:
    for row in events.itertuples(index=False):
        event_id = cell(row, "event_id")
        provider = str(cell(row, "provider") or "")
        where = f"event {event_id}, {event_place(row) or 'no record id'}"
        if event_id in CONTEXT_EVENT_IDS and provider.lower() == "msexchangetransport":
            data = cell(row, "data") or {}
            inserts = "; ".join(v for v in data.values() if v)
            yield {"time": cell(row, "time_created"), "kind": f"event {event_id}",
                   "detail": f"{CONTEXT_EVENT_IDS[event_id]}: {inserts}" if inserts else CONTEXT_EVENT_IDS[event_id],
                   "source": cell(row, "source"), "where": where}
            continue
        text = _event_text(row)
        cmdlet = CONFIG_CMDLETS.search(text)
        if cmdlet:
            yield {"time": cell(row, "time_created"), "kind": "configuration change",
                   "detail": text.strip()[:300], "source": cell(row, "source"), "where": where}
        elif event_id in (7036, 7040) and TRANSPORT_SERVICE.search(text):
            yield {"time": cell(row, "time_created"), "kind": "transport service",
                   "detail": text.strip()[:300], "source": cell(row, "source"), "where": where}


def _recovery_rows(recovered: pd.DataFrame) -> Iterable[dict[str, Any]]:
    for row in recovered[recovered["first_delivery"].notna()].itertuples(index=False):
        server, connector, thumbprint = cell(row, "server"), cell(row, "connector"), cell(row, "thumbprint")
        said = ["first delivery", f"from {server}" if server else "", f"through {connector}" if connector else "",
                f"after {'its' if server else 'the'} last failure"]
        detail = " ".join(part for part in said if part) + (f", certificate {thumbprint}" if thumbprint else "")
        yield {"time": cell(row, "first_delivery"), "kind": "mail flows again", "detail": detail,
               "source": cell(row, "source"), "where": cell(row, "where")}


@dataclass
class Timeline:
    """The timeline of one case: failure points, counts, episodes, the onset's context, the deliveries
    (:func:`deliveries`) and, per server and connector that failed, when it delivered again (:func:`recoveries`)."""

    points: pd.DataFrame
    counts: pd.DataFrame
    by_connector: pd.DataFrame
    by_server: pd.DataFrame
    episodes: pd.DataFrame
    context: pd.DataFrame
    deliveries: pd.DataFrame
    recoveries: pd.DataFrame
    tz: str = "UTC"
    bucket: str = "1h"
    gap: pd.Timedelta = field(default=DEFAULT_GAP)

    @property
    def onset(self) -> pd.Timestamp | None:
        """The first failure (UTC), or None."""
        return None if self.points.empty else self.points["time"].min()

    @property
    def end(self) -> pd.Timestamp | None:
        """The last failure (UTC), or None."""
        return None if self.points.empty else self.points["time"].max()

    @property
    def fix(self) -> pd.Timestamp | None:
        """When mail flowed again (:func:`flowing_since`): once every server that failed delivered again
        after its last failure; None while one has not."""
        return flowing_since(self.recoveries)

    def _repr_html_(self) -> str:
        return (f"<p>{len(self.points)} failure(s) in {len(self.episodes)} episode(s); times in {self.tz}</p>"
                + self.episodes._repr_html_() + self.context._repr_html_())


def build_timeline(*, failures: pd.DataFrame | None = None, sessions: pd.DataFrame | None = None,
                   tracking: pd.DataFrame | None = None, queues: pd.DataFrame | None = None,
                   events: pd.DataFrame | None = None,
                   certs: pd.DataFrame | None = None, bucket: str = "1h",
                   gap: str | pd.Timedelta = DEFAULT_GAP, tz: str | None = None) -> Timeline:
    """Everything above for one case, in one object.

    >>> t = pd.to_datetime(["2025-03-20 09:14", "2025-03-20 09:29"], utc=True)
    >>> failures = pd.DataFrame({"time_created": t, "computer": ["EX01"] * 2, "event_id": [2004] * 2,
    ...     "connector": ["O365"] * 2,
    ...     "code": [454] * 2, "enhanced_status": ["4.7.0"] * 2, "reason": ["UntrustedRoot"] * 2,
    ...     "record_id": [1, 2], "source": ["a.evtx"] * 2})
    >>> tl = build_timeline(failures=failures, tz="Europe/Warsaw")
    >>> str(tl.onset), str(tl.episodes.loc[0, "onset_local"])
    ('2025-03-20 09:14:00+00:00', '2025-03-20 10:14:00+01:00')
    """
    points = failure_points(failures=failures, sessions=sessions, tracking=tracking, queues=queues)
    zone = tz or "UTC"
    gap = pd.Timedelta(gap)
    found = episodes(points, gap=gap, tz=zone)
    onset = None if points.empty else points["time"].min()
    delivered = deliveries(sessions=sessions, tracking=tracking)
    recovered = recoveries(delivered, points)
    return Timeline(
        points=points,
        counts=failures_per_bucket(points, bucket=bucket, tz=zone),
        by_connector=failures_per_bucket(points, bucket=bucket, by="connector", tz=zone),
        by_server=failures_per_bucket(points, bucket=bucket, by="server", tz=zone),
        episodes=found,
        context=onset_context(onset, events=events, certs=certs, recovered=recovered, tz=zone),
        deliveries=delivered, recoveries=recovered, tz=zone, bucket=bucket, gap=gap,
    )
