"""The format families the fuzz tests mutate, each with its reader and its seed files.

Seeds are the lab samples, the test fixtures, the real exports and the .evtx corpus (read where
they lie), and for shapes none of those holds (Get-WinEvent CSV and JSON, Get-WinEvent and
Get-EventLog Format-List, the Exchange Management Shell's CliXml with SerializationData, zips)
what the lab's own writers produce.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

from tests.conftest import SAMPLES
from tests.fuzz.harness import Family
from tests.lab.test_event_exports import ROWS

LAB_ROOT = SAMPLES / "lab-public-root.pem"
CONTOSO = SAMPLES / "contoso-kb2888788"


def _events(path: Path):
    from exlab.events import read_events
    return read_events(path, workers=1)


def _certs(path: Path):
    from exlab.certs import judge_trust, read_certs
    return judge_trust(read_certs(path), roots=LAB_ROOT, at="2025-03-21T00:00:00Z")


def _reader(module: str, name: str):
    def read(path: Path):
        import importlib
        return getattr(importlib.import_module(module), name)(path)
    read.__name__ = name
    return read


def _bundle(path: Path):
    """A zip of evidence as the case reads it: its members listed and hashed, the certificates read."""
    from exlab.certs import read_certs
    from exlab.evidence import iter_evidence
    for evidence in iter_evidence(path):
        evidence.stream.read()
    return read_certs(path)


@cache
def lab_event_exports() -> dict[str, bytes]:
    """Get-WinEvent's CSV (both editions), JSON (both editions) and CliXml, and Get-EventLog's
    CliXml, of the lab writers' test rows (imported with this module, not inside a test: their
    module defines Hypothesis tests)."""
    from exlab.lab import event_exports as ee

    writers = {
        "winevent-5.1.csv": lambda out: ee.write_winevent_csv(out, ROWS, edition="5.1"),
        "winevent-7.csv": lambda out: ee.write_winevent_csv(out, ROWS, edition="7", culture="pl-PL"),
        "winevent-5.1.json": lambda out: ee.write_winevent_json(out, ROWS, edition="5.1"),
        "winevent-7.json": lambda out: ee.write_winevent_json(out, ROWS, edition="7", tz="Europe/Warsaw"),
        "winevent.clixml": lambda out: ee.write_winevent_clixml(out, ROWS, tz="Europe/Warsaw"),
        "eventlog.clixml": lambda out: ee.write_eventlog_clixml(out, ROWS),
    }
    return {f"lab:{name}": _written(write) for name, write in writers.items()}


@cache
def lab_event_lists() -> dict[str, bytes]:
    """Get-WinEvent's Format-List (its default view; fl * in a culture that cuts values at the width) and
    Get-EventLog's (fl; fl * in UTF-8) of the lab writers' test rows, and the first inside a transcript."""
    from exlab.lab import event_exports as ee
    from exlab.lab.transcripts import transcript_text

    writers = {
        "winevent-fl.txt": lambda out: ee.write_winevent_list(out, ROWS, tz="Europe/Warsaw"),
        "winevent-fl-all-pl.txt": lambda out: ee.write_winevent_list(out, ROWS, all_properties=True, culture="pl-PL"),
        "eventlog-fl.txt": lambda out: ee.write_eventlog_list(out, ROWS),
        "eventlog-fl-all.txt": lambda out: ee.write_eventlog_list(out, ROWS, all_properties=True, encoding="utf-8"),
    }
    seeds = {f"lab:{name}": _written(write) for name, write in writers.items()}
    shown = seeds["lab:winevent-fl.txt"].decode("utf-16")
    seeds["lab:winevent-fl-transcript.txt"] = transcript_text([("Get-WinEvent -LogName Application | fl", shown)]) \
        .encode("utf-8-sig")
    return seeds


@cache
def lab_cert_exports() -> dict[str, bytes]:
    """Get-ExchangeCertificate as the Exchange Management Shell exports it (CliXml with
    SerializationData, CSV), as JSON, as the default table and as tables of chosen columns (Windows
    PowerShell 5.1's ``-AutoSize``, PowerShell 7's ``-Wrap`` in a narrow console), and the certificate as PEM."""
    from exlab.lab import cert_exports as ce
    from exlab.lab.pki import LabPki

    pki = LabPki("fuzz")
    server = pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"], ca="internal",
                        not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
    certs = [ce.ExchangeCert(server.certificate, services=("IIS", "SMTP"), root_ca_type="Enterprise",
                             server_fqdn="EX01.contoso.com"),
             ce.ExchangeCert(pki.internal_root.certificate, root_ca_type="Enterprise", has_private_key=False)]
    writers = {
        "ems.clixml": lambda out: ce.write_clixml(certs, out, remote=True, tz="Europe/Warsaw"),
        "ems.csv": lambda out: ce.write_csv(certs, out, remote=True, tz="Europe/Warsaw"),
        "local.json": lambda out: ce.write_json(certs, out),
        "table.txt": lambda out: ce.write_table(certs, out),
        "ft-autosize.txt": lambda out: ce.write_format_table(
            certs, out, ["Thumbprint", "Services", "Status", "Subject", "NotAfter", "CertificateDomains"],
            autosize=True, width=250, tz="Europe/Warsaw"),
        "ft-wrap-7.txt": lambda out: ce.write_format_table(
            certs, out, ["FriendlyName", "Thumbprint", "Services", "Issuer", "NotAfter"], wrap=True, width=100,
            culture="de-DE", tz="Europe/Warsaw", windows_powershell=False),
    }
    return {**{f"lab:{name}": _written(write) for name, write in writers.items()}, "lab:server.pem": server.pem}


@cache
def lab_tracking_exports() -> dict[str, bytes]:
    """Get-MessageTrackingLog's output of the contoso sample's first tracking log, in every shape the lab writes
    (fl in en-US and pl-PL, Export-Csv, Export-Clixml, ConvertTo-Json)."""
    from exlab.lab.transport_logs import TRACKING_EXPORT_SHAPES, write_tracking_export
    from exlab.transport import read_tracking_log

    logs = read_tracking_log(sorted((CONTOSO / "logs" / "MessageTracking").iterdir())[0]).head(40)
    made = {f"lab:tracking.{shape}": _written(lambda out, shape=shape: write_tracking_export(
        logs, out, shape, tz="Europe/Warsaw")) for shape in TRACKING_EXPORT_SHAPES}
    made["lab:tracking-pl.fl"] = _written(lambda out: write_tracking_export(logs, out, "fl", culture="pl-PL",
                                                                            tz="Europe/Warsaw", width=80))
    return made


@cache
def lab_queue_exports() -> dict[str, bytes]:
    """Get-Queue's output in every shape the lab writes (fl in en-US, and in pl-PL 80 wide copied from the console;
    Export-Csv, Export-Clixml, ConvertTo-Json; Exchange 2010's and 2013's fl), and its fl inside a transcript."""
    import pandas as pd

    from exlab.lab.transcripts import transcript_text
    from exlab.lab.transport_logs import QUEUE_EXPORT_SHAPES, queue_row, write_queue_export

    retry = pd.Timestamp("2025-03-20T09:14:02.123Z")
    queues = [queue_row("EX01", 7, next_hop_domain="contoso-com.mail.protection.outlook.com", message_count=12,
                        connector_guid="6f9d2e34-8c1b-4b7a-9e02-3a5c7d1f0b48", last_error_reply=(
                            "451 4.4.0 Primary target IP address responded with: \"454 4.7.0 Failed to establish "
                            "appropriate TLS channel: UntrustedRoot: Access Denied {x};{y}.\" Attempted failover"),
                        last_error_fqdn="contoso-com.mail.protection.outlook.com", last_error_ip="104.47.1.33",
                        last_retry=retry, first_retry=retry - pd.Timedelta("1h"),
                        next_retry=retry + pd.Timedelta("10min"), retry_count=17),
              queue_row("EX01", 3, next_hop_domain="fabrikam.com", message_count=0, status="Ready",
                        connector_guid="0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", delivery_type="DnsConnectorDelivery")]
    made = {f"lab:queues.{shape}": _written(lambda out, shape=shape: write_queue_export(
        queues, out, shape, tz="Europe/Warsaw")) for shape in QUEUE_EXPORT_SHAPES}
    made["lab:queues-pl.fl"] = _written(lambda out: write_queue_export(queues, out, "fl", culture="pl-PL",
                                                                       tz="Europe/Warsaw", width=80, trimmed=True))
    for version in (2010, 2013):
        made[f"lab:queues-{version}.fl"] = _written(lambda out, version=version: write_queue_export(
            queues, out, "fl", tz="Europe/Warsaw", version=version))
    made["lab:queues-transcript.txt"] = transcript_text(
        [("Get-Queue | fl", made["lab:queues.fl"].decode("utf-16"))]).encode("utf-8-sig")
    return made


@cache
def lab_bundles() -> dict[str, bytes]:
    """Zips of the contoso sample's certificates: as Compress-Archive of Windows PowerShell 5.1
    writes them (``\\`` between folders), and one inside another."""
    files = {f"certs\\{path.name}": path.read_bytes() for path in sorted((CONTOSO / "certs").iterdir())}
    flat = _zipped(files)
    return {"lab:certs.zip": flat, "lab:nested.zip": _zipped({"servers/EX01.zip": flat})}


def _zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2025, 3, 21, 16, 40, 0)), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _written(write) -> bytes:
    out = io.BytesIO()
    write(out)
    return out.getvalue()


EVTX = Family("evtx", _events, ("samples:litware-servers/*/Application.evtx", "corpus:*.evtx"), ".evtx", text=False)
EVENT_EXPORTS = Family("event_exports", _events, (
    "samples:*/events/*.xml", "samples:*/*/events/*.xml", "samples:*/events/*.csv", "samples:*/*/events/*.csv",
    "samples:*/*/events/*.txt", "real:*/*WinEvent*.xml", "tests:events/fixtures/*"), ".xml", text=False,
    made=lab_event_exports)
CERTS = Family("certs", _certs, (
    "samples:*/certs/*", "samples:*/*/certs/*", "samples:litware-servers/*/Get-ExchangeCertificate.txt",
    "real:*/*ExchangeCertificate*", "real:*/*.cer", "tests:certs/fixtures/*"), ".cer", text=False,
    made=lab_cert_exports)
PROTOCOL_LOGS = Family("protocol_logs", _reader("exlab.transport", "read_protocol_log"), (
    "samples:*/logs/ProtocolLog/SmtpSend/*.LOG", "samples:*/*/logs/ProtocolLog/SmtpSend/*.LOG",
    "tests:transport/fixtures/ProtocolLog/*/*.LOG"), ".LOG")
TRACKING_LOGS = Family("tracking_logs", _reader("exlab.transport", "read_tracking_log"), (
    "samples:*/logs/MessageTracking/*.LOG", "samples:*/*/logs/MessageTracking/*.LOG", "real:*/MSGTRK*.LOG",
    "tests:transport/fixtures/MessageTracking/*.LOG"), ".LOG")
CONNECTORS = Family("connectors", _reader("exlab.transport", "read_connectors"), (
    "samples:*/Get-SendConnector.*", "samples:*/config/Get-SendConnector.*", "real:*/*SendConnector*",
    "tests:transport/fixtures/config/connectors-*"), text=False)
RECEIVE_CONNECTORS = Family("receive_connectors", _reader("exlab.transport", "read_receive_connectors"), (
    "samples:*/config/Get-ReceiveConnector.*", "real:*/*ReceiveConnector*"), text=False)
SERVERS = Family("servers", _reader("exlab.transport", "read_servers"), (
    "samples:*/Get-ExchangeServer.*", "samples:*/config/Get-ExchangeServer.*", "real:*/*ExchangeServer*",
    "tests:transport/fixtures/config/servers-*"), text=False)
EVENT_LISTS = Family("event_lists", _events, (), ".txt", text=False, made=lab_event_lists)
TRACKING_EXPORTS = Family("tracking_exports", _reader("exlab.transport", "read_tracking_export"), (), ".txt",
                          text=False, made=lab_tracking_exports)
QUEUE_EXPORTS = Family("queue_exports", _reader("exlab.transport", "read_queues"), (), ".txt", text=False,
                       made=lab_queue_exports)
BUNDLES = Family("bundles", _bundle, (), ".zip", text=False, made=lab_bundles)

FAMILIES = (EVTX, EVENT_EXPORTS, EVENT_LISTS, CERTS, PROTOCOL_LOGS, TRACKING_LOGS, TRACKING_EXPORTS, QUEUE_EXPORTS,
            CONNECTORS, RECEIVE_CONNECTORS, SERVERS, BUNDLES)
