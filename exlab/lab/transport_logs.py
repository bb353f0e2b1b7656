"""Lab writers of transport evidence: SMTP send and receive protocol logs, message tracking
logs, and Get-SendConnector / Get-ReceiveConnector / Get-ExchangeServer exports.

The logs are written the way Exchange writes them: UTF-8 with a byte order mark, ``#`` header lines, CSV records
quoted only where needed, CRLF, UTC ``date-time`` with milliseconds, one file per UTC
day (``SENDyyyymmdd-n.LOG``, ``RECVyyyymmdd-n.LOG``, ``MSGTRKyyyymmdd-n.LOG``), a new
``-n`` when a file is full, with the ``#Version`` and ``#Fields`` of the server's Exchange
version (:func:`log_version`: Exchange 2010 tracking logs have 26 fields, 2013 27, 2016/2019 30). The settings exports are written as an engineer gets them from Windows
PowerShell 5.1: ``| fl`` redirected to a file (UTF-16 LE with BOM, values wrapped at
the console width), ``Export-Clixml`` and ``ConvertTo-Json``. Same inputs, same bytes.

>>> data = demo_protocol_log().getvalue()
>>> data.splitlines()[4].decode()
'#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context'
>>> b"*,,Sending certificate\\r\\n" in data
True
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import count
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import pandas as pd

from exlab.cultures import DATE_FORMATS, wraps_words
from exlab.events.clixml import encode_string
from exlab.lab.powershell_table import split_lines
from exlab.transport.protocol_log import RECEIVE_PROTOCOL_LOG, SEND_PROTOCOL_LOG
from exlab.transport.schema import TRACKING_COLUMNS, TRACKING_FIELDS
from exlab.transport.tracking_export import PROPERTIES as TRACKING_EVENT_PROPERTIES
from exlab.transport.tracking_log import TRACKING_LOG

MS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_LOG_BYTES = 10 * 1024 * 1024          # Exchange's default maximum log file size
_NS_PER_DAY = 86_400 * 1_000_000_000
TLS_SUCCEEDED = ("TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm "
                 "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits "
                 "and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits")
TLS_SERVER_SUCCEEDED = TLS_SUCCEEDED.replace("_CLIENT ", "_SERVER ")
# tracking fields each version leaves out: 2013 writes no traffic type, log id or schema version;
# 2010 not the network message id either
_NOT_IN_2013 = ("transport-traffic-type", "log-id", "schema-version")
_NOT_IN_2010 = _NOT_IN_2013 + ("network-message-id",)
_EXCHANGE_VERSION = re.compile(r"^(\d+)\.(\d+) \(Build (\d+)\.(\d+)\)$")
_EHLO_KEYWORDS = ("SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME",
                  "BINARYMIME", "CHUNKING", "SMTPUTF8")


@dataclass(frozen=True)
class LoggedCertificate:
    """A certificate as the protocol log shows it (the five lines after ``Sending certificate``)."""

    subject: str
    issuer: str
    serial: str
    thumbprint: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggedMessage:
    """A message a session carries: what the ``*``, ``MAIL FROM``/``RCPT TO``/``BDAT`` lines show."""

    message_id: str            # with its angle brackets, as Internet Message-IDs are logged
    sender: str
    recipients: tuple[str, ...]
    size: int
    record_id: int


@dataclass(frozen=True)
class ProtocolSession:
    """One SMTP send session, as a spec for :func:`protocol_lines`.

    Times are int nanoseconds since the epoch (UTC). ``certificate`` is what the
    server presents after STARTTLS (None: no STARTTLS); ``tls_error`` makes the
    handshake fail (``NoCredentials``); ``reply`` is the failing answer (e.g.
    ``454 4.7.0 ...``) to the first message's MAIL FROM (to EHLO when there is no
    message) at ``reply_at``; without ``reply`` every message is delivered.
    """

    connector: str
    session_id: str
    start: int
    end: int
    local_endpoint: str
    remote_endpoint: str
    ehlo_domain: str
    remote_host: str
    certificate: LoggedCertificate | None = None
    remote_certificate: LoggedCertificate | None = None
    tls_error: str | None = None
    reply: str | None = None
    reply_at: int | None = None
    messages: tuple[LoggedMessage, ...] = ()


@dataclass(frozen=True)
class LogVersion:
    """What one Exchange version writes in its transport logs: the tracking log's ``#Version``
    (the server's build from Exchange 2013 on), the protocol log's ``#Version`` and the tracking
    log's fields."""

    build: str
    protocol: str
    tracking_fields: tuple[str, ...]


def log_version(exchange_version: str) -> LogVersion:
    """The log headers of a server whose AdminDisplayVersion is ``exchange_version``
    (``15.2 (Build 1544.4)``, as Get-ExchangeServer shows it without ``Version``).

    >>> e2013 = log_version("15.0 (Build 1497.2)")
    >>> e2013.build, e2013.protocol, len(e2013.tracking_fields)
    ('15.00.1497.002', '15.0.0.0', 27)
    >>> [len(log_version(v).tracking_fields) for v in ("14.3 (Build 123.4)", "15.1 (Build 2507.6)")]
    [26, 30]
    """
    match = _EXCHANGE_VERSION.match(exchange_version.strip())
    if match is None:
        raise ValueError(f"an Exchange version such as '15.2 (Build 1544.4)', not {exchange_version!r}")
    major, minor, build, revision = (int(part) for part in match.groups())
    left_out = _NOT_IN_2010 if major < 15 else _NOT_IN_2013 if minor == 0 else ()
    # Exchange 2010 heads its tracking logs with 14.0.0.0; 2013 and later with the server's build
    build_header = f"{major}.0.0.0" if major < 15 else f"{major}.{minor:02d}.{build:04d}.{revision:03d}"
    return LogVersion(build_header, f"{major}.0.0.0",
                      tuple(name for name in TRACKING_FIELDS if name not in left_out))


LATEST = log_version("15.2 (Build 1544.4)")


# -- time and CSV helpers ---------------------------------------------------------------

def log_time(ns: int) -> str:
    """An int of nanoseconds as Exchange's log ``date-time`` (UTC, milliseconds).

    >>> log_time(1_742_462_042_123_456_700)
    '2025-03-20T09:14:02.123Z'
    """
    stamp = _EPOCH + timedelta(microseconds=ns // 1000)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _csv_line(values: Sequence[str]) -> str:
    if any("\r" in value or "\n" in value for value in values):
        raise ValueError(f"a log record is one line: line breaks in {values!r}")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(values)
    return buffer.getvalue()


def _header(log_type: str, version: str, first_ns: int, fields: Sequence[str]) -> str:
    """The ``#`` lines that open a log file, after the UTF-8 byte order mark Exchange writes first."""
    return (f"\ufeff#Software: Microsoft Exchange Server\r\n#Version: {version}\r\n#Log-type: {log_type}\r\n"
            f"#Date: {log_time(first_ns)}\r\n#Fields: {','.join(fields)}\r\n")


def _open_target(target: str | Path | BinaryIO):
    if hasattr(target, "write"):
        return target, False
    return open(target, "wb"), True  # noqa: SIM115 - closed by the caller below


def _write_log(target: str | Path | BinaryIO, header: str, lines: Iterable[str]) -> None:
    stream, close = _open_target(target)
    try:
        stream.write(header.encode("utf-8"))
        for line in lines:
            stream.write(line.encode("utf-8"))
    finally:
        if close:
            stream.close()


def _write_rotated(folder: str | Path, prefix: str, log_type: str, version: str, fields: Sequence[str],
                   timed_lines: Iterable[tuple[int, str]], max_bytes: int) -> list[Path]:
    """Write ``(ns, line)`` pairs (in time order) into ``<prefix>yyyymmdd-n.LOG`` files by UTC day."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    stream = None
    day, number, size = None, 0, 0
    try:
        for ns, line in timed_lines:
            encoded = line.encode("utf-8")
            line_day = ns // _NS_PER_DAY    # a number per UTC day: the day's name is made once per file
            if stream is None or line_day != day or size + len(encoded) > max_bytes:
                if stream is not None:
                    stream.close()
                number = number + 1 if line_day == day else 1
                day = line_day
                path = folder / f"{prefix}{log_time(ns)[:10].replace('-', '')}-{number}.LOG"
                paths.append(path)
                stream = open(path, "wb")  # noqa: SIM115 - closed on rotation and at the end
                head = _header(log_type, version, ns, fields).encode("utf-8")
                stream.write(head)
                size = len(head)
            stream.write(encoded)
            size += len(encoded)
    finally:
        if stream is not None:
            stream.close()
    return paths


# -- SMTP send protocol log ---------------------------------------------------------------

def _session_steps(session: ProtocolSession) -> Iterator[tuple[str, str, str, bool]]:
    """(event, data, context, is_the_failing_reply) of each line of one session, in order."""
    local_ip = session.local_endpoint.rsplit(":", 1)[0]
    yield "*", "", "attempting to connect", False
    yield "+", "", "", False
    greeting = f"220 {session.remote_host} Microsoft ESMTP MAIL Service ready at {_banner_time(session.start)}"
    yield "<", greeting, "", False
    yield ">", f"EHLO {session.ehlo_domain}", "", False
    yield from _ehlo_answer(session.remote_host, local_ip, starttls=session.certificate is not None)
    if session.certificate is not None:
        yield ">", "STARTTLS", "", False
        yield "<", "220 2.0.0 SMTP server ready", "", False
        yield from _certificate_lines("Sending certificate", session.certificate)
        if session.remote_certificate is not None:
            yield from _certificate_lines("Remote certificate", session.remote_certificate)
        if session.tls_error is not None:
            yield "*", "", f"TLS negotiation failed with error {session.tls_error}", False
            yield "-", "", "Local", False
            return
        yield "*", "", TLS_SUCCEEDED, False
        yield ">", f"EHLO {session.ehlo_domain}", "", False
        yield from _ehlo_answer(session.remote_host, local_ip, starttls=False)
    if session.reply is not None and not session.messages:
        yield "<", session.reply, "", True
    for message in session.messages:
        yield "*", "", (f"sending message with RecordId {message.record_id} and InternetMessageId "
                        f"{message.message_id}"), False
        yield ">", f"MAIL FROM:<{message.sender}> SIZE={message.size}", "", False
        if session.reply is not None:
            yield "<", session.reply, "", True
            break
        for recipient in message.recipients:
            yield ">", f"RCPT TO:<{recipient}>", "", False
        yield ">", f"BDAT {message.size} LAST", "", False
        yield "<", "250 2.1.0 Sender OK", "", False
        for _ in message.recipients:
            yield "<", "250 2.1.5 Recipient OK", "", False
        yield "<", (f"250 2.6.0 {message.message_id} [InternalId={message.record_id}, "
                    f"Hostname={session.remote_host}] {message.size} bytes in 0.{reply_latency(message.record_id)}, "
                    "Queued mail for delivery"), "", False
    yield ">", "QUIT", "", False
    yield "<", "221 2.0.0 Service closing transmission channel", "", False
    yield "-", "", "Local", False


def reply_latency(record_id: int) -> str:
    """The milliseconds a ``250 2.6.0`` reply quotes for a message (``... bytes in 0.437``), from its record id.

    >>> reply_latency(51_539_607_553)
    '653'
    """
    return str(record_id % 900 + 100)


def _banner_time(ns: int) -> str:
    """The time in an Exchange Online greeting: ``Thu, 20 Mar 2025 09:14:01 +0000`` (English, always)."""
    stamp = _EPOCH + timedelta(seconds=ns // 1_000_000_000)
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[stamp.weekday()]
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[stamp.month - 1]
    return f"{day}, {stamp.day} {month} {stamp.year} {stamp:%H:%M:%S} +0000"


def _ehlo_answer(server: str, client_ip: str, starttls: bool, event: str = "<") -> Iterator[tuple[str, str, str, bool]]:
    """The EHLO answer of ``server`` to ``client_ip``: received (``<``) in a send log, sent (``>``) in a receive log."""
    keywords = [k for k in _EHLO_KEYWORDS if starttls or k != "STARTTLS"]
    yield event, f"250-{server} Hello [{client_ip}]", "", False
    for keyword in keywords[:-1]:
        yield event, f"250-{keyword}", "", False
    yield event, f"250 {keywords[-1]}", "", False


def _certificate_lines(label: str, cert: LoggedCertificate) -> Iterator[tuple[str, str, str, bool]]:
    yield "*", "", label, False
    yield "*", cert.subject, "Certificate subject", False
    yield "*", cert.issuer, "Certificate issuer name", False
    yield "*", cert.serial, "Certificate serial number", False
    yield "*", cert.thumbprint, "Certificate thumbprint", False
    yield "*", ";".join(cert.names), "Certificate alternate names", False


def _spread(start: int, end: int, count: int) -> list[int]:
    """``count`` whole-millisecond times from ``start`` to ``end`` (both ends included when count > 1)."""
    if count <= 0:
        return []
    if count == 1:
        return [start - start % MS]
    span = max(end - start, 0)
    return [(start + span * index // (count - 1)) // MS * MS for index in range(count)]  # integers: no float drift


def _receive_steps(session: ProtocolSession) -> Iterator[tuple[str, str, str, bool]]:
    """The lines of a session this server received: ``remote_host`` is this server (its banner),
    ``ehlo_domain`` the client, ``certificate`` the one this server presents after STARTTLS;
    ``reply`` is this server's refusal of the first MAIL FROM (every message accepted without it)."""
    remote_ip = session.remote_endpoint.rsplit(":", 1)[0]
    yield "+", "", "", False
    banner = f"220 {session.remote_host} Microsoft ESMTP MAIL Service ready at {_banner_time(session.start)}"
    yield ">", banner, "", False
    yield "<", f"EHLO {session.ehlo_domain}", "", False
    yield from _ehlo_answer(session.remote_host, remote_ip, session.certificate is not None, ">")
    if session.certificate is not None:
        yield "<", "STARTTLS", "", False
        yield ">", "220 2.0.0 SMTP server ready", "", False
        yield from _certificate_lines("Sending certificate", session.certificate)
        yield "*", "", TLS_SERVER_SUCCEEDED, False
        yield "<", f"EHLO {session.ehlo_domain}", "", False
        yield from _ehlo_answer(session.remote_host, remote_ip, False, ">")
    for message in session.messages:
        yield "<", f"MAIL FROM:<{message.sender}> SIZE={message.size}", "", False
        if session.reply is not None:
            yield ">", session.reply, "", True
            break
        yield "*", f"{session.session_id};{message.record_id}", "receiving message", False
        yield ">", "250 2.1.0 Sender OK", "", False
        for recipient in message.recipients:
            yield "<", f"RCPT TO:<{recipient}>", "", False
            yield ">", "250 2.1.5 Recipient OK", "", False
        yield "<", f"BDAT {message.size} LAST", "", False
        yield ">", (f"250 2.6.0 {message.message_id} [InternalId={message.record_id}, Hostname={session.remote_host}] "
                    f"Queued mail for delivery"), "", False
    yield "<", "QUIT", "", False
    yield ">", "221 2.0.0 Closing connection.", "", False
    yield "-", "", "Local", False


def protocol_lines(session: ProtocolSession, *, direction: str = "send") -> list[tuple[int, str]]:
    """The ``(ns, CSV line)`` pairs one session writes to the send (or ``direction="receive"``) protocol log.

    >>> demo = demo_session()
    >>> lines = protocol_lines(demo)
    >>> lines[0][1]
    '2025-03-20T09:14:01.000Z,Outbound to Office 365,08DD6A1B2C3D4E5F,0,,104.47.1.33:25,*,,attempting to connect\\r\\n'
    >>> lines[-1][1].endswith(",-,,Local\\r\\n")
    True
    """
    steps = list(_session_steps(session) if direction == "send" else _receive_steps(session))
    failing = next((index for index, step in enumerate(steps) if step[3]), None)
    if failing is None or session.reply_at is None:
        times = _spread(session.start, session.end, len(steps))
    else:
        times = (_spread(session.start, session.reply_at, failing + 1)
                 + _spread(session.reply_at, session.end, len(steps) - failing)[1:])
    out = []
    for sequence, ((event, data, context, _), ns) in enumerate(zip(steps, times)):
        local = "" if sequence == 0 and direction == "send" else session.local_endpoint
        values = (log_time(ns), session.connector, session.session_id, str(sequence), local,
                  session.remote_endpoint, event, data, context)
        out.append((ns, _csv_line(values)))
    return out


def _merged_lines(sessions: Iterable[ProtocolSession], direction: str = "send") -> list[tuple[int, str]]:
    """The lines of all sessions interleaved by time, as the log writer sees them."""
    lines = [(ns, order, index, line) for order, session in enumerate(sessions)
             for index, (ns, line) in enumerate(protocol_lines(session, direction=direction))]
    lines.sort(key=lambda item: item[:3])
    return [(ns, line) for ns, _, _, line in lines]


_PROTOCOL_KINDS = {"send": SEND_PROTOCOL_LOG, "receive": RECEIVE_PROTOCOL_LOG}


def write_protocol_log(target: str | Path | BinaryIO, sessions: Iterable[ProtocolSession], *,
                       version: LogVersion = LATEST, direction: str = "send") -> None:
    """Write one SMTP send (or receive) protocol log file (header and the sessions' lines by time)
    to a path or stream, with the ``#Version`` of ``version``.

    >>> stream = io.BytesIO()
    >>> write_protocol_log(stream, [demo_session()])
    >>> stream.getvalue().count(b"\\r\\n")
    50
    """
    kind = _PROTOCOL_KINDS[direction]
    lines = _merged_lines(sessions, direction)
    first = lines[0][0] if lines else 0
    _write_log(target, _header(kind.log_type, version.protocol, first, kind.fields), (line for _, line in lines))


def write_protocol_logs(folder: str | Path, sessions: Iterable[ProtocolSession], *, prefix: str = "SEND",
                        max_bytes: int = MAX_LOG_BYTES, version: LogVersion = LATEST,
                        direction: str = "send") -> list[Path]:
    """Write SMTP send protocol logs rotated as Exchange does (``SENDyyyymmdd-n.LOG`` per UTC day;
    ``direction="receive"`` and ``prefix="RECV"`` for receive logs).

    A session that crosses midnight or a full file continues in the next file.
    Returns the paths written, in order.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [path.name for path in write_protocol_logs(folder, [demo_session()])]
    ['SEND20250320-1.LOG']
    """
    kind = _PROTOCOL_KINDS[direction]
    return _write_rotated(folder, prefix, kind.log_type, version.protocol, kind.fields,
                          _merged_lines(sessions, direction), max_bytes)


# -- message tracking log -----------------------------------------------------------------

def led_status(reply: str, fqdn: str, ip: str, last_retry: str, message: str = "") -> str:
    """The ``[{LED=...};{MSG=...};{FQDN=...};{IP=...};{LRT=...}]`` status queue viewers show.

    >>> led_status("454 4.7.0 Failed", "contoso-com.mail.protection.outlook.com", "104.47.1.33", "3/20/2025 9:14:02 AM")
    '[{LED=454 4.7.0 Failed};{MSG=};{FQDN=contoso-com.mail.protection.outlook.com};{IP=104.47.1.33};{LRT=3/20/2025 9:14:02 AM}]'
    """
    return led_parts(("LED", reply), ("MSG", message), ("FQDN", fqdn), ("IP", ip), ("LRT", last_retry))


def led_parts(*parts: tuple[str, str]) -> str:
    """``[{KEY=value};...]`` of ``parts`` in order, as a recipient status and a queue's LastError are written.

    >>> led_parts(("LRT", ""), ("LED", "451 4.4.0 x"))
    '[{LRT=};{LED=451 4.4.0 x}]'
    """
    return "[" + ";".join(f"{{{key}={value}}}" for key, value in parts) + "]"


def _guid(*parts: object) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:16], version=4))


