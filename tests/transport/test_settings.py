"""Get-SendConnector / Get-ExchangeServer exports: hand-written real shapes and writer round trips."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exlab.errors import CorruptInput, DataLossWarning, ExlabWarning, UnsupportedFormat
from exlab.lab import oversized
from exlab.lab.transport_logs import (
    DEMO_CONNECTOR,
    write_exchange_servers,
    write_receive_connectors,
    write_send_connectors,
)
from exlab.transport import read_connectors, read_receive_connectors, read_servers, sniff_transport
from exlab.transport.schema import CONNECTOR_DTYPES, RECEIVE_CONNECTOR_DTYPES

CONFIG = Path(__file__).parent / "fixtures" / "config"
HYBRID_TLS_NAME = "<I>CN=Lab Public Issuing CA G2, O=exlab Lab Trust Services, C=US<S>CN=mail.contoso.com"


def test_fl_english_wrapped_utf16():
    frame = read_connectors(CONFIG / "connectors-fl-en.txt")
    assert list(frame.columns) == list(CONNECTOR_DTYPES)
    hybrid, internet = frame.iloc[0], frame.iloc[1]
    assert hybrid["name"] == "Outbound to Office 365 - 8f4c2a1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
    # wrapped over three lines, once after a word and once after a list comma
    assert hybrid.tls_certificate_name == ("<I>CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US"
                                           "<S>CN=mail.contoso.com, O=Contoso Ltd, L=Seattle, S=Washington, C=US")
    assert hybrid.smart_hosts == ("contoso-com.mail.protection.outlook.com",)
    assert hybrid.address_spaces == ("smtp:*.mail.onmicrosoft.com;1",)
    assert hybrid.source_transport_servers == ("EX01", "EX02")
    assert (hybrid.require_tls, hybrid.cloud_services_mail_enabled, hybrid.enabled) == (True, True, True)
    assert (hybrid.tls_auth_level, hybrid.tls_domain, hybrid.protocol_logging_level) == (
        "DomainValidation", "mail.protection.outlook.com", "Verbose")
    assert pd.isna(internet.fqdn) and pd.isna(internet.tls_certificate_name)
    assert internet.smart_hosts == () and internet.require_tls is False or internet.require_tls == False  # noqa: E712
    assert internet.source_transport_servers == ("EX01", "EX02", "EX03", "EX04")
    assert (hybrid.source_transport_servers_cut, internet.source_transport_servers_cut) == (False, True)
    report = frame.attrs["parse_report"].files[0]
    assert report.engine == "utf-16-le" and report.records_read == 2
    assert any("SourceTransportServers" in note and "FormatEnumerationLimit" in note for note in report.warnings)


def test_fl_polish_hard_wrapped_utf8():
    frame = read_connectors(CONFIG / "connectors-fl-pl.txt")
    row = frame.iloc[0]
    assert row["name"] == "Wychodzące do Office 365"
    assert row.tls_certificate_name == ("<I>CN=Certum Domain Validation CA SHA2, OU=Certum Certification Authority, "
                                        "O=Unizeto Technologies S.A., C=PL<S>CN=poczta.fabrikam.pl")
    assert frame.attrs["parse_report"].files[0].engine == "utf-8-sig"


@pytest.mark.parametrize("name", ["connectors-local.xml", "connectors-local.json"])
def test_local_shell_clixml_and_json(name):
    row = read_connectors(CONFIG / name).iloc[0]
    assert row["name"] == "Outbound to Office 365" and row.identity == "Outbound to Office 365"
    assert row.fqdn == "mail.contoso.com" and row.tls_domain == "mail.protection.outlook.com"
    assert row.tls_certificate_name == HYBRID_TLS_NAME
    assert row.smart_hosts == ("contoso-com.mail.protection.outlook.com",)
    assert row.address_spaces == ("smtp:*.mail.onmicrosoft.com;1",)
    assert row.source_transport_servers == ("EX01",)
    assert (row.tls_auth_level, row.protocol_logging_level, row.require_tls) == ("DomainValidation", "Verbose", True)


def test_servers_fl():
    frame = read_servers(CONFIG / "servers-fl.txt")
    assert frame[["name", "fqdn"]].values.tolist() == [["EX01", "EX01.contoso.local"], ["EX02", "EX02.contoso.local"]]


@pytest.mark.parametrize("shape", ["fl", "clixml", "json"])
@pytest.mark.parametrize("culture,width", [("en-US", 120), ("en-US", 60), ("pl-PL", 60), ("de-DE", 80)])
def test_writer_round_trip(shape, culture, width):
    internet = {"name": "Internet", "fqdn": None, "tls_certificate_name": None, "require_tls": False,
                "tls_auth_level": None, "tls_domain": None, "smart_hosts": (), "address_spaces": ("SMTP:*;1",),
                "cloud_services_mail_enabled": False, "protocol_logging_level": "None",
                "source_transport_servers": ("EX01", "EX02"), "enabled": False}
    guid_name = dict(DEMO_CONNECTOR, name="Outbound to Office 365 3f2d9a60-1b7c-4c8e-9f0e-2a6b5d4c3e21",
                     tls_certificate_name="<I>CN=Contoso Issuing CA 01, DC=contoso, DC=com<S>CN=mail.contoso.com",
                     source_transport_servers=("EX01", "EX02", "EX03"))
    connectors = [DEMO_CONNECTOR, internet, guid_name]
    stream = io.BytesIO()
    write_send_connectors(stream, connectors, shape=shape, width=width, culture=culture)
    data = stream.getvalue()
    assert data.startswith(b"\xff\xfe")  # Windows PowerShell 5.1: UTF-16 LE with BOM
    assert sniff_transport(data[:65536]) == "connectors"
    frame = read_connectors(io.BytesIO(data))
    for written, (_, read) in zip(connectors, frame.iterrows()):
        for column, value in written.items():
            got = read[column]
            if value is None:
                assert pd.isna(got), column
            else:
                assert got == value, (column, got)
        assert read.identity == written["name"]
    again = io.BytesIO()
    write_send_connectors(again, connectors, shape=shape, width=width, culture=culture)
    assert again.getvalue() == data


@pytest.mark.parametrize("shape", ["fl", "clixml", "json"])
def test_servers_round_trip(shape):
    servers = [{"name": "EX01", "fqdn": "EX01.contoso.com"}, {"name": "EX02", "fqdn": "EX02.contoso.com"}]
    stream = io.BytesIO()
    write_exchange_servers(stream, servers, shape=shape)
    assert sniff_transport(stream.getvalue()) == "servers"
    frame = read_servers(io.BytesIO(stream.getvalue()))
    assert frame[["name", "fqdn"]].to_dict("records") == servers


@pytest.mark.parametrize("shape", ["fl", "clixml", "json"])
def test_a_client_access_server_alone_runs_no_transport_service_in_every_shape(shape):
    """Exchange 2013's ClientAccess role alone (its Front End Transport service only), beside a Mailbox server and
    a multi-role one (ServerRole's flags as a number in ConvertTo-Json)."""
    build = "15.0 (Build 1497.2)"
    servers = [{"name": "CAS01", "fqdn": "CAS01.contoso.com", "roles": "ClientAccess", "version": build},
               {"name": "MBX01", "fqdn": "MBX01.contoso.com", "roles": "Mailbox", "version": build},
               {"name": "EX01", "fqdn": "EX01.contoso.com", "roles": "Mailbox, ClientAccess", "version": build}]
    stream = io.BytesIO()
    write_exchange_servers(stream, servers, shape=shape)
    frame = read_servers(io.BytesIO(stream.getvalue()))
    assert frame.set_index("name")["transport_service"].to_dict() == {"CAS01": False, "MBX01": True, "EX01": True}
    assert not frame["edge"].any()


def test_the_servers_export_notebook_00_asks_for_tells_a_client_access_server_alone():
    """``Get-ExchangeServer | fl Name,Fqdn,ServerRole,AdminDisplayVersion``, the command notebook 00 gives: no
    IsHubTransportServer, so ServerRole alone tells a 2013 Client Access server."""
    rows = [("CAS01", "ClientAccess"), ("MBX01", "Mailbox"), ("EX01", "Mailbox, ClientAccess")]
    text = "\r\n".join(f"Name                : {name}\r\nFqdn                : {name}.contoso.com\r\n"
                        f"ServerRole          : {role}\r\nAdminDisplayVersion : Version 15.0 (Build 1497.2)\r\n"
                        for name, role in rows)
    frame = read_servers(io.BytesIO(text.encode("utf-16")))
    assert frame.set_index("name")["transport_service"].to_dict() == {"CAS01": False, "MBX01": True, "EX01": True}


@pytest.mark.parametrize(("shown", "flags", "transport"), [("ClientAccess", 4, False), ("Mailbox", 2, True),
                                                         ("Mailbox, ClientAccess", 6, True), ("Edge", 64, True)])
def test_serverrole_as_the_real_export_clixml_writes_it_tells_the_transport_service(real_exports, tmp_path, shown,
                                                                                   flags, transport):
    """The real Export-Clixml writes ServerRole as an enum (its own type names, ``<ToString>`` and ``<I32>``).
    Without the IsHubTransportServer, IsMailboxServer and IsEdgeServer properties (an export of chosen properties,
    or an older version's), it alone tells whether the server runs the Transport service. The lab writes it so."""
    text = (real_exports / "css-exchange" / "HC-E16-GetExchangeServer.xml").read_text(encoding="utf-8-sig")
    text = re.sub(r'\s*<B N="Is(HubTransport|Mailbox|Edge|ClientAccess)Server">\w+</B>', "", text)
    enum = "<ToString>Mailbox</ToString>\n        <I32>2</I32>"
    assert text.count(enum) == 1 and "IsHubTransportServer" not in text
    (tmp_path / "servers.xml").write_text(text.replace(enum, enum.replace("Mailbox", shown).replace("2", str(flags))),
                                          encoding="utf-8")
    servers = read_servers(tmp_path / "servers.xml")
    assert servers[["name", "edge", "transport_service"]].values.tolist() == [["SOLO-E16A", shown == "Edge", transport]]
    lab = io.BytesIO()
    write_exchange_servers(lab, [{"name": "EX01", "fqdn": "EX01.contoso.com", "roles": shown}], shape="clixml")
    written = lab.getvalue().decode("utf-16")
    assert ("<T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole</T><T>System.Enum</T>"
            f"<T>System.ValueType</T><T>System.Object</T></TN><ToString>{shown}</ToString><I32>{flags}</I32>") in written


def test_bad_inputs():
    with pytest.raises(CorruptInput, match="empty"):
        read_connectors(io.BytesIO(b""))
    with pytest.raises(CorruptInput, match="line 1 column"):
        read_connectors(io.BytesIO(b'{"Name": "Internet", "SmartHosts": ['))
    with pytest.raises(CorruptInput, match="Export-Clixml"):
        read_connectors(io.BytesIO(b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
                                   b'<Obj RefId="0"><Props><S N="Name">x</Props></Obj></Objs>'))
    with pytest.raises(UnsupportedFormat):
        read_connectors(io.BytesIO(b"this is not an export\r\n"))
    text = ("\r\n\r\nName         : Internet\r\nWARNING: The object has been modified\r\nSmartHosts   : {}\r\n"
            "\r\nFqdn         : mail.contoso.com\r\n\r\n").encode("utf-16")
    with pytest.warns(DataLossWarning, match="skipped 2 record"):
        frame = read_connectors(io.BytesIO(text))
    assert frame["name"].tolist() == ["Internet"]
    losses = frame.attrs["parse_report"].files[0].losses
    assert [loss.where for loss in losses] == ["line 4", "object 2"]


# names and certificate names as people write them: words separated by single spaces
_WORD = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_.=,()'&<>"),
                min_size=1, max_size=14)
