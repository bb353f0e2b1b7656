"""Connector and server settings: ``Get-SendConnector``, ``Get-ReceiveConnector`` and
``Get-ExchangeServer`` exports.

Four shapes are read, each as Windows PowerShell 5.1 writes it, whatever the encoding
(UTF-16 LE with BOM from ``>`` / ``Out-File`` / ``Export-Clixml``, UTF-8, ANSI):

* ``| fl`` (Format-List): ``Name : value`` lines, one blank-line-separated block per
  object, long values wrapped onto indented continuation lines, lists as ``{a, b}``,
  booleans as ``True``/``False``;
* ``| Export-Clixml``: serialized objects (a remote Exchange Management Shell writes
  enums and Exchange types as strings, a local one as nested objects);
* ``| ConvertTo-Json``: one object or an array; nested Exchange types as objects or strings;
* ``| Export-Csv``: a ``#TYPE`` line (unless ``-NoTypeInformation``), quoted columns (``,``, or
  ``;`` with ``-UseCulture``); lists are often written as their type name
  (``System.Collections.ArrayList``): those are NA, and the parse report names them.

Property names are never translated, so the readers work for every UI language.

Each object is recognised by its type: the ``<TN>`` names of Export-Clixml (or Export-Csv's ``#TYPE``)
(``...SystemConfiguration.ReceiveConnector``, ``...SmtpSendConnectorConfig``,
``...Management.ExchangeServer``, with or without ``Deserialized.`` or ``Selected.``), else, in
Format-List, JSON and CSV, by the properties only one kind has (Bindings, RemoteIPRanges,
PermissionGroups, AuthMechanism, TransportRole, MaxInboundConnection, TlsDomainCapabilities...:
receive; SmartHosts, AddressSpaces, SourceTransportServers: send; ServerRole,
AdminDisplayVersion: server), else by what names a receive connector (an Identity
``SERVER\\Name``, a DistinguishedName under ``CN=SMTP Receive Connectors``, a name Exchange setup
gives one, such as ``Default Frontend EX01``); a file of selected properties with none of
these, a Name and TlsCertificateName, RequireTLS or TlsDomain is taken for send connectors
(see :func:`detect_connectors`). A reader takes only its own kind (and objects nothing tells
the kind of), and says so when a file holds only another kind.

Format-List (and Format-Table) show only the first ``$FormatEnumerationLimit`` items of a list
(4; 16 in the Exchange Management Shell) and end it with ``...`` (``…`` in PowerShell 7): such a
list is cut, and the connectors frame says so where it matters (``source_transport_servers_cut``).

>>> from exlab.lab.transport_logs import demo_connectors_fl
>>> connectors = read_connectors(demo_connectors_fl())
>>> connectors[["name", "require_tls", "smart_hosts"]].values.tolist()
[['Outbound to Office 365', True, ('contoso-com.mail.protection.outlook.com',)]]
>>> connectors.loc[0, "tls_certificate_name"]
'<I>CN=Lab Public Issuing CA G2, O=exlab Lab Trust Services, C=US<S>CN=mail.contoso.com'
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from exlab.certs.exchange_csv import delimiter_of
from exlab.certs.text_decoding import decode_text
from exlab.clixml import PS_NS, ClixmlObject, iter_items, shown
from exlab.errors import CorruptInput, UnsupportedFormat
from exlab.evidence import Evidence, Sources, iter_evidence
from exlab.format_list import objects, property_line
from exlab.json_export import parse_json
from exlab.limits import read_whole
from exlab.parse_report import FileReport, ParseReport
from exlab.transcript import own_output
from exlab.transport.schema import CONNECTOR_DTYPES, RECEIVE_CONNECTOR_DTYPES, SERVER_DTYPES, make_frame

#: connectors-frame column -> Get-SendConnector property
CONNECTOR_PROPERTIES: dict[str, str] = {
    "name": "Name", "fqdn": "Fqdn", "tls_certificate_name": "TlsCertificateName", "require_tls": "RequireTLS",
    "tls_auth_level": "TlsAuthLevel", "tls_domain": "TlsDomain", "smart_hosts": "SmartHosts",
    "address_spaces": "AddressSpaces", "cloud_services_mail_enabled": "CloudServicesMailEnabled",
    "protocol_logging_level": "ProtocolLoggingLevel", "source_transport_servers": "SourceTransportServers",
    "enabled": "Enabled", "identity": "Identity", "guid": "Guid", "frontend_proxy_enabled": "FrontendProxyEnabled",
}
#: servers-frame column -> Get-ExchangeServer property
SERVER_PROPERTIES: dict[str, str] = {"name": "Name", "fqdn": "Fqdn"}
#: ServerRole's flags of the roles exlab tells apart (ConvertTo-Json writes the flags as a number)
_ROLE_FLAGS = ((2, "mailbox"), (4, "clientaccess"), (32, "hubtransport"), (64, "edge"))
#: receive-connectors-frame column -> Get-ReceiveConnector property
RECEIVE_CONNECTOR_PROPERTIES: dict[str, str] = {
    "name": "Name", "identity": "Identity", "server": "Server", "enabled": "Enabled", "fqdn": "Fqdn",
    "bindings": "Bindings", "remote_ip_ranges": "RemoteIPRanges", "auth_mechanism": "AuthMechanism",
    "permission_groups": "PermissionGroups", "require_tls": "RequireTLS", "tls_certificate_name": "TlsCertificateName",
    "tls_domain_capabilities": "TlsDomainCapabilities", "transport_role": "TransportRole",
    "protocol_logging_level": "ProtocolLoggingLevel",
}

_LIST_COLUMNS = {"smart_hosts", "address_spaces", "source_transport_servers", "bindings", "remote_ip_ranges",
                 "tls_domain_capabilities"}
_BOOL_COLUMNS = {"require_tls", "cloud_services_mail_enabled", "enabled", "frontend_proxy_enabled"}
# flag enums (ConvertTo-Json writes their numbers, Format-List and CliXml their names): column -> bit names
_FLAG_COLUMNS = {
    "auth_mechanism": ((1, "Tls"), (2, "Integrated"), (4, "BasicAuth"), (8, "BasicAuthRequireTLS"),
                       (16, "ExchangeServer"), (32, "ExternalAuthoritative")),
    "permission_groups": ((1, "AnonymousUsers"), (2, "ExchangeUsers"), (4, "ExchangeServers"),
                          (8, "ExchangeLegacyServers"), (16, "Partners"), (32, "Custom")),
}
_ENUM_NAMES = {
    "protocol_logging_level": {0: "None", 1: "Verbose"},
    "transport_role": {2: "Mailbox", 4: "ClientAccess", 16: "UnifiedMessaging", 32: "HubTransport", 64: "Edge",
                       16384: "FrontendTransport"},
}
SEND_CONNECTOR, RECEIVE_CONNECTOR, EXCHANGE_SERVER = "send-connector", "receive-connector", "exchange-server"
# what each kind is called, for messages: the cmdlet that writes it and its reader
_KIND_WORDS = {SEND_CONNECTOR: ("send connector", "Get-SendConnector", "read_connectors"),
               RECEIVE_CONNECTOR: ("receive connector", "Get-ReceiveConnector", "read_receive_connectors"),
               EXCHANGE_SERVER: ("Exchange server", "Get-ExchangeServer", "read_servers")}
# the last part of each kind's .NET type name (Export-Clixml's <TN>, "Deserialized." or not)
_TYPE_KINDS = {"ReceiveConnector": RECEIVE_CONNECTOR, "SmtpSendConnectorConfig": SEND_CONNECTOR,
               "ExchangeServer": EXCHANGE_SERVER}
# properties only one kind has: how Format-List and JSON content is recognised (checked in this order)
_RECEIVE_MARKERS = ("Bindings", "RemoteIPRanges", "PermissionGroups", "AuthMechanism", "TransportRole",
                    "MaxInboundConnection", "MaxInboundConnectionPerSource", "MaxInboundConnectionPercentagePerSource",
                    "TlsDomainCapabilities", "AdvertiseClientSettings", "ServiceDiscoveryFqdn", "RequireEHLODomain",
                    "MessageRateSource", "MaxLogonFailures", "MaxProtocolErrors", "EnableAuthGSSAPI")
_CONNECTOR_MARKERS = ("AddressSpaces", "SmartHosts", "SmartHostsString", "CloudServicesMailEnabled",
                      "SourceTransportServers", "DNSRoutingEnabled", "IsScopedConnector", "TlsAuthLevel")
_SERVER_MARKERS = ("AdminDisplayVersion", "ServerRole", "IsHubTransportServer", "IsMailboxServer", "IsEdgeServer")
_MARKERS = ((RECEIVE_CONNECTOR, _RECEIVE_MARKERS), (SEND_CONNECTOR, _CONNECTOR_MARKERS),
            (EXCHANGE_SERVER, _SERVER_MARKERS))
# properties of send connectors that servers and certificates lack (receive connectors have the first two):
# with a Name and nothing above or in _RECEIVE_NAME, a file of them is a list of selected properties, such as
# ``Get-SendConnector | fl Name,Fqdn,TlsCertificateName,RequireTLS``
_SELECTED_CONNECTOR = ("TlsCertificateName", "RequireTLS", "TlsDomain")
# the receive connectors Exchange setup creates, "<name> <SERVER>" (2013 and later, and Edge's): no send connector's
_RECEIVE_NAME = re.compile(r"^(?:Default Frontend|Client Frontend|Outbound Proxy Frontend|Client Proxy"
                           r"|Default internal receive connector) [\w-]{1,15}$", re.IGNORECASE)
_RECEIVE_DN = ",CN=SMTP Receive Connectors,"     # where receive connectors sit in Active Directory
_TYPE_NAME = re.compile(r"<T>(?:[\w.]*\.)?(ReceiveConnector|SmtpSendConnectorConfig|ExchangeServer)</T>")
_CSV_TYPE = re.compile(r"^#TYPE\s+(?:[\w.]*\.)?(ReceiveConnector|SmtpSendConnectorConfig|ExchangeServer)\s*$", re.M)
_CSV_HEADER = re.compile(r'^(?:#TYPE [^\r\n]*\r?\n)?"[^"\r\n]*"[,;]')
# what Export-Csv writes for a list (ToString of the collection: its type, not its items)
_LIST_TYPE = re.compile(r"^(?:Deserialized\.)?(?:System\.Collections\.[\w.`]+|Microsoft\.Exchange\.Data\."
                        r"MultiValuedProperty`\d+|System\.\w+\[\])(?:\[.*\])?$")
UNREAD = object()     # a value an export holds only as its type name (Export-Csv's of a list): NA in the frame
_CLIXML = "a well-formed Export-Clixml document"
# the end of a list Format-List or Format-Table cut after $FormatEnumerationLimit items ("…" in PowerShell 7)
_CUT_LIST_END = re.compile(r"(?:\.\.\.|\u2026)\}$")

Bag = dict[str, Any]


# -- content sniffing ---------------------------------------------------------------------

def head_text(head: bytes) -> str:
    """A file's first bytes as text (UTF-16 or UTF-8, a character cut at the end dropped); empty when they are none.

    >>> head_text("Name : x".encode("utf-16"))
    'Name : x'
    """
    try:
        return decode_text(head[: len(head) - (len(head) % 2)] if head[:2] in (b"\xff\xfe", b"\xfe\xff")
                           else head)[0]
    except UnicodeDecodeError:
        return ""


def export_shape(text: str) -> str | None:
    """The shape of a PowerShell export (the start of one): ``clixml``, ``json``, ``csv`` or ``fl``; None for none.

    >>> export_shape('#TYPE Deserialized.X\\r\\n"Name","Fqdn"'), export_shape("Name : x"), export_shape("hello")
    ('csv', 'fl', None)
    """
    stripped = text.lstrip()
    if stripped.startswith("<") and PS_NS in stripped[:400]:
        return "clixml"
    if stripped.startswith(("{", "[")):
        return "json"
    if _CSV_HEADER.match(stripped):
        return "csv"
    if any(property_line(line) for line in stripped.splitlines()[:5]):
        return "fl"
    return None


def has_property(text: str, shape: str, markers: tuple[str, ...]) -> bool:
    """Whether an export of ``shape`` shows one of the properties ``markers``.

    >>> has_property('"Timestamp","EventId"', "csv", ("EventId",)), has_property("EventId : DEFER", "fl", ("Id",))
    (True, False)
    """
    if shape == "fl":
        return any(re.search(rf"^{m}\s*:", text, re.MULTILINE) for m in markers)
    if shape in ("json", "csv"):
        return any(f'"{m}"' in text for m in markers)
    return any(f'N="{m}"' in text for m in markers)


def _head_kind(head: bytes) -> str | None:
    """The kind of settings export a file's first bytes are (:func:`_text_kind`)."""
    return _text_kind(head_text(head))


