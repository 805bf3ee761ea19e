"""`resonance evaluate` on cross-validation folds: a fold checkpoint records its fold, is scored on that
fold's test groups by default, and a mismatched fold (or a manifest-split checkpoint given --fold) is
refused in one line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

try:
    from test_evaluate_protocol import FAST, make_dataset
except ImportError:  # pragma: no cover
    from tests.test_evaluate_protocol import FAST, make_dataset

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _quick():
    from resonance.evaluate.protocol import ProtocolConfig

    return ProtocolConfig(**{**FAST, "n_permutations": 1, "n_resamples": 0})


def _config(dataset: Path, run_dir: Path, folds: Path | str, fold: int):
    from resonance.train import config_from_dict

    return config_from_dict({
        "model": {"name": "tiny", "image": {"width": 4}, "audio": {"width": 4}}, "epochs": 1,
        "batch_size": 8, "lr": 3e-3, "run_dir": str(run_dir), "progress": False, "tensorboard": False,
        "patience": 0, "device": "cpu", "data": {"kind": "manifest", "dataset": str(dataset), "image_size": 16,
                                                  "n_mels": 16, "window_s": 0.5, "window_hop_s": 0.5,
                                                  "long_clip_s": 1.0, "folds": str(folds), "fold": fold}})


@pytest.fixture(scope="module")
def folded(tmp_path_factory) -> dict[str, object]:
    from resonance.train.manifest_data import run_manifest

    root = tmp_path_factory.mktemp("evaluate_folds")
    dataset = make_dataset(root / "dataset")
    frame = pd.read_parquet(dataset / "manifest.parquet")
    groups = sorted(frame.loc[frame["modality"] == "audio", "group"].unique())
    folds = root / "folds.csv"
    folds.write_text("fold,group\n" + "".join(f"{i % 4},{g}\n" for i, g in enumerate(groups)))
    results, _ = run_manifest(_config(dataset, root / "run", folds, 1), log=lambda _m: None)
    (result,) = results
    return {"dataset": dataset, "folds": folds, "frame": frame, "groups": groups,
            "checkpoint": result.run_dir / "checkpoints" / "latest.pt", "root": root}


def test_fold_checkpoint_records_its_fold_and_is_scored_on_it(folded):
    from resonance.evaluate.protocol import checkpoint_fold, evaluate

    ckpt = torch.load(folded["checkpoint"], weights_only=True)
    assert checkpoint_fold(ckpt) == 1 and ckpt["config"]["data"]["fold"] == 1
    result = evaluate(folded["checkpoint"], folded["dataset"], "test", config=_quick())
    tested = [g for i, g in enumerate(folded["groups"]) if i % 4 == 1]
    assert result["dataset"]["fold"] == 1 and result["dataset"]["fold_test_groups"] == sorted(tested)
    frame = folded["frame"]
    n_sounds = int(frame["group"].isin(tested).sum())
    n_paintings = int(((frame["modality"] == "image") & (frame["split"] == "test")).sum())
    assert result["n_items"] == {"audio/tones": n_sounds, "image/paint": n_paintings}
    assert any("chance permutes" in note for note in result["notes"])
    assert any("fold 1 of 4" in note for note in result["notes"])
    # naming the same fold (and the same folds file) explicitly gives the same numbers
    again = evaluate(folded["checkpoint"], folded["dataset"], "test", config=_quick(), fold=1,
                     folds=folded["folds"])
    pd.testing.assert_frame_equal(result["summary"], again["summary"])


def test_mismatched_fold_or_folds_file_is_refused(folded, tmp_path):
    from resonance.errors import ParameterError
    from resonance.evaluate.protocol import evaluate

    with pytest.raises(ParameterError, match="trained on fold 1.*--fold 1"):
        evaluate(folded["checkpoint"], folded["dataset"], "test", config=_quick(), fold=0)
    other = tmp_path / "other.csv"
    other.write_text("fold,group\n" + "".join(f"{(i + 1) % 4},{g}\n" for i, g in enumerate(folded["groups"])))
    with pytest.raises(ParameterError, match="does not test the groups"):
        evaluate(folded["checkpoint"], folded["dataset"], "test", config=_quick(), folds=other)


def test_manifest_split_checkpoint_refuses_a_fold(folded):
    from typer.testing import CliRunner

    from resonance.cli.main import app

    try:
        from test_evaluate_protocol import train_checkpoint
    except ImportError:  # pragma: no cover
        from tests.test_evaluate_protocol import train_checkpoint

    checkpoint = train_checkpoint(folded["dataset"], folded["root"] / "plain", epochs=1)
    result = CliRunner().invoke(app, ["evaluate", str(checkpoint), "--data", str(folded["dataset"]), "--fold", "0",
                                      "--no-progress", "--device", "cpu"])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "manifest split" in errors[0], result.output