def tracking_row(time: int, event_id: str, *, message_id: str, sender: str, recipients: Sequence[str],
                 local_hostname: str, local_ip: str, remote_hostname: str | None = None,
                 remote_ip: str | None = None, **fields: object) -> dict:
    """One message tracking row (keyed like the tracking frame) with plausible values for every field.

    ``local_*`` is the Exchange server that logs the row; ``remote_*`` the SMTP peer of
    SEND/DEFER rows (the smart host), logged as ``server-*`` with the local server as
    ``client-*``. ``fields`` overrides any column (``event_source``, ``connector_id``,
    ``recipient_status``, ``message_subject``, ``total_bytes``, ...). Identifiers the caller
    does not give are derived from the message id, so they are stable.

    >>> row = tracking_row(1_742_462_042_123_000_000, "DEFER", message_id="<a@contoso.com>",
    ...     sender="anna@contoso.com", recipients=["jan@contoso.mail.onmicrosoft.com"],
    ...     local_hostname="EX01.contoso.com", local_ip="10.0.0.5", remote_ip="104.47.1.33",
    ...     remote_hostname="contoso-com.mail.protection.outlook.com", recipient_status="[{LED=454 4.7.0 x}]")
    >>> row["event_source"], row["client_ip"], row["server_ip"], row["recipient_count"], len(row)
    ('SMTP', '10.0.0.5', '104.47.1.33', 1, 30)
    """
    by_event = {
        "RECEIVE": ("STOREDRIVER", ""), "SUBMIT": ("STOREDRIVER", ""), "SEND": ("SMTP", "250 2.1.5 Recipient OK"),
        "DEFER": ("SMTP", ""), "FAIL": ("DSN", "550 4.4.7 QUEUE.Expired; message expired"),
        "DELIVER": ("STOREDRIVER", "250 2.1.5 RESOLVER.ADR.ExRecipient; resolved"), "DSN": ("DSN", ""),
    }
    event_source, status = by_event.get(event_id, ("SMTP", ""))
    row = {
        "time": time, "client_ip": local_ip, "client_hostname": local_hostname,
        "server_ip": remote_ip or local_ip, "server_hostname": remote_hostname or local_hostname,
        "source_context": "", "connector_id": "",
        "event_source": event_source, "event_id": event_id,
        "internal_message_id": str(int(hashlib.sha256(message_id.encode()).hexdigest()[:10], 16)),
        "message_id": message_id, "network_message_id": _guid("network", message_id),
        "recipient_address": ";".join(recipients), "recipient_status": status,
        "total_bytes": 24_576, "recipient_count": len(recipients), "related_recipient_address": "",
        "reference": "", "message_subject": "", "sender_address": sender, "return_path": sender,
        "message_info": "", "directionality": "Originating", "tenant_id": "",
        "original_client_ip": local_ip, "original_server_ip": remote_ip or local_ip,
        "custom_data": "S:DeliveryPriority=Normal;S:AccountForest=" + sender.rsplit("@", 1)[-1],
        "transport_traffic_type": "Email", "log_id": _guid("log", message_id, event_id, time),
        "schema_version": LATEST.build,
    }
    unknown = set(fields) - set(row)
    if unknown:
        raise TypeError(f"tracking_row got unknown fields {sorted(unknown)}")
    row.update(fields)
    return row


