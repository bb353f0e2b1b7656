"""``Get-ExchangeCertificate`` as a table, saved from the console: the default view or ``Format-Table``.

The default view (``Thumbprint  Services  Subject``, Services as the letters ``IP.WS..``) and a table of
chosen columns (``| ft Thumbprint,Services,Subject,NotAfter -AutoSize``, ``-Wrap``) are one shape: a header,
under it a line of dashes per column, then a line per certificate, blank lines around. A column's dashes
are as long as its label (as its width, when the label is wider and wraps over the header's lines) and
stand where the label stands: from where the column starts when its values are left-aligned (text, dates,
lists), to where it ends when they are right-aligned (numbers, booleans, enums such as Services). Which
one a column is, its lines tell; where a left-aligned column meets a right-aligned one, the space every
line leaves there that the right one's values fit. A table needs a Thumbprint column.

Values read as ``fl`` gives them (:mod:`exlab.certs.exchange_props`). A value the console cut ends in
``...`` (``…`` in PowerShell 7; a right-aligned one starts so; in a column three characters wide or less,
nothing tells it): a Subject, Issuer or FriendlyName is kept as shown and marked cut (the merge prefers a
whole one), a list keeps its whole items (marked cut as ``$FormatEnumerationLimit`` cuts one), any other
value is left NA; each is noted. A row whose Thumbprint is cut names no certificate (unless an Identity
column does): it is skipped and counted. With ``-Wrap`` a value goes on over the next lines of its column,
and its pieces are joined; in the last column of lines PowerShell 7 trimmed, whose width nothing tells, a
join may be a space or none, and such a value is dealt with as a cut one. A line with a tab, with text
across a column boundary, or shorter than the others of a table 5.1 padded does not fit: its row is
skipped and counted, as is a row a damaged file's blank line cut off from its table. A table without a
Thumbprint column is noted, not read.

>>> table = ["Thumbprint" + " " * 32 + "Services NotAfter", "-" * 10 + " " * 32 + "-------- --------",
...          "AB" * 20 + " IIS, SMTP 3/14/2027 9:12:05 AM"]
>>> [(column.label, column.right) for column in tables(table)[0].columns]
[('Thumbprint', False), ('Services', True), ('NotAfter', False)]
>>> [value for value, _ in tables(table)[0].cells(table[2:])]
['ABABABABABABABABABABABABABABABABABABABAB', 'IIS, SMTP', '3/14/2027 9:12:05 AM']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from exlab.certs.exchange_props import counted_rows, text_context
from exlab.certs.exchange_values import RIGHT_ALIGNED, date_samples, parse_services, services_from_letters
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.cultures import wraps_words
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "exchange-table"
_DASHES = re.compile(r" *-+(?: +-+)* *")
_RUN = re.compile(r"-+")
_INK = re.compile(r"\S")
# a right-aligned value: a number, a boolean, an enum's name, or a flags enum's names (IMAP, POP, IIS, SMTP)
_RIGHT_VALUE = re.compile(r"[^\s,]+(?:, [^\s,]+)*,?")
_HEXADECIMAL = re.compile(r"[0-9A-Fa-f]+")
_ELLIPSES = ("...", "\u2026")
_MOST_COLUMNS = 256           # Format-Table of every property shows some 40; more runs of dashes are no table
_MOST_HEADER_LINES = 8        # a label wider than its column wraps over the header's lines
_SAMPLE_LINES = 1000          # the lines that decide a table's columns (every line is still checked)
_CUT = "cut by the console width"
_JOINED = ("wrapped in the last column of lines PowerShell 7 trimmed, where a space between two lines cannot be "
           "told from a word cut at the column's width")
_MOST_TRIED = 64              # the places tried where a left-aligned column may meet a right-aligned one
_THUMBPRINT = 40
# what a value cut by the console keeps: text as shown (frame column), lists their whole items
_KEPT_CUT = {"Subject": "subject", "Issuer": "issuer", "FriendlyName": "friendly_name"}
_LISTS = ("CertificateDomains", "DnsNameList", "EnhancedKeyUsageList")


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-table`` when the text holds a table with a Thumbprint column.

    >>> sniff(b"", "\\r\\nThumbprint                                Services   Subject\\r\\n"
    ...            "----------                                --------   -------\\r\\n")
    'exchange-table'
    >>> sniff(b"", "\\r\\nIdentity    Fqdn\\r\\n--------    ----\\r\\n")
    """
    if text is None or "-" not in text:
        return None
    return FORMAT if any(table.has_thumbprint for table in tables(text.splitlines())) else None


