"""The timeline: episodes, onset and end on known timestamps, buckets in the engineer's zone across DST."""

from __future__ import annotations

import pandas as pd

from exlab.analysis.timeline import (
    DEFAULT_GAP,
    build_timeline,
    deliveries,
    episodes,
    failure_points,
    failures_per_bucket,
    flowing_since,
    flows_again,
    onset_context,
    recoveries,
)
from tests.analysis import frames as f

# Europe/Warsaw leaves summer time on 2025-10-26 at 01:00 UTC (03:00 CEST -> 02:00 CET).
# A queue retried every 10-15 minutes from 23:40 UTC on the 25th to 01:50 UTC, a pause of
# 2 hours, then a second burst: 02:00-03:00 local happens twice in the first episode.
FIRST = pd.date_range("2025-10-25 23:40", "2025-10-26 01:50", freq="10min", tz="UTC")
SECOND = pd.date_range("2025-10-26 03:50", "2025-10-26 04:20", freq="15min", tz="UTC")
TIMES = FIRST.append(SECOND)


def dst_failures():
    return f.failures(*((str(t.tz_localize(None)), f.UNTRUSTED) for t in TIMES))


def test_episodes_split_on_the_quiet_gap_with_onset_and_end():
    points = failure_points(failures=dst_failures())
    found = episodes(points, tz="Europe/Warsaw")
    assert found["failures"].tolist() == [len(FIRST), len(SECOND)]
    assert found["onset"].tolist() == [FIRST[0], SECOND[0]]
    assert found["end"].tolist() == [FIRST[-1], SECOND[-1]]
    assert found.loc[0, "duration"] == pd.Timedelta("2h10min")
    # local times carry the offset of their moment: summer at the onset, winter at the end
    assert str(found.loc[0, "onset_local"]) == "2025-10-26 01:40:00+02:00"
    assert str(found.loc[0, "end_local"]) == "2025-10-26 02:50:00+01:00"
    assert found.loc[0, "connectors"] == (f.CONNECTOR,) and found.loc[0, "servers"] == (f.FQDN,)


def test_a_smaller_gap_splits_more_and_the_default_is_an_hour():
    points = failure_points(failures=dst_failures())
    assert DEFAULT_GAP == pd.Timedelta(hours=1)
    assert len(episodes(points, gap="5min")) == len(TIMES)
    assert len(episodes(points, gap="3h")) == 1


def test_hour_buckets_in_local_time_keep_both_02_hours_of_the_dst_change():
    counts = failures_per_bucket(failure_points(failures=dst_failures()), bucket="1h", tz="Europe/Warsaw")
    local = [str(t) for t in counts["start_local"]]
    assert local[:4] == ["2025-10-26 01:00:00+02:00", "2025-10-26 02:00:00+02:00",
                         "2025-10-26 02:00:00+01:00", "2025-10-26 03:00:00+01:00"]
    assert counts["failures"].sum() == len(TIMES)
    assert counts["failures"].tolist()[:4] == [2, 6, 6, 0]   # 23:40, 23:50 | 00:00-00:50 | 01:00-01:50 | quiet
    assert (counts["start"].dt.tz is not None) and str(counts["start"].dt.tz) == "UTC"


def test_day_buckets_follow_the_local_day_of_25_hours():
    counts = failures_per_bucket(failure_points(failures=dst_failures()), bucket="1D", tz="Europe/Warsaw")
    assert [str(t) for t in counts["start_local"]] == ["2025-10-26 00:00:00+02:00"]
    assert counts["failures"].tolist() == [len(TIMES)]
    utc = failures_per_bucket(failure_points(failures=dst_failures()), bucket="1D")
    assert utc["failures"].tolist() == [2, len(TIMES) - 2]


def test_per_connector_and_per_server_counts():
    failures = pd.concat([f.failures(("2025-03-20 09:10", f.UNTRUSTED), ("2025-03-20 09:20", f.UNTRUSTED)),
                          f.failures(("2025-03-20 10:05", f.UNTRUSTED), connector="Other", computer="ex02.contoso.com")],
                         ignore_index=True)
    points = failure_points(failures=failures)
    by_connector = failures_per_bucket(points, by="connector")
    assert by_connector.groupby("connector")["failures"].sum().to_dict() == {f.CONNECTOR: 2, "Other": 1}
    by_server = failures_per_bucket(points, by="server")
    assert by_server.groupby("server")["failures"].sum().to_dict() == {f.FQDN: 2, "ex02.contoso.com": 1}
    assert len(by_server) == 4     # two servers x the same two hour bins


