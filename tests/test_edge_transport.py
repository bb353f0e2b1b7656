"""Hybrid mail flow through an Edge Transport server (EdgeSync): the 2004 events, the SmtpSend protocol log
(``TransportRoles\\Logs\\Edge\\ProtocolLog\\SmtpSend``) and the certificate presented to Exchange Online are
the Edge's; the Mailbox servers only relay to it. The case is collected as an engineer collects it: from the
Edge (not domain-joined, another DNS suffix, a local shell) its Application log, ``Get-ExchangeCertificate |
fl``, its protocol and tracking logs; from the Mailbox servers their Application log and certificates; from
the organisation ``Get-SendConnector | fl`` (the HCW connector, SourceTransportServers the Edge Subscription)
and ``Get-ExchangeServer | fl`` (the Edge: ServerRole Edge, IsEdgeServer True)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab.analysis.remediation import COLLECT, Step, on_server, rollback
from exlab.analysis.rules import Facts
from exlab.analysis.diagnose import diagnose
from exlab.attribution import edge_hosts, exchange_servers, rows_of
from exlab.errors import ExlabWarning
from exlab.lab import write_evtx
from exlab.lab.cases import _exchange_defaults, _x
from exlab.lab.generate import generate_case
from exlab.lab.scenario import Action, CertSpec, ConnectorSpec, Scenario, ServerSpec, Traffic
from exlab.lab.transport_logs import convert_to_json, export_clixml, format_list, server_properties
from exlab.transport.settings import read_servers
from tests.samples import quiet_case, sample_cases

MBX1 = ServerSpec("LWEX01", "lwex01.litwareinc.com", "10.60.1.11")
MBX2 = ServerSpec("LWEX02", "lwex02.litwareinc.com", "10.60.1.12")
EDGE = ServerSpec("LWEDGE01", "lwedge01.perimeter.litware.net", "192.168.50.10")   # a workgroup machine's suffix
CONNECTOR = "Outbound to Office 365"
SITE = "litwareinc.com/Configuration/Sites/Default-First-Site-Name"


def _scenario() -> Scenario:
    """On 14 October an admin enabled an internal-CA certificate for SMTP on the Edge; the Edge has presented it
    to Exchange Online since. The Mailbox servers hold the public certificate for IIS only and an internal one
    for SMTP: they relay to the Edge and never send to Exchange Online."""
    enable = "2025-10-14T13:05:18Z"
    certs = (
        CertSpec("public-edge", (EDGE.name,), "public", "mail.litwareinc.com", ("mail.litwareinc.com",),
                 "2025-04-07T12:00:00Z", "2026-05-08T23:59:59Z", "Litware 2025",
                 (("2025-04-07T15:20:00Z", ("SMTP",)),), organization="Litware Inc"),
        CertSpec("internal", (EDGE.name,), "internal", "mail.litwareinc.com",
                 ("mail.litwareinc.com", EDGE.fqdn), "2025-10-14T12:48:30Z", "2027-10-14T12:48:30Z",
                 "LWEDGE01 internal", (("2025-10-14T12:51:02Z", ()), (enable, ("SMTP",)))),
        CertSpec("public-mbx", (MBX1.name, MBX2.name), "public", "mail.litwareinc.com",
                 ("mail.litwareinc.com", "autodiscover.litwareinc.com"), "2025-04-07T12:00:00Z",
                 "2026-05-08T23:59:59Z", "Litware 2025", (("2025-04-07T15:20:00Z", ("IIS",)),),
                 organization="Litware Inc"),
        CertSpec("internal-mbx", (MBX1.name, MBX2.name), "internal", "mail.litwareinc.com",
                 ("mail.litwareinc.com", MBX1.fqdn, MBX2.fqdn), "2025-08-19T09:10:00Z", "2027-08-19T09:10:00Z",
                 "Mailbox internal", (("2025-08-19T09:14:45Z", ("IMAP", "POP", "SMTP")),)),
        *_exchange_defaults((MBX1, MBX2, EDGE), "2024-03-04T16:25:10Z"),
    )
    return Scenario(
        case="litware-edge", story="the Edge presents an internal certificate", verdict="confirmed",
        cause="kb2888788", culprit="internal", org="Litware", domain="litwareinc.com", tenant="litwareinc",
        tz="America/Los_Angeles", culture="en-US", servers=(MBX1, MBX2, EDGE),
        connector=ConnectorSpec(CONNECTOR, "litwareinc-com.mail.protection.outlook.com",
                                ("smtp:litwareinc.mail.onmicrosoft.com;1",), (EDGE.name,), fqdn="mail.litwareinc.com"),
        certificates=certs, start="2025-10-14T07:00:00Z", end="2025-10-15T01:30:00Z",
        collected="2025-10-15T01:30:00Z", certs_exported="2025-10-15T01:12:40Z",
        actions=(Action(enable, EDGE.name, "Enable-ExchangeCertificate -Thumbprint {internal} -Services SMTP",
                        "enable"),),
        traffic=Traffic(office_rate=1.5, night_rate=0.2), noise_per_server=60,
        exports=(
            _x("LWEDGE01/Application.evtx", "evtx", EDGE.name),
            _x("LWEDGE01/Get-ExchangeCertificate.txt", "exchange-certs", EDGE.name, shape="fl", culture="en-US"),
            _x("LWEDGE01/TransportRoles/Logs/Edge/ProtocolLog/SmtpSend", "protocol-log", EDGE.name),
            _x("LWEDGE01/TransportRoles/Logs/MessageTracking", "tracking-log", EDGE.name),
            _x("LWEX01/Application.evtx", "evtx", MBX1.name),
            _x("LWEX01/Get-ExchangeCertificate.txt", "exchange-certs", MBX1.name, shape="fl", culture="en-US"),
            _x("LWEX02/Get-ExchangeCertificate.txt", "exchange-certs", MBX2.name, shape="fl", culture="en-US"),
            _x("Get-SendConnector.txt", "send-connector", None, shape="fl"),
        ),
    )


def _exchange_servers(edge_role: object = "Edge") -> list[list[tuple[str, object]]]:
    """Get-ExchangeServer in the organisation: the Mailbox servers, and the subscribed Edge as it lists it."""
    edge = {"ServerRole": edge_role, "Site": None, "IsHubTransportServer": False, "IsMailboxServer": False,
            "IsEdgeServer": True}
    return [server_properties({"name": MBX1.name, "fqdn": MBX1.fqdn, "site": SITE}),
            server_properties({"name": MBX2.name, "fqdn": MBX2.fqdn, "site": SITE}),
            [(name, edge.get(name, value)) for name, value in
             server_properties({"name": EDGE.name, "fqdn": EDGE.fqdn, "site": SITE})]]


@pytest.fixture(scope="module")
def edge_case_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edge")
    gen = generate_case(_scenario(), out, events=60)
    assert not gen.missing
    (gen.folder / "Get-ExchangeServer.txt").write_bytes(format_list(_exchange_servers()).encode("utf-16"))
    return gen.folder


@pytest.fixture(scope="module")
def edge_case(edge_case_folder) -> exlab.Case:
    return quiet_case(edge_case_folder)


def _edge_internal(case: exlab.Case) -> pd.Series:
    """The internal-CA certificate of the Edge's store (``Get-ExchangeCertificate | fl`` names no FriendlyName)."""
    certs = case.certs
    [row] = [row for _, row in certs.iterrows() if row["issuer_class"] == "internal" and EDGE.fqdn in row["server"]]
    return row


