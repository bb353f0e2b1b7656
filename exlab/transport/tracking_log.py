"""Message tracking logs (``MSGTRK*yyyymmdd-n.LOG``): one row per tracking entry.

The 30 fields become snake_case columns (``date-time`` becomes ``time``, UTC; the
log's own ``source`` field becomes ``event_source`` because ``source`` names the file).
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

import pandas as pd

from exlab.evidence import Sources
from exlab.parse_report import ParseReport
from exlab.transport.logfile import LogKind, detect, iter_log_evidence, iter_records, parse_time
from exlab.transport.schema import TRACKING_COLUMNS, TRACKING_DTYPES, TRACKING_FIELDS, make_frame

TRACKING_LOG = LogKind("Message Tracking Log", TRACKING_FIELDS, "message-tracking-log")

_STATUS_PART = re.compile(r"\{(?P<key>[A-Z]+)=(?P<value>[^{}]*)\}")
_STATUS_KEYS = {"LED": "led", "FQDN": "fqdn", "IP": "ip", "LRT": "lrt"}
_INT_COLUMNS = {"total_bytes", "recipient_count"}


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


def _problem(values: list[str]) -> str | None:
    if parse_time(values[0]) is None:
        return f"date-time {values[0][:40]!r} is not an ISO UTC time"
    for index in (14, 15):   # total-bytes, recipient-count
        if values[index] and not values[index].isdigit():
            return f"{TRACKING_FIELDS[index]} {values[index][:20]!r} is not a number"
    return None


def read_tracking_log(source: Sources) -> pd.DataFrame:
    """Read message tracking logs (a file, a folder, a list, or a binary stream) into the tracking frame.

    ``frame.attrs["parse_report"]`` holds each file's SHA-256 and skipped lines.
    """
    report = ParseReport()
    columns: dict[str, list] = {name: [] for name in (*TRACKING_COLUMNS, "led", "fqdn", "ip", "lrt", "source",
                                                      "line")}
    value_columns = [columns[name] for name in TRACKING_COLUMNS[1:]]
    status_index = TRACKING_FIELDS.index("recipient-status")
    for evidence in iter_log_evidence(source):
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=TRACKING_LOG.format,
                                      size=evidence.size)
        for line, values in iter_records(evidence, TRACKING_LOG, file_report, _problem):
            columns["time"].append(parse_time(values[0]))
            for column, value in zip(value_columns, values[1:]):
                column.append(value or None)
            parts = parse_recipient_status(values[status_index])
            for key in ("led", "fqdn", "ip", "lrt"):
                columns[key].append(parts.get(key))
            columns["source"].append(evidence.name)
            columns["line"].append(line)
        file_report.warn_losses()
    for name in _INT_COLUMNS:
        columns[name] = [None if value is None else int(value) for value in columns[name]]
    return make_frame(columns, TRACKING_DTYPES, report)
