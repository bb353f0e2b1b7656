"""SMTP send protocol logs: hand-written real-shaped fixtures and writer round trips."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exlab.errors import CorruptInput, DataLossWarning, UnsupportedFormat
from exlab.lab.transport_logs import (
    DEMO_CERT,
    DEMO_REMOTE_CERT,
    LoggedCertificate,
    LoggedMessage,
    ProtocolSession,
    demo_session,
    write_protocol_log,
    write_protocol_logs,
)
from exlab.transport import detect_protocol_log, read_protocol_lines, read_protocol_log

FIXTURES = Path(__file__).parent / "fixtures" / "ProtocolLog" / "SmtpSend"
MS = 1_000_000


def read_quietly(source):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_protocol_log(source)
    return frame, [w for w in caught if issubclass(w.category, DataLossWarning)]


def test_fixture_sessions_are_paired_across_rotated_files():
    sessions, losses = read_quietly(FIXTURES)
    assert sessions["session_id"].tolist() == ["08DD67E1A4C2B0F3", "08DD67E1A4C2B0F4", "08DD67E1A4C2B0F5",
                                               "08DD67E1A4C2B0F6"]
    incident = sessions.iloc[0]
    assert incident.cert_thumbprint == "9C4E1F2A7B3D6E8F0A1B2C3D4E5F60718293A4B5"
    assert incident.cert_issuer == "CN=Fabrikam Enterprise CA, DC=fabrikam, DC=local"
    assert incident.cert_subject == "CN=mail.fabrikam.pl, OU=IT, O=Fabrikam Sp. z o.o., L=Warszawa, C=PL"
    assert incident.cert_serial == "1E00000017A4F2C9B3D8E6A1C400000000001F"
    assert incident.cert_names == ("mail.fabrikam.pl", "autodiscover.fabrikam.pl", "ex01.fabrikam.local")
    assert incident.remote_cert_thumbprint == "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    assert incident.remote_cert_issuer == "CN=DigiCert Cloud Services CA-1, O=DigiCert Inc, C=US"
    assert (incident.tls, incident.reply_code, incident.enhanced_status, incident.tls_reason, incident.outcome) == (
        "succeeded", 454, "4.7.0", "UntrustedRoot", "rejected")
    assert incident.final_reply.startswith("454 4.7.0 Nie można ustanowić")
    assert incident.message_ids == ("<DB9PR07MB7001A2B3C4D5E6F7@DB9PR07MB7001.eurprd07.prod.outlook.com>",)
    assert incident.connector == "Outbound to Office 365 5d2ef2d4-6a0d-4b5e-9a51-3c8b47e6f0a1"
    assert str(incident.start) == "2025-03-20 23:58:40.118000+00:00"
    # the Postfix session crosses midnight into the next file and is delivered with DATA
    postfix = sessions.iloc[1]
    assert postfix.outcome == "delivered" and postfix.messages_delivered == 1
    assert postfix.source.count(";") == 1 and postfix.tls == "none"
    assert str(postfix.end) == "2025-03-21 00:00:00.191000+00:00"
    nokey = sessions.iloc[2]
    assert (nokey.tls, nokey.tls_error, nokey.tls_reason, nokey.outcome) == (
        "failed", "NoCredentials", "NoCredentials", "tls-failed")
    assert nokey.cert_subject == "CN=EX01"
    # the last session was cut short by the copy: no reply, no disconnect
    assert sessions.iloc[3].outcome == "disconnected"
    report = sessions.attrs["parse_report"]
    assert [f.records_read for f in report.files] == [40, 26]
    assert [f.records_skipped for f in report.files] == [2, 1]
    assert [loss.where for f in report.files for loss in f.losses] == ["line 43", "line 46", "line 32"]
    assert len(losses) == 2  # one warning per damaged file
    assert all(len(f.sha256) == 64 for f in report.files)


def test_fixture_lines_keep_every_good_line():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        lines = read_protocol_lines(FIXTURES)
    assert len(lines) == 66
    assert lines["line"].iloc[0] == 6 and lines["sequence_number"].iloc[-1] == 2  # seq 3 was cut short
    tls = lines.loc[lines.context.str.startswith("TLS protocol", na=False), "context"].item()
    assert "CALG_ECDH_EPHEM" in tls  # the quoted context with commas stays whole


def test_round_trip_of_the_writer_is_exact():
    session = demo_session()
    stream = io.BytesIO()
    write_protocol_log(stream, [session])
    sessions = read_protocol_log(io.BytesIO(stream.getvalue()))
    row = sessions.iloc[0]
    assert row.cert_thumbprint == DEMO_CERT.thumbprint
    assert row.cert_names == DEMO_CERT.names
    assert row.remote_cert_subject == DEMO_REMOTE_CERT.subject
    assert row.final_reply == session.reply
    assert row.start.value == session.start and row.end.value == session.end
    assert row.message_ids == (session.messages[0].message_id,)
    assert row.outcome == "rejected"
    # the same inputs write the same bytes
    again = io.BytesIO()
    write_protocol_log(again, [session])
    assert again.getvalue() == stream.getvalue()
    assert stream.getvalue().count(b"\r\n") == stream.getvalue().count(b"\n")


def _delivered(number: int, start: int) -> ProtocolSession:
    base = demo_session()
    messages = tuple(LoggedMessage(f"<m{number}-{k}@contoso.com>", "anna@contoso.com",
                                   ("a@contoso.mail.onmicrosoft.com", "b@contoso.mail.onmicrosoft.com"),
                                   1000 + k, 7000 + k) for k in range(2))
    return ProtocolSession(base.connector, f"08DD6A1B2C3D{number:04X}", start, start + 1500 * MS,
                           base.local_endpoint, base.remote_endpoint, base.ehlo_domain, base.remote_host,
                           base.certificate, base.remote_certificate, messages=messages)


def test_rotation_by_day_and_size(tmp_path):
    midnight = 1_742_515_200_000_000_000  # 2025-03-21T00:00:00Z
    sessions = [_delivered(n, midnight - 3_600_000 * MS + n * 60_000 * MS) for n in range(120)]
    sessions.append(_delivered(999, midnight - 700 * MS))   # crosses midnight
    paths = write_protocol_logs(tmp_path, sessions, max_bytes=64 * 1024)
    names = [p.name for p in paths]
    assert names[0] == "SEND20250320-1.LOG" and "SEND20250321-1.LOG" in names and "SEND20250320-2.LOG" in names
    assert all(p.stat().st_size <= 64 * 1024 for p in paths)
    assert all(detect_protocol_log(p.read_bytes()[:512]) for p in paths)
    frame = read_protocol_log(tmp_path)
    assert len(frame) == 121
    assert (frame.outcome == "delivered").all() and (frame.messages_delivered == 2).all()
    crossing = frame.loc[frame.session_id == "08DD6A1B2C3D03E7"].iloc[0]
    assert crossing.source.count(";") == 1
    assert frame.attrs["parse_report"].records_skipped == 0


def test_tls_failure_and_no_starttls_round_trip():
    base = demo_session()
    nokey = ProtocolSession(base.connector, "08DD000000000001", base.start, base.end, base.local_endpoint,
                            base.remote_endpoint, base.ehlo_domain, base.remote_host, base.certificate,
                            tls_error="NoCredentials")
    plain = ProtocolSession(base.connector, "08DD000000000002", base.start, base.end, base.local_endpoint,
                            base.remote_endpoint, base.ehlo_domain, base.remote_host,
                            reply='451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect."')
    stream = io.BytesIO()
    write_protocol_log(stream, [nokey, plain])
    frame = read_protocol_log(io.BytesIO(stream.getvalue())).set_index("session_id")
    assert frame.loc["08DD000000000001", "outcome"] == "tls-failed"
    assert frame.loc["08DD000000000001", "tls_reason"] == "NoCredentials"
    assert frame.loc["08DD000000000002", "tls"] == "none"
    assert frame.loc["08DD000000000002", "reply_code"] == 451
    assert pd_isna(frame.loc["08DD000000000002", "cert_thumbprint"])


def pd_isna(value) -> bool:
    import pandas as pd
    return bool(pd.isna(value))


HEADER = (b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
          b"#Date: 2025-03-20T00:00:04.412Z\r\n")
FIELDS = (b"#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,"
          b"data,context\r\n")
LINE = b"2025-03-20T00:00:04.412Z,Internet,08DD000000000001,0,,1.2.3.4:25,*,,attempting to connect\r\n"


def test_missing_fields_line_names_file_and_expected_header():
    stream = io.BytesIO(HEADER + LINE)
    stream.name = "SEND20250320-1.LOG"
    with pytest.raises(CorruptInput) as err:
        read_protocol_log(stream)
    assert "SEND20250320-1.LOG, line 5" in str(err.value) and "#Fields: date-time,connector-id" in str(err.value)


def test_different_fields_line_is_refused():
    other = FIELDS.replace(b",context", b"")
    with pytest.raises(UnsupportedFormat) as err:
        read_protocol_log(io.BytesIO(HEADER + other + LINE))
    assert "line 5" in str(err.value) and "expected a #Fields line with context" in str(err.value)


def test_receive_log_is_read_as_receive_sessions():
    data = HEADER.replace(b"Send", b"Receive") + FIELDS + LINE
    assert detect_protocol_log(data)
    frame = read_protocol_log(io.BytesIO(data))
    assert frame["direction"].tolist() == ["receive"]
    assert frame.attrs["parse_report"].files[0].format == "smtp-receive-protocol-log"
    with pytest.raises(UnsupportedFormat, match="line 3: expected #Log-type: SMTP Send Protocol Log or "
                                                "#Log-type: SMTP Receive Protocol Log"):
        read_protocol_log(io.BytesIO(HEADER.replace(b"Send", b"Connectivity") + FIELDS + LINE))


def test_empty_file_and_undecodable_line():
    with pytest.raises(CorruptInput):
        read_protocol_log(io.BytesIO(b""))
    damaged = HEADER + FIELDS + LINE + b"\x00\x00\x00\x00\r\n" + LINE.replace(b"Internet", b"Intern\xe9t")
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = read_protocol_log(io.BytesIO(damaged))
    assert len(frame) == 1
    assert frame.attrs["parse_report"].files[0].losses[0].where == "line 8"


def test_two_servers_with_the_same_session_id_stay_apart(tmp_path):
    for server, endpoint in (("EX01", "10.0.0.5:28417"), ("EX02", "10.0.0.6:31002")):
        base = demo_session()
        session = ProtocolSession(**{**base.__dict__, "local_endpoint": endpoint})
        write_protocol_logs(tmp_path / server / "SmtpSend", [session])
    frame = read_protocol_log(tmp_path)
    assert len(frame) == 2 and frame["session_id"].nunique() == 1
    assert sorted(frame["local_endpoint"]) == ["10.0.0.5:28417", "10.0.0.6:31002"]
    assert (frame["outcome"] == "rejected").all()


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@given(subject=_TEXT, issuer=_TEXT, reply_text=_TEXT, connector=_TEXT)
@settings(max_examples=60, deadline=None)
def test_any_text_round_trips(subject, issuer, reply_text, connector):
    base = demo_session()
    cert = LoggedCertificate(subject, issuer, "0A1B", "AB" * 20, ("a.example", "b.example"))
    session = ProtocolSession(**{**base.__dict__, "connector": connector, "certificate": cert,
                                 "reply": "454 4.7.0 " + reply_text})
    stream = io.BytesIO()
    write_protocol_log(stream, [session])
    row = read_protocol_log(io.BytesIO(stream.getvalue())).iloc[0]
    assert (row.cert_subject, row.cert_issuer, row.connector) == (subject, issuer, connector)
    assert row.final_reply == "454 4.7.0 " + reply_text and row.reply_code == 454


def test_line_breaks_are_refused_by_the_writer():
    base = demo_session()
    with pytest.raises(ValueError, match="line breaks"):
        write_protocol_log(io.BytesIO(), [ProtocolSession(**{**base.__dict__, "reply": "454 4.7.0 a\r\nb"})])


def test_exchange_2010_received_certificate_block():
    data = (HEADER.replace(b"15.0.0.0", b"14.3.123.0") + FIELDS
            + b"2025-03-20T00:00:04.412Z,Internet,08CD000000000001,0,10.0.0.5:1234,1.2.3.4:25,+,,\r\n"
            + b"2025-03-20T00:00:04.500Z,Internet,08CD000000000001,1,10.0.0.5:1234,1.2.3.4:25,>,STARTTLS,\r\n"
            + b"2025-03-20T00:00:04.600Z,Internet,08CD000000000001,2,10.0.0.5:1234,1.2.3.4:25,*,,"
            + b"Received certificate\r\n"
            + b"2025-03-20T00:00:04.600Z,Internet,08CD000000000001,3,10.0.0.5:1234,1.2.3.4:25,*,"
            + b"6e0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c,Certificate thumbprint\r\n"
            + b"2025-03-20T00:00:04.700Z,Internet,08CD000000000001,4,10.0.0.5:1234,1.2.3.4:25,-,,Local\r\n")
    row = read_protocol_log(io.BytesIO(data)).iloc[0]
    assert row.remote_cert_thumbprint == "6E0A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C"
    assert pd_isna(row.cert_thumbprint) and row.outcome == "disconnected"


def test_header_only_file_has_no_sessions():
    frame = read_protocol_log(io.BytesIO(HEADER + FIELDS))
    assert len(frame) == 0 and list(frame.columns)[:2] == ["session_id", "connector"]
    assert frame.attrs["parse_report"].files[0].records_read == 0


def _lines(session: str, connector: str, rows: list[tuple[str, str, str, str]]) -> bytes:
    """Protocol log lines of one session: (time, event, data, context), quoted as Exchange quotes."""
    import csv
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, (time, event, data, context) in enumerate(rows):
        writer.writerow([time, connector, session, number, "10.0.0.5:25", "203.0.113.9:41022", event, data, context])
    return out.getvalue().encode()


def test_receive_sessions_never_count_as_failures():
    from exlab.analysis.timeline import session_failed
    from exlab.transport.protocol_log import send_sessions
    receive = HEADER.replace(b"Send", b"Receive") + FIELDS + _lines("08DD000000000009", "EX01\\Default Frontend EX01", [
        ("2025-03-20T09:00:00.000Z", "+", "", ""),
        ("2025-03-20T09:00:00.001Z", ">", "220 ex01.contoso.com Microsoft ESMTP MAIL Service ready", ""),
        ("2025-03-20T09:00:00.010Z", "<", "EHLO spammer.example", ""),
        ("2025-03-20T09:00:00.020Z", "<", "MAIL FROM:<x@spammer.example>", ""),
        ("2025-03-20T09:00:00.021Z", ">", "550 5.7.1 Client does not have permissions to send as this sender", ""),
        ("2025-03-20T09:00:00.030Z", "-", "", "Remote(SocketError)")])
    sent = HEADER + FIELDS + LINE
    sessions = read_protocol_log([io.BytesIO(sent), io.BytesIO(receive)])
    assert sessions["direction"].tolist() == ["send", "receive"]
    received = sessions.iloc[1]
    # this server's own answers are the replies of a receive session; the client's commands are not
    assert received["replies"] == ("220 ex01.contoso.com Microsoft ESMTP MAIL Service ready",
                                   "550 5.7.1 Client does not have permissions to send as this sender")
    assert received["reply_code"] == 550 and received["outcome"] == "rejected"
    assert session_failed(sessions).tolist() == [False, False]
    assert send_sessions(sessions)["session_id"].tolist() == ["08DD000000000001"]
    lines = read_protocol_lines([io.BytesIO(sent), io.BytesIO(receive)])
    assert lines["direction"].value_counts().to_dict() == {"receive": 6, "send": 1}


def test_outbound_authentication_failure_is_kept_with_its_time():
    data = HEADER + FIELDS + _lines("08DD000000000010", "Intra-Organization SMTP Send Connector", [
        ("2025-03-20T09:00:00.000Z", "+", "", ""),
        ("2025-03-20T09:00:00.100Z", "<", "220 ex02.contoso.com Microsoft ESMTP MAIL Service ready", ""),
        ("2025-03-20T09:00:00.200Z", ">", "X-EXPS EXCHANGEAUTH", ""),
        ("2025-03-20T09:00:00.250Z", "*", "", "Outbound Authentication failed to initialize with TLS1_0NotSupported"),
        ("2025-03-20T09:00:00.300Z", "-", "", "Local")])
    session = read_protocol_log(io.BytesIO(data)).iloc[0]
    import pandas as pd
    assert session["notes"] == ((pd.Timestamp("2025-03-20T09:00:00.250Z"),
                                 "Outbound Authentication failed to initialize with TLS1_0NotSupported"),)


def test_a_certificate_logged_on_one_line():
    # newer builds log the certificate's attributes on one line, their names in context
    data = HEADER + FIELDS + _lines("08DD000000000011", "Outbound to Office 365", [
        ("2025-03-20T09:00:00.000Z", "*",
         " CN=mail.contoso.com CN=Contoso Issuing CA 01, DC=contoso, DC=com 5A0000002B8E3C41 "
         "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55 2025-01-01T00:00:00.000Z 2026-01-01T00:00:00.000Z "
         "mail.contoso.com;autodiscover.contoso.com",
         "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after "
         "Subject alternate names")])
    session = read_protocol_log(io.BytesIO(data)).iloc[0]
    assert session["cert_subject"] == "CN=mail.contoso.com"
    assert session["cert_issuer"] == "CN=Contoso Issuing CA 01, DC=contoso, DC=com"
    assert session["cert_serial"] == "5A0000002B8E3C41"
    assert session["cert_thumbprint"] == "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55"
    assert session["cert_names"] == ("mail.contoso.com", "autodiscover.contoso.com")


BOM = b"\xef\xbb\xbf"    # Exchange starts every log file with one


def _joined_logs(send_first: bool) -> bytes:
    """A SmtpSend and a SmtpReceive log joined byte for byte into one file (``type SEND*.LOG RECV*.LOG >
    all.log``, ``copy /b``): the second part keeps its own BOM and header."""
    send = BOM + HEADER + FIELDS + _lines("08DD000000000020", "Outbound to Office 365", [
        ("2025-03-20T09:14:00.000Z", "+", "", "attempting to connect"),
        ("2025-03-20T09:14:00.100Z", "<", "220 AM4PEPF00027A6C.mail.protection.outlook.com Microsoft ESMTP MAIL "
                                          "Service ready", ""),
        ("2025-03-20T09:14:00.200Z", ">", "MAIL FROM:<ann@contoso.com> SIZE=5120", ""),
        ("2025-03-20T09:14:00.300Z", "<", "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: "
                                          "Access Denied", ""),
        ("2025-03-20T09:14:00.400Z", "-", "", "Local")])
    receive = BOM + HEADER.replace(b"Send", b"Receive") + FIELDS + _lines("08DD000000000021",
                                                                            "EX01\\Default Frontend EX01", [
        ("2025-03-20T09:10:00.000Z", "+", "", ""),
        ("2025-03-20T09:10:00.001Z", ">", "220 ex01.contoso.com Microsoft ESMTP MAIL Service ready", ""),
        ("2025-03-20T09:10:00.010Z", "<", "MAIL FROM:<x@partner.example>", ""),
        ("2025-03-20T09:10:00.020Z", ">", "550 5.7.1 Client does not have permissions to send as this sender", ""),
        ("2025-03-20T09:10:00.030Z", "-", "", "Remote")])
    return send + receive if send_first else receive + send


@pytest.mark.parametrize("send_first", [True, False])
def test_joined_send_and_receive_logs_keep_each_direction(tmp_path, send_first):
    from exlab.transport.protocol_log import send_sessions
    path = tmp_path / "all.log"
    path.write_bytes(_joined_logs(send_first))
    sessions, losses = read_quietly(path)
    by_id = sessions.set_index("session_id")
    assert by_id.loc["08DD000000000020", "direction"] == "send"
    assert by_id.loc["08DD000000000020", "final_reply"].startswith("454 4.7.0 Failed to establish")
    assert by_id.loc["08DD000000000021", "direction"] == "receive"
    assert by_id.loc["08DD000000000021", "reply_code"] == 550     # its own answer, never the client's command
    assert send_sessions(sessions)["session_id"].tolist() == ["08DD000000000020"]
    report = sessions.attrs["parse_report"].files[0]
    kinds = ["smtp-send-protocol-log", "smtp-receive-protocol-log"]
    assert report.format == ", ".join(kinds if send_first else kinds[::-1])
    assert report.warnings == [f"line 13: #Log-type changes from SMTP {'Send' if send_first else 'Receive'} Protocol "
                               f"Log to SMTP {'Receive' if send_first else 'Send'} Protocol Log (logs joined into one "
                               "file); each record is read as the kind of the #Log-type above it"]
    # the second part's BOM before its #Software line is no bad record
    assert (report.records_read, report.records_skipped, losses) == (10, 0, [])
    lines = read_protocol_lines(path)
    assert lines.groupby("direction")["line"].agg(list).to_dict() == (
        {"send": [6, 7, 8, 9, 10], "receive": [16, 17, 18, 19, 20]} if send_first
        else {"receive": [6, 7, 8, 9, 10], "send": [16, 17, 18, 19, 20]})
