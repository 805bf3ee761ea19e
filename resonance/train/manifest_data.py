"""Training items from a prepared dataset: :class:`ManifestDataset`, and the train/val(/test) sets of
a run or of a cross-validation fold (:func:`build_manifest_datasets`).

Which items
-----------
Rows of the manifest (:func:`resonance.data.manifest.read_manifest`) in the requested splits, less
the ``unlabelled`` ones (an emotion is never invented) and those without a category distribution.
On the evaluation side (a dataset none of whose splits trains), an item whose ``same_stimulus_as``
twin lies in another split is left out: the same painting under two ids must not be trained on and
tested on; :attr:`ManifestDataset.notes` says how many were left out.

What an item is: the dict of :mod:`resonance.train.data` (``modality``, ``input``, ``p``, ``va``,
``descriptors``, ``mask``, plus ``id``), the input made by :mod:`resonance.train.inputs` and cached
by content hash. Descriptors come from the features table, aligned to the names the descriptor tower
expects (registry order by default), NaN kept and ``mask = isfinite``. :meth:`ManifestDataset.index`
and :meth:`ManifestDataset.descriptor_matrix` answer from the manifest and the table, without decoding
any media, so the sampler and the standardiser cost nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from resonance.data.emotion import CATEGORIES
from resonance.data.manifest import is_unlabelled, read_manifest
from resonance.errors import DatasetError, ParameterError
from resonance.train import inputs as _inputs
from resonance.train.inputs import AudioParams, ImageParams, InputCache, params_hash

P_COLUMNS = [f"p_{c}" for c in CATEGORIES]
MODALITIES = ("image", "audio")
_FEATURE_BATCH = 32


def _tower_needs_descriptors(tower: Any) -> bool:
    return tower is not None and tower.kind in ("descriptor", "hybrid")


def uses_frozen_features(model: Any, data: Any) -> bool:
    """Whether the image tower is a frozen, pretrained EfficientNet-Lite0 whose features can be cached."""
    if model is None or not data.cache_features:
        return False
    tower = model.image
    deep = tower.kind if tower.kind != "hybrid" else (tower.deep or "efficientnet")
    return deep == "efficientnet" and tower.frozen and tower.pretrained


@functools.lru_cache(maxsize=1)
def _weights_id() -> str:
    from resonance.models.towers.efficientnet import weights_path

    path = weights_path()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _frozen_backbone():
    """One frozen, pretrained EfficientNet-Lite0 tower per process (in eval mode), shared by the datasets."""
    from resonance.models.towers.image import EfficientNetTower

    return EfficientNetTower(frozen=True, pretrained=True, augment=False).eval()


def default_features_path(dataset: str | os.PathLike[str]) -> Path | None:
    """``features.parquet`` in the dataset folder, else beside it (where ``resonance demo`` writes it)."""
    folder = Path(dataset)
    folder = folder if folder.is_dir() else folder.parent
    for candidate in (folder / "features.parquet", folder.parent / "features.parquet"):
        if candidate.is_file():
            return candidate
    return None


@dataclass
class _Spec:
    """Everything an item's preprocessing depends on (picklable, for DataLoader workers)."""

    image: ImageParams
    audio: AudioParams
    frozen: bool
    cache_root: Path
    weights: str = ""
    descriptor_names: dict[str, tuple[str, ...]] = field(default_factory=dict)


