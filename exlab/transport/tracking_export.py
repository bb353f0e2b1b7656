"""``Get-MessageTrackingLog`` output, as engineers send it in place of the logs, read into the tracking frame.

The cmdlet returns the message tracking log's rows as MessageTrackingEvent objects, one property per
field (Timestamp, EventId, Source, ConnectorId, Recipients, RecipientStatus, ...). What each shape keeps:

* Export-Clixml: every property; Timestamp with the server's offset; lists whole.
* ConvertTo-Json: every property; Timestamp as ``\\/Date(ms)\\/`` (Windows PowerShell 5.1: UTC) or ISO 8601
  with the offset (PowerShell 7).
* Format-List (``| fl``, saved with ``>``, or in a transcript or a copy of the console): Timestamp in the
  server's local time and culture; lists shown ``{a, b}``, cut after ``$FormatEnumerationLimit`` items (4; 16
  in the Exchange Management Shell: noted).
* Export-Csv: Timestamp as Format-List shows it; lists (Recipients, RecipientStatus, Reference, EventData)
  written as their type name (``System.String[]``): a DEFER's SMTP reply is lost, and the file says so.

A list becomes the field as the log writes it (``;``-joined), so RecipientStatus gives ``led`` and the
rest as a log's recipient-status does. Local times are read in the culture and time zone given (or
settled by the values, or UTC assumed), as the event readers read theirs.

>>> import io
>>> from exlab.lab.transport_logs import demo_tracking_log, write_tracking_export
>>> out = io.BytesIO()
>>> write_tracking_export(read_tracking_log(demo_tracking_log()), out, "clixml")
>>> frame = read_tracking_export(io.BytesIO(out.getvalue()))
>>> frame.loc[1, ["event_id", "led"]].tolist()
['DEFER', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from exlab.events.query import EventQuery
from exlab.evidence import Member, Sources, iter_evidence, open_evidence, peek_evidence
from exlab.parse_report import ParseReport
from exlab.transcript import session_text
from exlab.transport.export_times import export_times
from exlab.transport.schema import TRACKING_COLUMNS, TRACKING_DTYPES, make_frame
from exlab.transport.settings import UNREAD, export_objects, export_shape, fl_list, has_property, head_text
from exlab.transport.tracking_log import read_tracking_log, status_columns

FORMAT = "message-tracking-export"
# MessageTrackingEvent's properties -> the tracking frame's columns (the log's fields), in Format-List's order
PROPERTIES = {
    "Timestamp": "time", "ClientIp": "client_ip", "ClientHostname": "client_hostname", "ServerIp": "server_ip",
    "ServerHostname": "server_hostname", "SourceContext": "source_context", "ConnectorId": "connector_id",
    "Source": "event_source", "EventId": "event_id", "InternalMessageId": "internal_message_id",
    "MessageId": "message_id", "NetworkMessageId": "network_message_id", "Recipients": "recipient_address",
    "RecipientStatus": "recipient_status", "TotalBytes": "total_bytes", "RecipientCount": "recipient_count",
    "RelatedRecipientAddress": "related_recipient_address", "Reference": "reference",
    "MessageSubject": "message_subject", "Sender": "sender_address", "ReturnPath": "return_path",
    "Directionality": "directionality", "TenantId": "tenant_id", "OriginalClientIp": "original_client_ip",
    "OriginalServerIp": "original_server_ip", "MessageInfo": "message_info", "EventData": "custom_data",
    "TransportTrafficType": "transport_traffic_type", "SchemaVersion": "schema_version",
}
# the properties only a MessageTrackingEvent has: how its text is told from other exports
_MARKERS = ("InternalMessageId", "RecipientStatus")
_TYPE = "MessageTrackingEvent"
_INTEGERS = {"total_bytes", "recipient_count"}


def is_tracking_export(text: str) -> bool:
    """Whether ``text`` (the start of a file, or one command's output) is Get-MessageTrackingLog's output.

    >>> is_tracking_export("EventId           : DEFER\\r\\nInternalMessageId : 42\\r\\nRecipientStatus   : {}\\r\\n")
    True
    >>> is_tracking_export("Name : Outbound to Office 365\\r\\nRequireTLS : True\\r\\n")
    False
    """
    shape = export_shape(text)
    if shape is None:
        return False
    return (shape in ("clixml", "csv") and _TYPE in text[:4096]) or \
        all(has_property(text, shape, (marker,)) for marker in _MARKERS)


def detect_tracking_export(head: bytes) -> bool:
    """Whether a file's first bytes are Get-MessageTrackingLog's output (:func:`is_tracking_export`).

    >>> detect_tracking_export('"Timestamp","EventId","InternalMessageId","RecipientStatus"'.encode("utf-16"))
    True
    """
    return is_tracking_export(head_text(head))


def read_tracking_export(source: Sources, *, tz: str | None = None, culture: str | None = None) -> pd.DataFrame:
    """Get-MessageTrackingLog's output (a file, a folder, a list, or a binary stream) into the tracking frame:
    one row per MessageTrackingEvent, its ``line`` the object's number in its file. An object without an
    EventId or a Timestamp that reads is skipped and counted. ``tz`` and ``culture``: the server's, for the
    local times of Format-List and Export-Csv.
    """
    report = ParseReport()
    query = EventQuery.build(tz=tz, culture=culture)
    columns: dict[str, list] = {name: [] for name in (*TRACKING_COLUMNS, "source", "line")}
    for evidence in iter_evidence(source, report):
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=FORMAT, size=evidence.size)
        objects = [bag for bag, _ in export_objects(evidence, file_report, is_tracking_export, "message tracking",
                                                    "a message tracking export", "Get-MessageTrackingLog output")]
        if any(bag.get("RecipientStatus") is UNREAD for bag in objects):
            file_report.warn("Export-Csv wrote RecipientStatus as a type name: Exchange Online's answer to each DEFER "
                             "and FAIL is not in the file (Get-MessageTrackingLog | Export-Clixml keeps it)")
        times, unread = export_times([bag.get("Timestamp") for bag in objects], query, file_report, "Timestamp")
        for number, (bag, time) in enumerate(zip(objects, times), 1):
            if not (isinstance(bag.get("EventId"), str) and bag["EventId"].strip()) or time is None:
                file_report.skip_record(f"object {number}", unread.get(number - 1, "expected an EventId and a "
                                                                                   "Timestamp"))
                continue
            for prop, column in PROPERTIES.items():
                columns[column].append(time if column == "time" else _cell(bag.get(prop), column))
            columns["source"].append(evidence.name)
            columns["line"].append(number)
            file_report.records_read += 1
        file_report.warn_losses()
    columns.update(status_columns(pa.array(columns["recipient_status"], pa.string())))
    return make_frame(columns, TRACKING_DTYPES, report)


def read_message_tracking(paths: list, *, tz: str | None = None, culture: str | None = None) -> pd.DataFrame:
    """The tracking frame of a case's message tracking evidence, logs (:func:`read_tracking_log`) and
    Get-MessageTrackingLog's output (:func:`read_tracking_export`) alike: ``paths`` (files or zip members) as
    the case found them, each told apart by its first bytes.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from exlab.lab.transport_logs import demo_tracking_log, write_tracking_export
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "MSGTRK20250320-1.LOG").write_bytes(demo_tracking_log().getvalue())
    >>> write_tracking_export(read_tracking_log(demo_tracking_log()), folder / "tracking.xml", "clixml")
    >>> frame = read_message_tracking(sorted(folder.iterdir()))
    >>> frame["event_id"].tolist(), len(frame.attrs["parse_report"].files)
    (['RECEIVE', 'DEFER', 'SEND', 'RECEIVE', 'DEFER', 'SEND'], 2)
    """
    exported = [_exported(path) for path in paths]
    exports = [path for path, export in zip(paths, exported) if export]
    logs = [path for path, export in zip(paths, exported) if not export]
    frames = ([read_tracking_log(logs)] if logs else []) + \
        ([read_tracking_export(exports, tz=tz, culture=culture)] if exports else [])
    if len(frames) == 1:
        return frames[0]
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = {"parse_report": ParseReport().extend(part.attrs["parse_report"] for part in frames)}
    return frame


def _exported(path: Any) -> bool:
    """Whether a file (or zip member) is Get-MessageTrackingLog's output, by its first bytes, or a PowerShell
    session's text (a transcript, a copy of the console: the case took it for the output of that command)."""
    evidence = open_evidence(path) if isinstance(path, Member) else peek_evidence(path)
    try:
        return detect_tracking_export(evidence.head(64 * 1024)) or session_text(evidence) is not None
    finally:
        evidence.close()


def _cell(value: Any, column: str) -> Any:
    """A property as the log's field: a list ``;``-joined (Format-List's ``{a, b}`` too), a number as text
    for the text columns; NA for what Export-Csv wrote as a type name, or nothing.

    >>> _cell(["a@contoso.com", "b@contoso.com"], "recipient_address"), _cell("{a@contoso.com, b@x}", "reference")
    ('a@contoso.com;b@contoso.com', 'a@contoso.com;b@x')
    >>> _cell("{[{LED=550 5.7.1 Relay denied, try later};{MSG=}]}", "recipient_status")
    '[{LED=550 5.7.1 Relay denied, try later};{MSG=}]'
    >>> _cell("48213", "total_bytes"), _cell(None, "message_id")
    (48213, None)
    """
    if value is UNREAD or value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ";".join(str(item) for item in value) or None
    if column in _INTEGERS:
        try:
            return int(str(value).replace(",", "").strip())
        except ValueError:
            return None
    text = str(value)
    if text.startswith("{") and text.endswith("}"):     # Format-List's list: a status keeps its ", " whole
        return (text[1:-1].removesuffix("...").removesuffix("\u2026") if column == "recipient_status"
                else ";".join(fl_list(text))) or None
    return text or None


