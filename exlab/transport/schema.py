"""Column names and dtypes of the transport frames (CONTRIBUTING.md's contracts).

Readers collect plain column lists and hand them to :func:`make_frame`, which types
them: times given as int nanoseconds (UTC) become ``datetime64[ns, UTC]``, text
becomes pandas ``string``, tuples stay in ``object`` columns.

>>> frame = make_frame({"name": ["Outbound to Office 365"], "fqdn": [None]}, SERVER_DTYPES)
>>> list(frame.columns), str(frame["fqdn"].dtype)
(['name', 'fqdn', 'edge', 'transport_service', 'source'], 'string')
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exlab.value_ranges import LIMITS, fit_integers

if TYPE_CHECKING:
    from exlab.transport.logfile import LogTable

TIME = "datetime64[ns, UTC]"

SESSION_DTYPES: dict[str, str] = {
    "session_id": "string", "connector": "string", "direction": "string",
    "local_endpoint": "string", "remote_endpoint": "string", "start": TIME, "end": TIME,
    "cert_thumbprint": "string", "cert_subject": "string", "cert_issuer": "string", "cert_serial": "string",
    "cert_names": "object",
    "remote_cert_thumbprint": "string", "remote_cert_subject": "string", "remote_cert_issuer": "string",
    "tls": "string", "tls_error": "string", "replies": "object", "notes": "object", "final_reply": "string",
    "reply_code": "Int32", "enhanced_status": "string", "tls_reason": "string", "outcome": "string",
    "message_ids": "object", "messages_delivered": "Int32", "source": "string",
}

# what ``read_protocol_log(failure_times=True)`` adds (``exlab.Case`` reads it so): when each session's
# outcome was logged, and on which line (``SEND20250320-1.LOG line 21``). ``failed_*``: the first failing
# reply or TLS error of a send session; ``delivered_*``: the reply that accepted its first message (a 2xx
# to the message's data, of a send or a receive session). NaT and NA where there is none.
OUTCOME_TIME_DTYPES: dict[str, str] = {
    "failed_at": TIME, "failed_line": "string", "delivered_at": TIME, "delivered_line": "string",
}

PROTOCOL_LINE_DTYPES: dict[str, str] = {
    "time": TIME, "connector": "string", "session_id": "string", "sequence_number": "Int64",
    "local_endpoint": "string", "remote_endpoint": "string", "event": "string", "data": "string",
    "context": "string", "direction": "string", "source": "string", "line": "Int64",
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
    "source_transport_servers": "object", "enabled": "boolean", "identity": "string",
    # the connector's Guid: what a queue names it by (Get-Queue's NextHopConnector)
    "guid": "string",
    # FrontendProxyEnabled: the Front End Transport service (the same server's since 2016, a Client Access
    # server's in 2013) connects to the next hop and presents its certificate, not the Transport service
    "frontend_proxy_enabled": "boolean",
    # True where Format-List showed only the first SourceTransportServers ({EX01, EX02, EX03, EX04...})
    "source_transport_servers_cut": "boolean", "source": "string",
}

# edge: whether the server is an Edge Transport server (NA where the export does not say)
SERVER_DTYPES: dict[str, str] = {"name": "string", "fqdn": "string", "edge": "boolean", "transport_service": "boolean",
                                 "source": "string"}

RECEIVE_CONNECTOR_DTYPES: dict[str, str] = {
    "name": "string", "identity": "string", "server": "string", "enabled": "boolean", "fqdn": "string",
    "bindings": "object", "remote_ip_ranges": "object", "auth_mechanism": "object", "permission_groups": "object",
    "require_tls": "boolean", "tls_certificate_name": "string", "tls_domain_capabilities": "object",
    "transport_role": "string", "protocol_logging_level": "string", "source": "string",
}

# one row per queue of Get-Queue's output: server (Identity's part before the backslash), the queue's own
# properties, its LastError whole and in parts ([{LRT=...};{LED=...};{FQDN=...};{IP=...}], Exchange 2013 and
# later; Exchange 2010's is the reply alone: led), and the object's number in its file (line)
QUEUE_DTYPES: dict[str, str] = {
    "server": "string", "identity": "string", "delivery_type": "string", "next_hop_domain": "string",
    "next_hop_connector": "string", "tls_domain": "string", "status": "string", "message_count": "Int64",
    "retry_count": "Int64", "next_hop_category": "string", "last_error": "string", "led": "string",
    "last_error_fqdn": "string", "last_error_ip": "string", "last_error_time": TIME, "last_retry_time": TIME,
    "next_retry_time": TIME, "first_retry_time": TIME, "source": "string", "line": "Int64",
}
QUEUE_COLUMNS: tuple[str, ...] = tuple(QUEUE_DTYPES)

FAILURE_DTYPES: dict[str, str] = {
    "time_created": TIME, "computer": "string", "provider": "string", "event_id": "Int32",
    "connector": "string", "message_id": "string", "remote": "string", "smtp_response": "string",
    "code": "Int32", "enhanced_status": "string", "reason": "string", "cause": "string",
    "record_id": "Int64", "source": "string", "line": "Int64",
}


def make_frame(columns: Mapping[str, Any], dtypes: Mapping[str, str], report: Any = None) -> pd.DataFrame:
    """A frame with exactly the columns of ``dtypes``, typed; missing columns are all NA.

    A column may be a list, an ``array.array`` or numpy array of ints, or an Arrow array (from
    :func:`log_columns`; text that must become a number is cast).

    >>> make_frame({"time_created": [0], "code": ["454"]}, {"time_created": TIME, "code": "Int32"}).dtypes.tolist()
    [datetime64[ns, UTC], Int32Dtype()]
    """
    length = max((len(values) for values in columns.values() if values is not None), default=0)
    data = {name: _series(columns.get(name), dtype, length) for name, dtype in dtypes.items()}
    frame = pd.DataFrame(data, columns=list(dtypes))
    if report is not None:
        frame.attrs["parse_report"] = report
    return frame


def _series(values: Any, dtype: str, length: int) -> pd.Series:
    if values is None:
        values = [None] * length
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        # text (dictionary-encoded or not) cast by Arrow: pandas' astype of a dictionary column goes by value
        values = pc.cast(values, pa.large_string() if dtype == "string" else pa.int64())
        if isinstance(values, pa.ChunkedArray):     # one chunk, not one per block of every file: a
            values = values.combine_chunks()        # frame's filters and takes go through it at once
        return pd.Series(pd.array(values, dtype=dtype))
    if isinstance(values, (array, np.ndarray)):
        values = np.asarray(values, dtype=np.int64) if len(values) else np.array([], dtype=np.int64)
        if dtype == TIME:
            return pd.Series(pd.to_datetime(values, unit="ns", utc=True), dtype=TIME)
        return pd.Series(pd.array(values, dtype=dtype))
    if dtype == TIME:
        ints = pd.array(values, dtype="Int64").to_numpy(dtype="int64", na_value=pd.NaT.value)
        return pd.Series(pd.to_datetime(ints, unit="ns", utc=True), dtype=TIME)
    if dtype == "object":
        cells = np.empty(len(values), dtype=object)
        for index, value in enumerate(values):
            cells[index] = value
        return pd.Series(cells, dtype="object")
    return pd.Series(pd.array(values, dtype=dtype))


#: where a frame's row came from, for the values read as NA: row -> (file, place)
Lost = dict[str, tuple[dict[int, str], list[int]]]


def log_columns(tables: Iterable[LogTable], names: Mapping[str, str],
                constants: Mapping[str, Callable[[LogTable], str]] | None = None) -> tuple[dict[str, Any], Lost]:
    """The records of log tables as a frame's columns, file after file: each field named by
    ``names`` (field -> column, of the type it was read in), ``time``, ``line``, ``source`` (the
    file) and a column per ``constants`` entry (column -> its value for a table, on all of its
    rows); and the times read as NA (past what a frame holds) as ``{"time": (texts by row, rows)}``.
    Each table is let go once its columns are taken (the rest of it, such as its times' text, is
    not kept).

    >>> import io
    >>> from exlab.parse_report import ParseReport
    >>> from exlab.transport.logfile import LogKind, read_log_tables
    >>> kind = LogKind("Demo Log", ("date-time", "data"), "demo")
    >>> data = b"#Log-type: Demo Log\\r\\n#Fields: date-time,data\\r\\n2025-03-20T00:00:00Z,\\r\\n3025-03-20T00:00:00Z,y\\r\\n"
    >>> columns, lost = log_columns(read_log_tables(io.BytesIO(data), kind, ParseReport()), {"data": "data"})
    >>> columns["data"].to_pylist(), columns["line"].tolist(), lost
    ([None, 'y'], [3, 4], {'time': ({1: '3025-03-20T00:00:00Z'}, [1])})
    """
    every: dict[str, Callable[[LogTable], str]] = {"source": lambda table: table.source, **(constants or {})}
    chunks: dict[str, list] = {name: [] for name in [*names.values(), *every]}
    types: dict[str, pa.DataType] = {}
    times, lines = [], []
    texts: dict[int, str] = {}
    offset = 0
    for table in tables:
        for field, name in names.items():
            types[name] = table.values[field].type
            chunks[name] += table.values[field].chunks
        for name, value in every.items():     # one value per file: dictionary-encoded, not one text per row
            chunks[name].append(_repeated(value(table), len(table.line)))
        times.append(table.time)
        lines.append(table.line)
        first = table.values[table.header.kind.fields[0]]
        texts.update((offset + int(row), first[int(row)].as_py()) for row in table.too_far)
        offset += len(table.line)
    columns: dict[str, Any] = {name: pa.chunked_array(chunks[name], types.get(name, pa.string())) for name in names.values()}
    columns.update((name, pa.chunked_array(chunks[name], pa.dictionary(pa.int32(), pa.string()))) for name in every)
    columns["time"] = np.concatenate(times) if times else np.zeros(0, np.int64)
    columns["line"] = np.concatenate(lines) if lines else np.zeros(0, np.int64)
    return columns, ({"time": (texts, list(texts))} if texts else {})


def _repeated(value: str, rows: int) -> pa.DictionaryArray:
    """``value`` on ``rows`` rows, as a dictionary array (4 bytes a row, whatever the text's length)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array([value], pa.string()))


def text_integers(column: pa.ChunkedArray, dtype: str) -> tuple[pa.Array, dict[int, str], list[int]]:
    """Decimal text (checked by the reader; NA where empty) as int64 that ``dtype`` holds, NA where it
    does not; and the texts read as NA by row, and their rows (for :func:`exlab.value_ranges.count_lost`).

    >>> values, texts, rows = text_integers(pa.chunked_array([["7", None, "9" * 25, "3000000000", "0" * 20 + "5"]]),
    ...                                     "Int32")
    >>> values.to_pylist(), rows
    ([7, None, None, None, 5], [2, 3])
    """
    low, high = LIMITS[dtype]
    wide = pc.fill_null(pc.greater(pc.utf8_length(column), 18), False)
    narrow = pc.cast(pc.if_else(wide, None, column), pa.int64())
    ints = pc.fill_null(narrow, 0).to_numpy().copy()
    present = pc.is_valid(column).to_numpy()
    outside = pc.fill_null(pc.or_(pc.less(narrow, low), pc.greater(narrow, high)), False).to_numpy() | \
        wide.to_numpy()
    candidates = np.flatnonzero(outside).tolist()
    fitted, _lost = fit_integers([column[row].as_py() for row in candidates], dtype)
    for row, value in zip(candidates, fitted):
        if value is not None:               # a long text with leading zeros
            ints[row], outside[row] = value, False
    rows = np.flatnonzero(outside).tolist()
    return pa.array(ints, pa.int64(), mask=~present | outside), {row: column[row].as_py() for row in rows}, rows
