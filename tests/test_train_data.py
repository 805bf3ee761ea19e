"""The manifest data pipeline of training: items, content-hash cache, twins, descriptors, folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from resonance.data.manifest import read_manifest, write_manifest  # noqa: E402
from resonance.errors import DatasetError, ParameterError  # noqa: E402
from resonance.train import inputs  # noqa: E402
from resonance.train.config import load_config  # noqa: E402
from resonance.train.data import collate  # noqa: E402
from resonance.train.folds import default_folds, fold_splits, read_folds_file  # noqa: E402
from resonance.train.inputs import AudioParams, logmel_windows  # noqa: E402
from resonance.train.manifest_data import ManifestDataset, build_manifest_datasets  # noqa: E402


def tiny_probes(root):
    """32 probe stimuli (24 images of 32 px, 8 sounds of 1 s) prepared as a dataset (a few seconds)."""
    from resonance.data.prepare import PrepareConfig, prepare_dataset
    from resonance.data.probes import ProbeConfig, generate_probes
    from resonance.data.probes.grid import TEXTURES

    config = ProbeConfig(image_size=32, hues_deg=(0.0, 120.0, 240.0), saturations=(0.3, 0.7),
                         brightnesses=(0.3, 0.7), textures=TEXTURES[:2], tempos_bpm=(72.0, 144.0),
                         loudness_dbfs=(-24.0,), registers_midi=(60,), timbre_brightness=(0.0, 1.0),
                         include_tones=False, duration_s=1.0)
    generate_probes(root / "probes", config)
    prepare_dataset([f"probes={root / 'probes'}"], root / "dataset", PrepareConfig(seed=0, workers=1))
    return root / "dataset"


@pytest.fixture(scope="module")
def probe_dataset(tmp_path_factory):
    return tiny_probes(tmp_path_factory.mktemp("probes"))


def manifest_config(dataset, cache, *extra):
    return load_config(None, ['data.kind="manifest"', f'data.dataset="{dataset}"', f'data.cache_dir="{cache}"',
                              'model.name="tiny"', "data.image_size=32", "data.n_mels=32", "data.window_s=1.0",
                              "data.window_hop_s=0.5", 'data.folds="split"', *extra])


class CountingLoaders:
    def __init__(self, monkeypatch):
        self.images = self.audio = 0
        real_image, real_audio = inputs.load_image, inputs.load_audio

        def image(*a, **k):
            self.images += 1
            return real_image(*a, **k)

        def audio(*a, **k):
            self.audio += 1
            return real_audio(*a, **k)

        monkeypatch.setattr(inputs, "load_image", image)
        monkeypatch.setattr(inputs, "load_audio", audio)


def test_items_have_the_contract_shapes_and_dtypes(probe_dataset, tmp_path):
    config = manifest_config(probe_dataset, tmp_path / "cache")
    train = ManifestDataset(probe_dataset, "train", config)
    frame = read_manifest(probe_dataset)
    expected = frame[frame["split"] == "train"].groupby("modality").size().to_dict()
    assert expected["image"] >= 8 and expected["audio"] >= 2
    assert {m: (np.array(train.index()["modality"]) == m).sum() for m in ("image", "audio")} == expected
    for i in range(len(train)):
        item = train[i]
        x = item["input"]
        assert x.dtype == torch.float32 and item["p"].shape == (12,) and item["va"].shape == (2,)
        assert abs(float(item["p"].sum()) - 1) < 1e-5
        if item["modality"] == "image":
            assert x.shape == (3, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
        else:  # 1 s clips, one window of 1 s at 16 kHz / hop 256
            assert x.shape == (1, 32, 62) and float(x.max()) < 20 and float(x.min()) >= inputs.DB_FLOOR
    batch = collate([train[i] for i in range(len(train))])
    assert batch["image"]["input"].shape == (expected["image"], 3, 32, 32)
    assert batch["audio"]["input"].shape == (expected["audio"], 1, 32, 62)
    assert train.index()["p"].shape == (expected["image"] + expected["audio"], 12)


def test_second_epoch_decodes_nothing(probe_dataset, tmp_path, monkeypatch):
    counts = CountingLoaders(monkeypatch)
    config = manifest_config(probe_dataset, tmp_path / "cache")
    train = ManifestDataset(probe_dataset, "train", config)
    first = [train[i]["input"] for i in range(len(train))]
    # one decode per distinct content (identical bytes under two ids are decoded once)
    unique = train.frame.groupby("modality")["sha256"].nunique().to_dict()
    assert (counts.images, counts.audio) == (unique["image"], unique["audio"])
    assert unique["image"] > 8 and unique["audio"] >= 2
    again = ManifestDataset(probe_dataset, "train", config)  # a new process would find the same cache
    second = [again[i]["input"] for i in range(len(again))]
    assert (counts.images, counts.audio) == (unique["image"], unique["audio"]), "epoch 2 decoded a file again"
    assert again.cache.hits == len(again) and again.cache.misses == 0
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)
    # another preprocessing parameter is another key: the sounds are decoded again, once each
    other = ManifestDataset(probe_dataset, "train", manifest_config(probe_dataset, tmp_path / "cache",
                                                                     "data.n_mels=48"))
    [other[i] for i in range(len(other))]
    assert (counts.images, counts.audio) == (unique["image"], 2 * unique["audio"])


def test_cache_entry_that_is_damaged_is_recomputed(probe_dataset, tmp_path):
    config = manifest_config(probe_dataset, tmp_path / "cache")
    train = ManifestDataset(probe_dataset, "train", config)
    x = train[0]["input"]
    files = sorted((tmp_path / "cache").rglob("*.npy"))
    assert files and not list((tmp_path / "cache").rglob("*.tmp"))
    for f in files:
        f.write_bytes(b"\x93NUMPY garbage")
    assert torch.equal(ManifestDataset(probe_dataset, "train", config)[0]["input"], x)


def test_long_clips_become_windows_short_ones_one_window():
    params = AudioParams(sample_rate=16000, n_mels=32, window_s=4.0, window_hop_s=2.0, long_clip_s=10.0)
    t = params.frames
    rng = np.random.default_rng(0)
    long = logmel_windows(rng.normal(0, 0.1, 40 * 16000).astype(np.float32), params)
    assert long.shape == (19, 1, 32, t)  # starts 0, 2, ..., 36 s
    odd = logmel_windows(rng.normal(0, 0.1, int(41 * 16000)).astype(np.float32), params)
    assert odd.shape[0] == 20  # the last window ends with the clip
    short = logmel_windows(rng.normal(0, 0.1, 16000).astype(np.float32), params)
    assert short.shape == (1, 1, 32, t) and np.all(short[0, 0, :, t // 4 + 2:] == inputs.DB_FLOOR)
    medium = logmel_windows(rng.normal(0, 0.1, 6 * 16000).astype(np.float32), params)
    assert medium.shape == (1, 1, 32, t) and medium.min() > inputs.DB_FLOOR  # centre 4 s of 6 s, no padding
    batch = collate([{"modality": "audio", "input": torch.from_numpy(w if w.shape[0] > 1 else w[0]),
                      "p": torch.zeros(12), "va": torch.zeros(2)} for w in (long, short)])
    assert batch["audio"]["input"].shape == (2, 19, 1, 32, t)
    assert batch["audio"]["window_mask"].sum(1).tolist() == [19, 1]


def _rewrite(dataset, dest, edit):
    frame = read_manifest(dataset, resolve=False)
    info = frame.attrs["manifest"]
    frame = edit(frame.copy())
    frame.attrs = {}
    dest.mkdir()
    write_manifest(frame, dest / "manifest.parquet", dict(info.provenance))
    return dest


def test_unlabelled_and_cross_split_twins_are_left_out(probe_dataset, tmp_path):
    frame = read_manifest(probe_dataset)
    train_img = frame[(frame["split"] == "train") & (frame["modality"] == "image")]["id"].iloc[0]
    val_img = frame[(frame["split"] == "val")]["id"].iloc[0]
    unl = frame[(frame["split"] == "train") & (frame["modality"] == "audio")]["id"].iloc[0]
    n_train, n_val = (frame["split"] == "train").sum(), (frame["split"] == "val").sum()

    def edit(f):
        f.loc[f["id"] == val_img, "same_stimulus_as"] = train_img
        f.loc[f["id"] == train_img, "same_stimulus_as"] = val_img
        f.loc[f["id"] == unl, "flags"] = "synthetic;unlabelled"
        return f

    edited = _rewrite(probe_dataset, tmp_path / "edited", edit)
    # the edited copy points at the original probe files (absolute root of the probes)
    config = manifest_config(edited, tmp_path / "cache")
    run = build_manifest_datasets(config)
    assert val_img not in set(run.val.frame["id"]) and len(run.val) == n_val - 1
    assert train_img in set(run.train.frame["id"])  # the training side keeps it
    assert unl not in set(run.train.frame["id"]) and len(run.train) == n_train - 1
    assert any("same_stimulus_as" in n for n in run.notes) and any("unlabelled" in n for n in run.notes)


def test_dataset_without_sounds_names_the_fix(probe_dataset, tmp_path):
    edited = _rewrite(probe_dataset, tmp_path / "images_only", lambda f: f[f["modality"] == "image"])
    with pytest.raises(DatasetError, match=r"no audio items.*resonance data prepare"):
        build_manifest_datasets(manifest_config(edited, tmp_path / "cache"))


def test_descriptors_aligned_to_the_tower_names_nan_kept(probe_dataset, tmp_path):
    from handcrafted.table import frame_from_rows, write_table
    from resonance.models.towers.descriptor import descriptor_names

    frame = read_manifest(probe_dataset)
    names = {m: list(descriptor_names(m)) for m in ("image", "audio")}
    rng = np.random.default_rng(1)
    rows, truth = [], {}
    for _, r in frame.iterrows():
        values = rng.normal(size=len(names[r["modality"]]))
        values[0] = np.nan
        truth[r["id"]] = values
        rows.append({"id": r["id"], "modality": r["modality"], "sha256": r["sha256"],
                     **dict(zip(names[r["modality"]], values, strict=True))})
    columns = names["audio"][::-1] + names["image"][::-1]  # the table's order is not the tower's
    table = tmp_path / "features.parquet"
    write_table(frame_from_rows(rows, columns), table, {"descriptors_by_modality": names})
    config = manifest_config(probe_dataset, tmp_path / "cache", 'model.image.kind="descriptor"',
                             'model.audio.kind="hybrid"', 'model.audio.deep="audio_cnn"', f'data.features="{table}"')
    train = ManifestDataset(probe_dataset, "train", config)
    for m in ("image", "audio"):
        matrix = train.descriptor_matrix(m)
        ids = train.frame.loc[train.frame["modality"] == m, "id"]
        expected = np.stack([truth[i] for i in ids])
        np.testing.assert_allclose(matrix, expected.astype(np.float32), equal_nan=True)
        assert matrix.shape == (len(ids), len(names[m])) and np.isnan(matrix[:, 0]).all()
    item = train[0]
    assert bool(item["mask"][0]) is False and bool(item["mask"][1:].all())
    # a stale row (other bytes) is refused with the fix
    rows[0]["sha256"] = "0" * 64
    write_table(frame_from_rows(rows, columns), table, {"descriptors_by_modality": names})
    with pytest.raises(DatasetError, match="out of date.*features extract"):
        ManifestDataset(probe_dataset, ["train", "val", "test"], config)


def ravdess_like(n_actors=24, per_actor=3):
    rows = []
    for a in range(1, n_actors + 1):
        for k in range(per_actor):
            rows.append({"id": f"ravdess:{a:02d}-{k}", "modality": "audio", "corpus": "ravdess",
                         "group": f"ravdess:Actor_{a:02d}", "split": "train"})
    for k in range(6):
        rows.append({"id": f"dvisa:{k}", "modality": "image", "corpus": "dvisa", "group": f"artist{k}",
                     "split": ("train", "val", "test")[k % 3]})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_default_folds_are_six_actor_disjoint_folds_of_four():
    frame = ravdess_like()
    plan = default_folds(frame)
    assert len(plan) == 6
    tested = [sorted(f.test_groups) for f in plan.folds]
    assert all(len(t) == 4 for t in tested)
    assert sorted(g for t in tested for g in t) == sorted(frame.loc[frame.modality == "audio", "group"].unique())
    assert tested[0] == [f"ravdess:Actor_{a:02d}" for a in (1, 2, 3, 4)]
    assert default_folds(frame.iloc[::-1]).folds == plan.folds  # deterministic, whatever the row order
    for fold in plan.folds:
        split = fold_splits(frame, plan, fold)
        groups = {s: set(frame.loc[split == s, "group"]) for s in ("train", "val", "test")}
        assert not groups["train"] & groups["val"] and not groups["train"] & groups["test"]
        assert not groups["val"] & groups["test"]
        audio = frame.modality == "audio"
        assert len(set(frame.loc[audio & (split == "train"), "group"])) == 16
        assert len(set(frame.loc[audio & (split == "val"), "group"])) == 4
        # paintings keep the manifest split in every fold
        assert (split[~audio] == frame.loc[~audio, "split"]).all()


def test_folds_file(tmp_path):
    frame = ravdess_like(n_actors=6, per_actor=2)
    path = tmp_path / "folds.csv"
    path.write_text("fold,group\n1,ravdess:Actor_01;ravdess:Actor_02\n2,ravdess:Actor_03\n2,ravdess:Actor_04\n"
                    "3,ravdess:Actor_05;ravdess:Actor_06\n")
    plan = read_folds_file(path, frame["group"])
    assert [sorted(f.test_groups) for f in plan.folds] == [
        ["ravdess:Actor_01", "ravdess:Actor_02"], ["ravdess:Actor_03", "ravdess:Actor_04"],
        ["ravdess:Actor_05", "ravdess:Actor_06"]]
    assert plan.folds[0].val_groups == plan.folds[1].test_groups
    path.write_text("fold,group\n1,ravdess:Actor_01\n2,ravdess:Actor_02\n")
    assert all(not f.val_groups for f in read_folds_file(path).folds)  # two folds: the other one trains
    path.write_text("fold,group\n1,ravdess:Actor_01\n2,ravdess:Actor_99\n")
    with pytest.raises(DatasetError, match="Actor_99"):
        read_folds_file(path, frame["group"])
    path.write_text("fold,group\n1,ravdess:Actor_01\n2,ravdess:Actor_01\n")
    with pytest.raises(DatasetError, match="tested in folds"):
        read_folds_file(path)
    path.write_text("fold,speaker\n1,a\n")
    with pytest.raises(DatasetError, match="columns fold and group"):
        read_folds_file(path)


def test_speech_corpus_with_few_speakers_is_not_folded():
    frame = pd.DataFrame({"id": ["tess:a", "tess:b"], "modality": "audio", "corpus": "tess",
                          "group": ["tess:OAF", "tess:YAF"], "split": ["train", "test"]})
    plan = default_folds(frame)
    assert len(plan) == 0 and "keeps the manifest's split" in plan.notes[0]
    with pytest.raises(ParameterError):
        default_folds(frame, n_folds=1)


def test_frozen_image_tower_gets_cached_backbone_features(probe_dataset, tmp_path, monkeypatch):
    from resonance.models.towers.image import EfficientNetTower

    counts = CountingLoaders(monkeypatch)
    config = manifest_config(probe_dataset, tmp_path / "cache", 'model.image.kind="efficientnet"')
    run = build_manifest_datasets(config)  # warms the feature cache in batches
    images = [i for i, m in enumerate(run.train.index()["modality"]) if m == "image"]
    x = run.train[images[0]]["input"]
    assert x.shape == (1280,) and x.dtype == torch.float32
    decoded = counts.images
    assert decoded == run.train.frame.loc[run.train.frame.modality == "image", "sha256"].nunique() + \
        run.val.frame["sha256"].nunique()
    again = build_manifest_datasets(config)
    assert counts.images == decoded and again.train.cache.misses == 0  # nothing decoded, nothing embedded
    # the cached features are what the frozen tower computes from the same pixels
    pixels = ManifestDataset(probe_dataset, "train", manifest_config(probe_dataset, tmp_path / "cache"))
    tower = EfficientNetTower(frozen=True, pretrained=True, augment=False).eval()
    expected = tower.embed_backbone(pixels[images[0]]["input"][None])[0]
    torch.testing.assert_close(again.train[images[0]]["input"], expected, rtol=1e-4, atol=1e-4)
    assert tower({"input": again.train[images[0]]["input"][None]}).shape == (1, 1280)


def test_descriptor_towers_read_no_media(probe_dataset, tmp_path, monkeypatch):
    """A descriptor-only tower consumes the features table alone: its items carry an empty input and no
    epoch decodes or reads a file (the table is stubbed here; its reading is tested above)."""
    from resonance.train.data import collate

    counts = CountingLoaders(monkeypatch)
    monkeypatch.setattr(ManifestDataset, "_read_table",
                        lambda self, data, modality, names, rows: np.zeros((len(rows), len(names)), np.float32))
    config = manifest_config(probe_dataset, tmp_path / "cache", 'model.audio.kind="descriptor"')
    train = ManifestDataset(probe_dataset, "train", config)
    audio = [i for i, m in enumerate(train.index()["modality"]) if m == "audio"]
    images = [i for i, m in enumerate(train.index()["modality"]) if m == "image"]
    assert train.needs_input == {"image": True, "audio": False}
    batch = collate([train[i] for i in audio])
    assert batch["audio"]["input"].shape == (len(audio), 0) and batch["audio"]["descriptors"].shape[1] > 0
    assert counts.audio == 0 and train.cache.misses == 0
    assert train[images[0]]["input"].shape[0] == 3 and counts.images == 1  # the deep image tower still decodes