_NAME = st.lists(_WORD, min_size=1, max_size=12).map(" ".join)


@given(name=_NAME, tls_name=_NAME, width=st.integers(50, 140), culture=st.sampled_from(["en-US", "pl-PL", "de-DE"]))
@settings(max_examples=80, deadline=None)
def test_fl_round_trip_of_any_names(name, tls_name, width, culture):
    connector = dict(DEMO_CONNECTOR, name=name, tls_certificate_name=tls_name)
    stream = io.BytesIO()
    write_send_connectors(stream, [connector], width=width, culture=culture)
    row = read_connectors(io.BytesIO(stream.getvalue())).iloc[0]
    assert (row["name"], row.tls_certificate_name) == (name, tls_name)


def test_clixml_refs_point_at_earlier_objects():
    doc = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
           '<Obj RefId="0"><Props><S N="Name">Outbound to Office 365</S><Obj N="SourceTransportServers" RefId="1">'
           '<LST><S>EX01</S><S>EX02</S></LST></Obj><S N="SmartHostsString">[a.example]</S></Props></Obj>'
           '<Obj RefId="2"><Props><S N="Name">Internet</S><Ref N="SourceTransportServers" RefId="1" />'
           '<S N="SmartHostsString"></S></Props></Obj></Objs>').encode("utf-16")
    frame = read_connectors(io.BytesIO(doc))
    assert frame["source_transport_servers"].tolist() == [("EX01", "EX02"), ("EX01", "EX02")]
    broken = doc.decode("utf-16").replace('RefId="1" />', 'RefId="9" />').encode("utf-16")
    with pytest.raises(CorruptInput, match="points at no earlier object"):
        read_connectors(io.BytesIO(broken))


