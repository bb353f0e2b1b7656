"""``exlab.commands.export``: one writer, one rule set; every format read back value by value."""

from __future__ import annotations

import base64
import csv
import json
from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exlab.commands.export import (
    OUTPUT_KINDS,
    export_target,
    neutralise,
    utc_text,
    write_export,
)
from exlab.errors import ExlabError
from exlab.parse_report import ParseReport

TICKS = 1_742_462_042_123_456_700   # 2025-03-20T09:14:02.1234567Z, a time with 100-ns digits
HOSTILE = ["=cmd|' /c calc'!A1", "@SUM(1)", "\tTAB", "\rCR", "+1+1", "-2+3"]
DER = b"\x30\x82\x01\x0a"
PLUS_DER = b"\xfb\xff"                # its Base64 starts with "+"
COLUMNS = ["time_created", "text", "computer", "services", "data", "der", "event_id", "selected"]


@pytest.fixture
def table() -> pd.DataFrame:
    """Every column kind of the events and certificates frames, NA in each, hostile text;
    an index as a filter leaves it and a parse report in attrs (neither is written)."""
    frame = pd.DataFrame({
        "time_created": pd.to_datetime([TICKS, None, TICKS + 89, 1_742_462_042_000_000_000, -100, 0], utc=True),
        "text": pd.array(HOSTILE, dtype="string"),
        "computer": pd.array(["EX01", None, "", "Zażółć", "line 1\r\nline 2", 'say "hi", then go'],
                             dtype="string"),
        "services": [("IIS", "SMTP"), None, (), ("=SMTP", "IIS"), ("SMTP",), ("a; b", "")],
        "data": [{"%1": "Outbound to Office 365", "%2": ""}, None, {}, {"%1": "=1+1"}, {"ż": "\u2028"},
                 {"Binary": "0A0B"}],
        "der": [DER, None, b"", PLUS_DER, DER, DER],
        "event_id": pd.array([2004, None, 0, -1, 12014, 104], dtype="Int32"),
        "selected": pd.array([True, None, False, True, False, False], dtype="boolean"),
    }, index=[3, 8, 9, 12, 40, 41])
    frame.attrs["parse_report"] = ParseReport()
    return frame


def test_csv_holds_every_kind_as_text_with_formulas_neutralised(table, tmp_path):
    out = tmp_path / "t.csv"
    write_export(table, out)
    raw = out.read_bytes()
    assert raw.startswith(b"time_created,text,computer,services,data,der,event_id,selected\r\n")
    assert raw.count(b"\r\n") == 1 + len(table) + 1        # header, rows, and the CRLF inside a cell
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(back.columns) == COLUMNS
    assert back.to_dict("list") == {
        "time_created": ["2025-03-20T09:14:02.1234567Z", "", "2025-03-20T09:14:02.123456789Z",
                         "2025-03-20T09:14:02Z", "1969-12-31T23:59:59.9999999Z", "1970-01-01T00:00:00Z"],
        "text": ["'=cmd|' /c calc'!A1", "'@SUM(1)", "'\tTAB", "'\rCR", "'+1+1", "'-2+3"],
        "computer": ["EX01", "", "", "Zażółć", "line 1\r\nline 2", 'say "hi", then go'],
        "services": ["IIS; SMTP", "", "", "'=SMTP; IIS", "SMTP", "a; b; "],
        "data": ['{"%1": "Outbound to Office 365", "%2": ""}', "", "{}", '{"%1": "=1+1"}', '{"ż": "\u2028"}',
                 '{"Binary": "0A0B"}'],
        "der": ["MIIBCg==", "", "", "'+/8=", "MIIBCg==", "MIIBCg=="],
        "event_id": ["2004", "", "0", "-1", "12014", "104"],
        "selected": ["True", "", "False", "True", "False", "False"],
    }
    # what a reader undoes: the leading quote, then Base64 and JSON give the values back
    assert base64.b64decode(back["der"][3].removeprefix("'")) == PLUS_DER
    assert [t.removeprefix("'") for t in back["text"]] == HOSTILE


