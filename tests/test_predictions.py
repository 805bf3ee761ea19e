"""`resonance predict` (resonance.evaluate.predictions): a checkpoint's per-item outputs as the table
`resonance study run --predictions` reads, on the tiny dataset of tests/test_evaluate_protocol.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from resonance.cli.main import app
from resonance.data.emotion import CATEGORIES

try:
    from test_evaluate_protocol import make_dataset, train_checkpoint
except ImportError:  # pragma: no cover - run from the repository root as a package
    from tests.test_evaluate_protocol import make_dataset, train_checkpoint

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
QUIET = ["--no-progress", "--device", "cpu"]


def _run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    dataset = make_dataset(root / "dataset")
    return {"dataset": dataset, "checkpoint": train_checkpoint(dataset, root / "run")}


def test_predictions_frame_matches_the_nearest_item_of_the_other_modality():
    from resonance.evaluate.embed import Embeddings
    from resonance.evaluate.predictions import predictions_frame

    z = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.1, 0.9], [0.7, 0.7]], dtype=np.float32)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    probs = np.full((5, len(CATEGORIES)), 0.01, np.float32)
    probs[np.arange(5), [0, 1, 2, 3, 4]] = 1 - 0.01 * (len(CATEGORIES) - 1)
    emb = Embeddings(np.array(["s0", "s1", "p0", "p1", "p2"], dtype=object),
                     np.array(["audio", "audio", "image", "image", "image"], dtype=object), z,
                     np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8], [0.9, 1.0]], np.float32), probs)
    table = predictions_frame(emb, match_k=2)
    assert len(table) == 10  # 5 items x 2 matches
    s0 = table[table["id"] == "s0"].sort_values("match_rank")
    assert s0["match_id"].tolist() == ["p0", "p2"] and s0["match_score"].is_monotonic_decreasing
    assert s0["match_score"].iloc[0] == pytest.approx(float(z[0] @ z[2]), abs=1e-6)
    assert table[table["id"] == "p1"].sort_values("match_rank")["match_id"].tolist() == ["s1", "s0"]
    assert table.set_index(["id", "match_rank"]).loc[("s1", 1), "pred_arousal"] == pytest.approx(0.4)
    assert table.drop_duplicates("id").set_index("id")["pred_category"].tolist() == list(CATEGORIES[:5])
    plain = predictions_frame(emb, match_k=0)
    assert len(plain) == 5 and "match_id" not in plain
    meta = pd.DataFrame({"corpus": ["music", "music", "paint", "probe", "paint"], "split": "test"},
                        index=["s0", "s1", "p0", "p1", "p2"])
    only_paint = predictions_frame(emb, meta, match_k=1, match_corpora=["paint"]).set_index("id")
    assert only_paint.loc["s1", "match_id"] == "p2"  # p1 is nearer but is not a painting corpus
    assert only_paint.loc["p0", "corpus"] == "paint"


def test_predict_writes_a_table_that_a_study_reads(tiny, tmp_path):
    out = tmp_path / "predictions.parquet"
    result = _run("predict", tiny["checkpoint"], "--data", tiny["dataset"], "--out", out, *QUIET)
    assert result.exit_code == 0, result.output
    assert "predictions of 16 sounds, 16 paintings, 1 match(es) each" in result.output
    table = pd.read_parquet(out)
    assert len(table) == 32 and table["id"].is_unique
    probabilities = table[[f"pred_p_{c}" for c in CATEGORIES]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert table[["pred_valence", "pred_arousal"]].stack().between(0, 1).all()
    modality = table.set_index("id")["modality"]
    assert (modality.loc[table["match_id"]].to_numpy() != table["modality"].to_numpy()).all()
    provenance = json.loads(pq.read_schema(out).metadata[b"resonance.features"])
    assert provenance["kind"] == "predictions" and provenance["data_version"] == "test-v1"
    assert provenance["checkpoint_id"].startswith("sha256:") and provenance["packages"]["torch"] != "absent"

    # the study side: a compare hypothesis gets a fit (not "no model output"), paintings match sounds
    study = tmp_path / "mvp.toml"
    study.write_text('[study]\nname = "mvp"\n[data]\ngroups = "group"\n[[hypotheses]]\nid = "v"\n'
                     'kind = "compare"\nmodel = "ols"\nformula = "valence ~ image_d0"\nmodel_outcome = '
                     '"pred_valence"\nexpected = "+"\n')
    ran = _run("study", "run", study, "--data", tiny["dataset"], "--features", tiny["dataset"] / "features.parquet",
               "--predictions", out, "--out", tmp_path / "study")
    assert ran.exit_code == 0, ran.output
    row = pd.read_csv(tmp_path / "study" / "results.csv").iloc[0]
    assert row["n"] == 16 and np.isfinite(row["estimate"]) and np.isfinite(row["diff_estimate"])
    assert row["diff_estimate"] == pytest.approx(row["estimate"] - row["published"], abs=1e-6)  # OLS: linear
    recorded = json.loads((tmp_path / "study" / "provenance.json").read_text())["predictions_provenance"]
    assert recorded["model"] == "tiny" and recorded["checkpoint_id"] == provenance["checkpoint_id"]


def test_predict_one_split_to_csv_with_provenance_beside(tiny, tmp_path):
    out = tmp_path / "p.csv"
    result = _run("predict", tiny["checkpoint"], "--data", tiny["dataset"], "--out", out, "--split", "test",
                  "--matches", 3, *QUIET)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["split"]) == {"test"} and len(table) == 16 * 3
    assert set(table["match_rank"]) == {1, 2, 3}
    provenance = json.loads((tmp_path / "p.csv.provenance.json").read_text())
    assert provenance["splits"] == ["test"] and provenance["match_k"] == 3


@pytest.mark.parametrize("extra, problem", [(["--split", "nope"], "no split 'nope'"),
                                            (["--fold", "0"], "trained on the manifest split")])
def test_predict_user_errors_are_one_line(tiny, tmp_path, extra, problem):
    result = _run("predict", tiny["checkpoint"], "--data", tiny["dataset"], "--out", tmp_path / "p.parquet",
                  *extra, *QUIET)
    assert result.exit_code == 2 and problem in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.parquet").exists()
    folder = _run("predict", tiny["checkpoint"], "--data", tiny["dataset"], "--out", tmp_path, *QUIET)
    assert folder.exit_code == 2 and "is a folder" in folder.output


def test_predict_fold_keeps_to_what_the_fold_held_out(tiny, tmp_path):
    """--split test --fold K on a speech corpus: the sounds of fold K's test groups (some of them from the
    manifest's train split) and the other corpora's manifest test split, nothing else."""
    import shutil

    from resonance.data.manifest import read_manifest, write_manifest
    from resonance.train.folds import default_folds

    dataset = tmp_path / "speech"
    shutil.copytree(tiny["dataset"], dataset)
    frame = pd.read_parquet(dataset / "manifest.parquet")
    info = read_manifest(tiny["dataset"], resolve=False).attrs["manifest"]
    frame.loc[frame["modality"] == "audio", "corpus"] = "ravdess"  # a speech corpus: folded by group
    write_manifest(frame, dataset / "manifest.parquet", {"data_version": info.data_version,
                                                         "sample_rate": info.sample_rate, "roots": {}})
    ckpt = torch.load(tiny["checkpoint"], weights_only=False)
    plan = default_folds(frame, 6)
    train_groups = set(frame.loc[(frame["modality"] == "audio") & (frame["split"] == "train"), "group"])
    fold = next(f for f in plan.folds if f.test_groups & train_groups)  # a fold that tests manifest-train items
    tested = fold.test_groups
    ckpt["config"]["data"].update(fold=fold.index, folds="")  # as if trained on that fold
    checkpoint = tmp_path / "fold.pt"
    torch.save(ckpt, checkpoint)
    out = tmp_path / "p.parquet"
    result = _run("predict", checkpoint, "--data", dataset, "--out", out, "--split", "test", "--matches", 0, *QUIET)
    assert result.exit_code == 0, result.output  # the checkpoint's own fold by default
    assert f"note: fold {fold.index} of 6" in result.output
    table = pd.read_parquet(out).set_index("id")
    audio = frame[frame["modality"] == "audio"]
    expected_audio = set(audio.loc[audio["group"].isin(tested), "id"])
    assert set(table.index[table["modality"] == "audio"]) == expected_audio
    assert (audio.set_index("id").loc[sorted(expected_audio), "split"] == "train").any()  # the fold, not the split
    images = frame[(frame["modality"] == "image") & (frame["split"] == "test")]
    assert set(table.index[table["modality"] == "image"]) == set(images["id"])
    assert set(table["split"]) == {"test"}
    other = _run("predict", checkpoint, "--data", dataset, "--out", tmp_path / "q.parquet", "--fold",
                 (fold.index + 1) % 6, *QUIET)
    assert other.exit_code == 2 and f"was trained on fold {fold.index}" in other.output