def test_sessions_stand_in_when_there_are_no_events_and_tracking_last():
    sessions = f.sessions(f.session("2025-03-20 09:14:02", f.UNTRUSTED), f.session("2025-03-20 08:00", f.QUEUED, f.PUBLIC))
    tracking = f.tracking(("2025-03-20 09:14:03", "DEFER", "[{LED=" + f.UNTRUSTED + "};{MSG=}]"),
                          ("2025-03-20 09:30:00", "SEND", "250 2.6.0 Queued"))
    from_sessions = failure_points(sessions=sessions, tracking=tracking)
    assert from_sessions["origin"].tolist() == ["session"]
    assert from_sessions["time"].tolist() == [pd.Timestamp("2025-03-20 09:14:02", tz="UTC")]   # the attempt's start
    from_tracking = failure_points(tracking=tracking)
    assert from_tracking[["origin", "code", "category", "where"]].values.tolist() == [
        ["tracking", 454, "untrusted-root", "line 6, DEFER of <t0@contoso.com>"]]
    assert len(failure_points(failures=dst_failures(), sessions=sessions, tracking=tracking, prefer=False)) == len(TIMES) + 2


def test_onset_context_lines_up_certificates_events_and_the_fix():
    certs = f.certs(f.cert(f.PUBLIC, "public", "2024-06-01", not_after="2025-06-01"),
                    f.cert(f.INTERNAL, "internal", "2025-03-14 09:02:05"))
    events = f.events(("2025-03-20 09:14:02.1", 12014, {"%1": f.FQDN, "%2": f.CONNECTOR}),
                      ("2025-03-19 03:17", 12018, {"%1": "CN=mail", "%2": f.PUBLIC, "%3": "48"}),
                      ("2025-03-20 09:00", 1, {"%1": "Enable-ExchangeCertificate -Thumbprint X -Services SMTP"}))
    sessions = f.sessions(f.session("2025-03-20 09:14:02", f.UNTRUSTED), f.session("2025-03-21 11:05:45", f.QUEUED, f.PUBLIC))
    onset = pd.Timestamp("2025-03-20 09:14:02", tz="UTC")
    recovered = recoveries(deliveries(sessions=sessions), failure_points(sessions=sessions))
    context = onset_context(onset, events=events, certs=certs, recovered=recovered, tz="Europe/Warsaw")
    assert context["kind"].tolist() == ["certificate valid from", "certificate valid from", "event 12018",
                                        "configuration change", "event 12014", "mail flows again",
                                        "certificate expires", "certificate expires"]
    internal = context[context["where"] == f"thumbprint {f.INTERNAL}"].iloc[0]
    assert internal["offset"] == -pd.Timedelta("6 days 00:11:57")   # enrolled six days before
    assert str(internal["time_local"]) == "2025-03-14 10:02:05+01:00"
    fix = context[context["kind"] == "mail flows again"].iloc[0]
    assert fix["offset"] == pd.Timedelta("1 days 01:51:43") and fix["where"].startswith("session ")


def test_build_timeline_with_no_failures_is_empty_not_an_error():
    timeline = build_timeline(sessions=f.sessions(f.session("2025-03-20 09:00", f.QUEUED, f.PUBLIC)), tz="Europe/Warsaw")
    assert timeline.onset is None and timeline.end is None
    assert timeline.episodes.empty and timeline.counts.empty
    assert "0 failure(s)" in timeline._repr_html_()


def test_the_fix_is_the_first_delivery_after_the_last_failure():
    sessions = f.sessions(f.session("2025-03-20 08:00", f.QUEUED, f.PUBLIC), f.session("2025-03-20 09:14", f.UNTRUSTED),
                          f.session("2025-03-21 11:02", f.UNTRUSTED), f.session("2025-03-21 11:06:01", f.QUEUED, f.PUBLIC),
                          f.session("2025-03-21 12:00", f.QUEUED, f.PUBLIC))
    timeline = build_timeline(sessions=sessions, tz="Europe/Warsaw")
    assert timeline.fix == pd.Timestamp("2025-03-21 11:06:01", tz="UTC")
    assert timeline.end == pd.Timestamp("2025-03-21 11:02", tz="UTC")
    assert build_timeline(sessions=sessions.iloc[:3]).fix is None


