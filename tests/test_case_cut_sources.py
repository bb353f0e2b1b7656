"""A case whose Get-SendConnector export cut SourceTransportServers ($FormatEnumerationLimit): a server
the cut list does not name is not known to send or not, so it is never ruled out, and nothing says it is
not a source server. litware-servers: LWEX01 and LWEX02 are the connector's source servers, LWEX03 is not."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

import exlab
from exlab.errors import ExlabWarning
from exlab.report.model import server_verdicts
from tests.samples import sample_cases

WHOLE = "{LWEX01, LWEX02}"
# what Format-List shows of a connector with more source servers than $FormatEnumerationLimit (4)
CUT = "{LWEX01, LWEX02, LWEX04, LWEX05...}"
LWEX03 = "lwex03.litwareinc.com"


def _litware(root: Path, names: tuple[str, ...], source_servers: str) -> exlab.Case:
    """litware-servers' files ``names`` copied under ``root``, its connector's SourceTransportServers as given."""
    sample = {s.name: s for s in sample_cases()}["litware-servers"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample.folder / name, root / name)
    connector = root / "Get-SendConnector.txt"
    text = connector.read_bytes().decode("utf-16")
    assert text.count(WHOLE) == 1
    connector.write_bytes(text.replace(WHOLE, source_servers).encode("utf-16"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        return exlab.open_case(root, roots=sample.roots, tz=sample.truth["tz"])


def _everything() -> tuple[str, ...]:
    sample = {s.name: s for s in sample_cases()}["litware-servers"]
    return tuple(str(p.relative_to(sample.folder)) for p in sorted(sample.folder.rglob("*"))
                 if p.is_file() and p.name != "truth.json")


def test_a_server_missing_from_a_cut_list_is_not_ruled_out(tmp_path):
    case = _litware(tmp_path, _everything(), CUT)
    answers = {d.server: d for d in case.diagnose_servers()}
    branch = answers[LWEX03]
    assert branch.sends is None and branch.verdict != "ruled_out"
    assert "not a source transport server" not in branch.why
    assert any("shows only the first 4 of its SourceTransportServers (LWEX01, LWEX02, LWEX04, LWEX05...)" in note
               for note in branch.notes)
    # the servers the cut list names are still sources, LWEX01 still gets its fix
    assert answers["lwex01.litwareinc.com"].sends is True and answers["lwex01.litwareinc.com"].fix == "fix"
    assert answers["lwex02.litwareinc.com"].sends is True
    table = case.server_verdicts().set_index("server")
    assert table["sends_through_connector"].isna()[LWEX03]
    answered = {answer["server"]: answer for answer in case.diagnose().to_dict()["servers"]}
    assert answered[LWEX03]["sends_through_connector"] is None
    worded = {v.server: v for v in server_verdicts(case.diagnose_servers())}[LWEX03]
    assert "Not concerned" not in worded.in_words and "do not list" not in worded.strength
    assert any("Format-List cut the list" in note for note in case.diagnose().notes)


def test_the_same_server_is_ruled_out_when_the_list_is_whole(tmp_path):
    case = _litware(tmp_path, _everything(), WHOLE)
    branch = {d.server: d for d in case.diagnose_servers()}[LWEX03]
    assert (branch.sends, branch.verdict) == (False, "ruled_out")
    assert not any("Format-List cut the list" in note for note in case.diagnose().notes)


@pytest.mark.parametrize("source_servers,status", [(CUT, "found"), (WHOLE, "unusable")])
def test_evidence_only_from_a_server_a_cut_list_does_not_name_stays_usable(tmp_path, source_servers, status):
    case = _litware(tmp_path, ("LWEX03/Application.evtx", "LWEX03/Get-ExchangeCertificate.txt",
                               "Get-SendConnector.txt", "Get-ExchangeServer.txt"), source_servers)
    kinds = case.inventory().set_index("kind")
    assert kinds.loc["events", "status"] == kinds.loc["certs", "status"] == status
    asked = [step.purpose for step in case.diagnose().missing]
    assert ("Export the Application log of the transport server" in asked) == (status == "unusable")
    assert any(purpose.startswith("Export the certificates") for purpose in asked) == (status == "unusable")


def test_sends_through_rules_a_server_out_only_by_a_whole_list():
    from exlab.analysis.diagnose import sends_through
    shown = {"EX01", "EX02", "EX03", "EX04"}
    assert [sends_through("EX05", shown), sends_through("EX05", shown, cut=True), sends_through("EX05", set())] == [
        False, None, None]
    assert sends_through("EX02", shown, cut=True) is True
