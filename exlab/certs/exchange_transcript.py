"""Get-ExchangeCertificate output inside a PowerShell transcript or console copy (:mod:`exlab.transcript`).

Each command's output is told apart by the text formats' own sniffing (a ``| fl`` list, the
default table or an ``| ft`` one, ``ConvertTo-Json``...); the outputs of one format are read by that format's reader,
the rest of the transcript blanked, so the lines keep their numbers. The output of other
commands (``Get-SendConnector | fl``...) is left to their readers.

>>> import io
>>> from exlab.certs.options import ReadOptions
>>> from exlab.evidence import open_evidence
>>> from exlab.parse_report import ParseReport
>>> text = "\\r\\n".join(["*" * 22, "Windows PowerShell transcript start", "*" * 22,
...                      "[PS] C:\\\\>Get-ExchangeCertificate | fl", "", "Services   : IIS, SMTP",
...                      "Thumbprint : " + "AB" * 20, "", "[PS] C:\\\\>Get-SendConnector | fl", "", "Name : Outbound"])
>>> report = ParseReport().add_file("t.txt", sha256="", format=FORMAT)
>>> rows = read(open_evidence(io.BytesIO(text.encode("utf-8-sig"))), FORMAT, ReadOptions(), report)
>>> [row["services"] for row in rows], report.records_skipped
([('IIS', 'SMTP')], 0)
"""

from __future__ import annotations

import io
from types import ModuleType

from exlab.certs import exchange_clixml, exchange_csv, exchange_json, exchange_list, exchange_table
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.errors import UnsupportedFormat
from exlab.evidence import Evidence
from exlab.parse_report import FileReport
from exlab.transcript import keep_only, machine_of, server_named, session_of, taken_outputs

FORMAT = "powershell-transcript"
#: the format of each kind of session text (:func:`exlab.transcript.session_of`)
FORMATS = {"transcript": FORMAT, "console": "powershell-console"}
# the text shapes a console shows; each output is read by the first that recognises it
TEXT_MODULES: tuple[ModuleType, ...] = (exchange_clixml, exchange_json, exchange_csv, exchange_list, exchange_table)


def sniff(head: bytes, text: str | None) -> str | None:
    """``powershell-transcript`` when the text opens as a transcript does, ``powershell-console`` when it
    opens with a prompt (whatever its commands).

    >>> sniff(b"", "**********************\\nPowerShell transcript start\\n"), sniff(b"", "Thumbprint : AB")
    ('powershell-transcript', None)
    """
    session = session_of(text) if text is not None else None
    return FORMATS[session] if session is not None else None


def shape_of(output: str) -> tuple[ModuleType, str] | None:
    """The certificate text format one command's output is, and its reader, or None."""
    for module in TEXT_MODULES:
        fmt = module.sniff(output.encode("utf-8"), output)
        if fmt is not None:
            return module, fmt
    return None


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """The rows of every command's output that is a certificate export, each read as a file of its own by its
    format's reader (UnsupportedFormat when none is). A command's ``-Server`` names the server of its rows,
    unless their own Identity does; when one does, the rows of the commands without it are the transcript's
    machine's (else the file's name would give them all to one server, and the merge a certificate both
    list to the named one alone)."""
    text = read_text(evidence.stream, evidence.name, report)
    engine = report.engine
    shapes = taken_outputs(text, shape_of, report, "Get-ExchangeCertificate output")
    if not shapes:
        raise UnsupportedFormat(evidence.name, "every command's output", "Get-ExchangeCertificate output")
    here = machine_of(text) if any(server_named(output.command) for output in shapes) else None
    rows: list[dict] = []
    for output, (module, shape) in shapes.items():
        view = Evidence(evidence.name, evidence.sha256, evidence.size, io.BytesIO(keep_only(text, [output]).encode()))
        server = server_named(output.command) or here
        rows.extend({"server": server, **row} if server else row for row in module.read(view, shape, options, report))
    report.engine = engine
    return rows
