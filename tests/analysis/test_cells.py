"""Reading one cell: missing values as None and numpy scalars as Python's own, so that a
comparison with ``is`` means what it says (issue #12: a `trust unknown` sentence beside a table
that says False)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import exlab
from exlab.analysis.cells import cell, present
from tests.samples import sample_cases


@pytest.mark.parametrize(("value", "expected"), [
    (np.bool_(False), False), (np.bool_(True), True), (np.int64(25), 25), (np.float64(0.5), 0.5),
    (pd.NA, None), (np.nan, None), (pd.NaT, None), (None, None), (("SMTP",), ("SMTP",)),
])
def test_present_gives_plain_python_values(value, expected):
    assert present(value) is expected or present(value) == expected
    assert type(present(value)) is type(expected)


def test_the_certificate_the_transport_presents_reads_as_untrusted_not_unknown():
    sample = next(c for c in sample_cases() if c.name == "contoso-kb2888788")
    case = exlab.open_case(sample.folder)
    comparison = case.compare_issuers(case.diagnose().name)
    row = comparison[comparison["selected"]].iloc[0]
    assert row["thumbprint"] == sample.truth["culprit"]
    assert row["trusted_by_microsoft365"] is not False          # a numpy boolean: `is False` fails here
    assert cell(row, "trusted_by_microsoft365") is False

