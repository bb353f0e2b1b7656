"""Get-MessageTrackingLog's output, as engineers send it in place of the logs (``| fl``, Export-Csv,
Export-Clixml, ConvertTo-Json from the Exchange Management Shell): read into the tracking frame, it gives
the rows the logs give, and a case whose only message tracking evidence it is gets the logs' verdict."""

from __future__ import annotations

import io
import shutil
import warnings

import pandas as pd
import pytest

from exlab.analysis.timeline import failure_points
from exlab.errors import ExlabWarning
from exlab.lab.transport_logs import write_tracking_export
from exlab.transport.tracking_export import read_tracking_export
from exlab.transport.tracking_log import read_tracking_log
from tests.samples import quiet_case, sample_cases

CASES = {case.name: case for case in sample_cases()}
pytestmark = pytest.mark.skipif("contoso-kb2888788" not in CASES, reason="no lab cases in data/samples")
CONTOSO = CASES.get("contoso-kb2888788")
TZ = "Europe/Warsaw"
# the columns a shape keeps (Export-Csv writes the lists as a type name)
KEPT = ("event_id", "event_source", "connector_id", "message_id", "internal_message_id", "server_hostname",
        "client_hostname", "sender_address", "message_subject", "total_bytes", "recipient_count")
LISTS = ("recipient_address", "recipient_status", "led", "fqdn")


@pytest.fixture(scope="module")
def logs() -> pd.DataFrame:
    return read_tracking_log(CONTOSO.folder / "logs" / "MessageTracking")


def _export(logs: pd.DataFrame, shape: str, culture: str = "en-US") -> bytes:
    out = io.BytesIO()
    write_tracking_export(logs, out, shape, culture=culture, tz=TZ)
    return out.getvalue()


