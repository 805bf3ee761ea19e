"""Handcrafted image descriptors: colour, texture and composition of one RGB image.

An :class:`ImageContext` is built once per image. It validates the pixels and computes the shared
representations (float RGB, HSV, CIELab, grey, quantised grey, edges, ...) lazily, each at most once,
so that the extractors registered in :mod:`handcrafted.image_colour`, :mod:`handcrafted.image_texture`
and :mod:`handcrafted.image_composition` never repeat a conversion. :func:`describe_image` is the
public entry point::

    >>> import numpy as np
    >>> from handcrafted.image import describe_image
    >>> red = np.zeros((32, 32, 3), np.uint8); red[..., 0] = 255
    >>> values = describe_image(red, groups=["colour"])
    >>> values["hue_mean"], round(values["saturation_mean"], 6)
    (0.0, 1.0)

Descriptors are computed at the image's own resolution unless ``max_side`` asks for a downscale.
Pixel statistics whose per-pixel conversion is dear (HSV and CIELab colour statistics,
colourfulness) are estimated from a pixel sample, :attr:`ImageContext.sample` (a quarter of the
pixels, kept, not averaged); GLCM and Tamura texture evaluate their per-pixel quantities on a
regular subset of pixels with windows and offsets unchanged. Each descriptor documents which.
The full set costs about 4.4 ms of one core per 224-px image on the development machine (a third
of what it cost before these estimates, the integer formulations of the texture descriptors and
exact reformulations of the dearest steps; ``benchmarks/profile_image_descriptors.py`` measures it
per extractor).
Several of them are scale-dependent (edge density, GLCM at pixel distances, Tamura coarseness in
pixels, spectral fractions in cycles/pixel, compression ratios): compare them across images of similar
size. Every bundled corpus (D-ViSA, FeelingBlue) is stored with a longest side of 224 px.

The colour conversions follow OpenCV (sRGB with D65 white for CIELab, ITU-R BT.601 luma for grey).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property, lru_cache

import cv2
import numpy as np

# The three modules register their extractors in the default registry when imported.
from handcrafted import image_colour, image_composition, image_texture  # noqa: F401
from handcrafted.compute import compute_descriptors
from handcrafted.registry import IMAGE_GROUPS, REGISTRY, Registry
from resonance.errors import ParameterError

__all__ = ["ImageContext", "as_rgb_uint8", "describe_image", "MIN_SIDE", "GLCM_LEVELS",
           "CHROMATIC_SATURATION", "CHROMATIC_VALUE", "SAMPLE_STEP"]

#: Smallest accepted side, in pixels. GLCM offsets reach 4 px and Tamura's windows need some room;
#: below 8 px there is no texture or composition to speak of.
MIN_SIDE = 8

#: Grey levels of the quantised image used by the GLCM (256 levels / 8). 32 levels keep the
#: co-occurrence matrix (32 x 32) well populated on a 224 x 224 image (50k pairs) while keeping
#: the intensity resolution that matters for texture (Haralick et al. 1973 used 16; 32 is common).
GLCM_LEVELS = 32

#: A pixel counts as *chromatic* (its hue is meaningful) when its HSV saturation and value are both at
#: least these thresholds, following the hue-count rule of Ke, Tang & Jing (2006), who ignore pixels
#: with S <= 0.2 or V outside [0.15, 0.95].
CHROMATIC_SATURATION = 0.2
CHROMATIC_VALUE = 0.2

#: Longest side of the thumbnail on which the k-means palette is computed (see image_colour.palette).
PALETTE_SIDE = 32

#: CIELab and HSV hue/saturation statistics are computed on about every SAMPLE_STEP-th pixel of
#: every SAMPLE_STEP-th row (see ImageContext.sample).
SAMPLE_STEP = 2


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Validate ``image`` and return it as a C-contiguous RGB ``uint8`` array of shape ``(H, W, 3)``.

    Parameters
    ----------
    image : np.ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` / ``(H, W, 1)`` grey, either ``uint8`` in [0, 255] or floating
        point in [0, 1] (rounded to the nearest of 256 levels). ``H`` and ``W`` are at least
        :data:`MIN_SIDE`.

    Returns
    -------
    np.ndarray
        A new array (never a view of the input), ``uint8``, shape ``(H, W, 3)``.

    Raises
    ------
    ParameterError
        For a non-array, another dtype, another shape, non-finite or out-of-range float values.
    """
    if not isinstance(image, np.ndarray):
        raise ParameterError(f"image must be a numpy array, got {type(image).__name__}; "
                             "decode files with resonance.io.image.load_image")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        hint = (" (RGBA: composite the alpha channel or drop it with image[..., :3]; "
                "resonance.io.image.load_image composites on white)" if image.ndim == 3
                and image.shape[2] == 4 else "")
        raise ParameterError(f"image must have shape (H, W, 3) or (H, W), got {image.shape}{hint}")
    if min(image.shape[:2]) < MIN_SIDE:
        raise ParameterError(f"image is {image.shape[1]}x{image.shape[0]} px; both sides must be at "
                             f"least {MIN_SIDE} px")
    if image.dtype == np.uint8:
        return np.array(image, dtype=np.uint8, order="C", copy=True)
    if np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise ParameterError("image contains NaN or infinite values")
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 1.0:
            raise ParameterError(f"a float image must lie in [0, 1], got values in [{low:g}, {high:g}]; "
                                 "divide 8-bit values by 255 or pass a uint8 array")
        return np.ascontiguousarray(np.round(image * 255.0).astype(np.uint8))
    raise ParameterError(f"image dtype must be uint8 or float in [0, 1], got {image.dtype}; convert it "
                         "first, e.g. with skimage.util.img_as_ubyte")


