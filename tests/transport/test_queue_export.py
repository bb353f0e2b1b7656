"""Get-Queue's output (``| fl``, Export-Csv, Export-Clixml, ConvertTo-Json from the Exchange Management Shell, a
transcript) read into the queues frame: each queue with Exchange Online's answer from its LastError, and the
times in UTC."""

from __future__ import annotations

import io
import json
import warnings

import pandas as pd
import pytest

from exlab.errors import CorruptInput, DataLossWarning
from exlab.lab.transport_logs import QUEUE_EXPORT_SHAPES, _guid, queue_row, write_queue_export
from exlab.transport.queue_export import is_queue_export, read_queues
from exlab.transport.schema import QUEUE_COLUMNS

TZ = "Europe/Warsaw"
# a reply that holds what a naive split of LastError trips on: ";", braces, quotes, "=" and "};{" without a key
LED = ('451 4.4.0 Primary target IP address responded with: "454 4.7.0 Failed to establish appropriate TLS channel: '
       'UntrustedRoot: Access Denied {x};{y=1} a};{b}." Attempted failover to alternate host, but that did not '
       "succeed; 'last' attempt")
ROWS = [
    queue_row("EX01", 7, next_hop_domain="contoso-com.mail.protection.outlook.com", connector_guid=_guid("o365"),
              message_count=12, last_error_reply=LED, last_error_fqdn="contoso-com.mail.protection.outlook.com",
              last_error_ip="104.47.1.33", last_retry=pd.Timestamp("2025-03-20 09:14:02.123Z"),
              first_retry=pd.Timestamp("2025-03-20 08:01:00.5Z"), next_retry=pd.Timestamp("2025-03-20 09:24:02.123Z"),
              retry_count=17, tls_domain="mail.protection.outlook.com"),
    queue_row("EX01", 3, next_hop_domain="fabrikam.com", connector_guid=_guid("internet"), message_count=0,
              status="Ready", delivery_type="DnsConnectorDelivery"),
    queue_row("EX01", 9, next_hop_domain="dag01", connector_guid=_guid("dag"), message_count=2, status="Active",
              delivery_type="SmtpRelayToDag", next_hop_category="Internal", last_error_reply="421 4.4.2 Connection "
              "dropped due to SocketError", last_error_fqdn="EX02.contoso.com", last_error_ip="10.0.0.6",
              retry_count=1),       # no last retry: {LRT=}
]
TEXTS = ("server", "identity", "delivery_type", "next_hop_domain", "next_hop_connector", "tls_domain", "status",
         "next_hop_category", "led", "last_error_fqdn", "last_error_ip", "message_count", "retry_count")
TIMES = ("last_error_time", "last_retry_time", "next_retry_time", "first_retry_time")


def _export(rows: list[dict], shape: str, **options) -> bytes:
    out = io.BytesIO()
    write_queue_export(rows, out, shape, tz=TZ, **options)
    return out.getvalue()


def _read(data: bytes, **options) -> pd.DataFrame:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_queues(io.BytesIO(data), tz=TZ, **options)
    assert [str(warning.message) for warning in caught] == []
    return frame


def _cells(values) -> list:
    return [None if pd.isna(value) else value for value in values]


def _assert_rows(frame: pd.DataFrame, rows: list[dict], *, exact: bool) -> None:
    expected = pd.DataFrame(rows)
    assert list(frame.columns) == list(QUEUE_COLUMNS)
    for column in TEXTS:
        assert _cells(frame[column]) == _cells(expected[column]), column
    for column in TIMES:
        times = pd.Series(pd.to_datetime(expected[column], utc=True), dtype="datetime64[ns, UTC]")
        # Format-List and Export-Csv show a time to the second, and so does LastError's LRT everywhere
        pd.testing.assert_series_equal(frame[column], times if exact and column != "last_error_time"
                                       else times.dt.floor("s"), check_names=False)


# -- a real one ------------------------------------------------------------------------------------------------

