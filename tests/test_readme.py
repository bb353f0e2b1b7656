"""The README's promises: its Python examples run as written, and CI runs its test command."""

from __future__ import annotations

import re

import matplotlib

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_ci_runs_the_readme_test_command():
    commands = [line for block in _blocks("bash") for line in block.splitlines() if "pytest" in line]
    assert len(commands) == 1
    assert commands[0].strip() in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_python_examples_run_in_order(monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    for block in _blocks("python"):
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the README's own examples
    assert namespace["diagnosis"].verdict == "confirmed"
    assert namespace["events"]["event_id"].eq(2004).all() and len(namespace["events"]) > 0