class ManifestDataset(Dataset):
    """Items of a prepared dataset, for :func:`resonance.train.train`.

    Parameters
    ----------
    dataset : path-like
        A dataset folder (``resonance data prepare``) or its ``manifest.parquet``.
    splits : str or sequence of str
        The splits to take (``"train"``, ``["val"]`` ...).
    config : TrainConfig or DataConfig
        Preprocessing parameters (``config.data`` or the DataConfig itself); with a TrainConfig the
        model's towers also say which descriptors to load and whether frozen image features are used.
    assignment : mapping id -> split, optional
        Replaces the manifest's split (a cross-validation fold, :func:`resonance.train.folds.fold_splits`).
    evaluation : bool, optional
        Leave out items whose ``same_stimulus_as`` twin is in another split; default: True unless one
        of ``splits`` is a training split (``data.train_splits``).
    frame : pandas.DataFrame, optional
        The manifest, already read (saves reading it once per split).
    cache_dir : path-like, optional
        Overrides ``data.cache_dir``.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows taken, in item order.
    notes : list of str
        What was left out and why.
    cache : InputCache
    """

    def __init__(self, dataset: str | os.PathLike[str], splits: str | Sequence[str], config: Any, *,
                 assignment: Mapping[str, str] | pd.Series | None = None, evaluation: bool | None = None,
                 frame: pd.DataFrame | None = None, cache_dir: str | os.PathLike[str] | None = None) -> None:
        data = getattr(config, "data", config)
        model = getattr(config, "model", None)
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        if frame is None:
            frame = read_manifest(dataset)
        info = frame.attrs.get("manifest")
        sample_rate = int(info.sample_rate) if info is not None else 16_000
        self.dataset = Path(dataset)
        self.notes: list[str] = []
        frame = frame.copy()
        if assignment is not None:
            mapping = assignment if isinstance(assignment, Mapping) else assignment.to_dict()
            frame["split"] = frame["id"].map(mapping).fillna(frame["split"])
        if evaluation is None:
            evaluation = not set(splits) & set(data.train_splits)
        unlabelled = is_unlabelled(frame)
        if unlabelled.any():
            self.notes.append(f"{int(unlabelled.sum())} unlabelled items left out")
        frame = frame[~unlabelled]
        missing_p = [c for c in P_COLUMNS if c not in frame.columns]
        if missing_p:
            raise DatasetError(f"manifest {self.dataset} lacks the columns {missing_p[:3]}...; re-run `resonance "
                               "data prepare` with this version")
        no_label = frame[P_COLUMNS].isna().all(axis=1)
        if no_label.any():
            self.notes.append(f"{int(no_label.sum())} items without a category distribution left out")
        frame = frame[~no_label]
        split_of = dict(zip(frame["id"], frame["split"].astype(str), strict=True))
        rows = frame[frame["split"].astype(str).isin(splits)]
        if evaluation and "same_stimulus_as" in rows:
            def twin_elsewhere(row: pd.Series) -> bool:
                twins = [t for t in str(row["same_stimulus_as"] or "").split(";") if t]
                return any(t in split_of and split_of[t] != row["split"] for t in twins)

            leak = rows.apply(twin_elsewhere, axis=1) if len(rows) else pd.Series(dtype=bool)
            if leak.any():
                self.notes.append(f"{int(leak.sum())} {'/'.join(splits)} items left out: the same stimulus "
                                  f"(same_stimulus_as) is in another split, e.g. {rows.loc[leak, 'id'].iloc[0]}")
                rows = rows[~leak]
        self.frame = rows.reset_index(drop=True)
        self.splits = splits
        n_mels = data.resolved_n_mels if hasattr(data, "resolved_n_mels") else data.n_mels
        size = data.resolved_image_size if hasattr(data, "resolved_image_size") else data.image_size
        root = Path(cache_dir) if cache_dir is not None else (
            Path(data.cache_dir) if data.cache_dir else _inputs.default_cache_dir(
                getattr(config, "run_dir", None)))
        frozen = uses_frozen_features(model, data)
        self.spec = _Spec(ImageParams(size), AudioParams(sample_rate, n_mels, data.n_fft, data.hop_length,
                                                         data.window_s, data.window_hop_s, data.long_clip_s),
                          frozen, root, _weights_id() if frozen else "")
        self.cache = InputCache(root)
        # a descriptor-only tower reads the features table alone: its items carry an empty input, so no
        # epoch decodes (or even reads from the cache) media that nothing consumes
        self.needs_input = {m: model is None or getattr(model, m).kind != "descriptor" for m in MODALITIES}
        self._backbone = None
        self._p = self.frame[P_COLUMNS].to_numpy(dtype=np.float64)
        self._p = np.nan_to_num(self._p, nan=0.0)
        self._p = self._p / np.clip(self._p.sum(1, keepdims=True), 1e-12, None)
        self._va = np.column_stack([pd.to_numeric(self.frame.get(c, pd.Series(np.nan, index=self.frame.index)),
                                                  errors="coerce").to_numpy(dtype=np.float64)
                                    for c in ("valence", "arousal")])
        self._modality = self.frame["modality"].astype(str).tolist()
        self._sha = self.frame["sha256"].astype(str).tolist()
        self._path = self.frame["path"].astype(str).tolist()
        self._desc: dict[int, np.ndarray] = {}
        self._load_descriptors(model, data)
        # what __getitem__ hands out, as tensors once (a step of a small model is otherwise spent here)
        self._ids = self.frame["id"].astype(str).tolist()
        self._p_t = torch.as_tensor(self._p, dtype=torch.float32)
        self._va_t = torch.as_tensor(self._va, dtype=torch.float32)
        self._pos = np.zeros(len(self.frame), dtype=np.int64)
        self._desc_t: dict[str, torch.Tensor] = {}
        for m, rows in self._rows_by_modality.items():
            self._pos[rows] = np.arange(len(rows))
            self._desc_t[m] = torch.from_numpy(np.ascontiguousarray(self._per_modality[m], dtype=np.float32))

    # -- descriptors ---------------------------------------------------------------------------------

    def _load_descriptors(self, model: Any, data: Any) -> None:
        from resonance.models.towers.descriptor import descriptor_names

        needed = [m for m in MODALITIES if model is not None and _tower_needs_descriptors(getattr(model, m))]
        self.descriptor_names: dict[str, tuple[str, ...]] = {}
        for m in MODALITIES:
            self.descriptor_names[m] = ((tuple(getattr(model, m).descriptors) or descriptor_names(m))
                                        if m in needed else ())
        self.spec.descriptor_names = dict(self.descriptor_names)
        self._descriptors = np.zeros((len(self.frame), 0), dtype=np.float32)
        self._rows_by_modality = {m: np.flatnonzero(np.asarray(self._modality) == m) for m in MODALITIES}
        self._per_modality: dict[str, np.ndarray] = {}
        for m in MODALITIES:
            names = self.descriptor_names[m]
            rows = self._rows_by_modality[m]
            if not names:
                self._per_modality[m] = np.zeros((len(rows), 0), dtype=np.float32)
                continue
            self._per_modality[m] = self._read_table(data, m, names, rows)

    def _read_table(self, data: Any, modality: str, names: tuple[str, ...], rows: np.ndarray) -> np.ndarray:
        from handcrafted.table import read_features

        path = Path(data.features) if data.features else default_features_path(self.dataset)
        if path is None:
            raise DatasetError(f"the {modality} descriptor tower needs the handcrafted descriptors: run "
                               f"`resonance features extract {self.dataset} --out FEATURES.parquet` and set "
                               "data.features (or use a deep tower)")
        table = read_features(path, modality=modality)
        lacking = [n for n in names if n not in table.columns]
        if lacking:
            raise DatasetError(f"features table {path} lacks {len(lacking)} {modality} descriptors the tower "
                               f"expects (e.g. {lacking[:3]}); re-run `resonance features extract` with every "
                               "group, or list the available ones in model.{modality}.descriptors")
        table = table.set_index("id")
        ids = self.frame["id"].iloc[rows]
        absent = ids[~ids.isin(table.index)]
        stale = ids[ids.isin(table.index)]
        stale = stale[table.loc[stale, "sha256"].astype(str).to_numpy() != self.frame["sha256"].iloc[rows][
            ids.isin(table.index).to_numpy()].astype(str).to_numpy()]
        if len(absent) or len(stale):
            raise DatasetError(f"features table {path} is out of date for {len(absent) + len(stale)} {modality} items "
                               f"(e.g. {(list(absent) + list(stale))[0]}): re-run `resonance features extract` on "
                               "this dataset")
        return table.loc[ids, list(names)].to_numpy(dtype=np.float32)

    def descriptor_matrix(self, modality: str) -> np.ndarray:
        """(N_modality, D) descriptors of one modality's items, in item order (NaN where undefined)."""
        if modality not in MODALITIES:
            raise ParameterError(f"modality must be one of {MODALITIES}, got {modality!r}")
        return self._per_modality[modality].astype(np.float64)

    def index(self) -> dict[str, Any]:
        """Modality and soft label of every item, without loading any input."""
        return {"modality": list(self._modality), "p": self._p.copy()}

    def modalities(self) -> set[str]:
        return set(self._modality)

    # -- inputs --------------------------------------------------------------------------------------

    def _image_pixels(self, i: int) -> np.ndarray:
        params = self.spec.image
        return self.cache.get("image", self._sha[i], params_hash("image", params),
                              lambda: _inputs.image_array(self._path[i], params))

    def _feature_key(self) -> str:
        return params_hash("efficientnet_lite0", {"weights": self.spec.weights, **vars(self.spec.image)})

    def _backbone_model(self):
        if self._backbone is None:
            self._backbone = _frozen_backbone()
        return self._backbone

    def _embed(self, pixels: list[np.ndarray]) -> np.ndarray:
        x = torch.as_tensor(np.stack(pixels), dtype=torch.float32) / 255.0
        with torch.no_grad():
            return self._backbone_model().embed_backbone(x).numpy().astype(np.float32)

    def _image_features(self, i: int) -> np.ndarray:
        return self.cache.get("efficientnet_lite0", self._sha[i], self._feature_key(),
                              lambda: self._embed([self._image_pixels(i)])[0])

    def warm(self, batch_size: int = _FEATURE_BATCH) -> dict[str, int]:
        """Preprocess every item now (frozen image features in batches); returns ``{"computed", "cached"}``."""
        hits, misses = self.cache.hits, self.cache.misses
        if self.spec.frozen:
            key = self._feature_key()
            todo = [i for i in self._rows_by_modality["image"]
                    if self.cache.load("efficientnet_lite0", self._sha[i], key) is None]
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                features = self._embed([self._image_pixels(i) for i in chunk])
                for i, f in zip(chunk, features, strict=True):
                    self.cache.store("efficientnet_lite0", self._sha[i], key, f)
                    self.cache.misses += 1
        for i in range(len(self)):
            self._input(i)
        return {"computed": self.cache.misses - misses, "cached": self.cache.hits - hits}

    def _input(self, i: int) -> torch.Tensor:
        if not self.needs_input[self._modality[i]]:
            return torch.zeros(0)
        if self._modality[i] == "image":
            if self.spec.frozen:
                return torch.from_numpy(np.asarray(self._image_features(i), dtype=np.float32))
            return torch.from_numpy(self._image_pixels(i).astype(np.float32) / np.float32(255.0))
        params = self.spec.audio
        mel = self.cache.get("logmel", self._sha[i], params_hash("logmel", params),
                             lambda: _inputs.audio_array(self._path[i], params))
        x = torch.from_numpy(np.asarray(mel, dtype=np.float32))
        return x[0] if x.shape[0] == 1 else x

    # -- Dataset -------------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_backbone"] = None  # DataLoader workers rebuild it if they ever need it
        return state

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        m = self._modality[i]
        desc = self._desc_t[m][int(self._pos[i])].clone()
        return {"modality": m, "input": self._input(i), "p": self._p_t[i].clone(), "va": self._va_t[i].clone(),
                "descriptors": desc, "mask": torch.isfinite(desc), "id": self._ids[i]}

    def __repr__(self) -> str:
        counts = {m: len(r) for m, r in self._rows_by_modality.items()}
        return f"ManifestDataset({self.dataset}, splits={list(self.splits)}, {counts})"


