"""The report model: what a report says about a case, decided once, in words and tables.

:func:`build_report` reads a :class:`~exlab.case.Case` (its diagnosis, per-server
answers, timeline, certificates, sessions, inventory and parse reports) and returns a
:class:`Report` of plain dataclasses. The views only lay it out: the HTML page
(:mod:`exlab.report.html`), its PDF (:mod:`exlab.report.pdf`) and the notebooks' summaries.
Every table in it is a people table (:mod:`exlab.report.people`): text cells, no index,
times in the case's zone, named in the header.

The report has three parts, for the reader who has one minute first:

* the answer: :attr:`Report.verdict` and :attr:`Report.summary`, one :class:`ServerVerdict`
  per server, the :attr:`Report.culprit` certificate and why it is presented, the connector,
  the affected servers, the outage :attr:`Report.window`, the :attr:`Report.fix` (most
  durable step first, each command once) and how to :attr:`Report.verify` it;
  for a case that is not settled, what was checked, what was not, and what to
  :attr:`Report.collect` next (for a settled case: what would complete the evidence);
  :attr:`Report.presented` is the certificate the transport presents when it is not the culprit;
* the proof: figures with their text, the leaf certificates that cover the name, and a few
  protocol-log sessions showing the certificate presented and the cloud's reply;
* the details: full tables, the inventory, every input with its SHA-256, warnings in words.

>>> VERDICT_WORDS["confirmed"], STRENGTH_WORDS["direct"][:13]
('KB 2888788 confirmed', 'direct proof:')
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from exlab import __version__
from exlab.analysis.infer import connector_row
from exlab.analysis.remediation import COLLECT, PIN_PLACEHOLDER, Step, collect_step, rollback, server_or_placeholder
from exlab.analysis.timeline import flowing_since, flows_again, line_place
from exlab.evidence import text_name
from exlab.report.people import (
    count,
    duration,
    html_table,
    missing,
    people_table,
    relative,
    times_in_text,
    timestamp,
    zone_name,
)
from exlab.transport.queue_routing import next_hop_patterns
from exlab.transport.sessions import ENVELOPE_OK

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

    from exlab.analysis.diagnose import Diagnosis
    from exlab.case import Case

log = logging.getLogger(__name__)

VERDICT_WORDS = {"confirmed": "KB 2888788 confirmed", "ruled_out": "Not KB 2888788",
                 "inconclusive": "KB 2888788 not settled"}
STRENGTH_WORDS = {
    "direct": "direct proof: the protocol log shows the certificate presented and Exchange Online's reply",
    "strong": "strong: the failures and the certificates agree, no protocol log shows the certificate presented",
    "possible": "possible: one side of the evidence only",
    None: "no proof either way",
}
CAUSE_WORDS = {
    "kb2888788": "the transport presents a certificate from the internal CA, which Exchange Online does not trust",
    "tlscertificatename-missing": "the certificate the send connector's TlsCertificateName names is not on the server",
    "certificate-expired": "the certificate presented for SMTP has expired",
    "no-private-key": "the SMTP certificate has no usable private key",
    "self-signed-only": "only a self-signed certificate covers the name",
    "tenant-attribution": "Exchange Online cannot attribute the mail to the tenant (certificate name and inbound "
                          "connector disagree)",
    "network": "the network path to Exchange Online fails",
}
FIX_WORDS = {"fix": "fix", "preventive": "preventive fix", "none": "no fix"}
# the next hops of a queue to Exchange Online (Get-Queue's NextHopDomain, as PowerShell's -like patterns) when the
# connector export does not tell them: the tenant's smart host, as the Hybrid Configuration Wizard sets the
# connector, or the tenant's routing domain when the connector routes by its MX record (a DNS queue is named by the
# recipients' domain)
EXCHANGE_ONLINE = ("*.mail.protection.outlook.com", "*.mail.onmicrosoft.com")
# the steps a fix may hold, most durable first: pinning the public certificate on the
# connector holds whatever else is enabled for SMTP later
_PIN = re.compile(r"^Set-SendConnector .* -TlsCertificateName ")
_PIN_PURPOSE = ("Pin the public certificate on the send connector: the transport then presents it, whatever "
                "other certificate is enabled for SMTP (the most durable step)")
# the note on the servers a pin must reach (exlab.analysis.pin.pin_reach): said at the pin too
_PIN_REACH = re.compile(r"^the pin on .* holds for each ")
# where a step of a fix runs, when it says (exlab.analysis.remediation: on_server, through_edge_sync)
_PLACE = re.compile(r"^(?:On |In the organisation)[^:]*: ")
_SESSIONS_SHOWN = 3
TIMELINE_TITLE = "Failed deliveries to Exchange Online per hour"
INPUTS_TITLE = "Every input, with its SHA-256"


@dataclass(frozen=True)
class ServerVerdict:
    """One server's answer: ``verdict`` (confirmed / ruled_out / inconclusive), in words,
    the strength of its proof in words, its fix (fix / preventive fix / no fix) and why."""

    server: str
    verdict: str
    in_words: str
    strength: str
    fix: str
    why: str
    failures: int


@dataclass(frozen=True)
class Certificate:
    """A certificate as the report names it; ``why`` says why the transport presents it."""

    thumbprint: str
    subject: str
    issuer: str
    issuer_class: str
    valid_from: str
    valid_to: str
    services: str
    why: str


@dataclass(frozen=True)
class Command:
    """One step: what it is for and the PowerShell to run (None: advice, or a command shown
    at an earlier step, which ``purpose`` names)."""

    purpose: str
    command: str | None = None


@dataclass(frozen=True)
class Verification:
    """How to see the fix work: the command and what to expect from it."""

    purpose: str
    command: str
    expect: str


@dataclass(frozen=True)
class SessionProof:
    """One SMTP send session from the protocol log: when (its refusal, else its start, said so), where,
    what was presented, and the reply (the refusal, or the one that accepted a message)."""

    time: str
    server: str
    session_id: str
    certificate: str
    reply: str
    outcome: str
    source: str


@dataclass(frozen=True)
class Figure:
    """A figure and its alternative text (what it shows, in words)."""

    title: str
    figure: MplFigure
    alt: str


@dataclass(frozen=True)
class Table:
    """A people table with its title, a line saying what it holds, the columns that wrap
    anywhere (thumbprints, names) and those of file names, that wrap after a separator first
    (``paths``). ``interactive``: large, worth sorting and searching."""

    title: str
    table: pd.DataFrame
    note: str = ""
    wide: tuple[str, ...] = ()
    interactive: bool = False
    paths: tuple[str, ...] = ()

    def _repr_html_(self) -> str:
        """The table as a notebook shows it: escaped, no index, its title as caption."""
        return html_table(self.table, caption=self.title, wide=self.wide, paths=self.paths)


@dataclass
class Report:
    """Everything a report says about one case. See the module's docstring."""

    case: str
    tz: str
    made: str
    verdict: str
    title: str
    summary: str
    strength: str
    servers: list[ServerVerdict]
    culprit: Certificate | None
    connector: str | None
    affected: list[str]
    window: str | None
    fix: list[Command]
    verify: Verification | None
    collect: list[Command]
    checked: list[str]
    not_checked: list[str]
    figures: list[Figure] = field(default_factory=list)
    issuers: Table | None = None
    chains: Table | None = None
    sessions: list[SessionProof] = field(default_factory=list)
    details: list[Table] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    presented: Certificate | None = None
    trust: str | None = None
    put_back: list[str] = field(default_factory=list)    # the back-out: what undoes the fix, last step first
    times: list[str] = field(default_factory=list)       # event exports read in the wrong zone (Case.zone_notes)

    def commands(self) -> list[str]:
        """Every command of the fix, in order, each once.

        >>> Report("c", "UTC", "", "ruled_out", "", "", "", [], None, None, [], None,
        ...        [Command("a", "Get-Queue"), Command("b")], None, [], [], []).commands()
        ['Get-Queue']
        """
        return [step.command for step in self.fix if step.command]


