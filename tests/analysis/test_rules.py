"""Each diagnosis rule: fires with its evidence rows and their origin, stays silent without."""

from __future__ import annotations

import pandas as pd
import pytest

from exlab.analysis import rules
from exlab.analysis.rules import Facts
from tests.analysis import frames as f

KB_CERTS = f.certs(f.cert(f.PUBLIC, "public", "2024-06-01", services=("IIS", "SMTP")),
                   f.cert(f.INTERNAL, "internal", "2025-03-14"))


def kb_facts(**kwargs) -> Facts:
    """The KB 2888788 set-up: both certificates cover the name, the newer internal one selected."""
    candidates = KB_CERTS.sort_values("not_before", ascending=False).reset_index(drop=True)
    return Facts.build(certs=KB_CERTS, candidates=candidates, selected=f.INTERNAL, name=f.FQDN, **kwargs)


def test_internal_certificate_presented_fires_on_a_refused_session_with_its_rows():
    facts = Facts.build(sessions=f.sessions(f.session("2025-03-20 09:14:02", f.UNTRUSTED),
                                            f.session("2025-03-20 09:29:02", f.UNTRUSTED),
                                            f.session("2025-03-19 09:00:00", f.QUEUED, f.PUBLIC, issuer=f.PUBLIC_ISSUER)))
    finding = rules.internal_certificate_presented(facts)
    assert finding.cause == "kb2888788" and finding.weight == "direct"
    assert finding.culprit == f.INTERNAL and finding.count == 2
    assert finding.evidence["source"].tolist() == ["SEND20250320-1.LOG"] * 2
    assert all(w.startswith("session 08DD") for w in finding.evidence["where"])
    assert f.INTERNAL in finding.evidence["detail"].iloc[0] and "UntrustedRoot" in finding.evidence["detail"].iloc[0]


def test_internal_certificate_presented_is_silent_for_delivered_or_self_signed_sessions():
    delivered = Facts.build(sessions=f.sessions(f.session("2025-03-20 09:00", f.QUEUED, f.PUBLIC)))
    assert rules.internal_certificate_presented(delivered) is None
    self_signed = Facts.build(sessions=f.sessions(
        f.session("2025-03-20 09:00", f.UNTRUSTED, f.SELF, issuer="CN=EX01", subject="CN=EX01")))
    assert rules.internal_certificate_presented(self_signed) is None
    assert rules.self_signed_only(self_signed).culprit == f.SELF


def test_a_public_certificate_refused_is_not_called_internal():
    facts = Facts.build(certs=KB_CERTS, sessions=f.sessions(f.session("2025-03-20 09:00", f.UNTRUSTED, f.PUBLIC)))
    assert rules.internal_certificate_presented(facts) is None


def test_untrusted_root_failures_counts_events_and_tracking():
    failures = f.failures(("2025-03-20 09:14:02", f.UNTRUSTED), ("2025-03-20 09:29:02", f.UNTRUSTED),
                          ("2025-03-20 09:40:00", f.NETWORK))
    tracking = f.tracking(("2025-03-20 09:14:03", "DEFER", "[{LED=" + f.UNTRUSTED + "};{MSG=}]"))
    finding = rules.untrusted_root_failures(Facts.build(failures=failures, tracking=tracking))
    assert finding.weight == "events" and finding.count == 3      # records
    # one attempt may show as an event and as a tracking DEFER row: each source is counted apart, never
    # summed into "3 delivery attempts"
    assert finding.summary.startswith("2 event(s) 2004 and 1 message tracking row(s) show deliveries answered")
    assert sorted(finding.evidence["kind"]) == ["event 2004", "event 2004", "message tracking"]
    assert "record 100" in finding.evidence["where"].iloc[0]
    assert rules.untrusted_root_failures(Facts.build(failures=f.failures(("2025-03-20 09:00", f.NETWORK)))) is None