# -- what was right already ------------------------------------------------------------------------------

def test_the_edge_evidence_is_the_edge_servers_and_it_is_an_exchange_server(edge_case):
    edge = EDGE.fqdn
    for kind in ("sessions", "tracking"):
        assert set(edge_case.frames[kind]["server"]) == {edge}, kind
    events = edge_case.events
    assert set(events.loc[events["source"] == "LWEDGE01/Application.evtx", "server"]) == {edge}
    assert _edge_internal(edge_case)["server"] == edge
    certs = edge_case.certs
    from_edge = certs["source"].str.contains("LWEDGE01/")
    assert from_edge.sum() == 4 and all(edge in cell.split("; ") for cell in certs.loc[from_edge, "server"])
    assert not any(edge in cell for cell in certs.loc[~from_edge, "server"])
    assert exchange_servers(edge_case.frames) == sorted([edge, MBX1.fqdn, MBX2.fqdn])
    assert edge_case.server_list() == sorted([edge, MBX1.fqdn, MBX2.fqdn])


def test_the_edges_internal_certificate_is_the_culprit_and_the_mailbox_servers_are_not_blamed(edge_case):
    culprit = _edge_internal(edge_case)["thumbprint"]
    answers = {d.server: d for d in edge_case.diagnose_servers()}
    edge = answers[EDGE.fqdn]
    assert (edge.verdict, edge.cause, edge.culprit, edge.strength, edge.fix) == (
        "confirmed", "kb2888788", culprit, "direct", "fix")
    for mailbox in (MBX1.fqdn, MBX2.fqdn):      # an internal certificate for SMTP, no public one: they only relay
        assert (answers[mailbox].verdict, answers[mailbox].fix, answers[mailbox].remediation) == (
            "ruled_out", "none", [])
        assert answers[mailbox].sends is False
    d = edge_case.diagnose()
    assert (d.verdict, d.cause, d.culprit, d.strength) == ("confirmed", "kb2888788", culprit, "direct")


