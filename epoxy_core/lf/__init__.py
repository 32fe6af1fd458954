"""Labeling functions (LFs) a domain expert can write without Python, applied vectorised.

An LF looks at each row of a dataset and votes for a class index or :data:`~epoxy_core.labels.ABSTAIN`.
Six declarative kinds cover what a user can build in the browser and save as JSON:

- :class:`KeywordLF` votes where any of a list of keywords occurs (whole words or substrings);
- :class:`RegexLF` votes where a regular expression matches;
- :class:`ColumnRuleLF` votes where a comparison on another column holds (``price > 10``);
- :class:`VoteColumnLF` copies precomputed votes from a column (LFs run elsewhere, e.g. with spaCy);
- :class:`LookupLF` votes where any of thousands of terms occurs (a list read by :func:`terms_from_file`);
- :class:`SimilarityLF` votes where a row's embedding is close to example rows or texts ("rows like these").

:class:`LabelingFunction` (and the Snorkel-style :func:`labeling_function` decorator) wraps arbitrary Python for
notebook users.  It is deliberately not serialisable: text that arrives from a browser or a file is never
evaluated as code anywhere in Epoxy Studio.

Text matching runs through ``pyarrow.compute``, whose regular expressions are RE2.  RE2 guarantees time
linear in the input, so a pattern such as ``(a+)+$`` that makes Python's ``re`` backtrack for ages on a
long string finishes at once.  The price is that RE2 has no lookarounds and no backreferences; such
patterns are rejected with a :class:`ValueError` when the LF is built.
"""

from epoxy_core.lf._checks import MAX_KEYWORDS, MAX_LFS, MAX_NAME_CHARS, MAX_PATTERN_CHARS
from epoxy_core.lf.apply import apply_lfs, enabled_lfs
from epoxy_core.lf.base import BaseLF
from epoxy_core.lf.column import COLUMN_OPS, ColumnRuleLF, VoteColumnLF
from epoxy_core.lf.frame import Embedder
from epoxy_core.lf.lookup import MAX_LOOKUP_TERMS, LookupLF, terms_from_file
from epoxy_core.lf.python import LabelingFunction, labeling_function
from epoxy_core.lf.serialize import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_LF_FILE_BYTES,
    lf_from_dict,
    lf_to_dict,
    lfs_from_json,
    lfs_to_json,
)
from epoxy_core.lf.similarity import SimilarityLF
from epoxy_core.lf.spans import match_spans
from epoxy_core.lf.text import KeywordLF, RegexLF

__all__ = [
    "COLUMN_OPS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_KEYWORDS",
    "MAX_LFS",
    "MAX_LF_FILE_BYTES",
    "MAX_LOOKUP_TERMS",
    "MAX_NAME_CHARS",
    "MAX_PATTERN_CHARS",
    "BaseLF",
    "ColumnRuleLF",
    "Embedder",
    "KeywordLF",
    "LabelingFunction",
    "LookupLF",
    "RegexLF",
    "SimilarityLF",
    "VoteColumnLF",
    "apply_lfs",
    "enabled_lfs",
    "labeling_function",
    "lf_from_dict",
    "lf_to_dict",
    "lfs_from_json",
    "lfs_to_json",
    "match_spans",
    "terms_from_file",
]
