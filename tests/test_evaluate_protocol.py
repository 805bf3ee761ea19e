"""The evaluation run (resonance.evaluate.protocol) and the map: every metric key with the chance,
untrained and descriptor baselines, reports written whole, clear errors and nothing half-written.

The tiny prepared dataset built here (:func:`make_dataset`) has four categories, paintings that are a
category colour plus noise and sounds that are a category pitch, train and test splits, groups, and a
features table whose descriptors carry the category; :func:`train_checkpoint` trains the ``tiny`` model
on it for a few steps (CPU, seconds). ``tests/test_cli_evaluate.py`` reuses both.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from PIL import Image

from resonance.data.emotion import CATEGORIES, CATEGORY_VAD
from resonance.errors import DatasetError, ParameterError

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CATS = ("anger", "sadness", "happiness", "calm")
COLOURS = {"anger": (200, 30, 30), "sadness": (40, 60, 140), "happiness": (240, 210, 40), "calm": (120, 200, 160)}
PITCH = {"anger": 880.0, "sadness": 220.0, "happiness": 660.0, "calm": 330.0}
SR = 16_000


def _write_media(folder: Path, modality: str, category: str, n: int, rng: np.random.Generator) -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    if modality == "image":
        base = np.array(COLOURS[category], dtype=np.float64)
        pixels = np.clip(base + rng.normal(0, 12, (40, 40, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{category}_{n}.png"
        Image.fromarray(pixels).save(path)
    else:
        t = np.arange(int(0.6 * SR)) / SR
        y = 0.3 * np.sin(2 * np.pi * PITCH[category] * (1 + 0.01 * rng.normal()) * t) + 0.01 * rng.normal(size=t.size)
        path = folder / f"{category}_{n}.wav"
        sf.write(path, y.astype(np.float32), SR)
    return path, category


def make_dataset(root: Path, *, per_category: int = 2, modalities: tuple[str, ...] = ("image", "audio"),
                 test_modalities: tuple[str, ...] | None = None, features: bool = True, seed: int = 0) -> Path:
    """A prepared dataset folder (manifest.parquet, media/, features.parquet beside the manifest)."""
    from handcrafted.table import write_table
    from resonance.data.manifest import write_manifest
    from resonance.io.atomic import sha256_file

    rng = np.random.default_rng(seed)
    rows, desc = [], []
    test_modalities = modalities if test_modalities is None else test_modalities
    for split in ("train", "test"):
        for modality in modalities:
            if split == "test" and modality not in test_modalities:
                continue
            corpus = "paint" if modality == "image" else "tones"
            for category in CATS:
                for n in range(per_category):
                    path, _ = _write_media(root / "media" / split / modality, modality, category, n, rng)
                    item_id = f"{corpus}:{split}/{path.name}"
                    v, a, d = CATEGORY_VAD[category]
                    sha = sha256_file(path)
                    rows.append({"id": item_id, "modality": modality, "corpus": corpus,
                                 "path": path.relative_to(root).as_posix(), "root": "dataset",
                                 "source_path": path.relative_to(root).as_posix(), "source_root": "dataset",
                                 "group": f"{corpus}-{split}-{n % 2}-{category}", "split": split, "emotion": category,
                                 "valence": v, "arousal": a, "dominance": d, "vad_source": "NRC", "synthetic": True,
                                 **{f"p_{c}": float(c == category) for c in CATEGORIES},
                                 "flags": "", "same_stimulus_as": "", "sha256": sha})
                    code = np.array(COLOURS[category]) / 255.0  # the category, as the descriptors would see it
                    values = code + rng.normal(0, 0.05, 3) if modality == "image" else \
                        np.array([*(code[::-1] + rng.normal(0, 0.05, 3)), np.nan if n % 2 else rng.normal()])
                    desc.append({"id": item_id, "modality": modality, "sha256": sha,
                                 **{f"{modality}_d{j}": float(x) for j, x in enumerate(values)}})
    frame = pd.DataFrame(rows)
    write_manifest(frame, root / "manifest.parquet", {"data_version": "test-v1", "sample_rate": SR, "roots": {}})
    if features:
        table = pd.DataFrame(desc).sort_values("id").reset_index(drop=True)
        columns = [c for c in table.columns if c not in ("id", "modality", "sha256")]
        write_table(table[["id", "modality", "sha256", *columns]], root / "features.parquet",
                    {"format": 1, "descriptors_by_modality": {m: [c for c in columns if c.startswith(m)]
                                                              for m in ("image", "audio")}})
    return root


def train_checkpoint(dataset: Path, run_dir: Path, *, epochs: int = 2) -> Path:
    """The ``tiny`` model trained on ``dataset``'s train split for a few steps; returns latest.pt."""
    from resonance.train import config_from_dict
    from resonance.train.manifest_data import ManifestDataset

    config = config_from_dict({
        "model": {"name": "tiny", "image": {"width": 4}, "audio": {"width": 4}}, "epochs": epochs,
        "batch_size": 8, "lr": 3e-3, "run_dir": str(run_dir), "progress": False, "tensorboard": False,
        "patience": 0, "device": "cpu", "data": {"kind": "manifest", "dataset": str(dataset), "image_size": 16,
                                                  "n_mels": 16, "window_s": 0.5, "window_hop_s": 0.5,
                                                  "long_clip_s": 1.0}})
    from resonance.train import train

    train(config, ManifestDataset(dataset, "train", config))
    return run_dir / "checkpoints" / "latest.pt"


