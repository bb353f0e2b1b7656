"""Transport logs read once, column-wise: the same records as the line-by-line reader, every quirk
of the format, values past their columns, and sessions with their failure times from that one read."""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exlab
from exlab.errors import DataLossWarning
from exlab.evidence import open_evidence
from exlab.lab.transport_logs import (
    demo_protocol_log,
    demo_tracking_log,
    log_version,
    write_tracking_log,
)
from exlab.parse_report import ParseReport
from exlab.transport import (
    logfile,
    read_protocol_lines,
    read_protocol_log,
    read_tracking_log,
)
from exlab.transport.logfile import LogKind, iter_records, read_log_tables
from exlab.transport.protocol_log import PROTOCOL_FIELDS, SEND_PROTOCOL_LOG

KIND = LogKind("Demo Log", ("date-time", "event", "data"), "demo")
HEADER = b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: Demo Log\r\n" \
         b"#Date: 2025-03-20T00:00:00.000Z\r\n#Fields: date-time,event,data\r\n"
SEND_HEADER = (b"\xef\xbb\xbf#Software: Microsoft Exchange Server\r\n#Version: 15.2.1544.4\r\n"
               b"#Log-type: SMTP Send Protocol Log\r\n#Date: 2025-03-20T00:00:00.000Z\r\n"
               + SEND_PROTOCOL_LOG.fields_line.encode() + b"\r\n")
SESSION = "08DD67E1A4C2B0F3"


def _by_line(data: bytes, kind: LogKind = KIND) -> tuple[list, ParseReport]:
    report = ParseReport().add_file("demo.log", sha256="", format=kind.format)
    return list(iter_records(open_evidence(io.BytesIO(data)), kind, report)), report


def _columnar(data: bytes, kind: LogKind = KIND) -> tuple[list, ParseReport]:
    report = ParseReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        table = next(read_log_tables(io.BytesIO(data), kind, report))
    values = [table.values[name].to_pylist() for name in kind.fields]
    records = [(int(line), int(time), [value or "" for value in row])
               for line, time, *row in zip(table.line, table.time, *values)]
    return records, report.files[0]


CRAFTED = {
    "quotes, BOM, CRLF, damage, a cut last line": b"\xef\xbb\xbf" + HEADER + (
        b'2025-03-20T00:00:01.000Z,<,"250 2.6.0 <a@b> [InternalId=1, Hostname=x] Queued, ""quoted"""\r\n'
        b"2025-03-20T00:00:02.000Z,*,\r\n"
        b"2025-03-20T00:00:03.000Z,*,a,b\r\n"            # one field too many
        b"2025-03-20T00:00:03.500Z,*\r\n"                # one too few
        b"2025-20-03T00:00:05.000Z,*,x\r\n"              # not a date
        b"2025-02-29T00:00:05.000Z,*,x\r\n"              # no such day
        b"\r\n\x00\x00\x00\r\n  \r\n"                      # blank and NUL-padded lines carry nothing
        b"2025-03-20T00:00:07.123456789Z,-,last"),        # no line end: kept
    "LF only, no BOM": HEADER.replace(b"\r\n", b"\n") + b"2025-03-20T00:00:01Z,*,x\n2025-03-20T00:00:02.5Z,*,\"y\"\n",
    "an older version's fields": HEADER.replace(b"event,data", b"event") + b"2025-03-20T00:00:01.000Z,*\r\n",
    "a newer version's fields, reordered": HEADER.replace(b"date-time,event,data", b"date-time,data,log-id,event")
    + b"2025-03-20T00:00:01.000Z,x,7,<\r\n2025-03-20T00:00:02.000Z,x,<\r\n",
    "header only": HEADER,
    "fields the kind does not know around its own, and a name written twice":
        HEADER.replace(b"date-time,event,data", b"date-time," + b",".join(b"u%d" % n for n in range(2000))
                       + b",event,u1,data,event")
        + b"2025-03-20T00:00:01.000Z," + b",".join(b"%d" % n for n in range(2000)) + b",<,x,y,z\r\n"
        + b"2025-03-20T00:00:02.000Z," + b"," * 2000 + b",*,,,\r\n",
}
LINE_BY_LINE = {
    "a header written again": HEADER + b"2025-03-20T00:00:01.000Z,*,x\r\n" + HEADER + b"2025-03-20T00:00:02.000Z,*,y\r\n",
    "UTF-16 from PowerShell": (HEADER.decode() + "2025-03-20T00:00:01.000Z,<,Odmowa dostępu\r\n").encode("utf-16"),
    "not UTF-8": HEADER + b"2025-03-20T00:00:06.000Z,*,\xff\xfe\r\n2025-03-20T00:00:07.000Z,*,ok\r\n",
    "a quote spanning lines": HEADER + b'2025-03-20T00:00:04.000Z,*,"unclosed\r\n2025-03-20T00:00:05.000Z,*,x\r\n',
    "a lone CR in the last line": HEADER + b"2025-03-20T00:00:01.000Z,*,x\rjunk\r\n",
}


