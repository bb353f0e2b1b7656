"""The event catalog: EXCHANGE.md's table as data, and exlab's English rendering."""

from __future__ import annotations

import pytest

from exlab.transport import catalog, lookup, render_message
from exlab.transport.catalog import field_names

# id: (qualifiers, level, task, task name, insertion-string names) from EXCHANGE.md's table
TABLE = {
    2004: (16388, 4, 2, "SmtpSend", ("connector", "message_id", "smtp_response")),
    2005: (16388, 4, 2, "SmtpSend", ()),
    2015: (49156, 2, 2, "SmtpSend", ("connector", "remote_domain", "remote_response")),
    11005: (49156, 2, 11, "MessageSecurity", ()),
    12013: (49156, 2, 12, "TransportService", ("thumbprint",)),
    12014: (49156, 2, 12, "TransportService", ("certificate_name", "connector")),
    12016: (49156, 2, 12, "TransportService", ("fqdn",)),
    12018: (49156, 2, 12, "TransportService", ("subject", "thumbprint", "hours_remaining")),
    12023: (32772, 3, 12, "TransportService", ()),
    12024: (32772, 3, 12, "TransportService", ("configured_thumbprint", "thumbprint")),
    1035: (32772, 3, 1, "SmtpReceive", ("error", "receive_connector", "mechanism", "source_ip")),
}


@pytest.mark.parametrize("provider", ["MSExchangeTransport", "MSExchangeFrontEndTransport"])
@pytest.mark.parametrize("event_id", sorted(TABLE))
def test_table_rows(provider, event_id):
    entry = lookup(provider, event_id)
    qualifiers, level, task, task_name, fields = TABLE[event_id]
    assert (entry.qualifiers, entry.level, entry.task, entry.task_name, entry.fields) == (
        qualifiers, level, task, task_name, fields)
    # the template uses exactly the insertion strings the catalog names (12024 names %1 too)
    placeholders = {int(n) for n in __import__("re").findall(r"%(\d+)", entry.message)}
    assert placeholders == set(range(1, len(fields) + 1))


def test_frame_has_one_row_per_provider_and_id():
    frame = catalog()
    assert len(frame) == 2 * len(TABLE)
    assert not frame.duplicated(["provider", "event_id"]).any()
    assert str(frame["event_id"].dtype) == "Int32" and str(frame["level"].dtype) == "Int8"
    assert set(frame["wording"]) == {"exchange", "exlab"}
    assert frame.loc[frame.event_id == 2004, "wording"].unique().tolist() == ["exchange"]


def test_render_2004_as_exchange_words_it():
    data = {"%1": "Outbound to Office 365", "%2": "<DB9PR07MB7001@eurprd07.prod.outlook.com>",
            "%3": "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"}
    assert render_message("MSExchangeTransport", 2004, data) == (
        "Send connector Outbound to Office 365: Message delivery was not successful. The message with message ID "
        "<DB9PR07MB7001@eurprd07.prod.outlook.com> was acknowledged with SMTP response 454 4.7.0 Failed to "
        "establish appropriate TLS channel: UntrustedRoot: Access Denied.")
    named = {"connector": "X", "message_id": "<m@x>", "smtp_response": "454 4.7.0 y"}
    assert render_message("msexchangefrontendtransport", 2004, named).startswith("Send connector X: ")


def test_unknown_and_partial():
    assert lookup("MSExchangeTransport", 9999) is None
    assert lookup(None, 2004) is None
    assert render_message("MSExchangeTransport", 2015, {"%1": "Outbound"}).count("%") == 2
    assert field_names()[:3] == ("connector", "message_id", "smtp_response")
    assert len(field_names()) == len(set(field_names()))