RECEIVE_EXPORT = "HC-GetReceiveConnectorEmptyTlsCertificateName.xml"


@pytest.mark.real_exports
def test_real_receive_connector_export(real_exports):
    path = real_exports / "css-exchange" / RECEIVE_EXPORT
    frame = read_receive_connectors(path)
    assert list(frame.columns) == list(RECEIVE_CONNECTOR_DTYPES)
    assert frame["name"].tolist() == [f"{name} WIN-CTD3L0RGEN4" for name in (
        "Default", "Client Proxy", "Default Frontend", "Outbound Proxy Frontend", "Client Frontend")]
    assert frame["server"].eq("WIN-CTD3L0RGEN4").all() and frame["enabled"].all()
    assert frame["fqdn"].eq("WIN-CTD3L0RGEN4.exlab.dom").all() and frame["tls_certificate_name"].isna().all()
    frontend = frame.iloc[2]
    assert frontend["identity"] == "WIN-CTD3L0RGEN4\\Default Frontend WIN-CTD3L0RGEN4"
    assert frontend["bindings"] == ("[::]:25", "0.0.0.0:25")
    assert frontend["remote_ip_ranges"] == ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-255.255.255.255")
    assert frontend["auth_mechanism"] == ("Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer")
    assert frontend["permission_groups"] == ("AnonymousUsers", "ExchangeServers", "ExchangeLegacyServers")
    assert frontend["tls_domain_capabilities"] == ("fabrikam.com:AcceptCloudServicesMail",)
    assert (frontend["transport_role"], frontend["protocol_logging_level"], frontend["require_tls"]) == (
        "FrontendTransport", "Verbose", False)
    assert frame["transport_role"].tolist() == ["HubTransport"] * 2 + ["FrontendTransport"] * 3
    assert frame.attrs["parse_report"].files[0].records_read == 5
    assert sniff_transport(path.read_bytes()[:65536]) == "receive-connectors"


