"""Get-Queue in a case: the queue's last error read against the logs it summarises, and a case whose only
evidence of the failures is Get-Queue reaching the events' verdict and fix."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd

import exlab
from exlab.report.model import build_report
from tests.conftest import SAMPLES

CONTOSO = SAMPLES / "contoso-kb2888788"
ROOTS = SAMPLES / "lab-public-root.pem"


def _copy(tmp_path: Path, name: str, *left_out: str) -> Path:
    """The contoso sample without the folders or files ``left_out`` (relative paths)."""
    target = tmp_path / name
    shutil.copytree(CONTOSO, target, ignore=lambda folder, names: [
        n for n in names if (Path(folder) / n).relative_to(CONTOSO).as_posix() in left_out])
    return target


def _open(folder: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.ExlabWarning)
        return exlab.open_case(folder, roots=ROOTS)


def test_the_queues_last_error_is_the_protocol_logs_last_refusal_before_get_queue_ran():
    """Get-Queue ran at 10:32 UTC on 21 March (Polish dates, Warsaw time, the console cut at 80 columns): its
    connector queue's LRT, LED and FirstRetryTime are the protocol log's last refused attempt before then, its
    answer, and the first refusal after the last delivery."""
    case = _open(CONTOSO)
    queues = case.queues.set_index("identity")
    assert queues["status"].to_dict() == {"EXCHANGE\\Submission": "Ready", "EXCHANGE\\3": "Retry"}
    queue = queues.loc["EXCHANGE\\3"]
    sessions = case.sessions.sort_values("start")
    ran = pd.Timestamp("2025-03-21 10:32:18", tz="UTC")
    before = sessions[sessions["failed_at"].fillna(sessions["start"]) <= ran]
    refused = before[before["outcome"] == "rejected"]
    last_delivery = before.loc[before["outcome"] == "delivered", "start"].max()
    assert queue["last_error_time"] == refused["failed_at"].max().floor("s")
    assert queue["led"] == refused["final_reply"].iloc[-1]
    assert queue["first_retry_time"] == refused.loc[refused["start"] > last_delivery, "failed_at"].min().floor("s")
    assert queue["last_error_fqdn"] == "contoso-com.mail.protection.outlook.com"
    assert queue["server"] == "exchange.contoso.com" and queue["message_count"] == 29
    assert case.reports.records_skipped == 0


def test_get_queue_in_place_of_events_and_logs_confirms_with_the_events_fix(tmp_path):
    """The engineer sent the certificates, the connector and Get-Queue: the queue's last error stands for the
    events 2004, and the verdict, the certificate to act on and the fix are those of the case with its events
    (and no logs); the answer says it came from Get-Queue and ends at the queue's last retry."""
    by_queue = _open(_copy(tmp_path, "queue", "events", "logs"))
    by_events = _open(_copy(tmp_path, "events", "logs", "config/Get-Queue.txt"))
    queued, evented = by_queue.diagnose(), by_events.diagnose()
    assert (queued.verdict, queued.cause, queued.strength) == ("confirmed", "kb2888788", "strong")
    assert (queued.verdict, queued.culprit, queued.connector) == (evented.verdict, evented.culprit, evented.connector)
    assert [s.command for s in queued.remediation] == [s.command for s in evented.remediation]
    finding = next(f for f in queued.evidence if f.rule == "untrusted-root-failures")
    assert finding.summary.startswith("1 Get-Queue last error(s) show")
    assert queued.end == by_queue.queues["last_error_time"].max()
    assert by_queue.inventory().set_index("kind").loc["queues", "status"] == "found"


def test_the_report_lists_the_queues_and_a_case_without_them_lists_none(tmp_path):
    tables = {t.title: t for t in build_report(_open(CONTOSO)).details}
    queues = tables["Transport queues (Get-Queue)"]
    assert queues.table["queue"].tolist() == ["EXCHANGE\\Submission", "EXCHANGE\\3"]
    assert queues.table["messages"].tolist() == ["0", "29"]
    without = _open(_copy(tmp_path, "without", "config/Get-Queue.txt"))
    assert "Transport queues (Get-Queue)" not in {t.title for t in build_report(without).details}
    assert "queues" not in set(without.inventory()["kind"].dropna())


def _two_queues(folder: Path) -> str:
    """Get-Queue (Export-Clixml) of the hybrid connector's queue refused UntrustedRoot at 10:31:25 UTC, and a
    queue to a partner's domain through another connector retrying on 451 4.4.0 DNS query failed a minute later;
    the partner connector's GUID."""
    from exlab.lab.transport_logs import connector_guid, queue_row, write_queue_export

    at = pd.Timestamp("2025-03-21 10:31:25", tz="UTC")
    partner_guid = "137c0a63-cbc7-4261-b49b-b4850e63593b"
    hybrid = queue_row("EXCHANGE", 3, next_hop_domain="contoso-com.mail.protection.outlook.com", message_count=29,
                       connector_guid=connector_guid("Outbound to Office 365"),
                       last_error_reply="454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: "
                                        "Access Denied", last_retry=at)
    partner = queue_row("EXCHANGE", 4, next_hop_domain="fabrikam.example", message_count=2,
                        connector_guid=partner_guid, delivery_type="DnsConnectorDelivery",
                        last_error_reply="451 4.4.0 DNS query failed. The error was: DNS query failed with error "
                                         "ErrorRetry", last_retry=at + pd.Timedelta(minutes=1))
    write_queue_export([hybrid, partner], folder / "config" / "Get-Queue.xml", "clixml", culture="pl-PL",
                       tz="Europe/Warsaw", server="EXCHANGE")
    return partner_guid


