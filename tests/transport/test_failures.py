"""tls_failures: one row per failed delivery from events 2004, 2015 and 12014."""

from __future__ import annotations

import pandas as pd

from exlab.events.schema import events_frame
from exlab.transport import tls_failures
from exlab.transport.schema import FAILURE_DTYPES

NS = 1_000_000_000
T0 = 1_742_462_042 * NS


def event(offset, event_id, data, provider="MSExchangeTransport", message=None, record=1):
    return {"time_created": T0 + offset * NS, "computer": "EX01.contoso.com", "channel": "Application",
            "provider": provider, "event_id": event_id, "record_id": record, "data": data, "message": message,
            "source": "Application.evtx"}


def test_failures_rows():
    events = events_frame([
        event(30, 2004, {"%1": "Outbound to Office 365", "%2": "<b@c>",
                         "%3": "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"},
              record=12),
        event(0, 2015, {"%1": "Outbound to Office 365", "%2": "contoso.mail.onmicrosoft.com",
                        "%3": "250-DB5EUR01FT012 Hello [1.2.3.4] 250-SIZE 157286400"}, record=10),
        event(10, 12014, {"%1": "<I>CN=Old CA<S>CN=mail.contoso.com", "%2": "Outbound to Office 365"}, record=11),
        event(20, 7036, {"param1": "Microsoft Exchange Transport"}, provider="Service Control Manager"),
        event(40, 2004, {}, message="Send connector Outbound to Office 365: Message delivery was not successful. "
              "The message with message ID <c@c> was acknowledged with SMTP response 454 4.7.5 The certificate "
              "specified in TlsCertificateName of the SendConnector could not be found..", record=13),
        event(50, 2004, {"%1": "Outbound", "%2": "<d@c>", "%3": "550 5.7.64 TenantAttribution; Relay Access Denied"},
              provider="MSExchangeFrontEndTransport", record=14),
    ])
    failures = tls_failures(events)
    assert list(failures.columns) == list(FAILURE_DTYPES)
    assert failures["event_id"].tolist() == [2015, 12014, 2004, 2004, 2004]
    assert failures["record_id"].tolist() == [10, 11, 12, 13, 14]
    assert failures["cause"].fillna("-").tolist() == ["-", "tlscertificatename-missing", "untrusted-root",
                                          "tlscertificatename-missing", "tenant-attribution"]
    row = failures.iloc[2]
    assert (row.connector, row.message_id, row.code, row.enhanced_status, row.reason) == (
        "Outbound to Office 365", "<b@c>", 454, "4.7.0", "UntrustedRoot")
    assert row.time_created == pd.Timestamp(T0 + 30 * NS, tz="UTC")
    assert failures.iloc[0].remote == "contoso.mail.onmicrosoft.com"
    assert failures.iloc[3].smtp_response.endswith("could not be found.")  # the sentence's stop removed
    assert failures.iloc[4].provider == "MSExchangeFrontEndTransport"
    assert str(failures["code"].dtype) == "Int32"


def test_no_events():
    assert len(tls_failures(events_frame([]))) == 0
    quiet = events_frame([event(0, 7036, {}, provider="Service Control Manager")])
    assert list(tls_failures(quiet).columns) == list(FAILURE_DTYPES) and len(tls_failures(quiet)) == 0
