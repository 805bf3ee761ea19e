"""Clustering of the joint space: is it organised by emotion, and do the two modalities mix?

:func:`cluster_joint_space` runs k-means (scikit-learn, seeded) on the L2-normalised embeddings of both
modalities together and scores the clusters against the categories:

* **purity** -- ``(1 / n) * sum_clusters max_class |cluster & class|``;
* **NMI** -- normalised mutual information, arithmetic normalisation
  (:func:`sklearn.metrics.normalized_mutual_info_score`);
* **ARI** -- adjusted Rand index (Hubert & Arabie, 1985; :func:`sklearn.metrics.adjusted_rand_score`);
* **Hungarian accuracy** -- the accuracy of the best one-to-one map of clusters to classes
  (:func:`scipy.optimize.linear_sum_assignment` on the contingency table); with more clusters than
  classes the unmatched clusters count as wrong;
* **modality mixing** -- the entropy of the modality distribution in each cluster divided by
  ``log(n_modalities)`` (1 = an even mix, 0 = one modality only), averaged over clusters weighted by their
  size. With unequal modality counts an even mix is out of reach: ``mixing_reference``, the same entropy
  of the whole set, is the value a cluster that mirrors the overall proportions gets;
* **modality gap** -- ``|| mean(x_a) - mean(x_b) ||`` of the normalised embeddings of the two modalities
  (Liang et al., 2022, "Mind the gap", NeurIPS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from resonance.errors import ParameterError
from resonance.evaluate._checks import as_matrix, as_vector, l2_normalise

__all__ = [
    "ClusteringResult",
    "cluster_joint_space",
    "hungarian_accuracy",
    "modality_gap",
    "modality_mixing",
    "purity",
]


@dataclass(frozen=True, eq=False)
class ClusteringResult:
    """Scores of one k-means partition of the joint space (see the module docstring)."""

    purity: float
    nmi: float
    ari: float
    hungarian_accuracy: float
    modality_mixing: float
    mixing_reference: float
    modality_gap: float | None
    n_clusters: int
    assignments: np.ndarray

    def to_dict(self) -> dict:
        """Plain, JSON-ready values (without the per-item assignments)."""
        return {"purity": self.purity, "nmi": self.nmi, "ari": self.ari,
                "hungarian_accuracy": self.hungarian_accuracy, "modality_mixing": self.modality_mixing,
                "mixing_reference": self.mixing_reference, "modality_gap": self.modality_gap,
                "n_clusters": self.n_clusters}


def _contingency(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Counts of each (row value, column value) pair, values in sorted order."""
    _, r = np.unique(rows, return_inverse=True)
    _, c = np.unique(cols, return_inverse=True)
    table = np.zeros((r.max() + 1, c.max() + 1), dtype=np.int64)
    np.add.at(table, (r, c), 1)
    return table


def _pair(labels: Sequence, clusters: Sequence) -> tuple[np.ndarray, np.ndarray]:
    lab = as_vector(labels, "labels")
    clu = as_vector(clusters, "clusters", n=lab.shape[0])
    return lab, clu


def purity(labels: Sequence, clusters: Sequence) -> float:
    """Fraction of items in their cluster's majority class.

    Parameters
    ----------
    labels, clusters : sequences of the same length
        True categories and cluster assignments.

    Returns
    -------
    float in (0, 1]
    """
    lab, clu = _pair(labels, clusters)
    return float(_contingency(clu, lab).max(axis=1).sum() / lab.shape[0])