def _on(server: str, sessions: pd.DataFrame) -> pd.DataFrame:
    return sessions.assign(server=pd.array([server] * len(sessions), dtype="string"))


def test_a_server_that_delivered_all_along_does_not_make_mail_flow_again_for_one_still_failing():
    """EX02 delivers fine throughout while EX01 keeps failing: EX02's deliveries after EX01's last
    failure are not mail flowing again (the timeline said so, at EX02's first delivery after it);
    EX01's own first delivery after its last failure is."""
    failing = _on("EX01", f.sessions(f.session("2025-03-20 09:14", f.UNTRUSTED),
                                     f.session("2025-03-21 11:02", f.UNTRUSTED)))
    healthy = _on("ex02.contoso.com", f.sessions(*(f.session(t, f.QUEUED, f.PUBLIC) for t in (
        "2025-03-20 08:00", "2025-03-21 11:06:01", "2025-03-21 12:00"))))
    timeline = build_timeline(sessions=pd.concat([failing, healthy], ignore_index=True), tz="Europe/Warsaw")
    assert timeline.end == pd.Timestamp("2025-03-21 11:02", tz="UTC")
    assert timeline.fix is None
    assert "mail flows again" not in set(timeline.context["kind"])
    recovered = _on("ex01.contoso.com", f.sessions(f.session("2025-03-21 12:30", f.QUEUED, f.PUBLIC)))
    timeline = build_timeline(sessions=pd.concat([failing, healthy, recovered], ignore_index=True))
    assert timeline.fix == pd.Timestamp("2025-03-21 12:30", tz="UTC")
    flows = timeline.context[timeline.context["kind"] == "mail flows again"]
    assert flows["detail"].tolist() == [f"first delivery from EX01 through {f.CONNECTOR} after its last failure, "
                                        f"certificate {f.PUBLIC}"]


def test_mail_flows_again_once_every_failing_server_delivered_after_its_own_last_failure():
    """Two servers failing: EX01 delivers again after its last failure, EX03 fails on and never does;
    the case's mail flows again only when EX03 delivers too, at the later of the two."""
    points = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:00", "2025-03-20 12:00"], utc=True),
                           "server": ["EX01", "EX03"], "connector": [f.CONNECTOR] * 2})
    sent = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:30", "2025-03-20 12:30"], utc=True),
                         "server": ["ex01.contoso.com", "EX03"], "connector": [f.CONNECTOR.upper()] * 2})
    assert flows_again(sent, points).tolist() == [True, True]
    assert flowing_since(recoveries(sent.iloc[:1], points)) is None
    assert flowing_since(recoveries(sent, points)) == pd.Timestamp("2025-03-20 12:30", tz="UTC")


def test_where_the_evidence_names_no_server_a_delivery_counts_after_the_last_failure_of_all():
    points = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:00", "2025-03-20 12:00"], utc=True),
                           "server": ["EX01", None], "connector": [f.CONNECTOR, None]})
    sent = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 11:00", "2025-03-20 12:30"], utc=True),
                         "server": [None, None], "connector": [f.CONNECTOR] * 2})
    assert flows_again(sent, points).tolist() == [False, True]
    assert flows_again(sent.assign(server=["EX02", "EX02"]), points.iloc[:1]).tolist() == [False, False]


def test_deliveries_are_timed_at_the_accepting_reply_and_take_the_tracking_sends():
    sessions = f.sessions(f.session("2025-03-20 09:00", f.QUEUED, f.PUBLIC), f.session("2025-03-20 09:14", f.UNTRUSTED))
    sessions["delivered_at"] = pd.to_datetime(["2025-03-20 09:00:01", None], utc=True)
    sessions["delivered_line"] = pd.array(["SEND20250320-1.LOG line 40", None], dtype="string")
    tracking = f.tracking(("2025-03-20 09:30:00", "SEND", "250 2.6.0 Queued"),
                          ("2025-03-20 09:14:03", "DEFER", "[{LED=" + f.UNTRUSTED + "};{MSG=}]"))
    found = deliveries(sessions=sessions, tracking=tracking)
    assert found[["time", "origin", "where"]].values.tolist() == [
        [pd.Timestamp("2025-03-20 09:00:01", tz="UTC"), "session", f"session {sessions.loc[0, 'session_id']}, line 40"],
        [pd.Timestamp("2025-03-20 09:30:00", tz="UTC"), "tracking", "line 6, SEND of <t0@contoso.com>"]]
    assert found["row"].tolist() == [0, 0]


