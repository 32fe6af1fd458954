"""Bad-input corpus, library side: files, degenerate data and LFs thrown at a project seeded with good work.

Every refused case pins its specific message (one a user can act on, naming no library identifier) and that
the project's dataset, LFs, settings and hand labels survive untouched.  Every file is made here, in memory;
none is kept in the repo.  Concurrency is in ``test_bad_input_concurrency.py``, kills in
``test_bad_input_kills.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from epoxy_core.data import MAX_COLUMNS, DatasetSpec, prepare_dataset, read_table
from epoxy_core.labels import ABSTAIN
from epoxy_core.lf import apply_lfs, lf_to_dict, lfs_from_json
from epoxy_core.workspace import Workspace
from tests._seeded import PROJECT, SEED_FRAME, SEED_SPEC, assert_seeded_state_survives, copy_seeded, seed

# Library names a user of the app must never read in a message.
_LIBRARY_WORDS = ("DatasetSpec", "class_names", "ArrowInvalid", "sqlite3", "Traceback", "pyarrow.lib", "Error:")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seed(tmp_path_factory.mktemp("seeded")).root


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    """A private copy of the seeded workspace (seeding costs ~10 fsynced transactions; copying does not)."""
    return copy_seeded(template, tmp_path)


def assert_user_message(error: BaseException, phrase: str) -> None:
    message = str(error)
    assert phrase in message, message
    assert not any(word in message for word in _LIBRARY_WORDS), message


def upload(ws: Workspace, raw: bytes, filename: str, spec: DatasetSpec = SEED_SPEC, **read_options) -> pd.DataFrame:
    """What the data page does with an upload: read it, validate it with the spec, save it if all is well."""
    frame = read_table(raw, filename, **read_options)
    ws.save_dataset(PROJECT, frame, spec, filename, expected_revision=ws.dataset_revision(PROJECT))
    return frame


def parquet(table: pa.Table | pd.DataFrame, **options) -> bytes:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **options)
    return buffer.getvalue()


def dictionary_bomb(rows: int, value_bytes: int, *, store_schema: bool = False) -> bytes:
    """``rows`` copies of one ``value_bytes``-long text: a dictionary of one entry, so the file stays tiny."""
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), pa.array(["x" * value_bytes]))
    table = pa.table({"text": text, "label": pa.array(["spam"] * rows)})
    # Without the stored Arrow schema the column reads back as plain text, the way most writers store text.
    return parquet(table, compression="zstd", store_schema=store_schema)


def nested_bomb(rows: int, value_bytes: int) -> bytes:
    """A list column whose items are all one long dictionary entry."""
    items = pa.DictionaryArray.from_arrays(pa.array(np.zeros(2 * rows, dtype=np.int32)), pa.array(["y" * value_bytes]))
    tokens = pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * rows + 1, 2, dtype=np.int32)), items)
    return parquet(pa.table({"text": pa.array(["t"] * rows), "tokens": tokens}), compression="zstd", store_schema=False)


def csv_rows(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


WIDE_HEADER = ",".join(["text", "label", *(f"c{i}" for i in range(100_000))])

# ------------------------------------------------------------------------------------------- refused uploads

REFUSED: dict[str, tuple[Callable[[], bytes], str, str, dict]] = {
    # id: (file builder, file name, phrase of the message, read_table options)
    "empty csv": (lambda: b"", "x.csv", "'x.csv' is empty: it holds no data", {}),
    "blank lines only": (lambda: b"  \n\n\t\n", "x.csv", "'x.csv' is empty", {}),
    "empty parquet": (lambda: b"", "x.parquet", "'x.parquet' is empty", {}),
    "header only": (lambda: b"text,label\n", "x.csv", "header row (text, label) but no data rows", {}),
    "header only parquet": (
        lambda: parquet(pd.DataFrame({"text": pd.Series([], dtype=str)})),
        "x.parquet",
        "has columns (text) but no rows",
        {},
    ),
    "truncated parquet": (
        lambda: parquet(SEED_FRAME)[:-200],
        "x.parquet",
        "truncated Parquet file: its footer is missing",
        {},
    ),
    "damaged parquet footer": (
        lambda: parquet(SEED_FRAME)[:-8] + b"\xff\xff\xff\x7fPAR1",
        "x.parquet",
        "damaged or truncated Parquet file",
        {},
    ),
    "parquet that is not parquet": (lambda: b"text,label\na,b\n", "x.parquet", "not a Parquet file", {}),
    "truncated jsonl": (
        lambda: b'{"text": "a", "label": "spam"}\n{"text": "b", "lab',
        "x.jsonl",
        "line 2 is not valid JSON",
        {},
    ),
    "truncated json array": (lambda: b'[{"text": "a"}, {"text": "b"', "x.json", "looks truncated", {}),
    "cp1252 csv": (
        lambda: "text,label\nhello,spam\ncafé,ham\n".encode("cp1252"),
        "x.csv",
        "not valid UTF-8: byte 0xe9 at offset 25 (line 3)",
        {},
    ),
    "utf-16 csv": (lambda: "text,label\nhi,spam\n".encode("utf-16"), "x.csv", "encoded as UTF-16", {}),
    "xlsx renamed to csv": (lambda: b"PK\x03\x04" + b"\x00" * 60, "x.csv", "zip archive (an Excel .xlsx file?)", {}),
    "binary with NUL": (lambda: b"text\nab\x00cd\n", "x.csv", "NUL byte at offset 7", {}),
    "1 GB in a dictionary (1 KB file)": (
        lambda: dictionary_bomb(1000, 2**20),
        "bomb.parquet",
        "too large once decompressed: it holds about 1.0 GB of data",
        {},
    ),
    "4 GB in a dictionary": (
        lambda: dictionary_bomb(4000, 2**20),
        "bomb.parquet",
        "too large once decompressed: it holds about 3.9 GB of data",
        {},
    ),
    "1 GB dictionary stored as a category": (
        lambda: dictionary_bomb(1000, 2**20, store_schema=True),
        "bomb.parquet",
        "too large once decompressed",
        {},
    ),
    "bomb inside a list column": (lambda: nested_bomb(500, 2**20), "bomb.parquet", "too large once decompressed", {}),
    "plain-encoded bomb": (
        lambda: parquet(pa.table({"text": ["z" * 2**20] * 24}), compression="zstd", use_dictionary=False),
        "bomb.parquet",
        "holds about 24 MB of data",
        {"max_decompressed_bytes": 8 * 2**20},
    ),
    "row-count bomb": (
        lambda: parquet(pa.table({"flag": pa.array(np.zeros(5_000_000, dtype=np.int8))}), compression="zstd"),
        "rows.parquet",
        "too large once decompressed",
        {"max_decompressed_bytes": 8 * 2**20},
    ),
    "duplicate csv columns": (lambda: b"text,label,text\na,spam,b\n", "x.csv", "column name 'text' more than once", {}),
    "duplicate parquet columns": (
        lambda: parquet(pa.table([pa.array(["a"]), pa.array(["b"])], names=["text", "text"])),
        "x.parquet",
        "column name 'text' more than once",
        {},
    ),
    "duplicate json keys": (lambda: b'{"text": "a", "text": "b"}\n', "x.jsonl", "the key 'text' appears twice", {}),
    "unquoted commas in most texts": (
        lambda: csv_rows("text,label", *(f"hello, world {i},spam" for i in range(30)), "plain,ham"),
        "x.csv",
        "the header has 2 comma-separated columns (text, label), but 30 of 31 data rows have more fields",
        {},
    ),
    "unquoted commas in one text": (
        lambda: csv_rows("text,label", "fine,spam", "one, two, three,ham", "ok,ham"),
        "x.csv",
        "the texts contain unquoted commas. Put quotes around fields that contain a comma",
        {},
    ),
    "100,000 columns": (
        lambda: csv_rows(WIDE_HEADER, ",".join(["hi", "spam", *("1" * 100_000)])),
        "wide.csv",
        "has 100,002 columns; at most 4,096 are supported",
        {},
    ),
    "wide parquet": (
        lambda: parquet(pa.table({f"c{i}": [1] for i in range(MAX_COLUMNS + 1)})),
        "wide.parquet",
        "has 4,097 columns; at most 4,096",
        {},
    ),
    "wide json": (
        lambda: json.dumps([{f"c{i}": 1 for i in range(MAX_COLUMNS + 1)}]).encode(),
        "wide.json",
        "has 4,097 columns",
        {},
    ),
    "deeply nested json": (lambda: b"[" * 100_000 + b"]" * 100_000, "x.json", "nests lists or objects too deeply", {}),
    "deeply nested jsonl": (lambda: b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, "x.jsonl", "line 1 nests", {}),
    "json line that is a list": (
        lambda: b'{"text": "a"}\n[1, 2]\n',
        "x.jsonl",
        "line 2 is a JSON list, not an object",
        {},
    ),
    "json object instead of records": (lambda: b'{"text": "a"}', "x.json", "must hold an array of records", {}),
    "spreadsheet": (lambda: b"PK\x03\x04", "table.xlsx", "unsupported file type '.xlsx'", {}),
    "gzip": (lambda: b"\x1f\x8b\x08", "table.csv.gz", "Decompress it first", {}),
    "pickle": (lambda: b"\x80\x04\x95", "frame.pkl", "unsupported file type '.pkl'", {}),
    "over the upload limit": (lambda: b"text,label\n" + b"a,spam\n" * 200, "x.csv", "the limit is 1000 bytes", {}),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_bad_upload_gets_its_message_and_the_project_survives(ws: Workspace, case: str) -> None:
    build, filename, phrase, options = REFUSED[case]
    if case == "over the upload limit":
        options = {"max_bytes": 1000}
    with pytest.raises(ValueError) as info:
        upload(ws, build(), filename, **options)
    assert_user_message(info.value, phrase)
    assert_seeded_state_survives(ws)


def test_an_upload_over_the_limit_on_disk_is_refused_before_reading(ws: Workspace, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(210 * 2**20)  # sparse: nothing is really written
    with pytest.raises(ValueError) as info:
        read_table(big, "big.csv")
    assert_user_message(info.value, "the file is 210 MB; the limit is 200 MB")
    assert_seeded_state_survives(ws)


# ------------------------------------------------------------------------------------------- accepted uploads


def test_cells_over_the_csv_modules_field_limit_load(ws: Workspace) -> None:
    huge = "word " * 60_000  # 300,000 characters, over csv's default 131,072
    raw = csv_rows("text,label", f"{huge},spam", f'"{huge}, with a quoted comma",ham', "short,")
    frame = upload(ws, raw, "long.csv")
    assert [len(text) for text in frame["text"]] == [len(huge), len(huge) + 21, 5]
    assert ws.load_dataset(PROJECT)[0]["text"].iloc[0] == huge


def test_a_cell_larger_than_the_delimiter_sample_loads(ws: Workspace) -> None:
    raw = b'text,label\n"' + b"a, b; c\t" * 300_000 + b'",spam\nplain,ham\n'  # a 2.4 MB quoted cell
    frame = upload(ws, raw, "long.csv")
    assert frame.shape == (2, 2) and frame["label"].tolist() == ["spam", "ham"]


def test_na_like_label_cells_are_missing_and_text_cells_stay_text(ws: Workspace) -> None:
    na = ["NaN", "nan", "NA", "null", "None", "N/A", "", " n/a "]
    raw = csv_rows("text,label", "NA,spam", "None,ham", *(f"row {i},{value}" for i, value in enumerate(na)))
    frame = read_table(raw, "na.csv")
    data = prepare_dataset(frame, DatasetSpec("text", "label"))
    assert data.class_names == ["ham", "spam"], "no extra classes from NA spellings"
    assert data.y.tolist() == [1, 0] + [ABSTAIN] * len(na)
    assert int(data.dev_mask.sum()) == 2
    assert data.texts[:2] == ["NA", "None"]
    upload(ws, raw, "na.csv", DatasetSpec("text", "label"))
    assert ws.dataset_info(PROJECT)["n_rows"] == 10


def test_missing_label_values_are_configurable_and_declared_classes_win() -> None:
    frame = pd.DataFrame({"text": list("abcd"), "label": ["NA", "?", "yes", "None"]})
    custom = prepare_dataset(frame, DatasetSpec("text", "label", missing_labels=["?"]))
    assert custom.class_names == ["NA", "None", "yes"] and custom.y.tolist() == [0, ABSTAIN, 2, 1]
    declared = prepare_dataset(frame.drop(index=1), DatasetSpec("text", "label", class_names=["None", "yes"]))
    assert declared.y.tolist() == [ABSTAIN, 1, 0], "'None' is a declared class here, 'NA' still means missing"
    spec = DatasetSpec("text", "label", missing_labels=["?"])
    assert DatasetSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(ValueError, match="missing-label values must be strings"):
        DatasetSpec("text", "label", missing_labels=[None])  # type: ignore[list-item]


def test_a_table_at_the_column_limit_loads() -> None:
    header = ",".join(["text", "label", *(f"c{i}" for i in range(MAX_COLUMNS - 2))])
    frame = read_table(csv_rows(header, ",".join(["hi", "spam", *("1" * (MAX_COLUMNS - 2))])), "wide.csv")
    assert frame.shape == (1, MAX_COLUMNS)
    assert prepare_dataset(frame, SEED_SPEC).y.tolist() == [1]


def test_a_categorical_parquet_within_budget_loads_as_stored() -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c"] * 100, "label": pd.Categorical(["spam", "ham", None] * 100)})
    loaded = read_table(parquet(frame), "cat.parquet")
    assert isinstance(loaded["label"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False, check_categorical=False)


# ------------------------------------------------------------------------------------------- degenerate data

DEGENERATE: dict[str, tuple[pd.DataFrame, DatasetSpec, str]] = {
    "one class only": (
        pd.DataFrame({"text": ["a", "b"], "label": ["spam", None]}),
        DatasetSpec("text", "label"),
        "has only ['spam']; at least two classes are needed. Type the class names",
    ),
    "labels all NA-like": (
        pd.DataFrame({"text": ["a", "b"], "label": ["N/A", "null"]}),
        DatasetSpec("text", "label"),
        "has no labels at all",
    ),
    "text missing everywhere": (
        pd.DataFrame({"text": [None, np.nan, ""], "label": ["spam", "ham", None]}),
        SEED_SPEC,
        "The text column 'text' is empty in every row",
    ),
    "no label column and no classes": (pd.DataFrame({"text": ["a"]}), DatasetSpec("text"), "type the class names"),
    "label not a class": (
        pd.DataFrame({"text": ["a", "b"], "label": ["spam", "Spam"]}),
        SEED_SPEC,
        "holds values that are not class names: 'Spam'. Known classes: 'ham', 'spam'",
    ),
    "one declared class": (pd.DataFrame({"text": ["a"]}), DatasetSpec("text", class_names=["spam"]), "At least two"),
    "mixed-type column": (
        pd.DataFrame({"text": ["a", "b"], "label": [None, None], "mixed": [1, "one"]}),
        SEED_SPEC,
        "cannot be stored as Parquet",
    ),
    "no rows": (pd.DataFrame({"text": pd.Series([], dtype=str), "label": []}), SEED_SPEC, "The table has no rows"),
    "duplicate column in a frame": (
        pd.DataFrame([["a", "b"]], columns=["text", "text"]),
        DatasetSpec("text", class_names=["ham", "spam"]),
        "more than one column named 'text'",
    ),
    "too wide for the workspace": (
        pd.DataFrame(np.zeros((1, MAX_COLUMNS + 1))).rename(columns={0: "text"}).astype({"text": str}),
        DatasetSpec("text", class_names=["ham", "spam"]),
        "the workspace stores at most 4,096",
    ),
}


@pytest.mark.parametrize("case", DEGENERATE, ids=list(DEGENERATE))
def test_degenerate_data_is_refused_and_the_project_survives(ws: Workspace, case: str) -> None:
    frame, spec, phrase = DEGENERATE[case]
    with pytest.raises(ValueError) as info:
        ws.save_dataset(PROJECT, frame, spec, "bad.csv", expected_revision=1)
    assert_user_message(info.value, phrase)
    assert_seeded_state_survives(ws)
    assert not list(ws.project_dir(PROJECT).glob(".tmp-*")), "no temporary file is left behind"


def test_a_one_row_dataset_is_accepted() -> None:
    data = prepare_dataset(pd.DataFrame({"text": ["only"], "label": ["spam"]}), SEED_SPEC)
    assert (len(data), data.y.tolist(), data.class_names) == (1, [1], ["ham", "spam"])


def test_constant_and_zero_embeddings_give_a_graph_and_finite_extension() -> None:
    from epoxy_core.extension import extend, nearest_voters
    from epoxy_core.neighbors import build_knn_graph

    L = np.full((30, 1), ABSTAIN, dtype=np.int64)
    L[:3, 0] = 1
    for vectors in (np.ones((30, 8), dtype=np.float32), np.zeros((30, 8), dtype=np.float32)):
        graph = build_knn_graph(vectors, n_neighbors=5)
        assert np.isfinite(graph.similarities).all()
        extended = extend(L, graph, thresholds=0.5, nearest=nearest_voters(L, graph))
        assert set(np.unique(extended)) <= {ABSTAIN, 1}
        assert (extended[:3, 0] == 1).all()


# ------------------------------------------------------------------------------------------- labeling functions


def _lf_file(lfs: list[dict]) -> str:
    return json.dumps({"format": "epoxy-lfs", "version": 1, "lfs": lfs})


def import_lfs(ws: Workspace, raw: str | bytes) -> None:
    """What the LF page's import does: parse, check every LF against the data, then save the set."""
    lfs = lfs_from_json(raw)
    dataset = prepare_dataset(*ws.load_dataset(PROJECT))
    apply_lfs(lfs, dataset.df, dataset.spec.text_column, dataset.cardinality)
    ws.save_lfs(PROJECT, [lf_to_dict(lf) for lf in lfs], expected_revision=ws.revisions(PROJECT)["lfs"])


