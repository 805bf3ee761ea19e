"""Checkpoints: written atomically, carrying everything a run needs to resume bit-for-bit.

A checkpoint is a ``torch.save`` dict readable with ``weights_only=True`` (tensors, numbers, strings,
lists and dicts only)::

    format, resonance_version, taxonomy (CATEGORIES), data_version, package_versions,
    config (TrainConfig as a dict), epoch, batch_in_epoch, step,
    model, optimizer, scheduler, scaler (state dicts), early_stopping, rng (one entry per rank:
    python, numpy, torch, cuda)

It is written to a temporary file beside the target and renamed over it (``os.replace``), so a run
killed while saving leaves the previous checkpoint intact and never half a file.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from resonance import __version__
from resonance.data.emotion import CATEGORIES
from resonance.errors import ParameterError
from resonance.io.atomic import atomic_path

CHECKPOINT_FORMAT = 1


def rng_state() -> dict[str, Any]:
    """This process's python, numpy, torch and CUDA generator states (weights_only-safe)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    return {"python": [version, list(internal), gauss],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states saved by :func:`rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus format, version and taxonomy) to ``path`` atomically; returns ``path``."""
    payload = {"format": CHECKPOINT_FORMAT, "resonance_version": __version__, "taxonomy": list(CATEGORIES), **state}
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(path: str | Path, *, data_version: str | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; every mismatch is a :class:`ParameterError` naming the fix.

    Parameters
    ----------
    data_version : str, optional
        When given (resuming), the checkpoint must have been trained on this data version.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"no checkpoint at {path}; train first, or pass the path of an existing .pt file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # truncated, not a torch file, or unsafe content
        raise ParameterError(f"{path} is not a readable resonance checkpoint ({type(error).__name__}); "
                             "use another checkpoint or retrain") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt or "model" not in ckpt:
        raise ParameterError(f"{path} is not a resonance checkpoint (no format/model entries); "
                             "pass a file written by `resonance train`")
    if ckpt["format"] != CHECKPOINT_FORMAT:
        raise ParameterError(f"{path} has checkpoint format {ckpt['format']} (resonance "
                             f"{ckpt.get('resonance_version', '?')}), this resonance {__version__} reads format "
                             f"{CHECKPOINT_FORMAT}: retrain with this version, or install resonance "
                             f"{ckpt.get('resonance_version', '?')} to use it")
    if list(ckpt.get("taxonomy", [])) != list(CATEGORIES):
        raise ParameterError(f"{path} was trained on the category taxonomy {list(ckpt.get('taxonomy', []))}, "
                             f"but this resonance uses {list(CATEGORIES)}: retrain on the current taxonomy, or "
                             f"use resonance {ckpt.get('resonance_version', '?')} that made it")
    if data_version is not None and ckpt.get("data_version", "") != data_version:
        raise ParameterError(f"{path} was trained on data version {ckpt.get('data_version', '')!r}, the config "
                             f"says {data_version!r}: resume only on the same data (set data_version to match), "
                             "or start a new run with another run_dir")
    return ckpt


def load_model(path: str | Path, map_location: str | torch.device = "cpu"):
    """The trained :class:`~resonance.models.DualEncoder` of a checkpoint (in eval mode) and the checkpoint."""
    from resonance.models import create_model
    from resonance.models.factory import ModelConfig
    from resonance.train.config import from_dict

    ckpt = load_checkpoint(path, map_location=map_location)
    model_cfg = from_dict(ModelConfig, ckpt["config"]["model"], prefix="model.")
    model = create_model(model_cfg)
    model.load_state_dict(legacy_state(ckpt["model"]))
    return model.eval(), ckpt


#: The emotion heads' input scale, added after the first checkpoints were written.
_HEAD_SCALE = "heads.log_scale"


def legacy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A model state dict from before the emotion heads had an input scale, made loadable: the scale is
    set to 1 (log 0), which is exactly the head those checkpoints were trained with."""
    if _HEAD_SCALE in state or "heads.category.weight" not in state:
        return state
    return {**state, _HEAD_SCALE: torch.zeros((), dtype=state["heads.category.weight"].dtype)}
