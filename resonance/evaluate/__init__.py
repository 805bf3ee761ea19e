"""Evaluation of the shared space: metrics in numpy (no torch), reports, and the gallery index.

- :mod:`~resonance.evaluate.retrieval` -- cross-modal retrieval, P@k, mAP, MRR (macro over categories), nDCG@k.
- :mod:`~resonance.evaluate.pairwise` -- congruent-over-incongruent accuracy and AUC (IMAC protocol).
- :mod:`~resonance.evaluate.clustering` -- k-means purity, NMI, ARI, Hungarian accuracy, modality mixing and gap.
- :mod:`~resonance.evaluate.probes` -- category UA, WA, macro-F1; valence/arousal CCC and r.
- :mod:`~resonance.evaluate.bootstrap` -- confidence intervals by a bootstrap over groups.
- :mod:`~resonance.evaluate.report` -- JSON and Markdown writers.
- :mod:`~resonance.evaluate.index` -- a persisted FAISS index (exact or HNSW) of a gallery.

The evaluation run and what uses a model (torch), loaded on first use so that importing this package
loads no torch:

- :mod:`~resonance.evaluate.embed` -- embed a dataset with a model (:func:`embed_dataset`).
- :mod:`~resonance.evaluate.protocol` -- :func:`evaluate`: every metric with chance, untrained and
  descriptor baselines, JSON and Markdown.
- :mod:`~resonance.evaluate.baselines` -- the descriptor-only linear baseline.
- :mod:`~resonance.evaluate.maps` -- UMAP maps (PNG, self-contained HTML) and montages.
- :mod:`~resonance.evaluate.contact_sheet` -- contact sheets of matches.
- :mod:`~resonance.evaluate.gallery` -- ``index build`` and ``match`` (:func:`build_index`, :func:`match`).
- :mod:`~resonance.evaluate.predictions` -- per-item predictions and matches as a table (:func:`predict`),
  what ``resonance study run --predictions`` reads.
"""

from resonance.evaluate.bootstrap import ConfidenceInterval, group_bootstrap_ci
from resonance.evaluate.clustering import (
    ClusteringResult,
    cluster_joint_space,
    hungarian_accuracy,
    modality_gap,
    modality_mixing,
    purity,
)
from resonance.evaluate.index import DEFAULT_EXACT_THRESHOLD, EmbeddingIndex, SearchResult
from resonance.evaluate.pairwise import PairwiseResult, pairwise_correspondence, sample_triplets, triplet_scores
from resonance.evaluate.probes import (
    CategoryProbeResult,
    category_metrics,
    concordance_correlation,
    pearson_correlation,
    regression_metrics,
)
from resonance.evaluate.report import to_jsonable, to_markdown, write_json, write_markdown
from resonance.evaluate.retrieval import RetrievalResult, cross_modal_retrieval, retrieval_metrics

#: Names loaded on first use (by string, so that the import graph of this package stays torch-free).
_LAZY = {
    "Embeddings": "embed", "FrameDataset": "embed", "embed_dataset": "embed",
    "EvalSet": "protocol", "ProtocolConfig": "protocol", "evaluate": "protocol", "evaluate_model": "protocol",
    "score_space": "protocol", "DescriptorSpace": "baselines", "descriptor_baseline": "baselines",
    "run_map": "maps", "write_map": "maps", "contact_sheet": "contact_sheet", "build_index": "gallery",
    "match": "gallery", "load_gallery": "gallery",
    "predict": "predictions", "predictions_frame": "predictions",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"resonance.evaluate.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'resonance.evaluate' has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "DEFAULT_EXACT_THRESHOLD",
    "CategoryProbeResult",
    "ClusteringResult",
    "ConfidenceInterval",
    "EmbeddingIndex",
    "PairwiseResult",
    "RetrievalResult",
    "SearchResult",
    "category_metrics",
    "cluster_joint_space",
    "concordance_correlation",
    "cross_modal_retrieval",
    "group_bootstrap_ci",
    "hungarian_accuracy",
    "modality_gap",
    "modality_mixing",
    "pairwise_correspondence",
    "pearson_correlation",
    "purity",
    "regression_metrics",
    "retrieval_metrics",
    "sample_triplets",
    "to_jsonable",
    "to_markdown",
    "triplet_scores",
    "write_json",
    "write_markdown",
]
