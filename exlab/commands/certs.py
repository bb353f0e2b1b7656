"""``exlab certs``: who issued each certificate, and which one the transport presents.

    exlab certs PATH... [--name FQDN] [--roots FILE] [--at TIME] [-o FILE]
                [--tls-certificate-name '<I>issuer<S>subject'] [--password PW] [--tz ZONE] [--culture CULTURE]

With ``--name``, the certificates covering that name side by side (issuer class, whether
Microsoft 365 trusts the root, validity at ``--at``, services), the one the transport
would present marked ``->``. Without it, every certificate with its trust judgement.
A file the readers refuse does not stop the others: it is named (``not read: ...``, the
file, the place and what was expected) and the rest are read; a single file given alone
that is refused is still an error.
``-o`` writes the same table as CSV, Parquet or JSON Lines, chosen by the extension, by
the rules of :mod:`exlab.commands.export` (tuples ``; ``-joined in CSV, lists in JSON
Lines and Parquet; DER as Base64; CSV cells a spreadsheet would run as a formula
neutralised). ``--roots`` adds the
lab's public root (or any PEM of roots Exchange Online trusts) to Microsoft's program.

>>> parser = argparse.ArgumentParser(prog="exlab")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["certs", "evidence", "--name", "mail.contoso.com", "-o", "pair.csv"])
>>> args.paths, args.name, args.output
(['evidence'], 'mail.contoso.com', 'pair.csv')
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exlab.cli import add_link_option
from exlab.cultures import DATE_FORMATS
from exlab.errors import ExlabError, NoEvidence, UnsupportedFormat
from exlab.evidence import open_evidence, split_folders
from exlab.visible import visible

if TYPE_CHECKING:   # pandas, cryptography and the readers load when the command runs, not for --help
    import pandas as pd

LIST_COLUMNS = ("thumbprint", "issuer_class", "trusted_by_microsoft365", "not_before", "not_after", "services",
                "subject", "issuer")


def add_parser(subparsers) -> None:
    """Register ``exlab certs`` on the CLI's sub-command parsers."""
    parser = subparsers.add_parser(
        "certs", help="compare certificate issuers and predict the one presented to Exchange Online",
        description="Read certificate files and Get-ExchangeCertificate exports, judge who issued each "
                    "certificate and whether Microsoft 365 trusts it, and predict the outbound certificate.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="certificate files, exports or folders")
    parser.add_argument("--name", metavar="FQDN",
                        help="compare the certificates covering this name (the send connector's or server's FQDN)")
    parser.add_argument("--roots", metavar="FILE", help="PEM file of extra trust anchors (the lab's public root)")
    parser.add_argument("--at", metavar="TIME", help="judge validity and trust at this time (ISO 8601; naive = UTC; "
                        "default: now). Give the failure time.")
    parser.add_argument("--tls-certificate-name", metavar="VALUE",
                        help="the send connector's TlsCertificateName (<I>issuer<S>subject), when set")
    parser.add_argument("--password", help="password of .pfx files")
    parser.add_argument("--tz", help="the server's IANA time zone, for exports that print local times")
    parser.add_argument("--culture", choices=tuple(DATE_FORMATS), metavar="CULTURE",
                        help="the server's culture (e.g. en-AU, en-GB, de-DE), for exports whose dates do not "
                             "tell day from month")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the table to FILE (.csv, .parquet or .jsonl)")
    add_link_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, judge, print, write; returns the exit code."""
    from exlab.certs.compare import compare_issuers
    from exlab.certs.reader import read_readable_certs
    from exlab.certs.trust import judge_trust
    from exlab.commands.export import export_target, write_export

    output = export_target(args.output, args.paths)
    at = _time(args.at)
    files, passed_over = certificate_files(args.paths, follow_links=args.follow_links)
    if not files:
        raise NoEvidence(", ".join(args.paths), None, "a certificate file or a Get-ExchangeCertificate export",
                         f"{len(passed_over)} file(s) looked at, none holds one")
    if passed_over:
        print(f"passed over {len(passed_over)} file(s) in the folders that hold no certificates")
    certs, refused = read_readable_certs(files, password=args.password, tz=args.tz, culture=args.culture)
    for err in refused:
        print(f"not read: {_clean(str(err))}")
    if args.name:
        table = compare_issuers(certs, args.name, roots=args.roots, at=at,
                                tls_certificate_name=args.tls_certificate_name)
        print(comparison_text(table, args.name, at))
    else:
        table = judge_trust(certs, roots=args.roots, at=at)
        print(listing_text(table, at))
    if output is not None:
        write_export(table, output)
        print(f"\nwrote {len(table):,} row(s) to {visible(output)}")
    return 0


def certificate_files(paths: list[str], *, follow_links: bool = False) -> tuple[list[Path], list[Path]]:
    """Every file named, and the certificate files and exports found in folders (others passed over).

    >>> import tempfile
    >>> from exlab.lab.pki import LabPki
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = (Path(folder) / "root.cer").write_bytes(LabPki("doc").public_root.der)
    ...     _ = (Path(folder) / "notes.txt").write_text("asked the admin on Monday")
    ...     files, passed_over = certificate_files([folder])
    >>> [f.name for f in files], [f.name for f in passed_over]
    (['root.cer'], ['notes.txt'])
    """
    return split_folders(paths, _holds_certificates, follow_links=follow_links)


def _holds_certificates(path: Path) -> bool:
    from exlab.certs.reader import detect_format

    evidence = open_evidence(path)
    try:
        detect_format(evidence)
        return True
    except UnsupportedFormat:
        return False
    finally:
        evidence.close()


def comparison_text(table: pd.DataFrame, name: str, at: Any) -> str:
    """The comparison for the terminal: one block per certificate, the selected one marked ``->``.

    >>> import pandas as pd
    >>> from exlab.certs.compare import COMPARISON_COLUMNS
    >>> print(comparison_text(pd.DataFrame(columns=COMPARISON_COLUMNS), "mail.contoso.com", None))
    No certificate covers mail.contoso.com.
    """
    from exlab.certs.trust import flag

    if table.empty:
        return f"No certificate covers {_clean(name)}."
    lines = [f"Certificates covering {_clean(name)} ({_when(at)}), newest first; -> = presented outbound:", ""]
    for row in table.to_dict("records"):
        mark = "->" if flag(row["selected"]) is True else "  "
        lines.append(f"{mark} {row['thumbprint']}  {_class(row)}  {_validity(row)}  services {_services(row)}")
        lines.append(f"     subject {_clean(row['subject'])}")
        lines.append(f"     issuer  {_clean(row['issuer'])}  (root: {_clean(row['root_subject']) or 'not found'})")
        lines.append(f"     basis   {_clean(row['trust_basis'])}")
    outbound = table.attrs.get("outbound")
    if outbound:
        lines += ["", f"Transport: {_clean(outbound)}"]
    return "\n".join(lines)


def listing_text(table: pd.DataFrame, at: Any) -> str:
    """Every certificate with its issuer class, for the terminal.

    >>> import pandas as pd
    >>> print(listing_text(pd.DataFrame(columns=list(LIST_COLUMNS) + ["trust_basis"]), None))
    No certificates read.
    """
    if table.empty:
        return "No certificates read."
    lines = [f"{len(table)} certificate(s), trust judged {_when(at)}:", ""]
    for row in table.to_dict("records"):
        lines.append(f"   {row['thumbprint']}  {_class(row)}  {_validity(row)}  services {_services(row)}")
        lines.append(f"     subject {_clean(row['subject'])}")
        lines.append(f"     issuer  {_clean(row['issuer'])}")
    return "\n".join(lines)


def _time(value: str | None) -> pd.Timestamp | None:
    import pandas as pd

    from exlab.certs.trust import judgement_time

    if value is None:
        return None
    try:
        return pd.Timestamp(judgement_time(value)[0])
    except ValueError as err:
        raise ExlabError("--at", value, "a time such as 2025-03-20T09:14:02Z", str(err)) from err


def _when(at: Any) -> str:
    from exlab.certs.trust import judgement_time
    from exlab.commands.export import utc_text

    moment, defaulted = judgement_time(at)
    return "at now: no --at given" if defaulted else f"at {utc_text(moment)}"


def _class(row: dict) -> str:
    from exlab.certs.trust import present

    trusted = present(row.get("trusted_by_microsoft365"))
    verdict = {True: "trusted by Microsoft 365", False: "NOT trusted by Microsoft 365"}.get(trusted, "trust unknown")
    return f"{present(row.get('issuer_class')) or 'unknown':<11}  {verdict:<28}"


def _validity(row: dict) -> str:
    from exlab.certs.trust import present

    start, end = present(row.get("not_before")), present(row.get("not_after"))
    dates = f"{start:%Y-%m-%d}" if start is not None else "?"
    dates += f"..{end:%Y-%m-%d}" if end is not None else "..?"
    valid = present(row.get("valid_at"))
    return dates + {True: " valid", False: " NOT valid"}.get(valid, "")


def _services(row: dict) -> str:
    from exlab.certs.trust import present

    services = present(row.get("services"))
    return ",".join(services) if isinstance(services, tuple) and services else ("none" if services == () else "?")


def _clean(value: Any) -> str:
    """Evidence text for the terminal: control characters shown as escapes, never interpreted."""
    from exlab.certs.trust import present

    return visible(None if present(value) is None else value)
