"""The report as PDF, for change boards: the same HTML page printed by headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, or the first ``chromium`` on PATH), run by
Playwright; every request of the page other than ``data:`` and ``blob:`` is refused, so
printing fetches nothing either. Collapsed parts (``<details>``) are opened before printing.

>>> browser_path() is None or browser_path().endswith("chromium")
True
"""

from __future__ import annotations

import shutil
from pathlib import Path

from exlab.errors import ExlabError

CHROMIUM = "/usr/bin/chromium"
LOCAL_SCHEMES = ("data:", "blob:")


def browser_path() -> str | None:
    """Debian's Chromium, else a ``chromium`` on PATH, else None."""
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium") or shutil.which("chromium-browser")


def write_pdf(page: str, output: str | Path) -> Path:
    """Print the HTML ``page`` (a string) to ``output`` as an A4 PDF; returns its path."""
    from playwright.sync_api import Error, sync_playwright

    output = Path(output)
    executable = browser_path()
    if executable is None:
        raise ExlabError(str(output), expected="Chromium to print the PDF with", detail="apt-get install chromium")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                view = browser.new_page()
                view.route("**/*", lambda route: route.continue_() if route.request.url.startswith(LOCAL_SCHEMES)
                           else route.abort())
                view.set_content(page, wait_until="load")
                view.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
                view.pdf(path=str(output), format="A4", print_background=True,
                         margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            finally:
                browser.close()
    except Error as err:
        raise ExlabError(str(output), expected="a PDF printed by Chromium", detail=str(err).splitlines()[0]) from None
    return output