def _text_kind(text: str) -> str | None:
    """The kind of settings export ``text`` (the start of one) is: by the first type name, else by marker,
    else by the objects it shows (:func:`settings_kind`), else a list of selected send connector properties."""
    shape = export_shape(text)
    if shape is None:
        return None
    if shape in ("clixml", "csv"):
        found = (_TYPE_NAME if shape == "clixml" else _CSV_TYPE).search(text)
        if found is not None:
            return _TYPE_KINDS[found.group(1)]
    kind = next((kind for kind, markers in _MARKERS if has_property(text, shape, markers)), None)
    if kind is None and any(settings_kind(bag) == RECEIVE_CONNECTOR for bag in _head_objects(text, shape)):
        return RECEIVE_CONNECTOR
    if kind is None and has_property(text, shape, ("Name",)) and has_property(text, shape, _SELECTED_CONNECTOR):
        return SEND_CONNECTOR
    return kind


def _head_objects(text: str, shape: str) -> list[Bag]:
    """The objects the start of a file shows: its Format-List blocks, its Export-Csv rows, or the
    ConvertTo-Json document when it fits whole; the last of them may be cut short.

    >>> _head_objects('"Name","Identity"\\r\\n"Default EX01","EX01\\\\Default EX01"\\r\\n"Cli', "csv")[0]["Identity"]
    'EX01\\\\Default EX01'
    >>> _head_objects('[{"Name": "Default EX01"}, {"Na', "json")
    []
    """
    if shape == "fl":
        return parse_format_list(text)
    if shape == "csv":
        body = text.lstrip()
        if body.startswith("#TYPE"):
            body = body.partition("\n")[2]
        try:
            return list(csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter_of(body)))
        except csv.Error:
            return []
    if shape == "json":
        try:
            loaded = parse_json(text, "", "ConvertTo-Json output")
        except CorruptInput:
            return []
        return [item for item in (loaded if isinstance(loaded, list) else [loaded]) if isinstance(item, dict)]
    return []


