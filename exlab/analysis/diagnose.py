"""Is it KB 2888788? The diagnosis: frames in, a verdict with its evidence and the fix out.

The rules (:mod:`exlab.analysis.rules`) each report what they saw; this module weighs
them. The verdict is about KB 2888788 only, and never goes beyond the evidence:

* ``confirmed``, strength ``direct``: a protocol log shows the internal certificate
  presented and answered with 454 4.7.0 UntrustedRoot;
* ``confirmed``, strength ``strong``: events 2004 with UntrustedRoot, and the
  certificates show a public and an internal certificate for the name enabled for
  SMTP, the internal one selected;
* ``inconclusive``, strength ``possible``: one side only (the certificates alone, or the
  failures alone); ``missing`` says what to collect;
* ``ruled_out``: the failures show a look-alike's signature instead (its ``cause``), or
  the logs show no failure at all and the transport presents a public certificate.

>>> import pandas as pd
>>> d = diagnose()
>>> d.verdict, d.cause, d.strength
('inconclusive', None, None)
>>> [step.purpose.split(" (")[0] for step in d.missing][:1]
['Export the Application log of the transport server']
"""

from __future__ import annotations

import html
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from exlab.analysis.findings import Finding, format_utc
from exlab.analysis.infer import connector_row, infer_connector, infer_judgement_time, infer_server_fqdn
from exlab.analysis.remediation import (
    Step,
    collect_on,
    collect_step,
    copy_certificate_steps,
    kb2888788_steps,
    look_alike_steps,
    on_server,
    rollback,
    through_edge_sync,
    through_frontend,
)
from exlab.analysis.rules import CATEGORY_CAUSE, Facts, attempts, run_rules
from exlab.analysis.timeline import failure_points, preferred
from exlab.attribution import host_name, split_servers
from exlab.certs.merge import LATER_COLUMNS
from exlab.certs.names import covers, name_key
from exlab.certs.selection import parse_tls_certificate_name, select_outbound, unsure_usable, unusable
from exlab.certs.trust import flag, judge_trust, judgement_time, present
from exlab.transport import tls_failures
from exlab.transport.protocol_log import send_sessions

VERDICTS = ("confirmed", "ruled_out", "inconclusive")
CAUSES = ("kb2888788", "tlscertificatename-missing", "certificate-expired", "no-private-key",
          "self-signed-only", "tenant-attribution", "network")
LOOK_ALIKES = CAUSES[1:]
# the order look-alikes are preferred in when several show failures: the most specific first
_SPECIFIC = ("tlscertificatename-missing", "no-private-key", "self-signed-only", "certificate-expired",
             "tenant-attribution", "network")
# the protocol log writes times to the millisecond
_LOG_PRECISION = pd.Timedelta(milliseconds=1)
_HTML_ROWS = 20
_FIX_LABELS = {"fix": "fix", "preventive": "preventive fix", "none": "no fix"}


