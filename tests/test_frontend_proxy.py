"""A send connector with FrontendProxyEnabled: the Transport (Hub) service hands each message to the Front End
Transport service (port 717, the ``Outbound Proxy Frontend`` receive connector; the same server's since Exchange
2016), and the Front End connects to Exchange Online, presents its certificate and is refused. The Hub's
``TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpSend`` shows the hand-off (the Hub presents the server's own
self-signed certificate to the Front End, and gets the Front End's refusal back); the Front End's
``FrontEnd\\ProtocolLog\\SmtpSend`` shows the session to Exchange Online with the certificate it presented.

The case is collected as an engineer collects it from EX01 (Exchange 2019): its Application log,
``Get-ExchangeCertificate | fl``, both SmtpSend folders, the tracking log, and ``Get-SendConnector | fl``."""

from __future__ import annotations

import io
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab.events.schema import events_frame
from exlab.lab.cases import _exchange_defaults, _x
from exlab.lab.generate import Generated, _session_spec, generate_case
from exlab.lab.scenario import Action, CertSpec, ConnectorSpec, Scenario, ServerSpec, Traffic
from exlab.lab.transport_logs import (
    LoggedCertificate,
    connector_properties,
    convert_to_json,
    export_clixml,
    format_list,
    write_protocol_logs,
    write_send_connectors,
)
from exlab.transport import read_connectors, tls_failures
from tests.samples import quiet_case

EX = ServerSpec("EX01", "ex01.contoso.com", "10.20.0.25")
CONNECTOR = "Outbound to Office 365"
FRONTEND_LOG = "EX01/TransportRoles/Logs/FrontEnd/ProtocolLog/SmtpSend"
HUB_LOG = "EX01/TransportRoles/Logs/Hub/ProtocolLog/SmtpSend"
ENABLE, FIX = "2025-03-20T12:00:00Z", "2025-03-20T16:00:00Z"
# the Front End's answer to the Hub when Exchange Online refused it: the refusal, wrapped (modelled on the
# "Proxy session setup failed on Frontend" errors Exchange queues show)
PROXY_REFUSAL = "451 4.4.0 Proxy session setup failed on Frontend with '{reply}'"