# -- the answer ---------------------------------------------------------------------------

def verdict_words(d: Diagnosis) -> str:
    """A diagnosis's verdict in words, no further than its evidence goes: for a ruled-out case,
    what it is instead; mail is said to flow only where sessions were seen delivering it
    (strength ``direct``); a server the connector does not send from is not concerned.

    >>> from exlab.analysis.diagnose import diagnose, judge_server
    >>> verdict_words(diagnose())
    'KB 2888788 not settled'
    >>> verdict_words(judge_server(diagnose(server="EX03"), sends=False, watched=True))
    'Not concerned: it does not send to Exchange Online through this connector'
    """
    if d.verdict != "ruled_out":
        return VERDICT_WORDS[d.verdict]
    if d.cause:
        return f"Not KB 2888788: {CAUSE_WORDS[d.cause]}"
    if d.sends is False:
        return "Not concerned: it does not send to Exchange Online through this connector"
    if d.strength == "direct":
        return "Not KB 2888788: mail to Exchange Online flows"
    return "Not KB 2888788: no failure in the evidence, and the transport presents a publicly trusted certificate"


def strength_words(d: Diagnosis) -> str:
    """What a diagnosis's verdict rests on, in words: for a server the connector does not send
    from, the connector's settings.

    >>> from exlab.analysis.diagnose import diagnose, judge_server
    >>> strength_words(diagnose())
    'no proof either way'
    >>> strength_words(judge_server(diagnose(server="EX03"), sends=False, watched=True))[:29]
    "from the connector's settings"
    """
    if d.verdict == "ruled_out" and not d.cause and d.sends is False:
        return "from the connector's settings: its SourceTransportServers do not list this server"
    return STRENGTH_WORDS.get(d.strength, STRENGTH_WORDS[None])


def server_verdicts(diagnoses: list[Diagnosis]) -> list[ServerVerdict]:
    """One :class:`ServerVerdict` per per-server diagnosis (``Case.diagnose_servers``).

    >>> from exlab.analysis.diagnose import diagnose, judge_server
    >>> [v.fix for v in server_verdicts([judge_server(diagnose(server="EX03"), sends=False, watched=True)])]
    ['no fix']
    """
    return [ServerVerdict(server=str(d.server), verdict=d.verdict, in_words=verdict_words(d),
                          strength=strength_words(d), fix=FIX_WORDS[d.fix or "none"], why=d.why or "",
                          failures=int(d.failures))
            for d in diagnoses]


def fix_steps(d: Diagnosis) -> list[Command]:
    """The fix of a case as one list: the fixes of every server that gets one (else the
    case's own), each command once. For KB 2888788 the pin of the public certificate on the
    connector comes first (the most durable step); a look-alike keeps its own order. A
    step that repeats an earlier command for the same purpose (a connector setting in each
    server's fix) is left out; one that repeats it for another purpose (check again) says so.
    A pin whose certificate the evidence does not name (a new one must be got first) keeps its place;
    a note that some server the pin holds for may lack the certificate is said at the pin.

    >>> from exlab.analysis.diagnose import Diagnosis
    >>> d = Diagnosis("confirmed", "kb2888788", None, None, None, "direct", [], [
    ...     Step("See it", "Get-ExchangeCertificate"), Step("Take SMTP off", "Enable-ExchangeCertificate"),
    ...     Step("Check again", "Get-ExchangeCertificate"),
    ...     Step("Durable alternative: pin", "Set-SendConnector 'O' -TlsCertificateName '<I>a<S>b'")], [])
    >>> [(s.purpose[:12], s.command) for s in fix_steps(d)]  # doctest: +NORMALIZE_WHITESPACE
    [('Pin the publ', "Set-SendConnector 'O' -TlsCertificateName '<I>a<S>b'"),
     ('See it', 'Get-ExchangeCertificate'), ('Take SMTP of', 'Enable-ExchangeCertificate'),
     ('Check again ', None)]
    >>> fix_steps(d)[3].purpose
    'Check again (run the command of step 2 again)'
    """
    steps = _fix_of(d)
    ordered = steps
    if d.cause == "kb2888788":
        pins = [step for step in steps
                if step.command and _PIN.match(step.command) and PIN_PLACEHOLDER not in step.command]
        reach = next((f". Before you pin: {note}" for note in d.notes if _PIN_REACH.match(note)), "")
        ordered = [Step(_placed(_PIN_PURPOSE, pins[0].purpose) + reach, pins[0].command)] if pins else []
        ordered += [step for step in steps if not any(step is pin for pin in pins)]
    shown: dict[str, tuple[int, str]] = {}
    out = []
    for step in ordered:
        if step.command and step.command in shown:
            number, purpose = shown[step.command]
            if purpose != step.purpose and not _PIN.match(step.command):
                out.append(Command(f"{step.purpose} (run the command of step {number} again)"))
            continue
        out.append(Command(step.purpose, step.command))
        if step.command:
            shown[step.command] = (len(out), step.purpose)
    return out