def test_collected_on_the_mailbox_servers_only_the_inventory_asks_for_the_edges_evidence(edge_case_folder, tmp_path):
    folder = tmp_path / "mailbox-only"
    shutil.copytree(edge_case_folder, folder, ignore=shutil.ignore_patterns("LWEDGE01"))
    case = quiet_case(folder)
    kinds = case.inventory().set_index("kind")
    for kind in ("events", "certs"):
        assert kinds.loc[kind, "status"] == "unusable"
        assert kinds.loc[kind, "why"].endswith(f"not a source transport server of the send connector ({EDGE.fqdn})")
    edge = {d.server: d for d in case.diagnose_servers()}[EDGE.fqdn]
    assert (edge.verdict, edge.fix) == ("inconclusive", "none")


# -- the defects -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["fl", "json", "clixml"])
def test_get_exchange_server_tells_the_edge_transport_server(tmp_path, shape):
    """The servers frame held name and fqdn only: nothing could tell the Edge from a Mailbox server."""
    objects = _exchange_servers(edge_role=64 if shape == "json" else "Edge")   # ConvertTo-Json: the flags' number
    if shape == "json":
        for obj in objects[:2]:
            obj[:] = [(name, 38 if name == "ServerRole" else value) for name, value in obj]
    text = {"fl": lambda: format_list(objects),
            "json": lambda: convert_to_json(objects),
            "clixml": lambda: export_clixml(objects, ("Deserialized.Microsoft.Exchange.Data.Directory.Management."
                                                      "ExchangeServer", "Deserialized.System.Object"))}[shape]()
    path = tmp_path / f"Get-ExchangeServer.{shape}"
    path.write_bytes(text.encode("utf-16"))
    servers = read_servers(path)
    assert servers[["name", "edge"]].values.tolist() == [[MBX1.name, False], [MBX2.name, False], [EDGE.name, True]]


def test_the_facts_know_the_connector_is_replicated_to_the_edge_by_edge_sync(edge_case):
    facts = Facts.build(connectors=edge_case.connectors, connector=edge_case.connector, servers=edge_case.servers)
    assert facts.edge_sync == (EDGE.name,)
    assert facts.is_edge(EDGE.fqdn) and facts.is_edge("lwedge01") and not facts.is_edge(MBX1.fqdn)
    mailbox_only = Facts.build(connectors=edge_case.connectors.assign(source_transport_servers=[(MBX1.name,)]),
                               connector=edge_case.connector, servers=edge_case.servers)
    assert mailbox_only.edge_sync == ()


def test_the_edges_fix_runs_on_the_edge_itself_and_the_connector_change_goes_through_edge_sync(edge_case):
    """The fix aimed at the Edge gave ``-Server lwedge01...`` and ``Invoke-Command -ComputerName lwedge01...``
    (neither reaches an Edge from the organisation) and ``Set-SendConnector`` with no word of EdgeSync. The
    Edge's own diagnosis (its rows, no server named, no Get-ExchangeServer: the fix not aimed yet), aimed as
    the Edge's."""
    from exlab.analysis.remediation import through_edge_sync

    frames = {kind: rows_of(edge_case.frames.get(kind), [EDGE.fqdn]) for kind in ("events", "sessions", "tracking")}
    frames["sessions"] = frames["sessions"].assign(source="SEND20251014-1.LOG")  # the Edge's own log folder tells it
    d = diagnose(**frames, certs=rows_of(edge_case.certs, [EDGE.fqdn]), connectors=edge_case.connectors,
                 server_fqdn=EDGE.fqdn, connector=CONNECTOR, roots=edge_case.roots)
    assert (d.verdict, d.culprit) == ("confirmed", _edge_internal(edge_case)["thumbprint"])
    facts = Facts.build(connectors=edge_case.connectors, connector=CONNECTOR, servers=edge_case.servers)
    steps = on_server(through_edge_sync(d.remediation, facts.edge_sync), EDGE.fqdn, edge=facts.is_edge(EDGE.fqdn))
    _assert_edge_fix(steps, d.culprit)
    assert on_server(through_edge_sync(d.remediation, ()), EDGE.fqdn) == on_server(d.remediation, EDGE.fqdn)


