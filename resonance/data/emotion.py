"""The shared emotion space: one category set, one valence/arousal/dominance scale, one similarity.

Every source label of every corpus is mapped here to

(a) a probability distribution over :data:`CATEGORIES`, and
(b) valence, arousal and dominance on one scale, [0, 1] (0.5 = neutral midpoint).

Sources of the numbers
----------------------
* Category prototypes (:data:`CATEGORY_VAD`): the NRC Valence, Arousal, and Dominance Lexicon v1
  (Mohammad, 2018, ACL), entries for the category words, copied verbatim; ``tests/test_emotion.py``
  checks them against ``lexicons/NRC-VAD-Lexicon.txt`` when the shared data is present. The
  Warriner, Kuperman & Brysbaert (2013) norms (1-9 scales) are available as an alternative through
  :func:`load_lexicon_prototypes`, rescaled by ``(x - 1) / 8``.
* D-ViSA items carry their own annotated VAD (Kim et al., 2023), which is used as is.
* EMOPIA quadrants (Hung et al., 2021) are the four quadrants of Russell's (1980) valence-arousal
  circumplex; a quadrant label is placed at the centre of its quadrant of the unit square (0.25 / 0.75),
  the mean of a uniform prior over that quadrant, and has no dominance (NaN).
* Continuous-only labels (quadrants, probe stimuli) get a category distribution from their VA point by
  a Gaussian kernel over the category prototypes (:func:`distribution_from_va`).

Categories
----------
The union of the corpora's label sets, so that no source label is merged away: Ekman's six
(anger, disgust, fear, sadness, happiness, surprise), neutral and calm (RAVDESS), and the four positive
aesthetic emotions of the Mikels / ArtEmis set used by D-ViSA (amusement, awe, contentment,
excitement). How close two categories are is not asserted by hand: it follows from their prototypes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CATEGORIES: tuple[str, ...] = (
    "anger", "disgust", "fear", "sadness", "happiness", "surprise",
    "neutral", "calm", "amusement", "awe", "contentment", "excitement",
)
CATEGORY_INDEX: dict[str, int] = {name: i for i, name in enumerate(CATEGORIES)}

#: NRC-VAD v1 (Mohammad 2018) valence, arousal, dominance of each category word, in [0, 1].
CATEGORY_VAD: dict[str, tuple[float, float, float]] = {
    "anger": (0.167, 0.865, 0.657),
    "disgust": (0.052, 0.775, 0.317),
    "fear": (0.073, 0.840, 0.293),
    "sadness": (0.052, 0.288, 0.164),
    "happiness": (0.960, 0.732, 0.850),
    "surprise": (0.875, 0.875, 0.562),
    "neutral": (0.469, 0.184, 0.357),
    "calm": (0.875, 0.100, 0.282),
    "amusement": (0.929, 0.837, 0.803),
    "awe": (0.469, 0.740, 0.300),
    "contentment": (0.875, 0.610, 0.782),
    "excitement": (0.896, 0.684, 0.731),
}
VAD_SOURCE_NRC = "NRC-VAD v1 (Mohammad 2018)"

#: Russell (1980) quadrants as EMOPIA numbers them, placed at quadrant centres of the unit VA square.
QUADRANT_VA: dict[str, tuple[float, float]] = {
    "Q1": (0.75, 0.75),  # high valence, high arousal
    "Q2": (0.25, 0.75),  # low valence, high arousal
    "Q3": (0.25, 0.25),  # low valence, low arousal
    "Q4": (0.75, 0.25),  # high valence, low arousal
}
VAD_SOURCE_QUADRANT = "Russell (1980) quadrant centre"

#: Source-vocabulary synonyms for the unified categories (lower-case keys).
LABEL_SYNONYMS: dict[str, str] = {
    "angry": "anger", "ang": "anger", "a": "anger",
    "disgusted": "disgust", "dis": "disgust", "d": "disgust",
    "fearful": "fear", "fea": "fear", "f": "fear", "scared": "fear",
    "sad": "sadness", "sa": "sadness",
    "happy": "happiness", "hap": "happiness", "h": "happiness", "joy": "happiness",
    "surprised": "surprise", "suprised": "surprise", "su": "surprise", "ps": "surprise",
    "pleasant_surprise": "surprise", "pleasant_surprised": "surprise", "pleasant surprise": "surprise",
    "neu": "neutral", "n": "neutral",
}


def canonical_category(label: str) -> str:
    """Map a source label (any case, corpus abbreviation or upstream misspelling) to a category.

    Raises
    ------
    KeyError
        If the label names no unified category; the message lists the accepted names.
    """
    key = label.strip().lower()
    key = LABEL_SYNONYMS.get(key, key)
    if key not in CATEGORY_INDEX:
        raise KeyError(f"unknown emotion label {label!r}; expected one of {', '.join(CATEGORIES)} or a synonym")
    return key


@dataclass(frozen=True)
class EmotionLabel:
    """One item's position in the shared emotion space.

    ``distribution`` maps categories to probabilities summing to 1 (absent categories are 0).
    ``valence``/``arousal``/``dominance`` are in [0, 1]; ``dominance`` may be NaN where the source
    has none. ``vad_source`` names where the VAD numbers come from. ``preferred`` is the source's own
    choice among tied most-probable categories (e.g. D-ViSA's ``final_emo`` when three annotators
    disagree); without it ties fall to :data:`CATEGORIES` order.
    """

    distribution: Mapping[str, float]
    valence: float
    arousal: float
    dominance: float
    vad_source: str
    synthetic: bool = False
    preferred: str | None = None

    def __post_init__(self) -> None:
        total = sum(self.distribution.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"category distribution sums to {total}, not 1")
        unknown = set(self.distribution) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}")
        for name in ("valence", "arousal"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value} is outside [0, 1]")

    @property
    def emotion(self) -> str:
        """The most probable category; ties go to ``preferred``, else to :data:`CATEGORIES` order."""
        top = max(self.distribution.values())
        tied = [c for c in CATEGORIES if math.isclose(self.distribution.get(c, 0.0), top, rel_tol=1e-9)]
        return self.preferred if self.preferred in tied else tied[0]

    def vector(self) -> np.ndarray:
        """The distribution as a dense vector in :data:`CATEGORIES` order."""
        return np.array([self.distribution.get(c, 0.0) for c in CATEGORIES], dtype=np.float64)


def prototype_vad(distribution: Mapping[str, float]) -> tuple[float, float, float]:
    """Probability-weighted mean of the NRC-VAD category prototypes."""
    vad = np.zeros(3)
    for name, p in distribution.items():
        vad += p * np.asarray(CATEGORY_VAD[name])
    return float(vad[0]), float(vad[1]), float(vad[2])


def from_category(label: str) -> EmotionLabel:
    """A categorical label: one-hot distribution, VAD from the category prototype."""
    name = canonical_category(label)
    v, a, d = CATEGORY_VAD[name]
    return EmotionLabel({name: 1.0}, v, a, d, VAD_SOURCE_NRC)


def from_distribution(weights: Mapping[str, float], vad: tuple[float, float, float] | None = None,
                      vad_source: str | None = None, preferred: str | None = None) -> EmotionLabel:
    """Non-negative weights over (source) labels, normalised; VAD given or from the prototypes.
    ``preferred`` (a source label) wins ties for the most probable category."""
    merged: dict[str, float] = {}
    for label, w in weights.items():
        if w < 0:
            raise ValueError(f"negative weight {w} for {label!r}")
        name = canonical_category(label)
        merged[name] = merged.get(name, 0.0) + float(w)
    total = sum(merged.values())
    if total <= 0:
        raise ValueError("all weights are zero: the distribution is undefined")
    dist = {k: w / total for k, w in merged.items() if w > 0}
    preferred = canonical_category(preferred) if preferred else None
    if vad is None:
        return EmotionLabel(dist, *prototype_vad(dist), VAD_SOURCE_NRC, preferred=preferred)
    return EmotionLabel(dist, *vad, vad_source or "source annotation", preferred=preferred)


@dataclass(frozen=True)
class SimilarityConfig:
    """Parameters of :func:`similarity_matrix`.

    ``bandwidth`` is the Gaussian kernel width on the [0, 1] VA scale; ``category_weight`` mixes the
    category term (distributions compared through prototype proximity) with the VA term.
    """

    bandwidth: float = 0.25
    category_weight: float = 0.5


def category_kernel(bandwidth: float = SimilarityConfig.bandwidth) -> np.ndarray:
    """K[i, j] = exp(-|va_i - va_j|^2 / (2 bandwidth^2)) over category prototypes (VA only)."""
    va = np.array([CATEGORY_VAD[c][:2] for c in CATEGORIES])
    sq = ((va[:, None, :] - va[None, :, :]) ** 2).sum(-1)
    return np.exp(-sq / (2.0 * bandwidth**2))


def distribution_from_va(valence: float, arousal: float, bandwidth: float = 0.15) -> dict[str, float]:
    """Category distribution of a VA point: Gaussian kernel weights on the prototypes, normalised."""
    va = np.array([CATEGORY_VAD[c][:2] for c in CATEGORIES])
    weights = np.exp(-((va - np.array([valence, arousal])) ** 2).sum(-1) / (2.0 * bandwidth**2))
    weights /= weights.sum()
    return {c: float(w) for c, w in zip(CATEGORIES, weights, strict=True)}


def from_va(valence: float, arousal: float, dominance: float = math.nan, *, vad_source: str,
            synthetic: bool = False) -> EmotionLabel:
    """A continuous VA label: its category distribution follows from :func:`distribution_from_va`."""
    return EmotionLabel(distribution_from_va(valence, arousal), valence, arousal, dominance,
                        vad_source, synthetic)


def from_quadrant(quadrant: str) -> EmotionLabel:
    """An EMOPIA / Russell quadrant ``'Q1'``..``'Q4'`` (or ``1``..``4``)."""
    key = quadrant if str(quadrant).upper().startswith("Q") else f"Q{quadrant}"
    key = key.upper()
    if key not in QUADRANT_VA:
        raise KeyError(f"unknown quadrant {quadrant!r}; expected Q1..Q4")
    return from_va(*QUADRANT_VA[key], vad_source=VAD_SOURCE_QUADRANT)


def similarity_matrix(p_a: np.ndarray, va_a: np.ndarray, p_b: np.ndarray, va_b: np.ndarray,
                      config: SimilarityConfig = SimilarityConfig()) -> np.ndarray:
    """Emotional similarity in [0, 1] of every item of set A with every item of set B.

    ``sim = w * (p_a K p_b^T) + (1 - w) * exp(-|va_a - va_b|^2 / (2 h^2))`` with ``K`` the
    :func:`category_kernel`: two items are similar when their categories are close *and* their
    valence/arousal points are close. Identical labels give 1; the function is symmetric.

    Parameters
    ----------
    p_a, p_b : arrays of shape (n, 12) and (m, 12)
        Category distributions in :data:`CATEGORIES` order.
    va_a, va_b : arrays of shape (n, 2) and (m, 2)
        Valence and arousal in [0, 1].

    Returns
    -------
    np.ndarray of shape (n, m)
        The soft congruence target that later pulls image/sound pairs together.
    """
    p_a, p_b = np.atleast_2d(p_a), np.atleast_2d(p_b)
    va_a, va_b = np.atleast_2d(va_a), np.atleast_2d(va_b)
    kernel = category_kernel(config.bandwidth)
    category_term = p_a @ kernel @ p_b.T
    sq = ((va_a[:, None, :] - va_b[None, :, :]) ** 2).sum(-1)
    va_term = np.exp(-sq / (2.0 * config.bandwidth**2))
    return config.category_weight * category_term + (1.0 - config.category_weight) * va_term


def emotional_similarity(a: EmotionLabel, b: EmotionLabel,
                         config: SimilarityConfig = SimilarityConfig()) -> float:
    """Emotional similarity of two items, in [0, 1] (see :func:`similarity_matrix`)."""
    return float(similarity_matrix(a.vector(), [a.valence, a.arousal],
                                   b.vector(), [b.valence, b.arousal], config)[0, 0])


@dataclass(frozen=True)
class LexiconPrototypes:
    """Category prototypes read from a lexicon file (for checking or swapping the defaults)."""

    source: str
    vad: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def load_lexicon_prototypes(path: str | Path) -> LexiconPrototypes:
    """Read the category words' VAD from NRC-VAD (tab-separated) or Warriner (CSV, 1-9, rescaled)."""
    import pandas as pd

    path = Path(path)
    if path.suffix == ".txt":
        table = pd.read_csv(path, sep="\t", keep_default_na=False)
        table = table.set_index("Word")[["Valence", "Arousal", "Dominance"]]
        source = VAD_SOURCE_NRC
    else:
        table = pd.read_csv(path, keep_default_na=False, low_memory=False).set_index("Word")
        table = (table[["V.Mean.Sum", "A.Mean.Sum", "D.Mean.Sum"]] - 1.0) / 8.0
        source = "Warriner, Kuperman & Brysbaert (2013), rescaled (x-1)/8"
    vad = {c: tuple(float(x) for x in table.loc[c]) for c in CATEGORIES if c in table.index}
    return LexiconPrototypes(source, vad)
