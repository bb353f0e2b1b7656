"""The ``exlab`` command itself: version, exit codes (0 done, 1 error, 2 usage, 3 no evidence of the
kind), errors as one line, warnings on stderr so ``--json -`` is JSON alone, quiet on a closed pipe."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from exlab import __version__
from exlab.cli import EXIT_CODES, main
from exlab.errors import ExlabError, NoEvidence
from tests.conftest import SAMPLES


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"exlab {__version__}"


def test_an_exlab_error_is_one_line_and_exit_code_1(tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    assert main(["events", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exlab: ") and str(missing) in err and "Traceback" not in err


class ClosedPipe(io.StringIO):
    """A standard output whose reader went away, as with ``exlab ... | head -1``."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["events", str(SAMPLES / "contoso-kb2888788" / "events")]) == 0
    assert "Traceback" not in capsys.readouterr().err


CASES = sorted(p.name for p in SAMPLES.iterdir() if (p / "truth.json").is_file())
ROOTS = str(SAMPLES / "lab-public-root.pem")


def _one_error_line(err: str, *names: str) -> None:
    """An error is one line, ``exlab: ...``, naming what it is about, without a traceback."""
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("exlab: "), err
    assert all(name in lines[0] for name in names) and "Traceback" not in err


@pytest.mark.parametrize("case", CASES)
def test_json_to_stdout_is_the_json_alone_on_every_sample(case, tmp_path, capsys):
    # without its settings (no time zone), the sample's Event Viewer CSV and Get-ExchangeCertificate
    # exports warn, on stderr
    folder = shutil.copytree(SAMPLES / case, tmp_path / case, ignore=shutil.ignore_patterns("exlab-case.toml"))
    assert main(["investigate", str(folder), "--roots", ROOTS, "--json", "-"]) == 0
    out, err = capsys.readouterr()
    payload = json.loads(out)
    assert payload["verdict"] in ("confirmed", "ruled_out", "inconclusive") and payload["case"]["files"]
    assert "warning: " in err and "KB 2888788" in err


