"""Steps aimed at one server of several: what to collect from it, and the key repair of a certificate without its
private key (certutil, which only acts on the machine it runs on).

A server's diagnosis (``Case.diagnose_servers``) said "Export the Application log of the transport server" with
a command for whatever machine the engineer sat at, and ``certutil -repairstore`` with no word of the server:
run on the wrong machine, it repairs nothing (or another server's store). A domain server's local commands now
run there (``Invoke-Command``), its Exchange cmdlets take ``-Server`` or its name, and an Edge Transport server's
steps say they are run on it itself; the case's own answer, about no single server, keeps the steps as they were.
"""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

import exlab
from exlab.analysis.diagnose import conclude, diagnose
from exlab.analysis.remediation import collect_step
from exlab.analysis.rules import Facts
from tests.analysis import frames as f
from tests.transport.test_legacy_mixed_case import _mixed_case

EX2016 = "ex2016.contoso.com"
EDGE = "edge01.dmz.contoso.net"
EDGE_SERVERS = pd.DataFrame({"name": ["EX01", "EDGE01"], "fqdn": ["ex01.contoso.com", EDGE], "edge": [False, True]})


def _by_kind(steps) -> dict[str, object]:
    """The collection steps by what they collect (the command tells them apart)."""
    kinds = {"wevtutil epl": "events", "Set-EventLogLevel": "events_2004", "-ProtocolLoggingLevel": "sessions",
             "ExchangeCertificates.txt": "certs", "MSGTRK": "tracking", "SendConnectors.xml": "connectors",
             "ExchangeServers.xml": "servers", "Get-Queue": "queues"}
    return {next(kind for key, kind in kinds.items() if key in step.command): step for step in steps}


