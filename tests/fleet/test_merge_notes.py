"""A disagreement the store's merge finds across batches (``fleet.read.merge_certs``) is noted in the
report of the file that says otherwise, found by the file names the report holds, whatever the names
hold: a file name with "; " in it (the separator of a ``source`` cell that lists several files) too."""

from __future__ import annotations

from exlab.certs.schema import certs_frame
from exlab.fleet.read import merge_certs
from exlab.parse_report import ParseReport

THUMBPRINT = "AB" * 20


def _conflicts(report: ParseReport) -> dict[str, list[str]]:
    return {file.file: [w for w in file.warnings if w.startswith("conflict")] for file in report.files}


def _merged(sources: list[str], files: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Two batches' rows of one certificate of one server's store (EX01), enabled for SMTP in the first
    and not in the second, merged; their sources and the conflicts each file's report holds."""
    report = ParseReport()
    for name in files:
        report.add_file(name, sha256="", format="exchange-list")
    rows = [{"thumbprint": THUMBPRINT, "services": services, "source": source}
            for services, source in zip((("IIS", "SMTP"), ("IIS",)), sources)]
    merged = merge_certs(certs_frame(rows, report).assign(batch=["1", "2"]))
    return merged["source"].tolist(), _conflicts(report)


def test_the_note_lands_in_the_report_of_a_file_whose_name_holds_the_separator():
    before, after = "EX01/fl; before the change.txt", "EX01/fl; after the change.txt"
    sources, said = _merged([before, after], [before, after])
    assert sources == [f"{before}; {after}"]
    assert said[before] == []
    assert said[after] == [f"conflict: {THUMBPRINT}: services: 'IIS, SMTP' ({before}) vs 'IIS' ({after}): two "
                           "exports of one server's store disagree (taken at different times?); the first is kept"]


def test_a_row_a_batch_merged_from_two_files_is_noted_against_the_first_of_them_whole():
    """The second batch's row lists two files (its read merged them), the first of them named with "; "
    too: the row is of their folder's store (EX01), and the note is that file's, not the one named by the
    part of its name before "; "."""
    first, odd, other = "EX01/fl.txt", "EX01/fl; again.txt", "EX01/table.txt"
    _, said = _merged([first, f"{odd}; {other}"], [first, odd, other, "EX01/fl"])
    assert [len(notes) for notes in said.values()] == [0, 1, 0, 0]
    assert said[odd][0].endswith(f"({odd}; {other}): two exports of one server's store disagree (taken at "
                                 "different times?); the first is kept")
