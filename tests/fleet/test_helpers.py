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