def _assert_edge_fix(steps: list[Step], culprit: str) -> None:
    commands = [step.command for step in steps if step.command]
    assert not any(f"-Server {EDGE.fqdn}" in c or "Invoke-Command" in c for c in commands), commands
    assert f"Enable-ExchangeCertificate -Thumbprint {culprit} -Services None" in commands
    assert "Restart-Service MSExchangeTransport" in commands
    [pin] = [step for step in steps if (step.command or "").startswith("Set-SendConnector")]
    assert pin.command.startswith(f"Set-SendConnector '{CONNECTOR}' -TlsCertificateName '<I>")
    assert pin.command.endswith("; Start-EdgeSynchronization")
    assert pin.purpose.startswith("In the organisation, in the Exchange Management Shell of a Mailbox server")
    assert EDGE.name in pin.purpose
    on_edge = [step for step in steps if step.purpose.startswith(f"On the Edge Transport server {EDGE.fqdn} itself")]
    assert len(on_edge) == 4 and "-Server and remote PowerShell" in on_edge[0].purpose
    assert f"Set-SendConnector '{CONNECTOR}' -TlsCertificateName $null; Start-EdgeSynchronization" in rollback(steps)


def test_the_case_gives_the_edge_its_own_fix(edge_case):
    d = {d.server: d for d in edge_case.diagnose_servers()}[EDGE.fqdn]
    _assert_edge_fix(d.remediation, d.culprit)
    pins = [step.command for step in edge_case.diagnose().remediation if (step.command or "").startswith("Set-Send")]
    assert pins and all(pin.endswith("; Start-EdgeSynchronization") for pin in pins)


def test_without_get_exchange_server_the_edges_own_log_folder_tells_the_edge(edge_case_folder, tmp_path):
    """Collected without Get-ExchangeServer, nothing told the Edge: its fix said ``-Server lwedge01...`` and
    ``Invoke-Command``, which do not reach an Edge from the organisation. Its protocol logs sit in the Edge's own
    folder (``TransportRoles\\Logs\\Edge\\ProtocolLog``): the Edge gets the Edge's fix; with the folder flattened
    nothing tells, and the fix stays the organisation's."""
    folder = tmp_path / "no-servers"
    shutil.copytree(edge_case_folder, folder, ignore=shutil.ignore_patterns("Get-ExchangeServer.txt"))
    case = quiet_case(folder)
    assert case.servers is None
    d = {d.server: d for d in case.diagnose_servers()}[EDGE.fqdn]
    _assert_edge_fix(d.remediation, d.culprit)
    flat = tmp_path / "flat"
    shutil.copytree(folder, flat)
    shutil.move(flat / "LWEDGE01" / "TransportRoles" / "Logs" / "Edge" / "ProtocolLog", flat / "LWEDGE01")
    shutil.rmtree(flat / "LWEDGE01" / "TransportRoles")
    d = {d.server: d for d in quiet_case(flat).diagnose_servers()}[EDGE.fqdn]
    assert any(f"-Server {EDGE.fqdn}" in (step.command or "") for step in d.remediation)


def test_what_the_evidence_shows_of_an_edge_yields_to_get_exchange_server(edge_case):
    """A folder named Edge under Logs, or an EdgeSync connector, tells an Edge that Get-ExchangeServer does not list;
    a server it lists as another role stays that role."""
    sessions = pd.DataFrame({"source": ["X/Logs/Edge/ProtocolLog/SmtpSend/SEND1.LOG"] * 2,
                             "connector": ["Outbound to Office 365"] * 2, "server": [MBX1.fqdn, "LWEDGE02"]})
    assert edge_hosts(edge_case.servers, sessions=sessions) == {"lwedge01", "lwedge02"}
    synced = pd.DataFrame({"name": ["EdgeSync - Default-First-Site-Name to Internet"],
                           "source_transport_servers": [("LWEDGE03",)]})
    assert Facts.build(connectors=synced).is_edge("lwedge03.perimeter.litware.net")
    inbound = sessions.assign(source="SEND1.LOG", connector="EdgeSync - Inbound to Default-First-Site-Name")
    assert edge_hosts(None, sessions=inbound) == {"lwex01", "lwedge02"}


