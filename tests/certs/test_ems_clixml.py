"""Get-ExchangeCertificate | Export-Clixml from the Exchange Management Shell (always a remote session):
the real files read to what ../shared/real-exports/README.md says, through their SerializationData; the
RawData-only shape warns once; damaged blobs are counted; the lab writes the real bytes."""

from __future__ import annotations

import base64
import io
import re
import warnings

import pandas as pd
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exlab
from exlab.certs.exchange_serialized import parse_store_element
from exlab.clixml import iter_items
from exlab.errors import CorruptInput, DataLossWarning, ExlabWarning
from exlab.lab.cert_exports import ExchangeCert, write_clixml, write_csv, write_list
from exlab.lab.nrbf_writer import exchange_certificate_stream
from exlab.nrbf import decode

from .helpers import kb2888788_pair

E16 = "HC-E16-GetExchangeCertificate.xml"
AZURE = "HC-GetExchangeCertificateOnAzure.xml"
# The README's tables: thumbprint -> (services, status, RootCAType); the server is PSComputerName as written.
README = {
    E16: ("solo-e16a.solo.local", {
        "92E196F3C8D3D753FCFC5B7690C3173AA1C0ABE3": (("SMTP",), "Valid", "None"),
        "823884A32609DCDC8C4B5462952586C30D814073": (("IMAP", "POP", "IIS", "SMTP"), "Valid", "Registry"),
        "A60C6E62FF85D208DF668D597A1B077E1534147F": ((), "Valid", "Registry")}),
    AZURE: ("e2k16-1.contoso.lab", {
        "EC1D075732E935F49E551936718A9254B117E523": ((), "Valid", "None"),
        "F57DEA0EEA488E092EF787F8857845B8CC0139DF": (("SMTP",), "Valid", "None"),
        "EEA2F1BD51FC122348942C1D1CEA3D1B415C4FA1": (("IIS", "SMTP"), "Valid", "Registry")}),
}
ASK = "Get-ExchangeCertificate | Format-List *"


def _real(real_exports, name: str) -> str:
    return (real_exports / "css-exchange" / name).read_text(encoding="utf-8-sig")


def _exlab_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ExlabWarning)]


# --------------------------------------------------------------------------- the real files

@pytest.mark.real_exports
@pytest.mark.parametrize("name", [E16, AZURE])
def test_the_real_ems_exports_give_the_readmes_services_status_root_ca_type_and_server(real_exports, name):
    server, expected = README[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(real_exports / "css-exchange" / name)
    assert frame["thumbprint"].tolist() == list(expected)
    for _, row in frame.iterrows():
        services, status, root_ca_type = expected[row["thumbprint"]]
        assert (row["services"], row["status"], row["root_ca_type"]) == (services, status, root_ca_type)
        assert row["server"] == server and bool(row["has_private_key"])
    assert frame["server"].dtype == "string"
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped) == (3, 0)
    assert not [text for text in _exlab_warnings(caught) if ASK in text or "SerializationData" in text]


@pytest.mark.real_exports
def test_certdata_is_the_same_certificate_as_raw_data_with_its_friendly_name(real_exports):
    frame = exlab.read_certs(real_exports / "css-exchange" / E16)
    text = _real(real_exports, E16)
    raw = [base64.b64decode(b) for b in re.findall(r'<BA N="RawData">([^<]*)</BA>', text)]
    assert [bytes(d) for d in frame["der"]] == raw
    blobs = [base64.b64decode(b) for b in re.findall(r'<BA N="SerializationData">([^<]*)</BA>', text)]
    elements = [parse_store_element(decode(blob, E16)["CertData"], E16) for blob in blobs]
    assert [e.der for e in elements] == raw
    assert frame["friendly_name"].tolist() == [e.friendly_name for e in elements]
    assert frame.loc[0, "friendly_name"] == "Microsoft Exchange Server Auth Certificate"


