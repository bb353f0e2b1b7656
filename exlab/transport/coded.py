"""Text columns held as codes into their distinct values, so that a test, a regular expression or
a change of case runs once per distinct text, not once per line.

Protocol logs repeat themselves (the same EHLO answer, certificate and connector on every
session): :class:`CodedText` keeps one Arrow string per distinct value and a numpy code per
row (in as few bytes as the count of values allows), reads an Arrow dictionary column as
written (``pyarrow.csv`` reads it so) and answers per row from what it worked out per value.
NA reads as ``""``, as the log wrote it.

>>> column = CodedText.of(pa.array(["250 OK", None, "454 4.7.0 x", "250 OK"]))
>>> column.matches(r"^4[0-9][0-9]\\b").tolist(), column.texts([1, 3])
([False, False, True, False], ['', '250 OK'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class CodedText:
    """``values`` (Arrow strings, distinct, one of them ``""`` when a row is empty) and a code per row
    (numpy signed integers)."""

    def __init__(self, values: pa.Array, codes: np.ndarray) -> None:
        self.values = values
        self.codes = codes
        self._objects: np.ndarray | None = None

    @classmethod
    def of(cls, column: Any) -> CodedText:
        """The coded form of an Arrow string or dictionary column (chunked or not); NA becomes ``""``.

        >>> chunks = pa.chunked_array([pa.array(["a", "b"]).dictionary_encode(), pa.array(["b", None]).dictionary_encode()])
        >>> coded = CodedText.of(chunks)
        >>> coded.values.to_pylist(), coded.codes.tolist()
        (['a', 'b', ''], [0, 1, 1, 2])
        """
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        if isinstance(column, pa.ChunkedArray):
            column = column.unify_dictionaries()
            chunks = column.chunks
            values = chunks[0].dictionary if chunks else pa.array([], pa.string())
            codes = np.concatenate([_codes(chunk.indices, -1) for chunk in chunks]) if chunks \
                else np.zeros(0, np.int32)
        else:
            values, codes = column.dictionary, _codes(column.indices, -1)
        values = values.cast(pa.string())
        empty = pc.index(values, "").as_py()
        if empty == -1 and (codes == -1).any():
            values, empty = pa.concat_arrays([values, pa.array([""], pa.string())]), len(values)
        if empty != -1:
            codes[codes == -1] = empty
        return cls(values, codes.astype(_narrowest(len(values)), copy=False))

    def __len__(self) -> int:
        return len(self.codes)

    def test(self, function: Callable[[pa.Array], Any]) -> np.ndarray:
        """Per row, ``function`` (of the distinct values: an Arrow boolean array, NA as False).

        >>> CodedText.of(pa.array(["a", "b", "a"])).test(lambda values: pc.equal(values, "a")).tolist()
        [True, False, True]
        """
        answers = pc.fill_null(function(self.values), False).to_numpy(zero_copy_only=False)
        return answers[self.codes] if len(answers) else np.zeros(len(self.codes), bool)

    def equals(self, text: str) -> np.ndarray:
        """Rows whose text is ``text``.

        >>> CodedText.of(pa.array(["*", "<", None])).equals("").tolist()
        [False, False, True]
        """
        return self.test(lambda values: pc.equal(values, text))

    def starts_with(self, prefix: str) -> np.ndarray:
        """Rows whose text starts with ``prefix``.

        >>> CodedText.of(pa.array(["354 go", "250 ok"])).starts_with("354").tolist()
        [True, False]
        """
        return self.test(lambda values: pc.starts_with(values, prefix))

    def matches(self, regex: str) -> np.ndarray:
        """Rows whose text a regular expression (RE2, as ``pyarrow.compute``) finds something in.

        >>> CodedText.of(pa.array(["BDAT 10 LAST", "BDAT 5"])).matches(r"LAST$").tolist()
        [True, False]
        """
        return self.test(lambda values: pc.match_substring_regex(values, regex))

    def is_in(self, texts: Sequence[str]) -> np.ndarray:
        """Rows whose text is one of ``texts``.

        >>> CodedText.of(pa.array(["a", "b", "c"])).is_in(["a", "c"]).tolist()
        [True, False, True]
        """
        return self.test(lambda values: pc.is_in(values, pa.array(list(texts), pa.string())))

    def transformed(self, function: Callable[[pa.Array], pa.Array]) -> CodedText:
        """The column with ``function`` applied to each distinct value (the codes are kept).

        >>> CodedText.of(pa.array([" Sending Certificate"])).transformed(pc.utf8_lower).texts([0])
        [' sending certificate']
        """
        return CodedText(function(self.values), self.codes)

    def extract(self, regex: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Per row of ``rows``, the first group of ``regex`` where it matches, else None (worked out
        once per distinct text among those rows, not for every text of the column).

        >>> coded = CodedText.of(pa.array(["id <a@b>", "none", "id <a@b>"]))
        >>> coded.extract(r"id (?P<id><[^>]*>)", [2, 1, 0]).tolist()
        ['<a@b>', None, '<a@b>']
        """
        distinct, at = np.unique(self.codes[np.asarray(rows, dtype=np.int64)], return_inverse=True)
        found = pc.struct_field(pc.extract_regex(self.values.take(pa.array(distinct, pa.int64())), regex), [0]) \
            if len(distinct) else pa.array([], pa.string())
        cells = np.empty(len(found), dtype=object)
        cells[:] = found.to_pylist()
        return cells[at]

    def objects(self) -> np.ndarray:
        """The distinct values as Python strings (one object each, shared by every row that has it)."""
        if self._objects is None:
            self._objects = np.empty(len(self.values), dtype=object)
            self._objects[:] = self.values.to_pylist()
        return self._objects

    def texts(self, rows: Sequence[int] | np.ndarray) -> list[str]:
        """The texts of ``rows`` (``""`` where empty).

        >>> CodedText.of(pa.array(["x", None])).texts([1, 0])
        ['', 'x']
        """
        return self.objects()[self.codes[np.asarray(rows, dtype=np.int64)]].tolist()


def _narrowest(count: int) -> type:
    """The narrowest signed integer type that numbers ``count`` values (a column of few values
    takes a byte a row).

    >>> _narrowest(5), _narrowest(40_000)
    (<class 'numpy.int8'>, <class 'numpy.int32'>)
    """
    return next(kind for kind in (np.int8, np.int16, np.int32) if count <= np.iinfo(kind).max)


def _codes(indices: pa.Array, missing: int) -> np.ndarray:
    """The indices of a dictionary array as numpy ``int32``, ``missing`` where NA."""
    return pc.fill_null(indices, missing).to_numpy(zero_copy_only=False).astype(np.int32, copy=True)