def detect_connectors(head: bytes) -> bool:
    """Whether a file's first bytes are a Get-SendConnector export (fl, CliXml, JSON or CSV).

    Selected properties do too when they hold a Name and one of TlsCertificateName, RequireTLS,
    TlsDomain (as ``fl Name,Fqdn,TlsCertificateName,RequireTLS`` does) and nothing of a server or
    a receive connector: no property only those have (Bindings, AuthMechanism, TransportRole,
    TlsDomainCapabilities, MaxInboundConnection...), no Identity ``SERVER\\Name``, no name Exchange
    setup gives a receive connector (``Get-ReceiveConnector | fl Name,Fqdn,TlsCertificateName,RequireTLS``
    is not taken for send connectors).

    >>> detect_connectors("AddressSpaces : {smtp:*.mail.onmicrosoft.com;1}\\r\\n".encode("utf-16"))
    True
    >>> detect_connectors("Name       : Outbound to Office 365\\r\\nRequireTLS : True\\r\\n".encode("utf-16"))
    True
    >>> detect_connectors("Name       : Default Frontend EX01\\r\\nRequireTLS : False\\r\\n".encode("utf-16"))
    False
    >>> detect_connectors(b"Name : Relay\\r\\nIdentity : EX01\\\\Relay\\r\\nTlsCertificateName : \\r\\n")
    False
    >>> detect_connectors(b"Name : EX01\\r\\nFqdn : EX01.contoso.com\\r\\n")
    False
    >>> detect_connectors(b"Thumbprint : 3F2A\\r\\nServices : IMAP, POP, IIS, SMTP\\r\\n")
    False
    """
    return _head_kind(head) == SEND_CONNECTOR