def _scenario() -> Scenario:
    """At noon an internal-CA certificate for mail.contoso.com was enabled for SMTP; the Front End presented it
    to Exchange Online until SMTP was taken off it at 16:00."""
    certs = (
        CertSpec("public", (EX.name,), "public", "mail.contoso.com", ("mail.contoso.com", EX.fqdn),
                 "2024-11-05T10:21:07Z", "2025-12-06T23:59:59Z", "mail.contoso.com 2024",
                 (("2024-11-05T14:02:11Z", ("IIS", "SMTP")),), organization="Contoso"),
        CertSpec("internal", (EX.name,), "internal", "mail.contoso.com", ("mail.contoso.com", EX.fqdn),
                 "2025-03-20T07:48:12Z", "2027-03-20T07:48:12Z", "Contoso internal",
                 (("2025-03-20T08:02:31Z", ()), (ENABLE, ("IIS", "SMTP")), (FIX, ("IIS",)))),
        *_exchange_defaults((EX,), "2022-06-13T08:11:40Z"),
    )
    return Scenario(
        case="contoso-frontend-proxy", story="the Front End presents an internal certificate", verdict="confirmed",
        cause="kb2888788", culprit="internal", org="Contoso", domain="contoso.com", tenant="contoso", tz="UTC",
        culture="en-US", servers=(EX,),
        connector=ConnectorSpec(CONNECTOR, "contoso-com.mail.protection.outlook.com",
                                ("smtp:contoso.mail.onmicrosoft.com;1",), (EX.name,), fqdn="mail.contoso.com"),
        certificates=certs, start="2025-03-20T04:00:00Z", end="2025-03-20T20:00:00Z",
        collected="2025-03-20T20:00:00Z", certs_exported="2025-03-20T19:00:00Z",
        actions=(Action(ENABLE, EX.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services SMTP", "enable"),
                 Action(FIX, EX.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services IIS", "fix"),
                 Action("2025-03-20T16:01:00Z", EX.name, "Restart-Service MSExchangeFrontEndTransport", "restart")),
        traffic=Traffic(office_rate=1.5, night_rate=0.2), noise_per_server=40,
        exports=(
            _x("EX01/Application.evtx", "evtx", EX.name),
            _x("EX01/Get-ExchangeCertificate.txt", "exchange-certs", EX.name, shape="fl", culture="en-US"),
            _x(FRONTEND_LOG, "protocol-log", EX.name),
            _x("EX01/TransportRoles/Logs/MessageTracking", "tracking-log", EX.name),
        ),
    )


def _write_hub_handoffs(gen: Generated) -> list[Path]:
    """The Hub's side of every Front End session: the same messages at the same times, sent to the Front End
    (``EX01:717``) after X-ANONYMOUSTLS with the server's own self-signed certificate; a refusal comes back
    wrapped by the Front End."""
    own = gen.certificates[f"self-signed-{EX.name.lower()}"]
    presented = LoggedCertificate(own.subject, own.issuer, f"{own.certificate.serial_number:X}", own.thumbprint,
                                  (EX.name, EX.fqdn))
    handoffs = []
    for session in gen.history.sessions:
        spec = _session_spec(gen, session)
        handoffs.append(replace(
            spec, session_id=spec.session_id[:-4] + "0717", local_endpoint=f"{EX.ip}:{spec.local_endpoint[-5:]}",
            remote_endpoint=f"{EX.ip}:717", remote_host=EX.fqdn.upper(), ehlo_domain=EX.fqdn.upper(),
            certificate=presented, remote_certificate=presented,
            reply=None if spec.reply is None else PROXY_REFUSAL.format(reply=spec.reply)))
    return write_protocol_logs(gen.folder / HUB_LOG, handoffs)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Generated:
    gen = generate_case(_scenario(), tmp_path_factory.mktemp("frontend"), events=40)
    assert not gen.missing
    _write_hub_handoffs(gen)
    c = gen.scenario.connector
    write_send_connectors(gen.folder / "Get-SendConnector.txt", [{
        "name": c.name, "fqdn": c.fqdn, "smart_hosts": (c.smart_host,), "address_spaces": c.address_spaces,
        "tls_domain": c.tls_domain, "tls_auth_level": c.tls_auth_level, "protocol_logging_level": "Verbose",
        "source_transport_servers": c.source_servers, "frontend_proxy_enabled": True}])
    return gen


@pytest.fixture(scope="module")
def case(generated) -> exlab.Case:
    return quiet_case(generated.folder)


def _thumbprint(gen: Generated, key: str) -> str:
    return gen.certificates[key].thumbprint


def _in_folder(frame: pd.DataFrame, folder: str) -> pd.Series:
    return frame["source"].astype(str).str.replace("\\", "/").str.startswith(folder + "/")


# -- what was right already ----------------------------------------------------------------------------------

def test_both_services_send_logs_are_read_and_attributed_to_the_server(case, generated):
    sessions = case.sessions
    frontend, hub = _in_folder(sessions, FRONTEND_LOG), _in_folder(sessions, HUB_LOG)
    assert frontend.sum() == hub.sum() == len(generated.history.sessions) > 0
    assert set(sessions["server"]) == {EX.fqdn}
    assert set(sessions.loc[frontend, "cert_thumbprint"]) == {_thumbprint(generated, "public"),
                                                              _thumbprint(generated, "internal")}
    assert set(sessions.loc[hub, "cert_thumbprint"]) == {_thumbprint(generated, "self-signed-ex01")}


def test_the_front_end_services_event_2004_is_a_failure_like_the_transport_services():
    reply = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
    events = events_frame([{"time_created": pd.Timestamp("2025-03-20 12:05", tz="UTC").value, "computer": EX.fqdn,
                            "provider": provider, "event_id": 2004, "record_id": n, "source": "Application.evtx",
                            "data": {"%1": CONNECTOR, "%2": f"<{n}@contoso.com>", "%3": reply}}
                           for n, provider in enumerate(("MSExchangeFrontEndTransport", "MSExchangeTransport"))])
    failures = tls_failures(events)
    assert failures[["provider", "connector", "cause"]].values.tolist() == [
        ["MSExchangeFrontEndTransport", CONNECTOR, "untrusted-root"],
        ["MSExchangeTransport", CONNECTOR, "untrusted-root"]]


# -- the defects -------------------------------------------------------------------------------------------------

def test_the_hubs_handoffs_to_the_front_end_are_told_apart(case):
    """Nothing told a session to the Front End's outbound proxy (port 717) from a session to Exchange Online."""
    from exlab.transport.protocol_log import send_sessions, to_frontend

    sessions = case.sessions
    assert to_frontend(sessions).tolist() == _in_folder(sessions, HUB_LOG).tolist()
    assert _in_folder(send_sessions(sessions), FRONTEND_LOG).all()


def test_with_the_hub_log_alone_the_hubs_certificate_is_not_blamed(generated, tmp_path):
    """Collected as COLLECT's first words say (Hub\\ProtocolLog\\SmtpSend only) and without the Application log,
    exlab said ``ruled_out``, cause ``self-signed-only``, culprit the server's self-signed certificate (direct),
    and told the engineer to get a public certificate and pin it: the self-signed one is what the Hub presents
    to its own Front End, which Exchange Online never sees. The tracking log's DEFER rows (454 UntrustedRoot)
    stay; the certificates were exported after the fix, so the culprit is not named (inconclusive)."""
    folder = tmp_path / "hub-only"
    shutil.copytree(generated.folder, folder, ignore=shutil.ignore_patterns("FrontEnd", "Application.evtx"))
    d = quiet_case(folder).diagnose()
    assert (d.verdict, d.cause) == ("inconclusive", "kb2888788") and d.failures > 0
    assert _thumbprint(generated, "self-signed-ex01") not in str(d)


def test_the_front_ends_certificate_is_the_culprit_and_the_handoffs_are_no_evidence(case, generated):
    """With both logs the verdict was right, but a second direct finding said only the self-signed certificate
    covers the name and 71 attempts were refused: the Hub's hand-offs read as deliveries to Exchange Online."""
    d = case.diagnose()
    assert (d.verdict, d.cause, d.culprit, d.strength) == ("confirmed", "kb2888788",
                                                           _thumbprint(generated, "internal"), "direct")
    assert _thumbprint(generated, "self-signed-ex01") not in str(d)
    [server] = case.diagnose_servers()
    assert (server.server, server.verdict, server.culprit, server.fix) == (
        EX.fqdn, "confirmed", _thumbprint(generated, "internal"), "fix")


def test_mail_flows_again_counts_only_what_reached_exchange_online(case, generated):
    """After the fix the note counted each message twice: the Front End's delivery and the Hub's hand-off."""
    from exlab.analysis.timeline import deliveries

    delivered = deliveries(sessions=case.sessions)
    assert len(delivered) > 0 and delivered["source"].str.replace("\\", "/").str.startswith(FRONTEND_LOG).all()
    fixed = pd.Timestamp(FIX)
    after = sum(1 for s in generated.history.sessions if not s.failed and s.start > fixed.value)
    [note] = [n for n in case.diagnose().notes if n.startswith("mail was delivered again")]
    assert f"({after} session(s) from" in note


# -- FrontendProxyEnabled in every connector export ----------------------------------------------------------

def _csv(objects: list[list[tuple[str, object]]]) -> str:
    """``Get-SendConnector | Export-Csv`` from a remote shell: #TYPE, every cell quoted, lists as their type."""
    def text(value: object) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, tuple):
            return "System.Collections.ArrayList"
        return "" if value is None else str(value)
    names = [name for name, _ in objects[0]]
    rows = [[text(value) for _, value in obj] for obj in objects]
    lines = ["#TYPE Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig"]
    lines += [",".join(f'"{cell}"' for cell in row) for row in [names, *rows]]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("shape", ["fl", "clixml", "json", "csv"])
def test_frontend_proxy_enabled_is_read_from_every_shape(shape):
    objects = [connector_properties({"name": name, "smart_hosts": ("contoso-com.mail.protection.outlook.com",),
                                     "frontend_proxy_enabled": proxied, "source_transport_servers": ("EX01",)})
               for name, proxied in ((CONNECTOR, True), ("Internet", False))]
    types = ("Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
             "Deserialized.System.Object")
    text = {"fl": lambda: format_list(objects), "clixml": lambda: export_clixml(objects, types),
            "json": lambda: convert_to_json(objects), "csv": lambda: _csv(objects)}[shape]()
    connectors = read_connectors(io.BytesIO(text.encode("utf-16" if shape != "csv" else "ascii")))
    assert connectors[["name", "frontend_proxy_enabled"]].values.tolist() == [[CONNECTOR, True], ["Internet", False]]
    assert str(connectors["frontend_proxy_enabled"].dtype) == "boolean"


def test_the_case_reads_the_connectors_frontend_proxy_enabled(case):
    assert case.connectors[["name", "frontend_proxy_enabled"]].values.tolist() == [[CONNECTOR, True]]


def test_a_lab_connector_can_send_through_the_front_end(tmp_path):
    """The lab wrote ``FrontendProxyEnabled : False`` whatever the scenario."""
    scenario = _scenario()
    scenario = replace(scenario, connector=replace(scenario.connector, frontend_proxy_enabled=True),
                       exports=(_x("Get-SendConnector.xml", "send-connector", None, shape="clixml"),))
    gen = generate_case(scenario, tmp_path, only=("send-connector",))
    assert read_connectors(gen.folder / "Get-SendConnector.xml")["frontend_proxy_enabled"].tolist() == [True]


def test_the_fleet_helpers_leave_the_handoffs_out_on_a_store_as_on_the_case(generated, tmp_path):
    """certificates_presented listed the self-signed certificate the Hub shows its own Front End as one the
    server presented, and the store's failed attempts counted the Front End's refusals of the hand-offs."""
    from exlab.fleet import certificates_presented, failure_spans, ingest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([generated.folder], tmp_path / "store", progress=False)
    case = quiet_case(generated.folder)
    for source in (tmp_path / "store", case):
        presented = set(certificates_presented(source)["cert_thumbprint"])
        assert presented == {_thumbprint(generated, "public"), _thumbprint(generated, "internal")}, source
    spans = failure_spans(tmp_path / "store")
    assert spans["failures"].tolist() == failure_spans(case)["failures"].tolist()


def test_the_fix_restarts_the_front_end_and_the_hub_log_alone_asks_for_the_front_ends(case, generated, tmp_path):
    """The fix restarted MSExchangeTransport only, while the Front End Transport service presents the
    certificate; and with the Hub's hand-offs alone the case asked for no protocol log at all."""
    restart = [step for step in case.diagnose().remediation if (step.command or "").startswith("Restart-Service")]
    assert [step.command for step in restart] == ["Restart-Service MSExchangeTransport, MSExchangeFrontEndTransport"]
    assert "Front End Transport service" in restart[0].purpose
    folder = tmp_path / "hub-only"
    shutil.copytree(generated.folder, folder, ignore=shutil.ignore_patterns("FrontEnd", "Application.evtx"))
    asked = [step.command for step in quiet_case(folder).diagnose().missing]
    assert any("Logs\\FrontEnd\\ProtocolLog\\SmtpSend\\SEND*.LOG" in (command or "") for command in asked), asked


def _sourced_by_mbx01(generated: Generated, folder: Path) -> Path:
    """The case in ``folder`` as collected from EX01 alone (its Front End log), its connector's source server MBX01."""
    shutil.copytree(generated.folder, folder, ignore=shutil.ignore_patterns("Get-SendConnector.txt", "Hub"))
    connector = read_connectors(generated.folder / "Get-SendConnector.txt").iloc[0].to_dict()
    write_send_connectors(folder / "Get-SendConnector.txt", [{**connector, "source_transport_servers": ("MBX01",)}])
    return folder


def test_a_front_end_the_source_servers_do_not_name_keeps_its_fix_and_is_told_why(generated, tmp_path):
    """Exchange 2013 with Client Access servers of their own: the connector's source server is MBX01, whose
    Transport service hands each message to the Front End Transport service of a Client Access server of its
    site, here EX01, which presents its certificate to Exchange Online. The evidence was collected from EX01
    alone. EX01 keeps its fix, and its answer says the Front End sends for the source servers (not that the
    connector export may be newer than the logs); MBX01 has no evidence of its own."""
    case = quiet_case(_sourced_by_mbx01(generated, tmp_path / "cas"))
    d = case.diagnose()
    assert (d.verdict, d.cause, d.culprit) == ("confirmed", "kb2888788", _thumbprint(generated, "internal"))
    answers = {answer.server: answer for answer in d.servers}
    front_end = answers["ex01.contoso.com"]
    assert (front_end.fix, front_end.sends) == ("fix", None)
    assert any("FrontendProxyEnabled: its source servers hand their outbound mail" in n for n in front_end.notes)
    assert not any("may be newer than the logs" in n for n in front_end.notes)
    assert (answers["MBX01"].fix, answers["MBX01"].sends) == ("none", True)


def test_with_frontend_proxy_a_server_without_failures_outside_the_sources_is_not_ruled_out(tmp_path):
    """litware's LWEX03 is not among the connector's SourceTransportServers and shows no failure: ruled out. With
    FrontendProxyEnabled on the connector its Front End Transport service may connect for them: it is not known to
    send or not, gets no fix and says why."""
    from tests.conftest import SAMPLES

    answers = {}
    for proxied in (False, True):
        folder = tmp_path / f"proxied-{proxied}"
        shutil.copytree(SAMPLES / "litware-servers", folder)
        connector = read_connectors(folder / "Get-SendConnector.txt").iloc[0].to_dict()
        write_send_connectors(folder / "Get-SendConnector.txt", [{**connector, "frontend_proxy_enabled": proxied}])
        answers[proxied] = {a.server: a for a in quiet_case(folder).diagnose_servers()}
    before, after = answers[False]["lwex03.litwareinc.com"], answers[True]["lwex03.litwareinc.com"]
    assert (before.verdict, before.sends) == ("ruled_out", False)
    assert after.verdict != "ruled_out" and after.sends is None and after.fix in ("none", "preventive")
    assert any("FrontendProxyEnabled: its source servers hand their outbound mail" in n for n in after.notes)
    case_notes = [n for n in quiet_case(tmp_path / "proxied-True").diagnose().notes if "FrontendProxyEnabled" in n]
    assert len(case_notes) == 1 and case_notes[0].startswith("lwex03.litwareinc.com is not among")
    assert {server: a.verdict for server, a in answers[True].items() if server != "lwex03.litwareinc.com"} == {
        server: a.verdict for server, a in answers[False].items() if server != "lwex03.litwareinc.com"}


def test_on_a_client_access_server_alone_the_fix_restarts_its_front_end_transport_service_only(generated, tmp_path):
    """Exchange 2013 with Client Access servers of their own: Get-ExchangeServer shows EX01 as ClientAccess alone.
    It runs no Transport service (Restart-Service MSExchangeTransport would fail there): its fix restarts the Front
    End Transport service alone, on it; the rest of the fix is as before."""
    from exlab.lab.transport_logs import write_exchange_servers

    folder = _sourced_by_mbx01(generated, tmp_path / "cas2013")
    build = "15.0 (Build 1497.2)"
    write_exchange_servers(folder / "Get-ExchangeServer.txt", [
        {"name": "EX01", "fqdn": EX.fqdn, "roles": "ClientAccess", "version": build},
        {"name": "MBX01", "fqdn": "mbx01.contoso.com", "roles": "Mailbox", "version": build}])
    case = quiet_case(folder)
    assert case.frames["servers"].set_index("name")["transport_service"].to_dict() == {"EX01": False, "MBX01": True}
    d = case.diagnose()
    restarts = [step for step in d.remediation if "Restart-Service" in (step.command or "")]
    assert [step.command for step in restarts] == [
        "Invoke-Command -ComputerName ex01.contoso.com { Restart-Service MSExchangeFrontEndTransport }"]
    assert restarts[0].purpose.startswith("On ex01.contoso.com: let the Front End Transport service pick up")
    others = [step.command for step in d.remediation if step not in restarts]
    assert any(f"-Thumbprint {_thumbprint(generated, 'internal')} -Server ex01.contoso.com" in c for c in others)


def test_the_fix_is_verified_on_the_queue_of_the_source_servers_and_the_front_ends_log(generated, tmp_path):
    """The Front End Transport service queues nothing: after the fix on EX01 (the Front End that presents the
    certificate), the queue to Exchange Online that drains is the Transport service's on the connector's source
    server MBX01, and the sessions that show the public certificate are in EX01's Front End send protocol log.
    The report said to watch the queue "on each server that got the fix", where Get-Queue shows none."""
    from exlab.report.model import build_report, verification

    d = quiet_case(_sourced_by_mbx01(generated, tmp_path / "cas")).diagnose()
    assert d.proxied and d.to_dict()["frontend_proxy"] is True
    verify = verification(d, d.public)
    assert verify.purpose.startswith("After the fix, watch the queue to Exchange Online on the connector's source "
                                     "servers (MBX01), whose Transport service holds it")
    assert verify.command.startswith("Get-Queue -Server MBX01 | Where-Object { $_.NextHopDomain -like ")
    assert "The Front End's send protocol log (TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend" in verify.expect
    [mbx01] = [answer for answer in d.servers if answer.server == "MBX01"]
    two = replace(d, servers=[*d.servers, replace(mbx01, server="MBX02")])
    assert verification(two, d.public).command.startswith(
        "'MBX01', 'MBX02' | ForEach-Object { Get-Queue -Server $_ } | Where-Object")
    from tests.conftest import SAMPLES

    plain = build_report(quiet_case(SAMPLES / "contoso-kb2888788")).verify     # no FrontendProxyEnabled: as before
    assert plain.purpose.endswith("(on each server that got the fix)") and plain.command.startswith("Get-Queue | ")
    assert plain.expect.count("The send protocol log then shows") == 1


def test_the_pin_must_reach_the_client_access_servers_that_present_it_not_the_mailbox_sources(generated, tmp_path):
    """The fix pins the public certificate on the connector (TlsCertificateName). With FrontendProxyEnabled in
    Exchange 2013 the Client Access servers present it, not the connector's Mailbox source servers: the note on
    where the pin must hold names EX01 and CAS02 (whose certificates were not collected), not MBX01."""
    from exlab.lab.transport_logs import write_exchange_servers
    from exlab.report.model import fix_steps

    folder = _sourced_by_mbx01(generated, tmp_path / "cas2013")
    build = "15.0 (Build 1497.2)"
    write_exchange_servers(folder / "Get-ExchangeServer.txt", [
        {"name": "EX01", "fqdn": EX.fqdn, "roles": "ClientAccess", "version": build},
        {"name": "CAS02", "fqdn": "cas02.contoso.com", "roles": "ClientAccess", "version": build},
        {"name": "MBX01", "fqdn": "mbx01.contoso.com", "roles": "Mailbox", "version": build}])
    d = quiet_case(folder).diagnose()
    assert any(" -TlsCertificateName " in (step.command or "") for step in d.remediation)
    [note] = [n for n in d.notes if n.startswith("the pin on ")]
    assert note.startswith(f"the pin on connector {CONNECTOR!r} holds for each server whose Front End Transport "
                           "service connects to Exchange Online for it (FrontendProxyEnabled) (cas02.contoso.com, "
                           "ex01.contoso.com): each must hold a certificate issued by ")
    assert note.endswith("no certificate export of cas02.contoso.com tells whether it does") and "MBX01" not in note
    pin = fix_steps(d)[0]       # the change board reads it where the pin is, not only among the notes
    assert pin.command.startswith("Set-SendConnector") and pin.purpose.endswith(f". Before you pin: {note}")


def test_a_restart_where_the_servers_services_are_unknown_says_what_it_does_on_a_client_access_server(
        case, generated, tmp_path):
    """Without Get-ExchangeServer, EX01 may be an Exchange 2013 Client Access server, where MSExchangeTransport does
    not exist: the restart of both services says that Restart-Service then reports it not found and restarts the Front
    End Transport service all the same (an engineer sees the error during the fix). Once Get-ExchangeServer shows
    EX01 to run the Transport service (Exchange 2016), the restart says nothing of it."""
    remark = ("; on an Exchange 2013 Client Access server, which runs no Transport service, it reports "
              "MSExchangeTransport not found and restarts the Front End Transport service all the same")
    [restart] = [step for step in case.diagnose().remediation if (step.command or "").startswith("Restart-Service")]
    assert restart.purpose.endswith(remark)
    from exlab.lab.transport_logs import write_exchange_servers

    folder = tmp_path / "ex2016"
    shutil.copytree(generated.folder, folder)
    write_exchange_servers(folder / "Get-ExchangeServer.txt", [
        {"name": "EX01", "fqdn": EX.fqdn, "roles": "Mailbox", "version": "15.1 (Build 2507.6)"}])
    [restart] = [step for step in quiet_case(folder).diagnose().remediation
                 if (step.command or "").startswith("Restart-Service")]
    assert restart.command == "Restart-Service MSExchangeTransport, MSExchangeFrontEndTransport"
    assert "Front End Transport service" in restart.purpose and remark not in restart.purpose