FAST = dict(n_permutations=3, n_resamples=100, progress=False, device="cpu", batch_size=16)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("evaluate")
    dataset = make_dataset(root / "dataset")
    return {"dataset": dataset, "checkpoint": train_checkpoint(dataset, root / "run"), "root": root}


def test_evaluate_reports_every_metric_with_three_baselines(tiny, tmp_path):
    from resonance.evaluate.protocol import ProtocolConfig, evaluate

    out = tmp_path / "report"
    result = evaluate(tiny["checkpoint"], tiny["dataset"], "test", out=out, config=ProtocolConfig(**FAST))
    assert list(result["summary"].columns) == ["model", "chance", "untrained", "descriptor"]
    for system in (result["model"], result["baselines"]["untrained"], result["baselines"]["descriptor"]):
        for direction in ("image->sound", "sound->image"):
            r = system["retrieval"][direction]
            assert {"P@1", "P@5", "mAP", "MRR", "nDCG@8"} <= set(r), sorted(r)  # 8 items a side: cut-offs <= 8
            assert 0.0 <= r["P@1"] <= 1.0 and 0.0 < r["MRR"] <= 1.0
            assert set(r["per_category"].index) == set(CATS)
            assert {"accuracy", "auc", "n_triplets"} <= set(system["pairwise"][direction])
        assert {"purity", "nmi", "ari", "hungarian_accuracy", "modality_mixing", "modality_gap"} <= set(
            system["clustering"])
        for modality in ("image", "sound"):
            probe = system["probes"][modality]["all"]
            assert {"UA", "WA", "macro_F1", "per_class"} <= set(probe["category"])
            assert {"CCC", "r"} <= set(probe["va"]["valence"])
    assert result["model"]["cutoffs"]["ks"] == [1, 5] and result["model"]["cutoffs"]["ndcg_k"] == 8
    chance = result["baselines"]["chance"]
    assert chance["n_permutations"] == 3 and "P@1" in chance["retrieval"]["image->sound"]
    intervals = result["confidence_intervals"]
    ci = intervals["image->sound P@1"]
    assert ci["low"] <= ci["estimate"] <= ci["high"] and ci["n_groups"] == result["n_groups"]
    # the bootstrap's lean numpy statistics equal the library metrics on the full set
    for direction in ("image->sound", "sound->image"):
        for key in ("P@1", "MRR"):
            assert intervals[f"{direction} {key}"]["estimate"] == pytest.approx(
                result["model"]["retrieval"][direction][key], abs=1e-12)
    for modality in ("image", "sound"):
        assert intervals[f"{modality} UA"]["estimate"] == pytest.approx(
            result["model"]["probes"][modality]["all"]["category"]["UA"], abs=1e-12)
        assert intervals[f"{modality} valence CCC"]["estimate"] == pytest.approx(
            result["model"]["probes"][modality]["all"]["va"]["valence"]["CCC"], abs=1e-12)
    assert intervals["pairwise sound->image acc"]["estimate"] == pytest.approx(
        result["model"]["pairwise"]["sound->image"]["accuracy"], abs=1e-12)
    # the descriptors carry the category (colour, pitch): the linear baseline must find it
    descriptor = result["summary"]["descriptor"]
    assert descriptor["image UA"] == 1.0 and descriptor["sound UA"] == 1.0
    assert descriptor["image->sound P@1"] > result["summary"]["chance"]["image->sound P@1"]
    # the report: both files, whole, from the same run
    saved = json.loads((out / "evaluation.json").read_text())
    assert saved["summary"]["columns"] == ["model", "chance", "untrained", "descriptor"]
    assert saved["dataset"]["split"] == "test" and saved["dataset"]["data_version"] == "test-v1"
    markdown = (out / "evaluation.md").read_text()
    assert "## summary" in markdown and "| image->sound P@1 |" in markdown
    assert not [p for p in out.iterdir() if p.name not in ("evaluation.json", "evaluation.md")]


