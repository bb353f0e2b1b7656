"""What is inferred when the engineer does not say: the server's FQDN and the send connector, and why."""

from __future__ import annotations

import pandas as pd
import pytest

from exlab.analysis.diagnose import diagnose
from exlab.analysis.infer import infer_connector, infer_judgement_time, infer_server_fqdn
from exlab.certs import read_certs
from exlab.transport import read_servers
from exlab.transport.schema import SERVER_DTYPES, make_frame
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


NETBIOS_EVENTS = f.events(("2025-03-20 09:00", 2004, {}), ("2025-03-20 09:15", 2004, {}), computer="EX01")


def test_a_netbios_name_alone_is_never_taken_as_the_fqdn():
    fqdn, why = infer_server_fqdn(events=NETBIOS_EVENTS)
    assert fqdn is None
    assert why == ("NetBIOS name EX01 (computer name of the MSExchangeTransport events); "
                   "the FQDN was not in the evidence: pass --fqdn (server_fqdn=)")
    named_only = make_frame({"name": ["EX01"], "fqdn": [None], "source": ["ExchangeServer.txt"]}, SERVER_DTYPES)
    assert infer_server_fqdn(servers=named_only)[0] is None


def test_a_netbios_name_is_completed_where_the_evidence_writes_its_fqdn():
    two = pd.concat([f.servers().assign(name="EX02", fqdn="ex02.contoso.com"),
                     f.servers().assign(fqdn="EX01.contoso.com")], ignore_index=True)
    assert infer_server_fqdn(servers=two, events=NETBIOS_EVENTS) == (
        "EX01.contoso.com",
        "Get-ExchangeServer, for the NetBIOS name EX01 from the computer name of the MSExchangeTransport events")
    connectors = f.connectors().assign(source_transport_servers=[("EX01.contoso.com", "EX02.contoso.com"), ()])
    named_only = make_frame({"name": ["EX01"], "fqdn": [None], "source": ["ExchangeServer.txt"]}, SERVER_DTYPES)
    assert infer_server_fqdn(servers=named_only, connectors=connectors) == (
        "EX01.contoso.com", "the send connectors, for the NetBIOS name EX01 from the Get-ExchangeServer name")
    mixed = pd.concat([NETBIOS_EVENTS, f.events(("2025-03-20 10:00", 12014, {}), computer="ex01.contoso.com")
                       .assign(provider="MSExchangeFrontEndTransport")], ignore_index=True)
    assert infer_server_fqdn(events=mixed)[0] == "ex01.contoso.com"


def test_two_fqdns_for_one_netbios_name_leave_it_open():
    certs = pd.DataFrame({"dns_names": [("ex01", "ex01.contoso.com"), ("ex01.contoso.local",)]})
    assert infer_server_fqdn(events=NETBIOS_EVENTS, certs=certs)[0] is None


@pytest.mark.real_exports
def test_the_default_certificate_san_gives_the_fqdn_of_a_netbios_computer(real_exports):
    certs = read_certs(real_exports / "generated" / "MPEX02-default-selfsigned-sha1.cer")
    events = NETBIOS_EVENTS.assign(computer="MPEX02")
    assert infer_server_fqdn(events=events, certs=certs) == (
        "mpex02.munsonspickles.com",
        "the certificates, for the NetBIOS name MPEX02 from the computer name of the MSExchangeTransport events")


@pytest.mark.real_exports
def test_get_exchange_server_gives_the_fqdn_over_a_netbios_machine_name(real_exports):
    servers = read_servers(real_exports / "css-exchange" / "HC-E16-GetExchangeServer.xml")
    assert infer_server_fqdn(servers=servers, events=NETBIOS_EVENTS.assign(computer="SOLO-E16A")) == (
        "Solo-E16A.Solo.local", "Get-ExchangeServer")


def test_the_diagnosis_says_the_fqdn_is_missing_instead_of_using_the_netbios_name():
    diagnosis = diagnose(events=NETBIOS_EVENTS, certs=None)
    assert diagnosis.server_fqdn is None
    assert any(note.startswith("NetBIOS name EX01") and "pass --fqdn" in note for note in diagnosis.notes)