_TRACKING_COLUMN = dict(zip(TRACKING_FIELDS, TRACKING_COLUMNS))


def _tracking_lines(rows: Iterable[dict], version: LogVersion = LATEST) -> list[tuple[int, str]]:
    columns = [_TRACKING_COLUMN[name] for name in version.tracking_fields[1:]]
    out = []
    for row in rows:
        values = [log_time(row["time"])] + ["" if row.get(name) is None else str(row[name]) for name in columns]
        out.append((row["time"], _csv_line(values)))
    out.sort(key=lambda item: item[0])
    return out


def write_tracking_log(target: str | Path | BinaryIO, rows: Iterable[dict], *, version: LogVersion = LATEST) -> None:
    """Write one message tracking log file (rows as :func:`tracking_row` makes them, by time) with
    the ``#Version`` and ``#Fields`` of ``version`` (fields it does not write are left out).

    >>> stream = io.BytesIO()
    >>> write_tracking_log(stream, [tracking_row(0, "RECEIVE", message_id="<a@b>", sender="a@b.com",
    ...     recipients=["c@d.com"], local_hostname="EX01", local_ip="10.0.0.5")])
    >>> stream.getvalue().splitlines()[5][:40]
    b'1970-01-01T00:00:00.000Z,10.0.0.5,EX01,1'
    """
    lines = _tracking_lines(rows, version)
    first = lines[0][0] if lines else 0
    _write_log(target, _header(TRACKING_LOG.log_type, version.build, first, version.tracking_fields),
               (line for _, line in lines))


def write_tracking_logs(folder: str | Path, rows: Iterable[dict], *, prefix: str = "MSGTRK",
                        max_bytes: int = MAX_LOG_BYTES, version: LogVersion = LATEST) -> list[Path]:
    """Write message tracking logs rotated by UTC day (``MSGTRKyyyymmdd-n.LOG``); returns the paths.

    >>> import tempfile
    >>> row = tracking_row(1_742_462_030_000_000_000, "RECEIVE", message_id="<a@b>", sender="a@b.com",
    ...     recipients=["c@d.com"], local_hostname="EX01", local_ip="10.0.0.5")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [path.name for path in write_tracking_logs(folder, [row])]
    ['MSGTRK20250320-1.LOG']
    """
    return _write_rotated(folder, prefix, TRACKING_LOG.log_type, version.build, version.tracking_fields,
                          _tracking_lines(rows, version), max_bytes)


_TRACKING_LISTS = {"Recipients", "RecipientStatus", "Reference", "EventData"}
_TRACKING_EVENT = "Microsoft.Exchange.Management.TransportLogSearchTasks.MessageTrackingEvent"
TRACKING_EXPORT_SHAPES = ("fl", "csv", "clixml", "json")
EMS_ENUMERATION_LIMIT = 16      # $FormatEnumerationLimit in the Exchange Management Shell


