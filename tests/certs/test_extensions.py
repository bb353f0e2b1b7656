"""Certificates whose extensions cryptography refuses to read (an extension written twice, an
x400Address name): read with their row kept, and judged ``unknown`` in words, never an exception."""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from exlab.certs import read_certs
from exlab.certs.extensions import unreadable_extensions
from exlab.certs.trust import judge_trust
from exlab.lab.pki import LabPki, cer_bytes, extension_der, with_raw_extensions

ISSUED = datetime(2024, 12, 2, 13, 43, 23, tzinfo=timezone.utc)
FAILURE = pd.Timestamp("2025-03-20 09:14:02", tz="UTC")
INTERNAL_ROOT = "CN=Contoso Root CA, DC=contoso, DC=com"
INTERNAL_CA = "CN=Contoso Issuing CA 01, DC=contoso, DC=com"
X400_NAME = bytes.fromhex("3002a300")   # GeneralNames holding one (empty) x400Address


@pytest.fixture(scope="module")
def pki() -> LabPki:
    return LabPki("tests-extensions")


def _twice(pki: LabPki, extension: type) -> x509.Certificate:
    """The internal server certificate with one of its extensions written a second time."""
    leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal", not_before=ISSUED)
    found = leaf.certificate.extensions.get_extension_for_class(extension)
    return with_raw_extensions(leaf, [extension_der(found.oid, found.value.public_bytes())])


def _x400(pki: LabPki) -> x509.Certificate:
    """The internal server certificate with an issuerAltName holding an x400Address."""
    leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal", not_before=ISSUED)
    return with_raw_extensions(leaf, [extension_der(x509.ObjectIdentifier("2.5.29.18"), X400_NAME)])


def _judged(folder: Path, *certs: x509.Certificate) -> pd.DataFrame:
    for index, cert in enumerate(certs):
        (folder / f"{index}.cer").write_bytes(cer_bytes(cert, pem=index % 2 == 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return judge_trust(read_certs(folder), at=FAILURE)


def _thumbprint(cert: x509.Certificate) -> str:
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


@pytest.mark.parametrize(("hostile", "reason"), [
    (lambda pki: _twice(pki, x509.SubjectAlternativeName), "it holds the extension 2.5.29.17 twice"),
    (lambda pki: _twice(pki, x509.AuthorityKeyIdentifier), "it holds the extension 2.5.29.35 twice"),
    (_x400, "a name in its extensions is an x400Address or ediPartyName"),
])
def test_a_certificate_with_unreadable_extensions_is_kept_and_judged_unknown_in_words(pki, tmp_path, hostile,
                                                                                      reason):
    cert = hostile(pki)
    judged = _judged(tmp_path, cert, pki.internal_ca.certificate, pki.internal_root.certificate)
    assert len(judged) == 3
    row = judged.set_index("thumbprint").loc[_thumbprint(cert)]
    assert row["subject"] == "CN=mail.contoso.com"
    assert row["dns_names"] == ("mail.contoso.com",)
    assert row["issuer_class"] == "unknown" and pd.isna(row["trusted_by_microsoft365"])
    assert row["trust_basis"].startswith(reason) and "chain cannot be verified" in row["trust_basis"]
    assert row["chain"] == ("CN=mail.contoso.com",)
    others = judged[judged["subject"] != "CN=mail.contoso.com"]
    assert others["issuer_class"].tolist() == ["internal", "internal"]


def test_the_same_certificate_without_the_extra_extension_is_internal(pki, tmp_path):
    leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal", not_before=ISSUED)
    judged = _judged(tmp_path, leaf.certificate, pki.internal_ca.certificate, pki.internal_root.certificate)
    row = judged[judged["subject"] == "CN=mail.contoso.com"].iloc[0]
    assert row["issuer_class"] == "internal"
    assert row["chain"] == ("CN=mail.contoso.com", INTERNAL_CA, INTERNAL_ROOT)


def test_a_ca_with_unreadable_extensions_is_no_link_of_the_leafs_chain(pki, tmp_path):
    ca = pki.internal_ca
    found = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    hostile_ca = with_raw_extensions(ca, [extension_der(found.oid, found.value.public_bytes(), critical=True)])
    leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal", not_before=ISSUED)
    judged = _judged(tmp_path, leaf.certificate, hostile_ca, pki.internal_root.certificate)
    assert judged.set_index("thumbprint").loc[_thumbprint(hostile_ca), "issuer_class"] == "unknown"
    row = judged[judged["subject"] == "CN=mail.contoso.com"].iloc[0]
    assert row["issuer_class"] == "unknown"
    assert row["missing_issuer"] == INTERNAL_CA
    assert row["trust_basis"].startswith(f"issuer {INTERNAL_CA!r} is in the evidence, but it holds the extension "
                                         "2.5.29.19 twice")


def test_the_reader_notes_what_it_could_not_read(pki, tmp_path):
    cert = _twice(pki, x509.SubjectAlternativeName)
    assert unreadable_extensions(cert) == "it holds the extension 2.5.29.17 twice"
    (tmp_path / "leaf.cer").write_bytes(cer_bytes(cert))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = read_certs(tmp_path / "leaf.cer")
    assert pd.isna(frame.loc[0, "server_auth"])
    [report] = frame.attrs["parse_report"].files
    assert any("unreadable" in note for note in report.warnings)
