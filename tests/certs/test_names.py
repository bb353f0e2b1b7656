"""Host name coverage (RFC 6125 as public CAs practise it) and distinguished-name folding."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exlab.certs.names import ascii_name, covering_name, covers, name_key


@pytest.mark.parametrize("names, host, expected", [
    (("mail.contoso.com",), "mail.contoso.com", True),
    (("MAIL.Contoso.COM",), "mail.contoso.com", True),
    (("mail.contoso.com.",), "Mail.Contoso.com", True),
    (("mail.contoso.com",), "mail.contoso.com.", True),
    (("mail.contoso.com",), "autodiscover.contoso.com", False),
    (("*.contoso.com",), "mail.contoso.com", True),
    (("*.Contoso.com",), "MAIL.contoso.com", True),
    (("*.contoso.com",), "contoso.com", False),              # a wildcard never covers the bare domain
    (("*.contoso.com",), "a.b.contoso.com", False),          # exactly one label
    (("*.contoso.com",), ".contoso.com", False),
    (("mail*.contoso.com",), "mail1.contoso.com", False),    # partial-label wildcards: not in public CA practice
    (("*mail.contoso.com",), "xmail.contoso.com", False),
    (("m*l.contoso.com",), "mail.contoso.com", False),
    (("mail.*.com",), "mail.contoso.com", False),            # wildcard only in the left-most label
    (("*.*.contoso.com",), "a.b.contoso.com", False),
    (("*.com",), "contoso.com", False),                      # no wildcard over a whole TLD
    (("*.contoso.com",), "*.contoso.com", True),             # the pattern itself, literally
    (("contoso.com",), "mail.contoso.com", False),
    (("bücher.contoso.com",), "xn--bcher-kva.contoso.com", True),   # IDNA: U-label and A-label agree
    (("xn--bcher-kva.contoso.com",), "Bücher.contoso.com", True),
    (("*.contoso.com",), "bücher.contoso.com", True),
    (("microsoft exchange server auth certificate",), "mail.contoso.com", False),
    ((), "mail.contoso.com", False),
])
def test_covers(names, host, expected):
    assert covers(names, host) is expected


@pytest.mark.parametrize("missing", [None, pd.NA, float("nan"), "mail.contoso.com"])
def test_missing_or_malformed_name_lists_cover_nothing(missing):
    # a bare string is not a list of names: treating it as characters would be wrong
    assert covers(missing, "mail.contoso.com") is False


def test_covering_name_reports_the_entry_as_written():
    assert covering_name(["Mail.Contoso.com", "*.contoso.com"], "mail.contoso.com") == "Mail.Contoso.com"
    assert covering_name(["mail.contoso.com", "*.contoso.com"], "smtp.contoso.com") == "*.contoso.com"
    assert covering_name(["mail.contoso.com", 42, None], "smtp.contoso.com") is None


def test_ascii_name_rejects_what_is_not_a_host_name():
    assert ascii_name("two words.contoso.com") is None
    assert ascii_name("mail..contoso.com") is None
    assert ascii_name("") is None
    assert ascii_name("EX01") == "ex01"


def test_name_key_folds_case_and_spacing_only():
    assert name_key("CN=Contoso Issuing CA 01, DC=contoso, DC=com") == name_key("cn=contoso issuing ca 01,dc=CONTOSO,dc=com")
    assert name_key("CN=Contoso Issuing CA 01, DC=contoso, DC=com") != name_key("CN=Contoso Issuing CA 02, DC=contoso, DC=com")
    assert name_key("CN=Contoso Root CA") != name_key("CN=ContosoRoot CA")


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(host=_label, domain=st.lists(_label, min_size=2, max_size=4).map(".".join), extra=_label)
def test_wildcard_covers_exactly_one_left_most_label(host, domain, extra):
    assert covers([f"*.{domain}"], f"{host}.{domain}")
    assert covers([f"*.{domain.upper()}"], f"{host.upper()}.{domain}")
    assert not covers([f"*.{domain}"], domain)
    assert not covers([f"*.{domain}"], f"{extra}.{host}.{domain}")
    assert covers([f"{host}.{domain}"], f"{host}.{domain}.")
