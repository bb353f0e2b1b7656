"""exlab.nrbf: the real SerializationData streams of the Exchange Management Shell read into plain values,
and every damaged, truncated or hostile stream ending in an ExlabError naming the source and byte offset."""

from __future__ import annotations

import base64
import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exlab import nrbf
from exlab.errors import CorruptInput, ExlabError, UnsupportedFormat
from exlab.lab.nrbf_writer import exchange_certificate_stream

HEADER = bytes.fromhex("0001000000ffffffff0100000000000000")   # root object 1, version 1.0
TASKS = "Microsoft.Exchange.Management.SystemConfigurationTasks."
LAB_STREAM = exchange_certificate_stream(
    cert_data=bytes(range(256)) * 3, self_signed=True, status=1, root_ca_type=3, services=27,
    iis_services=("IIS://EX01/W3SVC/1", "IIS://EX01/W3SVC/2"), private_key_exportable=False,
    identity="EX01.contoso.com\\" + "AB" * 20)


def _blobs(path) -> list[bytes]:
    """The SerializationData blobs of an Export-Clixml file, in document order."""
    text = path.read_text(encoding="utf-8-sig")
    return [base64.b64decode(b) for b in re.findall(r'<BA N="SerializationData">([^<]*)</BA>', text)]


def _lps(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 128
    return bytes([len(data)]) + data


# --------------------------------------------------------------------------- real streams

@pytest.mark.real_exports
@pytest.mark.parametrize("name, expected", [
    ("HC-E16-GetExchangeCertificate.xml", [
        (1, 0, 16, True, "Solo-E16A.Solo.local\\92E196F3C8D3D753FCFC5B7690C3173AA1C0ABE3", []),
        (1, 3, 27, True, "Solo-E16A.Solo.local\\823884A32609DCDC8C4B5462952586C30D814073",
         ["IIS://Solo-E16A/W3SVC/1", "IIS://Solo-E16A/W3SVC/2"]),
        (1, 3, 0, True, "Solo-E16A.Solo.local\\A60C6E62FF85D208DF668D597A1B077E1534147F", [])]),
    ("HC-GetExchangeCertificateOnAzure.xml", [
        (1, 0, 0, True, "E2k16-1.Contoso.lab\\EC1D075732E935F49E551936718A9254B117E523", []),
        (1, 0, 16, True, "E2k16-1.Contoso.lab\\F57DEA0EEA488E092EF787F8857845B8CC0139DF", []),
        (1, 3, 24, True, "E2k16-1.Contoso.lab\\EEA2F1BD51FC122348942C1D1CEA3D1B415C4FA1", ["IIS://E2k16-1/W3SVC/2"])]),
])
def test_real_exchange_certificate_streams_decode_to_their_members(real_exports, name, expected):
    blobs = _blobs(real_exports / "css-exchange" / name)
    assert len(blobs) == len(expected)
    for blob, (status, root_ca_type, services, self_signed, identity, sites) in zip(blobs, expected):
        root = nrbf.decode(blob, name)
        assert root.class_name == TASKS + "ExchangeCertificate"
        assert root.library.startswith("Microsoft.Exchange.Management, Version=15.0.0.0")
        assert list(root) == ["CertData", "SelfSigned", "Status", "RootCAType", "Services", "IISServices",
                              "PrivateKeyExportable", "Identity"]
        assert (root["Status"], root["RootCAType"], root["Services"]) == (status, root_ca_type, services)
        assert (root["SelfSigned"], root["Identity"]) == (self_signed, identity)
        iis = root["IISServices"]
        assert [item["serviceName"] for item in iis["_items"][:iis["_size"]]] == sites
        assert all(item is None for item in iis["_items"][iis["_size"]:])       # ObjectNullMultiple256
        assert isinstance(root["CertData"], bytes) and len(root["CertData"]) > 1000


@pytest.mark.real_exports
def test_a_real_receive_connector_stream_with_class_reuse_and_forward_references_decodes(real_exports):
    """A much larger real stream (ClassWithId, BinaryArray, MemberReference to later objects, DateTime)."""
    name = "HC-GetReceiveConnectorEmptyTlsCertificateName.xml"
    decoded = [nrbf.decode(blob, name) for blob in _blobs(real_exports / "css-exchange" / name)]
    roots = [r for r in decoded if getattr(r, "class_name", "").endswith(".ReceiveConnector")]
    assert len(roots) == 5                 # the five connectors (their members carry blobs of their own)
    values = {entry["Key"]["PropertyDefinition+name"]: entry["Value"]
              for entry in roots[0]["propertyBag"]["PropertyBag+serializedCurrentValues"]}
    assert values["Fqdn"]["SmtpDomain+domain"] == "WIN-CTD3L0RGEN4.exlab.dom"
    assert values["WhenReadUTC"].tzinfo is not None


@pytest.mark.real_exports
def test_every_cut_of_a_real_stream_is_corrupt_input_naming_the_offset(real_exports):
    blob = _blobs(real_exports / "css-exchange" / "HC-E16-GetExchangeCertificate.xml")[1]
    for cut in range(1, len(blob)):
        with pytest.raises(CorruptInput) as caught:
            nrbf.decode(blob[:cut], "certs.xml", place="object 2 SerializationData")
        assert caught.value.source == "certs.xml"
        offset = int(re.fullmatch(r"object 2 SerializationData, byte offset (\d+)", caught.value.where).group(1))
        assert offset <= cut


# --------------------------------------------------------------------------- rules and limits

def test_a_stream_that_is_not_binaryformatter_is_unsupported():
    with pytest.raises(UnsupportedFormat, match="byte offset 0: .*record type 60"):
        nrbf.decode(b"<Objs/>", "a.xml")
    with pytest.raises(UnsupportedFormat, match="starts with nothing"):
        nrbf.decode(b"", "a.xml")
    with pytest.raises(UnsupportedFormat, match="version 1.0, not 2.0"):
        nrbf.decode(HEADER[:9] + struct.pack("<ii", 2, 0) + b"\x0b", "a.xml")


def test_remoting_method_calls_are_refused_as_unsupported():
    with pytest.raises(UnsupportedFormat, match=r"byte offset 17: .*type 21 \(MethodCall\)"):
        nrbf.decode(HEADER + b"\x15" + bytes(8), "a.bin")


def test_a_reference_to_no_object_is_corrupt_input():
    stream = HEADER + b"\x10" + struct.pack("<ii", 1, 1) + b"\x09" + struct.pack("<i", 7) + b"\x0b"
    with pytest.raises(CorruptInput, match="byte offset 26: .*object 7, which a MemberReference names"):
        nrbf.decode(stream, "a.bin")


def test_references_resolve_to_later_objects_and_cycles_stay_cycles():
    stream = (HEADER + b"\x10" + struct.pack("<ii", 1, 3)
              + b"\x09" + struct.pack("<i", 2) + b"\x09" + struct.pack("<i", 1) + b"\x0a"
              + b"\x06" + struct.pack("<i", 2) + _lps("later") + b"\x0b")
    root = nrbf.decode(stream, "a.bin")
    assert root[0] == "later" and root[1] is root and root[2] is None


def test_nulls_beyond_the_members_or_items_are_corrupt_input():
    stream = HEADER + b"\x10" + struct.pack("<ii", 1, 2) + b"\x0d\x03" + b"\x0b"
    with pytest.raises(CorruptInput, match="at most 2 nulls here, not 3"):
        nrbf.decode(stream, "a.bin")


def test_an_array_longer_than_the_stream_is_refused_before_anything_is_allocated():
    for record in (b"\x0f" + struct.pack("<ii", 1, 2**31 - 1) + b"\x08",
                   b"\x10" + struct.pack("<ii", 1, 2**31 - 1),
                   b"\x07" + struct.pack("<iBiiiB", 1, 2, 2, 50_000, 50_000, 2)):
        with pytest.raises(CorruptInput, match="byte offset 17"):
            nrbf.decode(HEADER + record + b"\x0b", "a.bin")


def test_a_stream_of_nulls_cannot_inflate_past_the_value_limit():
    count = nrbf.MAX_VALUES + 1
    stream = HEADER + b"\x10" + struct.pack("<ii", 1, count)
    with pytest.raises(CorruptInput, match=f"at most {nrbf.MAX_VALUES} members and items"):
        nrbf.decode(stream + b"\x0e" + struct.pack("<i", count) + b"\x0b", "a.bin")
    arrays = b"".join(b"\x10" + struct.pack("<ii", n, 400_000) + b"\x0e" + struct.pack("<i", 400_000)
                      for n in range(1, 4))
    with pytest.raises(CorruptInput, match="byte offset 45: .*at most 1000000 members and items"):
        nrbf.decode(HEADER + arrays + b"\x0b", "a.bin")


def test_a_sparse_array_of_many_nulls_in_few_bytes_is_read():
    stream = HEADER + b"\x10" + struct.pack("<ii", 1, 5000) + b"\x0e" + struct.pack("<i", 4999) + b"\x0a\x0b"
    assert nrbf.decode(stream, "a.bin") == [None] * 5000


def test_nesting_deeper_than_the_limit_is_corrupt_input_not_a_recursion_error():
    nested = b"".join(b"\x10" + struct.pack("<ii", i + 1, 1) for i in range(nrbf.MAX_DEPTH + 5))
    with pytest.raises(CorruptInput, match=f"nested at most {nrbf.MAX_DEPTH} deep"):
        nrbf.decode(HEADER + nested + b"\x0a" + b"\x0b", "a.bin")


def test_a_long_string_length_prefix_and_bad_utf8_are_corrupt_input():
    with pytest.raises(CorruptInput, match="string length of at most 5 bytes"):
        nrbf.decode(HEADER + b"\x06" + struct.pack("<i", 1) + b"\xff" * 6, "a.bin")
    with pytest.raises(CorruptInput, match="byte offset 22: .*UTF-8"):
        nrbf.decode(HEADER + b"\x06" + struct.pack("<i", 1) + b"\x02\xc3\x28" + b"\x0b", "a.bin")


def test_a_duplicate_object_id_and_bytes_after_the_end_are_corrupt_input():
    string = b"\x06" + struct.pack("<i", 1) + _lps("a")
    with pytest.raises(CorruptInput, match="a new object id, not 1 again"):
        nrbf.decode(HEADER + string + string + b"\x0b", "a.bin")
    with pytest.raises(CorruptInput, match="not 1 more bytes"):
        nrbf.decode(HEADER + string + b"\x0b\x00", "a.bin")


def test_primitives_in_a_class_record_keep_their_types():
    members = [("B", 1), ("C", 3), ("D", 5), ("F", 6), ("S", 7), ("T", 12), ("W", 13), ("U", 16)]
    record = (b"\x04" + struct.pack("<i", 1) + _lps("Demo") + struct.pack("<i", len(members))
              + b"".join(_lps(n) for n, _ in members) + bytes(len(members)) + bytes(code for _, code in members))
    values = (b"\x01" + "é".encode() + _lps("12.50") + struct.pack("<d", 0.5) + struct.pack("<h", -2)
              + struct.pack("<q", 10_000_000) + struct.pack("<Q", 638_000_000_000_000_000 | 1 << 62)
              + struct.pack("<Q", 2**64 - 1))
    root = nrbf.decode(HEADER + record + values + b"\x0b", "a.bin")
    assert (root["B"], root["C"], str(root["D"]), root["F"], root["S"]) == (True, "é", "12.50", 0.5, -2)
    assert root["T"].total_seconds() == 1.0 and root["W"].year == 2022 and root["W"].tzinfo is not None
    assert root["U"] == 2**64 - 1


# --------------------------------------------------------------------------- fuzzing: only ExlabError escapes

def _decode_or_exlab_error(data: bytes) -> None:
    try:
        nrbf.decode(data, "fuzz.bin")
    except ExlabError as err:
        assert err.source == "fuzz.bin" and "byte offset" in err.where


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_after_a_header_end_in_values_or_an_exlab_error(data):
    _decode_or_exlab_error(HEADER + data)
    _decode_or_exlab_error(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(LAB_STREAM) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(LAB_STREAM)))
def test_mutated_exchange_certificate_streams_end_in_values_or_an_exlab_error(changes, cut):
    data = bytearray(LAB_STREAM)
    for position, value in changes:
        data[position] = value
    _decode_or_exlab_error(bytes(data[:cut] if cut else data))


@pytest.mark.real_exports
def test_mutated_real_streams_end_in_values_or_an_exlab_error(real_exports):
    import random
    blobs = _blobs(real_exports / "css-exchange" / "HC-E16-GetExchangeCertificate.xml")
    blobs += _blobs(real_exports / "css-exchange" / "HC-GetReceiveConnectorEmptyTlsCertificateName.xml")[:1]
    chance = random.Random(2888788)
    for _ in range(400):
        data = bytearray(chance.choice(blobs))
        for _ in range(chance.randint(1, 6)):
            data[chance.randrange(len(data))] = chance.randrange(256)
        _decode_or_exlab_error(bytes(data))
