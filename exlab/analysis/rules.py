"""The diagnosis rules: each a small function from the case's facts to a finding or None.

A rule looks at one kind of sign (a refused session, an event, a certificate set-up)
and returns a :class:`~exlab.analysis.findings.Finding` with the rows that show it, or
None when the sign is absent. :func:`exlab.analysis.diagnose.diagnose` weighs them.

>>> facts = Facts.build()
>>> [rule.__name__ for rule in RULES if rule(facts) is not None]
[]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from exlab.analysis.cells import cell, column, event_place, present
from exlab.analysis.findings import Finding, evidence_rows
from exlab.analysis.infer import connector_row, proxies_through_frontend
from exlab.analysis.timeline import deliveries, failure_points, flows_again, preferred
from exlab.attribution import edge_hosts, front_end_only_hosts, host_name, transport_service_hosts
from exlab.certs.merge import LATER_COLUMNS
from exlab.certs.names import covers
from exlab.certs.selection import DATE_NAMES, UNSETTLED
from exlab.transport.protocol_log import send_sessions

# classify() category of a failure -> the cause id of the diagnosis
CATEGORY_CAUSE = {
    "untrusted-root": "kb2888788",
    "tls-access-denied": "kb2888788",
    "tlscertificatename-missing": "tlscertificatename-missing",
    "expired": "certificate-expired",
    "no-private-key": "no-private-key",
    "tenant-attribution": "tenant-attribution",
    "network": "network",
}
CERTIFICATE_CATEGORIES = frozenset(CATEGORY_CAUSE) - {"network"}


def _empty(frame: pd.DataFrame | None) -> bool:
    return frame is None or frame.empty


def attempts(points: pd.DataFrame) -> int:
    """Failed delivery attempts among failure points: each server's from its best source that shows any
    (events 2004, else protocol log sessions, else tracking rows: ``exlab.analysis.timeline.preferred``), as
    ``failure_points(prefer=True)`` counts them; one attempt seen by an event, a session and a DEFER row is
    one attempt, not three, and a server without events counts its sessions.

    >>> attempts(pd.DataFrame({"origin": ["event", "session", "tracking", "event"]}))
    2
    >>> attempts(pd.DataFrame({"origin": ["event", "session", "session"], "server": ["EX01", "ex01", "EX02"]}))
    2
    """
    return int(preferred(points).sum())


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at, prepared once.

    ``points``: every failure from every source (``failure_points(prefer=False)``).
    ``candidates``: the certificates the transport may present for ``name`` (cover it,
    enabled for SMTP), newest first, with trust columns; ``selected`` the thumbprint it
    presents. ``at`` is the time certificate validity is judged at. ``edge_servers``: the host names of
    the Edge Transport servers Get-ExchangeServer shows (``servers`` of :meth:`build`); ``front_end_only``: those of
    the servers it shows to run no Transport service (Exchange 2013's Client Access servers), ``transport_service``
    those it shows to run one. ``queues``: Get-Queue's
    rows (their last errors are among the points), None when the case holds none.
    """

    points: pd.DataFrame
    events: pd.DataFrame | None = None
    certs: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    tracking: pd.DataFrame | None = None
    connectors: pd.DataFrame | None = None
    name: str | None = None
    connector: str | None = None
    candidates: pd.DataFrame | None = None
    selected: str | None = None
    at: pd.Timestamp | None = None
    pin_missing: bool = False
    tls_certificate_name: str | None = None
    by_thumbprint: dict[str, dict[str, Any]] = field(default_factory=dict)
    presented: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    edge_servers: frozenset[str] = frozenset()
    front_end_only: frozenset[str] = frozenset()
    transport_service: frozenset[str] = frozenset()
    queues: pd.DataFrame | None = None

    @classmethod
    def build(cls, *, failures: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
              certs: pd.DataFrame | None = None, sessions: pd.DataFrame | None = None,
              tracking: pd.DataFrame | None = None, points: pd.DataFrame | None = None,
              connectors: pd.DataFrame | None = None, name: str | None = None, connector: str | None = None,
              candidates: pd.DataFrame | None = None, selected: str | None = None,
              at: pd.Timestamp | None = None, pin_missing: bool = False,
              tls_certificate_name: str | None = None, servers: pd.DataFrame | None = None,
              receive_connectors: pd.DataFrame | None = None, queues: pd.DataFrame | None = None) -> Facts:
        """Stack the failures of every source (those of other connectors left out) and index
        the certificates by thumbprint. Receive sessions (other servers delivering here) are left out.
        ``points``: those failures stacked (``failure_points(prefer=False)`` of the send sessions),
        when the caller has them already; ``servers``: Get-ExchangeServer's rows (which are Edge servers), and
        ``receive_connectors`` Get-ReceiveConnector's (an Edge's default one tells it too)."""
        edges = edge_hosts(servers, sessions=sessions, connectors=connectors, receive_connectors=receive_connectors)
        sessions = send_sessions(sessions)
        if points is None:
            points = failure_points(failures=failures, sessions=sessions, tracking=tracking, queues=queues,
                                    prefer=False)
        if connector:
            other = points["connector"].str.lower().ne(connector.lower()).fillna(False).astype(bool)
            points = points[~other].reset_index(drop=True)
        table = {} if _empty(certs) else {str(row["thumbprint"]).upper(): row.to_dict()
                                          for _, row in certs.iterrows() if cell(row, "thumbprint")}
        presented = {}
        if not _empty(sessions) and "cert_thumbprint" in sessions:
            # each certificate once (first seen first), not once per session of a month of logs
            seen = sessions[["cert_thumbprint", "cert_subject", "cert_issuer"]].drop_duplicates()
            for thumb, subject, issuer in zip(seen["cert_thumbprint"], seen["cert_subject"], seen["cert_issuer"]):
                if present(thumb) is not None:
                    presented.setdefault(str(thumb).upper(), (present(subject), present(issuer)))
        return cls(points=points, events=events, certs=certs, sessions=sessions, tracking=tracking,
                   connectors=connectors, name=name, connector=connector, candidates=candidates,
                   selected=selected.upper() if selected else None, at=at, pin_missing=pin_missing,
                   tls_certificate_name=tls_certificate_name, by_thumbprint=table, presented=presented,
                   edge_servers=edges, front_end_only=front_end_only_hosts(servers),
                   transport_service=transport_service_hosts(servers), queues=queues)

    @cached_property
    def frontend_proxy(self) -> bool:
        """Whether the send connector has FrontendProxyEnabled: the Front End Transport service connects to
        Exchange Online and presents the certificate (the Transport service hands it each message).

        >>> connectors = pd.DataFrame({"name": ["Outbound"], "frontend_proxy_enabled": pd.array([True], "boolean")})
        >>> Facts.build(connectors=connectors, connector="Outbound").frontend_proxy, Facts.build().frontend_proxy
        (True, False)
        """
        return proxies_through_frontend(self.connectors, self.connector)

    def is_edge(self, server: str | None) -> bool:
        """Whether ``server`` (NetBIOS name or FQDN) is an Edge Transport server, as Get-ExchangeServer or the evidence
        shows it (:func:`exlab.attribution.edge_hosts`).

        >>> facts = Facts.build(servers=pd.DataFrame({"name": ["EDGE01"], "fqdn": ["edge01.dmz.contoso.net"],
        ...                                           "edge": [True]}))
        >>> facts.is_edge("edge01.dmz.contoso.net"), facts.is_edge("EDGE01"), facts.is_edge("EX01"), facts.is_edge(None)
        (True, True, False, False)
        """
        return bool(server) and host_name(server) in self.edge_servers

    def runs_front_end_only(self, server: str | None) -> bool:
        """Whether ``server`` runs the Front End Transport service and no Transport service (Exchange 2013's Client
        Access server), as Get-ExchangeServer shows it (:func:`exlab.attribution.front_end_only_hosts`).

        >>> facts = Facts.build(servers=pd.DataFrame({"name": ["CAS01"], "fqdn": ["cas01.contoso.com"],
        ...                                           "transport_service": [False]}))
        >>> facts.runs_front_end_only("cas01.contoso.com"), facts.runs_front_end_only("EX01")
        (True, False)
        """
        return bool(server) and host_name(server) in self.front_end_only

    def services_known(self, server: str | None) -> bool:
        """Whether Get-ExchangeServer shows if ``server`` runs the Transport service (it may be a Client Access
        server alone, :meth:`runs_front_end_only`, when it does not).

        >>> servers = pd.DataFrame({"name": ["CAS01", "MBX01"], "transport_service": [False, True]})
        >>> facts = Facts.build(servers=servers)
        >>> facts.services_known("mbx01.contoso.com"), facts.services_known("CAS01"), facts.services_known("EX01")
        (True, True, False)
        """
        return bool(server) and host_name(server) in self.front_end_only | self.transport_service

    @cached_property
    def edge_sync(self) -> tuple[str, ...]:
        """The Edge Transport servers EdgeSync replicates the send connector to: its SourceTransportServers
        when Get-ExchangeServer shows them all to be Edge servers (their Edge Subscriptions), or whatever they
        are when EdgeSync made the connector (``EdgeSync - <site> to Internet``); () for any other connector.

        >>> connectors = pd.DataFrame({"name": ["Outbound to Office 365"], "source_transport_servers": [("EDGE01",)]})
        >>> edge = pd.DataFrame({"name": ["EDGE01"], "fqdn": ["edge01.dmz.contoso.net"], "edge": [True]})
        >>> Facts.build(connectors=connectors, connector="Outbound to Office 365", servers=edge).edge_sync
        ('EDGE01',)
        >>> Facts.build(connectors=connectors, connector="Outbound to Office 365").edge_sync
        ()
        """
        if not self.connector:
            return ()
        listed = connector_row(self.connectors, self.connector).get("source_transport_servers")
        listed = tuple(str(s) for s in listed) if isinstance(listed, tuple) else ()
        made_by_edge_sync = self.connector.lower().startswith("edgesync - ")
        return listed if listed and (made_by_edge_sync or all(map(self.is_edge, listed))) else ()

    def failures_of(self, *categories: str, origins: Iterable[str] | None = None) -> pd.DataFrame:
        """Failure points of these categories (and origins)."""
        keep = self.points["category"].isin(categories).fillna(False).astype(bool)
        if origins is not None:
            keep &= self.points["origin"].isin(list(origins)).fillna(False).astype(bool)
        return self.points[keep]

    def events_with_id(self, *event_ids: int) -> pd.DataFrame:
        """MSExchangeTransport events with these ids."""
        if _empty(self.events):
            return pd.DataFrame()
        transport = self._transport_events
        return transport[transport["event_id"].isin(event_ids).fillna(False).astype(bool)]

    @cached_property
    def _transport_events(self) -> pd.DataFrame:
        """The MSExchangeTransport events (the rules ask for several ids of them, one at a time)."""
        provider = self.events["provider"].astype("string").str.lower() == "msexchangetransport"
        return self.events[provider.fillna(False).astype(bool)]

    def covering_smtp(self) -> pd.DataFrame:
        """The certificates that cover ``name`` and are enabled for SMTP (or whose services no
        export gave), whatever their dates and status: what the transport could present."""
        if _empty(self.certs) or not self.name:
            return pd.DataFrame()
        smtp = self.certs["services"].map(lambda s: not isinstance(s, tuple) or "SMTP" in s)
        named = self.certs["dns_names"].map(lambda names: covers(names, self.name))
        return self.certs[(smtp & named).astype(bool)]

    def issuer_class(self, thumbprint: str | None) -> str:
        """The issuer class of a certificate: from the certificates frame, else from the subject
        and issuer the protocol log shows it with (the same name twice: self-signed)."""
        if thumbprint is None or (not isinstance(thumbprint, str) and pd.isna(thumbprint)):
            return "unknown"
        subject, issuer = self.presented.get(str(thumbprint).upper(), (None, None))
        cert = self.by_thumbprint.get(str(thumbprint).upper())
        if cert is not None and cell(cert, "issuer_class"):
            return str(cert["issuer_class"])
        if cert is not None and cell(cert, "is_self_signed") is True:
            return "self-signed"
        if subject and issuer and subject.strip().lower() == issuer.strip().lower():
            return "self-signed"
        return "unknown"


