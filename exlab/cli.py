"""The ``exlab`` command. Each sub-command lives in ``exlab.commands.<name>``.

Each command module offers ``add_parser(subparsers)``, which registers its parser and
sets ``func`` (taking the parsed arguments, returning the exit code).

Warnings go to standard error, one line each naming the evidence file and the place in
it, so standard output holds only what was asked for (``--json -``: JSON alone). Evidence
names and text reach the terminal through ``exlab.visible.visible``: a control
character in a file name is shown as its escape, never acted on.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from exlab import __version__
from exlab.errors import ExlabError, ExlabWarning
from exlab.visible import visible

COMMANDS = ("events", "certs", "lab", "investigate", "report", "fleet")

#: What ``exlab``'s exit code says (the README's Commands section lists the same).
EXIT_CODES = {
    0: "done: the evidence was read and the result printed (whatever the verdict)",
    1: "an error: a path that does not exist, a file that cannot be read, a value exlab cannot use",
    2: "the command line is wrong (argparse's usage errors)",
    3: "no evidence of the kind the command reads was found",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exlab", description=(
        "Forensic kit for Exchange mail flow to Exchange Online: event 2004, TLS certificates, KB 2888788."))
    parser.add_argument("--version", action="version", version=f"exlab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what exlab does")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"exlab.commands.{name}").add_parser(subparsers)
    return parser


def add_link_option(parser: argparse.ArgumentParser) -> None:
    """``--follow-links``: read what links in the evidence folders point to outside them.

    >>> parser = argparse.ArgumentParser(); add_link_option(parser)
    >>> parser.parse_args(["--follow-links"]).follow_links
    True
    """
    parser.add_argument("--follow-links", action="store_true",
                        help="follow links (symlinks, junctions) leading out of the evidence folders; "
                             "by default they are passed over with a warning")


class WarningPrinter:
    """Shows each warning as one line on standard error, once: the evidence file and place for
    exlab's own, never a path or line of Python source (``warnings.showwarning``).

    >>> import io
    >>> from exlab.errors import AssumptionWarning
    >>> err = io.StringIO(); show = WarningPrinter(err)
    >>> w = AssumptionWarning("local times read as UTC", "certs/fl.txt", "line 12")
    >>> for _ in range(2):
    ...     show(w, AssumptionWarning, "certs/fl.txt", 12)
    >>> show(UserWarning("odd"), UserWarning, "/site-packages/lib.py", 7)
    >>> print(err.getvalue(), end="")
    warning: certs/fl.txt line 12: local times read as UTC
    warning: UserWarning: odd
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.shown: set[str] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = (message.located() if isinstance(message, ExlabWarning)
                else f"{category.__name__}: {message}")
        if text not in self.shown:
            self.shown.add(text)
            print(f"warning: {visible(text)}", file=self.stream or sys.stderr)


def _arrow_memory_pool() -> None:
    """A command run from here reads with Arrow's jemalloc pool, which hands freed memory back to
    the system (investigate's peak on a month of logs is about a tenth lower than with the default
    mimalloc); the engineer's own ARROW_DEFAULT_MEMORY_POOL wins. Only before pyarrow is imported
    (it reads the variable then), and on Linux, where pyarrow's wheels carry jemalloc."""
    if "pyarrow" not in sys.modules and sys.platform.startswith("linux"):
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


# A command's first allocations are pandas, pyarrow and cryptography being imported: objects that
# live until the process ends. At Python's default (700, 10, 10) the cycle collector walked them
# about 250 times, twice all of them (~0.1 s of the 0.9 s a small case takes); 10,000 allocations
# between young collections leave a handful. Cycles are still collected, a little later.
_COLLECTOR_THRESHOLDS = (10_000, 10, 10)
# Whether settled_imports froze objects that main hands back to the collector when the command ends
# (gc.get_freeze_count() would tell, but it counts the frozen objects one by one: ~3 ms).
_frozen_imports = False


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run a command with the cycle collector's :data:`_COLLECTOR_THRESHOLDS`, then put back the
    caller's (``main`` also runs inside a notebook or a test session), and hand what
    :func:`settled_imports` froze back to the collector.

    >>> before = gc.get_threshold()
    >>> with _fewer_collections():
    ...     gc.get_threshold() == _COLLECTOR_THRESHOLDS
    True
    >>> gc.get_threshold() == before
    True
    """
    global _frozen_imports
    before = gc.get_threshold()
    gc.set_threshold(*_COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if _frozen_imports:
            gc.unfreeze()
            _frozen_imports = False


@contextmanager
def settled_imports() -> Iterator[None]:
    """Import a command's modules with the cycle collector off, then freeze what they made: module
    objects live until the process ends, and the collector would walk them on each of its passes
    (~40 ms of a small investigation at :data:`_COLLECTOR_THRESHOLDS`). Only around imports: the
    command's own work is collected as usual. ``main`` unfreezes them when the command ends.

    >>> with _fewer_collections():
    ...     with settled_imports():
    ...         import json
    ...     gc.isenabled(), gc.get_freeze_count() > 0
    (True, True)
    >>> gc.get_freeze_count()
    0
    """
    global _frozen_imports
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        _frozen_imports = True
        if enabled:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Run the ``exlab`` command; returns the exit code (see :data:`EXIT_CODES`).

    >>> main(["events", "no-such-folder"])
    1
    """
    args = build_parser().parse_args(argv)
    _arrow_memory_pool()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    with warnings.catch_warnings(), _fewer_collections():
        warnings.simplefilter("always", ExlabWarning)
        warnings.showwarning = WarningPrinter()
        try:
            return int(args.func(args) or 0)
        except ExlabError as err:
            print(f"exlab: {visible(err)}", file=sys.stderr)
            return err.exit_code
        except BrokenPipeError:
            # the reader of our output went away (``exlab events ... | head``): not an error
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
            return 0
        except OSError as err:   # a file exlab could not open or write (permissions, a missing folder)
            print(f"exlab: {visible(err.filename)}: {err.strerror}" if err.filename else f"exlab: {visible(err)}",
                  file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
