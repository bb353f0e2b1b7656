"""The ``SerializationData`` of a remote Get-ExchangeCertificate object, byte for byte as Exchange writes it.

Exchange 2013-2019 send an ExchangeCertificate to a remote shell as a .NET BinaryFormatter stream
([MS-NRBF]): a header, the library ``Microsoft.Exchange.Management``, the ExchangeCertificate
class record with its eight members (enums inline as ``value__`` records), then the objects its
members refer to in the order they were met (CertData's bytes, the ``List`1`` of IisService, its
array, each IisService), and MessageEnd. Object ids come from one counter; value types (the
enums) take it negated, and a class written once is repeated as ClassWithId.
:func:`exchange_certificate_stream` writes that stream; :mod:`exlab.nrbf` reads it back.

>>> blob = exchange_certificate_stream(cert_data=b"\\x30\\x00", self_signed=True, status=1, root_ca_type=0,
...     services=16, iis_services=(), private_key_exportable=True, identity="EX01\\\\" + "AB" * 20)
>>> from exlab.nrbf import decode
>>> root = decode(blob, "lab")
>>> root["Services"], root["CertData"], root["IISServices"]
(16, b'0\\x00', {'_items': [], '_size': 0, '_version': 1})
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

_TASKS = "Microsoft.Exchange.Management.SystemConfigurationTasks."
_MANAGEMENT = "Microsoft.Exchange.Management, Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"
_SYSTEM = "System, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089"
_LIST = f"System.Collections.Generic.List`1[[{_TASKS}IisService, {_MANAGEMENT}]]"
_MEMBERS = ("CertData", "SelfSigned", "Status", "RootCAType", "Services", "IISServices", "PrivateKeyExportable",
            "Identity")
# BinaryTypeEnum and PrimitiveTypeEnum codes used here
_PRIMITIVE, _STRING, _SYSTEM_CLASS, _CLASS, _PRIMITIVE_ARRAY = 0, 1, 3, 4, 7
_BOOLEAN, _BYTE, _INT32 = 1, 2, 8


class _Stream:
    """Record writer: one id counter for objects and libraries, class metadata written once."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x00" + struct.pack("<iiii", 1, -1, 1, 0))
        self.last_id = 0
        self.classes: dict[str, int] = {}

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def int32(self, value: int) -> None:
        self.out += struct.pack("<i", value)

    def text(self, value: str) -> None:
        """A LengthPrefixedString: 7-bit length, UTF-8."""
        data = value.encode("utf-8")
        length = len(data)
        while length >= 0x80:
            self.out.append(length & 0x7F | 0x80)
            length >>= 7
        self.out.append(length)
        self.out += data

    def library(self, name: str) -> int:
        library = self.new_id()
        self.out.append(12)
        self.int32(library)
        self.text(name)
        return library

    def class_record(self, object_id: int, name: str, members: Sequence[tuple[str, int, object]],
                     library: int | None) -> None:
        """ClassWithId when ``name`` was written before, else (System)ClassWithMembersAndTypes;
        ``members`` are (name, binary type, additional info: a primitive code, a class name, or
        a (class name, library id) pair)."""
        if name in self.classes:
            self.out.append(1)
            self.int32(object_id)
            self.int32(self.classes[name])
            return
        self.classes[name] = object_id
        self.out.append(4 if library is None else 5)
        self.int32(object_id)
        self.text(name)
        self.int32(len(members))
        for member, _, _ in members:
            self.text(member)
        self.out += bytes(code for _, code, _ in members)
        for _, code, extra in members:
            if code in (_PRIMITIVE, _PRIMITIVE_ARRAY):
                self.out.append(extra)
            elif code == _SYSTEM_CLASS:
                self.text(extra)
            elif code == _CLASS:
                self.text(extra[0])
                self.int32(extra[1])
        if library is not None:
            self.int32(library)

    def enum(self, name: str, value: int, library: int) -> None:
        """A boxed enum, inline: a value type, so its id is negative."""
        self.class_record(-self.new_id(), name, [("value__", _PRIMITIVE, _INT32)], library)
        self.int32(value)

    def reference(self, object_id: int) -> None:
        self.out.append(9)
        self.int32(object_id)

    def string(self, value: str) -> None:
        self.out.append(6)
        self.int32(self.new_id())
        self.text(value)