def detect_receive_connectors(head: bytes) -> bool:
    """Whether a file's first bytes are a Get-ReceiveConnector export (fl, CliXml or JSON).

    >>> detect_receive_connectors(b"Name     : Default EX01\\r\\nBindings : {0.0.0.0:25, [::]:25}\\r\\n")
    True
    >>> detect_receive_connectors(b"Name       : Internet\\r\\nSmartHosts : {}\\r\\n")
    False
    """
    return _head_kind(head) == RECEIVE_CONNECTOR


def detect_servers(head: bytes) -> bool:
    """Whether a file's first bytes are a Get-ExchangeServer export (fl, CliXml or JSON).

    >>> detect_servers(b'{"Name": "EX01", "Fqdn": "EX01.contoso.com", "ServerRole": 38}')
    True
    """
    return _head_kind(head) == EXCHANGE_SERVER


def settings_kind(bag: Bag, types: tuple[str, ...] = ()) -> str | None:
    """Which settings object this is (``send-connector``, ``receive-connector``,
    ``exchange-server``) by its type names, else by the properties only one kind has, else
    by what names a receive connector (:func:`names_a_receive_connector`); None when nothing tells.

    >>> receive = "Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector"
    >>> settings_kind({"Name": "x"}, (receive, "Deserialized.System.Object"))
    'receive-connector'
    >>> settings_kind({"Name": "Internet", "SmartHosts": []}), settings_kind({"Name": "x"}) is None
    ('send-connector', True)
    >>> settings_kind({"Name": "Client Proxy EX01", "RequireTLS": "False"})
    'receive-connector'
    """
    for name in types:
        kind = _TYPE_KINDS.get(name.removeprefix("Deserialized.").rsplit(".", 1)[-1])
        if kind is not None:
            return kind
    kind = next((kind for kind, markers in _MARKERS if any(m in bag for m in markers)), None)
    if kind is None and names_a_receive_connector(bag):
        return RECEIVE_CONNECTOR
    return kind


def names_a_receive_connector(bag: Bag) -> bool:
    """Whether an object's names are a receive connector's: an Identity ``SERVER\\Name`` (a send
    connector's Identity is its Name), a DistinguishedName under ``CN=SMTP Receive Connectors``
    (ConvertTo-Json writes the Identity as an object holding it), or a name Exchange setup gives
    a receive connector (``Default Frontend EX01``, ``Client Proxy EX01``...). What tells a list of
    selected properties (``fl Name,Fqdn,TlsCertificateName,RequireTLS``) of receive connectors.

    >>> names_a_receive_connector({"Name": "Relay", "Identity": "EX01\\\\Relay"})
    True
    >>> names_a_receive_connector({"Name": "Outbound to Office 365", "Identity": "Outbound to Office 365"})
    False
    >>> names_a_receive_connector({"Name": "Relay", "Identity": {"Name": "Relay", "DistinguishedName":
    ...     "CN=Relay,CN=SMTP Receive Connectors,CN=Protocols,CN=EX01,CN=Servers,DC=contoso,DC=com"}})
    True
    """
    name, identity = bag.get("Name"), bag.get("Identity")
    where = identity.get("DistinguishedName") if isinstance(identity, dict) else bag.get("DistinguishedName")
    if isinstance(where, str) and _RECEIVE_DN.casefold() in where.casefold():
        return True
    if not isinstance(name, str):
        return False
    if isinstance(identity, str):
        server, _, own = identity.rpartition("\\")
        if server.strip() and own.strip().casefold() == name.strip().casefold():
            return True
    return _RECEIVE_NAME.match(name.strip()) is not None


# -- Format-List ----------------------------------------------------------------------------

def parse_format_list(text: str, bad_lines: list[int] | None = None) -> list[Bag]:
    """The objects of ``| fl`` output: one dict of property -> text per blank-line-separated block,
    a value wrapped over several lines joined as it was before the console cut it
    (:func:`exlab.format_list.objects`). The numbers of lines that are neither values nor continuations
    go to ``bad_lines``.

    >>> text = "Name      : A\\r\\nTlsDomain : mail.protection.outl\\r\\n            ook.com\\r\\n\\r\\nName : B\\r\\n"
    >>> parse_format_list(text)
    [{'Name': 'A', 'TlsDomain': 'mail.protection.outlook.com'}, {'Name': 'B'}]
    """
    stray: list[int] = []
    found = objects(enumerate(text.splitlines(), 1), stray, breaks=False)
    if bad_lines is not None:
        bad_lines.extend(stray)
    return [{name: value.strip() for name, value in bag.items()} for bag in found]


