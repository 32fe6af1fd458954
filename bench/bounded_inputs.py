"""Inputs that used to freeze the app, timed against the old approach in the same run (issue 12 items 4, 5, 11).

    .venv/bin/python bench/bounded_inputs.py            # ~1-2 minutes on 2 busy cores

1. Highlighting a 1,000,000-character row with 900 shared-prefix keywords, whole words on and off:
   ``match_spans`` (RE2 first match + a 1,000-character window) against the old way, Python ``re`` with a
   flat longest-first alternation over the whole row (timed on the first 100,000 characters only and
   scaled: the full row took 64-89 s).
2. A CSV of 100,002 columns x 10 rows: ``read_table`` (refused from its header) against what the old reader
   went on to do with it, ``pandas.read_csv``, and the old per-column ``frame_hash``.
3. A 4,096-column table (the limit) x 1,000 rows through read, hash and a workspace save and load.
4. Parquet decompression bombs: time to refuse (the old reader decoded them: 1 GB of memory, or an error).
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from epoxy_core.data import DatasetSpec, frame_hash, read_table
from epoxy_core.lf import KeywordLF, match_spans
from epoxy_core.lf.spans import _flat_alternation
from epoxy_core.workspace import Workspace


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    try:
        result = function(*args, **kwargs)
    except ValueError as error:
        result = error
    return time.perf_counter() - start, result


def old_frame_hash(df: pd.DataFrame) -> str:
    """The per-column hash before this change (baseline)."""
    digest = hashlib.sha256(f"{len(df.index)} rows\n".encode())
    for column in df.columns:
        series = df[column]
        digest.update(f"{column!s}\x1f{series.dtype}\x1e".encode())
        digest.update(pd.util.hash_pandas_object(series, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def spans() -> None:
    keywords = ["a" * 18 + str(i) for i in range(900)]
    row = "a" * 1_000_000 + " " + "a" * 18 + "5"
    for whole_word in (False, True):
        lf = KeywordLF("k", 0, keywords, whole_word=whole_word)
        new, found = timed(match_spans, lf, [row])
        flat = re.compile("(?i)" + _flat_alternation(tuple(keywords), whole_word))
        old, _ = timed(list, flat.finditer(row[:100_000]))
        print(
            f"spans, whole_word={whole_word}: match_spans {new:.3f} s (found {found[0]}); "
            f"old re on 100k chars {old:.2f} s -> ~{old * 10:.0f} s for the 1M row"
        )


def wide_csv() -> None:
    n = 100_000
    header = ",".join(["text", "label", *(f"c{i}" for i in range(n))])
    rows = [",".join([f"row {r}", "spam" if r % 2 else "ham", *("1" for _ in range(n))]) for r in range(10)]
    raw = ("\n".join([header, *rows]) + "\n").encode()
    new, result = timed(read_table, raw, "wide.csv")
    print(f"100,002 columns: read_table {new:.2f} s -> {str(result)[:60]}...")
    old_read, frame = timed(pd.read_csv, io.BytesIO(raw), keep_default_na=False, na_values=[""])
    old_hash, _ = timed(old_frame_hash, frame)
    new_hash, _ = timed(frame_hash, frame)
    print(
        f"  baseline: pandas.read_csv {old_read:.2f} s, old per-column frame_hash {old_hash:.2f} s "
        f"(new frame_hash on the same frame {new_hash:.2f} s)"
    )


def at_the_limit() -> None:
    n = 4094
    values = np.random.default_rng(0).integers(0, 7, size=(1000, n))
    frame = pd.DataFrame(values, columns=[f"c{i}" for i in range(n)])
    frame.insert(0, "label", np.where(np.arange(1000) % 3 == 0, "spam", "ham"))
    frame.insert(0, "text", [f"row {i}" for i in range(1000)])
    raw = frame.to_csv(index=False).encode()
    read, loaded = timed(read_table, raw, "limit.csv")
    old_hash, _ = timed(old_frame_hash, loaded)
    new_hash, _ = timed(frame_hash, loaded)
    ws = Workspace(Path(tempfile.mkdtemp()))
    ws.create_project("p")
    save, _ = timed(ws.save_dataset, "p", loaded, DatasetSpec("text", "label"), "limit.csv")
    load, _ = timed(ws.load_dataset, "p")
    print(
        f"4,096 columns x 1,000 rows: read_table {read:.2f} s, frame_hash {new_hash:.2f} s (old {old_hash:.2f} s), "
        f"workspace save {save:.2f} s, load {load:.2f} s"
    )


def bombs() -> None:
    for rows in (1000, 4000):
        text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * 2**20]))
        buffer = io.BytesIO()
        pq.write_table(pa.table({"text": text}), buffer, compression="zstd", store_schema=False)
        seconds, result = timed(read_table, buffer.getvalue(), "bomb.parquet")
        print(f"bomb of {rows} MB in {len(buffer.getvalue()):,} bytes: refused in {seconds:.3f} s: {str(result)[:90]}")


if __name__ == "__main__":
    spans()
    wide_csv()
    at_the_limit()
    bombs()
