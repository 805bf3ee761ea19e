"""Handcrafted image descriptors: colour, texture and composition of one RGB image.

The package is layered: :mod:`handcrafted.image.context` holds :class:`ImageContext`, the shared
per-image representations; :mod:`~handcrafted.image.colour`, :mod:`~handcrafted.image.texture` (one
module per algorithm) and :mod:`~handcrafted.image.composition` define the extractors on that
context, each with a ``register(registry)``; this module assembles them: :func:`register` puts every
family in a registry and :func:`describe_image` computes them. Nothing registers itself on import;
:mod:`handcrafted` calls :func:`register` on the default registry::

    >>> import numpy as np
    >>> from handcrafted.image import describe_image
    >>> red = np.zeros((32, 32, 3), np.uint8); red[..., 0] = 255
    >>> values = describe_image(red, groups=["colour"])
    >>> values["hue_mean"], round(values["saturation_mean"], 6)
    (0.0, 1.0)

See :mod:`handcrafted.image.context` for the resolution, pixel-sample and colour-conversion
conventions every descriptor shares.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from handcrafted.compute import compute_descriptors
from handcrafted.image import colour, composition, texture
from handcrafted.image.context import (
    CHROMATIC_SATURATION,
    CHROMATIC_VALUE,
    GLCM_LEVELS,
    MIN_SIDE,
    SAMPLE_STEP,
    ImageContext,
    as_rgb_uint8,
)
from handcrafted.registry import IMAGE_GROUPS, REGISTRY, Registry
from resonance.errors import ParameterError

__all__ = ["ImageContext", "as_rgb_uint8", "describe_image", "register", "FAMILIES", "MIN_SIDE",
           "GLCM_LEVELS", "CHROMATIC_SATURATION", "CHROMATIC_VALUE", "SAMPLE_STEP"]

#: The family modules, in registration (and so column) order.
FAMILIES = (colour, composition, texture)


def register(registry: Registry) -> None:
    """Register every built-in image extractor and its descriptors in ``registry``.

    Order: colour, composition, texture (the column order of a features table).
    """
    for family in FAMILIES:
        family.register(registry)


def describe_image(image: np.ndarray, *, groups: Iterable[str] | str | None = None,
                   registry: Registry | None = None, max_side: int | None = None) -> dict[str, float]:
    """Every registered image descriptor of ``image`` (optionally only some groups).

    Parameters
    ----------
    image : np.ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grey, ``uint8`` or float in [0, 1]; both sides >= 8 px.
    groups : iterable of str, str or None, keyword-only
        Any of ``"colour"``, ``"texture"``, ``"composition"`` (or of the groups a custom ``registry``
        holds); ``None`` computes all.
    registry : Registry or None, keyword-only
        Where the extractors come from; None for the default :data:`handcrafted.REGISTRY`.
    max_side : int or None, keyword-only
        Downscale (area averaging) so that the longest side is at most this many pixels first.

    Returns
    -------
    dict[str, float]
        ``{descriptor name: value}`` in registration order; the metadata of each name is
        ``registry[name]`` (label, unit, range, reference).

    Raises
    ------
    ParameterError
        For invalid pixels (see :func:`as_rgb_uint8`) or an unknown group.
    """
    registry = REGISTRY if registry is None else registry
    if isinstance(groups, str):
        groups = (groups,)
    if groups is not None:
        groups = tuple(groups)
        known = list(IMAGE_GROUPS) + sorted({d.group for d in registry.select("image")} - set(IMAGE_GROUPS))
        unknown = sorted(set(groups) - set(known))
        if unknown:
            raise ParameterError(f"unknown image descriptor groups {unknown}; choose from {known}")
    context = ImageContext(image, max_side=max_side)
    return compute_descriptors(context, "image", groups, registry=registry)
