"""Get-ReceiveConnector exports are never send connectors: whole Format-List blocks of Exchange 2016/2019 and
lists of selected properties (the ones a hybrid check asks for: Name, Fqdn, TlsCertificateName, RequireTLS,
which send connectors have too) go to the receive connectors, produce no send-connector row and leave the
verdict as it was."""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab.errors import ExlabWarning
from exlab.lab.transport_logs import default_receive_connectors, format_list, write_receive_connectors
from exlab.transport import read_connectors, read_receive_connectors, sniff_transport
from tests.samples import sample_cases

PUBLIC_PIN = ("<I>CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US<S>CN=mail.contoso.com, "
              "O=Contoso Ltd, L=Seattle, S=Washington, C=US")
EVERYONE = ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-255.255.255.255")
# the receive connectors of an Exchange 2019 Mailbox server: setup's five, and one an admin added for relay
CONNECTORS = [
    ("Default EX01", "HubTransport", 2525, "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
     "ExchangeUsers, ExchangeServers, ExchangeLegacyServers"),
    ("Client Proxy EX01", "HubTransport", 465, "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
     "ExchangeUsers, ExchangeServers"),
    ("Default Frontend EX01", "FrontendTransport", 25, "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, "
     "ExchangeServer", "AnonymousUsers, ExchangeServers, ExchangeLegacyServers"),
    ("Outbound Proxy Frontend EX01", "FrontendTransport", 717, "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, "
     "ExchangeServer", "ExchangeServers"),
    ("Client Frontend EX01", "FrontendTransport", 587, "Tls, Integrated, BasicAuth, BasicAuthRequireTLS",
     "ExchangeUsers"),
    ("Anonymous Relay", "FrontendTransport", 25, "None", "AnonymousUsers"),
]
NAMES = [name for name, *_ in CONNECTORS]


def _exchange_2019(name: str, role: str, port: int, auth: str, groups: str) -> list[tuple[str, object]]:
    """Every property ``Get-ReceiveConnector | fl`` shows for one connector on Exchange 2019, in its order."""
    frontend = name == "Default Frontend EX01"
    dn = (f"CN={name},CN=SMTP Receive Connectors,CN=Protocols,CN=EX01,CN=Servers,CN=Exchange Administrative Group "
          "(FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Contoso,CN=Microsoft Exchange,CN=Services,"
          "CN=Configuration,DC=contoso,DC=com")
    return [
        ("RunspaceId", "5c0f5b6e-3a5d-4d2e-9f61-0b1c2d3e4f50"), ("AuthMechanism", auth), ("Banner", None),
        ("BinaryMimeEnabled", True), ("Bindings", (f"[::]:{port}", f"0.0.0.0:{port}")), ("ChunkingEnabled", True),
        ("DefaultDomain", None), ("DeliveryStatusNotificationEnabled", True), ("EightBitMimeEnabled", True),
        ("SmtpUtf8Enabled", True), ("BareLinefeedRejectionEnabled", False), ("DomainSecureEnabled", True),
        ("EnhancedStatusCodesEnabled", True), ("LongAddressesEnabled", False), ("OrarEnabled", False),
        ("SuppressXAnonymousTls", False), ("ProxyEnabled", False), ("AdvertiseClientSettings", False),
        ("Fqdn", "mail.contoso.com" if frontend else "EX01.contoso.com"), ("ServiceDiscoveryFqdn", None),
        ("TlsCertificateName", PUBLIC_PIN if frontend else None), ("Comment", None), ("Enabled", True),
        ("ConnectionTimeout", "00:10:00"), ("ConnectionInactivityTimeout", "00:05:00"),
        ("MessageRateLimit", "Unlimited"), ("MessageRateSource", "IPAddress"), ("MaxInboundConnection", 5000),
        ("MaxInboundConnectionPerSource", "Unlimited"), ("MaxInboundConnectionPercentagePerSource", 100),
        ("MaxHeaderSize", "128 KB (131,072 bytes)"), ("MaxHopCount", 60), ("MaxLocalHopCount", 8),
        ("MaxLogonFailures", 3), ("MaxMessageSize", "36 MB (37,748,736 bytes)"), ("MaxProtocolErrors", 5),
        ("MaxRecipientsPerMessage", 200), ("PermissionGroups", groups), ("PipeliningEnabled", True),
        ("ProtocolLoggingLevel", "Verbose" if frontend else "None"), ("RemoteIPRanges", EVERYONE),
        ("RequireEHLODomain", False), ("RequireTLS", False), ("EnableAuthGSSAPI", False),
        ("ExtendedProtectionPolicy", "None"), ("LiveCredentialEnabled", False),
        ("TlsDomainCapabilities", ("mail.protection.outlook.com:AcceptCloudServicesMail",) if frontend else ()),
        ("Server", "EX01"), ("TransportRole", role), ("RejectReservedTopLevelRecipientDomains", False),
        ("RejectReservedSecondLevelRecipientDomains", False), ("RejectSingleLabelRecipientDomains", False),
        ("SizeEnabled", "Enabled"), ("TarpitInterval", "00:00:05"), ("AuthTarpitInterval", "00:00:05"),
        ("MaxAcknowledgementDelay", "00:00:30"), ("AdminDisplayName", None), ("ExchangeVersion", "0.1 (8.0.535.0)"),
        ("Name", name), ("DistinguishedName", dn), ("Identity", f"EX01\\{name}"),
        ("Guid", "0b5e8f3c-7d2a-4c61-9e8f-1a2b3c4d5e6f"),
        ("ObjectCategory", "contoso.com/Configuration/Schema/ms-Exch-Smtp-Receive-Connector"),
        ("ObjectClass", ("top", "msExchSmtpReceiveConnector")), ("WhenChanged", "3/14/2025 9:12:05 AM"),
        ("WhenCreated", "11/2/2023 4:21:44 PM"), ("WhenChangedUTC", "3/14/2025 8:12:05 AM"),
        ("WhenCreatedUTC", "11/2/2023 3:21:44 PM"), ("OrganizationId", None), ("Id", f"EX01\\{name}"),
        ("OriginatingServer", "DC01.contoso.com"), ("IsValid", True), ("ObjectState", "Unchanged"),
    ]


