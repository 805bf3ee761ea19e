"""What the loop consumes: torch datasets of item dicts, the collate that groups them by modality, and
a tiny synthetic task for tests.

An item is ``{"modality": "image" | "audio", "input": tensor, "p": (12,) soft label, "va": (2,),
"descriptors": (D,) float with NaN where undefined (D may be 0), "mask": (D,) bool}``. Image inputs
are (3, H, W) in [0, 1] (or cached (1280,) backbone features); audio inputs are log-mel dB (1, M, T),
or windows (W, 1, M, T) of a long clip. A dataset may expose ``index()`` -> ``{"modality": list,
"p": (N, 12) array}`` so the sampler need not load inputs; otherwise the items are read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from resonance.data.emotion import CATEGORIES, CATEGORY_INDEX, CATEGORY_VAD
from resonance.errors import ParameterError

LABEL_KEYS = ("p", "va")


def dataset_index(dataset: Dataset) -> dict[str, Any]:
    """Modality and soft label of every item (from ``dataset.index()`` when available)."""
    if hasattr(dataset, "index"):
        index = dataset.index()
        return {"modality": list(index["modality"]), "p": np.asarray(index["p"], dtype=np.float64)}
    items = [dataset[i] for i in range(len(dataset))]
    return {"modality": [it["modality"] for it in items],
            "p": np.stack([np.asarray(it["p"], dtype=np.float64) for it in items])}


def descriptor_matrix(dataset: Dataset, modality: str) -> np.ndarray:
    """(N_modality, D) descriptors of one modality's items (for fitting standardisation on train)."""
    if hasattr(dataset, "descriptor_matrix"):
        return np.asarray(dataset.descriptor_matrix(modality), dtype=np.float64)
    index = dataset_index(dataset)
    rows = [np.asarray(dataset[i]["descriptors"], dtype=np.float64)
            for i, m in enumerate(index["modality"]) if m == modality]
    return np.stack(rows) if rows else np.zeros((0, 0))


