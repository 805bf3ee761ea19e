"""Datasets: corpus adapters, the shared emotion space, splits, manifests, probe stimuli (no torch)."""

from resonance.data.emotion import (
    CATEGORIES,
    EmotionLabel,
    SimilarityConfig,
    emotional_similarity,
    from_category,
    from_distribution,
    from_quadrant,
    from_va,
    similarity_matrix,
)
from resonance.data.prepare import PrepareConfig, PrepareResult, SourceSpec, load_manifest, prepare_dataset
from resonance.data.records import Item, Rejection
from resonance.data.splits import SplitConfig, assign_splits

__all__ = [
    "CATEGORIES",
    "EmotionLabel",
    "Item",
    "PrepareConfig",
    "PrepareResult",
    "Rejection",
    "SimilarityConfig",
    "SourceSpec",
    "SplitConfig",
    "assign_splits",
    "emotional_similarity",
    "from_category",
    "from_distribution",
    "from_quadrant",
    "from_va",
    "load_manifest",
    "prepare_dataset",
    "similarity_matrix",
]
