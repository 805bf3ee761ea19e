"""The shared emotion space: category mapping, VAD sources, and the similarity target."""

import math

import numpy as np
import pytest

from resonance.data.emotion import (
    CATEGORIES,
    CATEGORY_VAD,
    EmotionLabel,
    canonical_category,
    emotional_similarity,
    from_category,
    from_distribution,
    from_quadrant,
    from_va,
    load_lexicon_prototypes,
    similarity_matrix,
)


@pytest.mark.parametrize("label, expected", [
    ("ANG", "anger"), ("angry", "anger"), ("Suprised", "surprise"), ("ps", "surprise"),
    ("pleasant_surprise", "surprise"), ("sa", "sadness"), ("Happy", "happiness"), ("calm", "calm"),
    ("awe", "awe"), ("NEU", "neutral"), ("Disgusted", "disgust"), ("fearful", "fear"),
])
def test_source_labels_map_to_unified_categories(label, expected):
    assert canonical_category(label) == expected


def test_unknown_label_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown emotion label 'bored'"):
        canonical_category("bored")


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
