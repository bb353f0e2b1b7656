"""Jobs shared with helper processes: results in order, failures done again here."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from exlab import parallel
from exlab.parallel import Helper, HelperFailed, ordered_map

PARENT = os.getpid()


def twice_in_this_process_only(value: int) -> int:
    """Kills any helper process that runs it: the job must then be done by the caller."""
    if os.getpid() != PARENT:
        os._exit(3)
    return 2 * value


def test_results_come_back_in_the_order_of_the_jobs():
    jobs = [(number, 7) for number in range(40)]
    assert list(ordered_map(divmod, iter(jobs), helpers=2)) == [divmod(*job) for job in jobs]


def test_helpers_really_do_jobs():
    pids = list(ordered_map(os.getpid, iter([()] * 12), helpers=2))
    assert len(pids) == 12 and set(pids) - {os.getpid()}


def test_a_job_that_fails_in_a_helper_raises_here_with_its_own_error():
    with pytest.raises(ValueError, match="invalid literal for int"):
        list(ordered_map(int, iter([("1",), ("2",), ("x",), ("4",)]), helpers=1))


def test_a_helper_that_dies_leaves_its_jobs_to_this_process():
    jobs = [(value,) for value in range(6)]
    assert list(ordered_map(twice_in_this_process_only, iter(jobs), helpers=2)) == [0, 2, 4, 6, 8, 10]


def test_a_dead_helper_says_so():
    helper = Helper()
    helper.send(os._exit, (5,))
    with pytest.raises(HelperFailed, match="stopped"):
        helper.receive()
    helper.close()
    helper.wait()
    assert helper.process.returncode == 5


def test_no_helper_is_left_running():
    before = _children()
    list(ordered_map(divmod, iter([(9, 2)] * 8), helpers=2))
    assert _children() <= before


def test_importing_exlab_does_not_load_pandas():
    # helpers start in a tenth of a second because the package imports its parts on first use
    code = "import sys, exlab, exlab.events.evtx_format; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _children() -> set[int]:
    path = f"/proc/{os.getpid()}/task/{os.getpid()}/children"
    if not os.path.exists(path):
        pytest.skip("no /proc children list here")
    with open(path) as handle:
        return {int(pid) for pid in handle.read().split()}


def slow_in_helpers(value: int) -> int:
    """Stands for a helper that hangs: it sleeps far longer than the caller waits."""
    if os.getpid() != PARENT:
        time.sleep(600)
    return value + 1


def test_a_stuck_helper_is_stopped_and_its_jobs_done_here(monkeypatch):
    monkeypatch.setattr(parallel, "HELPER_PATIENCE", 1.0)
    started = time.monotonic()
    assert list(ordered_map(slow_in_helpers, iter([(value,) for value in range(4)]), helpers=1)) == [1, 2, 3, 4]
    assert time.monotonic() - started < 30


def interrupted_here(value: int) -> int:
    """Ctrl-C in the caller while the helpers are busy for a long time."""
    if os.getpid() == PARENT:
        raise KeyboardInterrupt
    time.sleep(600)
    return value


def test_an_interrupt_stops_the_helpers_at_once():
    before = _children()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        list(ordered_map(interrupted_here, iter([(value,) for value in range(6)]), helpers=2))
    assert time.monotonic() - started < 10
    assert _children() <= before
