"""The lab's Get-ExchangeCertificate writers: the byte shapes of Windows PowerShell 5.1,
determinism, and byte-exact round trips through read_certs."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from defusedxml import ElementTree

import exlab
from exlab.lab.cert_exports import (
    ExchangeCert,
    write_clixml,
    write_csv,
    write_json,
    write_list,
    write_table,
)
from exlab.lab.pki import LabPki

WRITERS = {
    "table": lambda c, o: write_table(c, o),
    "fl": lambda c, o: write_list(c, o, culture="de-DE", tz="Europe/Warsaw"),
    "fl *": lambda c, o: write_list(c, o, culture="en-AU", tz="Australia/Sydney", all_properties=True),
    "csv": lambda c, o: write_csv(c, o, culture="pl-PL", tz="Europe/Warsaw"),
    "csv remote": lambda c, o: write_csv(c, o, culture="en-US", tz="America/New_York", remote=True),
    "clixml": lambda c, o: write_clixml(c, o, tz="Europe/Warsaw"),
    "clixml remote": lambda c, o: write_clixml(c, o, tz="Europe/Warsaw", remote=True),
    "json": lambda c, o: write_json(c, o),
    "json text services": lambda c, o: write_json(c, o, services_as_text=True, raw_data=True),
}


@pytest.fixture(scope="module")
def certs() -> list[ExchangeCert]:
    pki = LabPki("tests-lab-exports", organization="Contoso")
    public = pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"], ca="public",
                        not_before=datetime(2024, 12, 2, 13, 43, 23, tzinfo=timezone.utc))
    internal = pki.server("mail.contoso.com", ["mail.contoso.com", "exchange.contoso.com"], ca="internal",
                          not_before=datetime(2025, 7, 14, 8, 2, 5, tzinfo=timezone.utc))
    auth = pki.exchange_auth(not_before=datetime(2021, 2, 1, tzinfo=timezone.utc))
    return [ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise",
                         friendly_name="Zertifikat Wrocław \"intern\" <neu> & Co's"),
            ExchangeCert(public.certificate, services=("IIS", "SMTP"), friendly_name="mail.contoso.com 2024"),
            ExchangeCert(auth.certificate, services=("SMTP",), root_ca_type="None", friendly_name="",
                         has_private_key=True)]


def _bytes(shape: str, certs) -> bytes:
    out = io.BytesIO()
    WRITERS[shape](certs, out)
    return out.getvalue()


@pytest.mark.parametrize("shape", sorted(WRITERS))
def test_the_same_inputs_give_the_same_bytes(shape, certs):
    assert _bytes(shape, certs) == _bytes(shape, list(certs))


@pytest.mark.parametrize("shape", ["table", "fl", "fl *", "clixml", "clixml remote", "json"])
def test_console_and_clixml_output_is_utf16_with_bom_and_crlf(shape, certs):
    data = _bytes(shape, certs)
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert "\n" in text and not re.search(r"(?<!\r)\n", text)


def test_export_csv_is_ascii_as_windows_powershell_51_writes_it(certs):
    data = _bytes("csv", certs)
    assert data.isascii()
    lines = data.decode("ascii").split("\r\n")
    assert lines[0] == "#TYPE Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"
    assert lines[1].startswith('"AccessRules","CertificateDomains","HasPrivateKey"')
    assert '"Zertifikat Wroc?aw ""intern"" <neu> & Co\'s"' in lines[2]     # 5.1's ASCII: ł becomes ?
    assert '"IMAP, POP, IIS, SMTP","Valid"' in lines[2] and '"14.07.2025 10:02:05"' in lines[2]
    remote = _bytes("csv remote", certs).decode("ascii").split("\r\n")
    assert remote[0].startswith("#TYPE Deserialized.") and remote[1].endswith('"PSComputerName","RunspaceId",'
                                                                               '"PSShowComputerName"')
    assert '"System.Collections.ArrayList"' in remote[2] and '"7/14/2025 4:02:05 AM"' in remote[2]


def test_format_list_wraps_long_values_under_the_value_column(certs):
    """en-AU wraps between words: each line keeps the space it was cut after, within the 119 columns Out-File
    writes of a console 120 wide."""
    lines = _bytes("fl *", certs)[2:].decode("utf-16-le").split("\r\n")
    assert max(len(line) for line in lines) <= 119
    first = next(i for i, line in enumerate(lines) if line.startswith("AccessRules"))
    assert lines[first + 1].startswith(" " * 23) and not lines[first + 1][23:24].isspace()
    rule = "System.Security.AccessControl.CryptoKeyAccessRule"
    indent = " " * 23
    assert lines[first:first + 3] == [f"AccessRules          : {{{rule}, ", f"{indent}{rule}, ", f"{indent}{rule}}}"]
    assert "NotAfter             : 14/07/2027 6:02:05 pm" in lines        # en-AU, Sydney (UTC+10)
    assert "Identity             : EX01\\" + certs[0].thumbprint in lines
    assert lines.count("") == 2 + 2 + 3                                   # lead, two separators, tail


def test_default_table_cuts_a_long_subject_at_the_console_width(certs):
    narrow = io.BytesIO()
    write_table(certs, narrow, width=80)
    lines = narrow.getvalue()[2:].decode("utf-16-le").split("\r\n")
    assert lines[1] == "Thumbprint                                Services   Subject"
    assert lines[3] == f"{certs[0].thumbprint}  IP.WS..    CN=mail.contoso.com"
    assert lines[4] == f"{certs[1].thumbprint}  ...WS..    CN=mail.contoso.com, O=..."
    assert lines[5] == f"{certs[2].thumbprint}  ....S..    CN=Microsoft Exchange S..."
    assert max(len(line) for line in lines) == 79


def test_clixml_is_well_formed_with_typed_properties_and_reused_type_names(certs):
    text = _bytes("clixml", certs)[2:].decode("utf-16-le")
    root = ElementTree.fromstring(text)
    ns = "{http://schemas.microsoft.com/powershell/2004/04}"
    objects = root.findall(f"{ns}Obj")
    assert len(objects) == 3
    assert objects[0].find(f"{ns}TN/{ns}T").text == "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"
    assert objects[1].find(f"{ns}TNRef") is not None
    props = {p.get("N"): p for p in objects[0].find(f"{ns}Props")}
    assert props["NotAfter"].text == "2027-07-14T10:02:05+02:00"          # summer time in Warsaw
    assert props["Services"].find(f"{ns}ToString").text == "IMAP, POP, IIS, SMTP"
    assert props["Services"].find(f"{ns}I32").text == "27"
    assert props["RootCAType"].find(f"{ns}I32").text == "2"
    assert props["FriendlyName"].text == "Zertifikat Wrocław \"intern\" <neu> & Co's"
    assert "_x000D__x000A_" in objects[0].find(f"{ns}ToString").text
    assert objects[0].find(f"{ns}MS") is None


def test_the_exchange_management_shell_shape_holds_raw_data_and_serialization_data_only(certs):
    """As the real HC-E16-GetExchangeCertificate.xml: the type names of the live object, RawData under
    <Props>, and PSComputerName, RunspaceId, PSShowComputerName, SerializationData under <MS>."""
    root = ElementTree.fromstring(_bytes("clixml remote", certs)[2:].decode("utf-16-le"))
    ns = "{http://schemas.microsoft.com/powershell/2004/04}"
    objects = root.findall(f"{ns}Obj")
    assert [t.text for t in objects[0].find(f"{ns}TN")] == [
        "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate",
        "System.Security.Cryptography.X509Certificates.X509Certificate2",
        "System.Security.Cryptography.X509Certificates.X509Certificate", "System.Object"]
    for obj, cert in zip(objects, certs):
        assert [(p.tag[len(ns):], p.get("N")) for p in obj.find(f"{ns}Props")] == [("BA", "RawData")]
        assert [(p.tag[len(ns):], p.get("N")) for p in obj.find(f"{ns}MS")] == [
            ("S", "PSComputerName"), ("G", "RunspaceId"), ("B", "PSShowComputerName"), ("BA", "SerializationData")]
        assert obj.find(f"{ns}MS/{ns}S").text == "ex01"
    # X509Certificate.ToString() as the remote endpoint formats it: invariant culture, local time
    assert "[Not Before]_x000D__x000A_  07/14/2025 10:02:05_x000D__x000A_" in objects[0].find(f"{ns}ToString").text
    frame = exlab.read_certs(io.BytesIO(_bytes("clixml remote", certs)))
    assert frame["services"].tolist() == [c.services for c in certs]
    assert frame["root_ca_type"].tolist() == [c.root_ca_type for c in certs]
    assert frame["friendly_name"].fillna("").tolist() == [c.friendly_name for c in certs]
    assert frame["server"].tolist() == ["ex01"] * 3


def test_convertto_json_has_the_51_layout(certs):
    single = _bytes("json", certs[:1])[2:].decode("utf-16-le")
    assert single.startswith('{\r\n    "FriendlyName":  "Zertifikat Wrocław \\"intern\\" \\u003cneu\\u003e '
                             '\\u0026 Co\\u0027s",\r\n')
    assert '"NotBefore":  "\\/Date(1752480125000)\\/"' in single and '"Services":  27,' in single
    assert '"CertificateDomains":  [\r\n' + " " * 31 + '"mail.contoso.com",' in single
    several = json.loads(_bytes("json text services", certs)[2:].decode("utf-16-le"))
    assert [o["Services"] for o in several] == ["IMAP, POP, IIS, SMTP", "IIS, SMTP", "SMTP"]
    assert bytes(several[2]["RawData"]) == certs[2].certificate.public_bytes(Encoding.DER)


def _rebuilt(frame) -> list[ExchangeCert]:
    """ExchangeCert objects from what read_certs found (DER plus Exchange's facts)."""
    return [ExchangeCert(x509.load_der_x509_certificate(row["der"]), services=row["services"], status=row["status"],
                         root_ca_type=row["root_ca_type"], friendly_name="" if pd.isna(row["friendly_name"]) else row["friendly_name"],
                         has_private_key=bool(row["has_private_key"]), server=row["source_server"])
            for _, row in frame.iterrows()]


@pytest.mark.parametrize("source", ["clixml", "clixml remote", "json text services"])
def test_reading_an_export_and_writing_again_gives_every_shape_byte_for_byte(source, certs):
    frame = exlab.read_certs(io.BytesIO(_bytes(source, certs)))
    frame["source_server"] = "EX01"
    rebuilt = _rebuilt(frame)
    assert [c.thumbprint for c in rebuilt] == [c.thumbprint for c in certs]
    for shape in WRITERS:
        assert _bytes(shape, rebuilt) == _bytes(shape, certs), shape


def test_unknown_enum_values_are_refused(certs):
    with pytest.raises(ValueError, match="status must be one of"):
        ExchangeCert(certs[0].certificate, status="Fine")
