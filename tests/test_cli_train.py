"""``resonance train``: a short run on a tiny probe dataset writes a checkpoint; folds report mean +- sd;
user errors (unknown key, a dataset lacking a modality) end as one line with exit status 2."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from cli_helpers import one_error_line  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from resonance.cli.main import app  # noqa: E402
from resonance.data.manifest import read_manifest, write_manifest  # noqa: E402
from tests.test_train_data import tiny_probes  # noqa: E402

runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CONFIG = """
seed = 0
epochs = 1
max_steps = {steps}
batch_size = 8
checkpoint_every = 1
log_every = 1
progress = false
tensorboard = {tensorboard}
[model]
name = "tiny"
[data]
kind = "manifest"
dataset = "{dataset}"
cache_dir = "{cache}"
image_size = 32
n_mels = 32
window_s = 1.0
window_hop_s = 0.5
folds = "split"
"""


@pytest.fixture(scope="module")
def probe_dataset(tmp_path_factory):
    return tiny_probes(tmp_path_factory.mktemp("cli_probes"))


def _config(tmp_path, dataset, steps=3, tensorboard=True, extra=""):
    path = tmp_path / "train.toml"
    path.write_text(CONFIG.format(steps=steps, tensorboard=str(tensorboard).lower(), dataset=dataset,
                                  cache=tmp_path / "cache") + extra)
    return path


def test_train_writes_a_checkpoint_and_says_where(probe_dataset, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", str(_config(tmp_path, probe_dataset)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    ckpt = torch.load(out / "checkpoints" / "latest.pt", weights_only=True)
    assert ckpt["step"] == 3 and ckpt["config"]["data"]["kind"] == "manifest"
    from resonance.data.manifest import read_manifest

    assert ckpt["data_version"] == read_manifest(probe_dataset).attrs["manifest"].data_version != ""
    assert (out / "metrics.csv").is_file() and (out / "tensorboard").is_dir()
    assert str(out / "checkpoints" / "best.pt") in result.output and str(out / "metrics.csv") in result.output
    assert str(out / "tensorboard") in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["folds"] == [None] and "test_image_wa" in summary["metrics"]
    # --set goes through the same validation, and --resume latest continues the run
    again = runner.invoke(app, ["train", str(_config(tmp_path, probe_dataset)), "--out", str(out),
                                "--set", "max_steps=4", "--resume", "latest"])
    assert again.exit_code == 0, again.output
    assert torch.load(out / "checkpoints" / "latest.pt", weights_only=True)["step"] == 4
    assert "tested the last weights" in result.output  # 3 of 4 steps: the epoch never ended, no validation
    assert "tested the best epoch's weights (best.pt, epoch 0)" in again.output


def test_folds_file_runs_every_fold_and_reports_mean_sd(probe_dataset, tmp_path):
    groups = sorted(g for g in read_manifest(probe_dataset)["group"].unique() if g.startswith("image"))
    folds = tmp_path / "folds.csv"
    folds.write_text("fold,group\n" + "".join(f"{k // 3 + 1},{g}\n" for k, g in enumerate(groups)))
    out = tmp_path / "cv"
    result = runner.invoke(app, ["train", str(_config(tmp_path, probe_dataset, steps=2, tensorboard=False)),
                                 "--out", str(out), "--folds", str(folds)])
    assert result.exit_code == 0, result.output
    assert "mean +- sd over 2 folds" in result.output and "no validation" in result.output
    for k in range(2):
        assert (out / f"fold_{k}" / "checkpoints" / "latest.pt").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["folds"] == [0, 1] and summary["metrics"]["test_image_wa"]["n"] == 2
    assert len((out / "folds.csv").read_text().splitlines()) == 3
    # each fold wrote its result as it finished; a re-run of the same config skips the finished folds
    (out / "fold_1" / "result.json").unlink()  # as if the run had been killed during fold 1
    kept = (out / "fold_0" / "checkpoints" / "latest.pt").stat().st_mtime_ns
    again = runner.invoke(app, ["train", str(_config(tmp_path, probe_dataset, steps=2, tensorboard=False)),
                                "--out", str(out), "--folds", str(folds)])
    assert again.exit_code == 0, again.output
    assert "fold 0" in again.output and "finished already" in again.output and again.output.count("skipped") == 1
    assert (out / "fold_0" / "checkpoints" / "latest.pt").stat().st_mtime_ns == kept
    assert (out / "fold_1" / "result.json").is_file()
    assert json.loads((out / "summary.json").read_text()) == summary


def test_unknown_config_key_is_one_line_exit_2(probe_dataset, tmp_path):
    config = _config(tmp_path, probe_dataset, extra="bogus_key = 1\n")
    line = one_error_line(runner.invoke(app, ["train", str(config)]), only=True)
    assert "unknown config key 'data.bogus_key'" in line
    line = one_error_line(runner.invoke(app, ["train", str(_config(tmp_path, probe_dataset)), "--set", "lrr=1"]),
                          only=True)
    assert "unknown config key 'lrr'" in line and not (tmp_path / "runs").exists()


def test_dataset_lacking_a_modality_is_one_line_naming_the_fix(probe_dataset, tmp_path):
    frame = read_manifest(probe_dataset, resolve=False)
    info = frame.attrs["manifest"]
    images = frame[frame["modality"] == "image"].copy()
    images.attrs = {}
    (tmp_path / "images").mkdir()
    write_manifest(images, tmp_path / "images" / "manifest.parquet", dict(info.provenance))
    out = tmp_path / "run"
    line = one_error_line(runner.invoke(app, ["train", str(_config(tmp_path, tmp_path / "images")),
                                               "--out", str(out)]), only=True)
    assert "no audio items" in line and "resonance data prepare" in line
    assert not (out / "checkpoints").exists()


def test_manifest_kind_without_dataset_is_refused_before_work(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[data]\nkind = "manifest"\n')
    assert "needs data.dataset" in one_error_line(runner.invoke(app, ["train", str(config)]), only=True)


@pytest.mark.parametrize("name", ["probes_small.toml", "ravdess_dvisa.toml"])
def test_example_configs_validate(name):
    from pathlib import Path

    from resonance.train.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / name)
    assert config.data.kind == "manifest" and config.data.dataset


def test_build_datasets_knows_manifest_configs(probe_dataset, tmp_path):
    from resonance.train.config import load_config
    from resonance.train.data import build_datasets
    from resonance.train.manifest_data import ManifestDataset

    train, val = build_datasets(load_config(_config(tmp_path, probe_dataset)))
    assert isinstance(train, ManifestDataset) and isinstance(val, ManifestDataset)
    from resonance.data.manifest import read_manifest

    frame = read_manifest(probe_dataset)
    assert train.splits == ("train",) and val.splits == ("val",)
    assert len(train) == (frame["split"] == "train").sum() and len(val) == (frame["split"] == "val").sum()