def test_chance_is_the_permutation_expectation_and_training_beats_it():
    """On the synthetic task, chance P@1 of balanced 4 categories is ~1/4; a model trained a little and
    the descriptor baseline are above it."""
    from resonance.evaluate.protocol import ProtocolConfig, eval_set_from_items, evaluate_model
    from resonance.train import SyntheticEmotionDataset, config_from_dict, train

    config = config_from_dict({"model": {"name": "tiny", "image": {"width": 4}, "audio": {"width": 4}},
                               "epochs": 6, "batch_size": 16, "lr": 3e-3, "run_dir": "/nonexistent-unused",
                               "progress": False, "tensorboard": False, "patience": 0, "device": "cpu",
                               "checkpoint_every": 10_000, "data": {"n_train": 48, "n_val": 0}})
    common = dict(image_size=16, n_mels=16, frames=32, descriptor_dims={"image": 4, "audio": 4}, pattern_seed=1234)
    trainset = SyntheticEmotionDataset(48, seed=1, **common)
    import tempfile

    with tempfile.TemporaryDirectory() as run_dir:
        from dataclasses import replace

        result = train(replace(config, run_dir=run_dir), trainset)
    test = eval_set_from_items(SyntheticEmotionDataset(24, seed=9, **common))
    report = evaluate_model(result.model, test, model_config=config.model, train=eval_set_from_items(trainset),
                            config=ProtocolConfig(n_permutations=10, n_resamples=0, progress=False, device="cpu"))
    summary = report["summary"]
    assert abs(summary.loc["image->sound P@1", "chance"] - 0.25) < 0.12
    assert abs(summary.loc["pairwise sound->image acc", "chance"] - 0.5) < 0.12
    assert summary.loc["pairwise sound->image acc", "model"] > summary.loc["pairwise sound->image acc", "chance"]
    assert summary.loc["image->sound P@1", "descriptor"] > 0.5
    assert report["confidence_intervals"] == {"skipped": "n_resamples = 0"}


def test_checkpoint_of_another_taxonomy_or_version_is_refused_and_nothing_is_written(tiny, tmp_path):
    from resonance.evaluate.protocol import ProtocolConfig, evaluate

    ckpt = torch.load(tiny["checkpoint"], weights_only=True)
    ckpt["taxonomy"] = ["joy", "grief"]
    torch.save(ckpt, tmp_path / "taxonomy.pt")
    ckpt["taxonomy"], ckpt["format"] = list(CATEGORIES), 99
    torch.save(ckpt, tmp_path / "format.pt")
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match=r"taxonomy.*retrain on the current taxonomy"):
        evaluate(tmp_path / "taxonomy.pt", tiny["dataset"], out=out, config=ProtocolConfig(**FAST))
    with pytest.raises(ParameterError, match=r"checkpoint format 99.*retrain with this version"):
        evaluate(tmp_path / "format.pt", tiny["dataset"], out=out, config=ProtocolConfig(**FAST))
    assert not out.exists()