@pytest.mark.parametrize("data", list(CRAFTED.values()), ids=list(CRAFTED))
def test_pyarrow_reads_what_the_line_reader_reads(data, monkeypatch):
    def refuse(*args):
        raise AssertionError("read line by line")
    expected, expected_report = _by_line(data, LogKind(KIND.log_type, KIND.fields, "demo", ("date-time", "event")))
    monkeypatch.setattr(logfile, "_read_by_line", refuse)
    records, report = _columnar(data, LogKind(KIND.log_type, KIND.fields, "demo", ("date-time", "event")))
    assert records == expected
    assert [(loss.where, loss.reason) for loss in report.losses] == \
        [(loss.where, loss.reason) for loss in expected_report.losses]
    notes = [note for note in report.warnings if "skipped" not in note]      # the warning of the losses aside
    assert report.records_read == expected_report.records_read and notes == expected_report.warnings


@pytest.mark.parametrize("data", list(LINE_BY_LINE.values()), ids=list(LINE_BY_LINE))
def test_what_pyarrow_cannot_vouch_for_is_read_line_by_line_the_same(data, monkeypatch):
    unraisable = []           # what pyarrow's call back of a refused row raised (it goes to the hook, not the caller)
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    expected, expected_report = _by_line(data)
    records, report = _columnar(data)
    assert unraisable == []
    assert records == expected
    assert [(loss.where, loss.reason) for loss in report.losses] == \
        [(loss.where, loss.reason) for loss in expected_report.losses]


def test_crafted_records_exactly():
    records, report = _columnar(CRAFTED["quotes, BOM, CRLF, damage, a cut last line"])
    assert records == [
        (6, 1742428801000000000, ["2025-03-20T00:00:01.000Z", "<",
                                  '250 2.6.0 <a@b> [InternalId=1, Hostname=x] Queued, "quoted"']),
        (7, 1742428802000000000, ["2025-03-20T00:00:02.000Z", "*", ""]),
        (15, 1742428807123456789, ["2025-03-20T00:00:07.123456789Z", "-", "last"])]
    assert [(loss.where, loss.reason) for loss in report.losses] == [
        ("line 8", "4 fields, expected 3 fields (the #Fields line 5)"),
        ("line 9", "2 fields, expected 3 fields (the #Fields line 5)"),
        ("line 10", "date-time '2025-20-03T00:00:05.000Z' is not an ISO UTC time"),
        ("line 11", "date-time '2025-02-29T00:00:05.000Z' is not an ISO UTC time")]


def test_bad_lines_are_counted_and_warned_once_naming_file_and_line():
    lines = [f"2025-03-20T00:00:0{n}.000Z,Outbound,{SESSION},{n},10.0.0.5:1,1.2.3.4:25,*,,x".encode()
             for n in range(4)]
    data = SEND_HEADER + b"\r\n".join([lines[0], lines[1] + b",extra", lines[2][:30], lines[3]])
    stream = io.BytesIO(data)
    stream.name = "SEND20250320-1.LOG"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sessions = read_protocol_log(stream)
    losses = [w for w in caught if issubclass(w.category, DataLossWarning)]
    assert len(losses) == 1 and losses[0].filename == "SEND20250320-1.LOG" and losses[0].lineno == 7
    assert "skipped 2 record(s)" in str(losses[0].message)
    report = sessions.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped) == (2, 2)
    assert [loss.where for loss in report.losses] == ["line 7", "line 8"]


