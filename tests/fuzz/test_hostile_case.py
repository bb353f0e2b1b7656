"""A hostile case folder: the contoso sample with a damaged .evtx, a truncated protocol log, an
XML in an encoding its bytes are not, an event past the size caps, a link to a certificate
outside the folder and a zip naming a member outside itself. The case still gets its verdict,
from ``open_case(...).diagnose()`` and from ``exlab investigate`` (exit code 0); each bad file
is listed unread with why, or read with its losses counted; nothing outside the folder is read."""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path

import pytest

from exlab import limits
from exlab.case import open_case
from exlab.cli import main
from exlab.events import evtx_layout as layout
from exlab.lab import oversized
from tests.samples import sample_cases

CONTOSO = next(case for case in sample_cases() if case.name == "contoso-kb2888788")
PLANTED = next(case for case in sample_cases() if case.name == "fabrikam-healthy").folder / "certs/mail.fabrikam.com.cer"
SMALL_CAP = 1 << 16       # the caps lowered for the test, so that an oversized event stays small


def hostile_case(root: Path) -> Path:
    """The contoso case copied under ``root / "case"``, made hostile."""
    case = root / "case"
    shutil.copytree(CONTOSO.folder, case)
    evtx = bytearray((CONTOSO.folder / "events/Application.evtx").read_bytes())
    second = layout.FILE_HEADER_SIZE + layout.CHUNK_SIZE
    evtx[second:second + layout.CHUNK_SIZE] = bytes(layout.CHUNK_SIZE)
    (case / "events/Application-damaged.evtx").write_bytes(bytes(evtx))
    log = (CONTOSO.folder / "logs/ProtocolLog/SmtpSend/SEND20250320-1.LOG").read_bytes()
    (case / "logs/ProtocolLog/SmtpSend/SEND20250322-1.LOG").write_bytes(log[:len(log) // 2 + 17])   # mid-line
    xml = (CONTOSO.folder / "events/MSExchangeTransport.xml").read_bytes()
    (case / "events/Bad-encoding.xml").write_bytes(b"\xff\xfe" + xml.removeprefix(b"\xef\xbb\xbf"))  # UTF-16's BOM
    (case / "events/Oversized.xml").write_bytes(oversized.event_xml("event", SMALL_CAP + 1))
    outside = root / "outside"
    outside.mkdir()
    shutil.copy(PLANTED, outside / "planted.cer")
    (case / "certs/planted.cer").symlink_to(outside / "planted.cer")
    with zipfile.ZipFile(case / "bundle.zip", "w") as archive:
        archive.writestr("certs/fl.txt", (CONTOSO.folder / "certs/Get-ExchangeCertificate-fl.txt").read_bytes())
        archive.writestr("../../escaped.txt", b"written outside the case if extracted")
    return case


@pytest.fixture()
def case_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_RECORD", SMALL_CAP)
    monkeypatch.setattr(limits, "MAX_FIELD", SMALL_CAP)
    return hostile_case(tmp_path)


def unread_reasons(unread) -> dict[str, str]:
    return dict(zip(unread["file"], unread["reason"]))


@pytest.mark.slow
def test_a_hostile_case_gets_its_verdict_and_lists_each_bad_file(case_folder, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the sample's own (its en-US CSV read against pl-PL, and said)
        clean = open_case(CONTOSO.folder, roots=CONTOSO.roots, tz=CONTOSO.truth["tz"], culture=CONTOSO.truth["culture"])
    with pytest.warns(UserWarning):
        case = open_case(case_folder, roots=case_folder / CONTOSO.roots.name, tz=CONTOSO.truth["tz"],
                         culture=CONTOSO.truth["culture"])
        diagnosis = case.diagnose()
    assert (diagnosis.verdict, diagnosis.cause, diagnosis.culprit) == (
        CONTOSO.truth["verdict"], CONTOSO.truth["cause"], CONTOSO.truth["culprit"])

    unused = case.inventory().query("status == 'unused'")
    reasons = dict(zip(unused["file"], unused["why"]))
    new = {name: why for name, why in reasons.items() if name not in set(clean.unread["file"])}
    assert sorted(new) == ["bundle.zip", "certs/planted.cer", "events/Bad-encoding.xml"]
    assert new["certs/planted.cer"] == "a link to a file outside the folder: not followed (follow_links reads it)"
    assert "../../escaped.txt: expected a member name inside the zip" in new["bundle.zip"]
    assert new["events/Bad-encoding.xml"] == "no exlab reader recognises its content"
    assert not any("a bug in exlab" in why for why in reasons.values())

    files = {report.file: report for report in case.reports.files}
    damaged = files["events/Application-damaged.evtx"].account
    assert damaged.lost > 0 and damaged.claimed == damaged.read + damaged.lost
    assert files["logs/ProtocolLog/SmtpSend/SEND20250322-1.LOG"].records_skipped == 1
    [oversized_loss] = files["events/Oversized.xml"].losses
    assert f"event longer than {SMALL_CAP} characters" in oversized_loss.reason

    planted = open_case(tmp_path / "outside").certs["thumbprint"].item()
    assert planted not in set(case.certs["thumbprint"])
    assert not (tmp_path / "escaped.txt").exists() and not (case_folder.parent.parent / "escaped.txt").exists()
    assert not any(str(tmp_path / "outside") in str(value) for value in case.certs["source"])


@pytest.mark.slow
def test_investigate_gives_the_hostile_case_its_verdict(case_folder, tmp_path, capsys):
    target = tmp_path / "diagnosis.json"
    code = main(["investigate", str(case_folder), "--roots", str(CONTOSO.roots), "--tz", CONTOSO.truth["tz"],
                 "--culture", CONTOSO.truth["culture"], "--json", str(target)])
    assert code == 0
    data = json.loads(target.read_text(encoding="utf-8"))
    assert (data["verdict"], data["cause"], data["culprit"]) == (
        CONTOSO.truth["verdict"], CONTOSO.truth["cause"], CONTOSO.truth["culprit"])
    unread = {Path(row["file"]).as_posix(): row["reason"] for row in data["case"]["unread"]}
    assert {"bundle.zip", "certs/planted.cer", "events/Bad-encoding.xml"} <= set(unread)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "certs/planted.cer" in err and "bundle.zip" in err
