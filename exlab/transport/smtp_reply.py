"""SMTP replies as Exchange logs them: code, enhanced status, text, and the TLS failure reason.

Replies reach exlab through event 2004's third insertion string, protocol logs and
tracking logs, in the server's UI language. The code and the enhanced status are
language-independent; the TLS reason (``UntrustedRoot``) is an untranslated identifier
between ``: `` separators, so it is found the same way in every language.

>>> reply = parse_smtp_reply("454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied")
>>> reply.code, reply.enhanced_status, reply.tls_reason
(454, '4.7.0', 'UntrustedRoot')
>>> classify(reply)
'untrusted-root'
>>> parse_smtp_reply("454 4.7.0 Nie można ustanowić odpowiedniego kanału TLS: UntrustedRoot: Odmowa dostępu").tls_reason
'UntrustedRoot'
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple

_REPLY = re.compile(r"^\s*(?P<code>[2-5]\d\d)(?:[ -]+(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\b)?[ -]?(?P<text>.*)$",
                    re.DOTALL)
_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_NEGOTIATION = re.compile(r"TLS negotiation failed with error (?P<reason>[A-Za-z][\w]*)")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TENANT = re.compile(r"TenantAttribution", re.IGNORECASE)
_TLSCERTNAME = re.compile(r"TlsCertificateName", re.IGNORECASE)
_NETWORK_STATUS = ("4.4.", "4.2.1", "5.4.")


class SmtpReply(NamedTuple):
    """One SMTP reply, split. ``text`` is everything after the code and enhanced status."""

    code: int | None
    enhanced_status: str | None
    text: str
    tls_reason: str | None


@cache
def tls_reasons() -> dict[str, str]:
    """The known TLS failure reasons, each with its cause id (from ``tls_reasons.json``).

    >>> tls_reasons()["NoCredentials"]
    'no-private-key'
    """
    raw = json.loads(resources.files("exlab.transport").joinpath("tls_reasons.json").read_text("utf-8"))
    return dict(raw["reasons"])


@cache
def _known_lower() -> dict[str, str]:
    return {name.lower(): name for name in tls_reasons()}


@lru_cache(maxsize=4096)     # a month of logs repeats a few replies thousands of times
def parse_smtp_reply(text: str | None) -> SmtpReply:
    """Split a reply such as ``454 4.7.0 ...`` into its parts; never raises.

    Text without a leading code keeps ``code`` None (the enhanced status is still
    picked up where it appears, as Exchange writes it in nested replies).

    >>> parse_smtp_reply("454 4.7.0 Failed to establish appropriate TLS channel: Access Denied").tls_reason is None
    True
    >>> parse_smtp_reply('451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect."')[:2]
    (451, '4.4.0')
    >>> parse_smtp_reply("250 2.6.0 <id@host> Queued mail for delivery").text
    '<id@host> Queued mail for delivery'
    """
    text = "" if text is None else str(text).strip()
    match = _REPLY.match(text)
    if match is None:
        enhanced = _ENHANCED.search(text)
        return SmtpReply(None, enhanced.group(1) if enhanced else None, text, tls_reason_of(text))
    return SmtpReply(int(match.group("code")), match.group("enhanced"), match.group("text").strip(),
                     tls_reason_of(match.group("text")))


def tls_reason_of(text: str) -> str | None:
    """The TLS failure reason in a reply or protocol-log text, as written, or None.

    Known reasons are found anywhere between ``: `` separators (and returned in their
    canonical spelling); an unknown one is taken from the middle of
    ``<TLS wording>: <Reason>: <denial>`` when it looks like an identifier.

    >>> tls_reason_of("Failed to establish appropriate TLS channel: SomeNewReason: Access Denied")
    'SomeNewReason'
    >>> tls_reason_of("TLS negotiation failed with error NoCredentials")
    'NoCredentials'
    >>> tls_reason_of("Unable to establish appropriate TLS channel: certificateexpired: Access Denied")
    'CertificateExpired'
    """
    negotiation = _NEGOTIATION.search(text)
    if negotiation:
        reason = negotiation.group("reason")
        return _known_lower().get(reason.lower(), reason)
    parts = [part.strip().rstrip(".") for part in text.split(":")]
    for part in parts[1:]:
        known = _known_lower().get(part.lower())
        if known:
            return known
    if len(parts) == 3 and "TLS" in parts[0] and _IDENTIFIER.match(parts[1]):
        return parts[1]
    return None


def classify(reply: SmtpReply | str | None) -> str | None:
    """A short cause id for a reply, as the diagnosis uses it, or None for anything else.

    ``untrusted-root`` (454 4.7.0 ... UntrustedRoot), ``expired``, ``no-private-key``,
    ``tls-access-denied`` (454 4.7.0 without or with another reason),
    ``tlscertificatename-missing`` (454 4.7.5), ``tenant-attribution`` (5.7.64),
    ``network`` (451 4.4.0, 421 4.4.x / 4.2.1).

    >>> classify("454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not be found.")
    'tlscertificatename-missing'
    >>> classify("550 5.7.64 TenantAttribution; Relay Access Denied")
    'tenant-attribution'
    >>> classify("421 4.4.2 Connection dropped"), classify("250 2.6.0 Queued mail for delivery")
    ('network', None)
    """
    if reply is None:
        return None
    if isinstance(reply, str):
        reply = parse_smtp_reply(reply)
    status = reply.enhanced_status or ""
    if status == "4.7.5" or (reply.code == 454 and _TLSCERTNAME.search(reply.text)):
        return "tlscertificatename-missing"
    if status == "5.7.64" or _TENANT.search(reply.text):
        return "tenant-attribution"
    if reply.tls_reason is not None:
        return tls_reasons().get(reply.tls_reason, "tls-access-denied")
    if reply.code == 454 and status == "4.7.0":
        return "tls-access-denied"
    if status.startswith(_NETWORK_STATUS) or reply.code == 421:
        return "network"
    return None
