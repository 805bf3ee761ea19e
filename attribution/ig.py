"""Integrated Gradients (Captum) on raw inputs and descriptor inputs, with baselines in the model's
input space, and Layer Integrated Gradients on the projection heads.

Baselines are defined in the space the tower *receives* (not in a normalised space, where "all zero"
would mean "the mean image" for one model and "black" for another; Captum PR #428):

===========  ===========  ==================================================================
field        name         definition
===========  ===========  ==================================================================
descriptors  ``mean``     the train-split mean of every descriptor (the tower's standardisation
                          buffer, so it travels with the checkpoint): standardised value 0
input/image  ``black``    all pixels 0 (inputs are RGB in [0, 1])
input/image  ``blurred``  a Gaussian blur of the image itself (sigma = 1/8 of its side)
input/image  ``mean``     the mean image of ``stats`` (a dataset), else of the batch
input/audio  ``silence``  the log-mel floor, :data:`resonance.train.inputs.DB_FLOOR` (-100 dB re 1),
                          *not* 0 dB (which is a loud sound)
input/audio  ``pink``     the expected log-mel spectrum of pink noise (PSD ~ 1/f) through the mel
                          filterbank, at the batch's mean level, constant over time
input/audio  ``mean``     the mean log-mel spectrogram of ``stats``, else of the batch
===========  ===========  ==================================================================

Several baselines give one result whose attributions are the mean of the per-baseline attributions
(and whose ``delta`` is the mean of the per-baseline deltas; each one is kept in ``extras``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from attribution.encode import hold_deep_fixed
from attribution.result import AttributionResult
from attribution.targets import Target
from resonance.errors import ParameterError

#: Default number of integration steps (Gauss-Legendre); enough for < 1 % completeness error on the
#: descriptor towers (measured in tests/test_attribution.py).
DEFAULT_STEPS = 64

BASELINES: dict[tuple[str, str], tuple[str, ...]] = {
    ("image", "descriptors"): ("mean",), ("audio", "descriptors"): ("mean",),
    ("image", "input"): ("black", "blurred", "mean"), ("audio", "input"): ("silence", "pink", "mean"),
}


def descriptor_tower(model: Any, modality: str) -> Any:
    """The :class:`~resonance.models.towers.DescriptorTower` inside ``model``'s ``modality`` tower."""
    from resonance.models.towers.descriptor import DescriptorTower

    if modality not in model.towers:
        raise ParameterError(f"this model has no {modality} tower")
    for module in model.towers[modality].modules():
        if isinstance(module, DescriptorTower):
            return module
    raise ParameterError(f"the {modality} tower has no descriptor inputs; attribute field='input' instead, "
                         "or use a 'descriptor' / 'hybrid' model")


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(round(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    pad = torch.nn.functional.pad(x, (radius, radius, radius, radius), mode="replicate")
    h = torch.nn.functional.conv2d(pad, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return torch.nn.functional.conv2d(h, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def pink_noise_logmel(n_mels: int, frames: int, level_db: float, sample_rate: int = 16_000,
                      n_fft: int = 1024) -> np.ndarray:
    """Expected log-mel (dB) of pink noise: mel filterbank applied to a 1/f power spectrum, shifted so
    that its mean is ``level_db``; (1, n_mels, frames)."""
    import librosa

    fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    psd = 1.0 / np.maximum(freqs, freqs[1])
    db = 10.0 * np.log10(np.maximum(fb @ psd, 1e-20))
    db = db - db.mean() + level_db
    return np.repeat(db[None, :, None], frames, axis=2).astype(np.float32)


def make_baseline(name: str, modality: str, field: str, x: torch.Tensor, model: Any,
                  stats: dict[str, dict[str, torch.Tensor]] | None = None) -> torch.Tensor:
    """The baseline ``name`` for inputs ``x`` of ``modality``/``field`` (same shape as ``x``)."""
    from resonance.train.inputs import DB_FLOOR

    known = BASELINES.get((modality, field))
    if known is None:
        raise ParameterError(f"field must be 'input' or 'descriptors', got {field!r}")
    if name not in known:
        raise ParameterError(f"unknown {modality} {field} baseline {name!r}; known: {list(known)}")
    mean = (stats or {}).get(modality, {}).get(field)
    if field == "descriptors":
        return descriptor_tower(model, modality).mean.to(x.dtype).expand_as(x).clone()
    if name == "mean":
        m = mean.to(x.device, x.dtype) if mean is not None else x.mean(0, keepdim=True)
        return m.expand_as(x).clone()
    if modality == "image":
        if x.dim() != 4:
            raise ParameterError(f"image inputs must be (n, 3, H, W) pixels for this baseline, got {tuple(x.shape)}")
        return torch.zeros_like(x) if name == "black" else _gaussian_blur(x, max(1.0, x.shape[-1] / 8))
    if name == "silence":
        return torch.full_like(x, DB_FLOOR)
    pink = pink_noise_logmel(x.shape[-2], x.shape[-1], float(x.mean()))
    return torch.as_tensor(pink, dtype=x.dtype, device=x.device).expand_as(x).clone()


def _prepare(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]],
             fields: dict[str, str]) -> tuple[list[tuple[str, str]], dict[str, dict[str, torch.Tensor]]]:
    device = next(model.parameters()).device
    parts = {m: {k: v.to(device) for k, v in parts[m].items()} for m in target.modalities}
    n = {m: len(next(iter(p.values()))) for m, p in parts.items()}
    if len(set(n.values())) > 1:
        raise ParameterError(f"paired inputs must have as many images as sounds, got {n}")
    keys = []
    for m in target.modalities:
        f = fields.get(m, "descriptors")
        if f not in parts[m]:
            raise ParameterError(f"the {m} inputs have no {f!r} field")
        if f == "descriptors":
            tower = descriptor_tower(model, m)
            parts[m] = hold_deep_fixed(model, m, parts[m])
            d = parts[m]["descriptors"].float()
            if "mask" not in parts[m]:
                parts[m]["mask"] = torch.isfinite(d)
            # undefined values are masked out by the tower; put the train mean there so paths stay finite
            parts[m]["descriptors"] = torch.where(torch.isfinite(d), d, tower.mean.to(d.dtype).expand_as(d))
        keys.append((m, f))
    return keys, parts


def _forward_factory(model: Any, target: Target, keys: list[tuple[str, str]],
                     fixed: list[tuple[str, str]]):
    def forward(*args: torch.Tensor) -> torch.Tensor:
        n_var = len(keys)
        rebuilt: dict[str, dict[str, torch.Tensor]] = {}
        for (m, k), v in zip(keys + fixed, args, strict=True):
            rebuilt.setdefault(m, {})[k] = v
        del n_var
        return target(model, rebuilt)
    return forward


@dataclass
class IGPath:
    """What Integrated Gradients integrates along: the forward of a target over the attributed inputs
    (``keys``), the inputs, the inputs held fixed (``extra``) and the baselines' names per modality
    (:func:`ig_setup`; :mod:`attribution.adaptive` integrates the same path piecewise)."""

    keys: list[tuple[str, str]]
    forward: Any
    inputs: tuple[torch.Tensor, ...]
    extra: tuple[torch.Tensor, ...]
    names: dict[str, tuple[str, ...]]
    model: Any
    stats: dict[str, dict[str, torch.Tensor]] | None

    @property
    def n_baselines(self) -> int:
        return len(next(iter(self.names.values())))

    def baseline(self, b: int) -> tuple[torch.Tensor, ...]:
        """The ``b``-th baseline of every attributed input."""
        return tuple(make_baseline(self.names[m][b], m, k, x, self.model, self.stats)
                     for (m, k), x in zip(self.keys, self.inputs, strict=True))

    def label(self, b: int) -> str:
        return "+".join(dict.fromkeys(self.names[m][b] for m, _ in self.keys))


def ig_setup(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]], *,
             field: str | dict[str, str] = "descriptors",
             baselines: Sequence[str] | dict[str, Sequence[str]] | None = None,
             stats: dict[str, dict[str, torch.Tensor]] | None = None) -> IGPath:
    """Validate ``parts`` and build the :class:`IGPath` of ``target`` (arguments as
    :func:`integrated_gradients`)."""
    fields = field if isinstance(field, dict) else {m: field for m in ("image", "audio")}
    keys, parts = _prepare(model, target, parts, fields)
    fixed = [(m, k) for m in target.modalities for k in parts[m] if (m, k) not in keys
             and k not in ("p", "va")]
    forward = _forward_factory(model, target, keys, fixed)
    if baselines is None:
        names = {m: BASELINES[(m, f)] for m, f in keys}
    elif isinstance(baselines, dict):
        names = {m: tuple(baselines[m]) for m, _ in keys}
    else:
        names = {m: tuple(baselines) for m, _ in keys}
    if len({len(v) for v in names.values()}) != 1:
        raise ParameterError(f"give every modality the same number of baselines, got {names}")
    return IGPath(keys, forward, tuple(parts[m][k] for m, k in keys), tuple(parts[m][k] for m, k in fixed),
                  names, model, stats)