# -- runs and folds ---------------------------------------------------------------------------------------


@dataclass
class RunData:
    """The datasets of one run (one fold, or the manifest split)."""

    train: ManifestDataset
    val: ManifestDataset | None
    test: ManifestDataset | None
    fold: int | None = None
    notes: list[str] = field(default_factory=list)


def fold_plan(config: Any, frame: pd.DataFrame):
    """The :class:`~resonance.train.folds.FoldPlan` a config asks for, or None (the manifest split)."""
    from resonance.train.folds import default_folds, read_folds_file

    data = config.data
    if data.folds == "split":
        return None
    if data.folds:
        return read_folds_file(data.folds, known_groups=frame["group"].astype(str))
    plan = default_folds(frame, data.n_folds)
    return plan if len(plan) else None


def _check_modalities(train: ManifestDataset, dataset: Path, what: str) -> None:
    present = train.modalities()
    missing = [m for m in MODALITIES if m not in present]
    if missing:
        other = "paintings (e.g. dvisa=PATH)" if missing == ["image"] else "sounds (e.g. ravdess=PATH)"
        if len(missing) == 2:
            raise DatasetError(f"dataset {dataset} has no labelled {what} items; re-run `resonance data prepare` "
                               "with paintings and sounds")
        raise DatasetError(f"dataset {dataset} has no {missing[0]} items in {what}: the dual encoder needs paintings "
                           f"and sounds; re-run `resonance data prepare` adding a source of {other}")