def test_a_session_reused_after_its_disconnect_is_a_new_session():
    refused = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
    rows = [("00.000", "+", "", ""), ("00.100", "<", refused, ""),
            ("00.200", "-", "", "Local"), ("05.000", "+", "", ""), ("05.100", "<", "250 2.0.0 OK", ""),
            ("05.200", "-", "", "Local")]
    body = "".join(f"2025-03-20T00:00:{t}Z,Outbound,{SESSION},{n},10.0.0.5:1,1.2.3.4:25,{e},{d},{c}\r\n"
                   for n, (t, e, d, c) in enumerate(rows))
    sessions = read_protocol_log(io.BytesIO(SEND_HEADER + body.encode()), failure_times=True)
    assert sessions["outcome"].tolist() == ["rejected", "disconnected"]
    assert sessions["failed_line"].tolist() == ["<stream> line 7", pd.NA]
    assert sessions["failed_at"].tolist()[0] == pd.Timestamp("2025-03-20T00:00:00.100Z")
    assert sessions["failed_at"].isna().tolist() == [False, True]


def test_failure_times_come_from_the_same_read_as_the_sessions():
    sessions = read_protocol_log(demo_protocol_log(), failure_times=True)
    lines = read_protocol_lines(demo_protocol_log())
    failing = lines[lines["data"].str.startswith("454", na=False)].iloc[0]
    assert sessions.loc[0, "failed_at"] == failing["time"]
    assert sessions.loc[0, "failed_line"] == f"<stream> line {failing['line']}"
    assert list(read_protocol_log(demo_protocol_log()).columns) == list(sessions.columns[:-4])


def test_a_delivered_session_is_timed_and_placed_at_the_reply_that_accepted_its_message():
    """delivered_at and delivered_line are the 250 to the message's data (after 354, or to BDAT ... LAST),
    not the pipelined 2.1.x to MAIL and RCPT nor the 221 that closes; the first message's of two."""
    rows = [("00.000", "+", "", ""), ("00.100", ">", "MAIL FROM:<a@contoso.com>", ""),
            ("00.110", ">", "RCPT TO:<b@contoso.mail.onmicrosoft.com>", ""), ("00.200", "<", "250 2.1.0 Sender OK", ""),
            ("00.210", "<", "250 2.1.5 Recipient OK", ""), ("00.300", ">", "DATA", ""),
            ("00.400", "<", "354 Start mail input", ""), ("00.900", "<", "250 2.6.0 <m1@contoso.com> Queued", ""),
            ("01.000", ">", "MAIL FROM:<a@contoso.com>", ""), ("01.100", "<", "250 2.1.0 Sender OK", ""),
            ("01.200", ">", "BDAT 2048 LAST", ""), ("01.700", "<", "250 2.6.0 <m2@contoso.com> Queued", ""),
            ("01.800", "<", "221 2.0.0 Service closing transmission channel", ""), ("01.900", "-", "", "Local")]
    body = "".join(f"2025-03-20T00:00:{t}Z,Outbound,{SESSION},{n},10.0.0.5:1,1.2.3.4:25,{e},{d},{c}\r\n"
                   for n, (t, e, d, c) in enumerate(rows))
    sessions = read_protocol_log(io.BytesIO(SEND_HEADER + body.encode()), failure_times=True)
    assert sessions.loc[0, ["outcome", "messages_delivered"]].tolist() == ["delivered", 2]
    assert sessions.loc[0, "delivered_at"] == pd.Timestamp("2025-03-20T00:00:00.900Z")
    assert sessions.loc[0, "delivered_line"] == "<stream> line 13"      # the header's five lines, then the 8th row
    assert sessions["failed_at"].isna().all() and sessions["failed_line"].isna().all()