# -- evidence rows -----------------------------------------------------------------------

_POINT_KINDS = {"event": "event 2004", "session": "SMTP send session", "tracking": "message tracking",
                "queue": "Get-Queue last error"}


def _point_rows(points: pd.DataFrame) -> list[dict[str, Any]]:
    # a row at a time, as the records are made anyway: a dozen column operations cost ~7 ms even with no rows
    rows = []
    for time, kind, response, thumbprint, connector, source, where in zip(
            points["time"], points["origin"].map(_POINT_KINDS), *(column(points, name) for name in (
                "response", "thumbprint", "connector", "source", "where"))):
        detail = "" if response is None else str(response)
        if thumbprint:
            detail = f"presented certificate {thumbprint}; answered: {detail}"
        if connector:
            detail = f"{connector}: {detail}"
        rows.append({"time": time, "kind": kind, "detail": detail, "source": source, "where": where})
    return rows


def _event_rows(events: pd.DataFrame, label: str) -> list[dict[str, Any]]:
    rows = []
    for row in events.itertuples(index=False):
        data = cell(row, "data") or {}
        detail = "; ".join(str(v) for v in data.values() if v) or (cell(row, "message") or "")
        rows.append({"time": cell(row, "time_created"), "kind": f"event {row.event_id}",
                     "detail": f"{label}: {detail}", "source": cell(row, "source"),
                     "where": f"{event_place(row) or 'no record id'} ({cell(row, 'computer')})"})
    return rows