def integrated_gradients(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]], *,
                         field: str | dict[str, str] = "descriptors",
                         baselines: Sequence[str] | dict[str, Sequence[str]] | None = None,
                         n_steps: int = DEFAULT_STEPS, internal_batch_size: int | None = None,
                         stats: dict[str, dict[str, torch.Tensor]] | None = None,
                         integration: str = "gausslegendre") -> AttributionResult:
    """Integrated Gradients of ``target`` with respect to the inputs of its modalities.

    Parameters
    ----------
    model : DualEncoder
        In eval mode (the caller's choice is respected; dropout would make the path noisy).
    target : Target
        What is explained (:mod:`attribution.targets`); an alignment target attributes both modalities
        jointly, so the attributions of image and sound add up to s(x) - s(baseline).
    parts : dict
        ``{modality: batch part}`` as :func:`resonance.train.data.collate` returns; for the alignment
        target row i of the image part is paired with row i of the audio part.
    field : str or dict
        ``"descriptors"`` (descriptor / hybrid towers) or ``"input"`` (pixels, log-mel bins), or one per
        modality ``{"image": "input", "audio": "descriptors"}``.
    baselines : sequence of str or dict
        Baseline names (see the module docstring) shared by both modalities when they have the same
        field, or ``{modality: names}``; several give the average. Default: every baseline of the field.
    n_steps, internal_batch_size, integration
        Passed to :meth:`captum.attr.IntegratedGradients.attribute` (``method=integration``).
    stats : dict, optional
        ``{modality: {field: mean input}}`` for the ``mean`` baselines of raw inputs.

    Returns
    -------
    AttributionResult
        ``delta`` is Captum's convergence delta (per example, averaged over baselines); every
        baseline's own deltas are in ``extras["delta_per_baseline"]``.
    """
    path = ig_setup(model, target, parts, field=field, baselines=baselines, stats=stats)
    return integrate_path(path, target, n_steps=n_steps, internal_batch_size=internal_batch_size,
                          integration=integration)