def test_internal_certificate_selected_needs_both_classes_and_the_internal_one_chosen():
    finding = rules.internal_certificate_selected(kb_facts())
    assert finding.weight == "possible" and finding.culprit == f.INTERNAL
    assert len(finding.evidence) == 2 and finding.evidence["detail"].str.contains("selected").sum() == 1
    public_chosen = Facts.build(certs=KB_CERTS, candidates=KB_CERTS, selected=f.PUBLIC, name=f.FQDN)
    assert rules.internal_certificate_selected(public_chosen) is None
    assert rules.public_certificate_selected(public_chosen) is not None
    only_internal = f.certs(f.cert(f.INTERNAL, "internal", "2025-03-14"))
    assert rules.internal_certificate_selected(Facts.build(candidates=only_internal, selected=f.INTERNAL)) is None


def test_tls_certificate_name_missing_from_replies_or_12014():
    by_reply = Facts.build(failures=f.failures(("2025-03-20 09:00", f.TLSCERTNAME)))
    assert rules.tls_certificate_name_missing(by_reply).weight == "events"
    by_event = Facts.build(events=f.events(("2025-03-20 09:00", 12014, {"%1": "<I>CN=R3<S>CN=mail", "%2": f.CONNECTOR})))
    finding = rules.tls_certificate_name_missing(by_event)
    assert finding.evidence["kind"].tolist() == ["event 12014"] and "CN=R3" in finding.evidence["detail"].iloc[0]
    assert rules.tls_certificate_name_missing(Facts.build(failures=f.failures(("2025-03-20 09:00", f.UNTRUSTED)))) is None


def test_certificate_expired_from_12016_and_from_candidates_past_not_after():
    events = f.events(("2025-03-20 09:00", 12016, {"%1": f.FQDN}),
                      ("2025-03-10 03:17", 12018, {"%1": "CN=mail.contoso.com", "%2": f.PUBLIC, "%3": "48"}))
    finding = rules.certificate_expired(Facts.build(events=events, failures=f.failures(("2025-03-20 09:00", f.EXPIRED))))
    assert finding.weight == "events" and finding.culprit == f.PUBLIC
    assert set(finding.evidence["kind"]) == {"event 12016", "event 12018", "event 2004"}
    # Status=DateInvalid keeps an expired certificate out of the candidates: the covering ones count
    old = f.certs(f.cert(f.PUBLIC, "public", "2024-03-01", not_after="2025-03-15"),
                  f.cert(f.SELF, "self-signed", "2024-01-01", services=("IIS", "SMTP"), names=("ex01",), subject="CN=EX01"))
    by_date = rules.certificate_expired(Facts.build(certs=old, name="mail.contoso.com",
                                                    at=pd.Timestamp("2025-03-20", tz="UTC")))
    assert by_date.weight == "possible" and by_date.culprit == f.PUBLIC
    assert by_date.evidence["where"].tolist() == [f"thumbprint {f.PUBLIC}"]
    assert rules.certificate_expired(kb_facts(at=pd.Timestamp("2025-03-20", tz="UTC"))) is None


def test_no_private_key_from_a_failed_negotiation():
    facts = Facts.build(sessions=f.sessions(f.session("2025-03-20 09:00", None, f.INTERNAL, tls="failed",
                                                      tls_error="NoCredentials")))
    finding = rules.no_private_key(facts)
    assert finding.weight == "direct" and finding.culprit == f.INTERNAL
    assert "NoCredentials" in finding.evidence["detail"].iloc[0]
    assert rules.no_private_key(kb_facts()) is None


def test_self_signed_only_from_the_candidates():
    only = f.certs(f.cert(f.SELF, "self-signed", "2024-01-01", subject="CN=EX01", names=("ex01", f.FQDN)))
    finding = rules.self_signed_only(Facts.build(candidates=only, selected=f.SELF, name=f.FQDN))
    assert finding.weight == "possible" and finding.culprit == f.SELF
    assert rules.self_signed_only(kb_facts()) is None


@pytest.mark.parametrize("reply, rule, cause", [
    (f.TENANT, rules.tenant_attribution, "tenant-attribution"),
    (f.NETWORK, rules.network, "network"),
])
def test_reply_rules_fire_on_their_reply_only(reply, rule, cause):
    finding = rule(Facts.build(failures=f.failures(("2025-03-20 09:00", reply), ("2025-03-20 09:15", reply))))
    assert finding.cause == cause and finding.count == 2
    assert rule(Facts.build(failures=f.failures(("2025-03-20 09:00", f.UNTRUSTED)))) is None