def hungarian_accuracy(labels: Sequence, clusters: Sequence) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes.

    Parameters
    ----------
    labels, clusters : sequences of the same length

    Returns
    -------
    float in (0, 1]
        ``max_matching sum |cluster & matched class| / n``.
    """
    lab, clu = _pair(labels, clusters)
    table = _contingency(clu, lab)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / lab.shape[0])


def _normalised_entropy(counts: np.ndarray, n_values: int) -> np.ndarray:
    """Entropy of each row of ``counts`` over ``log(n_values)``; 0 log 0 = 0."""
    p = counts / counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    return h / np.log(n_values)


def modality_mixing(modality: Sequence, clusters: Sequence) -> float:
    """Size-weighted mean over clusters of the normalised entropy of modality.

    Parameters
    ----------
    modality, clusters : sequences of the same length
        The modality of each item (at least two distinct values) and its cluster.

    Returns
    -------
    float in [0, 1]
        ``sum_c (n_c / n) * H(modality | c) / log(n_modalities)``.
    """
    mod, clu = _pair(modality, clusters)
    table = _contingency(clu, mod)
    if table.shape[1] < 2:
        raise ParameterError("modality has one value only; mixing needs items of at least two modalities")
    sizes = table.sum(axis=1)
    return float((sizes / sizes.sum()) @ _normalised_entropy(table, table.shape[1]))


def modality_gap(embeddings: np.ndarray, modality: Sequence) -> float:
    """Distance between the centroids of the two modalities' L2-normalised embeddings.

    Parameters
    ----------
    embeddings : np.ndarray, shape (n_items, dim)
    modality : sequence of length n_items
        Exactly two distinct values.

    Returns
    -------
    float in [0, 2]
        ``|| mean(x_a) - mean(x_b) ||_2`` (Liang et al., 2022).
    """
    x = l2_normalise(as_matrix(embeddings, "embeddings"), "embeddings")
    mod = as_vector(modality, "modality", n=x.shape[0])
    values = np.unique(mod)
    if values.size != 2:
        raise ParameterError(f"the modality gap needs exactly two modalities; got {values.size}: {values.tolist()}")
    return float(np.linalg.norm(x[mod == values[0]].mean(0) - x[mod == values[1]].mean(0)))


def cluster_joint_space(embeddings: np.ndarray, *, labels: Sequence, modality: Sequence,
                        n_clusters: int | None = None, seed: int = 0, n_init: int = 10) -> ClusteringResult:
    """k-means on the joint space, scored against the categories and the modalities.

    Parameters
    ----------
    embeddings : np.ndarray, shape (n_items, dim)
        Both modalities' embeddings stacked (L2-normalised here, so k-means works on the sphere's chords).
    labels : sequence of length n_items
        Categories.
    modality : sequence of length n_items
        Modality of each item (two or more values; the gap is reported only for exactly two).
    n_clusters : int, optional
        Number of clusters; default the number of distinct categories.
    seed : int
        ``random_state`` of :class:`sklearn.cluster.KMeans`.
    n_init : int
        k-means restarts (the best inertia is kept).

    Returns
    -------
    ClusteringResult
    """
    x = l2_normalise(as_matrix(embeddings, "embeddings"), "embeddings")
    lab = as_vector(labels, "labels", n=x.shape[0])
    mod = as_vector(modality, "modality", n=x.shape[0])
    k = int(np.unique(lab).size if n_clusters is None else n_clusters)
    if not 2 <= k <= x.shape[0]:
        raise ParameterError(f"n_clusters must be between 2 and the number of items ({x.shape[0]}); got {k}")
    n_modalities = np.unique(mod).size
    if n_modalities < 2:
        raise ParameterError("modality has one value only; the joint space needs items of two modalities")
    assign = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(x)
    mod_counts = np.unique(mod, return_counts=True)[1]
    return ClusteringResult(
        purity=purity(lab, assign),
        nmi=float(normalized_mutual_info_score(lab, assign, average_method="arithmetic")),
        ari=float(adjusted_rand_score(lab, assign)),
        hungarian_accuracy=hungarian_accuracy(lab, assign),
        modality_mixing=modality_mixing(mod, assign),
        mixing_reference=float(_normalised_entropy(mod_counts[None, :], n_modalities)[0]),
        modality_gap=modality_gap(x, mod) if n_modalities == 2 else None,
        n_clusters=k,
        assignments=assign,
    )
