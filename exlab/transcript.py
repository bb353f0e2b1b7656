"""PowerShell sessions kept as text: one file holding the output of several commands.

An engineer asked for ``Get-ExchangeCertificate | fl``, ``Get-SendConnector | fl`` and
``Get-ExchangeServer | fl`` often sends the transcript of the session that ran them
(``Start-Transcript``), or copies the console into one file. A transcript opens and closes with
a banner (a line of 22 ``*``, ``Windows PowerShell transcript start`` or, from PowerShell 6,
``PowerShell transcript start``, the host's details, the banner again); a copy of the console opens
with a prompt. Each command follows its prompt (``PS C:\\>``, the Exchange Management Shell's
``[PS] C:\\>``, or ``PS>`` before an error) and its output runs to the next prompt or banner
(``-IncludeInvocationHeader`` puts a banner with the command's start time before each prompt).
A command typed over several lines continues on lines that start ``>>``.

Each reader takes the output of the commands it reads (:func:`own_output`): the other lines
are blanked, so every line keeps its number in the file.

>>> text = "\\n".join(["*" * 22, "Windows PowerShell transcript start", "Machine: EX01 (Microsoft Windows NT)",
...                    "*" * 22, "Transcript started, output file is C:\\\\t.txt",
...                    "[PS] C:\\\\Windows\\\\system32>Get-SendConnector | fl", "", "Name : Outbound", "",
...                    "PS C:\\\\> Get-Date", "", "Monday, 15 October 2025 09:30:12", ""])
>>> [(o.command, o.line, o.first, o.last) for o in outputs(text)]
[('Get-SendConnector | fl', 6, 7, 9), ('Get-Date', 10, 11, 12)]
>>> keep_only(text, outputs(text)[:1]).splitlines()[6:9]
['', 'Name : Outbound', '']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from exlab.evidence import Evidence
from exlab.limits import read_whole
from exlab.parse_report import FileReport

BANNER = "*" * 22
_START = re.compile(r"^(?:Windows )?PowerShell transcript start\s*$")
# a prompt and the command after it: PS C:\>, [PS] C:\Windows\system32>, PS /home/x>, PS>, PS Cert:\>
_PROMPT = re.compile(r"^(?:\[PS\] |PS )(?:[A-Za-z][\w.-]*:[^>\r\n]*|[/\\][^>\r\n]*|)> ?(?P<command>.*)$|"
                     r"^PS>(?P<bare>.*)$")
_CONTINUED = ">>"


class Output(NamedTuple):
    """One command of a transcript: as typed, the line of its prompt, and the lines (1-based,
    inclusive) of its output (``first > last`` when it wrote none)."""

    command: str
    line: int
    first: int
    last: int


#: what each kind of session text is called in notes
SESSION_WORDS = {"transcript": "a PowerShell transcript", "console": "a copy of the PowerShell console"}


def session_of(text: str) -> str | None:
    """``transcript`` when ``text`` opens as a PowerShell transcript does (its banner, then its first
    words), ``console`` when it opens with a prompt and a command (the console copied), else None.

    >>> session_of("\\ufeff**********************\\r\\nWindows PowerShell transcript start\\r\\n")
    'transcript'
    >>> session_of("\\r\\n[PS] C:\\\\Windows\\\\system32>Get-ExchangeCertificate | fl\\r\\n"), session_of("Name : x")
    ('console', None)
    """
    head = text.lstrip("\ufeff \t\r\n")[:400].splitlines()
    if len(head) >= 2 and head[0].strip() == BANNER and _START.match(head[1].strip()) is not None:
        return "transcript"
    prompt = _PROMPT.match(head[0]) if head else None
    return "console" if prompt is not None and (prompt["command"] or prompt["bare"] or "").strip() else None


def session_text(evidence: Evidence) -> str | None:
    """The whole text of ``evidence`` when it is a PowerShell session's (:func:`session_of`), else None;
    the stream is left at its start.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> text = "**********************\\r\\nPowerShell transcript start\\r\\n"
    >>> session_text(open_evidence(io.BytesIO(text.encode("utf-16")))) == text
    True
    """
    from exlab.certs.text_decoding import decode_text      # exlab.certs reads transcripts with this module

    head = evidence.head(1024)
    for cut in (head, head[:-1], head[:-2], head[:-3]):      # the head may end inside a character
        try:
            opening = decode_text(cut)[0]
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    if session_of(opening) is None:
        return None
    try:
        text = decode_text(read_whole(evidence.stream, evidence.name, "a PowerShell session's text"))[0]
    except UnicodeDecodeError:
        return None
    finally:
        evidence.stream.seek(0)
    return text


def output_texts(text: str, chosen: list[Output] | None = None) -> list[str]:
    """The text of each command's output in a session's text (of the ``chosen`` commands), in order."""
    lines = text.splitlines()
    return ["\n".join(lines[output.first - 1:output.last]) for output in (outputs(text) if chosen is None else chosen)]


def outputs(text: str) -> list[Output]:
    """The commands of a session's text, in order, each with the lines of its output (a prompt with neither
    command nor output, the last of a console copied, is none)."""
    found: list[Output] = []
    command: tuple[str, int, int] | None = None       # (command, prompt line, first output line)
    banner = False
    lines = text.splitlines()

    def close(before: int) -> None:
        if command is not None:
            found.append(Output(command[0], command[1], command[2], before - 1))

    for number, line in enumerate(lines, 1):
        if line.strip() == BANNER:
            if not banner:
                close(number)
                command = None
            banner = not banner
            continue
        if banner:
            continue
        prompt = _PROMPT.match(line)
        if prompt is not None:
            close(number)
            command = ((prompt["command"] if prompt["command"] is not None else prompt["bare"]).strip(),
                       number, number + 1)
        elif command is not None and command[2] == number and line.startswith(_CONTINUED):
            command = (f"{command[0]} {line[len(_CONTINUED):].strip()}", command[1], number + 1)
    close(len(lines) + 1)
    return [output for output in found if output.command or output.first <= output.last]    # not the last prompt


def keep_only(text: str, kept: list[Output]) -> str:
    """``text`` with every line outside the output of the ``kept`` commands blanked (line ends kept; a blank
    line's LF after a line that ends in a lone CR keeps a space, or the two would be one CRLF).

    >>> keep_only("a\\rb\\nc", []).splitlines(keepends=True)
    ['\\r', ' \\n']
    """
    wanted = {number for output in kept for number in range(output.first, output.last + 1)}
    pieces: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        piece = line if number in wanted else line[len(line.splitlines()[0]):]       # its line end alone
        if piece.startswith("\n") and pieces and pieces[-1].endswith("\r"):
            piece = " " + piece
        pieces.append(piece)
    return "".join(pieces)


def own_output(text: str, takes: Callable[[str], bool], report: FileReport, what: str) -> str:
    """``text`` as it is, or, when it is a PowerShell session's (:func:`session_of`), only the output of the
    commands whose output ``takes`` (:func:`keep_only`), with a note in ``report`` of which were read as ``what``.

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("t.txt", sha256="", format="x")
    >>> text = "\\n".join([BANNER, "PowerShell transcript start", BANNER, "PS C:\\\\> Get-Date", "Monday",
    ...                    "PS C:\\\\> Get-SendConnector | fl", "Name : Outbound"])
    >>> own_output(text, lambda output: "Name" in output, report, "send connectors").splitlines()
    ['', '', '', '', '', '', 'Name : Outbound']
    >>> report.warnings
    ["a PowerShell transcript of 2 commands; read as send connectors: 'Get-SendConnector | fl' (line 6)"]
    """
    if session_of(text) is None:
        return text
    return keep_only(text, list(taken_outputs(text, takes, report, what)))


def taken_outputs(text: str, takes: Callable[[str], object], report: FileReport, what: str) -> dict[Output, object]:
    """The commands of a session's text whose output ``takes`` (each with what ``takes`` said of it: a
    reader's shape, or True), with a note in ``report`` of which were read as ``what``."""
    commands = outputs(text)
    kept = {output: said for output, shown in zip(commands, output_texts(text, commands)) if (said := takes(shown))}
    read = ", ".join(f"{output.command!r} (line {output.line})" for output in kept) or "none"
    count = f"{len(commands)} command" + ("s" if len(commands) != 1 else "")
    report.note(f"{SESSION_WORDS[session_of(text) or 'console']} of {count}; read as {what}: {read}")
    return kept


_MACHINE = re.compile(r"^Machine: (?P<machine>[\w.-]+)", re.MULTILINE)


def machine_of(text: str) -> str | None:
    """The computer a transcript was written on (its banner's ``Machine:``), or None.

    >>> machine_of("**********************\\nPowerShell transcript start\\nMachine: EX01 (Microsoft Windows NT)\\n")
    'EX01'
    """
    if session_of(text) != "transcript":
        return None
    found = _MACHINE.search(text, 0, text.find(BANNER, text.find(BANNER) + 1) + 1 or len(text))
    return found["machine"] if found else None


_SERVER = re.compile(r"""-Server(?::|\s+)(?P<quote>['"]?)(?P<server>[\w.-]+)(?P=quote)(?=[\s|;)]|$)""", re.IGNORECASE)


def server_named(command: str) -> str | None:
    """The server a command's ``-Server`` parameter names (the one whose store it listed), or None.

    >>> server_named("Get-ExchangeCertificate -Server 'EX02' | fl"), server_named("Get-ExchangeCertificate | fl")
    ('EX02', None)
    """
    found = _SERVER.search(command)
    return found["server"] if found else None