# Get-Queue | fl of an Exchange 2013 server whose shell writes dates dd-MM-yy (a custom short date), saved with >
# from a console 120 wide: LastError wrapped between words, the space kept at the end of each line
REAL_2013 = (
    "\r\n\r\n"
    "RunspaceId                       : 2b5f0c61-7d1e-4a8b-9c3f-5e6d7a8b9c0d\r\n"
    "DeliveryType                     : DnsConnectorDelivery\r\n"
    "NextHopDomain                    : destination.com\r\n"
    "TlsDomain                        :\r\n"
    "NextHopConnector                 : 137c0a63-cbc7-4261-b49b-b4850e63593b\r\n"
    "Status                           : Retry\r\n"
    "MessageCount                     : 1\r\n"
    "LastError                        : [{LRT=15-01-21 23:50:05};{LED=450 4.7.0 Proxy session setup failed on "
    "Frontend with \r\n"
    "                                   '451 4.4.0 Primary target IP address responded with: \"451 4.4.0 Security "
    "status \r\n"
    "                                   InvalidToken.\" Attempted failover \r\n"
    "                                   ...'};{FQDN=MAILSERVER.DOMAIN.LOCAL};{IP=192.168.12.4}]\r\n"
    "RetryCount                       : 17\r\n"
    "LastRetryTime                    : 15-01-21 23:50:05\r\n"
    "NextRetryTime                    : 16-01-21 00:00:05\r\n"
    "FirstRetryTime                   : 15-01-21 22:06:02\r\n"
    "DeferredMessageCount             : 0\r\n"
    "LockedMessageCount               : 0\r\n"
    "MessageCountsPerPriority         : {0, 1, 0, 0}\r\n"
    "DeferredMessageCountsPerPriority : {0, 0, 0, 0}\r\n"
    "RiskLevel                        : Normal\r\n"
    "OutboundIPPool                   : 0\r\n"
    "NextHopCategory                  : External\r\n"
    "IncomingRate                     : 0\r\n"
    "OutgoingRate                     : 0\r\n"
    "Velocity                         : 0\r\n"
    "QueueIdentity                    : DAGSERVER5\\322120\r\n"
    "PriorityDescriptions             : {High, Normal, Low, None}\r\n"
    "Identity                         : DAGSERVER5\\322120\r\n"
    "IsValid                          : True\r\n"
    "ObjectState                      : New\r\n"
    "\r\n\r\n\r\n")


@pytest.mark.parametrize("culture", [None, "da-DK", "en-IN"])     # none of exlab's cultures writes yy: read as 20yy
def test_a_real_exchange_2013_queue_reads_to_its_values(culture):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_queues(io.BytesIO(REAL_2013.encode("utf-16")), tz="Europe/Amsterdam", culture=culture)
    assert caught == [] and len(frame) == 1
    row = frame.iloc[0]
    assert row["led"] == ("450 4.7.0 Proxy session setup failed on Frontend with '451 4.4.0 Primary target IP address "
                          "responded with: \"451 4.4.0 Security status InvalidToken.\" Attempted failover ...'")
    assert (row["last_error_fqdn"], row["last_error_ip"]) == ("MAILSERVER.DOMAIN.LOCAL", "192.168.12.4")
    assert row["last_error"].startswith("[{LRT=15-01-21 23:50:05};{LED=450") and row["last_error"].endswith(
        "{IP=192.168.12.4}]")
    assert (row["server"], row["identity"], row["status"], row["delivery_type"]) == (
        "DAGSERVER5", "DAGSERVER5\\322120", "Retry", "DnsConnectorDelivery")
    assert (row["message_count"], row["retry_count"], row["next_hop_category"]) == (1, 17, "External")
    assert pd.isna(row["tls_domain"]) and row["next_hop_connector"] == "137c0a63-cbc7-4261-b49b-b4850e63593b"
    assert [str(row[column]) for column in TIMES] == [          # CET: UTC+1
        "2021-01-15 22:50:05+00:00", "2021-01-15 22:50:05+00:00", "2021-01-15 23:00:05+00:00",
        "2021-01-15 21:06:02+00:00"]
    notes = frame.attrs["parse_report"].files[0].warnings
    assert any("two-digit year" in note for note in notes)


# -- every shape the lab writes --------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("culture", ["en-US", "de-DE", "pl-PL"])
@pytest.mark.parametrize("shape,trimmed", [*((shape, False) for shape in QUEUE_EXPORT_SHAPES), ("fl", True)])
def test_every_shape_reads_back_the_queues_written(shape, trimmed, culture, width):
    data = _export(ROWS, shape, culture=culture, width=width, trimmed=trimmed)
    frame = _read(data, culture=culture)
    _assert_rows(frame, ROWS, exact=shape in ("clixml", "json"))
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.losses) == (3, [])
    assert frame["line"].tolist() == [1, 2, 3]
    if shape == "csv":      # Export-Csv keeps LastError (a text), quoted
        assert LED.replace('"', '""') in data.decode("ascii")
    assert frame.loc[0, "last_error"].startswith("[{LRT=") and pd.isna(frame.loc[1, "last_error"])


