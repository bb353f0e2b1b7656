"""Warnings an engineer can act on: each names the evidence file and the place in it, once,
and no path or line of exlab's own source reaches the notebook or the terminal."""

from __future__ import annotations

import linecache
import pickle
import shutil
import warnings
from pathlib import Path

import pytest

import exlab
from exlab.cli import main
from exlab.errors import AssumptionWarning, DataLossWarning, ExlabWarning
from exlab.parse_report import FileReport
from tests.conftest import SAMPLES

EXLAB_SOURCE = str(Path(exlab.__file__).parent)
EVENT_FIXTURES = Path(__file__).parent / "events" / "fixtures"
LOSSY_CSV = EVENT_FIXTURES / "app-pl-PL-bom.csv"          # line 4 holds a date no culture writes
FL_EN_AU = "generated/Get-ExchangeCertificate-fl-en-AU.txt"  # local times, no time zone given


def _recorded(read) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read()
    return [w for w in caught if issubclass(w.category, ExlabWarning)]


def _shown(caught: warnings.WarningMessage) -> str:
    """What Python (and so JupyterLab's stderr) prints for a warning."""
    return warnings.formatwarning(caught.message, caught.category, caught.filename, caught.lineno, caught.line)


def test_a_lost_record_warns_with_the_file_as_filename_and_its_line_as_lineno():
    caught = _recorded(lambda: exlab.read_events(LOSSY_CSV, tz="Europe/Warsaw"))
    assert len(caught) == 1
    (loss,) = caught
    assert loss.category is DataLossWarning
    assert (loss.filename, loss.lineno) == (str(LOSSY_CSV), 4)
    assert str(loss.message).startswith("line 4: skipped 1 record(s) and 0 chunk(s)")
    shown = _shown(loss)
    assert shown.startswith(f"{LOSSY_CSV}:4: DataLossWarning: line 4: skipped 1 record(s)")
    assert EXLAB_SOURCE not in shown and ".py" not in shown
    assert shown.count("\n") == 1   # one line: no source line, and the evidence was not read to show one


@pytest.mark.real_exports
def test_an_assumed_time_zone_warns_once_naming_the_real_export(real_exports):
    path = real_exports / FL_EN_AU
    caught = _recorded(lambda: exlab.read_certs(path))
    # two assumptions, each said once and at the file: no time zone given, and the day/month
    # order taken from the lower-case am/pm hint (no culture given)
    assert [w.category for w in caught] == [AssumptionWarning, AssumptionWarning]
    assert {w.filename for w in caught} == {str(path)}
    [zone] = [w for w in caught if "local times read as UTC" in str(w.message)]
    assert any("inferred from a hint only" in str(w.message) for w in caught)
    shown = _shown(zone)
    assert shown.startswith(f"{path}:0: AssumptionWarning: local times read as UTC")
    assert EXLAB_SOURCE not in shown and "exchange_list.py" not in shown and shown.count("\n") == 1


def test_the_same_warning_is_given_once_per_file():
    report = FileReport("logs/SEND20250320-1.LOG", "", "smtp-send-log")
    report.skip_record("line 9", "7 fields, expected 9")
    caught = _recorded(lambda: [report.warn_losses() for _ in range(3)])
    assert len(caught) == 1 and report.warnings == [str(caught[0].message)]


def test_showing_a_warning_does_not_read_the_evidence(tmp_path):
    evidence = tmp_path / "Get-ExchangeCertificate-fl.txt"
    evidence.write_text("Thumbprint : ABC\n", encoding="utf-8")
    report = FileReport(str(evidence), "", "exchange-list")
    (caught,) = _recorded(lambda: report.warn("NotAfter not understood", "line 1"))
    assert "Thumbprint" not in _shown(caught)
    assert linecache.getline(str(evidence), 1) == ""


def test_a_warning_survives_pickling_with_its_file_and_place():
    warning = DataLossWarning("bad signature", "Application.evtx", "chunk 3 at offset 0x11000")
    copy = pickle.loads(pickle.dumps(warning))
    assert (copy.text, copy.source, copy.where, str(copy)) == (warning.text, warning.source, warning.where,
                                                               str(warning))


def test_the_command_prints_each_warning_once_as_one_line_naming_file_and_place(capsys):
    assert main(["events", str(LOSSY_CSV), "--tz", "Europe/Warsaw"]) == 0
    err = capsys.readouterr().err
    warning_lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith(f"warning: {LOSSY_CSV} line 4: skipped 1 record(s) and 0 chunk(s)")
    assert EXLAB_SOURCE not in err and "Warning:" not in err and ".py" not in err



