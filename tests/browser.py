"""Open an HTML file in headless Chromium and report what a reader would see.

The page is copied with a probe script added at the end of its body: it collects script
errors and failed resource loads (capturing 'error' events), console errors, and the
rendered size of every image, and writes them into the DOM, which Chromium dumps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

PROBE = """
<script>
(function () {
  var problems = [];
  window.addEventListener('error', function (e) {
    problems.push(e.message || ('failed to load ' + ((e.target && (e.target.src || e.target.href)) || '?')));
  }, true);
  var original = console.error;
  console.error = function () { problems.push(Array.prototype.join.call(arguments, ' ')); original.apply(console, arguments); };
  window.addEventListener('load', function () {
    var images = Array.prototype.map.call(document.images, function (img) {
      var box = img.getBoundingClientRect();
      return {width: box.width, height: box.height, natural: img.naturalWidth, complete: img.complete};
    });
    var out = document.createElement('pre');
    out.id = 'exlab-probe';
    out.textContent = JSON.stringify({problems: problems, images: images});
    document.body.appendChild(out);
  });
})();
</script>
"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--window-size=1280,2000"]


def chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_browser(page: Path, workdir: Path) -> dict:
    """Load ``page`` (a copy with the probe) and return {'problems': [...], 'images': [...],
    'console': [console error lines Chromium logged]}."""
    probed = workdir / "probed.html"
    html = page.read_text(encoding="utf-8")
    # the probe goes first in <head> so it sees every load error of the page
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    result = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={workdir / 'profile'}", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(workdir)},
    )
    match = re.search(r'<pre id="exlab-probe">(.*?)</pre>', result.stdout, re.S)
    if not match:
        raise AssertionError(f"the page did not finish loading: {result.stderr[-2000:]}")
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    found["console"] = [line for line in result.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    return found