def _placed(purpose: str, original: str) -> str:
    """``purpose`` in place of a step's ``original`` one, with the place the original says it runs
    (an Edge's connector is changed in the organisation, then synchronized).

    >>> _placed("Pin it", "In the organisation, on a Mailbox server (EdgeSync): pin the public certificate")
    'In the organisation, on a Mailbox server (EdgeSync): pin it'
    >>> _placed("Pin it", "Pin the public certificate")
    'Pin it'
    """
    place = _PLACE.match(original)
    return f"{place[0]}{purpose[:1].lower()}{purpose[1:]}" if place else purpose


def _fix_of(d: Diagnosis) -> list[Step]:
    """The steps of a case's fix as they come: every fixed server's, else the case's own."""
    fixing = [s for s in d.servers if s.fix in ("fix", "preventive") and s.remediation]
    steps = [step for s in fixing for step in s.remediation] if len(fixing) > 1 else list(d.remediation)
    return steps if steps or not fixing else list(fixing[0].remediation)


def put_back(d: Diagnosis) -> list[str]:
    """The commands that put back what the case's fix changes, last step first, each once: a
    change board's back-out plan.

    >>> from exlab.analysis.diagnose import Diagnosis
    >>> put_back(Diagnosis("confirmed", "kb2888788", None, None, None, "direct", [], [
    ...     Step("Take SMTP off", "Enable-ExchangeCertificate -Services IIS", "Enable-ExchangeCertificate -Services IIS,SMTP"),
    ...     Step("Restart", "Restart-Service MSExchangeTransport")], []))
    ['Enable-ExchangeCertificate -Services IIS,SMTP']
    """
    return list(dict.fromkeys(rollback(_fix_of(d))))


def verification(d: Diagnosis, public: str | None, hops: tuple[str, ...] = EXCHANGE_ONLINE) -> Verification | None:
    """How to see the fix work, when there is a fix: the queue to Exchange Online drains.
    ``public`` is the public certificate KB 2888788's fix makes the transport present; ``hops`` the
    NextHopDomain patterns of the connector's queues (:func:`exlab.transport.queue_routing.next_hop_patterns`).

    >>> from exlab.analysis import diagnose
    >>> verification(diagnose(), None) is None
    True

    With FrontendProxyEnabled (``d.proxied``) the Front End Transport service that got the fix queues
    nothing: the queue stays with the Transport service of the connector's source servers (those of
    ``d.servers`` that send through it), and the sessions to Exchange Online are in the Front End's log.
    """
    if not d.remediation and not any(s.remediation for s in d.servers):
        return None
    if d.cause == "kb2888788":
        presented = f"certificate {public}" if public else "the public certificate"
        failure = "event 2004 with UntrustedRoot"
    else:
        presented, failure = "a valid, publicly trusted certificate", "event 2004"
    where, queues, log = "(on each server that got the fix)", "Get-Queue", "The send protocol log"
    if d.proxied:
        sources = [s.server for s in d.servers if s.sends and s.server]
        hosts = [server_or_placeholder(name) for name in sources]
        named = f" ({', '.join(sources)})" if sources else ""
        where = (f"on the connector's source servers{named}, whose Transport service holds it: with "
                 "FrontendProxyEnabled the Front End Transport service that connects to Exchange Online queues nothing")
        if len(hosts) == 1:
            queues = f"Get-Queue -Server {hosts[0]}"
        elif hosts:
            listed = ", ".join(f"'{host}'" for host in hosts)     # host names: no quote can be in them
            queues = f"{listed} | ForEach-Object {{ Get-Queue -Server $_ }}"
        log = ("The Front End's send protocol log (TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend, on the "
               "server that got the fix)")
    to_exchange_online = " -or ".join(f"$_.NextHopDomain -like '{hop}'" for hop in hops)
    return Verification(
        purpose=f"After the fix, watch the queue to Exchange Online {where}",
        command=f"{queues} | Where-Object {{ {to_exchange_online} }} | "
                "Format-List Identity,Status,MessageCount,LastError,NextRetryTime",
        expect=(f"At the next retry (within 15 minutes, or at once after Retry-Queue with the Identity shown) the "
                f"queue's Status turns Active or Ready, MessageCount falls "
                f"to 0 and LastError is empty. {log} then shows {presented} presented and 250 "
                f"replies, and no new {failure} is logged."))


# -- helpers over the case -----------------------------------------------------------------

def _next_hops(case: Case, d: Diagnosis) -> tuple[str, ...]:
    """The NextHopDomain patterns of the queues of the case's connector, as its export tells them; else those of
    any queue to Exchange Online (:data:`EXCHANGE_ONLINE`)."""
    return (next_hop_patterns(connector_row(case.connectors, d.connector)) if d.connector else None) or EXCHANGE_ONLINE


def _row(certs: pd.DataFrame | None, thumbprint: str | None) -> pd.Series | None:
    if certs is None or certs.empty or not thumbprint:
        return None
    found = certs[certs["thumbprint"].astype("string").str.upper() == thumbprint.upper()]
    return None if found.empty else found.iloc[0]


def _text(value: Any) -> str:
    return "" if missing(value) else (", ".join(map(str, value)) if isinstance(value, tuple) else str(value))


def _comparison(case: Case, d: Diagnosis) -> pd.DataFrame | None:
    """The leaf certificates covering the name, newest first (``Case.compare_issuers``)."""
    name = d.name or case.server_fqdn
    if case.certs is None or not name:
        return None
    try:
        return case.compare_issuers(name)
    except Exception as err:   # noqa: BLE001 - the report still says what it can without the comparison
        log.info("no issuer comparison: %s", err)
        return None


def _certificate_row(case: Case, thumbprint: str) -> pd.Series:
    """A certificate's row in the exports, else what the protocol log says of it, else its thumbprint."""
    row = _row(case.certs, thumbprint)
    if row is None and case.sessions is not None and "cert_thumbprint" in case.sessions:
        sessions = case.sessions[case.sessions["cert_thumbprint"].astype("string").str.upper() == thumbprint]
        row = None if sessions.empty else pd.Series({
            "thumbprint": thumbprint, "subject": sessions["cert_subject"].iloc[0],
            "issuer": sessions["cert_issuer"].iloc[0]})
    return row if row is not None else pd.Series({"thumbprint": thumbprint})


def _certificate(row: pd.Series, tz: str, why: str) -> Certificate:
    return Certificate(thumbprint=str(row["thumbprint"]), subject=_text(row.get("subject")),
                       issuer=_text(row.get("issuer")), issuer_class=_text(row.get("issuer_class")) or "unknown",
                       valid_from=timestamp(row.get("not_before"), tz), valid_to=timestamp(row.get("not_after"), tz),
                       services=_text(row.get("services")), why=why)