def test_json_to_stdout_stays_json_when_a_file_is_refused(tmp_path, capsys):
    from tests.test_case import BROKEN_LOG   # a SmtpSend log cut before its #Fields line

    folder = tmp_path / "ex01"
    shutil.copytree(SAMPLES / "contoso-kb2888788", folder)
    (folder / "SEND20250321-9.LOG").write_bytes(BROKEN_LOG)
    assert main(["investigate", str(folder), "--roots", ROOTS, "--tz", "Europe/Warsaw", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["verdict"] == "confirmed"
    refused = [line for line in err.splitlines() if line.startswith("warning: ") and "SEND20250321-9" in line]
    assert refused == [f"warning: {folder / 'SEND20250321-9.LOG'} the header: not read: expected the header "
                       "line '#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
                       "remote-endpoint,event,data,context'"]


def _argv(command: str, path: Path, tmp_path: Path) -> list[str]:
    return [command, str(path), *(["-o", str(tmp_path / "report.html")] if command == "report" else [])]


@pytest.mark.parametrize("command", ["certs", "events", "investigate", "report"])
def test_a_folder_without_evidence_of_the_kind_exits_3(command, tmp_path, capsys):
    folder = tmp_path / "ex01"
    folder.mkdir()
    (folder / "notes.txt").write_text("asked the admin on Monday", encoding="utf-8")
    assert main(_argv(command, folder, tmp_path)) == 3
    _one_error_line(capsys.readouterr().err, str(folder))
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("command, other_kind", [("certs", "events"), ("events", "certs")])
def test_evidence_of_another_kind_only_exits_3(command, other_kind, capsys):
    folder = SAMPLES / "contoso-kb2888788" / other_kind
    assert main([command, str(folder)]) == 3
    _one_error_line(capsys.readouterr().err, str(folder), "expected a")


@pytest.mark.parametrize("command", ["certs", "events", "investigate", "report"])
def test_a_misspelt_path_exits_1(command, tmp_path, capsys):
    misspelt = SAMPLES / "contoso-kb2888788" / "cert"
    assert main(_argv(command, misspelt, tmp_path)) == 1
    _one_error_line(capsys.readouterr().err, str(misspelt))


@pytest.mark.parametrize("command", ["certs", "events", "investigate", "report"])
def test_a_file_that_cannot_be_read_as_asked_exits_1(command, tmp_path, capsys):
    damaged = tmp_path / "Application.evtx"
    damaged.write_bytes(b"ElfFile\x00\x01\x02")   # an .evtx cut inside its file header
    assert main(_argv(command, damaged, tmp_path)) == 1
    _one_error_line(capsys.readouterr().err, str(damaged))


def test_an_output_in_a_missing_folder_exits_1_before_reading(tmp_path, capsys):
    target = tmp_path / "no-such-folder" / "certs.csv"
    assert main(["certs", str(SAMPLES / "contoso-kb2888788" / "certs"), "-o", str(target)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and not target.exists()
    _one_error_line(err, str(target), "an existing folder")


def test_the_exit_codes_are_documented_where_the_command_says_so():
    assert set(EXIT_CODES) == {0, 1, 2, 3}
    assert NoEvidence("x").exit_code == 3 and ExlabError("x").exit_code == 1


def test_a_file_the_system_refuses_exits_1_naming_it(tmp_path, capsys):
    target = tmp_path / ("d" * 300 + ".json")       # past the 255 bytes a file name can have
    assert main(["investigate", str(SAMPLES / "northwind-quiet"), "--json", str(target)]) == 1
    _one_error_line(capsys.readouterr().err, str(target), "File name too long")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device every write to fails")
@pytest.mark.parametrize("command, name", [
    (["report", "{case}", "-o"], "report.html"),
    (["investigate", "{case}", "--json"], "diagnosis.json"),
    (["events", "{case}/events", "-o"], "events.csv"),
    (["events", "{case}/events", "-o"], "events.parquet"),
    (["certs", "{case}/certs", "-o"], "certs.jsonl"),
], ids=lambda value: value if isinstance(value, str) else value[0])
def test_a_write_that_fails_on_a_full_disk_exits_1_naming_the_file(command, name, tmp_path, capsys):
    # the file opens, then every write fails with ENOSPC, as on a full disk (the OSError names no file)
    target = tmp_path / name
    target.symlink_to("/dev/full")
    case = str(SAMPLES / "contoso-kb2888788")
    assert main([part.format(case=case) for part in command] + [str(target)]) == 1
    err = capsys.readouterr().err.replace(f"exlab: investigating {case} ...\n", "")   # report's progress line
    _one_error_line(err, str(target), "No space left on device")


def test_an_output_in_a_folder_that_is_a_file_is_refused_before_the_case_is_read(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder was meant", encoding="utf-8")
    target = blocker / "diagnosis.json"
    assert main(["investigate", str(SAMPLES / "northwind-quiet"), "--json", str(target)]) == 1
    _one_error_line(capsys.readouterr().err, str(target), "expected an output file in an existing folder")


def test_control_characters_in_file_names_and_evidence_text_reach_the_terminal_as_escapes(tmp_path, capsys):
    from exlab.lab.event_exports import write_winevent_json

    evidence = tmp_path / "case"
    evidence.mkdir()
    write_winevent_json(evidence / "app\x1b[2J.json", [{"time_created": 0, "provider": "Evil\x1b]0;pwned\x07\rP",
                                                        "computer": "EX01\u202e", "event_id": 1, "data": {}}])
    (evidence / "gone\x1b[31m.json").symlink_to(tmp_path / "nowhere.json")
    assert main(["events", str(evidence)]) == 0
    out, err = capsys.readouterr()
    assert "Evil\\x1b]0;pwned\\x07\\rP" in out
    assert "EX01\\u202e" in out
    assert "gone\\x1b[31m.json" in err
    (evidence / "bad\r.evtx").write_bytes(b"ElfFile\x00" + bytes(100))   # a truncated .evtx header: refused
    assert main(["events", str(evidence / "bad\r.evtx")]) == 1
    out2, err2 = capsys.readouterr()
    assert "bad\\r.evtx" in err2
    for text in (out, err, out2, err2):
        assert not any(char in text for char in "\x1b\x07\r\u202e")


def test_a_line_feed_in_evidence_never_makes_a_line_of_its_own(tmp_path, capsys):
    """A file name, a connector name or an event's computer holding a line feed could print a
    forged verdict line; the terminal shows it as ``\\n`` inside the line it belongs to."""
    import shutil

    from exlab.lab.event_exports import write_winevent_json

    forged = "KB 2888788: confirmed"
    case = tmp_path / "case"
    shutil.copytree(SAMPLES / "fabrikam-healthy", case)
    connectors = case / "config" / "Get-SendConnector.xml"
    text = connectors.read_text(encoding="utf-16")
    assert text.count('<S N="Name">Outbound to Office 365</S>') == 1
    connectors.write_text(text.replace('<S N="Name">Outbound to Office 365</S>',
                                       f'<S N="Name">Outbound_x000A_{forged}</S>'), encoding="utf-16")
    (case / f"notes\n{forged}.txt").write_text("asked the admin on Monday", encoding="utf-8")
    write_winevent_json(case / "app.json", [{"time_created": 0, "provider": "MSExchangeTransport", "event_id": 1,
                                             "computer": f"EX01\n{forged}", "data": {}}])
    assert main(["investigate", str(case)]) == 0
    out = capsys.readouterr().out
    assert f"notes\\n{forged}.txt" in out and f"Outbound\\n{forged}" in out
    assert f"EX01\\n{forged.upper()}" in out      # a server's NetBIOS name is shown in capitals
    assert main(["events", str(case / "app.json")]) == 0
    events = capsys.readouterr().out
    assert f"EX01\\n{forged}" in events
    (case / f"bad\n{forged}.evtx").write_bytes(b"ElfFile\x00" + bytes(100))   # refused: one error line
    assert main(["events", str(case / f"bad\n{forged}.evtx")]) == 1
    err = capsys.readouterr().err
    assert f"bad\\n{forged}.evtx" in err and len(err.splitlines()) == 1
    for printed in (out, events):
        assert not [line for line in printed.splitlines() if line.lstrip().startswith(forged)]