def _read(data: bytes, culture: str | None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_tracking_export(io.BytesIO(data), tz=TZ, culture=culture)


@pytest.mark.parametrize("shape,culture", [("clixml", None), ("json", None), ("fl", "en-US"), ("fl", "de-DE"),
                                           ("fl", "pl-PL"), ("csv", "en-US"), ("csv", "en-GB")])
def test_every_shape_reads_back_the_rows_of_the_logs(logs, shape, culture):
    frame = _read(_export(logs, shape, culture or "en-US"), culture)
    assert len(frame) == len(logs) and frame.attrs["parse_report"].files[0].records_skipped == 0
    exact = shape in ("clixml", "json")       # Format-List and Export-Csv show the time to the second
    times = logs["time"] if exact else logs["time"].dt.floor("s")
    pd.testing.assert_series_equal(frame["time"], times, check_names=False)
    for column in KEPT + (LISTS if shape != "csv" else ()):
        assert frame[column].tolist() == logs[column].tolist(), column
    assert (frame["led"].str.contains("UntrustedRoot").sum() if shape != "csv" else 0) == (
        logs["led"].str.contains("UntrustedRoot").sum() if shape != "csv" else 0)


def test_export_csv_says_the_lists_it_wrote_as_a_type_name_and_warns_that_the_answer_is_lost(logs):
    polish = logs.assign(message_subject="Faktura zażółć")      # 5.1's Export-Csv writes ASCII: ? for the rest
    with pytest.warns(ExlabWarning, match="Exchange Online's answer to each DEFER and FAIL is not in the file"):
        frame = read_tracking_export(io.BytesIO(_export(polish, "csv")), tz=TZ, culture="en-US")
    assert set(frame["message_subject"]) == {"Faktura za????"}
    assert frame["recipient_status"].isna().all() and frame["led"].isna().all()
    note, warned = [n for n in frame.attrs["parse_report"].files[0].warnings if n.startswith("Export-Csv wrote")]
    assert "Recipients, RecipientStatus, Reference, EventData" in note and "Export-Clixml keeps it" in warned


@pytest.mark.parametrize("shape", ["clixml", "fl"])
def test_a_case_whose_tracking_evidence_is_get_messagetrackinglog_gets_the_logs_verdict(logs, shape, tmp_path):
    """contoso with its MessageTracking folder replaced by Get-MessageTrackingLog's output: the tracking frame,
    its failure points and the verdict are those of the logs."""
    folder = tmp_path / "contoso"
    shutil.copytree(CONTOSO.folder, folder)
    shutil.rmtree(folder / "logs" / "MessageTracking")
    (folder / "logs" / f"Get-MessageTrackingLog.{'xml' if shape == 'clixml' else 'txt'}").write_bytes(
        _export(logs, shape))
    options = dict(roots=CONTOSO.roots, tz=TZ)
    cmdlet, original = quiet_case(folder, **options), quiet_case(CONTOSO.folder, **options)
    assert len(cmdlet.tracking) == len(original.tracking)
    points = [failure_points(tracking=case.tracking)[["connector", "message_id", "response", "server"]]
              for case in (cmdlet, original)]
    pd.testing.assert_frame_equal(*points)
    assert cmdlet.diagnose().to_dict()["verdict"] == original.diagnose().to_dict()["verdict"] == "confirmed"
    kinds = cmdlet.inventory().set_index("kind")
    assert kinds.loc["tracking", "status"] == "found"


def test_the_logs_and_the_cmdlets_output_read_together(logs, tmp_path):
    first_log = sorted((CONTOSO.folder / "logs" / "MessageTracking").iterdir())[0]
    (tmp_path / "MSGTRK.LOG").write_bytes(first_log.read_bytes())
    (tmp_path / "tracking.xml").write_bytes(_export(logs.head(3), "clixml"))
    from exlab.transport.tracking_export import read_message_tracking
    frame = read_message_tracking(sorted(tmp_path.iterdir()), tz=TZ)
    assert {f.format for f in frame.attrs["parse_report"].files} == {"message-tracking-log",
                                                                      "message-tracking-export"}
    assert frame["source"].str.endswith("tracking.xml").sum() == 3


def test_an_object_without_a_timestamp_is_skipped_and_counted(logs):
    text = _export(logs.head(2), "fl").decode("utf-16")
    first = text.index("Timestamp")
    broken = text[:first] + "Timestamp               : not a date" + text[text.index("\r\n", first):]
    frame = _read(broken.encode("utf-16"), "en-US")
    report = frame.attrs["parse_report"].files[0]
    assert (len(frame), report.records_skipped) == (1, 1)
    assert report.losses[0].where == "object 1" and "not a date" in report.losses[0].reason


def test_get_messagetrackinglog_fl_in_a_copy_of_the_console_beside_other_commands(logs, tmp_path):
    """A console copied into one file: the certificate list and Get-MessageTrackingLog | fl of the DEFERs; the case
    reads each command's output with its reader, the tracking rows as the logs give them."""
    from exlab.lab.cert_exports import ExchangeCert, write_list
    from exlab.lab.transcripts import console_text
    from exlab.lab.pki import LabPki

    deferred = logs[logs["event_id"] == "DEFER"].reset_index(drop=True)
    certs = io.BytesIO()
    write_list([ExchangeCert(LabPki("console").internal_root.certificate, services=("SMTP",))], certs, tz=TZ)
    text = console_text([("Get-ExchangeCertificate | fl", certs.getvalue().decode("utf-16")),
                         ("Get-MessageTrackingLog -EventId DEFER -ResultSize Unlimited | fl",
                          _export(deferred, "fl").decode("utf-16"))])
    (tmp_path / "console.txt").write_bytes(text.encode("utf-16"))
    case = quiet_case(tmp_path, tz=TZ, culture="en-US")
    assert case.tracking["message_id"].tolist() == deferred["message_id"].tolist()
    assert case.tracking["led"].tolist() == deferred["led"].tolist() and len(case.certs) == 1


def test_powershell_7_json_dates_and_a_local_shells_export_csv():
    """PowerShell 7's ConvertTo-Json writes Timestamp as ISO 8601 with the server's offset; a local shell's
    Export-Csv (no PSComputerName) writes its lists as ``System.String[]``."""
    shown = ('[{"Timestamp": "2025-03-20T11:49:14.2431234+01:00", "EventId": "DEFER", "Source": "SMTP",'
             ' "InternalMessageId": 42, "RecipientStatus": ["[{LED=454 4.7.0 Failed};{MSG=}]"],'
             ' "Recipients": ["a@contoso.com"], "ConnectorId": "Outbound to Office 365"}]')
    frame = read_tracking_export(io.BytesIO(shown.encode("utf-8")))
    assert frame.loc[0, "time"] == pd.Timestamp("2025-03-20T10:49:14.2431234Z")     # all seven digits
    assert (frame.loc[0, "led"], frame.loc[0, "recipient_address"], frame.loc[0, "internal_message_id"]) == (
        "454 4.7.0 Failed", "a@contoso.com", "42")
    local = ('#TYPE Microsoft.Exchange.Management.TransportLogSearchTasks.MessageTrackingEvent\r\n'
             '"Timestamp","EventId","Source","InternalMessageId","Recipients","RecipientStatus"\r\n'
             '"20.03.2025 11:49:14","DEFER","SMTP","42","System.String[]","System.String[]"\r\n')
    with pytest.warns(ExlabWarning, match="not in the file"):
        frame = read_tracking_export(io.BytesIO(local.encode("utf-8")), tz=TZ)
    assert frame.loc[0, "time"] == pd.Timestamp("2025-03-20T10:49:14Z") and pd.isna(frame.loc[0, "recipient_status"])


def test_one_export_of_several_servers_gives_each_row_its_server(tmp_path):
    """``Get-TransportService | Get-MessageTrackingLog | Export-Clixml``: northwind's two servers' rows in one
    file outside their folders. Each row is the server's that logged it (as the logs in their folders were),
    not the file's most common one, so NWEX02's DEFERs stay NWEX02's and NWEX01 shows no failure."""
    northwind = CASES["northwind-quiet"]
    folder = tmp_path / "northwind"
    shutil.copytree(northwind.folder, folder)
    logs = []
    for server in ("NWEX01", "NWEX02"):
        logs.append(read_tracking_log(folder / server / "Logs" / "MessageTracking"))
        shutil.rmtree(folder / server / "Logs")          # the protocol logs too: tracking is the failures' source
    both = pd.concat(logs, ignore_index=True)
    (folder / "Get-MessageTrackingLog.xml").write_bytes(_export(both, "clixml"))
    options = dict(roots=northwind.roots, tz=northwind.truth["tz"])
    exported, original = quiet_case(folder, **options), quiet_case(northwind.folder, **options)
    assert exported.tracking["server"].value_counts().to_dict() == original.tracking["server"].value_counts().to_dict()
    failing = {answer.server: answer.failures for answer in exported.diagnose().servers}
    assert set(failing) == {"nwex01.northwindtraders.com", "nwex02.northwindtraders.com"}
    assert failing["nwex01.northwindtraders.com"] == 0 and failing["nwex02.northwindtraders.com"] > 0
