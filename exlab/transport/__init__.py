"""Exchange transport knowledge: the event catalog, SMTP replies, protocol and tracking logs,
and connector / server settings.

* ``catalog()``, ``lookup()``, ``render_message()``: the transport events exlab knows (catalog.json);
* ``name_fields(events)``: named columns for their insertion strings (or from rendered text);
* ``parse_smtp_reply()``, ``classify()``: replies such as ``454 4.7.0 ... UntrustedRoot``;
* ``tls_failures(events)``: one row per failed delivery reported by events 2004, 2015, 12014;
* ``read_protocol_log()`` (send and receive sessions; ``send_sessions()`` keeps the outbound ones),
  ``read_protocol_lines()``, ``read_tracking_log()``;
* ``read_connectors()``, ``read_receive_connectors()``, ``read_servers()``: Get-SendConnector /
  Get-ReceiveConnector / Get-ExchangeServer exports;
* ``read_tracking_export()``, ``read_queues()``: Get-MessageTrackingLog's and Get-Queue's output;
* ``sniff_transport(head)`` and the ``detect_*`` functions: which of these a file holds.

>>> from exlab.transport import parse_smtp_reply, classify
>>> classify(parse_smtp_reply("454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"))
'untrusted-root'
"""

from exlab.transport.catalog import catalog, lookup, render_message
from exlab.transport.failures import tls_failures
from exlab.transport.fields import name_fields
from exlab.transport.protocol_log import detect_protocol_log, read_protocol_lines, read_protocol_log, send_sessions
from exlab.transport.queue_export import detect_queue_export, read_queues
from exlab.transport.settings import (
    detect_connectors,
    detect_receive_connectors,
    detect_servers,
    read_connectors,
    read_receive_connectors,
    read_servers,
)
from exlab.transport.smtp_reply import SmtpReply, classify, parse_smtp_reply
from exlab.transport.sniff import sniff_transport
from exlab.transport.tracking_export import detect_tracking_export, read_tracking_export
from exlab.transport.tracking_log import detect_tracking_log, read_tracking_log

__all__ = [
    "SmtpReply",
    "catalog",
    "classify",
    "detect_connectors",
    "detect_protocol_log",
    "detect_queue_export",
    "detect_receive_connectors",
    "detect_servers",
    "detect_tracking_export",
    "detect_tracking_log",
    "lookup",
    "name_fields",
    "parse_smtp_reply",
    "read_connectors",
    "read_protocol_lines",
    "read_protocol_log",
    "read_queues",
    "read_receive_connectors",
    "read_servers",
    "read_tracking_export",
    "read_tracking_log",
    "render_message",
    "send_sessions",
    "sniff_transport",
    "tls_failures",
]