def build_manifest_datasets(config: Any, fold: int | None = None, *, frame: pd.DataFrame | None = None,
                            with_test: bool = False) -> RunData:
    """Train, validation (and test) sets of a manifest config, for the manifest split or fold ``fold``."""
    from resonance.train.folds import fold_splits

    data = config.data
    if not data.dataset:
        raise ParameterError("data.dataset is empty; set it to the folder `resonance data prepare` wrote")
    if frame is None:
        frame = read_manifest(data.dataset)
    assignment = None
    notes: list[str] = []
    train_splits, val_split, test_split = tuple(data.train_splits), data.val_split, "test"
    if fold is not None:
        plan = fold_plan(config, frame)
        if plan is None:
            raise ParameterError(f"data.fold={fold} but no folds apply to {data.dataset} (no speech corpus, or "
                                 "data.folds='split'); set data.fold=-1 or give --folds FILE")
        if not 0 <= fold < len(plan):
            raise ParameterError(f"data.fold must be in [0, {len(plan) - 1}] (the plan has {len(plan)} folds), "
                                 f"got {fold}")
        notes.extend(plan.notes)
        assignment = pd.Series(fold_splits(frame, plan, plan.folds[fold]).to_numpy(), index=frame["id"])
        train_splits, val_split = ("train",), "val"
    kw = dict(assignment=assignment, frame=frame)
    train = ManifestDataset(data.dataset, train_splits, config, evaluation=False, **kw)
    _check_modalities(train, Path(data.dataset), f"split {'+'.join(train_splits)}")
    val = ManifestDataset(data.dataset, val_split, config, evaluation=True, **kw) if val_split else None
    if val is not None and len(val) == 0:
        notes.append(f"the {val_split} split is empty: no validation")
        val = None
    test = ManifestDataset(data.dataset, test_split, config, evaluation=True, **kw) if with_test else None
    if test is not None and len(test) == 0:
        test = None
    for part in (train, val, test):
        if part is not None:
            notes.extend(part.notes)
            if part.spec.frozen:
                part.warm()
    return RunData(train, val, test, fold, notes)


