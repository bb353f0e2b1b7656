"""End to end on the lab cases in data/samples: each diagnosed as its truth.json says, and the same
case with pieces of evidence taken away never gets a wrong verdict, only a weaker one that names
what is missing. Each case's exports in other languages and time zones give the same diagnosis."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab.analysis.findings import format_utc
from exlab.case import discover
from exlab.errors import ExlabWarning
from tests.conftest import SAMPLES as REPO_SAMPLES

# another copy of the lab cases (a frozen snapshot while the lab regenerates them) may be named
SAMPLES = Path(os.environ.get("EXLAB_SAMPLES", REPO_SAMPLES))

CASES = sorted(p.parent for p in SAMPLES.glob("*/truth.json"))
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CASES, reason=f"no lab cases with truth.json in {SAMPLES}")]


@cache
def truth_of(name: str) -> dict:
    truth = json.loads((SAMPLES / name / "truth.json").read_text(encoding="utf-8"))
    return {**truth, "roots_path": (SAMPLES / name / truth["roots"]).resolve()}


def diagnose_folder(folder: Path, truth: dict):
    """Open and diagnose ``folder`` as the engineer would: with the lab's root and the servers' zone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        return exlab.open_case(folder, roots=truth["roots_path"], tz=truth["tz"]).diagnose()


@cache
def full_diagnosis(name: str):
    return diagnose_folder(SAMPLES / name, truth_of(name))


@cache
def kinds_of(name: str) -> dict[str, list[Path]]:
    return discover(SAMPLES / name)[0]


def copy_subset(name: str, kinds: tuple[str, ...], target: Path, only: Path | None = None) -> Path:
    """The case's files of these kinds (or the one file ``only``), copied with their sub-folders."""
    source = SAMPLES / name
    for kind in kinds:
        for path in kinds_of(name).get(kind, []):
            if only is not None and path != only:
                continue
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    return target


def assert_same_time(found: pd.Timestamp | None, truth: dict, key: str) -> None:
    """Equal to the truth as precisely as the evidence says it: to the 100 ns when events 2004
    were logged, else to the millisecond the protocol log writes."""
    if truth[key] is None:
        assert found is None
        return
    assert format_utc(found) == truth[key]


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_each_case_is_diagnosed_as_its_truth_says(folder):
    truth = truth_of(folder.name)
    d = full_diagnosis(folder.name)
    assert d.verdict == truth["verdict"]
    assert d.cause == truth["cause"]
    assert d.culprit == truth["culprit"]
    assert_same_time(d.onset, truth, "onset")
    assert_same_time(d.end, truth, "end")
    if truth["verdict"] == "confirmed":
        assert d.strength in ("direct", "strong")
        assert any(step.command and truth["culprit"] in step.command for step in d.remediation)


def _never_wrong(d, truth: dict) -> None:
    assert d.verdict in (truth["verdict"], "inconclusive"), f"a wrong verdict from partial evidence: {d.headline()}"
    if d.verdict == truth["verdict"]:
        assert d.cause == truth["cause"]
        if d.culprit is not None:
            assert d.culprit == truth["culprit"]
    else:
        assert d.missing, "an inconclusive diagnosis must say what would settle it"
        assert d.cause in (truth["cause"], None)


SUBSETS = {
    "only certificates": ("certs",),
    "only events": ("events",),
    "only protocol logs": ("sessions",),
    "no events": ("sessions", "tracking", "certs", "connectors", "servers"),
    "events and certificates": ("events", "certs", "connectors", "servers"),
}


@pytest.mark.parametrize("subset", list(SUBSETS))
@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_partial_evidence_never_gives_a_wrong_verdict(folder, subset, tmp_path):
    kinds = SUBSETS[subset]
    if not any(kinds_of(folder.name).get(kind) for kind in kinds):
        pytest.skip(f"{folder.name} has no {subset}")
    truth = truth_of(folder.name)
    d = diagnose_folder(copy_subset(folder.name, kinds, tmp_path), truth)
    _never_wrong(d, truth)
    if subset == "only certificates":
        assert d.verdict == "inconclusive" and d.strength in ("possible", None)
    if subset == "only protocol logs" and truth["verdict"] == "confirmed":
        assert (d.verdict, d.strength, d.culprit) == ("confirmed", "direct", truth["culprit"])


