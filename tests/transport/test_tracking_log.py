"""Message tracking logs: a hand-written real-shaped file and writer round trips."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exlab.errors import DataLossWarning, UnsupportedFormat
from exlab.lab.transport_logs import (
    demo_tracking_log,
    led_status,
    log_version,
    tracking_row,
    write_tracking_log,
    write_tracking_logs,
)
from exlab.transport import detect_tracking_log, read_tracking_log
from exlab.transport.schema import TRACKING_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures" / "MessageTracking"
MS = 1_000_000
MESSAGE = "<DB9PR07MB7001A2B3C4D5E6F7@DB9PR07MB7001.eurprd07.prod.outlook.com>"


def test_fixture_rows_fields_and_status_parts():
    with pytest.warns(DataLossWarning, match="skipped 2 record"):
        tracking = read_tracking_log(FIXTURES)
    assert tracking["event_id"].tolist() == ["RECEIVE", "HAREDIRECTFAIL", "DEFER", "SEND", "FAIL"]
    assert list(tracking.columns[:30]) == list(TRACKING_COLUMNS)
    assert str(tracking["time"].dtype) == "datetime64[ns, UTC]"
    assert tracking["time"].iloc[2] == pd.Timestamp("2025-03-20T08:02:11.342Z")
    defer = tracking.iloc[2]
    assert defer.message_id == MESSAGE
    assert defer.led == "454 4.7.0 Nie można ustanowić odpowiedniego kanału TLS: UntrustedRoot: Odmowa dostępu"
    assert (defer.fqdn, defer.ip, defer.lrt) == ("fabrikam-pl.mail.protection.outlook.com", "52.101.68.12",
                                                 "20.03.2025 09:02:11")
    assert defer.recipient_status.startswith("[{LED=454 4.7.0")  # kept as logged
    assert defer.connector_id == "Outbound to Office 365 5d2ef2d4-6a0d-4b5e-9a51-3c8b47e6f0a1"
    assert defer.message_subject == 'Re: "urgent" invoice, part 2'
    assert defer.recipient_address == ("m.wisniewska@fabrikam.mail.onmicrosoft.com;"
                                       "j.kowalski@fabrikam.mail.onmicrosoft.com")
    assert tracking["total_bytes"].tolist() == [48211, 48211, 48211, 48211, 10233]
    assert tracking["recipient_count"].tolist() == [2, 2, 2, 2, 1]
    assert tracking["event_source"].tolist() == ["STOREDRIVER", "SMTP", "SMTP", "SMTP", "DSN"]
    assert pd.isna(tracking["client_ip"].iloc[1])  # empty fields are NA
    fail = tracking.iloc[4]
    assert fail.recipient_status.startswith("550 4.4.7 QUEUE.Expired") and fail.lrt == "22.03.2025 09:10:02"
    assert tracking["line"].tolist() == [6, 7, 8, 11, 12]
    report = tracking.attrs["parse_report"].files[0]
    assert report.records_read == 5 and [loss.where for loss in report.losses] == ["line 9", "line 10"]
    assert "total-bytes" in report.losses[1].reason


def test_demo_round_trip_keeps_every_field():
    rows = [
        tracking_row(1_742_462_030_000_000_000 + k * 1000 * MS, event, message_id=f"<m{k}@contoso.com>",
                     sender="anna@contoso.com", recipients=["a@contoso.mail.onmicrosoft.com", "b@x.example"],
                     local_hostname="EX01.contoso.com", local_ip="10.0.0.5",
                     remote_hostname="contoso-com.mail.protection.outlook.com", remote_ip="104.47.1.33",
                     message_subject='Quote "Q1", rev. 2', connector_id="Outbound to Office 365",
                     recipient_status=led_status("454 4.7.0 Failed to establish appropriate TLS channel: Access Denied",
                                                 "contoso-com.mail.protection.outlook.com", "104.47.1.33",
                                                 "3/20/2025 9:14:02 AM") if event == "DEFER" else "")
        for k, event in enumerate(["RECEIVE", "SUBMIT", "DEFER", "SEND", "FAIL"])]
    stream = io.BytesIO()
    write_tracking_log(stream, rows)
    frame = read_tracking_log(io.BytesIO(stream.getvalue()))
    assert len(frame) == 5 and frame.attrs["parse_report"].records_skipped == 0
    for row, (_, read) in zip(rows, frame.iterrows()):
        assert read["time"].value == row["time"]
        for column in TRACKING_COLUMNS[1:]:
            expected = row[column]
            got = read[column]
            if expected in ("", None):
                assert pd.isna(got), column
            else:
                assert str(got) == str(expected), column
    assert frame.loc[2, "led"] == "454 4.7.0 Failed to establish appropriate TLS channel: Access Denied"
    again = io.BytesIO()
    write_tracking_log(again, rows)
    assert again.getvalue() == stream.getvalue()


def test_rotated_files_by_day(tmp_path):
    day = 86_400_000 * MS
    rows = [tracking_row(1_742_428_800_000_000_000 + k * day // 4, "RECEIVE", message_id=f"<m{k}@c.com>",
                         sender="a@c.com", recipients=["b@c.com"], local_hostname="EX01", local_ip="10.0.0.5")
            for k in range(12)]
    paths = write_tracking_logs(tmp_path, rows)
    assert [p.name for p in paths] == ["MSGTRK20250320-1.LOG", "MSGTRK20250321-1.LOG", "MSGTRK20250322-1.LOG"]
    assert all(detect_tracking_log(p.read_bytes()[:300]) for p in paths)
    frame = read_tracking_log(tmp_path)
    assert frame["message_id"].tolist() == [f"<m{k}@c.com>" for k in range(12)]
    assert len(frame.attrs["parse_report"].files) == 3


def test_protocol_log_is_not_a_tracking_log():
    header = (b"#Software: Microsoft Exchange Server\r\n#Log-type: SMTP Send Protocol Log\r\n"
              b"#Fields: date-time,connector-id\r\n")
    assert not detect_tracking_log(header)
    with pytest.raises(UnsupportedFormat, match="line 2: expected #Log-type: Message Tracking Log"):
        read_tracking_log(io.BytesIO(header))


def test_demo_log_reads():
    frame = read_tracking_log(demo_tracking_log())
    assert frame["event_id"].tolist() == ["RECEIVE", "DEFER", "SEND"]


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@given(subject=_TEXT, status=_TEXT, custom=_TEXT)
@settings(max_examples=60, deadline=None)
def test_any_text_round_trips(subject, status, custom):
    row = tracking_row(1_742_462_030_000_000_000, "DEFER", message_id="<a@b>", sender="a@b.com",
                       recipients=["c@d.com"], local_hostname="EX01", local_ip="10.0.0.5",
                       message_subject=subject, recipient_status=status, custom_data=custom)
    stream = io.BytesIO()
    write_tracking_log(stream, [row])
    read = read_tracking_log(io.BytesIO(stream.getvalue())).iloc[0]
    for column, value in (("message_subject", subject), ("recipient_status", status), ("custom_data", custom)):
        assert (pd.isna(read[column]) and value == "") or read[column] == value


@pytest.mark.real_exports
def test_real_exchange_2013_log_is_read_by_its_own_fields_line(real_exports):
    path = real_exports / "generated" / "MSGTRK20250602-1.LOG"
    frame = read_tracking_log(path)
    assert len(frame) == 16
    assert frame["time"].iloc[0] == pd.Timestamp("2025-06-02T09:22:42.914Z")
    assert frame.groupby(["event_source", "event_id"]).size().to_dict() == {("SMTP", "DEFER"): 12,
                                                                            ("STOREDRIVER", "RECEIVE"): 4}
    defers = frame[frame["event_id"] == "DEFER"]
    assert set(defers["led"]) == {"454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"}
    assert set(defers["fqdn"]) == {"munsonspickles-com.mail.protection.outlook.com"}
    assert defers["ip"].notna().all() and defers["connector_id"].eq("Outbound to Office 365").all()
    # the three fields Exchange 2013 does not write are NA; the ones it writes are kept
    assert frame[["transport_traffic_type", "log_id", "schema_version"]].isna().all().all()
    assert frame["network_message_id"].notna().all() and frame["custom_data"].notna().all()
    report = frame.attrs["parse_report"].files[0]
    assert report.records_read == 16 and not report.losses and not report.warnings


def _demo_rows() -> list[dict]:
    return read_tracking_log(demo_tracking_log()).assign(
        time=lambda f: f["time"].astype("int64")).drop(columns=["led", "fqdn", "ip", "lrt", "source", "line"]
                                                      ).to_dict("records")


def test_versions_mixed_in_one_read_share_one_frame(tmp_path):
    one = read_tracking_log(demo_tracking_log())
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in _demo_rows()]
    for day, version in (("19", "14.3 (Build 123.4)"), ("20", "15.0 (Build 1497.2)"), ("21", "15.2 (Build 1544.4)")):
        write_tracking_log(tmp_path / f"MSGTRK202503{day}-1.LOG", rows, version=log_version(version))
    heads = [(tmp_path / f"MSGTRK202503{day}-1.LOG").read_bytes().split(b"\r\n")[1] for day in ("19", "20", "21")]
    assert heads == [b"#Version: 14.0.0.0", b"#Version: 15.00.1497.002", b"#Version: 15.02.1544.004"]
    frame = read_tracking_log(tmp_path)
    assert len(frame) == 3 * len(one) and list(frame.columns) == list(one.columns)
    per_file = [part.reset_index(drop=True) for _, part in frame.groupby("source", sort=True)]
    kept = ["time", "event_id", "message_id", "recipient_status", "led", "fqdn", "custom_data", "directionality"]
    for part in per_file:
        pd.testing.assert_frame_equal(part[kept], one[kept])
    # what a version does not write is NA; what it writes is kept
    assert per_file[0]["network_message_id"].isna().all() and per_file[1]["network_message_id"].notna().all()
    assert per_file[1][["transport_traffic_type", "log_id", "schema_version"]].isna().all().all()
    assert per_file[2]["log_id"].equals(one["log_id"])
    assert not any(f.warnings or f.losses for f in frame.attrs["parse_report"].files)


def test_fields_line_without_what_the_frame_needs_is_refused():
    text = demo_tracking_log().getvalue()
    with pytest.raises(UnsupportedFormat, match=r"<stream>, line 5: expected a #Fields line with recipient-status"):
        read_tracking_log(io.BytesIO(text.replace(b",recipient-status,", b",", 1)))
    # a field no version exlab knows writes is named in the parse report, never a refusal
    lines = text.split(b"\r\n")
    extra = b"\r\n".join(line + (b",future-field" if line.startswith(b"#Fields") else b",x" if line[:1].isdigit()
                                  else b"") for line in lines)
    frame = read_tracking_log(io.BytesIO(extra))
    pd.testing.assert_frame_equal(frame.drop(columns="source"), read_tracking_log(demo_tracking_log()).drop(columns="source"))
    assert frame.attrs["parse_report"].files[0].warnings == [
        "line 5: #Fields names 1 field(s) this reader does not know, not in the frame: future-field"]
