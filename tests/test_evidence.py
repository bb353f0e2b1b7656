"""``exlab.evidence``: a case folder is read within itself, and output never lands on evidence."""

from __future__ import annotations

import os
import shutil
import warnings

import pytest

import exlab
import exlab.cli
from exlab.case import discover, open_case
from exlab.commands.export import export_target
from exlab.errors import ExlabError, ExlabWarning
from exlab.evidence import expand, outside_evidence, walk
from exlab.lab.pki import LabPki
from tests.samples import sample_cases

CONTOSO = next(case for case in sample_cases() if case.name == "contoso-kb2888788")
LEAVES = "a link to a file outside the folder: not followed (follow_links reads it)"


@pytest.fixture
def linked_case(tmp_path):
    """A case folder of one certificate, with a link to a certificate outside it (as a system
    CA bundle would be) and a link to a folder outside it."""
    outside = tmp_path / "system"
    outside.mkdir()
    pki = LabPki("confine")
    (outside / "ca-bundle.cer").write_bytes(pki.public_root.der)
    case = tmp_path / "case"
    (case / "certs").mkdir(parents=True)
    shutil.copy(CONTOSO.folder / "certs" / "mail.contoso.com-internal.cer", case / "certs")
    (case / "certs" / "roots.cer").symlink_to(outside / "ca-bundle.cer")
    (case / "more").symlink_to(outside, target_is_directory=True)
    return case, pki


def test_a_link_out_of_the_case_is_refused_with_a_warning_naming_the_link(linked_case):
    case, pki = linked_case
    with pytest.warns(ExlabWarning) as caught:
        opened = open_case(case)
    texts = [str(w.message) for w in caught]
    assert f"not read: {LEAVES}" in texts
    assert "not read: a link to a folder outside the folder: not followed (follow_links reads it)" in texts
    assert {w.filename for w in caught} >= {"certs/roots.cer", "more"}
    assert not any("system" in text for text in texts)          # the target's path is never shown
    assert list(opened.certs["source"]) == ["certs/mail.contoso.com-internal.cer"]
    assert pki.public_root.subject not in set(opened.certs["subject"])
    unread = dict(zip(opened.unread["file"], opened.unread["reason"]))
    assert unread["certs/roots.cer"] == LEAVES


def test_follow_links_reads_what_the_links_point_to(linked_case):
    case, pki = linked_case
    opened = open_case(case, follow_links=True)
    assert sorted(opened.certs["source"].str.split("; ").explode()) == [
        "certs/mail.contoso.com-internal.cer", "certs/roots.cer", "more/ca-bundle.cer"]
    assert len(opened.unread) == 0


def test_readers_given_a_folder_stay_in_it_but_read_a_link_named_by_the_user(linked_case):
    case, _ = linked_case
    with pytest.warns(ExlabWarning, match="outside the folder"):
        assert [p.name for p in expand(case)] == ["mail.contoso.com-internal.cer"]
    assert exlab.read_certs(case / "certs" / "roots.cer")["source"].tolist() == [str(case / "certs" / "roots.cer")]
    assert [p.relative_to(case).as_posix() for p in expand(case, follow_links=True)] == [
        "certs/mail.contoso.com-internal.cer", "certs/roots.cer", "more/ca-bundle.cer"]


def test_a_link_inside_the_case_is_read_and_a_loop_ends(tmp_path):
    (tmp_path / "certs").mkdir()
    shutil.copy(CONTOSO.folder / "certs" / "mail.contoso.com-internal.cer", tmp_path / "certs")
    (tmp_path / "certs" / "again").symlink_to(tmp_path, target_is_directory=True)   # a loop
    (tmp_path / "dangling.cer").symlink_to(tmp_path / "gone.cer")
    found = walk(tmp_path, follow_links=True)
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == ["certs/mail.contoso.com-internal.cer"]
    assert [(p.name, why) for p, why in found.passed_over] == [
        ("dangling.cer", "a link to nothing (its target does not exist)")]


def test_a_pipe_in_the_case_is_passed_over_not_read(tmp_path):
    shutil.copy(CONTOSO.folder / "certs" / "mail.contoso.com-internal.cer", tmp_path)
    os.mkfifo(tmp_path / "evil.cer")            # reading it would wait for ever
    found, unread = discover(tmp_path)
    assert [p.name for p in found["certs"]] == ["mail.contoso.com-internal.cer"]
    assert unread == [{"file": str(tmp_path / "evil.cer"), "reason": "not a regular file (a pipe, a socket or a device)"}]


