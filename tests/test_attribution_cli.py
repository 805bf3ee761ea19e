"""`resonance attribute report|pair` end to end on small prepared datasets (descriptor, hybrid and deep
towers), and their bad-input errors: nothing half-written."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from resonance.cli.main import app
from tests.test_evaluate_protocol import make_dataset, train_checkpoint

torch.set_num_threads(1)

SMALL = ["--pairs", "60", "--steps", "8", "--overlay-steps", "4", "--overlays", "1", "--max-items", "8",
         "--no-progress"]


def _train(tmp_path, dataset, model, name="run"):
    from resonance.train import config_from_dict, train
    from resonance.train.manifest_data import ManifestDataset

    config = config_from_dict({"model": model, "epochs": 2, "batch_size": 8, "run_dir": str(tmp_path / name),
                               "progress": False, "tensorboard": False, "patience": 0, "device": "cpu",
                               "data": {"kind": "manifest", "dataset": str(dataset), "image_size": 32, "n_mels": 16,
                                        "window_s": 0.5, "window_hop_s": 0.5, "long_clip_s": 1.0}})
    train(config, ManifestDataset(dataset, "train", config))
    return tmp_path / name / "checkpoints" / "latest.pt"


@pytest.fixture(scope="module")
def described(tmp_path_factory):
    """A dataset with real descriptors, a descriptor-tower and a hybrid-tower checkpoint."""
    from handcrafted.extract import ExtractConfig, extract_features

    root = tmp_path_factory.mktemp("attribute_cli")
    dataset = make_dataset(root / "dataset", per_category=3, features=False)
    extract_features(dataset, dataset / "features.parquet", ExtractConfig(workers=1, progress=False))
    descriptor = _train(root, dataset, {"name": "descriptor", "image": {"hidden": 16}, "audio": {"hidden": 16}}, "d")
    hybrid = _train(root, dataset, {"name": "hybrid", "image": {"kind": "hybrid", "deep": "small_cnn", "width": 4,
                                                                 "hidden": 8},
                                    "audio": {"kind": "hybrid", "width": 4, "hidden": 8}}, "h")
    return {"dataset": dataset, "descriptor": descriptor, "hybrid": hybrid, "root": root}


def _report(checkpoint, dataset, out, *extra):
    return CliRunner().invoke(app, ["attribute", "report", str(checkpoint), "--data", str(dataset), "--out", str(out),
                                    *SMALL, *extra])


def test_attribute_report_cli_descriptor_towers(described, tmp_path):
    out = tmp_path / "report"
    result = _report(described["descriptor"], described["dataset"], out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["emotions"] and report["towers"] == {"image": "descriptor", "audio": "descriptor"}
    index = (out / "index.html").read_text()
    for emotion, numbers in report["emotions"].items():
        assert f"emotions/{emotion}.html" in index
        assert numbers["completeness_descriptors"]["median"] < 0.05
        assert "descriptors only" in numbers["image"]["overlays_skipped"]
    assert "sanity.html" in index and report["sanity"]["randomisation"]
    assert "deletion" in report["sanity"] and report["sanity"]["field"] == "descriptors"
    assert -1 <= report["sanity"]["random_vs_random_spearman_importance"] <= 1  # the ranking's floor is reported
    last = report["sanity"]["randomisation"][-1]  # and the ranking within each modality, as the pages rank
    assert set(report["sanity"]["random_vs_random_spearman_importance_by_modality"]) == {"image", "audio"}
    assert all(-1 <= last[f"spearman_importance_{m}"] <= 1 for m in ("image", "audio"))
    # an emotion whose surrogate fidelity is below the threshold is flagged on the index too
    low = [e for e, n in report["emotions"].items()
           if n["shap"].get("fidelity_r2") is not None and not n["shap"]["interpretable"]]
    assert index.count("SHAP not interpretable here") == len(low)


def test_attribute_report_on_a_hybrid_tower_explains_the_descriptor_part(described, tmp_path):
    out = tmp_path / "report"
    result = _report(described["hybrid"], described["dataset"], out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["towers"] == {"image": "hybrid", "audio": "hybrid"}
    some = next(n for n in report["emotions"].values()
                if n["pair_matrix"].get("method", "").startswith("integrated Jacobians"))
    assert some["pair_matrix"]["relative_delta_max"] < 0.05
    assert some["image"]["overlays"]["grouped_mean"] and some["audio"]["overlays"]["grouped_mean"]
    settings = report["settings"]
    for m in ("image", "audio"):  # every overlay records the steps it took (refined up to the cap) and whether 1 % held
        ov = some[m]["overlays"]
        assert len(ov["n_steps"]) == len(ov["converged"]) == len(ov["ids"])
        assert all(settings["overlay_steps"] <= n <= settings["overlay_max_steps"] for n in ov["n_steps"])
        assert all(c == (r < 0.01) for c, r in zip(ov["converged"], ov["relative_delta"], strict=True))
    page = (out / "emotions" / f"{some['emotion']}.html").read_text()
    assert page.count("data:image/png;base64") >= 6 and "<script" not in page and "http" not in page


def test_integrated_jacobians_are_complete_on_a_hybrid_tower(described):
    from attribution import integrated_jacobians
    from attribution.run import load_for_attribution
    from resonance.evaluate.protocol import train_config_of
    from resonance.train.data import collate
    from resonance.train.manifest_data import ManifestDataset

    model, ckpt = load_for_attribution(described["hybrid"])
    dataset = ManifestDataset(described["dataset"], "test", train_config_of(ckpt), evaluation=True)
    items = [dataset[i] for i in range(len(dataset))]
    imgs = [it for it in items if it["modality"] == "image"][:6]
    auds = [it for it in items if it["modality"] == "audio"][:6]
    parts = {"image": collate(imgs)["image"], "audio": collate(auds)["audio"]}
    coarse = integrated_jacobians(model, parts, n_steps=4)
    fine = integrated_jacobians(model, parts, n_steps=32)
    assert np.abs(fine.delta).max() <= np.abs(coarse.delta).max() + 1e-9
    assert np.abs(fine.delta).max() < 1e-2 * max(np.abs(fine.extras["alignment"]).max(), 1e-3)


def test_attribute_report_on_deep_towers_reads_the_features_table(tmp_path):
    dataset = make_dataset(tmp_path / "dataset", per_category=2)
    checkpoint = train_checkpoint(dataset, tmp_path / "run", epochs=1)
    out = tmp_path / "report"
    result = _report(checkpoint, dataset, out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    numbers = next(iter(report["emotions"].values()))
    assert numbers["pair_matrix"]["method"].startswith("SHAP interaction")
    assert numbers["image"]["overlays"]["grouped_mean"] and report["sanity"]["field"] == "input"
    # the same dataset without its features table: one line naming the fix, nothing written
    bare = tmp_path / "bare"
    shutil.copytree(dataset, bare)
    (bare / "features.parquet").unlink()
    bad = _report(checkpoint, bare, tmp_path / "bad")
    assert bad.exit_code == 2 and "resonance features extract" in bad.output
    assert len(bad.output.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()


def test_a_descriptor_model_on_a_dataset_without_descriptors(described, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(described["dataset"], bare)
    (bare / "features.parquet").unlink()
    bad = _report(described["descriptor"], bare, tmp_path / "bad")
    assert bad.exit_code == 2 and "resonance features extract" in bad.output
    assert len(bad.output.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()


def test_checkpoints_of_another_version_are_refused(described, tmp_path):
    ckpt = torch.load(described["descriptor"], weights_only=True)
    other = tmp_path / "other_format.pt"
    torch.save({**ckpt, "format": 99, "resonance_version": "9.0"}, other)
    misfit = tmp_path / "misfit.pt"
    weights = dict(ckpt["model"])
    weights.pop(next(k for k in weights if k.endswith("mlp.0.weight")))
    torch.save({**ckpt, "model": weights}, misfit)
    for path, words in ((other, "format 99"), (misfit, "another version")):
        bad = _report(path, described["dataset"], tmp_path / "bad")
        assert bad.exit_code == 2 and words in bad.output, bad.output
        assert len(bad.output.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
        image = sorted((described["dataset"] / "media" / "test" / "image").iterdir())[0]
        sound = sorted((described["dataset"] / "media" / "test" / "audio").iterdir())[0]
        pair = CliRunner().invoke(app, ["attribute", "pair", str(image), str(sound), "--checkpoint", str(path),
                                        "--html", str(tmp_path / "pair.html")])
        assert pair.exit_code == 2 and words in pair.output and not (tmp_path / "pair.html").exists()


def test_an_emotion_with_no_items_is_refused(described, tmp_path):
    bad = _report(described["descriptor"], described["dataset"], tmp_path / "bad", "--emotion", "awe")
    assert bad.exit_code == 2 and "no items of emotion ['awe']" in bad.output and "pick emotions" in bad.output
    assert not (tmp_path / "bad").exists()


def test_attribute_pair_cli(described, tmp_path):
    image = sorted((described["dataset"] / "media" / "test" / "image").iterdir())[0]
    sound = sorted((described["dataset"] / "media" / "test" / "audio").iterdir())[0]
    result = CliRunner().invoke(app, ["attribute", "pair", str(image), str(sound), "--checkpoint",
                                      str(described["descriptor"]), "--steps", "32", "--out",
                                      str(tmp_path / "pair.json")])
    assert result.exit_code == 0, result.output
    r = json.loads((tmp_path / "pair.json").read_text())
    assert abs(r["ig_relative_delta"]) < 1e-2 and len(r["top_pairs"]) == 5
    assert result.output.startswith(f"s({image.name}, {sound.name}) = ")
    missing = CliRunner().invoke(app, ["attribute", "pair", str(tmp_path / "nope.png"), str(sound), "--checkpoint",
                                       str(described["descriptor"])])
    assert missing.exit_code == 2 and "is not a file" in missing.output


def test_attribute_pair_on_a_hybrid_tower_draws_overlays(described, tmp_path):
    image = sorted((described["dataset"] / "media" / "test" / "image").iterdir())[0]
    sound = sorted((described["dataset"] / "media" / "test" / "audio").iterdir())[0]
    page = tmp_path / "pair.html"
    result = CliRunner().invoke(app, ["attribute", "pair", str(image), str(sound), "--checkpoint",
                                      str(described["hybrid"]), "--overlay-steps", "8", "--html", str(page),
                                      "--out", str(tmp_path / "pair.json")])
    assert result.exit_code == 0, result.output
    r = json.loads((tmp_path / "pair.json").read_text())
    assert r["top_pairs"] and r["raw"]["grouped_image"] and r["raw"]["grouped_audio"]
    assert abs(r["ig_relative_delta"]) < 1e-2 and "pixels / bins" in result.output
    html = page.read_text()
    assert html.count("data:image/png;base64") == 4 and "http" not in html
