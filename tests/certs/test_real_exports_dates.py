"""The real en-AU ``Get-ExchangeCertificate | fl *`` (../shared/real-exports/generated): every date
has a day of 12 or less, so only the culture, or the lower-case am/pm as a hint, tells the order."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import exlab
from exlab.errors import AssumptionWarning

from .helpers import dates_said

pytestmark = pytest.mark.real_exports

NAME = "generated/Get-ExchangeCertificate-fl-en-AU.txt"
README = {   # thumbprint: (NotBefore, NotAfter) in UTC, as the README gives them
    "6B33B132F5C03C40ABFD5D33B7FF1850BC20A755": ("2025-11-04T02:00:00Z", "2026-12-03T01:59:59Z"),
    "B2A8E82220711C9CCEBAAC5EC6FF829F4321D491": ("2023-02-07T01:30:00Z", "2028-02-07T01:30:00Z"),
}


def _dates(frame: pd.DataFrame) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    return {row.thumbprint: (row.not_before, row.not_after) for row in frame.itertuples()}


def _expected() -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    return {t: (pd.Timestamp(a), pd.Timestamp(b)) for t, (a, b) in README.items()}


def _read(path, **kwargs) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(path, tz="Australia/Perth", **kwargs)
    return frame, [w.message.located() for w in caught if issubclass(w.category, AssumptionWarning)]


def _capitals(real_exports, tmp_path):
    """The same file as older Windows builds (or a customised Region) write en-AU: AM/PM."""
    text = (real_exports / NAME).read_bytes().decode("utf-16")
    assert text.count(" am\r\n") == 4 and " pm\r\n" not in text
    path = tmp_path / "Get-ExchangeCertificate-fl-en-AU-capitals.txt"
    path.write_bytes(text.replace(" am\r\n", " AM\r\n").encode("utf-16"))
    return path


def test_read_as_en_au_in_perth_gives_the_readme_times_without_a_warning(real_exports):
    frame, said = _read(real_exports / NAME, culture="en-AU")
    assert _dates(frame) == _expected()
    assert said == []
    assert frame.attrs["parse_report"].files[0].warnings[0] == "day/month order: day first, given (culture=en-AU given)"


def test_without_a_culture_the_lower_case_am_pm_is_followed_and_said(real_exports):
    frame, said = _read(real_exports / NAME)
    assert _dates(frame) == _expected()
    assert len(said) == 1
    assert said[0].startswith(f"{real_exports / NAME}: the day/month order of its dates was inferred from a hint "
                              "only: read day first")
    assert "en-AU" in said[0] and "culture=" in said[0]


def test_capitals_leave_it_ambiguous_warn_with_both_readings_and_the_culture_settles_it(real_exports, tmp_path):
    path = _capitals(real_exports, tmp_path)
    frame, said = _read(path)
    assert len(said) == 1
    assert said[0].startswith(f"{path}: the day/month order of its dates is ambiguous")
    assert "3/12/2026 9:59:59 AM = 12 March 2026 (month first) or 3 December 2026 (day first)" in said[0]
    assert "--culture" in said[0]
    assert dates_said(frame) == [said[0].removeprefix(f"{path}: ")]
    frame, said = _read(path, culture="en-AU")
    assert _dates(frame) == _expected() and said == []


def test_a_culture_no_value_contradicts_is_taken_as_given(real_exports):
    # every value is a valid month-first date too: culture=en-US is taken as given (the engineer's word)
    frame, said = _read(real_exports / NAME, culture="en-US")
    assert frame.loc[0, "not_before"] == pd.Timestamp("2025-04-11T02:00:00Z") and said == []
    # a day-first culture with a 24-hour clock reads the same dates (the order is what matters)
    frame, _ = _read(real_exports / NAME, culture="en-GB")
    assert _dates(frame) == _expected()


def test_a_culture_contradicted_by_a_day_above_12_is_overruled_with_a_warning(real_exports, tmp_path):
    text = (real_exports / NAME).read_bytes().decode("utf-16")
    path = tmp_path / "fl-en-AU-later.txt"
    path.write_bytes(text.replace("NotAfter             : 3/12/2026 9:59:59 am",
                                  "NotAfter             : 30/12/2026 9:59:59 am").encode("utf-16"))
    frame, said = _read(path, culture="en-US")     # the values win: read day first, and said so
    assert frame.loc[0, "not_after"] == pd.Timestamp("2026-12-30T01:59:59Z")
    assert len(said) == 1 and said[0].startswith(f"{path}: the day/month order of its dates contradicts the culture")
    assert "'30/12/2026 9:59:59 am' can only be read day first" in said[0]
    frame, said = _read(path)       # and without a culture that value settles it: no warning
    assert said == [] and frame.loc[0, "not_after"] == pd.Timestamp("2026-12-30T01:59:59Z")


@pytest.mark.parametrize("culture", ["en-AU", None])
def test_values_cut_at_the_width_join_whole_even_where_the_culture_wraps_words(real_exports, culture):
    """The file's wrapped values are cut at the width, mid-word (``CryptoKeyAccess`` / ``Rule,``), though en-AU
    wraps between words: the lines they were cut after, all as long, say so over the culture."""
    from exlab.certs.exchange_list import property_blocks
    from exlab.certs.text_decoding import read_text
    from exlab.parse_report import FileReport

    with open(real_exports / NAME, "rb") as stream:
        text = read_text(stream, NAME, FileReport(NAME, "", "exchange-list"))
    blocks = property_blocks(text, FileReport(NAME, "", "exchange-list"), culture)
    rule = "System.Security.AccessControl.CryptoKeyAccessRule"
    assert [block["AccessRules"] for block in blocks] == [f"{{{rule}, {rule}, {rule}}}"] * 2
    oid = "System.Security.Cryptography.Oid"
    assert {block["Extensions"] for block in blocks} == {"{" + f"{oid}, " * 3 + f"{oid}...}}"}