@pytest.mark.real_exports
@pytest.mark.parametrize("deserialized", [False, True])
def test_raw_data_only_leaves_services_na_and_warns_once_naming_the_file_and_format_list(
        real_exports, tmp_path, deserialized):
    text = re.sub(r'\s*<BA N="SerializationData">[^<]*</BA>', "", _real(real_exports, E16))
    if deserialized:
        text = text.replace("<T>", "<T>Deserialized.")
    path = tmp_path / "Get-ExchangeCertificate.xml"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(path)
    assert frame["thumbprint"].tolist() == list(README[E16][1])
    assert frame["services"].tolist() == [None] * 3                      # never () that reads as "no services"
    assert frame["status"].isna().all() and frame["root_ca_type"].isna().all()
    assert frame["server"].tolist() == ["solo-e16a.solo.local"] * 3
    [warning] = [w for w in caught if issubclass(w.category, ExlabWarning) and ASK in str(w.message)]
    assert warning.filename == str(path)                                 # the warning names the file
    assert str(warning.message).startswith("3 of 3 certificate(s) carry no Services, Status or RootCAType")
    assert str(warning.message) in frame.attrs["parse_report"].files[0].warnings


@pytest.mark.real_exports
@pytest.mark.parametrize("cut", [1, 40, 700, -1])
def test_a_damaged_serialization_data_is_a_counted_warned_loss_the_rest_read(real_exports, tmp_path, cut):
    text = _real(real_exports, E16)
    blobs = re.findall(r'<BA N="SerializationData">([^<]*)</BA>', text)
    damaged = base64.b64encode(base64.b64decode(blobs[1])[:cut]).decode()
    path = tmp_path / "certs.xml"
    path.write_text(text.replace(blobs[1], damaged), encoding="utf-8-sig")
    with pytest.warns(DataLossWarning) as caught:
        frame = exlab.read_certs(path)
    assert frame["thumbprint"].tolist() == list(README[E16][1])          # the certificate itself still read
    assert frame.loc[1, "services"] is None and pd.isna(frame.loc[1, "status"])
    assert frame.loc[0, "services"] == ("SMTP",) and frame.loc[2, "root_ca_type"] == "Registry"
    report = frame.attrs["parse_report"].files[0]
    [loss] = report.losses
    assert re.fullmatch(r"object 2 SerializationData, byte offset \d+", loss.where)
    [warning] = [w for w in caught if w.category is DataLossWarning]
    assert warning.filename == str(path)
    assert str(warning.message).startswith(f"{loss.where}: skipped 1 record(s) and 0 chunk(s), the first here: ")


@pytest.mark.real_exports
def test_serialization_data_of_another_certificate_is_not_taken(real_exports, tmp_path):
    text = _real(real_exports, E16)
    first, second, _ = re.findall(r'<BA N="SerializationData">([^<]*)</BA>', text)
    path = tmp_path / "swapped.xml"
    path.write_text(text.replace(first, "@").replace(second, first).replace("@", second), encoding="utf-8-sig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = exlab.read_certs(path)
    assert frame["services"].tolist()[:2] == [None, None] and frame.loc[2, "services"] == ()
    notes = frame.attrs["parse_report"].files[0].warnings
    assert "object 1: SerializationData holds another certificate than RawData; its values left out" in notes


@pytest.mark.real_exports
@pytest.mark.parametrize("name", [E16, AZURE])
def test_the_lab_writer_re_encodes_real_serialization_data_byte_for_byte(real_exports, name):
    for item in iter_items(_real(real_exports, name), name):
        blob = item.value["SerializationData"]
        root = decode(blob, name)
        iis = root["IISServices"]
        again = exchange_certificate_stream(
            cert_data=root["CertData"], self_signed=root["SelfSigned"], status=root["Status"],
            root_ca_type=root["RootCAType"], services=root["Services"],
            iis_services=[site["serviceName"] for site in iis["_items"][:iis["_size"]]],
            private_key_exportable=root["PrivateKeyExportable"], identity=root["Identity"],
            capacity=len(iis["_items"]), list_version=iis["_version"])
        assert again == blob


# --------------------------------------------------------------------------- the lab's EMS shape

def _lab_certs() -> list[ExchangeCert]:
    public, internal = kb2888788_pair()
    return [ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise",
                         friendly_name="Contoso internal", server="EX01", server_fqdn="EX01.contoso.com"),
            ExchangeCert(public.certificate, services=("IIS", "SMTP"), has_private_key=False, server="EX01",
                         server_fqdn="EX01.contoso.com")]


