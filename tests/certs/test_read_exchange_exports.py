"""read_certs over Get-ExchangeCertificate exports: hand-written fixtures in the exact byte
shapes Windows PowerShell 5.1 writes, the lab writers in several cultures, merging and damage."""

from __future__ import annotations

import io
import shutil
import warnings
from datetime import datetime, timezone

import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import exlab
from exlab.certs.exchange_list import property_blocks
from exlab.certs.names import covering_name
from exlab.certs.selection import select_outbound
from exlab.cultures import DATE_FORMATS
from exlab.errors import AssumptionWarning, CorruptInput, DataLossWarning
from exlab.lab import oversized
from exlab.lab.cert_exports import (
    ExchangeCert,
    write_clixml,
    write_csv,
    write_json,
    write_list,
    write_table,
)
from exlab.lab.pki import LabPki

from .helpers import FIXTURES, dates_said, kb2888788_pair

A = "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55"   # internal CA, newer, all services
B = "8D1E5F0B7A3C92E4D6F10A2B3C4D5E6F7A8B9C0D"   # public CA, IIS and SMTP
UTC = "UTC"
TRUTH = {
    A: {"subject": "CN=mail.contoso.com", "issuer": "CN=Contoso Issuing CA 01, DC=contoso, DC=com",
        "dns_names": ("mail.contoso.com", "exchange.contoso.com"),
        "not_before": pd.Timestamp("2025-03-14 08:02:05", tz=UTC),
        "not_after": pd.Timestamp("2027-03-14 08:12:05", tz=UTC),
        "serial_number": "5A0000002B8E3C71D4A2B09F6E000000002B8E", "is_self_signed": False,
        "has_private_key": True, "services": ("IMAP", "POP", "IIS", "SMTP"), "status": "Valid",
        "root_ca_type": "Enterprise", "friendly_name": "Contoso internal", "public_key_size": 2048,
        "server_auth": True},
    B: {"subject": "CN=mail.contoso.com, O=Contoso Sp. z o.o., L=Warszawa, C=PL",
        "issuer": "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US",
        "dns_names": ("mail.contoso.com", "autodiscover.contoso.com"),
        "not_before": pd.Timestamp("2024-12-02 13:43:23", tz=UTC),
        "not_after": pd.Timestamp("2025-12-02 23:59:59", tz=UTC),   # 00:59:59 on 3 December in Warsaw
        "serial_number": "0B7E1D2C3A4F5E6D7C8B9A0F1E2D3C4B", "is_self_signed": False,
        "has_private_key": True, "services": ("IIS", "SMTP"), "status": "Valid",
        "root_ca_type": "ThirdParty", "friendly_name": "mail.contoso.com 2024", "public_key_size": 2048,
        "server_auth": True},
}
COMMON = ("subject", "issuer", "not_before", "not_after", "serial_number", "is_self_signed", "has_private_key",
          "services", "status", "root_ca_type", "public_key_size")
FIXTURE_COLUMNS = {
    "fl_en-US.txt": COMMON + ("dns_names",),
    "fl_de-DE_utf8.txt": COMMON + ("dns_names",),
    "fl-star_pl-PL.txt": COMMON + ("dns_names", "friendly_name", "server_auth"),
    "csv-remote_en-AU.csv": COMMON + ("friendly_name",),
    "clixml-local.xml": COMMON + ("dns_names", "friendly_name"),
    "json-ps51.json": COMMON + ("dns_names", "friendly_name"),
}


def _facts(frame: pd.DataFrame, columns) -> dict:
    return {row["thumbprint"]: {c: _plain(row[c]) for c in columns} for _, row in frame.iterrows()}


def _plain(value):
    if isinstance(value, (tuple, pd.Timestamp, str)):
        return value
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value   # numpy scalars as Python values


@pytest.mark.parametrize("name", sorted(FIXTURE_COLUMNS))
def test_hand_written_fixture_reads_to_the_ground_truth(name):
    frame = exlab.read_certs(FIXTURES / name, tz="Europe/Warsaw")
    columns = FIXTURE_COLUMNS[name]
    assert _facts(frame, columns) == {t: {c: TRUTH[t][c] for c in columns} for t in (A, B)}
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped, report.assumed_tz) == (2, 0, "Europe/Warsaw"
                                                                                  if not name.startswith(("clixml", "json")) else None)


def test_fixture_encodings_and_line_ends_are_the_real_ones():
    assert (FIXTURES / "fl_en-US.txt").read_bytes()[:2] == b"\xff\xfe"
    assert b"\r\n" in (FIXTURES / "csv-remote_en-AU.csv").read_bytes()
    assert b"\r" not in (FIXTURES / "fl_de-DE_utf8.txt").read_bytes()
    engines = {name: exlab.read_certs(FIXTURES / name, tz="Europe/Warsaw").attrs["parse_report"].files[0].engine
               for name in FIXTURE_COLUMNS}
    assert engines == {"fl_en-US.txt": "utf-16-le", "fl_de-DE_utf8.txt": "utf-8", "fl-star_pl-PL.txt": "utf-16-le",
                       "csv-remote_en-AU.csv": "utf-8", "clixml-local.xml": "utf-16-le", "json-ps51.json": "utf-16-le"}