def test_dataset_lacking_a_modality_names_the_fix_and_writes_nothing(tiny, tmp_path):
    from resonance.evaluate.protocol import ProtocolConfig, evaluate

    images_only = make_dataset(tmp_path / "images_only", per_category=1, test_modalities=("image",), features=False)
    out = tmp_path / "out"
    with pytest.raises(DatasetError, match=r"no labelled sounds \(audio\) items.*one sound corpus"):
        evaluate(tiny["checkpoint"], images_only, "test", out=out, config=ProtocolConfig(**FAST))
    with pytest.raises(DatasetError, match=r"no items in split 'val'.*\['test', 'train'\]"):
        evaluate(tiny["checkpoint"], tiny["dataset"], "val", out=out, config=ProtocolConfig(**FAST))
    assert not out.exists()


def test_report_is_not_replaced_by_half_of_a_failed_run(tiny, tmp_path, monkeypatch):
    """A failure while writing leaves the previous report whole (the two files move together)."""
    from resonance.evaluate import protocol, report

    out = tmp_path / "out"
    protocol.write_report({"summary": pd.DataFrame({"model": [0.5]}, index=["x"])}, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_markdown", broken)
    with pytest.raises(OSError, match="disk full"):
        protocol.write_report({"summary": pd.DataFrame({"model": [0.9]}, index=["x"])}, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_descriptor_baseline_linear_models_by_hand():
    """Separable descriptors: logistic regression puts each test item's mass on its category and ridge
    reproduces an exactly linear VA; undefined values get an indicator instead of breaking the fit."""
    from resonance.evaluate.baselines import fit_modality

    rng = np.random.default_rng(0)
    cats = np.array(["anger", "calm"] * 10)
    x = np.where(cats[:, None] == "anger", 3.0, -3.0) + rng.normal(0, 0.1, (20, 2))
    va = np.column_stack([0.5 + 0.05 * x[:, 0], 0.5 - 0.05 * x[:, 1]])
    x_test = np.array([[3.0, 3.0], [-3.0, np.nan]])
    probs, va_pred, info = fit_modality(x, cats, va, x_test)
    assert probs.shape == (2, 12) and np.allclose(probs.sum(1), 1.0)
    assert CATEGORIES[probs[0].argmax()] == "anger" and CATEGORIES[probs[1].argmax()] == "calm"
    assert probs[:, [i for i, c in enumerate(CATEGORIES) if c not in ("anger", "calm")]].max() == 0.0
    assert va_pred[0] == pytest.approx([0.65, 0.35], abs=0.02)
    assert info["n_features"] == 3  # two standardised columns + one missing-value indicator


def test_map_writes_png_and_a_self_contained_html(tmp_path):
    from resonance.evaluate.maps import MAP_FILES, write_map

    rng = np.random.default_rng(0)
    rows, z = [], []
    for i in range(24):
        modality = "image" if i % 2 else "audio"
        category = CATS[i % 4]
        path = _write_media(tmp_path / "media", modality, category, i, rng)[0]
        rows.append({"id": f"x{i}", "modality": modality, "category": category, "path": str(path)})
        z.append(np.eye(4)[i % 4] + rng.normal(0, 0.1, 4))
    written = write_map(np.array(z), pd.DataFrame(rows), tmp_path / "map", seed=0)
    assert [p.name for p in written] == list(MAP_FILES)
    assert Image.open(tmp_path / "map" / "map.png").format == "PNG"
    assert Image.open(tmp_path / "map" / "montage.png").size[0] > 200
    page = (tmp_path / "map" / "map.html").read_text()
    assert not re.findall(r"""src\s*=\s*["']?\s*(?:https?:)?//""", page)
    assert "http" not in page and "<link" not in page and "<script src" not in page
    assert page.count("data:image/jpeg;base64,") == 12  # every painting's thumbnail is inline
    assert "sound: " in page and page.count("<polygon") == 12 and page.count("<circle") == 12
    from resonance.evaluate.maps import project_2d

    again = project_2d(np.array(z), seed=0)
    assert np.array_equal(again, project_2d(np.array(z), seed=0))  # seeded: the same map twice
