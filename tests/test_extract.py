"""handcrafted.extract: one table per dataset, failures recorded, incremental, Dask == local."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from PIL import Image

from handcrafted.extract import (
    CHECKPOINT_SUFFIX,
    METADATA_KEY,
    ExtractConfig,
    extract_features,
    failures_path,
    read_features,
)
from resonance.errors import ParameterError
from resonance.io import sha256_file

SR = 16_000
GOOD_IMAGES = ("img_a", "img_b", "img_c")
GOOD_AUDIO = ("aud_a", "aud_b")
GOOD = tuple(sorted(GOOD_IMAGES + GOOD_AUDIO))
QUIET = {"progress": False}


def _write_image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # smooth colour ramps plus noise: every colour/texture descriptor is defined on it
    yy, xx = np.mgrid[0:96, 0:128]
    base = np.stack([xx * 2 % 256, yy * 2 % 256, (xx + yy) % 256], axis=-1).astype(float)
    pixels = np.clip(base + rng.normal(0, 25, base.shape) + seed * 20, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=92)


def _write_audio(path: Path, f0: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(int(1.2 * SR)) / SR
    tone = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
    envelope = np.minimum(1.0, 10 * t) * np.minimum(1.0, 10 * (t[-1] - t))
    y = envelope * tone + 0.01 * rng.standard_normal(t.size)
    sf.write(path, y.astype(np.float32), SR, subtype="PCM_16")


def _write_manifest(root: Path, rows: list[dict]) -> Path:
    """A manifest like `prepare` writes, with the sha256 of each file as it is now."""
    for row in rows:
        path = Path(row["path"])
        row["sha256"] = sha256_file(path) if path.is_file() else "0" * 64
    frame = pd.DataFrame(rows).assign(corpus="synthetic", split="train", emotion="neutral",
                                      valence=0.5, arousal=0.5)
    frame.to_parquet(root / "manifest.parquet", index=False)
    return root / "manifest.parquet"


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, list[dict]]:
    media = tmp_path / "media"
    media.mkdir()
    rows = []
    for seed, item_id in enumerate(GOOD_IMAGES):
        _write_image(media / f"{item_id}.jpg", seed)
        rows.append({"id": item_id, "modality": "image", "path": str(media / f"{item_id}.jpg")})
    for seed, (item_id, f0) in enumerate(zip(GOOD_AUDIO, (180.0, 260.0), strict=True)):
        _write_audio(media / f"{item_id}.flac", f0, seed)
        rows.append({"id": item_id, "modality": "audio", "path": str(media / f"{item_id}.flac")})
    (media / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    rows.append({"id": "bad_corrupt", "modality": "image", "path": str(media / "corrupt.jpg")})
    rows.append({"id": "bad_missing", "modality": "audio", "path": str(media / "gone.flac")})
    root = tmp_path / "dataset"
    root.mkdir()
    _write_manifest(root, rows)
    return root, rows


def _patch_describer(monkeypatch, replacement) -> None:
    """Replace ``_describer`` wherever the extract modules look it up (the worker may live apart)."""
    import importlib.util

    import handcrafted.extract as extract

    monkeypatch.setattr(extract, "_describer", replacement)
    if importlib.util.find_spec("handcrafted.extract_worker") is not None:
        import handcrafted.extract_worker as worker

        monkeypatch.setattr(worker, "_describer", replacement)


def _registry_names(modality: str, groups=None) -> list[str]:
    import handcrafted.audio  # noqa: F401 -- registers the audio descriptors
    import handcrafted.image  # noqa: F401 -- registers the image descriptors
    from handcrafted.registry import REGISTRY

    return [d.name for d in REGISTRY.select(modality, groups)]


def test_table_failures_reuse_and_change(dataset, tmp_path):
    root, rows = dataset
    out = tmp_path / "features.parquet"
    first = extract_features(root, out, ExtractConfig(workers=2, chunk_size=2, **QUIET))

    assert (first.computed, first.reused, first.failed, first.n_items) == (len(GOOD), 0, 2, len(GOOD) + 2)
    table = pd.read_parquet(out)
    image_names, audio_names = _registry_names("image"), _registry_names("audio")
    assert list(table.columns) == ["id", "modality", "sha256", *image_names, *audio_names]
    assert table["id"].tolist() == list(GOOD)
    assert all(table[c].dtype == np.float64 for c in image_names + audio_names)
    images = table[table["modality"] == "image"]
    audio = table[table["modality"] == "audio"]
    # the other modality's columns are null by design, the own ones are computed
    assert images[audio_names].isna().all().all() and audio[image_names].isna().all().all()
    assert images[image_names].notna().all().all()
    from handcrafted.registry import REGISTRY
    for name in audio_names:  # a NaN only where the registry documents it
        assert audio[name].notna().all() or REGISTRY[name].undefined, name
    expected_sha = {r["id"]: r["sha256"] for r in rows}
    assert all(expected_sha[i] == s for i, s in zip(table["id"], table["sha256"], strict=True))

    failures = pd.read_csv(failures_path(out))
    assert failures_path(out).name == "features_failures.csv"
    reasons = failures.set_index("id")["reason"].to_dict()
    corrupt = reasons["bad_corrupt"]  # a JPEG header and garbage: the decoder calls it either
    assert corrupt in {"decode_error", "truncated"}
    assert reasons == {"bad_corrupt": corrupt, "bad_missing": "file_not_found"}
    assert failures["path"].str.endswith(("corrupt.jpg", "gone.flac")).all()
    assert first.failure_reasons == {corrupt: 1, "file_not_found": 1}

    provenance = read_features(out).attrs["provenance"]
    assert provenance["manifest"]["sha256"] == sha256_file(root / "manifest.parquet")
    assert set(provenance["descriptors"]) == set(image_names + audio_names)
    assert provenance["packages"]["numpy"] == np.__version__
    assert set(provenance["signatures"]) == {"image", "audio"}

    # a re-run reuses every good item (failures are retried, and fail again)
    again = extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    assert (again.computed, again.reused, again.failed, again.dropped) == (0, len(GOOD), 2, 0)
    pdt.assert_frame_equal(pd.read_parquet(out), table)

    # change one image and re-prepare: only that item is recomputed, the others keep their values
    _write_image(Path(rows[0]["path"]), seed=7)
    _write_manifest(root, rows)
    changed = extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    assert (changed.computed, changed.reused) == (1, len(GOOD) - 1)
    after = pd.read_parquet(out).set_index("id")
    before = table.set_index("id")
    assert after.loc["img_a", "sha256"] != before.loc["img_a", "sha256"]
    assert not np.allclose(after.loc["img_a", image_names].astype(float),
                           before.loc["img_a", image_names].astype(float))
    pdt.assert_frame_equal(after.drop(index="img_a"), before.drop(index="img_a"))

    # an item removed from the manifest is dropped from the table
    _write_manifest(root, [r for r in rows if r["id"] != "aud_b"])
    removed = extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    assert (removed.computed, removed.dropped) == (0, 1)
    assert "aud_b" not in set(pd.read_parquet(out)["id"])


def test_stale_manifest_is_a_recorded_failure(dataset, tmp_path):
    root, rows = dataset
    _write_audio(Path(rows[3]["path"]), 300.0, seed=9)  # changed behind the manifest's back
    result = extract_features(root, tmp_path / "f.parquet", ExtractConfig(workers=1, **QUIET))
    failures = pd.read_csv(failures_path(tmp_path / "f.parquet")).set_index("id")
    assert failures.loc[rows[3]["id"], "reason"] == "sha256_mismatch"
    assert result.failed == 3 and result.computed == len(GOOD) - 1


def test_interrupted_run_resumes_from_checkpoint(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, modality="audio", **QUIET))
    # what a run killed after its last checkpoint leaves: a partial table and no final one
    out.rename(out.with_name(out.name + CHECKPOINT_SUFFIX))
    resumed = extract_features(root, out, ExtractConfig(workers=1, modality="audio", **QUIET))
    assert (resumed.reused, resumed.computed) == (len(GOOD_AUDIO), 0)
    assert not out.with_name(out.name + CHECKPOINT_SUFFIX).exists()


def test_groups_select_columns_and_modality(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "colour.parquet"
    result = extract_features(root, out, ExtractConfig(groups=["colour"], workers=1, **QUIET))
    table = pd.read_parquet(out)
    colour = _registry_names("image", ["colour"])
    assert colour and list(table.columns) == ["id", "modality", "sha256", *colour]
    assert table["id"].tolist() == list(GOOD_IMAGES)
    assert result.skipped == len(GOOD_AUDIO) + 1  # the audio items, the missing one included
    metadata = pq.read_schema(out).metadata
    assert METADATA_KEY in metadata
    # the same selection again reuses every row; a wider one must compute the columns it lacks
    same = extract_features(root, out, ExtractConfig(groups=["colour"], modality="image", workers=1, **QUIET))
    assert (same.reused, same.computed) == (len(GOOD_IMAGES), 0)
    images = read_features(out, modality="image")
    assert list(images.columns) == ["id", "modality", "sha256", *colour]
    wider = extract_features(root, out, ExtractConfig(modality="image", workers=1, **QUIET))
    assert (wider.reused, wider.computed) == (0, len(GOOD_IMAGES))
    assert list(pd.read_parquet(out).columns) == ["id", "modality", "sha256", *_registry_names("image")]


def test_dask_cluster_gives_the_same_table(dataset, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    root, _ = dataset
    local = extract_features(root, tmp_path / "local.parquet", ExtractConfig(workers=1, **QUIET))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = extract_features(root, tmp_path / "dask.parquet",
                                  ExtractConfig(scheduler=cluster.scheduler_address, chunk_size=2, **QUIET))
    assert (remote.computed, remote.failed) == (local.computed, local.failed)
    # not bitwise: float32 reductions in some colour descriptors round differently with the memory
    # alignment of their buffers, which differs between processes (measured: < 1e-10 relative)
    pdt.assert_frame_equal(pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "local.parquet"),
                           check_exact=False, rtol=1e-9, atol=0)
    pdt.assert_frame_equal(pd.read_csv(failures_path(tmp_path / "dask.parquet")),
                           pd.read_csv(failures_path(tmp_path / "local.parquet")))


def test_bad_requests_fail_before_any_work(dataset, tmp_path):
    root, rows = dataset
    with pytest.raises(ParameterError, match="unknown descriptor groups"):
        extract_features(root, tmp_path / "x.parquet", ExtractConfig(groups=["no_such_group"], **QUIET))
    with pytest.raises(ParameterError, match="no manifest"):
        extract_features(tmp_path / "nowhere", tmp_path / "x.parquet", ExtractConfig(**QUIET))
    with pytest.raises(ParameterError, match="groups must be a sequence"):
        ExtractConfig(groups="colour")
    with pytest.raises(ParameterError, match="scheduler"):
        ExtractConfig(scheduler="localhost")
    pd.DataFrame(rows).drop(columns="sha256").to_parquet(tmp_path / "m1.parquet")
    with pytest.raises(ParameterError, match=r"lacks the columns \['sha256'\]"):
        extract_features(tmp_path / "m1.parquet", tmp_path / "x.parquet", ExtractConfig(**QUIET))
    pd.DataFrame(rows + rows[:1]).to_parquet(tmp_path / "m2.parquet")
    with pytest.raises(ParameterError, match="unique"):
        extract_features(tmp_path / "m2.parquet", tmp_path / "x.parquet", ExtractConfig(**QUIET))
    assert not (tmp_path / "x.parquet").exists()
    assert math.isfinite(ExtractConfig().resolved_workers())


def test_a_broken_extractor_keeps_the_previous_table(dataset, tmp_path, monkeypatch):
    import handcrafted.extract as extract

    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, modality="audio", **QUIET))
    before = pd.read_parquet(out)
    real = extract._describer

    def broken(modality):
        if modality == "audio":
            def describe(*args, **kwargs):
                raise ValueError("a bug in an extractor")
            return describe
        return real(modality)

    _patch_describer(monkeypatch, broken)
    monkeypatch.setattr(extract, "_code_signature", lambda m: "changed code")  # forces recomputation
    with pytest.raises(RuntimeError, match="all 2 items that decoded failed in extraction"):
        extract_features(root, out, ExtractConfig(workers=1, modality="audio", **QUIET))
    pdt.assert_frame_equal(pd.read_parquet(out), before)
    assert set(pd.read_csv(failures_path(out))["reason"]) == {"extraction_error", "file_not_found"}


# -- subset runs never delete results (D4) ----------------------------------------------------------

def test_a_limit_run_into_a_full_table_keeps_every_other_row(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    full = pd.read_parquet(out)
    smoke = extract_features(root, out, ExtractConfig(workers=1, limit=2, **QUIET))
    # the first two ids are the two audio items: reused; the three images are kept as they were
    assert (smoke.reused, smoke.computed, smoke.dropped, smoke.kept) == (2, 0, 0, len(GOOD) - 2)
    pdt.assert_frame_equal(pd.read_parquet(out), full)  # nothing lost, nothing changed
    assert "kept" in smoke.summary()


def test_a_group_or_modality_run_keeps_the_other_rows_and_columns(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    full = pd.read_parquet(out)
    colour = extract_features(root, out, ExtractConfig(groups=["colour"], workers=1, **QUIET))
    assert (colour.reused, colour.computed, colour.dropped) == (len(GOOD_IMAGES), 0, 0)
    pdt.assert_frame_equal(pd.read_parquet(out), full)  # audio rows and texture columns are still there
    audio = extract_features(root, out, ExtractConfig(modality="audio", workers=1, **QUIET))
    assert (audio.reused, audio.dropped, audio.kept) == (len(GOOD_AUDIO), 0, len(GOOD_IMAGES))
    pdt.assert_frame_equal(pd.read_parquet(out), full)
    provenance = read_features(out).attrs["provenance"]
    assert set(provenance["signatures"]) == {"image", "audio"} and provenance["incomplete"] == {}


def test_a_new_group_on_some_rows_is_recorded_as_incomplete(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(groups=["colour"], workers=1, **QUIET))
    colour, texture = _registry_names("image", ["colour"]), _registry_names("image", ["texture"])
    first = pd.read_parquet(out).set_index("id")
    # the first two images by id: bad_corrupt (fails) and img_a
    extract_features(root, out, ExtractConfig(groups=["texture"], modality="image", limit=2, workers=1, **QUIET))
    table = pd.read_parquet(out).set_index("id")
    assert table.index.tolist() == list(GOOD_IMAGES)  # no row removed
    assert set(colour + texture) <= set(table.columns)
    pdt.assert_frame_equal(table[colour], first[colour])  # colour values kept, also on the recomputed row
    assert table.loc["img_a", texture].notna().all() and table.loc[["img_b", "img_c"], texture].isna().all().all()
    incomplete = read_features(out).attrs["provenance"]["incomplete"]
    assert incomplete == {",".join(sorted(texture)): ["img_b", "img_c"]}
    # the next texture run computes exactly the two rows that lack it
    rest = extract_features(root, out, ExtractConfig(groups=["texture"], workers=1, **QUIET))
    assert (rest.reused, rest.computed) == (1, 2)
    assert read_features(out).attrs["provenance"]["incomplete"] == {}
    assert pd.read_parquet(out)[texture].notna().all().all()


def test_stale_rows_are_dropped_not_carried(dataset, tmp_path):
    root, rows = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    _write_image(Path(rows[2]["path"]), seed=11)  # img_c changes and is re-prepared ...
    _write_manifest(root, rows)
    result = extract_features(root, out, ExtractConfig(workers=1, limit=1, **QUIET))  # ... but not selected
    assert result.dropped == 1
    assert "img_c" not in set(pd.read_parquet(out)["id"])  # its old values described other bytes


# -- unlabelled material, the manifest's sample rate, the lock --------------------------------------

def test_a_plain_folder_is_described_without_labels(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    _write_image(folder / "painting.jpg", 1)
    _write_audio(folder / "sound.flac", 200.0, 2)
    (folder / "odd.xyz").write_bytes(b"?")
    out = tmp_path / "mine.parquet"
    result = extract_features(folder, out, ExtractConfig(workers=1, **QUIET))
    assert (result.computed, result.failed) == (2, 1)
    table = pd.read_parquet(out)
    assert table["id"].tolist() == ["unlabelled:painting.jpg", "unlabelled:sound.flac"]
    assert "emotion" not in table.columns and "valence" not in table.columns  # nothing invented
    assert pd.read_csv(failures_path(out))["reason"].tolist() == ["unsupported_format"]
    assert read_features(out).attrs["provenance"]["manifest"]["unlabelled"] is True
    listing = tmp_path / "files.txt"
    listing.write_text("mine/painting.jpg\n")
    again = extract_features(listing, tmp_path / "list.parquet", ExtractConfig(workers=1, **QUIET))
    assert again.computed == 1
    listed = pd.read_parquet(tmp_path / "list.parquet")
    assert listed["id"].tolist() == ["unlabelled:mine/painting.jpg"]  # relative to the list's folder
    pdt.assert_frame_equal(listed.drop(columns="id"), table.iloc[:1].drop(columns="id"))


def test_audio_is_decoded_at_the_manifests_sample_rate(dataset, tmp_path, monkeypatch):
    import handcrafted.extract as extract
    from resonance.data.manifest import write_manifest

    root, rows = dataset
    frame = pd.read_parquet(root / "manifest.parquet")
    write_manifest(frame[frame["modality"] == "audio"].iloc[:1], root / "manifest.parquet", {"sample_rate": 22050})
    seen = []
    real = extract._describer

    def spy(modality):
        describe = real(modality)

        def wrapped(*args, **kwargs):
            seen.append((len(args[0]), kwargs.get("sr")))
            return describe(*args, **kwargs)
        return wrapped if modality == "audio" else describe

    _patch_describer(monkeypatch, spy)
    extract_features(root, tmp_path / "f.parquet", ExtractConfig(workers=1, **QUIET))
    assert seen == [(int(1.2 * 22050), 22050)]
    assert read_features(tmp_path / "f.parquet").attrs["provenance"]["sample_rate"] == 22050


def test_extract_config_round_trips_and_rejects_bad_values():
    config = ExtractConfig(groups=["colour", "energy"], modality="audio", limit=3, **QUIET)
    assert ExtractConfig.from_dict(config.to_dict()) == config == config.checked()
    for bad in ({"limit": -1}, {"limit": 0}, {"workers": 0}, {"modality": "imag"}, {"chunk_size": 0}):
        with pytest.raises(ParameterError):
            ExtractConfig(**bad)
    with pytest.raises(ParameterError, match="unknown ExtractConfig fields"):
        ExtractConfig.from_dict({"group": ["colour"]})


def test_rows_of_older_code_are_kept_when_not_selected(dataset, tmp_path, monkeypatch):
    import handcrafted.extract as extract

    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    full = pd.read_parquet(out)
    old_signatures = read_features(out).attrs["provenance"]["signatures"]
    real = extract._code_signature
    monkeypatch.setattr(extract, "_code_signature", lambda m: real(m) + "-edited")  # the code changed
    smoke = extract_features(root, out, ExtractConfig(workers=1, limit=1, **QUIET))
    assert (smoke.computed, smoke.reused, smoke.dropped) == (1, 0, 0)  # aud_a recomputed under the new code
    table = pd.read_parquet(out)
    pdt.assert_frame_equal(table[table["id"] != "aud_a"].reset_index(drop=True),
                           full[full["id"] != "aud_a"].reset_index(drop=True))
    provenance = read_features(out).attrs["provenance"]
    assert provenance["signatures"]["audio"] == old_signatures["audio"] + "-edited"
    assert provenance["row_signatures"] == {old_signatures["audio"]: ["aud_b"],
                                            old_signatures["image"]: list(GOOD_IMAGES)}
    # the next full run recomputes exactly the rows of older code
    again = extract_features(root, out, ExtractConfig(workers=1, **QUIET))
    assert (again.computed, again.reused) == (len(GOOD) - 1, 1)
    assert read_features(out).attrs["provenance"]["row_signatures"] == {}


def test_checkpoint_rows_of_another_modality_survive_a_run_that_does_not_compute_it(dataset, tmp_path):
    root, _ = dataset
    out = tmp_path / "features.parquet"
    extract_features(root, out, ExtractConfig(workers=1, modality="audio", **QUIET))
    audio = pd.read_parquet(out)
    out.rename(out.with_name(out.name + CHECKPOINT_SUFFIX))  # an audio run killed after its checkpoint
    images = extract_features(root, out, ExtractConfig(workers=1, modality="image", **QUIET))
    assert images.kept == len(GOOD_AUDIO)
    assert set(pd.read_parquet(out)["id"]) == set(GOOD)
    resumed = extract_features(root, out, ExtractConfig(workers=1, modality="audio", **QUIET))
    assert (resumed.reused, resumed.computed) == (len(GOOD_AUDIO), 0)
    table = pd.read_parquet(out)
    pdt.assert_frame_equal(table[table["modality"] == "audio"][audio.columns].reset_index(drop=True), audio)
