"""The ``exlab`` command itself: version, errors as exit code 1, quiet on a closed pipe."""

from __future__ import annotations

import io
import sys

import pytest

from exlab import __version__
from exlab.cli import main
from tests.conftest import SAMPLES


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"exlab {__version__}"


def test_an_exlab_error_is_one_line_and_exit_code_1(tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    assert main(["events", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("exlab: ") and str(missing) in err and "Traceback" not in err


class ClosedPipe(io.StringIO):
    """A standard output whose reader went away, as with ``exlab ... | head -1``."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["events", str(SAMPLES / "contoso-kb2888788" / "events")]) == 0
    assert "Traceback" not in capsys.readouterr().err
