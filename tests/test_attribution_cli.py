"""`resonance attribute report` end to end on a small prepared dataset, and its bad-input errors."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from resonance.cli.main import app
from tests.test_evaluate_protocol import make_dataset, train_checkpoint

torch.set_num_threads(1)


def _descriptor_checkpoint(tmp_path):
    from handcrafted.extract import ExtractConfig, extract_features
    from resonance.train import config_from_dict, train
    from resonance.train.manifest_data import ManifestDataset

    dataset = make_dataset(tmp_path / "dataset", per_category=3, features=False)
    extract_features(dataset, dataset / "features.parquet", ExtractConfig(workers=1, progress=False))
    config = config_from_dict({"model": {"name": "descriptor", "image": {"hidden": 16}, "audio": {"hidden": 16}},
                               "epochs": 2, "batch_size": 8, "run_dir": str(tmp_path / "run"), "progress": False,
                               "tensorboard": False, "patience": 0, "device": "cpu",
                               "data": {"kind": "manifest", "dataset": str(dataset)}})
    train(config, ManifestDataset(dataset, "train", config))
    return dataset, tmp_path / "run" / "checkpoints" / "latest.pt"


def test_attribute_report_cli(tmp_path):
    dataset, checkpoint = _descriptor_checkpoint(tmp_path)
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["attribute", "report", str(checkpoint), "--data", str(dataset), "--out", str(out),
                                      "--pairs", "60", "--steps", "8", "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["emotions"] and (out / "index.html").exists()
    for numbers in report["emotions"].values():
        assert numbers["completeness_relative_delta"]["median"] < 0.05
    # a deep-tower checkpoint: a clear error naming the fix, nothing written
    deep = train_checkpoint(dataset, tmp_path / "deep", epochs=1)
    bad = CliRunner().invoke(app, ["attribute", "report", str(deep), "--data", str(dataset), "--out",
                                   str(tmp_path / "bad"), "--no-progress"])
    assert bad.exit_code == 2 and "descriptor towers" in bad.output
    assert not (tmp_path / "bad").exists()


def test_attribute_pair_cli(tmp_path):
    dataset, checkpoint = _descriptor_checkpoint(tmp_path)
    image = sorted((dataset / "media" / "test" / "image").iterdir())[0]
    sound = sorted((dataset / "media" / "test" / "audio").iterdir())[0]
    result = CliRunner().invoke(app, ["attribute", "pair", str(image), str(sound), "--checkpoint", str(checkpoint),
                                      "--steps", "32", "--out", str(tmp_path / "pair.json")])
    assert result.exit_code == 0, result.output
    r = json.loads((tmp_path / "pair.json").read_text())
    assert abs(r["ig_relative_delta"]) < 1e-2 and len(r["top_pairs"]) == 5
    assert result.output.startswith(f"s({image.name}, {sound.name}) = ")
    missing = CliRunner().invoke(app, ["attribute", "pair", str(tmp_path / "nope.png"), str(sound), "--checkpoint",
                                       str(checkpoint)])
    assert missing.exit_code == 2 and "is not a file" in missing.output