def fl_list(value: str) -> tuple[str, ...]:
    """A Format-List list value ``{a, b}`` as a tuple (``{}`` is empty; a plain value is one item);
    of a cut list (:func:`is_cut_list`), the items it shows.

    >>> fl_list("{smtp:*.mail.onmicrosoft.com;1}"), fl_list("{EX01, EX02}"), fl_list("{}")
    (('smtp:*.mail.onmicrosoft.com;1',), ('EX01', 'EX02'), ())
    >>> fl_list("{EX01, EX02, EX03, EX04...}")[-1], fl_list("{EX01, EX02, EX03, EX04\u2026}")[-1]
    ('EX04', 'EX04')
    """
    value = value.strip()
    if value.startswith("{") and value.endswith("}"):
        value = _CUT_LIST_END.sub("}", value)[1:-1]
    return tuple(part.strip() for part in value.split(",") if part.strip())


def is_cut_list(value: Any) -> bool:
    """Whether a value is a list that Format-List (or Format-Table) cut after its first items: PowerShell
    shows ``$FormatEnumerationLimit`` of them (4; 16 in the Exchange Management Shell), then ``...``
    (``…`` in PowerShell 7). Lists of Export-Clixml, ConvertTo-Json and Export-Csv are never cut.

    >>> is_cut_list("{EX01, EX02, EX03, EX04...}"), is_cut_list("{EX01, EX02}"), is_cut_list(["EX01"])
    (True, False, False)
    """
    return isinstance(value, str) and _CUT_LIST_END.search(value.strip()) is not None


# -- reading ------------------------------------------------------------------------------

def _objects(evidence: Evidence, report: FileReport, kind: str) -> list[tuple[Bag, tuple[str, ...]]]:
    """The file's objects of settings of ``kind`` (:func:`export_objects`)."""
    return export_objects(evidence, report, lambda output: _text_kind(output) == kind, f"{_KIND_WORDS[kind][0]}s",
                          "a settings export", "Get-SendConnector / Get-ReceiveConnector / Get-ExchangeServer output")


def export_objects(evidence: Evidence, report: FileReport, takes: Callable[[str], bool], what: str, export: str,
                   expected: str) -> list[tuple[Bag, tuple[str, ...]]]:
    """The objects of a PowerShell export (Format-List, Export-Csv, Export-Clixml or ConvertTo-Json), each with
    its type names (Export-Clixml's ``<TN>``; none in other shapes); of a PowerShell transcript, those of the
    commands whose output ``takes`` (read as ``what``: :mod:`exlab.transcript`). ``export`` names the file past
    the size cap; an empty one is corrupt, said to be ``expected``."""
    data = read_whole(evidence.stream, evidence.name, export)
    if not data.strip(b"\x00 \r\n\t\xef\xbb\xbf\xff\xfe"):
        raise CorruptInput(evidence.name, "the file is empty", expected)
    try:
        text, encoding = decode_text(data, evidence.name)
    except UnicodeDecodeError as err:
        raise CorruptInput(evidence.name, f"byte {err.start}", "UTF-16 or UTF-8 text", str(err.reason)) from None
    report.engine = encoding
    text = own_output(text, takes, report, what)
    shape = export_shape(text)
    if shape == "clixml":
        return _clixml_objects(text, evidence.name, report)
    if shape == "json":
        loaded = parse_json(text, evidence.name, "ConvertTo-Json output")
        items = loaded if isinstance(loaded, list) else [loaded]
        bags = []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                bags.append((item, ()))
            else:
                report.skip_record(f"item {index}", "expected a JSON object")
        return bags
    if shape == "csv":
        return _csv_objects(text, evidence.name, report)
    if shape == "fl":
        bad: list[int] = []
        bags = parse_format_list(text, bad)
        for number in bad:
            report.skip_record(f"line {number}", "expected a 'Name : value' line or an indented continuation")
        for index, bag in enumerate(bags, 1):
            for name, value in bag.items():
                if is_cut_list(value):
                    report.note(f"object {index}: Format-List cut {name} after its first items "
                                "($FormatEnumerationLimit); Export-Clixml keeps the whole list")
        return [(bag, ()) for bag in bags]
    raise UnsupportedFormat(evidence.name, "the first lines",
                            "Format-List, Export-Csv, Export-Clixml or ConvertTo-Json output")


def _csv_objects(text: str, source: str, report: FileReport) -> list[tuple[Bag, tuple[str, ...]]]:
    """The rows of ``Export-Csv`` output (``#TYPE`` line or not, ``,`` or ``-UseCulture``'s ``;``), each with
    the ``#TYPE`` name. A row of the wrong width is skipped and counted; a value that is a list's type name
    (``System.Collections.ArrayList`` from a remote shell) is ``UNREAD``, and noted once per property.

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("sc.csv", sha256="", format="send-connector")
    >>> text = ('#TYPE Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig\\r\\n'
    ...         '"Name","SmartHosts"\\r\\n"Internet","System.Collections.ArrayList"\\r\\n"Bad"\\r\\n')
    >>> [(bag["Name"], bag["SmartHosts"] is UNREAD) for bag, _ in _csv_objects(text, "sc.csv", report)]
    [('Internet', True)]
    >>> report.records_skipped, report.warnings[0][:52]
    (1, 'Export-Csv wrote SmartHosts as a type name (System.C')
    """
    body, types, first = text.lstrip(), (), 1
    if body.startswith("#TYPE"):
        type_line, _, body = body.partition("\n")
        types, first = (type_line.removeprefix("#TYPE").strip(),), 2
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter_of(body))
    try:
        header = next(reader, None)
    except csv.Error as err:      # a header past the csv module's field limit: no row can be read by it
        raise CorruptInput(source, f"line {first}", "a header line of quoted property names", str(err)) from None
    if not header:
        raise CorruptInput(source, f"line {first}", "a header line of quoted property names")
    bags: list[tuple[Bag, tuple[str, ...]]] = []
    unread: dict[str, str] = {}
    for line, row in _csv_rows(reader, report, first - 1):
        if len(row) != len(header):
            report.skip_record(f"line {line}", f"{len(row)} fields, expected {len(header)} (the header line {first})")
            continue
        bag = dict(zip(header, row))
        for name, value in bag.items():
            if _LIST_TYPE.match(value):
                bag[name] = UNREAD
                unread.setdefault(name, value)
        bags.append((bag, types))
    if unread:
        report.note(f"Export-Csv wrote {', '.join(unread)} as a type name ({next(iter(unread.values()))}), "
                    "not the values: read as NA; Export-Clixml or Format-List keeps them")
    return bags