def test_the_last_error_is_kept_whole_as_exported():
    frame = _read(_export(ROWS, "clixml"), culture="en-US")
    assert frame["last_error"].tolist()[::2] == [
        "[{LRT=3/20/2025 10:14:02 AM};{LED=" + LED + "};{FQDN=contoso-com.mail.protection.outlook.com};"
        "{IP=104.47.1.33}]",
        "[{LRT=};{LED=421 4.4.2 Connection dropped due to SocketError};{FQDN=EX02.contoso.com};{IP=10.0.0.6}]"]


# -- versions --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version,shown", [(2016, "TlsPolicyDesignatedDomain"), (2013, "TlsDomain")])
@pytest.mark.parametrize("shape", ["fl", "clixml"])
def test_tls_domain_is_read_from_either_name(version, shown, shape):
    data = _export(ROWS[:1], shape, version=version)
    text = data.decode("utf-16")
    assert (f"{shown} " if shape == "fl" else f'N="{shown}"') in text
    assert ("TlsPolicyDesignatedDomain" in text) == (version == 2016)
    assert _read(data, culture="en-US").loc[0, "tls_domain"] == "mail.protection.outlook.com"


@pytest.mark.parametrize("shape", QUEUE_EXPORT_SHAPES)
def test_exchange_2010s_last_error_is_the_reply_alone(shape):
    data = _export(ROWS, shape, version=2010)
    frame = _read(data, culture="en-US")
    assert frame["led"].tolist()[::2] == [LED, "421 4.4.2 Connection dropped due to SocketError"]
    assert frame["last_error"].tolist()[::2] == frame["led"].tolist()[::2]
    missing = ["last_error_fqdn", "last_error_ip", "retry_count", "tls_domain", "next_hop_category"]
    assert frame[missing].isna().all().all()
    assert frame["last_error_time"].isna().all() and frame["first_retry_time"].isna().all()
    last_retry = pd.Timestamp("2025-03-20 09:14:02.123Z")
    assert frame.loc[0, "last_retry_time"] == (last_retry if shape in ("clixml", "json") else last_retry.floor("s"))


def test_an_empty_last_error_is_na_and_an_empty_lrt_has_no_time():
    frame = _read(_export(ROWS, "fl"), culture="en-US")
    assert frame.loc[1, ["last_error", "led", "last_error_fqdn", "last_error_ip"]].isna().all()
    assert pd.isna(frame.loc[1, "last_error_time"]) and pd.isna(frame.loc[1, "last_retry_time"])
    assert frame.loc[2, "last_error"].startswith("[{LRT=};{LED=421 4.4.2") and pd.isna(frame.loc[2, "last_error_time"])
    assert frame.loc[2, ["led", "last_error_fqdn"]].tolist() == ["421 4.4.2 Connection dropped due to SocketError",
                                                                 "EX02.contoso.com"]


def test_last_error_parts_in_any_order_and_queues_named_otherwise():
    shown = [{"Identity": "EX01\\5", "NextHopDomain": "contoso.com", "DeliveryType": 4, "Status": 3,
              "MessageCount": 4, "NextHopCategory": 1,
              "LastError": "[{IP=104.47.1.33};{MSG=x};{LED=454 4.7.0 {a};{b}};{LRT=};{FQDN=mx.contoso.com}]"}]
    shown += [{"QueueIdentity": "EX02\\Shadow\\4", "NextHopDomain": "contoso.com", "MessageCount": 1},
              {"NextHopDomain": "fabrikam.com", "LastError": "451 4.4.0 DNS query failed", "DeliveryType": 1,
               "NextHopCategory": 0}]
    frame = _read(json.dumps(shown).encode("utf-8"))
    assert frame.loc[0, ["led", "last_error_fqdn", "last_error_ip", "status", "delivery_type", "next_hop_category"]
                     ].tolist() == ["454 4.7.0 {a};{b}", "mx.contoso.com", "104.47.1.33", "Retry",
                                    "SmartHostConnectorDelivery", "External"]
    assert frame.loc[1, ["server", "identity"]].tolist() == ["EX02", "EX02\\Shadow\\4"]     # QueueIdentity only
    assert frame.loc[2, ["server", "identity"]].isna().all() and frame.loc[2, ["led", "next_hop_category"]].tolist() \
        == ["451 4.4.0 DNS query failed", "External"]         # no identity: a queue still, by its NextHopDomain