def certificate_row(cert: dict[str, Any] | pd.Series, note: str = "") -> dict[str, Any]:
    """One certificate as an evidence row (time = NotBefore).

    >>> certificate_row({"thumbprint": "AB" * 20, "subject": "CN=mail", "issuer": "CN=CA",
    ...                  "issuer_class": "internal", "services": ("IIS", "SMTP")}, "selected")["detail"]
    'CN=mail issued by CN=CA (internal); services IIS, SMTP; selected'

    A date left unsettled in the hour the clocks go back over (``not_after_later``: :mod:`exlab.certs.repeated_hour`)
    is given with its second reading:

    >>> row = certificate_row({"subject": "CN=mail", "not_before": pd.Timestamp("2025-03-14", tz="UTC"),
    ...                        "not_after": pd.Timestamp("2026-10-25 00:30", tz="UTC"),
    ...                        "not_after_later": pd.Timestamp("2026-10-25 01:30", tz="UTC")})
    >>> print(row["detail"].split("; ")[2])     # doctest: +NORMALIZE_WHITESPACE
    valid 2025-03-14 00:00:00+00:00 to 2026-10-25 00:30:00+00:00 or 2026-10-25 01:30:00+00:00 (NotAfter printed
    in the hour the clocks go back over, and no file with the certificate's exact times (its .cer or .pem) tells
    which pass)
    """
    services = cell(cert, "services")
    parts = [f"{cell(cert, 'subject')} issued by {cell(cert, 'issuer')} ({cell(cert, 'issuer_class') or 'trust not judged'})",
             f"services {', '.join(services) if services is not None else 'not exported'}"]
    if cell(cert, "not_after") is not None:
        hedged = [DATE_NAMES[column] for column, later in LATER_COLUMNS.items() if cell(cert, later) is not None]
        parts.append(f"valid {_date_text(cert, 'not_before')} to {_date_text(cert, 'not_after')}"
                     + (f" ({' and '.join(hedged)} {UNSETTLED})" if hedged else ""))
    if note:
        parts.append(note)
    return {"time": cell(cert, "not_before"), "kind": "certificate", "detail": "; ".join(parts),
            "source": cell(cert, "source"), "where": f"thumbprint {cell(cert, 'thumbprint')}"}


