"""Get-ExchangeCertificate as a table of chosen columns (``| ft ... -AutoSize``, ``-Wrap``, ``Select-Object ... |
ft``), as the lab writes Windows PowerShell 5.1 and PowerShell 7 output: each shape reads, for the columns it
holds, as the Format-List export of the same certificates does; what the console cut is marked, or skipped and
counted; bad lines never crash the read."""

from __future__ import annotations

import io
import re
import shutil
import warnings

import pandas as pd
import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exlab.certs import read_certs
from exlab.certs import exchange_table
from exlab.certs.reader import detect_format
from exlab.errors import DataLossWarning, ExlabError, UnsupportedFormat
from exlab.evidence import open_evidence
from exlab.lab.cert_exports import ExchangeCert, write_format_table, write_list
from exlab.lab.transcripts import console_text, write_transcript
from tests.conftest import SAMPLES
from tests.fuzz.harness import TIME_LIMIT, time_limit

from .helpers import kb2888788_pair

CONTOSO = SAMPLES / "contoso-kb2888788" / "certs"
TZ = "Europe/Warsaw"
# property shown -> the frame's column it reads into
FRAME_COLUMNS = {"Services": "services", "Subject": "subject", "Issuer": "issuer", "NotBefore": "not_before",
                 "NotAfter": "not_after", "Status": "status", "RootCAType": "root_ca_type",
                 "CertificateDomains": "dns_names", "FriendlyName": "friendly_name",
                 "HasPrivateKey": "has_private_key", "IsSelfSigned": "is_self_signed",
                 "PublicKeySize": "public_key_size", "SerialNumber": "serial_number"}
SELECTED = ["Thumbprint", "Services", "Status", "RootCAType", "Subject", "Issuer", "NotBefore", "NotAfter",
            "CertificateDomains"]
# (columns, writer options): the shapes of the forum answers
SHAPES = {
    "ft -AutoSize": (["Thumbprint", "Services", "Subject", "Issuer", "NotAfter"], {"autosize": True, "width": 250}),
    "ft, the first certificate alone sizing the columns": (
        ["FriendlyName", "Thumbprint", "Services", "NotAfter", "Issuer"], {"width": 250, "first_batch": 1}),
    "ft, a console 120 wide": (["FriendlyName", "Thumbprint", "Services", "NotAfter", "Issuer"], {}),
    "Select-Object | ft -AutoSize": (SELECTED, {"autosize": True, "width": 300}),
    "ft -Wrap": (["Thumbprint", "Services", "Subject", "Issuer"], {"wrap": True}),
    "ft -Wrap, the first certificate alone sizing the columns": (
        ["Thumbprint", "Subject", "RootCAType", "NotBefore", "HasPrivateKey", "PublicKeySize"],
        {"wrap": True, "width": 250, "first_batch": 1}),
    "Select-Object | ft -AutoSize -Wrap": (SELECTED, {"autosize": True, "wrap": True, "width": 200}),
}


def _pair() -> list[ExchangeCert]:
    """The incident's two certificates as Get-ExchangeCertificate shows them (the internal one first)."""
    public, internal = kb2888788_pair()
    return [ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise",
                         friendly_name="Contoso internal", server="EXCHANGE"),
            ExchangeCert(public.certificate, services=("IIS", "SMTP"), friendly_name="mail.contoso.com 2024",
                         server="EXCHANGE")]


def _contoso() -> list[ExchangeCert]:
    """The contoso sample's four certificates, from its Exchange Management Shell CliXml (DER and facts)."""
    frame = _read(CONTOSO / "Get-ExchangeCertificate.xml")
    return [ExchangeCert(x509.load_der_x509_certificate(row.der), services=row.services, status=row.status,
                         root_ca_type=row.root_ca_type, friendly_name=row.friendly_name,
                         has_private_key=bool(row.has_private_key), server="EXCHANGE")
            for row in frame.itertuples()]


CERTS = {"kb2888788 pair": _pair, "contoso sample": _contoso}


