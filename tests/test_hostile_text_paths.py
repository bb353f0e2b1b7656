"""Evidence text on the paths added to what people see: server names (the inventory's "none from ...",
folders and zips that name a server, a connector's SourceTransportServers), connector names, certificate
notes and warnings, protocol log sessions and replies, refused files, and the evidence store. Such text is
data: control characters shown as escapes in the terminal, escaped in the HTML report, neutralised in CSV,
valid in JSON; and however long or odd it is, it never makes exlab quadratic."""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab.analysis.timeline import flows_again, recoveries
from exlab.attribution import ServerNames
from exlab.cli import main
from exlab.fleet.store import partition_value
from exlab.lab.cert_exports import ExchangeCert, write_csv, write_list
from exlab.lab.pki import LabPki
from tests.growth import cpu_growth
from tests.samples import sample_cases

LITWARE = next(case for case in sample_cases() if case.name == "litware-servers")
TAGS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
ESCAPES = "\x1b[2J\x1b]8;;http://evil\x07link\x1b]8;;\x07\u202eRTL"
CONNECTOR = '=HYPERLINK("http://evil","x")' + TAGS + ESCAPES
HOSTILE_SERVER = "<b>X</b>\x1b[31mEVIL"          # a source transport server of the connector, seen nowhere else
METACHARACTERS = "EX(01"                          # a server whose name is a broken regex
STORE_OWNER = "<img src=x onerror=alert(1)>\x1b[2J"   # the PSComputerName of a certificate export
# the reply that accepted the first delivered session's message (its quotes single: the log holds it unquoted)
ACCEPTED = ("Queued " + TAGS + ESCAPES + " =cmd|' /c calc'!A1").replace('"', "'")
SESSION = "<i>08DD</i>\x1b[2J"                  # that session's id
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\u202e]")   # what a terminal would act on (a line feed ends lines)
PROGRESS_REDRAW = re.compile(r"\r(?=[\w ]*: *\d+%\|)")   # tqdm's: "\ringest:  67%|██████▋   | 8/12"
RAW_TAGS = ("<script>alert", "<img src=x", "<b>X", "<B>X")


def _utf16(path: Path, edit) -> None:
    path.write_bytes(b"\xff\xfe" + edit(path.read_bytes().decode("utf-16")).encode("utf-16-le"))


def _utf8(path: Path, edit) -> None:
    path.write_bytes(b"\xef\xbb\xbf" + edit(path.read_bytes().decode("utf-8-sig")).encode("utf-8"))


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def hostile_litware(root: Path, *, cut: bool) -> Path:
    """litware-servers with hostile text on every new path: the connector's name and SourceTransportServers
    (whole, or cut by Format-List), its name in the protocol and tracking logs, session ids and the replies
    that accepted mail, LWEX03's folder name, a folder naming a server of regex characters (with an export
    only its name attributes, and two exports of a hostile PSComputerName's store that disagree, of a
    certificate whose NotAfter is in the hour the clocks go back over), and a refused file."""
    case = root / "case"
    shutil.copytree(LITWARE.folder, case)
    sources = f"{{LWEX01, LWEX02, {METACHARACTERS}, {HOSTILE_SERVER}{'...' if cut else ''}}}"
    _utf16(case / "Get-SendConnector.txt",
           lambda text: text.replace("Outbound to Office 365", CONNECTOR).replace("{LWEX01, LWEX02}", sources))
    for log in case.glob("LWEX0*/Logs/*/**/*.LOG"):
        _utf8(log, lambda text: text.replace("Outbound to Office 365", _csv_field(CONNECTOR))
              .replace("Queued mail for delivery", ACCEPTED).replace("08DD16C0B194B506", SESSION))
    (case / "LWEX03").rename(case / ("x" + (TAGS + ESCAPES).replace("/", "_") + "\r\n-LWEX03-"))
    certificate = LabPki("hostile-text-paths").server(   # NotAfter 01:30 on 2 November 2025, the second time
        "hostile.litwareinc.com", ["hostile.litwareinc.com"], ca="internal", label="repeated-hour",
        not_before=datetime(2024, 1, 9, 8, tzinfo=timezone.utc),
        not_after=datetime(2025, 11, 2, 9, 30, tzinfo=timezone.utc))
    store = case / f"exlab-{METACHARACTERS})\x1b[2J"
    store.mkdir()
    shutil.copy(LITWARE.folder / "LWEX02" / "Get-ExchangeCertificate.txt", store)    # its folder alone names a server
    write_csv([ExchangeCert(certificate.certificate, services=("IIS", "SMTP"), server=STORE_OWNER,
                            friendly_name='=HYPERLINK("http://evil")' + ESCAPES)], store / "certs.csv",
              tz=LITWARE.truth["tz"], remote=True)
    write_list([ExchangeCert(certificate.certificate, services=("IIS",), server=STORE_OWNER)],
               store / f"fl{ESCAPES.replace('/', '_')}.txt", tz=LITWARE.truth["tz"])
    (case / "<img src=x onerror=alert(1)>\x1b[2J.cer").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n" + (TAGS + ESCAPES).encode() + b"\n-----END CERTIFICATE-----\n")
    return case


