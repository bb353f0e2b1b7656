"""SMTP sessions from the lines of protocol logs, column-wise (one pass over the columns, no loop
over lines).

A line belongs to the session of its folder (one server's logs), direction and session id; a
``-`` line (disconnect) ends it, and a later line with the same id starts another. What a
session showed line by line (the certificate block a ``*`` line's attributes belong to, whether
the data of a message is being answered) is a state carried forward within the session: a
forward fill over the lines grouped by session. The columns are those of
CONTRIBUTING.md's sessions frame; :func:`sessions_frame` builds it and, asked to, adds
``failed_at`` and ``failed_line`` (when and on which line the failing reply or TLS error was
logged).

>>> from exlab.lab.transport_logs import demo_protocol_log
>>> from exlab.transport.protocol_log import read_protocol_log
>>> read_protocol_log(demo_protocol_log(), failure_times=True).loc[0, ["outcome", "failed_line"]].tolist()
['rejected', '<stream> line 47']
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exlab.transport.schema import SESSION_DTYPES, make_frame
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
_ENVELOPE_OK = r"^2[0-9][0-9][ -]2\.1\.[0-9]"
_BDAT_LAST = r"(?i)^BDAT [0-9]+ LAST\b"
_FAILING_REPLY = r"^[45][0-9][0-9]\b"
_NO_CERT = {"subject": None, "issuer": None, "serial": None, "thumbprint": None, "names": None}
_LOCAL, _REMOTE = 1, 2


def sessions_frame(lines: Mapping[str, Any], report: Any = None, *, failure_times: bool = False) -> pd.DataFrame:
    """The sessions frame of protocol log lines given as columns (Arrow text with NA for empty:
    connector, session_id, local_endpoint, remote_endpoint, event, data, context, direction,
    source, folder; numpy ``time`` in ns and ``line``), in the order the lines were logged.

    Rows are in order of start, send before receive, session id.

    >>> lines = {"connector": pa.array(["Out", "Out"]), "session_id": pa.array(["A", "A"]),
    ...          "local_endpoint": pa.array([None, None], pa.string()), "remote_endpoint": pa.array([None, None], pa.string()),
    ...          "event": pa.array(["<", "-"]), "data": pa.array(["454 4.7.0 x: UntrustedRoot", None]),
    ...          "context": pa.array([None, None], pa.string()), "direction": pa.array(["send", "send"]),
    ...          "source": pa.array(["a.log", "a.log"]), "folder": pa.array(["", ""]),
    ...          "time": np.array([1, 2]), "line": np.array([6, 7])}
    >>> sessions_frame(lines)[["session_id", "reply_code", "tls_reason", "outcome"]].values.tolist()
    [['A', 454, 'UntrustedRoot', 'rejected']]
    """
    view = _Lines(lines)
    columns: dict[str, Any] = {}
    first = view.first
    for name in ("session_id", "connector", "direction"):
        columns[name] = _text(lines[name]).take(pa.array(first)).to_pylist()
    columns["local_endpoint"] = view.first_of(lines["local_endpoint"])
    columns["remote_endpoint"] = view.first_of(lines["remote_endpoint"])
    columns["start"], columns["end"] = view.span()
    columns["source"] = view.sources()
    replies = view.replies()
    columns["replies"] = replies
    columns["messages_delivered"] = view.delivered()
    certs = view.certificates()
    for side, prefix in ((_LOCAL, "cert_"), (_REMOTE, "remote_cert_")):
        for attribute in ("thumbprint", "subject", "issuer", "serial", "names"):
            if side == _REMOTE and attribute in ("serial", "names"):
                continue
            columns[prefix + attribute] = certs[side][attribute]
    information = view.information()
    columns.update(information)
    finals = [next((r for r in found if r[:1] in ("4", "5") and r[:3].isdigit()), found[-1] if found else None)
              for found in replies]
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
        columns["failed_at"], columns["failed_line"] = view.failures()
    order = view.order(columns["start"], columns["direction"], columns["session_id"])
    dtypes = dict(SESSION_DTYPES, **({"failed_at": "datetime64[ns, UTC]", "failed_line": "string"}
                                     if failure_times else {}))
    columns = {name: _reordered(values, order) for name, values in columns.items()}
    return make_frame(columns, dtypes, report)


def _reordered(values: Any, order: np.ndarray) -> Any:
    return values[order] if isinstance(values, np.ndarray) else [values[int(row)] for row in order]


def _text(column: Any) -> pa.Array:
    """A text column with ``""`` for NA, as the log wrote it (one chunk: taking rows of many is slow)."""
    column = pc.fill_null(column, "")
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _mask(values: Any) -> np.ndarray:
    values = pc.fill_null(values, False)
    return values.to_numpy() if isinstance(values, pa.ChunkedArray) else values.to_numpy(zero_copy_only=False)


class _Lines:
    """The lines of protocol logs, grouped into sessions (``session``: each line's session number,
    numbered in order of their first line)."""

    def __init__(self, lines: Mapping[str, Any]) -> None:
        self.lines = lines
        self.count = len(lines["time"])
        self.receive = _mask(pc.equal(lines["direction"], "receive"))
        event = _text(lines["event"])
        sent, received = _mask(pc.equal(event, ">")), _mask(pc.equal(event, "<"))
        # in a receive log this server answers: what it sent (">") are the SMTP replies, what it received
        # ("<") the client's commands; swapped, a receive session reads like a send session
        self.replied = np.where(self.receive, sent, received)
        self.asked = np.where(self.receive, received, sent)
        self.starred = _mask(pc.equal(event, "*"))
        self.raw_received = received
        self.data, self.context = _text(lines["data"]), _text(lines["context"])
        folder = pc.dictionary_encode(pc.fill_null(lines["folder"], "")).combine_chunks() \
            if isinstance(lines["folder"], pa.ChunkedArray) else pc.dictionary_encode(pc.fill_null(lines["folder"], ""))
        session = pc.dictionary_encode(_text(lines["session_id"]))
        session = session.combine_chunks() if isinstance(session, pa.ChunkedArray) else session
        key = (session.indices.to_numpy(zero_copy_only=False).astype(np.int64) * max(len(folder.dictionary), 1)
               + folder.indices.to_numpy(zero_copy_only=False)) * 2 + self.receive
        key = pd.factorize(key)[0]
        closing = _mask(pc.equal(event, "-"))
        ends = pd.Series(closing.astype(np.int64)).groupby(key).cumsum().to_numpy() - closing
        self.session = pd.factorize(key * (int(ends.max(initial=0)) + 1) + ends)[0]
        self.sessions = int(self.session.max(initial=-1)) + 1
        self.first = np.unique(self.session, return_index=True)[1]
        self.closed_at = np.full(self.sessions, -1)
        self.closed_at[self.session[closing]] = np.flatnonzero(closing)

    def first_of(self, column: Any) -> list[str | None]:
        """Per session, the first non-empty value of a text column (None when none)."""
        present = np.flatnonzero(_mask(pc.is_valid(column)) & _mask(pc.not_equal(_text(column), "")))
        sessions, at = np.unique(self.session[present], return_index=True)
        out: list[str | None] = [None] * self.sessions
        for session, value in zip(sessions.tolist(), pc.take(column, pa.array(present[at])).to_pylist()):
            out[session] = value
        return out

    def span(self) -> tuple[np.ndarray, np.ndarray]:
        """Per session, the time of its first and last line (NaT lines aside)."""
        time = np.asarray(self.lines["time"], dtype=np.int64)
        known = time != NAT
        by_session = pd.Series(time[known]).groupby(self.session[known])
        start, end = np.full(self.sessions, NAT), np.full(self.sessions, NAT)
        start[by_session.min().index] = by_session.min().to_numpy()
        end[by_session.max().index] = by_session.max().to_numpy()
        return start, end

    def sources(self) -> list[str]:
        """Per session, its files in order of first appearance, ``; ``-joined."""
        source = pc.dictionary_encode(self.lines["source"])
        source = source.combine_chunks() if isinstance(source, pa.ChunkedArray) else source
        names = source.dictionary.to_pylist()
        pairs = self.session.astype(np.int64) * len(names) + source.indices.to_numpy(zero_copy_only=False)
        _, at = np.unique(pairs, return_index=True)
        at.sort()
        joined: list[list[str]] = [[] for _ in range(self.sessions)]
        for session, pair in zip(self.session[at].tolist(), pairs[at].tolist()):
            joined[session].append(names[pair % len(names)])
        return ["; ".join(files) for files in joined]

    def _grouped(self, rows: np.ndarray, values: Sequence[Any]) -> list[list[Any]]:
        """``values`` (one per row of ``rows``, in line order) gathered per session."""
        out: list[list[Any]] = [[] for _ in range(self.sessions)]
        for session, value in zip(self.session[rows].tolist(), values):
            out[session].append(value)
        return out

    def replies(self) -> list[tuple[str, ...]]:
        """Per session, every SMTP reply in order."""
        rows = np.flatnonzero(self.replied)
        return [tuple(found) for found in self._grouped(rows, self.data.take(pa.array(rows)).to_pylist())]

    def _carried(self, setting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A per-line state: set where ``setting`` is not NaN, else carried from the session's line
        before; returned as it is before and after each line (0 before a session's first line)."""
        series = pd.Series(setting)
        after = series.groupby(self.session).ffill().fillna(0).to_numpy()
        before = pd.Series(after).groupby(self.session).shift(1).fillna(0).to_numpy()
        return before, after

    def delivered(self) -> np.ndarray:
        """Per session, the messages whose data the peer accepted (a 2xx after DATA's 354 or
        BDAT ... LAST, not the pipelined answer to MAIL or RCPT)."""
        data = self.data
        envelope = _mask(pc.match_substring_regex(data, _ENVELOPE_OK))
        go_ahead = _mask(pc.starts_with(data, "354"))
        setting = np.full(self.count, np.nan)
        setting[self.asked] = _mask(pc.match_substring_regex(data, _BDAT_LAST))[self.asked]
        setting[self.replied & ~go_ahead & ~envelope] = 0
        setting[self.replied & go_ahead] = 1
        in_data, _ = self._carried(setting)
        accepted = self.replied & _mask(pc.starts_with(data, "2")) & ~envelope & (in_data == 1)
        return np.bincount(self.session[accepted], minlength=self.sessions)

    def _labels(self) -> tuple[pa.Array, np.ndarray]:
        label = pc.utf8_lower(pc.utf8_trim_whitespace(self.context))
        one_line = (self.starred & _mask(pc.not_equal(self.data, "")) & _mask(pc.match_substring(label, " "))
                    & _mask(pc.or_(pc.starts_with(label, _LOCAL_CERT),
                                   pc.or_(*(pc.starts_with(label, name) for name in _REMOTE_CERT))))
                    & _mask(pc.match_substring_regex(self.data, _ONE_LINE_CERT)))
        return label, one_line

    def certificates(self) -> dict[int, dict[str, list]]:
        """Per side (local, remote) and attribute, each session's certificate value (last logged wins)."""
        label, one_line = self._labels()
        heading_local = self.starred & ~one_line & _mask(pc.equal(label, _LOCAL_CERT))
        heading_remote = self.starred & ~one_line & _mask(pc.is_in(label, pa.array(_REMOTE_CERT)))
        attribute = self.starred & _mask(pc.is_in(label, pa.array(list(_CERT_ATTRIBUTES))))
        setting = np.where(self.replied | self.asked | (self.starred & ~attribute), 0.0, np.nan)
        setting[heading_local], setting[heading_remote] = _LOCAL, _REMOTE
        block, _ = self._carried(setting)
        self.in_block = attribute & (block != 0)
        self.plain = self.starred & ~one_line & ~heading_local & ~heading_remote & ~self.in_block
        names = list(_NO_CERT)
        rows = np.flatnonzero(self.in_block)
        named = pc.index_in(label.take(pa.array(rows)), pa.array(list(_CERT_ATTRIBUTES))).to_numpy(zero_copy_only=False)
        at, sides = [rows], [block[rows].astype(np.int64)]
        kinds = [np.array([names.index(name) for name in _CERT_ATTRIBUTES.values()], np.int64)[named]]
        values = self.data.take(pa.array(rows)).to_pylist()
        rows = np.flatnonzero(one_line)
        parts = pc.extract_regex(self.data.take(pa.array(rows)), _ONE_LINE_CERT).to_pylist() if len(rows) else []
        for name, part in zip(label.take(pa.array(rows)).to_pylist(), parts):
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

    def information(self) -> dict[str, list]:
        """Per session, from its ``*`` lines outside a certificate block: ``tls`` and ``tls_error``
        (the last negotiation logged), ``notes`` (time and text of each failure reported) and
        ``message_ids``. Call after :meth:`certificates`."""
        text = pc.if_else(pc.equal(self.context, ""), self.data, self.context)
        failed = pc.struct_field(pc.extract_regex(text, _TLS_FAILED), [0])
        is_failed = self.plain & _mask(pc.is_valid(failed))
        is_ok = self.plain & ~is_failed & _mask(pc.match_substring_regex(text, _TLS_OK))
        tls = ["none"] * self.sessions
        tls_error: list[str | None] = [None] * self.sessions
        for session, ok in zip(self.session[is_failed | is_ok].tolist(), is_ok[is_failed | is_ok].tolist()):
            tls[session] = "succeeded" if ok else "failed"
        rows = np.flatnonzero(is_failed)
        for session, reason in zip(self.session[rows].tolist(), failed.take(pa.array(rows)).to_pylist()):
            tls_error[session] = reason
        rows = np.flatnonzero(self.plain & _mask(pc.match_substring_regex(text, _FAILURE_NOTE)))
        times = np.asarray(self.lines["time"], dtype=np.int64)[rows]
        data, context = self.data.take(pa.array(rows)), self.context.take(pa.array(rows))
        said = pc.if_else(pc.equal(data, ""), context, pc.if_else(pc.equal(context, ""), data,
                                                                  pc.binary_join_element_wise(data, context, " ")))
        said = said.to_pylist()
        notes = self._grouped(rows, [(pd.Timestamp(when, unit="ns", tz="UTC"), note)
                                     for when, note in zip(times.tolist(), said)])
        rows = np.flatnonzero(self.plain & _mask(pc.match_substring_regex(text, _MESSAGE_ID)))
        found = pc.struct_field(pc.extract_regex(text.take(pa.array(rows)), _MESSAGE_ID), [0]).to_pylist()
        ids = self._grouped(rows, found)
        return {"tls": tls, "tls_error": tls_error, "notes": [tuple(found) for found in notes],
                "message_ids": [tuple(dict.fromkeys(found)) for found in ids]}

    def failures(self) -> tuple[np.ndarray, list[str | None]]:
        """Per send session, the time and ``file line n`` of its first failing reply or TLS error."""
        context = self.context
        refused = self.raw_received & _mask(pc.match_substring_regex(self.data, _FAILING_REPLY))
        tls_failed = self.starred & (_mask(pc.starts_with(self.data, "TLS negotiation failed"))
                                     | _mask(pc.starts_with(context, "TLS negotiation failed")))
        rows = np.flatnonzero((refused | tls_failed) & ~self.receive)
        time = np.asarray(self.lines["time"], dtype=np.int64)
        ordered = rows[np.lexsort((rows, np.where(time[rows] == NAT, np.iinfo(np.int64).max, time[rows])))]
        sessions, at = np.unique(self.session[ordered], return_index=True)
        failed_at = np.full(self.sessions, NAT)
        failed_line: list[str | None] = [None] * self.sessions
        chosen = ordered[at]
        failed_at[sessions] = time[chosen]
        sources = pc.take(self.lines["source"], pa.array(chosen)).to_pylist()
        for session, source, line in zip(sessions.tolist(), sources, np.asarray(self.lines["line"])[chosen].tolist()):
            failed_line[session] = f"{os.path.basename(source)} line {line}"
        return failed_at, failed_line

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