def test_format_list_notes_the_prompt_line_and_joins_wrapped_values():
    frame = exlab.read_certs(FIXTURES / "fl_en-US.txt", tz="Europe/Warsaw")
    notes = frame.attrs["parse_report"].files[0].warnings
    assert notes[0] == ("a copy of the PowerShell console of 1 command; read as Get-ExchangeCertificate output: "
                        "'Get-ExchangeCertificate | fl' (line 1)")
    star = exlab.read_certs(FIXTURES / "fl-star_pl-PL.txt", tz="Europe/Warsaw")
    assert star.attrs["parse_report"].files[0].warnings == [
        "day/month order: day first, settled by the values ('14.03.2027 09:12:05' has a day above 12)",
        "local times read as Europe/Warsaw (given)"]


def test_csv_type_name_lists_are_noted_once_per_file():
    frame = exlab.read_certs(FIXTURES / "csv-remote_en-AU.csv", tz="Europe/Warsaw")
    notes = frame.attrs["parse_report"].files[0].warnings
    assert [n for n in notes if "CertificateDomains" in n] == [
        "line 3 and any later record: CertificateDomains was written as the type name "
        "'System.Collections.ArrayList'; the names are not in this export"]
    # The lists are gone, but the Subject's CN is not: Windows and Exchange match a name on the CN too,
    # so the CN alone stands in dns_names (marked partial: a DER or a complete list wins in the merge).
    assert frame["dns_names"].tolist() == [("mail.contoso.com",), ("mail.contoso.com",)]


def test_default_table_keeps_cut_subjects_as_shown_and_marks_them():
    frame = exlab.read_certs(FIXTURES / "table_en-US.txt")
    assert frame["services"].tolist() == [("IMAP", "POP", "IIS", "SMTP"), ("IIS", "SMTP"), ("SMTP",)]
    assert frame["subject"].tolist() == ["CN=mail.contoso.com", "CN=mail.contoso.com, O=...",
                                         "CN=Microsoft Exchange S..."]
    report = frame.attrs["parse_report"].files[0]
    assert report.warnings == ["line 5: Subject cut by the console width; kept as shown",
                               "line 6: Subject cut by the console width; kept as shown"]
    assert report.assumed_tz is None   # the table shows no dates


def test_every_fixture_together_merges_into_three_certificates_without_conflicts(tmp_path):
    for name in list(FIXTURE_COLUMNS) + ["table_en-US.txt"]:
        shutil.copy(FIXTURES / name, tmp_path / name)
    frame = exlab.read_certs(tmp_path, tz="Europe/Warsaw").set_index("thumbprint")
    assert sorted(frame.index) == sorted([A, B, "0E7F4E3D9A4C1B2A3F5D6C7B8A9E0F1D2C3B4A59"])
    assert frame["conflicts"].tolist() == [(), (), ()]
    assert frame.loc[B, "subject"] == TRUTH[B]["subject"]            # the complete subject wins over "O=..."
    assert frame.loc[B, "dns_names"] == TRUTH[B]["dns_names"]
    assert frame.loc[A, "source"].count("; ") == 6                    # all seven exports describe it


def test_local_times_without_tz_are_read_as_utc_and_the_assumption_is_reported():
    with pytest.warns(AssumptionWarning, match="local times read as UTC"):
        frame = exlab.read_certs(FIXTURES / "fl_en-US.txt")
    assert frame.set_index("thumbprint").loc[A, "not_before"] == pd.Timestamp("2025-03-14 09:02:05", tz=UTC)
    report = frame.attrs["parse_report"].files[0]
    assert report.assumed_tz == "UTC"
    assert [n for n in report.warnings if n.startswith("local times")] == [
        "local times read as UTC: Get-ExchangeCertificate prints the server's local time without an offset; "
        "pass tz= (the server's time zone)"]


def test_a_wrong_time_zone_shows_as_a_conflict_against_an_export_with_offsets(tmp_path):
    shutil.copy(FIXTURES / "fl_en-US.txt", tmp_path / "fl.txt")
    shutil.copy(FIXTURES / "clixml-local.xml", tmp_path / "certs.xml")
    with pytest.warns(AssumptionWarning):
        frame = exlab.read_certs(tmp_path).set_index("thumbprint")
    conflicts = frame.loc[A, "conflicts"]
    assert conflicts[0] == (f"not_before: 2025-03-14 08:02:05+00:00 ({tmp_path / 'certs.xml'}) vs "
                            f"2025-03-14 09:02:05+00:00 ({tmp_path / 'fl.txt'}); 1 h apart: was the server's "
                            "time zone given (tz=)?")
    assert len(conflicts) == 2   # not_before and not_after
    notes = frame.attrs["parse_report"].files[1].warnings
    assert any(note.startswith(f"conflict: {A}: not_before") for note in notes)