@pytest.fixture(scope="module")
def quiet_2016(tmp_path_factory) -> exlab.Case:
    """The mixed 2010 + 2016 case with the 2016 server's logs left out: its answer cannot be settled."""
    folder = _mixed_case(tmp_path_factory.mktemp("mixed") / "case", failing="EX2010")
    shutil.rmtree(folder / "EX2016" / "Logs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.open_case(folder, tz="America/New_York")


def test_a_servers_collection_steps_name_it_and_run_there(quiet_2016):
    answer = {d.server: d for d in quiet_2016.diagnose_servers()}[EX2016]
    assert answer.verdict == "inconclusive"
    steps = _by_kind(answer.missing)
    assert set(steps) == {"events", "events_2004", "sessions", "tracking", "queues"}
    # no failure in any evidence: the queues show Exchange Online's last answer at once, through -Server
    assert steps["queues"].command == ("New-Item -ItemType Directory -Force C:\\exlab\\config | Out-Null; "
                                       f"Get-Queue -Server {EX2016} | Export-Clixml C:\\exlab\\config\\Get-Queue.xml")
    assert steps["queues"].purpose.startswith(f"On {EX2016}: export the queues of {EX2016}")
    # wevtutil and the log folder are the machine's own: run on the server, the files fetched from its share
    events = steps["events"]
    assert events.command == ("Invoke-Command -ComputerName ex2016.contoso.com { New-Item -ItemType Directory -Force "
                              "C:\\exlab\\events | Out-Null; wevtutil epl Application "
                              "C:\\exlab\\events\\Application.evtx /ow:true }")
    assert events.purpose.startswith(f"On {EX2016}: export the Application log of {EX2016}")
    assert "\\\\ex2016.contoso.com\\C$\\exlab" in events.purpose
    assert steps["tracking"].command.startswith(f"Invoke-Command -ComputerName {EX2016} {{ New-Item")
    assert "$env:ExchangeInstallPath" in steps["tracking"].command
    # the event logging level is one server's: its identity names it
    assert steps["events_2004"].command == f'Set-EventLogLevel "{EX2016}\\MSExchangeTransport\\SmtpSend" -Level Expert'
    # the connector is the organisation's; the protocol log files to copy are the server's
    assert steps["sessions"].command == "Set-SendConnector 'Outbound to Office 365' -ProtocolLoggingLevel Verbose"
    assert f"SEND*.LOG of {EX2016}" in steps["sessions"].purpose
    assert not any("the transport server" in step.purpose for step in answer.missing)


def test_a_servers_certificate_export_takes_server():
    d = diagnose(server="ex02.contoso.com", server_fqdn="ex02.contoso.com")
    certs = _by_kind(d.missing)["certs"]
    assert "$FormatEnumerationLimit = -1; Get-ExchangeCertificate -Server ex02.contoso.com | Format-List * > " \
           "C:\\exlab\\certs\\ExchangeCertificates.txt; Get-ExchangeCertificate -Server ex02.contoso.com | " \
           "ForEach-Object" in certs.command
    assert certs.purpose.startswith("On ex02.contoso.com: export the certificates")


def test_an_edge_servers_collection_steps_are_run_on_it_itself():
    d = diagnose(servers=EDGE_SERVERS, server=EDGE, server_fqdn=EDGE)
    assert d.verdict == "inconclusive"
    steps = _by_kind(d.missing)
    for kind in ("events", "events_2004", "certs", "tracking", "queues"):
        assert steps[kind].purpose.startswith(f"On the Edge Transport server {EDGE} itself"), kind
        assert steps[kind].command == collect_step(kind).command, kind     # its own shell: as they are
    assert "-Server and remote PowerShell from the organisation do not reach an Edge" in steps["events"].purpose
    assert f"SEND*.LOG of the Edge Transport server {EDGE}" in steps["sessions"].purpose


def test_the_cases_own_answer_about_no_one_server_keeps_the_steps_as_they_are():
    d = diagnose(server_fqdn="ex01.contoso.com")
    assert d.missing and all(step == collect_step(kind) for kind, step in _by_kind(d.missing).items()
                             if kind != "sessions")
    assert _by_kind(d.missing)["events"].purpose == "Export the Application log of the transport server"


def test_the_events_2004_step_is_left_out_for_a_server_that_fails_through_another_connector_aimed_or_not():
    from exlab.analysis.diagnose import judge_server

    d = diagnose(server="ex02.contoso.com", server_fqdn="ex02.contoso.com")
    assert any("Set-EventLogLevel" in step.command for step in d.missing)
    judged = judge_server(d, sends=True, watched=True, elsewhere={"Other connector": 3})
    assert judged.missing and not any("Set-EventLogLevel" in step.command for step in judged.missing)


# -- certutil -repairstore: the key of the machine's own store --------------------------------------------

NO_KEY = f.sessions(f.session("2025-03-20 09:00", None, f.PUBLIC, tls="failed", tls_error="NoCredentials"))


def _repair(d) -> object:
    [step] = [step for step in d.remediation if "certutil" in (step.command or "")]
    return step


def test_the_key_repair_runs_on_the_server_it_is_for():
    d = conclude(Facts.build(connector=f.CONNECTOR, sessions=NO_KEY), server="EX02")
    assert (d.verdict, d.cause) == ("ruled_out", "no-private-key")
    step = _repair(d)
    assert step.command == f"Invoke-Command -ComputerName EX02 {{ certutil -repairstore my {f.PUBLIC} }}"
    assert step.purpose.startswith("On EX02: repair the key link in the machine store")
    assert f"Get-ExchangeCertificate -Thumbprint {f.PUBLIC} -Server EX02 | fl HasPrivateKey,Services" in [
        s.command for s in d.remediation]


def test_the_key_repair_of_an_edge_is_run_on_it_itself():
    d = conclude(Facts.build(connector=f.CONNECTOR, sessions=NO_KEY, servers=EDGE_SERVERS), server=EDGE)
    step = _repair(d)
    assert step.command == f"certutil -repairstore my {f.PUBLIC}"
    assert step.purpose.startswith(f"On the Edge Transport server {EDGE} itself")


def test_the_cases_own_key_repair_is_as_it_was():
    assert _repair(conclude(Facts.build(connector=f.CONNECTOR, sessions=NO_KEY))).command == (
        f"certutil -repairstore my {f.PUBLIC}")
