"""Exchange transport knowledge: the event catalog, SMTP replies, protocol and tracking logs,
and connector / server settings.

>>> from exlab.transport import parse_smtp_reply, classify
>>> classify(parse_smtp_reply("454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"))
'untrusted-root'
"""

from exlab.transport.catalog import catalog, lookup, render_message
from exlab.transport.protocol_log import detect_protocol_log, read_protocol_lines, read_protocol_log
from exlab.transport.smtp_reply import SmtpReply, classify, parse_smtp_reply
from exlab.transport.tracking_log import detect_tracking_log, read_tracking_log

__all__ = [
    "SmtpReply",
    "catalog",
    "classify",
    "detect_protocol_log",
    "detect_tracking_log",
    "lookup",
    "parse_smtp_reply",
    "read_protocol_lines",
    "read_protocol_log",
    "read_tracking_log",
    "render_message",
]