def write_tracking_export(frame: pd.DataFrame, target: str | Path | BinaryIO, shape: str, *, culture: str = "en-US",
                          tz: str | None = None, width: int = 120, server: str = "EX01") -> None:
    """``Get-MessageTrackingLog ... | fl > file`` (``shape="fl"``), ``| Export-Csv``, ``| Export-Clixml`` or ``|
    ConvertTo-Json > file`` in the Exchange Management Shell (a remote session to ``server``) of Windows PowerShell
    5.1, of the tracking frame's rows: UTF-16 LE with BOM (Export-Csv: ASCII), CRLF. Timestamps are the server's
    local time (``tz``) in ``culture`` where Format-List and Export-Csv show them; a list is ``{a, b}`` in
    Format-List, its type name in Export-Csv (``System.Collections.ArrayList``: its items are lost).

    >>> from exlab.transport.tracking_log import read_tracking_log
    >>> out = io.BytesIO()
    >>> write_tracking_export(read_tracking_log(demo_tracking_log()), out, "fl", tz="Europe/Warsaw")
    >>> lines = out.getvalue().decode("utf-16").split("\\r\\n")
    >>> [line for line in lines if line.startswith(("Timestamp", "EventId"))][:2]
    ['Timestamp               : 3/20/2025 10:13:50 AM', 'EventId                 : RECEIVE']
    """
    if shape not in TRACKING_EXPORT_SHAPES:
        raise ValueError(f"no Get-MessageTrackingLog shape {shape!r}: one of {TRACKING_EXPORT_SHAPES}")
    zone = ZoneInfo(tz or "UTC")
    objects = []
    for row in frame.to_dict("records"):
        properties = []
        for name, column in TRACKING_EVENT_PROPERTIES.items():
            value = row.get(column)
            value = None if value is None or (not isinstance(value, str) and pd.isna(value)) else value
            if column == "time":
                local = pd.Timestamp(value).tz_convert(zone).to_pydatetime()
                value = {"clixml": local, "json": f"/Date({pd.Timestamp(value).value // 1_000_000})/"}.get(
                    shape, DATE_FORMATS[culture].format(local.replace(tzinfo=None)))
            elif name in _TRACKING_LISTS:
                items = tuple(str(value).split(";")) if value is not None and name != "RecipientStatus" else \
                    (() if value is None else (str(value),))
                value = {"fl": enumeration(list(items), EMS_ENUMERATION_LIMIT),
                         "csv": "System.Collections.ArrayList"}.get(shape, items)
            elif column in ("total_bytes", "recipient_count") and value is not None:
                value = int(value)
            properties.append((name, value))
        objects.append(properties)
    if shape == "json":
        _write_text(target, _dated_json(objects), "utf-16")
    elif shape == "csv":
        _export_csv(target, _TRACKING_EVENT, [*TRACKING_EVENT_PROPERTIES, "PSComputerName", "RunspaceId",
                                              "PSShowComputerName"],
                    [[value for _, value in properties] + [server, _guid("runspace"), "False"]
                     for properties in objects])
    else:
        _write_settings(target, objects, (_TRACKING_EVENT, "System.Object"), shape, width - 1, culture, "utf-16")


def _dated_json(objects: list[list[tuple[str, object]]]) -> str:
    """ConvertTo-Json text (:func:`convert_to_json`) of objects whose times are ``/Date(ms)/`` texts, which
    Windows PowerShell 5.1 writes ``\\/Date(ms)\\/``."""
    return convert_to_json(objects).replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"')


def _export_csv(target: str | Path | BinaryIO, type_name: str, names: Sequence[str],
                rows: Iterable[Sequence[object]]) -> None:
    """``| Export-Csv`` of a remote shell's objects (``Deserialized.`` ``type_name``; their properties ``names``,
    their values ``rows``) in Windows PowerShell 5.1: every value quoted, as its ToString (empty for null), in
    ASCII (``?`` for the rest), CRLF."""
    lines = [f"#TYPE Deserialized.{type_name}", ",".join(f'"{name}"' for name in names)]
    lines += [",".join('"' + _csv_text(value).replace('"', '""') + '"' for value in values) for values in rows]
    _write_text(target, "\r\n".join(lines) + "\r\n", "ascii")


def _csv_text(value: object) -> str:
    """A property as Export-Csv writes it (its ToString; empty for null)."""
    return "" if value is None else str(value)


# -- Get-Queue ---------------------------------------------------------------------------

QUEUE_EXPORT_SHAPES = ("fl", "csv", "clixml", "json")
_QUEUE_VIEWER = "Microsoft.Exchange.Data.QueueViewer."
# the queue's type names (most derived first) Export-Clixml and Export-Csv write, by Exchange version
_QUEUE_TYPES = {2010: (f"{_QUEUE_VIEWER}QueueInfo", f"{_QUEUE_VIEWER}PagedDataObject", "System.Object"),
                2013: (f"{_QUEUE_VIEWER}PropertyBagBasedQueueInfo", f"{_QUEUE_VIEWER}ExtensibleQueueInfo",
                       f"{_QUEUE_VIEWER}PagedDataObject", "System.Object")}
# what Exchange 2010 shows of a queue (no retry count, first retry, TLS domain, rates, priorities or category)
_QUEUE_2010 = {"RunspaceId", "DeliveryType", "NextHopDomain", "NextHopConnector", "Status", "MessageCount", "LastError",
               "LastRetryTime", "NextRetryTime", "Identity", "IsValid", "ObjectState"}


@dataclass(frozen=True)
class ShownObject:
    """A property Export-Clixml writes as an object shown as ``text`` (its ``<ToString>``), of ``types`` (most
    derived first): an enum when it has a ``number`` (written as ``<I32>``), else an object without members."""

    text: str
    types: tuple[str, ...]
    number: int | None = None

    def __str__(self) -> str:
        return self.text


def queue_row(server: str, number: int | str, *, next_hop_domain: str, connector_guid: str, message_count: int,
              status: str = "Retry", last_error_reply: str | None = None, last_error_fqdn: str | None = None,
              last_error_ip: str | None = None, last_retry: pd.Timestamp | None = None,
              first_retry: pd.Timestamp | None = None, next_retry: pd.Timestamp | None = None, retry_count: int = 0,
              delivery_type: str = "SmartHostConnectorDelivery", next_hop_category: str = "External",
              tls_domain: str | None = None) -> dict:
    """One queue of ``server`` (its ``number``, or a name such as ``Submission``: Identity ``EX01\\7``), keyed like
    the queues frame. Its LastError (written by :func:`write_queue_export`) holds ``last_error_reply`` (none: no
    LastError) from the host ``last_error_fqdn`` at ``last_error_ip``, at ``last_retry`` (UTC; None: an empty LRT).

    >>> row = queue_row("EX01", 7, next_hop_domain="contoso.com", connector_guid=_guid("c"), message_count=3,
    ...                 last_error_reply="451 4.4.0 x", last_retry=pd.Timestamp("2025-03-20 09:14:02Z"))
    >>> row["identity"], row["led"], str(row["last_error_time"])
    ('EX01\\\\7', '451 4.4.0 x', '2025-03-20 09:14:02+00:00')
    """
    return {"server": server, "identity": f"{server}\\{number}", "delivery_type": delivery_type,
            "next_hop_domain": next_hop_domain, "next_hop_connector": connector_guid, "tls_domain": tls_domain,
            "status": status, "message_count": message_count, "retry_count": retry_count,
            "next_hop_category": next_hop_category, "led": last_error_reply,
            "last_error_fqdn": last_error_fqdn if last_error_reply is not None else None,
            "last_error_ip": last_error_ip if last_error_reply is not None else None,
            "last_error_time": last_retry if last_error_reply is not None else None, "last_retry_time": last_retry,
            "next_retry_time": next_retry, "first_retry_time": first_retry}