def _selected(properties: tuple[str, ...]) -> list[list[tuple[str, object]]]:
    """``Get-ReceiveConnector | fl <properties>``: each connector's properties, only those, in the order asked."""
    objects = []
    for connector in CONNECTORS:
        every = dict(_exchange_2019(*connector))
        objects.append([(name, every[name]) for name in properties])
    return objects


def _assert_receive_only(data: bytes, names: list[str]) -> None:
    """The export is a receive connector export: the send connector reader takes nothing from it and says why."""
    assert sniff_transport(data[:65536]) == "receive-connectors"
    with pytest.warns(ExlabWarning, match=rf"holds no send connector .* only {len(names)} receive connector"):
        send = read_connectors(io.BytesIO(data))
    assert send.empty
    assert read_receive_connectors(io.BytesIO(data))["name"].tolist() == names


@pytest.mark.parametrize("width,culture", [(120, "en-US"), (80, "en-US"), (80, "pl-PL"), (250, "de-DE")])
def test_whole_format_list_blocks_of_exchange_2019(width, culture):
    data = format_list([_exchange_2019(*connector) for connector in CONNECTORS], width=width,
                       culture=culture).encode("utf-16")
    _assert_receive_only(data, NAMES)
    frontend = read_receive_connectors(io.BytesIO(data)).iloc[2]
    assert (frontend["identity"], frontend["tls_certificate_name"]) == ("EX01\\Default Frontend EX01", PUBLIC_PIN)


@pytest.mark.parametrize("width", [80, 120])
def test_whole_format_list_blocks_of_exchange_2016_on_two_servers(width):
    connectors = default_receive_connectors("EX01", "EX01.contoso.com") + default_receive_connectors(
        "EX02", "EX02.contoso.com", hybrid_fqdn="mail.contoso.com", tls_certificate_name=PUBLIC_PIN)
    stream = io.BytesIO()
    write_receive_connectors(stream, connectors, shape="fl", width=width)
    _assert_receive_only(stream.getvalue(), [c["name"] for c in connectors])


@pytest.mark.parametrize("properties", [
    ("Name", "Fqdn", "TlsCertificateName", "RequireTLS"),                    # what a hybrid check asks for
    ("Name", "Fqdn", "TlsCertificateName", "TlsDomainCapabilities"),         # the Default Frontend of the wizard
    ("Identity", "Name", "TlsCertificateName", "RequireTLS", "Enabled"),
    ("Name", "Server", "TransportRole", "MaxInboundConnection", "RequireTLS", "TlsCertificateName"),
    ("Name", "Bindings", "RemoteIPRanges", "AuthMechanism", "PermissionGroups", "RequireTLS"),
])
@pytest.mark.parametrize("width", [80, 120])
def test_selected_properties_of_receive_connectors_are_not_send_connectors(properties, width):
    data = format_list(_selected(properties), width=width).encode("utf-16")
    _assert_receive_only(data, NAMES)
    pins = read_receive_connectors(io.BytesIO(data))["tls_certificate_name"].tolist()
    assert pins[2] == PUBLIC_PIN if "TlsCertificateName" in properties else pd.isna(pins[2])


