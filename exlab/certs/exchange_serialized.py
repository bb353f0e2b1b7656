"""The ``SerializationData`` of a remote Get-ExchangeCertificate object, as Get-ExchangeCertificate properties.

The Exchange Management Shell is a remote PowerShell session: each certificate reaches the shell
as ``RawData`` plus ``SerializationData``, the ExchangeCertificate as .NET's BinaryFormatter wrote
it (read by :mod:`exlab.nrbf`). Its members: ``CertData`` (the certificate as the Windows store
serializes it: its properties, then the DER), ``SelfSigned``, ``Status``, ``RootCAType`` and
``Services`` (enum numbers), ``IISServices``, ``PrivateKeyExportable`` and ``Identity``
(``SERVER.domain\\THUMBPRINT``). :func:`serialized_properties` gives them under the names
Format-List shows, so one table of conversions (:mod:`exlab.certs.exchange_props`) serves
every export shape. :func:`add_serialized` fills them into an object's properties for the
readers of the shapes that keep the blob (Export-Clixml, ConvertTo-Json), and
:func:`warn_without_exchange_properties` warns, once a file, of certificates left without them.

>>> import struct
>>> der = bytes.fromhex("3003020101")
>>> element = struct.pack("<III", 11, 1, 8) + "EX\\0".encode("utf-16-le") + b"\\0\\0" + struct.pack("<III", 32, 1, 5) + der
>>> parse_store_element(element, "certs.xml")
StoreElement(der=b'0\\x03\\x02\\x01\\x01', friendly_name='EX', has_key=False)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, NamedTuple

from exlab import nrbf
from exlab.certs.exchange_props import PropsContext, counted_rows
from exlab.errors import CorruptInput, ExlabError
from exlab.parse_report import FileReport

#: the class a remote Get-ExchangeCertificate serializes
CLASS_NAME = "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"
#: the properties only Exchange knows; an object without any of them leaves services, status, root_ca_type NA
EXCHANGE_PROPERTIES = ("Services", "ServicesStringForm", "Status", "RootCAType")
ASK_FOR = "Get-ExchangeCertificate | Format-List * > certs.txt"
_LOST = "Services, Status and RootCAType of this certificate are lost, the rest read from RawData"
# member of the serialized ExchangeCertificate -> the property Format-List shows
_MEMBERS = {"SelfSigned": "IsSelfSigned", "Status": "Status", "RootCAType": "RootCAType", "Services": "Services",
            "Identity": "Identity"}
# Windows certificate store property ids (CERT_*_PROP_ID) a store element carries
_KEY_PROV_INFO, _FRIENDLY_NAME, _CERTIFICATE = 2, 11, 32
_PROPERTY_HEADER = struct.Struct("<III")   # property id, reserved (1), length


class StoreElement(NamedTuple):
    """A serialized store element (CertSerializeCertificateStoreElement): the DER, the friendly
    name ("" when none) and whether a private key is linked (CERT_KEY_PROV_INFO_PROP_ID, what
    X509Certificate2.HasPrivateKey looks for)."""

    der: bytes
    friendly_name: str
    has_key: bool


def serialized_properties(blob: bytes, source: str, where: str) -> dict[str, Any]:
    """The properties a SerializationData blob carries, by their Format-List names: IsSelfSigned,
    Status, RootCAType and Services (numbers), Identity, RawData (the DER from CertData), and
    FriendlyName and HasPrivateKey from the store element. Raises an ExlabError naming ``source``,
    ``where`` and the byte offset when the blob is not such a stream.

    >>> from exlab.lab.nrbf_writer import exchange_certificate_stream
    >>> blob = exchange_certificate_stream(cert_data=b"", self_signed=True, status=1, root_ca_type=3,
    ...     services=27, iis_services=(), private_key_exportable=False, identity="EX01.contoso.com\\\\" + "AB" * 20)
    >>> props = serialized_properties(blob, "certs.xml", "object 1")
    >>> props["Services"], props["Status"], props["RootCAType"], props["IsSelfSigned"], "RawData" in props
    (27, 1, 3, True, False)
    """
    place = f"{where} SerializationData"
    root = nrbf.decode(blob, source, place=place)
    if not isinstance(root, nrbf.NrbfObject) or not root.class_name.endswith(".ExchangeCertificate"):
        found = root.class_name if isinstance(root, nrbf.NrbfObject) else type(root).__name__
        raise CorruptInput(source, place, f"a serialized {CLASS_NAME}", f"found {found}")
    props = {name: root[member] for member, name in _MEMBERS.items() if root.get(member) is not None}
    for name, value in props.items():
        if not isinstance(value, (int, str)):
            raise CorruptInput(source, place, "enum numbers, a boolean and an Identity string",
                               f"{name} is {type(value).__name__}")
    cert_data = root.get("CertData")
    if isinstance(cert_data, bytes) and cert_data:
        element = parse_store_element(cert_data, source, f"{place} CertData")
        props["RawData"] = element.der
        props["HasPrivateKey"] = element.has_key
        if element.friendly_name:
            props["FriendlyName"] = element.friendly_name
    return props


def add_serialized(props: dict[str, Any], source: str, where: str, report: FileReport) -> None:
    """Fill what a remote object's SerializationData (bytes) says into ``props``, taking it out
    of them (what the object says itself comes first). A blob that cannot be read is counted as
    a loss in the report.

    >>> from exlab.lab.nrbf_writer import exchange_certificate_stream
    >>> from exlab.parse_report import ParseReport
    >>> blob = exchange_certificate_stream(cert_data=b"", self_signed=False, status=1, root_ca_type=2,
    ...     services=24, iis_services=(), private_key_exportable=False, identity="EX01\\\\" + "AB" * 20)
    >>> props = {"SerializationData": blob, "Status": "Valid"}
    >>> report = ParseReport().add_file("certs.json", sha256="", format="exchange-json")
    >>> add_serialized(props, "certs.json", "object 1", report)
    >>> props["Services"], props["RootCAType"], props["Status"]
    (24, 2, 'Valid')
    >>> add_serialized({"SerializationData": "AAEC"}, "certs.json", "object 2", report)
    >>> report.losses[0].where, report.records_skipped
    ('object 2 SerializationData', 1)
    """
    blob = props.pop("SerializationData", None)
    if blob is None:
        return
    if not isinstance(blob, bytes) or not blob:
        report.skip_record(f"{where} SerializationData", f"expected the bytes of a serialized certificate; {_LOST}")
        return
    try:
        serialized = serialized_properties(blob, source, where)
    except ExlabError as err:
        report.skip_record(err.where or where, f"expected {err.expected} ({err.detail}); {_LOST}")
        return
    raw = props.get("RawData")
    if isinstance(raw, bytes) and serialized.get("RawData", raw) != raw:
        report.note(f"{where}: SerializationData holds another certificate than RawData; its values left out")
        return
    for name, value in serialized.items():
        props.setdefault(name, value)


def object_rows(objects: Iterable[tuple[str, dict[str, Any]]], source: str, context: PropsContext,
                report: FileReport) -> list[dict]:
    """The rows of the certificate objects of a remote shell's export (Export-Clixml, ConvertTo-Json),
    each ``(where, properties)``: their SerializationData decoded into Exchange's own properties
    (:func:`add_serialized`), and one warning for the file when some carry none of them.

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("c.json", sha256="", format="exchange-json")
    >>> rows = object_rows([("object 1", {"Thumbprint": "AB" * 20, "Services": "IIS, SMTP"})], "c.json",
    ...                    PropsContext(report), report)
    >>> rows[0]["services"], report.warnings
    (('IIS', 'SMTP'), [])
    """
    rows: list[dict] = []
    without: list[str] = []
    for where, props in objects:
        add_serialized(props, source, where, report)
        read = counted_rows(props, context, where)
        if read and _lacks_exchange_properties(props):
            without.append(where)
        rows.extend(read)
    _warn_without_exchange_properties(report, without)
    return rows


def _lacks_exchange_properties(props: dict[str, Any]) -> bool:
    """Whether an object's properties hold none of those only Exchange knows (:data:`EXCHANGE_PROPERTIES`).

    >>> _lacks_exchange_properties({"RawData": b"0"}), _lacks_exchange_properties({"Services": 24})
    (True, False)
    """
    return not any(name in props for name in EXCHANGE_PROPERTIES)


def _warn_without_exchange_properties(report: FileReport, without: list[str]) -> None:
    """One warning for the file when certificates (the places in ``without``) carry none of
    Exchange's own properties: services, status and root_ca_type stay NA, and the engineer is
    told which export has them.

    >>> import warnings
    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("certs.json", sha256="", format="exchange-json")
    >>> report.records_read = 3
    >>> with warnings.catch_warnings(record=True):
    ...     _warn_without_exchange_properties(report, ["object 1", "object 3"])
    >>> report.warnings[0][:62]
    '2 of 3 certificate(s) carry no Services, Status or RootCAType '
    """
    if not without:
        return
    report.warn(f"{len(without)} of {report.records_read} certificate(s) carry no Services, Status or RootCAType "
                f"(first at {without[0]}; a remote shell's object with RawData only has none); services, status "
                f"and root_ca_type stay NA. Export them with {ASK_FOR}")


def parse_store_element(data: bytes, source: str, where: str = "CertData") -> StoreElement:
    """A certificate as the Windows store serializes it: ``(id, 1, length, value)`` properties, the
    DER last (id 32). A plain DER certificate is taken as it is.

    >>> parse_store_element(b"\\x02\\x00\\x00\\x00", "certs.xml")
    Traceback (most recent call last):
    exlab.errors.CorruptInput: certs.xml, CertData at byte 0: expected a serialized certificate store element (a 12-byte property header, 4 bytes left)
    """
    if data[:1] == b"\x30":
        return StoreElement(bytes(data), "", False)
    properties: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if len(data) - pos < _PROPERTY_HEADER.size:
            _bad(source, where, pos, f"a 12-byte property header, {len(data) - pos} bytes left")
        prop_id, _reserved, length = _PROPERTY_HEADER.unpack_from(data, pos)
        if length > len(data) - pos - _PROPERTY_HEADER.size:
            _bad(source, where, pos, f"property {prop_id} of {length} bytes, {len(data) - pos - 12} left")
        pos += _PROPERTY_HEADER.size
        properties[prop_id] = bytes(data[pos:pos + length])
        pos += length
    if _CERTIFICATE not in properties:
        _bad(source, where, len(data), "the certificate itself (property 32)")
    name = properties.get(_FRIENDLY_NAME, b"")
    friendly = name[:len(name) // 2 * 2].decode("utf-16-le", errors="replace").split("\0", 1)[0]
    return StoreElement(properties[_CERTIFICATE], friendly, _KEY_PROV_INFO in properties)


def _bad(source: str, where: str, pos: int, detail: str) -> None:
    raise CorruptInput(source, f"{where} at byte {pos}", "a serialized certificate store element", detail)