def write_queue_export(queues: Iterable[dict], target: str | Path | BinaryIO, shape: str, *, culture: str = "en-US",
                       tz: str | None = None, width: int = 120, server: str = "EX01", version: int = 2016,
                       trimmed: bool = False) -> None:
    """``Get-Queue | fl > file`` (``shape="fl"``; ``trimmed``: copied from a console ``width`` wide, every line's
    trailing spaces gone), ``| Export-Csv``, ``| Export-Clixml`` or ``| ConvertTo-Json > file`` in the Exchange
    Management Shell (a remote session to ``server``) of Windows PowerShell 5.1, of queues as :func:`queue_row`
    makes them: UTF-16 LE with BOM (Export-Csv: ASCII), CRLF. LastError's LRT, and the times where Format-List and
    Export-Csv show them, are the server's local time (``tz``) in ``culture``. ``version``: 2016 (and 2019); 2013
    (an RTM-era build: TlsDomain for TlsPolicyDesignatedDomain); 2010 (LastError the reply alone; no RetryCount,
    FirstRetryTime, TlsPolicyDesignatedDomain, NextHopCategory, QueueIdentity, rates or priorities).

    >>> out = io.BytesIO()
    >>> write_queue_export([queue_row("EX01", 7, next_hop_domain="contoso.com", connector_guid=_guid("c"),
    ...     message_count=3, last_error_reply="451 4.4.0 x", last_retry=pd.Timestamp("2025-03-20 09:14:02Z"))],
    ...     out, "fl", tz="Europe/Warsaw")
    >>> [line for line in out.getvalue().decode("utf-16").split("\\r\\n") if line.startswith("LastError")]
    ['LastError                        : [{LRT=3/20/2025 10:14:02 AM};{LED=451 4.4.0 x};{FQDN=};{IP=}]']
    """
    if shape not in QUEUE_EXPORT_SHAPES:
        raise ValueError(f"no Get-Queue shape {shape!r}: one of {QUEUE_EXPORT_SHAPES}")
    if trimmed and shape != "fl":
        raise ValueError("only Format-List is copied from the console (trimmed)")
    types = _QUEUE_TYPES[2010 if version == 2010 else 2013]
    objects = [_queue_properties(queue, shape, culture, ZoneInfo(tz or "UTC"), version, types) for queue in queues]
    if shape == "json":
        _write_text(target, _dated_json(objects), "utf-16")
    elif shape == "csv":
        names = [name for name, _ in objects[0]] if objects else []
        _export_csv(target, types[0], [*names, "PSComputerName", "PSShowComputerName"],
                    [[value for _, value in properties] + [server, "False"] for properties in objects])
    elif shape == "fl":
        text = format_list(objects, width=width - 1, culture=culture)
        _write_text(target, console_copy(text) if trimmed else text, "utf-16")
    else:
        _write_settings(target, objects, types, shape, width, culture, "utf-16")


def _queue_properties(queue: dict, shape: str, culture: str, zone: ZoneInfo, version: int,
                      types: tuple[str, ...]) -> list[tuple[str, object]]:
    """A queue's properties as Get-Queue shows them, in order, each as ``shape`` writes it."""
    from exlab.transport.queue_export import DELIVERY_TYPES, QUEUE_STATUS

    def local(moment: pd.Timestamp | None) -> datetime | None:
        return None if moment is None else pd.Timestamp(moment).tz_convert(zone).to_pydatetime()

    def time(moment: pd.Timestamp | None) -> object:
        if moment is None or shape == "clixml":
            return local(moment)
        if shape == "json":
            return f"/Date({pd.Timestamp(moment).value // 1_000_000})/"
        return DATE_FORMATS[culture].format(local(moment))

    def enum(value: str, names: tuple[str, ...], type_name: str) -> object:
        return {"clixml": ShownObject(value, (f"{_QUEUE_VIEWER}{type_name}", "System.Enum", "System.ValueType",
                                              "System.Object"), names.index(value)),
                "json": names.index(value)}.get(shape, value)

    def identity(text: str) -> object:
        return ShownObject(text, (f"{_QUEUE_VIEWER}QueueIdentity", "System.Object")) if shape == "clixml" else text

    def listed(items: tuple, type_name: str) -> object:
        return {"csv": type_name, "fl": enumeration([str(item) for item in items])}.get(shape, items)

    reply, when = queue["led"], queue["last_error_time"]
    lrt = "" if when is None else DATE_FORMATS[culture].format(local(when))
    last_error = reply if reply is None or version == 2010 else led_parts(
        ("LRT", lrt), ("LED", reply), ("FQDN", queue["last_error_fqdn"] or ""), ("IP", queue["last_error_ip"] or ""))
    count = queue["message_count"]
    connector = queue["next_hop_connector"]
    properties: list[tuple[str, object]] = [
        ("RunspaceId", _guid("runspace")),
        ("DeliveryType", enum(queue["delivery_type"], DELIVERY_TYPES, "DeliveryType")),
        ("NextHopDomain", queue["next_hop_domain"]),
        ("TlsDomain" if version == 2013 else "TlsPolicyDesignatedDomain", queue["tls_domain"]),
        ("NextHopConnector", uuid.UUID(connector) if shape == "clixml" else connector),
        ("Status", enum(queue["status"], QUEUE_STATUS, "QueueStatus")), ("MessageCount", count),
        ("LastError", last_error), ("RetryCount", queue["retry_count"]),
        ("LastRetryTime", time(queue["last_retry_time"])), ("NextRetryTime", time(queue["next_retry_time"])),
        ("FirstRetryTime", time(queue["first_retry_time"])), ("DeferredMessageCount", 0), ("LockedMessageCount", 0),
        ("MessageCountsPerPriority", listed((0, count, 0, 0), "System.Int32[]")),
        ("DeferredMessageCountsPerPriority", listed((0, 0, 0, 0), "System.Int32[]")), ("RiskLevel", "Normal"),
        ("OutboundIPPool", 0), ("NextHopCategory", queue["next_hop_category"]), ("IncomingRate", 0),
        ("OutgoingRate", 0), ("Velocity", 0), ("OverrideSource", None),
        ("QueueIdentity", identity(queue["identity"])),
        ("PriorityDescriptions", listed(("High", "Normal", "Low", "None"), "System.String[]")),
        ("Identity", identity(queue["identity"])), ("IsValid", True), ("ObjectState", "New"),
    ]
    if version == 2010:
        properties = [(name, value) for name, value in properties if name in _QUEUE_2010]
    return properties


# -- small demos (doctests of the readers use them) ---------------------------------------

DEMO_CERT = LoggedCertificate("CN=mail.contoso.com", "CN=Contoso Issuing CA 01, DC=contoso, DC=com",
                              "5A0000002B8E3C4D1F6A7B0000000000002B",
                              "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55", ("mail.contoso.com", "exchange.contoso.com"))
DEMO_REMOTE_CERT = LoggedCertificate("CN=mail.protection.outlook.com, O=Microsoft Corporation, L=Redmond, "
                                     "S=Washington, C=US", "CN=DigiCert Cloud Services CA-1, O=DigiCert Inc, C=US",
                                     "0B2C6C4C0E1D7A4F9E3B2D1C0A998877",
                                     "6E0A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C", ("mail.protection.outlook.com",))
DEMO_REPLY = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"


def demo_session() -> ProtocolSession:
    """A KB 2888788 session: the internal certificate presented, Exchange Online answers 454 4.7.0.

    >>> demo_session().certificate.issuer
    'CN=Contoso Issuing CA 01, DC=contoso, DC=com'
    """
    start = 1_742_462_041_000_000_000
    return ProtocolSession(
        connector="Outbound to Office 365", session_id="08DD6A1B2C3D4E5F", start=start, end=start + 900 * MS,
        local_endpoint="10.0.0.5:28417", remote_endpoint="104.47.1.33:25", ehlo_domain="mail.contoso.com",
        remote_host="AM4PEPF00027A5F.mail.protection.outlook.com", certificate=DEMO_CERT,
        remote_certificate=DEMO_REMOTE_CERT, reply=DEMO_REPLY, reply_at=start + 700 * MS,
        messages=(LoggedMessage("<a1b2c3@contoso.com>", "anna.nowak@contoso.com",
                                ("jan.kowalski@contoso.mail.onmicrosoft.com",), 24_576, 51_539_607_553),))


def demo_protocol_log() -> io.BytesIO:
    """A one-session SMTP send protocol log in memory (see :func:`demo_session`).

    >>> demo_protocol_log().readline()
    b'\\xef\\xbb\\xbf#Software: Microsoft Exchange Server\\r\\n'
    """
    stream = io.BytesIO()
    write_protocol_log(stream, [demo_session()])
    stream.seek(0)
    return stream