def test_a_queue_of_another_connector_is_not_this_connectors_failure(tmp_path):
    """Get-Queue lists every queue: one to a partner's domain through another connector, retrying on 451 4.4.0 DNS
    query failed, is told apart by its NextHopConnector (not Get-SendConnector's Guid of the hybrid connector):
    the diagnosis weighs the hybrid queue's UntrustedRoot alone, and does not take the DNS trouble for a
    look-alike; the queue to the partner names its GUID as its connector."""
    folder = _copy(tmp_path, "two", "events", "logs", "config/Get-Queue.txt")
    partner = _two_queues(folder)
    case = _open(folder)
    assert case.queues.set_index("identity")["connector"].to_dict() == {
        "EXCHANGE\\3": "Outbound to Office 365", "EXCHANGE\\4": partner}
    d = case.diagnose()
    assert (d.verdict, d.cause, d.strength) == ("confirmed", "kb2888788", "strong")
    assert d.end == pd.Timestamp("2025-03-21 10:31:25", tz="UTC") and d.failures == 1
    assert [f.rule for f in d.evidence if f.cause == "network"] == []


def test_get_queue_of_several_servers_in_one_file_gives_each_server_its_queues(tmp_path):
    """``Get-TransportService | Get-Queue | fl`` lists the queues of every server in one file: each queue is its
    Identity's server's (the file's folder names none). EX02's queue fails: the case's answer is about EX02,
    whose fix it names, and EXCHANGE's queue delivers."""
    from exlab.lab.transport_logs import connector_guid, queue_row, write_queue_export

    folder = _copy(tmp_path, "two", "events", "logs", "config/Get-Queue.txt")
    at = pd.Timestamp("2025-03-21 10:31:25", tz="UTC")
    hop = {"next_hop_domain": "contoso-com.mail.protection.outlook.com",
           "connector_guid": connector_guid("Outbound to Office 365")}
    healthy = queue_row("EXCHANGE", 3, **hop, message_count=0, status="Ready")
    failing = queue_row("EX02", 5, **hop, message_count=4, last_retry=at,
                        last_error_reply="454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: "
                                         "Access Denied")
    write_queue_export([healthy, failing], folder / "Get-Queue-all.txt", "fl", culture="pl-PL", tz="Europe/Warsaw")
    case = _open(folder)
    assert case.queues.set_index("identity")["server"].to_dict() == {"EXCHANGE\\3": "exchange.contoso.com",
                                                                    "EX02\\5": "EX02"}
    d = case.diagnose()
    assert "EX02" in case.server_list() and d.failures == 1
    assert {s.server: s.failures for s in d.servers}["EX02"] == 1
    assert {s.server: s.failures for s in d.servers}["exchange.contoso.com"] == 0


def test_without_the_connectors_guid_a_queue_is_told_by_its_next_hop(tmp_path):
    """Get-SendConnector exported with chosen properties (``| fl Name,AddressSpaces,SmartHosts,...``) has no
    Guid to match the queues' NextHopConnector: the hybrid queue is the connector's by its smart host, and the
    queue to a partner's domain (a DNS queue, a domain the connector's address space does not route) is
    another's, so its DNS trouble is not weighed, as with the Guid."""
    from exlab.lab.transport_logs import write_send_connectors

    folder = _copy(tmp_path, "chosen", "events", "logs", "config/Get-Queue.txt", "config/Get-SendConnector.txt")
    connector = exlab.read_connectors(CONTOSO / "config" / "Get-SendConnector.txt").iloc[0].to_dict()
    write_send_connectors(folder / "config" / "Get-SendConnector.txt", [connector], properties=[
        "Name", "AddressSpaces", "SmartHosts", "Fqdn", "TlsCertificateName", "SourceTransportServers", "RequireTLS"])
    partner = _two_queues(folder)
    case = _open(folder)
    assert "guid" not in case.connectors or case.connectors["guid"].isna().all()
    assert case.queues.set_index("identity")["connector"].to_dict() == {
        "EXCHANGE\\3": "Outbound to Office 365", "EXCHANGE\\4": partner}
    d = case.diagnose()
    assert (d.verdict, d.cause, d.strength, d.failures) == ("confirmed", "kb2888788", "strong", 1)
    assert [f.rule for f in d.evidence if f.cause == "network"] == []
