"""Every Python source of the project compiles without a warning.

An invalid escape in a string (``"C:\\exlab"`` written with one backslash) is a
DeprecationWarning today, a SyntaxWarning in Python 3.12 and an error to come; the
PowerShell commands exlab prints are full of backslashes.
"""

import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_source_compiles_without_a_warning():
    sources = sorted(path for folder in ("exlab", "tests", "benchmarks") for path in (ROOT / folder).rglob("*.py"))
    assert len(sources) > 100
    failing = {}
    for path in sources:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
            except (SyntaxError, SyntaxWarning, DeprecationWarning) as err:
                failing[str(path.relative_to(ROOT))] = str(err)
    assert failing == {}
