"""Transport logs as Exchange 2010 SP3 and 2013 write them, read next to 2016/2019 ones.

Exchange 2010 heads its logs ``#Version: 14.0.0.0``; its message tracking log has 26 fields
(no network-message-id, transport-traffic-type, log-id, schema-version) and a DEFER row's
recipient-status is the SMTP reply itself, not the ``[{LED=...};...]`` form of 2013 and later.
Exchange 2013 (``#Version: 15.00.1497.002``) writes 27 tracking fields. The SMTP send protocol
log has the same nine fields in every version. The writers below write those shapes (UTF-8 with
a BOM, CRLF, quoted as Exchange quotes); names, addresses and thumbprints are invented.

These readers were right already for these shapes; the tests keep them so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from exlab.transport.protocol_log import read_protocol_log
from exlab.transport.schema import TRACKING_FIELDS
from exlab.transport.tracking_log import read_tracking_log

DENIED = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
QUEUED = "250 2.6.0 <m3@contoso.com> [InternalId=1] Queued mail for delivery"
INTERNAL = ("CN=mail.contoso.com", "CN=Contoso Issuing CA 01, DC=contoso, DC=com",
            "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55")
PUBLIC = ("CN=mail.contoso.com, O=Contoso Ltd, C=US",
          "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US",
          "7B1E55A0C3F2A9C01D4E8B7766A5C0B1E92D4F08")
PROTOCOL_FIELDS = ("date-time", "connector-id", "session-id", "sequence-number", "local-endpoint", "remote-endpoint",
                   "event", "data", "context")
#: the tracking fields each version writes (2013 and 2010 leave out the newest, in the same order)
FIELDS_2013 = tuple(f for f in TRACKING_FIELDS if f not in ("transport-traffic-type", "log-id", "schema-version"))
FIELDS_2010 = tuple(f for f in FIELDS_2013 if f != "network-message-id")
VERSIONS = {"2010": "14.0.0.0", "2013": "15.00.1497.002", "2016": "15.01.2507.006"}


def log_bytes(version: str, log_type: str, fields: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """A transport log: the ``#`` header of ``version`` (2010, 2013, 2016) and the rows as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    rows = list(rows)
    for row in rows:
        writer.writerow(row)
    head = (f"#Software: Microsoft Exchange Server\r\n#Version: {VERSIONS[version]}\r\n#Log-type: {log_type}\r\n"
            f"#Date: {rows[0][0] if rows else '2025-03-20T00:00:00.000Z'}\r\n#Fields: {','.join(fields)}\r\n")
    return b"\xef\xbb\xbf" + (head + out.getvalue()).encode()


def send_session(session_id: str, start: str, local: str, certificate: tuple[str, str, str], reply: str,
                 message_id: str) -> list[list[str]]:
    """The lines of one send session to Exchange Online (``start`` without its fraction): STARTTLS, the
    certificate sent (2010's block of five lines), the certificate received (2010 logs its thumbprint
    under ``Received certificate``), one message and the reply to its data."""
    subject, issuer, thumbprint = certificate
    steps = [("*", "", "attempting to connect"), ("+", "", ""),
             ("<", "220 BN1NAM02FT011.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready", ""),
             (">", "EHLO mail.contoso.com", ""), ("<", "250-BN1NAM02FT011.mail.protection.outlook.com Hello", ""),
             ("<", "250 STARTTLS", ""), (">", "STARTTLS", ""), ("<", "220 2.0.0 SMTP server ready", ""),
             ("*", "", "Sending certificate"), ("*", subject, "Certificate subject"),
             ("*", issuer, "Certificate issuer name"), ("*", "5A0000002B8E3C", "Certificate serial number"),
             ("*", thumbprint, "Certificate thumbprint"), ("*", "mail.contoso.com", "Certificate alternate names"),
             ("*", "", "Received certificate"),
             ("*", "D8C5A2F1E0B9A8C7D6E5F4A3B2C1D0E9F8A7B6C5", "Certificate thumbprint"),
             (">", "EHLO mail.contoso.com", ""), ("<", "250 BN1NAM02FT011.mail.protection.outlook.com Hello", ""),
             (">", "MAIL FROM:<a@contoso.com> SIZE=4096", ""), (">", "RCPT TO:<b@contoso.mail.onmicrosoft.com>", ""),
             ("<", "250 2.1.0 Sender OK", ""), ("<", "250 2.1.5 Recipient OK", ""), (">", "DATA", ""),
             ("<", "354 Start mail input; end with <CRLF>.<CRLF>", ""),
             ("*", "", f"sending message with RecordId 1 and InternetMessageId {message_id}"),
             ("<", reply, ""), (">", "QUIT", ""), ("-", "", "Local")]
    return [[f"{start}.{100 + number:03d}Z", "Outbound to Office 365", session_id, str(number), local,
             "104.47.1.1:25", event, data, context] for number, (event, data, context) in enumerate(steps)]


