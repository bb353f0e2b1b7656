"""The lab's transport writers: bytes shaped as Exchange and Windows PowerShell 5.1 write them."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from defusedxml.ElementTree import fromstring

from exlab.lab.transport_logs import (
    DEMO_CERT,
    DEMO_CONNECTOR,
    LoggedMessage,
    ProtocolSession,
    demo_protocol_log,
    demo_session,
    demo_tracking_log,
    format_list,
    log_time,
    log_version,
    protocol_lines,
    tracking_row,
    write_protocol_log,
    write_protocol_logs,
    write_send_connectors,
    write_tracking_log,
)
from exlab.transport import read_protocol_log, read_tracking_log
from exlab.transport.schema import TRACKING_COLUMNS, TRACKING_FIELDS

MS = 1_000_000
PROTOCOL_HEADER = [
    "#Software: Microsoft Exchange Server", "#Version: 15.0.0.0", "#Log-type: SMTP Send Protocol Log",
    "#Date: 2025-03-20T09:14:01.000Z",
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context",
]


def test_protocol_log_bytes():
    stream = io.BytesIO()
    write_protocol_log(stream, [demo_session()])
    data = stream.getvalue()
    assert data.count(b"\r\n") == data.count(b"\n") and data.endswith(b"\r\n")
    assert data.startswith(b"\xef\xbb\xbf#Software")
    lines = data.decode("utf-8-sig").split("\r\n")[:-1]
    assert lines[:5] == PROTOCOL_HEADER
    records = list(csv.reader(lines[5:]))
    assert all(len(r) == 9 for r in records)
    assert [int(r[3]) for r in records] == list(range(len(records)))
    assert [r[6] for r in records][:3] == ["*", "+", "<"] and records[-1][6:] == ["-", "", "Local"]
    times = [r[0] for r in records]
    assert times == sorted(times)
    failing = next(r for r in records if r[7].startswith("454 "))
    assert failing[0] == log_time(demo_session().reply_at)
    assert records[0][4] == "" and {r[4] for r in records[1:]} == {"10.0.0.5:28417"}
    contexts = [r[8] for r in records if r[6] == "*"]
    assert contexts[1:7] == ["Sending certificate", "Certificate subject", "Certificate issuer name",
                             "Certificate serial number", "Certificate thumbprint", "Certificate alternate names"]


def test_sessions_interleave_by_time():
    first = demo_session()
    second = ProtocolSession(**{**first.__dict__, "session_id": "08DD6A1B2C3D4E60", "start": first.start + 200 * MS,
                                "reply_at": first.reply_at + 200 * MS, "end": first.end + 200 * MS})
    stream = io.BytesIO()
    write_protocol_log(stream, [first, second])
    records = list(csv.reader(stream.getvalue().decode().split("\r\n")[5:-1]))
    ids = [r[2] for r in records]
    assert ids.index("08DD6A1B2C3D4E60") < len(ids) - ids[::-1].index("08DD6A1B2C3D4E5F") - 1  # interleaved
    assert [r[0] for r in records] == sorted(r[0] for r in records)
    assert len(records) == 2 * len(protocol_lines(first))


def test_delivered_session_lines():
    base = demo_session()
    message = LoggedMessage("<m@contoso.com>", "a@contoso.com", ("b@contoso.mail.onmicrosoft.com",), 2048, 42)
    delivered = ProtocolSession(**{**base.__dict__, "reply": None, "reply_at": None, "messages": (message,)})
    texts = [next(csv.reader([line]))[7] for _, line in protocol_lines(delivered)]
    assert "BDAT 2048 LAST" in texts and "RCPT TO:<b@contoso.mail.onmicrosoft.com>" in texts
    assert any(t.startswith("250 2.6.0 <m@contoso.com> [InternalId=42, Hostname=") for t in texts)
    assert not any(t.startswith("454") for t in texts)


def test_rotation_names_and_headers(tmp_path):
    midnight = 1_742_515_200_000_000_000
    sessions = [ProtocolSession(**{**demo_session().__dict__, "session_id": f"08DD{n:012X}",
                                   "start": midnight - 5_000 * MS + n * 2_000 * MS,
                                   "reply_at": midnight - 5_000 * MS + n * 2_000 * MS + 700 * MS,
                                   "end": midnight - 5_000 * MS + n * 2_000 * MS + 900 * MS}) for n in range(6)]
    paths = write_protocol_logs(tmp_path / "SmtpSend", sessions, max_bytes=12_000)
    names = [p.name for p in paths]
    assert names[0] == "SEND20250320-1.LOG" and names[-1].startswith("SEND20250321-")
    assert len(names) == len(set(names)) and len(names) > 2
    for path in paths:
        text = path.read_bytes().decode("utf-8-sig")
        assert text.startswith("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n")
        first_record = text.split("\r\n")[5]
        assert text.split("\r\n")[3] == "#Date: " + first_record.split(",")[0]
        assert path.stat().st_size <= 12_000


def test_tracking_log_has_thirty_fields():
    rows = [tracking_row(1_742_462_030_000_000_000, "SEND", message_id="<a@b>", sender="a@b.com",
                         recipients=["c@d.com"], local_hostname="EX01", local_ip="10.0.0.5",
                         message_subject="comma, and \"quotes\"")]
    stream = io.BytesIO()
    write_tracking_log(stream, rows)
    lines = stream.getvalue().decode().split("\r\n")
    assert lines[2] == "#Log-type: Message Tracking Log" and lines[4] == "#Fields: " + ",".join(TRACKING_FIELDS)
    record = next(csv.reader([lines[5]]))
    assert len(record) == 30 and record[18] == 'comma, and "quotes"' and record[8] == "SEND"
    with pytest.raises(TypeError, match="unknown fields"):
        tracking_row(0, "SEND", message_id="<a@b>", sender="a@b.com", recipients=[], local_hostname="EX01",
                     local_ip="10.0.0.5", colour="blue")


@pytest.mark.parametrize("culture,word_wrap", [("en-US", True), ("de-DE", True), ("pl-PL", False)])
def test_format_list_wraps_like_powershell(culture, word_wrap):
    text = format_list([[("TlsCertificateName", DEMO_CONNECTOR["tls_certificate_name"]), ("Name", "x")]],
                       width=50, culture=culture)
    lines = text.split("\r\n")
    assert text.startswith("\r\n\r\n") and text.endswith("\r\n\r\n\r\n")
    wrapped = [line for line in lines if line.startswith(" ")]
    assert wrapped and all(len(line) <= 50 for line in lines)
    assert all(line.startswith(" " * 21) for line in wrapped)  # the value column
    if word_wrap:
        assert lines[2].endswith(" ")  # the space stays on the wrapped line
    else:
        assert len(lines[2]) == 50 and lines[2][-1] != " "


def test_clixml_and_json_shapes():
    stream = io.BytesIO()
    write_send_connectors(stream, [DEMO_CONNECTOR], shape="clixml")
    data = stream.getvalue()
    assert data[:2] == b"\xff\xfe"
    root = fromstring(data.decode("utf-16").encode("utf-8"))
    assert root.tag == "{http://schemas.microsoft.com/powershell/2004/04}Objs" and len(root) == 1
    stream = io.BytesIO()
    write_send_connectors(stream, [DEMO_CONNECTOR], shape="json", encoding="utf-8")
    text = stream.getvalue().decode("utf-8")
    assert '"RequireTLS":  true' in text and "\r\n" in text
    assert json.loads(text)["SmartHosts"] == ["contoso-com.mail.protection.outlook.com"]
    with pytest.raises(ValueError, match="shape"):
        write_send_connectors(io.BytesIO(), [DEMO_CONNECTOR], shape="csv")


VERSIONS = {"Exchange 2010": ("14.3 (Build 123.4)", "14.0.0.0", "14.0.0.0", 26),
            "Exchange 2013": ("15.0 (Build 1497.2)", "15.00.1497.002", "15.0.0.0", 27),
            "Exchange 2016": ("15.1 (Build 2507.6)", "15.01.2507.006", "15.0.0.0", 30)}


@pytest.mark.parametrize("name", VERSIONS)
def test_each_version_writes_its_own_headers_and_reads_back_to_the_same_frame(name):
    admin_version, build, protocol, width = VERSIONS[name]
    version = log_version(admin_version)
    tracking, protocol_log = io.BytesIO(), io.BytesIO()
    source = read_tracking_log(demo_tracking_log())
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in
            source.assign(time=source["time"].astype("int64")).to_dict("records")]
    write_tracking_log(tracking, rows, version=version)
    write_protocol_log(protocol_log, [demo_session()], version=version)
    head = tracking.getvalue().decode().split("\r\n")
    assert head[1] == f"#Version: {build}" and len(head[4].split(",")) == width
    assert all(len(next(csv.reader([line]))) == width for line in head[5:-1])
    assert protocol_log.getvalue().decode().split("\r\n")[1] == f"#Version: {protocol}"
    # round trip: what the reader gets is what was written, and writing it again gives the same bytes
    back = read_tracking_log(io.BytesIO(tracking.getvalue()))
    column_of = dict(zip(TRACKING_FIELDS, TRACKING_COLUMNS))
    written = [column_of[name] for name in version.tracking_fields]
    for column in written:
        assert back[column].equals(source[column]), column
    missing = [c for c in ("network_message_id", "transport_traffic_type", "log_id", "schema_version")
               if c not in written]
    assert back[missing].isna().all().all() and len(missing) == 30 - width
    again = io.BytesIO()
    write_tracking_log(again, [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in
                               back.assign(time=back["time"].astype("int64")).to_dict("records")], version=version)
    assert again.getvalue() == tracking.getvalue()
    sessions = read_protocol_log(io.BytesIO(protocol_log.getvalue()))
    assert sessions.drop(columns="source").equals(read_protocol_log(demo_protocol_log()).drop(columns="source"))


def test_receive_log_round_trip():
    message = LoggedMessage("<in@fabrikam.mail.onmicrosoft.com>", "megan@fabrikam.mail.onmicrosoft.com",
                            ("alex@fabrikam.com",), 4096, 7)
    inbound = ProtocolSession(
        connector="EX01\\Default Frontend EX01", session_id="08DD6A1B2C3D4F00", start=demo_session().start,
        end=demo_session().start + 800 * MS, local_endpoint="10.0.0.5:25", remote_endpoint="52.101.68.12:48200",
        ehlo_domain="AM4PEPF00027A5F.mail.protection.outlook.com", remote_host="ex01.contoso.com",
        certificate=DEMO_CERT, messages=(message,))
    refused = ProtocolSession(**{**inbound.__dict__, "session_id": "08DD6A1B2C3D4F01",
                                 "reply": "530 5.7.1 Client was not authenticated"})
    stream = io.BytesIO()
    write_protocol_log(stream, [inbound, refused], direction="receive")
    text = stream.getvalue().decode()
    assert text.split("\r\n")[2] == "#Log-type: SMTP Receive Protocol Log"
    records = list(csv.reader(text.split("\r\n")[5:-1]))
    first = [r for r in records if r[2] == "08DD6A1B2C3D4F00"]
    assert first[0][3:8] == ["0", "10.0.0.5:25", "52.101.68.12:48200", "+", ""]
    assert first[1][6:8] == [">", "220 ex01.contoso.com Microsoft ESMTP MAIL Service ready at "
                                   "Thu, 20 Mar 2025 09:14:01 +0000"]
    assert [r[7] for r in first if r[6] == "<"][:2] == ["EHLO AM4PEPF00027A5F.mail.protection.outlook.com", "STARTTLS"]
    sessions = read_protocol_log(io.BytesIO(stream.getvalue()))
    assert sessions["direction"].tolist() == ["receive", "receive"]
    ok, no = sessions.iloc[0], sessions.iloc[1]
    assert (ok["cert_thumbprint"], ok["tls"], ok["outcome"], ok["messages_delivered"]) == (
        DEMO_CERT.thumbprint, "succeeded", "delivered", 1)
    assert ok["replies"][0].startswith("220 ex01.contoso.com") and ok["replies"][-1] == "221 2.0.0 Closing connection."
    assert (no["final_reply"], no["outcome"]) == ("530 5.7.1 Client was not authenticated", "rejected")
    from exlab.analysis.timeline import session_failed
    assert not session_failed(sessions).any()


def _queue(**fields) -> dict:
    from exlab.lab.transport_logs import queue_row
    return queue_row("EX01", 7, next_hop_domain="contoso-com.mail.protection.outlook.com",
                     connector_guid="6f9d2e34-8c1b-4b7a-9e02-3a5c7d1f0b48", message_count=12,
                     last_error_reply="454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access "
                                      "Denied", last_error_fqdn="contoso-com.mail.protection.outlook.com",
                     last_error_ip="104.47.1.33", last_retry=pd.Timestamp("2025-03-20 09:14:02.25Z"), retry_count=17,
                     **fields)


def _queue_export(shape: str, **options) -> bytes:
    from exlab.lab.transport_logs import write_queue_export
    stream = io.BytesIO()
    write_queue_export([_queue()], stream, shape, tz="Europe/Warsaw", **options)
    return stream.getvalue()


@pytest.mark.parametrize("culture,width", [("en-US", 80), ("pl-PL", 80), ("de-DE", 120)])
def test_get_queue_fl_is_windows_powershells_list(culture, width):
    data = _queue_export("fl", culture=culture, width=width)
    assert data[:2] == b"\xff\xfe"
    lines = data.decode("utf-16").split("\r\n")
    assert all(len(line) <= width - 1 for line in lines)          # Out-File writes a column less than the console
    names = [line.partition(" :")[0].rstrip() for line in lines if line[:1].strip()]
    assert names[:8] == ["RunspaceId", "DeliveryType", "NextHopDomain", "TlsPolicyDesignatedDomain",
                         "NextHopConnector", "Status", "MessageCount", "LastError"] and names[-1] == "ObjectState"
    assert {line.index(" :") for line in lines if line[:1].strip()} == {32}      # colons aligned
    lrt = {"en-US": "3/20/2025 10:14:02 AM", "pl-PL": "20.03.2025 10:14:02", "de-DE": "20.03.2025 10:14:02"}[culture]
    assert f"LastRetryTime                    : {lrt}" in lines
    assert "".join(line.strip() for line in lines).count(f"[{{LRT={lrt}}};{{LED=454 4.7.0") == 1


def test_get_queue_export_clixml_json_and_csv_shapes():
    root = fromstring(_queue_export("clixml").decode("utf-16").encode("utf-8"))
    ns = "{http://schemas.microsoft.com/powershell/2004/04}"
    [queue] = root
    assert queue.find(f"{ns}TN/{ns}T").text == \
        "Deserialized.Microsoft.Exchange.Data.QueueViewer.PropertyBagBasedQueueInfo"
    props = {element.get("N"): element for element in queue.find(f"{ns}Props")}
    assert props["Status"].find(f"{ns}ToString").text == "Retry" and props["Status"].find(f"{ns}I32").text == "3"
    assert props["Identity"].find(f"{ns}ToString").text == "EX01\\7" and props["NextHopConnector"].tag == f"{ns}G"
    assert props["LastRetryTime"].text == "2025-03-20T10:14:02.250000+01:00" and props["MessageCount"].tag == f"{ns}I32"
    shown = json.loads(_queue_export("json").decode("utf-16"))
    assert (shown["Status"], shown["DeliveryType"], shown["Identity"]) == (3, 4, "EX01\\7")
    assert '"LastRetryTime":  "\\/Date(1742462042250)\\/"' in _queue_export("json").decode("utf-16")
    data = _queue_export("csv", culture="en-GB")
    rows = list(csv.reader(data.decode("ascii").split("\r\n")[1:-1]))
    row = dict(zip(rows[0], rows[1]))
    assert data.startswith(b"#TYPE Deserialized.Microsoft.Exchange.Data.QueueViewer.PropertyBagBasedQueueInfo\r\n")
    assert (row["MessageCountsPerPriority"], row["LastRetryTime"], row["PSComputerName"]) == (
        "System.Int32[]", "20/03/2025 10:14:02", "EX01")
    assert row["LastError"].startswith("[{LRT=20/03/2025 10:14:02};{LED=454 4.7.0 Failed")


def test_get_queue_of_exchange_2010_and_2013():
    old = _queue_export("fl", version=2010).decode("utf-16")
    assert "\r\nLastError        : 454 4.7.0 Failed to establish" in old
    assert not any(name in old for name in ("RetryCount", "FirstRetryTime", "TlsPolicyDesignatedDomain",
                                            "QueueIdentity"))
    assert "Deserialized.Microsoft.Exchange.Data.QueueViewer.QueueInfo<" in _queue_export(
        "clixml", version=2010).decode("utf-16")
    rtm = _queue_export("fl", version=2013).decode("utf-16")
    assert "\r\nTlsDomain " in rtm and "TlsPolicyDesignatedDomain" not in rtm
    with pytest.raises(ValueError, match="console"):
        _queue_export("json", trimmed=True)
