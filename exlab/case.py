"""One evidence folder, read and tied together: ``case = exlab.open_case("evidence/")``.

:func:`open_case` walks the folder (sub-folders too), recognises each file by its
content (never its name), reads every kind with its reader, and keeps one parse report
over all files. Files no reader knows are listed in ``case.unread`` with the reason;
``truth.json`` (a lab case's answer) is never read. What the evidence did not say but
the case needed (the server's FQDN, the send connector) is inferred and listed in
``case.inferred``. Every frame carries the ``server`` each row came from
(:mod:`exlab.attribution`); ``case.inventory()`` says per kind of evidence what was found,
missing or unusable, and ``case.diagnose_servers()`` answers per server.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "notes.txt").write_text("nothing exlab reads")
>>> try:
...     open_case(folder)
... except EvidenceNotFound as err:
...     print(str(err).split(":")[0].endswith("holds nothing exlab reads"))
True
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from exlab.analysis.diagnose import (
    Diagnosis,
    conclude,
    cut_sources_note,
    failures_elsewhere,
    judge_server,
    prepare,
    proxied_sources_note,
    sends_through,
    server_table,
)
from exlab.analysis.infer import (
    connector_row,
    infer_connector,
    infer_judgement_time,
    infer_server_fqdn,
    proxies_through_frontend,
)
from exlab.analysis.timeline import (
    DEFAULT_GAP,
    Timeline,
    build_timeline,
    failure_points,
)
from exlab.attribution import (
    SERVER_EVIDENCE,
    attribute_servers,
    case_names,
    evidence_servers,
    exchange_servers,
    front_end_only_hosts,
    rows_of,
    source_files,
)
from exlab.bundle import Member, bundle_members, is_bundle
from exlab.default_tables import default_table
from exlab.errors import (
    EvidenceNotFound,
    ExlabError,
    ExlabWarning,
    NoEvidence,
    UnsupportedFormat,
)
from exlab.evidence import (
    SPECIAL_FILE,
    Evidence,
    add_bundles,
    open_evidence,
    peek_evidence,
    progress_over,
    sha256_of,
    text_name,
    walk,
)
from exlab.inventory import case_inventory, lacking
from exlab.parse_report import ParseReport, warn_at, warnings_once
from exlab.settings import SETTINGS_FILE, CaseSettings, read_settings, setting_problem, with_given
from exlab.transcript import output_texts, session_text
from exlab.transport.protocol_log import send_sessions
from exlab.transport.settings import head_text

log = logging.getLogger(__name__)

#: Files of a case folder that are not evidence, with why (listed in ``unread``); None: the
#: case's settings (:mod:`exlab.settings`), read by ``open_case`` itself and not listed.
SKIPPED_NAMES = {"truth.json": "the lab case's answer, not evidence", SETTINGS_FILE: None}

#: How the reports name the files that steer a case without being evidence (:func:`case_own_files`).
CASE_SETTINGS = "case settings"
TRUST_ANCHORS = "extra trust anchors (PEM)"


def evidence_files(reports: ParseReport) -> list:
    """The reports' files that are evidence: not the case's settings or trust anchors; a file several
    readers read (a PowerShell transcript or console copy of several commands) once, as its first reader reported it.

    >>> report = ParseReport()
    >>> _ = report.add_file("exlab-case.toml", sha256="", format=CASE_SETTINGS)
    >>> _ = report.add_file("App.evtx", sha256="", format="evtx")
    >>> _ = report.add_file("App.evtx", sha256="", format="evtx")
    >>> [f.file for f in evidence_files(report)]
    ['App.evtx']
    """
    files: dict[str, Any] = {}
    for f in reports.files:
        if not f.format.startswith((CASE_SETTINGS, TRUST_ANCHORS)):
            files.setdefault(f.file, f)
    return list(files.values())


@dataclass(frozen=True)
class EvidenceKind:
    """One kind of evidence: how to recognise a file of it, and the reader of all such files."""

    name: str            # the Case attribute it fills
    label: str           # what an engineer calls it
    detect: Callable[[Evidence], bool]
    read: Callable[[list[Path], str | None, str | None], pd.DataFrame]   # paths, tz, culture


def _accepts(detector: Callable[[Evidence], Any]) -> Callable[[Evidence], bool]:
    """A format detector that raises UnsupportedFormat, as a yes/no test."""
    def test(evidence: Evidence) -> bool:
        try:
            detector(evidence)
        except UnsupportedFormat:
            return False
        return True
    return test


def _head_test(detector: Callable[[bytes], bool]) -> Callable[[Evidence], bool]:
    return lambda evidence: bool(detector(evidence.head(64 * 1024)))


def evidence_kinds() -> tuple[EvidenceKind, ...]:
    """The kinds exlab reads, in the order files are tested (the most specific first).

    >>> [kind.name for kind in evidence_kinds()]
    ['sessions', 'tracking', 'queues', 'events', 'certs', 'connectors', 'receive_connectors', 'servers']
    """
    from exlab.certs import reader as certs
    from exlab.events import reader as events
    from exlab.transport import protocol_log, queue_export, settings, tracking_export, tracking_log

    return (
        EvidenceKind("sessions", "SMTP send protocol logs and SMTP receive protocol logs",
                     _head_test(protocol_log.detect_protocol_log),
                     lambda paths, tz, culture: protocol_log.read_protocol_log(paths, failure_times=True)),
        EvidenceKind("tracking", "message tracking logs (or Get-MessageTrackingLog: fl, Export-Clixml, JSON, "
                     "Export-Csv)", _head_test(lambda head: tracking_log.detect_tracking_log(head)
                                               or tracking_export.detect_tracking_export(head)),
                     lambda paths, tz, culture: tracking_export.read_message_tracking(paths, tz=tz, culture=culture)),
        EvidenceKind("queues", "queues (Get-Queue: fl, Export-Clixml, JSON, Export-Csv)",
                     _head_test(queue_export.detect_queue_export),
                     lambda paths, tz, culture: queue_export.read_queues(paths, tz=tz, culture=culture)),
        EvidenceKind("events", "event logs (.evtx, Event Viewer XML/CSV/TXT, Get-EventLog | Export-Clixml, "
                     "Get-WinEvent | Export-Clixml/Export-Csv/ConvertTo-Json, Get-WinEvent or Get-EventLog | fl)",
                     _accepts(events.detect_format),
                     lambda paths, tz, culture: events.read_events(paths, tz=tz, culture=culture)),
        EvidenceKind("certs", "certificates (.cer/.pem/.p7b/.pfx, Get-ExchangeCertificate exports)",
                     _accepts(certs.detect_format),
                     lambda paths, tz, culture: certs.read_certs(paths, tz=tz, culture=culture)),
        EvidenceKind("connectors", "send connector settings (Get-SendConnector: fl, Export-Clixml, JSON, Export-Csv)",
                     _head_test(settings.detect_connectors),
                     lambda paths, tz, culture: settings.read_connectors(paths)),
        EvidenceKind("receive_connectors", "receive connector settings (Get-ReceiveConnector: fl, Export-Clixml, "
                     "JSON)", _head_test(settings.detect_receive_connectors),
                     lambda paths, tz, culture: settings.read_receive_connectors(paths)),
        EvidenceKind("servers", "server settings (Get-ExchangeServer: fl, Export-Clixml, JSON)",
                     _head_test(settings.detect_servers), lambda paths, tz, culture: settings.read_servers(paths)),
    )


def what_exlab_reads() -> str:
    """The kinds of evidence exlab reads, for messages.

    >>> "message tracking logs" in what_exlab_reads()
    True
    """
    return "; ".join(kind.label for kind in evidence_kinds())


@dataclass
class Case:
    """An evidence folder read into frames. Kinds absent from the folder are None;
    ``failures``, worked out from the events, is always a frame (no rows without events).

    ``reports`` is one ParseReport over every file read; ``unread`` lists the files no
    reader took, with why; ``inferred`` says what was inferred, and from what; ``settings``
    what it was opened with, and where each value came from (``exlab-case.toml`` or given:
    :mod:`exlab.settings`).
    """

    folder: Path
    frames: dict[str, pd.DataFrame]
    reports: ParseReport
    unread: pd.DataFrame
    server_fqdn: str | None = None
    connector: str | None = None
    roots: Any = None
    tz: str | None = None
    inferred: dict[str, str] = field(default_factory=dict)
    settings: CaseSettings = field(default_factory=CaseSettings)
    _failures: pd.DataFrame | None = field(default=None, repr=False)
    _misread: list[tuple[str, str, pd.Timedelta, pd.Timestamp]] = field(default_factory=list, repr=False)
    _points: pd.DataFrame | None = field(default=None, repr=False)
    _inventory: pd.DataFrame | None = field(default=None, repr=False)
    _prepared: list[tuple[dict[str, Any], tuple[Any, ...]]] = field(default_factory=list, repr=False)
    _certs: pd.DataFrame | None = field(default=None, repr=False)
    _diagnoses: dict[Any, Any] = field(default_factory=dict, repr=False)   # Diagnosis, or a list per server

    @property
    def events(self) -> pd.DataFrame | None:
        """The events frame (all event exports of the folder)."""
        return self.frames.get("events")

    @property
    def certs(self) -> pd.DataFrame | None:
        """The certificates frame with the trust columns (``judge_trust`` with ``roots``),
        judged as they were at :attr:`judged_at`."""
        if self._certs is None and self.frames.get("certs") is not None:
            from exlab.certs.trust import judge_trust
            self._certs = judge_trust(self.frames["certs"], roots=self.roots, at=self.judged_at)
        return self._certs

    @property
    def judged_at(self) -> pd.Timestamp | None:
        """When certificates are judged: the last failure, else the last record of the evidence."""
        when = infer_judgement_time(self._all_points(), events=self.events, sessions=self.sessions,
                                    tracking=self.tracking)[0]
        return None if when is None else when.floor("us")   # certificate code works in datetime (microseconds)

    @property
    def failures(self) -> pd.DataFrame:
        """The failures frame (``tls_failures`` of the events): no rows, with its columns, when
        the events show no failed delivery or the folder holds no event export (``events`` None). The failures
        of an export read in the wrong zone (:meth:`zone_notes`) are left out: its server's protocol log
        gives their times (the timeline and the diagnosis take them from there)."""
        if self._failures is None:
            from exlab.analysis.clocks import zone_shifts
            from exlab.events.schema import empty_events_frame
            from exlab.transport import tls_failures
            failures = tls_failures(self.events if self.events is not None else empty_events_frame())
            zones = {f.file for f in self.reports.files if f.assumed_tz}
            if zones and not failures.empty and self.sessions is not None:
                points = failure_points(failures=failures, sessions=send_sessions(self.sessions),
                                        tracking=self.tracking, queues=self.queues, prefer=False)
                self._misread = zone_shifts(points, zones)
                if not self._misread:
                    self._points = points        # those of every failure kept: _all_points' own
            self._failures = self._without_misread(failures)
        return self._failures

    def _failures_of(self, events: pd.DataFrame | None) -> pd.DataFrame | None:
        """:attr:`failures` when ``events`` are all the case's events (worked out once, not per diagnosis);
        for some of them, their failures less those of an export read in the wrong zone, if any; else None
        (``diagnose`` works them out from the rows it is given)."""
        if events is None or events.empty:
            return None
        if events is self.events:
            return self.failures
        from exlab.transport import tls_failures
        return self._without_misread(tls_failures(events)) if self.failures is not None and self._misread else None

    def _without_misread(self, failures: pd.DataFrame) -> pd.DataFrame:
        """``failures`` less the rows of the exports read in the wrong zone (:meth:`zone_notes`)."""
        misread = [file for _, file, _, _ in self._misread]
        if not misread or failures.empty:
            return failures
        kept = failures[~failures["source"].isin(misread).to_numpy()].reset_index(drop=True)
        kept.attrs = failures.attrs
        return kept

    def _all_points(self) -> pd.DataFrame:
        """Every failure point of the case (``failure_points(prefer=False)`` of :attr:`failures`, the send
        sessions, the tracking rows and the queues), worked out once: the judgement time and each diagnosis of
        all the case's rows share it (:attr:`failures` may have found them on its way)."""
        failures = self.failures
        if self._points is None:
            self._points = failure_points(failures=failures, sessions=send_sessions(self.sessions),
                                          tracking=self.tracking, queues=self.queues, prefer=False)
        return self._points

    def _points_of(self, frames: dict[str, pd.DataFrame | None]) -> pd.DataFrame | None:
        """:meth:`_all_points` when ``frames`` are all the case's events, sessions, tracking rows and queues,
        else None (``diagnose`` works them out from the rows it is given)."""
        own = all(frames[kind] is self.frames.get(kind) for kind in ("events", "sessions", "tracking", "queues"))
        return self._all_points() if own else None

    @property
    def sessions(self) -> pd.DataFrame | None:
        """The SMTP send sessions."""
        return self.frames.get("sessions")

    @property
    def tracking(self) -> pd.DataFrame | None:
        """The message tracking rows."""
        return self.frames.get("tracking")

    @property
    def queues(self) -> pd.DataFrame | None:
        """The transport queues (Get-Queue), each with its last error."""
        return self.frames.get("queues")

    @property
    def connectors(self) -> pd.DataFrame | None:
        """The send connectors (Get-SendConnector)."""
        return self.frames.get("connectors")

    @property
    def receive_connectors(self) -> pd.DataFrame | None:
        """The receive connectors (Get-ReceiveConnector)."""
        return self.frames.get("receive_connectors")

    @property
    def servers(self) -> pd.DataFrame | None:
        """The servers (Get-ExchangeServer)."""
        return self.frames.get("servers")

    def timeline(self, *, bucket: str = "1h", gap: str | pd.Timedelta = DEFAULT_GAP,
                 tz: str | None = None) -> Timeline:
        """The outage's timeline (see ``exlab.analysis.timeline``), in ``tz`` or the case's zone."""
        return build_timeline(failures=self.failures, sessions=self.sessions, tracking=self.tracking,
                              queues=self.queues, events=self.events, certs=self.certs, bucket=bucket, gap=gap,
                              tz=tz or self.tz)

    def compare_issuers(self, name: str | None = None) -> pd.DataFrame:
        """The certificates covering ``name`` (default: the connector's Fqdn, else the server's),
        newest first, with issuer class and the one the transport selects (``exlab.certs.compare``)."""
        from exlab.certs.compare import compare_issuers
        if self.certs is None:
            raise EvidenceNotFound(str(self.folder), expected="a certificate export to compare issuers")
        connector = connector_row(self.connectors, self.connector) if self.connector else {}
        name = name or connector.get("fqdn") or self.server_fqdn
        if not name:
            raise EvidenceNotFound(str(self.folder), expected="the server's FQDN (pass server_fqdn=)")
        return compare_issuers(self.certs, name, roots=self.roots, at=self.judged_at,
                               connector_fqdn=connector.get("fqdn"),
                               tls_certificate_name=connector.get("tls_certificate_name"))

    def diagnose(self, *, at: Any = None) -> Diagnosis:
        """The diagnosis of this case (``exlab.diagnose`` on its frames); computed once per ``at``.

        In a case of several servers it weighs the evidence of the servers that fail (else of
        the connector's source servers; when one server fails, the answer is about it and its
        commands name it), and ``servers`` holds one answer per server (:meth:`diagnose_servers`)."""
        if at in self._diagnoses:
            return self._diagnoses[at]
        per_server = self.diagnose_servers(at=at)
        failing = [d.server for d in per_server if d.failures]
        senders = [d.server for d in per_server if d.sends]
        chosen = failing or senders if len(per_server) > 1 else []     # one answer per server of server_list()
        frames = {kind: rows_of(self.frames.get(kind), chosen, unattributed=True) if chosen else self.frames.get(kind)
                  for kind in SERVER_EVIDENCE}
        certs = rows_of(self.certs, chosen, unattributed=True) if chosen else self.certs
        result = self._diagnosis(events=frames["events"], certs=certs, sessions=frames["sessions"],
                                 tracking=frames["tracking"], queues=frames["queues"], server_fqdn=self.server_fqdn,
                                 at=at, lacking=lacking(self.inventory()),
                                 server=failing[0] if len(chosen) == len(failing) == 1 else None)
        if len(per_server) == 1 and per_server[0].cause is None and result.cause is not None:
            result = _as_judged(result, per_server[0])    # the connector took the cause away: say so here too
        cut = self._cut_sources()
        proxied = proxies_through_frontend(self.connectors, self.connector) and self._sources()
        outside = [d.server for d in per_server if d.sends is None] if proxied else []
        result.notes = list(dict.fromkeys([*self.inferred.values(), *self._other_computers(), *self.zone_notes(),
                                           *result.notes,
                                           *self._pin_reach(result, at, per_server),
                                           *([cut_sources_note(self.connector, cut)] if cut is not None else []),
                                           *([proxied_sources_note(self.connector, outside)] if outside else [])]))
        if chosen and len(chosen) < len(per_server):
            result.notes.append(f"the case's verdict weighs the evidence of {', '.join(chosen)} "
                                f"({'the servers that fail' if failing else 'the source servers of the connector'})")
        result.servers = per_server
        self._diagnoses[at] = result
        return result

    def _diagnosis(self, *, events: pd.DataFrame | None, certs: pd.DataFrame | None, sessions: pd.DataFrame | None,
                   tracking: pd.DataFrame | None, queues: pd.DataFrame | None, server_fqdn: str | None, at: Any,
                   server: str | None, lacking: Collection[str] | None = None) -> Diagnosis:
        """``exlab.diagnose`` of these rows with the case's settings, its facts prepared and its rules
        run once per distinct input: a case of one server asks for that server's answer and for the
        case's, from the same frames (the same objects: ``rows_of`` keeps a frame whole). Every
        server's certificates are its peers: a public certificate these rows lack may be copied from one."""
        inputs = {"events": events, "certs": certs, "sessions": sessions, "tracking": tracking, "queues": queues,
                  "connectors": self.connectors, "servers": self.servers, "server_fqdn": server_fqdn,
                  "connector": self.connector, "roots": self.roots, "at": at,
                  "receive_connectors": self.receive_connectors}
        for given, (facts, fqdn, notes, findings) in self._prepared:
            if all(_same(given[name], value) for name, value in inputs.items()):
                return conclude(facts, server_fqdn=fqdn, notes=notes, server=server, lacking=lacking,
                                findings=list(findings), peers=self.certs)
        frames = {"events": events, "sessions": sessions, "tracking": tracking, "queues": queues}
        facts, fqdn, notes = prepare(**inputs, failures=self._failures_of(events), points=self._points_of(frames))
        d = conclude(facts, server_fqdn=fqdn, notes=notes, server=server, lacking=lacking, peers=self.certs)
        self._prepared.append((inputs, (facts, fqdn, notes, list(d.evidence))))
        return d

    def _pin_reach(self, d: Diagnosis, at: Any, per_server: Sequence[Diagnosis]) -> list[str]:
        """A note when the fix pins a public certificate on a connector that other servers present for (its
        source servers, or with FrontendProxyEnabled its Front End servers, :meth:`_front_ends`) and their
        certificates do not show it (:func:`exlab.analysis.pin.pin_reach`). ``per_server``: the servers' answers."""
        from exlab.analysis.pin import pin_reach

        pins = any(step.command and " -TlsCertificateName " in step.command
                   for step in [*d.remediation, *(step for s in per_server for step in s.remediation)])
        if not (pins and d.public) or self.certs is None:
            return []
        public = self.certs[self.certs["thumbprint"].astype("string").str.upper() == d.public]
        if public.empty:
            return []
        row = public.iloc[0]
        proxied = proxies_through_frontend(self.connectors, self.connector)
        holders = self._front_ends(per_server) if proxied else sorted(self._sources())
        note = pin_reach((str(row["issuer"]), str(row["subject"])), self.certs, holders,
                         connector=d.connector, at=at if at is not None else d.end, proxied=proxied)
        return [note] if note else []

    def _front_ends(self, per_server: Sequence[Diagnosis]) -> list[str]:
        """The servers whose Front End Transport service connects to Exchange Online for the case's connector when
        it has FrontendProxyEnabled: those the evidence shows failing for it outside its source servers, and the
        Client Access servers Get-ExchangeServer shows (Exchange 2013); and the source servers themselves unless it
        shows Client Access servers (since Exchange 2016 each runs a Front End Transport service of its own)."""
        names = case_names(self.frames, self.server_fqdn)
        client_access = {names.key(host) for host in front_end_only_hosts(self.frames.get("servers"))} - {None}
        failing = {d.server for d in per_server if d.sends is None and d.failures and d.server}
        return sorted(failing | client_access | (set() if client_access else self._sources()))

    def server_list(self) -> list[str]:
        """The servers of the case: those the evidence shows to be Exchange servers
        (:func:`exlab.attribution.exchange_servers`), and the source transport servers of the send
        connector (FQDN where the evidence gives it), sorted. The other computers an event export
        names are not (:meth:`_other_computers`): they get no verdict, however many there are."""
        return sorted(set(exchange_servers(self.frames)) | self._sources())

    def _other_computers(self) -> list[str]:
        """The note on the computers some event export names that are not servers of the case, if any."""
        servers = set(self.server_list())
        note = other_computers_note([name for name in evidence_servers(self.frames) if name not in servers])
        return [note] if note else []

    def zone_notes(self) -> list[str]:
        """A note for each event export whose failures match its server's protocol log (UTC) only when moved
        by whole or quarter hours (:func:`exlab.analysis.clocks.zone_shifts`): read in the wrong zone, its
        times are off by that much, so its failures are left out of :attr:`failures` and the server's protocol
        log times them."""
        from exlab.analysis.clocks import shift_words, written_offset

        if self._failures is None:
            self.failures       # finds the exports read in the wrong zone
        zones = {f.file: f.assumed_tz for f in self.reports.files if f.assumed_tz}
        return [f"{file} was read in {zones[file]}, but its failures match {server}'s SMTP send protocol log (UTC) "
                f"only {shift_words(shift)}: its local times were written at {written_offset(zones[file], shift, at)}, "
                f"so the protocol log times {server}'s failures here. Pass that server's zone (--server-tz "
                f"{server}=ZONE, or server_tz in {SETTINGS_FILE}) to read the export right"
                for server, file, shift, at in self._misread]

    def _sources(self) -> set[str]:
        """The source transport servers of the case's connector, as the case spells them."""
        if not self.connector:
            return set()
        names = case_names(self.frames, self.server_fqdn)
        listed = connector_row(self.connectors, self.connector).get("source_transport_servers")
        return {names.key(n) for n in (listed if isinstance(listed, tuple) else ())} - {None}

    def _cut_sources(self) -> tuple[str, ...] | None:
        """The SourceTransportServers the export of the case's connector shows when Format-List cut
        the list (``{EX01, EX02, EX03, EX04...}``: a server they do not name may send through it too),
        as exported; None when the list is whole or unknown."""
        if not self.connector:
            return None
        row = connector_row(self.connectors, self.connector)
        if row.get("source_transport_servers_cut") is not True:
            return None
        listed = row.get("source_transport_servers")
        return tuple(listed) if isinstance(listed, tuple) else ()

    def diagnose_servers(self, *, at: Any = None) -> list[Diagnosis]:
        """One diagnosis per server (:meth:`server_list`), each from that server's rows only,
        checked against the connector's SourceTransportServers: a server without failures
        gets no fix and says why (``judge_server``); one a cut list of them does not name is
        not known to send or not (``sends_through``), and says so."""
        key = ("servers", at)
        if key in self._diagnoses:
            return self._diagnoses[key]
        sources, cut = self._sources(), self._cut_sources()
        proxied = proxies_through_frontend(self.connectors, self.connector)
        servers = self.server_list()
        answers = []
        for server in servers:
            frames = {kind: rows_of(self.frames.get(kind), [server]) for kind in SERVER_EVIDENCE}
            d = self._diagnosis(events=frames["events"], certs=rows_of(self.certs, [server]),
                                sessions=frames["sessions"], tracking=frames["tracking"], queues=frames["queues"],
                                server_fqdn=server, at=at,
                                server=server if len(servers) > 1 else None)
            d.server = server
            watched = any(frames[kind] is not None for kind in ("events", "sessions", "tracking"))
            elsewhere = failures_elsewhere(events=frames["events"], sessions=frames["sessions"],
                                           tracking=frames["tracking"], queues=frames["queues"],
                                           connector=d.connector) if not d.failures else {}
            sends = sends_through(server, sources, cut=cut is not None, proxied=proxied)
            answer = judge_server(d, sends=sends, watched=watched, elsewhere=elsewhere)
            if sends is None and proxied and sources:
                answer.notes = [*answer.notes, proxied_sources_note(d.connector or self.connector, [server])]
            elif cut is not None and sends is None:
                answer.notes = [*answer.notes, cut_sources_note(d.connector or self.connector, cut)]
            answers.append(answer)
        self._diagnoses[key] = answers
        return answers

    def extra_trust(self) -> str | None:
        """What every trust judgement of the case rests on besides Microsoft's root program: the
        extra trust anchors (``roots``), by name, with the file they came from and who named it
        (its SHA-256 is in the reports), or None: Microsoft's program alone.

        >>> Case(Path("c"), {}, ParseReport(), pd.DataFrame()).extra_trust() is None
        True
        """
        from exlab.certs.anchors import USER, TrustAnchors

        if self.roots is None:
            return None
        names = [anchor.subject for anchor in TrustAnchors.resolve(self.roots).anchors if USER in anchor.origins]
        if not names:
            return None
        files = [f for f in self.reports.files if f.format.startswith(TRUST_ANCHORS)]
        source = "; ".join(f"{f.file} ({f.format.split(', ', 1)[-1]})" for f in files)
        return f"{'; '.join(names)}, from {source or 'the caller'}"

    def inventory(self) -> pd.DataFrame:
        """The evidence inventory (``exlab.inventory``): per kind found / missing / unusable and
        why, then the files not used and why. The diagnosis's ``missing`` comes from it. Taken once
        (the diagnosis, the summary and the JSON each ask); each caller gets its own copy."""
        if self._inventory is None:
            self._inventory = case_inventory(self)
        return self._inventory.copy()

    def server_verdicts(self, *, at: Any = None) -> pd.DataFrame:
        """:meth:`diagnose_servers` as a table: server, sends_through_connector, verdict, cause,
        culprit, strength, failures, fix (fix / preventive fix / no fix) and why."""
        return server_table(self.diagnose_servers(at=at))

    def summary(self) -> pd.DataFrame:
        """What was read: one row per kind, with its files and rows.

        Kinds absent from the folder are listed with 0 files, so the gaps show.
        """
        rows = []
        for kind in evidence_kinds():
            frame = self.frames.get(kind.name)
            files = [] if frame is None else frame.attrs.get("parse_report", ParseReport()).files
            rows.append({"kind": kind.name, "evidence": kind.label, "files": len(files),
                         "rows": 0 if frame is None else len(frame)})
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        import html
        head = f"<p>Case {html.escape(str(self.folder))}</p>"
        return head + self.summary()._repr_html_() + (self.unread._repr_html_() if len(self.unread) else "")


