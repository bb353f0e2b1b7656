"""SMTP protocol logs (``SENDyyyymmdd-n.LOG``, ``RECVyyyymmdd-n.LOG``): one row per SMTP session.

Exchange writes one CSV line per step of a session (``+`` connect, ``>`` sent,
``<`` received, ``*`` information, ``-`` disconnect). After STARTTLS it logs the
certificate it presents (``Sending certificate`` and five attribute lines, or, in
newer builds, one line holding them all) and the peer's (``Remote certificate``),
then whether TLS was negotiated. The sessions frame pairs all of that per session,
across rotated files, so the thumbprint of the certificate presented sits next to
the reply it earned.

Send logs (``#Log-type: SMTP Send Protocol Log``: this server is the client) and
receive logs (``SMTP Receive Protocol Log``: this server answers) of the Hub,
Front End and Edge transport, of every version since Exchange 2010 (``#Version``
14.x, 15.x; all write the same nine fields), are read by their headers into one
frame whose ``direction`` column says which (``send`` / ``receive``). Only send
sessions are this server's outbound deliveries: see :func:`send_sessions`. A send
connector with FrontendProxyEnabled makes the Transport service hand each message to
the Front End Transport service (its ``Outbound Proxy Frontend`` receive connector,
port 717): the Hub's log shows that hand-off (:func:`to_frontend`), the Front End's
own send log (``FrontEnd\\ProtocolLog\\SmtpSend``) the session to the next hop.

>>> from exlab.lab.transport_logs import demo_protocol_log
>>> sessions = read_protocol_log(demo_protocol_log())
>>> sessions[["connector", "cert_subject", "tls", "reply_code", "tls_reason", "outcome"]].values.tolist()
[['Outbound to Office 365', 'CN=mail.contoso.com', 'succeeded', 454, 'UntrustedRoot', 'rejected']]
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exlab.evidence import Sources
from exlab.parse_report import ParseReport
from exlab.transport.logfile import LogKind, detect, read_log_tables
from exlab.transport.schema import (
    PROTOCOL_LINE_DTYPES,
    log_columns,
    make_frame,
    text_integers,
)
from exlab.transport.sessions import sessions_frame
from exlab.value_ranges import count_lost

PROTOCOL_FIELDS = ("date-time", "connector-id", "session-id", "sequence-number", "local-endpoint",
                   "remote-endpoint", "event", "data", "context")
SEND_PROTOCOL_LOG = LogKind("SMTP Send Protocol Log", PROTOCOL_FIELDS, "smtp-send-protocol-log")
RECEIVE_PROTOCOL_LOG = LogKind("SMTP Receive Protocol Log", PROTOCOL_FIELDS, "smtp-receive-protocol-log")
PROTOCOL_LOGS = (SEND_PROTOCOL_LOG, RECEIVE_PROTOCOL_LOG)
#: log kind -> the frame's ``direction``
DIRECTIONS = {SEND_PROTOCOL_LOG: "send", RECEIVE_PROTOCOL_LOG: "receive"}
# the fields as the lines' columns (date-time is ``time``)
_COLUMNS = {"connector-id": "connector", "session-id": "session_id", "sequence-number": "sequence_number",
            "local-endpoint": "local_endpoint", "remote-endpoint": "remote_endpoint", "event": "event",
            "data": "data", "context": "context"}
# the fields read dictionary-encoded (each distinct text once: sessions repeat their EHLO answers,
# certificates and endpoints); the sequence number stays text, read as a number by read_protocol_lines
_ENCODED = frozenset(PROTOCOL_FIELDS) - {"date-time", "sequence-number"}

def detect_protocol_log(head: bytes) -> bool:
    """Whether a file's first bytes are an SMTP send or receive protocol log.

    >>> detect_protocol_log(b"#Software: Microsoft Exchange Server\\r\\n#Version: 15.0.0.0\\r\\n"
    ...                     b"#Log-type: SMTP Send Protocol Log\\r\\n")
    True
    >>> detect_protocol_log(b"#Software: Microsoft Exchange Server\\r\\n#Log-type: SMTP Receive Protocol Log\\r\\n")
    True
    >>> detect_protocol_log(b"#Software: Microsoft Exchange Server\\r\\n#Log-type: Message Tracking Log\\r\\n")
    False
    """
    return detect(head, PROTOCOL_LOGS)


#: the port of the Front End Transport service's ``Outbound Proxy Frontend`` receive connector
OUTBOUND_PROXY_PORT = "717"


def to_frontend(sessions: pd.DataFrame) -> pd.Series:
    """Which sessions hand a message to the Front End Transport service's outbound proxy (the remote
    endpoint's port is 717, its ``Outbound Proxy Frontend`` receive connector), as the Transport
    service does for a send connector with FrontendProxyEnabled. The Front End connects to the
    next hop and presents its own certificate there; the hand-off's certificate and replies are
    the Front End's answers to the Hub, not the next hop's.

    >>> frame = pd.DataFrame({"remote_endpoint": ["10.0.0.5:717", "104.47.1.33:25", "[::1]:717", None]})
    >>> to_frontend(frame).tolist()
    [True, False, True, False]
    """
    if "remote_endpoint" not in sessions:
        return pd.Series(False, index=sessions.index)
    remote = sessions["remote_endpoint"].astype("string").str.strip()
    return remote.str.endswith(f":{OUTBOUND_PROXY_PORT}").fillna(False).astype(bool)


def send_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """The sessions this server sent to the next hop (``direction`` ``send``; a frame without the column
    is all send), the hand-offs to the Front End Transport service left out (:func:`to_frontend`). A frame
    of such sessions alone is given back as it is (a month of them is not copied).

    Receive sessions are other servers delivering to this one: never an outbound failure. A hand-off to
    the Front End is neither a delivery nor a failure of its own: the Front End's send log has the session
    that reached the next hop, with the certificate it presented.

    >>> frame = pd.DataFrame({"session_id": ["A", "B", "C"], "direction": ["send", "receive", "send"],
    ...                       "remote_endpoint": ["104.47.1.33:25", "10.0.0.9:2525", "10.0.0.5:717"]})
    >>> sent = frame[:1]
    >>> send_sessions(frame)["session_id"].tolist(), send_sessions(sent) is sent
    (['A'], True)
    """
    if sessions is None or ("direction" not in sessions and "remote_endpoint" not in sessions):
        return sessions
    sent = ~to_frontend(sessions)
    if "direction" in sessions:
        sent &= (sessions["direction"].astype("string") != "receive").fillna(True).astype(bool)
    return sessions if sent.all() else sessions[sent]


def _problems(values: Mapping[str, pa.ChunkedArray]) -> Iterator[tuple[int, str]]:
    """Rows without a session-id or a numeric sequence-number."""
    bad = pc.or_kleene(pc.is_null(values["session-id"]),
                       pc.invert(pc.ascii_is_decimal(values["sequence-number"])))
    for row in np.flatnonzero(pc.fill_null(bad, True).to_numpy()).tolist():
        yield row, "expected a session-id and a numeric sequence-number"


def _lines(source: Sources, report: ParseReport) -> dict[str, Any]:
    """Every good line of every send or receive log file, in rotation order, as columns (see
    :func:`~exlab.transport.schema.log_columns`; the text fields as Arrow dictionary columns), with
    each file's ``direction`` and ``folder``."""
    tables = read_log_tables(source, PROTOCOL_LOGS, report, _problems, encoded=_ENCODED)
    columns, lost = log_columns(tables, _COLUMNS, {"direction": lambda table: DIRECTIONS[table.header.kind],
                                                   "folder": lambda table: os.path.dirname(table.source)})
    if lost:
        rows = lost["time"][1]
        count_lost(report, {row: columns["source"][row].as_py() for row in rows},
                   lambda row: f"line {columns['line'][row]}", lost)
    return columns