def _no_raw_control(text: str) -> None:
    text = PROGRESS_REDRAW.sub("", text)       # a progress bar (a run of over a second) redraws itself after a CR
    found = RAW_CONTROL.search(text)
    assert found is None, text[max(0, found.start() - 120):found.end() + 40]


@pytest.mark.slow
@pytest.mark.parametrize("cut", [False, True], ids=["whole-list", "cut-list"])
def test_investigate_and_report_show_hostile_evidence_as_data(tmp_path, capsys, cut):
    """An audit of the paths end to end (it passes on the old code too): terminal, JSON and HTML."""
    case = hostile_litware(tmp_path, cut=cut)
    target, page = tmp_path / "diagnosis.json", tmp_path / "report.html"
    assert main(["investigate", str(case), "--json", str(target), "--report", str(page)]) == 0
    said = capsys.readouterr()
    _no_raw_control(said.out + said.err)
    assert "Traceback" not in said.err
    shown = f"'{CONNECTOR}'".encode("unicode_escape").decode()[:60]     # the connector, as visible shows it
    assert shown in said.out
    if cut:
        assert (f"shows only the first 4 of its SourceTransportServers (LWEX01, LWEX02, {METACHARACTERS}, "
                "<b>X</b>\\x1b[31mEVIL...)") in said.out
    else:
        assert "(none from <B>X</B>\\x1b[31MEVIL, EX(01: collect it there too)" in said.out
        assert "lwex03.litwareinc.com: KB 2888788: ruled_out; no fix: not a source transport server of connector" \
            in said.out
    assert "not read: <img src=x onerror=alert(1)>\\x1b[2J.cer (the certs reader refused it: PEM block 1" in said.out
    assert "exlab-EX(01)\\x1b[2J/certs.csv line 3: the local time 2025-11-02 01:30:00 comes twice in " in said.err

    data = json.loads(target.read_text(encoding="utf-8"))
    servers = {answer["server"] for answer in data["servers"]}
    assert METACHARACTERS in servers and HOSTILE_SERVER.upper() in servers
    certs = [row for row in data["case"]["inventory"] if row["kind"] == "certs"][0]
    assert METACHARACTERS in certs["servers"]            # the folder exlab-EX(01) named its server

    html = page.read_text(encoding="utf-8")
    assert not [tag for tag in RAW_TAGS if tag in html]
    assert "\x1b" not in html and "\u202e" not in html            # control characters shown, never acted on
    assert "two exports of &lt;img src=x onerror=alert(1)&gt;\\x1b[2j&#x27;s store disagree" in html    # merge's hint
    assert 'session <span class="mono">&lt;i&gt;08DD&lt;/i&gt;\\x1b[2J</span>' in html    # the delivered session's card
    assert "Queued &lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.slow
def test_certs_prints_and_exports_hostile_store_names_as_data(tmp_path, capsys):
    """Warnings naming a hostile folder and file (the hour the clocks go back over), a hostile
    FriendlyName in CSV (an audit: it passes on the old code too)."""
    case = hostile_litware(tmp_path, cut=False)
    output = tmp_path / "certs.csv"
    folder = next(case.glob("exlab-EX(01*"))
    assert main(["certs", str(folder), "--tz", LITWARE.truth["tz"], "-o", str(output)]) == 0
    said = capsys.readouterr()
    _no_raw_control(said.out + said.err)
    assert "NotAfter of " in said.err and "fl\\x1b[2J" in said.err
    with open(output, encoding="utf-8", newline="") as handle:
        names = [row["friendly_name"] for row in csv.DictReader(handle)]
    assert any(name.startswith("'=HYPERLINK(") for name in names)
    assert not [name for name in names if name.startswith(("=", "+", "-", "@"))]


