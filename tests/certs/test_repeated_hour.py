"""NotBefore/NotAfter that Get-ExchangeCertificate's text exports print in the hour the clocks go back
over: both readings are an hour apart, so a file with the certificate's exact times settles the reading,
else the engineer is warned, once per file, with both readings in UTC."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import pandas as pd
import pytest

import exlab
from exlab.errors import AssumptionWarning, ExlabWarning
from exlab.lab.cert_exports import ExchangeCert, write_csv, write_list
from exlab.lab.pki import LabPki

# (time zone, the second pass through its repeated hour in UTC): 02:30 in Warsaw, 01:30 in New York
SECOND_PASSES = {"Europe/Warsaw": datetime(2024, 10, 27, 1, 30, tzinfo=timezone.utc),
                 "America/New_York": datetime(2024, 11, 3, 6, 30, tzinfo=timezone.utc)}
WRITERS = {"fl.txt": write_list, "certs.csv": write_csv}


def _certificate(not_after: datetime, label: str = "expiring"):
    return LabPki("tests-repeated-hour").server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
                                                 not_before=datetime(2023, 1, 9, 8, tzinfo=timezone.utc),
                                                 not_after=not_after, label=label)


def _read(paths, tz: str) -> tuple[pd.DataFrame, list[ExlabWarning]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(paths, tz=tz)
    return frame, [w.message for w in caught if issubclass(w.category, ExlabWarning)]


def _said_twice(said: list[ExlabWarning]) -> list[ExlabWarning]:
    return [w for w in said if "comes twice" in w.text]


@pytest.mark.parametrize("tz", sorted(SECOND_PASSES))
@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_not_after_in_the_repeated_hour_is_warned_once_naming_the_certificate_and_both_utc_times(
        tmp_path, tz, name):
    second = pd.Timestamp(SECOND_PASSES[tz])
    cert = _certificate(second.to_pydatetime())
    WRITERS[name]([ExchangeCert(cert.certificate, services=("IIS", "SMTP"))], tmp_path / name, tz=tz)
    frame, said = _read(tmp_path / name, tz)
    [warning] = _said_twice(said)
    assert isinstance(warning, AssumptionWarning) and warning.source == str(tmp_path / name)
    first = second - pd.Timedelta(hours=1)
    assert cert.thumbprint in warning.text and "NotAfter" in warning.text
    assert f"{first:%Y-%m-%d %H:%M:%S} or {second:%Y-%m-%d %H:%M:%S} UTC" in warning.text
    assert "1 date(s) at such times read as the first" in warning.text
    assert frame.loc[0, "not_after"] == first                     # read as the first pass, as said
    assert warning.located() in [f"{tmp_path / name} {text}" for text in frame.attrs["parse_report"].files[0].warnings]


def test_several_dates_of_one_file_in_the_repeated_hour_make_one_warning_that_counts_and_names_them(tmp_path):
    tz, second = "Europe/Warsaw", SECOND_PASSES["Europe/Warsaw"]
    certs = [_certificate(second, "one"), _certificate(second + pd.Timedelta(minutes=10), "two")]
    write_list([ExchangeCert(c.certificate, services=("IIS",)) for c in certs], tmp_path / "fl.txt", tz=tz)
    _, said = _read(tmp_path / "fl.txt", tz)
    [warning] = _said_twice(said)
    assert "2 date(s) at such times" in warning.text and warning.where == "certificate 1"
    assert all(c.thumbprint in warning.text for c in certs)


@pytest.mark.parametrize("tz", sorted(SECOND_PASSES))
@pytest.mark.parametrize("true_pass", ["first", "second"])
def test_the_certificate_file_of_the_same_thumbprint_settles_the_reading_without_a_warning(tmp_path, tz, true_pass):
    second = pd.Timestamp(SECOND_PASSES[tz])
    exact = second if true_pass == "second" else second - pd.Timedelta(hours=1)
    cert = _certificate(exact.to_pydatetime())
    write_list([ExchangeCert(cert.certificate, services=("IIS", "SMTP"))], tmp_path / "fl.txt", tz=tz)
    (tmp_path / "mail.cer").write_bytes(cert.der)
    frame, said = _read([tmp_path / "fl.txt", tmp_path / "mail.cer"], tz)
    assert _said_twice(said) == []
    assert frame["not_after"].tolist() == [exact]
    assert frame.loc[0, "conflicts"] == ()                       # no "1 h apart" against the .cer
    notes = frame.attrs["parse_report"].files[0].warnings
    assert [n for n in notes if "comes twice" in n] == [
        f"the local time {exact.tz_convert(tz):%Y-%m-%d %H:%M:%S} comes twice in {tz} (its clocks go back over "
        f"that hour): 1 date(s) at such times read as the first or the second pass as a file with the "
        f"certificate's exact times tells: NotAfter of {cert.thumbprint} (certificate 1) as in {tmp_path / 'mail.cer'}"]


def test_a_certificate_file_of_another_thumbprint_settles_nothing(tmp_path):
    tz, second = "Europe/Warsaw", SECOND_PASSES["Europe/Warsaw"]
    cert, other = _certificate(second), _certificate(second, "other")
    write_list([ExchangeCert(cert.certificate, services=("IIS",))], tmp_path / "fl.txt", tz=tz)
    (tmp_path / "other.cer").write_bytes(other.der)
    _, said = _read([tmp_path / "fl.txt", tmp_path / "other.cer"], tz)
    assert len(_said_twice(said)) == 1
