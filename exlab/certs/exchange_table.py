"""``Get-ExchangeCertificate`` as the default table, saved from the console.

``Thumbprint  Services  Subject`` with a ``----------`` underline; Services as the letters
``IPUWSFC`` with ``.`` where off. Columns are cut where the header says; a Subject the
console cut short ends in ``...`` (``…`` in PowerShell 7): it is kept as shown, marked
truncated (the merge then prefers a complete one) and noted.

>>> columns = header_columns("Thumbprint                                Services   Subject")
>>> columns
(42, 53)
"""

from __future__ import annotations

import re

from exlab.certs.exchange_props import PropsContext, exchange_rows
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "exchange-table"
_HEADER = re.compile(r"(?m)^Thumbprint +Services +Subject *\r?$")
_UNDERLINE = re.compile(r"^-{10} +-{8} +-{7} *$")


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-table`` when the text holds the default table's header.

    >>> sniff(b"", "\\r\\nThumbprint                                Services   Subject\\r\\n")
    'exchange-table'
    """
    return FORMAT if text is not None and _HEADER.search(text) else None


def header_columns(header: str) -> tuple[int, int]:
    """Where the Services and Subject columns start."""
    return header.index("Services"), header.index("Subject")


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """One row per table line; a line without a thumbprint is skipped and counted.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> text = ("Thumbprint" + " " * 32 + "Services   Subject\\n" + "AB" * 20 + "  ...WS..    CN=mail.contoso.com\\n")
    >>> report = ParseReport().add_file("t.txt", sha256="", format=FORMAT)
    >>> [(r["thumbprint"][:4], r["services"], r["subject"])
    ...  for r in read(open_evidence(io.BytesIO(text.encode())), FORMAT, ReadOptions(), report)]
    [('ABAB', ('IIS', 'SMTP'), 'CN=mail.contoso.com')]
    """
    text = read_text(evidence.stream, evidence.name, report)
    context = PropsContext(report, tz=options.tz)
    rows: list[dict] = []
    columns = None
    for number, line in enumerate(text.splitlines(), 1):
        if _HEADER.match(line):
            columns = header_columns(line)
            continue
        if columns is None or not line.strip() or _UNDERLINE.match(line):
            continue
        services_at, subject_at = columns
        thumbprint, services = line[:services_at].strip(), line[services_at:subject_at].strip()
        subject = line[subject_at:].rstrip()
        if not re.fullmatch(r"[0-9A-Fa-f]{40}", thumbprint):
            report.skip_record(f"line {number}", "expected a 40-digit thumbprint in the first column")
            continue
        truncated = frozenset({"subject"}) if subject.endswith(("...", "\u2026")) else frozenset()
        if truncated:
            report.note(f"line {number}: Subject cut by the console width; kept as shown")
        props = {"Thumbprint": thumbprint, "Services": services, "Subject": subject}
        rows.extend(exchange_rows(props, context, f"line {number}", truncated))
        report.records_read += 1
    return rows
