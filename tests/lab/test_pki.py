"""The lab PKI makes real, verifiable, deterministic certificates and exports them as Windows does."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from cryptography.hazmat.primitives.asymmetric import dsa, ec

from exlab.certs.signatures import self_signed, signature_verifies, signed_by
from exlab.lab.pki import (
    LabPki,
    cer_bytes,
    lab_rsa_key,
    legacy_signed,
    p7b_bytes,
    pfx_bytes,
    relabel_signature,
    roots_pem,
)

UTC = timezone.utc
T0 = datetime(2024, 3, 14, 9, 2, 5, tzinfo=UTC)
NAMES = ["mail.contoso.com", "autodiscover.contoso.com"]


def _all(pki: LabPki) -> list:
    return [
        pki.internal_root, pki.internal_ca, pki.public_root, pki.public_ca,
        pki.server("mail.contoso.com", NAMES, ca="internal", not_before=T0),
        pki.server("mail.contoso.com", NAMES, ca="public", not_before=T0 - timedelta(days=200)),
        pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=T0 - timedelta(days=900)),
        pki.exchange_auth(not_before=T0 - timedelta(days=900)),
    ]


@pytest.fixture(scope="module")
def pki() -> LabPki:
    return LabPki("test-pki")


def test_same_seed_gives_byte_identical_certificates(pki):
    again = _all(LabPki("test-pki"))
    assert [c.der for c in _all(pki)] == [c.der for c in again]


def test_different_seed_gives_different_keys_and_certificates(pki):
    other = _all(LabPki("another-seed"))
    mine = _all(pki)
    assert all(a.der != b.der for a, b in zip(mine, other))
    assert all(a.key.private_numbers() != b.key.private_numbers() for a, b in zip(mine, other))


def test_known_seed_gives_known_root():
    # Golden value: guards determinism across Python and cryptography versions, so lab
    # cases regenerated elsewhere stay byte-identical.
    root = LabPki("exlab").internal_root
    assert hashlib.sha256(root.der).hexdigest() == GOLDEN_ROOT_SHA256


def test_keys_are_2048_bit_consistent_rsa():
    key = lab_rsa_key("test-pki", "consistency")
    numbers = key.private_numbers()
    assert key.key_size == 2048
    assert numbers.p * numbers.q == numbers.public_numbers.n
    assert pow(pow(12345, numbers.public_numbers.e, numbers.public_numbers.n), numbers.d,
               numbers.public_numbers.n) == 12345


def test_each_certificate_is_signed_by_its_issuer(pki):
    for cert in _all(pki):
        chain = cert.chain
        for child, parent in zip(chain, chain[1:]):
            assert signed_by(child.certificate, parent.certificate) is True
        check = self_signed(chain[-1].certificate)   # roots and Exchange's SHA-1 self-signed ones
        assert (check.value, check.verified) == (True, True)


@pytest.mark.real_exports
def test_exchange_certificates_have_the_shape_of_the_real_ones(pki, real_exports):
    real = x509.load_der_x509_certificate((real_exports / "generated" / "MPEX02-default-selfsigned-sha1.cer")
                                          .read_bytes())
    made = pki.exchange_self_signed("MPEX02", "mpex02.munsonspickles.com",
                                    not_before=real.not_valid_before_utc).certificate
    def shape(cert):
        return (cert.version, cert.signature_algorithm_oid, cert.subject, cert.issuer, cert.not_valid_before_utc,
                cert.not_valid_after_utc, cert.public_key().key_size,
                [(e.oid, e.critical, e.value) for e in cert.extensions], len(cer_bytes(cert)) - len(cert.signature))
    assert shape(made) == shape(real)
    auth = pki.exchange_auth(not_before=T0).certificate
    assert auth.signature_algorithm_oid == real.signature_algorithm_oid
    assert [(e.oid, e.critical) for e in auth.extensions] == [
        (e.oid, e.critical) for e in real.extensions if not isinstance(e.value, x509.SubjectAlternativeName)]


@pytest.mark.parametrize("key_type, hash_name, algorithm", [
    ("rsa", "sha1", "sha1WithRSAEncryption"), ("rsa", "md5", "md5WithRSAEncryption"),
    ("ec", "sha1", "ecdsa-with-SHA1"), ("dsa", "sha1", "dsa-with-sha1")])
def test_legacy_signatures_are_real_signatures_the_library_refuses_to_make(pki, key_type, hash_name, algorithm):
    keys = {"rsa": lambda: pki.internal_root.key, "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
            "dsa": lambda: dsa.generate_private_key(2048)}
    key = keys[key_type]()
    signed = legacy_signed(pki.internal_ca.certificate, key, hash_name)
    assert signed.signature_algorithm_oid._name == algorithm
    assert signed.signature_hash_algorithm.name == hash_name
    assert signed.tbs_certificate_bytes != pki.internal_ca.certificate.tbs_certificate_bytes
    assert (signed.subject, signed.serial_number) == (pki.internal_ca.certificate.subject,
                                                      pki.internal_ca.certificate.serial_number)
    assert signature_verifies(signed, key.public_key()) is True
    assert signature_verifies(signed, pki.public_root.key.public_key()) is False
    with pytest.raises(ValueError, match="Unsupported signature algorithm"):   # why the lab signs by hand
        signed.verify_directly_issued_by(pki.internal_root.certificate)
    if key_type == "rsa":   # PKCS#1 v1.5 is deterministic: same bytes every time
        assert legacy_signed(pki.internal_ca.certificate, key, hash_name) == signed


def test_relabelled_signature_names_an_algorithm_nothing_here_verifies(pki):
    root = pki.internal_root.certificate
    md2 = relabel_signature(root, "md2WithRSAEncryption", root.signature)
    assert md2.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.2"
    assert signature_verifies(md2, root.public_key()) is None
    with pytest.raises(ValueError, match="no md5 signature for a"):
        legacy_signed(root, ec.generate_private_key(ec.SECP256R1()), "md5")


@pytest.mark.parametrize("ca", ["internal", "public"])
def test_server_certificates_pass_strict_webpki_verification_against_their_own_root(pki, ca):
    leaf = pki.server("mail.contoso.com", NAMES, ca=ca, not_before=T0)
    root = leaf.chain[-1].certificate
    verifier = (PolicyBuilder().store(Store([root])).time(T0 + timedelta(days=30))
                .build_server_verifier(x509.DNSName("autodiscover.contoso.com")))
    chain = verifier.verify(leaf.certificate, [leaf.chain[1].certificate])
    assert [c.subject for c in chain] == [c.certificate.subject for c in leaf.chain]
    other_root = (pki.public_root if ca == "internal" else pki.internal_root).certificate
    with pytest.raises(VerificationError):
        (PolicyBuilder().store(Store([other_root])).time(T0 + timedelta(days=30))
         .build_server_verifier(x509.DNSName("mail.contoso.com"))
         .verify(leaf.certificate, [leaf.chain[1].certificate]))


def test_names_and_extensions_look_like_the_real_issuers(pki):
    assert pki.internal_root.subject == "CN=Contoso Root CA, DC=contoso, DC=com"
    assert pki.internal_ca.subject == "CN=Contoso Issuing CA 01, DC=contoso, DC=com"
    assert pki.public_root.subject == "CN=exlab Lab Public Root CA, O=exlab lab, C=US"
    internal = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=T0)
    cdp = internal.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    urls = [n.value for n in cdp[0].full_name]
    assert urls[0].startswith("ldap:///CN=Contoso Issuing CA 01,CN=CA01,CN=CDP,CN=Public Key Services")
    assert urls[1] == "http://pki.contoso.com/CertEnroll/Contoso%20Issuing%20CA%2001.crl"
    san = internal.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == NAMES
    eku = internal.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert len(internal.certificate.serial_number.to_bytes(19, "big")) == 19
    assert internal.certificate.not_valid_after_utc == T0.replace(year=2026)


def test_exchange_self_signed_and_auth_certificates(pki):
    self_signed = pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=T0)
    cert = self_signed.certificate
    assert cert.subject == cert.issuer and self_signed.subject == "CN=EX01"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["EX01", "ex01.contoso.com"]
    assert cert.not_valid_after_utc == T0.replace(year=2029)
    assert cert.signature_hash_algorithm.name == "sha1"
    auth = pki.exchange_auth(not_before=T0).certificate
    assert auth.subject.rfc4514_string() == "CN=Microsoft Exchange Server Auth Certificate"
    assert auth.signature_hash_algorithm.name == "sha1"
    with pytest.raises(x509.ExtensionNotFound):
        auth.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_server_without_names_has_no_san_like_a_sloppy_request(pki):
    cert = pki.server("mail.contoso.com", [], ca="internal", not_before=T0).certificate
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_dates_are_whole_seconds_and_naive_means_utc(pki):
    naive = pki.server("a.contoso.com", ["a.contoso.com"], ca="public",
                       not_before=datetime(2024, 1, 2, 3, 4, 5, 678))
    assert naive.certificate.not_valid_before_utc == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="internal"):
        pki.server("a.contoso.com", [], ca="partner", not_before=T0)  # type: ignore[arg-type]


def test_exports_round_trip(pki):
    leaf = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=T0)
    assert x509.load_der_x509_certificate(cer_bytes(leaf)) == leaf.certificate
    assert x509.load_pem_x509_certificate(cer_bytes(leaf, pem=True)) == leaf.certificate
    chain = [c.certificate for c in leaf.chain]
    def by_der(certs):   # PKCS#7 holds a DER SET OF: the order inside follows the encoding
        return sorted(certs, key=cer_bytes)
    assert by_der(pkcs7.load_der_pkcs7_certificates(p7b_bytes(leaf.chain))) == by_der(chain)
    assert by_der(pkcs7.load_pem_pkcs7_certificates(p7b_bytes(leaf.chain, pem=True))) == by_der(chain)
    assert p7b_bytes(leaf.chain) == p7b_bytes(pki.server("mail.contoso.com", NAMES, ca="internal",
                                                         not_before=T0).chain)
    pfx = pfx_bytes(leaf, "Pa55w0rd!", friendly_name="Contoso internal")
    loaded = pkcs12.load_pkcs12(pfx, b"Pa55w0rd!")
    assert loaded.cert.certificate == leaf.certificate and loaded.cert.friendly_name == b"Contoso internal"
    assert loaded.key.private_numbers() == leaf.key.private_numbers()
    assert [c.certificate for c in loaded.additional_certs] == chain[1:]
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(pfx, b"wrong")
    alone = pkcs12.load_key_and_certificates(pfx_bytes(leaf, b"x", include_chain=False), b"x")
    assert alone[2] == []


def test_roots_pem_holds_exactly_the_given_roots(pki):
    pem = roots_pem([pki.public_root, pki.internal_root])
    assert x509.load_pem_x509_certificates(pem) == [pki.public_root.certificate, pki.internal_root.certificate]


GOLDEN_ROOT_SHA256 = "b0e44728aa51b4357d24d3dc3965df174351ac2c0cd7025987d0e6ea0309b0c4"
