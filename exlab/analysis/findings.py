"""Findings: what one diagnosis rule saw, with the evidence rows behind it.

Every finding carries its evidence as a small frame with the same five columns,
whatever the evidence was (an event, an SMTP session, a certificate, a setting), so that
a notebook, the terminal and a JSON export can all show where each fact came from:

>>> rows = evidence_rows([{"time": "2025-03-20T09:14:02Z", "kind": "event 2004",
...     "detail": "454 4.7.0 ... UntrustedRoot", "source": "Application.evtx", "where": "record 812"}])
>>> f = Finding("untrusted-root-events", "kb2888788", "events", "1 delivery refused", rows)
>>> f.to_dict()["evidence"][0]["where"]
'record 812'
>>> f.to_dict()["evidence"][0]["time"]
'2025-03-20T09:14:02.0000000Z'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

EVIDENCE_COLUMNS = ("time", "kind", "detail", "source", "where")

# What a finding rests on, strongest first. "direct" / "strong" / "possible" are the
# strength levels of the diagnosis; "events" and "context" only feed the others.
WEIGHTS = ("direct", "strong", "events", "possible", "context")


def format_utc(value: Any) -> str | None:
    """A time as ISO 8601 UTC with 7 fractional digits (Windows' 100-ns ticks), or None.

    >>> format_utc(pd.Timestamp("2025-03-20 09:14:02.1234567", tz="UTC"))
    '2025-03-20T09:14:02.1234567Z'
    >>> format_utc(None) is None
    True
    """
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    ticks = (stamp.microsecond * 1000 + stamp.nanosecond) // 100
    return f"{stamp:%Y-%m-%dT%H:%M:%S}.{ticks:07d}Z"


def evidence_rows(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The evidence frame of a finding: time (UTC, may be NaT), kind, detail, source, where.

    >>> evidence_rows([{"kind": "certificate", "detail": "CN=mail.contoso.com"}]).columns.tolist()
    ['time', 'kind', 'detail', 'source', 'where']
    """
    rows = list(rows)
    times = [row.get("time") for row in rows]
    frame = pd.DataFrame({
        "time": pd.to_datetime(pd.Series(times, dtype="object"), utc=True),
        **{name: pd.array([_text(row.get(name)) for row in rows], dtype="string")
           for name in EVIDENCE_COLUMNS[1:]},
    })
    return frame.sort_values("time", kind="stable", na_position="first").reset_index(drop=True)


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, (str, tuple, list)) and pd.isna(value)):
        return None
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Finding:
    """One rule's observation.

    ``rule`` names the rule, ``cause`` the cause id it supports (or None for context),
    ``weight`` what it rests on (see :data:`WEIGHTS`), ``summary`` one readable line,
    ``evidence`` the rows (see :func:`evidence_rows`), ``culprit`` the certificate it
    points at (40 hex) when it points at one, ``count`` how many records showed it.
    """

    rule: str
    cause: str | None
    weight: str
    summary: str
    evidence: pd.DataFrame = field(repr=False)
    culprit: str | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.weight not in WEIGHTS:
            raise ValueError(f"weight must be one of {WEIGHTS}, not {self.weight!r}")
        if self.count is None:
            object.__setattr__(self, "count", len(self.evidence))

    def to_dict(self, max_rows: int | None = 50) -> dict[str, Any]:
        """JSON-ready: the rows as dicts with times in ISO UTC (at most ``max_rows`` of them)."""
        rows = self.evidence if max_rows is None else self.evidence.head(max_rows)
        return {
            "rule": self.rule,
            "cause": self.cause,
            "weight": self.weight,
            "summary": self.summary,
            "culprit": self.culprit,
            "count": int(self.count),
            "evidence": [
                {"time": format_utc(row.time), "kind": _text(row.kind), "detail": _text(row.detail),
                 "source": _text(row.source), "where": _text(row.where)}
                for row in rows.itertuples(index=False)
            ],
        }
