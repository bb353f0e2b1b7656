"""A mixed organization in one case folder: an Exchange 2010 SP3 Hub Transport server and an
Exchange 2016 server, both source servers of the hybrid send connector.

Each server's evidence is in the shape its version writes: the 2010 server's logs headed
``#Version: 14.0.0.0`` (26 tracking fields, DEFER replies as written) and its certificates as
the default table, whose Services column has six letters (``IP.WS.``); the 2016 server's logs
with 30 tracking fields and its certificates as Format-List. Get-ExchangeServer and
Get-SendConnector are the 2010 shapes (no CloudServicesMailEnabled).
"""

from __future__ import annotations

from pathlib import Path

import exlab
from tests.transport.test_legacy_logs import (
    DENIED,
    FIELDS_2010,
    INTERNAL,
    PROTOCOL_FIELDS,
    PUBLIC,
    QUEUED,
    log_bytes,
    send_session,
    tracking_rows,
)
from exlab.transport.schema import TRACKING_FIELDS
from tests.samples import quiet_case

SELF_SIGNED = "0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C"


def _console(path: Path, text: str) -> None:
    """Console output redirected to a file by Windows PowerShell: UTF-16, CRLF."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("\n", "\r\n"), encoding="utf-16")


def _log(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _table_2010(rows: list[tuple[str, str, str]]) -> str:
    lines = "".join(f"{thumbprint}  {letters:<9}  {subject}\n" for thumbprint, letters, subject in rows)
    return ("\nThumbprint                                Services   Subject\n"
            "----------                                --------   -------\n" + lines + "\n")


def _format_list(certificate: tuple[str, str, str], services: str, root_ca_type: str) -> str:
    subject, issuer, thumbprint = certificate
    return f"""
CertificateDomains : {{mail.contoso.com, autodiscover.contoso.com}}
HasPrivateKey      : True
IsSelfSigned       : False
Issuer             : {issuer}
NotAfter           : 1/15/2026 11:59:59 PM
NotBefore          : 3/14/2025 9:02:05 AM
RootCAType         : {root_ca_type}
Services           : {services}
Status             : Valid
Subject            : {subject}
Thumbprint         : {thumbprint}

"""


SERVERS = """
Name                 : EX2010
Fqdn                 : EX2010.contoso.com
AdminDisplayVersion  : Version 14.3 (Build 123.4)
ServerRole           : Mailbox, ClientAccess, HubTransport
IsHubTransportServer : True
Identity             : EX2010

Name                 : EX2016
Fqdn                 : EX2016.contoso.com
AdminDisplayVersion  : Version 15.1 (Build 2507.6)
ServerRole           : Mailbox
IsHubTransportServer : True
Identity             : EX2016

"""

CONNECTOR = """
AddressSpaces          : {smtp:contoso.mail.onmicrosoft.com;1}
Enabled                : True
Fqdn                   : mail.contoso.com
Identity               : Outbound to Office 365
Name                   : Outbound to Office 365
ProtocolLoggingLevel   : Verbose
RequireTLS             : True
SmartHosts             : {contoso-com.mail.protection.outlook.com}
SourceTransportServers : {EX2010, EX2016}
TlsAuthLevel           : DomainValidation
TlsCertificateName     :
TlsDomain              : mail.protection.outlook.com

