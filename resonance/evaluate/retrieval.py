"""Cross-modal retrieval: a query from one modality ranks the gallery of the other by cosine similarity.

Metrics, per query, then averaged per category and over categories (macro), as Emo-CLIM does
(Stewart et al., 2024, "Emo-CLIM: Emotion-aligned contrastive learning between images and music"):

* ``P@k`` -- the fraction of the top ``k`` gallery items that share the query's category;
* ``AP`` -- average precision, ``AP = (1 / R) * sum_{i : rel_i} P@i`` with ``R`` the number of relevant
  gallery items (the mean over queries is mAP);
* ``RR`` -- reciprocal rank ``1 / rank`` of the first relevant item (the mean is MRR);
* ``nDCG@k`` -- graded relevance ``r`` (e.g. :func:`resonance.data.emotion.similarity_matrix`), linear gain
  and logarithmic discount (Järvelin & Kekäläinen, 2002): ``DCG@k = sum_{i=1..k} r_i / log2(i + 1)``,
  divided by the DCG@k of the ideal order. A query with no graded relevance at all gets 0 (as
  :func:`sklearn.metrics.ndcg_score` does).

Decisions:

* **Macro average.** Only categories present among both the queries and the gallery count; queries of
  another category have nothing relevant to find and are excluded (they are listed in
  ``excluded_categories``). Gallery items of any category stay in the gallery as distractors.
* **Ties** in similarity are broken by gallery order (a stable sort of the scores): the earlier gallery
  item ranks first. The result is deterministic; pass a shuffled gallery to average over tie orders.
* **Cut-offs** beyond the gallery size are an error, not clipped: P@10 over 4 items is not P@10.
* Embeddings are L2-normalised here, so the score is the cosine similarity. The full (queries x gallery)
  ranking is held in memory; evaluation sets of a few thousand items per side are the intended size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from resonance.errors import ParameterError
from resonance.evaluate._checks import as_matrix, as_vector, check_ks, l2_normalise

__all__ = ["RetrievalResult", "cross_modal_retrieval", "retrieval_metrics"]


@dataclass(frozen=True, eq=False)
class RetrievalResult:
    """Retrieval metrics of one direction (queries of one modality, gallery of the other).

    Attributes
    ----------
    precision : dict of int to float
        Macro-averaged ``P@k`` for each cut-off ``k``.
    mean_average_precision, mean_reciprocal_rank : float
        Macro-averaged AP and RR.
    ndcg : float or None
        Macro-averaged ``nDCG@ndcg_k``; None when no relevance matrix was given.
    ndcg_k : int
        The nDCG cut-off.
    per_category : pandas.DataFrame
        One row per included category: ``n_queries``, ``n_relevant`` (gallery items of that category),
        then ``P@k``..., ``AP``, ``RR`` and ``nDCG@k`` averaged over that category's queries.
    excluded_categories : tuple
        Query categories absent from the gallery (left out of every average).
    n_queries, n_excluded_queries : int
        Queries counted and queries left out.
    """

    precision: dict[int, float]
    mean_average_precision: float
    mean_reciprocal_rank: float
    ndcg: float | None
    ndcg_k: int
    per_category: pd.DataFrame
    excluded_categories: tuple = field(default=())
    n_queries: int = 0
    n_excluded_queries: int = 0

    def to_dict(self) -> dict:
        """Plain, JSON-ready values: ``P@k``, ``mAP``, ``MRR``, ``nDCG@k``, counts and the per-category table."""
        out: dict = {f"P@{k}": v for k, v in self.precision.items()}
        out["mAP"] = self.mean_average_precision
        out["MRR"] = self.mean_reciprocal_rank
        if self.ndcg is not None:
            out[f"nDCG@{self.ndcg_k}"] = self.ndcg
        out["n_queries"] = self.n_queries
        out["n_excluded_queries"] = self.n_excluded_queries
        out["excluded_categories"] = [str(c) for c in self.excluded_categories]
        out["per_category"] = self.per_category
        return out


def retrieval_metrics(
    queries: np.ndarray,
    gallery: np.ndarray,
    *,
    query_labels: Sequence,
    gallery_labels: Sequence,
    relevance: np.ndarray | None = None,
    ks: Sequence[int] = (1, 5, 10),
    ndcg_k: int = 10,
) -> RetrievalResult:
    """Rank ``gallery`` for every query by cosine similarity and score the rankings.

    Parameters
    ----------
    queries : np.ndarray, shape (n_queries, dim)
        Query embeddings (any scale; each row is L2-normalised here).
    gallery : np.ndarray, shape (n_gallery, dim)
        Gallery embeddings, same dimension.
    query_labels, gallery_labels : sequences of length n_queries and n_gallery
        Categories (strings or ints); relevance for P@k, mAP and MRR is "same category".
    relevance : np.ndarray, shape (n_queries, n_gallery), optional
        Graded relevance, finite and >= 0, for nDCG (e.g. ``similarity_matrix`` of the two sides'
        category distributions and valence/arousal). Without it nDCG is not computed.
    ks : sequence of int
        Precision cut-offs, each between 1 and ``n_gallery``.
    ndcg_k : int
        nDCG cut-off, between 1 and ``n_gallery`` (checked only when ``relevance`` is given).

    Returns
    -------
    RetrievalResult

    Raises
    ------
    ParameterError
        On shapes that disagree, non-finite values, zero embeddings, a cut-off beyond the gallery, or no
        category shared by the two sides.

    Examples
    --------
    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> g = np.array([[1.0, 0.1], [0.1, 1.0], [0.7, 0.7]])
    >>> r = retrieval_metrics(q, g, query_labels=["a", "b"], gallery_labels=["a", "b", "a"], ks=(1,))
    >>> r.precision[1], r.mean_reciprocal_rank
    (1.0, 1.0)
    """
    q = as_matrix(queries, "queries")
    g = as_matrix(gallery, "gallery", dim=q.shape[1])
    q_lab = as_vector(query_labels, "query_labels", n=q.shape[0])
    g_lab = as_vector(gallery_labels, "gallery_labels", n=g.shape[0])
    ks = check_ks(ks, g.shape[0])
    rel_graded = None
    if relevance is not None:
        (ndcg_k,) = check_ks((ndcg_k,), g.shape[0], name="ndcg_k")
        rel_graded = np.asarray(relevance, dtype=np.float64)
        if rel_graded.shape != (q.shape[0], g.shape[0]):
            raise ParameterError(f"relevance must have shape (n_queries, n_gallery) = {(q.shape[0], g.shape[0])}; "
                                 f"got {rel_graded.shape}")
        if not np.isfinite(rel_graded).all() or (rel_graded < 0).any():
            raise ParameterError("relevance must be finite and >= 0 (e.g. similarity_matrix, in [0, 1])")
    shared = np.intersect1d(np.unique(q_lab), np.unique(g_lab))
    if shared.size == 0:
        raise ParameterError("no category occurs among both the queries and the gallery; check that both sides "
                             "use the same label names")

    scores = l2_normalise(q, "queries") @ l2_normalise(g, "gallery").T
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = g_lab[order] == q_lab[:, None]                      # (n_queries, n_gallery), rank order
    n_relevant = hits.sum(axis=1)
    ranks = np.arange(1, g.shape[0] + 1)
    per_query = {f"P@{k}": hits[:, :k].mean(axis=1) for k in ks}
    precision_at_i = np.cumsum(hits, axis=1) / ranks
    with np.errstate(invalid="ignore", divide="ignore"):       # queries with R = 0 are excluded below
        per_query["AP"] = (precision_at_i * hits).sum(axis=1) / n_relevant
        per_query["RR"] = np.where(n_relevant > 0, 1.0 / (hits.argmax(axis=1) + 1), np.nan)
    if rel_graded is not None:
        per_query[f"nDCG@{ndcg_k}"] = _ndcg(rel_graded, order, ndcg_k)

    table = pd.DataFrame(per_query)
    table.insert(0, "category", q_lab)
    included = np.isin(q_lab, shared)
    per_category = table[included].groupby("category", sort=True).mean()
    per_category.insert(0, "n_relevant", [int((g_lab == c).sum()) for c in per_category.index])
    per_category.insert(0, "n_queries", table[included].groupby("category", sort=True).size())
    macro = per_category.mean(axis=0)
    excluded = tuple(np.setdiff1d(np.unique(q_lab), shared).tolist())
    return RetrievalResult(
        precision={k: float(macro[f"P@{k}"]) for k in ks},
        mean_average_precision=float(macro["AP"]),
        mean_reciprocal_rank=float(macro["RR"]),
        ndcg=None if rel_graded is None else float(macro[f"nDCG@{ndcg_k}"]),
        ndcg_k=ndcg_k,
        per_category=per_category,
        excluded_categories=excluded,
        n_queries=int(included.sum()),
        n_excluded_queries=int((~included).sum()),
    )


def cross_modal_retrieval(
    embeddings_a: np.ndarray,
    embeddings_b: np.ndarray,
    *,
    labels_a: Sequence,
    labels_b: Sequence,
    relevance: np.ndarray | None = None,
    names: tuple[str, str] = ("image", "sound"),
    ks: Sequence[int] = (1, 5, 10),
    ndcg_k: int = 10,
) -> dict[str, RetrievalResult]:
    """Retrieval in both directions, A->B and B->A, through :func:`retrieval_metrics`.

    Parameters
    ----------
    embeddings_a, embeddings_b : np.ndarray, shapes (n_a, dim) and (n_b, dim)
        The two modalities' embeddings in the shared space.
    labels_a, labels_b : sequences of length n_a and n_b
        Their categories.
    relevance : np.ndarray, shape (n_a, n_b), optional
        Graded relevance of every A item with every B item; its transpose serves B->A.
    names : tuple of two str
        Names of A and B, used in the keys.
    ks, ndcg_k
        As in :func:`retrieval_metrics`; each must fit both galleries.

    Returns
    -------
    dict
        ``{"A->B": RetrievalResult, "B->A": RetrievalResult}`` with A and B replaced by ``names``.
    """
    if len(names) != 2 or names[0] == names[1]:
        raise ParameterError(f"names must be two different strings; got {names!r}")
    rel_t = None if relevance is None else np.asarray(relevance, dtype=np.float64).T
    forward = retrieval_metrics(embeddings_a, embeddings_b, query_labels=labels_a, gallery_labels=labels_b,
                                relevance=relevance, ks=ks, ndcg_k=ndcg_k)
    backward = retrieval_metrics(embeddings_b, embeddings_a, query_labels=labels_b, gallery_labels=labels_a,
                                 relevance=rel_t, ks=ks, ndcg_k=ndcg_k)
    a, b = names
    return {f"{a}->{b}": forward, f"{b}->{a}": backward}


def _ndcg(relevance: np.ndarray, order: np.ndarray, k: int) -> np.ndarray:
    """Per-query nDCG@k of the rankings ``order`` under graded ``relevance`` (linear gain, log2 discount)."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.take_along_axis(relevance, order[:, :k], axis=1)
    dcg = gains @ discount
    ideal = -np.sort(-relevance, axis=1)[:, :k] @ discount
    out = np.zeros_like(dcg)
    np.divide(dcg, ideal, out=out, where=ideal > 0)
    return out