def demo_tracking_log() -> io.BytesIO:
    """A message tracking log in memory: one message received, deferred (454 4.7.0), then sent.

    >>> demo_tracking_log().getvalue().count(b",DEFER,")
    1
    """
    start = 1_742_462_030_000_000_000
    common = dict(message_id="<a1b2c3@contoso.com>", sender="anna.nowak@contoso.com",
                  recipients=["jan.kowalski@contoso.mail.onmicrosoft.com"], local_hostname="EX01.contoso.com",
                  local_ip="10.0.0.5", message_subject="Invoice 2025/03/114, final")
    smart_host = dict(remote_hostname="contoso-com.mail.protection.outlook.com", remote_ip="104.47.1.33",
                      connector_id="Outbound to Office 365")
    rows = [
        tracking_row(start, "RECEIVE", **common),
        tracking_row(start + 11_700 * MS, "DEFER", **{**common, **smart_host}, recipient_status=led_status(
            DEMO_REPLY, "contoso-com.mail.protection.outlook.com", "104.47.1.33", "3/20/2025 9:14:02 AM")),
        tracking_row(start + 86_400_000 * MS, "SEND", **{**common, **smart_host}),
    ]
    stream = io.BytesIO()
    write_tracking_log(stream, rows)
    stream.seek(0)
    return stream


# -- Get-SendConnector / Get-ExchangeServer exports ----------------------------------------

_CONNECTOR_TYPES = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
                    "Microsoft.Exchange.Data.Directory.SystemConfiguration.SendConnector",
                    "Microsoft.Exchange.Data.Directory.ADLegacyVersionableObject",
                    "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
                    "Microsoft.Exchange.Data.Directory.ADObject",
                    "Microsoft.Exchange.Data.ConfigurableObject", "System.Object")
_RECEIVE_CONNECTOR_TYPES = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",
                            "Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject",
                            "Microsoft.Exchange.Data.Directory.ADObject",
                            "Microsoft.Exchange.Data.Directory.ADRawEntry",
                            "Microsoft.Exchange.Data.ConfigurableObject", "System.Object")
_SERVER_TYPES = ("Microsoft.Exchange.Data.Directory.Management.ExchangeServer",
                 "Microsoft.Exchange.Data.Directory.ADPresentationObject",
                 "Microsoft.Exchange.Data.ConfigurableObject", "System.Object")
_LIST_TYPES = {
    "SmartHosts": "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.SmartHost]]",
    "AddressSpaces": "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.AddressSpace]]",
    "SourceTransportServers": ("Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data."
                               "Directory.ADObjectId]]"),
    "ConnectedDomains": "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.AddressSpace]]",
    "Bindings": "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.IPBinding]]",
    "RemoteIPRanges": "Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.IPRange]]",
    "TlsDomainCapabilities": ("Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data."
                              "SmtpReceiveDomainCapabilities]]"),
}


def connector_properties(connector: dict) -> list[tuple[str, object]]:
    """Every property Get-SendConnector shows for a connector (keyed like the connectors frame), in order.

    >>> [name for name, _ in connector_properties({"name": "Outbound to Office 365"})][:3]
    ['RunspaceId', 'AddressSpaces', 'AuthenticationCredential']
    """
    get = connector.get
    name = get("name")
    smart_hosts = tuple(get("smart_hosts") or ())
    return [
        ("RunspaceId", _guid("runspace")),     # a remote Exchange Management Shell adds it first
        ("AddressSpaces", tuple(get("address_spaces") or ())), ("AuthenticationCredential", None),
        ("CloudServicesMailEnabled", get("cloud_services_mail_enabled", True)), ("Comment", None),
        ("ConnectedDomains", ()), ("ConnectionInactivityTimeOut", "00:10:00"),
        ("DNSRoutingEnabled", not smart_hosts), ("DomainSecureEnabled", False), ("Enabled", get("enabled", True)),
        ("ErrorPolicies", "Default"), ("ForceHELO", False), ("Fqdn", get("fqdn")),
        ("FrontendProxyEnabled", get("frontend_proxy_enabled", False)),
        ("HomeMTA", "Microsoft MTA"), ("HomeMtaServerId", (get("source_transport_servers") or ("EX01",))[0]),
        ("Identity", get("identity") or name), ("IgnoreSTARTTLS", False), ("IsScopedConnector", False),
        ("IsSmtpConnector", True), ("MaxMessageSize", "35 MB (36,700,160 bytes)"), ("Name", name),
        ("Port", 25), ("ProtocolLoggingLevel", get("protocol_logging_level") or "None"),
        ("RequireOorg", False), ("RequireTLS", get("require_tls", True)), ("SmartHostAuthMechanism", "None"),
        ("SmartHosts", smart_hosts), ("SmartHostsString", "".join(f"[{h}]" for h in smart_hosts) or None),
        ("SmtpMaxMessagesPerConnection", 20), ("SourceIPAddress", "0.0.0.0"),
        ("SourceRoutingGroup", "Exchange Routing Group (DWBGZMFD01QNBJR)"),
        ("SourceTransportServers", tuple(get("source_transport_servers") or ())),
        ("TlsAuthLevel", get("tls_auth_level")), ("TlsCertificateName", get("tls_certificate_name")),
        ("TlsDomain", get("tls_domain")), ("UseExternalDNSServersEnabled", False),
        ("AdminDisplayName", None), ("ExchangeVersion", "0.1 (8.0.535.0)"), ("Guid", uuid.UUID(connector_guid(name))),
        ("IsValid", True), ("ObjectState", "Unchanged"),
    ]


def connector_guid(name: str) -> str:
    """The Guid of the lab's send connector called ``name`` (Get-SendConnector's Guid, Get-Queue's
    NextHopConnector).

    >>> connector_guid("Outbound to Office 365")
    '16c9b773-1428-4cb9-9e12-815afbadeec4'
    """
    return _guid("connector", name)


def receive_connector_properties(connector: dict) -> list[tuple[str, object]]:
    """The Get-ReceiveConnector properties of a connector (keyed like the receive_connectors frame;
    flag lists as tuples of names), in the order Exchange 2016 shows them.

    >>> props = dict(receive_connector_properties({"name": "Default Frontend EX01", "server": "EX01"}))
    >>> props["Identity"], props["Bindings"]
    ('EX01\\\\Default Frontend EX01', ('[::]:25', '0.0.0.0:25'))
    >>> props["AuthMechanism"]
    'Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer'
    """
    get = connector.get
    name, server = get("name"), get("server")
    flags = {key: ", ".join(get(key) or ()) or "None" for key in ("auth_mechanism", "permission_groups")}
    if get("auth_mechanism") is None:
        flags["auth_mechanism"] = "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer"
    if get("permission_groups") is None:
        flags["permission_groups"] = "AnonymousUsers, ExchangeServers, ExchangeLegacyServers"
    return [
        ("RunspaceId", _guid("runspace")), ("AuthMechanism", flags["auth_mechanism"]), ("Banner", None),
        ("BinaryMimeEnabled", True), ("Bindings", tuple(get("bindings") or ("[::]:25", "0.0.0.0:25"))),
        ("ChunkingEnabled", True), ("DefaultDomain", None), ("DeliveryStatusNotificationEnabled", True),
        ("EightBitMimeEnabled", True), ("SmtpUtf8Enabled", True), ("BareLinefeedRejectionEnabled", False),
        ("DomainSecureEnabled", True), ("EnhancedStatusCodesEnabled", True), ("LongAddressesEnabled", False),
        ("OrarEnabled", False), ("SuppressXAnonymousTls", False), ("ProxyEnabled", False),
        ("AdvertiseClientSettings", False), ("Fqdn", get("fqdn")), ("ServiceDiscoveryFqdn", None),
        ("TlsCertificateName", get("tls_certificate_name")), ("Comment", None), ("Enabled", get("enabled", True)),
        ("ConnectionTimeout", "00:10:00"), ("ConnectionInactivityTimeout", "00:05:00"),
        ("MessageRateLimit", "Unlimited"), ("MessageRateSource", "IPAddress"), ("MaxInboundConnection", "5000"),
        ("MaxInboundConnectionPerSource", "Unlimited"), ("MaxInboundConnectionPercentagePerSource", 100),
        ("MaxHeaderSize", "256 KB (262,144 bytes)"), ("MaxHopCount", 60), ("MaxLocalHopCount", 8),
        ("MaxLogonFailures", 3), ("MaxMessageSize", "36 MB (37,748,736 bytes)"), ("MaxProtocolErrors", "5"),
        ("MaxRecipientsPerMessage", 200), ("PermissionGroups", flags["permission_groups"]),
        ("PipeliningEnabled", True), ("ProtocolLoggingLevel", get("protocol_logging_level") or "None"),
        ("RemoteIPRanges", tuple(get("remote_ip_ranges") or ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                                            "0.0.0.0-255.255.255.255"))),
        ("RequireEHLODomain", False), ("RequireTLS", get("require_tls", False)), ("EnableAuthGSSAPI", False),
        ("ExtendedProtectionPolicy", "None"), ("LiveCredentialEnabled", False),
        ("TlsDomainCapabilities", tuple(get("tls_domain_capabilities") or ())), ("Server", server),
        ("TransportRole", get("transport_role") or "FrontendTransport"), ("SizeEnabled", "EnabledWithoutValue"),
        ("TarpitInterval", "00:00:05"), ("AuthTarpitInterval", "00:00:05"), ("MaxAcknowledgementDelay", "00:00:30"),
        ("AdminDisplayName", None), ("ExchangeVersion", "0.1 (8.0.535.0)"), ("Name", name),
        ("Identity", get("identity") or f"{server}\\{name}"), ("IsValid", True), ("ObjectState", "Unchanged"),
    ]


