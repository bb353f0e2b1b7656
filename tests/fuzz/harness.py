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
from functools import cache
from pathlib import Path

import pandas as pd

from exlab.errors import ExlabError
from tests.conftest import CORPUS, REAL_EXPORTS, REPO, SAMPLES
from tests.fuzz.mutations import mutate

REGRESSIONS = Path(__file__).parent / "regressions"
RECIPES = REGRESSIONS / "recipes.json"
TIME_LIMIT = float(os.environ.get("EXLAB_FUZZ_TIME_LIMIT", "20"))   # seconds per input
EXAMPLES = int(os.environ.get("EXLAB_FUZZ_EXAMPLES", "100"))       # per family and run; CI keeps the default
BASE_SEED = int(os.environ.get("EXLAB_FUZZ_SEED", "0"))            # another base seed: a fresh corpus
MUTATORS = os.environ.get("EXLAB_FUZZ_MUTATORS", "base")            # "more": other mutations too
SEED_BYTES = 48 * 1024    # text seeds are cut to their first lines within this many bytes


class TooSlow(BaseException):
    """An input took longer than TIME_LIMIT (BaseException: no reader's ``except Exception`` hides it)."""


@dataclass(frozen=True)
class Family:
    """One family of formats: its reader, its seed files, and the file suffix inputs are written with."""

    name: str
    read: Callable[[Path], object]
    seed_globs: tuple[str, ...]      # under the samples, real exports, corpus or tests ("samples:", "real:", ...)
    suffix: str = ".txt"
    text: bool = True                # cut seeds at a line within SEED_BYTES
    made: Callable[[], dict[str, bytes]] | None = None   # seeds the lab writes, labelled "lab:..."

    def seeds(self) -> dict[str, bytes]:
        """Every seed file's label and bytes (absent folders give none), read once."""
        return _seeds(self)

    def cases(self, count: int = EXAMPLES, base: int = BASE_SEED) -> list[tuple[str, int]]:
        """``count`` (seed file, seed) pairs, going round the seed files in label order."""
        labels = sorted(self.seeds())
        return [(labels[n % len(labels)], base + n) for n in range(count)] if labels else []


@cache
def _seeds(family: Family) -> dict[str, bytes]:
    roots = {"samples": SAMPLES, "real": REAL_EXPORTS, "corpus": CORPUS, "tests": REPO / "tests"}
    found = dict(family.made()) if family.made else {}
    for pattern in family.seed_globs:
        root_name, glob = pattern.split(":", 1)
        for path in sorted(roots[root_name].glob(glob)):
            data = path.read_bytes()
            if family.text and len(data) > SEED_BYTES:
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
        assert path.name in (err.source or ""), f"{type(err).__name__} does not name the file: {err}"
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


@dataclass(frozen=True)
class Regression:
    """One input that once failed: a small file under ``regressions/<family>/``, or a recipe
    ``(seed file, seed)`` of ``regressions/recipes.json``. ``open`` names the exception it still
    raises when its reader is not fixed yet (the test is then an expected failure, strict)."""

    family: Family
    label: str
    file: Path | None = None
    seed_file: str = ""
    seed: int = 0
    mutators: str = "base"
    open: str | None = None

    def data(self) -> bytes | None:
        """The input's bytes (None when the recipe's seed file is absent here)."""
        if self.file is not None:
            return self.file.read_bytes()
        seeds = self.family.seeds()
        return mutate(seeds[self.seed_file], self.seed, self.mutators) if self.seed_file in seeds else None


def regressions(families: tuple[Family, ...]) -> list[Regression]:
    """Every kept failing input of ``families``: the files, then the recipes."""
    by_name = {family.name: family for family in families}
    rows = json.loads(RECIPES.read_text(encoding="utf-8")) if RECIPES.is_file() else []
    open_files = {row["file"]: row.get("open") for row in rows if "file" in row}
    kept = [Regression(family, f"{family.name}/{path.name}", file=path, open=open_files.get(f"{family.name}/{path.name}"))
            for family in families for path in sorted((REGRESSIONS / family.name).glob("*"))]
    kept += [Regression(by_name[row["family"]], _recipe(row["seed_file"], row["seed"], row.get("mutators", "base")),
                        seed_file=row["seed_file"], seed=row["seed"], mutators=row.get("mutators", "base"),
                        open=row.get("open"))
             for row in rows if "seed_file" in row and row["family"] in by_name]
    return kept


def _recipe(seed_file: str, seed: int, mutators: str) -> str:
    """How a recipe is shown: the call that gives its bytes."""
    return f"mutate({seed_file}, {seed})" if mutators == "base" else f"mutate({seed_file}, {seed}, {mutators!r})"