def other_computers_note(computers: list[str], shown: int = 3) -> str | None:
    """What the case says of the computers an event export names that logged no Exchange event (a domain
    controller's events, a collector's ForwardedEvents): how many, the first ``shown`` names, and why
    they get no verdict; None when there are none.

    >>> note = other_computers_note(["DC01", "DC02", "DC03", "WS04"])
    >>> note.split(" logged")[0], note.split(": ")[-1]
    ('4 computer(s) in the event exports', 'DC01, DC02, DC03 and 1 more')
    >>> other_computers_note([]) is None
    True
    """
    if not computers:
        return None
    more = f" and {len(computers) - shown:,} more" if len(computers) > shown else ""
    return (f"{len(computers):,} computer(s) in the event exports logged no Exchange event (no MSExchange* "
            f"or Microsoft-Exchange-* provider) and are not servers of the case, so they get no verdict: {', '.join(computers[:shown])}{more}")


def _same(given: Any, value: Any) -> bool:
    """Whether two inputs of a diagnosis are the same: frames the same objects, settings equal."""
    if given is value:
        return True
    frames = (pd.DataFrame, pd.Series)
    return not isinstance(given, frames) and not isinstance(value, frames) and bool(given == value)


# the kinds whose readers take their own commands' output out of a PowerShell transcript (exlab.transcript)
TRANSCRIPT_KINDS = ("tracking", "queues", "events", "certs", "connectors", "receive_connectors", "servers")


