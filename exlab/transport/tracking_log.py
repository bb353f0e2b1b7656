"""Message tracking logs (``MSGTRK*yyyymmdd-n.LOG``): one row per tracking entry.

Each file is read by its own ``#Fields`` line: Exchange 2016/2019 write 30 fields,
Exchange 2013 (``#Version: 15.00.*``) 27 (no transport-traffic-type, log-id,
schema-version) and Exchange 2010 (``#Version: 14.0x.*``) 26 (also no
network-message-id); a field a version does not write is NA. The 30 fields become
snake_case columns (``date-time`` becomes ``time``, UTC; the log's own ``source`` field
becomes ``event_source`` because ``source`` names the file).
A ``recipient-status`` in the queue viewers' form
``[{LED=...};{MSG=...};{FQDN=...};{IP=...};{LRT=...}]`` is also split into the
``led``, ``fqdn``, ``ip`` and ``lrt`` columns; the string itself is kept as logged.

>>> from exlab.lab.transport_logs import demo_tracking_log
>>> tracking = read_tracking_log(demo_tracking_log())
>>> tracking[["event_id", "message_id", "led"]].values.tolist()[1]
['DEFER', '<a1b2c3@contoso.com>', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exlab.evidence import Sources
from exlab.parse_report import ParseReport
from exlab.transport.logfile import LogKind, detect, read_log_tables
from exlab.transport.schema import (
    TRACKING_COLUMNS,
    TRACKING_DTYPES,
    TRACKING_FIELDS,
    log_columns,
    make_frame,
    text_integers,
)
from exlab.value_ranges import count_lost

#: the fields without which a tracking row says nothing (every version since Exchange 2007 writes them)
TRACKING_REQUIRED = ("date-time", "event-id", "message-id", "recipient-status")
TRACKING_LOG = LogKind("Message Tracking Log", TRACKING_FIELDS, "message-tracking-log", TRACKING_REQUIRED)

_STATUS_PART = re.compile(r"\{(?P<key>[A-Z]+)=(?P<value>[^{}]*)\}")
_STATUS_KEYS = {"LED": "led", "FQDN": "fqdn", "IP": "ip", "LRT": "lrt"}
# a recipient status part, column-wise: the last {KEY=value} of its key (as parse_recipient_status keeps it)
_STATUS_COLUMN = r"^.*\{%s=(?P<value>[^{}]*)\}"
_NUMBERS = ("total-bytes", "recipient-count")


def detect_tracking_log(head: bytes) -> bool:
    """Whether a file's first bytes are a message tracking log.

    >>> detect_tracking_log(b"#Software: Microsoft Exchange Server\\r\\n#Version: 15.02.1544.004\\r\\n"
    ...                     b"#Log-type: Message Tracking Log\\r\\n")
    True
    """
    return detect(head, TRACKING_LOG)


def parse_recipient_status(status: str) -> dict[str, str]:
    """The ``LED``/``FQDN``/``IP``/``LRT`` parts of a recipient status, as ``led``/``fqdn``/``ip``/``lrt``.

    >>> parse_recipient_status("[{LED=454 4.7.0 x};{MSG=};{FQDN=a.example};{IP=1.2.3.4};{LRT=3/20/2025 9:14:02 AM}]")
    {'led': '454 4.7.0 x', 'fqdn': 'a.example', 'ip': '1.2.3.4', 'lrt': '3/20/2025 9:14:02 AM'}
    >>> parse_recipient_status("250 2.1.5 Recipient OK")
    {}
    """
    if "{" not in status:
        return {}
    return {_STATUS_KEYS[m.group("key")]: m.group("value") for m in _STATUS_PART.finditer(status)
            if m.group("key") in _STATUS_KEYS}


def status_columns(status: pa.Array | pa.ChunkedArray) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The ``led``, ``fqdn``, ``ip`` and ``lrt`` of each recipient-status, column-wise (the last of each key).

    >>> status = pa.array(["[{LED=454 4.7.0 Failed};{MSG=};{FQDN=x.outlook.com}]", None])
    >>> {name: column.to_pylist() for name, column in status_columns(status).items() if name in ("led", "fqdn")}
    {'led': ['454 4.7.0 Failed', None], 'fqdn': ['x.outlook.com', None]}
    """
    return {name: pc.struct_field(pc.extract_regex(status, _STATUS_COLUMN % key), [0])
            for key, name in _STATUS_KEYS.items()}


def _problems(values: Mapping[str, pa.ChunkedArray]) -> Iterator[tuple[int, str]]:
    """Rows whose total-bytes or recipient-count is written but not a number (the first such field)."""
    bad = [pc.fill_null(pc.invert(pc.ascii_is_decimal(values[name])), False).to_numpy()
           for name in _NUMBERS]
    for row in np.flatnonzero(np.logical_or.reduce(bad)).tolist():
        name = next(name for name, column in zip(_NUMBERS, bad) if column[row])
        yield row, f"{name} {values[name][row].as_py()[:20]!r} is not a number"


def read_tracking_log(source: Sources) -> pd.DataFrame:
    """Read message tracking logs (a file, a folder, a list, or a binary stream) into the tracking frame.

    Each file is read once, by ``pyarrow.csv`` in blocks, into Arrow columns, so a month of
    logs fits in memory. Files of different Exchange versions may be read together; each is
    read by its own ``#Fields`` line. A time, byte count or recipient count past what its
    column holds (year 3025, 25 digits) is read as NA, counted and warned once per file.
    ``frame.attrs["parse_report"]`` holds each file's SHA-256, skipped lines and the fields
    it wrote that the frame has no column for.

    >>> from exlab.lab.transport_logs import demo_tracking_log
    >>> read_tracking_log(demo_tracking_log()).loc[1, ["event_id", "fqdn", "led"]].tolist()
    ['DEFER', 'contoso-com.mail.protection.outlook.com', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
    """
    report = ParseReport()
    columns, lost = log_columns(read_log_tables(source, TRACKING_LOG, report, _problems),
                                dict(zip(TRACKING_FIELDS[1:], TRACKING_COLUMNS[1:])))
    columns.update(status_columns(columns["recipient_status"]))
    for name in ("total_bytes", "recipient_count"):
        columns[name], texts, rows = text_integers(columns[name], TRACKING_DTYPES[name])
        if rows:
            lost[name] = (texts, rows)
    frame = make_frame(columns, TRACKING_DTYPES, report)
    if lost:
        rows = sorted({row for _texts, places in lost.values() for row in places})
        sources = {row: columns["source"][row].as_py() for row in rows}
        lines = columns["line"]
        count_lost(report, sources, lambda row: f"line {lines[row]}", lost)
    return frame
