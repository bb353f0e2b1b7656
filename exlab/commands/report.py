"""``exlab report FOLDER -o report.html``: the investigation as one HTML file for colleagues."""

from __future__ import annotations

import argparse
import sys

from exlab.case import discover, what_exlab_reads
from exlab.commands.investigate import add_case_options
from exlab.commands.terminal import visible
from exlab.errors import NoEvidence
from exlab.report import write_report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report`` and its options."""
    parser = subparsers.add_parser(
        "report", help="investigate a case folder and render the report as one HTML file",
        description="Execute the investigation notebook on FOLDER and render it, without code, to one "
                    "self-contained HTML file that colleagues can open without Python.")
    parser.add_argument("folder", help="the folder of exported evidence, or an evidence store (exlab fleet)")
    parser.add_argument("-o", "--output", required=True, help="the HTML file to write (outside FOLDER)")
    add_case_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check that FOLDER holds evidence (before the notebook starts), render, say where it went."""
    from exlab.fleet.store import is_store
    if not (is_store(args.folder) or discover(args.folder)[0]):
        raise NoEvidence(args.folder, "holds nothing exlab reads", f"one of: {what_exlab_reads()}")
    print(f"exlab: investigating {visible(args.folder)} ...", file=sys.stderr)
    path = write_report(args.folder, args.output, server_fqdn=args.fqdn, connector=args.connector,
                        roots=args.roots, tz=args.tz, culture=args.culture)
    print(f"exlab: report written to {visible(path)}", file=sys.stderr)
    return 0
