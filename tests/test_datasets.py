"""Tests for epoxy_core.data: reading uploads, preparing datasets, demos."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from epoxy_core.data import (
    Dataset,
    DatasetSpec,
    frame_hash,
    list_demos,
    load_demo,
    prepare_dataset,
    read_table,
)
from epoxy_core.data.demos import demo_file
from epoxy_core.labels import ABSTAIN

PROJECT = Path(__file__).resolve().parents[1]


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------- good files


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b'text,label\nhello world,spam\n"a, quoted",ham\n', "comments.csv"),
        (b"text\tlabel\nhello world\tspam\na, quoted\tham\n", "comments.tsv"),
        (b"text\tlabel\nhello world\tspam\na, quoted\tham\n", "really_tabs.csv"),
        (b"text;label\nhello world;spam\na, quoted;ham\n", "excel_semicolons.csv"),
        (b"text|label\nhello world|spam\na, quoted|ham\n", "pipes.txt"),
        (b'\xef\xbb\xbftext,label\nhello world,spam\n"a, quoted",ham\n', "bom.csv"),
    ],
)
def test_delimited_files_load_with_the_right_delimiter(content: bytes, filename: str) -> None:
    frame = read_table(content, filename)
    assert frame.columns.tolist() == ["text", "label"]
    assert frame["text"].tolist() == ["hello world", "a, quoted"]
    assert frame["label"].tolist() == ["spam", "ham"]


def test_single_column_csv_with_commas_in_text_stays_one_column() -> None:
    # Comma splits rows unevenly, every other delimiter gives one column everywhere: one column it is.
    frame = read_table(b"text\nhello, world\nplain\n", "texts.csv")
    assert frame.columns.tolist() == ["text"]
    assert frame["text"].tolist() == ["hello, world", "plain"]


def test_only_empty_cells_are_missing_in_csv() -> None:
    frame = read_table(b"text,label\nNA,\nnull,ham\n", "x.csv")
    assert frame["text"].tolist() == ["NA", "null"]
    assert pd.isna(frame["label"].iloc[0])


def test_short_rows_are_padded_not_refused() -> None:
    frame = read_table(b"a,b,c\n1,2,3\n4,5\n", "x.csv")
    assert frame.shape == (2, 3)
    assert pd.isna(frame["c"].iloc[1])


def test_parquet_loads_from_bytes_path_and_file_object(tmp_path: Path) -> None:
    expected = pd.DataFrame({"text": ["a", "b"], "score": [1.5, 2.0]})
    raw = parquet_bytes(expected)
    (tmp_path / "d.parquet").write_bytes(raw)
    for source in (raw, tmp_path / "d.parquet", str(tmp_path / "d.parquet"), io.BytesIO(raw)):
        frame = read_table(source, "d.parquet")
        pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_file_object_already_read_is_rewound() -> None:
    handle = io.BytesIO(b"text\nhello\n")
    handle.read()
    assert read_table(handle, "x.csv")["text"].tolist() == ["hello"]


def test_jsonl_and_json_array_load_with_union_of_keys() -> None:
    lines = b'{"text": "a", "label": "spam"}\n\n{"text": "b", "extra": 1}\n'
    frame = read_table(lines, "x.jsonl")
    assert frame.columns.tolist() == ["text", "label", "extra"]
    assert frame["text"].tolist() == ["a", "b"]
    assert pd.isna(frame["label"].iloc[1])
    array = read_table(b'[{"text": "a"}, {"text": "b"}]', "x.json")
    assert array["text"].tolist() == ["a", "b"]
    # A ".json" file that is really JSON Lines is accepted too.
    assert read_table(b'{"text": "a"}\n{"text": "b"}\n', "x.json")["text"].tolist() == ["a", "b"]


# ----------------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    ("content", "filename", "phrase"),
    [
        (b"", "x.csv", "is empty"),
        (b"   \n\n", "x.csv", "is empty"),
        (b"", "x.parquet", "is empty"),
        (b"text,label\n", "x.csv", "header row (text, label) but no data rows"),
        (b"[]", "x.json", "no records"),
        (b"text,label\nhello,spam\ncaf\xe9,ham\n", "x.csv", "not valid UTF-8: byte 0xe9 at offset 25 (line 3)"),
        (b"\xff\xfet\x00e\x00", "x.csv", "UTF-16"),
        (b"PK\x03\x04zipdata", "x.csv", "zip archive"),
        (b"text\nhel\x00lo\n", "x.csv", "NUL byte at offset 8"),
        (b"a,b\n1,2\n", "table.xlsx", "unsupported file type '.xlsx'"),
        (b"a,b\n1,2\n", "noextension", "unsupported file type '(none)'"),
        (b"text,label,text\na,b,c\n", "x.csv", "column name 'text' more than once"),
        (
            b"a;b\n1;2;3;4\n5;6\n",
            "x.csv",
            "2 semicolon-separated columns (a, b), but 1 of 2 data rows have more fields (first: record 2, with 4)",
        ),
        (b"id,text\n1,hello, world\n2,ok\n", "x.csv", "(first: record 2, with 3): the texts contain unquoted commas"),
        (b"not parquet at all", "x.parquet", "not a Parquet file"),
        (b'{"text": "a"}\n{"text": "b", "lab', "x.jsonl", "line 2 is not valid JSON"),
        (b'{"text": "a"}\n{"text": "b", "lab', "x.jsonl", "truncated"),
        (b'{"text": "a"}\n[1, 2]\n', "x.jsonl", "line 2 is a JSON list, not an object"),
        (b'{"text": "a", "text": "b"}\n', "x.jsonl", "line 1: the key 'text' appears twice"),
        (b'[{"text": "a"}, {"text": "b"', "x.json", "looks truncated"),
        (b'{"text": "a"}', "x.json", "array of records"),
        (b'[{"text": "a"}, 3]', "x.json", "item 1 of the array is a JSON int"),
    ],
)
def test_bad_files_raise_a_specific_message(content: bytes, filename: str, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        read_table(content, filename)
    assert phrase in str(info.value)


def test_truncated_parquet_is_reported_as_truncated() -> None:
    raw = parquet_bytes(pd.DataFrame({"text": ["a"] * 100}))
    with pytest.raises(ValueError, match="truncated Parquet file"):
        read_table(raw[: len(raw) // 2], "x.parquet")


def test_damaged_parquet_body_is_refused() -> None:
    raw = bytearray(parquet_bytes(pd.DataFrame({"text": ["a"] * 100})))
    raw[-8:-4] = b"\xff\xff\xff\x7f"  # footer length pointing far outside the file
    with pytest.raises(ValueError, match="damaged or truncated Parquet"):
        read_table(bytes(raw), "x.parquet")


def test_duplicate_parquet_columns_are_refused() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array([1]), pa.array([2])], names=["a", "a"])
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    with pytest.raises(ValueError, match="column name 'a' more than once"):
        read_table(buffer.getvalue(), "x.parquet")


def test_header_only_parquet_is_refused() -> None:
    raw = parquet_bytes(pd.DataFrame({"text": pd.Series([], dtype=str)}))
    with pytest.raises(ValueError, match="no rows"):
        read_table(raw, "x.parquet")


def test_size_limit_names_both_sizes(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(210 * 2**20)  # sparse: no real 210 MB written
    with pytest.raises(ValueError, match="the file is 210 MB; the limit is 200 MB"):
        read_table(big, "big.csv")
    small = b"text\n" + b"a\n" * 600
    for source in (small, io.BytesIO(small)):
        with pytest.raises(ValueError, match="the limit is 1000 bytes"):
            read_table(source, "x.csv", max_bytes=1000)


def test_size_limit_uses_declared_size_of_uploaded_file() -> None:
    class Upload(io.BytesIO):
        size = 300 * 2**20

    with pytest.raises(ValueError, match="the file is 300 MB"):
        read_table(Upload(b"text\na\n"), "x.csv")


def test_text_mode_file_object_is_refused() -> None:
    with pytest.raises(ValueError, match="binary mode"):
        read_table(io.StringIO("text\na\n"), "x.csv")  # type: ignore[arg-type]


def test_pickle_is_never_an_accepted_format() -> None:
    with pytest.raises(ValueError, match=r"unsupported file type '\.pkl'"):
        read_table(b"\x80\x04.", "x.pkl")


# ----------------------------------------------------------------------------------- prepare_dataset


def test_labels_map_to_class_indices_and_empty_means_unlabeled() -> None:
    frame = pd.DataFrame(
        {
            "text": ["buy now", "nice song", None, "check my channel"],
            "label": ["spam", "ham", np.nan, " "],
            "split": ["train", "test", None, "train"],
        }
    )
    data = prepare_dataset(frame, DatasetSpec("text", "label", "split", class_names=["ham", "spam"]))
    assert isinstance(data, Dataset)
    assert data.y.dtype == np.int64
    assert data.y.tolist() == [1, 0, ABSTAIN, ABSTAIN]
    assert data.texts == ["buy now", "nice song", "", "check my channel"]
    assert data.split.tolist() == ["train", "test", "train", "train"]
    assert data.dev_mask.tolist() == [True, True, False, False]
    assert data.cardinality == 2 and len(data) == 4


def test_class_names_are_inferred_sorted_numerically_for_integer_labels() -> None:
    # 0/1/10 with a gap is read by pandas as floats (1.0); classes must still be "0", "1", "10".
    frame = read_table(b"text,label\na,10\nb,\nc,1\nd,0\n", "x.csv")
    data = prepare_dataset(frame, DatasetSpec("text", "label"))
    assert data.class_names == ["0", "1", "10"]
    assert data.y.tolist() == [2, ABSTAIN, 1, 0]


def test_class_names_are_inferred_sorted_alphabetically_for_text_labels() -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c"], "label": ["spam", "ham", "spam"]})
    assert prepare_dataset(frame, DatasetSpec("text", "label")).class_names == ["ham", "spam"]


def test_unknown_labels_list_the_unknown_values_and_the_known_classes() -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c"], "label": ["spam", "Spam", "junk"]})
    with pytest.raises(ValueError, match=r"not class names: 'Spam', 'junk'\. Known classes: 'ham', 'spam'"):
        prepare_dataset(frame, DatasetSpec("text", "label", class_names=["ham", "spam"]))


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        (DatasetSpec("body"), "text column 'body' is not in the table. Columns: text, label"),
        (DatasetSpec("text", "gold"), "label column 'gold' is not in the table"),
        (DatasetSpec("text", split_column="fold", class_names=["a", "b"]), "split column 'fold'"),
        (DatasetSpec("label", class_names=["a", "b"]), "empty in every row"),
        (DatasetSpec("text"), "Without a label column the classes are not known: type the class names"),
        (DatasetSpec("text", "label", class_names=["a", "a"]), "unique; repeated: 'a'"),
        (DatasetSpec("text", "label", class_names=["a"]), "At least two classes"),
        (DatasetSpec("text", "label", class_names=["a", ""]), "non-empty strings"),
    ],
)
def test_bad_specs_raise_a_specific_message(spec: DatasetSpec, phrase: str) -> None:
    frame = pd.DataFrame({"text": ["x", "y"], "label": [None, np.nan]})
    with pytest.raises(ValueError) as info:
        prepare_dataset(frame, spec)
    assert phrase in str(info.value)


def test_a_single_inferred_class_asks_for_class_names() -> None:
    frame = pd.DataFrame({"text": ["x", "y"], "label": ["spam", None]})
    with pytest.raises(ValueError, match=r"has only \['spam'\]; at least two classes"):
        prepare_dataset(frame, DatasetSpec("text", "label"))


def test_content_hash_is_stable_and_sensitive_to_content_and_spec() -> None:
    frame = pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]})
    spec = DatasetSpec("text", "label")
    first = prepare_dataset(frame, spec).content_hash
    assert prepare_dataset(frame.copy(), DatasetSpec("text", "label")).content_hash == first
    changed = frame.assign(text=["a", "c"])
    assert prepare_dataset(changed, spec).content_hash != first
    assert prepare_dataset(frame, DatasetSpec("text", "label", class_names=["y", "x"])).content_hash != first
    # Hashing cells JSON can produce (lists, dicts) must not fail.
    assert len(frame_hash(pd.DataFrame({"a": [[1, 2], {"k": 1}]}))) == 64


def test_spec_round_trips_through_a_dict_and_refuses_unknown_keys() -> None:
    spec = DatasetSpec("text", "label", "split", ["ham", "spam"])
    assert DatasetSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(ValueError, match="Unknown dataset spec field"):
        DatasetSpec.from_dict({"text_column": "t", "labels": "l"})


# ----------------------------------------------------------------------------------- demos


def test_demo_list_names_every_demo() -> None:
    assert set(list_demos()) == {"support_messages", "digits", "breast_cancer"}
    with pytest.raises(ValueError, match="No demo named 'mnist'"):
        load_demo("mnist")


@pytest.mark.parametrize(
    ("name", "shape", "classes", "dev"),
    [
        ("digits", (1797, 66), [str(d) for d in range(10)], 180),
        ("breast_cancer", (569, 32), ["malignant", "benign"], 57),
        ("support_messages", (600, 5), ["billing", "shipping", "technical"], 60),
    ],
)
def test_demos_load_with_expected_shapes_and_classes(name: str, shape: tuple[int, int], classes, dev: int) -> None:
    demo = load_demo(name)
    assert demo.df.shape == shape
    data = prepare_dataset(demo.df, demo.spec)
    assert data.class_names == classes
    assert int(data.dev_mask.sum()) == dev
    assert set(np.unique(data.y[data.dev_mask])) <= set(range(len(classes)))
    assert demo.lfs, "every demo suggests some LFs"
    for lf in demo.lfs:
        assert lf["type"] in {"keyword", "column_rule"} and 0 <= lf["label"] < len(classes)
        if lf["type"] == "column_rule":
            assert lf["column"] in demo.df.columns
    if demo.embedding != "text":
        from epoxy_core.embed import embeddings_from_columns

        vectors = embeddings_from_columns(demo.df, demo.embedding)
        assert vectors.shape == (shape[0], len(demo.embedding))


def test_digits_dev_labels_agree_with_scikit_learn() -> None:
    from sklearn.datasets import load_digits

    demo = load_demo("digits")
    data = prepare_dataset(demo.df, demo.spec)
    target = load_digits().target
    assert (data.y[data.dev_mask] == target[data.dev_mask]).all()
    assert demo.df.filter(like="px_").shape[1] == 64


def test_suggested_column_rules_are_better_than_chance_on_dev_labels() -> None:
    demo = load_demo("breast_cancer")
    data = prepare_dataset(demo.df, demo.spec)
    for lf in demo.lfs:
        values = demo.df[lf["column"]]
        fires = (values > lf["value"]) if lf["op"] == ">" else (values < lf["value"])
        voted = fires.to_numpy() & data.dev_mask
        assert voted.sum() > 5
        assert (data.y[voted] == lf["label"]).mean() > 0.8, lf["name"]


def test_text_demo_has_a_test_split_without_labels_and_imperfect_keywords() -> None:
    demo = load_demo("support_messages")
    data = prepare_dataset(demo.df, demo.spec)
    assert set(data.split) == {"train", "test"}
    assert not data.dev_mask[data.split == "test"].any()
    texts = pd.Series(data.texts).str.lower()
    keywords = [word for lf in demo.lfs for word in lf["keywords"]]
    covered = texts.str.contains("|".join(rf"\b{word}\b" for word in keywords), regex=True)
    assert 0.35 < covered.mean() < 0.75  # LFs leave plenty for the extension to reach


def test_youtube_spam_csv_loads_as_documented(shared_dir: Path) -> None:
    path = shared_dir / "data" / "youtube_spam" / "youtube_spam.csv"
    frame = read_table(path, path.name)
    assert frame.shape == (1836, 7)
    data = prepare_dataset(frame, DatasetSpec("text", "label", "split"))
    assert data.class_names == ["ham", "spam"]
    assert int(data.dev_mask.sum()) == 100
    assert (data.split == "test").sum() == 250
    assert not data.dev_mask[data.split == "test"].any()


def test_text_demo_file_is_reproducible_from_its_script() -> None:
    spec = importlib.util.spec_from_file_location("make_demo_text", PROJECT / "scripts" / "make_demo_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.build().items():
        assert (demo_file(name)).read_text(encoding="utf-8") == text, name


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "support_messages"])
def test_suggested_lfs_parse_and_vote_with_the_lfs_module(name: str) -> None:
    lfs_module = pytest.importorskip("epoxy_core.lf")
    demo = load_demo(name)
    data = prepare_dataset(demo.df, demo.spec)
    lfs = [lfs_module.lf_from_dict(lf) for lf in demo.lfs]
    L = lfs_module.apply_lfs(lfs, demo.df, demo.spec.text_column, cardinality=data.cardinality)
    assert L.shape == (len(data), len(lfs))
    voted = L != ABSTAIN
    assert voted.any(axis=0).all(), "every suggested LF votes somewhere"
    assert not voted.all(axis=0).any(), "no suggested LF votes everywhere"


def test_text_demo_keyword_lfs_are_useful_but_imperfect_on_gold_labels() -> None:
    lfs_module = pytest.importorskip("epoxy_core.lf")
    demo = load_demo("support_messages")
    gold = pd.read_csv(demo_file("support_messages_gold.csv"))
    y = gold["label"].map({name: i for i, name in enumerate(demo.spec.class_names)}).to_numpy()
    L = lfs_module.apply_lfs([lfs_module.lf_from_dict(lf) for lf in demo.lfs], demo.df, "text")
    accuracies = [(L[L[:, j] != ABSTAIN, j] == y[L[:, j] != ABSTAIN]).mean() for j in range(L.shape[1])]
    assert all(0.7 < accuracy for accuracy in accuracies)
    assert sum(accuracy < 1.0 for accuracy in accuracies) >= 4  # ambiguity makes most LFs err sometimes
