"""Small frames shaped exactly per CONTRIBUTING.md's contracts, built with the real schema builders.

Times are given as ISO strings (UTC); each builder fills the columns a test does not care about.
"""

from __future__ import annotations

import pandas as pd

from exlab.certs.schema import certs_frame
from exlab.events.schema import events_frame
from exlab.transport.schema import (
    CONNECTOR_DTYPES,
    FAILURE_DTYPES,
    SERVER_DTYPES,
    SESSION_DTYPES,
    TRACKING_DTYPES,
    make_frame,
)
from exlab.transport.smtp_reply import classify, parse_smtp_reply

UNTRUSTED = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
TLSCERTNAME = "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found."
TENANT = "550 5.7.64 TenantAttribution; Relay Access Denied"
NETWORK = '451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect."'
EXPIRED = "454 4.7.0 Failed to establish appropriate TLS channel: CertificateExpired: Access Denied"
QUEUED = "250 2.6.0 <a@contoso.com> Queued mail for delivery"

INTERNAL = "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55"
PUBLIC = "9B1C0D2E3F405162738495A6B7C8D9E0F1A2B3C4"
SELF = "0123456789ABCDEF0123456789ABCDEF01234567"
CONNECTOR = "Outbound to Office 365"
FQDN = "exchange.contoso.com"
INTERNAL_ISSUER = "CN=Contoso Issuing CA 01, DC=contoso, DC=com"
PUBLIC_ISSUER = "CN=exlab Lab Public Server CA 01, O=exlab lab, C=US"


def ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def failures(*items: tuple[str, str], connector: str = CONNECTOR, computer: str = FQDN) -> pd.DataFrame:
    """The failures frame (as ``tls_failures`` makes it from events 2004): one row per (time, reply)."""
    replies = [parse_smtp_reply(reply) for _, reply in items]
    return make_frame({
        "time_created": [ns(t) for t, _ in items], "computer": [computer] * len(items),
        "provider": ["MSExchangeTransport"] * len(items), "event_id": [2004] * len(items),
        "connector": [connector] * len(items), "message_id": [f"<m{i}@contoso.com>" for i in range(len(items))],
        "smtp_response": [reply for _, reply in items], "code": [r.code for r in replies],
        "enhanced_status": [r.enhanced_status for r in replies], "reason": [r.tls_reason for r in replies],
        "cause": [classify(r) for r in replies], "record_id": list(range(100, 100 + len(items))), "source": ["Application.evtx"] * len(items),
    }, FAILURE_DTYPES)


def session(start: str, reply: str | None, thumbprint: str | None = INTERNAL, *, issuer: str = INTERNAL_ISSUER,
            subject: str = "CN=mail.contoso.com", tls: str = "succeeded", tls_error: str | None = None,
            seconds: float = 0.5, session_id: str | None = None) -> dict:
    parsed = parse_smtp_reply(reply) if reply else None
    failed = tls == "failed"
    code = parsed.code if parsed else None
    outcome = ("tls-failed" if failed else "rejected" if code is not None and code >= 400
               else "delivered" if reply else "disconnected")
    return {
        "session_id": session_id or f"08DD{ns(start) % 10**12:012X}", "connector": CONNECTOR,
        "local_endpoint": "10.0.0.5:40000", "remote_endpoint": "52.101.8.10:25",
        "start": ns(start), "end": ns(start) + int(seconds * 1e9), "cert_thumbprint": thumbprint,
        "cert_subject": subject if thumbprint else None, "cert_issuer": issuer if thumbprint else None,
        "cert_names": ("mail.contoso.com",) if thumbprint else (), "tls": tls, "tls_error": tls_error,
        "replies": (reply,) if reply else (), "final_reply": reply, "reply_code": code,
        "enhanced_status": parsed.enhanced_status if parsed else None,
        "tls_reason": (parsed.tls_reason if parsed and parsed.tls_reason else tls_error), "outcome": outcome,
        "message_ids": (), "messages_delivered": 1 if outcome == "delivered" else 0, "source": "SEND20250320-1.LOG",
    }


def sessions(*rows: dict) -> pd.DataFrame:
    return make_frame({name: [row.get(name) for row in rows] for name in SESSION_DTYPES}, SESSION_DTYPES)


def tracking(*items: tuple[str, str, str]) -> pd.DataFrame:
    """(time, event_id, recipient_status) rows."""
    return make_frame({
        "time": [ns(t) for t, _, _ in items], "event_id": [e for _, e, _ in items],
        "connector_id": [CONNECTOR] * len(items), "message_id": [f"<t{i}@contoso.com>" for i in range(len(items))],
        "recipient_status": [s for _, _, s in items], "server_hostname": ["contoso-com.mail.protection.outlook.com"] * len(items),
        "source": ["MSGTRK20250320-1.LOG"] * len(items), "line": list(range(6, 6 + len(items))),
    }, TRACKING_DTYPES)


def cert(thumbprint: str, issuer_class: str, not_before: str, *, issuer: str | None = None,
         services: tuple[str, ...] | None = ("IMAP", "POP", "IIS", "SMTP"), not_after: str = "2027-03-14",
         names: tuple[str, ...] = ("mail.contoso.com", FQDN), has_key: bool = True, subject: str = "CN=mail.contoso.com") -> dict:
    issuer = issuer or {"internal": INTERNAL_ISSUER, "public": PUBLIC_ISSUER}.get(issuer_class, subject)
    return {"thumbprint": thumbprint, "subject": subject, "issuer": issuer, "dns_names": names,
            "not_before": pd.Timestamp(not_before, tz="UTC"), "not_after": pd.Timestamp(not_after, tz="UTC"),
            "is_self_signed": issuer_class == "self-signed", "has_private_key": has_key, "services": services,
            "server_auth": True, "source": "ExchangeCertificates.xml", "issuer_class": issuer_class}


def certs(*rows: dict) -> pd.DataFrame:
    """The certificates frame with the issuer_class trust column (as judge_trust adds it)."""
    frame = certs_frame(rows)
    frame["issuer_class"] = pd.array([row["issuer_class"] for row in rows], dtype="string")
    frame["trusted_by_microsoft365"] = pd.array([row["issuer_class"] == "public" for row in rows], dtype="boolean")
    return frame


def events(*items: tuple[str, int, dict], computer: str = FQDN) -> pd.DataFrame:
    """(time, event id, data) MSExchangeTransport events."""
    return events_frame([{"time_created": ns(t), "computer": computer, "channel": "Application",
                          "provider": "MSExchangeTransport", "event_id": event_id, "qualifiers": 16388,
                          "level": 4, "task": 12, "keywords": "0x80000000000000", "record_id": 500 + i,
                          "data": data, "source": "Application.evtx"}
                         for i, (t, event_id, data) in enumerate(items)])


def connectors(tls_certificate_name: str | None = None, fqdn: str | None = None) -> pd.DataFrame:
    return make_frame({"name": ["Internet", CONNECTOR], "fqdn": [None, fqdn],
                       "tls_certificate_name": [None, tls_certificate_name],
                       "smart_hosts": [(), ("contoso-com.mail.protection.outlook.com",)],
                       "address_spaces": [("SMTP:*;1",), ("SMTP:contoso.mail.onmicrosoft.com;1",)],
                       "source": ["SendConnectors.xml"] * 2}, CONNECTOR_DTYPES)


def servers() -> pd.DataFrame:
    return make_frame({"name": ["EX01"], "fqdn": [FQDN], "source": ["ExchangeServer.txt"]}, SERVER_DTYPES)