def _culprit(case: Case, d: Diagnosis, comparison: pd.DataFrame | None, tz: str) -> Certificate | None:
    """The certificate to act on, and why the transport presents it."""
    if not d.culprit:
        return None
    row = _certificate_row(case, d.culprit)
    return _certificate(row, tz, _why_presented(d, row, comparison))


def _presented(case: Case, d: Diagnosis, tz: str) -> Certificate | None:
    """The certificate the transport presents, when it is not the culprit (a healthy case,
    a look-alike without one): what the selection rules predict from the exports."""
    if not d.selected or (d.culprit and d.selected.upper() == d.culprit.upper()):
        return None
    why = next((note for note in d.notes if note.startswith(f"presents {d.selected}")), "")
    return _certificate(_certificate_row(case, d.selected.upper()), tz, times_in_text(why, tz))


def _why_presented(d: Diagnosis, row: pd.Series, comparison: pd.DataFrame | None) -> str:
    """Why the transport presents the culprit, in words, from the certificates that cover the name."""
    name = d.name or "the server's name"
    started, ended = row.get("not_before"), row.get("not_after")
    if d.cause != "kb2888788":
        words = CAUSE_WORDS.get(d.cause or "", "")
        if d.cause == "certificate-expired" and d.onset is not None and not missing(ended):
            words += f": it expired {relative(ended - d.onset, 'the first failure')}"
        return words[:1].upper() + words[1:] + "." if words else ""
    words = f"It covers {name} and is enabled for SMTP"
    others = pd.DataFrame() if comparison is None else comparison[
        comparison["thumbprint"].astype("string").str.upper() != d.culprit]
    public = others[others["issuer_class"].astype("string") == "public"] if "issuer_class" in others else others
    if not missing(started) and not public.empty:
        older = public[public["not_before"] < started]
        if not older.empty:
            previous = older.sort_values("not_before").iloc[-1]
            words += (f". It is newer than the public certificate {previous['thumbprint']} (issued "
                      f"{duration(started - previous['not_before'])} earlier)")
            if not d.pinned:
                words += (", and with no TlsCertificateName on the connector the transport presents the newest "
                          "certificate for the name")
    if d.pinned:
        words += ". The send connector's TlsCertificateName names it: the transport presents it whatever else is "
        words += "enabled for SMTP"
    if d.onset is not None and not missing(started):
        words += f". It was issued {relative(started - d.onset, 'the first failure')}"
    return words + "."


def _window(d: Diagnosis, tz: str, flowing: Any, servers: list[str]) -> str | None:
    """The outage: from the first failure to the last and when mail flowed again (``flowing``);
    with no delivery after the last failure, that the evidence shows none (from ``servers``)."""
    if d.onset is None:
        return None
    if d.end is not None and not missing(flowing):
        return (f"from {timestamp(d.onset, tz)} to {timestamp(d.end, tz)} {zone_name(tz)} "
                f"({duration(d.end - d.onset)}); mail flowed again at {timestamp(flowing, tz)}")
    last = f"last failure at {timestamp(d.end, tz)}" if d.end is not None else "last failure not known"
    source = f" from {', '.join(servers)}" if servers else ""
    return (f"from {timestamp(d.onset, tz)} {zone_name(tz)}; {last}, no delivery to Exchange Online{source} after "
            "it in the evidence (still failing when the evidence was collected?)")


def _summary(d: Diagnosis, affected: list[str], connector: str | None) -> str:
    """The answer in a sentence or two (the window, the certificate and the fix stand beside it)."""
    via = f"send connector {connector!r}" if connector else "the send connector to Exchange Online"
    where = ", ".join(affected) if affected else "the server"
    if d.verdict == "confirmed":
        return (f"Exchange Online refused mail from {where} through {via} with 454 4.7.0 UntrustedRoot: "
                f"{CAUSE_WORDS['kb2888788']}.")
    if d.verdict == "ruled_out" and d.cause:
        return (f"Mail from {where} to Exchange Online through {via} failed, but not because of KB 2888788: "
                f"{CAUSE_WORDS[d.cause]}.")
    if d.verdict == "ruled_out":
        return (f"The evidence shows no refused delivery to Exchange Online through {via}, and the transport "
                "presents a publicly trusted certificate: KB 2888788 does not apply. No change is needed.")
    lean = f" It points at this cause, without proof: {CAUSE_WORDS[d.cause]}." if d.cause else ""
    return (f"The evidence is not enough to confirm or rule out KB 2888788 for {via}.{lean} "
            "Collect what is missing (listed under 'What to collect next', in the report and in notebook 03) and "
            "run the investigation again.")


def _checked(case: Case, d: Diagnosis) -> tuple[list[str], list[str], list[Command]]:
    """What was checked (kinds found), what was not (missing or unusable, and why), and
    what to collect next: the diagnosis's list, else a step per kind not checked."""
    inventory = case.inventory()
    kinds = inventory[inventory["kind"].notna()]
    checked, unchecked, lacking = [], [], []
    for row in kinds.itertuples(index=False):
        if row.status == "found":
            checked.append(f"{row.evidence}: {count(int(row.files), 'file')}, {count(int(row.rows), 'row')}")
        else:
            unchecked.append(f"{row.evidence}: {row.status}, {_text(row.why)}")
            lacking.append(str(row.kind))
    steps = list(d.missing) or [collect_step(kind, d.connector) for kind in lacking if kind in COLLECT]
    return checked, unchecked, [Command(step.purpose, step.command) for step in steps]