def _sniff(path: Path | Member, kinds: tuple[EvidenceKind, ...]) -> tuple[tuple[EvidenceKind, ...], str]:
    """The kind of one file (or zip member), or none with the reason no reader took it. A PowerShell
    transcript is of the kind of each command's output in it (:data:`TRANSCRIPT_KINDS`): each of their
    readers reads it, taking its own."""
    try:      # a file on disk is told by its head, unhashed: its reader hashes it as it reads it
        evidence = open_evidence(path) if isinstance(path, Member) else peek_evidence(path)
    except OSError as err:
        return (), f"cannot be opened: {err.strerror or err}"
    except ExlabError as err:
        return (), f"cannot be opened: {err.problem}"
    try:
        if evidence.size == 0:
            return (), "empty file"
        text = session_text(evidence)
        if text is not None:
            found = _transcript_kinds(text, kinds)
            return found, "" if found else "a PowerShell session's text (a transcript or the console copied), " \
                                           "but no command's output in it is evidence exlab reads"
        for kind in kinds:
            if kind.detect(evidence):
                return (kind,), ""
        return (), default_table(head_text(evidence.head(8192))) or "no exlab reader recognises its content"
    except ExlabError as err:
        return (), f"cannot be read: {err.problem}"
    finally:
        evidence.close()


