"""``exlab investigate FOLDER``: read a case folder, diagnose it, print the verdict and the fix.

``--json FILE`` also writes the diagnosis as JSON; ``--json -`` writes only the JSON to
stdout and the human summary to stderr. Exit code 0 when the case was analysed
(whatever the verdict), 3 when FOLDER holds no evidence, 1 on another ExlabError
(``exlab.cli.EXIT_CODES``).

Outputs are small functions of (args, case, diagnosis) in :data:`OUTPUTS`; a new option
(an HTML report, say) adds its argument in :func:`add_parser` and its function there.

>>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers()
>>> add_parser(sub)
>>> args = parser.parse_args(["investigate", "evidence", "--json", "-", "--tz", "Europe/Warsaw"])
>>> args.folder, args.json, args.tz
('evidence', '-', 'Europe/Warsaw')
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from exlab.cultures import DATE_FORMATS
from exlab.cli import add_link_option, settled_imports
from exlab.evidence import output_file, outside_evidence, text_name, writing
from exlab.visible import visible, visible_lines

if TYPE_CHECKING:   # pandas and the case machinery load when the command runs, not for --help
    from exlab.analysis.diagnose import Diagnosis
    from exlab.case import Case


def add_case_options(parser: argparse.ArgumentParser) -> None:
    """The options that tell exlab what the evidence cannot say."""
    parser.add_argument("--fqdn", help="the transport server's FQDN, when the evidence does not say")
    parser.add_argument("--connector", help="the send connector to Exchange Online, when several exist")
    parser.add_argument("--roots", help="a PEM file of trust anchors Exchange Online trusts (the lab's public root)")
    parser.add_argument("--tz", help="the servers' time zone (IANA name, e.g. Europe/Warsaw)")
    parser.add_argument("--server-tz", action="append", default=[], metavar="SERVER=ZONE",
                        help="a server whose exports were written in another zone than --tz (its folder, zip or "
                             "file name names it), e.g. EX02=America/New_York; repeat for each")
    parser.add_argument("--culture", choices=tuple(DATE_FORMATS), metavar="CULTURE",
                        help="the servers' culture (e.g. en-AU, en-GB, de-DE), for exports whose dates do not "
                             "tell day from month")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``investigate`` and its options."""
    parser = subparsers.add_parser(
        "investigate", help="diagnose a case folder: is it KB 2888788, and what to run to fix it",
        description="Read every piece of evidence in FOLDER, diagnose KB 2888788 and its look-alikes, "
                    "and print the verdict, the key evidence and the commands.")
    parser.add_argument("folder", help="the folder (or .zip) of exported evidence, or an evidence store (exlab fleet)")
    add_case_options(parser)
    add_link_option(parser)
    parser.add_argument("--json", metavar="FILE",
                        help="write the diagnosis as JSON to FILE ('-': only the JSON to stdout, the summary to stderr)")
    parser.add_argument("--report", metavar="FILE",
                        help="also render the investigation as one HTML file for colleagues (see 'exlab report')")
    parser.set_defaults(func=run)


def case_summary(case: Case) -> str:
    """What was read, what was not, what was inferred: lines for the terminal.

    One line per kind of evidence from the case's inventory (found, missing, or found but
    unusable, and why), then the files not used, and why.
    """
    from exlab.case import evidence_files

    reports = case.reports
    lines = [f"read {len(evidence_files(reports)):,} evidence file(s) from {case.folder}: {reports.records_read:,} record(s), "
             f"{reports.records_skipped:,} skipped, {reports.chunks_skipped:,} chunk(s) skipped"]
    trust = case.extra_trust()
    if trust:
        lines.append(f"  trusted besides Microsoft's root program: {trust}")
    inventory = case.inventory()
    for row in inventory[inventory["status"] != "unused"].itertuples():
        servers = f" from {row.servers}" if isinstance(row.servers, str) else ""
        line = f"  {row.kind}: {row.status}"
        if row.status != "missing":
            line += f", {row.files:,} file(s), {row.rows:,} row(s){servers}"
        lines.append(line + (f" ({row.why})" if isinstance(row.why, str) and row.status != "missing" else ""))
    lines += [f"  not read: {row.file} ({row.why})" for row in inventory[inventory["status"] == "unused"].itertuples()]
    return visible_lines(lines)


def write_json(args: argparse.Namespace, case: Case, diagnosis: Diagnosis, out: TextIO) -> None:
    """``--json``: the diagnosis, plus which files were read, as JSON."""
    if not args.json:
        return
    import pandas as pd

    payload: dict[str, Any] = diagnosis.to_dict()
    payload["case"] = {
        "folder": text_name(case.folder),
        "files": [{"file": f.file, "sha256": f.sha256, "format": f.format, "records_read": f.records_read,
                   "records_skipped": f.records_skipped} for f in case.reports.files],
        "unread": case.unread[["file", "reason"]].to_dict("records"),
        "inventory": [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
                      for row in case.inventory().to_dict("records")],
        "inferred": case.inferred,
    }
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    if args.json == "-":
        out.write(text + "\n")
        return
    with writing(args.json):
        outside_evidence(args.json, [case.folder]).write_text(text + "\n", encoding="utf-8")


def write_html_report(args: argparse.Namespace, case: Case, diagnosis: Diagnosis, out: TextIO) -> None:
    """``--report``: the report of the case (``exlab.report``) as one HTML file."""
    if not args.report:
        return
    from exlab.report import save_report  # matplotlib and itables load only when asked
    human = sys.stderr if args.json == "-" else sys.stdout
    print("\nrendering the report ...", file=human)
    path = save_report(case, args.report)
    print(f"report written to {visible(path)}", file=human)


OUTPUTS: tuple[Callable[[argparse.Namespace, Case, Diagnosis, TextIO], None], ...] = (write_json, write_html_report)


def run(args: argparse.Namespace) -> int:
    """Open the case, diagnose it, print and write what was asked."""
    with settled_imports():
        from exlab.case import open_case
        from exlab.settings import server_zones

    human = sys.stderr if args.json == "-" else sys.stdout
    for target in (args.json, args.report):
        if target and target != "-":
            output_file(target, [args.folder])
    case = open_case(args.folder, server_fqdn=args.fqdn, connector=args.connector, roots=args.roots,
                     tz=args.tz, culture=args.culture, server_tz=server_zones(args.server_tz),
                     progress=sys.stderr.isatty(),
                     follow_links=args.follow_links)
    diagnosis = case.diagnose()
    print(case_summary(case), file=human)
    print(file=human)
    print(visible_lines(diagnosis.lines()), file=human)
    for output in OUTPUTS:
        output(args, case, diagnosis, sys.stdout)
    if args.json and args.json != "-":
        print(f"\ndiagnosis written to {visible(args.json)}", file=human)
    return 0
