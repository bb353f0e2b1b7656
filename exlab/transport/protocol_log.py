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
sessions are this server's outbound deliveries: see :func:`send_sessions`.

>>> from exlab.lab.transport_logs import demo_protocol_log
>>> sessions = read_protocol_log(demo_protocol_log())
>>> sessions[["connector", "cert_subject", "tls", "reply_code", "tls_reason", "outcome"]].values.tolist()
[['Outbound to Office 365', 'CN=mail.contoso.com', 'succeeded', 454, 'UntrustedRoot', 'rejected']]
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Iterator

import pandas as pd

from exlab.evidence import Sources
from exlab.parse_report import ParseReport
from exlab.transport.logfile import LogKind, LogRecord, detect, iter_log_lines
from exlab.transport.schema import PROTOCOL_LINE_DTYPES, SESSION_DTYPES, TextColumns, make_frame
from exlab.transport.smtp_reply import parse_smtp_reply

PROTOCOL_FIELDS = ("date-time", "connector-id", "session-id", "sequence-number", "local-endpoint",
                   "remote-endpoint", "event", "data", "context")
SEND_PROTOCOL_LOG = LogKind("SMTP Send Protocol Log", PROTOCOL_FIELDS, "smtp-send-protocol-log")
RECEIVE_PROTOCOL_LOG = LogKind("SMTP Receive Protocol Log", PROTOCOL_FIELDS, "smtp-receive-protocol-log")
PROTOCOL_LOGS = (SEND_PROTOCOL_LOG, RECEIVE_PROTOCOL_LOG)
#: log kind -> the frame's ``direction``
DIRECTIONS = {SEND_PROTOCOL_LOG: "send", RECEIVE_PROTOCOL_LOG: "receive"}
# in a receive log this server answers: what it sent (">") are the SMTP replies, what it received
# ("<") the client's commands; swapped, a receive session reads like a send session
_RECEIVE_EVENTS = {"<": ">", ">": "<"}

# the context of the '*' lines that carry a certificate attribute, and the attribute each names
_CERT_ATTRIBUTES = {
    "certificate subject": "subject",
    "certificate issuer name": "issuer",
    "certificate serial number": "serial",
    "certificate thumbprint": "thumbprint",
    "certificate alternate names": "names",
}
_LOCAL_CERT = "sending certificate"
_REMOTE_CERT = ("remote certificate", "received certificate")
_TLS_OK = re.compile(r"^TLS protocol \S+ negotiation succeeded", re.IGNORECASE)
_TLS_FAILED = re.compile(r"^TLS negotiation failed with error (?P<reason>.+?)\.?$", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"InternetMessageId (<[^>]*>)")
# an information line that reports a failure (kept with its time in ``notes``), e.g. the SmtpSend
# "Outbound Authentication failed to initialize with TLS1_0NotSupported"
_FAILURE_NOTE = re.compile(r"\b(?:fail(?:ed|ure)?|error|unable|denied|refused|rejected|timed out)\b", re.IGNORECASE)
# newer builds log a certificate on one line: the values space-separated in data, their names in context
_ONE_LINE_CERT = re.compile(
    r"^\s*(?P<dns>.+?) (?P<serial>[0-9A-Fa-f]+) (?P<thumbprint>[0-9A-Fa-f]{40}) "
    r"(?P<not_before>\d{4}-\d\d-\d\dT[0-9:.]+Z) (?P<not_after>\d{4}-\d\d-\d\dT[0-9:.]+Z)(?: (?P<names>\S*))?\s*$")
_DN_BREAK = re.compile(r"(?<!,) (?=[A-Za-z][A-Za-z0-9.]*=)")
_ENVELOPE_OK = re.compile(r"^2\d\d[ -]2\.1\.\d")
_BDAT_LAST = re.compile(r"^BDAT \d+ LAST\b", re.IGNORECASE)


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


def send_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """The sessions this server sent (``direction`` ``send``; a frame without the column is all send).

    Receive sessions are other servers delivering to this one: never an outbound failure.

    >>> frame = pd.DataFrame({"session_id": ["A", "B"], "direction": ["send", "receive"]})
    >>> send_sessions(frame)["session_id"].tolist()
    ['A']
    """
    if sessions is None or "direction" not in sessions:
        return sessions
    return sessions[(sessions["direction"].astype("string") != "receive").fillna(True).astype(bool)]


