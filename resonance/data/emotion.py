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

Labels outside the categories (boredom, love, trust, shame ...) do *not* become new categories: they are
placed by their valence/arousal/dominance in an affective lexicon read from ``$RESONANCE_DATA/lexicons``
(never bundled), keep their word in ``original_labels`` and are flagged ``label_from_lexicon``; a user
label map overrides (see :class:`LabelResolver`). Corpus short codes (SAVEE ``f``, EMO-DB ``F``, CREMA-D
``ANG`` ...) are never global synonyms: each lives in its own corpus's adapter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from resonance.errors import ParameterError, UnknownNameError

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

#: Word synonyms and upstream misspellings of the unified categories (lower-case keys). Corpus short
#: codes (SAVEE ``a``/``f``/``sa``, CREMA-D ``ANG``, TESS ``ps``, EMO-DB ``W``/``A``/``F`` ...) are *not*
#: here: one letter means different emotions in different corpora (SAVEE ``f`` = fear, EMO-DB ``F`` =
#: Freude = happiness), so each code table lives in its own corpus's adapter.
LABEL_SYNONYMS: dict[str, str] = {
    "angry": "anger",
    "disgusted": "disgust",
    "fearful": "fear", "scared": "fear",
    "sad": "sadness",
    "happy": "happiness", "joy": "happiness",
    "surprised": "surprise", "suprised": "surprise",
    "pleasant_surprise": "surprise", "pleasant_surprised": "surprise", "pleasant surprise": "surprise",
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
        raise UnknownNameError(f"unknown emotion label {label!r}; expected one of {', '.join(CATEGORIES)} or a synonym")
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
            raise ParameterError(f"category distribution sums to {total}, not 1")
        unknown = set(self.distribution) - set(CATEGORIES)
        if unknown:
            raise ParameterError(f"unknown categories {sorted(unknown)}")
        for name in ("valence", "arousal"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ParameterError(f"{name}={value} is outside [0, 1]")

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
            raise ParameterError(f"negative weight {w} for {label!r}")
        name = canonical_category(label)
        merged[name] = merged.get(name, 0.0) + float(w)
    total = sum(merged.values())
    if total <= 0:
        raise ParameterError("all weights are zero: the distribution is undefined")
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
        raise UnknownNameError(f"unknown quadrant {quadrant!r}; expected Q1..Q4")
    return from_va(*QUADRANT_VA[key], vad_source=VAD_SOURCE_QUADRANT)


def similarity_matrix(p_a: np.ndarray, va_a: np.ndarray, p_b: np.ndarray, va_b: np.ndarray,
                      config: SimilarityConfig = SimilarityConfig()) -> np.ndarray:
    """Emotional similarity in [0, 1] of every item of set A with every item of set B.

    ``sim = w * cos_K(p_a, p_b) + (1 - w) * exp(-|va_a - va_b|^2 / (2 h^2))`` where
    ``cos_K(p, q) = p K q^T / sqrt((p K p^T) (q K q^T))`` is the cosine of the two category
    distributions in the metric of the :func:`category_kernel` ``K``: two items are similar when their
    categories are close *and* their valence/arousal points are close. ``K`` is a Gaussian kernel matrix
    (positive semi-definite, non-negative), so ``cos_K`` lies in [0, 1] and is exactly 1 for identical
    distributions, one-hot or soft: identical labels give 1 (to rounding, 1e-15), the function is
    symmetric, and with the distributions fixed it decreases strictly with the VA distance. For one-hot
    labels ``p K p^T = 1``, so the category term is ``K[i, j]`` unchanged by the normalisation.

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
    p_a, p_b = np.atleast_2d(np.asarray(p_a, float)), np.atleast_2d(np.asarray(p_b, float))
    va_a, va_b = np.atleast_2d(np.asarray(va_a, float)), np.atleast_2d(np.asarray(va_b, float))
    kernel = category_kernel(config.bandwidth)
    norm_a = np.sqrt(np.einsum("ij,jk,ik->i", p_a, kernel, p_a))
    norm_b = np.sqrt(np.einsum("ij,jk,ik->i", p_b, kernel, p_b))
    if (norm_a <= 0).any() or (norm_b <= 0).any():
        raise ParameterError("every category distribution needs positive mass")
    category_term = np.clip((p_a @ kernel @ p_b.T) / np.outer(norm_a, norm_b), 0.0, 1.0)
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
    """Read the category words' VAD from NRC-VAD (tab-separated ``.txt``) or Warriner (CSV, 1-9, rescaled
    by ``(x - 1) / 8``), with the same readers as :class:`Lexicon`."""
    path = Path(path)
    if path.suffix == ".txt":
        table, source = _read_nrc(str(path)), VAD_SOURCE_NRC
    else:
        table, source = _read_warriner(str(path)), VAD_SOURCE_WARRINER
    return LexiconPrototypes(source, {c: table[c] for c in CATEGORIES if c in table})


# ----------------------------------------------------------------------------------------------------
# Labels outside the 12 categories
# ----------------------------------------------------------------------------------------------------
#
# Decision (documented in docs and the adapters): the category set stays at these 12. A label word
# outside it (boredom, love, trust, shame, anticipation ...) is placed by its valence/arousal/dominance
# from an affective lexicon read from ``$RESONANCE_DATA/lexicons/`` (never bundled), its category
# distribution follows from that point (:func:`distribution_from_va`), the word is kept verbatim in
# the item's ``original_labels`` and the item is flagged ``label_from_lexicon``. Boredom (NRC-VAD
# .167/.139/.255) thus becomes a low-arousal, negative point whose nearest category is sadness, but
# more than one kernel width away from it, so it is also flagged ``va_far_from_categories``: it is
# never silently "sadness". A user label map (CSV ``word,category`` or ``word,valence,arousal``)
# overrides both the categories and the lexicon (flag ``label_from_user_mapping``).

FLAG_LEXICON = "label_from_lexicon"
FLAG_USER_MAPPING = "label_from_user_mapping"
FLAG_EMOTION_FROM_VA = "emotion_from_va"
FLAG_FAR_FROM_CATEGORIES = "va_far_from_categories"
#: A VA point further than this from every category prototype is flagged ``va_far_from_categories``:
#: one kernel width of :func:`distribution_from_va`.
FAR_FROM_CATEGORIES = 0.15
NRC_VAD_FILE = "NRC-VAD-Lexicon.txt"
WARRINER_FILE = "Ratings_Warriner_et_al.csv"
VAD_SOURCE_WARRINER = "Warriner, Kuperman & Brysbaert (2013), rescaled (x-1)/8"

#: Names of emotions from published taxonomies: the 20 of WikiArt Emotions (Mohammad & Kiritchenko
#: 2018), Plutchik's wheel, the Geneva Emotion Wheel, GoEmotions (Demszky et al. 2020), GEMS
#: (Zentner et al. 2008), EMO-DB's boredom and common adjective forms. A *folder* name maps through the
#: lexicon only when it is one of these (a folder called ``audio`` or ``speaker`` is in NRC-VAD too,
#: but names no emotion); a label *declared* as an emotion (a manifest's ``emotion`` column) maps
#: whenever the lexicon has the word.
EMOTION_TERMS: frozenset[str] = frozenset("""
agreeableness anticipation arrogance disagreeableness gratitude humility love optimism pessimism regret
shame shyness trust acceptance admiration adoration affection aggressiveness amazement annoyance anxiety
apprehension approval boredom bored caring compassion confidence confusion contempt courage curiosity
delight desire despair disappointment disapproval distraction dread ecstasy elation embarrassment envy
frustration gloom grief guilt hate hatred hope horror interest irritation jealousy loathing loneliness
longing melancholy misery nervousness nostalgia panic passion peace peacefulness pensiveness pleasure
power pride rage realization relaxation relief remorse satisfaction serenity shock sorrow submission
sympathy tenderness tension terror tranquility transcendence triumph vigilance wonder worry yearning
anxious ashamed cheerful cheerfulness content delighted depressed depression disappointed embarrassed
frustrated grateful guilty hopeful jealous joyful lonely nervous peaceful proud relaxed relieved
serene tender tense worried sublime bliss
""".split())


class Lexicon:
    """Affective word norms read from a folder (``NRC-VAD-Lexicon.txt``, else Warriner's CSV).

    Parameters
    ----------
    folder : path or None
        The ``lexicons/`` folder; ``None`` is ``$RESONANCE_DATA/lexicons``. A folder without either file
        gives an empty lexicon (:attr:`available` is False): nothing is bundled.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        if folder is None:
            from resonance.paths import data_root

            folder = data_root() / "lexicons"
        self.folder = Path(folder)
        self._tables: list[tuple[str, dict[str, tuple[float, float, float]]]] | None = None

    def _load(self) -> list[tuple[str, dict[str, tuple[float, float, float]]]]:
        if self._tables is None:
            tables = []
            for name, source, reader in ((NRC_VAD_FILE, VAD_SOURCE_NRC, _read_nrc),
                                         (WARRINER_FILE, VAD_SOURCE_WARRINER, _read_warriner)):
                path = self.folder / name
                if path.is_file():
                    tables.append((source, _cached_table(str(path), path.stat().st_mtime_ns, reader)))
            self._tables = tables
        return self._tables

    @property
    def available(self) -> bool:
        """Whether a lexicon file was found."""
        return bool(self._load())

    def lookup(self, word: str) -> tuple[tuple[float, float, float], str] | None:
        """``((valence, arousal, dominance), source)`` of ``word`` (lower case), or None.

        Tried in turn: the word, then a ``-ness`` noun's adjective (``agreeableness`` -> ``agreeable``);
        NRC-VAD before Warriner. ``source`` names the lexicon and the entry used.
        """
        key = word.strip().lower()
        candidates = [key]
        if key.endswith("ness") and len(key) > 6:
            stem = key[:-4]
            candidates += [stem, stem[:-1] + "y"] if stem.endswith("i") else [stem]
        for source, table in self._load():
            for candidate in candidates:
                if candidate in table:
                    via = "" if candidate == key else f" (for {key!r})"
                    return table[candidate], f"{source} entry {candidate!r}{via}"
        return None


def _read_nrc(path: str) -> dict[str, tuple[float, float, float]]:
    table = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        next(handle, None)
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 4:
                try:
                    table[fields[0].strip().lower()] = (float(fields[1]), float(fields[2]), float(fields[3]))
                except ValueError:
                    continue
    return table


def _read_warriner(path: str) -> dict[str, tuple[float, float, float]]:
    import csv

    table = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                v, a, d = (float(row[c]) for c in ("V.Mean.Sum", "A.Mean.Sum", "D.Mean.Sum"))
            except (KeyError, TypeError, ValueError):
                continue
            table[(row.get("Word") or "").strip().lower()] = ((v - 1) / 8, (a - 1) / 8, (d - 1) / 8)
    return table


_TABLES: dict[tuple[str, int], dict[str, tuple[float, float, float]]] = {}


def _cached_table(path: str, mtime: int, reader) -> dict[str, tuple[float, float, float]]:
    key = (path, mtime)
    if key not in _TABLES:
        _TABLES[key] = reader(path)
    return _TABLES[key]


def va_flags(valence: float, arousal: float) -> tuple[str, ...]:
    """``('va_far_from_categories',)`` when the point is further than :data:`FAR_FROM_CATEGORIES` from
    every category prototype (its most probable category is then a poor summary), else ``()``."""
    va = np.array([CATEGORY_VAD[c][:2] for c in CATEGORIES])
    nearest = float(np.sqrt(((va - np.array([valence, arousal])) ** 2).sum(-1)).min())
    return (FLAG_FAR_FROM_CATEGORIES,) if nearest > FAR_FROM_CATEGORIES else ()


@dataclass(frozen=True)
class ResolvedLabel:
    """A source label word turned into an :class:`EmotionLabel`, with the flags saying how."""

    label: EmotionLabel
    flags: tuple[str, ...] = ()
    original: str = ""


def _plausible_word(key: str) -> bool:
    """Short codes (``a``, ``f``, ``sa``, ``ps``) are never looked up: they mean different things in
    different corpora."""
    letters = key.replace("-", "").replace("_", "").replace(" ", "")
    return len(letters) >= 3 and letters.isalpha()


class LabelResolver:
    """Turns a label word into a label: user map, then the 12 categories, then the lexicon.

    Parameters
    ----------
    label_map : path, mapping or None
        A user mapping that overrides everything: a CSV file with columns ``word,category`` (or
        ``word,emotion``) or ``word,valence,arousal[,dominance]`` (values in [0, 1]), or a dict of
        word -> category or word -> (valence, arousal[, dominance]).
    lexicon : Lexicon, path or None
        The affective lexicon (see :class:`Lexicon`); ``None`` reads ``$RESONANCE_DATA/lexicons``.
    """

    def __init__(self, label_map: str | Path | Mapping | None = None, lexicon: Lexicon | str | Path | None = None
                 ) -> None:
        self.lexicon = lexicon if isinstance(lexicon, Lexicon) else Lexicon(lexicon)
        self.label_map_source = str(label_map) if isinstance(label_map, str | Path) else "user label map"
        self.mapping: dict[str, str | tuple[float, float, float]] = _load_label_map(label_map)

    def resolve(self, text: str, *, declared: bool = True) -> ResolvedLabel:
        """The label of ``text``.

        ``declared`` says the text was given as an emotion (a manifest's ``emotion`` column); a folder
        name (``declared=False``) maps through the lexicon only when it is one of :data:`EMOTION_TERMS`.

        Raises
        ------
        KeyError
            If the word is no category, not in the user map, and not (usable) in the lexicon; the message
            says how to fix it.
        """
        key = text.strip().lower()
        if key in self.mapping:
            target = self.mapping[key]
            if isinstance(target, str):
                return ResolvedLabel(from_category(target), (FLAG_USER_MAPPING,), text)
            v, a, d = target
            label = from_va(v, a, d, vad_source=f"{self.label_map_source} entry {key!r}")
            return ResolvedLabel(label, (FLAG_USER_MAPPING, FLAG_EMOTION_FROM_VA, *va_flags(v, a)), text)
        try:
            return ResolvedLabel(from_category(key), (), text)
        except KeyError:
            pass
        hint = "give a label map (CSV word,category or word,valence,arousal)"
        if not _plausible_word(key):
            raise UnknownNameError(f"unknown emotion label {text!r}: not one of the 12 categories, and a short code is "
                           f"never guessed (one letter means different emotions in different corpora); name the "
                           f"corpus's adapter or {hint}")
        if not declared and key not in EMOTION_TERMS:
            raise UnknownNameError(f"unknown emotion label {text!r}: not one of the 12 categories "
                                   f"({', '.join(CATEGORIES)}) nor a known emotion name; {hint}")
        found = self.lexicon.lookup(key)
        if found is None:
            where = (f"not in the lexicon at {self.lexicon.folder}" if self.lexicon.available else
                     f"and no lexicon was found at {self.lexicon.folder} (put {NRC_VAD_FILE} there or set "
                     "RESONANCE_DATA)")
            raise UnknownNameError(f"unknown emotion label {text!r}: not one of the 12 categories, {where}; {hint}")
        (v, a, d), source = found
        label = from_va(v, a, d, vad_source=source)
        return ResolvedLabel(label, (FLAG_LEXICON, *va_flags(v, a)), text)


def _unit(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ParameterError(f"{what}={value!r} is not a number") from None
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ParameterError(f"{what}={number} is outside [0, 1]")
    return number


def _load_label_map(label_map: str | Path | Mapping | None) -> dict[str, str | tuple[float, float, float]]:
    from resonance.errors import ParameterError

    if label_map is None:
        return {}
    if isinstance(label_map, Mapping):
        entries = dict(label_map.items())
        where = "label map"
    else:
        from resonance.data.adapters._files import read_csv

        path = Path(label_map)
        if not path.is_file():
            raise ParameterError(f"label map {path} not found; give a CSV file with word,category or "
                                 "word,valence,arousal columns")
        table = read_csv(path, ["word"])
        category_column = next((c for c in ("category", "emotion") if c in table.columns), None)
        if category_column is None and not {"valence", "arousal"} <= set(table.columns):
            raise ParameterError(f"label map {path} needs a 'category' column or 'valence' and 'arousal' columns")
        entries = {}
        for line, row in zip(table.lines, table.rows, strict=True):
            if category_column and row[category_column]:
                entries[row["word"]] = row[category_column]
            else:
                entries[row["word"]] = (row.get("valence", ""), row.get("arousal", ""), row.get("dominance", ""),
                                        f"line {line}")
        where = str(path)
    mapping: dict[str, str | tuple[float, float, float]] = {}
    for word, target in entries.items():
        key = str(word).strip().lower()
        values = [] if isinstance(target, str) else list(target)
        at = f" ({values.pop()})" if len(values) == 4 else ""
        try:
            if isinstance(target, str):
                mapping[key] = canonical_category(target)
            else:
                v, a = (_unit(str(x), n) for x, n in zip(values[:2], ("valence", "arousal"), strict=True))
                d = _unit(str(values[2]), "dominance") if len(values) > 2 and str(values[2]).strip() else math.nan
                mapping[key] = (v, a, d)
        except (KeyError, ValueError) as error:
            message = error.args[0] if error.args else str(error)
            raise ParameterError(f"{where}: entry {word!r}{at}: {message}") from None
    return mapping
