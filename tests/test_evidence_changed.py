"""Evidence that changes while it is read: every reader refuses it (EvidenceChanged naming the file,
telling to copy the log first), and a case lists it as unread and goes on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import exlab
from exlab.case import open_case
from exlab.errors import EvidenceChanged
from exlab.parse_report import FileReport
from tests.samples import sample_cases

CONTOSO = next(case for case in sample_cases() if case.name == "contoso-kb2888788")
SEND_LOG = "logs/ProtocolLog/SmtpSend/SEND20250320-1.LOG"

READERS = [
    (exlab.read_protocol_log, SEND_LOG),
    (exlab.read_tracking_log, "logs/MessageTracking/MSGTRK20250320-1.LOG"),
    (exlab.read_certs, "certs/Get-ExchangeCertificate.xml"),
    (exlab.read_certs, "certs/Get-ExchangeCertificate-fl.txt"),
    (exlab.read_certs, "certs/mail.contoso.com-2024.cer"),
    (exlab.read_connectors, "config/Get-SendConnector.txt"),
    (exlab.read_events, "events/MSExchangeTransport.xml"),
    (exlab.read_events, "events/Application.evtx"),
]


def grow_when_read(monkeypatch, live: Path) -> None:
    """Append to ``live`` when a reader is done with it (it warns its losses), as a live log grows."""
    warn_losses = FileReport.warn_losses

    def warn_then_grow(report: FileReport) -> None:
        warn_losses(report)
        if Path(report.file).name == live.name:
            with open(live, "ab") as log:
                log.write(b"\r\n")

    monkeypatch.setattr(FileReport, "warn_losses", warn_then_grow)


@pytest.mark.parametrize(("read", "name"), READERS, ids=[name.rsplit("/", 1)[1] for _, name in READERS])
def test_a_file_that_grows_while_it_is_read_is_refused_naming_it(tmp_path, monkeypatch, read, name):
    live = tmp_path / Path(name).name
    shutil.copyfile(CONTOSO.folder / name, live)
    assert len(read(live)) > 0                      # unchanged, it reads
    grow_when_read(monkeypatch, live)
    with pytest.raises(EvidenceChanged, match=f"{live.name}, once it was read: expected the file as it was hashed "
                                              r"\(it changed while it was read: copy or export the log"):
        read(live)


def test_a_reader_that_stops_early_closes_the_file_unchecked(tmp_path):
    live = tmp_path / "SEND20250320-1.LOG"
    shutil.copyfile(CONTOSO.folder / SEND_LOG, live)
    evidence = exlab.evidence.iter_evidence([live, live])
    first = next(evidence)
    with open(live, "ab") as log:
        log.write(b"\r\n")
    evidence.close()                                # an early exit: no error, the file closed
    assert first.stream.closed


def test_a_case_lists_a_log_that_changed_as_unread_and_goes_on(tmp_path, monkeypatch):
    folder = shutil.copytree(CONTOSO.folder, tmp_path / "case")
    grow_when_read(monkeypatch, folder / SEND_LOG)
    case = open_case(folder, roots=CONTOSO.roots, tz=CONTOSO.truth["tz"], culture=CONTOSO.truth["culture"])
    unread = case.unread.set_index("file")["reason"]
    assert "changed while it was read: copy or export the log" in unread[SEND_LOG]
    assert "SEND20250321-1.LOG" in set(case.frames["sessions"]["source"].str.rsplit("/", n=1).str[-1])
    assert len(case.frames["certs"]) and len(case.frames["events"])
    assert case.diagnose().verdict == CONTOSO.truth["verdict"]
