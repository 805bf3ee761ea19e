"""Issue 13's end-to-end check on real data: prepare -> features -> train -> evaluate -> index -> match,
every stage through the ``resonance`` CLI, on a seeded ``--limit`` subset of RAVDESS and D-ViSA from
``$RESONANCE_DATA`` (skipped with a reason when the corpora are absent). The model is the project's
default (descriptor) towers for a few epochs, sized to stay well inside the CI budget; what is asserted
is that every stage runs on real files and writes what it says, not how good a two-minute model is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resonance.cli.main import app
from resonance.data.manifest import read_manifest

torch = pytest.importorskip("torch")
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CONFIG = """
seed = 0
epochs = 3
batch_size = 16
checkpoint_every = 100
progress = false
tensorboard = false
[model]
name = "descriptor"
[data]
kind = "manifest"
dataset = "{dataset}"
features = "{features}"
cache_dir = "{cache}"
folds = "split"
"""


def _ok(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture(scope="module")
def real_run(shared_data: Path, tmp_path_factory) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("real_subset")
    dataset, features = root / "dataset", root / "dataset" / "features.parquet"
    _ok("data", "prepare", f"ravdess={shared_data / 'ravdess'}", f"dvisa={shared_data / 'd-visa'}",
        "--out", dataset, "--limit", 96, "--seed", 0, "--workers", 1)
    _ok("features", "extract", dataset, "--out", features, "--workers", 1)
    config = root / "train.toml"
    config.write_text(CONFIG.format(dataset=dataset, features=features, cache=root / "cache"))
    _ok("train", config, "--out", root / "run")
    return {"root": root, "dataset": dataset, "features": features,
            "checkpoint": root / "run" / "checkpoints" / "best.pt"}


def test_real_subset_trains_evaluates_indexes_and_matches_through_the_cli(real_run, shared_data):
    manifest = read_manifest(real_run["dataset"])
    assert set(manifest["corpus"]) == {"ravdess", "dvisa"} and len(manifest) == 192
    test = manifest[manifest["split"] == "test"]
    assert set(test["modality"]) == {"image", "audio"}  # both sides of the cross-modal metrics exist
    ckpt = torch.load(real_run["checkpoint"], weights_only=False, map_location="cpu")
    assert ckpt["data_version"] == manifest.attrs["manifest"].data_version != ""

    report_dir = real_run["root"] / "evaluation"
    output = _ok("evaluate", real_run["checkpoint"], "--data", real_run["dataset"], "--out", report_dir,
                 "--permutations", 2, "--resamples", 100, "--no-progress", "--device", "cpu")
    assert "image->sound P@1" in output
    report = json.loads((report_dir / "evaluation.json").read_text())
    assert set(report["baselines"]) == {"chance", "untrained", "descriptor"}

    index = real_run["root"] / "index"
    _ok("index", "build", real_run["checkpoint"], real_run["dataset"], "--out", index, "--no-progress",
        "--device", "cpu")
    sound = Path(manifest.loc[manifest["modality"] == "audio", "path"].iloc[0])  # a real RAVDESS file
    assert sound.is_file() and sound.is_relative_to(shared_data.resolve())
    sheet = real_run["root"] / "sheet.png"
    output = _ok("match", sound, "--index", index, "-k", 5, "--sheet", sheet, "--device", "cpu")
    lines = output.splitlines()
    assert lines[0].startswith("5 paintings closest to ") and sheet.is_file()
    scores = [float(line.split()[1]) for line in lines[1:6]]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0 for s in scores)