def test_network_stays_silent_when_a_certificate_signal_exists():
    facts = Facts.build(failures=f.failures(("2025-03-20 09:00", f.NETWORK), ("2025-03-20 09:10", f.UNTRUSTED)))
    assert rules.network(facts) is None


def test_mail_flows_counts_only_sessions_after_the_last_failure():
    facts = Facts.build(sessions=f.sessions(f.session("2025-03-20 09:00", f.QUEUED, f.PUBLIC),
                                            f.session("2025-03-20 10:00", f.UNTRUSTED),
                                            f.session("2025-03-21 11:06", f.QUEUED, f.PUBLIC)))
    finding = rules.mail_flows(facts)
    assert finding.count == 1 and f.PUBLIC in finding.summary


def test_mail_flows_leaves_out_the_deliveries_of_a_server_that_never_failed():
    """EX02 delivered after EX01's last failure, EX01 never: no mail flowing again (the finding counted
    EX02's session, and the diagnosis then noted that the fix might be in place already)."""
    failing = f.sessions(f.session("2025-03-20 10:00", f.UNTRUSTED)).assign(server="EX01")
    healthy = f.sessions(f.session("2025-03-21 11:06", f.QUEUED, f.PUBLIC)).assign(server="EX02")
    facts = Facts.build(sessions=pd.concat([failing, healthy], ignore_index=True))
    assert rules.mail_flows(facts) is None
    recovered = f.sessions(f.session("2025-03-21 12:00", f.QUEUED, f.PUBLIC)).assign(server="ex01.contoso.com")
    facts = Facts.build(sessions=pd.concat([failing, healthy, recovered], ignore_index=True))
    finding = rules.mail_flows(facts)
    assert finding.count == 1 and finding.evidence["time"].tolist() == [pd.Timestamp("2025-03-21 12:00", tz="UTC")]


def test_no_rule_fires_on_nothing():
    assert rules.run_rules(Facts.build()) == []


def test_look_alike_findings_count_attempts_once_whatever_showed_them():
    """Two attempts, each seen as an event 2004 and as a refused session, are two failed attempts
    (the finding and the diagnosis said four); the finding still keeps the four records."""
    from exlab.analysis.diagnose import diagnose

    times = ("2025-03-20 09:14:02", "2025-03-20 09:29:02")
    failures = f.failures(*((t, f.EXPIRED) for t in times))
    sessions = f.sessions(*(f.session(t, f.EXPIRED, f.PUBLIC, issuer=f.PUBLIC_ISSUER) for t in times))
    finding = rules.certificate_expired(Facts.build(failures=failures, sessions=sessions))
    assert finding.summary.startswith("2 failed delivery attempt(s) for an expired certificate")
    assert finding.count == 4
    assert diagnose(failures=failures, sessions=sessions).failures == 2


def test_attempts_count_each_server_from_its_best_source():
    """EX01's two attempts show as events and sessions; EX02's events were not collected, its three
    sessions count (the diagnosis counted EX01's events only)."""
    from exlab.analysis.diagnose import diagnose

    failures = f.failures(("2025-03-20 09:14:02", f.UNTRUSTED), ("2025-03-20 09:29:02", f.UNTRUSTED),
                          computer="ex01.contoso.com")
    times = ("2025-03-20 09:14:01.9", "2025-03-20 09:29:01.9", "2025-03-20 09:05", "2025-03-20 09:20",
             "2025-03-20 10:40")
    sessions = f.sessions(*(f.session(t, f.UNTRUSTED) for t in times))
    sessions["server"] = pd.array(["EX01", "EX01", "EX02", "EX02", "EX02"], dtype="string")
    facts = Facts.build(failures=failures, sessions=sessions)
    assert rules.attempts(facts.points) == 5 and len(facts.points) == 7
    assert diagnose(failures=failures, sessions=sessions).failures == 5