@dataclass
class Column:
    """A column of a table: its label and where its dashes stand (``start`` up to ``end``), whether its
    values are right-aligned, and the characters it spans (``left`` up to ``right_edge``; None: to the end)."""

    label: str
    start: int
    end: int
    right: bool = False
    left: int = 0
    right_edge: int | None = None

    @property
    def wrapped(self) -> bool:
        """Whether the label is wider than the column (it wraps; the dashes span the column whole)."""
        return len(self.label) > self.end - self.start

    def cut_unseen(self, value: str) -> bool:
        """Whether ``value`` may be cut with no ellipsis to tell it: it fills a column of at most three
        characters (5.1 cuts ``CN=Contoso`` to ``CN=`` there: no room for ``...``)."""
        return self.wrapped and len(value) == self.end - self.start <= 3

    def piece(self, line: str) -> str:
        """What ``line`` holds in this column (a right-aligned value without its padding)."""
        text = line[self.left:self.right_edge].rstrip()
        return text.lstrip() if self.right else text


@dataclass
class Table:
    """One table: its columns, and its lines under the dashes (numbered from ``first``) up to a blank line."""

    columns: list[Column]
    first: int
    head: list[str] = field(default_factory=list)     # the header's lines and the dashes
    lines: list[str] = field(default_factory=list)
    widest: int = 0               # the longest line: where the last column ends, or (lines trimmed) before
    exact: bool = False           # whether ``widest`` is the table's width: a line padded to it says so
    padded: bool = False          # whether every line is padded to the table's width (5.1)

    @property
    def has_thumbprint(self) -> bool:
        return any(column.label == "Thumbprint" for column in self.columns)

    def place(self) -> None:
        """Decide which columns are right-aligned and where each one starts and ends (from its lines)."""
        sample = self.lines[:_SAMPLE_LINES]
        self.widest = max(map(len, self.head + self.lines))
        # 5.1 pads every line to the table's width (a damaged one aside); 7 trims them, but for the line of
        # dashes when it drops the last columns, and for a row's blank last value (shorter: its separator stays)
        ends = [len(line) for line in self.head + sample if line.endswith(" ")]
        self.exact = self.widest in ends
        self.padded = ends.count(self.widest) >= max(2, len(ends) // 2 + 1)
        for column in self.columns:
            column.right = _right_aligned(column, sample)
        for before, after in zip(self.columns, self.columns[1:]):
            if not after.right or after.wrapped:
                edge = after.start - 1
            elif before.right or before.wrapped:
                edge = before.end
            else:
                edge = _boundary(before, after, sample)
            before.right_edge, after.left = edge, edge + 1

    def misfit(self, line: str) -> str | None:
        """Why ``line`` does not fit the columns (a tab, text across a boundary, a line of a padded table
        shorter than the others), or None."""
        if "\t" in line:
            return "a tab in the line: its columns cannot be told apart"
        if self.padded and len(line) < self.widest:
            return f"{len(line)} characters where the table's lines have {self.widest}: the line is cut short"
        for column in self.columns[:-1]:
            if line[column.right_edge:column.right_edge + 1] not in ("", " "):
                return (f"text across the boundary after {column.label} (character {column.right_edge + 1}): "
                        "the line does not fit the table's columns")
        return None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each row's first line number and its lines (with ``-Wrap``, the lines its values go on over: their
        Thumbprint cell blank, or the rest of a thumbprint wrapped in a narrow column)."""
        thumbprint = next(column for column in self.columns if column.label == "Thumbprint")
        number, lines, pieces = self.first, [], []
        for at, line in enumerate(self.lines, self.first):
            if not line.strip() and len(line) < _reach(self.columns):
                continue                   # a blank line inside a damaged table (see _end)
            piece = thumbprint.piece(line).strip()
            if lines and (not piece or _wraps_on(pieces, piece)):
                lines.append(line)
                pieces += [piece] if piece else []
                continue
            if lines:
                yield number, lines
            number, lines, pieces = at, [line], [piece]
        if lines:
            yield number, lines

    def cells(self, lines: list[str], word_wrap: bool = True) -> list[tuple[str, bool]]:
        """Each column's value in a row of ``lines``, its pieces joined (``word_wrap``: whether the culture
        may have wrapped them between words), and whether a join could not be told (:func:`_joined`)."""
        return [("".join(column.piece(line).strip() for line in lines), False) if column.label == "Thumbprint"
                else _joined([column.piece(line) for line in lines], self._width(column),
                             exact=column.right_edge is not None or column.wrapped or self.exact,
                             word_wrap=word_wrap)
                for column in self.columns]

    def _width(self, column: Column) -> int:
        """How wide the column is (the last one: as its dashes, or its longest line, when that is more)."""
        if column.right_edge is not None:
            return column.right_edge - column.left
        return max(column.end - column.start, self.widest - column.left)


def tables(lines: list[str]) -> list[Table]:
    """Every table in ``lines`` (a header above a line of dashes), each with its lines up to a blank one,
    its columns placed (:meth:`Table.place`).

    >>> [table.first for table in tables(["", "Thumbprint", "----------", "AB" * 20, "", "Name", "----"])]
    [4, 8]
    """
    found: list[Table] = []
    number = 0
    while number < len(lines):
        shape = _columns(lines, number)
        number += 1
        if shape is None:
            continue
        columns, head = shape
        table = Table(columns, number + 1, head)
        end = _end(lines, number, columns)
        table.lines, number = lines[number:end], end
        table.place()
        found.append(table)
    return found


def _end(lines: list[str], number: int, columns: list[Column]) -> int:
    """Where the lines of a table that starts at ``lines[number]`` end: at a blank line (a line of spaces up to
    the last column is one of them: a space wrapped alone in that column), unless more of its rows follow the
    blank lines (:func:`_goes_on`: PowerShell writes no blank line inside a table, a damaged file may).

    >>> _end(["AB" * 20, "", "CD" * 20, "", "", "PS C:\\\\>"], 0, [Column("Thumbprint", 0, 10)])
    3
    """
    reach = _reach(columns)
    thumbprint = next((column for column in columns if column.label == "Thumbprint"), None)
    end = number
    while end < len(lines):
        if lines[end].strip() or len(lines[end]) >= reach:
            end += 1
            continue
        after = next((at for at in range(end, len(lines)) if lines[at].strip()), len(lines))
        if thumbprint is None or not _goes_on(lines, after, thumbprint):
            return end
        end = after
    return end


def _goes_on(lines: list[str], number: int, thumbprint: Column) -> bool:
    """Whether the lines from ``lines[number]`` are more rows of a table: lines whose Thumbprint cell is blank
    (the rest of a wrapped row, blank lines), then a row with a whole thumbprint; not a prompt, a header,
    another command's output (a damaged row among them ends the table: the rows after it are counted, see
    :func:`read`)."""
    for line in lines[number:]:
        if _whole_thumbprint(line, thumbprint.start):
            return True
        if line[thumbprint.start:thumbprint.end].strip():
            return False
    return False


def _reach(columns: list[Column]) -> int:
    """How long a line of spaces of a table is at the least (up to its last column)."""
    return max(1, columns[-1].start - 1)


def _whole_thumbprint(line: str, start: int) -> bool:
    """Whether ``line`` holds a whole thumbprint from ``start`` (a row's, not a prompt's or a header's)."""
    return (not line[:start].strip() and _HEXADECIMAL.fullmatch(line[start:start + _THUMBPRINT]) is not None
            and len(line[start:start + _THUMBPRINT]) == _THUMBPRINT and line[start + _THUMBPRINT:][:1] in ("", " "))


def _columns(lines: list[str], number: int) -> tuple[list[Column], list[str]] | None:
    """The columns of the table whose dashes are ``lines[number]`` (0-based), labelled by the header lines
    above it, and those lines with the dashes; None when that is no line of dashes under a header."""
    if _DASHES.fullmatch(lines[number]) is None:
        return None
    runs = [(run.start(), run.end()) for run in _RUN.finditer(lines[number])]
    if len(runs) > _MOST_COLUMNS:
        return None
    header: list[str] = []
    for above in reversed(lines[max(0, number - _MOST_HEADER_LINES):number]):
        inked = {ink.start() for ink in _INK.finditer(above)}
        if not inked or any(not any(start <= at < end for start, end in runs) for at in inked):
            break
        header.insert(0, above)
    labels = ["".join(line[start:end].strip() for line in header) for start, end in runs]
    if not header or not all(labels):
        return None
    return [Column(label, start, end) for label, (start, end) in zip(labels, runs)], header + [lines[number]]


def _right_aligned(column: Column, lines: list[str]) -> bool:
    """Whether the column's values are right-aligned: more of them end where its dashes end than start
    where they start; when its lines do not tell (or its label wraps: then its dashes span it whole),
    whether Format-Table right-aligns that property."""
    starts = ends = 0
    if not column.wrapped:
        for line in lines:
            if not line[column.start:column.end].strip():
                continue
            starts += line[column.start] != " " and line[column.start - 1:column.start] in ("", " ")
            ends += line[column.end - 1:column.end] not in ("", " ") and line[column.end:column.end + 1] in ("", " ")
    return ends > starts if starts != ends else column.label in RIGHT_ALIGNED


def _boundary(before: Column, after: Column, lines: list[str]) -> int:
    """Where a left-aligned column ends and the right-aligned one after it starts: of the places between their
    dashes, the one where most lines are blank and have after it a value the right-aligned column can hold
    (the first such; a line that does not fit it is then a misfit of the table, not the table's measure).

    >>> _boundary(Column("Subject", 0, 7), Column("Services", 20, 28), ["CN=mail, O=Contoso IIS, SMTP"])
    18
    """
    inked = Counter(ink.start() for line in lines for ink in _INK.finditer(line, before.end, after.start))
    best, most = after.start - 1, -1
    for at in islice((at for at in range(before.end, after.start) if inked[at] < len(lines)), _MOST_TRIED):
        fit = sum(1 for line in lines
                  if line[at:at + 1] in ("", " ") and _right_value(after.label, line[at + 1:after.end].strip()))
        if fit > most:
            best, most = at, fit
    return best


def _wraps_on(pieces: list[str], piece: str) -> bool:
    """Whether ``piece`` goes on with a thumbprint wrapped over lines as ``pieces``: hexadecimal digits up to
    40, after pieces as wide as the column (each of the same length; four digits at least, so that a column
    too narrow for ``...``, where the console cuts a thumbprint to ``74C``, is not taken for one).

    >>> _wraps_on(["74964A4CA450", "04A0218DFD03"], "67D5D056C203"), _wraps_on(["74C"], "3F2")
    (True, False)
    """
    shown = "".join(pieces) + piece
    return (len({len(before) for before in pieces}) == 1 and len(pieces[0]) >= 4 and len(shown) <= _THUMBPRINT
            and _HEXADECIMAL.fullmatch(shown) is not None)


def _right_value(label: str, value: str) -> bool:
    """Whether ``value`` (a right-aligned column's, or a piece of one) can be that column's."""
    if not value or value.startswith(_ELLIPSES):
        return True
    if _RIGHT_VALUE.fullmatch(value) is None:
        return False
    if label != "Services":
        return True
    try:
        parse_services(value.rstrip(","))
    except ValueError:
        return False
    return True


def _joined(pieces: list[str], width: int, *, exact: bool = True, word_wrap: bool = True) -> tuple[str, bool]:
    """A value wrapped over several lines (``-Wrap``), whole again, and whether a join could not be told.

    A piece narrower than its column ended between words (PowerShell wraps between words in English,
    German...), as does one ending in a comma (a list, a distinguished name, in the languages it cuts at the
    width) or followed by a blank line (a space alone in a column one character wide); one as wide as the
    column was cut inside a word. When the column may be wider than ``width`` (not ``exact``: the last column
    of lines PowerShell 7 trimmed), a piece as wide may be either: it is read as ending between words in the
    cultures that wrap so, and said to be doubtful.

    >>> _joined(["CN=mail.contoso.com,", "O=Contoso Sp. z", "o.o."], 21), _joined(["74964A4CA4", "5004A0218D"], 10)
    (('CN=mail.contoso.com, O=Contoso Sp. z o.o.', False), ('74964A4CA45004A0218D', False))
    >>> _joined(["CN=Contoso Sp. z", "o.o."], 16, exact=False)
    ('CN=Contoso Sp. z o.o.', True)
    """
    value, previous, gap, doubtful = "", "", False, False
    for piece in pieces:
        if not piece.strip():
            gap = bool(value)
            continue
        if not value:
            value = piece
        elif piece.startswith(","):           # no word starts so: the line cut one
            value += piece
        elif gap or len(previous) < width or previous.endswith(",") or (not exact and word_wrap):
            value += " " + piece.lstrip()
            doubtful = doubtful or not (gap or len(previous) < width or previous.endswith(","))
        else:
            value += piece
            doubtful = doubtful or not exact
        previous, gap = piece, False
    return value.strip(), doubtful


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """One row per certificate in the file's tables; a row that names none, or does not fit its table's
    columns, is skipped and counted.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> text = ("Thumbprint" + " " * 32 + "Services   Subject\\n" + "-" * 10 + " " * 32 + "--------   -------\\n"
    ...         + "AB" * 20 + "  ...WS..    CN=mail.contoso.com\\n" + "Thumbprint    Subject\\n")
    >>> report = ParseReport().add_file("t.txt", sha256="", format=FORMAT)
    >>> [(r["thumbprint"][:4], r["services"], r["subject"])
    ...  for r in read(open_evidence(io.BytesIO(text.encode())), FORMAT, ReadOptions(), report)]
    [('ABAB', ('IIS', 'SMTP'), 'CN=mail.contoso.com')]
    >>> report.losses[0].where, report.losses[0].reason
    ('line 4', 'no Thumbprint, Identity or RawData names the certificate')
    """
    text = read_text(evidence.stream, evidence.name, report)
    word_wrap = options.culture is None or wraps_words(options.culture)
    lines = text.splitlines()
    found = tables(lines)
    _count_rows_astray(lines, found, report)
    records: list[tuple[int, dict[str, str], frozenset[str], str | None]] = []
    for table in found:
        if not table.has_thumbprint:
            labels = ", ".join(column.label for column in table.columns)
            report.note(f"line {table.first - 1}: a table without a Thumbprint column ({labels}) not read")
            continue
        for number, lines in table.rows():
            misfit = next(filter(None, map(table.misfit, lines)), None)
            if misfit is not None:
                report.skip_record(f"line {number}", misfit)
                continue
            props, doubts = {}, {}
            for column, (value, doubtful) in zip(table.columns, table.cells(lines, word_wrap)):
                props[column.label] = value
                if _cut(column.label, value) or column.cut_unseen(value):
                    doubts[column.label] = _CUT
                elif doubtful:
                    doubts[column.label] = _JOINED
            records.append((number, *_uncut(props, doubts, number, report)))
    samples = [s for _, props, _, _ in records for k in ("NotAfter", "NotBefore") if k in props
               for s in date_samples(props[k])]
    context = text_context(report, options, samples, evidence.name)
    rows: list[dict] = []
    for number, props, truncated, cut_thumbprint in records:
        if cut_thumbprint is not None and "Identity" not in props:
            report.skip_record(f"line {number}", f"its Thumbprint is cut by the console width ({cut_thumbprint!r}): "
                                                 "widen the console, or use -AutoSize or Format-List")
            continue
        rows.extend(counted_rows(props, context, f"line {number}", truncated=truncated))
    return rows


def _count_rows_astray(lines: list[str], found: list[Table], report: FileReport) -> None:
    """Count as skipped each row (a whole thumbprint where a table's Thumbprint column starts) that is in
    no table: a damaged file's blank line, or a damaged row after one, cut it off from its table."""
    starts = {column.start for table in found for column in table.columns if column.label == "Thumbprint"}
    inside = {number for table in found
              for number in range(table.first - len(table.head), table.first + len(table.lines))}
    for number, line in enumerate(lines, 1):
        if number not in inside and any(_whole_thumbprint(line, start) for start in starts):
            report.skip_record(f"line {number}", "a row outside its table (a blank line or a damaged line "
                                                 "before it ends the table)")


def _uncut(props: dict[str, str], doubts: dict[str, str], number: int,
           report: FileReport) -> tuple[dict[str, str], frozenset[str], str | None]:
    """The row's values with those in doubt (label -> why: cut, :data:`_CUT`, or joined across lines that do
    not tell how, :data:`_JOINED`) dealt with as the module's docstring says, the frame columns kept in doubt
    (the merge prefers a whole value), and the Thumbprint as shown when it is cut (None when whole)."""
    kept: dict[str, str] = {}
    truncated: set[str] = set()
    for label, value in props.items():
        why = doubts.get(label)
        if why is None:
            kept[label] = value
        elif label in _KEPT_CUT and not value.startswith(_ELLIPSES):
            kept[label] = value
            truncated.add(_KEPT_CUT[label])
            report.note(f"line {number}: {label} {why}; kept as shown")
        elif label in _LISTS and why == _CUT:
            kept[label] = _whole_items(value)
            report.note(f"line {number}: {label} {why}; its whole items kept")
        elif label != "Thumbprint":
            report.note(f"line {number}: {label} {why} ({value!r}); left NA")
    return kept, frozenset(truncated), props["Thumbprint"] if "Thumbprint" in doubts else None


def _cut(label: str, value: str) -> bool:
    """Whether the console cut ``value`` (the default view's Services letters, ``...WS..``, are whole).

    >>> _cut("Subject", "CN=Microsoft Exchange S..."), _cut("Services", "...WS.."), _cut("Services", "\u2026S, SMTP")
    (True, False, True)
    """
    if label in ("Services", "ServicesStringForm") and services_from_letters(value) is not None:
        return False
    return value.startswith(_ELLIPSES) or value.endswith(_ELLIPSES)


def _whole_items(value: str) -> str:
    """A list the console cut (``{a.contoso.com, b.cont...``) as ``$FormatEnumerationLimit`` cuts one: its
    whole items, then ``...`` (the last item shown may be cut: it is left out).

    >>> _whole_items("{mail.contoso.com, autodiscover.cont\\u2026")
    '{mail.contoso.com...}'
    """
    body = value.lstrip("{")
    for ellipsis in _ELLIPSES:
        body = body.removesuffix(ellipsis)
    items = [item.strip() for item in body.split(",")][:-1]
    return "{" + ", ".join(item for item in items if item) + "...}"