def is_application_log(path: Path, tz: str) -> bool:
    """Whether an event export is of the Application log (whole or filtered), as opposed to
    another log (MSExchange Management, say); CSV/TXT exports do not say, and are."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        channels = exlab.read_events(path, tz=tz)["channel"].dropna().str.lower()
    return bool((channels == "application").all())


def event_exports_by_server(name: str) -> dict[str, list[Path]]:
    """The exports of each server's Application log (truth.json says which server each came from)."""
    servers = {export["path"]: export["server"] for export in truth_of(name)["exports"]}
    groups: dict[str, list[Path]] = {}
    for path in kinds_of(name).get("events", []):
        if not is_application_log(path, truth_of(name)["tz"]):
            continue
        server = servers.get((path.relative_to(SAMPLES / name)).as_posix())
        groups.setdefault(server, []).append(path)
    return groups


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_every_event_export_alone_gives_the_same_diagnosis(folder, tmp_path):
    """One server's log exported as .evtx, XML, CSV or TXT, in any UI language and read in the
    server's time zone: each alone (with the certificates) leads to the same diagnosis."""
    groups = [paths for paths in event_exports_by_server(folder.name).values() if len(paths) > 1]
    if not groups:
        pytest.skip(f"{folder.name} has one event export per server")
    truth = truth_of(folder.name)
    for server, group in enumerate(groups):
        seen = {}
        for number, export in enumerate(group):   # a folder per export and server: nothing of another left in it
            target = copy_subset(folder.name, ("events",), tmp_path / str(server) / str(number), only=export)
            copy_subset(folder.name, ("certs", "connectors", "servers"), target)
            seen[export.name] = diagnose_folder(target, truth)
        first = next(iter(seen.values()))
        for name, d in seen.items():
            assert (d.verdict, d.cause, d.culprit, d.strength) == (first.verdict, first.cause, first.culprit,
                                                                  first.strength), name
            _never_wrong(d, truth)
            if first.onset is not None:   # CSV/TXT exports keep whole seconds only
                assert abs(d.onset - first.onset) < pd.Timedelta(seconds=1), name
                assert abs(d.end - first.end) < pd.Timedelta(seconds=1), name


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_issuer_comparison_and_timeline_of_each_case(folder):
    truth = truth_of(folder.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        case = exlab.open_case(folder, roots=truth["roots_path"], tz=truth["tz"])
    timeline = case.timeline()
    counts = truth["counts"]
    # every event export of a server holds the same 2004s: each is counted once
    assert (case.events["event_id"] == 2004).sum() == counts["events_2004"]
    if counts["events_2004"]:
        assert (timeline.points["origin"] == "event").sum() == counts["events_2004"]
    if case.sessions is not None:
        assert int(case.sessions["failed_at"].notna().sum()) == counts["failed_sessions"]
    assert_same_time(timeline.onset, truth, "onset")
    assert_same_time(timeline.end, truth, "end")
    if counts["failed_sessions"]:     # each failure on the server that logged it, by name or by IP
        by_server = timeline.by_server.groupby("server")["failures"].sum()
        assert {name.split(".")[0].upper(): int(n) for name, n in by_server.items() if n} == \
            {name: n for name, n in counts["failed_sessions_by_server"].items() if n}
    assert timeline.counts["failures"].sum() == len(timeline.points)
    if case.certs is not None and truth["verdict"] == "confirmed":
        table = case.compare_issuers()
        assert table.loc[table["selected"].fillna(False).astype(bool), "thumbprint"].tolist() == [truth["culprit"]]
