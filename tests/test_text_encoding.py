"""exlab.text_encoding: only text encodings Windows writes are taken from a byte order mark or an
XML declaration, by every reader family (event exports, certificate exports, connector exports)."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import exlab
from exlab.errors import ExlabError, UnsupportedEncoding
from exlab.lab.event_exports import write_eventlog_clixml
from exlab.lab.transport_logs import DEMO_CONNECTOR, demo_connectors_fl, write_send_connectors
from exlab.text_encoding import declared_encoding, text_codec, xml_codec
from exlab.transport.settings import read_connectors
from tests.conftest import SAMPLES

CASE = SAMPLES / "contoso-kb2888788"
# codecs Python knows (or names nobody knows) that are no text encoding of a Windows export
NOT_TEXT = ["base64", "hex", "zlib", "bz2", "uu", "quopri", "rot13", "idna", "utf-7", "punycode",
            "unicode_escape", "raw_unicode_escape", "undefined", "charmap", "mbcs", "nonesuch", ""]
# byte order marks of Unicode encodings no Windows export is written in
FOREIGN_BOMS = {"UTF-7": b"+/v8", "UTF-1": b"\xf7\x64\x4c", "UTF-EBCDIC": b"\xdd\x73\x66\x73",
                "SCSU": b"\x0e\xfe\xff", "BOCU-1": b"\xfb\xee\x28"}


def _event_clixml() -> str:
    out = io.BytesIO()
    write_eventlog_clixml(out, [{"time_created": 0, "provider": "MSExchangeTransport", "event_id": 2004,
                                 "qualifiers": 16388, "level": 4, "data": {"%1": "Outbound to Office 365"}}])
    return out.getvalue().decode("utf-16")


def _connector_clixml() -> str:
    out = io.BytesIO()
    write_send_connectors(out, [DEMO_CONNECTOR], shape="clixml")
    return out.getvalue().decode("utf-16")


def _read_quietly(read: Callable, path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(str(path))


# (reader, the export as text): one of each XML family
XML_FAMILIES = {
    "event-viewer-xml": (exlab.read_events,
                         lambda: (CASE / "events" / "MSExchangeTransport.xml").read_text("utf-8-sig")),
    "eventlog-clixml": (exlab.read_events, _event_clixml),
    "certificate-clixml": (exlab.read_certs,
                           lambda: (CASE / "certs" / "Get-ExchangeCertificate.xml").read_text("utf-16")),
    "connector-clixml": (read_connectors, _connector_clixml),
}
# text exports read by byte order mark only
TEXT_FAMILIES = {
    "event-viewer-csv": (exlab.read_events,
                         lambda: (CASE / "events" / "MSExchangeTransport-pl.csv").read_text("utf-8")),
    "certificate-list": (exlab.read_certs,
                         lambda: (CASE / "certs" / "Get-ExchangeCertificate-fl.txt").read_text("utf-16")),
    "connector-list": (read_connectors, lambda: demo_connectors_fl().getvalue().decode("utf-16")),
}


def _declared(text: str, label: str) -> str:
    return f'<?xml version="1.0" encoding="{label}"?>\r\n' + re.sub(r"^\ufeff?<\?xml[^>]*\?>\s*", "", text)


@pytest.mark.parametrize("label", ["utf-8", "UTF-8", "utf8", "utf-16", "unicode", "utf-32", "us-ascii",
                                   "windows-1250", "Windows-1252", "iso-8859-2", "ISO-8859-15", "cp1251",
                                   "windows-874", "shift_jis", "windows-31j", "gb2312", "big5", "ks_c_5601-1987",
                                   "koi8-r", "ibm850", "cp65001"])
def test_text_encodings_windows_writes_are_accepted(label):
    assert text_codec(label, "a.xml")


@pytest.mark.parametrize("label", NOT_TEXT)
def test_a_codec_that_is_no_text_encoding_is_refused_naming_file_and_label(label):
    with pytest.raises(UnsupportedEncoding) as caught:
        text_codec(label, "evidence/a.xml")
    assert caught.value.source == "evidence/a.xml"
    assert caught.value.where == "the XML declaration"
    assert repr(label) in str(caught.value)


def test_the_declaration_is_found_in_every_layout_and_only_at_the_start():
    declaration = '<?xml version="1.0" encoding="windows-1250" standalone="yes"?><Events>'
    for codec in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        assert declared_encoding(declaration.encode(codec)) == "windows-1250", codec
    assert declared_encoding("\r\n  " + declaration) == "windows-1250"
    assert declared_encoding('<Events><?xml version="1.0" encoding="base64"?>') is None


@pytest.mark.parametrize(("data", "expected"), [
    ("<a/>".encode("utf-32"), ("utf-32-le", 4)), ("<a/>".encode("utf-32-be"), ("utf-32-be", 0)),
    (b"\x00\x00\xfe\xff" + "<a/>".encode("utf-32-be"), ("utf-32-be", 4)),
    ("\r\n<a/>".encode("utf-16-be"), ("utf-16-be", 0)), (b"\xef\xbb\xbf<a/>", ("utf-8", 3)),
    ('<?xml version="1.0" encoding="utf-16"?><a/>'.encode("utf-16-le"), ("utf-16-le", 0)),
    (b'<?xml version="1.0" encoding="iso-8859-2"?><a/>', ("iso8859-2", 0)),
])
def test_xml_codec_reads_bom_then_layout_then_declaration(data, expected):
    assert xml_codec(data, "a.xml") == expected


@pytest.mark.parametrize("family", sorted(XML_FAMILIES))
@pytest.mark.parametrize("label", NOT_TEXT)
def test_every_xml_reader_refuses_a_declared_non_text_encoding(tmp_path, family, label):
    read, text = XML_FAMILIES[family]
    path = tmp_path / f"{family}.xml"
    path.write_bytes(_declared(text(), label).encode("utf-8"))
    with pytest.raises(UnsupportedEncoding) as caught:
        _read_quietly(read, path)
    assert caught.value.source.endswith(path.name) and repr(label) in str(caught.value)


@pytest.mark.parametrize("family", sorted(XML_FAMILIES))
def test_a_declared_non_text_encoding_is_refused_behind_a_bom_too(tmp_path, family):
    read, text = XML_FAMILIES[family]
    path = tmp_path / f"{family}.xml"
    path.write_bytes(_declared(text(), "zlib").encode("utf-16"))
    with pytest.raises(UnsupportedEncoding, match="'zlib'"):
        _read_quietly(read, path)


@pytest.mark.parametrize("family", sorted(XML_FAMILIES) + sorted(TEXT_FAMILIES))
@pytest.mark.parametrize("bom", sorted(FOREIGN_BOMS))
def test_every_reader_refuses_a_foreign_byte_order_mark(tmp_path, family, bom):
    read, text = {**XML_FAMILIES, **TEXT_FAMILIES}[family]
    path = tmp_path / f"{family}.txt"
    path.write_bytes(FOREIGN_BOMS[bom] + text().encode("utf-8"))
    with pytest.raises(UnsupportedEncoding) as caught:
        _read_quietly(read, path)
    assert caught.value.source.endswith(path.name) and f"{bom}'s" in str(caught.value)


@pytest.mark.parametrize("family", sorted(XML_FAMILIES) + sorted(TEXT_FAMILIES))
@pytest.mark.parametrize("codec", ["utf-32", "utf-32-be"])
def test_every_reader_reads_utf32_as_it_reads_utf16(tmp_path, family, codec):
    read, text = {**XML_FAMILIES, **TEXT_FAMILIES}[family]
    original, utf32 = tmp_path / "utf16.txt", tmp_path / "utf32.txt"
    original.write_bytes(text().encode("utf-16"))
    utf32.write_bytes((b"\x00\x00\xfe\xff" if codec == "utf-32-be" else b"") + text().encode(codec))
    expected = _read_quietly(read, original)
    got = _read_quietly(read, utf32)
    assert len(got) == len(expected) > 0
    columns = [c for c in expected.columns if c not in ("source", "der", "conflicts")]
    assert got[columns].astype(str).equals(expected[columns].astype(str))


def test_a_declared_code_page_decodes_the_clixml_text(tmp_path):
    path = tmp_path / "connectors.xml"
    text = _connector_clixml().replace("Outbound to Office 365", "Wysyłka do Office 365 (Wrocław)")
    path.write_bytes(_declared(text, "windows-1250").encode("cp1250"))
    connectors = _read_quietly(read_connectors, path)
    assert connectors["name"].tolist() == ["Wysyłka do Office 365 (Wrocław)"]


def test_a_declared_multibyte_code_page_decodes_event_xml(tmp_path):
    path = tmp_path / "events.xml"
    text = (CASE / "events" / "MSExchangeTransport.xml").read_text("utf-8-sig")
    path.write_bytes(_declared(text.replace("Outbound to Office 365", "送信コネクタ"), "shift_jis")
                     .encode("shift_jis", "replace"))
    events = _read_quietly(exlab.read_events, path)
    assert len(events) == len(_read_quietly(exlab.read_events, CASE / "events" / "MSExchangeTransport.xml"))
    assert (events["data"].map(lambda data: "送信コネクタ" in data.values())).any()


@pytest.mark.parametrize("family", sorted(XML_FAMILIES))
@pytest.mark.parametrize("declaration", [
    '<?xml version="1.0"' + " " * 5000 + ' encoding="base64"?>',    # named past the part looked at
    "<?xml version='1.0' encoding=zlib?>",                           # unquoted
    '<?xml version="1.0" encoding="rot13',                            # never closed
])
def test_an_odd_declaration_is_refused_or_read_never_looked_up(tmp_path, family, declaration):
    read, text = XML_FAMILIES[family]
    path, plain = tmp_path / f"{family}.xml", tmp_path / "plain.xml"
    path.write_bytes((declaration + re.sub(r"^\ufeff?<\?xml[^>]*\?>\s*", "", text())).encode("utf-8"))
    plain.write_bytes(text().encode("utf-8"))
    try:
        frame = _read_quietly(read, path)
    except ExlabError as err:   # never LookupError, AssertionError, ValueError... from a codec lookup
        assert err.source.endswith(path.name)
        assert "zlib" not in declaration or isinstance(err, UnsupportedEncoding)
    else:   # the parser was handed text, so the name it never looked up did not matter
        assert len(frame) == len(_read_quietly(read, plain)) > 0
