"""The shared per-image context of the image descriptors: :class:`ImageContext`.

An :class:`ImageContext` is built once per image. It validates the pixels and computes the shared
representations (float RGB, HSV, CIELab, grey, quantised grey, edges, ...) lazily, each at most once,
so that the extractors of :mod:`handcrafted.image.colour`, :mod:`handcrafted.image.texture` and
:mod:`handcrafted.image.composition` never repeat a conversion. This module imports nothing of
:mod:`handcrafted`; the family modules import it, never the other way round.

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

from functools import cached_property

import cv2
import numpy as np

from resonance.errors import ParameterError

__all__ = ["ImageContext", "as_rgb_uint8", "MIN_SIDE", "GLCM_LEVELS", "CHROMATIC_SATURATION",
           "CHROMATIC_VALUE", "EDGE_SIGMA", "PALETTE_SIDE", "SAMPLE_STEP"]

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

#: Standard deviation (px) of the Gaussian that smooths luma before the Canny edge detector.
EDGE_SIGMA = 1.0

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

    def crop(self, rows: slice, cols: slice) -> ImageContext:
        """The context of the pixels ``rgb[rows, cols]`` (a contiguous copy, not re-validated: any
        non-empty crop is allowed, even below :data:`MIN_SIDE`), with all the same representations."""
        region = np.ascontiguousarray(self.rgb[rows, cols])
        if region.size == 0:
            raise ParameterError(f"the crop [{rows}, {cols}] of a {self.width}x{self.height} image is empty")
        return ImageContext._trusted(region)

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

        The grey image is smoothed with a Gaussian of sigma 1 px (``cv2.GaussianBlur``, 7 taps,
        mirrored border; it replaced a hand-written fixed-point copy of the same pixels that was
        0.07 ms faster per 224-px image), then ``cv2.Canny`` runs with hysteresis thresholds 50 and 150 on the L2
        magnitude of the 3x3 Sobel gradient (the 1:3 ratio Canny recommends; the absolute values suit
        8-bit images and suppress JPEG ringing).
        """
        blurred = cv2.GaussianBlur(self.grey, (0, 0), EDGE_SIGMA, borderType=cv2.BORDER_REFLECT_101)
        return cv2.Canny(blurred, 50, 150, L2gradient=True) > 0

    @cached_property
    def thumbnail(self) -> np.ndarray:
        """``(h, w, 3)`` ``uint8`` RGB area-downscaled to a longest side of :data:`PALETTE_SIDE` px
        (the image itself if already smaller)."""
        scale = PALETTE_SIDE / max(self.height, self.width)
        if scale >= 1.0:
            return self.rgb
        size = (max(1, round(self.width * scale)), max(1, round(self.height * scale)))
        return cv2.resize(self.rgb, size, interpolation=cv2.INTER_AREA)

