"""The servers of a case: the machines the evidence shows to be Exchange servers. An event export that
also holds other computers' events (a Windows Event Collector's ForwardedEvents, a SIEM export, a
domain controller's log exported by mistake) adds no server and no verdict, only one note."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import exlab
import exlab.case
from exlab.lab import write_evtx
from tests.samples import quiet_case, sample_cases

CASES = {case.name: case for case in sample_cases()}
pytestmark = pytest.mark.skipif(not CASES, reason="no lab cases in data/samples")

OTHERS = 300
START = pd.Timestamp("2025-03-20 08:00", tz="UTC").value


def _other_computers(count: int) -> list[dict]:
    """One event per computer, none from an Exchange provider."""
    providers = ("Microsoft-Windows-Security-Kerberos", "Service Control Manager", "Microsoft-Windows-GroupPolicy")
    return [{"time_created": START + n * 1_000_000_000, "event_id": 4, "record_id": n + 1, "level": 2,
             "provider": providers[n % len(providers)], "channel": "ForwardedEvents",
             "computer": f"DC{n:03d}.corp.example", "data": {"%1": "x"}} for n in range(count)]


def _with_forwarded_events(name: str, tmp_path, rows: list[dict]):
    """The sample ``name`` copied under ``tmp_path`` with ``rows`` in a ForwardedEvents.evtx beside its evidence."""
    folder = tmp_path / name
    shutil.copytree(CASES[name].folder, folder)
    write_evtx(folder / "ForwardedEvents.evtx", rows)
    return folder


def _count_server_judgements(monkeypatch) -> list[str]:
    """The servers ``Case.diagnose_servers`` judges, one entry per per-server diagnosis."""
    judged: list[str] = []
    judge = exlab.case.judge_server

    def counted(d, **kwargs):
        judged.append(d.server)
        return judge(d, **kwargs)
    monkeypatch.setattr(exlab.case, "judge_server", counted)
    return judged


@pytest.mark.parametrize("name", ["contoso-kb2888788", "litware-servers"])
def test_computers_without_an_exchange_event_are_no_servers_of_the_case(name, tmp_path, monkeypatch):
    sample = quiet_case(CASES[name].folder)
    servers, verdicts, answer = sample.server_list(), sample.server_verdicts(), sample.diagnose()
    case = quiet_case(_with_forwarded_events(name, tmp_path, _other_computers(OTHERS)))
    assert (case.events["channel"] == "ForwardedEvents").sum() == OTHERS        # read, not dropped
    judged = _count_server_judgements(monkeypatch)
    assert case.server_list() == servers
    pd.testing.assert_frame_equal(case.server_verdicts(), verdicts)
    assert judged == servers                # one diagnosis per server, none per other computer
    d = case.diagnose()
    assert [s.server for s in d.servers] == servers
    assert (d.verdict, d.cause, d.culprit, d.strength) == (answer.verdict, answer.cause, answer.culprit,
                                                           answer.strength)
    [note] = [note for note in d.notes if "no Exchange event" in note]
    assert note.startswith(f"{OTHERS} computer(s)") and "dc000.corp.example" in note and "297 more" in note


def test_a_computer_with_an_exchange_event_stays_a_server(tmp_path, monkeypatch):
    exchange = {"time_created": START, "event_id": 7001, "record_id": OTHERS + 1, "level": 4,
                "provider": "MSExchangeTransport", "channel": "ForwardedEvents", "computer": "EX09.contoso.com",
                "qualifiers": 16388, "data": {"%1": "x"}}
    case = quiet_case(_with_forwarded_events("contoso-kb2888788", tmp_path, [*_other_computers(OTHERS), exchange]))
    judged = _count_server_judgements(monkeypatch)
    assert case.server_list() == ["ex09.contoso.com", "exchange.contoso.com"]
    assert sorted(case.server_verdicts()["server"]) == case.server_list() == sorted(judged)
    [note] = [note for note in case.diagnose().notes if "no Exchange event" in note]
    assert note.startswith(f"{OTHERS} computer(s)") and "ex09" not in note


def test_the_inventory_counts_the_other_computers_and_asks_nothing_of_them(tmp_path):
    """The events line named all 301 machines, and without a connector it would ask to collect every
    kind of evidence from each domain controller."""
    case = quiet_case(_with_forwarded_events("contoso-kb2888788", tmp_path, _other_computers(OTHERS)))
    inventory = case.inventory().set_index("kind")
    assert inventory.loc["events", "servers"] == f"exchange.contoso.com; {OTHERS} other computer(s)"
    assert inventory.loc[["events", "certs", "sessions", "tracking"], "why"].isna().all()
