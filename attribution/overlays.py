"""IG maps on the raw inputs -- pixels of a painting, log-mel bins of a sound -- drawn over the input,
and grouped into named features (:mod:`attribution.groups`).

The overlay shows |attribution| summed over the colour channels (images) as a heat map over the
greyed painting, and the signed attribution over the log-mel spectrogram (red raises the target, blue
lowers it). Baselines: ``blurred`` for paintings and ``silence`` for sounds by default (one baseline:
each costs ``n_steps`` passes through the CNN); the completeness error of every map is printed with it.
With ``max_steps`` the steps are doubled per map until that error is below ``tolerance``
(:mod:`attribution.adaptive`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from attribution.adaptive import adaptive_integrated_gradients
from attribution.groups import group_audio_attributions, group_image_attributions
from attribution.ig import integrated_gradients
from attribution.result import AttributionResult
from attribution.targets import Target

#: Default baseline of the raw-input maps per modality.
OVERLAY_BASELINE = {"image": "blurred", "audio": "silence"}

#: Default cap on the gradient evaluations of one map refined along the path (:mod:`attribution.adaptive`).
OVERLAY_MAX_STEPS = 256


def raw_input_attributions(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]], *,
                           n_steps: int = 32, baselines: dict[str, str] | None = None,
                           internal_batch_size: int = 16, max_steps: int | None = None,
                           tolerance: float = 0.01) -> AttributionResult:
    """IG of ``target`` on the raw inputs of its modalities (descriptors, if any, held at their values);
    with ``max_steps``, ``n_steps`` is doubled per example up to ``max_steps`` until the relative
    completeness error is below ``tolerance`` (``extras["n_steps"]``, ``extras["converged"]``)."""
    chosen = {**OVERLAY_BASELINE, **(baselines or {})}
    kwargs = {"field": "input", "baselines": {m: [chosen[m]] for m in target.modalities},
              "internal_batch_size": internal_batch_size}
    if max_steps is not None:
        return adaptive_integrated_gradients(model, target, parts, n_steps=n_steps, max_steps=max_steps,
                                             tolerance=tolerance, **kwargs)
    return integrated_gradients(model, target, parts, n_steps=n_steps, **kwargs)


def _as_spectrogram(x: np.ndarray) -> np.ndarray:
    """(n, 1, M, T) from (n, 1, M, T) or windows (n, W, 1, M, T) (windows side by side in time)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 5:
        n, w, c, m, t = x.shape
        return x.transpose(0, 2, 3, 1, 4).reshape(n, c, m, w * t)
    return x


def grouped(modality: str, attributions: np.ndarray, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Named-feature attribution mass per example (see :mod:`attribution.groups`)."""
    if modality == "image":
        return group_image_attributions(attributions, inputs)
    return group_audio_attributions(_as_spectrogram(attributions), _as_spectrogram(inputs))


def overlay_figure(modality: str, x: np.ndarray, a: np.ndarray, title: str) -> Any:
    """A matplotlib figure of one input with its attribution map over it."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    if modality == "image":
        img = np.clip(np.asarray(x, dtype=np.float64).transpose(1, 2, 0), 0, 1)
        heat = np.abs(np.asarray(a, dtype=np.float64)).sum(0)
        axes[0].imshow(img)
        axes[1].imshow(img.mean(2), cmap="gray", alpha=0.5)
        axes[1].imshow(heat, cmap="inferno", alpha=0.6, vmax=float(np.quantile(heat, 0.99)) or None)
        for ax in axes:
            ax.axis("off")
    else:
        spec, attr = _as_spectrogram(x[None])[0, 0], _as_spectrogram(a[None])[0, 0]
        lim = float(np.quantile(np.abs(attr), 0.995)) or 1.0
        axes[0].imshow(spec, origin="lower", aspect="auto", cmap="magma")
        axes[1].imshow(spec, origin="lower", aspect="auto", cmap="gray", alpha=0.5)
        axes[1].imshow(attr, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, alpha=0.7)
        for ax in axes:
            ax.set_xlabel("frame")
        axes[0].set_ylabel("mel band")
    axes[0].set_title("input", fontsize=8)
    axes[1].set_title("IG", fontsize=8)
    fig.suptitle(title, fontsize=8)
    return fig