def test_two_servers_failing_with_one_session_id_keep_their_own_failure_times(tmp_path):
    # before, failure times were joined on the session id alone: both servers got the earlier one
    for server, second in (("EX01", "01"), ("EX02", "09")):
        folder = tmp_path / server
        folder.mkdir()
        (folder / "SEND20250320-1.LOG").write_bytes(SEND_HEADER + (
            f"2025-03-20T00:00:{second}.000Z,Outbound,{SESSION},0,10.0.0.5:1,1.2.3.4:25,<,"
            f"454 4.7.0 x: UntrustedRoot,\r\n").encode())
    sessions = read_protocol_log(tmp_path, failure_times=True)
    assert [str(t) for t in sessions["failed_at"]] == ["2025-03-20 00:00:01+00:00", "2025-03-20 00:00:09+00:00"]


def test_times_and_counts_past_their_columns_are_na_counted_and_warned_once():
    rows = read_tracking_log(demo_tracking_log()).assign(time=lambda f: f["time"].astype("int64"))
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in rows.drop(columns=["led", "fqdn", "ip", "lrt", "source", "line"]).to_dict("records")]
    stream = io.BytesIO()
    write_tracking_log(stream, rows, version=log_version("15.2 (Build 1544.4)"))
    text = stream.getvalue().decode("utf-8-sig").split("\r\n")
    first = len([line for line in text if line.startswith("#")])
    text[first] = "1600" + text[first][4:]                        # before what nanoseconds hold
    text[first + 1] = "3025" + text[first + 1][4:]                # after
    fields = text[first + 2].split(",")
    fields[14], fields[15] = "9" * 25, str(2 ** 31)              # total-bytes, recipient-count
    text[first + 2] = ",".join(fields)
    data = io.BytesIO("\r\n".join(text).encode("utf-8-sig"))
    data.name = "MSGTRK20250320-1.LOG"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_tracking_log(data)
    assert len(frame) == len(rows)
    assert frame["time"].isna().tolist()[:3] == [True, True, False]
    assert pd.isna(frame.loc[2, "total_bytes"]) and pd.isna(frame.loc[2, "recipient_count"])
    assert frame.loc[3:, "total_bytes"].notna().all()
    report = frame.attrs["parse_report"].files[0]
    assert report.values_nulled == 4 and report.records_skipped == 0
    assert [loss.where for loss in report.losses] == [f"line {first + 1}", f"line {first + 2}",
                                                      f"line {first + 3}", f"line {first + 3}"]
    assert report.losses[0].reason.startswith("time 1600-") and "9999999999" in report.losses[2].reason
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1


def test_a_25_digit_sequence_number_is_na_in_the_lines():
    line = f"2025-03-20T00:00:01.000Z,Outbound,{SESSION},{'9' * 25},10.0.0.5:1,1.2.3.4:25,*,,x\r\n".encode()
    with pytest.warns(DataLossWarning, match="read 1 value"):
        lines = read_protocol_lines(io.BytesIO(SEND_HEADER + line))
    assert len(lines) == 1 and pd.isna(lines.loc[0, "sequence_number"])
    assert read_protocol_log(io.BytesIO(SEND_HEADER + line))["session_id"].tolist() == [SESSION]


def test_a_big_file_is_read_in_blocks(monkeypatch):
    monkeypatch.setattr(logfile, "_SCAN_BLOCK", 4096)
    monkeypatch.setattr(logfile, "_CSV_BLOCK", 4096)
    body = b"".join(f"2025-03-20T00:{n // 60:02d}:{n % 60:02d}.000Z,*,\"v{n}, {n}\"\r\n".encode()
                    for n in range(2000))
    records, report = _columnar(HEADER + body)
    assert len(records) == 2000 and records[-1][0] == 2005 and records[1999][2][2] == "v1999, 1999"
    assert np.all(np.diff([time for _, time, _ in records]) > 0) and not report.losses


