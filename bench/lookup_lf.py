"""Benchmark LookupLF.apply at 100k rows x thousands of terms, beside baselines measured in the same run.

Why: RE2 (pyarrow) matches one alternation of literal terms with a lazily built DFA whose memory is capped;
past the cap it falls back to its NFA, orders of magnitude slower.  ``LookupLF`` (and ``KeywordLF``) therefore
match term lists in chunks of ``_TERM_CHUNK_BYTES`` UTF-8 bytes.  This script times, on the same texts:

- baseline 1: ``KeywordLF`` with 10 keywords (what one keyword LF costs);
- baseline 2: a single RE2 alternation of all terms, substring only (what an unchunked list costs), for the
  1,000-term list and, if ``--unchunked-max`` allows, longer ones (it runs for minutes past ~10,000 chars);
- ``LookupLF.apply`` with 1,000 / 5,000 / 20,000 terms, whole words, case-insensitive (the defaults), plus a
  case-sensitive and a substring run at 5,000 terms.

Texts: ``--rows`` synthetic comments whose words are drawn from the YouTube spam comments in ``../shared``
(seeded; random lowercase words when ``../shared`` is absent).  Terms: a few real words of those comments (so
some rows match) and seeded random words of 5-13 letters (names, brands: mostly no match, the slow case for a
scan).  Median of ``--repeats`` runs after one warm-up.

Run from the project root (about a minute on 2 cores)::

    .venv/bin/python bench/lookup_lf.py
    .venv/bin/python bench/lookup_lf.py --rows 20000 --repeats 1   # quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from epoxy_core.lf import KeywordLF, LookupLF
from epoxy_core.lf._checks import _re2_escape
from epoxy_core.lf.frame import _Frame
from epoxy_core.lf.text import _TERM_CHUNK_BYTES

SPAM_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "youtube_spam" / "youtube_spam.csv"


def make_texts(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """``n`` comments of 3-30 words, and the vocabulary they were drawn from."""
    letters = np.array(list(string.ascii_lowercase))
    if SPAM_CSV.exists():
        words = " ".join(pd.read_csv(SPAM_CSV)["text"].astype(str)).split()
    else:
        words = ["".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(5000)]
    lengths = rng.integers(3, 31, n)
    drawn = np.array(words, dtype=object)[rng.integers(0, len(words), lengths.sum())]
    cuts = np.cumsum(lengths)[:-1]
    texts = [" ".join(chunk) for chunk in np.split(drawn, cuts)]
    vocabulary = sorted({w.strip(".,!?:;()\"'").lower() for w in words} - {""})
    return texts, vocabulary


def make_terms(count: int, vocabulary: list[str], rng: np.random.Generator) -> list[str]:
    letters = np.array(list(string.ascii_lowercase))
    real = [str(w) for w in rng.choice(vocabulary, 20, replace=False)]
    fake = {"".join(rng.choice(letters, rng.integers(5, 14))) for _ in range(count)}
    return (real + sorted(fake))[:count]


def timed(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    result = run()  # warm-up (and the result)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--terms", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--unchunked-max", type=int, default=1000, help="longest list timed as one alternation")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    texts, vocabulary = make_texts(args.rows, rng)
    df = pd.DataFrame({"text": texts})
    print(
        f"# {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.rows:,} rows; "
        f"chunk {_TERM_CHUNK_BYTES:,} bytes; median of {args.repeats}"
    )
    text = _Frame(df, "text").text("text")  # the Arrow conversion, paid once per apply_lfs call, not timed

    words = ["check", "subscribe", "channel", "song", "love", "my", "please", "video", "http", "out"]
    keyword = KeywordLF("kw", 1, words)
    base, votes = timed(lambda: keyword.apply(df), args.repeats)
    print(f"baseline KeywordLF, 10 keywords:      {base:7.3f} s  ({int((np.asarray(votes) != -1).sum()):,} rows vote)")

    for count in args.terms:
        terms = make_terms(count, vocabulary, rng)
        chars = sum(map(len, terms))
        if count <= args.unchunked_max:
            pattern = "(?i:" + "|".join(map(_re2_escape, terms)) + ")"
            one, _ = timed(lambda p=pattern: pc.match_substring_regex(text, pattern=p), args.repeats)
            print(f"baseline one alternation, {count:>6,} terms ({chars:,} chars), substring only: {one:7.3f} s")
        lf = LookupLF("lookup", 1, terms)
        seconds, votes = timed(lambda lf=lf: lf.apply(df), args.repeats)
        hits = int((np.asarray(votes) != -1).sum())
        print(
            f"LookupLF {count:>6,} terms ({chars:>7,} chars), whole words:  {seconds:7.3f} s  "
            f"({seconds / base:5.1f}x the keyword baseline; {hits:,} rows vote)"
        )
        if count == 5000:
            for label, options in (("case-sensitive", {"case_sensitive": True}), ("substring", {"whole_word": False})):
                variant = LookupLF("lookup", 1, terms, **options)
                seconds, _ = timed(lambda v=variant: v.apply(df), args.repeats)
                print(f"LookupLF {count:>6,} terms, {label}: {seconds:7.3f} s")


if __name__ == "__main__":
    main()
