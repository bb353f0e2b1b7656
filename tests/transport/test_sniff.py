"""sniff_transport routes files by content: each kind recognised, others refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from exlab.lab.transport_logs import demo_connectors_fl, demo_protocol_log, demo_servers_json, demo_tracking_log
from exlab.transport import sniff_transport

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("path,kind", [
    ("ProtocolLog/SmtpSend/SEND20250320-1.LOG", "protocol-log"),
    ("ProtocolLog/SmtpSend/SEND20250321-1.LOG", "protocol-log"),
    ("MessageTracking/MSGTRK2025032008-1.LOG", "tracking-log"),
    ("config/connectors-fl-en.txt", "connectors"),
    ("config/connectors-fl-pl.txt", "connectors"),
    ("config/connectors-local.xml", "connectors"),
    ("config/connectors-local.json", "connectors"),
    ("config/servers-fl.txt", "servers"),
])
def test_fixtures(path, kind):
    assert sniff_transport((FIXTURES / path).read_bytes()[:65536]) == kind


def test_demos():
    assert sniff_transport(demo_protocol_log().read(4096)) == "protocol-log"
    assert sniff_transport(b"#Software: Microsoft Exchange Server\r\n#Log-type: SMTP Receive Protocol Log\r\n") \
        == "protocol-log"
    assert sniff_transport(demo_tracking_log().read(4096)) == "tracking-log"
    assert sniff_transport(demo_connectors_fl().read(4096)) == "connectors"
    assert sniff_transport(demo_servers_json().read(4096)) == "servers"


@pytest.mark.parametrize("head", [
    b"",
    b"\x00\x01\x02binary",
    b"ElfFile\x00",
    b"#Software: Microsoft Exchange Server\r\n#Log-type: Connectivity Log\r\n",
    "FriendlyName       : Contoso internal\r\nServices           : IMAP, POP, IIS, SMTP\r\n".encode("utf-16"),
    b'{"Thumbprint": "3F2A", "Services": 31}',
    b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj><Props>'
    b'<S N="Thumbprint">3F2A</S></Props></Obj></Objs>',
    b"Level,Date and Time,Source,Event ID,Task Category\r\n",
])
def test_other_files_are_not_transport(head):
    assert sniff_transport(head) is None


@pytest.mark.parametrize("shape", ["fl", "csv", "clixml", "json"])
def test_get_queue_output_is_queues_and_no_other_kind(shape):
    import io

    from exlab.lab.transport_logs import queue_row, write_queue_export
    from exlab.transport.sniff import DETECTORS
    from exlab.transport.tracking_export import detect_tracking_export

    out = io.BytesIO()
    write_queue_export([queue_row("EX01", 7, next_hop_domain="contoso-com.mail.protection.outlook.com",
                                  connector_guid="6f9d2e34-8c1b-4b7a-9e02-3a5c7d1f0b48", message_count=3,
                                  last_error_reply="454 4.7.0 Failed to establish appropriate TLS channel: "
                                                   "UntrustedRoot")], out, shape)
    head = out.getvalue()[:65536]
    assert [kind for kind, detect in DETECTORS.items() if detect(head)] == ["queues"]
    assert sniff_transport(head) == "queues" and not detect_tracking_export(head)


def test_truncated_utf16_head():
    data = demo_connectors_fl().getvalue()
    assert sniff_transport(data[:1001]) == "connectors"  # cut inside a UTF-16 code unit


_TLS_NAME = ("<I>CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US<S>CN=mail.contoso.com, "
             "O=Contoso Ltd, L=Seattle, S=Washington, C=US")


def _fl(*objects: list[tuple[str, object]], width: int = 120) -> bytes:
    """``... | fl Prop1,Prop2 > file.txt`` as Windows PowerShell 5.1 writes it: UTF-16 LE with BOM."""
    from exlab.lab.transport_logs import format_list
    return format_list(objects, width=width).encode("utf-16")


@pytest.mark.parametrize("properties", [
    [("Name", "Outbound to Office 365"), ("Fqdn", "mail.contoso.com"), ("TlsCertificateName", _TLS_NAME),
     ("RequireTLS", True)],
    [("Name", "Outbound to Office 365"), ("TlsCertificateName", _TLS_NAME)],
    [("Name", "Outbound to Office 365"), ("RequireTLS", True)],
    [("Name", "Outbound to Office 365"), ("TlsDomain", "mail.protection.outlook.com")],
])
def test_selected_send_connector_properties_are_connectors(properties):
    # Get-SendConnector | fl Name,Fqdn,TlsCertificateName,RequireTLS: the way the KB article asks for them
    assert sniff_transport(_fl(properties, [("Name", "Internet"), *properties[1:]], width=80)) == "connectors"


@pytest.mark.parametrize("properties,kind", [
    # Get-ReceiveConnector shares Name, Fqdn, RequireTLS and TlsCertificateName; its own properties tell it
    ([("Name", "Default Frontend EX01"), ("Fqdn", "EX01.contoso.com"), ("Bindings", ("[::]:25", "0.0.0.0:25")),
      ("RequireTLS", False), ("TlsCertificateName", None)], "receive-connectors"),
    ([("Name", "Client Frontend EX01"), ("RequireTLS", True), ("PermissionGroups", "ExchangeUsers")],
     "receive-connectors"),
    ([("Name", "Internet"), ("TlsCertificateName", _TLS_NAME), ("AuthMechanism", "Tls")], "receive-connectors"),
    ([("Name", "EX01"), ("Fqdn", "EX01.contoso.com"), ("ServerRole", "Mailbox")], "servers"),
    ([("Name", "EX01"), ("Fqdn", "EX01.contoso.com")], None),        # Get-ExchangeServer | fl Name,Fqdn
    ([("FriendlyName", "Contoso internal"), ("Services", "IMAP, POP, IIS, SMTP"), ("Subject", "CN=mail.contoso.com"),
      ("Thumbprint", "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55")], None),   # Get-ExchangeCertificate | fl
])
def test_other_selected_properties_are_not_send_connectors(properties, kind):
    assert sniff_transport(_fl(properties)) == kind
