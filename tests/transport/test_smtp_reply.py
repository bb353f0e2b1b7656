"""SMTP replies: the wordings of EXCHANGE.md, translations, TLS reasons and cause ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exlab.transport import SmtpReply, classify, parse_smtp_reply
from exlab.transport.smtp_reply import tls_reasons

CASES = [
    ("454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied",
     454, "4.7.0", "UntrustedRoot", "untrusted-root"),
    ("454 4.7.0 Failed to establish appropriate TLS channel: Access Denied", 454, "4.7.0", None, "tls-access-denied"),
    # Exchange Online appends where and when it answered, with colons of its own
    ("454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied "
     "[AM4PEPF00027A5F.eurprd04.prod.outlook.com 2025-03-20T09:14:02.123Z 08DD6A1B2C3D4E5F]",
     454, "4.7.0", "UntrustedRoot", "untrusted-root"),
    ("454 4.7.0 Failed to establish appropriate TLS channel: Access Denied "
     "[AM4PEPF00027A5F.eurprd04.prod.outlook.com 2025-03-20T09:14:02.123Z 08DD6A1B2C3D4E5F]",
     454, "4.7.0", None, "tls-access-denied"),
    ("454 4.7.0 Unable to establish appropriate TLS channel: UntrustedRoot: Access Denied",
     454, "4.7.0", "UntrustedRoot", "untrusted-root"),
    ("454 4.7.0 Nie można ustanowić odpowiedniego kanału TLS: UntrustedRoot: Odmowa dostępu",
     454, "4.7.0", "UntrustedRoot", "untrusted-root"),
    ("454 4.7.0 Es konnte kein geeigneter TLS-Kanal hergestellt werden: UntrustedRoot: Zugriff verweigert",
     454, "4.7.0", "UntrustedRoot", "untrusted-root"),
    ("454 4.7.0 Failed to establish appropriate TLS channel: CertificateExpired: Access Denied",
     454, "4.7.0", "CertificateExpired", "expired"),
    ("454 4.7.0 Failed to establish appropriate TLS channel: CertCN_NO_MATCH: Access Denied",
     454, "4.7.0", "CertCN_NO_MATCH", "tls-access-denied"),
    ("454 4.7.0 Failed to establish appropriate TLS channel: BrandNewReason: Access Denied",
     454, "4.7.0", "BrandNewReason", "tls-access-denied"),
    ("454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.",
     454, "4.7.5", None, "tlscertificatename-missing"),
    ('451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect." Attempted failover to '
     "alternate host, but that did not succeed. Either there are no alternate hosts, or delivery failed to all "
     "alternate hosts. The last endpoint attempted was 104.47.1.33:25", 451, "4.4.0", None, "network"),
    ("421 4.4.2 Connection dropped due to SocketError", 421, "4.4.2", None, "network"),
    ("550 5.7.64 TenantAttribution; Relay Access Denied [DB5EUR01FT012.eop-EUR01.prod.protection.outlook.com]",
     550, "5.7.64", None, "tenant-attribution"),
    ("250 2.6.0 <a@b> [InternalId=1, Hostname=x] Queued mail for delivery", 250, "2.6.0", None, None),
    ("220 2.0.0 SMTP server ready", 220, "2.0.0", None, None),
    ("503 5.5.1 Bad sequence of commands", 503, "5.5.1", None, None),
]


@pytest.mark.parametrize("text,code,status,reason,cause", CASES)
def test_wordings(text, code, status, reason, cause):
    reply = parse_smtp_reply(text)
    assert (reply.code, reply.enhanced_status, reply.tls_reason) == (code, status, reason)
    assert classify(reply) == cause
    assert classify(text) == cause  # a string is parsed first


def test_text_is_what_follows_the_status():
    reply = parse_smtp_reply("  454 4.7.0 Failed to establish appropriate TLS channel: Access Denied\r\n")
    assert reply == SmtpReply(454, "4.7.0", "Failed to establish appropriate TLS channel: Access Denied", None)
    assert parse_smtp_reply("250-SIZE 157286400") == SmtpReply(250, None, "SIZE 157286400", None)
    assert parse_smtp_reply("221 Bye") == SmtpReply(221, None, "Bye", None)


def test_without_code():
    reply = parse_smtp_reply("TLS negotiation failed with error NoCredentials")
    assert (reply.code, reply.tls_reason) == (None, "NoCredentials")
    assert classify(reply) == "no-private-key"
    assert parse_smtp_reply(None) == SmtpReply(None, None, "", None)
    assert classify(None) is None


def test_known_reasons_are_data():
    reasons = tls_reasons()
    assert {"UntrustedRoot", "CertificateExpired", "Expired", "NoCredentials", "RevocationOffline", "WrongUsage",
            "CertCN_NO_MATCH"} <= set(reasons)
    assert set(reasons.values()) <= {"untrusted-root", "expired", "no-private-key", "tls-access-denied"}


@given(st.text(max_size=200))
def test_never_raises(text):
    reply = parse_smtp_reply(text)
    assert reply.code is None or 200 <= reply.code <= 599
    classify(reply)
