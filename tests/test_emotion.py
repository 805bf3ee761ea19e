"""The shared emotion space: category mapping, VAD sources, and the similarity target."""

import math

import numpy as np
import pytest

from resonance.data.emotion import (
    CATEGORIES,
    CATEGORY_VAD,
    EmotionLabel,
    canonical_category,
    category_kernel,
    emotional_similarity,
    from_category,
    from_distribution,
    from_quadrant,
    from_va,
    load_lexicon_prototypes,
    similarity_matrix,
)


@pytest.mark.parametrize("label, expected", [
    ("angry", "anger"), ("Suprised", "surprise"), ("pleasant_surprise", "surprise"), ("sad", "sadness"),
    ("Happy", "happiness"), ("calm", "calm"), ("awe", "awe"), ("Neutral", "neutral"), ("Disgusted", "disgust"),
    ("fearful", "fear"),
])
def test_source_labels_map_to_unified_categories(label, expected):
    assert canonical_category(label) == expected


def test_unknown_label_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown emotion label 'bored'"):
        canonical_category("bored")


@pytest.mark.parametrize("code", ["a", "d", "f", "h", "n", "sa", "su", "ps", "ANG", "DIS", "FEA", "HAP", "NEU", "W"])
def test_corpus_short_codes_are_no_global_synonyms(code):
    """Issue 11 item 8: SAVEE's a/f/... and CREMA-D's ANG/... live in their adapters only (in EMO-DB,
    A = Angst = fear and F = Freude = happiness)."""
    with pytest.raises(KeyError):
        canonical_category(code)


def test_category_prototypes_match_the_nrc_vad_lexicon(shared_data):
    lexicon = load_lexicon_prototypes(shared_data / "lexicons" / "NRC-VAD-Lexicon.txt")
    assert lexicon.vad == CATEGORY_VAD


def test_warriner_prototypes_agree_with_nrc_in_valence_rank(shared_data):
    from scipy.stats import spearmanr

    warriner = load_lexicon_prototypes(shared_data / "lexicons" / "Ratings_Warriner_et_al.csv")
    shared = sorted(set(warriner.vad) & set(CATEGORY_VAD))
    assert len(shared) >= 10
    rho = spearmanr([warriner.vad[c][0] for c in shared], [CATEGORY_VAD[c][0] for c in shared]).statistic
    assert rho > 0.7


def test_category_label_is_one_hot_with_prototype_vad():
    label = from_category("sad")
    assert label.emotion == "sadness"
    assert label.vector().sum() == pytest.approx(1.0)
    assert (label.valence, label.arousal, label.dominance) == CATEGORY_VAD["sadness"]


def test_distribution_label_keeps_partial_information():
    label = from_distribution({"fear": 2, "sadness": 1, "awe": 1})
    assert label.distribution == pytest.approx({"fear": 0.5, "sadness": 0.25, "awe": 0.25})
    expected_v = 0.5 * CATEGORY_VAD["fear"][0] + 0.25 * CATEGORY_VAD["sadness"][0] + 0.25 * CATEGORY_VAD["awe"][0]
    assert label.valence == pytest.approx(expected_v)


def test_invalid_labels_are_rejected():
    with pytest.raises(ValueError, match="sums to"):
        EmotionLabel({"anger": 0.5}, 0.5, 0.5, 0.5, "test")
    with pytest.raises(ValueError, match="outside"):
        EmotionLabel({"anger": 1.0}, 1.5, 0.5, 0.5, "test")
    with pytest.raises(ValueError, match="zero"):
        from_distribution({"anger": 0})


def test_quadrants_follow_russell():
    q1, q2, q3, q4 = (from_quadrant(q) for q in ("Q1", "Q2", "Q3", "Q4"))
    assert q1.valence > 0.5 and q1.arousal > 0.5
    assert q2.valence < 0.5 and q2.arousal > 0.5
    assert q3.valence < 0.5 and q3.arousal < 0.5
    assert q4.valence > 0.5 and q4.arousal < 0.5
    assert math.isnan(q1.dominance)
    assert q3.emotion == "sadness" and q4.emotion == "calm"
    assert from_quadrant(2).emotion == q2.emotion


def test_similarity_is_one_for_identical_and_orders_congruence():
    sad, sadness, happy = from_category("sad"), from_category("sadness"), from_category("happy")
    assert emotional_similarity(sad, sadness) == pytest.approx(1.0)
    # negative, aroused emotions resemble each other more than they resemble joy
    assert emotional_similarity(from_category("angry"), from_category("fear")) > emotional_similarity(
        from_category("angry"), happy)
    assert emotional_similarity(sad, happy) < 0.05
    calm_sound, content_painting = from_category("calm"), from_category("contentment")
    assert emotional_similarity(calm_sound, content_painting) > emotional_similarity(calm_sound, from_category("anger"))