def default_receive_connectors(server: str, fqdn: str, *, hybrid_fqdn: str | None = None,
                               tls_certificate_name: str | None = None) -> list[dict]:
    """The five receive connectors Exchange 2013+ setup creates on a Mailbox server (as in the
    receive_connectors frame); ``hybrid_fqdn`` / ``tls_certificate_name`` are what the Hybrid
    Configuration Wizard sets on ``Default Frontend`` for mail from Exchange Online.

    >>> [c["name"] for c in default_receive_connectors("EX01", "ex01.contoso.com")][2]
    'Default Frontend EX01'
    """
    everyone = ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-255.255.255.255")
    all_auth = ("Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer")
    rows = [
        ("Default", "HubTransport", 2525, all_auth, ("ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers")),
        ("Client Proxy", "HubTransport", 465, all_auth, ("ExchangeUsers", "ExchangeServers")),
        ("Default Frontend", "FrontendTransport", 25, all_auth,
         ("AnonymousUsers", "ExchangeServers", "ExchangeLegacyServers")),
        ("Outbound Proxy Frontend", "FrontendTransport", 717, all_auth, ("ExchangeServers",)),
        ("Client Frontend", "FrontendTransport", 587, all_auth[:4], ("ExchangeUsers",)),
    ]
    connectors = []
    for name, role, port, auth, groups in rows:
        frontend = name == "Default Frontend"
        connectors.append({
            "name": f"{name} {server}", "server": server, "enabled": True,
            "fqdn": (hybrid_fqdn or fqdn) if frontend else fqdn, "bindings": (f"[::]:{port}", f"0.0.0.0:{port}"),
            "remote_ip_ranges": everyone, "auth_mechanism": auth, "permission_groups": groups, "require_tls": False,
            "tls_certificate_name": tls_certificate_name if frontend else None,
            "tls_domain_capabilities": ("mail.protection.outlook.com:AcceptCloudServicesMail",)
            if frontend and hybrid_fqdn else (),
            "transport_role": role, "protocol_logging_level": "Verbose" if frontend else "None",
        })
    return connectors


#: ServerRole's flags (Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole) of the roles the lab writes
_SERVER_ROLE_FLAGS = {"Mailbox": 2, "ClientAccess": 4, "UnifiedMessaging": 16, "HubTransport": 32, "Edge": 64}
_SERVER_ROLE_TYPES = ("Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole", "System.Enum",
                      "System.ValueType", "System.Object")


def server_properties(server: dict) -> list[tuple[str, object]]:
    """The Get-ExchangeServer properties of a server (``name``, ``fqdn``, optional ``version``, ``site`` and
    ``roles``: ServerRole as it shows them, ``Mailbox`` by default; ``ClientAccess`` for an Exchange 2013 Client
    Access server alone).

    >>> dict(server_properties({"name": "EX01", "fqdn": "EX01.contoso.com"}))["ServerRole"]
    'Mailbox'
    >>> cas = dict(server_properties({"name": "CAS01", "fqdn": "CAS01.contoso.com", "roles": "ClientAccess"}))
    >>> cas["ServerRole"], cas["IsHubTransportServer"], cas["IsMailboxServer"]
    ('ClientAccess', False, False)
    """
    roles = server.get("roles", "Mailbox")
    named = {part.strip() for part in roles.split(",")}
    return [
        ("RunspaceId", _guid("runspace")), ("Name", server["name"]), ("Fqdn", server["fqdn"]),
        ("Edition", "StandardEvaluation"),
        ("AdminDisplayVersion", f"Version {server.get('version', '15.2 (Build 1544.4)')}"),
        ("ServerRole", roles), ("Site", server.get("site", "contoso.com/Configuration/Sites/Default-First-Site")),
        ("IsHubTransportServer", bool(named & {"Mailbox", "HubTransport"})), ("IsMailboxServer", "Mailbox" in named),
        ("IsEdgeServer", "Edge" in named), ("IsExchangeTrialEdition", False), ("Identity", server["name"]),
    ]


#: how many items of a collection Format-List shows ($FormatEnumerationLimit; 16 in the Exchange Management Shell)
ENUMERATION_LIMIT = 4


def enumeration(items: Sequence[str], limit: int = ENUMERATION_LIMIT) -> str:
    """A collection as Format-List shows it: ``{a, b, c, d...}`` after ``limit`` items.

    >>> enumeration(["EX01", "EX02"]), enumeration([str(n) for n in range(6)]), enumeration([])
    ('{EX01, EX02}', '{0, 1, 2, 3...}', '{}')
    """
    return "{" + ", ".join(items[:limit]) + ("..." if len(items) > limit else "") + "}"


def _fl_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, tuple):
        return "{" + ", ".join(str(v) for v in value) + "}"
    return str(value)


def format_list(objects: Iterable[Sequence[tuple[str, object]]], *, width: int = 120, culture: str = "en-US") -> str:
    """``| fl`` text of objects given as ``(property, value)`` pairs, as Windows PowerShell 5.1 prints it
    ``width`` wide (the console's, less one where Out-File writes it). A long value goes on over lines
    indented under it, cut as the culture cuts (:func:`exlab.lab.powershell_table.split_lines`); a value
    of several lines keeps them, each wrapped on its own (an empty one is the indentation alone).

    >>> format_list([[("Name", "Outbound to Office 365"), ("RequireTLS", True)]]).strip().split("\\r\\n")
    ['Name       : Outbound to Office 365', 'RequireTLS : True']
    >>> format_list([[("Id", 1), ("Message", "One.\\r\\n\\r\\nTwo.")]]).strip("\\r\\n").split("\\r\\n")
    ['Id      : 1', 'Message : One.', '          ', '          Two.']
    """
    word_wrap = wraps_words(culture)
    blocks = []
    for properties in objects:
        label = max(len(name) for name, _ in properties)
        indent = label + 3
        lines = []
        for name, value in properties:
            pieces = [piece for line in _fl_text(value).replace("\r", "").split("\n")
                      for piece in split_lines(line, width - indent, word_wrap)]
            lines.append(f"{name.ljust(label)} : {pieces[0]}".rstrip(" ") if len(pieces) == 1
                         else f"{name.ljust(label)} : {pieces[0]}")
            lines.extend(" " * indent + piece for piece in pieces[1:])
        blocks.append("\r\n".join(lines))
    return "\r\n\r\n" + "\r\n\r\n".join(blocks) + "\r\n\r\n\r\n"


def console_copy(text: str) -> str:
    """Text as copied from the console: every line's trailing spaces gone.

    >>> console_copy("Name       : A\\r\\nTlsDomain  : mail.protection. \\r\\n             outlook.com")
    'Name       : A\\r\\nTlsDomain  : mail.protection.\\r\\n             outlook.com'
    """
    return "\r\n".join(line.rstrip(" ") for line in text.split("\r\n"))


def _clixml_property(name: str, value: object, refs: Iterator[int]) -> str:
    attr = quoteattr(name)
    if value is None:
        return f"<Nil N={attr} />"
    if isinstance(value, uuid.UUID):
        return f"<G N={attr}>{value}</G>"
    if isinstance(value, ShownObject):
        ref = next(refs)
        # an enum keeps its own type names (PowerShell rehydrates enums), any other object is "Deserialized."
        prefix = "" if value.number is not None else "Deserialized."
        names = "".join(f"<T>{prefix}{escape(kind)}</T>" for kind in value.types)
        body = "<Props />" if value.number is None else f"<I32>{value.number}</I32>"
        return (f'<Obj N={attr} RefId="{ref}"><TN RefId="{ref}">{names}</TN>'
                f"<ToString>{escape(encode_string(value.text))}</ToString>{body}</Obj>")
    if isinstance(value, datetime):
        return f"<DT N={attr}>{value.isoformat()}</DT>"
    if isinstance(value, bool):
        return f"<B N={attr}>{'true' if value else 'false'}</B>"
    if isinstance(value, int):
        return f"<I32 N={attr}>{value}</I32>"
    if isinstance(value, tuple):
        ref = next(refs)
        items = "".join(f"<S>{escape(encode_string(str(v)))}</S>" for v in value)
        kind = _LIST_TYPES.get(name, "System.Collections.ArrayList")
        return (f'<Obj N={attr} RefId="{ref}"><TN RefId="{ref}"><T>Deserialized.{escape(kind)}</T>'
                f"<T>Deserialized.System.Object</T></TN><LST>{items}</LST></Obj>")
    return f"<S N={attr}>{escape(encode_string(str(value)))}</S>"