def _transcript_kinds(text: str, kinds: tuple[EvidenceKind, ...]) -> tuple[EvidenceKind, ...]:
    """The kinds of the commands' output in a transcript (each output told as a file of its own would be)."""
    found = set()
    for output in output_texts(text):
        if output.strip():
            probe = open_evidence(io.BytesIO(output.encode("utf-8")))
            found.add(next((kind.name for kind in kinds if kind.detect(probe)), None))
    return tuple(kind for kind in kinds if kind.name in found and kind.name in TRANSCRIPT_KINDS)


def case_relative(name: str, folder: Path) -> str:
    """An evidence file's name as the case shows it: relative to the case folder, so that
    findings, reports and exports carry no path of the engineer's machine.

    A case read from a zip names its members from the zip's folder (``bundle.zip!certs/fl.txt``).

    >>> case_relative("/home/ana/cases/ex01/certs/mail.cer", Path("/home/ana/cases/ex01"))
    'certs/mail.cer'

    Names are compared and given as text (:func:`exlab.evidence.text_name`: bytes that are not UTF-8
    as ``\\xNN``), so a folder unzipped from a Windows code page reads as any other:

    >>> case_relative(b"/cases/\\xb3\\xf3d\\xbc/fl.txt".decode("utf-8", "surrogateescape"), Path("/cases"))
    '\\\\xb3\\\\xf3d\\\\xbc/fl.txt'
    """
    base = folder.parent if folder.is_file() else folder
    path = Path(text_name(name))
    # as spelled first, then resolved: a link is named as the link (in the folder), never as its target
    for inside, within in ((Path(os.path.abspath(path)), Path(text_name(os.path.abspath(base)))),
                           (path.parent.resolve() / path.name, Path(text_name(base.resolve())))):
        if within == inside or within in inside.parents:
            return inside.relative_to(within).as_posix()
    return text_name(name)