def manifest_runs(config: Any, frame: pd.DataFrame | None = None) -> list[int | None]:
    """The folds a config runs: ``[None]`` (the manifest split), every fold, or ``data.fold`` alone."""
    if frame is None:
        frame = read_manifest(config.data.dataset)
    plan = fold_plan(config, frame)
    if plan is None:
        if config.data.fold >= 0:
            raise ParameterError(f"data.fold={config.data.fold} but no folds apply to {config.data.dataset}; "
                                 "use data.fold=-1 or --folds FILE")
        return [None]
    return [config.data.fold] if config.data.fold >= 0 else list(range(len(plan)))


# -- running a config -------------------------------------------------------------------------------------


@dataclass
class FoldResult:
    """One run of :func:`run_manifest`: where it went and what it measured on its test side."""

    fold: int | None
    run_dir: Path
    steps: int
    best_metric: float | None
    metrics: dict[str, float]
    notes: list[str]


@torch.no_grad()
def test_metrics(model: Any, dataset: Dataset, config: Any) -> dict[str, float]:
    """Per modality: category accuracy (WA) and mean per-class recall (UA) of the category head against the
    top category of the soft label, on ``dataset``; plus the loop's validation metrics when both
    modalities are present (image->sound P@1, congruence gap, loss)."""
    from resonance.models import DualEncoderLoss
    from resonance.train.data import collate, move_batch
    from resonance.train.loop import resolve_device, validate

    device = resolve_device(config.device)
    model = model.to(device).eval()
    index = dataset.index() if hasattr(dataset, "index") else None
    modalities = index["modality"] if index is not None else [dataset[i]["modality"] for i in range(len(dataset))]
    truth = np.asarray(index["p"]).argmax(1) if index is not None else None
    metrics: dict[str, float] = {}
    for m in MODALITIES:
        ids = [i for i, mm in enumerate(modalities) if mm == m]
        if not ids:
            continue
        predictions = []
        for start in range(0, len(ids), config.batch_size):
            part = move_batch(collate([dataset[i] for i in ids[start:start + config.batch_size]]), device)[m]
            z = model.encode(m, part)
            predictions.append(model.heads(z)["category_logits"].argmax(1).cpu().numpy())
        pred = np.concatenate(predictions)
        true = truth[ids]
        metrics[f"test_{m}_wa"] = float((pred == true).mean())
        metrics[f"test_{m}_ua"] = float(np.mean([(pred[true == c] == c).mean() for c in np.unique(true)]))
        metrics[f"test_{m}_n"] = float(len(ids))
    if {"image", "audio"} <= set(modalities):
        val = validate(model, DualEncoderLoss(config.loss), dataset, config, device)
        metrics.update({k.replace("val_", "test_", 1): v for k, v in val.items()})
    return metrics


