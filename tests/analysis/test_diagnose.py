"""The diagnosis: verdicts and their strength, look-alikes, what is missing, and safe remediation text."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from exlab.analysis.diagnose import conclude, diagnose
from exlab.analysis.remediation import kb2888788_steps, ps_quote, thumbprint_or_placeholder
from exlab.analysis.rules import Facts
from tests.analysis import frames as f

KB_CERTS = f.certs(f.cert(f.PUBLIC, "public", "2024-06-01", services=("IIS", "SMTP")),
                   f.cert(f.INTERNAL, "internal", "2025-03-14"))
KB_CANDIDATES = KB_CERTS.sort_values("not_before", ascending=False).reset_index(drop=True)
HEALTHY = f.certs(f.cert(f.PUBLIC, "public", "2024-06-01", services=("IIS", "SMTP")),
                  f.cert(f.INTERNAL, "internal", "2025-03-14", services=("IMAP", "POP", "IIS")))
UNTRUSTED_EVENTS = f.failures(("2025-03-20 09:14:02.1234567", f.UNTRUSTED), ("2025-03-20 09:29:05", f.UNTRUSTED),
                              ("2025-03-21 11:02:40", f.UNTRUSTED))
REFUSED = f.sessions(f.session("2025-03-19 10:00", f.QUEUED, f.PUBLIC, issuer=f.PUBLIC_ISSUER),
                     f.session("2025-03-20 09:14:01.5", f.UNTRUSTED), f.session("2025-03-21 11:02:39", f.UNTRUSTED))


def kb_facts(**kwargs) -> Facts:
    return Facts.build(certs=KB_CERTS, candidates=KB_CANDIDATES, selected=f.INTERNAL, name=f.FQDN,
                       connector=f.CONNECTOR, **kwargs)


def commands(diagnosis) -> list[str]:
    return [step.command for step in diagnosis.remediation if step.command]


def test_direct_a_protocol_log_alone_confirms_with_the_presented_thumbprint():
    d = diagnose(sessions=REFUSED)
    assert (d.verdict, d.cause, d.strength, d.culprit) == ("confirmed", "kb2888788", "direct", f.INTERNAL)
    assert d.onset == pd.Timestamp("2025-03-20 09:14:01.5", tz="UTC")
    assert d.end == pd.Timestamp("2025-03-21 11:02:39", tz="UTC")
    assert d.connector == f.CONNECTOR and any("protocol log" in note for note in d.notes)
    assert d.missing == []


def test_strong_events_and_the_certificate_set_up_confirm_with_the_exact_fix():
    d = conclude(kb_facts(failures=UNTRUSTED_EVENTS))
    assert (d.verdict, d.cause, d.strength, d.culprit) == ("confirmed", "kb2888788", "strong", f.INTERNAL)
    assert d.to_dict()["onset"] == "2025-03-20T09:14:02.1234567Z"
    assert d.to_dict()["end"] == "2025-03-21T11:02:40.0000000Z"
    # the pin first: Enable-ExchangeCertificate only adds services (its page), so the KB's own step may leave SMTP
    assert commands(d) == [
        f"Set-SendConnector 'Outbound to Office 365' -TlsCertificateName '<I>{f.PUBLIC_ISSUER}<S>CN=mail.contoso.com'",
        f"Get-ExchangeCertificate -Thumbprint {f.INTERNAL} | fl FriendlyName,Services",
        f"Enable-ExchangeCertificate -Thumbprint {f.INTERNAL} -Services IMAP,POP,IIS",
        f"Get-ExchangeCertificate -Thumbprint {f.INTERNAL} | fl FriendlyName,Services",
        "Restart-Service MSExchangeTransport",
    ]
    assert "only add services, so SMTP may stay: the pin then keeps" in d.remediation[3].purpose


def test_a_queues_last_error_and_the_certificate_set_up_confirm_as_events_do():
    """Get-Queue alone shows the failure (its LastError's answer at the last retry): with the certificates it
    confirms as events 2004 do, with the same fix; the finding says where the answer came from."""
    queues = pd.DataFrame({"server": ["EX01"], "identity": ["EX01\\3"], "status": ["Retry"], "message_count": [12],
                           "next_hop_domain": ["contoso-com.mail.protection.outlook.com"], "led": [f.UNTRUSTED],
                           "last_error_time": pd.to_datetime(["2025-03-21 11:02:40"], utc=True),
                           "source": ["Get-Queue.txt"], "line": [1]})
    d = conclude(kb_facts(queues=queues))
    events = conclude(kb_facts(failures=UNTRUSTED_EVENTS))
    assert (d.verdict, d.cause, d.strength, d.culprit) == ("confirmed", "kb2888788", "strong", f.INTERNAL)
    assert commands(d) == commands(events)
    assert d.end == pd.Timestamp("2025-03-21 11:02:40", tz="UTC")
    finding = next(e for e in d.evidence if e.rule == "untrusted-root-failures")
    assert finding.summary == "1 Get-Queue last error(s) show deliveries answered 454 4.7.0 ... UntrustedRoot"
    assert finding.evidence[["kind", "where"]].values.tolist() == [
        ["Get-Queue last error", "queue EX01\\3 to contoso-com.mail.protection.outlook.com, 12 message(s) waiting"]]


def test_no_failure_anywhere_asks_for_get_queue_unless_the_case_holds_it():
    """Nothing shows a failure yet: Get-Queue gives Exchange Online's last answer at once, so an inconclusive
    answer asks for it, before the steps that wait for the next retry (event 2004 at the Expert level, the
    protocol log turned on); not when the case holds it already (its queues then show no last error)."""
    asked = diagnose(server_fqdn=f.FQDN)
    assert asked.verdict == "inconclusive"
    commands = [step.command or "" for step in asked.missing]
    queue = next(i for i, c in enumerate(commands)
                 if c.endswith("Get-Queue | Export-Clixml C:\\exlab\\config\\Get-Queue.xml"))
    waits = [i for i, c in enumerate(commands) if "-Level Expert" in c or "-ProtocolLoggingLevel Verbose" in c]
    assert len(waits) == 2 and queue < min(waits), commands
    healthy = pd.DataFrame({"identity": ["EX01\\3"], "status": ["Ready"], "message_count": [0], "led": [None],
                            "source": ["Get-Queue.txt"]})
    held = diagnose(server_fqdn=f.FQDN, queues=healthy)
    assert held.verdict == "inconclusive" and held.missing
    assert not any("Get-Queue" in step.command for step in held.missing)


def test_the_protocol_log_beats_events_and_onset_comes_from_it():
    d = conclude(kb_facts(failures=UNTRUSTED_EVENTS, sessions=REFUSED))
    assert (d.verdict, d.strength) == ("confirmed", "direct")
    assert d.onset == pd.Timestamp("2025-03-20 09:14:01.5", tz="UTC")


def test_possible_certificates_alone_are_at_most_inconclusive_and_name_what_to_collect():
    d = conclude(kb_facts())
    assert (d.verdict, d.cause, d.strength, d.culprit) == ("inconclusive", "kb2888788", "possible", f.INTERNAL)
    assert d.onset is None
    collected = " | ".join(step.command for step in d.missing)
    assert 'Set-EventLogLevel "MSExchangeTransport\\SmtpSend" -Level Expert' in collected
    assert "Set-SendConnector 'Outbound to Office 365' -ProtocolLoggingLevel Verbose" in collected
    assert "Get-ExchangeCertificate | Format-List *" not in collected       # the certificates are there


def test_possible_events_alone_ask_for_the_certificates():
    d = conclude(Facts.build(failures=UNTRUSTED_EVENTS, events=f.events(("2025-03-20 09:14:02", 2004, {})),
                             connector=f.CONNECTOR))
    assert (d.verdict, d.cause, d.strength, d.culprit) == ("inconclusive", "kb2888788", "possible", None)
    collected = " | ".join(step.command for step in d.missing)
    assert "Get-ExchangeCertificate | Format-List *" in collected and "-ProtocolLoggingLevel Verbose" in collected
    assert "-Thumbprint <thumbprint>" in commands(d)[1]


def test_healthy_certificates_alone_do_not_rule_out():
    d = conclude(Facts.build(certs=HEALTHY, candidates=HEALTHY.iloc[[0]], selected=f.PUBLIC, name=f.FQDN))
    assert d.verdict == "inconclusive" and d.cause is None


def test_no_failures_and_a_healthy_selection_rule_out_with_no_cause():
    sessions = f.sessions(f.session("2025-03-20 09:00", f.QUEUED, f.PUBLIC), f.session("2025-03-20 10:00", f.QUEUED, f.PUBLIC))
    d = conclude(Facts.build(certs=HEALTHY, candidates=HEALTHY.iloc[[0]], selected=f.PUBLIC, name=f.FQDN,
                             sessions=sessions))
    assert (d.verdict, d.cause, d.culprit, d.onset) == ("ruled_out", None, None, None)
    assert d.remediation == [] and d.missing == []
    assert diagnose(sessions=sessions).verdict == "ruled_out"


def test_events_without_2004_prove_nothing_and_ask_for_expert_logging():
    quiet = f.events(("2025-03-20 03:17", 12018, {"%1": "CN=mail", "%2": f.PUBLIC, "%3": "400"}))
    d = conclude(Facts.build(events=quiet, certs=HEALTHY, candidates=HEALTHY.iloc[[0]], selected=f.PUBLIC))
    assert d.verdict == "inconclusive"
    assert any("Level Expert" in step.command for step in d.missing)


@pytest.mark.parametrize("facts, cause, culprit", [
    (dict(failures=f.failures(("2025-03-20 09:00", f.TLSCERTNAME)),
          events=f.events(("2025-03-20 09:00:00.1", 12014, {"%1": "<I>CN=R3<S>CN=mail", "%2": f.CONNECTOR}))),
     "tlscertificatename-missing", None),
    (dict(failures=f.failures(("2025-03-20 09:00", f.TENANT))), "tenant-attribution", None),
    (dict(failures=f.failures(("2025-03-20 09:00", f.NETWORK), ("2025-03-20 09:15", f.NETWORK))), "network", None),
    (dict(sessions=f.sessions(f.session("2025-03-20 09:00", None, f.PUBLIC, tls="failed", tls_error="NoCredentials"))),
     "no-private-key", f.PUBLIC),
    (dict(failures=f.failures(("2025-03-20 09:00", f.EXPIRED)), events=f.events(("2025-03-20 09:00", 12016, {"%1": f.FQDN}))),
     "certificate-expired", None),
])
def test_look_alikes_rule_out_kb2888788_and_name_their_cause(facts, cause, culprit):
    d = conclude(Facts.build(connector=f.CONNECTOR, **facts))
    assert (d.verdict, d.cause, d.culprit) == ("ruled_out", cause, culprit)
    assert d.onset == pd.Timestamp("2025-03-20 09:00", tz="UTC")
    assert d.remediation, "a look-alike comes with its own fix"
    assert not any("Enable-ExchangeCertificate -Thumbprint" in c and "-Services IMAP" in c for c in commands(d))


def test_untrusted_root_with_only_a_self_signed_certificate_is_the_self_signed_look_alike():
    only = f.certs(f.cert(f.SELF, "self-signed", "2024-01-01", subject="CN=EX01", names=("ex01", f.FQDN)))
    d = conclude(Facts.build(failures=UNTRUSTED_EVENTS, certs=only, candidates=only, selected=f.SELF, name=f.FQDN))
    assert (d.verdict, d.cause, d.culprit, d.strength) == ("ruled_out", "self-signed-only", f.SELF, "strong")


def test_network_blips_during_an_untrusted_root_outage_do_not_rule_it_out():
    blips = pd.concat([UNTRUSTED_EVENTS, f.failures(("2025-03-20 12:00", f.NETWORK))], ignore_index=True)
    d = conclude(kb_facts(failures=blips))
    assert (d.verdict, d.cause) == ("confirmed", "kb2888788")


def test_remediation_text_is_safe_for_hostile_evidence():
    assert ps_quote("O'Brien\u2019s connector") == "'O''Brien\u2019\u2019s connector'"
    assert ps_quote("x'; Remove-Item C:\\ -Recurse; '") == "'x''; Remove-Item C:\\ -Recurse; '''"
    assert ps_quote("two\nlines") == "<send connector name>"
    assert thumbprint_or_placeholder("3F2A; Stop-Computer") == "<thumbprint>"
    steps = kb2888788_steps("not-hex", ("IIS", "SMTP;Stop-Computer", "SMTP"), connector="a'b", public=("CN=I'ssuer", "CN=S"))
    text = "\n".join(s.command for s in steps)
    assert "<thumbprint>" in text and "Stop-Computer" not in text
    assert steps[2].command == "Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services IIS"
    assert steps[0].command == "Set-SendConnector 'a''b' -TlsCertificateName '<I>CN=I''ssuer<S>CN=S'"


def test_a_culprit_with_no_other_service_gets_services_none():
    steps = kb2888788_steps(f.INTERNAL, ("SMTP",), connector=f.CONNECTOR, public=None)
    assert steps[2].command == f"Enable-ExchangeCertificate -Thumbprint {f.INTERNAL} -Services None"


def test_to_dict_is_json_and_html_escapes_every_evidence_string():
    hostile = f.sessions(f.session("2025-03-20 09:00", f.UNTRUSTED + " <script>alert(1)</script>", f.INTERNAL,
                                   issuer="CN=<b>Evil</b> CA"))
    connectors = f.connectors()
    connectors.loc[1, "name"] = "<img src=x onerror=alert(1)>"
    hostile["connector"] = "<img src=x onerror=alert(1)>"
    d = diagnose(sessions=hostile, connectors=connectors)
    data = json.loads(json.dumps(d.to_dict()))
    assert data["verdict"] == "confirmed" and data["evidence"][0]["evidence"][0]["source"] == "SEND20250320-1.LOG"
    page = d._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "&lt;img src=x" in page
    assert "KB 2888788: confirmed" in str(d)


def test_a_pin_to_a_gone_certificate_is_replaced_by_the_current_public_one():
    renewed = f.certs(f.cert(f.PUBLIC, "public", "2025-06-20", services=("IIS", "SMTP"),
                             subject="CN=mail.contoso.com, O=Contoso GmbH, C=US"),
                      f.cert(f.SELF, "self-signed", "2024-01-01", names=("ex01", f.FQDN), subject="CN=EX01"))
    pinned = f"<I>{f.PUBLIC_ISSUER}<S>CN=mail.contoso.com, O=Contoso, C=US"
    d = conclude(Facts.build(certs=renewed, name="mail.contoso.com", connector=f.CONNECTOR, connectors=f.connectors(pinned),
                             pin_missing=True, tls_certificate_name=pinned,
                             failures=f.failures(("2025-06-24 09:17:44", f.TLSCERTNAME))))
    assert (d.verdict, d.cause, d.culprit) == ("ruled_out", "tlscertificatename-missing", None)
    assert commands(d)[2] == (f"Set-SendConnector 'Outbound to Office 365' -TlsCertificateName "
                              f"'<I>{f.PUBLIC_ISSUER}<S>CN=mail.contoso.com, O=Contoso GmbH, C=US'")
    connector_rows = [e for e in d.evidence if e.rule == "tls-certificate-name-missing"][0].evidence
    assert "send connector" in connector_rows["kind"].tolist()
    assert connector_rows.loc[connector_rows["kind"] == "send connector", "source"].tolist() == ["SendConnectors.xml"]


def test_certificates_alone_with_a_dangling_pin_are_a_possible_look_alike():
    pinned = f"<I>{f.PUBLIC_ISSUER}<S>CN=gone"
    d = conclude(Facts.build(certs=KB_CERTS, name=f.FQDN, connector=f.CONNECTOR, pin_missing=True,
                             tls_certificate_name=pinned))
    assert (d.verdict, d.cause, d.strength) == ("inconclusive", "tlscertificatename-missing", "possible")
    assert d.missing


# -- the fix follows what the public certificate and the connector allow ---------------------

def test_a_public_certificate_expired_before_the_failures_is_never_pinned_a_new_one_comes_first():
    expired = f.certs(f.cert(f.PUBLIC, "public", "2024-03-01", services=("IIS", "SMTP"), not_after="2025-03-01"),
                      f.cert(f.INTERNAL, "internal", "2025-03-14"))
    d = diagnose(certs=expired, sessions=REFUSED, server_fqdn=f.FQDN, connector=f.CONNECTOR)
    assert (d.verdict, d.strength, d.culprit, d.public) == ("confirmed", "direct", f.INTERNAL, None)
    assert d.remediation[0].purpose.startswith("Get a certificate from a public CA for the name (the public "
                                               f"certificate {f.PUBLIC} expired on 2025-03-01)")
    assert not any(f.PUBLIC_ISSUER in command for command in commands(d))      # the expired one is never pinned
    assert commands(d)[1].endswith("-TlsCertificateName '<I><issuer><S><subject>'")     # after getting one
    assert any("no certificate of the evidence is fit" in note for note in d.notes)


def test_a_public_certificate_not_enabled_for_smtp_is_enabled_with_its_services_kept():
    no_smtp = f.certs(f.cert(f.PUBLIC, "public", "2024-06-01", services=("IIS",)),
                      f.cert(f.INTERNAL, "internal", "2025-03-14"))
    d = diagnose(certs=no_smtp, sessions=REFUSED, server_fqdn=f.FQDN, connector=f.CONNECTOR)
    assert (d.verdict, d.culprit, d.public) == ("confirmed", f.INTERNAL, f.PUBLIC)
    assert commands(d)[0] == f"Enable-ExchangeCertificate -Thumbprint {f.PUBLIC} -Services IIS,SMTP"
    assert commands(d)[3] == f"Enable-ExchangeCertificate -Thumbprint {f.INTERNAL} -Services IMAP,POP,IIS"
    assert d.remediation[0].undo is None          # services are only ever added: SMTP cannot be taken off again
    assert "answer N" in d.remediation[0].purpose          # the prompt to replace the default SMTP certificate
    assert any("not enabled for SMTP" in note for note in d.notes)


def test_a_connector_that_pins_the_internal_certificate_is_fixed_by_pinning_the_public_one():
    pin = f"<I>{f.INTERNAL_ISSUER}<S>CN=mail.contoso.com"
    d = diagnose(certs=KB_CERTS, sessions=REFUSED, server_fqdn=f.FQDN, connector=f.CONNECTOR,
                 connectors=f.connectors(pin))
    assert (d.verdict, d.strength, d.culprit, d.pinned) == ("confirmed", "direct", f.INTERNAL, True)
    # taking SMTP off the internal certificate would change nothing: the pin decides
    assert not any(command.startswith("Enable-ExchangeCertificate") for command in commands(d))
    assert commands(d)[0] == (f"Set-SendConnector 'Outbound to Office 365' -TlsCertificateName "
                              f"'<I>{f.PUBLIC_ISSUER}<S>CN=mail.contoso.com'")
    assert d.to_dict()["pinned_by_connector"] is True


def test_exports_showing_the_public_certificate_presented_give_no_fix_and_say_why():
    pin = f"<I>{f.PUBLIC_ISSUER}<S>CN=mail.contoso.com"         # already pinned, after the failures
    d = diagnose(certs=KB_CERTS, failures=UNTRUSTED_EVENTS, server_fqdn=f.FQDN, connector=f.CONNECTOR,
                 connectors=f.connectors(pin))
    assert (d.verdict, d.cause, d.culprit, d.remediation) == ("inconclusive", "kb2888788", None, [])
    assert any(f"presenting the public certificate {f.PUBLIC}" in note for note in d.notes)


def test_an_export_made_after_smtp_was_taken_off_asks_to_check_not_to_take_it_off_again():
    d = diagnose(certs=HEALTHY, sessions=REFUSED, server_fqdn=f.FQDN, connector=f.CONNECTOR)
    assert (d.verdict, d.culprit) == ("confirmed", f.INTERNAL)
    assert commands(d)[1:] == [f"Get-ExchangeCertificate -Thumbprint {f.INTERNAL} | fl FriendlyName,Services",
                               "Restart-Service MSExchangeTransport"]
    assert d.remediation[1].purpose.startswith("Check that SMTP stays off")


def test_an_expired_certificate_is_replaced_keeping_its_services_and_a_pin_only_where_one_is_set():
    """The renewal takes over every service of the expired certificate (IIS too: with -Services SMTP
    alone, OWA stays bound to the expired one), is imported by a command, and the connector is
    re-pinned only if it pins a certificate (a pin set where none was would match nothing: 4.7.5)."""
    expired = f.certs(f.cert(f.PUBLIC, "public", "2024-03-01", services=("IIS", "SMTP"), not_after="2025-03-01"))
    refused = f.sessions(f.session("2025-03-20 09:14:01.5", f.EXPIRED, f.PUBLIC, issuer=f.PUBLIC_ISSUER))
    d = diagnose(certs=expired, sessions=refused, server_fqdn=f.FQDN, connector=f.CONNECTOR,
                 connectors=f.connectors())
    assert (d.verdict, d.cause) == ("ruled_out", "certificate-expired")
    assert commands(d)[1].startswith("Import-ExchangeCertificate -FileData ")
    assert commands(d)[2] == "Enable-ExchangeCertificate -Thumbprint <renewed thumbprint> -Services IIS,SMTP"
    assert not any(command.startswith("Set-SendConnector") for command in commands(d))
    pinned = diagnose(certs=expired, sessions=refused, server_fqdn=f.FQDN, connector=f.CONNECTOR,
                      connectors=f.connectors(f"<I>{f.PUBLIC_ISSUER}<S>CN=mail.contoso.com"))
    assert any(command.startswith("Set-SendConnector") for command in commands(pinned))


def test_each_change_of_the_fix_has_the_command_that_puts_it_back():
    """A change board asks for the back-out: the services taken off, the pin set (the connector's
    earlier pin put back, or none), last step first; steps that change nothing have none."""
    d = conclude(kb_facts(failures=UNTRUSTED_EVENTS))
    assert [step.undo for step in d.remediation] == [
        "Set-SendConnector 'Outbound to Office 365' -TlsCertificateName $null", None,
        f"Enable-ExchangeCertificate -Thumbprint {f.INTERNAL} -Services IMAP,POP,IIS,SMTP", None, None]
    assert str(d).split("to put back what the fix changes (last step first; the failures come back with it):\n")[1] \
        .splitlines()[:2] == [f"  Enable-ExchangeCertificate -Thumbprint {f.INTERNAL} -Services IMAP,POP,IIS,SMTP",
                              "  Set-SendConnector 'Outbound to Office 365' -TlsCertificateName $null"]
    earlier = f"<I>{f.INTERNAL_ISSUER}<S>CN=mail.contoso.com"
    pinned = diagnose(certs=KB_CERTS, sessions=REFUSED, server_fqdn=f.FQDN, connector=f.CONNECTOR,
                      connectors=f.connectors(earlier))
    assert pinned.remediation[0].undo == f"Set-SendConnector 'Outbound to Office 365' -TlsCertificateName '{earlier}'"
    assert d.to_dict()["remediation"][2]["undo"].startswith("Enable-ExchangeCertificate")


def test_mail_flowing_again_after_the_failures_says_the_fix_may_be_in_place():
    flowing = f.sessions(f.session("2025-03-20 09:14:01.5", f.UNTRUSTED),
                         f.session("2025-03-21 12:00:00", f.QUEUED, f.PUBLIC, issuer=f.PUBLIC_ISSUER))
    d = diagnose(certs=KB_CERTS, sessions=flowing, server_fqdn=f.FQDN, connector=f.CONNECTOR)
    assert any(note.startswith("mail was delivered again after the last failure (1 session(s) from "
                               "2025-03-21T12:00:00.0000000Z)") for note in d.notes)
    still = diagnose(certs=KB_CERTS, sessions=REFUSED[1:], server_fqdn=f.FQDN, connector=f.CONNECTOR)
    assert not any(note.startswith("mail was delivered again") for note in still.notes)


def test_the_fix_says_what_it_risks_the_restart_pause_and_the_pinned_certificates_end():
    d = conclude(kb_facts(failures=UNTRUSTED_EVENTS))
    restart = next(step for step in d.remediation if step.command == "Restart-Service MSExchangeTransport")
    assert "the server takes and sends no mail: senders retry" in restart.purpose
    (note,) = [note for note in d.notes if note.startswith("the pin names the public certificate")]
    assert f"{f.PUBLIC} expires on 2027-03-14T00:00:00.0000000Z" in note and "454 4.7.5" in note


def test_the_window_reaches_the_tracking_log_of_a_server_whose_other_logs_show_nothing():
    """EX01's protocol log shows its refusals; of EX02 only the tracking log was collected, and it deferred
    mail earlier and later: the outage window spans both (the tracking log counted only without
    events and sessions in the whole case)."""
    led = "[{LED=" + f.UNTRUSTED + "};{MSG=}]"
    tracking = f.tracking(("2025-03-20 08:30", "DEFER", led), ("2025-03-21 12:00", "DEFER", led))
    tracking["server"] = pd.array(["ex02.contoso.com"] * 2, dtype="string")
    sessions = REFUSED.assign(server=pd.array(["ex01.contoso.com"] * len(REFUSED), dtype="string"))
    d = diagnose(sessions=sessions, tracking=tracking)
    assert (d.verdict, d.culprit) == ("confirmed", f.INTERNAL)
    assert (d.onset, d.end) == (pd.Timestamp("2025-03-20 08:30", tz="UTC"), pd.Timestamp("2025-03-21 12:00", tz="UTC"))
    assert d.failures == 4
    assert diagnose(sessions=sessions, tracking=tracking.drop(columns="server")).onset == pd.Timestamp(
        "2025-03-20 09:14:01.5", tz="UTC")    # DEFER rows that name no server may be the sessions' attempts
