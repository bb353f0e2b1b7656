"""PowerShell transcripts: the exports an engineer ran under Start-Transcript, sent as one file.

The certificate reader took the whole transcript (it was tested first): the send connector and the
server in it were skipped as certificates that name no thumbprint, and the case said both were missing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exlab.case import evidence_files
from exlab.certs import read_certs
from exlab.fleet import ingest
from exlab.transcript import BANNER, SESSION_WORDS, keep_only, outputs
from exlab.report.model import inputs_table
from exlab.lab.transcripts import EMS_PROMPT, PS_PROMPT, console_text, transcript_text, write_transcript
from exlab.transport import read_connectors, read_servers
from tests.conftest import SAMPLES
from tests.fleet.stores import assert_same_case, direct_case, store_case
from tests.samples import quiet_case

CONTOSO = SAMPLES / "contoso-kb2888788"
LITWARE = SAMPLES / "litware-servers"
EXPORTS = {"certs": "certs/Get-ExchangeCertificate-fl.txt", "connectors": "config/Get-SendConnector.txt",
           "servers": "config/Get-ExchangeServer.txt"}
COMMANDS = {"certs": "Get-ExchangeCertificate | fl", "connectors": "Get-SendConnector | fl",
            "servers": "Get-ExchangeServer | fl"}
ERROR = ("The operation couldn't be performed because object 'EX01\\Relay' couldn't be found on 'dc01.contoso.com'.\r\n"
         "    + CategoryInfo          : NotSpecified: (:) [Get-ReceiveConnector], ManagementObjectNotFoundException\r\n"
         "    + FullyQualifiedErrorId : [Server=EX01,RequestId=6f1c,TimeStamp=15/10/2025 07:30:20] 9E5A2C87,Microsoft."
         "Exchange.Management.SystemConfigurationTasks.GetReceiveConnector\r\n"
         "    + PSComputerName        : exchange.contoso.com\r\n\r\n")


def _output(kind: str) -> str:
    """The console's output of the command that wrote the sample's export of ``kind`` (``>`` wrote it)."""
    return (CONTOSO / EXPORTS[kind]).read_bytes().decode("utf-16")


def _commands() -> list[tuple[str, str]]:
    """A session as engineers run one: the exports among other commands, an error and a command typed
    over two lines."""
    return [("Get-Date", "\r\nWednesday, 15 October 2025 09:30:17\r\n\r\n\r\n"),
            (COMMANDS["certs"], _output("certs")),
            ("Get-ReceiveConnector -Identity 'EX01\\Relay' | fl", ERROR),
            ("Get-SendConnector |\r\n>> fl", _output("connectors")),
            (COMMANDS["servers"], _output("servers"))]


def _case(tmp_path: Path, name: str, evidence: dict[str, str] | None) -> Path:
    """The sample without its certificate and settings exports; ``evidence`` (folder name -> kind) puts back
    those of the kinds given as their own files, else the session's transcript holds them."""
    folder = tmp_path / name
    shutil.copytree(CONTOSO, folder, ignore=shutil.ignore_patterns("certs", "config"))
    if evidence is None:
        return folder
    for kind in evidence.values():
        (folder / EXPORTS[kind]).parent.mkdir(exist_ok=True)
        shutil.copy(CONTOSO / EXPORTS[kind], folder / EXPORTS[kind])
    return folder


def _frame(frame: pd.DataFrame | None) -> pd.DataFrame:
    return frame.drop(columns="source").reset_index(drop=True)


@pytest.fixture(scope="module")
def separate(tmp_path_factory) -> Path:
    return _case(tmp_path_factory.mktemp("separate"), "case", {kind: kind for kind in EXPORTS})


