"""Pairwise correspondence: are congruent image/sound pairs scored above incongruent ones?

The protocol of Verma, Dhekane & Guha (2019), "Learning affective correspondence between music and
image" (ICASSP; the IMAC data set): a pair is *congruent* when its two items carry the same emotion.
Two numbers:

* **triplet accuracy** -- over triplets (anchor, congruent item, incongruent item), the fraction in which
  the congruent pair scores higher, ``mean(s_c > s_i)``; a tie counts one half, so chance is 0.5 whatever
  the tie rate;
* **ROC AUC** -- every congruent and incongruent pair pooled, congruent as the positive class
  (:func:`sklearn.metrics.roc_auc_score`, which also counts ties one half).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from resonance.errors import ParameterError
from resonance.evaluate._checks import as_matrix, as_vector, l2_normalise

__all__ = ["PairwiseResult", "pairwise_correspondence", "sample_triplets", "triplet_scores"]


@dataclass(frozen=True)
class PairwiseResult:
    """Triplet accuracy, ROC AUC and the number of triplets they came from."""

    accuracy: float
    auc: float
    n_triplets: int

    def to_dict(self) -> dict:
        """Plain, JSON-ready values."""
        return {"accuracy": self.accuracy, "auc": self.auc, "n_triplets": self.n_triplets}


def pairwise_correspondence(congruent_scores: Sequence[float], incongruent_scores: Sequence[float]) -> PairwiseResult:
    """Accuracy and AUC of congruent over incongruent pairs.

    Parameters
    ----------
    congruent_scores, incongruent_scores : sequences of float, same length n_triplets
        Entry ``t`` of each is the score (e.g. cosine similarity) of triplet ``t``'s anchor with its
        congruent and with its incongruent item.

    Returns
    -------
    PairwiseResult
        ``accuracy = mean(1[s_c > s_i] + 0.5 * 1[s_c == s_i])``; ``auc`` over the 2 * n_triplets pairs.

    Examples
    --------
    >>> pairwise_correspondence([0.9, 0.2], [0.1, 0.5]).accuracy
    0.5
    """
    cong = as_vector(congruent_scores, "congruent_scores", numeric=True)
    incong = as_vector(incongruent_scores, "incongruent_scores", numeric=True, n=cong.shape[0])
    wins = (cong > incong) + 0.5 * (cong == incong)
    labels = np.concatenate([np.ones_like(cong), np.zeros_like(incong)])
    auc = roc_auc_score(labels, np.concatenate([cong, incong]))
    return PairwiseResult(accuracy=float(wins.mean()), auc=float(auc), n_triplets=int(cong.shape[0]))


def sample_triplets(anchor_labels: Sequence, candidate_labels: Sequence, *, per_anchor: int = 1,
                    seed: int = 0) -> np.ndarray:
    """Draw (anchor, congruent, incongruent) index triplets from labels.

    For every anchor, ``per_anchor`` times: one candidate of the anchor's category and one of another
    category, each uniformly at random (``numpy.random.default_rng(seed)``). Anchors whose category has
    no candidate, or whose every candidate shares it, are skipped.

    Parameters
    ----------
    anchor_labels : sequence of length n_anchors
        Categories of the anchors (e.g. the sounds).
    candidate_labels : sequence of length n_candidates
        Categories of the other modality (e.g. the paintings).
    per_anchor : int
        Triplets drawn per anchor, >= 1.
    seed : int
        Seed of the generator.

    Returns
    -------
    np.ndarray of int, shape (n_triplets, 3)
        Columns: anchor index, congruent candidate index, incongruent candidate index.
    """
    anchors = as_vector(anchor_labels, "anchor_labels")
    candidates = as_vector(candidate_labels, "candidate_labels")
    if int(per_anchor) < 1:
        raise ParameterError(f"per_anchor must be >= 1; got {per_anchor}")
    rng = np.random.default_rng(seed)
    rows = []
    for i, label in enumerate(anchors):
        same = np.flatnonzero(candidates == label)
        other = np.flatnonzero(candidates != label)
        if same.size == 0 or other.size == 0:
            continue
        for _ in range(int(per_anchor)):
            rows.append((i, rng.choice(same), rng.choice(other)))
    if not rows:
        raise ParameterError("no anchor has both a congruent and an incongruent candidate; the two sides "
                             "must share at least one category and the candidates must span two")
    return np.asarray(rows, dtype=np.int64)


def triplet_scores(anchors: np.ndarray, candidates: np.ndarray,
                   triplets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of each triplet's anchor with its congruent and its incongruent candidate.

    Parameters
    ----------
    anchors : np.ndarray, shape (n_anchors, dim)
    candidates : np.ndarray, shape (n_candidates, dim)
    triplets : np.ndarray of int, shape (n_triplets, 3)
        As returned by :func:`sample_triplets`.

    Returns
    -------
    congruent_scores, incongruent_scores : np.ndarray, shape (n_triplets,)
    """
    a = l2_normalise(as_matrix(anchors, "anchors"), "anchors")
    c = l2_normalise(as_matrix(candidates, "candidates", dim=a.shape[1]), "candidates")
    t = np.asarray(triplets)
    if t.ndim != 2 or t.shape[1] != 3 or not np.issubdtype(t.dtype, np.integer):
        raise ParameterError(f"triplets must be an integer array of shape (n, 3); got {t.dtype} {t.shape}")
    if t.size == 0 or t[:, 0].min() < 0 or t[:, 0].max() >= a.shape[0] or t[:, 1:].min() < 0 \
            or t[:, 1:].max() >= c.shape[0]:
        raise ParameterError("triplets index outside the anchors or candidates; sample them from these arrays")
    return (a[t[:, 0]] * c[t[:, 1]]).sum(1), (a[t[:, 0]] * c[t[:, 2]]).sum(1)
