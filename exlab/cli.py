"""The ``exlab`` command. Each sub-command lives in ``exlab.commands.<name>``.

Each command module offers ``add_parser(subparsers)``, which registers its parser and
sets ``func`` (taking the parsed arguments, returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

from exlab import __version__
from exlab.errors import ExlabError, ExlabWarning

COMMANDS = ("events", "certs", "lab", "investigate", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exlab", description=(
        "Forensic kit for Exchange mail flow to Exchange Online: event 2004, TLS certificates, KB 2888788."))
    parser.add_argument("--version", action="version", version=f"exlab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what exlab does")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"exlab.commands.{name}").add_parser(subparsers)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    with warnings.catch_warnings():
        warnings.simplefilter("always", ExlabWarning)
        warnings.showwarning = _show_warning
        try:
            return int(args.func(args) or 0)
        except ExlabError as err:
            print(f"exlab: {err}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            # the reader of our output went away (``exlab events ... | head``): not an error
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python's exit flush quiet
            return 0


if __name__ == "__main__":
    sys.exit(main())