def export_clixml(objects: Iterable[Sequence[tuple[str, object]]], types: Sequence[str]) -> str:
    """Export-Clixml text of objects as a remote Exchange Management Shell serializes them.

    The first object names its types (``<TN>``), the others refer to them (``<TNRef>``).

    >>> text = export_clixml([[("Name", "EX01")], [("Name", "EX02")]], ["Demo.Server", "System.Object"])
    >>> text.count("<TN RefId"), text.count("<TNRef"), text.count('<S N="Name">')
    (1, 1, 2)
    """
    refs = count()
    parts = ['<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\r\n']
    names = "".join(f"<T>Deserialized.{escape(t)}</T>" for t in types)
    type_ref: int | None = None
    for properties in objects:
        ref = next(refs)
        if type_ref is None:
            type_ref = ref
            type_names = f'<TN RefId="{ref}">{names}</TN>'
        else:
            type_names = f'<TNRef RefId="{type_ref}" />'
        shown = dict(properties).get("Identity") or dict(properties).get("Name") or types[0]
        body = "".join(_clixml_property(name, value, refs) for name, value in properties)
        parts.append(f'  <Obj RefId="{ref}">\r\n    {type_names}\r\n'
                     f"    <ToString>{escape(str(shown))}</ToString>\r\n    <Props>{body}</Props>\r\n  </Obj>\r\n")
    parts.append("</Objs>")
    return "".join(parts)


def convert_to_json(objects: Iterable[Sequence[tuple[str, object]]]) -> str:
    """ConvertTo-Json text (Windows PowerShell 5.1 layout: 4-space indent, ``"name":  value``).

    >>> convert_to_json([[("Name", "EX01"), ("IsEdgeServer", False)]]).split("\\r\\n")[1]
    '    "Name":  "EX01",'
    """
    items = [{name: (list(value) if isinstance(value, tuple) else value) for name, value in properties}
             for properties in objects]
    data = items[0] if len(items) == 1 else items
    text = json.dumps(data, indent=4, ensure_ascii=False, default=str)     # a Guid as its text
    return text.replace('": ', '":  ').replace("\n", "\r\n")


def _write_text(target: str | Path | BinaryIO, text: str, encoding: str) -> None:
    stream, close = _open_target(target)
    try:
        stream.write(text.encode(encoding, errors="replace" if encoding == "ascii" else "strict"))
    finally:
        if close:
            stream.close()


def write_send_connectors(target: str | Path | BinaryIO, connectors: Iterable[dict], *, shape: str = "fl",
                          width: int = 120, culture: str = "en-US", encoding: str = "utf-16",
                          properties: Sequence[str] | None = None) -> None:
    """Write ``Get-SendConnector | fl`` (``shape="fl"``), ``| Export-Clixml`` or ``| ConvertTo-Json``;
    with ``properties``, those alone, in that order (``| fl Name,SmartHosts,AddressSpaces``).

    ``connectors`` are dicts keyed like the connectors frame. The default encoding is what
    Windows PowerShell 5.1's ``>`` and Export-Clixml write: UTF-16 LE with BOM.

    >>> stream = io.BytesIO()
    >>> write_send_connectors(stream, [DEMO_CONNECTOR], shape="json")
    >>> stream.getvalue()[:2]
    b'\\xff\\xfe'
    >>> write_send_connectors(stream := io.BytesIO(), [DEMO_CONNECTOR], properties=["Name", "SmartHosts"])
    >>> stream.getvalue().decode("utf-16").split("\\r\\n")[2:4]
    ['Name       : Outbound to Office 365', 'SmartHosts : {contoso-com.mail.protection.outlook.com}']
    """
    objects = [connector_properties(c) for c in connectors]
    if properties is not None:
        objects = [[(name, dict(shown)[name]) for name in properties] for shown in objects]
    _write_settings(target, objects, _CONNECTOR_TYPES, shape, width, culture, encoding)


def write_receive_connectors(target: str | Path | BinaryIO, connectors: Iterable[dict], *, shape: str = "fl",
                             width: int = 120, culture: str = "en-US", encoding: str = "utf-16") -> None:
    """Write ``Get-ReceiveConnector | fl``, ``| Export-Clixml`` or ``| ConvertTo-Json`` (connectors:
    dicts keyed like the receive_connectors frame; see :func:`receive_connector_properties`).

    >>> stream = io.BytesIO()
    >>> write_receive_connectors(stream, [{"name": "Default Frontend EX01", "server": "EX01"}], shape="clixml")
    >>> "ReceiveConnector</T>" in stream.getvalue().decode("utf-16")
    True
    """
    _write_settings(target, [receive_connector_properties(c) for c in connectors], _RECEIVE_CONNECTOR_TYPES,
                    shape, width, culture, encoding)


def write_exchange_servers(target: str | Path | BinaryIO, servers: Iterable[dict], *, shape: str = "fl",
                           width: int = 120, culture: str = "en-US", encoding: str = "utf-16") -> None:
    """Write ``Get-ExchangeServer`` as ``fl``, ``clixml`` or ``json`` (servers: dicts with name, fqdn; see
    :func:`server_properties`). ConvertTo-Json writes ServerRole as the number of its flags, Export-Clixml as
    an enum (its text and that number).

    >>> stream = io.BytesIO()
    >>> write_exchange_servers(stream, [{"name": "EX01", "fqdn": "EX01.contoso.com"}], encoding="utf-8")
    >>> stream.getvalue().split(b"\\r\\n")[3]
    b'Name                   : EX01'
    >>> write_exchange_servers(stream := io.BytesIO(), [{"name": "EX01", "fqdn": "EX01.contoso.com",
    ...                        "roles": "Mailbox, ClientAccess"}], shape="json", encoding="utf-8")
    >>> json.loads(stream.getvalue())["ServerRole"]
    6
    """
    def role(value: str) -> object:
        flags = sum(_SERVER_ROLE_FLAGS[role.strip()] for role in value.split(","))
        return {"json": flags, "clixml": ShownObject(value, _SERVER_ROLE_TYPES, flags)}.get(shape, value)

    objects = [[(name, role(value) if name == "ServerRole" else value) for name, value in server_properties(s)]
               for s in servers]
    _write_settings(target, objects, _SERVER_TYPES, shape, width, culture, encoding)


def _write_settings(target, objects, types, shape: str, width: int, culture: str, encoding: str) -> None:
    if shape == "fl":
        text = format_list(objects, width=width, culture=culture)
    elif shape == "clixml":
        text = export_clixml(objects, types)
    elif shape == "json":
        text = convert_to_json(objects)
    else:
        raise ValueError(f"shape must be 'fl', 'clixml' or 'json', not {shape!r}")
    _write_text(target, text, encoding)


DEMO_CONNECTOR = {
    "name": "Outbound to Office 365", "fqdn": "mail.contoso.com",
    "tls_certificate_name": "<I>CN=Lab Public Issuing CA G2, O=exlab Lab Trust Services, C=US<S>CN=mail.contoso.com",
    "require_tls": True, "tls_auth_level": "DomainValidation", "tls_domain": "mail.protection.outlook.com",
    "smart_hosts": ("contoso-com.mail.protection.outlook.com",), "address_spaces": ("smtp:*.mail.onmicrosoft.com;1",),
    "cloud_services_mail_enabled": True, "protocol_logging_level": "Verbose", "source_transport_servers": ("EX01",),
}


def demo_connectors_fl() -> io.BytesIO:
    """``Get-SendConnector | fl > connectors.txt`` of one hybrid connector, in memory (UTF-16 LE, width 80).

    >>> "TlsCertificateName" in demo_connectors_fl().getvalue().decode("utf-16")
    True
    """
    stream = io.BytesIO()
    write_send_connectors(stream, [DEMO_CONNECTOR], width=80)
    stream.seek(0)
    return stream


def demo_servers_json() -> io.BytesIO:
    """``Get-ExchangeServer | ConvertTo-Json`` of two servers, in memory.

    >>> demo_servers_json().getvalue().decode("utf-16").lstrip()[:1]
    '['
    """
    stream = io.BytesIO()
    write_exchange_servers(stream, [{"name": "EX01", "fqdn": "EX01.contoso.com"},
                                    {"name": "EX02", "fqdn": "EX02.contoso.com"}], shape="json")
    stream.seek(0)
    return stream