# --------------------------------------------------------------------------- cultures

def _date_order_text(before: str, after: str) -> bytes:
    return ("\r\nNotAfter   : " + after + "\r\nNotBefore  : " + before + "\r\nServices   : IIS, SMTP\r\n"
            "Thumbprint : " + B + "\r\n\r\n").encode("utf-16")


def _read_warned(data: bytes, **kwargs) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(io.BytesIO(data), **kwargs)
    return frame, [w.message.located() for w in caught if issubclass(w.category, AssumptionWarning)]


def test_a_day_above_12_settles_the_order_without_a_warning():
    en_us = _date_order_text("12/2/2024 2:43:23 PM", "12/13/2025 12:59:59 AM")
    frame, said = _read_warned(en_us, tz="Europe/Warsaw")
    assert frame.loc[0, "not_before"] == TRUTH[B]["not_before"]
    assert said == []
    assert frame.attrs["parse_report"].files[0].warnings[0] == (
        "day/month order: month first, settled by the values ('12/13/2025 12:59:59 AM' has a day above 12)")
    en_gb = _date_order_text("02/12/2024 14:43:23", "13/12/2025 00:59:59")
    frame, said = _read_warned(en_gb, tz="Europe/Warsaw")
    assert (frame.loc[0, "not_before"], said) == (TRUTH[B]["not_before"], [])


def test_lower_case_am_pm_is_read_day_first_and_said_to_be_a_hint():
    en_au = _date_order_text("2/12/2024 2:43:23 pm", "3/12/2025 12:59:59 am")   # every day <= 12
    frame, said = _read_warned(en_au, tz="Europe/Warsaw")
    assert frame.loc[0, "not_after"] == TRUTH[B]["not_after"]
    assert len(said) == 1 and said[0].startswith("<stream>: the day/month order of its dates was inferred from "
                                                 "a hint only: read day first")
    assert "culture=" in said[0]
    assert dates_said(frame) == [said[0].removeprefix("<stream>: ")]   # once, no note restating it


def test_capital_am_pm_with_no_day_above_12_warns_with_both_readings():
    ambiguous = _date_order_text("2/12/2024 2:43:23 PM", "3/12/2025 12:59:59 AM")
    frame, said = _read_warned(ambiguous, tz="Europe/Warsaw")
    assert len(said) == 1
    assert ("3/12/2025 12:59:59 AM = 12 March 2025 (month first) or 3 December 2025 (day first); "
            "read month first as en-US writes") in said[0]
    assert "is ambiguous" in said[0] and "--culture" in said[0]
    assert dates_said(frame) == [said[0].removeprefix("<stream>: ")]
    said_au, quiet = _read_warned(ambiguous, tz="Europe/Warsaw", culture="en-AU")
    assert said_au.loc[0, "not_after"] == TRUTH[B]["not_after"] and quiet == []
    assert said_au.attrs["parse_report"].files[0].warnings[0] == "day/month order: day first, given (culture=en-AU given)"


def test_a_culture_the_values_contradict_is_overruled_naming_the_file_and_the_value():
    frame, said = _read_warned(_date_order_text("02/12/2024 14:43:23", "13/12/2025 00:59:59"), culture="en-US", tz="UTC")
    assert frame.loc[0, "not_before"].day == 2 and frame.loc[0, "not_before"].month == 12    # day first, as written
    assert len(said) == 1 and "culture=en-US given, but '13/12/2025 00:59:59' can only be read day first" in said[0]
    assert dates_said(frame) == [said[0].removeprefix("<stream>: ")]


def test_dates_in_two_orders_in_one_file_are_corrupt_input():
    mixed = _date_order_text("13/2/2024 2:43:23 PM", "2/13/2025 12:59:59 AM")
    with pytest.raises(CorruptInput, match="dates in one culture"):
        exlab.read_certs(io.BytesIO(mixed))


CULTURES = ("en-US", "pl-PL", "de-DE", "en-AU", "en-GB", "fr-FR", "ja-JP")
SHAPES = {
    "fl": (lambda certs, out, c: write_list(certs, out, culture=c, tz="Europe/Warsaw"),
           COMMON + ("dns_names",)),
    "fl *": (lambda certs, out, c: write_list(certs, out, culture=c, tz="Europe/Warsaw", all_properties=True),
             COMMON + ("dns_names", "friendly_name", "server_auth")),
    "csv": (lambda certs, out, c: write_csv(certs, out, culture=c, tz="Europe/Warsaw"),
            COMMON + ("friendly_name",)),
    "csv remote ;": (lambda certs, out, c: write_csv(certs, out, culture=c, tz="Europe/Warsaw", remote=True,
                                                     delimiter=";"), COMMON + ("friendly_name",)),
    "clixml": (lambda certs, out, c: write_clixml(certs, out, tz="Europe/Warsaw", culture=c), None),
    "clixml remote": (lambda certs, out, c: write_clixml(certs, out, tz="Europe/Warsaw", culture=c, remote=True),
                      None),
    "json": (lambda certs, out, c: write_json(certs, out), COMMON + ("dns_names", "friendly_name")),
    "json raw": (lambda certs, out, c: write_json(certs, out, raw_data=True, services_as_text=True), None),
}