def read_protocol_log(source: Sources, *, failure_times: bool = False) -> pd.DataFrame:
    """Read SMTP send and receive protocol logs (a file, a folder, a list, or a binary stream)
    into the sessions frame.

    Files are read in rotation order and a session that spans files of one folder (one
    server's log folder) is joined; folders of several servers, and send and receive
    logs, are kept apart, so equal session ids never mix. ``direction`` is ``send`` or
    ``receive`` (by each file's ``#Log-type``); in a receive session ``replies`` are
    the ones this server gave. ``notes`` holds ``(time, text)`` of every information
    line that reports a failure (such as ``Outbound Authentication failed to initialize
    with ...``). ``frame.attrs["parse_report"]`` holds each file's SHA-256 and skipped lines.

    ``outcome`` is ``tls-failed`` when the handshake failed, else ``rejected`` when a
    reply was 4xx/5xx (``final_reply`` is the first such), else ``delivered`` when a
    message's data was accepted (``messages_delivered`` counts them), else
    ``disconnected``. ``message_ids`` are the Internet Message-IDs the session carried
    (they join with %2 of event 2004 and with the tracking log).

    Every file is read once, by ``pyarrow.csv``, and the sessions are built from its columns
    (:mod:`exlab.transport.sessions`). ``failure_times`` adds ``failed_at`` and ``failed_line``:
    when and on which line (``SEND20250320-1.LOG line 21``) the first failing reply or TLS
    error of each send session was logged, and ``delivered_at`` and ``delivered_line``: those of
    the reply that accepted a session's first message (NaT and NA for the others).

    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> read_protocol_log(demo_protocol_log()).loc[0, ["cert_thumbprint", "final_reply"]].tolist()
    ['3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
    """
    report = ParseReport()
    return sessions_frame(_lines(source, report), report, failure_times=failure_times)


def read_protocol_lines(source: Sources) -> pd.DataFrame:
    """Every good line of SMTP send and receive protocol logs, as written (``time``, the fields,
    ``direction``, ``source``, ``line``).

    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> lines = read_protocol_lines(demo_protocol_log())
    >>> lines.loc[lines.context == "Certificate thumbprint", "data"].tolist()[:1]
    ['3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55']
    """
    report = ParseReport()
    columns = _lines(source, report)
    columns["sequence_number"], texts, rows = text_integers(columns["sequence_number"], "Int64")
    frame = make_frame(columns, PROTOCOL_LINE_DTYPES, report)
    if rows:
        count_lost(report, {row: columns["source"][row].as_py() for row in rows},
                   lambda row: f"line {columns['line'][row]}", {"sequence_number": (texts, rows)})
    return frame
