"""Run the registered extractors of one modality over one shared context."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from handcrafted.registry import REGISTRY, Modality, Registry


def compute_descriptors(context: Any, modality: Modality, groups: Iterable[str] | None = None,
                        registry: Registry = REGISTRY) -> dict[str, float]:
    """Every descriptor of ``modality`` (optionally only ``groups``) computed from ``context``.

    Each extractor must return exactly the names it registered; a NaN is accepted only for a
    descriptor whose registry entry documents when it is undefined.
    """
    values: dict[str, float] = {}
    for spec in registry.extractors(modality, groups):
        result = spec.function(context)
        missing = set(spec.names) - set(result)
        if missing:
            raise RuntimeError(f"extractor {spec.function.__name__} did not return {sorted(missing)}")
        for name in spec.names:
            value = float(result[name])
            if math.isnan(value) and not registry[name].undefined:
                raise RuntimeError(f"descriptor {name!r} is NaN but its registry entry documents no "
                                   "undefined case")
            values[name] = value
    return values