@pytest.mark.real_exports
def test_send_connector_and_server_readers_take_nothing_from_a_receive_export(real_exports):
    path = real_exports / "css-exchange" / RECEIVE_EXPORT
    for reader, wanted in ((read_connectors, "holds no send connector"), (read_servers, "holds no Exchange server")):
        with pytest.warns(ExlabWarning, match=rf"{wanted} .* only 5 receive connector\(s\) "
                                              r"\(Get-ReceiveConnector; read with read_receive_connectors\)") as caught:
            frame = reader(path)
        assert frame.empty
        assert [w.filename for w in caught if wanted in str(w.message)] == [str(path)]
        assert sum(wanted in note for note in frame.attrs["parse_report"].files[0].warnings) == 1


@pytest.mark.real_exports
def test_real_send_connector_and_server_exports(real_exports):
    folder = real_exports / "css-exchange"
    connector = read_connectors(folder / "HC-GetSendConnectorConfiguredToRelayToM365.xml")
    assert len(connector) == 1
    row = connector.iloc[0]
    assert (row["name"], row["fqdn"]) == ("My company to Office 365", "mail.contoso.com")
    assert row["smart_hosts"] == ("ThisTenantDoesntExists-com.mail.protection.outlook.com",)
    assert pd.isna(row["tls_certificate_name"]) and row["require_tls"] == True  # noqa: E712
    assert row["tls_auth_level"] == "CertificateValidation" and row["cloud_services_mail_enabled"] == True  # noqa: E712
    assert row["source_transport_servers"] == ("WIN-CTD3L0RGEN4",)
    assert row["guid"] == "d8bbb707-a3d8-401f-8909-287fe2cc1fda"     # what Get-Queue's NextHopConnector names
    servers = read_servers(folder / "HC-E16-GetExchangeServer.xml")
    assert servers[["name", "fqdn"]].values.tolist() == [["SOLO-E16A", "Solo-E16A.Solo.local"]]
    # an Exchange 2016 Mailbox server: IsHubTransportServer true, so it runs the Transport service; no Edge
    assert servers[["edge", "transport_service"]].values.tolist() == [[False, True]]
    with pytest.warns(ExlabWarning, match="holds no receive connector"):
        assert read_receive_connectors(folder / "HC-GetSendConnectorConfiguredToRelayToM365.xml").empty
    with pytest.warns(ExlabWarning, match="holds no receive connector"):
        assert read_receive_connectors(folder / "HC-E16-GetExchangeServer.xml").empty