@dataclass
class Diagnosis:
    """The answer for one case. See the module's docstring for the verdict rules.

    ``onset`` / ``end`` are the first and last failure of the cause (UTC), from events 2004
    and the protocol log, else the tracking log. ``evidence`` are
    the findings with their rows; ``remediation`` and ``missing`` are :class:`Step` lists.
    """

    verdict: str
    cause: str | None
    culprit: str | None
    onset: pd.Timestamp | None
    end: pd.Timestamp | None
    strength: str | None
    evidence: list[Finding]
    remediation: list[Step]
    missing: list[Step]
    server_fqdn: str | None = None
    connector: str | None = None
    name: str | None = None
    selected: str | None = None
    notes: list[str] = field(default_factory=list)
    failures: int = 0                       # failed delivery attempts (each server's best source: rules.attempts)
    server: str | None = None               # the server this answer is about (None: the whole case)
    sends: bool | None = None               # a source transport server of the connector (None: unknown)
    fix: str | None = None                  # "fix", "preventive" or "none" (per-server answers)
    why: str | None = None                  # why this server gets the fix it gets
    servers: list[Diagnosis] = field(default_factory=list)   # one answer per server of the case
    public: str | None = None               # the public certificate the fix makes the transport present
    pinned: bool = False                    # the connector's TlsCertificateName names the culprit
    proxied: bool = False                   # FrontendProxyEnabled: the Front End Transport service connects out

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS or (self.cause is not None and self.cause not in CAUSES):
            raise ValueError(f"verdict {self.verdict!r} / cause {self.cause!r} not among {VERDICTS} / {CAUSES}")

    def to_dict(self, max_rows: int | None = 50) -> dict[str, Any]:
        """JSON-ready (times as ISO 8601 UTC with 7 fractional digits, like truth.json).

        >>> import json
        >>> json.dumps(diagnose().to_dict())[:27]
        '{"verdict": "inconclusive",'
        """
        return {
            "verdict": self.verdict, "cause": self.cause, "culprit": self.culprit,
            "onset": format_utc(self.onset), "end": format_utc(self.end), "strength": self.strength,
            "server_fqdn": self.server_fqdn, "connector": self.connector, "name": self.name,
            "selected": self.selected, "notes": list(self.notes),
            "evidence": [f.to_dict(max_rows) for f in self.evidence],
            "remediation": [s.to_dict() for s in self.remediation],
            "missing": [s.to_dict() for s in self.missing],
            "failures": self.failures, "server": self.server, "sends_through_connector": self.sends,
            "fix": self.fix, "why": self.why,
            "servers": [d.to_dict(max_rows) for d in self.servers],
            "public": self.public, "pinned_by_connector": self.pinned,
            "frontend_proxy": self.proxied,
        }

    def headline(self) -> str:
        """One line: the verdict and what it rests on.

        >>> diagnose().headline()
        'KB 2888788: inconclusive'
        """
        text = f"{self.server}: " if self.server else ""
        text += f"KB 2888788: {self.verdict}"
        if self.strength:
            text += f" ({self.strength} evidence)"
        if self.cause and self.cause != "kb2888788":
            text += f"; cause: {self.cause}"
        if self.culprit:
            text += f"; certificate to act on: {self.culprit}"
        return text

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> list[str]:
        """What ``print`` shows, line by line (evidence text may hold a line feed of its own;
        the ``exlab`` command shows such a one escaped).

        >>> diagnose().lines()[0]
        'KB 2888788: inconclusive'
        """
        lines = [self.headline()]
        if self.onset is not None:
            lines.append(f"failures from {format_utc(self.onset)} to {format_utc(self.end)} (UTC)")
        lines += [f"note: {note}" for note in self.notes]
        if self.evidence:
            lines.append("evidence:")
        for finding in self.evidence:
            lines.append(f"  [{finding.weight}] {finding.summary}")
            for row in finding.evidence.head(3).itertuples(index=False):
                lines.append(f"      {format_utc(row.time) or '-'}  {row.kind}: {_one_line(row.detail)}  "
                             f"({row.source}, {row.where})")
            if len(finding.evidence) > 3:
                lines.append(f"      ... {len(finding.evidence) - 3} more")
        fix_title = "preventive fix (no failure yet):" if self.fix == "preventive" else "fix:"
        for title, steps in ((fix_title, self.remediation), ("to settle it, collect:", self.missing)):
            if steps:
                lines.append(title)
            for step in steps:
                lines.append(f"  # {step.purpose}")
                if step.command:
                    lines.append(f"  {step.command}")
        if undo := rollback(self.remediation):
            lines += ["to put back what the fix changes (last step first; the failures come back with it):",
                      *(f"  {command}" for command in undo)]
        if self.why:
            lines.append(f"{'no fix' if self.fix == 'none' else self.fix}: {self.why}")
        if self.servers:
            lines.append("one verdict per server:")
        for d in self.servers:
            lines.append(f"  {d.headline()}; {_FIX_LABELS[d.fix or 'none']}: {d.why}")
            if d.remediation != self.remediation:      # the case's own fix is printed above, once
                lines += [f"    {step.command}" for step in d.remediation if step.command]
        return lines

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [f"<div class='exlab-diagnosis'><h3>{e(self.headline())}</h3>"]
        if self.onset is not None:
            parts.append(f"<p>Failures from {e(format_utc(self.onset))} to {e(format_utc(self.end) or '')} (UTC)</p>")
        parts += [f"<p><em>{e(note)}</em></p>" for note in self.notes]
        for finding in self.evidence:
            parts.append(f"<h4>[{e(finding.weight)}] {e(finding.summary)}</h4><table><tr>"
                         + "".join(f"<th>{c}</th>" for c in ("time (UTC)", "kind", "detail", "source", "where"))
                         + "</tr>")
            for row in finding.evidence.head(_HTML_ROWS).itertuples(index=False):
                cells = (format_utc(row.time) or "", row.kind, row.detail, row.source, row.where)
                parts.append("<tr>" + "".join(f"<td>{e('' if pd.isna(c) else str(c))}</td>" for c in cells) + "</tr>")
            parts.append("</table>")
            if len(finding.evidence) > _HTML_ROWS:
                parts.append(f"<p>... {len(finding.evidence) - _HTML_ROWS} more rows</p>")
        for title, steps in (("Fix", self.remediation), ("To settle it, collect", self.missing)):
            if steps:
                parts.append(f"<h4>{title}</h4><ol>")
                parts += [f"<li>{e(s.purpose)}" + (f"<pre>{e(s.command)}</pre>" if s.command else "") + "</li>"
                          for s in steps]
                parts.append("</ol>")
        if self.why:
            parts.append(f"<p><strong>{e(_FIX_LABELS[self.fix or 'none'])}</strong>: {e(self.why)}</p>")
        if self.servers:
            parts.append("<h4>Per server</h4>" + server_table(self.servers).to_html(index=False, na_rep=""))
        parts.append("</div>")
        return "".join(parts)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None and not pd.isna(text) else ""


# -- adapters to the readers' modules ----------------------------------------------------

def _tls_failures(events: pd.DataFrame | None) -> pd.DataFrame | None:
    if events is None or events.empty:
        return None
    return tls_failures(events)


def _with_trust(certs: pd.DataFrame | None, roots: Any, at: pd.Timestamp | None) -> pd.DataFrame | None:
    if certs is None or certs.empty or "issuer_class" in certs:
        return certs
    return judge_trust(certs, roots=roots, at=at)


@dataclass(frozen=True)
class _Selection:
    candidates: pd.DataFrame | None = None     # full certificate rows that qualify, in rank order, with "why"
    selected: str | None = None
    pin_missing: bool = False
    summary: str | None = None


def _selection(certs: pd.DataFrame | None, server_fqdn: str | None, connector: dict | None,
               at: pd.Timestamp | None) -> _Selection:
    """What ``select_outbound`` predicts, with the candidates as full certificate rows."""
    connector = connector or {}
    name = connector.get("fqdn") or server_fqdn
    if certs is None or certs.empty or not name:
        return _Selection()
    choice = select_outbound(certs, server_fqdn=server_fqdn or name, connector_fqdn=connector.get("fqdn"),
                             tls_certificate_name=connector.get("tls_certificate_name"), at=at)
    ranked = choice.candidates[choice.candidates["rank"].notna()].sort_values("rank")
    rows = {str(t).upper(): row for t, (_, row) in zip(certs["thumbprint"], certs.iterrows())}
    full = [{**rows[str(t).upper()].to_dict(), "why": why} for t, why in zip(ranked["thumbprint"], ranked["why"])
            if str(t).upper() in rows]
    candidates = pd.DataFrame(full, columns=[*certs.columns, "why"]) if full else certs.iloc[0:0]
    return _Selection(candidates, choice.thumbprint, bool(choice.tls_certificate_name_missing), choice.summary)


# -- weighing ----------------------------------------------------------------------------