def test_json_lines_hold_arrays_objects_and_nulls(table, tmp_path):
    out = tmp_path / "t.jsonl"
    write_export(table, out)
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(table) + 1 and b"\r\n" not in out.read_bytes()
    records = [json.loads(line) for line in lines[:-1]]
    assert records[0] == {"time_created": "2025-03-20T09:14:02.1234567Z", "text": "=cmd|' /c calc'!A1",
                          "computer": "EX01", "services": ["IIS", "SMTP"],
                          "data": {"%1": "Outbound to Office 365", "%2": ""}, "der": "MIIBCg==",
                          "event_id": 2004, "selected": True}
    assert records[1] == {"time_created": None, "text": "@SUM(1)", "computer": None, "services": None,
                          "data": None, "der": None, "event_id": None, "selected": None}
    assert records[2]["services"] == [] and records[2]["data"] == {} and records[2]["der"] == ""
    assert records[2]["computer"] == "" and records[2]["time_created"] == "2025-03-20T09:14:02.123456789Z"
    assert [r["text"] for r in records] == HOSTILE            # JSON is not run by spreadsheets: as is
    assert [r["time_created"] for r in records[3:]] == ["2025-03-20T09:14:02Z", "1969-12-31T23:59:59.9999999Z",
                                                        "1970-01-01T00:00:00Z"]
    assert base64.b64decode(records[3]["der"]) == PLUS_DER
    assert records[4]["data"] == {"ż": "\u2028"} and "ż".encode() in lines[4]    # UTF-8, not \u escapes
    assert records[4]["computer"] == "line 1\r\nline 2"


def test_parquet_keeps_times_lists_and_dtypes(table, tmp_path):
    out = tmp_path / "t.parquet"
    write_export(table, out)
    assert b"PANDAS_ATTRS" not in (pq.read_schema(out).metadata or {})
    back = pd.read_parquet(out)
    assert list(back.columns) == COLUMNS and list(back.index) == list(range(len(table))) and back.attrs == {}
    assert str(back["time_created"].dtype) == "datetime64[ns, UTC]"
    assert [None if t is pd.NaT else t.value for t in back["time_created"]] == [
        TICKS, None, TICKS + 89, 1_742_462_042_000_000_000, -100, 0]
    assert str(back["text"].dtype) == "string" and list(back["text"]) == HOSTILE
    assert back["computer"].isna().tolist() == [False, True, False, False, False, False]
    assert [None if v is None else list(v) for v in back["services"]] == [
        ["IIS", "SMTP"], None, [], ["=SMTP", "IIS"], ["SMTP"], ["a; b", ""]]
    assert str(back["data"].dtype) == str(back["der"].dtype) == "string"     # JSON and Base64 text
    assert [None if v is pd.NA else json.loads(v) for v in back["data"]] == [
        {"%1": "Outbound to Office 365", "%2": ""}, None, {}, {"%1": "=1+1"}, {"ż": "\u2028"}, {"Binary": "0A0B"}]
    assert [None if v is pd.NA else base64.b64decode(v) for v in back["der"]] == [DER, None, b"", PLUS_DER, DER, DER]
    assert str(back["event_id"].dtype) == "Int32" and back["event_id"].tolist()[2:] == [0, -1, 12014, 104]
    assert str(back["selected"].dtype) == "boolean" and back["selected"].isna().sum() == 1