def integrate_path(path: IGPath, target: Target, *, which: Sequence[int] | None = None,
                   n_steps: int = DEFAULT_STEPS, internal_batch_size: int | None = None,
                   integration: str = "gausslegendre") -> AttributionResult:
    """Captum IG along a prepared :class:`IGPath` from its baselines ``which`` (default: all of them;
    the result is their mean, as :func:`integrated_gradients` returns it)."""
    from captum.attr import IntegratedGradients

    if n_steps < 2:
        raise ParameterError(f"n_steps must be >= 2, got {n_steps}")
    keys, forward, inputs, extra = path.keys, path.forward, path.inputs, path.extra
    ig = IntegratedGradients(forward)
    sums: list[torch.Tensor] | None = None
    deltas, base_scores, labels = [], [], []
    with torch.no_grad():
        score = forward(*inputs, *extra).detach()
    for b in range(path.n_baselines) if which is None else which:
        base = path.baseline(b)
        attr, delta = ig.attribute(inputs, baselines=base, additional_forward_args=extra or None,
                                   n_steps=n_steps, internal_batch_size=internal_batch_size,
                                   method=integration, return_convergence_delta=True)
        attr = tuple(a.detach() for a in attr)
        sums = list(attr) if sums is None else [s + a for s, a in zip(sums, attr, strict=True)]
        deltas.append(delta.detach().cpu().numpy().astype(np.float64))
        with torch.no_grad():
            base_scores.append(forward(*base, *extra).detach().cpu().numpy().astype(np.float64))
        labels.append(path.label(b))
    k = len(deltas)
    attributions: dict[str, dict[str, np.ndarray]] = {}
    for (m, f), s in zip(keys, sums, strict=True):
        attributions.setdefault(m, {})[f] = (s / k).cpu().numpy()
    feature_names = {m: list(descriptor_tower(path.model, m).names) for m, f in keys if f == "descriptors"}
    return AttributionResult("integrated_gradients", target.description, ",".join(labels), attributions,
                             delta=np.mean(deltas, 0), score=score.cpu().numpy(),
                             baseline_score=np.mean(base_scores, 0), feature_names=feature_names,
                             extras={"n_steps": n_steps, "integration": integration,
                                     "delta_per_baseline": {lab: d.tolist() for lab, d in
                                                            zip(labels, deltas, strict=True)}})


