"""The transport readers over the committed lab cases agree with each case's truth.json."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from exlab.events import read_events
from exlab.errors import ExlabWarning
from exlab.transport import (
    read_connectors,
    read_protocol_log,
    read_receive_connectors,
    read_servers,
    read_tracking_log,
    sniff_transport,
    tls_failures,
)

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
CASES = sorted(p.parent for p in SAMPLES.glob("*/truth.json"))


def files_of(case: Path, kind: str) -> list[Path]:
    return [p for p in sorted(case.rglob("*")) if p.is_file() and p.name != "truth.json"
            and sniff_transport(p.read_bytes()[:65536]) == kind]


@pytest.mark.skipif(not CASES, reason="no lab cases in data/samples")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_counts(case):
    truth = json.loads((case / "truth.json").read_text("utf-8"))
    counts = truth["counts"]
    logs = files_of(case, "protocol-log")
    if logs:
        sessions = read_protocol_log(logs)
        assert sessions.attrs["parse_report"].records_skipped == 0
        ours = sessions[sessions.remote_endpoint.str.endswith(":25", na=False)]
        assert len(ours) == counts["sessions"]
        failed = ours[ours.outcome != "delivered"]
        assert len(failed) == counts["failed_sessions"]
        assert (ours.outcome == "delivered").sum() == counts["delivered_sessions"]
        if truth["cause"] == "kb2888788":
            assert set(failed.cert_thumbprint) == {truth["culprit"]}
            assert set(failed.tls_reason) == {"UntrustedRoot"}
    tracking_files = files_of(case, "tracking-log")
    if tracking_files:
        tracking = read_tracking_log(tracking_files)
        assert len(tracking) == counts["tracking_rows"]
        assert (tracking.event_id == "DEFER").sum() == counts["defer_rows"]
        assert tracking.loc[tracking.event_id == "DEFER", "message_id"].nunique() == counts["deferred_messages"]
        assert (tracking.event_id == "SEND").sum() == counts["delivered_messages"]
    connectors = files_of(case, "connectors")
    if connectors:
        assert truth["connector"] in set(read_connectors(connectors)["name"])
    servers = files_of(case, "servers")
    if servers:
        assert set(read_servers(servers)["name"]) >= set(truth["servers"])
    receive = files_of(case, "receive-connectors")
    if receive:
        frame = read_receive_connectors(receive)
        assert set(frame["server"]) == set(truth["servers"]) and len(frame) == 5 * len(truth["servers"])
        with pytest.warns(ExlabWarning, match="holds no send connector"):
            assert read_connectors(receive).empty


@pytest.mark.skipif(not CASES, reason="no lab cases in data/samples")
def test_cases_cover_exchange_2010_and_2013_logs_and_receive_connectors():
    versions = {path.read_bytes().split(b"\r\n")[1] for case in CASES for path in files_of(case, "tracking-log")}
    assert {b"#Version: 14.0.0.0", b"#Version: 15.00.1497.002", b"#Version: 15.02.1544.004"} <= versions
    assert any(files_of(case, "receive-connectors") for case in CASES)


@pytest.mark.skipif(not CASES, reason="no lab cases in data/samples")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_failures_from_every_event_export(case):
    truth = json.loads((case / "truth.json").read_text("utf-8"))
    exports = [p for p in sorted(case.rglob("*")) if p.is_file()
               and (p.parent.name == "events" or p.suffix.lower() == ".evtx")]
    if not exports:
        pytest.skip("no event exports in this case")
    in_evtx = 0
    for export in exports:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            failures = tls_failures(read_events(export, tz=truth["tz"]))
        found = int((failures.event_id == 2004).sum())
        assert set(failures.loc[failures.event_id == 2004, "connector"]) <= {truth["connector"]}, export.name
        assert found <= truth["counts"]["events_2004"], export.name
        if export.suffix.lower() == ".evtx":
            in_evtx += found
    # the .evtx files are whole Application logs, one per server: together they hold every 2004
    if any(p.suffix.lower() == ".evtx" for p in exports):
        assert in_evtx == truth["counts"]["events_2004"]