def _sessions(case: Case, d: Diagnosis, tl: Any, tz: str) -> list[SessionProof]:
    """Two or three send sessions: the first refused with the culprit, the last refused, and the
    first delivered session that shows mail flowing again (``exlab.analysis.timeline.flows_again``: from
    a server that failed, after its last failure), else the first delivered at all."""
    from exlab.transport.protocol_log import send_sessions

    sessions = case.sessions
    if sessions is None or sessions.empty:
        return []
    sessions = send_sessions(sessions).sort_values("start", kind="stable")
    outcome = sessions["outcome"].astype("string")
    refused = sessions[outcome.isin(["rejected", "tls-failed"]).fillna(False).astype(bool)]
    if d.culprit and "cert_thumbprint" in refused:
        mine = refused[refused["cert_thumbprint"].astype("string").str.upper() == d.culprit]
        refused = mine if not mine.empty else refused
    flowing = tl.deliveries[flows_again(tl.deliveries, tl.points) & tl.deliveries["origin"].eq("session")]
    again = sessions.loc[flowing["row"].head(1)]      # the deliveries are in order of time
    delivered = again if not again.empty else sessions[(outcome == "delivered").fillna(False).astype(bool)]
    picked = [refused.iloc[0]] if not refused.empty else []
    if len(refused) > 1:
        picked.append(refused.iloc[-1])
    cards = [_session(row, tz) for row in picked[:_SESSIONS_SHOWN]]
    if not delivered.empty and len(cards) < _SESSIONS_SHOWN:
        row = delivered.iloc[0]
        at = row.get("delivered_at")
        card = _session(row, tz)
        when = delivered_when(row.get("start") if missing(at) else at, tl.points["time"], again=not again.empty)
        cards.append(replace(card, time=f"{card.time} ({when})") if when else card)
    return cards


def delivered_when(time: Any, failures: pd.Series, *, again: bool) -> str:
    """Where a delivered session's ``time`` stands against the ``failures`` (their times): ``again``
    when it shows mail flowing again (``exlab.analysis.timeline.flows_again``).

    >>> failures = pd.Series(pd.to_datetime(["2025-03-20 09:00", "2025-03-20 12:00"], utc=True))
    >>> delivered_when(pd.Timestamp("2025-03-20 08:00", tz="UTC"), failures, again=False)
    'before the first failure'
    >>> delivered_when(pd.Timestamp("2025-03-20 13:00", tz="UTC"), failures, again=False)
    'after the last failure, but not from a server or through a connector that failed'
    """
    if again:
        return "after its server's last failure: mail flows again"
    if failures.empty or missing(time):
        return ""
    if time < failures.min():
        return "before the first failure"
    if time <= failures.max():
        return "while the failures went on"
    return "after the last failure, but not from a server or through a connector that failed"


def _session(row: pd.Series, tz: str) -> SessionProof:
    """A session's card, timed and placed at the reply that decided it: a refused one at its refusal
    (``failed_at``, ``failed_line``), a delivered one at the reply that accepted its first message
    (``delivered_at``, ``delivered_line``), shown with it; else at its start, said so.

    >>> row = pd.Series({"outcome": "delivered", "session_id": "08DD", "source": "SEND1.LOG",
    ...     "start": pd.Timestamp("2025-03-21 11:05:42", tz="UTC"), "delivered_line": "SEND1.LOG line 40",
    ...     "delivered_at": pd.Timestamp("2025-03-21 11:05:43", tz="UTC"), "replies": ("354 Go", "250 2.6.0 Queued")})
    >>> card = _session(row, "UTC")
    >>> card.time, card.reply, card.source
    ('2025-03-21 11:05:43 UTC', '250 2.6.0 Queued', 'SEND1.LOG, line 40')
    """
    thumb, subject, issuer = (_text(row.get(k)) for k in ("cert_thumbprint", "cert_subject", "cert_issuer"))
    certificate = f"{thumb} {subject}, issued by {issuer}" if thumb else "none logged"
    outcome = _text(row.get("outcome"))
    logged = "delivered" if outcome == "delivered" else "failed"
    line = line_place(row.get("source"), row.get(f"{logged}_line"))
    logged_at = row.get(f"{logged}_at")
    time = (timestamp(logged_at, tz, named=True) if not missing(logged_at)
            else f"{timestamp(row.get('start'), tz, named=True)} (the session's start)")
    reply = (accepting_reply(row.get("replies")) if outcome == "delivered" else None) or _text(row.get("final_reply"))
    return SessionProof(time=time, server=_text(row.get("server")), session_id=_text(row.get("session_id")),
                        certificate=certificate, reply=reply, outcome=outcome,
                        source=f"{_text(row.get('source'))}{f', {line}' if line else ''}")


def accepting_reply(replies: Any) -> str | None:
    """The reply that accepted a message's data, of a session's ``replies`` in order: the first 2xx
    after DATA's go-ahead (354) or after the envelope's replies (2xx 2.1.x, to MAIL and RCPT, before the
    answer to BDAT ... LAST); None when there is none (or no replies).

    >>> accepting_reply(("250 SMTPUTF8", "250 2.1.0 Sender OK", "250 2.1.5 Recipient OK",
    ...                  "250 2.6.0 <a@b> Queued mail for delivery", "221 2.0.0 Service closing transmission channel"))
    '250 2.6.0 <a@b> Queued mail for delivery'
    """
    if missing(replies) or isinstance(replies, str):
        return None
    previous = ""
    for reply in map(str, replies):
        after_envelope = re.match(ENVELOPE_OK, previous) or previous.startswith("354")
        if after_envelope and reply.startswith("2") and not re.match(ENVELOPE_OK, reply):
            return reply
        previous = reply
    return None


def _figures(case: Case, d: Diagnosis, tl: Any, comparison: pd.DataFrame | None, tz: str) -> list[Figure]:
    from exlab import plots

    figures = []
    if tl.onset is not None:
        options = {"certs": comparison, "fix": tl.fix, "tz": tz, "onset": tl.onset, "title": TIMELINE_TITLE}
        figures.append(Figure(options["title"], plots.plot_failures(tl.counts, **options),
                              plots.describe_failures(tl.counts, **options)))
    if comparison is not None and not comparison.empty:
        options = {"selected": d.selected, "at": d.onset, "tz": tz, "title": f"Certificates covering {d.name}"}
        figures.append(Figure(options["title"], plots.plot_issuer_comparison(comparison, **options),
                              plots.describe_issuer_comparison(comparison, **options)))
    if case.sessions is not None and not case.sessions.empty:
        options = {"tz": tz, "title": "SMTP send sessions by presented certificate"}
        figures.append(Figure(options["title"], plots.plot_sessions_by_certificate(case.sessions, **options),
                              plots.describe_sessions_by_certificate(case.sessions, **options)))
    return figures


# -- tables ----------------------------------------------------------------------------------

# the certificates' columns for people (Microsoft 365's trust goes with the issuer class: _certificates_table);
# "server" (the stores a certificate is in) where the frame has it
CERT_COLUMNS = {"thumbprint": "thumbprint", "subject": "subject", "issuer": "issuer", "issuer_class": "issued by",
                "services": "services", "not_before": "valid from", "not_after": "valid to",
                "selected": "presented", "server": "server"}