def test_one_custom_receive_connector_by_its_identity():
    # Get-ReceiveConnector "EX01\Anonymous Relay" | fl Name,Identity,Fqdn,TlsCertificateName,RequireTLS
    data = format_list([[("Name", "Anonymous Relay"), ("Identity", "EX01\\Anonymous Relay"),
                         ("Fqdn", "relay.contoso.com"), ("TlsCertificateName", None), ("RequireTLS", False)]])
    _assert_receive_only(data.encode("utf-16"), ["Anonymous Relay"])


def test_convert_to_json_of_selected_properties_by_the_distinguished_name_of_the_identity():
    # Select-Object Name,Identity,TlsCertificateName,RequireTLS | ConvertTo-Json: the Identity is an object
    rows = [{"Name": name, "Identity": {"Name": name, "DistinguishedName": dict(_exchange_2019(name, *rest))[
             "DistinguishedName"], "ObjectGuid": "0b5e8f3c-7d2a-4c61-9e8f-1a2b3c4d5e6f"},
             "TlsCertificateName": None, "RequireTLS": False} for name, *rest in CONNECTORS]
    _assert_receive_only(json.dumps(rows, indent=4).encode("utf-16"), NAMES)


@pytest.mark.parametrize("type_line", [
    "#TYPE Selected.Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector\r\n", ""])
def test_export_csv_of_selected_properties(type_line):
    rows = "".join(f'"{name}","EX01\\{name}","","False"\r\n' for name in NAMES)
    data = (type_line + '"Name","Identity","TlsCertificateName","RequireTLS"\r\n' + rows).encode("utf-8-sig")
    _assert_receive_only(data, NAMES)


def test_selected_properties_of_send_connectors_are_still_send_connectors():
    data = format_list([[("Name", "Outbound to Office 365"), ("Fqdn", "mail.contoso.com"),
                         ("TlsCertificateName", PUBLIC_PIN), ("RequireTLS", True)],
                        [("Name", "Internet"), ("Fqdn", None), ("TlsCertificateName", None),
                         ("RequireTLS", False)]]).encode("utf-16")
    assert sniff_transport(data) == "connectors"
    assert read_connectors(io.BytesIO(data))["name"].tolist() == ["Outbound to Office 365", "Internet"]


def _contoso(root: Path, *, receive: bytes | None, names: tuple[str, ...]) -> exlab.Case:
    """contoso-kb2888788's files ``names`` under ``root``, with ``receive`` as config/Get-ReceiveConnector.txt."""
    sample = {s.name: s for s in sample_cases()}["contoso-kb2888788"]
    for name in names:
        source = sample.folder / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    if receive is not None:
        (root / "config").mkdir(exist_ok=True)
        (root / "config" / "Get-ReceiveConnector.txt").write_bytes(receive)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        return exlab.open_case(root, roots=sample.roots, tz=sample.truth["tz"])


def _answer(case: exlab.Case) -> tuple:
    d = case.diagnose()
    return d.verdict, d.cause, d.culprit, d.selected, d.strength, d.connector


# the Hybrid Configuration Wizard pins the public certificate on the Default Frontend receive connector
FRONTEND_PIN = "<I>CN=exlab Lab Public Server CA 01, O=exlab lab, C=US<S>CN=mail.contoso.com"


def test_a_receive_connector_pin_does_not_change_the_verdict(tmp_path):
    # only the certificates and the server: were the Default Frontend taken for the send connector, its pin of
    # the public certificate would be read as the connector's, and the case would talk of a missing pin
    names = ("certs", "config/Get-ExchangeServer.txt")
    receive = format_list([[("Name", "Default Frontend EXCHANGE"), ("Fqdn", "mail.contoso.com"),
                            ("TlsCertificateName", FRONTEND_PIN), ("RequireTLS", False)]]).encode("utf-16")
    without = _contoso(tmp_path / "without", receive=None, names=names)
    case = _contoso(tmp_path / "with", receive=receive, names=names)
    assert case.connectors is None and case.receive_connectors["name"].tolist() == ["Default Frontend EXCHANGE"]
    assert _answer(case) == _answer(without)


def test_receive_connectors_beside_the_send_connector_leave_it_alone(tmp_path):
    names = ("certs", "config", "events", "logs")
    receive = format_list([[("Name", f"{name} EXCHANGE"), ("Fqdn", "mail.contoso.com"),
                            ("TlsCertificateName", FRONTEND_PIN if name == "Default Frontend" else None),
                            ("RequireTLS", False)]
                           for name in ("Default", "Client Proxy", "Default Frontend", "Outbound Proxy Frontend",
                                        "Client Frontend")]).encode("utf-16")
    without = _contoso(tmp_path / "without", receive=None, names=names)
    case = _contoso(tmp_path / "with", receive=receive, names=names)
    assert case.connectors["name"].tolist() == ["Outbound to Office 365"]
    assert len(case.receive_connectors) == 5 and pd.isna(case.connectors.loc[0, "tls_certificate_name"])
    assert _answer(case) == _answer(without)
