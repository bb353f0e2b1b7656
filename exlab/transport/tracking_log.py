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
from array import array

import pandas as pd

from exlab.evidence import Sources
from exlab.parse_report import ParseReport
from exlab.transport.logfile import LogKind, detect, iter_log_lines
from exlab.transport.schema import TRACKING_COLUMNS, TRACKING_DTYPES, TRACKING_FIELDS, TextColumns, make_frame

#: the fields without which a tracking row says nothing (every version since Exchange 2007 writes them)
TRACKING_REQUIRED = ("date-time", "event-id", "message-id", "recipient-status")
TRACKING_LOG = LogKind("Message Tracking Log", TRACKING_FIELDS, "message-tracking-log", TRACKING_REQUIRED)

_STATUS_PART = re.compile(r"\{(?P<key>[A-Z]+)=(?P<value>[^{}]*)\}")
_STATUS_KEYS = {"LED": "led", "FQDN": "fqdn", "IP": "ip", "LRT": "lrt"}


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
    for index in (14, 15):   # total-bytes, recipient-count
        if values[index] and not (values[index].isascii() and values[index].isdigit()):
            return f"{TRACKING_FIELDS[index]} {values[index][:20]!r} is not a number"
    return None


def read_tracking_log(source: Sources) -> pd.DataFrame:
    """Read message tracking logs (a file, a folder, a list, or a binary stream) into the tracking frame.

    Rows are kept as compact Arrow columns while reading, so a month of logs fits in
    memory. Files of different Exchange versions may be read together; each is read by its
    own ``#Fields`` line. ``frame.attrs["parse_report"]`` holds each file's SHA-256, skipped
    lines and the fields it wrote that the frame has no column for.

    >>> from exlab.lab.transport_logs import demo_tracking_log
    >>> read_tracking_log(demo_tracking_log()).loc[1, ["event_id", "fqdn", "led"]].tolist()
    ['DEFER', 'contoso-com.mail.protection.outlook.com', '454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied']
    """
    report = ParseReport()
    text = TextColumns(TRACKING_COLUMNS[1:] + ("source",))
    times, lines = array("q"), array("q")
    status_index = TRACKING_FIELDS.index("recipient-status")
    parts: dict[int, dict[str, str]] = {}      # row -> LED/FQDN/IP/LRT, for the few rows that have them
    for name, line, time, values, _header in iter_log_lines(source, TRACKING_LOG, report, _problem):
        status = values[status_index]
        if "{" in status:
            parts[len(text)] = parse_recipient_status(status)
        values[0] = name          # date-time is in ``times``; the row's file takes its place
        text.append(values[1:] + values[:1])
        times.append(time)
        lines.append(line)
    columns: dict[str, object] = dict(text.columns())
    columns["time"], columns["line"] = times, lines
    for key in ("led", "fqdn", "ip", "lrt"):
        columns[key] = [parts.get(row, {}).get(key) for row in range(len(text))] if parts else None
    return make_frame(columns, TRACKING_DTYPES, report)
