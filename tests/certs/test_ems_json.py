"""Get-ExchangeCertificate | ConvertTo-Json in the Exchange Management Shell (a remote session): each
object is the deserialized certificate, RawData plus the remoting note properties PSComputerName,
RunspaceId, PSShowComputerName and SerializationData (byte[] as an array of numbers), where Services,
Status and RootCAType sit. Read as the CliXml reader reads them; a file without them warns once."""

from __future__ import annotations

import json
import re
import warnings

import pandas as pd
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import exlab
from exlab.clixml import iter_items
from exlab.errors import DataLossWarning, ExlabWarning
from exlab.lab.cert_exports import ExchangeCert, serialization_data

from .helpers import kb2888788_pair
from .test_ems_clixml import E16, README

ASK = "Get-ExchangeCertificate | Format-List *"
RUNSPACE = "6b1f1c0e-4f3a-4d8e-9a51-0c2f7e3b9d11"


def _entries() -> list[ExchangeCert]:
    public, internal = kb2888788_pair()
    return [ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise",
                         server_fqdn="ex01.contoso.com"),
            ExchangeCert(public.certificate, services=("IIS", "SMTP"), root_ca_type="ThirdParty",
                         server_fqdn="ex01.contoso.com")]


def _ems_object(raw: bytes, computer: str, blob: bytes | None) -> dict:
    """One deserialized certificate as ConvertTo-Json writes it: its adapted RawData, then the note properties."""
    obj = {"RawData": list(raw), "PSComputerName": computer, "RunspaceId": RUNSPACE, "PSShowComputerName": False}
    if blob is not None:
        obj["SerializationData"] = list(blob)
    return obj


def _convertto_json(objects: list[dict]) -> bytes:
    """ConvertTo-Json's text (two spaces after the colon, CRLF) as ``> certs.json`` saves it in
    Windows PowerShell 5.1: UTF-16 LE with a byte order mark."""
    text = json.dumps(objects, indent=4).replace('":', '": ').replace("\n", "\r\n") + "\r\n"
    return b"\xff\xfe" + text.encode("utf-16-le")


def _exlab_warnings(caught) -> list[warnings.WarningMessage]:
    return [w for w in caught if issubclass(w.category, ExlabWarning)]


def test_serialization_data_gives_services_status_and_root_ca_type(tmp_path):
    entries = _entries()
    path = tmp_path / "certs.json"
    path.write_bytes(_convertto_json([_ems_object(e.certificate.public_bytes(Encoding.DER), e.computer_name,
                                                  serialization_data(e)) for e in entries]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(path)
    assert frame["thumbprint"].tolist() == [e.thumbprint for e in entries]
    assert frame["services"].tolist() == [("IMAP", "POP", "IIS", "SMTP"), ("IIS", "SMTP")]
    assert frame["status"].tolist() == ["Valid", "Valid"]
    assert frame["root_ca_type"].tolist() == ["Enterprise", "ThirdParty"]
    assert frame["server"].tolist() == ["ex01.contoso.com"] * 2
    assert frame["conflicts"].tolist() == [(), ()]
    assert not [w for w in _exlab_warnings(caught) if ASK in str(w.message)]


def test_raw_data_only_leaves_services_na_and_warns_once_naming_the_file(tmp_path):
    entries = _entries()
    path = tmp_path / "certs.json"
    path.write_bytes(_convertto_json([_ems_object(e.certificate.public_bytes(Encoding.DER), e.computer_name, None)
                                      for e in entries]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_certs(path)
    assert frame["services"].tolist() == [None, None]                      # never () that reads as "no services"
    assert frame["status"].isna().all() and frame["root_ca_type"].isna().all()
    [warning] = [w for w in _exlab_warnings(caught) if ASK in str(w.message)]
    assert warning.filename == str(path)
    assert str(warning.message).startswith("2 of 2 certificate(s) carry no Services, Status or RootCAType "
                                           "(first at object 1;")
    assert str(warning.message) in frame.attrs["parse_report"].files[0].warnings


@pytest.mark.parametrize("damage", ["cut", "type name"])
def test_a_damaged_serialization_data_is_a_counted_warned_loss_the_rest_read(tmp_path, damage):
    entries = _entries()
    objects = [_ems_object(e.certificate.public_bytes(Encoding.DER), e.computer_name, serialization_data(e))
               for e in entries]
    objects[1]["SerializationData"] = objects[1]["SerializationData"][:40] if damage == "cut" else "System.Byte[]"
    path = tmp_path / "certs.json"
    path.write_bytes(_convertto_json(objects))
    with pytest.warns(DataLossWarning) as caught:
        frame = exlab.read_certs(path)
    assert frame["thumbprint"].tolist() == [e.thumbprint for e in entries]     # the certificate itself still read
    assert frame.loc[1, "services"] is None and pd.isna(frame.loc[1, "status"])
    assert frame.loc[0, "services"] == ("IMAP", "POP", "IIS", "SMTP")
    [loss] = frame.attrs["parse_report"].files[0].losses
    assert re.fullmatch(r"object 2 SerializationData(, byte offset \d+)?", loss.where)
    assert "Services, Status and RootCAType of this certificate are lost" in loss.reason
    assert [w.filename for w in caught if w.category is DataLossWarning] == [str(path)]


@pytest.mark.real_exports
def test_the_real_ems_certificates_as_json_give_the_readmes_values(real_exports, tmp_path):
    # the real EMS Export-Clixml's objects, each written as ConvertTo-Json writes the same deserialized object
    source = real_exports / "css-exchange" / E16
    objects = [_ems_object(item.value["RawData"], item.value["PSComputerName"], item.value["SerializationData"])
               for item in iter_items(source.read_text(encoding="utf-8-sig"), E16)]
    path = tmp_path / "certs.json"
    path.write_bytes(_convertto_json(objects))
    frame = exlab.read_certs(path)
    server, expected = README[E16]
    assert frame["thumbprint"].tolist() == list(expected)
    assert [(r.services, r.status, r.root_ca_type) for r in frame.itertuples()] == list(expected.values())
    assert frame["server"].tolist() == [server] * 3
    assert [bytes(d) for d in frame["der"]] == [bytes(o["RawData"]) for o in objects]
