"""Texture descriptors of an image: GLCM, LBP, edges, Tamura features and the Fourier spectrum.

One module per algorithm: :mod:`~handcrafted.image.texture.glcm`, :mod:`~handcrafted.image.texture.lbp`,
:mod:`~handcrafted.image.texture.edges`, :mod:`~handcrafted.image.texture.tamura` and
:mod:`~handcrafted.image.texture.spectrum`; each extractor receives a
:class:`handcrafted.image.context.ImageContext`. All are computed on the luma image at its own
resolution, so they depend on scale: compare images of similar size (the bundled corpora are 224 px
on the longest side).

Speed (about 0.3 ms per extractor per 224-px image, single thread) comes from integer formulations
that give the same values as the textbook loops (LBP, GLCM counts, Tamura window sums) and, for GLCM
and Tamura coarseness/directionality, from evaluating the per-pixel quantity on a subset of the
pixels (a quincunx or every second pixel of every second row) with windows, offsets and scales
unchanged in full-image pixels; each function documents its subset and how far it moves the value.
The GLCM and LBP re-implementations are measured speed trades; scikit-image's
``graycomatrix``/``graycoprops`` and ``local_binary_pattern`` are their reference paths in the tests.
"""

from __future__ import annotations

from handcrafted.image.texture import edges, glcm, lbp, spectrum, tamura
from handcrafted.image.texture.glcm import (
    GLCM_ANGLES,
    GLCM_DISTANCES,
    GLCM_QUINCUNX,
    glcm_matrices,
    glcm_offsets,
    glcm_properties,
)
from handcrafted.image.texture.lbp import LBP_POINTS, LBP_RADIUS, uniform_lbp
from handcrafted.image.texture.spectrum import HIGH_FREQUENCY, SLOPE_BINS, SLOPE_RANGE
from handcrafted.image.texture.tamura import (
    TAMURA_BINS,
    TAMURA_SCALES,
    TAMURA_STEP,
    TAMURA_THRESHOLD,
    tamura_coarseness,
    tamura_contrast,
    tamura_directionality,
)
from handcrafted.registry import Registry

__all__ = ["ALGORITHMS", "GLCM_ANGLES", "GLCM_DISTANCES", "GLCM_QUINCUNX", "HIGH_FREQUENCY", "LBP_POINTS",
           "LBP_RADIUS", "SLOPE_BINS", "SLOPE_RANGE", "TAMURA_BINS", "TAMURA_SCALES", "TAMURA_STEP",
           "TAMURA_THRESHOLD", "glcm_matrices", "glcm_offsets", "glcm_properties", "register",
           "tamura_coarseness", "tamura_contrast", "tamura_directionality", "uniform_lbp"]

#: The algorithm modules, in registration (column) order.
ALGORITHMS = (glcm, lbp, edges, tamura, spectrum)


def register(registry: Registry) -> None:
    """Register every texture extractor and its descriptors in ``registry``, in :data:`ALGORITHMS` order."""
    for algorithm in ALGORITHMS:
        algorithm.register(registry)