#: OpenCV's fixed-point Gaussian kernel for sigma = 1 px on 8-bit images (7 taps, in 1/256; its
#: ``cv2.GaussianBlur`` is bit-exact: integer taps, rows then columns, rounded once at the end).
_GAUSS_SIGMA1_TAPS = (1, 14, 62, 102, 62, 14, 1)


def gaussian_blur_sigma1(grey: np.ndarray) -> np.ndarray:
    """``cv2.GaussianBlur(grey, (0, 0), 1.0)`` of a ``uint8`` image, the same pixels 2x faster.

    OpenCV's 8-bit Gaussian blur is bit-exact fixed-point arithmetic: the 7-tap kernel quantised to
    multiples of 1/256 (:data:`_GAUSS_SIGMA1_TAPS`), the separable sum formed exactly and rounded half
    up once. Here ``cv2.sepFilter2D`` forms the same sum in ``float32`` (each partial sum is a
    multiple of 2^-16 below 256: 24 bits, exact in any order), plus 0.5, floored; OpenCV's generic
    7-tap fixed-point loop is the slower path. The tests check equality with ``cv2.GaussianBlur``.
    """
    taps = _gauss_sigma1_kernel()
    blurred = cv2.sepFilter2D(grey, cv2.CV_32F, taps, taps, delta=0.5, borderType=cv2.BORDER_REFLECT_101)
    np.floor(blurred, out=blurred)  # at most 255.5 before flooring: the taps sum to 1 exactly
    return blurred.astype(np.uint8)


@lru_cache(maxsize=1)
def _gauss_sigma1_kernel() -> np.ndarray:
    taps = (np.array(_GAUSS_SIGMA1_TAPS, dtype=np.float32) / np.float32(256.0)).reshape(-1, 1)
    taps.flags.writeable = False
    return taps


