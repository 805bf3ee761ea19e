"""Composition descriptors of an image: symmetry, complexity, rule of thirds and saliency layout.

Each extractor receives a :class:`handcrafted.image.context.ImageContext` and returns a dict of its
descriptors.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import scipy.fft

from handcrafted.image.context import ImageContext
from handcrafted.registry import Registry, descriptor_factory

_MH2010 = "Machajdik & Hanbury (2010), ACM MM, doi:10.1145/1873951.1873965"
_SYMMETRY = "Bauerly & Liu (2006), Int. J. Hum.-Comput. Stud. 64(8):670-682; Jacobsen & Höfel (2003)"
_COMPLEXITY = ("Donderi (2006), Psychol. Bull. 132(1):73-97; Machado et al. (2015), "
               "Computational Aesthetics, doi:10.1016/j.cag.2015.05.006")
_SALIENCY = "Hou & Zhang (2007), CVPR, doi:10.1109/CVPR.2007.383267; " + _MH2010


_composition = descriptor_factory("image", "composition")


# --------------------------------------------------------------------------------------------------
# Mirror symmetry

_SYMMETRY_DESCRIPTORS = [
    _composition("symmetry_left_right", "Left-right symmetry", "0-1", (0.0, 1.0), _SYMMETRY,
                 "1 - mean |Y(x, y) - Y(W-1-x, y)| of luma Y in [0, 1]: 1 for an image equal to its "
                 "mirror image about the vertical axis."),
    _composition("symmetry_top_bottom", "Top-bottom symmetry", "0-1", (0.0, 1.0), _SYMMETRY,
                 "1 - mean |Y(x, y) - Y(x, H-1-y)|: 1 for an image equal to its upside-down mirror."),
]


def symmetry(ctx: ImageContext) -> dict[str, float]:
    """Pixel-wise mirror symmetry of luma about the vertical and horizontal centre lines.

    One minus the mean absolute difference between the luma image (0-1) and its mirror image, so 1
    is exact symmetry and 0 the impossible extreme of black mirrored onto white everywhere. Computed
    at full resolution, it rewards symmetry of detail as well as of layout.
    """
    grey = ctx.grey
    # sum |a - b| of two uint8 images by cv2.norm(NORM_L1): OpenCV sums 8-bit differences in
    # integers, so the total is exact (and the same whatever the memory alignment), 8x faster than
    # numpy's absdiff-then-int64-sum; cv2.flip makes the mirror images 7x faster than numpy's copy
    scale = 255.0 * grey.size
    diff_lr = cv2.norm(grey, cv2.flip(grey, 1), cv2.NORM_L1)
    diff_tb = cv2.norm(grey, cv2.flip(grey, 0), cv2.NORM_L1)
    return {"symmetry_left_right": 1.0 - diff_lr / scale,
            "symmetry_top_bottom": 1.0 - diff_tb / scale}


# --------------------------------------------------------------------------------------------------
# Visual complexity as compressibility

#: JPEG quality of the complexity measure (libjpeg's default).
JPEG_QUALITY = 75


def _jpeg_size(bgr: np.ndarray) -> int:
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("cv2.imencode failed to encode a JPEG")
    return int(encoded.size)


@lru_cache(maxsize=32)
def _flat_jpeg_size(rows: int, cols: int) -> int:
    """Bytes of a flat mid-grey JPEG of this size: headers, tables and empty blocks, no content."""
    return _jpeg_size(np.full((rows, cols, 3), 128, dtype=np.uint8))


_COMPLEXITY_DESCRIPTORS = [
    _composition("complexity_jpeg", "Visual complexity (JPEG)", "compressed / raw bytes", (0.0, 1.0),
                 _COMPLEXITY,
                 "Bytes of the image as a quality-75 JPEG, minus those of a flat image of the same size "
                 "(headers and tables), divided by the raw RGB bytes (3 per pixel): 0 for a flat "
                 "image, larger for more detail. Sensitive to earlier lossy coding of the source."),
]


def complexity(ctx: ImageContext) -> dict[str, float]:
    """Visual complexity as JPEG compressibility (Donderi 2006; Machado et al. 2015).

    Compressed size tracks subjective complexity. Subtracting the size of a flat image of the same
    dimensions removes the fixed header cost, which otherwise dominates small images.
    """
    rgb = ctx.rgb
    size = _jpeg_size(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)) - _flat_jpeg_size(ctx.height, ctx.width)
    return {"complexity_jpeg": max(0, size) / rgb.size}


# --------------------------------------------------------------------------------------------------
# Rule of thirds (Machajdik & Hanbury 2010, after Datta et al. 2006)

_THIRDS_DESCRIPTORS = [
    _composition("thirds_brightness", "Centre-third brightness", "HSV value, 0-1", (0.0, 1.0), _MH2010,
                 "Mean HSV value of the central rectangle bounded by the rule-of-thirds lines."),
    _composition("thirds_saturation", "Centre-third saturation", "HSV saturation, 0-1", (0.0, 1.0),
                 _MH2010, "Mean HSV saturation of the central rectangle bounded by the thirds lines."),
]


def rule_of_thirds(ctx: ImageContext) -> dict[str, float]:
    """Mean brightness and saturation of the inner third rectangle, Machajdik & Hanbury's (2010)
    rule-of-thirds features (the region a photographer's subject tends to occupy)."""
    rows, cols = ctx.height, ctx.width
    # every pixel of the central ninth, converted alone (the colour extractors read a pixel sample)
    centre = ctx.crop(slice(round(rows / 3), round(2 * rows / 3)), slice(round(cols / 3), round(2 * cols / 3)))
    value = centre.value  # 8-bit: an exact integer sum
    return {"thirds_brightness": float(value.sum(dtype=np.int64)) / (255.0 * value.size),
            "thirds_saturation": float(centre.saturation.mean(dtype=np.float64))}


# --------------------------------------------------------------------------------------------------
# Saliency layout (spectral residual)

#: Side of the square image on which spectral-residual saliency is computed (Hou & Zhang 2007).
SALIENCY_SIDE = 64
_POWER_POINTS = np.array([(1 / 3, 1 / 3), (2 / 3, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 2 / 3)])
_MAX_THIRDS_DISTANCE = math.sqrt(2) / 3  # from a corner to its nearest power point

_SALIENCY_DESCRIPTORS = [
    _composition("saliency_centroid_x", "Saliency centre (x)", "image width, 0-1", (0.0, 1.0), _SALIENCY,
                 "Horizontal centre of mass of the spectral-residual saliency map; 0 left, 1 right."),
    _composition("saliency_centroid_y", "Saliency centre (y)", "image height, 0-1", (0.0, 1.0), _SALIENCY,
                 "Vertical centre of mass of the saliency map; 0 top, 1 bottom."),
    _composition("saliency_thirds_distance", "Saliency off the thirds", "0-1", (0.0, 1.0), _SALIENCY,
                 "Distance from the saliency centre of mass to the nearest rule-of-thirds "
                 "intersection, in relative coordinates, divided by its maximum sqrt(2)/3: 0 on a "
                 "power point, 0.5 at the image centre, 1 in a corner."),
]


def spectral_residual_saliency(grey: np.ndarray, *, side: int = SALIENCY_SIDE) -> np.ndarray:
    """Spectral-residual saliency map (Hou & Zhang 2007) of a grey image, ``(side, side)`` ``float32``.

    The image (8-bit levels) is area-resized to ``side`` x ``side``; with A and P the amplitude and
    phase of its 2-D FFT, the residual R = log A - mean3x3(log A) keeps what is unexpected in the
    log spectrum, and the map is |IFFT(exp(R + iP))|^2 smoothed by a Gaussian (11 x 11, sigma 3), as
    in OpenCV's ``StaticSaliencySpectralResidual``. log(1 + A) replaces log A so that coefficients
    of exactly zero amplitude (synthetic images) stay finite; natural images have amplitudes far
    above 1 on this scale, where the two agree.

    Computed in single precision (complex64 FFTs, float32 logs and exponentials, which numpy
    vectorises): 2x faster than double precision, and the map only feeds a centre of mass. The
    coefficient exp(R) exp(iP) is formed as F exp(R) / A (exp(R) alone where A = 0, whose phase is
    taken as 0).
    """
    small = cv2.resize(np.asarray(grey), (side, side), interpolation=cv2.INTER_AREA)
    spectrum = scipy.fft.fft2(small.astype(np.float32))
    amplitude = np.abs(spectrum)
    # log(1 + A), see the note on log1p above: numpy vectorises float32 log, not log1p (5x slower);
    # they differ by float rounding (below 1e-7 absolute) only
    log_amplitude = np.log(amplitude + np.float32(1.0))
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3), borderType=cv2.BORDER_REPLICATE)
    gain = np.exp(residual)
    zero = amplitude == 0
    scale = np.divide(gain, amplitude, out=np.zeros_like(gain), where=~zero)
    coefficients = spectrum * scale
    coefficients[zero] = gain[zero]  # a coefficient without amplitude has no phase: phase 0
    pairs = scipy.fft.ifft2(coefficients).view(np.float32).reshape(side, side, 2)
    squares = pairs * pairs
    saliency = squares[..., 0] + squares[..., 1]
    return cv2.GaussianBlur(saliency, (11, 11), 3.0)


