"""Harmony descriptors from the shared chromagram: chroma entropy and Krumhansl-Schmuckler key finding.

The clip's mean chroma (over active frames) is correlated with the 24 rotated Krumhansl-Kessler
key profiles (Krumhansl 1990). A chroma vector with no variation across pitch classes (silence,
white noise in the limit) has no key: its correlations are defined as 0 rather than NaN.
"""

from __future__ import annotations

import numpy as np

from handcrafted.audio.context import AudioContext
from handcrafted.registry import Registry, descriptor_factory

#: Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor (pitch classes C..B).
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

KRUMHANSL = ("Krumhansl, C. L. (1990). Cognitive Foundations of Musical Pitch. Oxford UP "
             "(Krumhansl-Schmuckler key finding with the Krumhansl & Kessler 1982 profiles)")
TEMPERLEY = ("Temperley, D. (2007). Music and Probability. MIT Press (key ambiguity as the margin "
             "between the best and the second-best key); profiles of Krumhansl & Kessler (1982)")
SHANNON = ("Shannon entropy of the mean chroma (e.g. Mueller, M. (2015). Fundamentals of Music "
           "Processing, Springer, ch. 3)")


def _zscore_rows(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=-1, keepdims=True)) / x.std(axis=-1, keepdims=True)


#: The 24 key profiles (12 major then 12 minor, tonic C..B), each z-scored, shape (24, 12).
_PROFILES = _zscore_rows(np.stack([np.roll(p, k) for p in (KK_MAJOR, KK_MINOR) for k in range(12)]))


def key_correlations(chroma: np.ndarray) -> np.ndarray:
    """Pearson correlation of a 12-bin chroma vector with the 24 Krumhansl-Kessler key profiles.

    Parameters
    ----------
    chroma : np.ndarray, shape (12,)
        Pitch-class weights, C first.

    Returns
    -------
    np.ndarray, shape (24,)
        Correlations with C, C#, ..., B major then C, ..., B minor; all 0 for a flat chroma vector.
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    spread = chroma.std()
    if not spread > 1e-12 * max(1.0, float(np.abs(chroma).max())):
        return np.zeros(24)
    return _PROFILES @ ((chroma - chroma.mean()) / spread) / 12.0


_harmony = descriptor_factory("audio", "harmony")


_KEY_DESCRIPTORS = [
    _harmony("chroma_entropy", "Chroma entropy", "ratio", (0.0, 1.0), SHANNON,
             "Shannon entropy of the mean chroma (active frames, tuning A440) normalised by log(12): "
             "1 for a flat pitch-class distribution, 0 for one pitch class."),
    _harmony("key_clarity", "Key clarity", "correlation", (-1.0, 1.0), KRUMHANSL,
             "Largest correlation of the mean chroma with the 24 Krumhansl-Kessler key profiles; 0 "
             "for a flat chroma."),
    _harmony("mode_major_minor", "Mode (major - minor)", "correlation difference", (-2.0, 2.0),
             KRUMHANSL,
             "Best major-key correlation minus best minor-key correlation: > 0 leans major, < 0 "
             "minor (|value| rarely exceeds 0.5); 0 for a flat chroma."),
    _harmony("key_strength", "Key strength (margin)", "correlation difference", (0.0, 2.0), TEMPERLEY,
             "Best minus second-best key correlation among the 24 keys: how unambiguous the key "
             "is; 0 for a flat chroma."),
]


def key(ctx: AudioContext) -> dict[str, float]:
    """Chroma entropy and Krumhansl-Schmuckler key statistics of the clip's mean chroma."""
    mean_chroma = ctx.chroma[:, ctx.active_or_all].mean(axis=1).astype(np.float64)
    total = float(mean_chroma.sum())
    if total > 0:
        p = mean_chroma / total
        nonzero = p[p > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(12))
    else:
        entropy = 1.0  # no pitch-class information at all: maximal uncertainty
    correlations = key_correlations(mean_chroma)
    ranked = np.sort(correlations)
    return {"chroma_entropy": float(np.clip(entropy, 0.0, 1.0)),
            "key_clarity": float(ranked[-1]),
            "mode_major_minor": float(correlations[:12].max() - correlations[12:].max()),
            "key_strength": float(ranked[-1] - ranked[-2])}


def register(registry: Registry) -> None:
    """Register :func:`key` and their descriptors in ``registry`` (in this order)."""
    registry.extractor("audio", "harmony", _KEY_DESCRIPTORS)(key)