"""


def _mixed_case(folder: Path, failing: str) -> Path:
    """The case folder: ``failing`` (EX2010 or EX2016) presents the internal certificate and is refused,
    the other presents the public one and delivers."""
    _console(folder / "Get-ExchangeServer.txt", SERVERS)
    _console(folder / "Get-SendConnector.txt", CONNECTOR)
    plan = {"EX2010": ("2010", FIELDS_2010, "10.0.0.10", "08CFC1D2E3F4A5"),
            "EX2016": ("2016", TRACKING_FIELDS, "10.0.0.20", "08DD61A1B2C3D4")}
    for server, (version, fields, address, prefix) in plan.items():
        fails = server == failing
        certificate, reply = (INTERNAL, DENIED) if fails else (PUBLIC, QUEUED)
        minutes = ("14", "24") if fails else ("15",)
        lines = [line for number, minute in enumerate(minutes)
                 for line in send_session(f"{prefix}{number:02d}", f"2025-03-20T09:{minute}:01",
                                          f"{address}:2500{number}", certificate, reply,
                                          f"<{server}{number}@contoso.com>")]
        logs = folder / server / "Logs"
        _log(logs / "ProtocolLog" / "SmtpSend" / "SEND20250320-1.LOG",
             log_bytes(version, "SMTP Send Protocol Log", PROTOCOL_FIELDS, lines))
        deliveries = [(f"2025-03-20T09:{minute}:00", f"<{server}{number}@contoso.com>", reply)
                      for number, minute in enumerate(minutes)]
        _log(logs / "MessageTracking" / "MSGTRK20250320-1.LOG",
             log_bytes(version, "Message Tracking Log", fields,
                       tracking_rows(fields, server, deliveries, led_form=version != "2010")))
    if failing == "EX2010":
        _console(folder / "EX2010" / "Get-ExchangeCertificate.txt", _table_2010(
            [(INTERNAL[2], "IP.WS.", INTERNAL[0]), (SELF_SIGNED, "....S.", "CN=EX2010")]))
        _console(folder / "EX2016" / "Get-ExchangeCertificate.txt", _format_list(PUBLIC, "IIS, SMTP", "ThirdParty"))
    else:
        _console(folder / "EX2010" / "Get-ExchangeCertificate.txt", _table_2010(
            [(PUBLIC[2], "...WS.", PUBLIC[0]), (SELF_SIGNED, "....S.", "CN=EX2010")]))
        _console(folder / "EX2016" / "Get-ExchangeCertificate.txt",
                 _format_list(INTERNAL, "IMAP, POP, IIS, SMTP", "Enterprise"))
    return folder


def _open(folder: Path) -> exlab.Case:
    return quiet_case(folder, tz="America/New_York")

def _verdicts(case: exlab.Case) -> dict[str, tuple]:
    table = case.server_verdicts()
    return {row.server: (row.verdict, row.culprit if isinstance(row.culprit, str) else None, row.fix, row.failures)
            for row in table.itertuples()}


def test_2010_server_fails_2016_relays_and_the_fix_keeps_the_2010_services(tmp_path):
    case = _open(_mixed_case(tmp_path / "case", failing="EX2010"))
    assert _verdicts(case) == {"ex2010.contoso.com": ("confirmed", INTERNAL[2], "fix", 2),
                               "ex2016.contoso.com": ("ruled_out", None, "no fix", 0)}
    certs = case.frames["certs"].set_index("thumbprint")
    assert certs.loc[INTERNAL[2], "services"] == ("IMAP", "POP", "IIS", "SMTP")     # from the 2010 table
    [ex2010] = [d for d in case.diagnose_servers() if d.server == "ex2010.contoso.com"]
    commands = [step.command for step in ex2010.remediation]
    # SMTP comes off the internal certificate of the 2010 server, its other services kept as its table shows them
    assert (f"Enable-ExchangeCertificate -Thumbprint {INTERNAL[2]} -Server ex2010.contoso.com -Services IMAP,POP,IIS"
            in commands)


def test_2016_server_fails_2010_relays(tmp_path):
    """The verdicts were right already (the 2010 server's logs do not make it a culprit); the services
    of the public certificate come from the 2010 table's letters (``...WS.``)."""
    case = _open(_mixed_case(tmp_path / "case", failing="EX2016"))
    assert _verdicts(case) == {"ex2010.contoso.com": ("ruled_out", None, "no fix", 0),
                               "ex2016.contoso.com": ("confirmed", INTERNAL[2], "fix", 2)}
    certs = case.frames["certs"].set_index("thumbprint")
    assert certs.loc[PUBLIC[2], "services"] == ("IIS", "SMTP")