@pytest.mark.parametrize("style", ["ems-5.1", "pwsh-7-invocation-header", "console-copy"])
def test_a_transcript_of_the_exports_gives_the_case_of_the_separate_files(tmp_path, separate, style):
    """A console copied into a file (prompts, commands, output; no banner) is read as a transcript is."""
    folder = _case(tmp_path, "case", None)
    if style == "console-copy":
        transcript = folder / "exchange-console.txt"
        transcript.write_bytes(console_text(_commands()).encode("utf-8"))
    else:
        options = ({"prompt": EMS_PROMPT} if style == "ems-5.1" else
                   {"prompt": PS_PROMPT, "windows_powershell": False, "invocation_header": True})
        transcript = write_transcript(folder, _commands(), machine="EXCHANGE", **options)
    whole, apart = quiet_case(folder), quiet_case(separate)
    for kind in EXPORTS:
        pd.testing.assert_frame_equal(_frame(whole.frames[kind]), _frame(apart.frames[kind]))
        assert set(whole.frames[kind]["source"]) == {transcript.name}
    said, truth = whole.diagnose(), apart.diagnose()
    assert _unnamed(said.to_dict(), [transcript.name]) == _unnamed(truth.to_dict(), list(EXPORTS.values()))
    reports = [f for f in whole.reports.files if f.file == transcript.name]
    session = "console" if style == "console-copy" else "transcript"
    assert sorted(f.format for f in reports) == ["exchange-server", f"powershell-{session}", "send-connector"]
    assert sum(f.records_skipped for f in reports) == 0
    assert {f.sha256 for f in reports} == {hashlib.sha256(transcript.read_bytes()).hexdigest()}
    read = [note for f in reports for note in f.warnings if note.startswith(SESSION_WORDS[session])]
    assert sorted(read) == sorted(
        f"{SESSION_WORDS[session]} of {len(_commands()) + (session == 'transcript')} commands; read as {what}: "
        f"{command!r} (line {line})"
        for what, command, line in (
            ("Get-ExchangeCertificate output", COMMANDS["certs"],
             _prompt_line(transcript, COMMANDS["certs"])),
            ("send connectors", "Get-SendConnector | fl", _prompt_line(transcript, "Get-SendConnector |")),
            ("Exchange servers", COMMANDS["servers"], _prompt_line(transcript, COMMANDS["servers"]))))
    assert whole.inventory().set_index("kind").loc[list(EXPORTS), "files"].tolist() == [1, 1, 1]
    assert len(evidence_files(whole.reports)) == len(evidence_files(apart.reports)) - 2
    files = [int(inputs_table(case).note.split()[0]) for case in (whole, apart)]
    assert files[0] == files[1] - 2


def _unnamed(answer: dict, exports: list[str]) -> str:
    """A diagnosis as JSON with the names of the files of the exports put as ``<export>``."""
    text = json.dumps(answer, sort_keys=True, default=str)
    for name in exports:
        text = text.replace(name, "<export>")
    return text


def _prompt_line(path: Path, command: str) -> int:
    lines = path.read_bytes().decode("utf-8-sig").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.endswith(command))


def test_each_reader_takes_its_own_output_and_the_lines_keep_their_numbers(tmp_path):
    """A line the console cut out of the send connector's list is skipped at its line in the transcript."""
    connectors = _output("connectors").replace("\r\nCloudServicesMailEnabled",
                                               "\r\n#### cut\r\nCloudServicesMailEnabled")
    commands = [(command, connectors if command == COMMANDS["connectors"] else output)
                for command, output in [(COMMANDS[kind], _output(kind)) for kind in EXPORTS]]
    transcript = write_transcript(tmp_path, commands)
    cut = _prompt_line(transcript, "#### cut")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        frame = read_connectors(transcript)
        certs = read_certs(transcript, tz="Europe/Warsaw")
    [loss] = frame.attrs["parse_report"].files[0].losses
    assert loss.where == f"line {cut}" and [str(w.message) for w in said if f"line {cut}" in str(w.message)]
    assert frame["name"].tolist() == ["Outbound to Office 365"]
    servers = read_servers(transcript)
    assert len(servers) == 1 and servers.attrs["parse_report"].records_skipped == 0
    assert len(certs) == 4 and certs.attrs["parse_report"].records_skipped == 0


def test_the_default_table_and_the_list_in_one_transcript_read_as_the_two_files(tmp_path):
    table = (CONTOSO / "certs" / "Get-ExchangeCertificate.txt").read_bytes().decode("utf-16")
    transcript = write_transcript(tmp_path, [("Get-ExchangeCertificate", table),
                                             (COMMANDS["certs"], _output("certs"))])
    apart = read_certs([CONTOSO / "certs" / "Get-ExchangeCertificate.txt", CONTOSO / EXPORTS["certs"]],
                       tz="Europe/Warsaw")
    whole = read_certs(transcript, tz="Europe/Warsaw")
    pd.testing.assert_frame_equal(_frame(whole), _frame(apart))
    assert whole.attrs["parse_report"].records_read == apart.attrs["parse_report"].records_read


