"""``Get-ExchangeCertificate | fl`` and ``| fl *`` saved from the console.

``Name : value`` lines, the names padded to the longest; a long value continues on the
next lines, indented under the value (between words in the cultures PowerShell wraps words in,
else at the console's width, mid-word: :mod:`exlab.format_list`); certificates are separated by
blank lines. Lines that belong to no property (a prompt, the command echoed) are counted in the
report.

>>> from exlab.certs.options import ReadOptions
>>> from exlab.parse_report import ParseReport
>>> text = ("\\r\\nCertificateDomains : {mail.contoso.com, autodiscover.contoso.com,\\r\\n"
...         "                     legacy.contoso.com}\\r\\nServices           : IMAP, POP, IIS, SMTP\\r\\n"
...         "Thumbprint         : 3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55\\r\\n\\r\\n")
>>> [props] = property_blocks(text, ParseReport().add_file("fl.txt", sha256="", format="x"))
>>> props["CertificateDomains"], props["Services"]
('{mail.contoso.com, autodiscover.contoso.com, legacy.contoso.com}', 'IMAP, POP, IIS, SMTP')
"""

from __future__ import annotations

import re

from exlab.certs.exchange_props import counted_rows, text_context
from exlab.certs.exchange_values import date_samples
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.cultures import wraps_words
from exlab.evidence import Evidence
from exlab.format_list import objects
from exlab.parse_report import FileReport

FORMAT = "exchange-list"
_THUMBPRINT_LINE = re.compile(r"(?m)^Thumbprint *: [0-9A-Fa-f]{40}\s*$")
_MARKERS = re.compile(r"(?m)^(?:CertificateDomains|RootCAType|HasPrivateKey|Services|Identity) *: ")


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-list`` when the text has Get-ExchangeCertificate's Format-List properties.

    >>> sniff(b"", "Services   : IIS, SMTP\\r\\nThumbprint : " + "AB" * 20), sniff(b"", "Name : x")
    ('exchange-list', None)
    """
    if text is None:
        return None
    if _THUMBPRINT_LINE.search(text):
        return FORMAT
    found = {m.group(0).split()[0] for m in _MARKERS.finditer(text)}
    return FORMAT if len(found) >= 2 and found - {"Identity", "Services"} else None


def property_blocks(text: str, report: FileReport, culture: str | None = None) -> list[dict[str, str]]:
    """One dict of property -> value per certificate (:func:`exlab.format_list.objects`: a value wrapped
    between words or at the width, as the ``culture`` wraps when given, joined as it was before the console
    cut it)."""
    stray: list[int] = []
    words = wraps_words(culture) if culture else None
    blocks = objects(enumerate(text.splitlines(), 1), stray, breaks=False, words=words)
    if stray:
        report.note(f"{len(stray):,} line(s) outside any property (prompts, echoed commands) ignored")
    return blocks


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """Rows for every certificate block; a block that names no certificate is skipped and counted.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> text = "Services   : IIS, SMTP\\r\\nThumbprint : " + "AB" * 20 + "\\r\\n\\r\\nServices : IIS\\r\\n"
    >>> report = ParseReport().add_file("fl.txt", sha256="", format=FORMAT)
    >>> rows = read(open_evidence(io.BytesIO(text.encode("utf-16"))), FORMAT, ReadOptions(), report)
    >>> [row["services"] for row in rows], report.records_skipped
    ([('IIS', 'SMTP')], 1)
    """
    text = read_text(evidence.stream, evidence.name, report)
    blocks = property_blocks(text, report, options.culture)
    samples = [s for b in blocks for k in ("NotAfter", "NotBefore") if k in b for s in date_samples(b[k])]
    context = text_context(report, options, samples, evidence.name)
    return [row for number, props in enumerate(blocks, 1)
            for row in counted_rows(props, context, f"certificate {number}",
                                    f"certificate {number} (property block {number})")]