RECEIVE_CONNECTORS = [
    {"name": "Default Frontend EX01", "server": "EX01", "fqdn": "mail.contoso.com",
     "bindings": ("[::]:25", "0.0.0.0:25"), "remote_ip_ranges": ("0.0.0.0-255.255.255.255",),
     "auth_mechanism": ("Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer"),
     "permission_groups": ("AnonymousUsers", "ExchangeServers", "ExchangeLegacyServers"),
     "tls_certificate_name": "<I>CN=Lab Public Issuing CA G2, O=exlab Lab Trust Services, C=US<S>CN=mail.contoso.com",
     "tls_domain_capabilities": ("mail.protection.outlook.com:AcceptCloudServicesMail",),
     "transport_role": "FrontendTransport", "protocol_logging_level": "Verbose", "require_tls": False},
    {"name": "Client Frontend EX01", "server": "EX01", "bindings": ("[::]:587", "0.0.0.0:587"),
     "auth_mechanism": ("Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS"), "permission_groups": ("ExchangeUsers",),
     "transport_role": "FrontendTransport", "protocol_logging_level": "None"},
]


@pytest.mark.parametrize("shape", ["fl", "clixml", "json"])
def test_receive_connectors_round_trip(shape):
    stream = io.BytesIO()
    write_receive_connectors(stream, RECEIVE_CONNECTORS, shape=shape, width=90)
    assert sniff_transport(stream.getvalue()[:65536]) == "receive-connectors"
    frame = read_receive_connectors(io.BytesIO(stream.getvalue()))
    first, second = frame.iloc[0], frame.iloc[1]
    for column, value in RECEIVE_CONNECTORS[0].items():
        assert first[column] == value, column
    assert first["identity"] == "EX01\\Default Frontend EX01" and first["enabled"] == True  # noqa: E712
    assert second["auth_mechanism"] == RECEIVE_CONNECTORS[1]["auth_mechanism"] and pd.isna(second["fqdn"])
    with pytest.warns(ExlabWarning, match="only 2 receive connector"):
        assert read_connectors(io.BytesIO(stream.getvalue())).empty


def test_flag_enums_written_as_numbers_by_convert_to_json():
    text = '{"Name": "Default EX01", "AuthMechanism": 31, "PermissionGroups": 14, "TransportRole": 32, ' \
           '"ProtocolLoggingLevel": 1, "Bindings": ["0.0.0.0:2525"]}'
    row = read_receive_connectors(io.BytesIO(text.encode())).iloc[0]
    assert row["auth_mechanism"] == ("Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer")
    assert row["permission_groups"] == ("ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers")
    assert (row["transport_role"], row["protocol_logging_level"]) == ("HubTransport", "Verbose")


def test_a_list_value_wrapped_over_thousands_of_lines_is_read_whole():
    # Format-List wraps a long value onto continuation lines; the pieces are joined once, not line by line
    frame = read_connectors(io.BytesIO(oversized.format_list("connector", 30_000)))
    spaces = frame.loc[0, "address_spaces"]
    assert len(spaces) == 30_000 and spaces[0] == "smtp:host0.contoso.com;1" and spaces[-1] == "smtp:host29999.contoso.com;1"
    assert frame.loc[0, "tls_certificate_name"] is not pd.NA and frame.loc[0, "name"] == "Outbound to Office 365"