@lru_cache(maxsize=4)
def _saliency_coordinates(side: int) -> np.ndarray:
    """``(side,)`` relative centres of the saliency map's pixel columns (or rows), (i + 0.5) / side."""
    coordinates = (np.arange(side) + 0.5) / side
    coordinates.flags.writeable = False
    return coordinates


def saliency_layout(ctx: ImageContext) -> dict[str, float]:
    """Where the salient mass lies: centre of mass of the spectral-residual saliency map and its
    distance to the nearest rule-of-thirds power point (Machajdik & Hanbury 2010 use the thirds
    rule as a composition cue). A map without mass (cannot happen for a finite image, kept as a
    guard) puts the centre in the middle."""
    saliency = spectral_residual_saliency(ctx.grey)
    # double-precision sums (numpy's own loops: the same rounding whatever the alignment)
    column_mass = saliency.sum(axis=0, dtype=np.float64)
    row_mass = saliency.sum(axis=1, dtype=np.float64)
    total = float(column_mass.sum())
    coordinates = _saliency_coordinates(saliency.shape[1])
    if total > 0:
        x = float((column_mass * coordinates).sum()) / total
        y = float((row_mass * coordinates).sum()) / total
    else:
        x = y = 0.5
    distance = min(math.hypot(px - x, py - y) for px, py in _POWER_POINTS.tolist())
    return {"saliency_centroid_x": x, "saliency_centroid_y": y,
            "saliency_thirds_distance": min(1.0, distance / _MAX_THIRDS_DISTANCE)}


def register(registry: Registry) -> None:
    """Register :func:`symmetry`, :func:`complexity`, :func:`rule_of_thirds`, :func:`saliency_layout`
    and their descriptors in ``registry``, in this order."""
    registry.extractor("image", "composition", _SYMMETRY_DESCRIPTORS)(symmetry)
    registry.extractor("image", "composition", _COMPLEXITY_DESCRIPTORS)(complexity)
    registry.extractor("image", "composition", _THIRDS_DESCRIPTORS)(rule_of_thirds)
    registry.extractor("image", "composition", _SALIENCY_DESCRIPTORS)(saliency_layout)
