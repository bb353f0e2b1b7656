"""The shared Exchange log reading: times, headers, quoting, damage."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exlab.errors import CorruptInput, DataLossWarning, UnsupportedFormat
from exlab.evidence import open_evidence
from exlab.lab import oversized
from exlab.lab.transport_logs import demo_session, write_protocol_log
from exlab.parse_report import ParseReport
from exlab.transport.logfile import LogHeader, LogKind, iter_records, parse_time, rotation_key
from exlab.transport.protocol_log import read_protocol_log

KIND = LogKind("Demo Log", ("date-time", "event", "data"), "demo")
HEADER = b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: Demo Log\r\n" \
         b"#Date: 2025-03-20T00:00:00.000Z\r\n#Fields: date-time,event,data\r\n"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)), st.integers(0, 9_999_999))
def test_parse_time_matches_the_calendar(moment, ticks):
    moment = moment.replace(microsecond=0, tzinfo=timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ticks:07d}Z"
    seconds = (moment - EPOCH) // timedelta(seconds=1)
    assert parse_time(text) == seconds * 1_000_000_000 + ticks * 100
    assert parse_time(text[:19] + "Z") == seconds * 1_000_000_000


@pytest.mark.parametrize("text", ["", "2025-03-20", "2025-03-20T10:00:00", "2025-03-20 10:00:00Z",
                                  "2025-02-29T10:00:00Z", "2025-03-20T24:00:00Z", "2025-03-20T10:60:00Z",
                                  "2025-03-20T10:00:00.Z", "2025-03-20T10:00:00.1234567890Z",
                                  "2025-03-20T10:00:00+01:00", "٢٠٢٥-03-20T10:00:00Z", "20/03/2025 10:00:00"])
def test_parse_time_refuses(text):
    assert parse_time(text) is None


def read(data: bytes, name: str = "demo.log", kind: LogKind = KIND):
    report = ParseReport().add_file(name, sha256="", format=kind.format)
    stream = io.BytesIO(data)
    stream.name = name
    return list(iter_records(open_evidence(stream), kind, report)), report


def test_quoting_bom_crlf_and_damage():
    body = (b'2025-03-20T00:00:01.000Z,<,"250 2.6.0 <a@b> [InternalId=1, Hostname=x] Queued, ""quoted"""\r\n'
            b"2025-03-20T00:00:02.000Z,*,\r\n"
            b"2025-03-20T00:00:03.000Z,*,a,b\r\n"            # one field too many
            b'2025-03-20T00:00:04.000Z,*,"unclosed\r\n'       # a quote never closed
            b"2025-20-03T00:00:05.000Z,*,x\r\n"               # not a date
            b"\r\n\x00\x00\x00\r\n"                            # blank and NUL-padded lines carry nothing
            b"2025-03-20T00:00:06.000Z,*,\xff\xfe\r\n"        # not UTF-8
            b"2025-03-20T00:00:07.000Z,-,last")               # no line end: kept
    records, report = read(b"\xef\xbb\xbf" + HEADER + body)
    assert [r[0] for r in records] == [6, 7, 14]
    assert records[0][2] == ["2025-03-20T00:00:01.000Z", "<",
                             '250 2.6.0 <a@b> [InternalId=1, Hostname=x] Queued, "quoted"']
    assert records[1][2][2] == "" and records[2][2][2] == "last"
    assert [loss.where for loss in report.losses] == ["line 8", "line 9", "line 10", "line 13"]
    assert "4 fields" in report.losses[0].reason and "unbalanced quotes" in report.losses[1].reason
    assert "not an ISO UTC time" in report.losses[2].reason and "not UTF-8" in report.losses[3].reason
    assert report.records_read == 3


def test_header_problems():
    with pytest.raises(CorruptInput, match=r"demo.log, line 1: expected the header line '#Fields"):
        read(b"2025-03-20T00:00:01.000Z,*,x\r\n")
    with pytest.raises(CorruptInput, match="demo.log, the header"):
        read(b"#Software: Microsoft Exchange Server\r\n#Log-type: Demo Log\r\n")
    with pytest.raises(UnsupportedFormat, match="line 5: expected a #Fields line with data"):
        read(HEADER.replace(b"event,data", b"event,context"))
    with pytest.raises(UnsupportedFormat, match="line 3: expected #Log-type: Demo Log"):
        read(HEADER.replace(b"Demo Log", b"Other Log"))
    # a header written again in the middle (a restarted writer) is accepted when it is the same
    records, _ = read(HEADER + b"2025-03-20T00:00:01.000Z,*,x\r\n" + HEADER + b"2025-03-20T00:00:02.000Z,*,y\r\n")
    assert [r[2][2] for r in records] == ["x", "y"]


