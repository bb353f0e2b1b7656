"""What is inferred when the engineer does not say: the server's FQDN and the send connector, and why."""

from __future__ import annotations

import pandas as pd

from exlab.analysis.infer import infer_connector, infer_judgement_time, infer_server_fqdn
from tests.analysis import frames as f


def test_server_fqdn_from_get_exchange_server_else_the_transport_events():
    assert infer_server_fqdn(servers=f.servers(), events=f.events(("2025-03-20", 2004, {}), computer="other")) == (
        f.FQDN, "Get-ExchangeServer")
    two = pd.concat([f.servers(), f.servers().assign(fqdn="ex02.contoso.com")], ignore_index=True)
    events = f.events(("2025-03-20 09:00", 2004, {}), ("2025-03-20 09:15", 2004, {}), computer="ex02.contoso.com")
    assert infer_server_fqdn(servers=two, events=events) == ("ex02.contoso.com",
                                                             "computer name of the MSExchangeTransport events")


def test_connector_from_the_cloud_smart_host_else_what_the_failures_name():
    row, why = infer_connector(connectors=f.connectors())
    assert row["name"] == f.CONNECTOR and "smart host" in why
    both = f.connectors()
    both.at[0, "smart_hosts"] = ("contoso-com.mail.protection.outlook.com",)
    row, why = infer_connector(connectors=both, failing=f.failures(("2025-03-20", f.UNTRUSTED))["connector"])
    assert row["name"] == f.CONNECTOR and row["smart_hosts"] == ("contoso-com.mail.protection.outlook.com",)
    assert why == "the connector the failures name"
    row, why = infer_connector(sessions=f.sessions(f.session("2025-03-20", f.UNTRUSTED)))
    assert row == {"name": f.CONNECTOR} and why == "protocol log connector-id"
    assert infer_connector() == (None, None)


def test_judgement_time_is_the_last_failure_else_the_last_record():
    failures = f.failures(("2025-03-20 09:00", f.UNTRUSTED), ("2025-03-21 11:00", f.UNTRUSTED))
    points = pd.DataFrame({"time": failures["time_created"]})
    assert infer_judgement_time(points)[0] == pd.Timestamp("2025-03-21 11:00", tz="UTC")
    quiet = f.tracking(("2025-03-22 08:00", "SEND", "250 2.6.0 Queued"))
    assert infer_judgement_time(points.iloc[0:0], tracking=quiet) == (
        pd.Timestamp("2025-03-22 08:00", tz="UTC"), "the last record of the evidence")
    assert infer_judgement_time(points.iloc[0:0]) == (None, None)