def _date_text(cert: dict[str, Any] | pd.Series, column: str) -> str:
    """Date ``column`` of ``cert`` as an evidence row gives it: with its second reading when the hour the clocks
    go back over left it unsettled (:data:`~exlab.certs.merge.LATER_COLUMNS`).

    >>> _date_text({"not_after": pd.Timestamp("2026-10-25 00:30", tz="UTC"), "not_after_later": pd.NaT}, "not_after")
    '2026-10-25 00:30:00+00:00'
    """
    later = cell(cert, LATER_COLUMNS[column])
    return f"{cell(cert, column)}" + ("" if later is None else f" or {later}")


def _candidate_rows(facts: Facts) -> list[dict[str, Any]]:
    rows = []
    for _, cert in facts.candidates.iterrows():
        selected = facts.selected and str(cert["thumbprint"]).upper() == facts.selected
        rows.append(certificate_row(cert, "selected for outbound TLS" if selected else "candidate"))
    return rows


def _most_common_thumbprint(values: pd.Series) -> str | None:
    values = values.dropna()
    return None if values.empty else str(values.astype(str).str.upper().value_counts().index[0])


# -- rules -------------------------------------------------------------------------------

def internal_certificate_presented(facts: Facts) -> Finding | None:
    """KB 2888788, direct: the protocol log shows a CA-issued, not publicly trusted
    certificate presented and Exchange Online answering 454 4.7.0 UntrustedRoot."""
    refused = facts.failures_of("untrusted-root", "tls-access-denied", origins=["session"])
    if refused.empty:
        return None
    classes = refused["thumbprint"].map(facts.issuer_class)
    refused = refused[classes.isin(["internal", "unknown"]).to_numpy()]
    if refused.empty or refused["thumbprint"].isna().all():
        return None
    culprit = _most_common_thumbprint(refused["thumbprint"])
    rows = _point_rows(refused)
    if culprit in facts.by_thumbprint:
        rows.append(certificate_row(facts.by_thumbprint[culprit], "the certificate presented"))
    return Finding("internal-certificate-presented", "kb2888788", "direct",
                   f"{len(refused):,} session(s) presented certificate {culprit}, not publicly trusted, "
                   f"and were refused with 454 4.7.0 UntrustedRoot", evidence_rows(rows), culprit, len(refused))