def test_an_event_of_an_event_viewer_csv_is_pointed_at_by_its_line():
    """Event Viewer's CSV has no record ids: each failure is pointed at by the line it starts on
    (the evidence row named no place at all), and that line of the file holds that event."""
    import warnings
    from pathlib import Path

    import exlab
    from exlab.transport import tls_failures

    export = Path(__file__).parents[2] / "data" / "samples" / "contoso-kb2888788" / "events" / "MSExchangeTransport-en.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.ExlabWarning)
        events = exlab.read_events(export, tz="Europe/Warsaw")
    points = failure_points(failures=tls_failures(events))
    assert len(points) > 100 and points["where"].notna().all()
    lines = export.read_text(encoding="utf-8-sig").splitlines()
    for where in points["where"].head(5):
        assert where.startswith("event 2004, line ")
        number = int(where.rsplit(" ", 1)[1])
        assert ",2004," in lines[number - 1] and "454 4.7.0" in lines[number - 1]


def _named(frame: pd.DataFrame, *servers: str) -> pd.DataFrame:
    """The frame with each row's server (as ``exlab.Case`` attributes it)."""
    return frame.assign(server=pd.array(servers, dtype="string"))


def test_each_server_counts_its_failures_from_its_best_source():
    """EX01's events and protocol log show the same two attempts; EX02's events were not collected: its
    protocol log shows its own (the timeline had EX01's events only). A DEFER row that names no server
    may be either's: the events stand for it."""
    failures = f.failures(("2025-03-20 09:14:02", f.UNTRUSTED), ("2025-03-20 09:29:02", f.UNTRUSTED),
                          computer="ex01.contoso.com")
    sessions = _named(f.sessions(*(f.session(t, f.UNTRUSTED) for t in (
        "2025-03-20 09:14:01.9", "2025-03-20 09:29:01.9", "2025-03-20 09:05", "2025-03-20 10:40"))),
        "EX01", "EX01", "ex02.contoso.com", "ex02.contoso.com")
    tracking = f.tracking(("2025-03-20 09:14:03", "DEFER", "[{LED=" + f.UNTRUSTED + "};{MSG=}]"))
    timeline = build_timeline(failures=failures, sessions=sessions, tracking=tracking)
    assert timeline.points[["origin", "server"]].values.tolist() == [
        ["session", "ex02.contoso.com"], ["event", "ex01.contoso.com"], ["event", "ex01.contoso.com"],
        ["session", "ex02.contoso.com"]]
    assert (timeline.onset, timeline.end) == (pd.Timestamp("2025-03-20 09:05", tz="UTC"),
                                              pd.Timestamp("2025-03-20 10:40", tz="UTC"))
    assert timeline.by_server.groupby("server")["failures"].sum().to_dict() == {"ex01.contoso.com": 2,
                                                                               "ex02.contoso.com": 2}
    assert len(failure_points(failures=failures, sessions=sessions, tracking=tracking, prefer=False)) == 7


def test_failures_that_name_no_server_give_way_to_a_better_source_of_the_case():
    """Sessions without a server (no folder or address tells) may be the events' attempts: the events
    alone count, as they did for the whole case; sessions alone count when there are no events."""
    failures = f.failures(("2025-03-20 09:14:02", f.UNTRUSTED), computer="ex01.contoso.com")
    sessions = f.sessions(f.session("2025-03-20 09:14:01.9", f.UNTRUSTED), f.session("2025-03-20 10:40", f.UNTRUSTED))
    assert failure_points(failures=failures, sessions=sessions)["origin"].tolist() == ["event"]
    assert failure_points(failures=failures, sessions=_named(sessions, None, None))["origin"].tolist() == ["event"]
    assert failure_points(sessions=sessions)["origin"].tolist() == ["session", "session"]


