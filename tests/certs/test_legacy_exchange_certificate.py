"""Get-ExchangeCertificate as Exchange 2010 (and 2007) print it, next to 2013 and later.

The default table's Services column has one letter per service flag the version knows, in flag
order: Exchange 2013 and later ``IPUWSFC`` (seven), Exchange 2010 ``IPUWSF`` (six: no
UMCallRouter), Exchange 2007 ``IPUWS`` (five: no Federation either). ``Format-List *`` shows the
same letters as ``ServicesStringForm``. The inputs are written here in the shape the console
writes (UTF-16, CRLF), with invented names and thumbprints.
"""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest

from exlab.certs import read_certs
from exlab.certs.exchange_values import parse_services

INTERNAL = "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55"
SELF_SIGNED = "0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B9C"
FEDERATION = "9C8B7A6F5E4D3C2B1A0F9E8D7C6B5A4F3E2D1C0B"


def _console(text: str) -> io.BytesIO:
    """Text as a console redirect (``> file``) of Windows PowerShell writes it: UTF-16 with a BOM, CRLF."""
    return io.BytesIO(text.replace("\n", "\r\n").encode("utf-16"))


def _read(text: str, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_certs(_console(text), **options)


TABLE_2010 = f"""
Thumbprint                                Services   Subject
----------                                --------   -------
{INTERNAL}  IP.WS.     CN=mail.contoso.com
{FEDERATION}  .....F     CN=Federation
{SELF_SIGNED}  ....S.     CN=EX2010

"""

TABLE_2007 = f"""
Thumbprint                                Services   Subject
----------                                --------   -------
{INTERNAL}  IP.WS      CN=mail.contoso.com
{SELF_SIGNED}  ...W.      CN=EX2007

"""


def test_exchange_2010_table_reads_its_six_service_letters():
    frame = _read(TABLE_2010).set_index("thumbprint")
    assert frame.loc[INTERNAL, "services"] == ("IMAP", "POP", "IIS", "SMTP")
    assert frame.loc[FEDERATION, "services"] == ("Federation",)
    assert frame.loc[SELF_SIGNED, "services"] == ("SMTP",)
    report = frame.attrs["parse_report"].files[0]
    assert report.records_read == 3 and not [w for w in report.warnings if "Services" in w]


def test_exchange_2007_table_reads_its_five_service_letters():
    frame = _read(TABLE_2007).set_index("thumbprint")
    assert frame.loc[INTERNAL, "services"] == ("IMAP", "POP", "IIS", "SMTP")
    assert frame.loc[SELF_SIGNED, "services"] == ("IIS",)


def test_letters_out_of_place_or_too_few_are_still_refused():
    for text in ("IP.SW.", "IP.W", ".S....", "IP.WS...."):
        with pytest.raises(ValueError, match="not an Exchange service"):
            parse_services(text)
    frame = _read(TABLE_2010.replace("IP.WS.", "IP.SW."))
    assert frame.set_index("thumbprint").loc[INTERNAL, "services"] is None
    assert any("Services 'IP.SW.' not understood" in w for w in frame.attrs["parse_report"].files[0].warnings)


FL_STAR_2010 = f"""

AccessRules          : {{System.Security.AccessControl.CryptoKeyAccessRule}}
CertificateDomains   : {{mail.contoso.com, autodiscover.contoso.com, ex2010.contoso.com}}
CertificateRequest   :
IisServices          : {{IIS://EX2010/W3SVC/1}}
IsSelfSigned         : False
KeyIdentifier        :
RootCAType           : Enterprise
Services             : IMAP, POP, IIS, SMTP
Status               : Valid
PrivateKeyExportable : True
PublicKeySize        : 2048
Identity             : EX2010\\{INTERNAL}
ServicesStringForm   : IP.WS.
Archived             : False
FriendlyName         : Contoso internal
IssuerName           : System.Security.Cryptography.X509Certificates.X500DistinguishedName
NotAfter             : 3/14/2027 9:12:05 AM
NotBefore            : 3/14/2025 9:02:05 AM
HasPrivateKey        : True
SerialNumber         : 5A0000002B8E3C1D2E3F40000000002B
SubjectName          : System.Security.Cryptography.X509Certificates.X500DistinguishedName
SignatureAlgorithm   : System.Security.Cryptography.Oid
Thumbprint           : {INTERNAL}
Version              : 3
Issuer               : CN=Contoso Issuing CA 01, DC=contoso, DC=com
Subject              : CN=mail.contoso.com

"""


def test_exchange_2010_format_list_star_reads_its_services_string_form_quietly():
    frame = _read(FL_STAR_2010, tz="America/New_York")
    row = frame.set_index("thumbprint").loc[INTERNAL]
    assert row["services"] == ("IMAP", "POP", "IIS", "SMTP")
    assert row["server"] == "EX2010" and row["root_ca_type"] == "Enterprise" and row["status"] == "Valid"
    report = frame.attrs["parse_report"].files[0]
    assert not [w for w in report.warnings if "not understood" in w]


def test_exchange_2010_services_string_form_alone_gives_the_services():
    text = FL_STAR_2010.replace("Services             : IMAP, POP, IIS, SMTP\n", "")
    row = _read(text, tz="America/New_York").set_index("thumbprint").loc[INTERNAL]
    assert row["services"] == ("IMAP", "POP", "IIS", "SMTP")


def test_exchange_2010_format_list_reads_as_later_versions_do():
    """Right already (checked, kept as a regression test): 2010's default Format-List (no FriendlyName)."""
    text = f"""

AccessRules        : {{System.Security.AccessControl.CryptoKeyAccessRule}}
CertificateDomains : {{ex2010, ex2010.contoso.com}}
HasPrivateKey      : True
IsSelfSigned       : True
Issuer             : CN=EX2010
NotAfter           : 6/1/2018 4:00:00 PM
NotBefore          : 6/1/2013 4:00:00 PM
PublicKeySize      : 2048
RootCAType         : None
SerialNumber       : 1A2B3C4D5E6F7A8B4C5D6E7F8A9B0C1D
Services           : IMAP, POP, IIS, SMTP
Status             : DateInvalid
Subject            : CN=EX2010
Thumbprint         : {SELF_SIGNED}

"""
    frame = _read(text, tz="America/New_York")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["status"], row["root_ca_type"], row["is_self_signed"]) == ("DateInvalid", "None", True)
    assert row["not_after"] == pd.Timestamp("2018-06-01T20:00:00Z")
    assert row["dns_names"] == ("ex2010", "ex2010.contoso.com") and pd.isna(row["friendly_name"])