def issuers_table(comparison: pd.DataFrame, tz: str) -> Table:
    """The leaf certificates covering the name, for people (with the server of each when the
    comparison names it: :func:`with_servers`).

    >>> certs = pd.DataFrame({"thumbprint": ["AA" * 20], "subject": ["CN=mail"], "issuer": ["CN=CA"],
    ...     "issuer_class": ["internal"], "services": [("IIS", "SMTP")], "selected": [True],
    ...     "trusted_by_microsoft365": [False]})
    >>> issuers_table(certs, "UTC").table.values.tolist()
    [['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'CN=mail', 'CN=CA', 'internal', 'IIS, SMTP', 'presented']]

    Whether Microsoft 365 trusts it goes with the issuer class, in one column (a public CA whose
    root it does not trust is said so), to leave the names their room beside the servers:

    >>> issuers_table(certs.assign(issuer_class="public"), "UTC").table["issued by"].tolist()
    ['public, not trusted by Microsoft 365']
    """
    table = _certificates_table(comparison, tz, words={"selected": {True: "presented", False: ""}})
    return Table("Certificates covering the name", table,
                 "Leaf certificates only, newest first; the one the transport presents is marked.",
                 wide=("thumbprint", "subject", "issuer"))


def _certificates_table(certs: pd.DataFrame, tz: str, **options: Any) -> pd.DataFrame:
    """Certificates for people, as both certificate tables show them: Microsoft 365's trust with
    the issuer class in one column, servers by their host name (the verdicts name them in full),
    so that the names keep their room.

    >>> certs = pd.DataFrame({"thumbprint": ["AA" * 20], "issuer_class": ["public"], "trusted_by_microsoft365": [True],
    ...                       "server": ["ex01.contoso.com; EX02"]})
    >>> _certificates_table(certs, "UTC").values.tolist()
    [['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'public, trusted by Microsoft 365', 'ex01; EX02']]
    """
    if "trusted_by_microsoft365" in certs:
        certs = certs.assign(issuer_class=[
            _issued_by(issuer_class, trusted) for issuer_class, trusted
            in zip(certs.get("issuer_class", pd.Series(pd.NA, index=certs.index)), certs["trusted_by_microsoft365"])])
    if "server" in certs:
        certs = certs.assign(server=certs["server"].map(
            lambda text: text if missing(text) else "; ".join(name.split(".")[0] for name in str(text).split("; "))))
    return people_table(certs, CERT_COLUMNS, tz=tz, **options)


def _issued_by(issuer_class: Any, trusted: Any) -> Any:
    """The issuer class, with Microsoft 365's trust where it is not what the class says."""
    if missing(issuer_class) or str(issuer_class) != "public" or missing(trusted):
        return issuer_class
    return "public, trusted by Microsoft 365" if bool(trusted) else "public, not trusted by Microsoft 365"


def with_servers(comparison: pd.DataFrame, certs: pd.DataFrame) -> pd.DataFrame:
    """The issuer comparison with the ``server`` of each certificate (the stores it is in,
    ``; ``-joined), from the certificates frame: by thumbprint and services, as a certificate
    bound differently in two servers' stores is a row each (:mod:`exlab.certs.merge`).

    >>> certs = pd.DataFrame({"thumbprint": ["AA" * 20, "AA" * 20], "services": [("SMTP",), ("IIS",)],
    ...                       "server": ["ex01.contoso.com", "EX02; ex03.contoso.com"]})
    >>> with_servers(certs[["thumbprint", "services"]][::-1], certs)["server"].tolist()
    ['EX02; ex03.contoso.com', 'ex01.contoso.com']
    """
    if "server" not in certs:
        return comparison
    servers = certs.groupby(_binding(certs), sort=False)["server"].agg(
        lambda names: "; ".join(dict.fromkeys(name for text in names.dropna() for name in str(text).split("; "))))
    return comparison.assign(server=_binding(comparison).map(servers))


def _binding(certs: pd.DataFrame) -> pd.Series:
    """A certificate's thumbprint and services, as one key."""
    return certs["thumbprint"].astype(str).str.upper() + " " + certs["services"].map(_text)


def _issuers(case: Case, d: Diagnosis, comparison: pd.DataFrame | None, tz: str) -> Table | None:
    """The certificates covering the name; with the server of each when the case has several servers."""
    if comparison is None or comparison.empty:
        return None
    if len(d.servers) > 1:      # the stores each is in, where they differ between the certificates shown
        placed = with_servers(comparison, case.certs)
        comparison = placed if placed["server"].nunique(dropna=False) > 1 else comparison
    return issuers_table(comparison, tz)


def _chains(case: Case, comparison: pd.DataFrame | None, tz: str) -> Table | None:
    certs = case.certs
    if certs is None or certs.empty:
        return None
    shown = set() if comparison is None else set(comparison["thumbprint"].astype(str).str.upper())
    rest = certs[~certs["thumbprint"].astype(str).str.upper().isin(shown)]
    if rest.empty:
        return None
    return Table("Other certificates: chains, roots and certificates for other names",
                 _certificates_table(rest.sort_values("not_before", kind="stable"), tz),
                 f"{count(len(rest), 'certificate')} in the exports that do not cover the name.",
                 wide=("thumbprint", "subject", "issuer"), interactive=len(rest) > 10)


def _context_table(tl: Any, comparison: pd.DataFrame | None, tz: str) -> Table | None:
    """What happened around the onset: leaf certificates' lifecycle, events, the fix."""
    context = tl.context
    if context.empty:
        return None
    leaves = set() if comparison is None else {f"thumbprint {t}" for t in comparison["thumbprint"].astype(str)}
    is_cert = context["kind"].astype("string").str.startswith("certificate").fillna(False).astype(bool)
    context = context[~is_cert | context["where"].astype("string").isin(leaves).fillna(False).astype(bool)]
    if context.empty:
        return None
    context = context.assign(when=[relative(offset, "the first failure") for offset in context["offset"]])
    columns = {"time": "time", "when": "relative", "kind": "what", "detail": "detail", "source": "file",
               "where": "where"}
    return Table("Around the onset", people_table(context, columns, tz=tz),
                 "The certificates covering the name, transport events and configuration changes, and the moment "
                 "mail flowed again.", wide=("detail", "where"), interactive=len(context) > 10, paths=("file",))