def test_protocol_fields_are_the_kinds():
    assert SEND_PROTOCOL_LOG.fields == PROTOCOL_FIELDS


FIXTURES_LOG = Path(__file__).parent / "fixtures" / "ProtocolLog" / "SmtpSend" / "SEND20250321-1.LOG"


def test_a_refused_row_that_is_not_utf8_goes_to_the_line_reader_without_noise(tmp_path, monkeypatch):
    """pyarrow cannot hand such a row to the handler: it says so on stderr and refuses the block."""
    good = FIXTURES_LOG.read_bytes()
    lines = good.split(b"\r\n")
    body = next(i for i, line in enumerate(lines) if line and not line.startswith(b"#"))
    lines.insert(body + 1, b"2025-03-21T10:00:00.000Z,Outbound,\xe1\xe1,too,few")
    path = tmp_path / "SEND20250321-1.LOG"
    path.write_bytes(b"\r\n".join(lines))
    before = exlab.read_protocol_log(FIXTURES_LOG)
    reported = []      # what would reach the terminal as "Exception ignored in ..."
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    frame = exlab.read_protocol_log(path)
    assert frame.attrs["parse_report"].files[0].records_skipped == before.attrs["parse_report"].files[0].records_skipped + 1
    assert reported == []


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=6), st.from_regex(r"[0-9]{1,5}", fullmatch=True))))
def test_a_number_is_told_by_its_ascii_digits_as_the_regex_told_it(texts):
    """The readers test sequence numbers, byte and recipient counts with pyarrow's ascii_is_decimal,
    which says what ``^[0-9]+$`` said (no other digit, no blank, NA kept)."""
    column = pa.array(texts, pa.string())
    assert pc.ascii_is_decimal(column).to_pylist() == pc.match_substring_regex(column, "^[0-9]+$").to_pylist()


def _damaged_log(pattern: str, repeats: int) -> bytes:
    """A demo log whose records follow ``pattern``: g a good line, w one of the wrong width, t a bad time."""
    lines, second = [], 0
    for _ in range(repeats):
        for kind in pattern:
            second += 1
            stamp = f"2025-03-20T{second // 3600 % 24:02}:{second // 60 % 60:02}:{second % 60:02}.000Z"
            lines.append({"g": f"{stamp},*,x{second}", "w": f"{stamp};*;x{second}",
                          "t": f"2025-13-20T00:00:00.000Z,*,x{second}"}[kind])
    return HEADER + "\r\n".join(lines).encode() + b"\r\n"


@pytest.mark.parametrize("pattern,read_by", [("wwwwwwwwg", "line"), ("ggwggtggg", "pyarrow")],
                         ids=["mostly bad: a log re-saved with semicolons", "a bad line in four"])
def test_past_a_thousand_bad_lines_the_report_lists_the_first_thousand_by_line_and_counts_the_rest(
        pattern, read_by, monkeypatch):
    # every skipped line was kept in the report with its place and reason, and a wrong-width row cost
    # a call back from pyarrow's thread: a 9 MB file of 3M bad lines took 67 s and 1.5 GB
    data = _damaged_log(pattern, 900)
    bad = 900 * (len(pattern) - pattern.count("g"))
    expected, expected_report = _by_line(data)
    assert expected_report.records_skipped == bad > 1000 and len(expected_report.losses) == 1000
    used = []
    by_line = logfile._read_by_line
    monkeypatch.setattr(logfile, "_read_by_line", lambda *args: used.append("line") or by_line(*args))
    records, report = _columnar(data)
    assert (used or ["pyarrow"]) == [read_by]
    assert records == expected and report.records_skipped == bad
    assert [(loss.where, loss.reason) for loss in report.losses] == \
        [(loss.where, loss.reason) for loss in expected_report.losses]
    kinds = {loss.reason.split(" ")[1] for loss in report.losses}
    assert kinds == ({"fields,"} if "t" not in pattern else {"fields,", "'2025-13-20T00:00:00.000Z'"})
