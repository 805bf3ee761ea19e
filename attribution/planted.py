"""A planted-cause task for checking attribution methods: congruence defined only by image brightness
and audio tempo.

Every item's descriptors are independent random values (each column at its own realistic offset and
scale, NaN-free); an image is "happiness" when its ``brightness_mean`` is above the median, else
"sadness"; a sound is "happiness" when its ``tempo_bpm`` is above the median. A model trained on it can
only align paintings with sounds through brightness x tempo, so an attribution method that works must
rank those two descriptors (and that pair) first; with ``shuffle=True`` the labels are permuted and
nothing is planted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from resonance.data.emotion import CATEGORIES, CATEGORY_INDEX, CATEGORY_VAD

IMAGE_DESCRIPTORS = ("brightness_mean", "saturation_mean", "hue_mean", "colourfulness", "contrast_rms",
                     "edge_density", "complexity_jpeg", "lab_a_mean")
AUDIO_DESCRIPTORS = ("tempo_bpm", "rms_mean_dbfs", "spectral_centroid_hz", "onset_rate_hz", "zero_crossing_rate",
                     "f0_mean_hz", "pulse_clarity", "key_clarity")
PLANTED = ("brightness_mean", "tempo_bpm")
EMOTIONS = ("sadness", "happiness")


def planted_items(n_per_modality: int = 256, *, seed: int = 0, shuffle: bool = False,
                  pattern_seed: int = 1234) -> list[dict[str, Any]]:
    """Item dicts (:mod:`resonance.train.data`) of the planted task; ``"category"`` holds the label.

    The columns' offsets and scales come from ``pattern_seed`` (shared by train and test sets), the
    values from ``seed``."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(pattern_seed)
    items: list[dict[str, Any]] = []
    for modality, names in (("image", IMAGE_DESCRIPTORS), ("audio", AUDIO_DESCRIPTORS)):
        d = len(names)
        offset = patterns.uniform(-50, 150, d)
        scale = patterns.uniform(0.1, 40, d)
        values = offset + scale * rng.normal(size=(n_per_modality, d))
        cause = values[:, 0]  # brightness_mean / tempo_bpm are column 0
        labels = (cause > np.median(cause)).astype(int)
        if shuffle:
            labels = rng.permutation(labels)
        for row, c in zip(values, labels, strict=True):
            name = EMOTIONS[c]
            p = np.full(len(CATEGORIES), 0.02 / (len(CATEGORIES) - 1))
            p[CATEGORY_INDEX[name]] = 0.98
            items.append({"modality": modality, "input": torch.zeros(1),
                          "p": torch.tensor(p, dtype=torch.float32),
                          "va": torch.tensor(CATEGORY_VAD[name][:2], dtype=torch.float32),
                          "descriptors": torch.tensor(row, dtype=torch.float32),
                          "mask": torch.ones(d, dtype=torch.bool), "category": name})
    return items


def planted_config(run_dir: str, steps: int = 300, seed: int = 0) -> Any:
    """A small descriptor-model training config for the planted task (CPU, quiet)."""
    from resonance.train import config_from_dict

    tower = {"hidden": 32, "dropout": 0.0}
    return config_from_dict({
        "model": {"name": "descriptor", "embed_dim": 16, "proj_hidden": 32,
                  "image": {**tower, "descriptors": list(IMAGE_DESCRIPTORS)},
                  "audio": {**tower, "descriptors": list(AUDIO_DESCRIPTORS)}},
        "epochs": 1000, "max_steps": steps, "batch_size": 32, "lr": 3e-3, "seed": seed, "device": "cpu",
        "progress": False, "tensorboard": False, "patience": 0, "run_dir": run_dir,
        "checkpoint_every": 100000})


def train_planted(run_dir: str, *, steps: int = 300, seed: int = 0, shuffle: bool = False,
                  n_per_modality: int = 256) -> tuple[Any, list[dict[str, Any]]]:
    """Train the planted task; returns (model in eval mode, held-out test items)."""
    from resonance.train import ItemDataset, train

    train_items = planted_items(n_per_modality, seed=seed, shuffle=shuffle)
    test_items = planted_items(n_per_modality // 2, seed=seed + 1000, shuffle=shuffle)
    result = train(planted_config(run_dir, steps, seed), ItemDataset(train_items))
    return result.model.eval(), test_items
