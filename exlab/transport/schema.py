"""Column names and dtypes of the transport frames (CONTRIBUTING.md's contracts).

Readers collect plain column lists and hand them to :func:`make_frame`, which types
them: times given as int nanoseconds (UTC) become ``datetime64[ns, UTC]``, text
becomes pandas ``string``, tuples stay in ``object`` columns.

>>> frame = make_frame({"name": ["Outbound to Office 365"], "fqdn": [None]}, SERVER_DTYPES)
>>> list(frame.columns), str(frame["fqdn"].dtype)
(['name', 'fqdn', 'source'], 'string')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

TIME = "datetime64[ns, UTC]"

SESSION_DTYPES: dict[str, str] = {
    "session_id": "string", "connector": "string", "local_endpoint": "string", "remote_endpoint": "string",
    "start": TIME, "end": TIME,
    "cert_thumbprint": "string", "cert_subject": "string", "cert_issuer": "string", "cert_serial": "string",
    "cert_names": "object",
    "remote_cert_thumbprint": "string", "remote_cert_subject": "string", "remote_cert_issuer": "string",
    "tls": "string", "tls_error": "string", "replies": "object", "final_reply": "string",
    "reply_code": "Int32", "enhanced_status": "string", "tls_reason": "string", "outcome": "string",
    "message_ids": "object", "messages_delivered": "Int32", "source": "string",
}

PROTOCOL_LINE_DTYPES: dict[str, str] = {
    "time": TIME, "connector": "string", "session_id": "string", "sequence_number": "Int64",
    "local_endpoint": "string", "remote_endpoint": "string", "event": "string", "data": "string",
    "context": "string", "source": "string", "line": "Int64",
}

TRACKING_FIELDS: tuple[str, ...] = (
    "date-time", "client-ip", "client-hostname", "server-ip", "server-hostname", "source-context",
    "connector-id", "source", "event-id", "internal-message-id", "message-id", "network-message-id",
    "recipient-address", "recipient-status", "total-bytes", "recipient-count", "related-recipient-address",
    "reference", "message-subject", "sender-address", "return-path", "message-info", "directionality",
    "tenant-id", "original-client-ip", "original-server-ip", "custom-data", "transport-traffic-type",
    "log-id", "schema-version",
)

# the log's fields as columns: date-time becomes time; the log's own "source" field (SMTP,
# STOREDRIVER, ...) becomes event_source, because "source" is the file, as in every frame
TRACKING_COLUMNS: tuple[str, ...] = tuple(
    {"date-time": "time", "source": "event_source"}.get(name, name.replace("-", "_")) for name in TRACKING_FIELDS)
_TRACKING_TYPES = {"time": TIME, "total_bytes": "Int64", "recipient_count": "Int32"}
TRACKING_DTYPES: dict[str, str] = {
    **{name: _TRACKING_TYPES.get(name, "string") for name in TRACKING_COLUMNS},
    # parsed from recipient-status [{LED=...};{MSG=...};{FQDN=...};{IP=...};{LRT=...}] where present
    "led": "string", "fqdn": "string", "ip": "string", "lrt": "string",
    "source": "string", "line": "Int64",
}

CONNECTOR_DTYPES: dict[str, str] = {
    "name": "string", "fqdn": "string", "tls_certificate_name": "string", "require_tls": "boolean",
    "tls_auth_level": "string", "tls_domain": "string", "smart_hosts": "object", "address_spaces": "object",
    "cloud_services_mail_enabled": "boolean", "protocol_logging_level": "string",
    "source_transport_servers": "object", "enabled": "boolean", "identity": "string", "source": "string",
}

SERVER_DTYPES: dict[str, str] = {"name": "string", "fqdn": "string", "source": "string"}

FAILURE_DTYPES: dict[str, str] = {
    "time_created": TIME, "computer": "string", "provider": "string", "event_id": "Int32",
    "connector": "string", "message_id": "string", "remote": "string", "smtp_response": "string",
    "code": "Int32", "enhanced_status": "string", "reason": "string", "cause": "string",
    "record_id": "Int64", "source": "string",
}


def make_frame(columns: Mapping[str, list], dtypes: Mapping[str, str], report: Any = None) -> pd.DataFrame:
    """A frame with exactly the columns of ``dtypes``, typed; missing columns are all NA."""
    length = max((len(values) for values in columns.values()), default=0)
    data = {}
    for name, dtype in dtypes.items():
        values = columns.get(name)
        if values is None:
            values = [None] * length
        if dtype == TIME:
            ints = pd.array(values, dtype="Int64").to_numpy(dtype="int64", na_value=pd.NaT.value)
            data[name] = pd.Series(pd.to_datetime(ints, unit="ns", utc=True), dtype=TIME)
        elif dtype == "object":
            cells = np.empty(len(values), dtype=object)
            for index, value in enumerate(values):
                cells[index] = value
            data[name] = pd.Series(cells, dtype="object")
        else:
            data[name] = pd.Series(pd.array(values, dtype=dtype))
    frame = pd.DataFrame(data, columns=list(dtypes))
    if report is not None:
        frame.attrs["parse_report"] = report
    return frame
