"""The cross-server helpers: the same answers in SQL over the store as in pandas over the folder
read, and the answers the lab case's truth holds."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from exlab.fleet import (
    certificates_presented,
    failure_spans,
    failures_per_hour,
    ingest,
    query,
)
from tests.fleet.stores import CONTOSO, LITWARE, folder_case

TRUTH = json.loads((LITWARE / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tmp_path_factory.mktemp("helpers") / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([LITWARE], store, progress=False)
    return store


@pytest.fixture(scope="module")
def case():
    return folder_case(LITWARE)


@pytest.mark.parametrize("helper", [failures_per_hour, failure_spans, certificates_presented])
def test_sql_on_the_store_equals_pandas_on_the_folder(helper, store, case):
    on_store = helper(store)
    assert len(on_store) > 0
    pd.testing.assert_frame_equal(on_store, helper(case))


def test_failure_spans_are_the_truths_onset_and_end(store):
    spans = failure_spans(store)
    assert spans[["server", "connector"]].values.tolist() == [["lwex01.litwareinc.com", TRUTH["connector"]]]
    assert spans.loc[0, "first_failure"] == pd.Timestamp(TRUTH["onset"])
    assert spans.loc[0, "last_failure"] == pd.Timestamp(TRUTH["end"])
    assert spans.loc[0, "failures"] == TRUTH["counts"]["events_2004"] == failures_per_hour(store)["failures"].sum()


def test_the_certificate_each_server_presented_and_when_it_changed(store):
    presented = certificates_presented(store)
    public = next(c["thumbprint"] for c in TRUTH["certificates"] if c["key"] == "public")
    culprit = TRUTH["server_verdicts"]["LWEX01"]["culprit"]
    one = presented[presented["server"] == "lwex01.litwareinc.com"]
    # LWEX01 presented the public certificate, then the internal one from the first refusal on
    assert one["cert_thumbprint"].tolist() == [public, culprit]
    assert one["replaced"].tolist()[1] == public and pd.isna(one["replaced"].tolist()[0])
    assert one["first_seen"].iloc[1] <= pd.Timestamp(TRUTH["onset"]) and one["sessions"].iloc[1] == TRUTH["counts"][
        "failed_sessions"]
    two = presented[presented["server"] == "lwex02.litwareinc.com"]
    assert two["cert_thumbprint"].tolist() == [public] and two["replaced"].isna().all()
    assert "lwex03.litwareinc.com" not in set(presented["server"])      # it sends nothing through the connector


def test_the_servers_named_in_sql_are_the_case_servers(store, case):
    stored = set(query(store, "SELECT DISTINCT server FROM events UNION SELECT DISTINCT server FROM sessions")["server"])
    assert stored == set(case.server_list())


def test_a_log_exported_four_times_counts_once(tmp_path):
    # contoso: the Application log as .evtx, Event Viewer XML and two CSVs (English, Polish, local times)
    store = tmp_path / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([CONTOSO], store, progress=False, tz="Europe/Warsaw")
    truth = json.loads((CONTOSO / "truth.json").read_text(encoding="utf-8"))
    assert query(store, "SELECT count(*) AS n FROM failures")["n"].tolist() == [4 * truth["counts"]["events_2004"]]
    case = folder_case(CONTOSO, tz="Europe/Warsaw")
    for helper in (failures_per_hour, failure_spans):
        pd.testing.assert_frame_equal(helper(store), helper(case))
    assert failure_spans(store)["failures"].tolist() == [truth["counts"]["events_2004"]]
    assert failure_spans(store)["first_failure"].tolist() == [pd.Timestamp(truth["onset"])]


def test_a_queue_of_another_connector_counts_on_the_store_as_on_the_folder(tmp_path):
    """contoso with Get-Queue in place of its events and logs, and a queue to a partner's domain through another
    connector retrying on DNS: the store's failed attempts are the folder's, each queue's named by its connector
    (the store's queues had none: the partner's queue would count against the hybrid connector)."""
    import shutil

    from exlab.fleet import failed_attempts
    from exlab.lab.transport_logs import connector_guid, queue_row, write_queue_export

    folder = tmp_path / "contoso"
    shutil.copytree(CONTOSO, folder, ignore=shutil.ignore_patterns("events", "logs", "Get-Queue.txt"))
    at = pd.Timestamp("2025-03-21 10:31:25", tz="UTC")
    queues = [queue_row("EXCHANGE", 3, next_hop_domain="contoso-com.mail.protection.outlook.com", message_count=29,
                        connector_guid=connector_guid("Outbound to Office 365"), last_retry=at,
                        last_error_reply="454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot"),
              queue_row("EXCHANGE", 4, next_hop_domain="fabrikam.example", message_count=2, last_retry=at,
                        connector_guid="137c0a63-cbc7-4261-b49b-b4850e63593b", delivery_type="DnsConnectorDelivery",
                        last_error_reply="451 4.4.0 DNS query failed")]
    write_queue_export(queues, folder / "config" / "Get-Queue.xml", "clixml", tz="Europe/Warsaw", server="EXCHANGE")
    store = tmp_path / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([folder], store, progress=False)
    on_store, on_folder = failed_attempts(store), failed_attempts(folder_case(folder))
    pd.testing.assert_frame_equal(on_store, on_folder)
    assert on_store["connector"].tolist() == ["Outbound to Office 365", "137c0a63-cbc7-4261-b49b-b4850e63593b"]
