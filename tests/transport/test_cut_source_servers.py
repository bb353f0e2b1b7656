"""A Get-SendConnector export whose SourceTransportServers Format-List cut ($FormatEnumerationLimit):
the connectors frame keeps the names shown and says the list is cut; the other shapes never cut."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from exlab.errors import UnsupportedFormat
from exlab.lab.transport_logs import DEMO_CONNECTOR, format_list, write_send_connectors
from exlab.transport import read_connectors, sniff_transport

SIXTEEN = tuple(f"EX{n:02}" for n in range(1, 17))


def _fl_export(source_servers: str, *, width: int = 120, encoding: str = "utf-16") -> io.BytesIO:
    """``Get-SendConnector | fl Name,SmartHosts,SourceTransportServers,TlsCertificateName`` with the list as written."""
    text = format_list([[("Name", "Outbound to Office 365"),
                         ("SmartHosts", ("contoso-com.mail.protection.outlook.com",)),
                         ("SourceTransportServers", source_servers), ("TlsCertificateName", None)]], width=width)
    return io.BytesIO(text.encode(encoding))


@pytest.mark.parametrize("written,shown,encoding,width", [
    # Windows PowerShell 5.1, $FormatEnumerationLimit 4 (its default)
    ("{EX01, EX02, EX03, EX04...}", SIXTEEN[:4], "utf-16", 120),
    # PowerShell 7 marks the cut with an ellipsis character
    ("{EX01, EX02, EX03, EX04\u2026}", SIXTEEN[:4], "utf-8-sig", 120),
    # the Exchange Management Shell sets the limit to 16; the cut list wraps onto continuation lines
    ("{" + ", ".join(SIXTEEN) + "...}", SIXTEEN, "utf-16", 80),
], ids=["windows-powershell-limit-4", "powershell-7-ellipsis", "exchange-shell-limit-16-wrapped"])
def test_a_cut_list_of_source_servers_is_said_cut_and_keeps_the_names_it_shows(written, shown, encoding, width):
    from exlab.transport.schema import CONNECTOR_DTYPES
    frame = read_connectors(_fl_export(written, width=width, encoding=encoding))
    assert list(frame.columns) == list(CONNECTOR_DTYPES)
    row = frame.iloc[0]
    assert row["source_transport_servers"] == shown
    assert row["source_transport_servers_cut"] == True  # noqa: E712
    notes = frame.attrs["parse_report"].files[0].warnings
    assert any("cut SourceTransportServers" in note and "$FormatEnumerationLimit" in note for note in notes)


def test_a_whole_list_is_not_cut():
    row = read_connectors(_fl_export("{EX01, EX02, EX03, EX04}")).iloc[0]
    assert row["source_transport_servers"] == SIXTEEN[:4]
    assert row["source_transport_servers_cut"] == False  # noqa: E712


@pytest.mark.parametrize("shape", ["clixml", "json"])
def test_export_clixml_and_convert_to_json_hold_the_whole_list(shape):
    stream = io.BytesIO()
    write_send_connectors(stream, [dict(DEMO_CONNECTOR, source_transport_servers=SIXTEEN)], shape=shape)
    row = read_connectors(io.BytesIO(stream.getvalue())).iloc[0]
    assert row["source_transport_servers"] == SIXTEEN
    assert row["source_transport_servers_cut"] == False  # noqa: E712


def test_export_csv_says_nothing_of_a_list_it_wrote_as_its_type_name():
    text = ('#TYPE Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig\r\n'
            '"Name","SourceTransportServers"\r\n"Outbound to Office 365","System.Collections.ArrayList"\r\n'
            '"Internet","EX01 EX02"\r\n')
    frame = read_connectors(io.BytesIO(text.encode("ascii")))
    assert frame["source_transport_servers"].tolist() == [None, ("EX01 EX02",)]
    assert pd.isna(frame.loc[0, "source_transport_servers_cut"])
    assert frame.loc[1, "source_transport_servers_cut"] == False  # noqa: E712


@pytest.mark.real_exports
def test_a_real_export_clixml_is_not_cut(real_exports):
    path = real_exports / "css-exchange" / "HC-GetSendConnectorConfiguredToRelayToM365.xml"
    row = read_connectors(path).iloc[0]
    assert row["source_transport_servers"] == ("WIN-CTD3L0RGEN4",)
    assert row["source_transport_servers_cut"] == False  # noqa: E712


def test_format_table_output_is_not_read_as_connectors():
    # Format-Table cuts lists too (and narrows columns with "..."): exlab does not read a table,
    # so such a file never stands in for the connector's settings
    table = ("\r\n"
             "Name                   SourceTransportServers       RequireTLS TlsCertificateName\r\n"
             "----                   ----------------------       ---------- ------------------\r\n"
             "Outbound to Office 365 {EX01, EX02, EX03, EX04...}  True       <I>CN=DigiCert Global G2 TLS RS...\r\n"
             "\r\n").encode("utf-16")
    assert sniff_transport(table) is None
    with pytest.raises(UnsupportedFormat):
        read_connectors(io.BytesIO(table))
