"""signature_verifies / self_signed / signed_by: every signature family and hash, real vectors the
library's own verify_directly_issued_by refuses, and the cases that are not self-signed."""

from __future__ import annotations

import functools
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding
from cryptography.x509.oid import NameOID

from exlab.certs.signatures import self_signed, signature_verifies, signed_by, weak_hash
from exlab.lab.pki import LabPki, lab_rsa_key, legacy_signed, relabel_signature

from .helpers import VECTORS

NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EX01")])


def _self_signed_with(key, hash_algorithm, *, name: x509.Name = NAME, signer=None, rsa_padding=None,
                      extensions=()) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(0x1234).not_valid_before(datetime(2021, 2, 1, tzinfo=timezone.utc))
               .not_valid_after(datetime(2026, 2, 1, tzinfo=timezone.utc)))
    for extension in extensions:
        builder = builder.add_extension(extension, False)
    signer = signer or key
    if hash_algorithm in ("sha1", "md5"):   # cryptography signs certificates with SHA-2 only
        return legacy_signed(builder.sign(signer, hashes.SHA256()), signer, hash_algorithm)
    return builder.sign(signer, hash_algorithm, rsa_padding=rsa_padding)


MAKERS = {
    "rsa": lambda label: lab_rsa_key("tests-signatures", label),
    "ec": lambda label: ec.generate_private_key(ec.SECP384R1()),
    "dsa": lambda label: dsa.generate_private_key(2048),
    "ed25519": lambda label: ed25519.Ed25519PrivateKey.generate(),
    "ed448": lambda label: ed448.Ed448PrivateKey.generate(),
}


@functools.cache
def _key(family: str, label: str = "own"):
    """One key per family and label for the whole module (DSA keys are slow to make)."""
    return MAKERS[family](label)
PSS = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)


@pytest.mark.parametrize("family, hash_algorithm, rsa_padding, weak", [
    ("rsa", "sha1", None, "signed with SHA-1"),
    ("rsa", "md5", None, "signed with MD5"),
    ("rsa", hashes.SHA256(), None, None),
    ("rsa", hashes.SHA256(), PSS, None),
    ("ec", "sha1", None, "signed with SHA-1"),
    ("ec", hashes.SHA384(), None, None),
    ("dsa", "sha1", None, "signed with SHA-1"),
    ("dsa", hashes.SHA256(), None, None),
    ("ed25519", None, None, None),
    ("ed448", None, None, None),
])
def test_self_signed_whatever_the_family_and_hash(family, hash_algorithm, rsa_padding, weak):
    key = _key(family)
    cert = _self_signed_with(key, hash_algorithm, rsa_padding=rsa_padding)
    assert self_signed(cert).value is True and self_signed(cert).verified is True
    assert weak_hash(cert) == weak
    stranger = _key(family, "stranger")
    assert signature_verifies(cert, stranger.public_key()) is False
    other_family = _key("ed25519" if family != "ed25519" else "rsa")
    assert signature_verifies(cert, other_family.public_key()) is False
    same_name_other_key = _self_signed_with(key, hash_algorithm, rsa_padding=rsa_padding, signer=stranger) \
        if family not in ("ed25519", "ed448") else None
    if same_name_other_key is not None:   # self-issued, but another key signed it
        check = self_signed(same_name_other_key)
        assert (check.value, check.verified) == (False, False)
        assert "another CA of the same name" in check.basis


@pytest.mark.parametrize("vector, algorithm", [
    ("custom/dsa_selfsigned_ca.pem", "dsa-with-sha1"),
    ("custom/rsa_pss_cert.pem", "rsassaPss"),
    ("ed25519/root-ed25519.pem", "ed25519"),
    ("ed448/root-ed448.pem", "ed448"),
    ("ecdsa_root.pem", "ecdsa-with-SHA384"),
])
def test_real_self_signed_vectors_are_self_signed(vector, algorithm):
    cert = x509.load_pem_x509_certificate((VECTORS / "x509" / vector).read_bytes())
    assert cert.signature_algorithm_oid._name == algorithm
    assert self_signed(cert) == self_signed(cert).__class__(True, True, "its own key verifies its signature")


def test_a_sha1_self_signed_vector_the_library_refuses_is_still_self_signed():
    cert = x509.load_pem_x509_certificate((VECTORS / "x509" / "custom" / "dsa_selfsigned_ca.pem").read_bytes())
    with pytest.raises(ValueError, match="Unsupported signature algorithm"):
        cert.verify_directly_issued_by(cert)
    assert self_signed(cert).value is True


@pytest.mark.parametrize("vector, why", [
    ("verisign_md2_root.pem", "its signature algorithm (md2WithRSAEncryption) cannot be verified here"),
    ("e-trust.ru.der", "its public key's type cannot be read here"),
])
def test_an_algorithm_nothing_here_verifies_falls_back_on_names_and_says_so(vector, why):
    data = (VECTORS / "x509" / vector).read_bytes()
    cert = x509.load_pem_x509_certificate(data) if data.startswith(b"-----") else x509.load_der_x509_certificate(data)
    check = self_signed(cert)
    assert (check.value, check.verified, check.guessed) == (True, None, True)
    assert check.basis == f"issuer equals subject and no key identifier says otherwise; {why}"


def test_contradicting_key_identifiers_are_not_self_signed():
    own, other = _key("rsa"), _key("rsa", "stranger")
    cert = _self_signed_with(own, hashes.SHA256(), extensions=(
        x509.SubjectKeyIdentifier.from_public_key(own.public_key()),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(other.public_key())))
    assert self_signed(cert) == self_signed(cert).__class__(
        False, None, "its authority key identifier names another key than its own")
    agreeing = _self_signed_with(own, hashes.SHA256(), extensions=(
        x509.SubjectKeyIdentifier.from_public_key(own.public_key()),
        x509.AuthorityKeyIdentifier.from_issuer_public_key(own.public_key())))
    assert self_signed(agreeing).value is True


def test_a_chain_link_is_checked_whatever_the_hash():
    pki = LabPki("tests-signatures")
    leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
                      not_before=datetime(2024, 1, 1, tzinfo=timezone.utc), signature_hash="sha1")
    assert signed_by(leaf.certificate, pki.internal_ca.certificate) is True
    assert signed_by(leaf.certificate, pki.internal_root.certificate) is False        # not its issuer's name
    md2 = relabel_signature(leaf.certificate, "md2WithRSAEncryption", leaf.certificate.signature)
    assert signed_by(md2, pki.internal_ca.certificate) is None                         # cannot tell
    assert signed_by(md2, pki.public_ca.certificate) is False                          # wrong name, whatever
    impostor = LabPki("someone-else").internal_ca.certificate                          # same name, other key
    assert signed_by(leaf.certificate, impostor) is False