class _Session:
    """What one session has shown so far (filled line by line)."""

    __slots__ = ("session_id", "connector", "direction", "local_endpoint", "remote_endpoint", "start", "end",
                 "certs", "block", "tls", "tls_error", "replies", "notes", "message_ids", "delivered", "in_data",
                 "sources")

    def __init__(self, session_id: str, connector: str, time: int, direction: str = "send") -> None:
        self.session_id = session_id
        self.connector = connector
        self.direction = direction
        self.local_endpoint = self.remote_endpoint = None
        self.start = self.end = time
        self.certs: dict[str, dict[str, str]] = {"local": {}, "remote": {}}
        self.block: str | None = None
        self.tls = "none"
        self.tls_error: str | None = None
        self.replies: list[str] = []
        self.notes: list[tuple[int, str]] = []
        self.message_ids: list[str] = []
        self.delivered = 0
        self.in_data = False
        self.sources: list[str] = []

    def add(self, time: int, values: list[str], source: str) -> None:
        local, remote, event, data, context = values[4:9]
        if self.direction == "receive":
            event = _RECEIVE_EVENTS.get(event, event)
        if time < self.start:
            self.start = time
        elif time > self.end:
            self.end = time
        if source not in self.sources:
            self.sources.append(source)
        self.local_endpoint = self.local_endpoint or local or None
        self.remote_endpoint = self.remote_endpoint or remote or None
        if event == "<":
            self._received(data)
        elif event == ">":
            self.block = None
            self.in_data = bool(_BDAT_LAST.match(data))
        elif event == "*":
            self._information(time, data, context)

    def _received(self, data: str) -> None:
        self.block = None
        self.replies.append(data)
        code = data[:3]
        if code == "354":
            self.in_data = True
        elif self.in_data and code.startswith("2"):
            if not _ENVELOPE_OK.match(data):   # pipelined MAIL/RCPT answers come before the data's
                self.delivered += 1
                self.in_data = False
        elif self.in_data:
            self.in_data = False

    def _information(self, time: int, data: str, context: str) -> None:
        label = context.strip().lower()
        one_line = _ONE_LINE_CERT.match(data) if data and " " in label else None
        if one_line is not None and label.startswith((_LOCAL_CERT, *_REMOTE_CERT)):
            self.block = None
            self.certs["local" if label.startswith(_LOCAL_CERT) else "remote"].update(_one_line_certificate(one_line))
        elif label == _LOCAL_CERT:
            self.block = "local"
        elif label in _REMOTE_CERT:
            self.block = "remote"
        elif label in _CERT_ATTRIBUTES and self.block is not None:
            self.certs[self.block][_CERT_ATTRIBUTES[label]] = data
        else:
            self.block = None
            text = context or data
            failed = _TLS_FAILED.match(text)
            if failed:
                self.tls, self.tls_error = "failed", failed.group("reason")
            elif _TLS_OK.match(text):
                self.tls = "succeeded"
            if _FAILURE_NOTE.search(text):
                self.notes.append((time, " ".join(part for part in (data, context) if part)))
            found = _MESSAGE_ID.search(text)
            if found and found.group(1) not in self.message_ids:
                self.message_ids.append(found.group(1))

    def row(self) -> dict:
        local, remote = self.certs["local"], self.certs["remote"]
        final = next((r for r in self.replies if r[:1] in ("4", "5") and r[:3].isdigit()),
                     self.replies[-1] if self.replies else None)
        reply = parse_smtp_reply(final) if final is not None else None
        if self.tls == "failed":
            outcome = "tls-failed"
        elif reply is not None and reply.code is not None and reply.code >= 400:
            outcome = "rejected"
        elif self.delivered:
            outcome = "delivered"
        else:
            outcome = "disconnected"
        return {
            "session_id": self.session_id, "connector": self.connector,
            "local_endpoint": self.local_endpoint, "remote_endpoint": self.remote_endpoint,
            "start": self.start, "end": self.end,
            "cert_thumbprint": _hex(local.get("thumbprint")), "cert_subject": local.get("subject") or None,
            "cert_issuer": local.get("issuer") or None, "cert_serial": _hex(local.get("serial")),
            "cert_names": _names(local.get("names")),
            "remote_cert_thumbprint": _hex(remote.get("thumbprint")),
            "remote_cert_subject": remote.get("subject") or None, "remote_cert_issuer": remote.get("issuer") or None,
            "direction": self.direction,
            "tls": self.tls, "tls_error": self.tls_error, "replies": tuple(self.replies), "final_reply": final,
            "notes": tuple((pd.Timestamp(when, unit="ns", tz="UTC"), text) for when, text in self.notes),
            "reply_code": reply.code if reply else None, "enhanced_status": reply.enhanced_status if reply else None,
            "tls_reason": (reply.tls_reason if reply and reply.tls_reason else self.tls_error),
            "outcome": outcome, "message_ids": tuple(self.message_ids), "messages_delivered": self.delivered,
            "source": "; ".join(self.sources),
        }


