"""The ``SerializationData`` of a remote Get-ExchangeCertificate object, as Get-ExchangeCertificate properties.

The Exchange Management Shell is a remote PowerShell session: each certificate reaches the shell
as ``RawData`` plus ``SerializationData``, the ExchangeCertificate as .NET's BinaryFormatter wrote
it (read by :mod:`exlab.nrbf`). Its members: ``CertData`` (the certificate as the Windows store
serializes it: its properties, then the DER), ``SelfSigned``, ``Status``, ``RootCAType`` and
``Services`` (enum numbers), ``IISServices``, ``PrivateKeyExportable`` and ``Identity``
(``SERVER.domain\\THUMBPRINT``). :func:`serialized_properties` gives them under the names
Format-List shows, so one table of conversions (:mod:`exlab.certs.exchange_props`) serves
every export shape.

>>> import struct
>>> der = bytes.fromhex("3003020101")
>>> element = struct.pack("<III", 11, 1, 8) + "EX\\0".encode("utf-16-le") + b"\\0\\0" + struct.pack("<III", 32, 1, 5) + der
>>> parse_store_element(element, "certs.xml")
StoreElement(der=b'0\\x03\\x02\\x01\\x01', friendly_name='EX', has_key=False)
"""

from __future__ import annotations

import struct
from typing import Any, NamedTuple

from exlab import nrbf
from exlab.errors import CorruptInput

#: the class a remote Get-ExchangeCertificate serializes
CLASS_NAME = "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"
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