def untrusted_root_failures(facts: Facts) -> Finding | None:
    """KB 2888788's symptom in events 2004, tracking or the queues' last errors: deliveries answered 454 4.7.0
    UntrustedRoot."""
    failed = facts.failures_of("untrusted-root", "tls-access-denied", origins=["event", "tracking", "queue"])
    if failed.empty:
        return None
    # one attempt may show in both (the event and the tracking DEFER row): each source is counted on its own
    counts = failed["origin"].value_counts()
    shown = [f"{counts[origin]:,} {words}" for origin, words in (("event", "event(s) 2004"),
                                                                  ("tracking", "message tracking row(s)"),
                                                                  ("queue", "Get-Queue last error(s)"))
             if origin in counts]
    return Finding("untrusted-root-failures", "kb2888788", "events",
                   f"{' and '.join(shown)} show deliveries answered 454 4.7.0 ... UntrustedRoot",
                   evidence_rows(_point_rows(failed)), None, len(failed))


def internal_certificate_selected(facts: Facts) -> Finding | None:
    """KB 2888788's set-up: public and internal certificates both cover the name for SMTP,
    and the transport picks the internal one (the newest)."""
    if _empty(facts.candidates) or not facts.selected or "issuer_class" not in facts.candidates:
        return None
    classes = dict(zip(facts.candidates["thumbprint"].astype(str).str.upper(), facts.candidates["issuer_class"]))
    if classes.get(facts.selected) != "internal" or "public" not in classes.values():
        return None
    return Finding("internal-certificate-selected", "kb2888788", "possible",
                   f"{len(classes)} certificates cover {facts.name} for SMTP, public and internal; "
                   f"the transport presents the internal one, {facts.selected}",
                   evidence_rows(_candidate_rows(facts)), facts.selected)


def public_certificate_selected(facts: Facts) -> Finding | None:
    """Context: the transport would present a publicly trusted certificate (healthy)."""
    if _empty(facts.candidates) or not facts.selected or "issuer_class" not in facts.candidates:
        return None
    chosen = facts.candidates[facts.candidates["thumbprint"].astype(str).str.upper() == facts.selected]
    if chosen.empty or chosen["issuer_class"].iloc[0] != "public":
        return None
    return Finding("public-certificate-selected", None, "context",
                   f"the transport presents {facts.selected}, issued by a publicly trusted CA, for {facts.name}",
                   evidence_rows(_candidate_rows(facts)), None)


def mail_flows(facts: Facts) -> Finding | None:
    """Context: sessions delivered mail over TLS; where there were failures, those that show mail
    flowing again (``exlab.analysis.timeline.flows_again``: from a server that failed, after its last
    failure)."""
    if _empty(facts.sessions) or "outcome" not in facts.sessions:
        return None
    delivered = deliveries(sessions=facts.sessions)
    if not facts.points.empty:
        delivered = delivered[flows_again(delivered, facts.points)]
    if delivered.empty:
        return None
    rows = [{"time": cell(r, "time"), "kind": "SMTP send session",
             "detail": f"delivered; presented certificate {cell(r, 'thumbprint')}",
             "source": cell(r, "source"), "where": cell(r, "where")}
            for r in delivered.itertuples(index=False)]
    thumbs = ", ".join(sorted({str(t) for t in delivered["thumbprint"].dropna()})) or "none logged"
    return Finding("mail-flows", None, "context",
                   f"{len(delivered):,} session(s) delivered mail"
                   f"{'' if facts.points.empty else ' after the last failure'} (certificates presented: {thumbs})",
                   evidence_rows(rows), None, len(delivered))


