"""The fleet helpers count failed attempts as the timeline does: from each server's best evidence,
so a server whose event log was not collected still shows the refusals its protocol log holds."""

from __future__ import annotations

import json
import shutil
import warnings

import pandas as pd
import pytest

from exlab.fleet import failure_spans, failures_per_hour, ingest
from exlab.lab.generate import generate_case
from tests.fleet.stores import folder_case
from tests.test_report import _both_source_servers_failing


@pytest.fixture(scope="module")
def without_lwex02_events(tmp_path_factory):
    """litware with both source servers failing, LWEX02's Application log not collected: the truth,
    the folder's case and the store of that folder."""
    out = tmp_path_factory.mktemp("attempts")
    generated = generate_case(_both_source_servers_failing(), out / "generated", events=20)
    folder = shutil.copytree(generated.folder, out / "litware")
    (folder / "LWEX02" / "Application.evtx").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([folder], out / "store", progress=False)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    return truth, folder_case(folder), out / "store"


@pytest.mark.slow
def test_a_server_without_its_event_log_counts_the_refusals_of_its_protocol_log(without_lwex02_events):
    truth, case, store = without_lwex02_events
    expected = {f"{name.lower()}.litwareinc.com": n for name, n in truth["counts"]["failed_sessions_by_server"].items()
                if n}
    assert len(expected) == 2
    for source in (store, case):
        spans = failure_spans(source)
        assert dict(zip(spans["server"], spans["failures"])) == expected
        assert set(spans["connector"]) == {truth["connector"]}
        per_hour = failures_per_hour(source)
        assert per_hour.groupby("server")["failures"].sum().to_dict() == expected
    pd.testing.assert_frame_equal(failure_spans(store), failure_spans(case))
    pd.testing.assert_frame_equal(failures_per_hour(store), failures_per_hour(case))
    timeline = case.timeline().points
    assert failure_spans(case)["last_failure"].max() == timeline["time"].max()
