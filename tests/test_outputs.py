"""Outputs that can be trusted: one run per folder, a complete-or-absent output set, no stale temporaries,
files that honour the umask, and a decode cache that cannot outlive the bytes it describes."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from resonance.data.manifest import read_manifest
from resonance.data.prepare import PrepareConfig, prepare_dataset
from resonance.errors import DatasetError, LockedError
from resonance.io.atomic import (
    STAGING_PREFIX,
    TMP_PREFIX,
    StagedOutputs,
    atomic_path,
    clean_stale_temporaries,
    output_lock,
    recover_staged_outputs,
    write_text_atomic,
)

ONE = PrepareConfig(workers=1)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # generic items without a known speaker
OUTPUTS = {"manifest.parquet", "rejected.csv", "datasheet.md", "dataset.json", "va_plane.png"}


def _tone(path: Path, freq: float, seconds: float = 0.8, sr: int = 16000) -> None:
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), sr, subtype="PCM_16")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "Angry").mkdir(parents=True)
    (root / "Sad").mkdir()
    _tone(root / "Angry" / "a.wav", 440)
    _tone(root / "Sad" / "b.wav", 220)
    return root


# -- the lock ---------------------------------------------------------------------------------------

def test_a_second_run_into_the_same_folder_is_refused(tree, tmp_path):
    out = tmp_path / "out"
    with output_lock(out / ".lock", "dataset folder out"):  # what a run in progress holds
        with pytest.raises(LockedError, match="being written by another run"):
            prepare_dataset([f"generic={tree}"], out, ONE)
        assert not (out / "manifest.parquet").exists()
    result = prepare_dataset([f"generic={tree}"], out, ONE)  # once released, it runs
    assert result.n_items == 2


def test_cli_second_run_is_one_line_exit_2(tree, tmp_path):
    from typer.testing import CliRunner

    from resonance.cli.main import app

    out = tmp_path / "out"
    with output_lock(out / ".lock", "x"):
        result = CliRunner().invoke(app, ["data", "prepare", f"generic={tree}", "--out", str(out), "--workers", "1"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "another run" in lines[0]


def test_extract_is_locked_too(tmp_path):
    from handcrafted.extract import ExtractConfig, extract_features

    media = tmp_path / "media"
    media.mkdir()
    _tone(media / "x.wav", 330)
    out = tmp_path / "f.parquet"
    with output_lock(tmp_path / ".f.parquet.lock", "x"), pytest.raises(LockedError):
        extract_features(media, out, ExtractConfig(workers=1, progress=False))
    assert not out.exists()


# -- complete or absent -----------------------------------------------------------------------------

def test_output_set_is_complete_and_data_versions_agree(tree, tmp_path):
    out = tmp_path / "out"
    prepare_dataset([f"generic={tree}"], out, ONE)
    assert OUTPUTS <= {p.name for p in out.iterdir()}
    assert not list(out.glob(f"{STAGING_PREFIX}*")) and not list(out.glob(f"{TMP_PREFIX}*"))
    info = read_manifest(out).attrs["manifest"]
    assert json.loads((out / "dataset.json").read_text())["data_version"] == info.data_version


def test_a_commit_killed_half_way_is_finished_by_the_next_run(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a.txt").write_text("old a")
    (folder / "b.txt").write_text("old b")
    staged = StagedOutputs(folder)
    staged.path("a.txt").write_text("new a")
    staged.path("b.txt").write_text("new b")
    # a kill after the marker and the first rename: what the commit leaves
    (staged.stage / "COMMIT.json").write_text(json.dumps({"order": ["a.txt", "b.txt"]}))
    os.replace(staged.stage / "a.txt", folder / "a.txt")
    assert (folder / "b.txt").read_text() == "old b"  # a mixed set ...
    assert recover_staged_outputs(folder) == [f"{staged.stage.name} (completed)"]
    assert (folder / "a.txt").read_text() == "new a" and (folder / "b.txt").read_text() == "new b"  # ... completed
    # a staging folder without a marker was never complete: it is discarded, nothing moves
    other = StagedOutputs(folder)
    other.path("a.txt").write_text("half")
    recover_staged_outputs(folder)
    assert not other.stage.exists() and (folder / "a.txt").read_text() == "new a"


def test_interrupted_output_write_is_detected_and_repaired(tree, tmp_path, monkeypatch):
    out = tmp_path / "out"
    prepare_dataset([f"generic={tree}"], out, ONE)
    _tone(tree / "Sad" / "c.wav", 300)  # a new item: a new data_version

    import resonance.io.atomic as atomic

    original = atomic._finish_commit

    def killed(stage, folder, names):  # moves the first file, then the process dies
        os.replace(stage / names[0], folder / names[0])
        os.replace(stage / "dataset.json", folder / "dataset.json")
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "_finish_commit", killed)
    monkeypatch.setattr(atomic.StagedOutputs, "__exit__", lambda self, *exc: None)  # a kill runs no cleanup
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset([f"generic={tree}"], out, ONE)
    monkeypatch.setattr(atomic, "_finish_commit", original)
    # a reader sees that dataset.json and the manifest do not belong together
    with pytest.raises(DatasetError, match="interrupted"):
        read_manifest(out)
    # the next run (any run into the folder) completes the set
    prepare_dataset([f"generic={tree}"], out, ONE)
    assert len(read_manifest(out)) == 3
    assert not list(out.glob(f"{STAGING_PREFIX}*"))


def test_nothing_usable_writes_nothing_and_does_not_point_to_rejected_csv(tmp_path):
    root = tmp_path / "src" / "Angry"
    root.mkdir(parents=True)
    (root / "x.wav").write_bytes(b"")
    with pytest.raises(DatasetError) as error:
        prepare_dataset([f"generic={tmp_path / 'src'}"], tmp_path / "out", ONE)
    message = str(error.value)
    assert "rejected.csv" not in message and "empty_file" in message and "x.wav" in message
    assert not (tmp_path / "out" / "rejected.csv").exists() and not (tmp_path / "out" / "manifest.parquet").exists()


# -- temporaries and modes --------------------------------------------------------------------------

def test_stale_temporaries_of_a_killed_run_are_removed_and_only_ours(tree, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    ours = out / f"{TMP_PREFIX}manifest.parquet.abc123.tmp"
    ours.write_bytes(b"half a parquet file")
    theirs = out / ".manifest.parquet.xyz.tmp"  # not our prefix: someone else's
    theirs.write_bytes(b"keep")
    (out / ".cache").mkdir()
    cached = out / ".cache" / f"{TMP_PREFIX}facts.parquet.q.tmp"
    cached.write_bytes(b"")
    prepare_dataset([f"generic={tree}"], out, ONE)
    assert not ours.exists() and not cached.exists() and theirs.exists()
    assert clean_stale_temporaries(tmp_path / "absent") == []


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_honour_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"y")
    finally:
        os.umask(old)
    for name in ("a.txt", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask, name


def test_a_prepared_dataset_is_readable_by_the_group(tree, tmp_path):
    old = os.umask(0o002)
    try:
        prepare_dataset([f"generic={tree}"], tmp_path / "out", ONE)
    finally:
        os.umask(old)
    for name in OUTPUTS:
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o664, name


# -- the decode cache -------------------------------------------------------------------------------

def test_a_file_unreadable_once_is_not_cached_as_rejected(tree, tmp_path, monkeypatch):
    import resonance.data.prepare as prepare

    target = tree / "Angry" / "a.wav"
    real_hash, real_probe = prepare._content_hash, prepare._probe_media

    def unreadable_probe(path, modality):  # permission denied, whoever runs the test (root reads 0000 files)
        if Path(path) == target:
            return {"reason": "permission_denied", "detail": "cannot open", "sha256": "", "duration_s": np.nan,
                    "sample_rate": np.nan, "channels": np.nan, "width": np.nan, "height": np.nan}
        return real_probe(path, modality)

    monkeypatch.setattr(prepare, "_decoder_signature", lambda: "fixed")  # it hashes _probe_media's source
    monkeypatch.setattr(prepare, "_content_hash", lambda p: "" if Path(p) == target else real_hash(p))
    monkeypatch.setattr(prepare, "_probe_media", unreadable_probe)
    out = tmp_path / "out"
    first = prepare_dataset([f"generic={tree}"], out, ONE)
    assert first.n_items == 1 and first.n_rejected == 1
    monkeypatch.setattr(prepare, "_content_hash", real_hash)
    monkeypatch.setattr(prepare, "_probe_media", real_probe)
    again = prepare_dataset([f"generic={tree}"], out, ONE)  # readable now: decoded again, kept
    assert again.n_items == 2 and again.n_rejected == 0
    assert (again.n_decoded, again.n_reused) == (1, 1)


def test_a_transient_failure_reason_is_never_cached(tree, tmp_path, monkeypatch):
    """Even a failure whose file could be hashed is not cached when its reason is transient."""
    import resonance.data.prepare as prepare

    target = tree / "Angry" / "a.wav"
    real_probe = prepare._probe_media

    def flaky(path, modality):
        if Path(path) == target:
            return {"reason": "permission_denied", "detail": "x", "sha256": "", "duration_s": np.nan,
                    "sample_rate": np.nan, "channels": np.nan, "width": np.nan, "height": np.nan}
        return real_probe(path, modality)

    monkeypatch.setattr(prepare, "_probe_media", flaky)
    out = tmp_path / "out"
    assert prepare_dataset([f"generic={tree}"], out, ONE).n_rejected == 1
    monkeypatch.setattr(prepare, "_probe_media", real_probe)
    assert prepare_dataset([f"generic={tree}"], out, ONE).n_rejected == 0


def test_chmod_000_then_644_is_picked_up(tree, tmp_path):
    """The fault as users meet it (D7a); needs a user that permissions apply to."""
    if os.geteuid() == 0:
        pytest.skip("root reads a 0000 file; covered by test_a_file_unreadable_once_is_not_cached_as_rejected")
    target = tree / "Angry" / "a.wav"
    out = tmp_path / "out"
    target.chmod(0)
    try:
        assert prepare_dataset([f"generic={tree}"], out, ONE).n_rejected == 1
    finally:
        target.chmod(0o644)
    assert prepare_dataset([f"generic={tree}"], out, ONE).n_rejected == 0


def test_a_file_changed_in_place_with_the_same_size_and_mtime_is_decoded_again(tree, tmp_path):
    out = tmp_path / "out"
    prepare_dataset([f"generic={tree}"], out, ONE)
    target = tree / "Angry" / "a.wav"
    before = read_manifest(out).set_index("id")
    info = target.stat()
    data = bytearray(target.read_bytes())
    data[-400:] = bytes(400)  # same size: the last samples silenced
    target.write_bytes(bytes(data))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))  # and the same mtime
    assert target.stat().st_size == info.st_size and target.stat().st_mtime_ns == info.st_mtime_ns
    again = prepare_dataset([f"generic={tree}"], out, ONE)
    assert (again.n_decoded, again.n_reused) == (1, 1)
    after = read_manifest(out).set_index("id")
    item = next(i for i in after.index if i.endswith("a"))
    assert after.loc[item, "sha256"] != before.loc[item, "sha256"]
    from resonance.io import sha256_file

    assert after.loc[item, "sha256"] == sha256_file(target)


def test_cache_follows_content_not_names(tree, tmp_path):
    out = tmp_path / "out"
    prepare_dataset([f"generic={tree}"], out, ONE)
    moved = tmp_path / "moved"
    shutil.copytree(tree, moved)  # the same bytes under other paths (and other mtimes)
    again = prepare_dataset([f"generic={moved}"], out, ONE)
    assert (again.n_decoded, again.n_reused) == (0, 2)
    cache = pd.read_parquet(out / ".cache" / "facts.parquet")
    assert len(cache) == 2 and not cache["key"].str.contains(str(tmp_path)).any()