def _span(points: pd.DataFrame, cause: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last failure of the cause: the earliest and latest of events 2004 and the protocol log
    (:func:`_logged_span`), and of the tracking log or the queues for a server that shows neither (``preferred``)."""
    if cause is None or points.empty:
        return None, None
    categories = [c for c, k in CATEGORY_CAUSE.items() if k == cause]
    if cause == "self-signed-only":
        categories = ["untrusted-root", "tls-access-denied"]
    mine = points[points["category"].isin(categories).fillna(False).astype(bool)]
    origin = mine["origin"]
    tracked = mine.loc[origin.isin(["tracking", "queue"]) & preferred(mine), "time"]
    logged = _logged_span(mine.loc[origin == "event", "time"], mine.loc[origin == "session", "time"])
    times = pd.Series([*logged, tracked.min(), tracked.max()], dtype="object").dropna()
    return (None, None) if times.empty else (times.min(), times.max())


def _logged_span(events: pd.Series, sessions: pd.Series) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last of the failure times of events 2004 and of the protocol log. Event 2004 is logged as
    the reply arrives, to 100 ns; the protocol log keeps milliseconds: when both show the same moment
    (within the log's millisecond), the event's time is the one reported.

    >>> event = pd.Series(pd.to_datetime(["2025-03-20 09:14:02.1234567"], utc=True))
    >>> [str(t) for t in _logged_span(event, event.dt.floor("ms"))]
    ['2025-03-20 09:14:02.123456700+00:00', '2025-03-20 09:14:02.123456700+00:00']
    """
    if events.empty or sessions.empty:
        times = events if sessions.empty else sessions
        return (None, None) if times.empty else (times.min(), times.max())
    onset = events.min() if events.min() - sessions.min() <= _LOG_PRECISION else sessions.min()
    end = events.max() if sessions.max() - events.max() <= _LOG_PRECISION else sessions.max()
    return onset, end


def _decide(findings: list[Finding], facts: Facts) -> tuple[str, str | None, str | None, str | None]:
    """(verdict, cause, culprit, strength) from the findings."""
    by_rule = {f.rule: f for f in findings}
    direct = by_rule.get("internal-certificate-presented")
    events = by_rule.get("untrusted-root-failures")
    setup = by_rule.get("internal-certificate-selected")
    if direct is not None:
        return "confirmed", "kb2888788", direct.culprit, "direct"
    look_alikes = [f for f in findings if f.cause in LOOK_ALIKES]
    failing = sorted((f for f in look_alikes if f.weight in ("direct", "events")),
                     key=lambda f: _SPECIFIC.index(f.cause))
    # a self-signed certificate explains UntrustedRoot answers; other look-alikes do not
    if failing and (events is None or failing[0].cause == "self-signed-only"):
        first = failing[0]
        strength = "direct" if first.weight == "direct" else ("strong" if facts.certs is not None else "possible")
        return "ruled_out", first.cause, first.culprit, strength
    if events is not None and setup is not None:
        return "confirmed", "kb2888788", setup.culprit, "strong"
    if events is not None or setup is not None:
        return "inconclusive", "kb2888788", setup.culprit if setup else None, "possible"
    if look_alikes:
        first = sorted(look_alikes, key=lambda f: _SPECIFIC.index(f.cause))[0]
        return "inconclusive", first.cause, first.culprit, "possible"
    watched = facts.sessions is not None or facts.tracking is not None
    healthy = "public-certificate-selected" in by_rule or "mail-flows" in by_rule
    if watched and facts.points.empty and healthy:
        return "ruled_out", None, None, "direct" if "mail-flows" in by_rule else "strong"
    return "inconclusive", None, None, None


def _frontend(facts: Facts, steps: list[Step], server: str | None) -> list[Step]:
    """A fix's steps, its restart taking in the Front End Transport service when the connector proxies through
    it (:meth:`Facts.frontend_proxy`, :func:`exlab.analysis.remediation.through_frontend`); restarting it alone on
    a ``server`` that runs no Transport service (:meth:`Facts.runs_front_end_only`): one that fails connects to
    Exchange Online for the Mailbox servers, whatever the connector export says; when the export does not say which
    services ``server`` runs, the restart says what it does on a Client Access server alone."""
    if facts.runs_front_end_only(server):
        return through_frontend(steps, alone=True)
    return through_frontend(steps, unknown=not facts.services_known(server)) if facts.frontend_proxy else steps


def _missing(facts: Facts, verdict: str, connector: str | None, lacking: Collection[str] | None = None, *,
             unsure: bool = False) -> list[Step]:
    """What to collect to settle an inconclusive verdict: the kinds ``lacking`` (the case's
    inventory: missing or unusable), by default those absent or empty among the facts (and Get-Queue when no
    evidence shows a failure: its last error is had at once, so it comes before the steps that wait for the
    next retry); the certificates again (as .cer files, their exact times) when a date left ``unsure`` in the
    hour the clocks go back over matters (:func:`_unsure`)."""
    if verdict != "inconclusive":
        return []
    if lacking is None:
        frames = {"events": facts.events, "sessions": facts.sessions, "certs": facts.certs,
                  "connectors": facts.connectors, "tracking": facts.tracking}
        lacking = {kind for kind, frame in frames.items() if frame is None or frame.empty}
    steps = []
    if "events" in lacking:
        steps.append(collect_step("events"))
    if facts.points.empty and (facts.queues is None or facts.queues.empty):    # no failure in any evidence yet:
        steps.append(collect_step("queues"))     # its last error is had at once, the steps below wait for a retry
    if facts.points[facts.points["origin"] == "event"].empty and ("events" not in lacking or "sessions" in lacking):
        steps.append(collect_step("events_2004"))
    if "sessions" in lacking:
        steps.append(collect_step("sessions", connector))
    elif facts.frontend_proxy and (facts.sessions is None or facts.sessions.empty):   # the Hub's hand-offs alone
        steps.append(collect_step("sessions_frontend"))
    if "certs" in lacking or unsure:
        steps.append(collect_step("certs"))
    if "connectors" in lacking:
        steps.append(collect_step("connectors"))
    if "tracking" in lacking and "sessions" in lacking:
        steps.append(collect_step("tracking"))
    return steps


@dataclass(frozen=True)
class _Public:
    """The publicly trusted certificate a fix makes the transport present."""

    issuer: str
    subject: str
    thumbprint: str | None = None
    services: tuple[str, ...] | None = None     # None: no export said
    source: str | None = None                   # another server of the case holding it, to copy it from
    not_after: Any = None

    @property
    def pin(self) -> tuple[str, str]:
        return self.issuer, self.subject

    @property
    def without_smtp(self) -> bool:
        return self.services is not None and "SMTP" not in self.services


def _unsure(facts: Facts) -> list[str]:
    """What dates left unsettled in the hour the clocks go back over (``not_before_later``, ``not_after_later``:
    :mod:`exlab.certs.repeated_hour`) leave unsure in the answer: the certificate the transport presents at
    ``facts.at`` (``OutboundChoice.unsure``), and whether each certificate that covers the name for SMTP could
    be used at the first failure, where the look-alikes judge it (:func:`exlab.certs.selection.unsure_usable`).
    Nothing, and no work, when every date is sure.

    >>> cert = {"thumbprint": "AB" * 20, "dns_names": ("mail.contoso.com",), "services": ("SMTP",),
    ...         "not_after": pd.Timestamp("2026-10-25 00:30", tz="UTC"),
    ...         "not_after_later": pd.Timestamp("2026-10-25 01:30", tz="UTC")}
    >>> facts = Facts.build(certs=pd.DataFrame([cert]), name="mail.contoso.com",
    ...                     at=pd.Timestamp("2026-10-25 01:00", tz="UTC"))
    >>> print(_unsure(facts)[0])     # doctest: +ELLIPSIS
    whether ABAB...AB could be used at 2026-10-25 01:00:00 UTC is unsure: its NotAfter is 2026-10-25 00:30:00 or ...
    >>> _unsure(Facts.build(certs=pd.DataFrame([cert]).drop(columns="not_after_later"), name="mail.contoso.com"))
    []
    """
    certs = facts.certs
    if certs is None or not facts.name or not any(certs[later].notna().any() for later in LATER_COLUMNS.values()
                                                  if later in certs):
        return []
    choice = select_outbound(certs, server_fqdn=facts.name, tls_certificate_name=facts.tls_certificate_name,
                             at=facts.at)
    texts = list(choice.unsure)
    first = facts.points["time"].min() if not facts.points.empty else None
    if first is not None and first.floor("us") != facts.at:
        texts += [text for cert in facts.covering_smtp().to_dict("records")
                  if (text := unsure_usable(cert, first.to_pydatetime())) is not None]
    return texts


def _public_certificate(facts: Facts, culprit: str | None) -> tuple[_Public | None, str | None]:
    """The public certificate to present, or None and why the certificate exports hold none fit
    (it expired, is not valid yet, has no key...). From the exports: the newest public
    certificate covering the name that is usable at ``facts.at``, one enabled for SMTP
    first; without exports, the certificate of the last session that delivered mail."""
    if facts.certs is not None and not facts.certs.empty:
        return _public_of_exports(facts)
    if facts.sessions is None or facts.sessions.empty or "cert_issuer" not in facts.sessions:
        return None, None
    delivered = facts.sessions[(facts.sessions["outcome"].astype("string") == "delivered").fillna(False).astype(bool)
                               & facts.sessions["cert_issuer"].notna() & facts.sessions["cert_subject"].notna()]
    if culprit:
        delivered = delivered[delivered["cert_thumbprint"].astype("string").str.upper() != culprit]
    if delivered.empty:
        return None, None
    last = delivered.sort_values("start", kind="stable").iloc[-1]
    return _Public(str(last["cert_issuer"]), str(last["cert_subject"]), present(last.get("cert_thumbprint"))), None


def _public_of_exports(facts: Facts) -> tuple[_Public | None, str | None]:
    rows = _public_rows(facts.certs, facts.name)
    if rows is None:
        return None, None
    if not rows:
        return None, f"no certificate from a public CA covers {facts.name} in the certificate exports"
    moment, _ = judgement_time(facts.at)
    fit = [row for row in rows if _fit(row, moment)]
    if not fit:
        newest = rows[-1]
        reason = unusable(newest, moment) or "its key usage does not allow server authentication"
        return None, f"the public certificate {newest['thumbprint']} {reason}"
    best = _best(fit)
    return _Public(str(best["issuer"]), str(best["subject"]), str(best["thumbprint"]), _services(best)), None


def _public_rows(certs: pd.DataFrame | None, name: str | None) -> list[dict] | None:
    """The certificates from a public CA that cover ``name``, oldest first; None when the frame cannot say
    (no name, no trust columns)."""
    if certs is None or certs.empty or not name or "issuer_class" not in certs:
        return None
    named = certs["dns_names"].map(lambda names: covers(names, name)).astype(bool)
    public = certs[named & (certs["issuer_class"].astype("string") == "public").fillna(False).astype(bool)]
    return [row.to_dict() for _, row in public.sort_values("not_before", na_position="first").iterrows()]


def _fit(row: dict, moment: Any) -> bool:
    """Whether the transport can present the certificate at ``moment``: usable then, and allowed server
    authentication."""
    return unusable(row, moment) is None and flag(row.get("server_auth")) is not False


def _best(fit: list[dict]) -> dict:
    """The one to present of fit certificates (oldest first): the newest, one already enabled for SMTP first."""
    with_smtp = [row for row in fit if _services(row) is None or "SMTP" in _services(row)]
    return (with_smtp or fit)[-1]


def _public_elsewhere(facts: Facts, peers: pd.DataFrame | None, server: str | None) -> _Public | None:
    """A public certificate for ``facts.name`` that another server of the case holds (``peers``: the case's
    certificates, each with the ``server`` that holds it) when these facts hold none fit: one the transport
    could present at ``facts.at``, with its private key (the export says HasPrivateKey True: it can be
    exported with it), not among these facts' own; the servers it is on are not ``server``. Copied to
    ``server``, it has no service there yet (``services`` empty).

    >>> facts = Facts.build(name="mail.contoso.com", at=pd.Timestamp("2025-03-20", tz="UTC"))
    >>> peers = pd.DataFrame([{"thumbprint": "AB" * 20, "issuer": "CN=CA", "subject": "CN=mail.contoso.com",
    ...     "dns_names": ("mail.contoso.com",), "issuer_class": "public", "has_private_key": True,
    ...     "not_before": pd.Timestamp("2025-01-01", tz="UTC"), "not_after": pd.Timestamp("2026-01-01", tz="UTC"),
    ...     "services": ("IIS", "SMTP"), "server": "ex2016.contoso.com"}])
    >>> found = _public_elsewhere(facts, peers, "ex2010.contoso.com")
    >>> found.source, found.thumbprint[:4], found.services
    ('ex2016.contoso.com', 'ABAB', ())
    >>> _public_elsewhere(facts, peers.assign(has_private_key=pd.NA), "ex2010.contoso.com") is None
    True
    """
    if peers is None or "server" not in peers:
        return None
    mine = host_name(server) if server else None
    moment, _ = judgement_time(facts.at)
    fit = [row for row in _public_rows(peers, facts.name) or []
           if str(row["thumbprint"]).upper() not in facts.by_thumbprint and flag(row.get("has_private_key"))
           and _fit(row, moment) and [s for s in split_servers(row["server"]) if host_name(s) != mine]]
    if not fit:
        return None
    best = _best(fit)
    source = next(s for s in split_servers(best["server"]) if host_name(s) != mine)
    return _Public(str(best["issuer"]), str(best["subject"]), str(best["thumbprint"]).upper(), (), source,
                   present(best.get("not_after")))


def _services(row: dict) -> tuple[str, ...] | None:
    services = row.get("services")
    return services if isinstance(services, tuple) else None


def _flowing_again(facts: Facts, findings: list[Finding], remediation: list[Step]) -> list[str]:
    """A note when the evidence shows mail delivered after the last failure (the mail-flows
    finding counts only those when there are failures) and a fix is given: the fix, or another
    change, may be in place already."""
    flowing = next((f for f in findings if f.rule == "mail-flows"), None)
    if flowing is None or not remediation or flowing.evidence.empty or facts.points.empty:
        return []
    first = flowing.evidence.sort_values("time")["time"].iloc[0]
    return [f"mail was delivered again after the last failure ({flowing.count:,} session(s) from {format_utc(first)}): "
            "the fix, or another change, may be in place already; check the certificate's Services and the "
            "connector's TlsCertificateName before running it"]


def _pins_culprit(facts: Facts, culprit: str | None) -> bool:
    """Whether the connector's TlsCertificateName names the culprit (its issuer and subject,
    from the certificate exports or from the protocol log that showed it presented)."""
    pinned = parse_tls_certificate_name(facts.tls_certificate_name or "")
    if pinned is None or not culprit:
        return False
    cert = facts.by_thumbprint.get(culprit)
    subject, issuer = ((present(cert.get("subject")), present(cert.get("issuer"))) if cert is not None
                       else facts.presented.get(culprit, (None, None)))
    return bool(issuer and subject) and (name_key(issuer), name_key(subject)) == tuple(map(name_key, pinned))


def _presents_public(facts: Facts, culprit: str | None) -> bool:
    """Whether, with no culprit seen, the exports show the transport presenting a public certificate."""
    return culprit is None and facts.selected is not None and facts.issuer_class(facts.selected) == "public"


def _remediation(facts: Facts, cause: str | None, culprit: str | None, connector: str | None,
                 public: _Public | None, unfit: str | None, pinned: bool) -> list[Step]:
    if cause is None or _presents_public(facts, culprit):
        return []
    pin = public.pin if public else None
    if cause == "kb2888788":
        cert = facts.by_thumbprint.get(culprit or "")
        services = cert.get("services") if cert is not None else None
        copy = (copy_certificate_steps(public.thumbprint, public.source, source_edge=facts.is_edge(public.source))
                if public and public.source else [])
        return [*copy, *kb2888788_steps(culprit, services if isinstance(services, tuple) else None,
                                        connector=connector, public=pin,
                                        enable_public=(public.thumbprint, public.services)
                                        if public and public.without_smtp else None,
                                        renew=unfit if public is None and unfit else None,
                                        pinned=pinned, current_pin=facts.tls_certificate_name)]
    cert = facts.by_thumbprint.get(culprit or "")
    services = cert.get("services") if cert is not None else None
    return look_alike_steps(cause, culprit, connector=connector, public=pin,
                            services=services if isinstance(services, tuple) else None,
                            current_pin=facts.tls_certificate_name)


def _fix_notes(facts: Facts, cause: str | None, culprit: str | None, public: _Public | None,
               unfit: str | None, pinned: bool, *, unsure: bool = False) -> list[str]:
    """What the fix of KB 2888788 has to work around, in words (``unsure``: a date read in the hour the
    clocks go back over leaves the certificate presented unsure, :func:`_unsure`)."""
    if cause != "kb2888788":
        return []
    if _presents_public(facts, culprit):
        how = "named by the connector's TlsCertificateName" if facts.tls_certificate_name else "the newest for the name"
        doubt = ", if each date printed in the hour the clocks go back over is its first pass (above)" if unsure else ""
        return [f"the certificate and connector exports show the transport presenting the public certificate "
                f"{facts.selected} ({how}){doubt}: no fix is given; if they were taken after the failures, the fix may "
                "be in place already: check that the queue to Exchange Online drains and that new sessions in the "
                "send protocol log present it"]
    notes = []
    if pinned:
        notes.append(f"the send connector's TlsCertificateName names the internal certificate {culprit}: the "
                     "transport presents it whatever else is enabled for SMTP, so the fix pins the public one")
    if public is not None and public.source:
        until = f", valid until {format_utc(public.not_after)}" if public.not_after is not None else ""
        notes.append(f"this server's certificates hold none fit ({unfit}), but {public.source} holds "
                     f"{public.thumbprint} (issued by {public.issuer}, covering {facts.name}{until}, with its private "
                     "key): the fix copies it here "
                     f"from {public.source} (Export-ExchangeCertificate there, Import-ExchangeCertificate here) "
                     "instead of starting with a new certificate")
    elif public is None and unfit:
        notes.append(f"{unfit}: no certificate of the evidence is fit to present to Exchange Online; the fix "
                     "starts with a new certificate from a public CA")
    elif public is not None and public.without_smtp:
        notes.append(f"the public certificate {public.thumbprint} covers {facts.name} but is not enabled for SMTP: "
                     "the fix enables it")
    expires = present((facts.by_thumbprint.get(public.thumbprint or "") or {}).get("not_after")) if public else None
    if expires is not None:
        notes.append(f"the pin names the public certificate by issuer and subject; {public.thumbprint} expires on "
                     f"{format_utc(expires)}: a renewal from the same CA to the same subject keeps the pin working, one "
                     "from another CA needs the connector pinned again, or mail stops with 454 4.7.5")
    return notes


def diagnose(*, events: pd.DataFrame | None = None, certs: pd.DataFrame | None = None,
             sessions: pd.DataFrame | None = None, tracking: pd.DataFrame | None = None,
             connectors: pd.DataFrame | None = None, servers: pd.DataFrame | None = None,
             server_fqdn: str | None = None, connector: str | None = None, roots: Any = None,
             at: Any = None, server: str | None = None, lacking: Collection[str] | None = None,
             failures: pd.DataFrame | None = None, points: pd.DataFrame | None = None,
             peers: pd.DataFrame | None = None, receive_connectors: pd.DataFrame | None = None,
             queues: pd.DataFrame | None = None) -> Diagnosis:
    """Diagnose one case from its frames (any of them may be missing).

    ``server`` says the frames are one server's of several: the answer names it and its
    commands act on it (``-Server``); see :func:`judge_server` for its fix. ``lacking`` names
    the kinds of evidence the case lacks (its inventory); by default those absent or empty.

    ``server_fqdn`` and ``connector`` are inferred from the evidence when not given
    (``notes`` says so); ``roots`` goes to ``judge_trust`` (a PEM path or bundle of the
    roots Exchange Online trusts); ``at`` is when certificate validity is judged
    (default: the last failure, else the last record of the evidence, else now).
    ``failures`` is ``tls_failures(events)`` when the caller has it already (``exlab.Case`` does),
    ``points`` the ``failure_points(prefer=False)`` of those failures, the send sessions, the tracking rows and
    the queues (``queues``: Get-Queue's rows, whose last errors are failures too).
    ``peers``: the certificates of the case's other servers, where a public certificate ``certs`` lack
    may be copied from (``conclude``). ``servers`` (Get-ExchangeServer) and ``receive_connectors``
    (Get-ReceiveConnector) tell the Edge Transport servers, whose fix runs on the Edge itself.

    >>> d = diagnose(sessions=pd.DataFrame({"session_id": ["08DD00000000A1B2"], "connector": ["Outbound"],
    ...     "start": pd.to_datetime(["2025-03-20 09:14:01"], utc=True),
    ...     "end": pd.to_datetime(["2025-03-20 09:14:02"], utc=True),
    ...     "cert_thumbprint": ["3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55"],
    ...     "cert_subject": ["CN=mail.contoso.com"], "cert_issuer": ["CN=Contoso Issuing CA 01"],
    ...     "final_reply": ["454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"],
    ...     "reply_code": [454], "enhanced_status": ["4.7.0"], "tls_reason": ["UntrustedRoot"],
    ...     "outcome": ["rejected"], "source": ["SEND20250320-1.LOG"]}))
    >>> d.verdict, d.strength, d.culprit[:8], d.remediation[2].command[:43]
    ('confirmed', 'direct', '3F2A9C01', 'Enable-ExchangeCertificate -Thumbprint 3F2A')
    """
    facts, fqdn, notes = prepare(events=events, certs=certs, sessions=sessions, tracking=tracking,
                                 connectors=connectors, servers=servers, server_fqdn=server_fqdn, connector=connector,
                                 roots=roots, at=at, failures=failures, points=points,
                                 receive_connectors=receive_connectors, queues=queues)
    return conclude(facts, server_fqdn=fqdn, notes=notes, server=server, lacking=lacking,
                    peers=_with_trust(peers, roots, facts.at))


def prepare(*, events: pd.DataFrame | None = None, certs: pd.DataFrame | None = None,
            sessions: pd.DataFrame | None = None, tracking: pd.DataFrame | None = None,
            connectors: pd.DataFrame | None = None, servers: pd.DataFrame | None = None,
            server_fqdn: str | None = None, connector: str | None = None, roots: Any = None,
            at: Any = None, failures: pd.DataFrame | None = None, points: pd.DataFrame | None = None,
            receive_connectors: pd.DataFrame | None = None,
            queues: pd.DataFrame | None = None) -> tuple[Facts, str | None, list[str]]:
    """What :func:`diagnose` weighs, from its frames: the facts (trust, selection, what was
    inferred), the server's FQDN and the notes saying what was inferred from what.

    >>> facts, fqdn, notes = prepare(server_fqdn="ex01.contoso.com")
    >>> facts.points.empty, fqdn, notes
    (True, 'ex01.contoso.com', [])
    """
    notes: list[str] = []
    failures = _tls_failures(events) if failures is None else failures
    if points is None:
        points = failure_points(failures=failures, sessions=send_sessions(sessions), tracking=tracking, queues=queues,
                                prefer=False)
    fqdn = server_fqdn
    if fqdn is None:
        fqdn, why = infer_server_fqdn(servers=servers, events=events, certs=certs, connectors=connectors)
        if why:
            notes.append(f"server FQDN {fqdn} inferred from {why}" if fqdn else why)
    if connector:
        chosen = connector_row(connectors, connector)
    else:
        failing = points.loc[points["origin"].isin(["event", "queue"]), "connector"]
        chosen, why = infer_connector(connectors=connectors, failing=failing, sessions=sessions)
        if chosen:
            notes.append(f"send connector {chosen['name']!r} inferred from {why}")
    connector_name = (chosen or {}).get("name")
    name = (chosen or {}).get("fqdn") or fqdn
    if at is not None:
        when = pd.Timestamp(at)
        when = when.tz_localize("UTC") if when.tzinfo is None else when
    else:
        when, _ = infer_judgement_time(points, events=events, sessions=sessions, tracking=tracking)
    if when is not None:
        when = when.floor("us")   # certificate code works in datetime (microseconds)
    certs = _with_trust(certs, roots, when)
    selection = _selection(certs, fqdn, chosen, when)
    if selection.summary:
        notes.append(selection.summary)
    facts = Facts.build(failures=failures, events=events, certs=certs, sessions=sessions, tracking=tracking,
                        points=points, connectors=connectors, name=name, connector=connector_name,
                        candidates=selection.candidates, selected=selection.selected, at=when,
                        pin_missing=selection.pin_missing,
                        tls_certificate_name=(chosen or {}).get("tls_certificate_name"), servers=servers,
                        receive_connectors=receive_connectors, queues=queues)
    return facts, fqdn, notes


def conclude(facts: Facts, *, server_fqdn: str | None = None, notes: list[str] | None = None,
             server: str | None = None, lacking: Collection[str] | None = None,
             findings: list[Finding] | None = None, peers: pd.DataFrame | None = None) -> Diagnosis:
    """The diagnosis of prepared facts: run the rules, weigh them, write the fix.

    :func:`prepare` prepares the facts from frames (trust, selection, inference);
    this is the weighing alone. ``findings``: the rules' findings on these facts, when a
    diagnosis of them was concluded already (``run_rules`` is not run again). ``peers``: the
    certificates of the case's other servers (with their trust columns and ``server``), where a
    public certificate these facts lack may be found and copied from (:func:`_public_elsewhere`).

    >>> conclude(Facts.build()).verdict
    'inconclusive'
    """
    findings = run_rules(facts) if findings is None else findings
    unsure = _unsure(facts)
    verdict, cause, culprit, strength = _decide(findings, facts)
    onset, end = _span(facts.points, cause)
    public, unfit = _public_certificate(facts, culprit) if cause is not None else (None, None)
    if public is None and unfit and cause == "kb2888788":
        public = _public_elsewhere(facts, peers, server or server_fqdn)
    pinned = _pins_culprit(facts, culprit)
    remediation = _remediation(facts, cause, culprit, facts.connector, public, unfit, pinned)
    where = server or (server_fqdn if facts.is_edge(server_fqdn) else None)    # an Edge is named, one server or not
    edge = facts.is_edge(where)
    return Diagnosis(
        verdict=verdict, cause=cause, culprit=culprit, onset=onset, end=end, strength=strength,
        evidence=findings,
        remediation=on_server(through_edge_sync(_frontend(facts, remediation, server or server_fqdn), facts.edge_sync),
                              where, edge=edge),
        missing=through_edge_sync(collect_on(_missing(facts, verdict, facts.connector, lacking, unsure=bool(unsure)),
                                             where, edge=edge), facts.edge_sync), server_fqdn=server_fqdn,
        connector=facts.connector, name=facts.name, selected=facts.selected,
        notes=[*(notes or []), *unsure, *_fix_notes(facts, cause, culprit, public, unfit, pinned, unsure=bool(unsure)),
               *_flowing_again(facts, findings, remediation)],
        failures=attempts(facts.points),
        server=server, public=public.thumbprint if public else None, pinned=pinned, proxied=facts.frontend_proxy,
    )


def failures_elsewhere(*, events: pd.DataFrame | None = None, sessions: pd.DataFrame | None = None,
                       tracking: pd.DataFrame | None = None, queues: pd.DataFrame | None = None,
                       connector: str | None = None) -> dict[str, int]:
    """Failed delivery attempts per send connector other than ``connector`` (each attempt
    counted once, from its server's best source): what a server's answer about ``connector`` must not
    rule out.

    >>> events = pd.DataFrame({"time_created": pd.to_datetime(["2025-06-02 09:16:03"], utc=True),
    ...     "computer": ["mpex02.munsonspickles.com"], "provider": ["MSExchangeTransport"], "event_id": [2004],
    ...     "data": [{"%1": "Outbound to Office 365", "%2": "<a@b>",
    ...               "%3": "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"}],
    ...     "record_id": [771190], "source": ["App.xml"]})
    >>> failures_elsewhere(events=events, connector="My company to Office 365")
    {'Outbound to Office 365': 1}
    >>> failures_elsewhere(events=events, connector="outbound to office 365")
    {}
    """
    points = failure_points(failures=_tls_failures(events), sessions=send_sessions(sessions), tracking=tracking,
                            queues=queues)
    names = points["connector"].astype("string").fillna("an unnamed connector")
    if connector:
        names = names[names.str.lower() != connector.lower()]
    return {str(name): int(count) for name, count in names.value_counts(sort=False).items()}


def sends_through(server: str, sources: Collection[str], *, cut: bool = False, proxied: bool = False) -> bool | None:
    """Whether ``server`` is a source transport server of the connector whose SourceTransportServers
    the export shows as ``sources``: True when they name it; False only when they are the whole list
    and do not; None when they are empty (unknown), or ``cut`` (Format-List showed only the first of
    them, ``{EX01, EX02, EX03, EX04...}``) and do not name it: it may be one of the rest; None too when
    the connector is ``proxied`` (FrontendProxyEnabled) and they do not name it: the Front End Transport
    service of a server they do not name may connect for them (:func:`proxied_sources_note`).

    >>> shown = {"EX01", "EX02", "EX03", "EX04"}
    >>> sends_through("EX05", shown), sends_through("EX05", shown, cut=True), sends_through("EX01", shown, cut=True)
    (False, None, True)
    >>> sends_through("CAS01", shown, proxied=True)
    """
    if server in sources:
        return True
    return None if cut or proxied or not sources else False


def proxied_sources_note(connector: str | None, servers: list[str]) -> str:
    """What a case says when the connector has FrontendProxyEnabled and its SourceTransportServers do not name
    ``servers`` (see :func:`sends_through`).

    >>> print(proxied_sources_note("Outbound to Office 365", ["CAS01"]))  # doctest: +ELLIPSIS
    CAS01 is not among the SourceTransportServers of connector 'Outbound to Office 365', but the connector has \
FrontendProxyEnabled: ...so CAS01 may send through it and is not ruled out
    """
    named = f"connector {connector!r}" if connector else "the send connector"
    listed, are = (servers[0], "is") if len(servers) == 1 else (f"{', '.join(servers[:-1])} and {servers[-1]}", "are")
    return (f"{listed} {are} not among the SourceTransportServers of {named}, but the connector has "
            "FrontendProxyEnabled: its source servers hand their outbound mail to the Front End Transport service "
            "of a server in their Active Directory site (a Client Access server in Exchange 2013), which connects "
            f"to Exchange Online and presents its own certificate, so {listed} may send through it and {are} not "
            "ruled out")


def cut_sources_note(connector: str | None, shown: Collection[str]) -> str:
    """What a case says when the export cut the connector's SourceTransportServers (see :func:`sends_through`).

    >>> print(cut_sources_note("Outbound to Office 365", ["EX01", "EX02", "EX03", "EX04"]))  # doctest: +ELLIPSIS
    the export of connector 'Outbound to Office 365' shows only the first 4 of its SourceTransportServers \
(EX01, EX02, EX03, EX04...): Format-List cut the list ($FormatEnumerationLimit), so a server it does not name may \
send through it too and is not ruled out; ...
    """
    named = f"connector {connector!r}" if connector else "the send connector"
    return (f"the export of {named} shows only the first {len(shown)} of its SourceTransportServers "
            f"({', '.join(shown)}...): Format-List cut the list ($FormatEnumerationLimit), so a server it does not "
            "name may send through it too and is not ruled out; export it again whole "
            "(Get-SendConnector | Export-Clixml, or $FormatEnumerationLimit = -1 before | fl)")


def judge_server(diagnosis: Diagnosis, *, sends: bool | None, watched: bool,
                 elsewhere: dict[str, int] | None = None) -> Diagnosis:
    """One server's answer weighed against the connector that sends to Exchange Online.

    ``sends``: whether the server is among the connector's SourceTransportServers (None
    when the connector lists none, is unknown, or its export cut the list before naming
    the server: the evidence alone decides, see :func:`sends_through`);
    ``watched``: whether any evidence of its mail flow (events, protocol or tracking logs)
    came from it; ``elsewhere``: its failures through other send connectors
    (:func:`failures_elsewhere`). A server with failures keeps its fix; one whose failures
    are all on another connector is never ruled out: it stays inconclusive and says which. A server without failures gets no
    fix and says why; except a source server whose certificates alone show the cause (it
    presents the internal certificate): it will fail when it sends, so it gets the fix
    with its own thumbprint, marked ``preventive``.

    >>> d = judge_server(diagnose(server="EX03"), sends=False, watched=True)
    >>> d.verdict, d.fix, d.why[:44]
    ('ruled_out', 'none', 'not a source transport server of the send co')
    >>> judge_server(diagnose(server="EX02"), sends=True, watched=False).why
    'no evidence of its mail flow (events, protocol or tracking logs) came from it'
    """
    connector = f"connector {diagnosis.connector!r}" if diagnosis.connector else "the send connector"
    if diagnosis.failures:
        why = f"{diagnosis.failures:,} failed delivery attempt(s) through {connector} in its evidence"
        notes = diagnosis.notes
        if sends is False:
            notes = [*notes, f"{diagnosis.server} is not among the SourceTransportServers of {connector}, yet its "
                             "logs show it sending through it: the connector export may be newer than the logs"]
        return replace(diagnosis, fix="fix" if diagnosis.remediation else "none", why=why, sends=sends, notes=notes)
    if elsewhere:
        through = ", ".join(f"{count} through {name!r}" for name, count in elsewhere.items())
        # its events 2004 are logged (only for another connector): no step raises their level, aimed at it or not
        logged = collect_step("events_2004").command.split('"')[0]
        return replace(diagnosis, verdict="inconclusive", cause=None, culprit=None, strength=None, onset=None,
                       end=None, remediation=[], fix="none", sends=sends,
                       missing=[step for step in diagnosis.missing if not (step.command or "").startswith(logged)],
                       why=f"its failures are on another send connector ({through}), not {connector}: "
                           "investigate it with that connector (--connector) and its Get-SendConnector export")
    if sends is False:
        notes = diagnosis.notes
        if diagnosis.cause and diagnosis.culprit:
            notes = [*notes, f"its certificates point at {diagnosis.cause} ({diagnosis.culprit}); that matters only "
                             f"if it is added to the SourceTransportServers of {connector}"]
        return replace(diagnosis, verdict="ruled_out", cause=None, culprit=None, strength=None, onset=None, end=None,
                       remediation=[], missing=[], fix="none", sends=sends, notes=notes,
                       why=f"not a source transport server of {connector}: it does not send to Exchange Online "
                           "through it")
    if diagnosis.remediation and diagnosis.culprit and diagnosis.cause:
        sending = (f"but it sends through {connector} and" if sends else
                   f"and whether it sends through {connector} is not known, but")
        return replace(diagnosis, fix="preventive", sends=sends,
                       why=f"no failure in its evidence yet, {sending} its certificates show {diagnosis.cause} "
                           f"({diagnosis.culprit}): it will be refused when it sends")
    why = ("no failure in its evidence" if watched else
           "no evidence of its mail flow (events, protocol or tracking logs) came from it")
    return replace(diagnosis, remediation=[], fix="none", why=why, sends=sends)


def server_table(diagnoses: list[Diagnosis]) -> pd.DataFrame:
    """One row per server: its verdict, what it rests on, and whether and why it gets a fix.

    >>> table = server_table([judge_server(diagnose(server="EX03"), sends=False, watched=True)])
    >>> table[["server", "fix"]].values.tolist()
    [['EX03', 'no fix']]
    """
    rows = [{"server": d.server, "sends_through_connector": d.sends, "verdict": d.verdict, "cause": d.cause,
             "culprit": d.culprit, "strength": d.strength, "failures": d.failures,
             "fix": _FIX_LABELS[d.fix or "none"], "why": d.why} for d in diagnoses]
    frame = pd.DataFrame(rows, columns=["server", "sends_through_connector", "verdict", "cause", "culprit",
                                        "strength", "failures", "fix", "why"])
    frame["sends_through_connector"] = frame["sends_through_connector"].astype("boolean")
    for column in ("server", "verdict", "cause", "culprit", "strength", "fix", "why"):
        frame[column] = frame[column].astype("string")
    return frame
