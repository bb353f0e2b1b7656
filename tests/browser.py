"""Open an HTML page in Debian's headless Chromium (Playwright) and measure what a reader sees.

Every request the page makes is routed: ``data:`` and ``blob:`` URLs go through, anything
else is refused and recorded (a self-contained page makes no other request). Script
errors and console errors are recorded too. Screenshots go to the test's folder and, when
``EXLAB_ARTIFACTS`` is set, are copied there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exlab.report.pdf import LOCAL_SCHEMES, browser_path

VIEWPORT = {"width": 1280, "height": 900}
# every sortable table built: itables writes each as a hidden <table id="itables_..."> and builds it
# after the page has loaded (a fixed wait lost that race on a busy machine)
ITABLES_BUILT = ("() => Array.from(document.querySelectorAll('table[id^=itables_]'))"
                 ".every(table => table.closest('.dt-container'))")

# What a reader sees, measured in the page: its height, horizontal overflow, tables wider
# than their box, the text of every visible cell, and where given texts first appear.
MEASURE = """
(needles) => {
  const doc = document.documentElement;
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const cells = Array.from(document.querySelectorAll('td, th, dd')).filter(visible).map(c => c.innerText.trim());
  const wide = Array.from(document.querySelectorAll('table')).filter(visible).filter(t => {
    const box = t.parentElement.getBoundingClientRect();
    return t.getBoundingClientRect().width > box.width + 1;
  }).map(t => (t.className || t.id || 'table') + ': ' + Math.round(t.getBoundingClientRect().width));
  const top = needle => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.textContent.includes(needle) && node.parentElement && visible(node.parentElement)) {
        const range = document.createRange(); range.selectNodeContents(node);
        return range.getBoundingClientRect().top + window.scrollY;
      }
    }
    return null;
  };
  const text = document.body.innerText;
  // a needle as a whole: "-Services IMAP,POP,IIS" is not counted inside "-Services IMAP,POP,IIS,SMTP"
  const occurrences = needle => {
    let count = 0;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      if (!/[A-Za-z0-9_,]/.test(text.charAt(at + needle.length))) count += 1;
    }
    return count;
  };
  return {height: doc.scrollHeight, scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth,
          cells: cells, wide: wide, tops: needles.map(top), counts: needles.map(occurrences), text: text,
          images: Array.from(document.images).map(i => ({width: i.width, height: i.height, natural: i.naturalWidth,
                                                          alt: i.alt}))};
}
"""

# Where the visible file-name cells (column "file") break a line inside a word although the part of
# the name between separators (/ \\ - _ . or a space) would fit on a line of the cell: each
# character's box (Range.getClientRects), a new line where a box starts below the last one.
WORD_BREAKS = r"""
() => {
  const separator = /[\/\\\-_.\s]/;
  const found = [];
  const cells = [];
  for (const table of document.querySelectorAll('table')) {
    const column = Array.from(table.querySelectorAll('thead th')).findIndex(th => th.innerText.trim() === 'file');
    if (column >= 0) table.querySelectorAll('tbody tr').forEach(row => row.children[column] && cells.push(row.children[column]));
  }
  for (const cell of cells) {
    const box = cell.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(cell);
    const room = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const chars = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (let i = 0; i < node.textContent.length; i++) {
        const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
        const rect = range.getClientRects()[0];
        if (rect) chars.push({c: node.textContent[i], top: rect.top, width: rect.width, height: rect.height});
      }
    }
    let start = 0;      // where the current part (between separators) starts
    for (let i = 1; i < chars.length; i++) {
      if (separator.test(chars[i - 1].c)) start = i;
      const newLine = chars[i].top > chars[i - 1].top + chars[i - 1].height / 2;
      if (!newLine || separator.test(chars[i - 1].c)) continue;
      let end = i;
      while (end < chars.length && !separator.test(chars[end].c)) end++;
      const part = chars.slice(start, Math.min(end + 1, chars.length));
      const width = part.reduce((sum, ch) => sum + ch.width, 0);
      const text = chars.map(ch => ch.c).join('');
      if (width <= room) found.push(`${text}: broken at ${text.slice(0, i)}|${text.slice(i)} ` +
                                    `(part ${Math.round(width)}px, cell ${Math.round(room)}px)`);
    }
  }
  return found;
}
"""


def chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    return browser_path()


@dataclass
class Seen:
    """What the browser saw of a page: requests refused, errors, and the measures of MEASURE."""

    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    page: Any = None

    def measure(self, needles: list[str] | tuple[str, ...] = ()) -> dict:
        return self.page.evaluate(MEASURE, list(needles))

    def words_broken(self) -> list[str]:
        """The file-name cells broken inside a word that would have fit (:data:`WORD_BREAKS`)."""
        return self.page.evaluate(WORD_BREAKS)


@contextmanager
def open_page(html: str, *, viewport: dict | None = None) -> Iterator[Seen]:
    """The page loaded from ``html`` in headless Chromium at ``viewport`` (1280×900)."""
    from playwright.sync_api import sync_playwright

    seen = Seen()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=viewport or VIEWPORT)

            def route(request_route: Any) -> None:
                url = request_route.request.url
                if url.startswith(LOCAL_SCHEMES):
                    request_route.continue_()
                else:
                    seen.refused.append(url)
                    request_route.abort()

            page.route("**/*", route)
            page.on("pageerror", lambda error: seen.errors.append(str(error)))
            page.on("console", lambda message: seen.errors.append(message.text) if message.type == "error" else None)
            page.on("request", lambda request: None if request.url.startswith(LOCAL_SCHEMES)
                    else seen.refused.append(request.url))
            page.set_content(html, wait_until="load")
            page.wait_for_function(ITABLES_BUILT, timeout=30_000)   # itables builds its tables after load
            seen.page = page
            yield seen
        finally:
            browser.close()


def keep_screenshot(seen: Seen, folder: Path, name: str, *, full_page: bool = True) -> Path | None:
    """A screenshot of the page, for a person to look at, in ``$EXLAB_ARTIFACTS`` (a copy in
    ``folder``); without that variable none is taken (a full page of every table row takes
    seconds to encode and nobody would see it)."""
    artifacts = os.environ.get("EXLAB_ARTIFACTS")
    if not artifacts:
        return None
    path = folder / f"{name}.png"
    seen.page.screenshot(path=str(path), full_page=full_page)
    Path(artifacts).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, Path(artifacts) / path.name)
    return path