def _lab_certs() -> list[ExchangeCert]:
    public, internal = kb2888788_pair()
    return [ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise",
                         friendly_name="Contoso internal"),
            ExchangeCert(public.certificate, services=("IIS", "SMTP"), friendly_name="mail.contoso.com 2024",
                         has_private_key=False)]


@pytest.fixture(scope="module")
def der_truth() -> pd.DataFrame:
    public, internal = kb2888788_pair()
    frame = exlab.read_certs(io.BytesIO(internal.pem + public.pem)).set_index("thumbprint")
    frame["services"] = pd.Series({internal.thumbprint: ("IMAP", "POP", "IIS", "SMTP"),
                                   public.thumbprint: ("IIS", "SMTP")})
    frame["status"] = "Valid"
    frame["root_ca_type"] = pd.Series({internal.thumbprint: "Enterprise", public.thumbprint: "ThirdParty"})
    frame["friendly_name"] = pd.Series({internal.thumbprint: "Contoso internal",
                                        public.thumbprint: "mail.contoso.com 2024"})
    frame["has_private_key"] = pd.Series({internal.thumbprint: True, public.thumbprint: False})
    return frame.reset_index()


@pytest.mark.parametrize("culture", CULTURES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_in_every_culture_reads_back_the_certificates(shape, culture, der_truth):
    write, columns = SHAPES[shape]
    out = io.BytesIO()
    write(_lab_certs(), out, culture)
    frame = exlab.read_certs(io.BytesIO(out.getvalue()), tz="Europe/Warsaw")
    columns = columns or (COMMON + ("dns_names", "friendly_name", "signature_hash", "server_auth", "der"))
    assert _facts(frame, columns) == _facts(der_truth, columns)
    assert frame["conflicts"].tolist() == [(), ()]


@pytest.mark.parametrize("culture", sorted(DATE_FORMATS))
def test_fl_star_in_every_culture_of_the_table_reads_back_with_that_culture(culture, der_truth):
    out = io.BytesIO()
    write_list(_lab_certs(), out, culture=culture, tz="Europe/Warsaw", all_properties=True)
    frame, said = _read_warned(out.getvalue(), tz="Europe/Warsaw", culture=culture)
    columns = ("not_before", "not_after")
    assert _facts(frame, columns) == _facts(der_truth, columns)
    assert [s for s in said if "day/month" in s] == []


def test_the_table_reads_back_thumbprints_services_and_subjects():
    out = io.BytesIO()
    write_table(_lab_certs(), out)
    frame = exlab.read_certs(io.BytesIO(out.getvalue()))
    assert _facts(frame, ("services", "subject")) == {
        c.thumbprint: {"services": c.services, "subject": c.facts["subject"]} for c in _lab_certs()}


# --------------------------------------------------------------------------- merging

def test_der_and_exchange_exports_merge_and_disagreements_become_conflicts(tmp_path):
    before_fix, after_fix = _lab_certs(), _lab_certs()
    after_fix[0] = ExchangeCert(after_fix[0].certificate, services=("IMAP", "POP", "IIS"),
                                root_ca_type="Enterprise", friendly_name="Contoso internal")
    write_list(before_fix, tmp_path / "1-before.txt", tz="Europe/Warsaw")
    write_list(after_fix, tmp_path / "2-after.txt", tz="Europe/Warsaw")
    public, internal = kb2888788_pair()
    (tmp_path / "3-internal.cer").write_bytes(internal.der)
    frame = exlab.read_certs(tmp_path, tz="Europe/Warsaw").set_index("thumbprint")
    row = frame.loc[internal.thumbprint]
    assert row["services"] == ("IMAP", "POP", "IIS", "SMTP")          # the first export's value is kept
    assert row["conflicts"] == (f"services: 'IMAP, POP, IIS, SMTP' ({tmp_path / '1-before.txt'}) vs "
                                f"'IMAP, POP, IIS' ({tmp_path / '2-after.txt'}): two exports of one server's store "
                                "disagree (taken at different times?); the first is kept",)
    assert row["der"] == internal.der and row["signature_hash"] == "sha256"
    assert frame.loc[public.thumbprint, "conflicts"] == ()
    assert frame.loc[public.thumbprint, "der"] is None
    after_report = frame.attrs["parse_report"].files[1]
    assert after_report.warnings[-1].startswith(f"conflict: {internal.thumbprint}: services:")


def test_a_thumbprint_that_does_not_match_its_raw_data_is_a_conflict():
    out = io.BytesIO()
    write_clixml(_lab_certs()[:1], out)
    real = _lab_certs()[0].thumbprint
    forged = out.getvalue().replace(real.encode("utf-16-le"), ("0" * 40).encode("utf-16-le"))
    frame = exlab.read_certs(io.BytesIO(forged))
    assert frame["thumbprint"].tolist() == [real]
    assert frame.loc[0, "conflicts"] == (f"thumbprint: <stream> says {'0' * 40} but its certificate data "
                                         f"hashes to {real}",)


def test_a_certificate_domains_list_cut_at_the_enumeration_limit_is_no_conflict():
    names = ["mail.contoso.com", "autodiscover.contoso.com", "owa.contoso.com", "ecp.contoso.com", "ews.contoso.com"]
    cert = LabPki("tests-certs").server("mail.contoso.com", names, ca="public",
                                        not_before=datetime(2024, 6, 1, tzinfo=timezone.utc))
    text = "\r\nCertificateDomains : {" + ", ".join(names[:4]) + "...}\r\nThumbprint         : " + cert.thumbprint
    listed = io.BytesIO((text + "\r\n\r\n").encode("utf-16"))
    frame = exlab.read_certs([listed, io.BytesIO(cert.der)])
    assert frame.loc[0, "dns_names"] == tuple(names)
    assert frame.loc[0, "conflicts"] == ()
    fewer = io.BytesIO(text.replace("owa.contoso.com", "smtp.contoso.com").encode("utf-16"))
    assert exlab.read_certs([fewer, io.BytesIO(cert.der)]).loc[0, "conflicts"][0].startswith("dns_names:")


# --------------------------------------------------------------------------- damage

def test_a_csv_record_with_missing_cells_is_skipped_and_counted():
    data = (FIXTURES / "csv-remote_en-AU.csv").read_bytes()
    lines = data.split(b"\r\n")
    lines[2] = lines[2][: lines[2].index(b'"Valid"')].rstrip(b",")
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = exlab.read_certs(io.BytesIO(b"\r\n".join(lines)), tz="Europe/Warsaw")
    assert frame["thumbprint"].tolist() == [B]
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.losses[0].where) == (1, "line 3")


