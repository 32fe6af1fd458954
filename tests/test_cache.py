"""Tests for epoxy_core.cache: keys, atomic npz entries, corruption recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from epoxy_core.cache import (
    BoundedCache,
    cache_dir,
    content_key,
    load_array,
    save_array,
)


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EPOXY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_cache_lives_in_the_data_dir(isolated_data_dir):
    assert cache_dir() == isolated_data_dir / "cache"


def test_content_key_separates_parts_types_and_settings():
    texts = ["a", "b"]
    assert content_key(texts, 30) == content_key(["a", "b"], 30)
    assert content_key(texts, 30) != content_key(texts, 31)
    assert content_key(["ab", "c"]) != content_key(["a", "bc"])
    assert content_key("1") != content_key(1)
    a = np.arange(6, dtype=np.float32)
    assert content_key(a) != content_key(a.reshape(2, 3))  # same bytes, other shape
    assert content_key(a) != content_key(a.astype(np.float64))
    assert content_key(a[::2]) == content_key(np.ascontiguousarray(a[::2]))
    assert content_key({"k": 1, "m": "x"}) == content_key({"m": "x", "k": 1})
    with pytest.raises(ValueError, match="cannot hash"):
        content_key(object())


def test_save_and_load_round_trip(isolated_data_dir):
    arrays = {"x": np.arange(12, dtype=np.float32).reshape(3, 4), "i": np.array([1, -1], dtype=np.int64)}
    path = save_array("k1", arrays, {"model": "tfidf", "n": 3})
    assert path.parent == isolated_data_dir / "cache"
    hit = load_array("k1")
    assert hit is not None
    loaded, meta = hit
    assert meta == {"model": "tfidf", "n": 3}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].dtype == array.dtype
    assert load_array("other") is None
    # No temporary files are left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == ["k1.npz"]


def test_truncated_file_is_a_miss_and_is_deleted():
    path = save_array("k2", {"x": np.random.default_rng(0).standard_normal((50, 8))}, {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert load_array("k2") is None
    assert not path.exists()


def test_corrupted_bytes_fail_the_crc_check():
    path = save_array("k3", {"x": np.zeros((100, 8))}, {})
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\xff" * 8  # inside x's payload: only the CRC notices
    path.write_bytes(bytes(data))
    assert load_array("k3") is None
    assert not path.exists()


def test_file_written_for_another_key_is_rejected():
    path = save_array("k4", {"x": np.ones(3)}, {})
    path.rename(path.with_name("k5.npz"))
    assert load_array("k5") is None


def test_bad_keys_and_object_arrays_are_refused():
    with pytest.raises(ValueError, match="Cache keys"):
        save_array("../escape", {"x": np.ones(2)}, {})
    with pytest.raises(ValueError, match="numeric numpy array"):
        save_array("k6", {"x": np.array([1, "a"], dtype=object)}, {})


def test_bounded_cache_drops_least_recently_used_and_refuses_oversized_values():
    cache = BoundedCache(max_bytes=2_000)
    cache.put("a", np.zeros(100))  # 800 bytes
    cache.put("b", np.zeros(100))
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", np.zeros(100))  # 2,400 bytes: the least recently used ("b") goes
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    big = cache.get_or_compute("big", lambda: np.zeros(1_000))  # 8,000 bytes: returned, not kept
    assert big.size == 1_000 and "big" not in cache and cache.bytes == 1_600


def test_bounded_cache_keep_newest_keeps_a_working_set_larger_than_the_bound():
    cache = BoundedCache(max_bytes=2_000, keep_newest=True)
    cache.put("small", np.zeros(10))
    calls = []
    for _ in range(3):  # every call reads it: computed once, not on each call
        cache.get_or_compute("big", lambda: calls.append(1) or np.zeros(1_000))
    assert calls == [1] and "big" in cache and "small" not in cache and cache.bytes == 8_000
    cache.put("next", np.zeros(1_000))  # the next working set replaces it
    assert "big" not in cache and "next" in cache and cache.bytes == 8_000