def test_rotation_order():
    names = ["SEND20250320-10.LOG", "SEND20250320-9.LOG", "SEND20250319-2.LOG", "SEND20250320-1.LOG"]
    assert sorted(names, key=rotation_key) == ["SEND20250319-2.LOG", "SEND20250320-1.LOG", "SEND20250320-9.LOG",
                                               "SEND20250320-10.LOG"]


def test_a_log_saved_as_utf16_by_powershell_reads_the_same():
    body = "2025-03-20T00:00:01.000Z,<,454 4.7.0 Nie można ustanowić: UntrustedRoot: Odmowa dostępu\r\n"
    utf8, _ = read(HEADER + body.encode("utf-8"))
    utf16, report = read((HEADER.decode() + body).encode("utf-16"))
    assert utf16 == utf8 and report.records_read == 1
    from exlab.transport.logfile import detect
    assert detect((HEADER.decode()).encode("utf-16")[:171], KIND)  # an odd cut inside a code unit


def test_each_file_is_read_by_its_own_fields_line():
    # an older version writes fewer fields, a newer one more, in another order: values land by name
    kind = LogKind("Demo Log", KIND.fields, "demo", ("date-time", "event"))
    older = HEADER.replace(b"date-time,event,data", b"date-time,event") + b"2025-03-20T00:00:01.000Z,*\r\n"
    records, report = read(older, kind=kind)
    assert records == [(6, 1742428801000000000, ["2025-03-20T00:00:01.000Z", "*", ""])]
    newer = HEADER.replace(b"date-time,event,data", b"date-time,data,log-id,event") + \
        b"2025-03-20T00:00:01.000Z,x,7,<\r\n2025-03-20T00:00:02.000Z,x,<\r\n"
    records, report = read(newer, kind=kind)
    assert records == [(6, 1742428801000000000, ["2025-03-20T00:00:01.000Z", "<", "x"])]
    assert report.warnings == ["line 5: #Fields names 1 field(s) this reader does not know, not in the frame: log-id"]
    assert report.losses[0].where == "line 7" and "3 fields, expected 4 fields" in report.losses[0].reason


def test_a_reader_of_several_kinds_takes_the_kind_a_file_names():
    other = LogKind("Other Log", KIND.fields, "other")
    report = ParseReport().add_file("x", sha256="", format="demo")
    header = LogHeader()
    data = HEADER.replace(b"Demo Log", b"Other Log") + b"2025-03-20T00:00:01.000Z,*,x\r\n"
    assert len(list(iter_records(open_evidence(io.BytesIO(data)), (KIND, other), report, header=header))) == 1
    assert header.kind is other and report.format == "other" and header.version == "15.0.0.0"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_line_over_the_cap_is_read_through_counted_and_the_rest_read(monkeypatch, encoding):
    monkeypatch.setattr("exlab.limits.MAX_FIELD", 4096)
    written = io.BytesIO()
    write_protocol_log(written, [demo_session()])
    plain = read_protocol_log(io.BytesIO(written.getvalue()))
    hostile = oversized.protocol_log("line", 10_000).decode("utf-8-sig").encode(encoding)
    with pytest.warns(DataLossWarning, match="line 6: skipped 1 record"):
        frame = read_protocol_log(io.BytesIO(hostile))
    report = frame.attrs["parse_report"].files[0]
    assert (report.losses[0].where, report.losses[0].reason) == ("line 6", "a line longer than 4 KiB (read through, "
                                                                           "not held)")
    columns = ["session_id", "outcome", "tls_reason", "cert_thumbprint", "reply_code"]
    pd.testing.assert_frame_equal(frame[columns], plain[columns])
    assert plain.loc[0, "tls_reason"] == "UntrustedRoot"
