"""``exlab lab list`` and ``exlab lab generate``."""

from __future__ import annotations

import json

import pytest

from exlab.cli import main
from exlab.lab.cases import names


def test_list_names_every_case_with_its_verdict(capsys):
    assert main(["lab", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(names())
    assert lines[0].split()[1:3] == ["confirmed", "kb2888788"]
    assert "NWEX01, NWEX02" in lines[names().index("northwind-quiet")]


def test_generate_writes_the_case_and_the_lab_root(tmp_path, capsys):
    assert main(["lab", "generate", "fabrikam-healthy", str(tmp_path), "--seed", "4", "--events", "30"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fabrikam-healthy: ") and str(tmp_path / "fabrikam-healthy") in out
    truth = json.loads((tmp_path / "fabrikam-healthy" / "truth.json").read_text(encoding="utf-8"))
    assert truth["seed"] == 4 and truth["missing"] == [] and truth["verdict"] == "ruled_out"
    assert (tmp_path / "lab-public-root.pem").is_file()
    assert (tmp_path / "fabrikam-healthy" / "events" / "Application.evtx").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["lab", "generate", "litware-nothing", "out"], "no lab case 'litware-nothing'"),
    (["lab", "generate", "--all", "a", "b"], "takes only OUTDIR"),
    (["lab", "generate", "contoso-kb2888788"], "takes CASE OUTDIR"),
])
def test_generate_refuses_wrong_arguments(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_negative_event_count_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["lab", "generate", "contoso-kb2888788", "out", "--events", "-5"])
    assert exit_info.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
