"""Coded text columns (exlab.transport.coded) answer per row exactly as the plain text would, whatever
the chunks and their dictionaries; protocol logs are held coded, and sessions come out the same from
plain or coded lines."""

from __future__ import annotations

import re
import tracemalloc

import pandas as pd
import pytest
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from exlab.lab.generate import generate_case
from exlab.lab.traffic import add_traffic
from exlab.lab.transport_logs import demo_protocol_log
from exlab.parse_report import ParseReport
from exlab.transport import logfile, protocol_log
from exlab.transport.coded import CodedText
from exlab.transport.sessions import sessions_frame
from tests.conftest import SAMPLES

TEXTS = st.one_of(st.none(), st.sampled_from(["", "250 OK", "250-PIPELINING", "454 4.7.0 x", "BDAT 5 LAST", "é ü"]),
                  st.text(max_size=6))


@settings(max_examples=60, deadline=None)
@given(chunks=st.lists(st.lists(TEXTS, max_size=8), max_size=4), encode=st.booleans())
def test_coded_text_answers_as_the_plain_text(chunks, encode):
    arrays = [pa.array(chunk, pa.string()) for chunk in chunks]
    column = pa.chunked_array([a.dictionary_encode() for a in arrays] if encode else arrays,
                              pa.dictionary(pa.int32(), pa.string()) if encode else pa.string())
    rows = [value or "" for chunk in chunks for value in chunk]
    coded = CodedText.of(column)
    assert coded.texts(range(len(rows))) == rows
    assert len(set(coded.values.to_pylist())) == len(coded.values)
    assert coded.equals("").tolist() == [row == "" for row in rows]
    assert coded.starts_with("25").tolist() == [row.startswith("25") for row in rows]
    assert coded.matches(r"^[45][0-9][0-9]\b").tolist() == [bool(re.search(r"^[45][0-9][0-9]\b", row)) for row in rows]
    assert coded.is_in(["250 OK", ""]).tolist() == [row in ("250 OK", "") for row in rows]
    found = coded.extract(r"(?P<code>[0-9]{3})", range(len(rows))[::-1]).tolist()[::-1]
    assert found == [m.group(1) if (m := re.search(r"([0-9]{3})", row)) else None for row in rows]


def _plain(lines: dict) -> dict:
    return {name: pc.cast(column, pa.string()) if isinstance(column, pa.ChunkedArray)
            and pa.types.is_dictionary(column.type) else column for name, column in lines.items()}


def _protocol_logs(folder) -> list:
    return [path for path in sorted(folder.rglob("*.LOG")) if path.parent.name in ("SmtpSend", "SmtpReceive")]


@pytest.mark.parametrize("case", ["traffic", *sorted(path.parent.name for path in SAMPLES.glob("*/truth.json"))])
def test_sessions_are_the_same_from_plain_and_coded_lines(case, tmp_path):
    if case == "traffic":
        gen = generate_case("contoso-kb2888788", tmp_path, seed=5)
        add_traffic(gen, days=2, sessions_per_day=40)
        folder = gen.folder
    else:
        folder = SAMPLES / case
    coded = protocol_log._lines(_protocol_logs(folder), ParseReport())
    plain = _plain(coded)
    assert pa.types.is_dictionary(coded["data"].type) and plain["data"].type == pa.string()
    expected = sessions_frame(plain, failure_times=True)
    pd.testing.assert_frame_equal(sessions_frame(coded, failure_times=True), expected)
    assert expected["outcome"].isin(["delivered", "rejected", "tls-failed"]).any()


def test_sessions_let_the_lines_text_go_once_coded():
    lines = protocol_log._lines(demo_protocol_log(), ParseReport())
    sessions_frame(lines)
    assert sorted(lines) == ["line", "sequence_number", "time"]


def test_a_repetitive_protocol_log_is_held_in_a_fraction_of_its_size(tmp_path):
    # before, every line's text was held as written: as many bytes as the file, and more
    gen = generate_case("contoso-kb2888788", tmp_path, seed=5)
    add_traffic(gen, days=3, sessions_per_day=100)
    logs = sorted(gen.folder.rglob("SEND*.LOG"))
    lines = protocol_log._lines(logs, ParseReport())
    text = ("connector", "session_id", "local_endpoint", "remote_endpoint", "event", "data", "context")
    held = sum(lines[name].nbytes for name in text)
    assert held < 0.4 * sum(path.stat().st_size for path in logs)


def test_a_log_on_disk_is_parsed_without_python_holding_its_blocks(tmp_path, monkeypatch):
    # before, pyarrow read the file through Python's stream: a big log's blocks sat in Python's memory
    gen = generate_case("contoso-kb2888788", tmp_path, seed=5)
    add_traffic(gen, days=1, sessions_per_day=300)
    big = max(_protocol_logs(gen.folder), key=lambda path: path.stat().st_size)
    peaks = []
    parse = logfile._parse

    def traced(*args, **kwargs):
        tracemalloc.start()
        try:
            return parse(*args, **kwargs)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    monkeypatch.setattr(logfile, "_parse", traced)
    sessions = protocol_log.read_protocol_log(big)
    assert len(sessions) > 250 and big.stat().st_size > 2_000_000
    assert peaks and max(peaks) < 0.1 * big.stat().st_size