@pytest.mark.slow
def test_a_store_of_hostile_evidence_is_read_queried_and_exported_as_data(tmp_path, capsys):
    """The evidence store: its source entries, unread reasons and views (an audit, passing on the old code)."""
    case = hostile_litware(tmp_path, cut=False)
    store, output = tmp_path / "store", tmp_path / "inputs.csv"
    assert main(["fleet", "ingest", str(case), "-o", str(store)]) == 0
    assert main(["investigate", str(store), "--roots", str(LITWARE.roots)]) == 0
    assert main(["fleet", "query", str(store), "SELECT source, file FROM inputs"]) == 0
    assert main(["fleet", "query", str(store), "SELECT server, source_transport_servers FROM connectors",
                 "-o", str(output)]) == 0
    said = capsys.readouterr()
    _no_raw_control(said.out + said.err)
    assert "not read: case/<img src=x onerror=alert(1)>\\x1b[2J.cer" in said.out
    with open(output, encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["server"].startswith("lwex01.litwareinc.com; lwex02.litwareinc.com; EX(01; <B>X</B>")


# -- named_in: a hostile name never makes the search quadratic --------------------------------

def test_a_server_named_in_a_hostile_name_is_found_in_time_in_proportion_to_it():
    """A name of 300,000 characters made of near misses of a server name of 100,000 (only a zip's member or
    the API can hold such names): the old search compared the server at every place it might start (over
    10 s); now it takes a fraction of a second."""
    def search(size: int) -> None:
        server = "a-" * size + "b"
        assert ServerNames({server: server}).named_in("a-" * 2 * size + server) == server

    growth = cpu_growth(search, 5_000, 50_000)
    assert growth < 30, f"10x the name took {growth:.0f}x the time"


def test_a_megabyte_folder_name_with_servers_of_regex_and_control_characters():
    names = ServerNames({"ex(01": "EX(01", ".*": ".*", "ex\n02": "EX\n02", "ex03": "ex03.contoso.com"})
    filler = "x" * 1_000_000
    named = [names.named_in(f"{filler}-{server}-{filler}") for server in ("EX(01", ".*", "EX\n02", "EX03", "EX(010")]
    assert named == ["EX(01", ".*", "EX\n02", "ex03.contoso.com", None]
    assert names.in_path(f"bundle.zip!{filler}-EX(01)\x1b[2J/certs.txt") == "EX(01"


def test_the_longest_server_a_name_holds_wins_among_many():
    names = ServerNames({f"ex{n:04d}": f"EX{n:04d}" for n in range(5000)} | {"mbx-ex0001": "MBX-EX0001"})
    assert names.named_in("logs-MBX-EX0001") == "MBX-EX0001"
    assert names.named_in("EX0001-EX0002") is None
    assert names.named_in("-".join(f"ex{n:04d}" for n in range(5000))) is None


# -- mail flowing again: many routes never make it quadratic ----------------------------------

def _routes_case(count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``count`` failures and ``count`` later deliveries of one server, each through a connector of its own
    name (a protocol log whose connector-id is different on every line)."""
    start = pd.Timestamp("2025-10-14 12:00", tz="UTC")
    points = pd.DataFrame({"time": [start + pd.Timedelta(seconds=n) for n in range(count)],
                           "server": ["lwex01.litwareinc.com"] * count,
                           "connector": [f"{TAGS} {n}" for n in range(count)]})
    sent = pd.DataFrame({"time": [start + pd.Timedelta(hours=1, seconds=n) for n in range(count)],
                         "server": ["LWEX01"] * count,
                         "connector": [f"{TAGS} {n % (count // 2)}" for n in range(count)],
                         "origin": ["session"] * count, "where": [f"session <i>{n}</i>\x1b[2J" for n in range(count)],
                         "thumbprint": [None] * count, "source": ["SEND1.LOG"] * count})
    return points, sent


def test_mail_flowing_again_takes_time_in_proportion_to_the_routes():
    """2,000 failing and 2,000 delivering connector names: the old rule compared every delivery's route with
    every failed one (over 10 s for flows_again and recoveries); now each route is looked up."""
    points, sent = _routes_case(2000)
    again, recovered = flows_again(sent, points), recoveries(sent, points)
    assert again.sum() == 2000
    assert recovered["where"].notna().sum() == 1000 and recovered["first_delivery"].notna().sum() == 1000
    assert recovered.loc[recovered["connector"] == f"{TAGS} 3", "where"].item() == "session <i>3</i>\x1b[2J"

    def rule(count: int) -> None:
        points, sent = _routes_case(count)
        flows_again(sent, points), recoveries(sent, points)

    growth = cpu_growth(rule, 200, 2000)
    assert growth < 30, f"10x the routes took {growth:.0f}x the time"


def _pairwise(sent: pd.DataFrame, points: pd.DataFrame) -> list[bool]:
    """flows_again as its docstring says it, pair by pair: after every failure whose route may be the
    delivery's (each part the same in any case, servers by host name, or not said on either side)."""
    def part(value, host=False):
        if value is None or pd.isna(value) or not str(value).strip():
            return None
        text = str(value).strip().lower()
        return text.split(".")[0] if host else text

    def may_be_one(one, other):
        return all(a is None or b is None or a == b for a, b in zip(one, other))

    failed = [((part(p.server, True), part(p.connector)), p.time) for p in points.itertuples() if not pd.isna(p.time)]
    out = []
    for row in sent.itertuples():
        route = (part(row.server, True), part(row.connector))
        times = [time for other, time in failed if may_be_one(route, other)]
        out.append(bool(times) and not pd.isna(row.time) and row.time > max(times))
    return out


def test_mail_flowing_again_is_the_pairwise_rule():
    chooser = random.Random(7)
    servers, connectors = ["EX01", "ex01.contoso.com", "EX02", None], ["O365", "o365", "Internet", None]
    start = pd.Timestamp("2025-03-20", tz="UTC")

    def frame(count):
        return pd.DataFrame({"time": [start + pd.Timedelta(minutes=chooser.randint(0, 60)) for _ in range(count)],
                             "server": [chooser.choice(servers) for _ in range(count)],
                             "connector": [chooser.choice(connectors) for _ in range(count)]})
    for _ in range(300):
        points, sent = frame(chooser.randint(0, 5)), frame(chooser.randint(1, 6))
        assert flows_again(sent, points).tolist() == _pairwise(sent, points)


# -- the evidence store: a partition folder is always a file name --------------------------------

def test_a_partition_value_always_fits_a_file_name_and_tells_values_apart():
    long = "; ".join(f"mbx{n:02d}.litwareinc.com" for n in range(30))
    values = [long, long + "; mbx30.litwareinc.com", STORE_OWNER * 100_000, "..", "ex01.contoso.com"]
    folders = [partition_value(value) for value in values]
    assert all(len(f"server={folder}".encode()) <= 255 and "/" not in folder for folder in folders)
    assert len(set(folders)) == len(folders) and folders[-1] == "ex01.contoso.com"


@pytest.mark.slow
def test_a_connector_with_many_source_servers_is_ingested(tmp_path):
    """29 source servers (a site of many Mailbox servers) make the connectors' server cell longer than a file
    name: the old ingest failed on it (File name too long) and left the connector out of the store."""
    case = tmp_path / "litware"
    shutil.copytree(LITWARE.folder, case)
    many = ", ".join(["LWEX01", "LWEX02"] + [f"LWMBX{n:02d}" for n in range(3, 30)])
    _utf16(case / "Get-SendConnector.txt", lambda text: text.replace("{LWEX01, LWEX02}", "{" + many + "}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exlab.fleet.ingest([case], tmp_path / "store", progress=False)
        opened = exlab.open_case(tmp_path / "store", roots=LITWARE.roots)
    assert len(opened.connectors.loc[0, "source_transport_servers"]) == 29
    assert opened.diagnose().verdict == LITWARE.truth["verdict"]
