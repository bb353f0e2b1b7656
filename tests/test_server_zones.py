"""Servers whose exports were written in different time zones, in one case folder: each file's local
times are read in the zone of the server its folder names (``server_tz``), the rest in ``tz``."""

from __future__ import annotations

import dataclasses
import warnings

import pandas as pd
import pytest

import exlab
from exlab.cli import main
from exlab.errors import ExlabError
from exlab.lab.generate import generate_case
from exlab.lab.scenario import Export
from exlab.settings import SETTINGS_FILE
from tests.samples import quiet_case
from tests.test_report import _both_source_servers_failing

TOKYO = "Asia/Tokyo"


def _exported_in_tokyo(export: Export) -> Export:
    """LWEX02's Application log saved from Event Viewer as CSV, and its certificates listed, on a
    machine set to Tokyo time (the site's servers are on Los Angeles time)."""
    if export.server != "LWEX02":
        return export
    if export.kind == "evtx":
        return Export("LWEX02/Application.csv", "event-csv", "LWEX02", (("tz", TOKYO),))
    if export.kind == "exchange-certs":
        return dataclasses.replace(export, options=(*export.options, ("tz", TOKYO)))
    return export


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    out = tmp_path_factory.mktemp("zones")
    site = _both_source_servers_failing()
    whole = generate_case(site, out / "whole", events=20).folder
    tokyo = dataclasses.replace(site, exports=tuple(map(_exported_in_tokyo, site.exports)))
    return whole, generate_case(tokyo, out / "tokyo", events=20).folder


def _event_failures(case: exlab.Case, server: str) -> list[pd.Timestamp]:
    points = case.timeline().points
    chosen = points[(points["origin"] == "event") & (points["server"].str.lower().str.startswith(server))]
    return sorted(chosen["time"].dt.floor("s"))


def _not_after(case: exlab.Case) -> dict[str, pd.Timestamp]:
    certs = case.certs[case.certs["source"].str.contains("LWEX02")]
    return dict(zip(certs["thumbprint"], certs["not_after"]))


def test_a_server_exported_in_another_zone_is_read_in_its_own_zone(cases):
    whole, tokyo = (quiet_case(folder) for folder in cases)
    assert len(_event_failures(whole, "lwex02")) > 0
    zoned = quiet_case(cases[1], server_tz={"LWEX02": TOKYO})
    assert _event_failures(zoned, "lwex02") == _event_failures(whole, "lwex02")
    assert _event_failures(zoned, "lwex01") == _event_failures(whole, "lwex01")
    assert _not_after(zoned) == _not_after(whole)
    assert len(zoned.certs) == len(whole.certs)       # the certificates both servers list are merged still
    # read in the site's zone, LWEX02's times are off by the two zones' difference
    assert _event_failures(tokyo, "lwex02") != _event_failures(whole, "lwex02")
    assert _not_after(tokyo) != _not_after(whole)
    assert zoned.diagnose().verdict == whole.diagnose().verdict


def test_the_settings_file_and_the_command_line_give_the_servers_zones(cases, tmp_path, capsys):
    folder = cases[1]
    settings = folder / SETTINGS_FILE
    written = settings.read_text(encoding="utf-8")
    try:
        settings.write_text(written + f'\n[server_tz]\nlwex02 = "{TOKYO}"\n', encoding="utf-8")
        from_file = quiet_case(folder)
        assert from_file.settings.server_tz == {"lwex02": TOKYO}
        assert _event_failures(from_file, "lwex02") == _event_failures(quiet_case(cases[0]), "lwex02")
    finally:
        settings.write_text(written, encoding="utf-8")
    report = tmp_path / "summary.json"
    assert main(["investigate", str(folder), "--server-tz", f"LWEX02={TOKYO}", "--json", str(report)]) in (0, 2)
    capsys.readouterr()
    assert main(["investigate", str(folder), "--server-tz", "LWEX02"]) == 1
    assert "SERVER=ZONE" in capsys.readouterr().err