def _finding_tables(d: Diagnosis, tz: str) -> list[Table]:
    columns = {"time": "time", "kind": "kind", "detail": "detail", "source": "file", "where": "where"}
    tables = []
    for finding in d.evidence:
        if finding.evidence.empty:
            continue
        rows = finding.evidence.assign(detail=[times_in_text(text, tz) if isinstance(text, str) else text
                                               for text in finding.evidence["detail"]])
        tables.append(Table(f"Finding ({finding.weight}): {times_in_text(finding.summary, tz)}",
                            people_table(rows, columns, tz=tz), f"{count(int(finding.count), 'record')} behind "
                            "this finding.", wide=("detail", "where"), interactive=len(rows) > 10, paths=("file",)))
    return tables


def _episodes_table(tl: Any, tz: str) -> Table | None:
    if tl.episodes.empty:
        return None
    columns = {"episode": "episode", "onset": "first failure", "end": "last failure", "duration": "lasted",
               "failures": "failures", "connectors": "send connectors", "servers": "servers"}
    return Table("Episodes of failures", people_table(tl.episodes, columns, tz=tz, counts=("failures",)),
                 f"Failures separated by more than {duration(tl.gap)} of quiet are separate episodes.")


def inputs_table(case: Case) -> Table:
    """Every input with its SHA-256 and what was read from it, in file order (a row per reader of a file that
    several read: a PowerShell transcript); then the files
    of the folder no reader took, hashed too, with why they were not read. A trust anchors file
    given from outside the case (named by its name alone) is said to be outside.

    >>> from types import SimpleNamespace
    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport()
    >>> _ = report.add_file("events/App.evtx", sha256="ab" * 32, format="evtx", engine="evtx")
    >>> _ = report.add_file("root.pem", sha256="cd" * 32, format="extra trust anchors (PEM), given by the caller")
    >>> unread = pd.DataFrame({"file": ["root.pem"], "reason": ["trust anchors named by exlab-case.toml, not used"]})
    >>> made = inputs_table(SimpleNamespace(reports=report, unread=unread, folder="/c", roots="/elsewhere/root.pem"))
    >>> made.table[["file", "format"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['events/App.evtx', 'evtx'], ['root.pem (outside the case)', 'extra trust anchors (PEM), given by the caller'],
     ['root.pem', 'not read: trust anchors named by exlab-case.toml, not used']]
    >>> made.note
    '3 files: 2 read, 1 not read (the format says why). The investigation can be repeated from the 2 files read.'
    """
    frame = case.reports.to_frame().sort_values("file", kind="stable")
    outside = _given_outside(case)
    frame["file"] = [f"{name} (outside the case)" if name in outside else name for name in frame["file"]]
    read = frame["file"].nunique()        # a file several readers read (a transcript) has a row per reader
    unread = pd.DataFrame({"file": case.unread["file"], "sha256": [_sha256(case.folder, f) for f in case.unread["file"]],
                           "format": [f"not read: {reason}" for reason in case.unread["reason"]]})
    frame = pd.concat([frame, unread], ignore_index=True) if len(unread) else frame
    columns = {"file": "file", "sha256": "SHA-256", "format": "format", "records_read": "records read",
               "records_skipped": "records skipped", "chunks_skipped": "chunks skipped",
               "values_nulled": "values read as empty", "warnings": "warnings", "accounting": "record account"}
    counts = ("records_read", "records_skipped", "chunks_skipped", "values_nulled", "warnings")
    note = (f"{count(read + len(unread), 'file')}: {read:,} read, {len(unread):,} not read (the format says why). The "
            f"investigation can be repeated from the {count(read, 'file')} read." if len(unread) else
            f"{count(read, 'file')}, all read. The investigation can be repeated from these files alone.")
    return Table(INPUTS_TITLE, people_table(frame, columns, counts=counts), note,
                 wide=("SHA-256", "format", "record account"), interactive=len(frame) > 10, paths=("file",))


def _given_outside(case: Case) -> set[str]:
    """The names of the trust anchors files given from outside the case folder (``case.roots``):
    the case names such a file by its name alone (``exlab.case.case_own_files``)."""
    from exlab.case import case_relative

    roots = case.roots if isinstance(case.roots, (list, tuple)) else [case.roots]
    paths = [str(root) for root in roots if isinstance(root, (str, Path))]
    return {Path(path).name for path in paths if case_relative(path, Path(case.folder)) == path}


def _sha256(folder: str | Path, name: str) -> str | None:
    """The SHA-256 of a file of the case no reader took (None for a zip member or a file gone)."""
    from exlab.evidence import open_evidence

    path = Path(folder) / name
    if not path.is_file():
        return None
    evidence = open_evidence(path)
    evidence.close()
    return evidence.sha256


def _inventory_table(case: Case) -> Table:
    columns = {"evidence": "evidence", "status": "status", "files": "files", "rows": "rows", "servers": "servers",
               "why": "why", "file": "file"}
    return Table("What the case holds and lacks", people_table(case.inventory(), columns, counts=("files", "rows")),
                 "Per kind of evidence: found, missing or unusable, and why; then the files not used.",
                 wide=("evidence", "why"), paths=("file",))


def _tracking_table(case: Case, tz: str) -> Table | None:
    tracking = case.tracking
    if tracking is None or tracking.empty:
        return None
    affected = tracking[tracking["event_id"].astype("string").isin(["DEFER", "FAIL"]).fillna(False).astype(bool)]
    if affected.empty:
        return None
    columns = {"time": "time", "event_id": "event", "message_id": "message", "recipient_address": "recipients",
               "server": "server", "source": "file", "line": "line"}
    return Table("Messages held or refused (message tracking)", people_table(affected, columns, tz=tz),
                 f"{count(int(affected['message_id'].nunique()), 'message')} deferred or failed, "
                 f"{count(len(affected), 'tracking row')}.", wide=("message", "recipients"), paths=("file",),
                 interactive=len(affected) > 10)


def _queues_table(case: Case, tz: str) -> Table | None:
    queues = case.queues
    if queues is None or queues.empty:
        return None
    columns = {"identity": "queue", "next_hop": "next hop (connector)", "status": "status", "message_count": "messages",
               "led": "last error", "last_error_time": "last retry", "first_retry_time": "retrying since"}
    hop = queues["next_hop_domain"].astype("string")
    connector = queues["connector"].astype("string") if "connector" in queues else pd.Series(pd.NA, index=queues.index)
    shown = queues.assign(next_hop=(hop + " (" + connector + ")").fillna(hop))   # the queue (EX01\3) names its server
    erring = int(queues["led"].notna().sum()) if "led" in queues else 0
    files = ", ".join(sorted(queues["source"].dropna().unique())) if "source" in queues else ""
    return Table("Transport queues (Get-Queue)", people_table(shown, columns, tz=tz, counts=("message_count",)),
                 f"{count(len(queues), 'queue')} as Get-Queue showed them when it ran ({files}), {erring:,} with a "
                 "last error (the answer to its last delivery attempt).", wide=("next hop (connector)", "last error"),
                 interactive=len(queues) > 10)


