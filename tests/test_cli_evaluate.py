"""`resonance evaluate`, `resonance map`, `resonance index build` and `resonance match` through the CLI
(typer's CliRunner) on the tiny dataset of tests/test_evaluate_protocol.py: outputs written, and every
user error one ``error:`` line with exit status 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import one_error_line
from PIL import Image
from typer.testing import CliRunner

from resonance.cli.main import app

try:
    from test_evaluate_protocol import make_dataset, train_checkpoint
except ImportError:  # pragma: no cover - run from the repository root as a package
    from tests.test_evaluate_protocol import make_dataset, train_checkpoint

torch.set_num_threads(1)
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
QUIET = ["--no-progress", "--device", "cpu"]


def _run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli_evaluate")
    dataset = make_dataset(root / "dataset")
    checkpoint = train_checkpoint(dataset, root / "run")
    # a plain folder without labels: the test split's media, copied, plus a file that is not media
    folder = root / "gallery"
    shutil.copytree(dataset / "media" / "test", folder)
    (folder / "data.bin").write_bytes(b"not media")
    return {"dataset": dataset, "checkpoint": checkpoint, "folder": folder, "root": root}


def test_evaluate_command_writes_json_and_markdown(tiny, tmp_path):
    out = tmp_path / "report"
    output = _ok(_run("evaluate", tiny["checkpoint"], "--data", tiny["dataset"], "--out", out, "--permutations", 2,
                      "--resamples", 100, *QUIET))
    assert "image->sound P@1" in output and "descriptor" in output
    report = json.loads((out / "evaluation.json").read_text())
    assert set(report["baselines"]) == {"chance", "untrained", "descriptor"}
    assert "skipped" not in report["baselines"]["descriptor"]
    assert (out / "evaluation.md").read_text().startswith("# Evaluation of latest.pt on test")


def test_map_command_writes_png_html_and_montage(tiny, tmp_path):
    out = tmp_path / "map"
    output = _ok(_run("map", tiny["checkpoint"], "--data", tiny["dataset"], "--out", out, *QUIET))
    for name in ("map.png", "map.html", "montage.png"):
        assert (out / name).is_file() and f"wrote {out / name}" in output
    page = (out / "map.html").read_text()
    assert "http" not in page and page.count("data:image/jpeg;base64,") == 8


def test_index_build_on_a_plain_folder_then_match_both_ways(tiny, tmp_path):
    index = tmp_path / "index"
    output = _ok(_run("index", "build", tiny["checkpoint"], tiny["folder"], "--out", index, *QUIET))
    assert "8 paintings (exact), 8 sounds (exact)" in output and "1 files skipped" in output
    gallery = json.loads((index / "gallery.json").read_text())
    assert gallery["source_kind"] == "unlabelled" and set(gallery["modalities"]) == {"image", "audio"}

    sound = tiny["folder"] / "audio" / "anger_0.wav"
    sheet = tmp_path / "sheet.png"
    output = _ok(_run("match", sound, "--index", index, "-k", 3, "--sheet", sheet, "--device", "cpu"))
    lines = output.splitlines()
    assert lines[0] == "3 paintings closest to anger_0.wav (audio):"
    scores = [float(line.split()[1]) for line in lines[1:4]]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)
    assert all(".png" in line for line in lines[1:4])
    assert Image.open(sheet).format == "PNG"

    painting = tiny["folder"] / "image" / "calm_1.png"
    output = _ok(_run("match", painting, "--index", index, "-k", 20, "--device", "cpu"))
    assert output.splitlines()[0] == "8 sounds closest to calm_1.png (image):"  # k clipped to the gallery
    output = _ok(_run("match", painting, "--index", index, "-k", 2, "--same", "--device", "cpu"))
    hits = [(line.split()[-1], float(line.split()[1])) for line in output.splitlines()[1:3]]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)  # itself, at score 1 ...
    # ... first, or tied with another painting the tiny model embeds identically (the order of a tie is free)
    assert any(name.endswith("calm_1.png") and score >= hits[0][1] - 1e-5 for name, score in hits), hits


def test_index_build_on_a_dataset_keeps_labels(tiny, tmp_path):
    index = tmp_path / "index"
    _ok(_run("index", "build", tiny["checkpoint"], tiny["dataset"], "--out", index, *QUIET))
    output = _ok(_run("match", tiny["folder"] / "audio" / "calm_0.wav", "--index", index, "-k", 4, "--device", "cpu"))
    labelled = [line for line in output.splitlines()[1:] if line.rstrip().endswith("]")]
    assert len(labelled) == 4  # a prepared dataset's emotions are shown beside each match


def test_bad_checkpoint_and_bad_query_are_one_line(tiny, tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    line = one_error_line(_run("evaluate", garbage, "--data", tiny["dataset"], "--out", tmp_path / "o", *QUIET))
    assert "not a readable resonance checkpoint" in line and not (tmp_path / "o").exists()
    ckpt = torch.load(tiny["checkpoint"], weights_only=True)
    ckpt["taxonomy"] = ["joy", "grief"]
    torch.save(ckpt, tmp_path / "other.pt")
    line = one_error_line(_run("map", tmp_path / "other.pt", "--data", tiny["dataset"], "--out", tmp_path / "m",
                                *QUIET))
    assert "retrain on the current taxonomy" in line and not (tmp_path / "m").exists()
    line = one_error_line(_run("index", "build", garbage, tiny["folder"], "--out", tmp_path / "i", *QUIET))
    assert "not a readable resonance checkpoint" in line
    sounds_only = make_dataset(tmp_path / "sounds_only", per_category=1, test_modalities=("audio",), features=False)
    line = one_error_line(_run("evaluate", tiny["checkpoint"], "--data", sounds_only, "--out", tmp_path / "o",
                                *QUIET))
    assert "no labelled paintings (image) items" in line and not (tmp_path / "o").exists()

    index = tmp_path / "index"
    _ok(_run("index", "build", tiny["checkpoint"], tiny["folder"], "--out", index, *QUIET))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(np.arange(40, dtype=np.uint8)))
    line = one_error_line(_run("match", broken, "--index", index, "--device", "cpu"))
    assert "broken.wav" in line and "decode" in line.lower()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes((tiny["folder"] / "image" / "calm_1.png").read_bytes()[:60])
    line = one_error_line(_run("match", truncated, "--index", index, "--device", "cpu"))
    assert "truncated.png" in line
    text = tmp_path / "query.txt"
    text.write_text("hello")
    assert "neither an image nor a sound" in one_error_line(_run("match", text, "--index", index))
    assert "not an index folder" in one_error_line(_run("match", tiny["folder"] / "audio" / "calm_0.wav",
                                                         "--index", tmp_path))
    other = tmp_path / "retrained.pt"
    shutil.copy(tiny["checkpoint"], other)
    with open(other, "ab") as handle:  # same weights, other bytes: another checkpoint as far as the index knows
        handle.write(b"\0")
    line = one_error_line(_run("match", tiny["folder"] / "audio" / "calm_0.wav", "--index", index,
                                "--checkpoint", other))
    assert "not the checkpoint the index" in line


def test_descriptor_tower_galleries_compute_the_same_descriptors_as_the_features_table(tmp_path):
    """A descriptor-tower checkpoint: an unlabelled folder (descriptors computed from the files) and the
    prepared dataset (descriptors read from `resonance features extract`'s table) give the same embeddings."""
    from handcrafted.extract import ExtractConfig, extract_features
    from resonance.evaluate.index import EmbeddingIndex
    from resonance.train import config_from_dict, train
    from resonance.train.manifest_data import ManifestDataset

    dataset = make_dataset(tmp_path / "dataset", per_category=1, features=False)
    extract_features(dataset, dataset / "features.parquet", ExtractConfig(workers=1, progress=False))
    config = config_from_dict({"model": {"name": "descriptor", "image": {"hidden": 16}, "audio": {"hidden": 16}},
                               "epochs": 1, "batch_size": 8, "run_dir": str(tmp_path / "run"), "progress": False,
                               "tensorboard": False, "patience": 0, "device": "cpu",
                               "data": {"kind": "manifest", "dataset": str(dataset)}})
    train(config, ManifestDataset(dataset, "train", config))
    checkpoint = tmp_path / "run" / "checkpoints" / "latest.pt"
    folder = tmp_path / "folder"
    shutil.copytree(dataset / "media" / "test", folder)
    _ok(_run("index", "build", checkpoint, folder, "--out", tmp_path / "from_files", *QUIET))
    _ok(_run("index", "build", checkpoint, dataset, "--out", tmp_path / "from_table", *QUIET))
    for modality in ("image", "audio"):
        a = EmbeddingIndex.load(tmp_path / "from_files" / modality)
        b = EmbeddingIndex.load(tmp_path / "from_table" / modality)
        za, zb = a._index.reconstruct_n(0, len(a)), b._index.reconstruct_n(0, len(b))
        table_rows = {Path(p).name: i for i, p in enumerate(b.items["path"]) if "/test/" in p}
        for i, path in enumerate(a.items["path"]):
            np.testing.assert_allclose(za[i], zb[table_rows[Path(path).name]], atol=1e-5)
    output = _ok(_run("match", folder / "audio" / "calm_0.wav", "--index", tmp_path / "from_files", "-k", 2,
                      "--device", "cpu"))
    assert output.startswith("2 paintings closest to calm_0.wav")