def test_the_labs_ems_export_reads_back_every_exchange_fact():
    out = io.BytesIO()
    certs = _lab_certs()
    write_clixml(certs, out, remote=True, tz="Europe/Warsaw")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExlabWarning)
        frame = exlab.read_certs(io.BytesIO(out.getvalue()))
    assert frame["thumbprint"].tolist() == [c.thumbprint for c in certs]
    assert frame["services"].tolist() == [("IMAP", "POP", "IIS", "SMTP"), ("IIS", "SMTP")]
    assert frame["root_ca_type"].tolist() == ["Enterprise", "ThirdParty"]
    assert frame["has_private_key"].tolist() == [True, False]
    assert frame["friendly_name"].tolist()[0] == "Contoso internal" and pd.isna(frame.loc[1, "friendly_name"])
    assert frame["server"].tolist() == ["ex01.contoso.com"] * 2
    assert [bytes(d) for d in frame["der"]] == [c.certificate.public_bytes(Encoding.DER) for c in certs]


def test_a_serialization_data_that_is_no_exchange_certificate_is_counted():
    out = io.BytesIO()
    write_clixml(_lab_certs()[:1], out, remote=True)
    text = out.getvalue()[2:].decode("utf-16-le")
    blob = re.search(r'<BA N="SerializationData">([^<]*)</BA>', text).group(1)
    other = base64.b64encode(bytes.fromhex("0001000000ffffffff0100000000000000" "0601000000" "024f4b" "0b")).decode()
    with pytest.warns(DataLossWarning, match="object 1 SerializationData: .*expected a serialized .*ExchangeCertificate"):
        frame = exlab.read_certs(io.BytesIO(text.replace(blob, other).encode("utf-8")))
    assert frame.loc[0, "services"] is None


# --------------------------------------------------------------------------- the server column elsewhere

@pytest.mark.parametrize("shape, expected", [
    ("fl *", "EX01.contoso.com"),        # Identity SERVER.domain\THUMBPRINT
    ("csv remote", "ex01.contoso.com"),  # PSComputerName, as written
])
def test_the_server_comes_from_identity_or_pscomputername_in_other_shapes(shape, expected):
    out = io.BytesIO()
    if shape == "fl *":
        write_list(_lab_certs(), out, all_properties=True, tz="UTC")
    else:
        write_csv(_lab_certs(), out, tz="UTC", remote=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = exlab.read_certs(io.BytesIO(out.getvalue()), tz="UTC")
    assert frame["server"].tolist() == [expected] * 2


def test_get_exchangecertificate_server_from_another_servers_shell_names_the_store_server():
    """PSComputerName is where the shell ran; Identity (from SerializationData) the store's server."""
    out = io.BytesIO()
    write_clixml([ExchangeCert(c.certificate, services=c.services, root_ca_type=c.root_ca_type, server="EX02",
                               server_fqdn="EX02.contoso.com") for c in _lab_certs()], out, remote=True)
    text = out.getvalue()[2:].decode("utf-16-le").replace(">ex02.contoso.com<", ">ex01.contoso.com<")
    frame = exlab.read_certs(io.BytesIO(text.encode("utf-8")))
    assert frame["server"].tolist() == ["EX02.contoso.com"] * 2
    notes = frame.attrs["parse_report"].files[0].warnings
    assert notes == ["object 1 and any later record: certificates of EX02.contoso.com (Identity) listed from a "
                     "shell on ex01.contoso.com (PSComputerName); server is taken from Identity"]


def test_merged_rows_keep_every_server_seen():
    one, two = io.BytesIO(), io.BytesIO()
    certs = _lab_certs()[:1]
    write_clixml(certs, one, remote=True)
    write_clixml([ExchangeCert(c.certificate, services=c.services, root_ca_type=c.root_ca_type, server="EX02",
                               server_fqdn="EX02.contoso.com") for c in certs], two, remote=True)
    frame = exlab.read_certs([one, two])
    assert frame["server"].tolist() == ["ex01.contoso.com; ex02.contoso.com"]


# --------------------------------------------------------------------------- other forms shells write

_TASKS = "Microsoft.Exchange.Management.SystemConfigurationTasks."


def _enum(name: str, type_name: str, text: str, number: int | None) -> str:
    number_text = "" if number is None else f"<I32>{number}</I32>"
    return (f'<Obj N="{name}" RefId="{name}"><TN RefId="{name}"><T>Deserialized.{_TASKS}{type_name}</T>'
            f"<T>Deserialized.System.Enum</T><T>Deserialized.System.Object</T></TN>"
            f"<ToString>{text}</ToString>{number_text}</Obj>")


@pytest.mark.parametrize("members", [
    '<S N="Services">IMAP, POP, IIS, SMTP</S><S N="Status">Valid</S><S N="RootCAType">Registry</S>',
    '<I32 N="Services">27</I32><I32 N="Status">1</I32><I32 N="RootCAType">3</I32>',
    _enum("Services", "AllowedServices", "IMAP, POP, IIS, SMTP", 27) + _enum("Status", "CertificateStatus", "Valid", 1)
    + _enum("RootCAType", "CertificateAuthorityType", "Registry", 3),
    _enum("Services", "AllowedServices", "IMAP, POP, IIS, SMTP", None)
    + _enum("Status", "CertificateStatus", "Valid", None) + _enum("RootCAType", "CertificateAuthorityType", "Registry", None),
    '<Obj N="Services" RefId="9"><TN RefId="9"><T>System.Object[]</T></TN><LST><S>IMAP</S><S>POP</S><S>IIS</S>'
    '<S>SMTP</S></LST></Obj><S N="Status">Valid</S><S N="RootCAType">Registry</S>',
], ids=["names", "numbers", "deserialized enums", "enums as text only", "flag list"])
def test_every_form_a_shell_writes_services_status_and_root_ca_type_in(members):
    _, internal = kb2888788_pair()
    der = base64.b64encode(internal.certificate.public_bytes(Encoding.DER)).decode()
    doc = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
           f'<TN RefId="0"><T>Deserialized.{_TASKS}ExchangeCertificate</T></TN><Props><BA N="RawData">{der}</BA>'
           f"{members}</Props></Obj></Objs>")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExlabWarning)
        frame = exlab.read_certs(io.BytesIO(doc.encode("utf-8")))
    assert (frame.loc[0, "services"], frame.loc[0, "status"], frame.loc[0, "root_ca_type"]) == (
        ("IMAP", "POP", "IIS", "SMTP"), "Valid", "Registry")