def tls_certificate_name_missing(facts: Facts) -> Finding | None:
    """Look-alike: TlsCertificateName names a certificate that is gone (454 4.7.5, event 12014)."""
    failed = facts.failures_of("tlscertificatename-missing")
    events = facts.events_with_id(12014)
    if failed.empty and events.empty and not facts.pin_missing:
        return None
    rows = _point_rows(failed) + (_event_rows(events, "no certificate for the name") if not events.empty else [])
    if facts.pin_missing:
        rows.append({"kind": "send connector", "where": f"connector {facts.connector}",
                     "source": _connector_source(facts),
                     "detail": f"TlsCertificateName {facts.tls_certificate_name}: no certificate in the "
                               f"export has that issuer and subject"})
    weight = ("direct" if (failed["origin"] == "session").any() else
              "events" if not failed.empty or not events.empty else "possible")
    return Finding("tls-certificate-name-missing", "tlscertificatename-missing", weight,
                   f"{attempts(failed):,} failed delivery attempt(s) 454 4.7.5 and {len(events):,} event(s) 12014: "
                   f"the certificate named in TlsCertificateName could not be found", evidence_rows(rows), None, len(failed))


def _connector_source(facts: Facts) -> str | None:
    if _empty(facts.connectors) or not facts.connector:
        return None
    named = facts.connectors[facts.connectors["name"].astype("string").str.lower() == facts.connector.lower()]
    return None if named.empty else cell(named.iloc[0], "source")


def certificate_expired(facts: Facts) -> Finding | None:
    """Look-alike: the certificate expired (12016, expired replies, or every candidate past NotAfter)."""
    failed = facts.failures_of("expired")
    events = facts.events_with_id(12016)
    rows = _point_rows(failed) + (_event_rows(events, "STARTTLS certificate expired") if not events.empty else [])
    culprit = None
    expired = pd.DataFrame()
    covering = facts.covering_smtp()
    when = facts.points["time"].min() if not facts.points.empty else facts.at
    if not covering.empty and when is not None:
        expired = covering[(covering["not_after"] < when).fillna(False).astype(bool)]
        if len(expired) == len(covering):
            rows += [certificate_row(c, f"expired before {when}") for _, c in expired.iterrows()]
            culprit = str(expired.sort_values("not_after")["thumbprint"].iloc[-1]).upper()
        else:
            expired = pd.DataFrame()
    warned = facts.events_with_id(12018)
    if culprit is None and not warned.empty:
        culprit = _most_common_thumbprint(warned["data"].map(lambda d: (d or {}).get("%2")))
    if failed.empty and events.empty and expired.empty:
        return None
    if not warned.empty:
        rows += _event_rows(warned, "STARTTLS certificate expires soon")
    weight = ("direct" if (failed["origin"] == "session").any() else
              "events" if not failed.empty or not events.empty else "possible")
    return Finding("certificate-expired", "certificate-expired", weight,
                   f"{attempts(failed):,} failed delivery attempt(s) for an expired certificate, "
                   f"{len(events):,} event(s) 12016, {len(warned)} warning(s) 12018", evidence_rows(rows), culprit, max(len(failed), len(events)))


