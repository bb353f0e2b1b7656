"""SMTP sessions from the lines of protocol logs, column-wise (one pass over the columns, no loop
over lines).

A line belongs to the session of its folder (one server's logs), direction and session id; a
``-`` line (disconnect) ends it, and a later line with the same id starts another. What a
session showed line by line (the certificate block a ``*`` line's attributes belong to, whether
the data of a message is being answered) is a state carried forward within the session: a
forward fill over the lines grouped by session. The columns are those of
CONTRIBUTING.md's sessions frame; :func:`sessions_frame` builds it and, asked to, adds the
times of the outcome (:data:`~exlab.transport.schema.OUTCOME_TIME_DTYPES`): ``failed_at`` and
``failed_line`` (when and on which line the failing reply or TLS error was logged),
``delivered_at`` and ``delivered_line`` (those of the reply that accepted the first message).

>>> from exlab.lab.transport_logs import demo_protocol_log
>>> from exlab.transport.protocol_log import read_protocol_log
>>> read_protocol_log(demo_protocol_log(), failure_times=True).loc[0, ["outcome", "failed_line"]].tolist()
['rejected', '<stream> line 47']
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, MutableMapping, Sequence
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exlab.transport.coded import CodedText
from exlab.transport.schema import OUTCOME_TIME_DTYPES, SESSION_DTYPES, make_frame
from exlab.transport.smtp_reply import parse_smtp_reply
from exlab.value_ranges import NAT

# the context of the '*' lines that carry a certificate attribute, and the attribute each names
_CERT_ATTRIBUTES = {
    "certificate subject": "subject",
    "certificate issuer name": "issuer",
    "certificate serial number": "serial",
    "certificate thumbprint": "thumbprint",
    "certificate alternate names": "names",
}
_LOCAL_CERT = "sending certificate"
_REMOTE_CERT = ("remote certificate", "received certificate")
_TLS_OK = r"(?i)^TLS protocol \S+ negotiation succeeded"
_TLS_FAILED = r"(?i)^TLS negotiation failed with error (?P<reason>.+?)\.?$"
_MESSAGE_ID = r"InternetMessageId (?P<id><[^>]*>)"
# an information line that reports a failure (kept with its time in ``notes``), e.g. the SmtpSend
# "Outbound Authentication failed to initialize with TLS1_0NotSupported"
_FAILURE_NOTE = r"(?i)\b(?:fail(?:ed|ure)?|error|unable|denied|refused|rejected|timed out)\b"
# newer builds log a certificate on one line: the values space-separated in data, their names in context
_ONE_LINE_CERT = (r"^\s*(?P<dns>.+?) (?P<serial>[0-9A-Fa-f]+) (?P<thumbprint>[0-9A-Fa-f]{40}) "
                  r"(?P<not_before>\d{4}-\d\d-\d\dT[0-9:.]+Z) (?P<not_after>\d{4}-\d\d-\d\dT[0-9:.]+Z)"
                  r"(?: (?P<names>\S*))?\s*$")
_DN_BREAK = re.compile(r"(?<!,) (?=[A-Za-z][A-Za-z0-9.]*=)")
# the replies that accept a MAIL FROM or RCPT TO (2.1.x): what the data phase follows
ENVELOPE_OK = r"^2[0-9][0-9][ -]2\.1\.[0-9]"
_BDAT_LAST = r"(?i)^BDAT [0-9]+ LAST\b"
_FAILING_REPLY = r"^[45][0-9][0-9]\b"
_NO_CERT = {"subject": None, "issuer": None, "serial": None, "thumbprint": None, "names": None}
_LOCAL, _REMOTE = 1, 2
# the text columns of the lines, coded (exlab.transport.coded) as the sessions are built
_TEXTS = ("session_id", "connector", "direction", "local_endpoint", "remote_endpoint", "event", "data", "context",
          "source", "folder")


def sessions_frame(lines: MutableMapping[str, Any], report: Any = None, *, failure_times: bool = False) -> pd.DataFrame:
    """The sessions frame of protocol log lines given as columns (Arrow text or dictionary columns
    with NA for empty: connector, session_id, local_endpoint, remote_endpoint, event, data, context,
    direction, source, folder; numpy ``time`` in ns and ``line``), in the order the lines were logged.
    The text columns are taken out of ``lines`` as they are coded, so their memory goes as soon as
    the caller lets ``lines`` go. ``failure_times`` adds the columns of
    :data:`~exlab.transport.schema.OUTCOME_TIME_DTYPES`.

    Rows are in order of start, send before receive, session id.

    >>> lines = {"connector": pa.array(["Out", "Out"]), "session_id": pa.array(["A", "A"]),
    ...          "local_endpoint": pa.array([None, None], pa.string()), "remote_endpoint": pa.array([None, None], pa.string()),
    ...          "event": pa.array(["<", "-"]), "data": pa.array(["454 4.7.0 x: UntrustedRoot", None]),
    ...          "context": pa.array([None, None], pa.string()), "direction": pa.array(["send", "send"]),
    ...          "source": pa.array(["a.log", "a.log"]), "folder": pa.array(["", ""]),
    ...          "time": np.array([1, 2]), "line": np.array([6, 7])}
    >>> sessions_frame(lines)[["session_id", "reply_code", "tls_reason", "outcome"]].values.tolist()
    [['A', 454, 'UntrustedRoot', 'rejected']]

    A session whose message the peer accepted (the 250 after DATA's 354) is delivered at that reply:

    >>> same = {"connector": "Out", "session_id": "B", "local_endpoint": None, "remote_endpoint": None,
    ...         "context": None, "direction": "send", "source": "a.log", "folder": ""}
    >>> lines = {name: pa.array([value] * 4, pa.string()) for name, value in same.items()}
    >>> lines |= {"event": pa.array([">", "<", "<", "-"]), "time": np.array([1, 2, 3, 4]),
    ...           "line": np.array([6, 7, 8, 9]),
    ...           "data": pa.array(["DATA", "354 Start mail input", "250 2.6.0 Queued mail for delivery", None])}
    >>> sessions_frame(lines, failure_times=True).loc[0, ["outcome", "delivered_line", "failed_line"]].tolist()
    ['delivered', 'a.log line 8', <NA>]
    """
    view = _Lines(lines)
    columns: dict[str, Any] = {}
    for name in ("session_id", "connector", "direction"):
        columns[name] = view.text(name).texts(view.first)
    columns["local_endpoint"] = view.first_of(view.text("local_endpoint"))
    columns["remote_endpoint"] = view.first_of(view.text("remote_endpoint"))
    columns["start"], columns["end"] = view.span()
    columns["source"] = view.sources()
    replies = view.replies()
    columns["replies"] = replies
    accepted = view.accepted()
    columns["messages_delivered"] = np.bincount(view.session[accepted], minlength=view.sessions)
    certs = view.certificates()
    for side, prefix in ((_LOCAL, "cert_"), (_REMOTE, "remote_cert_")):
        for attribute in ("thumbprint", "subject", "issuer", "serial", "names"):
            if side == _REMOTE and attribute in ("serial", "names"):
                continue
            columns[prefix + attribute] = certs[side][attribute]
    information = view.information()
    columns.update(information)
    finals = view.final_replies()
    parsed = {final: parse_smtp_reply(final) for final in set(finals) if final is not None}
    codes = [parsed[final].code if final is not None else None for final in finals]
    columns["final_reply"], columns["reply_code"] = finals, codes
    columns["enhanced_status"] = [parsed[final].enhanced_status if final is not None else None for final in finals]
    columns["tls_reason"] = [parsed[f].tls_reason if f is not None and parsed[f].tls_reason else error
                             for f, error in zip(finals, information["tls_error"])]
    columns["outcome"] = ["tls-failed" if tls == "failed" else "rejected" if code is not None and code >= 400
                          else "delivered" if delivered else "disconnected"
                          for tls, code, delivered in zip(information["tls"], codes, columns["messages_delivered"])]
    if failure_times:
        columns["failed_at"], columns["failed_line"] = view.first_logged(view.failing())
        columns["delivered_at"], columns["delivered_line"] = view.first_logged(accepted)
    order = view.order(columns["start"], columns["direction"], columns["session_id"])
    dtypes = dict(SESSION_DTYPES, **(OUTCOME_TIME_DTYPES if failure_times else {}))
    columns = {name: _reordered(values, order) for name, values in columns.items()}
    return make_frame(columns, dtypes, report)


def _reordered(values: Any, order: np.ndarray) -> Any:
    return values[order] if isinstance(values, np.ndarray) else [values[row] for row in order.tolist()]


class _Lines:
    """The lines of protocol logs, grouped into sessions (``session``: each line's session number,
    numbered in order of their first line; ``grouped``: the lines session after session, each
    session's in line order, session ``s`` from ``bounds[s]`` to ``bounds[s + 1]``). Text columns
    are coded (:class:`~exlab.transport.coded.CodedText`): each test runs once per distinct text."""

    def __init__(self, lines: MutableMapping[str, Any]) -> None:
        self.lines = lines
        self.count = len(lines["time"])
        self._coded = {name: CodedText.of(lines.pop(name)) for name in _TEXTS}
        self.receive = self.text("direction").equals("receive")
        event = self.text("event")
        sent, received = event.equals(">"), event.equals("<")
        # in a receive log this server answers: what it sent (">") are the SMTP replies, what it received
        # ("<") the client's commands; swapped, a receive session reads like a send session
        self.replied = np.where(self.receive, sent, received)
        self.asked = np.where(self.receive, received, sent)
        self.starred = event.equals("*")
        self.raw_received = received
        self.data, self.context = self.text("data"), self.text("context")
        closing = event.equals("-")
        self._group(closing)
        self.closed_at = np.full(self.sessions, -1)
        self.closed_at[self.session[closing]] = np.flatnonzero(closing)

    def text(self, name: str) -> CodedText:
        """The coded form of a text column."""
        return self._coded[name]

    def _group(self, closing: np.ndarray) -> None:
        """Number the sessions: lines of one folder, direction and session id, a ``-`` line ending one
        (a later line of the id starts another); one stable sort of the lines by that key."""
        session_id, folder = self.text("session_id"), self.text("folder")
        key = (session_id.codes.astype(np.int64) * max(len(folder.values), 1) + folder.codes) * 2 + self.receive
        by_key = np.argsort(key, kind="stable")
        starts = np.ones(self.count, dtype=bool)
        sorted_key = key[by_key]
        starts[1:] = (sorted_key[1:] != sorted_key[:-1]) | closing[by_key][:-1]
        del key, sorted_key
        first_at = np.flatnonzero(starts)                     # where each session starts among the sorted lines
        lengths = np.diff(np.append(first_at, self.count))
        by_first = np.argsort(by_key[first_at], kind="stable")   # sessions in order of their first line
        self.sessions = len(first_at)
        number = np.empty(self.sessions, dtype=np.int64)
        number[by_first] = np.arange(self.sessions)
        self.session = np.empty(self.count, dtype=np.int32)
        self.session[by_key] = np.repeat(number, lengths)
        self.first = by_key[first_at[by_first]]
        lengths = lengths[by_first]
        self.bounds = np.concatenate(([0], np.cumsum(lengths)))
        self.grouped = by_key[np.repeat(first_at[by_first] - self.bounds[:-1], lengths) + np.arange(self.count)]
        self.opens = np.zeros(self.count, dtype=bool)         # among the grouped lines: a session's first
        self.opens[self.bounds[:-1]] = True

    def first_of(self, column: CodedText) -> list[str | None]:
        """Per session, the first non-empty value of a text column (None when none)."""
        present = np.flatnonzero(~column.equals("")[self.grouped])
        sessions = self.session[self.grouped[present]]
        first = np.ones(len(present), dtype=bool)
        first[1:] = sessions[1:] != sessions[:-1]
        out = np.full(self.sessions, None, dtype=object)
        out[sessions[first]] = column.objects()[column.codes[self.grouped[present[first]]]]
        return out.tolist()

    def span(self) -> tuple[np.ndarray, np.ndarray]:
        """Per session, the time of its first and last line (NaT lines aside)."""
        if not self.sessions:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        time = np.asarray(self.lines["time"], dtype=np.int64)[self.grouped]
        latest = np.iinfo(np.int64).max
        start = np.minimum.reduceat(np.where(time == NAT, latest, time), self.bounds[:-1])
        start[start == latest] = NAT
        return start, np.maximum.reduceat(time, self.bounds[:-1])     # NaT is the least: kept only when alone

    def sources(self) -> list[str]:
        """Per session, its files in order of first appearance, ``; ``-joined (a session's lines
        are in file order, so a file's lines come together)."""
        source = self.text("source")
        codes = source.codes[self.grouped]
        changes = self.opens.copy()
        changes[1:] |= codes[1:] != codes[:-1]
        joined: list[list[str]] = [[] for _ in range(self.sessions)]
        rows = self.grouped[changes]
        for session, name in zip(self.session[rows].tolist(), source.texts(rows)):
            joined[session].append(name)
        return ["; ".join(files) for files in joined]

    def _grouped(self, rows: np.ndarray, values: Sequence[Any]) -> list[list[Any]]:
        """``values`` (one per row of ``rows``, in line order) gathered per session."""
        out: list[list[Any]] = [[] for _ in range(self.sessions)]
        for session, value in zip(self.session[rows].tolist(), values):
            out[session].append(value)
        return out

    def replies(self) -> list[tuple[str, ...]]:
        """Per session, every SMTP reply in order (each distinct text one string, shared)."""
        replied = self.replied[self.grouped]
        counts = np.add.reduceat(replied.astype(np.int64), self.bounds[:-1]).tolist() if self.sessions else []
        found = iter(self.data.objects()[self.data.codes[self.grouped[replied]]].tolist())
        return [tuple(islice(found, count)) for count in counts]

    def final_replies(self) -> list[str | None]:
        """Per session, its first failing reply (``4xx``/``5xx``), else its last reply, else None
        (each reply text tested once)."""
        rows = self.grouped[self.replied[self.grouped]]       # the replies, session after session, in order
        sessions, codes, texts = self.session[rows], self.data.codes[rows], self.data.objects()
        tested = np.unique(codes)
        failing = np.zeros(len(texts), dtype=bool)
        failing[tested] = [text[:1] in ("4", "5") and text[:3].isdigit() for text in texts[tested].tolist()]
        failing = failing[codes]
        last = np.append(sessions[1:] != sessions[:-1], True) if len(rows) else np.zeros(0, dtype=bool)
        chosen = np.full(self.sessions, -1, dtype=np.int64)
        chosen[sessions[last]] = np.flatnonzero(last)
        failed, first = np.unique(sessions[failing], return_index=True)
        chosen[failed] = np.flatnonzero(failing)[first]
        finals = np.full(self.sessions, None, dtype=object)
        finals[chosen >= 0] = texts[codes[chosen[chosen >= 0]]]
        return finals.tolist()

    def _carried(self, value: np.ndarray, setting: np.ndarray) -> np.ndarray:
        """A per-line state: ``value`` where ``setting``, else carried from the session's line
        before (0 before a session's first line); as each line finds it (before the line sets it)."""
        setting = setting[self.grouped]
        at = np.where(setting | self.opens, np.arange(self.count), 0)
        at = np.maximum.accumulate(at) if self.count else at
        after = np.where(setting[at], value[self.grouped][at], 0)
        before = np.zeros(self.count, dtype=value.dtype)
        before[self.grouped[1:]] = after[:-1]
        before[self.grouped[self.opens]] = 0
        return before

    def accepted(self) -> np.ndarray:
        """Which lines are replies that accepted a message's data (a 2xx after DATA's 354 or
        BDAT ... LAST, not the pipelined answer to MAIL or RCPT)."""
        data = self.data
        envelope = data.matches(ENVELOPE_OK)
        go_ahead = data.starts_with("354")
        value = np.where(self.asked, data.matches(_BDAT_LAST), self.replied & go_ahead).astype(np.int8)
        in_data = self._carried(value, self.asked | (self.replied & ~envelope))
        return self.replied & data.starts_with("2") & ~envelope & (in_data == 1)

    def _labels(self) -> tuple[CodedText, np.ndarray]:
        label = self.context.transformed(lambda values: pc.utf8_lower(pc.utf8_trim_whitespace(values)))
        named_cert = label.test(lambda values: pc.and_(pc.match_substring(values, " "), pc.or_(
            pc.starts_with(values, _LOCAL_CERT), pc.or_(*(pc.starts_with(values, name) for name in _REMOTE_CERT)))))
        one_line = (self.starred & ~self.data.equals("") & named_cert & self.data.matches(_ONE_LINE_CERT))
        return label, one_line

    def certificates(self) -> dict[int, dict[str, list]]:
        """Per side (local, remote) and attribute, each session's certificate value (last logged wins)."""
        label, one_line = self._labels()
        heading_local = self.starred & ~one_line & label.equals(_LOCAL_CERT)
        heading_remote = self.starred & ~one_line & label.is_in(_REMOTE_CERT)
        attribute = self.starred & label.is_in(list(_CERT_ATTRIBUTES))
        value = np.zeros(self.count, dtype=np.int8)
        value[heading_local], value[heading_remote] = _LOCAL, _REMOTE
        block = self._carried(value, self.replied | self.asked | (self.starred & ~attribute))
        self.in_block = attribute & (block != 0)
        self.plain = self.starred & ~one_line & ~heading_local & ~heading_remote & ~self.in_block
        names = list(_NO_CERT)
        rows = np.flatnonzero(self.in_block)
        named = pc.fill_null(pc.index_in(label.values, pa.array(list(_CERT_ATTRIBUTES))), -1)
        named = named.to_numpy(zero_copy_only=False)[label.codes[rows]]
        at, sides = [rows], [block[rows].astype(np.int64)]
        kinds = [np.array([names.index(name) for name in _CERT_ATTRIBUTES.values()], np.int64)[named]]
        values = self.data.texts(rows)
        rows = np.flatnonzero(one_line)
        parts = pc.extract_regex(pa.array(self.data.texts(rows), pa.string()), _ONE_LINE_CERT).to_pylist() \
            if len(rows) else []
        for name, part in zip(label.texts(rows), parts):
            dn = _DN_BREAK.split(part["dns"].strip(), maxsplit=1)
            values += [dn[0], dn[1] if len(dn) > 1 else "", part["serial"], part["thumbprint"], part["names"] or ""]
            sides.append(np.full(len(names), _LOCAL if name.startswith(_LOCAL_CERT) else _REMOTE))
        at += [np.repeat(rows, len(names))]
        kinds += [np.tile(np.arange(len(names)), len(rows))]
        return self._last_logged(np.concatenate(at), np.concatenate(sides), np.concatenate(kinds), values)

    def _last_logged(self, rows: np.ndarray, sides: np.ndarray, kinds: np.ndarray,
                     values: list[str]) -> dict[int, dict[str, list]]:
        """Per side and attribute, each session's value of the last line (``rows``) that logged it."""
        names = list(_NO_CERT)
        key = ((sides - 1) * len(names) + kinds) * self.sessions + self.session[rows]
        order = np.lexsort((rows, key))
        last = order[np.append(key[order][1:] != key[order][:-1], True)] if len(order) else order
        cells = np.empty(len(values), dtype=object)
        cells[:] = values
        tidy = {"thumbprint": _hex, "serial": _hex, "subject": _or_none, "issuer": _or_none, "names": _names}
        certs: dict[int, dict[str, list]] = {}
        for side in (_LOCAL, _REMOTE):
            certs[side] = {}
            for kind, name in enumerate(names):
                chosen = last[(sides[last] == side) & (kinds[last] == kind)]
                column = np.full(self.sessions, None, dtype=object)
                column[self.session[rows[chosen]]] = cells[chosen]
                certs[side][name] = _per_distinct(tidy[name], column.tolist())
        return certs

    def _said(self, regex: str) -> tuple[np.ndarray, Callable[[np.ndarray], list[str | None]]]:
        """Which lines' text (their context, else their data) ``regex`` finds something in, and a
        function giving its first group on such lines."""
        in_context = ~self.context.equals("")
        found = np.where(in_context, self.context.matches(regex), self.data.matches(regex))

        def group(rows: np.ndarray) -> list[str | None]:
            said = np.empty(len(rows), dtype=object)
            for column, where in ((self.context, in_context[rows]), (self.data, ~in_context[rows])):
                said[where] = column.extract(regex, rows[where])
            return said.tolist()
        return found, group

    def information(self) -> dict[str, list]:
        """Per session, from its ``*`` lines outside a certificate block: ``tls`` and ``tls_error``
        (the last negotiation logged), ``notes`` (time and text of each failure reported) and
        ``message_ids``. Call after :meth:`certificates`."""
        failed, reason = self._said(_TLS_FAILED)
        is_failed = self.plain & failed
        is_ok = self.plain & ~is_failed & self._said(_TLS_OK)[0]
        tls = np.full(self.sessions, "none", dtype=object)
        tls_error = np.full(self.sessions, None, dtype=object)
        rows = np.flatnonzero(is_failed | is_ok)[::-1]          # the last logged of each session first
        sessions, last = np.unique(self.session[rows], return_index=True)
        tls[sessions] = np.where(is_ok[rows[last]], "succeeded", "failed")
        rows = np.flatnonzero(is_failed)[::-1]
        sessions, last = np.unique(self.session[rows], return_index=True)
        tls_error[sessions] = reason(rows[last])
        rows = np.flatnonzero(self.plain & self._said(_FAILURE_NOTE)[0])
        times = np.asarray(self.lines["time"], dtype=np.int64)[rows]
        said = [context if not data else data if not context else f"{data} {context}"
                for data, context in zip(self.data.texts(rows), self.context.texts(rows))]
        notes = self._grouped(rows, [(pd.Timestamp(when, unit="ns", tz="UTC"), note)
                                     for when, note in zip(times.tolist(), said)])
        found, message_id = self._said(_MESSAGE_ID)
        rows = np.flatnonzero(self.plain & found)
        ids = self._grouped(rows, message_id(rows))
        return {"tls": tls.tolist(), "tls_error": tls_error.tolist(), "notes": [tuple(found) for found in notes],
                "message_ids": [tuple(dict.fromkeys(found)) for found in ids]}

    def failing(self) -> np.ndarray:
        """Which lines of send sessions are a failing reply or a TLS error."""
        refused = self.raw_received & self.data.matches(_FAILING_REPLY)
        tls_failed = self.starred & (self.data.starts_with("TLS negotiation failed")
                                     | self.context.starts_with("TLS negotiation failed"))
        return (refused | tls_failed) & ~self.receive

    def first_logged(self, found: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
        """Per session, the time and ``file line n`` of the first of the ``found`` lines (the earliest,
        lines without a time last, then as logged); NaT and None for a session without one."""
        rows = np.flatnonzero(found)
        time = np.asarray(self.lines["time"], dtype=np.int64)
        ordered = rows[np.lexsort((rows, np.where(time[rows] == NAT, np.iinfo(np.int64).max, time[rows])))]
        sessions, at = np.unique(self.session[ordered], return_index=True)
        first_at = np.full(self.sessions, NAT)
        first_line: list[str | None] = [None] * self.sessions
        chosen = ordered[at]
        first_at[sessions] = time[chosen]
        sources = self.text("source").texts(chosen)
        for session, source, line in zip(sessions.tolist(), sources, np.asarray(self.lines["line"])[chosen].tolist()):
            first_line[session] = f"{os.path.basename(source)} line {line}"
        return first_at, first_line

    def order(self, start: np.ndarray, direction: list[str], session_id: list[str]) -> np.ndarray:
        """The sessions in order of start, send before receive, session id; then as they ended
        (a closed session at its ``-`` line, the open ones after all lines, by their first)."""
        emitted = np.where(self.closed_at >= 0, self.closed_at, self.count + self.first)
        keys = pd.DataFrame({"start": start, "receive": [d != "send" for d in direction], "id": session_id,
                             "emitted": emitted})
        return keys.sort_values(["start", "receive", "id", "emitted"], kind="stable").index.to_numpy()


def _per_distinct(function: Any, values: list) -> list:
    """``function`` of each value, worked out once per distinct value (certificates repeat)."""
    done = {value: function(value) for value in set(values)}
    return [done[value] for value in values]


def _or_none(value: str | None) -> str | None:
    return value or None


def _hex(value: str | None) -> str | None:
    return "".join(value.split()).upper() if value and value.strip() else None


def _names(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(part.strip().lower() for part in value.split(";") if part.strip()))