def _csv_rows(reader: Any, report: FileReport, offset: int) -> Iterator[tuple[int, list[str]]]:
    """(line of the file, row) of the reader's non-blank rows, its lines numbered from ``offset`` + 1; a row
    the csv module refuses (a field past its limit) is skipped and counted."""
    done = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            report.skip_record(f"line {offset + done + 1}", f"not a CSV row ({err})")
        else:
            if row:
                yield offset + done + 1, row
        done = reader.line_num


def _clixml_objects(text: str, source: str, report: FileReport) -> list[tuple[Bag, tuple[str, ...]]]:
    """The top-level objects of an Export-Clixml document, their properties as Format-List shows
    them (a nested object as its ``<ToString>``: an Fqdn, an enum name, ``<I>issuer<S>subject``),
    each with its type names. A property that cannot be read makes the file corrupt; an item
    that is no object is skipped.

    >>> from exlab.parse_report import ParseReport
    >>> doc = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
    ...        '<Props><S N="Name">EX01</S><B N="IsHubTransportServer">true</B><Nil N="Site" /></Props></Obj></Objs>')
    >>> _clixml_objects(doc, "servers.xml", ParseReport().add_file("servers.xml", sha256="", format="exchange-server"))
    [({'Name': 'EX01', 'IsHubTransportServer': True, 'Site': None}, ())]
    """
    bags: list[tuple[Bag, tuple[str, ...]]] = []
    for item in iter_items(text, source):
        where = f"object {item.position}"
        if item.error is not None:
            raise CorruptInput(source, where, _CLIXML, item.error)
        if not isinstance(item.value, ClixmlObject):
            report.skip_record(where, f"expected <Obj>, found <{item.tag}>")
            continue
        if item.value.errors:
            name, reason = next(iter(item.value.errors.items()))
            raise CorruptInput(source, f"{where}, property {name}", _CLIXML, reason)
        try:
            bags.append(({name: shown(value) for name, value in item.value.items()}, item.value.types))
        except ValueError as err:
            raise CorruptInput(source, where, _CLIXML, str(err)) from None
    return bags