def test_a_json_export_nested_too_deep_for_the_parser_is_corrupt_input_naming_the_file(tmp_path):
    # the json module parses by recursion: a SmartHosts value of 100,000 nested arrays stopped the read
    # with RecursionError instead of naming the file
    stream = io.BytesIO()
    write_send_connectors(stream, [DEMO_CONNECTOR], shape="json")
    text = stream.getvalue().decode("utf-16")
    assert text.count('"SmartHosts":  ') == 1
    path = tmp_path / "send-connectors.json"
    path.write_text(text.replace('"SmartHosts":  ', '"SmartHosts":  ' + "[" * 100_000 + "]" * 100_000 + ", "
                                 '"Unused":  ', 1), encoding="utf-16")
    with pytest.raises(CorruptInput) as caught:
        read_connectors(path)
    assert (caught.value.source, caught.value.where) == (str(path), "the document")
    assert str(caught.value).endswith("expected ConvertTo-Json output (nested too deep to read)")


def test_selected_properties_of_send_connectors_reach_the_case(tmp_path):
    # Get-SendConnector | fl Name,Fqdn,TlsCertificateName,RequireTLS > config\Get-SendConnector.txt (PowerShell
    # 5.1: UTF-16 LE with BOM, an 80-column console wrapping the certificate name), beside Get-ExchangeServer's
    # fl Name,Fqdn, which must not be taken for a connector
    import exlab
    from exlab.lab.transport_logs import format_list
    tls_name = ("<I>CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US<S>CN=mail.contoso.com, "
                "O=Contoso Ltd, L=Seattle, S=Washington, C=US")
    selected = format_list([[("Name", "Outbound to Office 365"), ("Fqdn", "mail.contoso.com"),
                             ("TlsCertificateName", tls_name), ("RequireTLS", True)],
                            [("Name", "Internet"), ("Fqdn", None), ("TlsCertificateName", None),
                             ("RequireTLS", False)]], width=80)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "Get-SendConnector.txt").write_bytes(selected.encode("utf-16"))
    servers = format_list([[("Name", "EX01"), ("Fqdn", "EX01.contoso.com")]])
    (tmp_path / "config" / "Get-ExchangeServer.txt").write_bytes(servers.encode("utf-16"))
    case = exlab.open_case(tmp_path)
    assert case.connectors is not None
    assert case.connectors["name"].tolist() == ["Outbound to Office 365", "Internet"]
    assert case.connectors["tls_certificate_name"].tolist()[0] == tls_name
    assert pd.isna(case.connectors["tls_certificate_name"].tolist()[1])
    assert case.connectors["require_tls"].tolist() == [True, False]
    assert case.connectors["fqdn"].tolist()[0] == "mail.contoso.com"
    assert [Path(file).name for file in case.unread["file"]] == ["Get-ExchangeServer.txt"]


_CSV_TYPE_LINE = "#TYPE Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig"
_CSV_COLUMNS = ("RunspaceId", "AddressSpaces", "CloudServicesMailEnabled", "Comment", "Enabled", "Fqdn", "Identity",
                "Name", "ProtocolLoggingLevel", "RequireTLS", "SmartHosts", "SourceTransportServers", "TlsAuthLevel",
                "TlsCertificateName", "TlsDomain")
_ARRAY_LIST = "System.Collections.ArrayList"          # what a remote shell's Export-Csv writes for every list
_LOCAL_LIST = "Microsoft.Exchange.Data.MultiValuedProperty`1[Microsoft.Exchange.Data.SmtpSmartHost]"


def _export_csv(rows: list[tuple[str, ...]], *, type_line: bool = True, delimiter: str = ",") -> str:
    """``Get-SendConnector | Export-Csv`` as Windows PowerShell 5.1 writes it: the #TYPE line unless
    -NoTypeInformation, every name and value quoted (quotes doubled), CRLF."""
    def quoted(cells):
        return delimiter.join('"' + cell.replace('"', '""') + '"' for cell in cells)
    lines = ([_CSV_TYPE_LINE] if type_line else []) + [quoted(_CSV_COLUMNS)] + [quoted(row) for row in rows]
    return "\r\n".join(lines) + "\r\n"


_CSV_HYBRID = ("d506aa49-acec-42d9-893e-4e38049679bd", _ARRAY_LIST, "True", "", "True", "mail.contoso.com",
               "Outbound to Office 365", "Outbound to Office 365", "Verbose", "True", _ARRAY_LIST, _ARRAY_LIST,
               "DomainValidation", HYBRID_TLS_NAME, "mail.protection.outlook.com")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "ascii"])     # -Encoding Unicode, UTF8; the default
