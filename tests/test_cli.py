"""The `resonance` command end to end: the demo on the probe stimuli, and the features sub-app."""

import json
from io import StringIO

import pandas as pd
from typer.testing import CliRunner

from resonance.cli.main import app

runner = CliRunner()


def test_demo_runs_every_stage_and_reruns_from_cache(tmp_path):
    out = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--out", str(out), "--workers", "2", "--no-model"])
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
    # one study on the probes, labels only (issue 15): the label rules' cue directions measured back
    assert "study probe_cues: 5 tests; replicated 5" in first.output
    written = {f.name for f in (out / "study").iterdir()}
    assert {"results.csv", "summary.html", "effects.png", "provenance.json"} <= written
    again = runner.invoke(app, ["demo", "--out", str(out), "--workers", "1", "--no-model"])
    assert again.exit_code == 0, again.output
    assert "0 computed" in again.output and "0 files decoded" in again.output


def test_demo_trains_evaluates_maps_and_matches(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert (out / "run" / "checkpoints" / "latest.pt").is_file()
    report = json.loads((out / "evaluation" / "evaluation.json").read_text())
    assert "model" in report and {"chance", "untrained", "descriptor"} <= set(report["baselines"])
    assert (out / "map" / "map.png").is_file() and (out / "map" / "map.html").is_file()
    assert "http" not in (out / "map" / "map.html").read_text().split("<script")[0]
    assert (out / "match.png").is_file()
    assert "closest image items" in result.output


def test_features_describe_lists_the_registry():
    result = runner.invoke(app, ["features", "describe", "--format", "csv"])
    assert result.exit_code == 0
    table = pd.read_csv(StringIO(result.output))
    assert {"f0_mean_hz", "colourfulness", "glcm_contrast"} <= set(table["name"])
    assert table["reference"].str.len().min() > 5
    assert set(table["group"]) == {"colour", "texture", "composition", "energy", "spectrum", "rhythm", "pitch",
                                   "harmony"}