def _stack_inputs(inputs: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    if all(x.dim() == inputs[0].dim() for x in inputs) and inputs[0].dim() != 4:
        return {"input": torch.stack(inputs)}
    # windowed audio: pad to the longest clip, with a window mask
    windows = [x if x.dim() == 4 else x.unsqueeze(0) for x in inputs]
    w = max(x.shape[0] for x in windows)
    out = windows[0].new_zeros((len(windows), w, *windows[0].shape[1:]))
    mask = torch.zeros(len(windows), w, dtype=torch.bool)
    for i, x in enumerate(windows):
        out[i, : x.shape[0]] = x
        mask[i, : x.shape[0]] = True
    return {"input": out, "window_mask": mask}


def collate(items: Sequence[dict[str, Any]]) -> dict[str, dict[str, torch.Tensor]]:
    """Group items by modality: ``{"image": {"input", "p", "va", "descriptors", "mask"}, "audio": {...}}``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item["modality"], []).append(item)
    batch: dict[str, dict[str, torch.Tensor]] = {}
    for modality, group in groups.items():
        part = _stack_inputs([torch.as_tensor(it["input"], dtype=torch.float32) for it in group])
        for key in LABEL_KEYS:
            part[key] = torch.stack([torch.as_tensor(it[key], dtype=torch.float32) for it in group])
        part["descriptors"] = torch.stack([torch.as_tensor(it.get("descriptors", ()), dtype=torch.float32)
                                           for it in group])
        part["mask"] = torch.stack([torch.as_tensor(it["mask"], dtype=torch.bool) if "mask" in it
                                    else torch.isfinite(torch.as_tensor(it.get("descriptors", ()),
                                                                        dtype=torch.float32))
                                    for it in group])
        batch[modality] = part
    return batch


def move_batch(batch: dict[str, dict[str, torch.Tensor]], device: torch.device) -> dict[str, dict[str, torch.Tensor]]:
    return {m: {k: v.to(device, non_blocking=True) for k, v in part.items()} for m, part in batch.items()}


class ItemDataset(Dataset):
    """A list of item dicts (``modality``, ``input``, ``p``, ``va``, ``descriptors``, ``mask`` ...) as a
    torch Dataset, with the fast ``index`` and ``descriptor_matrix`` the loop looks for."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]

    def index(self) -> dict[str, Any]:
        return {"modality": [it["modality"] for it in self.items],
                "p": np.stack([np.asarray(it["p"]) for it in self.items])}

    def descriptor_matrix(self, modality: str) -> np.ndarray:
        return np.stack([np.asarray(it["descriptors"]) for it in self.items if it["modality"] == modality])


class SyntheticEmotionDataset(ItemDataset):
    """A tiny two-modality task whose labels determine a hidden signal.

    Each category owns a random pattern per modality (an image template, a log-mel template, a
    descriptor vector); an item is its category's pattern plus Gaussian noise. A model can only align
    a painting with a sound of the same emotion by reading the patterns, so the task tests the whole
    objective. Labels are one-hot with a little smoothing; VA is the category's NRC-VAD prototype.
    Items are generated once, in memory, from ``seed`` (the patterns from ``pattern_seed``, so a
    validation set made with another ``seed`` shares them).
    """

    def __init__(self, n_per_modality: int = 128, categories: Sequence[str] = ("anger", "sadness", "happiness",
                                                                                 "calm"),
                 image_size: int = 16, n_mels: int = 16, frames: int = 32, noise: float = 0.5,
                 descriptor_dims: dict[str, int] | None = None, seed: int = 0, pattern_seed: int = 1234,
                 nan_fraction: float = 0.1) -> None:
        unknown = [c for c in categories if c not in CATEGORY_INDEX]
        if unknown:
            raise ParameterError(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        if n_per_modality < len(categories):
            raise ParameterError(f"n_per_modality must be >= the number of categories ({len(categories)})")
        dims = {"image": 0, "audio": 0, **(descriptor_dims or {})}
        patterns = np.random.default_rng(pattern_seed)
        k = len(categories)
        # smooth patterns, so that crops, flips, rotations and time shifts keep them recognisable:
        # an image is a category colour plus a coarse 4x4 layout; a sound a category spectral envelope
        coarse = torch.tensor(patterns.random((k, 3, 4, 4)), dtype=torch.float32)
        layout = torch.nn.functional.interpolate(coarse, size=(image_size, image_size), mode="bilinear",
                                                 align_corners=False).numpy()
        colour = patterns.random((k, 3, 1, 1))
        envelope = patterns.normal(-40.0, 15.0, (k, 1, n_mels, 1))
        templates = {"image": 0.6 * colour + 0.4 * layout,
                     "audio": envelope + patterns.normal(0.0, 3.0, (k, 1, n_mels, frames))}
        desc_templates = {m: patterns.normal(0.0, 1.0, (k, d)) for m, d in dims.items()}
        rng = np.random.default_rng(seed)
        self.items: list[dict[str, Any]] = []
        for modality in ("image", "audio"):
            labels = np.arange(n_per_modality) % k
            rng.shuffle(labels)
            for c in labels:
                name = categories[c]
                x = templates[modality][c]
                scale = 1.0 if modality == "image" else 15.0
                x = x + rng.normal(0.0, noise * scale * 0.3, x.shape)
                if modality == "image":
                    x = np.clip(x, 0.0, 1.0)
                p = np.full(len(CATEGORIES), 0.02 / (len(CATEGORIES) - 1))
                p[CATEGORY_INDEX[name]] = 0.98
                va = CATEGORY_VAD[name][:2]
                desc = desc_templates[modality][c] + rng.normal(0.0, noise, dims[modality])
                desc[rng.random(dims[modality]) < nan_fraction] = np.nan
                self.items.append({"modality": modality, "input": torch.tensor(x, dtype=torch.float32),
                                   "p": torch.tensor(p, dtype=torch.float32),
                                   "va": torch.tensor(va, dtype=torch.float32),
                                   "descriptors": torch.tensor(desc, dtype=torch.float32),
                                   "mask": torch.tensor(np.isfinite(desc)),
                                   "category": name})


def build_datasets(config: Any) -> tuple[Dataset, Dataset | None]:
    """Train and validation datasets for a :class:`~resonance.train.config.TrainConfig`."""
    from resonance.models.towers.descriptor import descriptor_names

    data = config.data
    if data.kind == "manifest":
        from resonance.train.manifest_data import build_manifest_datasets

        run = build_manifest_datasets(config, data.fold if data.fold >= 0 else None)
        return run.train, run.val
    if data.kind != "synthetic":
        raise ParameterError(f"data.kind {data.kind!r} is not known here; known: ['synthetic', 'manifest']")
    dims = {}
    for modality in ("image", "audio"):
        tower = getattr(config.model, modality)
        if tower.kind in ("descriptor", "hybrid"):
            dims[modality] = len(tower.descriptors) or len(descriptor_names(modality))
    common = dict(categories=data.categories, image_size=data.resolved_image_size, n_mels=data.resolved_n_mels,
                  frames=data.frames,
                  noise=data.noise, descriptor_dims=dims, pattern_seed=data.seed)
    train = SyntheticEmotionDataset(data.n_train, seed=data.seed + 1, **common)
    val = SyntheticEmotionDataset(data.n_val, seed=data.seed + 2, **common) if data.n_val else None
    return train, val