def tracking_rows(fields: Sequence[str], host: str, deliveries: Iterable[tuple[str, str, str]],
                  led_form: bool = False) -> list[list[str]]:
    """A STOREDRIVER RECEIVE and an SMTP DEFER (or SEND) row per (time without fraction, message id,
    reply) in the fields ``fields``; ``led_form`` writes a DEFER's reply as 2013 and later do."""
    rows = []
    for number, (second, message_id, reply) in enumerate(deliveries):
        common = {"client-ip": "10.0.0.10", "internal-message-id": str(100 + number), "message-id": message_id,
                  "recipient-address": "b@contoso.mail.onmicrosoft.com", "total-bytes": "4096", "recipient-count": "1",
                  "message-subject": "Hello, world", "sender-address": "a@contoso.com",
                  "return-path": "a@contoso.com", "directionality": "Originating",
                  "network-message-id": "6f1e7c52-0c1b-4f37-9d0a-08dd61a1b2c3"}
        rows.append({**common, "date-time": f"{second}.100Z", "client-hostname": host, "server-ip": "10.0.0.10",
                     "server-hostname": host, "source": "STOREDRIVER", "event-id": "RECEIVE"})
        deferred = reply.startswith("4")
        status = (f"[{{LED={reply}}};{{MSG=}};{{FQDN=contoso-com.mail.protection.outlook.com}};{{IP=104.47.1.1}};"
                  f"{{LRT=3/20/2025 9:14:02 AM}}]") if deferred and led_form else reply
        rows.append({**common, "date-time": f"{second}.900Z", "client-hostname": f"{host}.contoso.com",
                     "server-ip": "104.47.1.1", "server-hostname": "contoso-com.mail.protection.outlook.com",
                     "connector-id": "Outbound to Office 365", "source": "SMTP",
                     "event-id": "DEFER" if deferred else "SEND", "recipient-status": status})
    return [[row.get(field, "") for field in fields] for row in rows]


def test_exchange_2010_tracking_log_is_read_by_its_26_fields():
    data = log_bytes("2010", "Message Tracking Log", FIELDS_2010, tracking_rows(FIELDS_2010, "EX2010", [
        ("2025-03-20T09:14:00", "<m1@contoso.com>", DENIED), ("2025-03-20T09:24:00", "<m2@contoso.com>", DENIED)]))
    frame = read_tracking_log(io.BytesIO(data))
    assert len(FIELDS_2010) == 26 and len(frame) == 4
    defers = frame[frame["event_id"] == "DEFER"]
    assert defers["message_id"].tolist() == ["<m1@contoso.com>", "<m2@contoso.com>"]
    # 2010 writes the reply itself: kept as written, no LED part to split
    assert set(defers["recipient_status"]) == {DENIED} and defers["led"].isna().all()
    assert defers["connector_id"].eq("Outbound to Office 365").all()
    assert frame[["network_message_id", "transport_traffic_type", "log_id", "schema_version"]].isna().all().all()
    assert frame["message_subject"].eq("Hello, world").all() and frame["total_bytes"].eq(4096).all()
    report = frame.attrs["parse_report"].files[0]
    assert report.records_read == 4 and not report.losses and not report.warnings


def test_logs_of_2010_2013_and_2016_read_together_keep_what_each_wrote(tmp_path: Path):
    deliveries = [("2025-03-20T09:14:00", "<m1@contoso.com>", DENIED)]
    for version, fields in (("2010", FIELDS_2010), ("2013", FIELDS_2013), ("2016", TRACKING_FIELDS)):
        folder = tmp_path / version
        folder.mkdir()
        (folder / "MSGTRK20250320-1.LOG").write_bytes(
            log_bytes(version, "Message Tracking Log", fields, tracking_rows(fields, f"EX{version}", deliveries,
                                                                             led_form=version != "2010")))
    frame = read_tracking_log(tmp_path)
    assert len(frame) == 6
    defers = frame[frame["event_id"] == "DEFER"].set_index("client_hostname")
    assert defers["led"].isna().tolist() == [True, False, False]     # EX2010, EX2013, EX2016 in file order
    assert set(defers["led"].dropna()) == {DENIED}
    assert defers["network_message_id"].notna().tolist() == [False, True, True]
    assert not any(f.warnings or f.losses for f in frame.attrs["parse_report"].files)


def test_exchange_2010_send_protocol_log_gives_the_certificate_presented_and_the_reply():
    data = log_bytes("2010", "SMTP Send Protocol Log", PROTOCOL_FIELDS,
                     send_session("08CFC1D2E3F4A501", "2025-03-20T09:14:01", "10.0.0.10:25001", INTERNAL, DENIED,
                                  "<m1@contoso.com>"))
    sessions = read_protocol_log(io.BytesIO(data))
    assert len(sessions) == 1
    row = sessions.iloc[0]
    assert (row.cert_thumbprint, row.cert_subject, row.cert_issuer) == (INTERNAL[2], INTERNAL[0], INTERNAL[1])
    assert row.remote_cert_thumbprint == "D8C5A2F1E0B9A8C7D6E5F4A3B2C1D0E9F8A7B6C5"
    assert (row.reply_code, row.tls_reason, row.outcome) == (454, "UntrustedRoot", "rejected")
    assert row.message_ids == ("<m1@contoso.com>",) and row.direction == "send"
    assert row.start == pd.Timestamp("2025-03-20T09:14:01.100Z")
