"""The format families the fuzz tests mutate, each with its reader and its seed files."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SAMPLES
from tests.fuzz.harness import Family

LAB_ROOT = SAMPLES / "lab-public-root.pem"


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


EVTX = Family("evtx", _events, ("samples:litware-servers/*/Application.evtx", "corpus:*.evtx"), ".evtx", text=False)
EVENT_EXPORTS = Family("event_exports", _events, (
    "samples:*/events/*.xml", "samples:*/*/events/*.xml", "samples:*/events/*.csv", "samples:*/*/events/*.csv",
    "samples:*/*/events/*.txt", "real:*/*WinEvent*.xml"), ".xml", text=False)
CERTS = Family("certs", _certs, (
    "samples:*/certs/*", "samples:*/*/certs/*", "samples:litware-servers/*/Get-ExchangeCertificate.txt",
    "real:*/*Certificate*", "real:*/*.cer"), ".cer", text=False)
PROTOCOL_LOGS = Family("protocol_logs", _reader("exlab.transport", "read_protocol_log"), (
    "samples:*/logs/ProtocolLog/SmtpSend/*.LOG", "samples:*/*/logs/ProtocolLog/SmtpSend/*.LOG"), ".LOG")
TRACKING_LOGS = Family("tracking_logs", _reader("exlab.transport", "read_tracking_log"), (
    "samples:*/logs/MessageTracking/*.LOG", "samples:*/*/logs/MessageTracking/*.LOG", "real:*/MSGTRK*.LOG"), ".LOG")
CONNECTORS = Family("connectors", _reader("exlab.transport", "read_connectors"), (
    "samples:*/Get-SendConnector.*", "samples:*/config/Get-SendConnector.*", "real:*/*SendConnector*"), text=False)
RECEIVE_CONNECTORS = Family("receive_connectors", _reader("exlab.transport", "read_receive_connectors"), (
    "samples:*/config/Get-ReceiveConnector.*", "real:*/*ReceiveConnector*"), text=False)
SERVERS = Family("servers", _reader("exlab.transport", "read_servers"), (
    "samples:*/Get-ExchangeServer.*", "samples:*/config/Get-ExchangeServer.*", "real:*/*ExchangeServer*"), text=False)

FAMILIES = (EVTX, EVENT_EXPORTS, CERTS, PROTOCOL_LOGS, TRACKING_LOGS, CONNECTORS, RECEIVE_CONNECTORS, SERVERS)
