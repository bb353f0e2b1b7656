"""The lab's background mail flow: days of logs written fast, each session the bytes the lab's
protocol log writer writes for it, read back whole by exlab's readers."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from exlab.lab.traffic import DAY, _sessions, write_traffic
from exlab.lab.transport_logs import LoggedMessage, demo_session, log_version, protocol_lines
from exlab.transport import read_protocol_log, read_tracking_log

MODEL = dataclasses.replace(demo_session(), reply=None, reply_at=None)
VERSION = log_version("15.2 (Build 1544.4)")
FIRST_DAY = 20_167      # 2025-03-20


def write(folder, **kwargs):
    arguments = dict(fqdn="ex01.contoso.com", ip="10.0.0.5", version=VERSION, first_day=FIRST_DAY, days=2,
                     sessions_per_day=40) | kwargs
    return write_traffic(folder / "SmtpSend", folder / "MessageTracking", MODEL, **arguments)


def test_every_session_and_message_reads_back_delivered_without_a_loss(tmp_path):
    write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no record skipped, nothing assumed
        sessions = read_protocol_log(tmp_path / "SmtpSend")
        tracking = read_tracking_log(tmp_path / "MessageTracking")
    assert len(sessions) == 80 and sessions["session_id"].is_unique
    assert set(sessions["outcome"]) == {"delivered"} and set(sessions["tls"]) == {"succeeded"}
    assert set(sessions["cert_thumbprint"]) == {MODEL.certificate.thumbprint}
    assert sessions["start"].is_monotonic_increasing
    assert (sessions["start"].dt.normalize().astype("int64") // DAY).value_counts().to_dict() == {
        FIRST_DAY: 40, FIRST_DAY + 1: 40}
    assert tracking["event_id"].value_counts().to_dict() == {"RECEIVE": 80, "SEND": 80}
    sent = tracking[tracking["event_id"] == "SEND"]
    assert set(sent["message_id"]) == {ids[0] for ids in sessions["message_ids"]}
    assert set(sent["connector_id"]) == {MODEL.connector}
    assert sessions.attrs["parse_report"].records_skipped == tracking.attrs["parse_report"].records_skipped == 0


def test_a_session_is_byte_for_byte_what_the_protocol_log_writer_writes_for_it(tmp_path):
    write(tmp_path, days=1, sessions_per_day=5)
    rng = np.random.default_rng([1, FIRST_DAY, 1, 5])
    starts, values = _sessions(rng, FIRST_DAY, 5, DAY // 5, MODEL.end - MODEL.start, "contoso.com")
    first = values[0]
    message = LoggedMessage(f"<{first['mid']}>", f"{first['sender']}@contoso.com",
                            (f"{first['rcpt']}@contoso.mail.onmicrosoft.com",), int(first["size"]), int(first["rid"]))
    spec = dataclasses.replace(MODEL, session_id=first["sid"], start=int(starts[0]),
                               end=int(starts[0]) + MODEL.end - MODEL.start, local_endpoint=f"10.0.0.5:{first['port']}",
                               messages=(message,))
    expected = "".join(line for _, line in protocol_lines(spec)).encode()
    written = (tmp_path / "SmtpSend" / "SEND20250320-1.LOG").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf#Software: Microsoft Exchange Server\r\n")
    body = written.split(b"\r\n", 5)[5]
    assert body.startswith(expected)


def test_the_same_arguments_give_the_same_bytes_and_files_rotate_at_the_size_limit(tmp_path):
    first = write(tmp_path / "a", max_bytes=20_000)
    second = write(tmp_path / "b", max_bytes=20_000)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    names = [p.name for p in first if p.parent.name == "SmtpSend"]
    assert "SEND20250320-2.LOG" in names and all(p.stat().st_size <= 20_000 + 2_000 for p in first)


def test_a_model_that_does_not_deliver_or_too_many_sessions_are_refused(tmp_path):
    with pytest.raises(ValueError, match="deliver"):
        write_traffic(tmp_path, tmp_path, demo_session(), fqdn="x", ip="10.0.0.5", version=VERSION, first_day=FIRST_DAY,
                      days=1, sessions_per_day=1)
    with pytest.raises(ValueError, match="do not fit"):
        write(tmp_path, sessions_per_day=200_000)