def test_a_file_a_case_cannot_read_is_a_warning_naming_it_and_the_place(tmp_path):
    from tests.test_case import BROKEN_LOG   # a SmtpSend log cut before its #Fields line

    shutil.copytree(SAMPLES / "contoso-kb2888788" / "certs", tmp_path / "certs")
    broken = tmp_path / "SEND20250321-1.LOG"
    broken.write_bytes(BROKEN_LOG)
    caught = _recorded(lambda: exlab.open_case(tmp_path, tz="Europe/Warsaw"))
    refused = [w for w in caught if w.filename == str(broken)]
    assert len(refused) == 1
    assert str(refused[0].message).startswith("the header: not read: expected the header line '#Fields:")
    assert EXLAB_SOURCE not in _shown(refused[0])



def test_a_case_that_reads_a_file_again_warns_about_it_once(tmp_path):
    shutil.copy(LOSSY_CSV, tmp_path / "app-pl-PL-bom.csv")
    (tmp_path / "zz-cut.evtx").write_bytes(b"ElfFile\x00\x01\x02")   # refused: the events are read again one by one
    caught = _recorded(lambda: exlab.open_case(tmp_path, tz="Europe/Warsaw"))
    assert [(Path(w.filename).name, w.lineno) for w in caught] == [("app-pl-PL-bom.csv", 4), ("zz-cut.evtx", 0)]


def test_frames_made_from_a_read_share_its_parse_report_instead_of_copying_it():
    """pandas deep-copies ``attrs`` on every operation: the report is shared, not copied each time."""
    frame = exlab.read_tracking_log(SAMPLES / "contoso-kb2888788" / "logs" / "MessageTracking")
    report = frame.attrs["parse_report"]
    derived = frame[frame["event_id"] == "DEFER"].reset_index(drop=True).assign(n=1).copy(deep=True)
    assert derived.attrs["parse_report"] is report
    assert report.records_read == len(frame) > 0


def test_a_report_lists_the_first_thousand_losses_and_counts_every_loss_through_absorb_tables_and_the_fleet_store():
    # every loss was kept with its place and reason: a file of millions of bad records held a Loss each
    import json

    from exlab.fleet.store import report_from_json, report_to_json
    from exlab.parse_report import LISTED_LOSSES, ParseReport

    whole, part = FileReport("Application.evtx", "00", "evtx"), FileReport("Application.evtx", "00", "evtx")
    for number in range(700):
        whole.skip_record(f"record {number}", "bad")
    for number in range(800):
        part.skip_chunk(f"chunk {number}", "bad signature")
        part.null_value(f"record {number}", "level 300 is outside what the column holds: read as NA")
    whole.absorb(part)
    assert (whole.records_skipped, whole.chunks_skipped, whole.values_nulled) == (700, 800, 800)
    assert len(whole.losses) == LISTED_LOSSES == 1000 and whole.losses[-1].where == "record 149"
    assert report_from_json(json.loads(json.dumps(report_to_json(whole)))) == whole
    report = ParseReport()
    report.files.append(whole)
    assert report.to_frame().loc[0, ["records_skipped", "chunks_skipped", "values_nulled"]].tolist() == [700, 800, 800]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        whole.warn_losses()
    assert [str(w.message) for w in caught] == [
        "record 0: skipped 700 record(s) and 800 chunk(s) and read 800 value(s) as NA, the first here: bad. "
        "See the parse report."]


def test_values_read_as_na_past_the_listed_losses_are_warned_naming_the_first_of_them():
    # the warning looked for the first value lost among the listed losses: none there when they were full
    from exlab.parse_report import ParseReport
    from exlab.value_ranges import count_lost

    report = ParseReport()
    app = report.add_file("app.xml", sha256="", format="event-xml")
    for number in range(1000):
        app.skip_record(f"event {number}", "no </Event>")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        count_lost(report, ["app.xml"] * 2, lambda i: f"event {1000 + i}", {"level": ([300, 301], [0, 1])})
    assert app.values_nulled == 2 and len(app.losses) == 1000
    assert [str(w.message) for w in caught] == [
        "event 1000: read 2 value(s) as NA, the first here: level 300 is outside what the column holds: read as NA. "
        "See the parse report."]
