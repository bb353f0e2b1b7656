"""PowerShell transcripts as ``Start-Transcript`` writes them: the banner with the host's details,
each command after its prompt with its output as the console showed it, the closing banner; and the
console copied into a file (prompts, commands and output, no banner).

Windows PowerShell 5.1 writes UTF-8 with a byte order mark and CRLF, opens with ``Windows
PowerShell transcript start`` and names the file ``PowerShell_transcript.<HOST>.<random>.<time>.txt``;
PowerShell 7 writes ``PowerShell transcript start`` and no byte order mark. ``-IncludeInvocationHeader``
puts a banner with each command's start time before its prompt.

>>> text = transcript_text([("Get-Date", "\\r\\nWednesday, 15 October 2025 09:30:12\\r\\n\\r\\n")], machine="EX01")
>>> text.splitlines()[1], text.splitlines()[19]
('Windows PowerShell transcript start', '[PS] C:\\\\Windows\\\\system32>Get-Date')
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from exlab.transcript import BANNER

#: the Exchange Management Shell's prompt (its own prompt function: no space before the command)
EMS_PROMPT = "[PS] C:\\Windows\\system32>"
#: Windows PowerShell's and PowerShell 7's default prompt
PS_PROMPT = "PS C:\\Users\\admin> "
_EMS_HOST = ("C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\PowerShell.exe -noexit -command \". "
             "'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\bin\\RemoteExchange.ps1'; "
             "Connect-ExchangeServer -auto -ClientApplication:ManagementShell \"")


def transcript_text(commands: Sequence[tuple[str, str]], *, machine: str = "EX01",
                    start: datetime = datetime(2025, 10, 15, 9, 30, 12), prompt: str = EMS_PROMPT,
                    windows_powershell: bool = True, invocation_header: bool = False) -> str:
    """The transcript of a session that ran ``commands`` (each the command as typed and its output as
    the console showed it, CRLF line ends), on ``machine`` from ``start`` (local time)."""
    version = "5.1.17763.1852" if windows_powershell else "7.4.6"
    lines = [BANNER, f"{'Windows ' if windows_powershell else ''}PowerShell transcript start",
             f"Start time: {start:%Y%m%d%H%M%S}", "Username: CONTOSO\\admin", "RunAs User: CONTOSO\\admin",
             "Configuration Name: ", f"Machine: {machine} (Microsoft Windows NT 10.0.17763.0)",
             f"Host Application: {_EMS_HOST}", "Process ID: 5828", f"PSVersion: {version}",
             f"PSEdition: {'Desktop' if windows_powershell else 'Core'}",
             f"PSCompatibleVersions: 1.0, 2.0, 3.0, 4.0, 5.0, {version}", "BuildVersion: 10.0.17763.1852",
             "CLRVersion: 4.0.30319.42000", "WSManStackVersion: 3.0", "PSRemotingProtocolVersion: 2.3",
             "SerializationVersion: 1.1.0.1", BANNER,
             f"Transcript started, output file is C:\\Temp\\PowerShell_transcript.{machine}.txt"]
    text = "\r\n".join(lines) + "\r\n"
    for number, (command, output) in enumerate(commands, 1):
        if invocation_header:
            at = start + timedelta(seconds=5 * number)
            text += f"{BANNER}\r\nCommand start time: {at:%Y%m%d%H%M%S}\r\n{BANNER}\r\n"
        text += f"{prompt}{command}\r\n{output}"
    end = start + timedelta(seconds=5 * (len(commands) + 1))
    return text + f"{prompt}Stop-Transcript\r\n{BANNER}\r\n{'Windows ' if windows_powershell else ''}PowerShell " \
                  f"transcript end\r\nEnd time: {end:%Y%m%d%H%M%S}\r\n{BANNER}\r\n"


def console_text(commands: Sequence[tuple[str, str]], *, prompt: str = EMS_PROMPT) -> str:
    """The console's text of a session that ran ``commands``, as copied from the window: from the first
    prompt to the last, empty one.

    >>> console_text([("Get-Date", "\\r\\nWednesday, 15 October 2025 09:30:12\\r\\n\\r\\n")]).splitlines()[:2]
    ['[PS] C:\\\\Windows\\\\system32>Get-Date', '']
    """
    return "".join(f"{prompt}{command}\r\n{output}" for command, output in commands) + prompt


def write_transcript(folder: Path, commands: Sequence[tuple[str, str]], *, machine: str = "EX01",
                     windows_powershell: bool = True, **options) -> Path:
    """Write :func:`transcript_text` into ``folder`` under the name PowerShell gives it; its path."""
    start = options.get("start", datetime(2025, 10, 15, 9, 30, 12))
    path = folder / f"PowerShell_transcript.{machine}.Ab3dEf7h.{start:%Y%m%d%H%M%S}.txt"
    text = transcript_text(commands, machine=machine, windows_powershell=windows_powershell, **options)
    path.write_bytes(text.encode("utf-8-sig" if windows_powershell else "utf-8"))
    return path