def _one_line_certificate(match: re.Match) -> dict[str, str]:
    """The attributes of a certificate logged on one line: subject and issuer are split where a
    new ``X=`` starts after a space that no comma precedes (inside a DN, parts follow ``, ``)."""
    parts = _DN_BREAK.split(match.group("dns").strip(), maxsplit=1)
    return {"subject": parts[0], "issuer": parts[1] if len(parts) > 1 else "",
            "serial": match.group("serial"), "thumbprint": match.group("thumbprint"),
            "names": match.group("names") or ""}


def _hex(value: str | None) -> str | None:
    return "".join(value.split()).upper() if value and value.strip() else None


def _names(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(part.strip().lower() for part in value.split(";") if part.strip()))


def _problem(values: list[str]) -> str | None:
    if not values[2] or not (values[3].isascii() and values[3].isdigit()):
        return "expected a session-id and a numeric sequence-number"
    return None


def _records(source: Sources, report: ParseReport) -> Iterator[LogRecord]:
    """Each good line of every send or receive log file, in rotation order."""
    return iter_log_lines(source, PROTOCOL_LOGS, report, _problem)


def read_protocol_log(source: Sources) -> pd.DataFrame:
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

    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> read_protocol_log(demo_protocol_log()).loc[0, ["cert_thumbprint", "final_reply"]].tolist()
    ['3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
    """
    report = ParseReport()
    rows: list[dict] = []
    folders: dict[str, str] = {}
    open_sessions: dict[tuple[str, str, str], _Session] = {}
    for name, _line, time, values, header in _records(source, report):
        folder = folders.get(name)
        if folder is None:
            folder = folders[name] = os.path.dirname(name)
        direction = DIRECTIONS[header.kind]
        key = (folder, direction, values[2])
        session = open_sessions.get(key)
        if session is None:
            session = open_sessions[key] = _Session(values[2], values[1], time, direction)
        session.add(time, values, name)
        if values[6] == "-":
            rows.append(open_sessions.pop(key).row())
    rows.extend(session.row() for session in open_sessions.values())
    rows.sort(key=lambda row: (row["start"], row["direction"] != "send", row["session_id"]))
    columns = {name: [row[name] for row in rows] for name in SESSION_DTYPES}
    return make_frame(columns, SESSION_DTYPES, report)


def read_protocol_lines(source: Sources) -> pd.DataFrame:
    """Every good line of SMTP send and receive protocol logs, as written (``time``, the fields,
    ``direction``, ``source``, ``line``).

    >>> from exlab.lab.transport_logs import demo_protocol_log
    >>> lines = read_protocol_lines(demo_protocol_log())
    >>> lines.loc[lines.context == "Certificate thumbprint", "data"].tolist()[:1]
    ['3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55']
    """
    report = ParseReport()
    text = TextColumns(("connector", "session_id", "sequence_number", "local_endpoint", "remote_endpoint",
                        "event", "data", "context", "source", "direction"))
    times, lines = array("q"), array("q")
    for name, line, time, values, header in _records(source, report):
        values[0] = name                     # the time is in ``times``; the row's file takes its place
        text.append(values[1:] + values[:1] + [DIRECTIONS[header.kind]])
        times.append(time)
        lines.append(line)
    columns: dict[str, object] = dict(text.columns())
    columns["time"], columns["line"] = times, lines
    return make_frame(columns, PROTOCOL_LINE_DTYPES, report)
