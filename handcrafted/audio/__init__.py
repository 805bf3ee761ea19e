"""Handcrafted audio descriptors: energy, spectrum, rhythm, pitch/voice and harmony.

The package is layered: :mod:`handcrafted.audio.context` holds :class:`AudioContext`, the shared
per-clip representations (STFT, mel, chroma, onset envelope, F0 track, ...); one module per family
(:mod:`~handcrafted.audio.energy`, :mod:`~handcrafted.audio.harmony`,
:mod:`~handcrafted.audio.rhythm`, :mod:`~handcrafted.audio.spectral`, and :mod:`handcrafted.pitch`
for pitch and voice quality) defines its extractors on that context and a ``register(registry)``;
this module assembles them: :func:`register` puts every family in a registry and
:func:`describe_audio` computes them. Nothing registers itself on import; :mod:`handcrafted`
calls :func:`register` on the default registry.

``REGISTRY.select("audio")`` lists every descriptor with its unit, range and reference.

Examples
--------
>>> import numpy as np
>>> from handcrafted.audio import describe_audio
>>> sr = 16000
>>> y = 0.5 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)
>>> round(describe_audio(y, sr=sr, groups=["pitch"])["f0_mean_hz"])
220
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from handcrafted.audio import energy, harmony, rhythm, spectral
from handcrafted.audio.context import MIN_DURATION_S, MIN_SAMPLE_RATE, AudioContext
from handcrafted.compute import compute_descriptors
from handcrafted.registry import AUDIO_GROUPS, REGISTRY, Registry
from resonance.errors import ParameterError

__all__ = ["AudioContext", "FAMILIES", "MIN_DURATION_S", "MIN_SAMPLE_RATE", "describe_audio", "register"]

#: The family modules, in registration (and so column) order; pitch comes after them.
FAMILIES = (energy, harmony, rhythm, spectral)


def register(registry: Registry) -> None:
    """Register every built-in audio extractor and its descriptors in ``registry``.

    Order: energy, harmony, rhythm, spectrum, pitch (the column order of a features table).
    """
    for family in FAMILIES:
        family.register(registry)
    _register_pitch(registry)


def _register_pitch(registry: Registry) -> None:
    # handcrafted.pitch (owned apart: the Praat-style tracker) registers its two extractors in the
    # default registry when first imported, so it is imported here, after the other families, to keep
    # the column order; a pitch.register(registry), when it exists, is used instead.
    from handcrafted import pitch

    if hasattr(pitch, "register"):
        pitch.register(registry)
    elif registry is not REGISTRY:
        registry.include(REGISTRY, "audio", ["pitch"])


def describe_audio(y: Any, *, sr: int, groups: Iterable[str] | str | None = None,
                   registry: Registry | None = None, fmin: float = 75.0,
                   fmax: float = 600.0) -> dict[str, float]:
    """Every registered audio descriptor of one clip.

    Parameters
    ----------
    y : array_like, shape (n,)
        Mono floating-point signal, finite, at least 0.5 s (e.g. from :func:`resonance.io.load_audio`).
    sr : int, keyword-only
        Sample rate in Hz (>= 8000; the project rate is 16000).
    groups : iterable of str, str or None, keyword-only
        Subset of ``("energy", "spectrum", "rhythm", "pitch", "harmony")`` (or of the groups a custom
        ``registry`` holds); None for all.
    registry : Registry or None, keyword-only
        Where the extractors come from; None for the default :data:`handcrafted.REGISTRY`.
    fmin, fmax : float, keyword-only
        Pitch floor and ceiling in Hz (75-600 Hz suits speech).

    Returns
    -------
    dict[str, float]
        Descriptor name -> value, in registry order. Units and ranges: ``REGISTRY[name]``. Only
        descriptors whose registry entry documents an ``undefined`` case can be NaN (F0 statistics
        of an unvoiced clip, jitter/shimmer with too few periods).

    Raises
    ------
    ParameterError
        For an invalid signal, sample rate or group name (raised before any computation).
    """
    registry = REGISTRY if registry is None else registry
    if groups is not None:
        groups = [groups] if isinstance(groups, str) else list(groups)
        known = list(AUDIO_GROUPS) + sorted({d.group for d in registry.select("audio")} - set(AUDIO_GROUPS))
        unknown = sorted(set(groups) - set(known))
        if unknown:
            raise ParameterError(f"unknown audio descriptor groups {unknown}; choose from {known}")
    context = AudioContext(y, sr, fmin=fmin, fmax=fmax)
    return compute_descriptors(context, "audio", groups, registry=registry)
