"""exlab's notebooks in a real JupyterLab, driven through Debian's Chromium with Playwright:
each opens, runs all its cells from the Run menu, and ends with no error output, no warning box
(stderr), every cell run, and its progress bar drawn as a widget. A screenshot of each is kept
in ``build/test-artifacts/jupyterlab/`` (or ``$EXLAB_TEST_ARTIFACTS``): look at them.

One JupyterLab serves the whole module: started here on 127.0.0.1 at a free port, with a token,
no browser, and its own root, settings, workspace, data and runtime folders; its kernels get
CurveZMQ keys from the kernel manager (``KernelManager.transport_encryption``), which is what
ipykernel's "running over TCP without encryption" warning asks for.

Every notebook runs on the main sample (contoso, whose folder the notebooks find through
``EXLAB_CASE``), one notebook on each other sample (given as papermill's injected parameters);
``EXLAB_ALL_NOTEBOOKS=1`` runs every notebook on every sample.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from exlab.report import notebooks_dir
from tests.conftest import REPO
from tests.samples import sample_cases

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
MAIN = "contoso-kb2888788"
NOTEBOOKS = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))
ARTIFACTS = Path(os.environ.get("EXLAB_TEST_ARTIFACTS", REPO / "build" / "test-artifacts")) / "jupyterlab"
RUN_TIMEOUT_MS = 180_000
# JupyterLab's settings for a test: every cell in the page (no windowing, so every output can be
# checked), no news or update pop-ups over the notebook
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}


def _runs() -> list[tuple[str, str]]:
    """(case, notebook) pairs: every notebook on the main sample, one on each other sample."""
    cases = [case.name for case in sample_cases()]
    if os.environ.get("EXLAB_ALL_NOTEBOOKS") == "1":
        return [(case, name) for case in cases for name in NOTEBOOKS]
    others = [case for case in cases if case != MAIN]
    return [(MAIN, name) for name in NOTEBOOKS] + [(case, NOTEBOOKS[(i + 1) % len(NOTEBOOKS)])
                                                  for i, case in enumerate(others)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _notebook_copies(root: Path) -> None:
    """The notebooks as an engineer opens them: for the main sample unchanged (it is named by
    EXLAB_CASE), for the others with papermill's injected parameters naming the case folder."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    for case in sample_cases():
        folder = root / case.name
        folder.mkdir()
        for name in NOTEBOOKS:
            notebook = nbformat.read(notebooks_dir() / name, as_version=4)
            if case.name != MAIN:
                notebook = parameterize_notebook(load_notebook_node(str(notebooks_dir() / name)),
                                                 {"case_folder": str(case.folder)})
            nbformat.write(notebook, folder / name)


