"""A command run by ``exlab`` reads with Arrow's jemalloc pool (it hands freed memory back: a lower
peak on big logs), unless the engineer chose a pool with ARROW_DEFAULT_MEMORY_POOL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = ("import os, exlab.cli\n"
         "exlab.cli.main(['events', 'no-such-folder'])\n"
         "import pyarrow\n"
         "print(os.environ.get('ARROW_DEFAULT_MEMORY_POOL'), pyarrow.default_memory_pool().backend_name)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pyarrow's Linux wheels carry jemalloc")
@pytest.mark.parametrize(("chosen", "expected"), [(None, "jemalloc"), ("system", "system")])
def test_a_command_reads_with_arrows_jemalloc_pool_unless_told_otherwise(chosen, expected):
    env = {key: value for key, value in os.environ.items() if key != "ARROW_DEFAULT_MEMORY_POOL"}
    env["PYTHONPATH"] = str(REPO)
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    assert run.stdout.split() == [expected, expected]
