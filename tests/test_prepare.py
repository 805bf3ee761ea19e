"""``resonance data prepare`` end to end: counts, rejections, determinism, incremental re-runs."""

import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from resonance.cli.main import app
from resonance.data.prepare import PrepareConfig, load_manifest, prepare_dataset


def _tone(path, seconds=0.6, sr=16000, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), sr)


@pytest.fixture
def broken_tree(tmp_path, shared_data):
    """A folder-per-class tree where every file but two is broken in its own way."""
    root = tmp_path / "broken"
    angry, sad = root / "Angry", root / "Sad"
    angry.mkdir(parents=True)
    sad.mkdir()
    _tone(angry / "good.wav")
    _tone(sad / "good_too.flac", freq=220)
    (angry / "empty.wav").write_bytes(b"")
    (angry / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt " + bytes(range(256)) * 4)
    sf.write(angry / "silent.wav", np.zeros(16000), 16000)
    real = next((shared_data / "ravdess").rglob("*.ogg")).read_bytes()
    (angry / "truncated.ogg").write_bytes(real[:120])
    (angry / "notes.xyz").write_text("not media")
    _tone(sad / "twice.wav", freq=330)
    shutil.copy(sad / "twice.wav", angry / "twice_copy.wav")  # same bytes under two classes
    return root


def test_broken_files_each_get_one_reason_and_no_crash(tmp_path, broken_tree):
    result = prepare_dataset([f"generic={broken_tree}"], tmp_path / "out", PrepareConfig(workers=1))
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    reasons = dict(zip(rejected["path"].map(lambda p: p.rsplit("/", 1)[-1]), rejected["reason"]))
    assert reasons["empty.wav"] == "empty_file"
    assert reasons["corrupt.wav"] == "decode_error"
    assert reasons["silent.wav"] == "silent"
    assert reasons["truncated.ogg"] in {"truncated", "decode_error"}  # 120 bytes of an Ogg file
    assert reasons["notes.xyz"] == "unsupported_format"
    assert reasons["twice.wav"] == reasons["twice_copy.wav"] == "conflicting_labels"
    assert rejected["path"].is_unique, "one reason per file"
    assert result.n_items == 2
    assert set(load_manifest(tmp_path / "out")["emotion"]) == {"anger", "sadness"}


def _small_sources(shared_data):
    return [f"dvisa={shared_data / 'd-visa'}", f"ravdess={shared_data / 'ravdess'}",
            f"tess={shared_data / 'tess'}"]


def test_same_seed_same_manifest_byte_for_byte_and_rerun_reuses(tmp_path, shared_data):
    config = PrepareConfig(seed=7, limit=40, workers=1)
    first = prepare_dataset(_small_sources(shared_data), tmp_path / "a", config)
    second = prepare_dataset(_small_sources(shared_data), tmp_path / "b", config)
    assert (tmp_path / "a" / "manifest.parquet").read_bytes() == (tmp_path / "b" / "manifest.parquet").read_bytes()
    assert first.n_decoded == 120
    again = prepare_dataset(_small_sources(shared_data), tmp_path / "a", config)
    assert again.n_decoded == 0 and again.n_reused == 120
    assert (tmp_path / "a" / "manifest.parquet").read_bytes() == (tmp_path / "b" / "manifest.parquet").read_bytes()
    assert second.n_items == 120


def test_manifest_columns_splits_and_labels(tmp_path, shared_data):
    prepare_dataset(_small_sources(shared_data), tmp_path / "d", PrepareConfig(limit=60, workers=1))
    manifest = load_manifest(tmp_path / "d")
    for column in ("id", "modality", "corpus", "path", "group", "split", "valence", "arousal", "dominance",
                   "emotion", "original_labels", "duration_s", "sample_rate", "width", "height", "sha256"):
        assert column in manifest.columns
    assert manifest["id"].is_unique
    assert manifest[["valence", "arousal"]].notna().all().all()
    probabilities = manifest.filter(like="p_")
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    assert (manifest.groupby(["corpus", "group"])["split"].nunique() == 1).all()
    audio = manifest[manifest["modality"] == "audio"]
    assert (audio["duration_s"] > 0).all() and (audio["sample_rate"] == 16000).all()
    images = manifest[manifest["modality"] == "image"]
    assert (images["width"] > 0).all()
    assert (tmp_path / "d" / "datasheet.md").read_text().count("dvisa") >= 2


def test_lossless_copies_add_no_item(tmp_path, shared_data):
    actor = "Audio_Speech_Actors_01-24/Actor_01"
    ogg, flac = tmp_path / "ogg" / actor, tmp_path / "flac" / actor
    shutil.copytree(shared_data / "ravdess" / actor, ogg)
    shutil.copytree(shared_data / "ravdess_flac" / actor, flac)
    alone = prepare_dataset([f"ravdess={tmp_path / 'ogg'}"], tmp_path / "a", PrepareConfig(workers=1))
    both = prepare_dataset([f"ravdess={tmp_path / 'ogg'}", f"ravdess={tmp_path / 'flac'}"], tmp_path / "b",
                           PrepareConfig(workers=1))
    assert alone.n_items == both.n_items == 60
    rejected = pd.read_csv(tmp_path / "b" / "rejected.csv")
    assert (rejected["reason"] == "duplicate_recording").sum() == 60


def test_cli_prepare_detects_layout_and_reports(tmp_path, shared_data):
    result = CliRunner().invoke(app, ["data", "prepare", str(shared_data / "tess"), "--out", str(tmp_path / "t"),
                                      "--limit", "20", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "tess layout" in result.output and "20 items" in result.output


def test_cli_prepare_missing_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["data", "prepare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_identical_bytes_under_two_ids_are_marked_as_one_stimulus():
    from resonance.data.prepare import _shared_stimuli

    manifest = pd.DataFrame({"id": ["dvisa:a", "feelingblue:a", "tess:b"], "sha256": ["h1", "h1", "h3"]})
    assert _shared_stimuli(manifest).tolist() == ["feelingblue:a", "dvisa:a", ""]


@pytest.mark.slow
def test_all_shared_data_gives_the_published_counts(tmp_path, shared_data):
    sources = [f"{c}={shared_data / d}" for c, d in [("dvisa", "d-visa"), ("feelingblue", "feelingblue"),
                                                     ("ravdess", "ravdess"), ("tess", "tess"), ("emopia", "emopia")]]
    result = prepare_dataset(sources, tmp_path / "all", PrepareConfig())
    assert result.counts == {"dvisa": 2782, "feelingblue": 230, "ravdess": 1440, "tess": 1400, "emopia": 1078}
    rejected = pd.read_csv(tmp_path / "all" / "rejected.csv")
    assert len(rejected) == 682 and set(rejected["reason"]) == {"file_not_found"}
    assert set(rejected["corpus"]) == {"feelingblue"}
    manifest = load_manifest(tmp_path / "all")
    shared = manifest[manifest["same_stimulus_as"] != ""]
    assert set(shared["corpus"]) == {"dvisa", "feelingblue"}  # WikiArt images rated by both studies
    assert (shared["corpus"] == "feelingblue").sum() == 138
    assert manifest[["valence", "arousal"]].notna().all().all()
    assert (manifest.groupby(["corpus", "group"])["split"].nunique() == 1).all()
    with_flac = prepare_dataset(sources + [f"ravdess={shared_data / 'ravdess_flac'}"], tmp_path / "all",
                                PrepareConfig())
    assert with_flac.n_items == result.n_items