# -- bad input -------------------------------------------------------------------------------------------------

def test_an_empty_file_is_corrupt_and_named(tmp_path):
    path = tmp_path / "Get-Queue.txt"
    path.write_bytes("\r\n\r\n".encode("utf-16"))
    with pytest.raises(CorruptInput, match="Get-Queue.txt"):
        read_queues(path)


def test_a_damaged_queue_is_skipped_counted_and_warned_once(tmp_path):
    text = _export(ROWS, "fl", culture="en-US").decode("utf-16")
    block = text.index("RunspaceId", text.index("Identity", text.index("RunspaceId")))     # the second queue
    end = text.index("\r\n\r\n", block)
    damaged = text[:block] + "Status       : Ready\r\nMessageCount : 0\r\nLastRetryTime : 3/32/2025 1:00:00 AM" + \
        text[end:]
    path = tmp_path / "queues.txt"
    path.write_bytes(damaged.replace("RetryCount".ljust(32) + " : 17", "RetryCount : many").encode("utf-16"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_queues(path, tz=TZ, culture="en-US")
    assert frame["identity"].tolist() == ["EX01\\7", "EX01\\9"] and frame["line"].tolist() == [1, 3]
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped, report.values_nulled) == (2, 1, 1)
    assert report.losses[0].where == "object 2" and "Identity" in report.losses[0].reason
    assert pd.isna(frame.loc[0, "retry_count"]) and "'many' is not a count" in report.losses[1].reason
    [warning] = caught
    assert issubclass(warning.category, DataLossWarning) and warning.filename == str(path)


def test_a_time_that_does_not_read_is_na_and_counted():
    text = _export(ROWS[:1], "fl", culture="de-DE").decode("utf-16")
    line = next(line for line in text.split("\r\n") if line.startswith("NextRetryTime"))
    with pytest.warns(DataLossWarning, match="31.02.2025"):
        frame = read_queues(io.BytesIO(text.replace(line, line[:35] + "31.02.2025 10:24:02").encode("utf-16")),
                            tz=TZ, culture="de-DE")
    assert pd.isna(frame.loc[0, "next_retry_time"]) and frame.loc[0, "last_retry_time"] == pd.Timestamp(
        "2025-03-20 09:14:02Z")
    [loss] = frame.attrs["parse_report"].files[0].losses
    assert (loss.kind, loss.where) == ("value", "object 1") and "31.02.2025" in loss.reason


@pytest.mark.parametrize("hostile", ["{" * 100_000, ";" * 100_000, "};{" * 50_000, "};{LED=" * 30_000,
                                     "[{" * 50_000, "\x01\x07\x1b\x7f\t" * 20_000])
@pytest.mark.parametrize("shape", ["json", "fl"])
def test_a_hostile_last_error_reads_and_stays_data(hostile, shape):
    reply = "454 4.7.0 " + hostile
    rows = [queue_row("EX01", 7, next_hop_domain="contoso.com", connector_guid=_guid("c"), message_count=1,
                      last_error_reply=reply, last_error_fqdn="mx.contoso.com", last_error_ip="10.0.0.9")]
    frame = _read(_export(rows, shape, width=80), culture="en-US")
    if hostile.startswith("};{LED="):     # a part like any other: the last LED is the one kept
        assert pd.isna(frame.loc[0, "led"])
    else:
        assert frame.loc[0, "led"] == reply
    assert frame.loc[0, "last_error_fqdn"] == "mx.contoso.com"
    assert frame.loc[0, "last_error"] == "[{LRT=};{LED=" + reply + "};{FQDN=mx.contoso.com};{IP=10.0.0.9}]"


@pytest.mark.parametrize("hostile,led", [
    ("[{" * 100_000, "[{" * 100_000),                                   # no key after "[{": not wrapped, all reply
    ("{LED=" * 50_000 + "}", "{LED=" * 50_000 + "}"),
    ("[{LED=" + "};{" * 50_000, "};{" * 50_000),                        # unclosed: the parts it has
    ("[{LED=\x00\u2028\x0b\x85\ufeff" * 20_000 + "}]", ("\x00\u2028\x0b\x85\ufeff[{LED=" * 20_000)[:-6]),
])
def test_a_hostile_last_error_in_json_is_kept_as_data(hostile, led):
    shown = [{"Identity": "EX01\\1", "NextHopDomain": "x", "MessageCount": 1, "LastError": hostile}]
    frame = _read(json.dumps(shown).encode("utf-8"))
    assert (frame.loc[0, "last_error"], frame.loc[0, "led"]) == (hostile.strip(), led)


# -- detection and transcripts ---------------------------------------------------------------------------------

def test_other_exports_are_not_queues():
    from exlab.lab.cert_exports import ExchangeCert, write_list
    from exlab.lab.pki import LabPki
    from exlab.lab.transport_logs import demo_connectors_fl, demo_tracking_log, write_tracking_export
    from exlab.transport.tracking_log import read_tracking_log

    tracking, certs = io.BytesIO(), io.BytesIO()
    write_tracking_export(read_tracking_log(demo_tracking_log()), tracking, "fl")
    write_list([ExchangeCert(LabPki("queues").internal_root.certificate, services=("SMTP",))], certs)
    for data in (tracking.getvalue(), demo_connectors_fl().getvalue(), certs.getvalue()):
        text = data.decode("utf-16")
        assert not is_queue_export(text), text[:200]


@pytest.mark.parametrize("shape", QUEUE_EXPORT_SHAPES)
def test_every_shape_is_a_queue_export(shape):
    data = _export(ROWS, shape)
    assert is_queue_export(data.decode("ascii" if shape == "csv" else "utf-16"))


@pytest.mark.parametrize("console", [False, True])
def test_get_queue_fl_in_a_transcript_beside_other_commands(console, tmp_path):
    from exlab.lab.transcripts import console_text, transcript_text
    from exlab.lab.transport_logs import demo_connectors_fl

    commands = [("Get-SendConnector | fl", demo_connectors_fl().getvalue().decode("utf-16")),
                ("Get-Queue | fl", _export(ROWS, "fl", culture="en-US").decode("utf-16")),
                ("Get-Date", "\r\nThursday, 20 March 2025 10:30:12\r\n\r\n")]
    text = console_text(commands) if console else transcript_text(commands)
    path = tmp_path / "session.txt"
    path.write_bytes(text.encode("utf-8-sig"))
    frame = read_queues(path, tz=TZ, culture="en-US")
    _assert_rows(frame, ROWS, exact=False)
    prompt = next(number for number, line in enumerate(text.split("\r\n"), 1) if line.endswith("Get-Queue | fl"))
    assert any(f"read as queues: 'Get-Queue | fl' (line {prompt})" in note
               for note in frame.attrs["parse_report"].files[0].warnings)


# ``Get-Queue | fl Identity,Status,MessageCount,LastError`` in a console 80 wide (en-US), and ``Get-Message | fl``
# of a message in that queue: it has a LastError too, and is no queue
CHOSEN = ("\r\n\r\nIdentity     : EX01\\7\r\nStatus       : Retry\r\nMessageCount : 12\r\n"
          "LastError    : [{LRT=3/20/2025 10:14:02 AM};{LED=454 4.7.0 Failed to establish appropriate TLS \r\n"
          "               channel: UntrustedRoot: Access Denied};{FQDN=};{IP=104.47.1.33}]\r\n\r\n\r\n")
MESSAGE = ("\r\n\r\nIdentity    : EX01\\7\\4398046511105\r\nFromAddress : ana@contoso.com\r\nStatus      : Retry\r\n"
           "Subject     : Faktura 03/2025\r\nLastError   : [{LRT=3/20/2025 10:14:02 AM};{LED=454 4.7.0 x}]\r\n\r\n")


def test_chosen_properties_read_and_a_message_is_no_queue():
    frame = read_queues(io.BytesIO(CHOSEN.encode("utf-16")), tz=TZ)
    assert frame[["identity", "server", "status", "message_count"]].values.tolist() == [
        ["EX01\\7", "EX01", "Retry", 12]]
    assert frame.loc[0, "led"] == "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
    assert frame.loc[0, "last_error_time"] == pd.Timestamp("2025-03-20 09:14:02", tz="UTC")
    assert pd.isna(frame.loc[0, "next_hop_domain"])
    assert is_queue_export(CHOSEN) and not is_queue_export(MESSAGE)
