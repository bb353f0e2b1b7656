"""The case's settings file: read once for every notebook and command, never a lab value passed off
as a real one, and a file exlab cannot use named with the key at fault."""

from __future__ import annotations

import hashlib
import shutil
import sys

import pytest

import exlab
from exlab.case import evidence_files
from exlab.errors import ExlabError
from exlab.lab.generate import ROOTS_FILE
from exlab.settings import SETTINGS_FILE, case_settings, read_settings
from tests.conftest import SAMPLES
from tests.samples import sample_cases


def test_a_case_without_settings_knows_nothing_it_was_not_told(tmp_path):
    settings = read_settings(tmp_path)
    assert settings.unknown == ("connector", "culture", "roots", "server_fqdn", "tz")
    assert settings.origin == {}


@pytest.mark.parametrize("case", sample_cases(), ids=lambda c: c.name)
def test_each_sample_case_carries_its_time_zone_and_the_lab_root(case):
    settings = read_settings(case.folder)
    assert (settings.tz, settings.roots) == (case.truth["tz"], case.roots)
    assert settings.unknown == ("connector", "culture", "server_fqdn")   # left to the evidence


def test_open_case_takes_what_it_was_not_given_from_the_settings_file():
    case = next(c for c in sample_cases() if c.name == "contoso-kb2888788")
    opened = exlab.open_case(case.folder)
    assert opened.tz == "Europe/Warsaw" and opened.roots == case.roots
    assert opened.diagnose().culprit == case.truth["culprit"]     # the lab root judged the public certificate
    assert opened.unread["file"].tolist() == ["truth.json"]     # the settings are no evidence, and read
    assert exlab.open_case(case.folder, tz="UTC").tz == "UTC"    # a value given wins


def test_the_settings_and_trust_anchors_are_inputs_hashed_but_never_evidence():
    case = next(c for c in sample_cases() if c.name == "contoso-kb2888788")
    opened = exlab.open_case(case.folder)
    inputs = opened.reports.to_frame().set_index("file")
    for name, role in ((SETTINGS_FILE, "case settings"), (ROOTS_FILE, f"extra trust anchors (PEM), named by {SETTINGS_FILE}")):
        assert inputs.loc[name, "format"] == role
        assert inputs.loc[name, "sha256"] == hashlib.sha256((case.folder / name).read_bytes()).hexdigest()
    assert not opened.certs["source"].str.contains(ROOTS_FILE).any()     # the lab root is not a certificate of the case
    assert {f.file for f in evidence_files(opened.reports)} == set(inputs.index) - {SETTINGS_FILE, ROOTS_FILE}
    given = exlab.open_case(case.folder, roots=SAMPLES / ROOTS_FILE)      # another file given: the case's is not used
    inputs = given.reports.to_frame().set_index("file")
    assert inputs.loc[ROOTS_FILE, "format"] == "extra trust anchors (PEM), given by the caller"
    assert given.unread.set_index("file").loc[ROOTS_FILE, "reason"] == (
        f"trust anchors named by {SETTINGS_FILE}, not used: others were given")
    assert not given.certs["source"].str.contains(ROOTS_FILE).any()


@pytest.mark.parametrize("written", ["../lab-public-root.pem", "/etc/ssl/certs/ca-certificates.crt", "link.pem"])
def test_a_settings_file_cannot_reach_out_of_its_case_for_trust_anchors(tmp_path, written):
    # a settings file that came with someone else's evidence must not make a root trusted from elsewhere
    shutil.copy(SAMPLES / ROOTS_FILE, tmp_path / ROOTS_FILE)
    case = tmp_path / "case"
    case.mkdir()
    (case / "link.pem").symlink_to(tmp_path / ROOTS_FILE)
    (case / SETTINGS_FILE).write_text(f'roots = "{written}"\n', encoding="utf-8")
    with pytest.raises(ExlabError) as caught:
        read_settings(case)
    assert caught.value.where == "key roots" and "inside the case folder" in caught.value.expected
    assert "--roots" in caught.value.detail


def test_given_values_win_and_say_so(tmp_path):
    (tmp_path / SETTINGS_FILE).write_text('tz = "Europe/Berlin"\nconnector = "To EXO"\n', encoding="utf-8")
    settings = case_settings(tmp_path, tz="UTC", culture=None)
    assert (settings.tz, settings.connector) == ("UTC", "To EXO")
    assert settings.origin == {"tz": "given", "connector": SETTINGS_FILE}