def no_private_key(facts: Facts) -> Finding | None:
    """Look-alike: the certificate's private key is missing or unusable (NoCredentials)."""
    failed = facts.failures_of("no-private-key")
    keyless = pd.DataFrame()
    if failed.empty and not _empty(facts.candidates) and "has_private_key" in facts.candidates:
        keyless = facts.candidates[(facts.candidates["has_private_key"] == False).fillna(False).astype(bool)]  # noqa: E712
        if len(keyless) < len(facts.candidates):   # another candidate has a key: not the failure
            keyless = pd.DataFrame()
    if failed.empty and keyless.empty:
        return None
    culprit = _most_common_thumbprint(failed["thumbprint"]) if not failed.empty else None
    if culprit is None and not keyless.empty:
        culprit = str(keyless["thumbprint"].iloc[0]).upper()
    rows = _point_rows(failed) + [certificate_row(c, "no private key") for _, c in keyless.iterrows()]
    if culprit in facts.by_thumbprint and keyless.empty:
        rows.append(certificate_row(facts.by_thumbprint[culprit], "the certificate whose key failed"))
    weight = "direct" if (failed["origin"] == "session").any() else ("events" if not failed.empty else "possible")
    return Finding("no-private-key", "no-private-key", weight,
                   f"{attempts(failed)} TLS negotiation(s) failed with NoCredentials: the private key is missing or unusable",
                   evidence_rows(rows), culprit, len(failed))


def self_signed_only(facts: Facts) -> Finding | None:
    """Look-alike: only a self-signed certificate covers the name (or one was presented and refused)."""
    refused = facts.failures_of("untrusted-root", "tls-access-denied")
    presented = refused[refused["origin"] == "session"]
    classes = presented["thumbprint"].map(facts.issuer_class)
    presented = presented[(classes == "self-signed").to_numpy()]
    only = pd.DataFrame()
    if not _empty(facts.candidates) and "issuer_class" in facts.candidates:
        if (facts.candidates["issuer_class"] == "self-signed").all():
            only = facts.candidates
    if presented.empty and only.empty:
        return None
    culprit = _most_common_thumbprint(presented["thumbprint"]) if not presented.empty else str(only["thumbprint"].iloc[0]).upper()
    failures = presented if not presented.empty else (refused if not only.empty else refused.iloc[0:0])
    rows = _point_rows(failures) + [certificate_row(c, "self-signed") for _, c in only.iterrows()]
    weight = "direct" if not presented.empty else ("events" if not failures.empty else "possible")
    return Finding("self-signed-only", "self-signed-only", weight,
                   f"only a self-signed certificate ({culprit}) covers {facts.name or 'the name'}; "
                   f"{attempts(failures)} delivery attempt(s) refused", evidence_rows(rows), culprit, len(failures))


def tenant_attribution(facts: Facts) -> Finding | None:
    """Look-alike: Exchange Online could not attribute the connection to the tenant (550 5.7.64)."""
    failed = facts.failures_of("tenant-attribution")
    if failed.empty:
        return None
    weight = "direct" if (failed["origin"] == "session").any() else "events"
    return Finding("tenant-attribution", "tenant-attribution", weight,
                   f"{attempts(failed)} delivery attempt(s) refused with 550 5.7.64 TenantAttribution",
                   evidence_rows(_point_rows(failed)), _most_common_thumbprint(failed["thumbprint"]), len(failed))


def network(facts: Facts) -> Finding | None:
    """Look-alike: network or DNS trouble (451 4.4.0 / 421) with no certificate signal at all."""
    failed = facts.failures_of("network")
    if failed.empty or not facts.failures_of(*CERTIFICATE_CATEGORIES).empty:
        return None
    weight = "direct" if (failed["origin"] == "session").any() else "events"
    return Finding("network", "network", weight,
                   f"{attempts(failed)} delivery attempt(s) failed to connect (451 4.4.0 / 421) with no certificate signal",
                   evidence_rows(_point_rows(failed)), None, len(failed))


def certificate_events(facts: Facts) -> Finding | None:
    """Context: transport certificate events (12013, 12014, 12018, 12023, 12024) as they were logged."""
    events = facts.events_with_id(12013, 12018, 12023, 12024)
    if events.empty:
        return None
    return Finding("certificate-events", None, "context", f"{len(events):,} transport certificate event(s)",
                   evidence_rows(_event_rows(events, "transport certificate event")), None)


Rule = Callable[[Facts], "Finding | None"]

RULES: tuple[Rule, ...] = (
    internal_certificate_presented, untrusted_root_failures, internal_certificate_selected,
    tls_certificate_name_missing, certificate_expired, no_private_key, self_signed_only,
    tenant_attribution, network, public_certificate_selected, mail_flows, certificate_events,
)


def run_rules(facts: Facts, rules: Iterable[Rule] = RULES) -> list[Finding]:
    """Every finding the rules make on these facts, in rule order.

    >>> run_rules(Facts.build())
    []
    """
    return [finding for rule in rules if (finding := rule(facts)) is not None]