def summarise(results: Sequence[FoldResult]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof=1; 0 for one run) of every metric over the runs."""
    names = sorted({k for r in results for k in r.metrics})
    out = {}
    for name in names:
        values = np.array([r.metrics[name] for r in results if name in r.metrics], dtype=np.float64)
        out[name] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                     "n": float(len(values))}
    return out


#: Written into a fold's run folder when it has finished (its test metrics): a re-run skips that fold.
RESULT_FILE = "result.json"


def _comparable(config_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config_dict.items() if k not in ("resume", "progress")}


def _finished(run_dir: Path, run_config: Any) -> FoldResult | None:
    """The result a previous run of the same config wrote for this fold, or None (none, or another config's:
    that fold trains again, e.g. ``--set epochs=20 --resume latest`` continues it)."""
    import json

    from resonance.train.config import to_dict

    path = run_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # written atomically, so only a foreign file: train the fold again
        return None
    if _comparable(saved.get("config", {})) != _comparable(to_dict(run_config)):
        return None
    return FoldResult(saved["fold"], run_dir, int(saved["steps"]), saved["best_metric"],
                      {k: float(v) for k, v in saved["metrics"].items()}, list(saved["notes"]))


def _write_summary(out: Path, results: Sequence[FoldResult]) -> dict[str, dict[str, float]]:
    import json

    from resonance.io.atomic import write_text_atomic

    summary = summarise(results)
    out.mkdir(parents=True, exist_ok=True)
    rows = ["fold,run_dir,steps,best_metric," + ",".join(summary)]
    for r in results:
        rows.append(",".join([str(r.fold if r.fold is not None else ""), str(r.run_dir), str(r.steps),
                              "" if r.best_metric is None else f"{r.best_metric:.6g}",
                              *[f"{r.metrics[k]:.6g}" if k in r.metrics else "" for k in summary]]))
    write_text_atomic(out / "folds.csv", "\n".join(rows) + "\n")
    write_text_atomic(out / "summary.json", json.dumps({"folds": [r.fold for r in results], "metrics": summary},
                                                       indent=2) + "\n")
    return summary


def run_manifest(config: Any, log=print) -> tuple[list[FoldResult], dict[str, dict[str, float]]]:
    """Train a manifest config on the manifest split, or on every fold (``run_dir/fold_K``), measure each
    run's test side (:func:`test_metrics`) and write ``summary.json`` and ``folds.csv`` into ``run_dir``.

    Each fold's result is written atomically into its folder (``fold_K/result.json``, with the config) as
    soon as the fold finishes, and the summary is rewritten after every fold, so a run stopped after three
    folds keeps them; run again with the same config, it skips the finished folds and trains the rest
    (``--resume latest`` also resumes the interrupted fold from its last checkpoint).
    """
    import dataclasses
    import json

    from resonance.io.atomic import write_text_atomic
    from resonance.train.checkpoint import load_checkpoint
    from resonance.train.config import to_dict
    from resonance.train.loop import train

    frame = read_manifest(config.data.dataset)
    runs = manifest_runs(config, frame)
    results: list[FoldResult] = []
    for fold in runs:
        run_dir = Path(config.run_dir) if fold is None else Path(config.run_dir) / f"fold_{fold}"
        # every checkpoint records the version of the data it was trained on (resume checks it) and the
        # fold it trained on (`resonance evaluate` scores that fold by default)
        run_config = dataclasses.replace(config, run_dir=str(run_dir),
                                         data=dataclasses.replace(config.data, fold=-1 if fold is None else fold),
                                         data_version=config.data_version or frame.attrs["manifest"].data_version or "")
        label = "manifest split" if fold is None else f"fold {fold} ({run_dir})"
        done = _finished(run_dir, run_config)
        if done is not None:
            log(f"{label}: finished already ({run_dir / RESULT_FILE}), skipped")
            results.append(done)
            _write_summary(Path(config.run_dir), results)
            continue
        data = build_manifest_datasets(run_config, fold, frame=frame, with_test=True)
        sizes = {name: len(part) for name, part in (("train", data.train), ("val", data.val), ("test", data.test))
                 if part is not None}
        log(f"{label}: {sizes}" + "".join(f"; {n}" for n in data.notes))
        result = train(run_config, data.train, data.val)
        model, best = result.model, run_dir / "checkpoints" / "best.pt"
        if result.best_epoch is not None and best.is_file():  # test the weights validation chose
            model.load_state_dict(load_checkpoint(best)["model"])
            data.notes.append(f"tested the best epoch's weights ({best.name}, epoch {result.best_epoch})")
        else:
            data.notes.append("tested the last weights (no validation)")
        metrics = test_metrics(model, data.test, run_config) if data.test is not None else {}
        done = FoldResult(fold, run_dir, result.steps, result.best_metric, metrics, data.notes)
        write_text_atomic(run_dir / RESULT_FILE, json.dumps(
            {"fold": fold, "steps": done.steps, "best_metric": done.best_metric, "metrics": metrics,
             "notes": done.notes, "config": to_dict(run_config)}, indent=2) + "\n")
        results.append(done)
        _write_summary(Path(config.run_dir), results)
    return results, _write_summary(Path(config.run_dir), results)