def test_a_zone_that_is_not_an_iana_name_is_refused_naming_the_server(cases):
    with pytest.raises(ExlabError, match="LWEX02"):
        quiet_case(cases[1], server_tz={"LWEX02": "Tokyo Standard Time"})


def test_the_evidence_store_reads_each_server_in_its_zone(cases, tmp_path):
    from exlab.fleet import ingest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([cases[1]], tmp_path / "store", progress=False, server_tz={"LWEX02": TOKYO})
    stored, whole = quiet_case(tmp_path / "store"), quiet_case(cases[0])
    assert _event_failures(stored, "lwex02") == _event_failures(whole, "lwex02")
    assert _not_after(stored) == _not_after(whole) and len(stored.certs) == len(whole.certs)


def test_an_export_read_in_the_wrong_zone_is_told_by_its_servers_protocol_log(cases):
    """LWEX02's CSV was written on Tokyo time and read on the site's (Los Angeles): its failures match its
    refused sessions (the protocol log writes UTC) only 16 hours earlier. The case says so, and which
    setting reads it right; read in its zone, or as an .evtx, nothing is said."""
    said = [note for note in quiet_case(cases[1]).diagnose().notes if "protocol log (UTC)" in note]
    assert said == ["LWEX02/Application.csv was read in America/Los_Angeles, but its failures match "
                    "lwex02.litwareinc.com's SMTP send protocol log (UTC) only 16 h earlier: its local times were "
                    "written at UTC+09:00, so the protocol log times lwex02.litwareinc.com's failures here. Pass "
                    "that server's zone (--server-tz lwex02.litwareinc.com=ZONE, or server_tz in exlab-case.toml) to "
                    "read the export right"]
    for case in (quiet_case(cases[1], server_tz={"LWEX02": TOKYO}), quiet_case(cases[0])):
        assert not [note for note in case.diagnose().notes if "protocol log (UTC)" in note]


def test_an_export_read_in_the_wrong_zone_does_not_time_the_outage(cases):
    """Its failures, 16 hours late, made the outage end the next day; its server's protocol log times them
    instead: the window, the attempts and each server's failures are those of the whole evidence."""
    misread, whole = quiet_case(cases[1]), quiet_case(cases[0])
    second = pd.Timedelta(seconds=1)
    for answer, truth in ((misread.diagnose(), whole.diagnose()),
                          *zip(misread.diagnose_servers(), whole.diagnose_servers())):
        assert (answer.server, answer.verdict, answer.failures) == (truth.server, truth.verdict, truth.failures)
        if truth.onset is not None:
            assert abs(answer.onset - truth.onset) < second and abs(answer.end - truth.end) < second
    points = misread.timeline().points
    assert set(points[points["server"].str.startswith("lwex02")]["origin"]) == {"session"}


@pytest.mark.slow
def test_the_report_and_the_notebooks_say_the_times_are_off_on_their_first_screen(cases, tmp_path):
    """The note stood last, folded under 'What was inferred', while the outage window it makes wrong
    stood first: the report puts it beside the window, and the notebooks after theirs."""
    from exlab.report import execute_notebook, write_report
    from exlab.report.model import build_report
    from tests.test_notebooks import _texts

    report = build_report(quiet_case(cases[1]))
    assert len(report.times) == 1 and "16 h earlier" in report.times[0]
    assert not [note for note in report.notes if "protocol log (UTC)" in note]
    assert build_report(quiet_case(cases[1], server_tz={"LWEX02": TOKYO})).times == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = write_report(cases[1], tmp_path / "report.html").read_text(encoding="utf-8")
    answer = page[page.index('aria-label="verdict"'):page.index("</section>", page.index('aria-label="verdict"'))]
    assert "<dt>Times off</dt>" in answer and "written at UTC+09:00" in answer
    for name in ("00-start-here.ipynb", "03-root-cause.ipynb"):
        texts = _texts(execute_notebook(name, {"case_folder": str(cases[1])}))
        assert "written at UTC+09:00" in texts, name