def _read(source, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_certs(source, tz=TZ, **options)


def _table(certs: list[ExchangeCert], columns: list[str], **options) -> bytes:
    out = io.BytesIO()
    write_format_table(certs, out, columns, tz=TZ, **options)
    return out.getvalue()


def _text(data: bytes) -> str:
    return data[2:].decode("utf-16-le") if data[:2] == b"\xff\xfe" else data.decode("utf-8")


def _listed(which: str, culture: str) -> pd.DataFrame:
    """The Format-List of the same certificates: the contoso sample's own ``fl *`` export (pl-PL), else the
    lab's ``fl *`` in ``culture``."""
    if which == "contoso sample" and culture == "pl-PL":
        return _read(CONTOSO / "Get-ExchangeCertificate-fl.txt", culture=culture)
    out = io.BytesIO()
    write_list(CERTS[which](), out, culture=culture, tz=TZ, all_properties=True)
    return _read(io.BytesIO(out.getvalue()), culture=culture)


def _shown(text: str) -> list[str]:
    """The labels of a table whose labels are on one line (the line above the first line of dashes)."""
    lines = text.splitlines()
    dashes = next(number for number, line in enumerate(lines) if line.lstrip().startswith("--"))
    assert all(len(label) == len(run) for label, run in zip(lines[dashes - 1].split(), lines[dashes].split()))
    return lines[dashes - 1].split()


def _assert_reads_as_the_list(table: pd.DataFrame, listed: pd.DataFrame, shown: list[str]) -> None:
    """Each column the table shows holds the list's value; one the console cut is a note's, and the value
    is then the list's as far as it is shown (text) or NA."""
    notes = table.attrs["parse_report"].files[0].warnings
    table, listed = table.set_index("thumbprint"), listed.set_index("thumbprint")
    assert set(table.index) == set(listed.index)
    for label in (label for label in shown if label in FRAME_COLUMNS):
        column = FRAME_COLUMNS[label]
        for thumbprint in table.index:
            got, want = table.loc[thumbprint, column], listed.loc[thumbprint, column]
            if str(got) == str(want):
                continue
            assert any(f"{label} cut by the console width" in note for note in notes), (label, got, want)
            if isinstance(got, str):
                assert want.startswith(got.removesuffix("...").removesuffix("\u2026")), (label, got, want)
            elif column == "dns_names":
                assert set(got) < set(want), (label, got, want)
            else:
                assert pd.isna(got), (label, got, want)


@pytest.mark.parametrize("windows_powershell", [True, False], ids=["5.1", "7"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("which", CERTS)
def test_each_table_shape_reads_as_the_format_list_of_the_same_certificates(which, shape, windows_powershell):
    columns, options = SHAPES[shape]
    culture = "pl-PL" if which == "contoso sample" else "en-US"
    data = _table(CERTS[which](), columns, culture=culture, windows_powershell=windows_powershell, **options)
    table = _read(io.BytesIO(data), culture=culture)
    report = table.attrs["parse_report"].files[0]
    assert report.format == "exchange-table" and report.records_skipped == 0
    assert report.records_read == len(CERTS[which]())
    _assert_reads_as_the_list(table, _listed(which, culture), _shown(_text(data)))


def test_the_shapes_show_what_the_console_does():
    """The shapes above hold what they are there for: values cut (``...`` in 5.1, ``…`` in 7), columns
    dropped where the console is too narrow, values wrapped over lines, numbers right-aligned."""
    certs = _contoso()
    columns, options = SHAPES["ft, a console 120 wide"]
    cut = _text(_table(certs, columns, culture="pl-PL", **options))
    assert _shown(cut) == ["FriendlyName", "Thumbprint", "Services", "NotAfter"] and "..." in cut
    seven = _text(_table(certs, columns, culture="pl-PL", windows_powershell=False, **options))
    assert "\u2026" in seven and "..." not in seven
    columns, options = SHAPES["ft -Wrap"]
    wrapped = _text(_table(certs, columns, culture="pl-PL", **options)).split("\r\n")
    assert len(wrapped) > 1 + 2 + 2 * 4 + 2 and not any("..." in line for line in wrapped)
    numbers = _text(_table(certs, ["Thumbprint", "PublicKeySize"], width=80)).split("\r\n")
    assert numbers[1].endswith(" PublicKeySize") and numbers[3] == f"{certs[0].thumbprint} {'2048':>13}"


@pytest.mark.parametrize(("culture", "written"), [("en-US", "3/14/2027 9:02:05 AM"), ("en-GB", "14/03/2027 09:02:05"),
                                                  ("de-DE", "14.03.2027 09:02:05")])
def test_dates_read_in_the_servers_culture_and_time_zone(culture, written):
    data = _table(_pair(), ["Thumbprint", "NotBefore", "NotAfter"], autosize=True, culture=culture)
    assert written in _text(data)
    table = _read(io.BytesIO(data), culture=culture if culture == "en-GB" else None)
    _assert_reads_as_the_list(table, _listed("kb2888788 pair", culture), ["NotBefore", "NotAfter"])
    report = table.attrs["parse_report"].files[0]
    assert report.assumed_tz == TZ
    assert [note for note in report.warnings if note.startswith("day/month order")] == [
        f"day/month order: {'month' if culture == 'en-US' else 'day'} first, "
        + ("given (culture=en-GB given)" if culture == "en-GB" else f"settled by the values ('{written}' has a day "
                                                                     "above 12)")]


def test_a_cut_subject_is_marked_and_the_merge_with_the_cer_keeps_the_whole_one(tmp_path):
    """A console 80 wide: the Subject column shrinks to what is left, every subject is cut."""
    data = _table(_contoso(), ["Thumbprint", "Services", "Subject"], autosize=True, width=80, culture="pl-PL")
    (tmp_path / "ft.txt").write_bytes(data)
    alone = _read(tmp_path / "ft.txt").set_index("thumbprint")
    assert alone["subject"].tolist() == ["CN=mail.contos...", "CN=mail.contos...", "CN=EXCHANGE", "CN=Microsoft E..."]
    assert "line 4: Subject cut by the console width; kept as shown" in alone.attrs["parse_report"].files[0].warnings
    for cer in ("mail.contoso.com-2024.cer", "mail.contoso.com-internal.cer"):
        shutil.copy(CONTOSO / cer, tmp_path / cer)
    merged = _read(tmp_path).set_index("thumbprint")
    listed = _listed("contoso sample", "pl-PL").set_index("thumbprint")
    with_cer = merged["der"].notna()
    assert with_cer.sum() == 2
    assert merged.loc[with_cer, "subject"].tolist() == listed.loc[merged.index[with_cer], "subject"].tolist()
    assert merged.loc[with_cer, "services"].tolist() == listed.loc[merged.index[with_cer], "services"].tolist()
    assert merged["conflicts"].tolist() == [()] * 4


def test_a_cut_thumbprint_skips_the_row_counted_and_warned_once(tmp_path):
    """``ft Subject,Issuer,Thumbprint`` in a console 120 wide: the Thumbprint, last, is cut to what is left."""
    path = tmp_path / "ft.txt"
    path.write_bytes(_table(_contoso(), ["Subject", "Issuer", "Thumbprint"], autosize=True, culture="pl-PL"))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        frame = read_certs(path, tz=TZ)
    report = frame.attrs["parse_report"].files[0]
    assert frame.empty and report.records_read == 0 and report.records_skipped == 4
    assert [loss.where for loss in report.losses] == ["line 4", "line 5", "line 6", "line 7"]
    assert report.losses[0].reason.startswith("its Thumbprint is cut by the console width ('432CF04CD2616E0B...')")
    losses = [w for w in said if issubclass(w.category, DataLossWarning)]
    assert len(losses) == 1 and losses[0].filename == str(path) and losses[0].lineno == 4


def test_a_whole_identity_names_the_certificate_of_a_cut_thumbprint():
    data = _table(_contoso(), ["Identity", "Subject", "Thumbprint"], autosize=True, culture="pl-PL")
    frame = _read(io.BytesIO(data))
    assert sorted(frame["thumbprint"]) == sorted(cert.thumbprint for cert in _contoso())
    assert set(frame["server"]) == {"EXCHANGE"} and frame.attrs["parse_report"].records_skipped == 0


@pytest.mark.parametrize("style", ["transcript", "console copy"])
def test_ft_autosize_output_in_a_transcript_is_read(tmp_path, style):
    command = "Get-ExchangeCertificate | ft Thumbprint,Services,Subject,NotAfter -AutoSize"
    table = _text(_table(_contoso(), ["Thumbprint", "Services", "Subject", "NotAfter"], autosize=True,
                         width=200, culture="pl-PL"))
    connectors = ("\r\nName                   Fqdn\r\n----                   ----\r\n"
                  "Outbound to Office 365 mail.contoso.com\r\n\r\n\r\n")
    commands = [("Get-Date", "\r\nWednesday, 15 October 2025 09:30:17\r\n\r\n\r\n"), (command, table),
                ("Get-SendConnector | ft Name,Fqdn", connectors)]
    if style == "transcript":
        path = write_transcript(tmp_path, commands, machine="EXCHANGE")
    else:
        path = tmp_path / "console.txt"
        path.write_bytes(console_text(commands).encode("utf-8"))
    frame = _read(path)
    report = frame.attrs["parse_report"].files[0]
    assert report.records_read == 4 and report.records_skipped == 0
    assert f"read as Get-ExchangeCertificate output: {command!r}" in report.warnings[0]
    _assert_reads_as_the_list(frame, _listed("contoso sample", "pl-PL"), ["Services", "Subject", "NotAfter"])


def test_a_table_is_this_format_by_its_thumbprint_column_and_no_other_export_is():
    """Detection takes a table with a Thumbprint column, not one without (UnsupportedFormat, not a crash), nor
    ``Get-SendConnector | ft``, nor any events, logs or settings export of the sample cases."""
    shown = _table(_contoso(), ["Subject", "Services", "Thumbprint", "NotAfter"], autosize=True, culture="pl-PL")
    assert detect_format(open_evidence(io.BytesIO(shown)))[1] == "exchange-table"
    hidden = _table(_contoso(), ["Subject", "Services", "NotAfter"], autosize=True, culture="pl-PL")
    with pytest.raises(UnsupportedFormat, match="the first bytes"):
        read_certs(io.BytesIO(hidden))
    connectors = ("\r\nName                   SmartHosts                                  RequireTLS\r\n"
                  "----                   ----------                                  ----------\r\n"
                  "Outbound to Office 365 {contoso-com.mail.protection.outlook.com}       True\r\n\r\n")
    with pytest.raises(UnsupportedFormat):
        detect_format(open_evidence(io.BytesIO(connectors.encode("utf-16"))))
    others = [path for path in SAMPLES.rglob("*") if path.is_file() and "certs" not in path.parts
              and "ExchangeCertificate" not in path.name]
    assert len(others) > 20
    for path in others:
        head = path.read_bytes()[:64 * 1024]
        text = head.decode("utf-16") if head[:2] == b"\xff\xfe" else head.decode("utf-8", "replace")
        assert exchange_table.sniff(head, text) is None, path


def test_lines_that_do_not_fit_the_columns_are_skipped_counted_and_warned_once(tmp_path):
    """A tab, a line shifted across a column boundary, a line cut short (5.1 pads every line to the
    table's width); the other rows are read."""
    lines = _text(_table(_contoso(), ["Thumbprint", "Services", "Subject"], autosize=True,
                         culture="pl-PL")).split("\r\n")
    lines[4] = lines[4].replace("  ", "\t", 1)
    lines[5] = " " + lines[5][:-1]
    lines[6] = lines[6][:60]
    path = tmp_path / "ft.txt"
    path.write_bytes(b"\xff\xfe" + "\r\n".join(lines).encode("utf-16-le"))
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        frame = read_certs(path, tz=TZ)
    report = frame.attrs["parse_report"].files[0]
    assert len(frame) == 1 and report.records_read == 1 and report.records_skipped == 3
    assert [(loss.where, loss.reason.split(":")[0]) for loss in report.losses] == [
        ("line 5", "a tab in the line"), ("line 6", "text across the boundary after Thumbprint (character 41)"),
        ("line 7", f"60 characters where the table's lines have {len(lines[3])}")]
    assert len([w for w in said if issubclass(w.category, DataLossWarning) and w.filename == str(path)]) == 1


# ----------------------------------------------------------------------------- the writer

def test_windows_powershell_pads_every_line_and_powershell_7_trims_them():
    certs = _pair()
    five = _table(certs, ["Thumbprint", "Subject", "HasPrivateKey"], autosize=True)
    seven = _table(certs, ["Thumbprint", "Subject", "HasPrivateKey"], autosize=True, windows_powershell=False)
    assert five[:2] == b"\xff\xfe" and seven[:3] != b"\xef\xbb\xbf"
    five_lines, seven_lines = _text(five).split("\r\n"), _text(seven).split("\r\n")
    assert five_lines[0] == seven_lines[0] == "" and five_lines[-3:] == ["", "", ""] and seven_lines[-2:] == ["", ""]
    assert {len(line) for line in five_lines if line} == {40 + 1 + 36 + 1 + 13}
    assert five_lines[1] == "Thumbprint" + " " * 31 + "Subject" + " " * 30 + "HasPrivateKey"
    assert five_lines[3] == f"{certs[0].thumbprint} CN=mail.contoso.com" + " " * 18 + " " * 9 + "True"
    assert seven_lines[3] == five_lines[3] and "\n" not in _text(seven).replace("\r\n", "")
    sized = _text(_table(certs, ["Thumbprint", "Subject"], width=80, first_batch=1, windows_powershell=False))
    assert sized.split("\r\n")[3:5] == [f"{certs[0].thumbprint} CN=mail.contoso.com",
                                       f"{certs[1].thumbprint} CN=mail.contoso.co\u2026"]


def test_wrap_breaks_between_words_in_english_and_at_the_width_in_polish():
    certs = _pair()
    english = _text(_table(certs, ["Thumbprint", "Issuer"], wrap=True, width=70)).split("\r\n")
    polish = _text(_table(certs, ["Thumbprint", "Issuer"], wrap=True, width=70, culture="pl-PL")).split("\r\n")
    assert [line[41:] for line in english[3:7]] == ["CN=Contoso Issuing CA 01,   ", "DC=contoso, DC=com          ",
                                                    "CN=exlab Lab Public Server  ", "CA 01, O=exlab lab, C=US    "]
    assert [line[41:] for line in polish[3:7]] == ["CN=Contoso Issuing CA 01, DC", "=contoso, DC=com            ",
                                                   "CN=exlab Lab Public Server C", "A 01, O=exlab lab, C=US     "]


# ----------------------------------------------------------------------------- bad input

SEEDS = {"5.1 -AutoSize": (["Thumbprint", "Services", "Subject", "NotAfter"], {"autosize": True, "width": 200}),
         "5.1 -Wrap": (["Thumbprint", "Services", "Subject", "Issuer"], {"wrap": True}),
         "7 cut": (["FriendlyName", "Thumbprint", "Services", "NotAfter", "Issuer"],
                   {"width": 140, "windows_powershell": False})}
MUTATIONS = st.lists(st.tuples(
    st.sampled_from(["delete", "repeat", "cut", "insert", "tab", "join", "blank", "shift"]),
    st.integers(0, 40), st.integers(0, 200),
    st.text(alphabet=st.sampled_from(list(" -.\t\u2026,{}ABCDEF0123456789=")), max_size=12)),
    min_size=1, max_size=6)


def _mutated(text: str, mutations: list[tuple[str, int, int, str]]) -> str:
    lines = text.split("\r\n")
    for kind, line, at, piece in mutations:
        number = line % len(lines)
        target = lines[number]
        if kind == "delete":
            del lines[number]
        elif kind == "repeat":
            lines.insert(number, target)
        elif kind == "cut":
            lines[number] = target[:at]
        elif kind == "insert":
            lines[number] = target[:at] + piece + target[at:]
        elif kind == "tab":
            lines[number] = target[:at] + "\t" + target[at + 1:]
        elif kind == "join" and number + 1 < len(lines):
            lines[number:number + 2] = [target + lines[number + 1]]
        elif kind == "blank":
            lines[number] = " " * len(target)
        elif kind == "shift":
            lines[number] = " " * (at % 5 + 1) + target
        if not lines:
            lines = [""]
    return "\r\n".join(lines)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(SEEDS)), mutations=MUTATIONS)
def test_mutated_tables_end_in_rows_or_an_exlab_error_naming_the_file(seed, mutations, tmp_path_factory):
    columns, options = SEEDS[seed]
    table = _text(_table(_contoso(), columns, culture="pl-PL", **options))
    text = _mutated(table, mutations)
    path = tmp_path_factory.mktemp("mutated") / "ft.txt"
    path.write_bytes(text.encode("utf-8"))
    try:
        with warnings.catch_warnings(), time_limit(TIME_LIMIT):
            warnings.simplefilter("ignore")
            frame = read_certs(path, tz=TZ, culture="pl-PL")
    except ExlabError as err:
        assert str(path) in (err.source or "")
        # with its blank line, header and dashes whole it is still a table, whatever its rows became
        head, lines = table.split("\r\n")[:3], text.split("\r\n")
        assert not isinstance(err, UnsupportedFormat) or all(lines[at:at + 3] != head for at in range(len(lines)))
        return
    report = frame.attrs["parse_report"].files[0]
    assert frame["thumbprint"].str.fullmatch(r"[0-9A-F]{40}").all() and len(frame) <= report.records_read
    # no silent loss: a row (a whole thumbprint first) under the dashes is read, or skipped at its line
    lines = text.split("\r\n")
    dashes = next((number for number, line in enumerate(lines, 1) if line.startswith("---")), len(lines))
    skipped = {loss.where for loss in report.losses}
    for number, line in enumerate(lines[dashes:], dashes + 1):
        if re.match(r"[0-9A-F]{40}(?: |$)", line):
            assert line[:40] in set(frame["thumbprint"]) or f"line {number}" in skipped, (number, line)
