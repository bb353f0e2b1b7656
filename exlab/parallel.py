"""Work shared between this process and helper processes, results kept in order.

Reading a big .evtx file is Python work (pyevtx-rs renders each record, exlab builds
its row), so a second core only helps from a second process. :func:`ordered_map`
runs ``function(*job)`` for every job: this process takes jobs itself while helper
processes take others, and the results come back in the order of the jobs, so the
outcome is the same as a loop in one process.

Helpers are plain child processes (``python -c "...serve()"``) that receive pickled
jobs on their standard input and send pickled results back on their standard output.
They import only what the function needs (about 0.1 s for the event readers), never
the caller's script (as ``multiprocessing``'s spawn and forkserver do), and they work
the same way on Windows. A helper that cannot start, dies or fails leaves its job to
this process: nothing is lost, and an error is raised here with its own traceback.

>>> list(ordered_map(divmod, iter([(7, 2), (9, 4)]), helpers=0))
[(3, 1), (2, 1)]
"""

from __future__ import annotations

import gc
import os
import pickle
import site
import subprocess
import sys
import sysconfig
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

try:
    import fcntl
except ImportError:  # Windows: pipes keep their size
    fcntl = None

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])   # the folder that holds exlab/
_SERVE = "from exlab.parallel import serve; serve()"
HELPER_PATIENCE = 60.0   # seconds a helper may still need once this process has no job left


def cores() -> int:
    """How many cores this process may run on.

    >>> cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while many objects are built and kept.

    Building a frame of a million rows creates millions of dicts and tuples; each
    collection on the way walks all of them again (and finds no cycles to free).

    >>> with paused_gc():
    ...     gc.isenabled()
    False
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class HelperFailed(Exception):
    """A helper process could not do a job (it is then done in this process)."""


class Helper:
    """One helper process; jobs go in and results come back in the order they were sent.

    Each message is its length (8 bytes) and a pickle, so a result is read in a few
    large reads: the thread that waits for it needs the GIL only a few times while
    this process is busy with jobs of its own.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _SERVE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_helper_env())
        for pipe in (self.process.stdin, self.process.stdout):
            _widen(pipe)

    def send(self, function: Callable, job: tuple) -> None:
        """Queue ``function(*job)`` in the helper."""
        try:
            _write(self.process.stdin, (function, job))
        except (OSError, ValueError, pickle.PickleError) as err:
            raise HelperFailed(f"helper process {self.process.pid} stopped: {err!r}") from err

    def receive(self) -> Any:
        """The result of the oldest job sent; HelperFailed if the helper cannot give it."""
        try:
            failed, result = _read(self.process.stdout)
        except (OSError, EOFError, ValueError, pickle.PickleError) as err:
            raise HelperFailed(f"helper process {self.process.pid} stopped: {err!r}") from err
        if failed:
            raise HelperFailed(result)
        return result

    def close(self) -> None:
        """Let the helper end (it ends when its input closes)."""
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def wait(self) -> None:
        """Make sure the helper ended (it was closed before)."""
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


def _helper_env() -> dict[str, str]:
    """The environment of a helper: this one, and the folder that holds exlab on its path
    when exlab is not installed (a checkout put on ``sys.path`` by hand). An installed exlab
    is found as it is: putting site-packages ahead of the standard library could shadow it.

    >>> installed = _PACKAGE_ROOT in {*sysconfig.get_paths().values(), site.getusersitepackages()}
    >>> installed or _helper_env()["PYTHONPATH"].startswith(_PACKAGE_ROOT)
    True
    """
    env = dict(os.environ)
    installed = {*sysconfig.get_paths().values(), site.getusersitepackages()}
    if _PACKAGE_ROOT not in installed:
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + path if path else "")
    return env


