"""``exlab report FOLDER -o report.html [--pdf report.pdf]``: the investigation as one HTML
file for colleagues (and as PDF for change boards)."""

from __future__ import annotations

import argparse
import sys

from exlab.cli import add_link_option
from exlab.commands.investigate import add_case_options
from exlab.errors import NoEvidence
from exlab.visible import visible


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``report`` and its options."""
    parser = subparsers.add_parser(
        "report", help="investigate a case folder and write the report as one HTML file (and PDF)",
        description="Investigate FOLDER and write the report to one self-contained HTML file that colleagues "
                    "can open without Python: the verdict and the fix first, then the proof, then the details. "
                    "--pdf prints the same page to PDF in headless Chromium.")
    parser.add_argument("folder", help="the folder of exported evidence, or an evidence store (exlab fleet)")
    parser.add_argument("-o", "--output", required=True, help="the HTML file to write (outside FOLDER)")
    parser.add_argument("--pdf", metavar="FILE", help="also write the report as PDF (outside FOLDER)")
    add_case_options(parser)
    add_link_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check that FOLDER holds evidence, write the report, say where it went."""
    from exlab.case import discover, what_exlab_reads
    from exlab.report import write_report  # matplotlib and itables load only here
    from exlab.settings import server_zones

    from exlab.fleet.store import is_store

    if not (is_store(args.folder) or discover(args.folder, follow_links=args.follow_links)[0]):
        raise NoEvidence(args.folder, "holds nothing exlab reads", f"one of: {what_exlab_reads()}")
    print(f"exlab: investigating {visible(args.folder)} ...", file=sys.stderr)
    path = write_report(args.folder, args.output, pdf=args.pdf, server_fqdn=args.fqdn, connector=args.connector,
                        roots=args.roots, tz=args.tz, culture=args.culture, server_tz=server_zones(args.server_tz),
                        follow_links=args.follow_links)
    print(f"exlab: report written to {visible(path)}", file=sys.stderr)
    if args.pdf:
        print(f"exlab: PDF written to {visible(args.pdf)}", file=sys.stderr)
    return 0
