"""Small evidence folders written with the lab's writers (the bytes Exchange writes), for Case and CLI tests."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from exlab.lab.transport_logs import (
    DEMO_CERT,
    LoggedCertificate,
    demo_session,
    led_status,
    tracking_row,
    write_protocol_log,
    write_tracking_log,
)

S = 1_000_000_000
PUBLIC_CERT = LoggedCertificate("CN=mail.contoso.com, O=Contoso, C=US", "CN=exlab Lab Public Server CA 01, O=exlab lab, C=US",
                                "0A1B2C3D4E5F", "9B1C0D2E3F405162738495A6B7C8D9E0F1A2B3C4", ("mail.contoso.com",))
ATTEMPTS = 4          # refused sessions, one every 15 minutes
RETRY = 15 * 60 * S


def write_protocol_case(folder: Path) -> dict:
    """A folder a KB 2888788 engineer might hand over: SMTP send logs (a day of delivered mail
    with the public certificate, then refusals with the internal one), a tracking log in a
    sub-folder, the lab's truth.json and two files exlab does not read. Returns the facts."""
    base = demo_session()
    delivered = replace(base, session_id="08DD6A1B2C3D0001", start=base.start - 86_400 * S,
                        end=base.start - 86_400 * S + S, certificate=PUBLIC_CERT, reply=None, reply_at=None)
    refused = [replace(base, session_id=f"08DD6A1B2C3D1{i:03d}", start=base.start + i * RETRY,
                       end=base.end + i * RETRY, reply_at=base.reply_at + i * RETRY) for i in range(ATTEMPTS)]
    logs = folder / "ProtocolLog" / "SmtpSend"
    logs.mkdir(parents=True)
    write_protocol_log(logs / "SEND20250320-1.LOG", [delivered, *refused])
    tracking = folder / "MessageTracking"
    tracking.mkdir()
    message = base.messages[0]
    rows = [tracking_row(base.start + 200_000_000, "DEFER", message_id=message.message_id, sender=message.sender,
                         recipients=message.recipients, local_hostname="EX01.contoso.com", local_ip="10.0.0.5",
                         remote_hostname="contoso-com.mail.protection.outlook.com", remote_ip="104.47.1.33",
                         connector_id=base.connector,
                         recipient_status=led_status(base.reply, "contoso-com.mail.protection.outlook.com",
                                                     "104.47.1.33", "3/20/2025 9:14:02 AM"))]
    write_tracking_log(tracking / "MSGTRK20250320-1.LOG", rows)
    (folder / "truth.json").write_text(json.dumps({"verdict": "confirmed"}), encoding="utf-8")
    (folder / "README.txt").write_text("exported by the on-call engineer\r\n", encoding="utf-8")
    (folder / "empty.log").write_bytes(b"")
    return {"culprit": DEMO_CERT.thumbprint, "connector": base.connector, "onset": refused[0].reply_at,
            "end": refused[-1].reply_at, "refused": ATTEMPTS}
