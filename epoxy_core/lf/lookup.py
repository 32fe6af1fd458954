"""Lookup-list LFs: vote where any of thousands of terms (a list uploaded as CSV or TXT) occurs in the text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from epoxy_core.lf._checks import (
    MAX_KEYWORDS,
    MAX_NAME_CHARS,
    _check_bool,
    _check_optional_column,
    _check_text,
)
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.frame import _Frame, _mask_votes, _safe_str
from epoxy_core.lf.text import KeywordLF, _check_terms, _terms_mask

__all__ = [
    "MAX_LOOKUP_CHARS_TOTAL",
    "MAX_LOOKUP_FILE_BYTES",
    "MAX_LOOKUP_TERMS",
    "MAX_TERM_CHARS",
    "LookupLF",
    "terms_from_file",
]

MAX_LOOKUP_TERMS = 20_000
"""Most terms one :class:`LookupLF` holds."""
MAX_LOOKUP_CHARS_TOTAL = 400_000
"""Most characters of all terms of one :class:`LookupLF` together (apply cost grows with them)."""
MAX_TERM_CHARS = 200
"""Longest single term: a lookup list holds names and phrases, not paragraphs."""
MAX_LOOKUP_FILE_BYTES = 5_000_000
"""Largest term file :func:`terms_from_file` reads."""

# A header cell with one of these names marks the column of terms (and is not itself a term).
_HEADER_NAMES = frozenset({"term", "terms", "keyword", "keywords", "word", "words", "phrase", "phrases", "name"})


@dataclass(frozen=True, repr=False)
class LookupLF(BaseLF):
    """Vote ``label`` where any of ``terms`` occurs in the text: a keyword LF for long lists.

    Matching is exactly :class:`~epoxy_core.lf.text.KeywordLF`'s (RE2, literal terms, Unicode whole words,
    case option), run over the list in chunks so that RE2 stays on its fast path whatever the list's length.
    The list itself is stored in the LF set (JSON), so a saved project does not depend on the uploaded file.

    Parameters
    ----------
    name : str
        Unique name of the LF.
    label : int
        Class index voted on a match.
    terms : sequence of str
        Literal terms, at most :data:`MAX_LOOKUP_TERMS`; read a file with :func:`terms_from_file`.
    whole_word : bool, default True
        Keyword-only, as are the arguments after it.  As in :class:`KeywordLF`.
    case_sensitive : bool, default False
    column : str, optional
        Column to search; None means the dataset's text column.
    source : str, optional
        Where the terms came from (e.g. the uploaded file's name), shown in the UI.
    enabled : bool, default True

    Examples
    --------
    >>> import pandas as pd
    >>> lf = LookupLF("brands", 1, ["Acme", "Globex Corp"], source="brands.txt")
    >>> lf.apply(pd.DataFrame({"text": ["buy acme now", "GLOBEX CORP rocks", "acmeish"]})).tolist()
    [1, 1, -1]
    """

    kind: ClassVar[str] = "lookup"

    name: str
    label: int
    terms: tuple[str, ...]
    _: KW_ONLY
    whole_word: bool = True
    case_sensitive: bool = False
    column: str | None = None
    source: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        self._validate_common(label_required=True)
        prefix = self._name_prefix()
        what = f"{prefix}: terms"
        terms = _check_terms(self.terms, what, max_terms=MAX_LOOKUP_TERMS, max_chars=MAX_LOOKUP_CHARS_TOTAL)
        for i, term in enumerate(terms):
            if len(term) > MAX_TERM_CHARS:
                raise ValueError(f"{what}[{i}] is {len(term):,} characters long; the limit is {MAX_TERM_CHARS}.")
        object.__setattr__(self, "terms", terms)
        _check_bool(self.whole_word, f"{prefix}: whole_word")
        _check_bool(self.case_sensitive, f"{prefix}: case_sensitive")
        _check_optional_column(self.column, f"{prefix}: column")
        if self.source is not None:
            _check_text(self.source, f"{prefix}: source", max_chars=MAX_NAME_CHARS)
        # Terms are escaped literals: unlike a regex they cannot fail to compile, so nothing is compiled here.

    def __repr__(self) -> str:
        # Thousands of terms would flood a notebook, a log line or an error message.
        shown = ", ".join(map(repr, self.terms[:3])) + (", ..." if len(self.terms) > 3 else "")
        return (
            f"LookupLF(name={self.name!r}, label={self.label!r}, terms=<{len(self.terms):,} terms: {shown}>, "
            f"whole_word={self.whole_word!r}, case_sensitive={self.case_sensitive!r}, column={self.column!r}, "
            f"source={self.source!r}, enabled={self.enabled!r})"
        )

    def required_columns(self, text_column: str) -> tuple[str, ...]:
        """Columns this LF reads: its own ``column`` or the text column."""
        return (self.column or text_column,)

    def _votes(self, frame: _Frame) -> npt.NDArray[np.int64]:
        mask = _terms_mask(
            frame,
            self.column or frame.text_column,
            self.terms,
            whole_word=self.whole_word,
            case_sensitive=self.case_sensitive,
        )
        return _mask_votes(mask, self.label)

    def keyword_lf_for(self, texts: Iterable[str | None]) -> KeywordLF | None:
        """A :class:`KeywordLF` with only the terms that may occur in ``texts``, for highlighting a few rows.

        Highlighting runs a Python pattern over each text; with thousands of terms that pattern is needlessly
        long, so :func:`~epoxy_core.lf.spans.match_spans` should be given this smaller, equivalent LF instead.
        The terms kept are those found as substrings (ignoring case unless ``case_sensitive``); the keyword LF
        then applies the whole-word rule.  None when no term occurs.

        Examples
        --------
        >>> LookupLF("b", 1, ["acme", "globex", "initech"]).keyword_lf_for(["ACME and Initech"]).keywords
        ('acme', 'initech')
        """
        joined = "\x00".join(_safe_str(t) for t in texts if isinstance(t, str))
        if not self.case_sensitive:
            joined = joined.lower()
        found = [t for t in self.terms if (t if self.case_sensitive else t.lower()) in joined][:MAX_KEYWORDS]
        if not found:
            return None
        return KeywordLF(
            self.name,
            self.label,
            found,
            whole_word=self.whole_word,
            case_sensitive=self.case_sensitive,
            column=self.column,
            enabled=self.enabled,
        )


# --------------------------------------------------------------------------------------------------------------
# Reading a term list from an uploaded file
# --------------------------------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{name} is not UTF-8 text (bad byte at position {exc.start:,}); save it as UTF-8 and upload it again."
        ) from None


def _csv_terms(text: str, name: str, column: str | None) -> list[str]:
    try:
        dialect = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t|")
    except csv.Error:  # one column: no delimiter to find
        dialect = csv.excel
    try:
        rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValueError(f"{name} is not a readable CSV file: {exc}.") from None
    if not rows:
        return []
    header = [cell.strip() for cell in rows[0]]
    if column is not None:
        if column not in header:
            raise ValueError(f"{name} has no column {column!r}; its header is {header[:20]}.")
        index, body = header.index(column), rows[1:]
    elif len(header) == 1:
        index = 0
        body = rows[1:] if header[0].lower() in _HEADER_NAMES else rows
    else:
        # Several columns: the first row is a header; the terms are the column it names, else the first one.
        named = [i for i, cell in enumerate(header) if cell.lower() in _HEADER_NAMES]
        index, body = (named[0] if named else 0), rows[1:]
    return [row[index] if index < len(row) else "" for row in body]


def terms_from_file(
    data: bytes, name: str, *, column: str | None = None, max_terms: int = MAX_LOOKUP_TERMS
) -> list[str]:
    """Read a list of terms from an uploaded ``.txt`` (one per line) or ``.csv`` / ``.tsv`` file.

    Blank entries are dropped, surrounding whitespace is stripped, and repeats are removed (first one kept).
    In a CSV, a single column is read whole unless its first cell is a header such as ``term`` or
    ``keyword``; with several columns the first row is the header and the terms are the column named
    ``column``, else one named ``term(s)``, ``keyword(s)``, ``word(s)``, ``phrase(s)`` or ``name``, else the first.

    Parameters
    ----------
    data : bytes
        The file's content (UTF-8, with or without BOM, or UTF-16 with BOM).
    name : str
        The file's name; its extension picks the format.
    column : str, optional
        CSV only: the header of the column that holds the terms.
    max_terms : int, default MAX_LOOKUP_TERMS

    Returns
    -------
    list of str
        The terms, in file order; pass them to :class:`LookupLF`.

    Raises
    ------
    ValueError
        For a file that is too large, of another type (e.g. an Excel workbook), not text, holds no terms, more
        than ``max_terms`` terms or a term longer than :data:`MAX_TERM_CHARS`; the message says what to fix.

    Examples
    --------
    >>> terms_from_file(b"term,notes\\nAcme,brand\\n  Globex ,\\nAcme,again\\n", "brands.csv")
    ['Acme', 'Globex']
    >>> terms_from_file("free money\\n\\nwin big\\n".encode(), "spam.txt")
    ['free money', 'win big']
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"terms_from_file reads bytes (the uploaded file's content), got {type(data).__name__}.")
    data = bytes(data)
    name = str(name)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ("txt", "csv", "tsv", "text", "lst"):
        raise ValueError(f"{name}: upload the terms as a .txt file (one term per line) or a .csv file.")
    if len(data) > MAX_LOOKUP_FILE_BYTES:
        raise ValueError(f"{name} is {len(data):,} bytes; the limit for a term list is {MAX_LOOKUP_FILE_BYTES:,}.")
    if data[:4] == b"PK\x03\x04":
        raise ValueError(f"{name} is a zip archive (an Excel workbook?), not text; export it as CSV first.")
    text = _decode(data, name)
    if "\x00" in text:
        raise ValueError(f"{name} contains NUL characters: it is a binary file, not a list of terms.")
    if extension in ("csv", "tsv"):
        raw: Sequence[str] = _csv_terms(text, name, column)
    else:
        if column is not None:
            raise ValueError(f"{name}: column= applies to CSV files; a text file holds one term per line.")
        raw = text.splitlines()
    terms: list[str] = []
    seen: set[str] = set()
    for line_number, raw_term in enumerate(raw, start=1):
        term = raw_term.strip()
        if not term or term in seen:
            continue
        if len(term) > MAX_TERM_CHARS:
            raise ValueError(
                f"{name}: entry {line_number:,} is {len(term):,} characters long ({term[:40]!r}...); a term can have "
                f"at most {MAX_TERM_CHARS}. Is this a list of terms, one per line?"
            )
        seen.add(term)
        terms.append(term)
        if len(terms) > max_terms:
            raise ValueError(f"{name} holds more than {max_terms:,} terms; split it into several lookup LFs.")
    if not terms:
        raise ValueError(f"{name} holds no terms; put one term per line (or one per row of a CSV column).")
    return terms
