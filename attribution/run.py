"""Attribution from files: a checkpoint and a prepared dataset in, a report out (``resonance attribute
report``, and the demo's report of its probe model).

Every check runs before anything is written: a checkpoint from another version of resonance (another
checkpoint format or taxonomy, or weights that do not fit this version's model), a dataset without the
handcrafted descriptors, an emotion with no items -- each is a :class:`~resonance.errors.ParameterError`
naming the fix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from resonance.errors import ParameterError


def load_for_attribution(checkpoint: str | Path) -> tuple[Any, dict[str, Any]]:
    """The model (eval mode) and checkpoint; another version's checkpoint is a one-line error."""
    from resonance.train import load_model

    try:
        return load_model(checkpoint)
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise ParameterError(f"{checkpoint} does not fit this version of resonance's model ({first}); it was "
                             "written by another version: retrain with this version, or use the version that "
                             "wrote it") from None


def _descriptor_transform(model: Any, dataset: Any, data: str | Path, features: str | Path | None
                          ) -> tuple[dict[str, list[str]], Callable[[dict[str, Any]], dict[str, Any]] | None]:
    """Descriptor names per modality and, for towers that read none, a transform attaching them from the
    features table (the surrogates and regressions need them whatever the towers)."""
    from attribution.encode import has_descriptor_inputs
    from attribution.ig import descriptor_tower
    from resonance.evaluate.protocol import find_features, read_descriptor_tables

    names: dict[str, list[str]] = {}
    lookup: dict[str, Any] = {}
    missing = [m for m in ("image", "audio") if not has_descriptor_inputs(model, m)]
    for m in ("image", "audio"):
        if m not in missing:
            names[m] = list(descriptor_tower(model, m).names)
    if not missing:
        return names, None
    path = find_features(data, features)
    fix = f"run `resonance features extract {data}` first (or pass --features)"
    if path is None:
        raise ParameterError(f"{data} has no descriptors (no features table): {fix}")
    tables, _ = read_descriptor_tables(path, set(dataset.frame["id"].astype(str)))
    for m in missing:
        if m not in tables:
            raise ParameterError(f"the features table {path} has no {m} descriptors for this split: {fix}")
        frame = tables[m]
        absent = set(dataset.frame.loc[dataset.frame["modality"] == m, "id"].astype(str)) - set(frame.index)
        if absent:
            raise ParameterError(f"the features table {path} lacks {len(absent)} {m} items (e.g. {sorted(absent)[0]}): "
                                 f"{fix}")
        names[m] = list(frame.columns)
        lookup[m] = frame

    def attach(item: dict[str, Any]) -> dict[str, Any]:
        m = item["modality"]
        if m not in lookup:
            return item
        values = lookup[m].loc[item["id"]].to_numpy(dtype=np.float32)
        return {**item, "descriptors": values, "mask": np.isfinite(values)}
    return names, attach


def _raw_image_loader(dataset: Any) -> Callable[[int], np.ndarray] | None:
    """Pixels of an image row when the dataset gives cached frozen-backbone features instead."""
    if not getattr(dataset.spec, "frozen", False):
        return None
    from resonance.train.inputs import image_array

    paths = dataset.frame["path"].astype(str).tolist()
    return lambda row: image_array(paths[row], dataset.spec.image).astype(np.float32) / np.float32(255.0)


def report_from_checkpoint(checkpoint: str | Path, data: str | Path, out: str | Path, *, split: str = "test",
                           features: str | Path | None = None, fold: int | None = None,
                           **kwargs: Any) -> dict[str, Any]:
    """:func:`attribution.report.attribution_report` of a checkpoint over one split of a prepared dataset.

    A checkpoint trained on a cross-validation fold is explained on that fold's splits (its test side:
    speakers it never trained on), as ``resonance evaluate`` scores it
    (:func:`resonance.evaluate.protocol.checkpoint_fold`); ``fold`` must then be that fold or None.
    """
    from attribution.report import attribution_report
    from resonance.data.manifest import read_manifest
    from resonance.evaluate.protocol import apply_fold, train_config_of
    from resonance.train.manifest_data import ManifestDataset

    model, ckpt = load_for_attribution(checkpoint)
    config = train_config_of(ckpt)
    if features is not None:
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, features=str(features)))
    try:
        frame = read_manifest(data)
        fold, info = apply_fold(frame, ckpt, config, fold, None, Path(checkpoint))
        dataset = ManifestDataset(data, split, config, evaluation=True, frame=info["frame"] if info else frame)
    except ParameterError as err:
        raise ParameterError(str(err).splitlines()[0]) from None
    if len(dataset) == 0:
        raise ParameterError(f"the {split!r} split of {data} has no items; choose another --split")
    names, transform = _descriptor_transform(model, dataset, data, features)
    where = f"fold {fold}'s {split} side ({info['note'].split(': ', 1)[1].split(';')[0]})" if info else \
        f"the manifest's {split} split"
    name = f"{Path(checkpoint).name} ({ckpt['config']['model'].get('name', '?')}, epoch {ckpt.get('epoch', '?')}), " \
           f"{where} of {data}"
    return attribution_report(model, dataset, out, names=names, transform=transform,
                              raw_image=_raw_image_loader(dataset), model_name=name, **kwargs)


#: The demo's report: small enough for seconds on a CPU (no sanity page; 3 emotions, see :func:`demo_report`).
DEMO_SETTINGS = {"n_pairs": 300, "n_steps": 16, "overlay_steps": 4, "overlay_max_steps": 4, "n_overlays": 1,
                 "max_items": 24, "chunk": 64, "n_sanity": 0}
DEMO_EMOTIONS = 3


def demo_report(checkpoint: str | Path, data: str | Path, out: str | Path, *, features: str | Path | None = None,
                log: Callable[[str], None] = print) -> Path:
    """The demo's attribution report of its probe model (:data:`DEMO_SETTINGS`), over the test split's
    :data:`DEMO_EMOTIONS` emotions with the most items in both modalities; returns ``out``."""
    import time

    from resonance.data.manifest import read_manifest

    start = time.perf_counter()
    frame = read_manifest(data)
    test = frame[frame["split"] == "test"]
    both = test.groupby("emotion")["modality"].nunique()
    counts = test[test["emotion"].isin(both[both == 2].index)]["emotion"].value_counts()
    emotions = sorted(counts.index[:DEMO_EMOTIONS].tolist())
    report = report_from_checkpoint(checkpoint, data, out, features=features, progress=False,
                                    emotions=emotions or None, **DEMO_SETTINGS)
    log(f"    attribution (demo limits: {DEMO_SETTINGS['n_steps']} IG steps on descriptors, "
        f"{DEMO_SETTINGS['overlay_steps']} on pixels/bins, {DEMO_SETTINGS['n_pairs']} surrogate pairs, "
        f"{len(report['emotions'])} emotions, no sanity page; {time.perf_counter() - start:.0f} s): "
        f"surrogate R2 {report['surrogate']['fidelity_r2']:.2f} -> {Path(out) / 'index.html'}")
    return Path(out)
