"""The gallery index: exact search equals brute force, HNSW recall, persistence and its validation."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from resonance.errors import ParameterError
from resonance.evaluate import EmbeddingIndex


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def large_gallery():
    """20k random 128-d unit vectors and 200 queries, with both kinds of index built once."""
    gallery, queries = unit_rows(20_000, 128, seed=0), unit_rows(200, 128, seed=1)
    return gallery, queries, EmbeddingIndex.build(gallery, kind="exact"), EmbeddingIndex.build(gallery, kind="hnsw")


def test_exact_search_equals_numpy_argsort():
    gallery = np.random.default_rng(2).normal(size=(500, 16)) * 3.0  # not normalised: the index does it
    queries = np.random.default_rng(3).normal(size=(20, 16))
    index = EmbeddingIndex.build(gallery, ids=[f"g{i}" for i in range(500)])
    result = index.search(queries, k=10)
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = q @ g.T
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    assert (result.positions == expected).all()
    assert result.ids[0, 0] == f"g{expected[0, 0]}"
    np.testing.assert_allclose(result.scores, np.take_along_axis(scores, expected, axis=1), atol=1e-5)


def test_hnsw_recall_at_10_is_at_least_095_on_20k_random_vectors(large_gallery):
    _, queries, exact, hnsw = large_gallery
    assert exact.kind == "exact" and hnsw.kind == "hnsw"
    truth = exact.search(queries, k=10).positions
    found = hnsw.search(queries, k=10).positions
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)])
    assert recall >= 0.95, f"HNSW recall@10 = {recall:.3f}"


def test_auto_kind_follows_the_threshold():
    x = unit_rows(150, 8, seed=4)
    assert EmbeddingIndex.build(x, exact_threshold=150).kind == "exact"
    assert EmbeddingIndex.build(x, exact_threshold=149).kind == "hnsw"


def test_k_larger_than_the_gallery_is_clipped():
    index = EmbeddingIndex.build(unit_rows(4, 8, seed=5))
    result = index.search(unit_rows(2, 8, seed=6), k=10)
    assert result.ids.shape == result.scores.shape == (2, 4)
    assert (np.sort(result.positions, axis=1) == np.arange(4)).all()
    assert (np.diff(result.scores, axis=1) <= 0).all()
    with pytest.raises(ParameterError, match="positive"):
        index.search(unit_rows(1, 8, seed=6), k=0)


def test_build_does_not_modify_its_input():
    x = np.random.default_rng(7).normal(size=(10, 4)).astype(np.float32)
    before = x.copy()
    EmbeddingIndex.build(x)
    assert (x == before).all()


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_save_load_round_trip(tmp_path, kind):
    x, q = unit_rows(300, 16, seed=8), unit_rows(5, 16, seed=9)
    index = EmbeddingIndex.build(x, kind=kind, ids=[f"item{i}" for i in range(300)], modality=["image"] * 300,
                                 paths=[f"/data/{i}.jpg" for i in range(300)], labels=["awe", "fear", "calm"] * 100,
                                 checkpoint="ckpt-abc")
    index.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["index.faiss", "index.json", "items.parquet"]
    loaded = EmbeddingIndex.load(tmp_path / "idx", expected_dim=16, expected_checkpoint="ckpt-abc")
    a, b = index.search(q, k=7), loaded.search(q, k=7)
    assert (a.ids == b.ids).all() and np.array_equal(a.scores, b.scores)
    assert loaded.items.equals(index.items)
    assert list(loaded.items.columns) == ["id", "modality", "path", "label"]
    prov = loaded.provenance
    assert (prov["checkpoint"], prov["dim"], prov["normalisation"], prov["kind"]) == ("ckpt-abc", 16, "l2", kind)
    assert prov["n_items"] == 300


def test_unlabelled_gallery_round_trips(tmp_path):
    index = EmbeddingIndex.build(unit_rows(6, 4, seed=10))
    loaded = EmbeddingIndex.load(index.save(tmp_path / "idx"))
    assert list(loaded.items.columns) == ["id"]
    assert loaded.search(unit_rows(1, 4, seed=11), k=3).ids.shape == (1, 3)


def test_dimension_mismatch_names_the_fix(tmp_path):
    EmbeddingIndex.build(unit_rows(6, 4, seed=12)).save(tmp_path / "idx")
    with pytest.raises(ParameterError, match=r"holds 4-d embeddings but the model gives 8-d.*resonance index build"):
        EmbeddingIndex.load(tmp_path / "idx", expected_dim=8)
    loaded = EmbeddingIndex.load(tmp_path / "idx")
    with pytest.raises(ParameterError, match="dimension 8 but the index holds 4-d"):
        loaded.search(unit_rows(1, 8, seed=13))


def test_checkpoint_mismatch_is_an_error(tmp_path):
    EmbeddingIndex.build(unit_rows(6, 4, seed=14), checkpoint="one").save(tmp_path / "idx")
    with pytest.raises(ParameterError, match="checkpoint 'one', not 'two'"):
        EmbeddingIndex.load(tmp_path / "idx", expected_checkpoint="two")


def test_files_that_do_not_belong_together_are_detected(tmp_path):
    EmbeddingIndex.build(unit_rows(6, 4, seed=15)).save(tmp_path / "a")
    EmbeddingIndex.build(unit_rows(7, 4, seed=16)).save(tmp_path / "b")
    (tmp_path / "a" / "items.parquet").write_bytes((tmp_path / "b" / "items.parquet").read_bytes())
    with pytest.raises(ParameterError, match="does not match index.json"):
        EmbeddingIndex.load(tmp_path / "a")
    meta = json.loads((tmp_path / "b" / "index.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "b" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(ParameterError, match="index format 99"):
        EmbeddingIndex.load(tmp_path / "b")
    with pytest.raises(ParameterError, match="not an index folder"):
        EmbeddingIndex.load(tmp_path / "missing")


def test_interrupted_save_leaves_no_index_json(tmp_path, monkeypatch):
    index = EmbeddingIndex.build(unit_rows(6, 4, seed=17))

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", fail)
    with pytest.raises(OSError, match="disk full"):
        index.save(tmp_path / "idx")
    assert list((tmp_path / "idx").iterdir()) == []  # no half-written file, no temporary left behind


@pytest.mark.parametrize("kwargs, match", [
    ({"ids": ["a", "a", "b"]}, "unique"),
    ({"labels": ["x", "y"]}, "one per item"),
    ({"kind": "ivf"}, "kind"),
    ({"ef_search": 0}, "ef_search"),
])
def test_build_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        EmbeddingIndex.build(unit_rows(3, 4, seed=18), **kwargs)


def test_build_rejects_bad_embeddings():
    with pytest.raises(ParameterError, match="all zeros"):
        EmbeddingIndex.build(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ParameterError, match="NaN"):
        EmbeddingIndex.build(np.array([[1.0, np.nan]]))
    with pytest.raises(ParameterError, match="shape"):
        EmbeddingIndex.build(np.zeros((0, 4)))
