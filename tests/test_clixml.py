"""exlab.clixml: Export-Clixml documents in the shape Windows PowerShell 5.1 writes them."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exlab
from exlab.clixml import (
    MAX_DEPTH,
    PS_NS,
    ClixmlDateTime,
    ClixmlEnum,
    ClixmlObject,
    decode_string,
    encode_string,
    iter_items,
    parse_datetime,
    shown,
)
from exlab.errors import AssumptionWarning, CorruptInput, DataLossWarning
from exlab.transport.settings import read_connectors

# What `$a, $b | Export-Clixml out.xml` writes in Windows PowerShell 5.1 for two PSCustomObjects
# that share an array: two-space indent, CRLF, UTF-16 LE with BOM; the second object refers to the
# first one's type names (TNRef) and array (Ref).
LINES = [
    f'<Objs Version="1.1.0.1" xmlns="{PS_NS}">',
    '  <Obj RefId="0">',
    '    <TN RefId="0">',
    "      <T>System.Management.Automation.PSCustomObject</T>",
    "      <T>System.Object</T>",
    "    </TN>",
    "    <MS>",
    '      <S N="Name">Outbound to Office 365</S>',
    '      <S N="Response">454 4.7.0 Failed_x000D__x000A_UntrustedRoot_x000A_x_x005F_x0041_</S>',
    '      <DT N="Local">2025-03-20T14:15:04.1234567+01:00</DT>',
    '      <DT N="Unspecified">2025-03-20T14:15:04</DT>',
    '      <Obj N="Servers" RefId="1">',
    '        <TN RefId="1">',
    "          <T>System.Object[]</T>",
    "          <T>System.Array</T>",
    "          <T>System.Object</T>",
    "        </TN>",
    "        <LST>",
    "          <S>EX01</S>",
    '          <Obj RefId="2">',
    '            <TNRef RefId="1" />',
    "            <LST>",
    "              <I32>25</I32>",
    "              <Nil />",
    "              <B>false</B>",
    "            </LST>",
    "          </Obj>",
    "        </LST>",
    "      </Obj>",
    '      <Obj N="Settings" RefId="3">',
    '        <TN RefId="2">',
    "          <T>System.Collections.Hashtable</T>",
    "          <T>System.Object</T>",
    "        </TN>",
    "        <DCT>",
    "          <En>",
    '            <S N="Key">RequireTLS</S>',
    '            <B N="Value">true</B>',
    "          </En>",
    "          <En>",
    '            <I32 N="Key">587</I32>',
    '            <Db N="Value">1.5</Db>',
    "          </En>",
    "        </DCT>",
    "      </Obj>",
    '      <Obj N="EntryType" RefId="4">',
    '        <TN RefId="3">',
    "          <T>System.Diagnostics.EventLogEntryType</T>",
    "          <T>System.Enum</T>",
    "          <T>System.ValueType</T>",
    "          <T>System.Object</T>",
    "        </TN>",
    "        <ToString>Error</ToString>",
    "        <I32>1</I32>",
    "      </Obj>",
    '      <Obj N="Fqdn" RefId="5">',
    '        <TN RefId="4">',
    "          <T>Microsoft.Exchange.Data.Fqdn</T>",
    "          <T>System.Object</T>",
    "        </TN>",
    "        <ToString>mail.contoso.com</ToString>",
    "        <Props>",
    '          <S N="Domain">mail.contoso.com</S>',
    "        </Props>",
    "      </Obj>",
    '      <BA N="Data">CgsM</BA>',
    '      <I64 N="InstanceId">1074005972</I64>',
    '      <D N="Ratio">0.25</D>',
    '      <TS N="Timeout">PT10M</TS>',
    '      <Nil N="Site" />',
    "    </MS>",
    "  </Obj>",
    '  <Obj RefId="6">',
    '    <TNRef RefId="0" />',
    "    <MS>",
    '      <S N="Name">Internet</S>',
    '      <Ref N="Servers" RefId="1" />',
    "    </MS>",
    "  </Obj>",
    "</Objs>",
]
DOCUMENT = "\r\n".join(LINES)
CUSTOM_OBJECT = ("System.Management.Automation.PSCustomObject", "System.Object")


def _as_written(text: str) -> bytes:
    return text.encode("utf-16")        # Export-Clixml's default: UTF-16 LE with BOM


def _doc(body: str) -> str:
    return f'<Objs Version="1.1.0.1" xmlns="{PS_NS}">{body}</Objs>'


def _values(source) -> list:
    return [item.value for item in iter_items(source, "out.xml")]


def test_a_document_as_windows_powershell_writes_it_decodes_to_typed_values():
    data = _as_written(DOCUMENT)
    assert data[:2] == b"\xff\xfe" and b"\r\x00\n\x00" in data
    items = list(iter_items(io.BytesIO(data), "out.xml"))
    assert [(i.position, i.tag, i.error) for i in items] == [(1, "Obj", None), (2, "Obj", None)]
    first, second = items[0].value, items[1].value
    assert isinstance(first, ClixmlObject) and first.types == second.types == CUSTOM_OBJECT
    assert first.to_string is None and first.errors == {}
    assert first["Name"] == "Outbound to Office 365"
    assert first["Response"] == "454 4.7.0 Failed\r\nUntrustedRoot\nx_x0041_"
    assert first["Local"] == ClixmlDateTime(1742476504_123456700, 60)
    assert first["Unspecified"] == ClixmlDateTime(1742480104_000000000, None)
    assert first["Servers"] == ["EX01", [25, None, False]]
    assert first["Settings"] == {"RequireTLS": True, 587: 1.5}
    entry_type = first["EntryType"]
    assert (type(entry_type), int(entry_type), entry_type.name) == (ClixmlEnum, 1, "Error")
    fqdn = first["Fqdn"]
    assert (fqdn, fqdn.to_string, fqdn.types[0]) == ({"Domain": "mail.contoso.com"}, "mail.contoso.com",
                                                      "Microsoft.Exchange.Data.Fqdn")
    assert first["Data"] == b"\x0a\x0b\x0c"
    assert first["InstanceId"] == 16388 << 16 | 2004
    assert (first["Ratio"], first["Timeout"], first["Site"]) == (Decimal("0.25"), "PT10M", None)
    assert second == {"Name": "Internet", "Servers": first["Servers"]}
    assert second["Servers"] is first["Servers"]            # <Ref> is the object written before


def test_bytes_in_any_encoding_and_text_give_the_same_values():
    expected = _values(DOCUMENT)
    assert _values(io.BytesIO(_as_written(DOCUMENT))) == expected
    assert _values(io.BytesIO(DOCUMENT.encode("utf-8"))) == expected                # PowerShell 7
    assert _values(io.BytesIO(b"\xef\xbb\xbf" + DOCUMENT.encode("utf-8"))) == expected
    assert _values("\ufeff" + DOCUMENT) == expected


def test_shown_is_what_format_list_prints():
    first = _values(DOCUMENT)[0]
    assert {name: shown(value) for name, value in first.items() if name in ("EntryType", "Fqdn", "Servers")} == {
        "EntryType": "Error", "Fqdn": "mail.contoso.com", "Servers": ["EX01", [25, None, False]]}
    assert shown(first)["Fqdn"] == "mail.contoso.com"
    assert shown(ClixmlEnum(27)) == 27             # an enum written without its name


def test_dates_keep_whether_and_which_offset_they_carried():
    utc = parse_datetime("2025-03-20T13:15:04Z")
    assert utc == ClixmlDateTime(1742476504_000000000, 0)
    assert parse_datetime("2025-03-20T14:15:04+01:00").nanoseconds == utc.nanoseconds
    assert parse_datetime("2025-03-20T07:45:04-05:30") == ClixmlDateTime(utc.nanoseconds, -330)
    unspecified = parse_datetime(" 2025-03-20T13:15:04.0000001 ")
    assert unspecified == ClixmlDateTime(utc.nanoseconds + 100, None)
    assert unspecified.to_datetime() == datetime(2025, 3, 20, 13, 15, 4)            # naive: local wall time
    assert parse_datetime("2025-03-20T14:15:04.5+01:00").to_datetime() == datetime(
        2025, 3, 20, 14, 15, 4, 500000, tzinfo=timezone(timedelta(hours=1)))
    assert parse_datetime("1601-01-01T00:00:00Z").nanoseconds == -11644473600 * 10**9
    assert parse_datetime("9999-12-31T23:59:59.9999999").to_datetime() == datetime(9999, 12, 31, 23, 59, 59, 999999)
    for bad, why in [("2025-02-30T00:00:00", "not a valid date"), ("20.03.2025 14:15", "not an ISO 8601"),
                     ("2025-03-20T14:15:04+15:00", "offset beyond"), ("2025-03-20T14:15:04+01:60", "offset beyond"),
                     ("2025-03-20T14:15:04.12345678", "not an ISO 8601")]:
        with pytest.raises(ValueError, match=why):
            parse_datetime(bad)


@pytest.mark.parametrize("cut_line", [8, 40, 72])
def test_a_truncated_document_keeps_what_came_before_and_names_the_place(cut_line):
    data = _as_written("\r\n".join(LINES[:cut_line]) + "\r\n    <S N=\"Na")
    seen = []
    with pytest.raises(CorruptInput) as caught:
        for item in iter_items(io.BytesIO(data), "Application.xml"):
            seen.append(item.value["Name"])
    err = caught.value
    after = ", after object 1" if cut_line == 72 else ""
    assert seen == (["Outbound to Office 365"] if cut_line == 72 else [])
    assert (err.source, err.expected) == ("Application.xml", "well-formed CliXml, as Export-Clixml writes it")
    assert err.where == f"line {cut_line + 1} column 4{after}"        # where the unclosed <S starts


def test_a_document_cut_inside_a_utf16_character_is_corrupt_input():
    data = _as_written(DOCUMENT)[:-1]                   # the last "</Objs>" loses half its ">"
    with pytest.raises(CorruptInput, match=f"out.xml, line {len(LINES)} column 0, after object 2: "):
        _values(io.BytesIO(data))


def test_a_root_other_than_objs_is_corrupt_input():
    with pytest.raises(CorruptInput) as caught:
        _values('<Events xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><Event/></Events>')
    assert caught.value.where == "the root element"
    assert caught.value.detail == "found <{http://schemas.microsoft.com/win/2004/08/events/event}Events>"


def test_entities_are_refused_not_expanded():
    doc = ('<!DOCTYPE Objs [<!ENTITY big "xxxxxxxxxx">]>\r\n'
           f'<Objs Version="1.1.0.1" xmlns="{PS_NS}"><S>&big;</S></Objs>')
    with pytest.raises(CorruptInput, match="out.xml, the start: expected well-formed CliXml"):
        _values(doc)


def test_a_member_that_cannot_be_read_is_named_and_the_others_kept():
    doc = _doc('<Obj RefId="0"><MS><S N="Name">EX01</S><I32 N="Port">x25</I32>'
               '<Obj N="Hosts" RefId="1"><LST><S>a</S><DT>yesterday</DT></LST></Obj>'
               '<Ref N="Later" RefId="7" /><BA N="Data">not base64!</BA><B N="Flag">yes</B>'
               '<S>no name</S><B N="Ok">true</B></MS></Obj>')
    [obj] = _values(doc)
    assert obj == {"Name": "EX01", "Ok": True}
    assert obj.errors == {
        "Port": "<I32> 'x25' is not an integer",
        "Hosts": "<DT> 'yesterday' is not an ISO 8601 date and time",
        "Later": "<Ref RefId='7'> points at no earlier object",
        "Data": "<BA> is not base64: 'not base64!'",
        "Flag": "<B> 'yes' is not true or false",
        "member 7": "member 7 <S> has no N attribute",
    }


def test_a_nested_object_is_read_whole_or_not_at_all():
    doc = _doc('<Obj RefId="0"><MS><Obj N="Inner" RefId="1"><MS><I32 N="Bad">x</I32></MS></Obj>'
               '<S N="Name">kept</S></MS></Obj>')
    [obj] = _values(doc)
    assert obj == {"Name": "kept"} and obj.errors == {"Inner": "<I32> 'x' is not an integer"}


def test_an_item_that_cannot_be_read_at_all_is_reported_and_the_next_read():
    doc = _doc('<Obj RefId="0"><TNRef RefId="5" /><MS><S N="Name">a</S></MS></Obj>'
               '<Ref RefId="9" /><Obj RefId="1"><MS><S N="Name">b</S></MS></Obj>')
    items = list(iter_items(doc, "out.xml"))
    assert [(i.position, i.value, i.error) for i in items] == [
        (1, None, "<TNRef RefId='5'> points at no earlier type names"),
        (2, None, "<Ref RefId='9'> points at no earlier object"),
        (3, {"Name": "b"}, None)]


def test_an_object_that_refers_to_itself_is_one_object_and_shown_refuses_the_loop():
    doc = _doc('<Obj RefId="0"><MS><S N="Name">loop</S><Ref N="Self" RefId="0" /></MS></Obj>')
    [obj] = _values(doc)
    assert obj["Self"] is obj and obj.errors == {}
    with pytest.raises(ValueError, match="contains itself"):
        shown(obj)


def test_nesting_beyond_the_limit_is_an_error_not_a_crash():
    depth = MAX_DEPTH + 5
    doc = _doc("".join(f'<Obj N="c" RefId="{i}"><MS>' for i in range(depth)) + "</MS></Obj>" * depth)
    [item] = iter_items(doc, "deep.xml")
    assert item.value == {} and item.value.errors == {"c": f"objects nested deeper than {MAX_DEPTH} levels"}


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_any_string_round_trips_through_a_document(text):
    doc = _doc(f"<S>{escape(encode_string(text))}</S>")
    assert _values(_as_written(doc).decode("utf-16")) == [text]


def test_escapes_as_powershell_writes_them():
    assert decode_string("_x000D__x000A_") == "\r\n"
    assert decode_string("_xD83D__xDE00_ and _x005F_x0041_ and _x12_") == "\U0001F600 and _x0041_ and _x12_"
    assert decode_string("_xD83D_ alone") == "\ufffd alone"          # a lone surrogate is replaced
    assert encode_string("a_xb\U0001F600\x00") == "a_x005F_xb\U0001F600_x0000_"


# --------------------------------------------------------------------------- the readers on the one decoder

def test_certificate_reader_notes_an_unreadable_property_and_keeps_the_certificate():
    doc = _doc('<Obj RefId="0"><TN RefId="0"><T>Microsoft.Exchange.Management.SystemConfigurationTasks.'
               'ExchangeCertificate</T></TN><Props><S N="Thumbprint">' + "AB" * 20 + '</S>'
               '<I32 N="PublicKeySize">2O48</I32>'
               '<DT N="NotAfter">2027-03-14T10:12:05</DT><Ref N="Services" RefId="4" /></Props></Obj>')
    frame = exlab.read_certs(io.BytesIO(_as_written(doc)), tz="Europe/Warsaw")
    report = frame.attrs["parse_report"].files[0]
    assert frame["thumbprint"].tolist() == ["AB" * 20] and report.records_read == 1
    assert str(frame.loc[0, "not_after"]) == "2027-03-14 09:12:05+00:00"      # no offset: the server's zone
    assert frame.loc[0, ["public_key_size", "services"]].isna().all()
    assert [w for w in report.warnings if "not understood" in w] == [
        "object 1: PublicKeySize not understood (<I32> '2O48' is not an integer); left NA",
        "object 1: Services not understood (<Ref RefId='4'> points at no earlier object); left NA"]


def test_connector_reader_skips_an_item_that_is_no_object_and_names_a_bad_property():
    good = ('<Obj RefId="0"><Props><S N="Name">Internet</S><B N="RequireTLS">false</B>'
            '<Obj N="SmartHosts" RefId="1"><LST /></Obj></Props></Obj>')
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = read_connectors(io.BytesIO(_as_written(_doc("<S>WARNING: stale</S>" + good))))
    assert frame[["name", "require_tls", "smart_hosts"]].values.tolist() == [["Internet", False, ()]]
    assert frame.attrs["parse_report"].files[0].losses[0].where == "object 1"
    bad = good.replace("<B N=\"RequireTLS\">false</B>", "<B N=\"RequireTLS\">maybe</B>")
    with pytest.raises(CorruptInput) as caught:
        read_connectors(io.BytesIO(_as_written(_doc(bad))))
    assert (caught.value.where, caught.value.detail) == ("object 1, property RequireTLS",
                                                         "<B> 'maybe' is not true or false")


def test_event_reader_skips_an_entry_with_an_unreadable_member_and_reads_the_next():
    def entry(ref: int, index: str) -> str:
        return (f'<Obj RefId="{ref}"><TN RefId="{ref}"><T>System.Diagnostics.EventLogEntry</T></TN><Props>'
                f'<I32 N="Index">{index}</I32><I64 N="InstanceId">1074005972</I64><S N="Source">MSExchangeTransport</S>'
                '<DT N="TimeGenerated">2025-03-20T13:15:04</DT></Props></Obj>')

    with pytest.warns(DataLossWarning, match="skipped 1 record"), pytest.warns(AssumptionWarning, match="no offset"):
        frame = exlab.read_events(io.BytesIO(_as_written(_doc(entry(0, "4821x") + entry(1, "48213")))))
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [48213] and frame["event_id"].tolist() == [2004]
    assert (report.losses[0].where, report.losses[0].reason) == ("object 1", "Index: <I32> '4821x' is not an integer")
    assert report.assumed_tz == "UTC"                      # TimeGenerated without offset