def test_a_truncated_store_element_is_corrupt_input_naming_the_place():
    _, internal = kb2888788_pair()
    data = b"\x03\x00\x00\x00\x01\x00\x00\x00\x14\x00\x00\x00" + bytes(8)
    with pytest.raises(CorruptInput, match=r"certs.xml, CertData at byte 0: .*property 3 of 20 bytes, 8 left"):
        parse_store_element(data, "certs.xml")
    assert parse_store_element(internal.certificate.public_bytes(Encoding.DER), "certs.xml").has_key is False


# --------------------------------------------------------------------------- collection advice

def test_the_collection_advice_asks_for_format_list_and_the_certificates_themselves():
    import json

    from exlab.analysis.remediation import collect_step
    from tests.conftest import REPO

    command = collect_step("certs").command
    assert "; Get-ExchangeCertificate | Format-List * > " in command and "$_.RawData" in command
    assert "$FormatEnumerationLimit = -1; Get-ExchangeCertificate" in command     # whole lists: no "..." cut
    assert "Export-Clixml" not in command
    start = json.loads((REPO / "notebooks" / "00-start-here.ipynb").read_text(encoding="utf-8"))
    lines = start["cells"][0]["source"]
    block = lines[lines.index("```powershell\n") + 1:]
    assert any(line.startswith("Get-ExchangeCertificate | Format-List * > ") for line in block[:block.index("```\n")])


# --------------------------------------------------------------------------- fuzzing the whole reader

_LAB_EMS = io.BytesIO()
write_clixml(_lab_certs()[:1], _LAB_EMS, remote=True)
_LAB_TEXT = _LAB_EMS.getvalue()[2:].decode("utf-16-le")
_LAB_BLOB = base64.b64decode(re.search(r'<BA N="SerializationData">([^<]*)</BA>', _LAB_TEXT).group(1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_LAB_BLOB) - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_mutated_serialization_data_never_escapes_as_anything_but_a_counted_loss(changes):
    blob = bytearray(_LAB_BLOB)
    for position, value in changes:
        blob[position] = value
    text = re.sub(r'(<BA N="SerializationData">)[^<]*', lambda m: m.group(1) + base64.b64encode(blob).decode(),
                  _LAB_TEXT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = exlab.read_certs(io.BytesIO(text.encode("utf-8")))
    report = frame.attrs["parse_report"].files[0]
    assert len(frame) == 1 and report.records_read == 1
    assert report.records_skipped <= 1