def test_mail_does_not_flow_again_while_a_server_seen_only_in_its_protocol_log_still_fails():
    """EX01 (events) delivers again at 10:00; EX02, whose events were not collected, fails until 10:40 and
    delivers at 11:00: mail flows again at 11:00, not at 10:00 (EX02's failures were left out)."""
    failures = f.failures(("2025-03-20 09:14:02", f.UNTRUSTED), ("2025-03-20 09:29:02", f.UNTRUSTED),
                          computer="ex01.contoso.com")
    sessions = _named(f.sessions(f.session("2025-03-20 09:20", f.UNTRUSTED), f.session("2025-03-20 10:40", f.UNTRUSTED),
                                 f.session("2025-03-20 10:00", f.QUEUED, f.PUBLIC)),
                      "EX02", "EX02", "EX01")
    timeline = build_timeline(failures=failures, sessions=sessions)
    assert timeline.fix is None
    assert timeline.recoveries[["server", "first_delivery"]].values.tolist() == [
        ["ex01.contoso.com", pd.Timestamp("2025-03-20 10:00", tz="UTC")], ["EX02", pd.NaT]]
    delivered = pd.concat([sessions, _named(f.sessions(f.session("2025-03-20 11:00", f.QUEUED, f.PUBLIC)), "EX02")])
    assert build_timeline(failures=failures, sessions=delivered).fix == pd.Timestamp("2025-03-20 11:00", tz="UTC")


def _queues(*rows):
    """Get-Queue's rows as ``exlab.read_queues`` gives them: (server, identity, LED, LRT UTC, message count)."""
    frame = pd.DataFrame(rows, columns=["server", "identity", "led", "last_error_time", "message_count"])
    frame["last_error_time"] = pd.to_datetime(frame["last_error_time"], utc=True)
    return frame.assign(next_hop_domain="contoso-com.mail.protection.outlook.com", status="Retry",
                        last_retry_time=frame["last_error_time"], source="EX02/Get-Queue.txt",
                        line=range(1, len(frame) + 1))


def test_a_queues_last_error_is_a_failure_of_a_server_no_better_evidence_shows():
    """Get-Queue shows each queue's last attempt: a point where the server's events, logs and tracking are
    missing; a queue without a last error is none; the same snapshot exported twice (fl and Export-Clixml) is
    one point; a server whose events show its failures keeps those alone."""
    queues = _queues(("EX02", "EX02\\7", f.UNTRUSTED, "2025-03-20 11:04:31", 12),
                     ("EX02", "EX02\\7", f.UNTRUSTED, "2025-03-20 11:04:31", 12),
                     ("EX02", "EX02\\Submission", None, None, 0),
                     ("ex01.contoso.com", "EX01\\3", f.UNTRUSTED, "2025-03-20 09:14:30", 3))
    points = failure_points(queues=queues, prefer=False)
    assert points[["origin", "server", "code", "enhanced_status", "reason", "category", "where"]].values.tolist() == [
        ["queue", "ex01.contoso.com", 454, "4.7.0", "UntrustedRoot", "untrusted-root",
         "queue EX01\\3 to contoso-com.mail.protection.outlook.com, 3 message(s) waiting"],
        ["queue", "EX02", 454, "4.7.0", "UntrustedRoot", "untrusted-root",
         "queue EX02\\7 to contoso-com.mail.protection.outlook.com, 12 message(s) waiting"]]
    assert points["time"].tolist() == [pd.Timestamp("2025-03-20 09:14:30", tz="UTC"),
                                       pd.Timestamp("2025-03-20 11:04:31", tz="UTC")]
    failures = f.failures(("2025-03-20 09:14:02", f.UNTRUSTED), computer="ex01.contoso.com")
    kept = failure_points(failures=failures, queues=queues)
    assert kept[["origin", "server"]].values.tolist() == [["event", "ex01.contoso.com"], ["queue", "EX02"]]
    assert build_timeline(failures=failures, queues=queues).end == pd.Timestamp("2025-03-20 11:04:31", tz="UTC")


def test_a_queue_without_lrt_is_timed_at_its_last_retry():
    queues = _queues(("EX01", "EX01\\3", f.UNTRUSTED, None, 1)).assign(
        last_retry_time=pd.Timestamp("2025-03-20 09:14:30", tz="UTC"))
    assert failure_points(queues=queues)["time"].tolist() == [pd.Timestamp("2025-03-20 09:14:30", tz="UTC")]
