"""Which transport evidence a file holds, from its first bytes (content, never the name).

>>> sniff_transport(b"#Software: Microsoft Exchange Server\\r\\n#Log-type: Message Tracking Log\\r\\n")
'tracking-log'
>>> sniff_transport(b"Thumbprint : 3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55\\r\\n") is None
True
"""

from __future__ import annotations

from exlab.transport.protocol_log import detect_protocol_log
from exlab.transport.queue_export import detect_queue_export
from exlab.transport.settings import detect_connectors, detect_receive_connectors, detect_servers
from exlab.transport.tracking_log import detect_tracking_log

#: kind -> detector, in the order they are tried
DETECTORS = {
    "protocol-log": detect_protocol_log,
    "tracking-log": detect_tracking_log,
    "queues": detect_queue_export,
    "connectors": detect_connectors,
    "receive-connectors": detect_receive_connectors,
    "servers": detect_servers,
}


def sniff_transport(head: bytes) -> str | None:
    """``"protocol-log"``, ``"tracking-log"``, ``"queues"`` (Get-Queue), ``"connectors"``, ``"receive-connectors"``,
    ``"servers"`` or None.

    ``head`` is the start of the file (a few KB are enough; 64 KB is plenty).

    >>> sniff_transport("Name : EX01\\r\\nAdminDisplayVersion : Version 15.2 (Build 1544.4)\\r\\n".encode("utf-16"))
    'servers'
    """
    for kind, detect in DETECTORS.items():
        if detect(head):
            return kind
    return None
