"""Evaluation metrics against values computed by hand on small, written-out cases."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from resonance.data.emotion import from_category, similarity_matrix
from resonance.errors import ParameterError
from resonance.evaluate import (
    category_metrics,
    cluster_joint_space,
    concordance_correlation,
    cross_modal_retrieval,
    group_bootstrap_ci,
    hungarian_accuracy,
    modality_gap,
    modality_mixing,
    pairwise_correspondence,
    pearson_correlation,
    purity,
    regression_metrics,
    retrieval_metrics,
    sample_triplets,
    to_jsonable,
    to_markdown,
    triplet_scores,
    write_json,
    write_markdown,
)


def unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


# -- retrieval --------------------------------------------------------------------------------------
# Gallery of 4 items on the unit circle at 0, 30, 60, 90 degrees with labels A, B, A, C; cosine
# similarity falls with the angle, so each query ranks the gallery by angular distance.
GALLERY = np.array([unit(0), unit(30), unit(60), unit(90)])
GALLERY_LABELS = ["A", "B", "A", "C"]
# q0 at 0 deg (A):  order g0 g1 g2 g3 = A B A C, hits 1 0 1 0: P@1 = 1, P@3 = 2/3, AP = (1/1 + 2/3)/2 = 5/6, RR = 1
# q1 at 90 deg (A): order g3 g2 g1 g0 = C A B A, hits 0 1 0 1: P@1 = 0, P@3 = 1/3, AP = (1/2 + 2/4)/2 = 1/2, RR = 1/2
# q2 at 40 deg (B): order g1 g2 g0 g3 = B A A C, hits 1 0 0 0: P@1 = 1, P@3 = 1/3, AP = 1/1 = 1, RR = 1
QUERIES = np.array([unit(0), unit(90), unit(40)])
QUERY_LABELS = ["A", "A", "B"]
# Macro: category A = mean(q0, q1), category B = q2, then the mean of the two categories.
P1 = ((1 + 0) / 2 + 1) / 2              # 0.75  (micro would be 2/3)
P3 = ((2 / 3 + 1 / 3) / 2 + 1 / 3) / 2  # 5/12
MAP = ((5 / 6 + 1 / 2) / 2 + 1) / 2     # 5/6
MRR = ((1 + 1 / 2) / 2 + 1) / 2         # 7/8
# Graded relevance for nDCG@2 (rows: queries, columns: gallery in gallery order):
RELEVANCE = np.array([
    [1.0, 0.5, 0.0, 0.0],  # q0 ranks g0, g1 first: gains 1, 0.5 = the ideal order -> nDCG = 1
    [1.0, 0.0, 0.5, 0.0],  # q1 ranks g3, g2 first: gains 0, 0.5; ideal 1, 0.5
    [0.0, 0.0, 0.0, 0.0],  # q2: nothing relevant -> nDCG = 0 by convention
])
NDCG_Q1 = (0.5 / math.log2(3)) / (1.0 + 0.5 / math.log2(3))
NDCG2 = ((1.0 + NDCG_Q1) / 2 + 0.0) / 2


def small_retrieval(**kwargs):
    args = dict(query_labels=QUERY_LABELS, gallery_labels=GALLERY_LABELS, ks=(1, 3))
    args.update(kwargs)
    return retrieval_metrics(QUERIES, GALLERY, **args)


def test_retrieval_macro_metrics_equal_hand_computed_values():
    r = small_retrieval(relevance=RELEVANCE, ndcg_k=2)
    assert r.precision[1] == pytest.approx(P1)
    assert r.precision[3] == pytest.approx(P3)
    assert r.mean_average_precision == pytest.approx(MAP)
    assert r.mean_reciprocal_rank == pytest.approx(MRR)
    assert r.ndcg == pytest.approx(NDCG2)
    assert r.per_category.loc["A", "AP"] == pytest.approx((5 / 6 + 1 / 2) / 2)
    assert r.per_category.loc["A", "n_queries"] == 2 and r.per_category.loc["A", "n_relevant"] == 2
    assert r.n_queries == 3 and r.excluded_categories == ()


def test_retrieval_ndcg_agrees_with_sklearn_per_query():
    scores = QUERIES @ GALLERY.T
    r = retrieval_metrics(QUERIES[:2], GALLERY, query_labels=QUERY_LABELS[:2], gallery_labels=GALLERY_LABELS,
                          relevance=RELEVANCE[:2], ks=(1,), ndcg_k=2)
    for i in range(2):
        assert ndcg_score(RELEVANCE[i:i + 1], scores[i:i + 1], k=2) == pytest.approx([1.0, NDCG_Q1][i])
    assert r.ndcg == pytest.approx((1.0 + NDCG_Q1) / 2)


def test_retrieval_accepts_similarity_matrix_as_graded_relevance():
    # Each query is identical to one gallery item of its own category; that item has similarity 1, the
    # maximum, so it is the ideal first result: nDCG@1 = 1. The reversed ranking puts the least similar
    # item first instead: nDCG@1 = sim(anger, calm) / 1 < 1.
    labels = [from_category(c) for c in ("anger", "happiness", "calm")]
    p = np.array([lab.vector() for lab in labels])
    va = np.array([[lab.valence, lab.arousal] for lab in labels])
    relevance = similarity_matrix(p, va, p, va)
    r = retrieval_metrics(np.eye(3), np.eye(3), query_labels=["anger", "happiness", "calm"],
                          gallery_labels=["anger", "happiness", "calm"], relevance=relevance, ks=(1,), ndcg_k=1)
    assert r.ndcg == pytest.approx(1.0)
    worst = retrieval_metrics([[0.0, 0.0, 1.0]], np.eye(3), query_labels=["anger"],
                              gallery_labels=["anger", "happiness", "calm"], relevance=relevance[:1], ks=(1,),
                              ndcg_k=1)
    assert worst.ndcg == pytest.approx(relevance[0, 2] / relevance[0].max())


def test_retrieval_scale_of_embeddings_does_not_matter():
    r = retrieval_metrics(QUERIES * [[3.0], [0.5], [7.0]], GALLERY * 2.0, query_labels=QUERY_LABELS,
                          gallery_labels=GALLERY_LABELS, ks=(1, 3))
    assert r.mean_average_precision == pytest.approx(MAP)


def test_category_absent_from_the_gallery_is_excluded_from_the_macro_average():
    queries = np.vstack([QUERIES, [unit(45)]])  # a fourth query of category D, which the gallery lacks
    r = retrieval_metrics(queries, GALLERY, query_labels=[*QUERY_LABELS, "D"], gallery_labels=GALLERY_LABELS,
                          ks=(1, 3))
    assert r.excluded_categories == ("D",) and r.n_excluded_queries == 1 and r.n_queries == 3
    assert list(r.per_category.index) == ["A", "B"]
    assert r.precision[1] == pytest.approx(P1) and r.mean_average_precision == pytest.approx(MAP)


def test_ties_are_broken_by_gallery_order():
    # Two identical gallery vectors, labels X then Y; a query of category Y scores both 1.0.
    gallery = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    first = retrieval_metrics([[1.0, 0.0]], gallery, query_labels=["Y"], gallery_labels=["X", "Y", "Z"], ks=(1,))
    assert first.precision[1] == 0.0 and first.mean_reciprocal_rank == 0.5  # X (earlier) ranks first
    swapped = retrieval_metrics([[1.0, 0.0]], gallery, query_labels=["Y"], gallery_labels=["Y", "X", "Z"], ks=(1,))
    assert swapped.precision[1] == 1.0 and swapped.mean_reciprocal_rank == 1.0


def test_cross_modal_retrieval_runs_both_directions_with_transposed_relevance():
    out = cross_modal_retrieval(QUERIES, GALLERY, labels_a=QUERY_LABELS, labels_b=GALLERY_LABELS,
                                relevance=RELEVANCE, names=("sound", "image"), ks=(1, 3), ndcg_k=2)
    assert set(out) == {"sound->image", "image->sound"}
    assert out["sound->image"].mean_average_precision == pytest.approx(MAP)
    back = retrieval_metrics(GALLERY, QUERIES, query_labels=GALLERY_LABELS, gallery_labels=QUERY_LABELS,
                             relevance=RELEVANCE.T, ks=(1, 3), ndcg_k=2)
    assert out["image->sound"].ndcg == pytest.approx(back.ndcg)
    # Backward by hand: image queries g0 (A), g1 (B), g2 (A) over the sounds; C is absent among the sounds.
    # g0 at 0 deg: q0 (0), q2 (40), q1 (90) = A B A -> RR 1;  g2 at 60 deg: q2 (20), q1 (30), q0 (60) = B A A -> RR 1/2
    # g1 at 30 deg: q2 (10) = B -> RR 1.  Macro MRR = ((1 + 1/2) / 2 + 1) / 2 = 7/8
    assert out["image->sound"].excluded_categories == ("C",)
    assert out["image->sound"].mean_reciprocal_rank == pytest.approx(7 / 8)


@pytest.mark.parametrize("kwargs, match", [
    ({"ks": (1, 5)}, "only 4 items"),
    ({"ndcg_k": 10, "relevance": RELEVANCE}, "only 4 items"),
    ({"ks": (0,)}, "positive"),
    ({"gallery_labels": ["X", "Y", "X", "Z"]}, "no category occurs"),
    ({"gallery_labels": ["A", "B"]}, "one per item"),
    ({"relevance": RELEVANCE[:, :3], "ndcg_k": 2}, "shape"),
    ({"relevance": -RELEVANCE, "ndcg_k": 2}, ">= 0"),
])
def test_retrieval_rejects_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        small_retrieval(**kwargs)


def test_retrieval_rejects_bad_embeddings():
    with pytest.raises(ParameterError, match="dimension"):
        retrieval_metrics(QUERIES, np.ones((4, 3)), query_labels=QUERY_LABELS, gallery_labels=GALLERY_LABELS, ks=(1,))
    with pytest.raises(ParameterError, match="all zeros"):
        retrieval_metrics(QUERIES, np.vstack([GALLERY[:3], [0.0, 0.0]]), query_labels=QUERY_LABELS,
                          gallery_labels=GALLERY_LABELS, ks=(1,))
    with pytest.raises(ParameterError, match="NaN"):
        retrieval_metrics([[np.nan, 1.0]], GALLERY, query_labels=["A"], gallery_labels=GALLERY_LABELS, ks=(1,))


# -- pairwise correspondence ------------------------------------------------------------------------

def test_pairwise_accuracy_and_auc_equal_hand_computed_values():
    congruent = [0.9, 0.2, 0.5, 0.6]
    incongruent = [0.1, 0.5, 0.5, 0.3]
    # Triplets: win, loss, tie (1/2), win -> accuracy 2.5 / 4.
    # AUC over 4 x 4 (positive, negative) pairs, ties 1/2: 0.9 beats 4; 0.2 beats 0.1 -> 1;
    # 0.5 beats 0.1 and 0.3, ties 0.5 twice -> 3; 0.6 beats 4 -> 12 / 16.
    r = pairwise_correspondence(congruent, incongruent)
    assert r.accuracy == pytest.approx(0.625)
    assert r.auc == pytest.approx(0.75)
    assert r.n_triplets == 4


def test_pairwise_rejects_mismatched_lengths():
    with pytest.raises(ParameterError, match="one per item"):
        pairwise_correspondence([0.1, 0.2], [0.3])


def test_sample_triplets_are_congruent_then_incongruent_and_seeded():
    anchors = ["A", "B", "C"]  # C has no congruent candidate: skipped
    candidates = ["A", "A", "B"]
    t = sample_triplets(anchors, candidates, per_anchor=5, seed=3)
    assert t.shape == (10, 3) and set(t[:, 0]) == {0, 1}
    cand = np.array(candidates)
    assert (cand[t[:, 1]] == np.array(anchors)[t[:, 0]]).all()
    assert (cand[t[:, 2]] != np.array(anchors)[t[:, 0]]).all()
    assert (sample_triplets(anchors, candidates, per_anchor=5, seed=3) == t).all()
    with pytest.raises(ParameterError, match="no anchor"):
        sample_triplets(["C"], candidates)


def test_triplet_scores_are_cosines():
    cong, incong = triplet_scores([[2.0, 0.0]], [[5.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[0, 0, 1], [0, 0, 2]])
    assert cong == pytest.approx([1.0, 1.0])
    assert incong == pytest.approx([0.0, math.sqrt(0.5)])
    with pytest.raises(ParameterError, match="outside"):
        triplet_scores([[1.0, 0.0]], [[1.0, 0.0]], [[0, 0, 1]])


# -- clustering -------------------------------------------------------------------------------------

def test_purity_and_hungarian_accuracy_equal_hand_computed_values():
    labels = ["a", "a", "b", "a", "a", "b"]
    clusters = [0, 0, 0, 1, 1, 1]
    # Both clusters hold a, a, b: purity = (2 + 2) / 6; one-to-one: cluster 0 -> a (2), cluster 1 -> b (1).
    assert purity(labels, clusters) == pytest.approx(4 / 6)
    assert hungarian_accuracy(labels, clusters) == pytest.approx(3 / 6)
    # More clusters than classes: the third cluster stays unmatched and counts as wrong.
    assert hungarian_accuracy(["a", "a", "b", "b"], [0, 1, 2, 2]) == pytest.approx(3 / 4)


def test_modality_mixing_equals_hand_computed_value():
    modality = ["img", "img", "snd", "snd", "snd", "snd"]
    clusters = [0, 0, 0, 0, 1, 1]
    # Cluster 0 (4 items) is half/half: entropy log 2 / log 2 = 1; cluster 1 (2 items) is sound only: 0.
    assert modality_mixing(modality, clusters) == pytest.approx(4 / 6 * 1 + 2 / 6 * 0)
    with pytest.raises(ParameterError, match="one value"):
        modality_mixing(["img"] * 3, [0, 1, 1])


def test_modality_gap_equals_hand_computed_value():
    assert modality_gap([[1.0, 0.0], [1.0, 0.0]], ["img", "snd"]) == pytest.approx(0.0)
    assert modality_gap([[3.0, 0.0], [0.0, 2.0]], ["img", "snd"]) == pytest.approx(math.sqrt(2))
    with pytest.raises(ParameterError, match="exactly two"):
        modality_gap(np.eye(3), ["a", "b", "c"])


def test_cluster_joint_space_on_separated_categories():
    # 3 categories on axes e0..e2; images offset by +0.1 e3, sounds by -0.1 e3, two of each per category.
    rows, labels, modality = [], [], []
    for c in range(3):
        for sign, mod in ((1, "img"), (1, "img"), (-1, "snd"), (-1, "snd")):
            v = np.zeros(4)
            v[c], v[3] = 1.0, 0.1 * sign
            rows.append(v)
            labels.append(f"cat{c}")
            modality.append(mod)
    r = cluster_joint_space(np.array(rows), labels=labels, modality=modality, seed=0)
    assert r.n_clusters == 3
    assert (r.purity, r.hungarian_accuracy, r.nmi, r.ari) == pytest.approx((1.0, 1.0, 1.0, 1.0))
    assert r.modality_mixing == pytest.approx(1.0) and r.mixing_reference == pytest.approx(1.0)
    # Normalised rows are (e_c +- 0.1 e3) / sqrt(1.01): the centroids differ by 0.2 e3 / sqrt(1.01).
    assert r.modality_gap == pytest.approx(0.2 / math.sqrt(1.01))
    again = cluster_joint_space(np.array(rows), labels=labels, modality=modality, seed=0)
    assert (again.assignments == r.assignments).all()


def test_cluster_joint_space_ari_of_an_independent_partition():
    # labels a a b b, k-means forced to split across them is not guaranteed, so check ARI through the
    # hand formula on a fixed partition instead: clusters 0 1 0 1 against labels a a b b.
    # Contingency [[1, 1], [1, 1]]: sum C(n_ij, 2) = 0, row and column sums C(2, 2) * 2 = 2 each,
    # expected = 2 * 2 / C(4, 2) = 2/3, max = 2, ARI = (0 - 2/3) / (2 - 2/3) = -1/2.
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(["a", "a", "b", "b"], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_cluster_joint_space_rejects_bad_input():
    with pytest.raises(ParameterError, match="two modalities"):
        cluster_joint_space(np.eye(3), labels=["a", "b", "c"], modality=["img"] * 3)
    with pytest.raises(ParameterError, match="n_clusters"):
        cluster_joint_space(np.eye(3), labels=["a", "b", "c"], modality=["i", "s", "s"], n_clusters=5)


# -- probes -----------------------------------------------------------------------------------------

def test_category_metrics_equal_hand_computed_values():
    r = category_metrics(["a", "a", "a", "b"], ["a", "a", "b", "b"])
    # WA = 3/4. Recall a = 2/3, b = 1 -> UA = 5/6.
    # F1 a: precision 2/2, recall 2/3 -> 0.8; F1 b: precision 1/2, recall 1 -> 2/3; macro = 11/15.
    assert r.weighted_accuracy == pytest.approx(3 / 4)
    assert r.unweighted_accuracy == pytest.approx(5 / 6)
    assert r.macro_f1 == pytest.approx(11 / 15)
    assert r.per_class.loc["a", "recall"] == pytest.approx(2 / 3) and r.per_class.loc["b", "support"] == 1


def test_category_metrics_with_a_predicted_class_absent_from_the_truth():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = category_metrics(["a", "a", "b", "b"], ["a", "c", "b", "b"])
    # UA over the true classes: (1/2 + 1) / 2. Macro-F1 over a, b, c: (2/3 + 1 + 0) / 3 (c: never right).
    assert r.unweighted_accuracy == pytest.approx(0.75)
    assert r.macro_f1 == pytest.approx(5 / 9)


@pytest.mark.parametrize("pred, ccc, r", [
    ([1.0, 2.0, 3.0], 1.0, 1.0),
    # shift by 1: var 2/3 each, cov 2/3, (mean diff)^2 = 1 -> 2 (2/3) / (2/3 + 2/3 + 1) = 4/7
    ([2.0, 3.0, 4.0], 4 / 7, 1.0),
    # scale by 2: var_p 8/3, cov 4/3, mean diff 2 -> (8/3) / (2/3 + 8/3 + 4) = 4/11
    ([2.0, 4.0, 6.0], 4 / 11, 1.0),
    ([3.0, 2.0, 1.0], -1.0, -1.0),
])
def test_ccc_and_pearson_equal_hand_computed_values(pred, ccc, r):
    assert concordance_correlation([1.0, 2.0, 3.0], pred) == pytest.approx(ccc)
    assert pearson_correlation([1.0, 2.0, 3.0], pred) == pytest.approx(r)


def test_pearson_on_a_partial_ordering():
    # Centred: t = (-1.5, -.5, .5, 1.5), p = (-1.5, .5, -.5, 1.5); t.p = 4, |t|^2 = |p|^2 = 5 -> r = 0.8.
    assert pearson_correlation([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_constant_predictions_give_ccc_zero_and_r_nan_with_a_warning():
    assert concordance_correlation([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0
    with pytest.warns(RuntimeWarning, match="constant"):
        assert math.isnan(pearson_correlation([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]))


def test_constant_truth_is_an_error():
    with pytest.raises(ParameterError, match="constant"):
        concordance_correlation([1.0, 1.0], [1.0, 2.0])


def test_regression_metrics_per_column():
    t = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    p = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
    out = regression_metrics(t, p)
    assert out["valence"] == pytest.approx({"CCC": 1.0, "r": 1.0})
    assert out["arousal"] == pytest.approx({"CCC": 4 / 7, "r": 1.0})
    with pytest.raises(ParameterError, match="shape"):
        regression_metrics(t, p[:, :1])


# -- bootstrap over groups --------------------------------------------------------------------------

def test_group_bootstrap_resamples_whole_groups():
    # Two groups, 50 items of value 0 and 50 of value 1. A resample draws 2 groups: the mean is 0, 1/2 or 1
    # with probabilities 1/4, 1/2, 1/4, so the 95 % percentile interval is [0, 1]. (Resampling the 100
    # items instead would give about 0.5 +- 0.1: too narrow for correlated items.)
    values = np.repeat([0.0, 1.0], 50)
    groups = np.repeat(["s1", "s2"], 50)
    ci = group_bootstrap_ci(lambda rows: values[rows].mean(), groups, n_resamples=1000, seed=0)
    assert ci.estimate == 0.5
    assert (ci.low, ci.high) == (0.0, 1.0)
    assert ci.n_groups == 2


def test_group_bootstrap_passes_complete_groups_to_the_metric():
    groups = np.array(["a"] * 3 + ["b"] * 5)
    seen = []

    def metric(rows):
        seen.append(np.sort(rows))
        return float(len(rows))

    group_bootstrap_ci(metric, groups, n_resamples=100, seed=1)
    for rows in seen[1:]:
        counts = np.bincount(rows, minlength=8)
        assert len(set(counts[:3])) == 1 and len(set(counts[3:])) == 1  # a group is all in or all out
        assert len(rows) in (6, 8, 10)


def test_group_bootstrap_is_seeded_and_degenerate_case_has_no_nan():
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    groups = [1, 1, 2, 2, 3, 3, 4, 4]
    a = group_bootstrap_ci(lambda r: y[r].mean(), groups, n_resamples=200, seed=5)
    b = group_bootstrap_ci(lambda r: y[r].mean(), groups, n_resamples=200, seed=5)
    assert a == b
    same = group_bootstrap_ci(lambda r: 0.7, groups, n_resamples=200, method="BCa")
    assert (same.low, same.estimate, same.high) == (0.7, 0.7, 0.7)


@pytest.mark.parametrize("kwargs, match", [
    ({"groups": ["a", "a"]}, "two distinct groups"),
    ({"n_resamples": 10}, "n_resamples"),
    ({"confidence_level": 95}, "confidence_level"),
    ({"method": "bca"}, "method"),
])
def test_group_bootstrap_rejects_bad_input(kwargs, match):
    args = {"groups": ["a", "b"]}
    args.update(kwargs)
    groups = args.pop("groups")
    with pytest.raises(ParameterError, match=match):
        group_bootstrap_ci(lambda r: 0.0, groups, **args)


# -- reports ----------------------------------------------------------------------------------------

def sample_metrics():
    r = small_retrieval(relevance=RELEVANCE, ndcg_k=2)
    return {"retrieval": {"sound->image": r}, "pairwise": pairwise_correspondence([0.9], [0.1]),
            "probe": {"UA": np.float32(0.5), "r": float("nan"), "n": np.int64(3)},
            "table": pd.DataFrame({"f1": [0.5, 1.0]}, index=["a", "b"])}


def test_json_report_round_trips_with_nan_as_null(tmp_path):
    path = write_json(sample_metrics(), tmp_path / "out" / "metrics.json")
    data = json.loads(path.read_text())
    assert data["retrieval"]["sound->image"]["P@1"] == pytest.approx(P1)
    assert data["retrieval"]["sound->image"]["per_category"]["index"] == ["A", "B"]
    assert data["pairwise"] == {"accuracy": 1.0, "auc": 1.0, "n_triplets": 1}
    assert data["probe"] == {"UA": 0.5, "r": None, "n": 3}
    assert data["table"] == {"columns": ["f1"], "index": ["a", "b"], "data": [[0.5], [1.0]]}


def test_markdown_report_has_sections_and_tables(tmp_path):
    text = write_markdown(sample_metrics(), tmp_path / "metrics.md", title="Run 1").read_text()
    assert text.startswith("# Run 1\n")
    assert "### sound->image" in text
    assert "| P@1 | 0.750 |" in text
    assert "| r | - |" in text  # NaN is shown as a dash
    assert "| a | 0.500 |" in text
    assert to_markdown({"x": 1.0}) == "# Evaluation\n\n| metric | value |\n| --- | --- |\n| x | 1.000 |\n"


def test_unwritable_value_is_an_error_and_leaves_the_old_report(tmp_path):
    path = write_json({"a": 1}, tmp_path / "m.json")
    with pytest.raises(ParameterError, match="object"):
        write_json({"a": object()}, path)
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
    assert to_jsonable({"t": (1, np.float64(np.inf))}) == {"t": [1, None]}