def with_case_names(frame: pd.DataFrame, name_in_case: Callable[[str], str]) -> pd.DataFrame:
    """The frame with its ``source`` values (``; ``-joined lists too, read by the report's file names:
    :func:`exlab.attribution.source_files`) and its parse report's file names made case-relative: each
    distinct file named once, however many rows it has.

    >>> frame = pd.DataFrame({"source": pd.array(["/c/a.log", "/c/a.log; /c/b.log", None], dtype="string")})
    >>> with_case_names(frame, lambda name: name.removeprefix("/c/"))["source"].tolist()
    ['a.log', 'a.log; b.log', <NA>]
    """
    report = frame.attrs.get("parse_report")
    files = report.files if report is not None else ()
    listed = source_files([file_report.file for file_report in files])     # a file's name may hold "; "
    for file_report in files:
        file_report.file = name_in_case(file_report.file)
    if "source" not in frame:
        return frame
    names = {value: "; ".join(name_in_case(part) for part in listed(value))
             for value in frame["source"].dropna().unique()}     # once per file (or list of files), not per row
    renamed = frame.copy(deep=False)    # one column replaced: the others are shared, not copied
    renamed["source"] = frame["source"].map(names).astype(frame["source"].dtype)
    renamed.attrs = frame.attrs
    return renamed


def _files(folder: Path, follow_links: bool) -> tuple[list[Path | Member], list[dict[str, str]]]:
    """The files of a case folder, zips among them as their members, or the members of a case
    zip; and what was passed over, with why (links out of the folder, zips refused)."""
    if folder.is_file():
        return list(bundle_members(folder)), []
    found = walk(folder, follow_links=follow_links)
    files: list[Path | Member] = []
    unread = [{"file": str(path), "reason": why} for path, why in found.passed_over]
    for path in found.files:
        if not is_bundle(path):
            files.append(path)
            continue
        try:
            files.extend(bundle_members(path))
        except ExlabError as err:
            unread.append({"file": str(path), "reason": f"zip not read: {err}"})
    return files, unread


@dataclass(frozen=True)
class OwnFiles:
    """The files that steer a case's reading without being evidence: their paths, their report,
    and the trust anchors file the settings name when others were given (not used)."""

    paths: frozenset[Path]
    report: ParseReport
    unused: list[dict[str, str]]


def case_own_files(folder: Path, roots: Any, written: CaseSettings) -> OwnFiles:
    """The case's settings file (``written``: as :func:`exlab.settings.read_settings` read it, its
    hash too) and the trust anchors file(s) used (``roots``: a PEM path or paths), each in a report
    row with its hash that says what it is and who named it: the inputs of a verdict besides the
    evidence. A file outside the case is named by its name alone. The anchors file the settings
    name is never evidence, even when ``roots`` replaces it: its path is among ``paths`` either way.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "root.pem").write_bytes(b"-----BEGIN CERTIFICATE-----")
    >>> own = case_own_files(folder, folder / "root.pem", CaseSettings())
    >>> [(f.file, f.format) for f in own.report.files]
    [('root.pem', 'extra trust anchors (PEM), given by the caller')]
    """
    report = ParseReport()
    if written.sha256 is not None:
        report.add_file(case_relative(str(folder / SETTINGS_FILE), folder), sha256=written.sha256,
                        format=CASE_SETTINGS, size=written.size)
    files = {}
    paths = [roots] if isinstance(roots, (str, Path)) else roots if isinstance(roots, (list, tuple)) else []
    for root in (Path(r) for r in paths if isinstance(r, (str, Path))):
        named = written.roots is not None and root.resolve() == written.roots
        files[root] = f"{TRUST_ANCHORS}, {'named by ' + SETTINGS_FILE if named else 'given by the caller'}"
    for path, role in files.items():
        if path.exists() and not path.is_file():
            raise EvidenceNotFound(str(path), None, "a PEM file of trust anchors (--roots)", SPECIAL_FILE)
        try:
            with open(path, "rb") as stream:
                digest, size = sha256_of(stream)
        except OSError as err:
            raise EvidenceNotFound(str(path), None, "a readable file", err.strerror) from None
        inside = case_relative(str(path), folder)
        report.add_file(inside if inside != str(path) else path.name, sha256=digest, format=role, size=size)
    used = {path.resolve() for path in files}
    unused = [] if written.roots is None or written.roots in used else [
        {"file": str(written.roots), "reason": f"trust anchors named by {SETTINGS_FILE}, not used: others were given"}]
    settings = [(folder / SETTINGS_FILE).resolve()] if written.sha256 is not None else []
    named = [written.roots] if written.roots is not None else []
    return OwnFiles(frozenset([*used, *settings, *named]), report, unused)


def bundle_reports(files: list[Path | Member], name_in_case: Callable[[str], str]) -> ParseReport:
    """A report of each zip the case's members came from: its SHA-256 and size (the members'
    own are in the reports of the readers that read them).

    >>> bundle_reports([Path("app.xml")], str).files
    []
    """
    report = ParseReport()
    add_bundles(report, files, name_in_case)
    return report


@warnings_once()
def _load(kind: EvidenceKind, paths: list[Path], tz: str | None, culture: str | None,
          unread: list[dict[str, str]]) -> pd.DataFrame | None:
    """All files of one kind in one read. If a file is refused, the files are tried one by one, the
    refused ones listed as unread with the reader's error (the rest of the case is still read), and
    the others read together again: a reader's work across files (certificates merged across exports,
    sessions that span protocol log files) is then the same as without the refused file.

    A reader that fails with anything but an ExlabError has a bug: the file is still listed as
    unread (with the exception's type and message) so the case gets its verdict, and the bug is
    logged with its traceback."""
    try:
        return kind.read(paths, tz, culture)
    except Exception:  # noqa: BLE001 - read file by file below, each failure listed
        pass
    frames = {path: frame for path in paths if (frame := _load_one(kind, path, tz, culture, unread)) is not None}
    if len(frames) > 1:
        try:
            return kind.read(list(frames), tz, culture)
        except Exception:  # noqa: BLE001 - files read alone but not together: each file's own rows
            log.exception("the %s reader read %d files one by one but not together", kind.name, len(frames))
    if not frames:
        return None
    frame = pd.concat(frames.values(), ignore_index=True) if len(frames) > 1 else next(iter(frames.values()))
    frame.attrs["parse_report"] = ParseReport().extend(f.attrs.get("parse_report", ParseReport())
                                                       for f in frames.values())
    return frame