def test_a_format_list_block_without_a_thumbprint_is_skipped_and_counted():
    text = "\r\nServices : IIS, SMTP\r\nStatus   : Valid\r\n\r\nServices   : SMTP\r\nThumbprint : " + A + "\r\n"
    with pytest.warns(DataLossWarning):
        frame = exlab.read_certs(io.BytesIO(text.encode("utf-16")))
    assert frame["thumbprint"].tolist() == [A]
    assert frame.attrs["parse_report"].files[0].losses[0].reason == (
        "no Thumbprint, Identity or RawData names the certificate")


@pytest.mark.parametrize("name", ["clixml-local.xml", "json-ps51.json"])
def test_a_truncated_clixml_or_json_file_is_corrupt_input_naming_the_place(tmp_path, name):
    data = (FIXTURES / name).read_bytes()
    cut = data[: len(data) // 2 // 2 * 2]            # an export interrupted half-way
    path = tmp_path / name
    path.write_bytes(cut)
    with pytest.raises(CorruptInput) as caught:
        exlab.read_certs(path)
    last_line = cut.decode("utf-16").count("\n") + 1
    assert caught.value.source == str(path)
    assert caught.value.where.startswith(f"line {last_line} column ")


def test_utf16_cut_in_the_middle_of_a_character_is_corrupt_input():
    data = (FIXTURES / "fl_en-US.txt").read_bytes()[:-1]
    with pytest.raises(CorruptInput, match="text in one encoding"):
        exlab.read_certs(io.BytesIO(data))


def test_a_bad_value_is_left_na_and_noted_not_fatal():
    text = "\r\nServices   : IIS, Telnet\r\nStatus     : Valid\r\nThumbprint : " + A + "\r\n\r\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = exlab.read_certs(io.BytesIO(text.encode("utf-16")))
    assert frame.loc[0, "services"] is None and frame.loc[0, "status"] == "Valid"
    assert frame.attrs["parse_report"].files[0].warnings == [
        "certificate 1: Services 'IIS, Telnet' not understood (not an Exchange service: Telnet); left NA"]


# --------------------------------------------------------------------------- other real-world variants

def test_powershell_7_ellipsis_and_a_utf16_file_without_bom():
    text = ("Thumbprint                                Services   Subject\n"
            "----------                                --------   -------\n"
            f"{B}  ...WS..    CN=mail.contoso.com, O=Contoso Sp. z o.o., L=War\u2026\n")
    frame = exlab.read_certs(io.BytesIO(text.encode("utf-16-le")))
    assert frame.loc[0, "subject"] == "CN=mail.contoso.com, O=Contoso Sp. z o.o., L=War\u2026"
    warnings_ = frame.attrs["parse_report"].files[0].warnings
    assert warnings_ == ["no byte order mark: read as utf-16-le", "line 3: Subject cut by the console width; kept as shown"]
    merged = exlab.read_certs([io.BytesIO(text.encode("utf-16-le")), FIXTURES / "clixml-local.xml"])
    assert merged.set_index("thumbprint").loc[B, "subject"] == TRUTH[B]["subject"]
    assert merged["conflicts"].tolist() == [(), ()]


def test_set_content_output_in_the_polish_ansi_code_page():
    text = ("\r\nFriendlyName : Certyfikat wewnętrzny Wrocław\r\nServices     : IMAP, POP, IIS, SMTP\r\n"
            "Thumbprint   : " + A + "\r\n\r\n")
    frame = exlab.read_certs(io.BytesIO(text.encode("cp1250")))
    assert frame.loc[0, "friendly_name"] == "Certyfikat wewnętrzny Wrocław"
    assert frame.attrs["parse_report"].files[0].warnings == ["no byte order mark: read as cp1250"]


def test_a_date_the_frame_cannot_hold_is_left_na_and_noted():
    text = "\r\nNotAfter   : 14.03.25 09:12:05\r\nThumbprint : " + A + "\r\n\r\n"   # year 25: a damaged line
    frame = exlab.read_certs(io.BytesIO(text.encode("utf-16")), tz="Europe/Warsaw")
    assert frame["not_after"].isna().tolist() == [True]
    assert frame.attrs["parse_report"].files[0].warnings[-1] == (
        "certificate 1: NotAfter '14.03.25 09:12:05' not understood (outside the years 1677-2262 the frame can "
        "hold); left NA")


def test_a_domain_list_wrapped_over_thousands_of_lines_is_read_whole():
    # Format-List wraps CertificateDomains onto continuation lines; the pieces are joined once, not line by line
    text = oversized.format_list("certificate", 30_000).decode("utf-16")
    report = exlab.ParseReport().add_file("fl.txt", sha256="", format="exchange-list")
    [block] = property_blocks(text, report)
    assert block["CertificateDomains"] == "{" + ", ".join(f"host{n}.contoso.com" for n in range(30_000)) + "}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssumptionWarning)
        certs = exlab.read_certs(io.BytesIO(oversized.format_list("certificate", 1_000)))
    assert certs.loc[0, "dns_names"][-1] == "host999.contoso.com" and len(certs.loc[0, "dns_names"]) == 1_000


@pytest.mark.parametrize("odd", [["Valid"], {"value": 1}, 1.5], ids=["a list", "an object", "a float"])
def test_a_json_value_of_another_shape_is_left_na_and_noted(tmp_path, odd):
    """ConvertTo-Json of an odd or damaged object: each converted property given a list, an
    object or a float where Exchange writes text or a number. The certificate is still read (its
    thumbprint, subject and names), each such property is left NA, and the report says why."""
    import json

    rows = json.loads((FIXTURES / "json-ps51.json").read_text(encoding="utf-16"))
    converted = ("Status", "RootCAType", "IsSelfSigned", "HasPrivateKey", "Services", "PublicKeySize",
                 "SerialNumber", "NotBefore", "NotAfter", "Subject", "Issuer", "FriendlyName")
    rows[0].update({name: odd for name in converted if name != "Subject"})
    path = tmp_path / "certs.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = exlab.read_certs(path)
    first = frame.set_index("thumbprint").loc[rows[0]["Thumbprint"]]
    assert first["subject"] == rows[0]["Subject"] and len(first["dns_names"]) == 2
    for column in ("status", "root_ca_type", "is_self_signed", "has_private_key", "public_key_size"):
        assert pd.isna(first[column]), column
    notes = " ".join(frame.attrs["parse_report"].files[0].warnings)
    assert "Status" in notes and "not understood" in notes


def test_a_json_export_nested_too_deep_for_the_parser_is_corrupt_input_naming_the_file(tmp_path):
    # the json module parses by recursion: a CertificateDomains value of 100,000 nested arrays stopped
    # the read with RecursionError instead of naming the file
    text = (FIXTURES / "json-ps51.json").read_bytes().decode("utf-16")
    assert text.count('"CertificateDomains":  [') == 2
    path = tmp_path / "Get-ExchangeCertificate.json"
    path.write_text(text.replace('"CertificateDomains":  [', '"CertificateDomains":  ' + "[" * 100_000 + "]" * 100_000
                                 + ', "Unused":  [', 1), encoding="utf-16")
    with pytest.raises(CorruptInput) as caught:
        exlab.read_certs(path)
    assert (caught.value.source, caught.value.where) == (str(path), "the document")
    assert str(caught.value).endswith("expected JSON (nested too deep to read)")


def test_a_local_time_where_the_clocks_change_is_warned_or_noted_once(tmp_path):
    # Windows prints a certificate's UTC time in the server's zone: a time in the hour the clocks skip
    # cannot come from that zone (the tz given is likely wrong); one in the hour they go back over
    # is read as the first of the two, and warned of with both (test_repeated_hour.py). Neither was said.
    text = (FIXTURES / "fl_en-US.txt").read_bytes().decode("utf-16")
    text = text.replace("NotBefore          : 3/14/2025 9:02:05 AM", "NotBefore          : 3/30/2025 2:30:00 AM")
    text = text.replace("NotAfter           : 3/14/2027 9:12:05 AM", "NotAfter           : 10/31/2027 2:30:00 AM")
    path = tmp_path / "Get-ExchangeCertificate-fl.txt"
    path.write_text(text, encoding="utf-16")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        certs = exlab.read_certs(path, tz="Europe/Warsaw")
    assert [(w.category, str(w.message)) for w in caught] == [(AssumptionWarning, (
        "the local time 2025-03-30 02:30:00 does not exist in Europe/Warsaw (its clocks skip that hour): the export "
        "was likely not printed in Europe/Warsaw, the time zone given; read with the offset before the change")),
        (AssumptionWarning, (
            "certificate 1: the local time 2027-10-31 02:30:00 comes twice in Europe/Warsaw (its clocks go back over "
            "that hour), and no file with the certificate's exact times (its .cer or .pem, an export with offsets) "
            "tells which pass: 1 date(s) at such times read as the first; each may be the second, an hour later: "
            f"NotAfter of {A} (certificate 1): 2027-10-31 00:30:00 or 2027-10-31 01:30:00 UTC"))]
    row = certs.set_index("thumbprint").loc[A]
    assert (row.not_before, row.not_after) == (pd.Timestamp("2025-03-30 01:30", tz="UTC"),
                                               pd.Timestamp("2027-10-31 00:30", tz="UTC"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exlab.read_certs(FIXTURES / "fl_en-US.txt", tz="Europe/Warsaw")
    assert not [w for w in caught if "clocks" in str(w.message)]


# --------------------------------------------------------------------------- names without a list

@pytest.mark.parametrize("shape", ["remote Export-Csv", "default table"])
def test_without_a_list_of_names_the_subjects_cn_makes_the_certificate_a_candidate(tmp_path, shape):
    # The EMS's Export-Csv writes CertificateDomains and DnsNameList as System.Collections.ArrayList and
    # the default table has no names at all; the Subject's CN still names the host Exchange matches.
    _, internal = kb2888788_pair()
    entry = ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise")
    path = tmp_path / "Get-ExchangeCertificate.txt"
    if shape == "default table":
        write_table([entry], path)
    else:
        write_csv([entry], path, remote=True)
    frame = exlab.read_certs(path, tz="UTC")
    assert frame.loc[0, "dns_names"] == ("mail.contoso.com",)
    assert covering_name(frame.loc[0, "dns_names"], "mail.contoso.com") == "mail.contoso.com"
    choice = select_outbound(frame, server_fqdn="mail.contoso.com", at="2025-03-20")
    assert choice.thumbprint == internal.thumbprint


@pytest.mark.parametrize("shape", ["remote Export-Csv", "default table"])
def test_the_subjects_cn_gives_way_to_the_ders_names_without_a_conflict(tmp_path, shape):
    _, internal = kb2888788_pair()
    entry = ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise")
    if shape == "default table":
        write_table([entry], tmp_path / "certs.txt")
    else:
        write_csv([entry], tmp_path / "certs.csv", remote=True)
    (tmp_path / "internal.cer").write_bytes(internal.der)
    frame = exlab.read_certs(tmp_path, tz="UTC")
    assert frame["dns_names"].tolist() == [("mail.contoso.com", "exchange.contoso.com")]   # the DER's, exactly
    assert frame["conflicts"].tolist() == [()]
    assert frame.loc[0, "services"] == ("IMAP", "POP", "IIS", "SMTP")


def test_a_subject_the_console_cut_gives_only_the_cns_before_the_cut():
    # "CN=mail.contoso.com, O=..." keeps its CN whole; "CN=Microsoft Exchange S..." is cut inside its CN
    frame = exlab.read_certs(FIXTURES / "table_en-US.txt")
    assert frame["dns_names"].tolist() == [("mail.contoso.com",), ("mail.contoso.com",), ()]


# --------------------------------------------------------------------------- EnhancedKeyUsageList cut short

def _issued_with_usages(usages: tuple[x509.ObjectIdentifier, ...]) -> x509.Certificate:
    """A certificate for mail.contoso.com from the lab's internal CA with these extended key usages, in order."""
    ca = LabPki("tests-certs").internal_ca
    _, internal = kb2888788_pair()
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.contoso.com")]))
            .issuer_name(ca.certificate.subject).public_key(internal.certificate.public_key())
            .serial_number(0x5A0000002C).not_valid_before(datetime(2025, 3, 14, tzinfo=timezone.utc))
            .not_valid_after(datetime(2027, 3, 14, tzinfo=timezone.utc))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("mail.contoso.com")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
            .sign(ca.key, hashes.SHA256()))


EKU = ExtendedKeyUsageOID
FOUR_OTHERS = (EKU.CLIENT_AUTH, EKU.EMAIL_PROTECTION, EKU.CODE_SIGNING, EKU.TIME_STAMPING)


@pytest.mark.parametrize("usages, server_auth", [
    (FOUR_OTHERS + (EKU.SERVER_AUTH,), None),        # cut after four: Server Authentication not shown, unknown
    ((EKU.SERVER_AUTH,) + FOUR_OTHERS, True),        # cut after four, Server Authentication among them
    (FOUR_OTHERS[:2], False),                        # the whole list, without it
])
def test_an_eku_list_cut_at_the_enumeration_limit_leaves_server_auth_unknown(tmp_path, usages, server_auth):
    path = tmp_path / "fl-star.txt"
    cert = ExchangeCert(_issued_with_usages(usages), services=("IIS", "SMTP"), root_ca_type="Enterprise")
    write_list([cert], path, all_properties=True)
    text = path.read_text(encoding="utf-16")
    listed = text[text.index("EnhancedKeyUsageList"):text.index("}", text.index("EnhancedKeyUsageList")) + 1]
    assert listed.endswith("...}") == (len(usages) > 4), listed     # $FormatEnumerationLimit: 4
    frame = exlab.read_certs(path, tz="UTC")
    value = frame.loc[0, "server_auth"]
    assert pd.isna(value) if server_auth is None else value == server_auth
    notes = [n for n in frame.attrs["parse_report"].files[0].warnings if "EnhancedKeyUsageList" in n]
    assert len(notes) == (server_auth is None) and all("$FormatEnumerationLimit" in n for n in notes)
    choice = select_outbound(frame, server_fqdn="mail.contoso.com", at="2025-03-20")
    assert (choice.thumbprint == cert.thumbprint) == (server_auth is not False)


def _long_named_certificate() -> x509.Certificate:
    """A self-signed certificate whose subject (and so issuer), names and friendly name pass an 80-column
    console: values PowerShell wraps, between words or at the width."""
    key = LabPki("tests-wrap").public_root.key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.contoso.com"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Messaging and Collaboration Services"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso Pharmaceuticals International Ltd"),
                      x509.NameAttribute(NameOID.LOCALITY_NAME, "Saint Petersburg"),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "US")])
    names = [x509.DNSName(f"{host}.contoso.com") for host in ("mail", "autodiscover", "legacy", "owa", "outlook",
                                                               "smtp-relay", "exchange-hybrid", "webmail")]
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x2888788).add_extension(x509.SubjectAlternativeName(names), critical=False)
            .not_valid_before(datetime(2025, 1, 6, tzinfo=timezone.utc))
            .not_valid_after(datetime(2027, 1, 6, tzinfo=timezone.utc)).sign(key, hashes.SHA256()))