def test_an_output_hard_linked_to_evidence_is_refused(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    evidence = case / "Application.xml"
    evidence.write_text("<Events/>")
    os.link(evidence, tmp_path / "out.csv")
    with pytest.raises(ExlabError, match="same file as one of the evidence"):
        outside_evidence(tmp_path / "out.csv", [case])
    with pytest.raises(ExlabError, match="same file as one of the evidence"):
        export_target(tmp_path / "out.csv", [evidence])
    (tmp_path / "elsewhere.csv").symlink_to(evidence)
    with pytest.raises(ExlabError, match="outside the evidence folder"):
        export_target(tmp_path / "elsewhere.csv", [case])
    assert export_target(tmp_path / "fresh.csv", [case]) == (tmp_path / "fresh.csv").resolve()


def test_the_cli_refuses_a_hard_linked_output_and_leaves_the_evidence(tmp_path, capsys):
    case = tmp_path / "case"
    shutil.copytree(CONTOSO.folder / "certs", case)
    evidence = case / "Get-ExchangeCertificate-fl.txt"
    before = evidence.read_bytes()
    os.link(evidence, tmp_path / "certs.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert exlab.cli.main(["certs", str(case), "-o", str(tmp_path / "certs.csv")]) == 1
    assert "same file as one of the evidence" in capsys.readouterr().err
    assert evidence.read_bytes() == before


def _without_waiting(call, pipe):
    """What ``call`` returned or raised; a call still waiting on ``pipe`` after 20 s fails the test
    (and is let go: a writer opened and closed gives it an end of file)."""
    import threading

    outcome: list = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as err:      # noqa: BLE001 - what the call raised is the outcome
            outcome.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(20)
        pytest.fail("waited on the pipe for a writer")
    return outcome[0]


@pytest.mark.parametrize("named_as", ["events", "certs", "protocol logs", "connectors", "roots of a case",
                                      "roots of a judgement", "the events command"])
def test_a_pipe_named_as_evidence_or_roots_is_refused_naming_it_without_waiting_for_a_writer(tmp_path, named_as, capsys):
    # a pipe named by the user (not found in a folder) was opened: is_bundle and the hash of the roots
    # waited for ever for a writer
    pipe = tmp_path / ("evil.pem" if "roots" in named_as else "evil.evtx")
    os.mkfifo(pipe)
    case = CONTOSO.folder
    call = {"events": lambda: exlab.read_events(pipe), "certs": lambda: exlab.read_certs(pipe),
            "protocol logs": lambda: exlab.read_protocol_log(pipe), "connectors": lambda: exlab.read_connectors(pipe),
            "roots of a case": lambda: open_case(case, roots=pipe),
            "roots of a judgement": lambda: exlab.judge_trust(exlab.read_certs(case / "certs"), roots=pipe),
            "the events command": lambda: exlab.cli.main(["events", str(pipe)])}[named_as]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        outcome = _without_waiting(call, pipe)
    if named_as == "the events command":
        assert outcome == 1
        assert capsys.readouterr().err == f"exlab: {pipe}: expected a regular file or a folder (a pipe, a socket or a device)\n"
    else:
        assert isinstance(outcome, ExlabError) and outcome.source == str(pipe)
        assert "a pipe, a socket or a device" in str(outcome) or named_as == "roots of a judgement"


def test_evidence_nested_deeper_than_python_recurses_is_found_and_read(tmp_path):
    # walk visited folders by recursion: 1,500 nested folders (a copied tree, an unpacked archive of
    # archives) stopped every command with RecursionError
    folders = [tmp_path / "a"]
    for _ in range(1199):                     # one by one: pathlib's mkdir(parents=True) and rmtree recurse too
        folders.append(folders[-1] / "a")
    for folder in folders:
        folder.mkdir()
    deep = folders[-1]
    try:
        shutil.copy(CONTOSO.folder / "certs" / "mail.contoso.com-internal.cer", deep)
        os.mkfifo(deep / "evil.cer")
        (deep / "up").symlink_to(tmp_path, target_is_directory=True)          # a loop from the bottom
        found = walk(tmp_path, follow_links=True)
        assert found.files == [deep / "mail.contoso.com-internal.cer"]
        assert found.passed_over == [(deep / "evil.cer", "not a regular file (a pipe, a socket or a device)")]
        certs = exlab.read_certs(tmp_path)
        assert certs["source"].tolist() == [str(deep / "mail.contoso.com-internal.cer")]
    finally:
        for name in ("mail.contoso.com-internal.cer", "evil.cer", "up"):
            (deep / name).unlink(missing_ok=True)
        for folder in reversed(folders):
            folder.rmdir()


def test_walk_lists_folders_in_name_order_depth_first_and_warns_in_that_order(tmp_path):
    for folder in ("b/c", "a", "b/a"):
        (tmp_path / folder).mkdir(parents=True)
    for name in ("b/c/dangling", "b/dangling", "a/dangling", "dangling", "b/a/dangling"):
        (tmp_path / name).symlink_to(tmp_path / "gone")
    for name in ("b/c/x.cer", "b/x.cer", "a/x.cer", "x.cer"):
        (tmp_path / name).write_bytes(b"")
    found = walk(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == ["a/x.cer", "b/c/x.cer", "b/x.cer", "x.cer"]
    assert [p.relative_to(tmp_path).as_posix() for p, _ in found.passed_over] == [
        "a/dangling", "b/a/dangling", "b/c/dangling", "b/dangling", "dangling"]