@pytest.mark.parametrize("type_line", [True, False])
def test_export_csv_of_a_remote_shell(encoding, type_line):
    internet = ("d506aa49-acec-42d9-893e-4e38049679bd", _ARRAY_LIST, "False", 'Says "hi", twice', "True", "",
                "Internet", "Internet", "None", "False", _ARRAY_LIST, _ARRAY_LIST, "EncryptionOnly", "", "")
    data = _export_csv([_CSV_HYBRID, internet], type_line=type_line).encode(encoding)
    assert sniff_transport(data[:65536]) == "connectors"
    frame = read_connectors(io.BytesIO(data))
    assert frame["name"].tolist() == ["Outbound to Office 365", "Internet"]
    hybrid = frame.iloc[0]
    assert (hybrid.fqdn, hybrid.tls_certificate_name, hybrid.require_tls, hybrid.tls_auth_level) == (
        "mail.contoso.com", HYBRID_TLS_NAME, True, "DomainValidation")
    assert hybrid.cloud_services_mail_enabled == True  # noqa: E712
    # the lists are type names: NA, never an empty list, and said once
    assert hybrid.smart_hosts is None and hybrid.address_spaces is None and hybrid.source_transport_servers is None
    assert pd.isna(frame.iloc[1].fqdn) and pd.isna(frame.iloc[1].tls_certificate_name)
    report = frame.attrs["parse_report"].files[0]
    assert report.records_read == 2 and report.records_skipped == 0
    assert report.warnings == ["Export-Csv wrote AddressSpaces, SmartHosts, SourceTransportServers as a type name "
                               "(System.Collections.ArrayList), not the values: read as NA; Export-Clixml or "
                               "Format-List keeps them"]


def test_export_csv_with_values_culture_delimiter_and_a_bad_row(tmp_path):
    # values a Select-Object wrote out (-join ', '), -UseCulture's ";", a local shell's list type, a cut row
    hybrid = list(_CSV_HYBRID)
    hybrid[1], hybrid[10], hybrid[11] = "smtp:contoso.mail.onmicrosoft.com;1", \
        "contoso-com.mail.protection.outlook.com, contoso-com02.mail.protection.outlook.com", _LOCAL_LIST
    text = _export_csv([tuple(hybrid)], delimiter=";") + '"d506aa49-acec-42d9-893e-4e38049679bd";"Internet"\r\n'
    path = tmp_path / "Get-SendConnector.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    with pytest.warns(DataLossWarning, match="line 4: skipped 1 record") as caught:
        frame = read_connectors(path)
    assert [w.filename for w in caught if issubclass(w.category, DataLossWarning)] == [str(path)]
    row = frame.iloc[0]
    assert row.address_spaces == ("smtp:contoso.mail.onmicrosoft.com;1",)
    assert row.smart_hosts == ("contoso-com.mail.protection.outlook.com", "contoso-com02.mail.protection.outlook.com")
    assert row.source_transport_servers is None
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped) == (1, 1)
    assert report.losses[0].reason == "2 fields, expected 15 (the header line 2)"
    assert "SourceTransportServers as a type name (Microsoft.Exchange.Data.MultiValuedProperty" in report.warnings[0]


def test_export_csv_of_send_connectors_reaches_the_case(tmp_path):
    import exlab
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "Get-SendConnector.csv").write_bytes(_export_csv([_CSV_HYBRID]).encode("ascii"))
    case = exlab.open_case(tmp_path)
    assert case.connectors[["name", "tls_certificate_name"]].values.tolist() == [["Outbound to Office 365",
                                                                                 HYBRID_TLS_NAME]]
    assert len(case.unread) == 0


@pytest.mark.parametrize("text,kind", [
    ('#TYPE Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector\r\n'
     '"Name","Bindings","Fqdn"\r\n', "receive-connectors"),
    ('"Name","Fqdn","RequireTLS","Bindings"\r\n', "receive-connectors"),
    ('#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate\r\n'
     '"Thumbprint","Services","Subject"\r\n', None),
    ('"Name","Fqdn"\r\n"EX01","EX01.contoso.com"\r\n', None),
])
def test_other_export_csv_files_are_not_send_connectors(text, kind):
    assert sniff_transport(text.encode("ascii")) == kind