def test_times_in_other_zones_are_written_in_utc(tmp_path):
    warsaw = pd.DataFrame({"at": pd.to_datetime([TICKS], utc=True).tz_convert("Europe/Warsaw"),
                           "naive": pd.to_datetime([TICKS])})
    write_export(warsaw, tmp_path / "w.jsonl")
    write_export(warsaw, tmp_path / "w.parquet")
    assert json.loads((tmp_path / "w.jsonl").read_text(encoding="utf-8")) == {
        "at": "2025-03-20T09:14:02.1234567Z", "naive": "2025-03-20T09:14:02.1234567Z"}
    back = pd.read_parquet(tmp_path / "w.parquet")
    assert [str(back[c].dtype) for c in back] == ["datetime64[ns, UTC]"] * 2
    assert back.iloc[0].map(lambda t: t.value).tolist() == [TICKS, TICKS]


def test_times_beyond_the_nanosecond_range_keep_their_digits(tmp_path):
    """A certificate valid until 9999 read at microseconds (pandas' unit for such text)."""
    far = pd.DataFrame({"not_after": pd.to_datetime(["9999-12-31T23:59:59.5Z", None])})
    assert str(far["not_after"].dtype) == "datetime64[us, UTC]"
    for kind in OUTPUT_KINDS:
        write_export(far, tmp_path / f"f{kind}")
    assert (tmp_path / "f.csv").read_bytes() == b"not_after\r\n9999-12-31T23:59:59.5000000Z\r\n\"\"\r\n"  # a lone empty cell quoted
    assert (tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines() == [
        '{"not_after": "9999-12-31T23:59:59.5000000Z"}', '{"not_after": null}']
    back = pd.read_parquet(tmp_path / "f.parquet")["not_after"]
    assert back[0] == pd.Timestamp("9999-12-31T23:59:59.5Z") and back.isna().tolist() == [False, True]
    assert utc_text(pd.Timestamp("9999-12-31T23:59:59Z")) == "9999-12-31T23:59:59Z"


def test_a_lone_surrogate_from_a_damaged_record_is_written_not_a_crash(tmp_path):
    frame = pd.DataFrame({"data": [{"%1": "a\udc80b"}], "names": [("x\udc80",)]})
    for kind in OUTPUT_KINDS:
        write_export(frame, tmp_path / f"s{kind}")
    [record] = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record == {"data": {"%1": "a\udc80b"}, "names": ["x\udc80"]}      # lossless: JSON escapes
    [row] = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8", newline="")))
    assert json.loads(row["data"]) == {"%1": "a\udc80b"} and row["names"] == "x\\udc80"
    back = pd.read_parquet(tmp_path / "s.parquet")
    assert json.loads(back["data"][0]) == {"%1": "a\udc80b"} and list(back["names"][0]) == ["x\\udc80"]


def test_categories_and_values_json_has_no_type_for_are_written_as_text(tmp_path):
    frame = pd.DataFrame({"issuer_class": pd.Categorical(["=internal", "public"]),
                          "extra": [{"n": Decimal("1.5")}, {1, 2}]})
    for kind in OUTPUT_KINDS:
        write_export(frame, tmp_path / f"c{kind}")
    rows = list(csv.DictReader((tmp_path / "c.csv").open(encoding="utf-8", newline="")))
    assert rows == [{"issuer_class": "'=internal", "extra": '{"n": "1.5"}'},
                    {"issuer_class": "public", "extra": "{1, 2}"}]
    records = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records == [{"issuer_class": "=internal", "extra": {"n": "1.5"}}, {"issuer_class": "public", "extra": "{1, 2}"}]
    back = pd.read_parquet(tmp_path / "c.parquet")
    assert back.to_dict("list") == {"issuer_class": ["=internal", "public"], "extra": ['{"n": "1.5"}', "{1, 2}"]}


def test_an_empty_table_writes_its_header_only(tmp_path):
    empty = pd.DataFrame({"thumbprint": pd.array([], dtype="string"), "chain": pd.Series([], dtype=object)})
    for kind in OUTPUT_KINDS:
        write_export(empty, tmp_path / f"e{kind}")
    assert (tmp_path / "e.csv").read_bytes() == b"thumbprint,chain\r\n"
    assert (tmp_path / "e.jsonl").read_bytes() == b""
    assert list(pd.read_parquet(tmp_path / "e.parquet").columns) == ["thumbprint", "chain"]


def test_unknown_extensions_are_refused_before_anything_is_written(table, tmp_path):
    (tmp_path / "evidence").mkdir()
    with pytest.raises(ExlabError, match=r"t\.xlsx: expected an output file ending in \.csv, \.parquet, \.jsonl"):
        write_export(table, tmp_path / "t.xlsx")
    with pytest.raises(ExlabError, match="expected an output file ending in"):
        export_target(tmp_path / "t.json", [tmp_path / "evidence"])
    assert [p.name for p in tmp_path.iterdir()] == ["evidence"]
    assert export_target(str(tmp_path / "T.CSV"), [tmp_path / "evidence"]) == tmp_path / "T.CSV"
    with pytest.raises(ExlabError, match="outside the evidence folder"):
        export_target(tmp_path / "evidence" / "t.csv", [tmp_path / "evidence"])


def test_utc_text_keeps_every_digit():
    assert utc_text(pd.Timestamp(TICKS, tz="UTC")) == "2025-03-20T09:14:02.1234567Z"
    assert utc_text(pd.Timestamp(TICKS + 1, tz="UTC")) == "2025-03-20T09:14:02.123456701Z"
    assert utc_text(pd.Timestamp("2025-03-20T09:14:02.5Z")) == "2025-03-20T09:14:02.5000000Z"


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_any_text_comes_back_from_csv_neutralised_and_from_json_as_is(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("any")
    frame = pd.DataFrame({"text": pd.array([text], dtype="string"), "names": [(text, "x")]})
    write_export(frame, folder / "a.csv")
    write_export(frame, folder / "a.jsonl")
    [row] = list(csv.DictReader((folder / "a.csv").open(encoding="utf-8", newline="")))
    assert row == {"text": neutralise(text), "names": neutralise(f"{text}; x")}
    assert json.loads((folder / "a.jsonl").read_text(encoding="utf-8")) == {"text": text, "names": [text, "x"]}


@pytest.mark.parametrize(("cell", "written"), [
    (" =1+1", "' =1+1"),                              # a leading space
    ("  \t@SUM(1)", "'  \t@SUM(1)"),                  # spaces then a tab
    ("\n=1+1", "'\n=1+1"),                            # a line feed first
    ("\r\n-2+3", "'\r\n-2+3"),
    ("\u00a0=1+1", "'\u00a0=1+1"),                    # NBSP
    ("\u200b=1+1", "'\u200b=1+1"),                    # zero-width space
    ("\ufeff\u2060+1", "'\ufeff\u2060+1"),            # BOM and word joiner
    ("\0=1", "'\0=1"),                                # NUL
    ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),              # full-width equals
    ("\uff0b1", "'\uff0b1"), ("\uff0d1", "'\uff0d1"), ("\uff20SUM(1)", "'\uff20SUM(1)"),
    ("\ufe66SUM(A1)", "'\ufe66SUM(A1)"),              # small form equals
    ("IIS;=1+1", "IIS;'=1+1"),                        # a ;-locale cell starting a formula
    ("IIS; \u00a0@SUM(1); SMTP", "IIS;' \u00a0@SUM(1); SMTP"),
    ("=a;-b", "'=a;'-b"),
    ("IIS; SMTP", "IIS; SMTP"), ("a; b; ", "a; b; "), ("EX01 =", "EX01 ="), ("", ""), ("\u00a0EX01", "\u00a0EX01"),
])
def test_csv_neutralisation_covers_blanks_invisibles_full_width_and_semicolon_lists(cell, written, tmp_path):
    assert neutralise(cell) == written
    write_export(pd.DataFrame({"text": pd.array([cell], dtype="string")}), tmp_path / "n.csv")
    [row] = list(csv.DictReader((tmp_path / "n.csv").open(encoding="utf-8", newline="")))
    assert row["text"] == written
