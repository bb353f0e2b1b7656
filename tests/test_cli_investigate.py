"""``exlab investigate``: the terminal summary, the JSON (to a file or alone on stdout), exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exlab.cli import main
from tests.analysis.folders import write_protocol_case


@pytest.fixture()
def folder(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "evidence"
    root.mkdir()
    return root, write_protocol_case(root)


def test_prints_the_verdict_the_evidence_and_the_commands(folder, capsys):
    root, facts = folder
    assert main(["investigate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "KB 2888788: confirmed (direct evidence)" in out
    assert f"Enable-ExchangeCertificate -Thumbprint {facts['culprit']} -Services <its services without SMTP>" in out
    assert "Restart-Service MSExchangeTransport" in out
    assert ("Set-SendConnector 'Outbound to Office 365' -TlsCertificateName "
            "'<I>CN=exlab Lab Public Server CA 01, O=exlab lab, C=US<S>CN=mail.contoso.com, O=Contoso, C=US'") in out
    assert "not read:" in out and "README.txt" in out


def test_counts_in_the_summary_have_their_thousands_separated(capsys):
    import warnings

    import exlab
    from tests.conftest import SAMPLES

    case = SAMPLES / "contoso-kb2888788"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = exlab.open_case(case).reports.records_read
    assert main(["investigate", str(case)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert read > 1000 and first.endswith(f": {read:,} record(s), 0 skipped, 0 chunk(s) skipped"), first


def test_json_dash_writes_only_json_to_stdout(folder, capsys):
    root, facts = folder
    assert main(["investigate", str(root), "--json", "-", "--tz", "Europe/Warsaw"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert (data["verdict"], data["cause"], data["culprit"], data["strength"]) == (
        "confirmed", "kb2888788", facts["culprit"], "direct")
    assert data["onset"] == "2025-03-20T09:14:01.7000000Z"   # the 454 line, 700 ms into the session
    assert data["connector"] == facts["connector"]
    assert [f["file"].endswith(".LOG") for f in data["case"]["files"]] == [True, True]
    assert {Path(u["file"]).name for u in data["case"]["unread"]} == {"truth.json", "README.txt", "empty.log"}
    assert "KB 2888788: confirmed" in captured.err


def test_json_file_is_written_and_the_summary_still_printed(folder, tmp_path, capsys):
    root, facts = folder
    target = tmp_path / "out" / "diagnosis.json"
    target.parent.mkdir()
    assert main(["investigate", str(root), "--json", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["culprit"] == facts["culprit"]
    assert "KB 2888788: confirmed" in capsys.readouterr().out


def test_never_writes_into_the_evidence_folder(folder, capsys):
    root, _ = folder
    assert main(["investigate", str(root), "--json", str(root / "diagnosis.json")]) == 1
    assert not (root / "diagnosis.json").exists()
    assert "outside the evidence folder" in capsys.readouterr().err


def test_exit_code_3_on_a_folder_with_nothing_readable(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    assert main(["investigate", str(tmp_path)]) == 3
    assert "holds nothing exlab reads" in capsys.readouterr().err


def test_exit_code_1_on_an_unknown_time_zone(folder, capsys):
    root, _ = folder
    assert main(["investigate", str(root), "--tz", "Nowhere/Zone"]) == 1
    assert "expected an IANA time zone" in capsys.readouterr().err


@pytest.mark.parametrize("option, target, expected", [
    ("--report", "missing/report.html", "expected an output file in an existing folder"),
    ("--json", "missing/diagnosis.json", "expected an output file in an existing folder"),
    ("--report", "", "expected an output file, not a folder")])
def test_an_output_that_cannot_be_written_is_refused_before_the_case_is_read(folder, tmp_path, capsys, monkeypatch,
                                                                              option, target, expected):
    # the case was read and diagnosed (minutes for months of logs) before the report found its folder missing
    import exlab.case

    def never(*args, **kwargs):
        raise AssertionError("the case was read")

    monkeypatch.setattr(exlab.case, "open_case", never)
    root, _ = folder
    output = tmp_path / target if target else tmp_path
    assert main(["investigate", str(root), option, str(output)]) == 1
    assert capsys.readouterr().err == f"exlab: {output}: {expected}\n"