@pytest.mark.parametrize(("text", "where", "expected"), [
    ('tz = "Europe/Warsaw\n', None, "TOML"),
    ("tz = 1\n", "key tz", "the servers' time zone as text in quotes"),
    ('timezone = "UTC"\n', "key timezone", "one of tz, culture"),
    ('roots = "missing.pem"\n', "key roots", "a PEM file of extra trust anchors"),
    ('tz = "CET+1"\n', "key tz", "an IANA time zone"),
    ('tz = "../../etc/passwd"\n', "key tz", "an IANA time zone"),
    ('culture = "xx-XX"\n', "key culture", "one of the cultures en-US"),
    ("x = " + "[" * 20_000 + "]" * 20_000 + "\n", None, "TOML"),     # tomllib recurses: RecursionError
    ("# " + "x" * 70_000 + "\n", "byte 65536", "a settings file of a few lines"),
])
def test_a_settings_file_exlab_cannot_use_is_named_with_the_key_at_fault(tmp_path, text, where, expected):
    (tmp_path / SETTINGS_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(ExlabError) as caught:
        read_settings(tmp_path)
    assert caught.value.source == str(tmp_path / SETTINGS_FILE)
    assert caught.value.where == where and expected in caught.value.expected


def test_a_bad_value_of_the_settings_file_stops_open_case_naming_the_file_and_key(tmp_path):
    (tmp_path / SETTINGS_FILE).write_text('tz = "Europe/Warsav"\n', encoding="utf-8")
    with pytest.raises(ExlabError) as caught:
        exlab.open_case(tmp_path)
    assert (caught.value.source, caught.value.where) == (str(tmp_path / SETTINGS_FILE), "key tz")
    with pytest.raises(ExlabError) as caught:       # the file is refused even where a value given overrides it
        exlab.open_case(tmp_path, tz="Europe/Warsaw")
    assert caught.value.where == "key tz"
    (tmp_path / SETTINGS_FILE).unlink()
    with pytest.raises(ExlabError) as caught:
        exlab.open_case(tmp_path, tz="Mars/Olympus")      # a value given is named as given
    assert (caught.value.source, caught.value.where) == ("Mars/Olympus", "the time zone asked for")
    assert exlab.open_case(SAMPLES / "contoso-kb2888788", tz="Europe/Berlin").tz == "Europe/Berlin"


def test_a_settings_file_with_a_bom_and_crlf_is_read(tmp_path):
    shutil.copy(SAMPLES / "lab-public-root.pem", tmp_path / "root.pem")
    (tmp_path / SETTINGS_FILE).write_bytes('\ufefftz = "Australia/Perth"\r\nroots = "root.pem"\r\n'.encode("utf-8"))
    settings = read_settings(tmp_path)
    assert settings.tz == "Australia/Perth" and settings.roots == (tmp_path / "root.pem").resolve()


_SETTINGS_OPENS: list[str] | None = None     # the callers of each open of a settings file, while a test counts


def _count_settings_opens(event, args):
    if _SETTINGS_OPENS is not None and event == "open" and str(args[0]).endswith(SETTINGS_FILE):
        _SETTINGS_OPENS.append(sys._getframe(1).f_code.co_name)


@pytest.fixture
def settings_opens():
    """The functions that open a settings file while the test runs (an audit hook: every open counts)."""
    global _SETTINGS_OPENS
    if not getattr(settings_opens, "hooked", False):
        sys.addaudithook(_count_settings_opens)     # hooks cannot be removed: this one counts only when asked
        settings_opens.hooked = True
    _SETTINGS_OPENS = []
    yield _SETTINGS_OPENS
    _SETTINGS_OPENS = None


@pytest.mark.parametrize("case", sample_cases(), ids=lambda c: c.name)
def test_open_case_reads_the_settings_file_once_and_reports_those_bytes_once(case, settings_opens):
    opened = exlab.open_case(case.folder)
    # listing the folder looks at every file's first bytes for a zip (is_bundle): not a read of the settings
    assert [caller for caller in settings_opens if caller != "is_bundle"] == ["open"]   # Path.read_bytes' open
    data = (case.folder / SETTINGS_FILE).read_bytes()
    rows = opened.reports.to_frame().query("file == @SETTINGS_FILE")
    assert rows[["sha256", "size", "format"]].values.tolist() == [
        [hashlib.sha256(data).hexdigest(), len(data), "case settings"]]
    assert opened.tz == case.truth["tz"] and opened.roots == case.roots


def test_a_notebook_reads_the_settings_file_once_and_says_where_each_value_came_from(settings_opens, monkeypatch):
    import exlab.notebook

    said: list[str] = []
    monkeypatch.setattr(exlab.notebook, "_display_markdown", said.append)
    case = next(c for c in sample_cases() if c.name == "contoso-kb2888788")
    opened = exlab.notebook.start(case.folder, progress=False, connector="Outbound to Office 365")
    assert [caller for caller in settings_opens if caller != "is_bundle"] == ["open"]
    assert opened.settings.origin == {"tz": SETTINGS_FILE, "roots": SETTINGS_FILE, "connector": "given"}
    assert "Europe/Warsaw (from exlab-case.toml)" in said[0]
    assert "Outbound to Office 365 (from the notebook parameters)" in said[0]


def test_a_notebook_opened_with_several_trust_anchor_files_names_them(monkeypatch):
    import exlab.notebook

    said: list[str] = []
    monkeypatch.setattr(exlab.notebook, "_display_markdown", said.append)
    case = next(c for c in sample_cases() if c.name == "contoso-kb2888788")
    roots = [case.folder / ROOTS_FILE, str(case.folder / ROOTS_FILE)]     # roots= takes a list, as open_case does
    opened = exlab.notebook.start(case.folder, progress=False, roots=roots)
    assert opened.diagnose().verdict == case.truth["verdict"]
    assert f"extra trust anchors {ROOTS_FILE}, {ROOTS_FILE} (from the notebook parameters)" in said[0]


def test_a_settings_file_is_read_as_text_files_are_read(tmp_path):
    # the bytes read once are decoded as Path.read_text decodes them: a lone CR is a line break too
    data = b'tz = "UTC"\rculture = "en-AU"\r\n'
    (tmp_path / SETTINGS_FILE).write_bytes(data)
    settings = read_settings(tmp_path)
    assert (settings.tz, settings.culture) == ("UTC", "en-AU")
    assert (settings.sha256, settings.size) == (hashlib.sha256(data).hexdigest(), len(data))