def _keyword(**fields) -> dict:
    return {"type": "keyword", "name": "k", "label": 0, "keywords": ["a"], **fields}


HOSTILE_LFS: dict[str, tuple[str | bytes, str]] = {
    "not json": (b"{", "not valid JSON"),
    "not an LF file": (json.dumps({"type": "keyword"}), "Not an Epoxy LF file"),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "code instead of data": (_lf_file([{"type": "python", "name": "x", "code": "import os"}]), "never read from JSON"),
    "unbalanced regex": (_lf_file([{"type": "regex", "name": "r", "label": 0, "pattern": "("}]), "invalid regex '('"),
    "lookahead regex": (
        _lf_file([{"type": "regex", "name": "r", "label": 0, "pattern": "a(?=b)"}]),
        "not supported by RE2",
    ),
    "class as text": (_lf_file([_keyword(label="spam")]), "label must be a class index"),
    "huge class index": (_lf_file([_keyword(label=10**30)]), "between 0 and"),
    "class out of range for the data": (_lf_file([_keyword(label=5)]), "votes class 5, but there are only 2 classes"),
    "missing column": (
        _lf_file([{"type": "column_rule", "name": "c", "label": 0, "column": "nope", "op": ">", "value": 1}]),
        "needs column 'nope', which is not in the data",
    ),
    "numeric rule on text": (
        _lf_file([{"type": "column_rule", "name": "c", "label": 0, "column": "text", "op": ">", "value": 5}]),
        "compares numbers or dates, but column 'text' holds text",
    ),
    "operator injection": (
        _lf_file([{"type": "column_rule", "name": "c", "label": 0, "column": "score", "op": "__import__", "value": 1}]),
        "op must be one of",
    ),
    "unknown field": (_lf_file([_keyword(__class__="os.system")]), "unknown field(s) '__class__'"),
    "duplicate names": (_lf_file([_keyword(), _keyword()]), "Duplicate LF name 'k'"),
    "too many LFs": (_lf_file([_keyword(name=f"k{i}") for i in range(1001)]), "1,001 LFs; the limit is 1,000"),
    "NaN threshold": (
        '{"format": "epoxy-lfs", "version": 1, "lfs": [{"type": "column_rule", "name": "c", "label": 0, '
        '"column": "score", "op": ">", "value": NaN}]}',
        "NaN is not allowed",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_LFS, ids=list(HOSTILE_LFS))
def test_a_hostile_or_unfitting_lf_file_is_refused_and_the_lfs_survive(ws: Workspace, case: str) -> None:
    raw, phrase = HOSTILE_LFS[case]
    with pytest.raises(ValueError) as info:
        import_lfs(ws, raw)
    assert_user_message(info.value, phrase)
    assert_seeded_state_survives(ws)
