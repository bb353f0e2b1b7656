"""Reading one cell: missing values as None and numpy scalars as Python's own, so that a
comparison with ``is`` means what it says (issue #12: a `trust unknown` sentence beside a table
that says False)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import exlab
from exlab.analysis.cells import cell, column, present
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



def test_column_is_the_column_as_objects_with_none_where_missing_on_a_case_s_frames():
    # one conversion (to_numpy with na_value) instead of astype then where: the same values, types and index
    import warnings

    from tests.conftest import SAMPLES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = exlab.open_case(SAMPLES / "woodgrove-expired")
    frames = {**case.frames, "failures": case.failures, "certs": case.certs}
    for frame in frames.values():
        for part in (frame, frame.iloc[::3], frame.iloc[0:0]):
            for name in part.columns:
                before = part[name].astype("object")
                before = before.where(before.notna(), None)
                now = column(part, name)
                assert now.dtype == before.dtype and now.index.equals(before.index) and now.name == before.name
                assert [(type(v), repr(v)) for v in now] == [(type(v), repr(v)) for v in before]
