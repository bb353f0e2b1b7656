"""Certificates the certificate tests share: the lab PKI's KB 2888788 pair and odd ones made here."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import cryptography_vectors
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exlab.lab.pki import LabCertificate, LabPki, p7b_bytes

VECTORS = Path(cryptography_vectors.__file__).parent
FIXTURES = Path(__file__).parent / "fixtures"


@lru_cache(maxsize=1)
def kb2888788_pair() -> tuple[LabCertificate, LabCertificate]:
    """The public certificate (older) and the internal one (newer) of the incident."""
    pki = LabPki("tests-certs")
    public = pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"], ca="public",
                        not_before=datetime(2024, 12, 2, 13, 43, 23, tzinfo=timezone.utc))
    internal = pki.server("mail.contoso.com", ["mail.contoso.com", "exchange.contoso.com"], ca="internal",
                          not_before=datetime(2025, 3, 14, 8, 2, 5, tzinfo=timezone.utc))
    return public, internal


def odd_certificate(names: list[x509.NameAttribute], *, not_after: datetime | None = None,
                    serial: int = 0x80FF) -> x509.Certificate:
    """A self-signed EC certificate with the given subject (for name and range edge cases)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(names)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(datetime(2024, 1, 1, tzinfo=timezone.utc))
            .not_valid_after(not_after or datetime(2026, 1, 1, tzinfo=timezone.utc))
            .sign(key, hashes.SHA384()))


def attr(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute:
    return x509.NameAttribute(oid, value)


def certnew_p7b(certs: Iterable[LabCertificate]) -> bytes:
    """What AD CS web enrollment saves as ``certnew.p7b`` ("Download certificate chain", Base 64): the
    PKCS#7 SignedData in Base64 between CERTIFICATE lines, 64 characters a line, CRLF."""
    text = base64.b64encode(p7b_bytes(certs)).decode("ascii")
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return "\r\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----", ""]).encode("ascii")


__all__ = ["FIXTURES", "NameOID", "VECTORS", "attr", "certnew_p7b", "kb2888788_pair", "odd_certificate"]


def dates_said(frame) -> list[str]:
    """What a read frame's parse report keeps about its file's day/month order."""
    return [text for text in frame.attrs["parse_report"].files[0].warnings if "day/month order" in text]
