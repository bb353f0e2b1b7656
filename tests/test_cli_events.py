"""``exlab events``: the summary it prints and the files it writes."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

import exlab.commands.events
from exlab.cli import main
from exlab.lab.event_exports import write_event_viewer_csv, write_event_viewer_xml

FIXTURES = Path(__file__).parent / "events" / "fixtures"


@pytest.fixture
def evidence(tmp_path) -> Path:
    """A folder as an engineer exports it: event exports in three formats and a file that is none."""
    folder = tmp_path / "evidence"
    (folder / "events").mkdir(parents=True)
    for name in ("wevtutil.xml", "get-eventlog.clixml", "app-en-US.csv"):
        shutil.copy(FIXTURES / name, folder / "events" / name)
    (folder / "config").mkdir()
    (folder / "config" / "notes.txt").write_text("Get-SendConnector output follows\r\n", encoding="utf-8")
    return folder


def test_summary_and_csv_output(evidence, tmp_path, capsys):
    out = tmp_path / "events.csv"
    assert main(["events", str(evidence), "--tz", "Europe/Warsaw", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 event(s) from 3 file(s)." in printed
    assert "Passed over 1 file(s) that are not event exports." in printed
    counts = [line.split() for line in printed.splitlines() if line.startswith("  M")]
    assert counts == [["MSExchangeTransport", "2004", "3"], ["MSExchangeTransport", "12014", "3"],
                      ["MSExchangeTransport", "12023", "1"], ["Microsoft-Windows-Eventlog", "104", "1"]]
    assert "EX01.contoso.com" in printed and "2025-03-18T07:00:01.5000000Z" in printed
    assert "Losses: none" in printed
    assert f"Wrote 8 events to {out}" in printed
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    assert {row["source"].rsplit("/", 1)[-1] for row in rows} == {"wevtutil.xml", "get-eventlog.clixml",
                                                                  "app-en-US.csv"}
    data = [json.loads(row["data"]) for row in rows]
    assert {"%1": "Outbound to Office 365", "%2": "Outbound to Office 365"} not in data
    assert any(d.get("Binary") == "0A0B0C" for d in data)


def test_csv_cells_are_neutralised_against_formulas(tmp_path, capsys):
    row = {"time_created": 0, "provider": "=HYPERLINK(\"http://evil\")", "event_id": 1, "level": 4,
           "message": "+cmd|' /C calc'!A0", "data": {"%1": "-2"}, "computer": "@EX01", "channel": "Application",
           "record_id": 1}
    (tmp_path / "evidence").mkdir()
    source = tmp_path / "evidence" / "in.xml"
    write_event_viewer_xml(source, [row])
    out = tmp_path / "out.csv"
    assert main(["events", str(source), "-o", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as handle:
        [written] = list(csv.DictReader(handle))
    assert written["provider"] == "'=HYPERLINK(\"http://evil\")"
    assert written["message"] == "'+cmd|' /C calc'!A0"
    assert written["computer"] == "'@EX01"
    assert json.loads(written["data"]) == {"%1": "-2"}      # JSON text starts with "{", stays as is
    assert written["time_created"] == "1970-01-01T00:00:00Z"


def test_parquet_and_jsonl_outputs(evidence, tmp_path, capsys):
    parquet, jsonl = tmp_path / "e.parquet", tmp_path / "e.jsonl"
    assert main(["events", str(evidence), "--tz", "UTC", "-o", str(parquet)]) == 0
    assert main(["events", str(evidence), "--tz", "UTC", "-o", str(jsonl)]) == 0
    frame = pd.read_parquet(parquet)
    assert len(frame) == 8 and str(frame["time_created"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["event_id"].dtype) == "Int32"
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 8
    assert [r["data"] for r in records] == [json.loads(d) for d in frame["data"]]   # object in JSON, text in Parquet
    assert records[0]["time_created"].endswith("Z") and records[0]["record_number"] is None


def test_filters(evidence, capsys):
    assert main(["events", str(evidence), "--tz", "UTC", "--event-id", "12014", "--event-id", "104",
                 "--since", "2025-03-19"]) == 0
    printed = capsys.readouterr().out
    assert "3 event(s)" in printed and "12014" in printed and " 104 " not in printed


def test_losses_and_assumptions_are_reported(tmp_path, capsys):
    assert main(["events", str(FIXTURES / "app-pl-PL-bom.csv")]) == 0
    captured = capsys.readouterr()
    assert "app-pl-PL-bom.csv: 1 record(s), 0 chunk(s) skipped; first at line 4" in captured.out
    assert "local times read as UTC" in captured.out
    assert "warning:" in captured.err


def test_a_named_file_that_is_not_an_event_export_fails(capsys):
    assert main(["events", str(FIXTURES / "not-events.xml")]) == 1
    assert "not-events.xml" in capsys.readouterr().err


def test_bad_arguments_fail_with_a_message(tmp_path, capsys):
    assert main(["events", str(FIXTURES / "wevtutil.xml"), "-o", str(tmp_path / "out.xlsx")]) == 1
    assert ".csv, .parquet, .jsonl" in capsys.readouterr().err
    assert main(["events", str(FIXTURES / "wevtutil.xml"), "--since", "last tuesday"]) == 1
    assert "--since" in capsys.readouterr().err
    assert main(["events", str(tmp_path / "missing.evtx")]) == 1


@pytest.mark.parametrize("terminal", [True, False])
def test_a_read_shows_progress_over_the_bytes_on_a_terminal_only(tmp_path, capsys, monkeypatch, terminal):
    row = {"time_created": 0, "provider": "P", "event_id": 1, "level": 4, "message": "m"}
    for index in range(20):
        write_event_viewer_csv(tmp_path / f"{index:02d}.csv", [row], tz="UTC")
    monkeypatch.setattr(exlab.commands.events, "PROGRESS_DELAY", 0)     # the bar waits a second, else
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    assert main(["events", str(tmp_path), "--tz", "UTC"]) == 0
    captured = capsys.readouterr()
    assert "20 event(s) from 20 file(s)." in captured.out
    total = sum(path.stat().st_size for path in tmp_path.iterdir())
    assert ("event exports: 100%" in captured.err and f"{total / 1024:.2f}k/{total / 1024:.2f}k" in captured.err) \
        is terminal


def test_never_writes_next_to_the_evidence(tmp_path, capsys):
    source = tmp_path / "in.xml"
    write_event_viewer_xml(source, [{"time_created": 0, "provider": "P", "event_id": 1}])
    assert main(["events", str(source), "-o", str(tmp_path / "out.csv")]) == 1
    assert "outside the evidence folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xml"]


def test_culture_settles_the_day_month_order_of_csv_dates(tmp_path, capsys):
    (tmp_path / "evidence").mkdir()
    path = tmp_path / "evidence" / "Application.csv"    # English headers, en-GB dates, no day above 12
    write_event_viewer_csv(path, [{"time_created": int(pd.Timestamp("2025-03-05 14:15:04", tz="UTC").value),
                                   "provider": "MSExchangeTransport", "event_id": 2004, "level": 3, "task": 2,
                                   "message": "x"}], culture="en-GB", tz="UTC")
    out = tmp_path / "out.csv"
    assert main(["events", str(path), "--tz", "UTC", "--culture", "invariant", "-o", str(out)]) == 0
    assert "2025-05-03T14:15:04" in out.read_text(encoding="utf-8")       # read month first, as asked
    assert main(["events", str(path), "--tz", "UTC", "--culture", "en-GB", "-o", str(out)]) == 0
    assert "2025-03-05T14:15:04" in out.read_text(encoding="utf-8")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["events", str(path), "--culture", "en-XX"])
    assert exited.value.code == 2 and "en-XX" in capsys.readouterr().err


def test_summary_columns_line_up_as_shown_when_a_name_holds_control_characters(tmp_path, capsys):
    """A control character is shown as its escape (``\\x1b``: four characters); the columns are
    aligned on the names as shown, not as they are in the evidence."""
    from exlab.lab.event_exports import write_winevent_json

    write_winevent_json(tmp_path / "app.json", [
        {"time_created": 0, "provider": "Evil\x1b\x1b\x1b", "computer": "EX01\x1b\x1b", "event_id": 1, "data": {}},
        {"time_created": 0, "provider": "MSExchangeTransport", "computer": "EX02", "event_id": 2004, "data": {}},
        {"time_created": 0, "provider": "MSExchangeTransport", "computer": "EX02", "event_id": 2004, "data": {}}])
    assert main(["events", str(tmp_path / "app.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    counts = lines[lines.index("Events by provider and event id:") + 1:][:2]
    evil = "Evil" + "\\x1b" * 3        # 16 characters as shown; MSExchangeTransport has 19
    assert counts == ["  MSExchangeTransport   2004  2", f"  {evil}         1  1"]
    computers = lines[lines.index("Time range per computer (UTC):") + 1:][:2]
    assert [line.index("1970-") for line in computers] == [len("  EX01\\x1b\\x1b  ")] * 2


def test_a_refused_file_among_several_is_named_and_the_others_are_read(evidence, capsys):
    """One damaged export of a folder never stops the others: it is named with the place and what was
    expected; given alone it is still an error."""
    bad = evidence / "events" / "cut.evtx"
    bad.write_bytes(b"ElfFile\x00" + bytes(100))       # a file header cut short
    assert main(["events", str(evidence), "--tz", "Europe/Warsaw"]) == 0
    printed = capsys.readouterr().out
    assert f"not read: {bad}, file header (108 bytes): expected a 128-byte .evtx file header" in printed
    assert "8 event(s) from 3 file(s)." in printed
    assert main(["events", str(bad)]) == 1
    assert "expected a 128-byte .evtx file header" in capsys.readouterr().err


def test_culture_settles_the_day_month_order_of_get_winevent_export_csv_dates(tmp_path, capsys):
    from exlab.lab.event_exports import write_winevent_csv

    (tmp_path / "evidence").mkdir()
    path = tmp_path / "evidence" / "Application.csv"    # Get-WinEvent | Export-Csv, en-GB dates, no day above 12
    write_winevent_csv(path, [{"time_created": int(pd.Timestamp("2025-03-05 14:15:04", tz="UTC").value),
                               "provider": "MSExchangeTransport", "event_id": 2004, "level": 3, "task": 2,
                               "message": "x", "data": {}}], culture="en-GB", tz="UTC")
    out = tmp_path / "out.csv"
    assert main(["events", str(path), "--tz", "UTC", "--culture", "invariant", "-o", str(out)]) == 0
    assert "2025-05-03T14:15:04" in out.read_text(encoding="utf-8")       # read month first, as asked
    assert main(["events", str(path), "--tz", "UTC", "--culture", "en-GB", "-o", str(out)]) == 0
    assert "2025-03-05T14:15:04" in out.read_text(encoding="utf-8")
    printed = capsys.readouterr()
    assert "ambiguous" not in printed.out + printed.err and "fits several date orders" not in printed.out + printed.err