def test_a_purpose_that_starts_with_an_acronym_keeps_it():
    """``On EX02: kB 2888788's own step``: the first letter was lowered whatever the word."""
    [step] = on_server([Step("KB 2888788's own step: take SMTP off it", "Enable-ExchangeCertificate -Thumbprint "
                             + "AB" * 20 + " -Services IIS")], "EX02")
    assert step.purpose == "On EX02: KB 2888788's own step: take SMTP off it"


def test_the_certificate_export_step_does_not_call_an_edges_shell_remote():
    purpose = COLLECT["certs"].purpose
    assert "of a Mailbox server, always a remote session" in purpose
    assert "an Edge Transport server's shell is local" in purpose


# -- Microsoft-Exchange-* crimson-channel providers -------------------------------------------------------

START = pd.Timestamp("2025-03-20 08:00", tz="UTC").value


def test_crimson_channel_providers_of_exchange_show_an_exchange_server(tmp_path):
    """A collector's ForwardedEvents holds the Edge's Managed Availability events and a domain controller's:
    the Edge is an Exchange server of the case (a verdict of its own), the domain controller is not."""
    sample = {case.name: case for case in sample_cases()}.get("contoso-kb2888788")
    if sample is None:
        pytest.skip("no lab cases in data/samples")
    folder = tmp_path / "contoso"
    shutil.copytree(sample.folder, folder)
    rows = [{"time_created": START + n * 1_000_000_000, "event_id": event_id, "record_id": n + 1, "level": 4,
             "provider": provider, "channel": "ForwardedEvents", "computer": computer, "data": {"%1": "x"}}
            for n, (provider, event_id, computer) in enumerate([
                ("Microsoft-Exchange-ManagedAvailability", 1, "EDGE09.perimeter.contoso.net"),
                ("Microsoft-Exchange-HighAvailability", 111, "EDGE09.perimeter.contoso.net"),
                ("Microsoft-Windows-Security-Kerberos", 4, "DC01.contoso.com")])]
    write_evtx(folder / "ForwardedEvents.evtx", rows)
    case = quiet_case(folder)
    assert case.server_list() == ["edge09.perimeter.contoso.net", "exchange.contoso.com"]
    assert sorted(case.server_verdicts()["server"]) == case.server_list()
    [note] = [note for note in case.diagnose().notes if "no Exchange event" in note]
    assert note.startswith("1 computer(s)") and "dc01.contoso.com" in note and "edge09" not in note


def test_the_reports_first_step_says_the_connector_is_changed_in_the_organisation(edge_case):
    """The report put its own words on the pin, and lost where it runs: EdgeSync's copy on the Edge cannot be
    changed, so the pin is set in the organisation and synchronized."""
    from exlab.report.model import build_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        first = build_report(edge_case).fix[0]
    assert first.command.endswith("; Start-EdgeSynchronization")
    assert first.purpose.startswith("In the organisation, in the Exchange Management Shell of a Mailbox server")
    assert "pin the public certificate on the send connector" in first.purpose


def test_the_edges_own_receive_connector_tells_the_edge(edge_case_folder, tmp_path):
    """Collected without Get-ExchangeServer and with the logs flattened, Get-ReceiveConnector | fl run on the Edge
    (its 'Default internal receive connector LWEDGE01') tells the Edge: it gets the Edge's fix."""
    from exlab.lab.transport_logs import write_receive_connectors

    flat = tmp_path / "flat"
    shutil.copytree(edge_case_folder, flat, ignore=shutil.ignore_patterns("Get-ExchangeServer.txt"))
    shutil.move(flat / "LWEDGE01" / "TransportRoles" / "Logs" / "Edge" / "ProtocolLog", flat / "LWEDGE01")
    shutil.rmtree(flat / "LWEDGE01" / "TransportRoles")
    edge_receive = {"name": f"Default internal receive connector {EDGE.name}", "server": EDGE.name,
                    "bindings": ("0.0.0.0:25", "[::]:25"), "transport_role": "HubTransport"}
    write_receive_connectors(flat / "LWEDGE01" / "Get-ReceiveConnector.txt", [edge_receive])
    case = quiet_case(flat)
    assert case.receive_connectors["name"].tolist() == [edge_receive["name"]]
    d = {d.server: d for d in case.diagnose_servers()}[EDGE.fqdn]
    _assert_edge_fix(d.remediation, d.culprit)
