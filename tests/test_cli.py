"""The `resonance` command end to end: the demo on the probe stimuli, and the features sub-app."""

import json
from io import StringIO

import pandas as pd
from typer.testing import CliRunner

from resonance.cli.main import app

runner = CliRunner()


def test_demo_runs_every_stage_and_reruns_from_cache(tmp_path):
    out = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--out", str(out), "--workers", "2"])
    assert first.exit_code == 0, first.output
    manifest = pd.read_parquet(out / "dataset" / "manifest.parquet")
    features = pd.read_parquet(out / "features.parquet")
    assert manifest["synthetic"].all() and set(manifest["modality"]) == {"image", "audio"}
    assert sorted(features["id"]) == sorted(manifest["id"])
    assert features.loc[features["modality"] == "image", "colourfulness"].notna().all()
    # probes vary brightness on a grid; the measured brightness must follow it
    attributes = manifest.set_index("id")["attributes"].map(json.loads)
    images = features[features["modality"] == "image"].set_index("id")
    brightness = attributes[images.index].map(lambda a: a["brightness"])
    assert images["brightness_mean"].corr(brightness, method="spearman") > 0.9
    again = runner.invoke(app, ["demo", "--out", str(out), "--workers", "1"])
    assert again.exit_code == 0, again.output
    assert "0 computed" in again.output and "0 files decoded" in again.output


def test_features_describe_lists_the_registry():
    result = runner.invoke(app, ["features", "describe", "--format", "csv"])
    assert result.exit_code == 0
    table = pd.read_csv(StringIO(result.output))
    assert {"f0_mean_hz", "colourfulness", "glcm_contrast"} <= set(table["name"])
    assert table["reference"].str.len().min() > 5
    assert set(table["group"]) == {"colour", "texture", "composition", "energy", "spectrum", "rhythm", "pitch",
                                   "harmony"}