def display(value: Any) -> Any:
    """A property value as Format-List would show it: nested Exchange objects become their text.

    >>> display({"CertificateIssuer": "CN=CA", "CertificateSubject": "CN=mail.contoso.com"})
    '<I>CN=CA<S>CN=mail.contoso.com'
    >>> display({"Type": "smtp", "Address": "*.mail.onmicrosoft.com", "Cost": 1})
    'smtp:*.mail.onmicrosoft.com;1'
    >>> display([{"Domain": {"HostnameString": "contoso-com.mail.protection.outlook.com"}, "Address": None}])
    ['contoso-com.mail.protection.outlook.com']
    """
    if isinstance(value, list):
        return [display(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "CertificateIssuer" in value or "CertificateSubject" in value:
        return f"<I>{value.get('CertificateIssuer') or ''}<S>{value.get('CertificateSubject') or ''}"
    if {"Type", "Address", "Cost"} <= set(value):
        return f"{value['Type']}:{value['Address']};{value['Cost']}"
    for key in ("Domain", "HostnameString", "Address", "Name", "ToString"):
        if value.get(key) not in (None, ""):
            return display(value[key])
    try:     # an object no rule names: its members, whatever their types
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def flag_names(value: Any, bits: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    """A flags enum as the tuple of its names, from its number (ConvertTo-Json) or its text
    (``Tls, Integrated``, Format-List's ``{Tls, Integrated}``, a CliXml ``<ToString>``).

    >>> bits = ((1, "Tls"), (2, "Integrated"), (4, "BasicAuth"))
    >>> flag_names(5, bits), flag_names("Tls, Integrated", bits), flag_names("None", bits)
    (('Tls', 'BasicAuth'), ('Tls', 'Integrated'), ())
    """
    if isinstance(value, int) and not isinstance(value, bool):
        names = tuple(name for bit, name in bits if value & bit)
        rest = value & ~sum(bit for bit, _ in bits)
        return names + ((str(rest),) if rest else ())
    if value is None:
        return ()
    items = value if isinstance(value, list) else fl_list(str(value))
    return tuple(str(item).strip() for item in items if str(item).strip() and str(item).strip() != "None")


def _cell(column: str, value: Any) -> Any:
    if value is UNREAD:
        return None
    value = display(value)
    if column in _FLAG_COLUMNS:
        return flag_names(value, _FLAG_COLUMNS[column])
    if column in _LIST_COLUMNS:
        if value is None:
            return ()
        if isinstance(value, list):
            return tuple(str(item) for item in value if item not in (None, ""))
        return fl_list(str(value))
    if column in _BOOL_COLUMNS:
        return _boolean(value)
    if column in _ENUM_NAMES and isinstance(value, int) and not isinstance(value, bool):
        return _ENUM_NAMES[column].get(value, str(value))
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _boolean(value: Any) -> bool | None:
    """A boolean property as every export writes one (``True``, ``"False"``...); None for anything else.

    >>> _boolean(True), _boolean(" false "), _boolean("yes"), _boolean(None)
    (True, False, None, None)
    """
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def _read(source: Sources, properties: dict[str, str], dtypes: dict[str, str], format_name: str,
          derived: dict[str, Callable[[Bag], Any]] | None = None) -> pd.DataFrame:
    """Objects of kind ``format_name`` (and those nothing tells the kind of, :func:`_object_kinds`) into a
    frame; objects of another kind are left out, noted, and a file holding only such objects is warned
    about. ``derived``: columns worked out from an object's properties, by column name."""
    report = ParseReport()
    derived = derived or {}
    columns: dict[str, list] = {name: [] for name in (*properties, *derived, "source")}
    for evidence in iter_evidence(source, report):
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=format_name,
                                      size=evidence.size)
        others: dict[str, int] = {}
        objects = _objects(evidence, file_report, format_name)
        for index, ((bag, _), kind) in enumerate(zip(objects, _object_kinds(objects)), 1):
            if kind not in (None, format_name):
                others[kind] = others.get(kind, 0) + 1
                file_report.note(f"object {index} is a {_KIND_WORDS[kind][0]}, not a {_KIND_WORDS[format_name][0]}, "
                                 "and was left out")
                continue
            if "Name" not in bag:
                file_report.skip_record(f"object {index}", "expected a Name property")
                continue
            for column, prop in properties.items():
                columns[column].append(_cell(column, bag.get(prop)))
            for column, value_of in derived.items():
                columns[column].append(value_of(bag))
            columns["source"].append(evidence.name)
            file_report.records_read += 1
        if others and not file_report.records_read:
            _warn_other_kinds(file_report, format_name, others)
        file_report.warn_losses()
    return make_frame(columns, dtypes, report)


def _object_kinds(objects: list[tuple[Bag, tuple[str, ...]]]) -> list[str | None]:
    """The kind of each object of one file (:func:`settings_kind`); one that tells none is of the kind
    the others tell, when they tell only one: a file is one cmdlet's output, so a custom connector in
    ``Get-ReceiveConnector | fl Name,Fqdn,TlsCertificateName,RequireTLS`` is a receive connector too.

    >>> _object_kinds([({"Name": "Default Frontend EX01"}, ()), ({"Name": "Relay"}, ())])
    ['receive-connector', 'receive-connector']
    >>> _object_kinds([({"Name": "Relay"}, ())])
    [None]
    """
    kinds = [settings_kind(bag, types) for bag, types in objects]
    told = set(kinds) - {None}
    only = told.pop() if len(told) == 1 else None
    return [kind or only for kind in kinds]


def _warn_other_kinds(report: FileReport, format_name: str, others: dict[str, int]) -> None:
    held = ", ".join(f"{count} {_KIND_WORDS[kind][0]}(s) ({_KIND_WORDS[kind][1]}; read with "
                     f"{_KIND_WORDS[kind][2]})" for kind, count in others.items())
    report.warn(f"holds no {_KIND_WORDS[format_name][0]} ({_KIND_WORDS[format_name][1]}), only {held}")


def _source_servers_cut(bag: Bag) -> bool | None:
    """Whether an object's SourceTransportServers is a cut list (:func:`is_cut_list`); None where the
    export holds no list (Export-Csv's type name)."""
    listed = bag.get("SourceTransportServers")
    return None if listed is UNREAD else is_cut_list(listed)


def read_connectors(source: Sources) -> pd.DataFrame:
    """Read Get-SendConnector exports (fl, Export-Clixml, ConvertTo-Json, Export-Csv) into the connectors frame.

    Lists (smart_hosts, address_spaces, source_transport_servers) are tuples (NA where an
    Export-Csv wrote only the list's type name); an empty TlsCertificateName or Fqdn is NA.
    ``source_transport_servers_cut`` (boolean) is True where
    Format-List showed only the first source servers (``{EX01, EX02, EX03, EX04...}``): the tuple
    holds those, and a server it does not name may still send through the connector.
    ``frontend_proxy_enabled`` is the connector's FrontendProxyEnabled: True when the Front End Transport
    service, not the Transport service, connects to the next hop (and presents its certificate there).

    >>> import io
    >>> text = "\\r\\n\\r\\nName       : Internet\\r\\nSmartHosts : {}\\r\\nRequireTLS : False\\r\\n\\r\\n".encode("utf-16")
    >>> read_connectors(io.BytesIO(text))[["name", "smart_hosts", "require_tls"]].values.tolist()
    [['Internet', (), False]]
    >>> text = "Name                   : Internet\\r\\nSourceTransportServers : {EX01, EX02, EX03, EX04...}\\r\\n"
    >>> row = read_connectors(io.BytesIO(text.encode("utf-16"))).iloc[0]
    >>> row["source_transport_servers"], bool(row["source_transport_servers_cut"])
    (('EX01', 'EX02', 'EX03', 'EX04'), True)
    """
    return _read(source, CONNECTOR_PROPERTIES, CONNECTOR_DTYPES, SEND_CONNECTOR,
                 {"source_transport_servers_cut": _source_servers_cut})


def server_roles(bag: Bag) -> frozenset[str] | None:
    """The roles a Get-ExchangeServer object's ServerRole names, in lower case (its text, ``Mailbox, ClientAccess``,
    or the number of its flags from ConvertTo-Json); None when it shows none.

    >>> sorted(server_roles({"ServerRole": "Mailbox, ClientAccess"})), sorted(server_roles({"ServerRole": 16389}))
    (['clientaccess', 'mailbox'], ['clientaccess'])
    >>> server_roles({"Name": "EX01"})
    """
    role = display(bag.get("ServerRole"))
    if isinstance(role, str) and role.strip().isdigit():
        role = int(role)
    if isinstance(role, int) and not isinstance(role, bool):
        return frozenset(name for flag, name in _ROLE_FLAGS if role & flag)
    if isinstance(role, str) and role.strip():
        return frozenset(part.strip().lower() for part in fl_list(role))
    return None


def is_edge_server(bag: Bag) -> bool | None:
    """Whether a Get-ExchangeServer object is an Edge Transport server: its IsEdgeServer, else its
    ServerRole (``Edge``; a number with the Edge flag, 64, from ConvertTo-Json); None when neither says.

    >>> is_edge_server({"IsEdgeServer": "True"}), is_edge_server({"ServerRole": "Mailbox, ClientAccess"})
    (True, False)
    >>> is_edge_server({"ServerRole": 64}), is_edge_server({"ServerRole": 38}), is_edge_server({"Name": "EX01"})
    (True, False, None)
    """
    told = _boolean(display(bag.get("IsEdgeServer")))
    if told is not None:
        return told
    roles = server_roles(bag)
    return None if roles is None else "edge" in roles


def runs_transport_service(bag: Bag) -> bool | None:
    """Whether a Get-ExchangeServer object runs the Transport service (MSExchangeTransport): False for a Client
    Access server alone (Exchange 2013's ClientAccess role, whose Front End Transport service connects for the
    Mailbox servers when a send connector has FrontendProxyEnabled); None when the export does not say.

    >>> runs_transport_service({"ServerRole": "ClientAccess"}), runs_transport_service({"ServerRole": 38})
    (False, True)
    >>> runs_transport_service({"IsHubTransportServer": "False", "IsMailboxServer": "False",
    ...                         "IsClientAccessServer": "True"}), runs_transport_service({"Name": "CAS01"})
    (False, None)
    """
    hub, mailbox, edge = (_boolean(display(bag.get(name)))
                          for name in ("IsHubTransportServer", "IsMailboxServer", "IsEdgeServer"))
    if True in (hub, mailbox, edge):
        return True
    roles = server_roles(bag) or frozenset()
    if roles & {"mailbox", "hubtransport", "edge"}:
        return True
    client_access = "clientaccess" in roles or _boolean(display(bag.get("IsClientAccessServer"))) is True
    return False if client_access else None


def read_servers(source: Sources) -> pd.DataFrame:
    """Read Get-ExchangeServer exports (fl, Export-Clixml, ConvertTo-Json) into the servers frame (name, fqdn,
    ``edge``: whether it is an Edge Transport server, :func:`is_edge_server`, and ``transport_service``: whether
    it runs the Transport service, :func:`runs_transport_service`).

    >>> from exlab.lab.transport_logs import demo_servers_json
    >>> read_servers(demo_servers_json())[["name", "fqdn", "edge"]].values.tolist()
    [['EX01', 'EX01.contoso.com', False], ['EX02', 'EX02.contoso.com', False]]
    """
    return _read(source, SERVER_PROPERTIES, SERVER_DTYPES, EXCHANGE_SERVER,
                 {"edge": is_edge_server, "transport_service": runs_transport_service})


def read_receive_connectors(source: Sources) -> pd.DataFrame:
    """Read Get-ReceiveConnector exports (fl, Export-Clixml, ConvertTo-Json) into the receive_connectors frame.

    bindings, remote_ip_ranges and tls_domain_capabilities are tuples; auth_mechanism and
    permission_groups tuples of flag names (from names or, in JSON, numbers); an empty
    TlsCertificateName is NA. Send connectors and servers in the same file are left out.

    >>> import io
    >>> text = ("Name             : Default Frontend EX01\\r\\nBindings         : {[::]:25, 0.0.0.0:25}\\r\\n"
    ...         "PermissionGroups : AnonymousUsers, ExchangeServers\\r\\n").encode("utf-16")
    >>> read_receive_connectors(io.BytesIO(text))[["name", "bindings", "permission_groups"]].values.tolist()
    [['Default Frontend EX01', ('[::]:25', '0.0.0.0:25'), ('AnonymousUsers', 'ExchangeServers')]]
    """
    return _read(source, RECEIVE_CONNECTOR_PROPERTIES, RECEIVE_CONNECTOR_DTYPES, RECEIVE_CONNECTOR)