def exchange_certificate_stream(*, cert_data: bytes, self_signed: bool, status: int, root_ca_type: int,
                                services: int, iis_services: Sequence[str], private_key_exportable: bool,
                                identity: str, capacity: int | None = None, list_version: int = 1) -> bytes:
    """The SerializationData of one ExchangeCertificate. ``status``, ``root_ca_type`` and
    ``services`` are the enums' numbers; ``iis_services`` the IisService names
    (``IIS://EX01/W3SVC/1``; their URLs are unset, as Get-ExchangeCertificate leaves them), held in
    a ``List`1`` whose array has ``capacity`` slots (by default 0 when empty, else 4 or the next
    power of two) and whose ``_version`` is ``list_version``.

    >>> from exlab.nrbf import decode
    >>> blob = exchange_certificate_stream(cert_data=b"", self_signed=False, status=1, root_ca_type=2,
    ...     services=0, iis_services=("IIS://EX01/W3SVC/1",), private_key_exportable=False, identity="EX01")
    >>> iis = decode(blob, "lab")["IISServices"]
    >>> iis["_size"], [item and item["serviceName"] for item in iis["_items"]]
    (1, ['IIS://EX01/W3SVC/1', None, None, None])
    """
    if capacity is None:
        capacity = 0 if not iis_services else max(4, 1 << (len(iis_services) - 1).bit_length())
    if capacity < len(iis_services):
        raise ValueError(f"capacity {capacity} cannot hold {len(iis_services)} IIS services")
    stream = _Stream()
    root = stream.new_id()   # the root's id is taken before its library's
    management = stream.library(_MANAGEMENT)
    stream.class_record(root, _TASKS + "ExchangeCertificate", [
        ("CertData", _PRIMITIVE_ARRAY, _BYTE), ("SelfSigned", _PRIMITIVE, _BOOLEAN),
        ("Status", _CLASS, (_TASKS + "CertificateStatus", management)),
        ("RootCAType", _CLASS, (_TASKS + "CertificateAuthorityType", management)),
        ("Services", _CLASS, (_TASKS + "AllowedServices", management)),
        ("IISServices", _SYSTEM_CLASS, _LIST), ("PrivateKeyExportable", _PRIMITIVE, _BOOLEAN),
        ("Identity", _STRING, None)], management)
    cert_id = stream.new_id()
    stream.reference(cert_id)
    stream.out.append(int(self_signed))
    stream.enum(_TASKS + "CertificateStatus", status, management)
    stream.enum(_TASKS + "CertificateAuthorityType", root_ca_type, management)
    stream.enum(_TASKS + "AllowedServices", services, management)
    list_id = stream.new_id()
    stream.reference(list_id)
    stream.out.append(int(private_key_exportable))
    stream.string(identity)
    # the objects referred to, in the order they were met
    stream.out += struct.pack("<Bii", 15, cert_id, len(cert_data)) + bytes([_BYTE]) + cert_data
    stream.class_record(list_id, _LIST, [("_items", _CLASS, (_TASKS + "IisService[]", management)),
                                         ("_size", _PRIMITIVE, _INT32), ("_version", _PRIMITIVE, _INT32)], None)
    items_id = stream.new_id()
    stream.reference(items_id)
    stream.int32(len(iis_services))
    stream.int32(list_version)
    stream.out += struct.pack("<BiBiiB", 7, items_id, 0, 1, capacity, _CLASS)   # BinaryArray, single, rank 1
    stream.text(_TASKS + "IisService")
    stream.int32(management)
    service_ids = [stream.new_id() for _ in iis_services]
    for service_id in service_ids:
        stream.reference(service_id)
    nulls = capacity - len(iis_services)
    if nulls == 1:
        stream.out.append(10)
    elif nulls:
        stream.out += bytes([13, nulls]) if nulls < 256 else b"\x0e" + struct.pack("<i", nulls)
    system = None
    for service_id, name in zip(service_ids, iis_services):
        if system is None:
            system = stream.library(_SYSTEM)
        validation = (_TASKS + "UrlValidation", management)
        stream.class_record(service_id, _TASKS + "IisService", [
            ("serviceName", _STRING, None), ("internalUrl", _CLASS, ("System.Uri", system)),
            ("internalUrlValid", _CLASS, validation), ("externalUrl", _CLASS, ("System.Uri", system)),
            ("externalUrlValid", _CLASS, validation)], management)
        stream.string(name)
        stream.out.append(10)
        stream.enum(validation[0], 0, management)
        stream.out.append(10)
        stream.enum(validation[0], 0, management)
    stream.out.append(11)
    return bytes(stream.out)
