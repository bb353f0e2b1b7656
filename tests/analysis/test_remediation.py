"""Remediation text: what PowerShell reads back from a quoted evidence string is that string."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exlab.analysis.remediation import CONNECTOR_PLACEHOLDER, ps_quote, thumbprint_or_placeholder

QUOTES = "'\u2018\u2019\u201a\u201b"   # PowerShell takes each of these as a single quote


def read_single_quoted(token: str) -> str:
    """How PowerShell reads a single-quoted string: any quote char doubled is one literal quote,
    a lone one ends the string (which must then be the end of the token)."""
    assert token[0] in QUOTES
    out, i = [], 1
    while i < len(token):
        if token[i] in QUOTES:
            if i + 1 < len(token) and token[i + 1] in QUOTES:
                out.append(token[i])
                i += 2
                continue
            assert i == len(token) - 1, f"the string ends early at {i}: {token!r}"
            return "".join(out)
        out.append(token[i])
        i += 1
    raise AssertionError(f"unterminated: {token!r}")


printable = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1)


@given(printable)
def test_a_quoted_name_reads_back_as_itself(name):
    assert read_single_quoted(ps_quote(name)) == name


@given(st.tuples(printable, st.sampled_from("\n\r\t\x00\x1b\x7f\x85\u2028\u2029"), printable)
       .map("".join))
def test_text_with_control_characters_is_never_put_in_a_command(name):
    assert ps_quote(name) == CONNECTOR_PLACEHOLDER


@given(st.text())
def test_only_40_hex_digits_pass_as_a_thumbprint(text):
    result = thumbprint_or_placeholder(text)
    assert result == "<thumbprint>" or (len(result) == 40 and set(result) <= set("0123456789ABCDEF"))
