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


def test_truncated_utf16_head():
    data = demo_connectors_fl().getvalue()
    assert sniff_transport(data[:1001]) == "connectors"  # cut inside a UTF-16 code unit