def ordered_map(function: Callable, jobs: Iterator[tuple], helpers: int) -> Iterator[Any]:
    """``function(*job)`` for each job, in the order of ``jobs``, with ``helpers`` helper
    processes working beside this one (none: a plain loop here).

    ``function`` must be importable by name (a module-level function) and the jobs and
    results picklable. ``jobs`` is consumed by one thread at a time.
    """
    if helpers <= 0:
        for job in jobs:
            yield function(*job)
        return
    lock = threading.Lock()
    numbered = enumerate(jobs)

    def take() -> tuple[int, tuple] | None:
        with lock:
            return next(numbered, None)

    results: dict[int, Any] = {}
    left_over: list[tuple[int, tuple]] = []   # jobs a helper could not do

    def feed(helper: Helper) -> None:
        sent: deque[tuple[int, tuple]] = deque()
        try:
            while True:
                # one job in hand and one waiting, so the helper never waits for this process
                while len(sent) < 2 and (item := take()) is not None:
                    helper.send(function, item[1])
                    sent.append(item)
                if not sent:
                    return
                results[sent[0][0]] = helper.receive()
                sent.popleft()
        except HelperFailed:
            left_over.extend(sent)

    started: list[Helper] = []
    threads: list[threading.Thread] = []
    try:
        for _ in range(helpers):
            try:
                started.append(Helper())
            except OSError:
                break
        threads = [threading.Thread(target=feed, args=(helper,), daemon=True) for helper in started]
        for thread in threads:
            thread.start()
        slowest = 0.0
        while (item := take()) is not None:
            started_at = time.monotonic()
            results[item[0]] = function(*item[1])
            slowest = max(slowest, time.monotonic() - started_at)
        # a helper that is far slower than this process (stuck, or starved of memory) is
        # stopped, and its jobs are done here
        deadline = time.monotonic() + max(HELPER_PATIENCE, 20 * slowest)
        for helper, thread in zip(started, threads):
            thread.join(max(deadline - time.monotonic(), 0))
            if thread.is_alive():
                helper.process.kill()
                thread.join()
        for number, job in sorted(left_over, key=lambda item: item[0]):
            results[number] = function(*job)
    except BaseException:
        # an error or an interrupt (Ctrl-C, a notebook's stop button): no result is wanted
        # any more, and a helper may be blocked writing one, so the helpers are stopped
        for helper in started:
            helper.process.kill()
        raise
    finally:
        for helper in started:
            helper.close()
        for helper in started:
            helper.wait()
        for thread in threads:
            thread.join()
    for number in range(len(results)):
        yield results.pop(number)


def _widen(pipe: BinaryIO) -> None:
    """Let a pipe hold a whole result (1 MiB instead of 64 KiB) where the system allows it."""
    if fcntl is not None and hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass


def _write(stream: BinaryIO, message: Any) -> None:
    payload = pickle.dumps(message, protocol=_PROTOCOL)
    stream.write(len(payload).to_bytes(8, "little") + payload)
    stream.flush()


def _read(stream: BinaryIO) -> Any:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the helper's output ended")
    size = int.from_bytes(header, "little")
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError("the helper's output ended inside a result")
    return pickle.loads(payload)


def serve(requests: BinaryIO | None = None, answers: BinaryIO | None = None) -> None:
    """A helper's loop: ``(function, job)`` in, ``(failed, result or traceback)`` out, until
    its input ends. Run by :class:`Helper` in a child process.

    >>> import io
    >>> requests, answers = io.BytesIO(), io.BytesIO()
    >>> _write(requests, (divmod, (7, 2)))
    >>> serve(io.BytesIO(requests.getvalue()), answers)
    >>> _read(io.BytesIO(answers.getvalue()))
    (False, (3, 1))
    """
    if answers is None:
        # the answers get their own copy of standard output; what else prints goes to stderr
        answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = requests or sys.stdin.buffer
    while True:
        try:
            function, job = _read(requests)
        except EOFError:
            return
        try:
            with paused_gc():
                answer = (False, function(*job))
        except Exception:  # noqa: BLE001 - sent back; the caller runs the job again and raises
            answer = (True, traceback.format_exc())
        _write(answers, answer)
