"""The manifest contract (resonance.data.manifest): columns, version, sample rate, relative paths under
named roots, portability of ids and datasets, unlabelled material, and its errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

from resonance.data.manifest import (
    COLUMNS,
    DATASET_ROOT,
    MANIFEST_VERSION,
    REQUIRED,
    is_unlabelled,
    read_manifest,
    relative_to_root,
    source_root_names,
    unlabelled_manifest,
    write_manifest,
)
from resonance.data.prepare import PrepareConfig, load_manifest, prepare_dataset
from resonance.errors import DatasetError, InputNotFoundError, ParameterError

ONE = PrepareConfig(workers=1)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # generic items without a known speaker


def _tone(path: Path, freq: float, seconds: float = 0.8, sr: int = 16000) -> None:
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), sr, subtype="PCM_16")


def _image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "mine"
    (root / "Angry").mkdir(parents=True)
    (root / "Sad").mkdir()
    _tone(root / "Angry" / "a.wav", 440)
    _tone(root / "Sad" / "b.flac", 220)
    return root


def test_prepare_writes_the_contract(tree, tmp_path):
    prepare_dataset([f"generic={tree}"], tmp_path / "out", PrepareConfig(workers=1, sample_rate=22050))
    raw = pd.read_parquet(tmp_path / "out" / "manifest.parquet")
    assert set(REQUIRED) <= set(raw.columns) and raw["id"].is_monotonic_increasing
    assert set(COLUMNS) <= set(raw.columns)
    for column, dtype in COLUMNS.items():
        if dtype == "float64":
            assert raw[column].dtype == np.float64, column
        elif dtype == "Int64":
            assert str(raw[column].dtype) == "Int64", column
    # paths are relative to a named root, recorded with the sample rate in the provenance
    assert not raw["path"].str.startswith("/").any() and set(raw["root"]) == {"generic"}
    provenance = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert provenance["manifest_version"] == MANIFEST_VERSION == "2"
    assert provenance["sample_rate"] == 22050
    assert provenance["roots"] == {"generic": str(tree)}
    manifest = read_manifest(tmp_path / "out")
    info = manifest.attrs["manifest"]
    assert info.sample_rate == 22050 and info.version == "2"
    assert all(Path(p).is_file() and Path(p).is_absolute() for p in manifest["path"])
    assert load_manifest(tmp_path / "out")["path"].tolist() == manifest["path"].tolist()  # the thin alias


def test_ids_and_manifest_do_not_depend_on_where_the_data_or_dataset_live(tree, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "deeper" / "mine"
    shutil.copytree(tree, elsewhere)
    prepare_dataset([f"generic={tree}"], tmp_path / "a", ONE)
    prepare_dataset([f"generic={elsewhere}"], tmp_path / "b" / "c", ONE)
    a, b = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b" / "c")
    assert a["id"].tolist() == b["id"].tolist() and not a["id"].str.contains(str(tmp_path)).any()
    columns = [c for c in a.columns if c not in {"path", "source_path"}]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "manifest.parquet")[columns],
                                  pd.read_parquet(tmp_path / "b" / "c" / "manifest.parquet")[columns])
    assert json.loads((tmp_path / "a" / "dataset.json").read_text())["data_version"] == \
        json.loads((tmp_path / "b" / "c" / "dataset.json").read_text())["data_version"]


def test_moved_data_is_found_through_its_root(tree, tmp_path):
    prepare_dataset([f"generic={tree}"], tmp_path / "out", ONE)
    moved = tmp_path / "moved_data"
    shutil.move(tree, moved)
    shutil.move(tmp_path / "out", tmp_path / "moved_out")
    manifest = read_manifest(tmp_path / "moved_out", roots={"generic": moved})
    assert all(Path(p).is_file() for p in manifest["path"])
    assert all(Path(p).is_relative_to(moved) for p in manifest["source_path"])


def test_dataset_root_moves_with_the_folder(tmp_path):
    """Files inside the dataset folder (MIDI renders) are relative to it: moving it keeps them."""
    folder = tmp_path / "ds"
    (folder / "rendered").mkdir(parents=True)
    _tone(folder / "rendered" / "x.wav", 300)
    root, rel = relative_to_root(folder / "rendered" / "x.wav", {DATASET_ROOT: folder, "src": tmp_path})
    assert (root, rel) == (DATASET_ROOT, "rendered/x.wav")  # the deepest root wins
    frame = pd.DataFrame({"id": ["c:x"], "modality": ["audio"], "path": [rel], "root": [root],
                          "sha256": ["0" * 64]})
    write_manifest(frame, folder / "manifest.parquet", {"roots": {}, "sample_rate": 16000})
    shutil.move(folder, tmp_path / "other")
    path = Path(read_manifest(tmp_path / "other")["path"].iloc[0])
    assert path == (tmp_path / "other" / "rendered" / "x.wav").resolve() and path.is_file()


def test_root_names_are_unique_and_stable(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    names = source_root_names([("ravdess", tmp_path / "a"), ("ravdess", tmp_path / "b"), ("ravdess", tmp_path / "a")])
    assert names == {"ravdess": str(tmp_path / "a"), "ravdess-2": str(tmp_path / "b")}


def test_read_manifest_errors_name_the_fix(tmp_path):
    with pytest.raises(InputNotFoundError, match="run `resonance data prepare` first"):
        read_manifest(tmp_path / "nowhere")
    good = pd.DataFrame({"id": ["a", "b"], "modality": ["image", "audio"], "path": ["/x", "/y"],
                         "sha256": ["0" * 64] * 2})
    good.drop(columns="sha256").to_parquet(tmp_path / "m1.parquet")
    with pytest.raises(DatasetError, match=r"lacks the columns \['sha256'\]"):
        read_manifest(tmp_path / "m1.parquet")
    good.iloc[:0].to_parquet(tmp_path / "m2.parquet")
    with pytest.raises(DatasetError, match="no items"):
        read_manifest(tmp_path / "m2.parquet")
    good.assign(modality=["image", "imag"]).to_parquet(tmp_path / "m3.parquet")
    with pytest.raises(DatasetError, match="unknown modalities"):
        read_manifest(tmp_path / "m3.parquet")
    (tmp_path / "m4.parquet").write_bytes(b"not parquet")
    with pytest.raises(DatasetError, match="not a readable Parquet manifest"):
        read_manifest(tmp_path / "m4.parquet")
    good.assign(root=["nowhere", ""]).to_parquet(tmp_path / "m5.parquet")
    with pytest.raises(DatasetError, match="roots="):
        read_manifest(tmp_path / "m5.parquet")
    assert issubclass(DatasetError, ParameterError)  # old callers catching ParameterError still do


def test_config_is_validated_and_round_trips():
    config = PrepareConfig(seed=3, limit=5, holdout_corpus=" TESS ", fractions=[0.8, 0.1, 0.1], workers=1)
    assert config.holdout_corpus == "tess" and config.fractions == (0.8, 0.1, 0.1)
    assert PrepareConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config == config.checked()
    for bad in ({"limit": -1}, {"limit": 0}, {"seed": -1}, {"workers": 0}, {"fractions": (0.5, 0.5, 0.5)},
                {"sample_rate": 100}, {"holdout_corpus": ""}, {"limit": 2.5}):
        with pytest.raises(ParameterError):
            PrepareConfig(**bad)
    with pytest.raises(ParameterError, match="unknown PrepareConfig fields"):
        PrepareConfig.from_dict({"seeds": 1})


def test_holdout_corpus_case_and_unknown_names(tree, tmp_path):
    with pytest.raises(ParameterError, match="matches no corpus"):
        prepare_dataset([f"generic={tree}"], tmp_path / "o", PrepareConfig(workers=1, holdout_corpus="tess"))
    assert not (tmp_path / "o" / "manifest.parquet").exists()
    prepare_dataset([f"generic={tree}"], tmp_path / "o", PrepareConfig(workers=1, holdout_corpus="GENERIC"))
    assert set(read_manifest(tmp_path / "o")["split"]) == {"test"}


# -- unlabelled material ----------------------------------------------------------------------------

def test_unlabelled_folder_and_list(tmp_path):
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    _image(folder / "p1.png", 1)
    _image(folder / "sub" / "p2.jpg", 2)
    _tone(folder / "s1.wav", 300)
    (folder / "notes.txt").write_text("a note")  # documentation: skipped silently
    (folder / "data.xyz").write_bytes(b"?")  # not media: reported
    (folder / ".hidden.png").write_bytes(b"")
    scan = unlabelled_manifest(folder)
    frame = scan.manifest
    assert frame["id"].tolist() == ["unlabelled:p1.png", "unlabelled:s1.wav", "unlabelled:sub/p2.jpg"]
    assert frame["modality"].tolist() == ["image", "audio", "image"]
    assert is_unlabelled(frame).all()
    assert frame["emotion"].isna().all() and frame["valence"].isna().all() and frame["arousal"].isna().all()
    assert [(Path(p).name, r) for p, r, _ in scan.skipped] == [("data.xyz", "unsupported_format")]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my files\nmine/p1.png\n\n{folder / 's1.wav'}\nmine/gone.wav\n")
    listed = unlabelled_manifest(listing, hash_files=False).manifest
    assert listed["id"].tolist() == ["unlabelled:mine/gone.wav", "unlabelled:mine/p1.png", "unlabelled:mine/s1.wav"]
    with pytest.raises(InputNotFoundError):
        unlabelled_manifest(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no image or audio file"):
        unlabelled_manifest(tmp_path / "empty")


# -- EMOPIA renders inside a moved dataset (D17) ----------------------------------------------------

def test_moved_dataset_keeps_its_emopia_renders(tmp_path, shared_data, monkeypatch):
    from resonance.errors import ResonanceError
    from resonance.io import midi as midi_io

    try:
        midi_io.find_fluidsynth()
        midi_io.find_soundfont()
    except ResonanceError:
        pytest.skip("fluidsynth or a GM SoundFont is not installed")
    if not (shared_data / "emopia" / "EMOPIA_1.0" / "label.csv").is_file():
        pytest.skip("EMOPIA is not in the shared data")
    monkeypatch.setenv("RESONANCE_CACHE", str(tmp_path / "cache"))
    prepare_dataset([f"emopia={shared_data / 'emopia'}"], tmp_path / "d", PrepareConfig(limit=2, workers=1))
    assert set(pd.read_parquet(tmp_path / "d" / "manifest.parquet")["root"]) == {DATASET_ROOT}
    shutil.move(tmp_path / "d", tmp_path / "moved")
    manifest = read_manifest(tmp_path / "moved")
    assert len(manifest) == 2 and all(Path(p).is_file() for p in manifest["path"])
    assert all(Path(p).is_relative_to((tmp_path / "moved").resolve()) for p in manifest["path"])