@pytest.mark.parametrize("given", [True, False], ids=["culture given", "culture unknown"])
@pytest.mark.parametrize("trimmed", [False, True], ids=["saved", "console copy"])
@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("culture", ["en-US", "de-DE", "pl-PL", "ja-JP"])
def test_values_wrapped_between_words_or_at_the_width_read_back_whole(culture, width, trimmed, given):
    """``fl *`` in a console 80 or 120 wide: English and German wrap between words (the space kept at the line's
    end when saved with ``>``, gone from a copy of the console), Polish and Japanese at the width. Each value
    reads back as the certificate holds it: ``O=Contoso Pharmaceuticals International Ltd``, not
    ``...InternationalLtd``; four names (of eight: fl shows four), not ``legacy.contoso.com,owa.contoso.com``;
    with the culture given, or told by the lines the values were wrapped after."""
    cert = ExchangeCert(_long_named_certificate(), services=("IIS", "SMTP"),
                        friendly_name="Contoso SAN certificate renewed in January 2025 by the messaging team")
    out = io.BytesIO()
    write_list([cert], out, culture=culture, tz="Europe/Warsaw", all_properties=True, width=width, trimmed=trimmed)
    text = out.getvalue().decode("utf-16")
    assert text.count("\r\n   ") >= (4 if width == 80 else 2)          # the values do wrap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # without the culture, the day/month order is assumed and warned
        frame = exlab.read_certs(io.BytesIO(out.getvalue()), tz="Europe/Warsaw", culture=culture if given else None)
    der = exlab.read_certs(io.BytesIO(cert.certificate.public_bytes(Encoding.PEM)))
    columns = ("subject", "issuer")
    assert _facts(frame, columns) == _facts(der, columns)
    assert frame.loc[0, "friendly_name"] == cert.friendly_name
    assert frame.loc[0, "dns_names"] == der.loc[0, "dns_names"][:4]     # fl shows $FormatEnumerationLimit of them