def test_similarity_matrix_is_symmetric_and_bounded():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(len(CATEGORIES)), size=20)
    va = rng.uniform(0, 1, size=(20, 2))
    sim = similarity_matrix(p, va, p, va)
    assert sim.shape == (20, 20)
    np.testing.assert_allclose(sim, sim.T, atol=1e-12)
    assert sim.min() >= 0 and sim.max() <= 1 + 1e-12


def test_continuous_label_distribution_follows_its_point():
    label = from_va(0.06, 0.29, vad_source="test")
    assert label.emotion == "sadness"
    assert sum(label.distribution.values()) == pytest.approx(1.0)


def test_ties_go_to_the_sources_preferred_category():
    votes = {"awe": 1, "excitement": 1, "fear": 1}
    assert from_distribution(votes).emotion == "fear"  # CATEGORIES order
    preferred = from_distribution(votes, preferred="excitement")
    assert preferred.emotion == "excitement"
    assert preferred.distribution["excitement"] == pytest.approx(1 / 3)  # the shares stay exact
    assert from_distribution({"awe": 2, "fear": 1}, preferred="fear").emotion == "awe"  # no tie, no override


# -- the soft target (issue 11 item 10) -------------------------------------------------------------

def _random_soft_labels(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(len(CATEGORIES), 0.3), size=n)
    va = rng.uniform(0, 1, size=(n, 2))
    return p, va


def test_self_similarity_is_one_for_every_label_soft_or_not():
    p, va = _random_soft_labels(200)
    sim = similarity_matrix(p, va, p, va)
    np.testing.assert_allclose(np.diag(sim), 1.0, rtol=0, atol=1e-12)
    # the two cases of the issue: a three-way tie (D-ViSA) and an EMOPIA quadrant (a VA-derived spread)
    tie = from_distribution({"awe": 1, "excitement": 1, "fear": 1})
    assert emotional_similarity(tie, tie) == pytest.approx(1.0, abs=1e-12)  # was 0.72
    q = from_quadrant("Q1")
    assert emotional_similarity(q, q) == pytest.approx(1.0, abs=1e-12)      # was 0.87
    # one-hot labels are unchanged by the normalisation: the category term is K[i, j]
    kernel = category_kernel()
    a, b = from_category("anger"), from_category("fear")
    expected = 0.5 * kernel[CATEGORIES.index("anger"), CATEGORIES.index("fear")] + 0.5 * math.exp(
        -((a.valence - b.valence) ** 2 + (a.arousal - b.arousal) ** 2) / (2 * 0.25**2))
    assert emotional_similarity(a, b) == pytest.approx(expected, abs=1e-12)


def test_soft_similarity_is_symmetric_bounded_and_below_one_off_the_diagonal():
    p, va = _random_soft_labels(120, seed=1)
    q, vb = _random_soft_labels(80, seed=2)
    ab, ba = similarity_matrix(p, va, q, vb), similarity_matrix(q, vb, p, va)
    np.testing.assert_allclose(ab, ba.T, atol=1e-12)
    assert ab.min() >= 0.0 and ab.max() <= 1.0
    off = similarity_matrix(p, va, p, va)[~np.eye(len(p), dtype=bool)]
    assert off.max() < 1.0


def test_soft_similarity_decreases_with_va_distance():
    rng = np.random.default_rng(3)
    p, va = _random_soft_labels(50, seed=4)
    for k in range(len(p)):
        # same distribution, a point moving away along a random direction
        direction = rng.normal(size=2)
        direction /= np.linalg.norm(direction)
        steps = np.linspace(0.0, 0.5, 11)
        points = np.clip(va[k] + steps[:, None] * direction, 0, 1)
        distance = np.linalg.norm(points - va[k], axis=1)
        keep = np.concatenate([[True], np.diff(distance) > 1e-9])  # clipping can stall the walk
        sim = similarity_matrix(p[k], va[k], np.repeat(p[k:k + 1], keep.sum(), 0), points[keep])[0]
        assert np.all(np.diff(sim) < 0), k
    # and for continuous labels whose distribution itself follows the VA point
    for _ in range(50):
        start = rng.uniform(0.1, 0.9, 2)
        direction = rng.normal(size=2)
        direction /= np.linalg.norm(direction)
        points = [start + t * direction for t in np.linspace(0, 0.4, 9)]
        points = [x for x in points if (x >= 0).all() and (x <= 1).all()]
        labels = [from_va(*x, vad_source="t") for x in points]
        sims = [emotional_similarity(labels[0], other) for other in labels]
        assert np.all(np.diff(sims) < 0)


def test_similarity_rejects_an_empty_distribution():
    with pytest.raises(ValueError, match="positive mass"):
        similarity_matrix(np.zeros(len(CATEGORIES)), [0.5, 0.5], np.ones(len(CATEGORIES)) / 12, [0.5, 0.5])
