"""The lab's scenario model: certificate selection, queue retries, events, noise."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from exlab.lab.cases import case, names
from exlab.lab.generate import Generated, application_records, build_certificates
from exlab.lab.scenario import (
    MS,
    NS,
    REPLY_EXPIRED,
    REPLY_EXPIRED_NDR,
    REPLY_TLSCERTNAME,
    REPLY_UNTRUSTED_ROOT,
    RetryPolicy,
    background_events,
    parse_time,
    simulate,
    tls_outcome,
    tls_certificate_name,
    to_ns,
)


def at(text: str) -> int:
    return to_ns(parse_time(text))


@pytest.fixture(scope="module")
def histories():
    return {name: simulate(case(name), seed=1) for name in names()}


def test_retry_cadence_follows_exchange_defaults(histories):
    failed = histories["contoso-kb2888788"].failures()
    gaps = [(b.start - a.start) / NS for a, b in zip(failed, failed[1:])]
    # 4 glitch retries 15 s apart, 6 transient retries 5 min apart, then every 10 minutes
    # (each attempt may start up to 0.9 s late: the time the retry timer takes to fire)
    assert [int(g) for g in gaps[:10]] == [15] * 4 + [300] * 6
    steady = gaps[10:-1]
    assert len(steady) > 100 and all(600 <= g < 601 for g in steady)
    assert RetryPolicy(glitch_retry_count=0, transient_failure_retry_count=0).delay(1) == 600


def test_kb2888788_failures_start_after_the_enablement_and_stop_at_the_fix(histories):
    scenario = case("contoso-kb2888788")
    history = histories["contoso-kb2888788"]
    enable = next(a.ns for a in scenario.actions if a.kind == "enable")
    fix = scenario.fix_time()
    failed = history.failures()
    assert failed and all(enable < s.start < fix for s in failed)
    assert {s.certificate for s in failed} == {"internal"}
    assert {s.reply for s in failed} == {REPLY_UNTRUSTED_ROOT}
    delivered = [s for s in history.sessions if not s.failed]
    assert {s.certificate for s in delivered} == {"public"}
    assert any(s.start > fix for s in delivered) and any(s.start < enable for s in delivered)
    # every message for the cloud is delivered in the end, once
    sends = Counter(t.message.message_id for t in history.tracking if t.event_id == "SEND")
    assert set(sends) == {m.message_id for m in history.messages} and set(sends.values()) == {1}


def test_each_failed_session_logs_one_2004_for_its_head_message(histories):
    history = histories["contoso-kb2888788"]
    events = history.transport_events(2004)
    assert len(events) == len(history.failures()) == history.counts()["events_2004"]
    for event, session in zip(events, history.failures()):
        assert event.time == session.reply_at
        assert event.data == ("Outbound to Office 365", session.messages[0], REPLY_UNTRUSTED_ROOT)


def test_defer_once_per_message_at_the_failure_that_first_found_it_queued(histories):
    history = histories["contoso-kb2888788"]
    defers = [t for t in history.tracking if t.event_id == "DEFER"]
    ids = [t.message.message_id for t in defers]
    assert len(ids) == len(set(ids)) == history.counts()["deferred_messages"]
    replies = {s.reply_at for s in history.failures()}
    for row in defers:
        assert row.time in replies and row.time >= row.message.submitted
        assert row.recipient_status.startswith(f"[{{LED={REPLY_UNTRUSTED_ROOT}}};{{MSG=}};{{FQDN=")
    assert history.onset() == min(t.time for t in defers)


def test_tls_outcome_follows_the_transport_selection_rules():
    contoso = case("contoso-kb2888788")
    server = contoso.servers[0]
    assert tls_outcome(contoso, server, at("2025-03-20T09:00:00Z")).certificate == "public"
    after = tls_outcome(contoso, server, at("2025-03-20T09:13:00Z"))
    assert (after.certificate, after.reply, after.local) == ("internal", REPLY_UNTRUSTED_ROOT, False)
    assert tls_outcome(contoso, server, at("2025-03-21T11:05:01Z")).reply is None

    woodgrove = case("woodgrove-expired")
    wg = woodgrove.servers[0]
    assert tls_outcome(woodgrove, wg, at("2025-04-02T04:59:58Z")).reply is None
    expired = tls_outcome(woodgrove, wg, at("2025-04-02T05:00:00Z"))
    assert (expired.certificate, expired.reply) == ("public-2024", REPLY_EXPIRED)
    assert expired.events == ((12016, ("mail.woodgrovebank.com",)),)
    assert tls_outcome(woodgrove, wg, at("2025-04-02T19:41:00Z")).certificate == "public-2025"

    tailspin = case("tailspin-tlscertname")
    pinned = tailspin.connector.tls_certificate_name
    assert pinned == tls_certificate_name(tailspin, tailspin.cert("public-2024"))
    before = tls_outcome(tailspin, tailspin.servers[1], at("2025-06-24T08:30:00Z"))
    assert (before.certificate, before.reply) == ("public-2024", None)
    gone = tls_outcome(tailspin, tailspin.servers[1], at("2025-06-24T08:32:00Z"))
    assert (gone.certificate, gone.reply, gone.local) == (None, REPLY_TLSCERTNAME, True)
    assert gone.events == ((12014, (pinned, tailspin.connector.name)),)


def test_the_newest_valid_certificate_wins_and_self_signed_is_a_fallback():
    contoso = case("contoso-kb2888788")
    server = contoso.servers[0]
    # without the public certificates only the self-signed one (server FQDN) is left
    bare = dataclasses.replace(contoso, certificates=tuple(c for c in contoso.certificates
                                                            if c.issuer in ("self-signed", "auth")),
                               connector=dataclasses.replace(contoso.connector, fqdn=None))
    outcome = tls_outcome(bare, server, at("2025-03-20T09:00:00Z"))
    assert outcome.certificate == "self-signed-exchange" and outcome.reply == REPLY_UNTRUSTED_ROOT


def test_quiet_server_fails_without_event_2004_and_only_on_the_server_with_the_internal_certificate(histories):
    history = histories["northwind-quiet"]
    assert history.transport_events(2004) == [] and history.counts()["events_2004"] == 0
    failed = history.failures()
    assert failed and {s.server for s in failed} == {"NWEX02"}
    assert {s.certificate for s in failed} == {"internal"}
    assert any(not s.failed and s.server == "NWEX01" and s.start > failed[0].start for s in history.sessions)


def test_tlscertificatename_case_logs_12014_with_every_failure_on_both_servers(histories):
    history = histories["tailspin-tlscertname"]
    failed = history.failures()
    assert {s.server for s in failed} == {"TSEX01", "TSEX02"}
    assert {s.reply for s in failed} == {REPLY_TLSCERTNAME} and {s.certificate for s in failed} == {None}
    assert len(history.transport_events(12014)) == len(failed) == len(history.transport_events(2004))


def test_expiry_warnings_come_daily_before_the_certificate_runs_out(histories):
    history = histories["woodgrove-expired"]
    warnings = history.transport_events(12018)
    expiry = case("woodgrove-expired").cert("public-2024").not_after_ns
    assert warnings and all(case("woodgrove-expired").start_ns <= w.time < expiry for w in warnings)
    assert [int(w.data[2]) for w in warnings] == sorted((int(w.data[2]) for w in warnings), reverse=True)
    assert all(w.data[1] == "{thumbprint}" and w.cert == "public-2024" for w in warnings)
    assert len(history.transport_events(12016)) == len(history.failures())
    assert min(s.start for s in history.failures()) >= expiry


def test_messages_expire_after_two_days_in_a_queue_that_never_recovers():
    contoso = case("contoso-kb2888788")
    endless = dataclasses.replace(contoso, actions=contoso.actions[:1], end="2025-03-23T12:00:00Z",
                                  certificates=tuple(
                                      dataclasses.replace(c, services=c.services[:2]) if c.key == "internal" else c
                                      for c in contoso.certificates))
    history = simulate(endless, seed=3)
    fails = [t for t in history.tracking if t.event_id == "FAIL"]
    assert fails and all(t.recipient_status == REPLY_EXPIRED_NDR for t in fails)
    limit = endless.retry.message_expiration_timeout * NS
    attempts = sorted(s.start for s in history.failures())
    for row in fails:
        age = row.time - row.message.submitted
        assert limit <= age < limit + 601 * NS       # at the first attempt after two days
        assert row.time in attempts
    assert history.counts()["expired_messages"] == len(fails)
    assert all(not s.failed for s in history.sessions if s.start < at("2025-03-20T09:12:40Z"))


def test_simulation_is_deterministic_and_seeded():
    one, two, other = (simulate(case("contoso-kb2888788"), seed=s) for s in (5, 5, 6))
    assert one.sessions == two.sessions and one.tracking == two.tracking and one.events == two.events
    assert one.sessions != other.sessions


def test_all_lab_times_are_whole_milliseconds(histories):
    for history in histories.values():
        times = [s.start for s in history.sessions] + [s.reply_at for s in history.sessions]
        times += [t.time for t in history.tracking] + [e.time for e in history.events]
        assert all(t % MS == 0 for t in times)


def test_mail_follows_office_hours_in_the_servers_time_zone(histories):
    scenario = case("fabrikam-healthy")
    zone = ZoneInfo(scenario.tz)
    hours = Counter(
        scenario.traffic.office_hours[0] <= datetime.fromtimestamp(m.submitted / NS, zone).hour
        < scenario.traffic.office_hours[1] for m in histories["fabrikam-healthy"].messages)
    # 10 office hours a day at 2.5/h against 14 night hours at 0.3/h
    assert hours[True] > 3 * hours[False] > 0


def test_background_noise_streams_in_time_order_inside_the_window():
    scenario = case("contoso-kb2888788")
    server = scenario.servers[0]
    stream = background_events(scenario, server, seed=1, count=30_000)
    assert iter(stream) is stream          # a generator: nothing is held
    times = [row["time_created"] for row, _, _ in stream]
    assert len(times) == 30_000 and times == sorted(times)
    assert scenario.start_ns <= times[0] and times[-1] < scenario.end_ns
    providers = Counter(row["provider"] for row, _, _ in background_events(scenario, server, 1, 3000))
    assert len(providers) >= 6 and "MSExchangeTransport" not in providers


def test_application_log_merges_noise_and_transport_events_with_consecutive_record_ids(histories):
    scenario = case("woodgrove-expired")
    history = histories["woodgrove-expired"]
    generated = Generated(scenario, 1, Path("."), history, build_certificates(scenario, 1))
    records = list(application_records(generated, scenario.servers[0], count=800))
    rows = [r.row for r in records]
    first = rows[0]["record_id"]
    assert [r["record_id"] for r in rows] == list(range(first, first + len(rows))) and first > 1
    assert [r["record_number"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["time_created"] for r in rows] == sorted(r["time_created"] for r in rows)
    transport = [r for r in records if r.row["provider"] == "MSExchangeTransport"]
    assert len(transport) == len(history.events) and len(rows) == 800 + len(transport)
    warning = next(r for r in transport if r.row["event_id"] == 12018)
    thumbprint = generated.thumbprint("public-2024")
    assert (warning.row["qualifiers"], warning.row["level"], warning.row["task"]) == (32772, 3, 12)
    assert warning.row["data"]["%2"] == thumbprint
    assert thumbprint in warning.message("en-US") and thumbprint in warning.message("de-DE")
    assert warning.message("pl-PL").startswith("Certyfikat STARTTLS o podmiocie CN=mail.woodgrovebank.com")
    noise = next(r for r in records if r.noise is not None and r.noise.event_id == 16384)
    assert noise.message("de-DE").startswith("Der Neustart des Softwareschutzdiensts")
    assert noise.row["data"]["%1"] in noise.message("en-US")


def test_cases_differ_the_way_real_sites_do():
    scenarios = [case(name) for name in names()]
    assert len({s.culture for s in scenarios}) >= 3 and len({s.tz for s in scenarios}) >= 4
    assert any(len(s.servers) == 2 for s in scenarios)
    assert any(s.connector.name.startswith("Outbound to Office 365 ") for s in scenarios)
    assert any(s.connector.name == "Outbound to Office 365" for s in scenarios)
    with pytest.raises(KeyError, match="known: contoso-kb2888788"):
        case("litware")
