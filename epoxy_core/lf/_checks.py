"""Validation shared by every LF type: limits on sizes, text and label checks, RE2 compilation."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Limits that keep hostile or accidental input (a pasted novel as a "keyword") from exhausting memory.
MAX_LFS = 1000
MAX_NAME_CHARS = 200
MAX_PATTERN_CHARS = 2000
MAX_KEYWORDS = 1000
MAX_KEYWORD_CHARS_TOTAL = 20_000
MAX_RULE_VALUES = 1000
# Largest class index a label matrix can hold (see labels.label_dtype).
MAX_CLASS = int(np.iinfo(np.int16).max) - 1

# Word characters for whole-word matching: RE2 spelling of Python's Unicode ``\w`` (letters, digits, "_").
# RE2's own ``\b`` only knows ASCII, so ``\bcafé\b`` would never match "café"; this class does.
_RE2_NOT_WORD = r"[^\pL\pN_]"


def _check_text(value: Any, what: str, *, max_chars: int, allow_empty: bool = False) -> str:
    """Return ``value`` if it is a string of acceptable length that UTF-8 can encode."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__} {value!r:.60}.")
    if not allow_empty and not value.strip():
        raise ValueError(f"{what} must not be empty.")
    if len(value) > max_chars:
        raise ValueError(f"{what} is {len(value):,} characters long; the limit is {max_chars:,}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Lone surrogates (possible through JSON "\ud800" escapes) cannot reach RE2 or a file.
        raise ValueError(f"{what} contains a character UTF-8 cannot encode at position {exc.start}.") from None
    return value


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{what} must be true or false, got {value!r:.60}.")
    return bool(value)


def _check_label(value: Any, what: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{what} must be a class index (an integer), got {value!r:.60}.")
    if not 0 <= value <= MAX_CLASS:
        raise ValueError(f"{what} must be a class index between 0 and {MAX_CLASS}, got {value}.")
    return int(value)


def _check_optional_column(value: Any, what: str) -> str | None:
    return None if value is None else _check_text(value, what, max_chars=MAX_NAME_CHARS)


# RE2 escapes Python's re does not know (\pL, \p{Greek}, \x{2b}); a plain "\\." token keeps "\\p" intact.
_RE2_ONLY_ESCAPE = re.compile(r"(\\(?:[pP](?:\{[^}]*\}|.)|x\{[^}]*\}))|\\.", re.DOTALL)


def _python_regex_error(pattern: str) -> re.error | None:
    """Python's opinion of ``pattern``: its ``re.error`` (which carries a position) or None.

    RE2-only escapes are first replaced by as many plain letters, so Python does not blame valid RE2 syntax
    and the positions it reports still point into the original pattern.
    """
    python_view = _RE2_ONLY_ESCAPE.sub(lambda m: "a" * len(m[0]) if m[1] else m[0], pattern)
    with warnings.catch_warnings():
        # Python warns about constructs like "[[" that RE2 reads fine; those warnings are noise here.
        warnings.simplefilter("ignore")
        try:
            re.compile(python_view)
        except re.error as exc:
            return exc
        except (RecursionError, OverflowError, ValueError):
            return None
    return None


def _check_re2(pattern: str, what: str) -> None:
    """Raise ValueError unless RE2 (pyarrow) compiles ``pattern``, saying what is wrong and where.

    RE2's messages carry no position, so a syntax error is described by Python's ``re`` (which has one);
    a pattern Python accepts but RE2 refuses uses a Perl feature RE2 leaves out to stay linear-time.
    """
    try:
        # An empty array would skip compilation, so give RE2 one empty string to look at.
        pc.match_substring_regex(pa.array([""], pa.large_string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        re2_message = str(exc).removeprefix("Invalid regular expression: ")
        python_error = _python_regex_error(pattern)
        if python_error is not None and python_error.pos is not None:
            raise ValueError(f"invalid regex {pattern!r}: {python_error.msg} at position {python_error.pos}.") from None
        raise ValueError(
            f"{what} {pattern!r} is not supported by RE2 ({re2_message}). Patterns run on RE2, which guarantees "
            "linear time: lookarounds ((?=, (?!, (?<=, (?<!), backreferences (\\1, (?P=name)), possessive "
            "quantifiers and \\Z are not supported, and a repetition count can be at most 1000."
        ) from None


def _re2_escape(text: str) -> str:
    r"""Escape ``text`` so that RE2 reads it literally.

    Every ASCII character other than letters, digits and ``_`` becomes ``\x{..}``, which RE2 always reads as
    that one character; Python's ``re.escape`` emits escapes such as a backslash before a raw newline that RE2
    does not promise to accept.

    >>> _re2_escape("c++ (v2)")
    'c\\x{2b}\\x{2b}\\x{20}\\x{28}v2\\x{29}'
    """
    return "".join(
        char if not char.isascii() or char.isalnum() or char == "_" else f"\\x{{{ord(char):x}}}" for char in text
    )


def _is_word_char(char: str) -> bool:
    # Same definition as Python's Unicode ``\w`` and (up to Unicode version) RE2's [\pL\pN_].
    return char == "_" or char.isalnum()