class ImageContext:
    """One validated image and its shared representations, each computed at most once.

    Parameters
    ----------
    image : np.ndarray
        See :func:`as_rgb_uint8` for what is accepted.
    max_side : int or None
        If given, an image whose longest side exceeds it is first downscaled with area averaging
        (``cv2.INTER_AREA``) so that its longest side is ``max_side``. ``None`` keeps the native size.

    Attributes
    ----------
    rgb : np.ndarray
        ``(H, W, 3)`` ``uint8``, read-only.
    height, width : int

    Notes
    -----
    Every other attribute is a cached property, computed on first access. The arrays are shared between
    extractors: treat them as read-only.
    """

    def __init__(self, image: np.ndarray, *, max_side: int | None = None) -> None:
        rgb = as_rgb_uint8(image)
        if max_side is not None:
            if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)) \
                    or max_side < MIN_SIDE:
                raise ParameterError(f"max_side must be an integer >= {MIN_SIDE} or None, "
                                     f"got {max_side!r}")
            height, width = rgb.shape[:2]
            scale = max_side / max(height, width)
            if scale < 1.0:
                size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        rgb.flags.writeable = False
        self.rgb: np.ndarray = rgb
        self.height, self.width = rgb.shape[:2]

    def __repr__(self) -> str:
        cached = sorted(k for k in vars(self) if k not in {"rgb", "height", "width"})
        return f"ImageContext({self.width}x{self.height}, cached={cached})"

    @cached_property
    def rgb_float(self) -> np.ndarray:
        """``(H, W, 3)`` ``float32`` RGB in [0, 1]."""
        return self.rgb.astype(np.float32) * np.float32(1.0 / 255.0)

    @cached_property
    def rgb_planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The red, green and blue ``(H, W)`` ``uint8`` planes, each contiguous."""
        red, green, blue = cv2.split(self.rgb)
        return red, green, blue

    @cached_property
    def value(self) -> np.ndarray:
        """``(H, W)`` ``uint8`` HSV value on the 8-bit scale, V = max(R, G, B): 255 x the value plane
        of :attr:`hsv`, exact, so that its statistics can come from a 256-bin histogram."""
        red, green, blue = self.rgb_planes
        return cv2.max(cv2.max(red, green), blue)

    @cached_property
    def hsv(self) -> np.ndarray:
        """``(H, W, 3)`` ``float32``: hue in degrees [0, 360), saturation and value in [0, 1].

        OpenCV's definition (Smith 1978): V = max(R, G, B), S = (V - min) / V (0 where V = 0), and the
        hue of a grey pixel (S = 0) is 0. OpenCV adds FLT_EPSILON to the denominators, so a pure
        colour has S = 1 - 1.2e-7 and hues are exact to about 1e-5 degree.
        """
        hsv = cv2.cvtColor(self.rgb_float, cv2.COLOR_RGB2HSV)
        hue = hsv[..., 0]
        hue[hue >= 360.0] -= 360.0  # float rounding can give exactly 360 for hues just below 0
        return hsv

    @cached_property
    def hue(self) -> np.ndarray:
        """``(H, W)`` ``float32`` HSV hue in degrees, [0, 360), contiguous (plane 0 of :attr:`hsv`)."""
        return cv2.extractChannel(self.hsv, 0)

    @cached_property
    def saturation(self) -> np.ndarray:
        """``(H, W)`` ``float32`` HSV saturation in [0, 1], contiguous (plane 1 of :attr:`hsv`)."""
        return cv2.extractChannel(self.hsv, 1)

    @cached_property
    def saturation_sum(self) -> float:
        """Sum of :attr:`saturation` over the pixels, in double precision (numpy's own sum: the same
        rounding whatever the memory alignment). The saturation mean and the saturation-weighted
        hue statistics all need it."""
        return float(self.saturation.sum(dtype=np.float64))

    @cached_property
    def hue_sectors(self) -> np.ndarray:
        """``(H, W)`` ``uint8`` 15-degree hue sector of every pixel, floor(hue / 15) in 0 .. 23. The
        12 hue-histogram bins (centred on multiples of 30 degrees) and the warm/cool split (at 90
        and 330 degrees) are both unions of sectors, so one index serves both."""
        return (self.hue / np.float32(15.0)).astype(np.uint8)

    @cached_property
    def hsv_planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:attr:`hsv` split into three contiguous ``(H, W)`` planes (hue, saturation, value), the
        layout OpenCV's per-plane functions need. The built-in extractors read :attr:`hue`,
        :attr:`saturation` and the 8-bit :attr:`value` instead, which skips one plane."""
        return self.hue, self.saturation, cv2.extractChannel(self.hsv, 2)

    @cached_property
    def lab(self) -> np.ndarray:
        """``(H, W, 3)`` ``float32`` CIELab (sRGB, D65): L* in [0, 100], a* and b* unscaled.

        OpenCV interpolates the sRGB gamma curve from a table: values are within about 0.3 of the
        exact formula (``skimage.color.rgb2lab``), below a just-noticeable difference, at a third of
        its cost.
        """
        return cv2.cvtColor(self.rgb_float, cv2.COLOR_RGB2Lab)

    @cached_property
    def sample(self) -> ImageContext:
        """The context of a quarter of the pixels: about every second pixel of every second row,
        ``ceil(H / 2) x ceil(W / 2)`` (:data:`SAMPLE_STEP`), with all the same representations.

        Pixel statistics whose per-pixel conversion is dear (CIELab's cube roots, HSV hue and
        saturation, the weighted hue histogram, colourfulness) are estimated from this sample, 4x
        cheaper. It keeps pixels rather than averaging them, so every sampled colour is an image
        colour and the statistics keep their meaning. On 200 D-ViSA images they differ from the
        full-image ones by at most 0.6 CIELab unit, 0.005 in HSV means and spreads, 0.02 in hue
        shares and 0.6 in colourfulness (correlations >= 0.9999); ill-conditioned values move more
        (the hue mean of a nearly grey image, by up to 8 degrees; the warm/cool balance of an image
        with a single chromatic pixel). The pixels are those
        ``cv2.resize`` keeps when halving with ``INTER_NEAREST``: exactly ``rgb[::2, ::2]`` for even
        sides (one row or column shifted by a pixel for odd ones), 4x faster than numpy's strided copy
        of 3-byte pixels.
        """
        size = (-(-self.width // SAMPLE_STEP), -(-self.height // SAMPLE_STEP))
        sample = cv2.resize(self.rgb, size, interpolation=cv2.INTER_NEAREST)
        return ImageContext._trusted(sample)

    @classmethod
    def _trusted(cls, rgb: np.ndarray) -> ImageContext:
        """A context of an array that is already a valid, private, C-contiguous ``uint8`` RGB image
        (no validation, so sides below :data:`MIN_SIDE` are allowed)."""
        context = cls.__new__(cls)
        rgb.flags.writeable = False
        context.rgb = rgb
        context.height, context.width = rgb.shape[:2]
        return context

    @cached_property
    def grey(self) -> np.ndarray:
        """``(H, W)`` ``uint8`` luma, Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601)."""
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)

    @cached_property
    def grey_float(self) -> np.ndarray:
        """``(H, W)`` ``float32`` luma in [0, 1] (:attr:`grey` / 255)."""
        return self.grey.astype(np.float32) * np.float32(1.0 / 255.0)

    @cached_property
    def grey_histogram(self) -> np.ndarray:
        """``(256,)`` ``float64`` pixel counts of each 8-bit luma level."""
        return cv2.calcHist([self.grey], [0], None, [256], [0, 256]).ravel().astype(np.float64)

    @cached_property
    def grey_levels(self) -> np.ndarray:
        """``(H, W)`` ``uint8`` luma quantised to :data:`GLCM_LEVELS` equal-width levels (0 .. 31)."""
        return self.grey // np.uint8(256 // GLCM_LEVELS)

    @cached_property
    def chromatic(self) -> np.ndarray:
        """``(H, W)`` bool: pixels whose hue is meaningful (see :data:`CHROMATIC_SATURATION`)."""
        # V >= 0.2 on the exact 8-bit scale: V >= 51
        low_value = next(v for v in range(256) if v / 255 >= CHROMATIC_VALUE)
        return (self.saturation >= CHROMATIC_SATURATION) & (self.value >= low_value)

    @cached_property
    def edges(self) -> np.ndarray:
        """``(H, W)`` bool Canny edge map (Canny 1986).

        The grey image is smoothed with a Gaussian of sigma 1 px (``cv2.GaussianBlur``'s pixels, see
        :func:`gaussian_blur_sigma1`), then ``cv2.Canny`` runs with
        hysteresis thresholds 50 and 150 on the L2 magnitude of the 3x3 Sobel gradient (the 1:3 ratio
        Canny recommends; the absolute values suit 8-bit images and suppress JPEG ringing).
        """
        return cv2.Canny(gaussian_blur_sigma1(self.grey), 50, 150, L2gradient=True) > 0

    @cached_property
    def thumbnail(self) -> np.ndarray:
        """``(h, w, 3)`` ``uint8`` RGB area-downscaled to a longest side of :data:`PALETTE_SIDE` px
        (the image itself if already smaller)."""
        scale = PALETTE_SIDE / max(self.height, self.width)
        if scale >= 1.0:
            return self.rgb
        size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))
        return cv2.resize(self.rgb, size, interpolation=cv2.INTER_AREA)


def describe_image(image: np.ndarray, *, groups: Iterable[str] | str | None = None,
                   max_side: int | None = None, registry: Registry = REGISTRY) -> dict[str, float]:
    """Every registered image descriptor of ``image`` (optionally only some groups).

    Parameters
    ----------
    image : np.ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grey, ``uint8`` or float in [0, 1]; both sides >= 8 px.
    groups : iterable of str, str or None
        Any of ``"colour"``, ``"texture"``, ``"composition"``; ``None`` computes all.
    max_side : int or None
        Downscale (area averaging) so that the longest side is at most this many pixels first.
    registry : Registry
        Where the extractors come from (the default registry unless testing a custom one).

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
    if isinstance(groups, str):
        groups = (groups,)
    if groups is not None:
        groups = tuple(groups)
        unknown = sorted(set(groups) - set(IMAGE_GROUPS))
        if unknown:
            raise ParameterError(f"unknown image descriptor groups {unknown}; choose from "
                                 f"{list(IMAGE_GROUPS)}")
    context = ImageContext(image, max_side=max_side)
    return compute_descriptors(context, "image", groups, registry=registry)