def layer_integrated_gradients(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]],
                               modality: str, *, field: str = "descriptors", baseline: str | None = None,
                               n_steps: int = DEFAULT_STEPS, internal_batch_size: int | None = None,
                               stats: dict[str, dict[str, torch.Tensor]] | None = None) -> AttributionResult:
    """Layer Integrated Gradients on the *input* of ``modality``'s projection head (the tower's
    features): how much each tower feature contributes to the target, with the inputs integrated
    from ``baseline`` (default: the field's first baseline). ``attributions[modality]["layer"]`` is
    (n, tower.out_dim)."""
    from captum.attr import LayerIntegratedGradients

    fields = {m: field for m in ("image", "audio")}
    keys, parts = _prepare(model, target, parts, fields)
    if modality not in target.modalities:
        raise ParameterError(f"the target {target.description!r} does not read {modality} inputs")
    keys = [(m, k) for m, k in keys if m == modality]
    fixed = [(m, k) for m in target.modalities for k in parts[m] if (m, k) not in keys and k not in ("p", "va")]
    forward = _forward_factory(model, target, keys, fixed)
    (m, k), = keys
    x = parts[m][k]
    name = baseline or BASELINES[(m, k)][0]
    base = make_baseline(name, m, k, x, model, stats)
    extra = tuple(parts[mm][kk] for mm, kk in fixed)
    lig = LayerIntegratedGradients(forward, model.projections[modality])
    attr, delta = lig.attribute((x,), baselines=(base,), additional_forward_args=extra or None, n_steps=n_steps,
                                internal_batch_size=internal_batch_size, attribute_to_layer_input=True,
                                return_convergence_delta=True)
    if isinstance(attr, (tuple, list)):
        attr = attr[0]
    with torch.no_grad():
        score = forward(x, *extra).cpu().numpy()
        base_score = forward(base, *extra).cpu().numpy()
    return AttributionResult("layer_integrated_gradients", target.description, name,
                             {modality: {"layer": attr.detach().cpu().numpy()}}, delta=delta.detach().cpu().numpy(),
                             score=score, baseline_score=base_score,
                             extras={"layer": f"projections.{modality} (input)", "n_steps": n_steps})
