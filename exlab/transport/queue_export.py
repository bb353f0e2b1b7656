"""``Get-Queue`` output (the queue viewer in the Exchange Management Shell), the first evidence engineers send
of an outage, read into the queues frame: one row per queue, with Exchange Online's answer from its LastError.

Get-Queue returns one object per queue (QueueInfo in Exchange 2010; ExtensibleQueueInfo and
PropertyBagBasedQueueInfo since 2013): DeliveryType, NextHopDomain, TlsPolicyDesignatedDomain (``TlsDomain``
in Exchange 2013 RTM-era builds), NextHopConnector, Status, MessageCount, LastError, RetryCount,
LastRetryTime, NextRetryTime, FirstRetryTime, NextHopCategory, QueueIdentity, Identity (``EX01\\3``), ...
Since Exchange 2013 LastError is ``[{LRT=<local time>};{LED=<SMTP reply>};{FQDN=<host>};{IP=<address>}]``;
Exchange 2010's is the reply alone. What each shape keeps (Windows PowerShell 5.1):

* Format-List (``| fl``, saved with ``>``, or in a transcript or a copy of the console): the times in the
  server's local time and culture, long values wrapped at the console's width;
* Export-Clixml: the times as ``<DT>`` with the offset, Status an enum, Identity an object shown as ``EX01\\3``;
* ConvertTo-Json: ``\\/Date(ms)\\/`` (ISO 8601 with the offset from PowerShell 7), Status and DeliveryType
  as numbers (read as their names);
* Export-Csv: as Format-List shows them, lists written as their type name (none of them is in the frame).

LRT is always the server's local time in its culture, read as the Format-List times are
(:mod:`exlab.transport.export_times`). An object with no Identity, QueueIdentity or NextHopDomain is
skipped and counted; a time or a count that does not read is NA and counted.

>>> import io
>>> from exlab.lab.transport_logs import queue_row, write_queue_export
>>> row = queue_row("EX01", 7, next_hop_domain="contoso-com.mail.protection.outlook.com", message_count=12,
...                 connector_guid="6f9d2e34-8c1b-4b7a-9e02-3a5c7d1f0b48", last_error_reply="454 4.7.0 Failed "
...                 "to establish appropriate TLS channel: UntrustedRoot: Access Denied", last_error_ip="104.47.1.33",
...                 last_retry=pd.Timestamp("2025-03-20 09:14:02Z"))
>>> out = io.BytesIO()
>>> write_queue_export([row], out, "fl", tz="Europe/Warsaw")
>>> frame = read_queues(io.BytesIO(out.getvalue()), tz="Europe/Warsaw")
>>> frame.loc[0, ["server", "status", "led"]].tolist()
['EX01', 'Retry', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
>>> int(frame.loc[0, "message_count"]), str(frame.loc[0, "last_error_time"])
(12, '2025-03-20 09:14:02+00:00')
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from exlab.events.query import EventQuery
from exlab.evidence import Sources, iter_evidence
from exlab.parse_report import FileReport, ParseReport
from exlab.transport.export_times import export_times
from exlab.transport.schema import QUEUE_DTYPES, make_frame
from exlab.transport.settings import UNREAD, display, export_objects, export_shape, has_property, head_text
from exlab.value_ranges import fit_integers

FORMAT = "queue-export"
#: Microsoft.Exchange.Data.QueueViewer.QueueStatus by number (ConvertTo-Json writes the number)
QUEUE_STATUS = ("None", "Active", "Ready", "Retry", "Suspended", "Connecting")
#: Microsoft.Exchange.Data.DeliveryType by number
DELIVERY_TYPES = ("Undefined", "DnsConnectorDelivery", "MapiDelivery", "NonSmtpGatewayDelivery",
                  "SmartHostConnectorDelivery", "SmtpRelayToRemoteAdSite", "SmtpRelayToTiRg", "SmtpRelayWithinAdSite",
                  "SmtpRelayWithinAdSiteToEdge", "Unreachable", "ShadowRedundancy", "Heartbeat", "DeliveryAgent",
                  "SmtpDeliveryToMailbox", "SmtpRelayToDag", "SmtpRelayToMailboxDeliveryGroup",
                  "SmtpRelayToConnectorSourceServers", "SmtpRelayToServers")
#: the delivery types whose next hop is outside the organization (NextHopCategory External; the others Internal)
EXTERNAL_DELIVERY = frozenset({"DnsConnectorDelivery", "NonSmtpGatewayDelivery", "SmartHostConnectorDelivery",
                               "DeliveryAgent"})
# the queues frame's text columns -> Get-Queue's property (the first an object has, of several)
_TEXTS = {"delivery_type": ("DeliveryType",), "next_hop_domain": ("NextHopDomain",),
          "next_hop_connector": ("NextHopConnector",), "tls_domain": ("TlsPolicyDesignatedDomain", "TlsDomain"),
          "status": ("Status",), "next_hop_category": ("NextHopCategory",)}
_ENUMS = {"delivery_type": DELIVERY_TYPES, "status": QUEUE_STATUS}
_COUNTS = {"message_count": "MessageCount", "retry_count": "RetryCount"}
# the time columns -> their property; LastError's LRT is read with them
_TIMES = {"last_retry_time": "LastRetryTime", "next_retry_time": "NextRetryTime", "first_retry_time": "FirstRetryTime"}
# what only a queue shows beside its NextHopDomain: how Get-Queue's output is told from other exports
_MARKERS = ("DeliveryType", "MessageCount", "LastError", "NextHopConnector", "QueueIdentity")
# what a message in a queue shows (Get-Message), and a queue does not
_MESSAGE_PROPERTIES = ("FromAddress", "Subject", "InternetMessageId", "Queue", "Recipients")
# where a part of LastError starts: "};{" then its key (capitals, as Exchange writes them) and "=" (a reply may
# hold ";", "{" and "}" anywhere else)
_PART = "};{"
_KEY = re.compile(r"[A-Z]{1,16}=")


def is_queue_export(text: str) -> bool:
    """Whether ``text`` (the start of a file, or one command's output) is Get-Queue's output: it shows a
    NextHopDomain and one of DeliveryType, MessageCount, LastError, NextHopConnector, QueueIdentity; or, of
    properties chosen (``| fl Identity,Status,LastError``), a LastError beside an Identity and none of the
    properties of a message in a queue (Get-Message's output has a LastError too).

    >>> is_queue_export("DeliveryType  : SmartHostConnectorDelivery\\r\\nNextHopDomain : contoso.com\\r\\n")
    True
    >>> is_queue_export("Identity  : EX01\\\\3\\r\\nStatus    : Retry\\r\\n"
    ...                 "LastError : [{LRT=};{LED=451 4.4.0 x}]\\r\\n")
    True
    >>> is_queue_export("Identity    : EX01\\\\3\\\\1\\r\\nFromAddress : a@contoso.com\\r\\n"
    ...                 "LastError   : 451 4.4.0 x\\r\\n")
    False
    >>> is_queue_export("EventId           : DEFER\\r\\nInternalMessageId : 42\\r\\nRecipientStatus   : {}\\r\\n")
    False
    """
    shape = export_shape(text)
    if shape is None:
        return False
    if has_property(text, shape, ("NextHopDomain",)):
        return has_property(text, shape, _MARKERS)
    return has_property(text, shape, ("LastError",)) and has_property(text, shape, ("Identity", "QueueIdentity")) \
        and not has_property(text, shape, _MESSAGE_PROPERTIES)


def detect_queue_export(head: bytes) -> bool:
    """Whether a file's first bytes are Get-Queue's output (:func:`is_queue_export`).

    >>> detect_queue_export('"Identity","DeliveryType","NextHopDomain","MessageCount"'.encode("utf-16"))
    True
    """
    return is_queue_export(head_text(head))


def last_error_parts(text: str) -> dict[str, str]:
    """A LastError's parts by key (``LRT``, ``LED``, ``FQDN``, ``IP``, and any other): Exchange 2013 and later
    write ``[{LRT=...};{LED=...};{FQDN=...};{IP=...}]``; Exchange 2010's (or any text not so wrapped) is the reply
    alone, its ``LED``. A part starts at ``};{`` followed by a key in capitals and ``=``, so a reply may hold ``;``,
    braces and quotes; read in one pass over the text, whatever it holds.

    >>> last_error_parts("[{LRT=};{LED=451 4.4.0 {a};{b=1} \\"x\\"};{FQDN=mx.contoso.com};{IP=10.0.0.9}]")
    {'LRT': '', 'LED': '451 4.4.0 {a};{b=1} "x"', 'FQDN': 'mx.contoso.com', 'IP': '10.0.0.9'}
    >>> last_error_parts("451 4.4.0 DNS query failed"), last_error_parts("  ")
    ({'LED': '451 4.4.0 DNS query failed'}, {})
    """
    body = text.strip()
    if not (body.startswith("[{") and _KEY.match(body, 2)):
        return {"LED": body} if body else {}
    inner = body[2:].removesuffix("]").removesuffix("}")
    starts = [0]
    found = inner.find(_PART)
    while found >= 0:
        if _KEY.match(inner, found + len(_PART)):
            starts.append(found + len(_PART))
        found = inner.find(_PART, found + 1)
    parts: dict[str, str] = {}
    for start, end in zip(starts, [*starts[1:], len(inner) + len(_PART)]):
        key, _, value = inner[start:end - len(_PART)].partition("=")
        parts[key] = value
    return parts


def read_queues(source: Sources, *, tz: str | None = None, culture: str | None = None) -> pd.DataFrame:
    """Get-Queue's output (a file, a folder, a list, or a binary stream) into the queues frame: one row per queue,
    its ``line`` the object's number in its file. ``tz`` and ``culture``: the server's, for the local times of
    Format-List and Export-Csv and LastError's LRT (else settled by the values, else UTC assumed, and noted).
    """
    report = ParseReport()
    query = EventQuery.build(tz=tz, culture=culture)
    columns: dict[str, list] = {name: [] for name in QUEUE_DTYPES}
    for evidence in iter_evidence(source, report):
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=FORMAT, size=evidence.size)
        bags = [bag for bag, _ in export_objects(evidence, file_report, is_queue_export, "queues", "a queue export",
                                                 "Get-Queue output")]
        kept: list[tuple[int, dict[str, Any]]] = []
        for number, bag in enumerate(bags, 1):
            identity = _text(bag.get("Identity")) or _text(bag.get("QueueIdentity"))
            if identity is None and _text(bag.get("NextHopDomain")) is None:
                file_report.skip_record(f"object {number}", "expected an Identity, a QueueIdentity or a NextHopDomain")
                continue
            kept.append((number, _row(bag, identity)))
        _read_counts(kept, bags, file_report)
        _read_times(kept, bags, query, file_report)
        for number, row in kept:
            row.update(source=evidence.name, line=number)
            for name in QUEUE_DTYPES:
                columns[name].append(row[name])
        file_report.records_read += len(kept)
        file_report.warn_losses()
    return make_frame(columns, QUEUE_DTYPES, report)


def _row(bag: dict[str, Any], identity: str | None) -> dict[str, Any]:
    """An object's text columns and LastError's parts, its LRT as ``lrt`` (the counts and times are read file-wise:
    :func:`_read_counts`, :func:`_read_times`)."""
    server, slash, _ = (identity or "").partition("\\")
    row: dict[str, Any] = {"identity": identity, "server": server if slash and server.strip() else None}
    for column, names in _TEXTS.items():
        value = next((bag[name] for name in names if name in bag), None)
        row[column] = _enum(value, _ENUMS[column]) if column in _ENUMS else _text(value)
    category = bag.get("NextHopCategory")
    if isinstance(category, int) and not isinstance(category, bool) and row["delivery_type"] in DELIVERY_TYPES:
        row["next_hop_category"] = "External" if row["delivery_type"] in EXTERNAL_DELIVERY else "Internal"
    last_error = _text(bag.get("LastError"))
    parts = last_error_parts(last_error or "")
    row.update(last_error=last_error, led=parts.get("LED") or None, last_error_fqdn=parts.get("FQDN") or None,
               last_error_ip=parts.get("IP") or None, lrt=parts.get("LRT"))
    return row


def _read_counts(kept: list[tuple[int, dict[str, Any]]], bags: list[dict[str, Any]], report: FileReport) -> None:
    """MessageCount and RetryCount of the kept objects into their rows; one that is no count is NA and counted."""
    for column, name in _COUNTS.items():
        values = [display(bags[number - 1].get(name)) for number, _ in kept]
        values = [None if value is UNREAD or (isinstance(value, str) and not value.strip()) else value
                  for value in values]
        counts, lost = fit_integers(values, QUEUE_DTYPES[column])
        for (_, row), count in zip(kept, counts):
            row[column] = count
        for index in lost:
            report.null_value(f"object {kept[index][0]}", f"{name} {str(values[index])[:40]!r} is not a count: "
                                                          "read as NA")


def _read_times(kept: list[tuple[int, dict[str, Any]]], bags: list[dict[str, Any]], query: EventQuery,
                report: FileReport) -> None:
    """The times of the kept objects (and LastError's LRT) into their rows, read together (one culture a
    file); one that does not read is NA and counted."""
    places = [(row, column, number) for number, row in kept for column in ("last_error_time", *_TIMES)]
    values = [row.pop("lrt") if column == "last_error_time" else bags[number - 1].get(_TIMES[column])
              for row, column, number in places]
    names = ["LastError's LRT" if column == "last_error_time" else _TIMES[column] for _, column, _ in places]
    times, unread = export_times([None if value is UNREAD else value for value in values], query, report, names)
    for (row, column, _), time in zip(places, times):
        row[column] = time
    for index, reason in unread.items():
        report.null_value(f"object {places[index][2]}", f"{reason}: read as NA")


def _text(value: Any) -> str | None:
    """A property as text (a nested object as Format-List shows it); None for nothing, an empty text, or what
    Export-Csv wrote as a type name.

    >>> _text("EX01\\\\3"), _text(" "), _text(None), _text(17)
    ('EX01\\\\3', None, None, '17')
    """
    if value is UNREAD or value is None:
        return None
    text = str(display(value))
    return text if text.strip() else None


def _enum(value: Any, names: tuple[str, ...]) -> str | None:
    """An enum property as its name: ConvertTo-Json's number (or an Export-Clixml enum without its name)
    named; a number past the names kept as its text.

    >>> _enum(3, QUEUE_STATUS), _enum("Retry", QUEUE_STATUS), _enum(99, QUEUE_STATUS)
    ('Retry', 'Retry', '99')
    """
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    return _text(value)
