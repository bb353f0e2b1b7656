"""``exlab fleet ingest`` and ``exlab fleet query`` as an engineer runs them."""

from __future__ import annotations

import pytest

from exlab.cli import main
from exlab.report.model import VERDICT_WORDS
from tests.fleet.stores import LITWARE, ROOTS


def test_ingest_then_query_then_investigate(tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["fleet", "ingest", str(LITWARE), "-o", str(store)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("12 batch(es) added (rows stored: 7 certs, 1 connectors, 514 events, 3 servers, 86 sessions, "
                          "438 tracking)")
    assert "\nthe store holds 7 certs, 1 connectors, 514 events, 3 servers, 86 sessions, 438 tracking\n" in out
    assert "not read: litware-servers/truth.json" in out and "Traceback" not in err
    assert main(["fleet", "ingest", str(LITWARE), "-o", str(store)]) == 0
    assert capsys.readouterr().out.startswith("0 batch(es) added (no rows), 12 already in the store")
    assert main(["fleet", "query", str(store), "SELECT server, count(*) AS n FROM failures GROUP BY ALL"]) == 0
    assert capsys.readouterr().out.split() == ["server", "n", "lwex01.litwareinc.com", "64"]
    assert main(["investigate", str(store), "--roots", str(ROOTS), "--json", "-"]) == 0
    assert '"verdict": "confirmed"' in capsys.readouterr().out


def test_query_exports_like_every_command(tmp_path, capsys):
    store = tmp_path / "store"
    main(["fleet", "ingest", str(LITWARE), "-o", str(store)])
    out = tmp_path / "certs.csv"
    sql = "SELECT '=HYPERLINK(1)' AS cell, thumbprint, services FROM certs ORDER BY thumbprint LIMIT 1"
    assert main(["fleet", "query", str(store), sql, "-o", str(out)]) == 0
    lines = out.read_bytes().split(b"\r\n")
    assert lines[0] == b"cell,thumbprint,services" and lines[1].startswith(b"'=HYPERLINK(1),")
    assert main(["fleet", "query", str(store), sql, "-o", str(store / "x.csv")]) == 1     # never inside the store
    assert main(["fleet", "query", str(store), "DROP VIEW events"]) == 1
    assert "expected one query (SELECT ...)" in capsys.readouterr().err
    assert main(["fleet", "query", str(tmp_path / "nothing"), "SELECT 1"]) == 1
    capsys.readouterr()
    # evidence text in a printed table: a line feed or an escape stays inside its cell
    assert main(["fleet", "query", str(store), "SELECT 'x' || chr(10) || 'KB 2888788: confirmed' || chr(27) AS "
                 "\"a\nb\" FROM servers LIMIT 1"]) == 0
    out = capsys.readouterr().out
    assert "x\\nKB 2888788: confirmed\\x1b" in out and "a\\nb" in out
    assert not [line for line in out.splitlines() if line.lstrip().startswith("KB")] and "\x1b" not in out


@pytest.mark.slow
def test_report_on_a_store_gives_every_server_its_verdict(tmp_path):
    store = tmp_path / "store"
    main(["fleet", "ingest", str(LITWARE), "-o", str(store)])
    assert main(["report", str(store), "-o", str(tmp_path / "report.html"), "--roots", str(ROOTS)]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert VERDICT_WORDS["confirmed"] in html
    assert all(f"lwex0{n}.litwareinc.com" in html for n in (1, 2, 3))
    assert "input files read of evidence store store (1 file not read, listed)." in html     # not "of case store"
