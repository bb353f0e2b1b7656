"""Generated cases: deterministic, their truth.json counts equal what the files hold,
and data/samples equals a fresh generation (so the committed cases cannot drift).

The truth checks read data/samples, which the first test proves equal to a fresh
generation, so the cases are generated once per run, not once per test worker."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from exlab.attribution import split_servers
from exlab.certs import read_certs
from exlab.events import read_events
from exlab.lab.cases import case, names
from exlab.lab.generate import DEFAULT_SEED, ROOTS_FILE, build_certificates, generate_all, generate_case
from exlab.lab.scenario import issuer_name, subject_name
from exlab.transport import read_connectors, read_protocol_lines, read_protocol_log, read_servers, read_tracking_log

from tests.conftest import SAMPLES
from tests.samples import quiet_case


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """Every case generated with the documented seed (what data/samples must hold)."""
    out = tmp_path_factory.mktemp("fresh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generate_all(out, seed=DEFAULT_SEED)
    return out


@pytest.fixture
def samples() -> Path:
    """The committed cases (equal to a fresh generation: the first test below)."""
    return SAMPLES


def truth_of(folder: Path, name: str) -> dict:
    return json.loads((folder / name / "truth.json").read_text(encoding="utf-8"))


def exports(name: str, kind: str):
    return [e for e in case(name).exports if e.kind == kind]


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.mark.slow
def test_committed_samples_equal_a_fresh_generation(fresh):
    assert tree(SAMPLES.parent / "samples") != {}, "data/samples is empty"
    committed = {k: v for k, v in tree(SAMPLES).items() if k != "README.md"}
    assert committed == tree(fresh), "regenerate with: exlab lab generate --all data/samples"


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_evidence(tmp_path):
    for folder in ("again", "again-2"):
        quiet(generate_case, "contoso-kb2888788", tmp_path / folder, seed=DEFAULT_SEED)
    mine = tree(tmp_path / "again" / "contoso-kb2888788")
    assert tree(tmp_path / "again-2" / "contoso-kb2888788") == mine
    quiet(generate_case, "contoso-kb2888788", tmp_path / "other", seed=DEFAULT_SEED + 1)
    other = tree(tmp_path / "other" / "contoso-kb2888788")
    assert other["events/Application.evtx"] != mine["events/Application.evtx"]
    # the lab public root is one CA for every case and seed, like a real one
    assert (tmp_path / "other" / ROOTS_FILE).read_bytes() == (tmp_path / "again" / ROOTS_FILE).read_bytes()


@pytest.mark.parametrize("name", names())
def test_every_export_was_written_and_no_pfx_is_shipped(samples, name):
    truth = truth_of(samples, name)
    assert truth["missing"] == []
    files = tree(samples / name)
    for export in case(name).exports:
        assert any(f == export.path or f.startswith(export.path + "/") for f in files), export.path
    assert not any(f.lower().endswith((".pfx", ".p12")) for f in files)


@pytest.mark.parametrize("name", names())
def test_truth_event_counts_equal_the_event_logs(samples, name):
    truth = truth_of(samples, name)
    counts = truth["counts"]
    totals = {2004: 0, 12014: 0, 12016: 0, 12018: 0}
    for export in exports(name, "evtx"):
        frame = read_events(samples / name / export.path)
        report = frame.attrs["parse_report"]
        assert report.records_skipped == 0 and report.chunks_skipped == 0
        assert len(frame) == counts["application_records"][export.server]
        assert frame["record_id"].is_monotonic_increasing and frame["record_id"].is_unique
        for event_id in totals:
            totals[event_id] += int((frame["event_id"] == event_id).sum())
        # the other exports of the same server hold the same events, filtered as the export was
        for kind in ("event-xml", "event-csv", "event-txt", "event-clixml"):
            for other in exports(name, kind):
                if other.server != export.server:
                    continue
                expected = frame
                if other.option("providers") is not None:
                    expected = expected[expected["provider"].isin(other.option("providers"))]
                if other.option("levels") is not None:
                    expected = expected[expected["level"].isin(other.option("levels"))]
                copy = quiet(read_events, samples / name / other.path, tz=truth["tz"])
                assert len(copy) == len(expected) > 0
                assert sorted(copy["event_id"]) == sorted(expected["event_id"])
                assert sorted(copy["time_created"].dt.floor("s")) == sorted(expected["time_created"].dt.floor("s"))
    assert {f"events_{i}": n for i, n in totals.items()} == {f"events_{i}": counts[f"events_{i}"] for i in totals}
    if counts["events_2004"]:
        frame = read_events([samples / name / e.path for e in exports(name, "evtx")], event_ids=2004)
        assert frame["time_created"].min() == pd.Timestamp(truth["onset"])
        assert frame["time_created"].max() == pd.Timestamp(truth["end"])
        assert set(frame["data"].map(lambda d: d["%1"])) == {truth["connector"]}


@pytest.mark.parametrize("name", names())
def test_truth_session_and_tracking_counts_equal_the_transport_logs(samples, name):
    truth = truth_of(samples, name)
    counts = truth["counts"]
    folders = [samples / name / e.path for e in exports(name, "protocol-log")]
    sessions = read_protocol_log(folders)
    failed = sessions[sessions["outcome"] != "delivered"]
    assert len(sessions) == counts["sessions"] and len(failed) == counts["failed_sessions"]
    for export in exports(name, "protocol-log"):
        mine = read_protocol_log(samples / name / export.path)
        assert int((mine["outcome"] != "delivered").sum()) == counts["failed_sessions_by_server"][export.server]
    tracking = read_tracking_log([samples / name / e.path for e in exports(name, "tracking-log")])
    assert len(tracking) == counts["tracking_rows"]
    defer = tracking[tracking["event_id"] == "DEFER"]
    assert defer["message_id"].nunique() == len(defer) == counts["deferred_messages"]
    assert int((tracking["event_id"] == "SEND").sum()) == counts["delivered_messages"]
    assert int((tracking["event_id"] == "FAIL").sum()) == counts["expired_messages"]
    if truth["onset"] is None:
        assert failed.empty and defer.empty
        return
    lines = read_protocol_lines(folders)
    refused = lines[(lines["event"] == "<") & lines["data"].str.startswith("454 ")]
    onset, end = pd.Timestamp(truth["onset"]), pd.Timestamp(truth["end"])
    assert defer["time"].min() == onset
    assert refused["time"].min() == onset and refused["time"].max() == end
    assert len(refused) == counts["failed_sessions"]
    if truth["fix_applied"] is not None:
        assert refused["time"].max() < pd.Timestamp(truth["fix_applied"])
        assert (sessions["start"] > pd.Timestamp(truth["fix_applied"])).any()


@pytest.mark.parametrize("name", [n for n in names() if case(n).cause == "kb2888788"])
def test_kb2888788_cases_show_the_culprit_presented_and_refused(samples, name):
    truth = truth_of(samples, name)
    sessions = read_protocol_log([samples / name / e.path for e in exports(name, "protocol-log")])
    failed = sessions[sessions["outcome"] != "delivered"]
    assert set(failed["cert_thumbprint"]) == {truth["culprit"]}
    assert set(failed["tls_reason"]) == {"UntrustedRoot"} and set(failed["reply_code"]) == {454}
    internal = next(c for c in truth["certificates"] if c["thumbprint"] == truth["culprit"])
    assert internal["issuer_class"] == "internal" and "SMTP" in internal["services_at_export"]
    public = [c for c in truth["certificates"] if c["issuer_class"] == "public"]
    assert public and all("SMTP" in c["services_at_export"] for c in public)
    delivered = sessions[sessions["outcome"] == "delivered"]
    assert set(delivered["cert_thumbprint"]) <= {c["thumbprint"] for c in public}


@pytest.mark.parametrize("name", names())
def test_truth_certificates_equal_the_certificate_exports(samples, name):
    truth = truth_of(samples, name)
    scenario = case(name)
    paths = [samples / name / e.path for e in scenario.exports if e.kind in ("exchange-certs", "cer", "p7b")]
    certs = read_certs(paths, tz=truth["tz"]).set_index("thumbprint")
    assert certs["conflicts"].map(len).sum() == 0
    exported = {e.server for e in exports(name, "exchange-certs")}
    for entry in truth["certificates"]:
        if not (exported & set(entry["servers"]) and entry["in_store_at_export"]):
            continue
        row = certs.loc[entry["thumbprint"]]
        assert row["subject"] == entry["subject"] and row["issuer"] == entry["issuer"]
        assert tuple(row["services"] or ()) == tuple(entry["services_at_export"])
    if truth["culprit"] is not None:
        assert truth["culprit"] in certs.index


@pytest.mark.parametrize("name", names())
def test_each_server_of_the_case_holds_the_certificates_its_store_held(samples, name):
    """The case gives every certificate to each server whose exported store listed it, whatever the shape of
    each server's export (northwind-quiet: NWEX02's CliXml names its server, NWEX01's list names none; the
    public certificate sits in both stores)."""
    truth = truth_of(samples, name)
    exported = {e.server for e in exports(name, "exchange-certs")}
    certs = quiet(quiet_case, samples / name).certs.set_index("thumbprint")
    for entry in truth["certificates"]:
        held = exported & set(entry["servers"])
        if held and entry["in_store_at_export"]:
            named = {server.split(".")[0].upper() for cell in certs.loc[[entry["thumbprint"]], "server"].dropna()
                     for server in split_servers(cell)}
            assert named == held, entry["key"]


@pytest.mark.parametrize("name", names())
def test_settings_exports_name_the_connector_and_servers(samples, name):
    truth = truth_of(samples, name)
    scenario = case(name)
    for export in exports(name, "send-connector"):
        connectors = read_connectors(samples / name / export.path)
        assert list(connectors["name"]) == [truth["connector"]]
        assert connectors["tls_certificate_name"].iloc[0] is pd.NA or \
            connectors["tls_certificate_name"].iloc[0] == scenario.connector.tls_certificate_name
    for export in exports(name, "exchange-server"):
        servers = read_servers(samples / name / export.path)
        assert list(servers["name"]) == truth["servers"]
        assert truth["server_fqdn"] in set(servers["fqdn"])


@pytest.mark.parametrize("name", names())
def test_pki_names_agree_with_the_scenario_model(name):
    scenario = case(name)
    certs = build_certificates(scenario, DEFAULT_SEED)
    for spec in scenario.certificates:
        cert = certs[spec.key]
        if spec.issuer in ("public", "internal"):
            assert (cert.subject, cert.issuer) == (subject_name(scenario, spec), issuer_name(scenario, spec))
        assert cert.certificate.not_valid_before_utc.isoformat().replace("+00:00", "Z") == spec.not_before


def test_events_option_scales_the_background_noise(tmp_path):
    generated = quiet(generate_case, "fabrikam-healthy", tmp_path, events=12_345, only=("evtx",))
    frame = read_events(tmp_path / "fabrikam-healthy" / "events" / "Application.evtx")
    assert len(frame) == 12_345 + len(generated.history.events)
    assert generated.application_records == {"FABEX01": len(frame)}


def test_readme_tells_every_case_and_names_every_file():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert "exlab lab generate --all data/samples" in readme
    for name in names():
        section = readme.split(f"## {name}:", 1)[1].split("\n## ", 1)[0]
        scenario = case(name)
        assert f"({scenario.verdict}, {scenario.cause or 'no cause'})" in section.splitlines()[0]
        for export in scenario.exports:
            assert f"`{export.path}`" in section, f"{name}: {export.path} is not in README.md"


@pytest.mark.parametrize("name", names())
def test_truth_gives_every_server_its_verdict_and_the_fix_only_where_sessions_failed(samples, name):
    truth = truth_of(samples, name)
    scenario = case(name)
    verdicts = truth["server_verdicts"]
    assert list(verdicts) == truth["servers"]
    failing = {s for s, count in truth["counts"]["failed_sessions_by_server"].items() if count}
    for server in scenario.servers:
        answer = verdicts[server.name]
        assert answer["fqdn"] == server.fqdn
        if server.name not in scenario.connector.source_servers:
            assert (answer["verdict"], answer["fix"], answer["culprit"]) == ("ruled_out", "none", None)
        elif server.name in failing:
            assert (answer["verdict"], answer["cause"], answer["fix"]) == (truth["verdict"], truth["cause"], "fix")
        else:
            assert answer["fix"] in ("none", "preventive")


def test_the_three_server_case_fails_on_one_server_only():
    truth = json.loads((SAMPLES / "litware-servers" / "truth.json").read_text(encoding="utf-8"))
    thumbprints = {c["key"]: c["thumbprint"] for c in truth["certificates"]}
    assert truth["counts"]["failed_sessions_by_server"] == {"LWEX01": truth["counts"]["failed_sessions"],
                                                            "LWEX02": 0, "LWEX03": 0}
    assert {name: (v["verdict"], v["culprit"], v["fix"]) for name, v in truth["server_verdicts"].items()} == {
        "LWEX01": ("confirmed", thumbprints["internal"], "fix"),
        "LWEX02": ("ruled_out", None, "none"),
        "LWEX03": ("ruled_out", None, "none")}
    assert truth["culprit"] == thumbprints["internal"]
