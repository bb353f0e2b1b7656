"""The README's promises: its Python examples and every ``exlab`` command line it shows run as
written, the exit codes it lists are the command's, and CI runs its test command."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import matplotlib
import pytest

from exlab.cli import EXIT_CODES, main
from exlab.transport.schema import FAILURE_DTYPES
from tests.conftest import REPO, SAMPLES

README = (REPO / "README.md").read_text(encoding="utf-8")
CONTOSO = "data/samples/contoso-kb2888788"
ENGINEERS_CASE = "C:/cases/ex01"   # the README's stand-in for the engineer's own evidence folder
FLEET_STORE = "fleet-store"        # the evidence store the README's fleet lines write and read
PLACEHOLDER = re.compile(r"\[|\.\.\.|\b[A-Z]{2,}\b")   # syntax lines: [--option], PATH..., FOLDER


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def _command_lines() -> list[str]:
    """Every ``exlab ...`` command line of the README: in bash blocks (after any install step)
    and in inline code, except the syntax lines of the Commands table and mere names."""
    lines = [line.split("&&")[-1].strip() for block in _blocks("bash") for line in block.splitlines()]
    lines += [code for code in re.findall(r"`([^`\n]+)`", README)
              if not PLACEHOLDER.search(code) and len(code.split()) > 2]   # not a name (`exlab certs`)
    commands = [re.sub(r"^\S*/exlab ", "exlab ", line) for line in lines if re.match(r"(\S*/)?exlab ", line)]
    return list(dict.fromkeys(commands))


def _slow(command: str) -> bool:
    """A report draws figures and may print a PDF; generating every case writes them all."""
    return ("--report" in command or command.startswith("exlab report") or "--all" in command
            or "--workers" in command)      # a Dask cluster of local processes


COMMANDS = [pytest.param(c, marks=pytest.mark.slow) if _slow(c) else c for c in _command_lines()]


def test_the_readme_shows_command_lines_of_every_command():
    shown = {shlex.split(c)[1] for c in _command_lines()}
    assert shown == {"investigate", "report", "events", "certs", "lab", "fleet"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_line_runs_as_written(command, tmp_path, monkeypatch, capsys):
    shutil.copytree(SAMPLES, tmp_path / "data" / "samples")   # outputs land beside a copy, never in the repo
    monkeypatch.chdir(tmp_path)
    argv = [CONTOSO if arg == ENGINEERS_CASE else arg for arg in shlex.split(command)[1:]]
    if FLEET_STORE in argv and argv[:2] != ["fleet", "ingest"]:     # the store the README's ingest line writes
        assert main(["fleet", "ingest", "data/samples/litware-servers", "-o", FLEET_STORE]) == 0
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    for option, value in zip(argv, argv[1:]):
        if option in ("-o", "--output", "--json", "--report") and value != "-":
            assert (tmp_path / value).stat().st_size > 0, f"{command}: {value} not written"
    if "--json" in argv and argv[argv.index("--json") + 1] == "-":
        assert json.loads(out)["verdict"] in ("confirmed", "ruled_out", "inconclusive")
    if argv[:3] == ["lab", "generate", "--all"]:
        assert (tmp_path / argv[3] / "contoso-kb2888788" / "truth.json").is_file()


def test_the_exit_codes_listed_are_the_commands():
    section = README[README.index("## Commands"):README.index("## Samples")]
    listed = {int(code) for code in re.findall(r"^\| (\d) \|", section, re.M)}
    assert listed == set(EXIT_CODES)


def test_ci_runs_the_readme_test_command():
    commands = [line for block in _blocks("bash") for line in block.splitlines() if "pytest" in line]
    assert len(commands) == 1
    assert commands[0].strip() in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def _run_python_examples(case_folder: str | Path) -> dict:
    matplotlib.use("Agg")
    namespace: dict = {}
    for block in _blocks("python"):
        if "exlab.fleet" in block:      # the evidence store's example runs on its own (a Dask cluster)
            continue
        block = block.replace(f'open_case("{CONTOSO}"', f'open_case(r"{case_folder}"')
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own examples
    return namespace


def test_python_examples_run_in_order(monkeypatch):
    monkeypatch.chdir(REPO)
    namespace = _run_python_examples(CONTOSO)
    assert namespace["diagnosis"].verdict == "confirmed"
    assert namespace["events"]["event_id"].eq(2004).all() and len(namespace["events"]) > 0
    assert len(namespace["case"].failures) > 0
    truth = json.loads((SAMPLES / "litware-servers" / "truth.json").read_text(encoding="utf-8"))
    wanted = {answer["fqdn"]: (answer["verdict"], answer["fix"]) for answer in truth["server_verdicts"].values()}
    assert {d.server: (d.verdict, d.fix) for d in namespace["site"].diagnose_servers()} == wanted
    assert list(namespace["site"].server_verdicts()["server"]) == list(wanted)


def test_python_examples_run_on_a_case_without_events_or_logs(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    folder = tmp_path / "ex01"
    shutil.copytree(SAMPLES / "contoso-kb2888788", folder,
                    ignore=shutil.ignore_patterns("events", "logs", "Get-Queue.txt"))
    namespace = _run_python_examples(folder)
    case = namespace["case"]
    assert case.events is None and case.sessions is None
    assert case.failures.empty and list(case.failures.columns) == list(FAILURE_DTYPES)
    assert namespace["diagnosis"].verdict == "inconclusive"


def test_python_examples_run_on_a_healthy_case(monkeypatch):
    monkeypatch.chdir(REPO)
    namespace = _run_python_examples("data/samples/fabrikam-healthy")
    assert namespace["case"].events is not None and namespace["case"].failures.empty
    assert namespace["diagnosis"].verdict == "ruled_out"


@pytest.mark.slow
def test_the_evidence_store_example_runs_on_a_dask_cluster(monkeypatch):
    monkeypatch.chdir(REPO)
    (block,) = [block for block in _blocks("python") if "exlab.fleet" in block]
    namespace: dict = {}
    exec(compile("import exlab\n" + block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    truth = json.loads((SAMPLES / "litware-servers" / "truth.json").read_text(encoding="utf-8"))
    wanted = {answer["fqdn"]: (answer["verdict"], answer["fix"]) for answer in truth["server_verdicts"].values()}
    assert {d.server: (d.verdict, d.fix) for d in namespace["fleet"].diagnose_servers()} == wanted
    spans = namespace["exlab"].fleet.failure_spans(namespace["store"])
    assert spans["failures"].tolist() == [truth["counts"]["events_2004"]]


def test_the_settings_file_shown_is_one_exlab_reads(tmp_path):
    from exlab.settings import SETTINGS_FILE, read_settings

    [shown] = _blocks("toml")
    case = shutil.copytree(SAMPLES / "contoso-kb2888788", tmp_path / "ex01")
    (case / SETTINGS_FILE).write_text(shown, encoding="utf-8")
    settings = read_settings(case)
    assert (settings.tz, settings.culture, settings.server_fqdn, settings.connector, settings.roots) == (
        "Europe/Warsaw", "pl-PL", "ex01.contoso.com", "Outbound to Office 365", (case / "lab-public-root.pem").resolve())
    assert settings.server_tz == {"EX02": "America/New_York"}
    assert settings.zone_of("EX02/Application.csv") == "America/New_York" == settings.zone_of("EX02-certs.txt")