def folder_remover(folder: str | Path) -> Callable[[str], str]:
    """A function that takes the case folder's path (as given and resolved, resolved once)
    out of the file names a text quotes: a report carries no path of the engineer's machine.

    >>> folder_remover("/cases/c1")("also in /cases/c1/certs/a.xml, see /cases/c1")
    'also in certs/a.xml, see .'

    A path that only begins like the folder's is another file, and keeps its name:

    >>> folder_remover("/cases/c1")("roots from /cases/c1-roots.pem, zipped in /cases/c1.zip, not in /cases/c1.")
    'roots from /cases/c1-roots.pem, zipped in /cases/c1.zip, not in ..'
    """
    paths = sorted({str(Path(folder)), str(Path(folder).resolve())}, key=len, reverse=True)
    # the folder, then a separator (dropped with it) or a character no name goes on with
    quoted = re.compile("(?:" + "|".join(map(re.escape, paths)) + r")(?:[/\\]|(?![\w\-]|\.\w))")

    def remove(text: str) -> str:
        return quoted.sub(lambda match: "" if match[0][-1] in "/\\" else ".", text)

    return remove


def warnings_in_words(case: Case) -> list[str]:
    """Every warning of every input, once, each naming its file (relative to the case
    folder: no path of the engineer's machine).

    >>> from types import SimpleNamespace
    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport()
    >>> report.add_file("certs/fl.txt", sha256="", format="exchange-fl").note("also in /cases/c1/certs/a.xml")
    >>> warnings_in_words(SimpleNamespace(reports=report, folder="/cases/c1"))
    ['certs/fl.txt, also in certs/a.xml']
    """
    remove = folder_remover(case.folder)
    return list(dict.fromkeys(f"{f.file}, {remove(text)}" for f in case.reports.files for text in f.warnings))


def provenance(case: Case, *, now: datetime | None = None) -> str:
    """One line: what made this report, when, and from how many inputs of which case (or
    evidence store of ``exlab fleet ingest``).

    >>> from types import SimpleNamespace
    >>> from exlab.parse_report import ParseReport
    >>> unread = pd.DataFrame({"file": ["truth.json"], "reason": ["not evidence"]})
    >>> provenance(SimpleNamespace(folder="/x/contoso", reports=ParseReport(), unread=unread),
    ...            now=datetime(2025, 3, 21, 12, 0, tzinfo=UTC)).split(" UTC ")[1]
    'from 0 input files read of case contoso (1 file not read, listed).'
    """
    from exlab.fleet.store import is_store

    now = now or datetime.now(UTC)
    what = "evidence store" if is_store(case.folder) else "case"
    unread = f" ({count(len(case.unread), 'file')} not read, listed)" if len(case.unread) else ""
    return (f"Made by exlab {__version__} on {now:%Y-%m-%d %H:%M:%S} UTC from "
            f"{count(len(case.reports.files), 'input file')} read of {what} {text_name(Path(case.folder).name)}{unread}.")


# -- the whole report -------------------------------------------------------------------------

def build_report(case: Case, *, now: datetime | None = None) -> Report:
    """The report of ``case``: its diagnosis, proof and details, decided once.

    >>> import tempfile, pathlib, exlab
    >>> from exlab.lab.cases import case as lab_case
    >>> from exlab.lab.generate import generate_case, ROOTS_FILE
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     made = generate_case(lab_case("contoso-kb2888788"), pathlib.Path(folder), events=40)
    ...     report = build_report(exlab.open_case(made.folder, roots=pathlib.Path(folder) / ROOTS_FILE,
    ...                                           tz="Europe/Warsaw"))
    >>> report.verdict, report.culprit.issuer_class, report.fix[0].command[:17]
    ('confirmed', 'internal', 'Set-SendConnector')
    """
    tz = zone_name(case.tz)
    d = case.diagnose()
    tl = case.timeline(tz=tz)
    comparison = _comparison(case, d)
    verdicts = server_verdicts(d.servers)
    affected = [v.server for v in verdicts if v.failures] or ([d.server] if d.server and d.failures else [])
    window = _window(d, tz, flowing_since(tl.recoveries, d.connector), affected)
    zones = case.zone_notes()
    checked, unchecked, collect = _checked(case, d)
    details = [t for t in (_episodes_table(tl, tz), _context_table(tl, comparison, tz)) if t is not None]
    details += _finding_tables(d, tz)
    details += [t for t in (_tracking_table(case, tz), _queues_table(case, tz), _inventory_table(case),
                            inputs_table(case)) if t is not None]
    report = Report(
        case=text_name(Path(case.folder).name), tz=tz, made=provenance(case, now=now), verdict=d.verdict,
        title=verdict_words(d), summary=_summary(d, affected, d.connector),
        strength=strength_words(d), servers=verdicts,
        culprit=_culprit(case, d, comparison, tz), connector=d.connector, affected=affected, window=window,
        fix=fix_steps(d), put_back=put_back(d), verify=verification(d, d.public, _next_hops(case, d)), collect=collect,
        checked=checked,
        not_checked=unchecked,
        figures=_figures(case, d, tl, comparison, tz),
        issuers=_issuers(case, d, comparison, tz),
        chains=_chains(case, comparison, tz), sessions=_sessions(case, d, tl, tz), details=details,
        warnings=warnings_in_words(case), notes=[times_in_text(note, tz) for note in d.notes if note not in zones],
        presented=_presented(case, d, tz), trust=case.extra_trust(), times=[times_in_text(note, tz) for note in zones],
    )
    return _without_folder(report, case.folder)


def _without_folder(report: Report, folder: str | Path) -> Report:
    """The report with the case folder's path taken out of every text that may quote it
    (readers' refusals in the inventory, warnings, notes)."""
    remove = folder_remover(folder)

    def clean(table: Table | None) -> Table | None:
        if table is None:
            return None
        return replace(table, table=table.table.map(remove).astype("string"))

    return replace(report, checked=[remove(t) for t in report.checked],
                   not_checked=[remove(t) for t in report.not_checked],
                   notes=[remove(t) for t in report.notes], times=[remove(t) for t in report.times],
                   issuers=clean(report.issuers), chains=clean(report.chains),
                   details=[clean(table) for table in report.details])

