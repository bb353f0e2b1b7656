"""Months of ordinary mail flow in a server's transport logs, written fast: the background of a big case.

A real investigation reads weeks of SMTP send protocol logs and message tracking logs in which
the incident is a few hundred lines. :func:`write_traffic` writes that background for one server:
``sessions_per_day`` delivered sessions a day for ``days`` days, each shaped like a model session
(the case's own delivered session, with its certificate, connector and smart host), with its own
session id, source port, Message-ID, sender, recipient, size and times, and the RECEIVE and SEND
tracking rows of its message. The lines come from the lab's writers
(:mod:`exlab.lab.transport_logs`: same quoting, headers, rotation per UTC day and at 10 MB); only
the identifiers and times are filled in per session, and the times of all lines are formatted at
once by numpy, so a month of logs takes seconds, not minutes.

>>> import tempfile
>>> from exlab.lab.transport_logs import demo_session, log_version
>>> model = dataclasses.replace(demo_session(), reply=None, reply_at=None)
>>> with tempfile.TemporaryDirectory() as folder:
...     paths = write_traffic(Path(folder) / "SmtpSend", Path(folder) / "MessageTracking", model,
...                           fqdn="ex01.contoso.com", ip="10.0.0.5", version=log_version("15.2 (Build 1544.4)"),
...                           first_day=20_167, days=2, sessions_per_day=3)
...     [p.relative_to(folder).as_posix() for p in paths]
['SmtpSend/SEND20250320-1.LOG', 'SmtpSend/SEND20250321-1.LOG', 'MessageTracking/MSGTRK20250320-1.LOG', 'MessageTracking/MSGTRK20250321-1.LOG']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from exlab.lab.transport_logs import (
    MAX_LOG_BYTES,
    MS,
    LoggedMessage,
    LogVersion,
    ProtocolSession,
    _banner_time,
    _tracking_lines,
    _write_rotated,
    protocol_lines,
    reply_latency,
    tracking_row,
)
from exlab.transport.protocol_log import SEND_PROTOCOL_LOG
from exlab.transport.tracking_log import TRACKING_LOG

if TYPE_CHECKING:
    from exlab.lab.generate import Generated

DAY = 86_400 * 1_000_000_000
SECOND = 1_000_000_000
#: subjects of the background messages (none needs CSV quoting: they are filled into a written line)
SUBJECTS = ("Weekly report", "Re: meeting notes", "Invoice attached", "Delivery schedule", "Fw: travel plans",
            "Quarterly figures", "Contract draft", "Out of office")
# stand-ins for the values each session fills in: control characters no real value holds
_FIELDS = ("sid", "port", "mid", "sender", "rcpt", "size", "rid", "latency", "banner", "imid", "nmid", "lid",
           "slid", "subject")
_SENTINEL = {name: f"\x01{name}\x02" for name in _FIELDS}
_T0 = 1_000_000 * SECOND            # the model's start: its banner text is replaced too
_SIZE, _RID = 987_654_321, 123_456_789_012_345    # numbers no model line holds


def write_traffic(send_folder: Path, tracking_folder: Path, model: ProtocolSession, *, fqdn: str, ip: str,
                  version: LogVersion, first_day: int, days: int, sessions_per_day: int, seed: int = 1,
                  max_bytes: int = MAX_LOG_BYTES) -> list[Path]:
    """Write ``days`` days (from day number ``first_day`` since the epoch, UTC) of delivered sessions
    like ``model`` into the SMTP send protocol logs of ``send_folder`` and their tracking rows into
    ``tracking_folder`` (``fqdn`` and ``ip`` are the server's); returns the files written. The same arguments give the
    same bytes. A session lasts as long as ``model``; the sessions of a day do not overlap.
    """
    if model.reply is not None or not model.messages:
        raise ValueError("the model session must deliver a message (no failing reply)")
    duration = model.end - model.start
    slot = DAY // max(sessions_per_day, 1)
    if slot < duration + 2 * SECOND:
        raise ValueError(f"{sessions_per_day} sessions of {duration / SECOND:.1f} s do not fit in a day")
    protocol, tracking = _protocol_template(model, ip), _tracking_template(model, fqdn, ip, version)
    domain = model.messages[0].sender.rsplit("@", 1)[-1]
    rng = np.random.default_rng([seed, first_day, days, sessions_per_day])
    session_days = [_sessions(rng, first_day + day, sessions_per_day, slot, duration, domain)
                    for day in range(days)]
    send = _write_rotated(send_folder, "SEND", SEND_PROTOCOL_LOG.log_type, version.protocol,
                          SEND_PROTOCOL_LOG.fields, _filled(protocol, session_days), max_bytes)
    track = _write_rotated(tracking_folder, "MSGTRK", TRACKING_LOG.log_type, version.build,
                           version.tracking_fields, _filled(tracking, session_days), max_bytes)
    return send + track


def _protocol_template(model: ProtocolSession, ip: str) -> list[tuple[int, str]]:
    """(offset from the session's start, line after its time with ``{field}`` holes) of each line."""
    sender, recipient = model.messages[0].sender, model.messages[0].recipients[0]
    message = LoggedMessage(f"<{_SENTINEL['mid']}>", _SENTINEL["sender"] + sender[sender.rfind("@"):],
                            (_SENTINEL["rcpt"] + recipient[recipient.rfind("@"):],), _SIZE, _RID)
    spec = dataclasses.replace(model, session_id=_SENTINEL["sid"], start=_T0, end=_T0 + model.end - model.start,
                               local_endpoint=f"{ip}:{_SENTINEL['port']}", messages=(message,))
    banner = _banner_time(_T0)
    return [(ns - _T0, _holes(line[len("2025-03-20T09:14:02.123Z"):].replace(banner, _SENTINEL["banner"])))
            for ns, line in protocol_lines(spec)]


def _tracking_template(model: ProtocolSession, fqdn: str, ip: str, version: LogVersion) -> list[tuple[int, str]]:
    """The RECEIVE (half a second before the session) and SEND (at its end) rows, as templates."""
    smtp_host = model.remote_endpoint.rsplit(":", 1)[0]
    sender, recipient = model.messages[0].sender, model.messages[0].recipients[0]
    common = dict(message_id=f"<{_SENTINEL['mid']}>", sender=_SENTINEL["sender"] + sender[sender.rfind("@"):],
                  recipients=[_SENTINEL["rcpt"] + recipient[recipient.rfind("@"):]], local_hostname=fqdn,
                  local_ip=ip, internal_message_id=_SENTINEL["imid"], network_message_id=_SENTINEL["nmid"],
                  message_subject=_SENTINEL["subject"], total_bytes=_SIZE)
    rows = [tracking_row(_T0 - 500 * MS, "RECEIVE", log_id=_SENTINEL["lid"], **common),
            tracking_row(_T0 + model.end - model.start, "SEND", remote_hostname=model.remote_host,
                         remote_ip=smtp_host, connector_id=model.connector, log_id=_SENTINEL["slid"], **common)]
    return [(ns - _T0, _holes(line[len("2025-03-20T09:14:02.123Z"):])) for ns, line in _tracking_lines(rows, version)]


def _holes(text: str) -> str:
    """A written line's text as a format string: braces doubled, each stand-in a ``{field}``."""
    text = text.replace("{", "{{").replace("}", "}}").replace(str(_SIZE), _SENTINEL["size"])
    text = text.replace(str(_RID), _SENTINEL["rid"])
    text = text.replace(f" bytes in 0.{reply_latency(_RID)},", f" bytes in 0.{_SENTINEL['latency']},")
    for name, sentinel in _SENTINEL.items():
        text = text.replace(sentinel, "{" + name + "}")
    return text


def _sessions(rng: np.random.Generator, day: int, count: int, slot: int, duration: int,
              domain: str) -> tuple[np.ndarray, list[dict[str, str]]]:
    """The start times (ns, whole milliseconds) and the values of ``count`` sessions on ``day``."""
    jitter = rng.integers(0, slot - duration - SECOND, size=count) // MS * MS
    starts = day * DAY + SECOND + np.arange(count, dtype=np.int64) * slot + jitter
    ids = rng.integers(0, 2**64, size=(count, 5), dtype=np.uint64)
    ports = rng.integers(1025, 65535, size=count)
    sizes = rng.integers(2_000, 5_000_000, size=count)
    subjects = rng.integers(0, len(SUBJECTS), size=count)
    users = rng.integers(0, 5_000, size=(count, 2))
    values = []
    for index in range(count):
        a, b, c, d, e = (int(x) for x in ids[index])
        values.append({
            "sid": f"{a:016X}", "port": str(ports[index]), "mid": f"{b:016x}{c & 0xFFFF:04x}@{domain}",
            "sender": f"user{users[index, 0]}", "rcpt": f"user{users[index, 1]}", "size": str(sizes[index]),
            "rid": str(c % 10**12), "latency": reply_latency(c % 10**12), "banner": _banner_time(int(starts[index])),
            "imid": str(d % 10**11), "nmid": _guid_text(b, d), "lid": _guid_text(c, a), "slid": _guid_text(e, b),
            "subject": SUBJECTS[subjects[index]]})
    return starts, values


def _guid_text(high: int, low: int) -> str:
    digits = f"{high:016x}{low:016x}"
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-a{digits[17:20]}-{digits[20:32]}"


def _filled(template: list[tuple[int, str]],
            session_days: list[tuple[np.ndarray, list[dict[str, str]]]]) -> Iterator[tuple[int, str]]:
    """(ns, line) of every line of every session, in time order: the times formatted by numpy at once."""
    offsets = np.array([offset for offset, _ in template], dtype=np.int64)
    texts = [text for _, text in template]
    fixed = ["{" not in text for text in texts]
    for starts, values in session_days:
        times = (starts[:, None] + offsets[None, :]).ravel()
        stamps = np.datetime_as_string((times // MS).astype("datetime64[ms]"), unit="ms").tolist()
        ns = times.tolist()
        width = len(texts)
        for index, fields in enumerate(values):
            base = index * width
            for k, text in enumerate(texts):
                yield ns[base + k], stamps[base + k] + "Z" + (text if fixed[k] else text.format_map(fields))


def add_traffic(gen: Generated, *, days: int, sessions_per_day: int) -> list[Path]:
    """Add ``days`` days of ordinary mail flow, ending the day before the case's own, to the SMTP send
    protocol logs and tracking logs of each server of a generated case (:func:`exlab.lab.generate_case`)
    that delivered a message there: a big case whose incident is a needle in weeks of logs.
    Returns the files written.

    >>> import tempfile
    >>> from exlab.lab.generate import generate_case
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     gen = generate_case("contoso-kb2888788", folder, only=("protocol-log", "tracking-log"))
    ...     sorted(p.name for p in add_traffic(gen, days=2, sessions_per_day=10))
    ['MSGTRK20250318-1.LOG', 'MSGTRK20250319-1.LOG', 'SEND20250318-1.LOG', 'SEND20250319-1.LOG']
    """
    from exlab.lab.generate import _session_spec
    from exlab.lab.transport_logs import log_version

    history = gen.history
    first_day = min([s.start for s in history.sessions] + [t.time for t in history.tracking]) // DAY - days
    written: list[Path] = []
    for server in gen.scenario.servers:
        delivered = [s for s in history.sessions
                     if s.server == server.name and not s.failed and not s.local_failure and s.messages]
        folders = {export.kind: gen.folder / export.path for export in gen.scenario.exports
                   if str(export.server) == server.name and export.kind in ("protocol-log", "tracking-log")}
        if not delivered or len(folders) < 2:
            continue
        written += write_traffic(folders["protocol-log"], folders["tracking-log"], _session_spec(gen, delivered[-1]),
                                 fqdn=server.fqdn, ip=server.ip, version=log_version(server.exchange_version),
                                 first_day=first_day, days=days, sessions_per_day=sessions_per_day, seed=gen.seed)
    return written
