"""Dates of Exchange 2010 / 2013 servers, which run on Windows Server 2008 R2 to 2012 R2.

Those Windows releases wrote some cultures' dates in shapes that changed later
(``exlab.cultures.OLDER_FORMATS``): en-CA wrote ``dd/MM/yyyy h:mm:ss AM`` (day first) where
Windows 10 / Server 2016 write ``yyyy-MM-dd h:mm:ss a.m.``. An engineer who names the
server's culture (``culture="en-CA"``) must get the dates that server meant.
"""

from __future__ import annotations

import io
import warnings

import pandas as pd

from exlab.certs import read_certs
from exlab.cultures import DateStyle

INTERNAL = "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55"

# Get-ExchangeCertificate | fl on an en-CA Exchange 2010 (Windows Server 2008 R2): 3 April 2025 to 5 June 2027
FL_EN_CA_2008R2 = f"""

CertificateDomains : {{mail.contoso.ca, autodiscover.contoso.ca}}
HasPrivateKey      : True
IsSelfSigned       : False
Issuer             : CN=Contoso Issuing CA 01, DC=contoso, DC=ca
NotAfter           : 05/06/2027 9:00:00 AM
NotBefore          : 03/04/2025 2:15:04 PM
RootCAType         : Enterprise
Services           : IMAP, POP, IIS, SMTP
Status             : Valid
Subject            : CN=mail.contoso.ca
Thumbprint         : {INTERNAL}

"""


def test_en_ca_dates_of_a_server_2008_r2_are_read_day_first_when_the_culture_is_given():
    data = io.BytesIO(FL_EN_CA_2008R2.replace("\n", "\r\n").encode("utf-16"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_certs(data, tz="America/Toronto", culture="en-CA")
    row = frame.iloc[0]
    assert row["not_before"] == pd.Timestamp("2025-04-03T18:15:04Z")      # 2:15:04 PM EDT
    assert row["not_after"] == pd.Timestamp("2027-06-05T13:00:00Z")       # 9:00:00 AM EDT
    report = frame.attrs["parse_report"].files[0]
    # the culture given settles it: a note, no warning that the values contradict it
    assert not [str(w.message) for w in caught if "day/month" in str(w.message)]
    assert any("culture=en-CA given" in note and "day first" in note for note in report.warnings)


def test_the_older_shape_is_taken_only_where_the_current_one_does_not_read_the_dates():
    current = DateStyle.detect(["2025-04-03 2:15:04 p.m."], culture="en-CA")
    assert (current.order, current.how) == ("YMD", "culture")
    older = DateStyle.detect(["03/04/2025 2:15:04 PM", "05/06/2027 9:00:00 AM"], culture="en-CA")
    assert (older.order, older.how) == ("DMY", "culture")
    assert older.parse("03/04/2025 2:15:04 PM") == pd.Timestamp("2025-04-03 14:15:04").to_pydatetime()
    # en-AU's older shape (capital AM/PM) is read by its current one: nothing changes
    assert DateStyle.detect(["4/11/2025 10:00:00 AM"], culture="en-AU").evidence == "culture=en-AU given"
    # no culture given: the same dates stay ambiguous, and say so
    assert DateStyle.detect(["03/04/2025 2:15:04 PM"]).how == "ambiguous"
