"""Log files read by a small pool of threads (exlab.evidence.map_evidence) give, row for row, what
the same files read one after the other give: the frames, the parse reports and the warnings, in
the same order, on the lab samples, a month-like traffic case and files with every quirk."""

from __future__ import annotations

import io
import shutil
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from exlab.evidence import map_evidence
from exlab.lab.generate import generate_case
from exlab.lab.traffic import add_traffic
from exlab.parse_report import ParseReport
from exlab.transport import logfile, read_protocol_lines, read_protocol_log, read_tracking_log
from tests.conftest import SAMPLES
from tests.transport.test_columnar import CRAFTED, LINE_BY_LINE, SEND_HEADER, SESSION

READERS = {"sessions": lambda logs: read_protocol_log(logs, failure_times=True),
           "lines": read_protocol_lines, "tracking": read_tracking_log}


def _read(read, logs, workers: int, monkeypatch) -> tuple[pd.DataFrame, list, list[str]]:
    monkeypatch.setattr(logfile, "_WORKERS", workers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read(logs)
    return frame, frame.attrs["parse_report"].files, [f"{w.filename}:{w.lineno}: {w.message}" for w in caught]


def _same_read(read, logs, monkeypatch) -> pd.DataFrame:
    frame, files, said = _read(read, logs, 2, monkeypatch)
    expected, expected_files, expected_said = _read(read, logs, 1, monkeypatch)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert files == expected_files
    assert said == expected_said
    return frame


def _logs(folder: Path, kind: str) -> list[Path]:
    wanted = ("MessageTracking",) if kind == "tracking" else ("SmtpSend", "SmtpReceive")
    return [path for path in sorted(folder.rglob("*.LOG")) if path.parent.name in wanted]


@pytest.fixture(scope="module")
def traffic(tmp_path_factory) -> Path:
    gen = generate_case("contoso-kb2888788", tmp_path_factory.mktemp("traffic"), seed=7)
    add_traffic(gen, days=4, sessions_per_day=60)
    return gen.folder


@pytest.mark.parametrize("kind", list(READERS))
@pytest.mark.parametrize("case", ["traffic", *sorted(path.parent.name for path in SAMPLES.glob("*/truth.json"))])
def test_threads_read_the_samples_row_for_row_as_one_file_after_another(case, kind, traffic, monkeypatch):
    folder = traffic if case == "traffic" else SAMPLES / case
    logs = _logs(folder, kind)
    if not logs:
        pytest.skip(f"{case} has no {kind} logs")
    assert len(_same_read(READERS[kind], logs, monkeypatch))


def test_threads_read_quirky_files_row_for_row_with_their_losses_in_order(tmp_path, monkeypatch):
    """Quoted commas, BOMs, CRLF and LF, bad rows, a cut last line, UTF-16, text that is not UTF-8,
    quotes across lines, a header written again: each its own rotated file of one folder."""
    folder = tmp_path / "SmtpSend"
    folder.mkdir()
    body = (f"2025-03-20T00:00:01.000Z,Outbound,{SESSION},0,10.0.0.5:25,10.0.0.9:25,*,,attempting to connect\r\n"
            f'2025-03-20T00:00:02.000Z,Outbound,{SESSION},1,10.0.0.5:25,10.0.0.9:25,<,"220 a, b ""c""",\r\n'
            f"2025-03-20T00:00:03.000Z,Outbound,{SESSION},2,10.0.0.5:25,10.0.0.9:25,<,too,many,fields\r\n"
            f"2025-03-20T00:00:04.000Z,Outbound,{SESSION},2,10.0.0.5:25,10.0.0.9:25,-,,\r\n").encode()
    quirks = [
        SEND_HEADER + body,
        SEND_HEADER + body.replace(b"\r\n", b"\n"),
        SEND_HEADER + body.rstrip(b"\r\n"),                                      # a cut last line
        SEND_HEADER + body.replace(b"a, b", b"\xff\xfe"),                        # not UTF-8
        (SEND_HEADER + body).decode("utf-8-sig").encode("utf-16"),                  # UTF-16 from PowerShell
        SEND_HEADER + body.replace(b'"220 a, b', b'"220 a,\r\n b'),             # a quote across lines
        SEND_HEADER + body + SEND_HEADER + body,                                 # a header written again
        SEND_HEADER + body.replace(b"2025-03-20T00:00:04", b"2025-02-30T00:00:04"),   # no such day
        SEND_HEADER + body.replace(b"too,many", b"\xe1\xe1,many"),            # a refused row, not UTF-8
    ]
    for number, data in enumerate(quirks, 1):
        (folder / f"SEND20250320-{number}.LOG").write_bytes(data)
    hook = sys.unraisablehook
    for kind in ("sessions", "lines"):
        frame = _same_read(READERS[kind], folder, monkeypatch)
        assert frame.attrs["parse_report"].records_skipped
    assert sys.unraisablehook is hook            # the threads' quiet hook is put back once all are done


@pytest.mark.parametrize("data", [*CRAFTED.values(), *LINE_BY_LINE.values()], ids=[*CRAFTED, *LINE_BY_LINE])
def test_threads_read_each_crafted_file_as_one_reader_does(data, tmp_path, monkeypatch):
    for number in (1, 2, 3):
        (tmp_path / f"DEMO20250320-{number}.LOG").write_bytes(data)

    def tables(workers: int) -> tuple[list, list]:
        monkeypatch.setattr(logfile, "_WORKERS", workers)
        report = ParseReport()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read = [(table.source, table.line.tolist(), table.time.tolist(),
                     {name: column.to_pylist() for name, column in table.values.items()})
                    for table in logfile.read_log_tables(tmp_path, CRAFTED_KIND, report)]
        return read, report.files
    assert tables(2) == tables(1)


CRAFTED_KIND = logfile.LogKind("Demo Log", ("date-time", "event", "data"), "demo", ("date-time", "event"))


def test_an_error_is_raised_at_its_files_turn_and_the_files_ahead_are_closed(tmp_path):
    for name in ("a", "b", "c", "d"):
        (tmp_path / name).write_bytes(name.encode())
    opened = []

    def work(evidence):
        opened.append(evidence)
        if Path(evidence.name).name == "b":
            raise ValueError("b refused")
        return evidence.stream.read()
    done = []
    with pytest.raises(ValueError, match="b refused"):
        for evidence, data in map_evidence(tmp_path, work, workers=2):
            done.append(data)
    assert done == [b"a"]
    assert all(evidence.stream.closed for evidence in opened)


def test_streams_and_a_single_file_are_read_in_turn(tmp_path):
    (tmp_path / "one").write_bytes(b"1")
    seen = []
    streams = [io.BytesIO(b"x"), io.BytesIO(b"yy")]
    assert [data for _, data in map_evidence(streams, lambda e: seen.append(e) or e.stream.read(), workers=2)] == \
        [b"x", b"yy"]
    assert [data for _, data in map_evidence(tmp_path / "one", lambda e: e.stream.read(), workers=2)] == [b"1"]
    shutil.rmtree(tmp_path)