# the kinds whose exports may write local times: read in the zone of the server each file is of
ZONED_KINDS = ("events", "certs", "tracking", "queues")


def _load_in_zones(kind: EvidenceKind, paths: list[Path], settings: CaseSettings, unread: list[dict[str, str]],
                   name_in_case: Callable[[str], str]) -> pd.DataFrame | None:
    """All files of one kind (:func:`_load`), each read in its zone (``settings.zone_of`` its name in the
    case): one read per zone, the certificates of several zones' reads merged as one read merges them."""
    zones: dict[str | None, list[Path]] = {}
    for path in paths:
        zone = settings.zone_of(name_in_case(str(path))) if kind.name in ZONED_KINDS else settings.tz
        zones.setdefault(zone, []).append(path)
    if len(zones) <= 1:
        return _load(kind, paths, next(iter(zones), settings.tz), settings.culture, unread)
    read = [(zone, frame) for zone, group in zones.items()
            if (frame := _load(kind, group, zone, settings.culture, unread)) is not None]
    if not read:
        return None
    frame = pd.concat([part for _, part in read], ignore_index=True)
    frame.attrs["parse_report"] = ParseReport().extend(part.attrs.get("parse_report", ParseReport()) for _, part in read)
    if kind.name == "certs":
        from exlab.fleet.read import merge_certs
        frame = merge_certs(frame.assign(batch=[str(zone) for zone, part in read for _ in range(len(part))]))
    return frame


def _load_one(kind: EvidenceKind, path: Path, tz: str | None, culture: str | None,
              unread: list[dict[str, str]]) -> pd.DataFrame | None:
    """One file's frame, or None with the file listed in ``unread`` and warned of (:func:`_load`)."""
    try:
        return kind.read([path], tz, culture)
    except ExlabError as err:
        warn_at(ExlabWarning(f"not read: {err.problem}", err.source, err.where))
        unread.append({"file": str(path), "reason": f"the {kind.name} reader refused it: {refusal(err, path)}",
                       "kind": kind.name})
    except Exception as err:  # noqa: BLE001 - a reader's bug must not cost the case its verdict
        log.exception("the %s reader failed on %s (a bug in exlab)", kind.name, path)
        bug = f"{type(err).__name__}: {err}"
        warn_at(ExlabWarning(f"not read: the {kind.name} reader failed ({bug})", str(path)))
        unread.append({"file": str(path), "reason": f"the {kind.name} reader failed on it (a bug in exlab, "
                       f"{bug})", "kind": kind.name})
    return None


def refusal(err: ExlabError, path: Path) -> str:
    """Why a reader refused the file at ``path``, for the unread list beside the file's name: the place
    and the problem, without the path of the engineer's machine (the name of another file it names).

    >>> from exlab.errors import CorruptInput
    >>> err = CorruptInput("/home/ana/case/EX01/fl.txt", "line 3", "a property line", "found 'xyz'")
    >>> refusal(err, Path("/home/ana/case/EX01/fl.txt"))
    "line 3: expected a property line (found 'xyz')"
    >>> refusal(CorruptInput("/home/ana/case/EX01/certs.zip!fl.txt", None, "text"), Path("/home/ana/case/EX01/certs.zip"))
    'certs.zip!fl.txt: expected text'

    A member in a zip's subfolder keeps its place in the zip:

    >>> refusal(CorruptInput("/home/ana/case/EX01.zip!EX01/certs/fl.txt", None, "text"), Path("/home/ana/case/EX01.zip"))
    'EX01.zip!EX01/certs/fl.txt: expected text'
    """
    source = str(err.source)
    if source == str(path):
        place = []
    elif source.startswith(f"{path}!"):     # a member of the zip at ``path``: named from the zip on
        place = [path.name + source[len(str(path)):]]
    else:
        place = [source.replace("\\", "/").rsplit("/", 1)[-1]]
    place += [err.where] if err.where else []
    return f"{', '.join(place)}: {err.problem}" if place else err.problem


# offsets a wrongly zoned local-time export may be off by: whole and quarter hours, up to 26 hours either way
# (read as UTC, as far as UTC+14 or UTC-12; read in a zone given, as far as that zone from the one it was written in)
LOCAL_TIME_SHIFTS = tuple(pd.Timedelta(minutes=15 * n) for n in range(-104, 105))


def _shifted(keys: pd.Series, shift: pd.Timedelta) -> pd.Series:
    """(provider, event id, second) keys moved by ``shift``."""
    if not shift:
        return keys
    return keys.map(lambda key: (key[0], key[1], key[2] + shift))


def _best_match(keys: pd.Series, others: list[str], seen: dict[str, set],
                shifts: tuple[pd.Timedelta, ...]) -> tuple[int, str | None, pd.Timedelta | None]:
    """The earlier file and shift sharing the most keys with ``keys`` (the smallest shift on a tie)."""
    return max(((len(set(_shifted(keys, shift)) & seen[other]), other, shift) for other in others for shift in shifts),
               key=lambda found: (found[0], -abs(found[2])), default=(0, None, None))


# the columns dedupe_events looks at: a frame of these alone keeps the same rows
DEDUPE_COLUMNS = ["source", "provider", "event_id", "time_created", "record_id", "computer"]


