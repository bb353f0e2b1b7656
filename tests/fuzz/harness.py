"""The one fuzzing harness every format family shares.

A :class:`Family` names its reader and where its seed files are (lab samples, real exports,
the .evtx corpus: read where they lie, never copied). :func:`check` writes one input to a
temporary file, reads it under a time limit (a signal alarm) and accepts only rows or an
:class:`~exlab.errors.ExlabError`; anything else fails the test with what reproduces it.
Inputs that ever failed are replayed from ``regressions/``: small ones as files, big ones as
``(seed file, seed)`` recipes in ``regressions/recipes.json``.
"""

from __future__ import annotations

import json
import os
import signal
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from exlab.errors import ExlabError
from tests.conftest import CORPUS, REAL_EXPORTS, SAMPLES
from tests.fuzz.mutations import mutate

REGRESSIONS = Path(__file__).parent / "regressions"
RECIPES = REGRESSIONS / "recipes.json"
TIME_LIMIT = float(os.environ.get("EXLAB_FUZZ_TIME_LIMIT", "20"))   # seconds per input
EXAMPLES = int(os.environ.get("EXLAB_FUZZ_EXAMPLES", "25"))        # per family and run; CI keeps the default
SEED_BYTES = 48 * 1024    # text seeds are cut to their first lines within this many bytes


class TooSlow(BaseException):
    """An input took longer than TIME_LIMIT (BaseException: no reader's ``except Exception`` hides it)."""


@dataclass(frozen=True)
class Family:
    """One family of formats: its reader, its seed files, and the file suffix inputs are written with."""

    name: str
    read: Callable[[Path], object]
    seed_globs: tuple[str, ...]      # relative to the samples, real exports or corpus ("samples:", "real:", "corpus:")
    suffix: str = ".txt"
    text: bool = True                # cut seeds at a line within SEED_BYTES

    def seeds(self) -> dict[str, bytes]:
        """Every seed file's label and bytes (absent folders give none)."""
        roots = {"samples": SAMPLES, "real": REAL_EXPORTS, "corpus": CORPUS}
        found = {}
        for pattern in self.seed_globs:
            root_name, glob = pattern.split(":", 1)
            for path in sorted(roots[root_name].glob(glob)):
                data = path.read_bytes()
                if self.text and len(data) > SEED_BYTES:
                    cut = data.rfind(b"\n", 0, SEED_BYTES)
                    data = data[:cut + 1] if cut > 0 else data[:SEED_BYTES]
                found[f"{root_name}:{path.relative_to(roots[root_name]).as_posix()}"] = data
        return found


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TooSlow` in the block after ``seconds``."""
    def expire(signum, frame):
        raise TooSlow(f"still reading after {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(family: Family, data: bytes, folder: Path) -> str:
    """Read ``data`` as one file of ``family``: "rows", "empty" or the ExlabError's class name.
    Any other exception (or TooSlow) propagates."""
    path = folder / f"input{family.suffix}"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings(), time_limit(TIME_LIMIT):
            warnings.simplefilter("ignore")
            frame = family.read(path)
    except ExlabError as err:
        assert str(path.name) in str(err) or err.source, f"{type(err).__name__} names no file: {err}"
        return type(err).__name__
    finally:
        path.unlink(missing_ok=True)
    if isinstance(frame, pd.DataFrame):
        assert "parse_report" in frame.attrs, "a frame without its parse report"
        return "rows" if len(frame) else "empty"
    return "rows"


def check(family: Family, data: bytes, folder: Path, recipe: str) -> str:
    """:func:`outcome`, with any other exception turned into a failure that says how to reproduce it."""
    try:
        return outcome(family, data, folder)
    except (Exception, TooSlow) as err:   # noqa: BLE001 - that is the finding
        raise AssertionError(f"{family.name} reader on {recipe}: {type(err).__name__}: {err}") from err


def recipes(family: Family) -> list[tuple[str, int]]:
    """The (seed file, seed) pairs of ``family`` that once failed."""
    if not RECIPES.is_file():
        return []
    return [(row["seed_file"], row["seed"]) for row in json.loads(RECIPES.read_text(encoding="utf-8"))
            if row["family"] == family.name]


def regression_files(family: Family) -> list[Path]:
    """The small inputs of ``family`` that once failed, kept as files."""
    return sorted((REGRESSIONS / family.name).glob("*")) if (REGRESSIONS / family.name).is_dir() else []


def replay(family: Family, folder: Path) -> list[str]:
    """Every kept failing input of ``family`` read again; their outcomes."""
    seeds = family.seeds()
    outcomes = [check(family, path.read_bytes(), folder, str(path)) for path in regression_files(family)]
    for seed_file, seed in recipes(family):
        if seed_file in seeds:
            outcomes.append(check(family, mutate(seeds[seed_file], seed), folder, f"mutate({seed_file}, {seed})"))
    return outcomes