class Lab:
    """A running JupyterLab: its URL, token and process."""

    def __init__(self, base: Path) -> None:
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.root = base / "root"
        self.root.mkdir()
        _notebook_copies(self.root)
        settings = base / "settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(base / "config"), "JUPYTER_DATA_DIR": str(base / "data"),
               "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "IPYTHONDIR": str(base / "ipython"),
               "HOME": str(base), "EXLAB_CASE": str(next(c.folder for c in sample_cases() if c.name == MAIN)),
               "PYTHONPATH": str(REPO), "EXLAB_PROGRESS_DELAY": "0"}     # a bar however quick the reading
        self.log = (base / "jupyterlab.log").open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", f"--LabApp.user_settings_dir={settings}",
             f"--LabApp.workspaces_dir={base / 'workspaces'}", "--KernelManager.transport_encryption=required",
             *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],   # a CI container
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=base)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_up(base / "jupyterlab.log")

    def _wait_until_up(self, log: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"JupyterLab stopped: {log.read_text(encoding='utf-8')[-3000:]}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"JupyterLab did not start: {log.read_text(encoding='utf-8')[-3000:]}")

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed")
    running = Lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(lab) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


# every code cell has run ([n]), none is still running ([*]), and the kernel is idle
_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"   # the notebook on show
_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
  const status = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p))
         && status !== null && status.getAttribute('data-status') === 'idle';
}"""
_STOPPED = """() => {
  const status = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].length > 0
         && status !== null && status.getAttribute('data-status') === 'idle';
}"""


@pytest.mark.parametrize(("case", "name"), _runs(), ids=lambda value: value)
def test_notebook_runs_in_jupyterlab_without_error_or_warning_box(lab, browser, case, name):
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    try:
        # a workspace of its own, reset: only this notebook open
        page.goto(f"{lab.url}/lab/workspaces/{case}-{name[:2]}/tree/{case}/{name}?reset&token={lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # the kernel started and connected: the status bar names it, idle
        page.wait_for_function("() => /Python 3 \\(ipykernel\\) \\| Idle/.test("
                               "document.querySelector('#jp-main-statusbar')?.innerText ?? '')", timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot = ARTIFACTS / f"{case}--{name.removesuffix('.ipynb')}.png"
        try:
            page.wait_for_function(f"() => ({_DONE})() || ({_STOPPED})()", timeout=RUN_TIMEOUT_MS)
        finally:
            page.locator(f"{_PANEL} .jp-Cell").first.scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot))

        errors = page.locator(f'{_PANEL} .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')
        assert errors.count() == 0, f"error or warning output: {errors.all_inner_texts()[:3]}"
        assert page.locator(f"{_PANEL} .jp-OutputArea-output .ansi-red-fg, {_PANEL} pre:has-text('Traceback')").count() == 0
        assert page.evaluate(_DONE), "every code cell ran"
        progress = page.locator(f"{_PANEL} .jp-OutputArea-output .widget-hprogress")
        assert progress.count() >= 1, "the progress bar is drawn as a widget"
        assert page.locator(f"{_PANEL} :text('Error displaying widget')").count() == 0
        assert page.locator(f"{_PANEL} .jp-RenderedHTMLCommon").count() > 0
        _people_tables_are_laid_out_as_in_the_report(page, screenshot.with_name(screenshot.stem + "--table.png"))
    finally:
        page.close()
        lab.shut_down_kernels()


# the columns of a shown people table that wrap anywhere (thumbprints, names), are narrower than
# its widest time column (a zone in its header) and wrap a cell over lines: squeezed before the times
# (by more than a rounding: the table's auto layout may leave the two a 64th of a pixel apart)
_SQUEEZED = r"""t => {
  if (!t.checkVisibility()) return [];      // a folded table is laid out when unfolded
  const heads = [...t.querySelectorAll('thead th')];
  const width = th => th.getBoundingClientRect().width;
  const times = heads.filter(th => /\((UTC|[\w+-]+\/[\w/+-]+)\)$/.test(th.innerText.replace(/\s+/g, '')));
  const widest = Math.max(0, ...times.map(width));
  const wraps = cell => { const range = document.createRange(); range.selectNodeContents(cell);
                          return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1; };
  return heads.filter(th => th.classList.contains('wrap') && width(th) + 0.5 < widest
                      && [...t.querySelectorAll('tbody tr')].some(row => wraps(row.children[th.cellIndex])))
              .map(th => `${th.innerText} ${Math.round(width(th))}px < ${Math.round(widest)}px`);
}"""


def _people_tables_are_laid_out_as_in_the_report(page, screenshot) -> None:
    """Every people table left-aligned and within its output (JupyterLab's own style would centre
    it and right-align its cells; a table wider than the notebook is cut off), its time columns
    (a zone in the header; date over time) no wider than the columns that wrap anywhere (thumbprints, names: squeezed
    first, they would be read a few characters a line); the first one kept as a screenshot."""
    tables = page.locator(f"{_PANEL} table.people")
    for index in range(tables.count()):
        laid = tables.nth(index).evaluate(
            "t => ({align: getComputedStyle(t.querySelector('th')).textAlign, right: t.getBoundingClientRect().right,"
            " room: t.closest('.jp-OutputArea-output').getBoundingClientRect().right,"
            " title: t.caption ? t.caption.innerText : t.parentElement.innerText.slice(0, 40),"
            f" squeezed: ({_SQUEEZED})(t)}})")
        assert laid["align"] in ("left", "start"), f"{laid}"
        assert laid["right"] <= laid["room"] + 1, f"cut off: {laid}"
        assert laid["squeezed"] == [], f"names squeezed narrower than the times: {laid}"
    if tables.count():
        tables.first.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot))