def dedupe_events(events: pd.DataFrame) -> pd.DataFrame:
    """Events exported twice (an .evtx and a filtered XML or CSV of the same log) kept once.

    Files are taken most precise first (those carrying record ids: .evtx, XML, CliXml;
    then CSV/TXT), the one with the most events first (a whole log before a filtered export
    of it, whatever their names). An event of a file with record ids whose record id, provider,
    event id and time to the second an earlier such file has is a second export of it, set
    aside. Otherwise a file at least half of whose events (provider, event id, time to the
    second, as CSV exports write it) are already in one earlier file is a second export of
    that log: its rows found there are set aside, the rest kept. A CSV/TXT
    export read in the wrong time zone is recognised too, at a whole or quarter-hour shift,
    and its report says which offset matched. Files whose computer names differ are two
    servers' logs and stay whole. Each file's parse report notes how
    many of its records were set aside, and in favour of which file.

    >>> from exlab.events.schema import events_frame
    >>> row = {"provider": "MSExchangeTransport", "event_id": 2004, "time_created": 1_742_467_754_420_000_000}
    >>> frame = events_frame([{**row, "record_id": 7, "source": "Application.evtx"},
    ...                       {**row, "time_created": 1_742_467_754_000_000_000, "source": "Transport.csv"}])
    >>> dedupe_events(frame)["source"].tolist()
    ['Application.evtx']

    A filtered export whose name sorts first is still the copy of the whole log:

    >>> rows = [{**row, "record_id": n, "time_created": row["time_created"] + n * 10**9} for n in range(3)]
    >>> frame = events_frame([{**r, "source": "App-2004.xml"} for r in rows[:1]]
    ...                      + [{**r, "source": "Application.evtx"} for r in rows])
    >>> dedupe_events(frame)["source"].tolist()
    ['Application.evtx', 'Application.evtx', 'Application.evtx']
    """
    if events.empty or events["source"].nunique() < 2:
        return events
    source_of = events["source"].astype(str)
    sources = list(dict.fromkeys(source_of))
    precise = events.groupby("source")["record_id"].apply(lambda ids: ids.notna().any()).to_dict()
    size = source_of.value_counts().to_dict()
    order = sorted(sources, key=lambda source: (0 if precise.get(source) else 1, -size[source], sources.index(source)))
    computers = events.groupby("source")["computer"].apply(lambda c: set(c.dropna().str.lower())).to_dict()
    keys: dict[tuple[str, bool], pd.Series] = {}    # a file's keys, made only when it may be a copy or an original

    def keys_of(source: str, exact: bool = False) -> pd.Series:
        """The file's keys: provider, event id and time to the second (with the record id: ``exact``)."""
        if (source, exact) not in keys:
            rows = events[(source_of == source).to_numpy()]
            parts = [rows["provider"].astype("string").str.lower(), rows["event_id"], rows["time_created"].dt.floor("s")]
            keys[source, exact] = pd.Series(list(zip(*parts, *([rows["record_id"]] if exact else []))),
                                            index=rows.index)
        return keys[source, exact]

    earlier: list[str] = []
    seen: dict[str, set] = {}
    keep = pd.Series(True, index=events.index)
    notes: dict[str, tuple[int, str, pd.Timedelta]] = {}
    for source in order:
        same_log = [other for other in earlier            # two servers' logs are never copies of each other
                    if not (computers.get(source) and computers.get(other)
                            and computers[source].isdisjoint(computers[other]))]
        earlier.append(source)
        if not same_log:
            continue
        exact = [other for other in same_log if precise.get(source) and precise.get(other)]
        if exact:          # record ids on both sides: each event found again is a copy, however few
            mine = keys_of(source, exact=True)
            found = {other: mine.isin(set(keys_of(other, exact=True))) for other in exact}
            best = max(found, key=lambda other: int(found[other].sum()))
            copies = pd.concat(list(found.values()), axis=1).any(axis=1)
            if copies.any():
                keep[copies[copies].index] = False
                notes[source] = (int(copies.sum()), best, pd.Timedelta(0))
                continue
        mine = keys_of(source)
        seen.update({other: set(keys_of(other)) for other in same_log if other not in seen})
        # a CSV/TXT export read in the wrong zone is the same log shifted by the zone's offset
        overlap, best, shift = _best_match(mine, same_log, seen, (pd.Timedelta(0),))
        if overlap * 2 < len(set(mine)) and not precise.get(source):
            overlap, best, shift = _best_match(mine, same_log, seen, LOCAL_TIME_SHIFTS)
        if best is not None and overlap * 2 >= len(set(mine)):
            copies = _shifted(mine, shift).isin(seen[best])
            keep[copies[copies].index] = False
            notes[source] = (int(copies.sum()), best, shift)
    if keep.all():
        return events
    report = events.attrs.get("parse_report")
    for file_report in (report.files if report is not None else []):
        if file_report.file in notes:
            count, other, shift = notes[file_report.file]
            file_report.note(f"{count:,} record(s) also exported in {other}: kept once, from there")
            if shift:
                hours = -shift / pd.Timedelta(hours=1)
                file_report.note(f"its local times match {other} at UTC{hours:+g}h: the server's zone had that "
                                 "offset then; pass tz= (--tz) to read such exports right")
    out = events[keep.to_numpy()].reset_index(drop=True)
    out.attrs = events.attrs
    return out


def _as_judged(case: Diagnosis, server: Diagnosis) -> Diagnosis:
    """The answer of a case of one server whose weighing against the connector (``judge_server``)
    took the cause away (its failures are only through another connector, or it is no source
    server): its verdict and fix, so the case and its server say the same (the server's line
    says why)."""
    from dataclasses import replace

    return replace(case, verdict=server.verdict, cause=server.cause, culprit=server.culprit,
                   strength=server.strength, onset=server.onset, end=server.end, remediation=server.remediation,
                   missing=server.missing, notes=list(dict.fromkeys([*case.notes, *server.notes])))


def _infer(frames: dict[str, pd.DataFrame], server_fqdn: str | None, connector: str | None,
           failures: pd.DataFrame | None) -> tuple[str | None, str | None, dict[str, str]]:
    inferred: dict[str, str] = {}
    if server_fqdn is None:
        server_fqdn, why = infer_server_fqdn(servers=frames.get("servers"), events=frames.get("events"),
                                             certs=frames.get("certs"), connectors=frames.get("connectors"))
        if why:
            inferred["server_fqdn"] = f"server FQDN {server_fqdn} inferred from {why}" if server_fqdn else why
    if connector is None:
        failing = None if failures is None else failures["connector"]
        row, why = infer_connector(connectors=frames.get("connectors"), failing=failing,
                                   sessions=send_sessions(frames.get("sessions")))
        if row:
            connector = row["name"]
            inferred["connector"] = f"send connector {connector!r} inferred from {why}"
    return server_fqdn, connector, inferred


def discover(folder: str | Path, *, progress: Any = None, follow_links: bool = False,
             not_evidence: Collection[Path] | None = None,
             listing: tuple[list[Path | Member], list[dict[str, str]]] | None = None,
             ) -> tuple[dict[str, list[Path | Member]], list[dict[str, str]]]:
    """Which files of ``folder`` (sub-folders and zips too; or of a zip of evidence) each
    reader takes, by content; and the rest, with why. The files ``not_evidence`` names (the
    case's own: :func:`case_own_files`' paths) are passed over in silence; by default, the
    trust anchors file the folder's ``exlab-case.toml`` names. ``listing``: the folder's files
    and what was passed over, as the caller already listed them (:func:`_files`), not listed
    (nor every file opened to tell a zip) again.

    A link leaving the folder is passed over with a warning naming it, unless
    ``follow_links``. ``progress`` is a tqdm bar to advance once per file (or None).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "truth.json").write_text("{}")
    >>> discover(folder)[1][0]["reason"]
    "the lab case's answer, not evidence"
    """
    folder = Path(folder)
    if not (folder.is_dir() or is_bundle(folder)):
        raise EvidenceNotFound(str(folder), expected="a folder (or a .zip) of evidence exported from the Exchange server")
    if not_evidence is None:        # the settings' trust anchors, used or not
        not_evidence = case_own_files(folder, None, read_settings(folder)).paths
    kinds = evidence_kinds()
    files, unread = _files(folder, follow_links) if listing is None else (listing[0], list(listing[1]))
    for row in unread:
        warn_at(ExlabWarning(f"not read: {row['reason']}", case_relative(row["file"], folder)))
    found: dict[str, list[Path | Member]] = {}
    for path in files:
        if progress is not None:
            progress.update(1)
        name = path.names[-1] if isinstance(path, Member) else path.name
        skipped = PurePosixPath(name.replace("\\", "/")).name.lower()
        if isinstance(path, Path) and path.resolve() in not_evidence:
            continue
        if skipped in SKIPPED_NAMES:
            if SKIPPED_NAMES[skipped]:
                unread.append({"file": str(path), "reason": SKIPPED_NAMES[skipped]})
            continue
        taken, why = _sniff(path, kinds)
        if not taken:
            unread.append({"file": str(path), "reason": why})
        for kind in taken:
            found.setdefault(kind.name, []).append(path)
    return found, unread


def _progress_delay(setting: str | None) -> float:
    """Seconds a reading lasts before its progress bar shows: ``EXLAB_PROGRESS_DELAY`` when it
    is a number of seconds (0: always a bar), else 1 (a small case shows none).

    >>> _progress_delay("0"), _progress_delay(None), _progress_delay("soon")
    (0.0, 1.0, 1.0)
    """
    try:
        return max(float(setting or 1.0), 0.0)
    except ValueError:
        return 1.0


