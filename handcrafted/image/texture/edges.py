"""Edge density of the Canny edge map (``edge_density``).
"""

from __future__ import annotations

import numpy as np

from handcrafted.image.context import ImageContext
from handcrafted.registry import Registry, descriptor_factory

_CANNY = "Canny (1986), IEEE TPAMI 8(6):679-698; edge density as in Machajdik & Hanbury (2010)"


_texture = descriptor_factory("image", "texture")


# --------------------------------------------------------------------------------------------------
# Edges


_EDGE_DENSITY_DESCRIPTORS = [
    _texture("edge_density", "Edge density", "fraction, 0-1", (0.0, 1.0), _CANNY,
             "Share of pixels on Canny edges (Gaussian sigma 1 px, hysteresis thresholds 50 / 150 on "
             "the L2 Sobel magnitude of 8-bit luma); 0 for a flat image."),
]


def edge_density(ctx: ImageContext) -> dict[str, float]:
    """Fraction of edge pixels in ``ctx.edges`` (see :attr:`ImageContext.edges` for the thresholds)."""
    edges = ctx.edges
    return {"edge_density": np.count_nonzero(edges) / edges.size}


def register(registry: Registry) -> None:
    """Register :func:`edge_density` and their descriptors in ``registry`` (in this order)."""
    registry.extractor("image", "texture", _EDGE_DENSITY_DESCRIPTORS)(edge_density)