def test_a_transcript_of_nothing_exlab_reads_is_listed_unread_with_why(tmp_path):
    folder = _case(tmp_path, "case", None)
    transcript = write_transcript(folder, [("Get-Date", "\r\nWednesday, 15 October 2025 09:30:17\r\n\r\n"),
                                           ("Get-ReceiveConnector -Identity 'EX01\\Relay' | fl", ERROR)])
    unread = quiet_case(folder).unread
    assert {"file": transcript.name, "reason": "a PowerShell session's text (a transcript or the console copied), but "
            "no command's output in it is evidence exlab reads"} in unread[["file", "reason"]].to_dict("records")


def test_two_sessions_appended_to_one_transcript_are_both_read(tmp_path):
    """Start-Transcript -Append writes a second session's banner after the first one's end."""
    first = transcript_text([(COMMANDS["certs"], _output("certs"))])
    second = transcript_text([(COMMANDS["connectors"], _output("connectors"))], prompt=PS_PROMPT)
    transcript = tmp_path / "ex01-transcript.txt"
    transcript.write_bytes((first + second).encode("utf-8-sig"))
    assert read_connectors(transcript)["name"].tolist() == ["Outbound to Office 365"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(read_certs(transcript)) == len(read_certs(CONTOSO / EXPORTS["certs"]))


def test_the_store_holds_a_transcript_as_the_folder_reads_it(tmp_path):
    """Each kind's batch of the transcript is stored apart; the store's case is the folder's, and a second
    ingest of the folder adds nothing."""
    folder = _case(tmp_path, "case", None)
    write_transcript(folder, _commands(), machine="EXCHANGE")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = ingest([folder], tmp_path / "store", progress=False)
        again = ingest([folder], tmp_path / "store", progress=False)
    assert_same_case(store_case(tmp_path / "store"), direct_case(folder), prefix="case/")
    assert again.added == 0 and again.skipped == first.added


_LINES = st.lists(st.one_of(st.sampled_from([BANNER, "Windows PowerShell transcript start", EMS_PROMPT + "Get-Date",
                                             "PS>TerminatingError(Get-Item): \"no\"", ">> fl", "", "Name : x",
                                             "PS C:\\> ", "  wrapped"]),
                            st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_LINES, st.sampled_from(["\r\n", "\n"]))
@example([BANNER] * 3 + ["\r0", EMS_PROMPT + "Get-Date", "x"], "\n")    # a lone CR, then a blanked line's LF
def test_any_text_keeps_its_lines_and_each_output_lies_after_its_prompt(lines, end):
    text = BANNER + end + "PowerShell transcript start" + end + end.join(lines)
    found = outputs(text)
    assert all(output.line < output.first <= output.last + 1 for output in found)
    assert [o.line for o in found] == sorted({o.line for o in found})
    lines, kept = text.splitlines(), keep_only(text, found[::2]).splitlines()
    kept += [""] * (len(lines) - len(kept))           # a blanked last line without its own line end
    wanted = {n for output in found[::2] for n in range(output.first, output.last + 1)}
    assert [line if n in wanted else line.strip(" ") for n, line in enumerate(kept, 1)] == \
           [line if n in wanted else "" for n, line in enumerate(lines, 1)]


def test_a_command_that_lists_another_servers_certificates_gives_them_to_that_server(tmp_path):
    """In LWEX01's folder, the transcript of a shell on LWEX01 that listed its own certificates, then
    ``-Server LWEX02``'s and ``-Server LWEX03``'s: by its folder and name the whole transcript was LWEX01's
    (LWEX01 held every certificate, LWEX02 and LWEX03 none)."""
    folder = tmp_path / "litware"
    shutil.copytree(LITWARE, folder)
    servers = ("LWEX01", "LWEX02", "LWEX03")
    listed = {server: (folder / server / "Get-ExchangeCertificate.txt").read_bytes().decode("utf-16")
              for server in servers}
    for server in servers:
        (folder / server / "Get-ExchangeCertificate.txt").unlink()
    write_transcript(folder / "LWEX01", [("Get-ExchangeCertificate | fl", listed["LWEX01"])] +
                     [(f"Get-ExchangeCertificate -Server {server} | fl", listed[server]) for server in servers[1:]],
                     machine="LWEX01")
    whole, apart = quiet_case(folder), quiet_case(LITWARE)
    assert _stores(whole) == _stores(apart)
    pd.testing.assert_frame_equal(whole.server_verdicts(), apart.server_verdicts())


def _stores(case) -> list[tuple[str, str]]:
    return sorted(zip(case.certs["thumbprint"], case.certs["server"].astype(str)))
