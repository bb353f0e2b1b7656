"""Opening a case keeps one copy of each frame: making file names case-relative replaces the source
column alone (the other columns shared, not copied) and names each file once, not once per row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from exlab.case import with_case_names
from exlab.parse_report import ParseReport


def test_case_names_replace_the_source_column_alone_naming_each_file_once():
    rows = 10_000
    frame = pd.DataFrame({"n": np.arange(rows), "source": pd.array(
        ["/cases/ex01/logs/SEND1.LOG", "/cases/ex01/logs/SEND2.LOG; /cases/ex01/logs/SEND3.LOG", None, None] * (rows // 4),
        dtype="string")})
    frame.attrs["parse_report"] = ParseReport()
    asked = []

    def name_in_case(name: str) -> str:
        asked.append(name)
        return name.removeprefix("/cases/ex01/")

    named = with_case_names(frame, name_in_case)
    assert named["source"].iloc[:4].tolist() == ["logs/SEND1.LOG", "logs/SEND2.LOG; logs/SEND3.LOG", pd.NA, pd.NA]
    assert named["source"].dtype == frame["source"].dtype
    assert sorted(asked) == ["/cases/ex01/logs/SEND1.LOG", "/cases/ex01/logs/SEND2.LOG", "/cases/ex01/logs/SEND3.LOG"]
    assert np.shares_memory(named["n"].to_numpy(), frame["n"].to_numpy())
    assert frame["source"].iloc[0] == "/cases/ex01/logs/SEND1.LOG"     # the frame given is left as it was
