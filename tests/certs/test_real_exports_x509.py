"""Real Exchange certificates signed with SHA-1 (../shared/real-exports): self-signed whatever the
hash, one judgement when a .cer and an export describe the same certificate, and the outbound
prediction with Exchange's own self-signed certificates in the store."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from exlab.certs import read_certs, select_outbound
from exlab.certs.trust import judge_trust
from exlab.lab.cert_exports import ExchangeCert, write_list

pytestmark = pytest.mark.real_exports

HC_E16 = "css-exchange/HC-E16-GetExchangeCertificate.xml"
HC_AZURE = "css-exchange/HC-GetExchangeCertificateOnAzure.xml"
MPEX02 = "generated/MPEX02-default-selfsigned-sha1.cer"
AUTH = "CN=Microsoft Exchange Server Auth Certificate"
# README.md of real-exports: thumbprint -> (subject, signature hash)
EXPECTED = {
    HC_E16: {"92E196F3C8D3D753FCFC5B7690C3173AA1C0ABE3": (AUTH, "sha1"),
             "823884A32609DCDC8C4B5462952586C30D814073": ("CN=Solo-E16A", "sha1"),
             "A60C6E62FF85D208DF668D597A1B077E1534147F": ("CN=WMSvc-WIN-9UC94ETVM30", "sha256")},
    HC_AZURE: {"EC1D075732E935F49E551936718A9254B117E523": ("DC=Windows Azure CRP Certificate Generator", "sha256"),
               "F57DEA0EEA488E092EF787F8857845B8CC0139DF": (AUTH, "sha1"),
               "EEA2F1BD51FC122348942C1D1CEA3D1B415C4FA1": ("CN=E2k16-1", "sha1")},
    MPEX02: {"06D2D87C66CC5286F91731D53F926B249CC91DD3": ("CN=MPEX02", "sha1")},
}
SOLO_DEFAULT = "823884A32609DCDC8C4B5462952586C30D814073"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_real_certificate_is_self_signed_whatever_its_hash(real_exports, name):
    judged = judge_trust(read_certs(real_exports / name), at="2022-06-01")
    assert dict(zip(judged["thumbprint"], zip(judged["subject"], judged["signature_hash"]))) == EXPECTED[name]
    assert judged["is_self_signed"].tolist() == [True] * len(judged)
    assert judged["issuer_class"].tolist() == ["self-signed"] * len(judged)
    assert [chain == (subject,) for chain, subject in zip(judged["chain"], judged["subject"])] == [True] * len(judged)
    for basis, hash_name in zip(judged["trust_basis"], judged["signature_hash"]):
        assert basis.startswith("self-signed: its own key verifies its signature")
        assert ("signed with SHA-1" in basis) is (hash_name == "sha1")
    assert judged["missing_issuer"].isna().all()


@pytest.mark.parametrize("name", ["Solo-E16A", "Solo-E16A.Solo.local"])
def test_the_default_self_signed_certificate_is_the_fallback_on_the_real_server(real_exports, name):
    certs = judge_trust(read_certs(real_exports / HC_E16), at="2021-10-06T22:44:43Z")
    choice = select_outbound(certs, server_fqdn=name, at="2021-10-06T22:44:43Z")
    assert (choice.thumbprint, choice.rule) == (SOLO_DEFAULT, "self-signed fallback")
    candidates = choice.candidates.set_index("thumbprint")
    assert candidates["rank"].dropna().tolist() == [1]
    assert candidates.loc[SOLO_DEFAULT, "why"].startswith("self-signed, only a fallback (newest)")
    assert candidates.loc[SOLO_DEFAULT, "issuer_class"] == "self-signed"
    others = candidates.drop(index=SOLO_DEFAULT)["why"].tolist()
    assert others == [f"does not cover {name}"] * 2


def _fl_export(cert_path: Path, **fields: str) -> bytes:
    """Get-ExchangeCertificate | fl for the certificate in ``cert_path``, as the lab writes it."""
    from cryptography import x509
    out = io.BytesIO()
    write_list([ExchangeCert(x509.load_der_x509_certificate(cert_path.read_bytes()), **fields)], out)
    return out.getvalue()


def test_a_cer_file_and_an_export_of_the_same_certificate_merge_into_one_self_signed_judgement(real_exports,
                                                                                              tmp_path):
    shutil.copyfile(real_exports / MPEX02, tmp_path / "MPEX02.cer")
    listed = _fl_export(real_exports / MPEX02, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Registry",
                        server="MPEX02")
    assert "IsSelfSigned       : True".encode("utf-16-le") in listed   # what the real shell prints for it
    (tmp_path / "certs-fl.txt").write_bytes(listed)
    certs = read_certs(tmp_path, tz="UTC")
    assert len(certs) == 1
    row = certs.iloc[0]
    assert (row["thumbprint"], bool(row["is_self_signed"]), row["root_ca_type"]) == \
        ("06D2D87C66CC5286F91731D53F926B249CC91DD3", True, "Registry")
    assert row["source"] == f"{tmp_path / 'MPEX02.cer'}; {tmp_path / 'certs-fl.txt'}" and row["conflicts"] == ()
    judged = judge_trust(certs, at="2025-06-02").iloc[0]
    assert judged["issuer_class"] == "self-signed"
    assert "RootCAType" not in judged["trust_basis"]   # Registry is what real self-signed certificates report
