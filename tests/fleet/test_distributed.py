"""The ingest on a real Dask cluster (LocalCluster on 127.0.0.1, two worker processes): the same
store as in this process, nothing added twice, nothing lost when a worker dies mid-ingest."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings

import pandas as pd
import pytest

from exlab.errors import ExlabError
from exlab.fleet import IngestIncomplete, Store, helpers, ingest, query, read_frame
from exlab.fleet.ingestion import connect, local_client, plan, span_jobs
from tests.fleet.spans import SPAN_CHUNKS, assert_store_is_the_direct_read, damage, write_server_log
from tests.fleet.stores import LITWARE, folder_case, store_case, verdicts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = local_client(2)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


def quiet_ingest(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ingest(*args, progress=False, **kwargs)


def table_counts(store) -> dict[str, int]:
    return {kind: len(read_frame(store, kind)) for kind in Store.open(store).kinds() if kind != "failures"}


def test_cluster_is_on_the_loopback_with_two_worker_processes(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(address.startswith("tcp://127.0.0.1:") for address in workers)
    assert len(set(client.run(os.getpid).values()) | {os.getpid()}) == 3


def test_the_cluster_writes_the_store_this_process_writes(client, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    quiet_ingest([LITWARE], here)
    result = quiet_ingest([LITWARE], there, client=client)
    folder = folder_case(LITWARE)
    assert table_counts(there) == {kind: len(frame) for kind, frame in folder.frames.items()} == table_counts(here)
    from_cluster, from_here = store_case(there), store_case(here)
    for kind in folder.frames:
        pd.testing.assert_frame_equal(from_cluster.frames[kind], from_here.frames[kind], obj=kind)
    assert verdicts(from_cluster).equals(verdicts(folder))
    assert quiet_ingest([LITWARE], there, client=client).added == 0 and result.added == 12
    for helper in (helpers.failures_per_hour, helpers.failure_spans, helpers.certificates_presented):
        pd.testing.assert_frame_equal(helper(there), helper(folder), obj=helper.__name__)


def ingest_killing_a_worker(client, ingest_run, busy_with) -> tuple[str | None, dict]:
    """Run ``ingest_run`` in a thread and SIGKILL (as the system would) the first worker seen
    busy with a task whose key ``busy_with`` accepts; the worker killed (None: none was busy)
    and the ingest's outcome (``result``, or ``failed`` when its retries ran out)."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = ingest_run()
        except IngestIncomplete as err:      # the retries ran out: the files are named
            outcome["failed"] = err.result.failed

    pids = client.run(os.getpid)          # the worker processes
    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 30
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        busy = [worker for worker, keys in client.processing().items() if any(busy_with(str(k)) for k in keys)]
        if busy:
            killed = busy[0]
            os.kill(pids[killed], signal.SIGKILL)
        time.sleep(0.002)
    thread.join(60)
    return killed, outcome


def test_a_worker_killed_mid_ingest_loses_nothing(client, tmp_path):
    store = tmp_path / "store"
    killed, outcome = ingest_killing_a_worker(client, lambda: quiet_ingest([LITWARE], store, client=client),
                                              lambda key: True)
    assert killed is not None, "no task was running to kill its worker"
    if "failed" in outcome:
        assert all(names for names, _ in outcome["failed"])
        quiet_ingest([LITWARE], store, client=client)         # a re-run completes the store
    client.wait_for_workers(2, timeout=30)                    # the nanny restarts the killed worker
    assert killed not in client.scheduler_info()["workers"]   # it did die: a new process took its place
    folder = folder_case(LITWARE)
    assert table_counts(store) == {kind: len(frame) for kind, frame in folder.frames.items()}
    assert query(store, "SELECT count(*) AS n, count(DISTINCT batch || batch_row) AS once FROM events").values.tolist() \
        == [[len(folder.events), len(folder.events)]]
    assert verdicts(store_case(store)).equals(verdicts(folder))


def test_a_big_evtx_is_a_task_per_span_on_the_cluster(client, tmp_path):
    from distributed import get_task_stream

    server = write_server_log(tmp_path / "case")
    damage(server / "Application.evtx")       # lost and repeated records, in spans read by two processes
    jobs = span_jobs(plan([server])[0][0], span_size=0, span_chunks=SPAN_CHUNKS)
    with get_task_stream(client) as stream:
        quiet_ingest([server], tmp_path / "store", client=client, span_size=0, span_chunks=SPAN_CHUNKS)
    keys = [str(task["key"]) for task in stream.data]
    assert sum(key.startswith("exlab-span-") for key in keys) == len(jobs) >= 4
    assert sum(key.startswith("exlab-events-") for key in keys) == 1
    assert_store_is_the_direct_read(tmp_path / "store", server)


def test_a_worker_killed_mid_span_loses_nothing(client, tmp_path):
    server = write_server_log(tmp_path / "case")
    store = tmp_path / "store"
    killed, outcome = ingest_killing_a_worker(
        client, lambda: quiet_ingest([server], store, client=client, span_size=0, span_chunks=1),
        lambda key: key.startswith("exlab-span-"))
    assert killed is not None, "no span was being read to kill its worker"
    if "failed" in outcome:
        assert outcome["failed"][0][0] == ["EX01/Application.evtx"]
        quiet_ingest([server], store, client=client, span_size=0, span_chunks=1)     # a re-run completes it
    client.wait_for_workers(2, timeout=30)
    assert_store_is_the_direct_read(store, server)


def test_the_command_line_ingests_on_an_existing_scheduler(client, tmp_path, capsys):
    from exlab.cli import main

    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    assert main(["fleet", "ingest", str(LITWARE), "-o", str(tmp_path / "store"), "--scheduler", address]) == 0
    out = capsys.readouterr().out
    assert out.startswith("12 batch(es) added")
    assert len(client.scheduler_info()["workers"]) == 2      # the cluster is not ours: it stays up
    with pytest.raises(ExlabError, match="expected a Dask scheduler answering at this address"):
        connect("tcp://127.0.0.1:9", timeout="1s")       # nothing listens there