PROGRESS_DELAY = _progress_delay(os.environ.get("EXLAB_PROGRESS_DELAY"))


def progress_bar(files: int) -> Any:
    """The bar :func:`open_case` advances when asked: tqdm's, a notebook widget or the terminal's."""
    from tqdm.auto import tqdm   # imported only to show a bar (its notebook and asyncio support: ~25 ms)

    return tqdm(total=files, desc="evidence", unit="file", delay=PROGRESS_DELAY)


class NoBar:
    """What :func:`open_case` asks of its bar when none is shown: nothing is drawn.

    >>> bar = NoBar(); bar.update(3); bar.reset(total=10); bar.set_postfix_str("events"); bar.close()
    """

    unit, unit_scale, unit_divisor = "file", False, 1000

    def update(self, n: int = 1) -> None:
        """Nothing to advance."""

    def reset(self, total: int | None = None) -> None:
        """Nothing to start over."""

    def set_postfix_str(self, text: str = "") -> None:
        """Nothing to label."""

    def close(self) -> None:
        """Nothing to close."""


def _file_size(path: Path | Member) -> int:
    return path.size if isinstance(path, Member) else path.stat().st_size


def open_case(folder: str | Path, *, server_fqdn: str | None = None, connector: str | None = None,
              roots: Any = None, tz: str | None = None, culture: str | None = None,
              server_tz: dict[str, str] | None = None, progress: bool = False, follow_links: bool = False) -> Case:
    """Discover and read every piece of evidence in ``folder`` (a folder, or a .zip of evidence
    read in place: members named ``bundle.zip!certs/fl.txt``, the zip's SHA-256 in the reports;
    or an evidence store of ``exlab fleet ingest``, its frames read from Parquet).

    Nothing outside the folder is read: a link (symlink, junction) leaving it is passed over
    with a warning naming it and listed in ``unread``, unless ``follow_links``.

    ``roots`` is the trust anchors Exchange Online trusts (a PEM file; the lab's stand-in
    root for lab cases), ``tz`` the servers' time zone (for exports with local times, and
    the zone timelines are shown in), ``culture`` the servers' culture (``en-AU``, ``en-GB``,
    ...: the day/month order of exports whose dates do not tell it), ``server_tz`` the zone of each server
    whose exports were written in another zone than ``tz`` (``{"EX02": "America/New_York"}``: the files
    whose folder, zip or own name names EX02), ``progress`` shows a bar
    over the files looked at, then over the bytes read, once the work has lasted a second
    (:data:`PROGRESS_DELAY`: a small case shows none). A value not given is taken from the
    folder's ``exlab-case.toml`` (:mod:`exlab.settings`), if it says.
    """
    folder = Path(folder)
    written = read_settings(folder)     # once: the values not given, the anchors it names, its hash in the report
    settings = with_given(written, server_fqdn=server_fqdn, connector=connector, roots=roots, tz=tz, culture=culture,
                          server_tz=server_tz)
    server_fqdn, connector, tz, culture = settings.server_fqdn, settings.connector, settings.tz, settings.culture
    roots = settings.roots
    for key, asked in (("tz", "the time zone asked for"), ("culture", "the culture asked for")):
        value = getattr(settings, key)       # a value of the settings file was checked as it was read
        problem = setting_problem(key, value) if value is not None else None
        if problem is not None:
            raise ExlabError(str(value), asked, problem)
    for server, zone in settings.server_tz.items():
        problem = setting_problem("tz", zone)
        if problem is not None:
            raise ExlabError(str(zone), f"the time zone asked for {server}", problem)
    from exlab.fleet.store import is_store
    if is_store(folder):      # an evidence store (exlab.fleet): its frames, read from Parquet
        from exlab.fleet.read import open_store
        case = open_store(folder, server_fqdn=server_fqdn, connector=connector, roots=roots, tz=tz, written=written)
        case.settings = settings
        return case
    listing = _files(folder, follow_links) if folder.is_dir() or is_bundle(folder) else None
    files = listing[0] if listing is not None else []
    bar = progress_bar(len(files)) if progress else NoBar()
    try:
        own = case_own_files(folder, roots, written)
        found, unread = discover(folder, progress=bar, follow_links=follow_links, not_evidence=own.paths,
                                 listing=listing)
        unread += own.unused
        if not found:
            raise NoEvidence(str(folder), "holds nothing exlab reads",
                             f"one of: {what_exlab_reads()}",
                             f"{len(files):,} file(s) looked at, none recognised")
        sizes = {kind: sum(_file_size(path) for path in paths) for kind, paths in found.items()}
        bar.unit, bar.unit_scale, bar.unit_divisor = "B", True, 1024   # then the bytes read, file by file
        bar.reset(total=sum(sizes.values()))
        frames: dict[str, pd.DataFrame] = {}
        for kind in evidence_kinds():
            if kind.name in found:
                bar.set_postfix_str(kind.name)
                with progress_over(bar.update, sizes[kind.name]):
                    frame = _load_in_zones(kind, found[kind.name], settings, unread, partial(case_relative, folder=folder))
                if frame is not None and kind.name == "events":
                    frame = dedupe_events(frame)
                if frame is not None:
                    frames[kind.name] = frame
    finally:
        bar.close()
    if not frames:
        raise EvidenceNotFound(str(folder), "holds nothing exlab could read",
                               f"one of: {what_exlab_reads()}",
                               "; ".join(f"{Path(u['file']).name}: {u['reason']}" for u in unread))
    name_in_case = partial(case_relative, folder=folder)
    reports = bundle_reports(files, name_in_case).extend([own.report])
    case = assemble_case(folder, frames, unread, reports, name_in_case=name_in_case,
                         server_fqdn=server_fqdn, connector=connector, roots=roots, tz=tz)
    case.settings = settings
    return case


def assemble_case(folder: Path, frames: dict[str, pd.DataFrame], unread: list[dict[str, str]],
                  reports: ParseReport, *, name_in_case: Callable[[str], str], server_fqdn: str | None = None,
                  connector: str | None = None, roots: Any = None, tz: str | None = None) -> Case:
    """The Case of frames read by the readers (a folder's, or an evidence store's): file names
    as the case shows them, every row's server, and what the evidence leaves to infer.
    ``reports`` holds the reports of what no frame holds (the zips the files came from).

    >>> from exlab.events.schema import events_frame
    >>> events = events_frame([{"provider": "MSExchangeTransport", "event_id": 1, "computer": "EX01.contoso.com",
    ...                         "time_created": 0, "source": "Application.evtx"}])
    >>> assemble_case(Path("case"), {"events": events}, [], ParseReport(), name_in_case=str).server_list()
    ['ex01.contoso.com']
    """
    frames = {kind: with_case_names(frame, name_in_case) for kind, frame in frames.items()}
    frames = attribute_servers(frames, server_fqdn=server_fqdn)
    if "queues" in frames:     # failures through another connector are not this one's
        from exlab.transport.queue_routing import queue_connectors
        frames["queues"]["connector"] = queue_connectors(frames["queues"], frames.get("connectors"))
    unread = [{**row, "file": name_in_case(row["file"])} for row in unread]
    reports = reports.extend(f.attrs.get("parse_report", ParseReport()) for f in frames.values())
    case = Case(folder=folder, frames=frames, reports=reports,
                unread=pd.DataFrame(unread, columns=["file", "reason", "kind"]).astype({"kind": "string"}),
                server_fqdn=server_fqdn, connector=connector, roots=roots, tz=tz)
    case.server_fqdn, case.connector, case.inferred = _infer(frames, server_fqdn, connector, case.failures)
    for key, value in case.inferred.items():
        log.info("inferred %s: %s", key, value)
    return case
