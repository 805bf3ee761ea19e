"""Spatial Fourier spectrum of luma: high-frequency share and the 1/f slope (``spectral_*``).
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import scipy.fft

from handcrafted.image.context import ImageContext
from handcrafted.registry import Registry, descriptor_factory

_SPECTRUM = ("Field (1987), JOSA A 4(12):2379-2394; Graham & Field (2007), Spatial Vision 21:149-164; "
             "Redies, Hasenstein & Denzler (2007), Spatial Vision 21:137-148")


_texture = descriptor_factory("image", "texture")


# --------------------------------------------------------------------------------------------------
# Fourier spectrum

#: Radial frequency (cycles/pixel) above which spectral energy counts as high-frequency: half the
#: Nyquist frequency.
HIGH_FREQUENCY = 0.25
#: Fit range of the spectral slope, cycles/pixel (4.5 to 56 cycles per 224-px image), split into 16
#: log-spaced bins. It stops at 0.25 because JPEG quantisation removes much of the energy above it.
SLOPE_RANGE = (0.02, 0.25)
SLOPE_BINS = 16


class _SpectralLayout:
    """Per image shape: the Hann window and the rfft2 coefficients sorted by radial frequency, so
    that the power in any frequency annulus is a difference of one cumulative sum."""

    def __init__(self, rows: int, cols: int) -> None:
        self.window = cv2.createHanningWindow((cols, rows), cv2.CV_32F)
        radius = np.sqrt(np.fft.fftfreq(rows)[:, None] ** 2 + np.fft.rfftfreq(cols)[None, :] ** 2).ravel()
        # rfft2 stores one of each conjugate pair: interior columns stand for two coefficients.
        weight = np.full((rows, cols // 2 + 1), 2.0)
        weight[:, 0] = 1.0
        if cols % 2 == 0:
            weight[:, -1] = 1.0
        self.order = np.argsort(radius, kind="stable")
        radius, weight = radius[self.order], weight.ravel()[self.order]
        self.weight = weight
        self.weight32 = weight.astype(np.float32)  # 1 or 2: exact
        self.first_nonzero = int(np.searchsorted(radius, 0.0, side="right"))  # skips DC
        self.first_high = int(np.searchsorted(radius, HIGH_FREQUENCY, side="right"))
        self.band_bounds = np.searchsorted(radius, np.geomspace(*SLOPE_RANGE, SLOPE_BINS + 1), side="left")
        # segment starts for np.add.reduceat: [DC end, the 17 band edges, start of the high band];
        # segment s sums the sorted power from starts[s] to starts[s + 1] (the last: to the end)
        self.starts = np.concatenate(([self.first_nonzero], self.band_bounds, [self.first_high]))
        self.empty = np.append(self.starts[1:] == self.starts[:-1], radius.size == self.first_high)
        cumulative_weight = np.concatenate(([0.0], np.cumsum(weight)))
        self.band_weight = np.diff(cumulative_weight[self.band_bounds])
        log_radius = np.log10(np.maximum(radius, SLOPE_RANGE[0]))  # below the range: never read
        cumulative_log = np.concatenate(([0.0], np.cumsum(weight * log_radius)))
        with np.errstate(invalid="ignore", divide="ignore"):
            self.band_log_f = np.diff(cumulative_log[self.band_bounds]) / self.band_weight
        self.band_weight_list, self.band_log_f_list = self.band_weight.tolist(), self.band_log_f.tolist()
        for array in (self.window, self.order, self.weight, self.weight32, self.band_bounds,
                      self.band_weight, self.band_log_f, self.starts, self.empty):
            array.flags.writeable = False


@lru_cache(maxsize=1)
def _grey_float_levels() -> np.ndarray:
    """``(256,)`` ``float64``: the ``float32`` value of each 8-bit level in ``ImageContext.grey_float``
    (computed by the same ``float32`` product, so exactly the values the pixels hold)."""
    levels = (np.arange(256, dtype=np.float32) * np.float32(1.0 / 255.0)).astype(np.float64)
    levels.flags.writeable = False
    return levels


@lru_cache(maxsize=16)
def _spectral_layout(rows: int, cols: int) -> _SpectralLayout:
    return _SpectralLayout(rows, cols)


_SPECTRUM_DESCRIPTORS = [
    _texture("spectral_high_frequency", "High-frequency energy", "fraction, 0-1", (0.0, 1.0), _SPECTRUM,
             "Share of the (Hann-windowed, mean-removed) luma power spectrum above 0.25 cycles/pixel; "
             "0 for a flat image."),
    _texture("spectral_slope", "Spectral slope", "log10 power / log10 frequency", (-6.0, 2.0), _SPECTRUM,
             "Slope of the radially averaged power spectrum in log-log coordinates between 0.02 and "
             "0.25 cycles/pixel: about -2 for natural scenes and much art (Redies et al. 2007), "
             "steeper for smooth images, 0 for white noise. 0 by convention when fewer than 3 "
             "frequency bands carry power (flat or tiny images)."),
]


def spectrum(ctx: ImageContext) -> dict[str, float]:
    """High-frequency energy share and the 1/f^alpha slope of the luma power spectrum.

    The luma (0-1) has its mean removed and is multiplied by a 2-D Hann window, so the image border
    adds no spurious high frequencies; the power |F|^2 of its real 2-D FFT is radially binned.
    The slope is the least-squares line through (mean log10 f, log10 mean power) of 16 log-spaced
    bands from 0.02 to 0.25 cycles/pixel (Redies et al. 2007 fit 10-256 cycles/image on 1024 px).

    The power is formed in float32, the precision of the FFT itself, and summed in double precision
    over the coefficients sorted by radius, one ``np.add.reduceat`` segment per annulus (a float64
    cumulative sum, differenced, did the same 4x slower and with cancellation).
    """
    grey = ctx.grey_float
    layout = _spectral_layout(*grey.shape)
    # the mean of the float32 luma from the shared 256-bin histogram: the same float32 values summed
    # in double precision (in another order), without another pass over the pixels
    histogram = ctx.grey_histogram
    mean = float((histogram * _grey_float_levels()).sum()) / float(histogram.sum())
    centred = cv2.multiply(cv2.subtract(grey, mean), layout.window)
    # |F|^2 in float32 from the interleaved (re, im) pairs, gathered in radial order, weighted for
    # the conjugate pairs rfft2 omits, then summed per annulus in double precision
    pairs = scipy.fft.rfft2(centred).view(np.float32).reshape(-1, 2)
    squares = pairs * pairs
    power = (squares[:, 0] + squares[:, 1])[layout.order]
    power *= layout.weight32
    # one trailing zero keeps every segment start a valid index (a tiny image may have no high band)
    sorted_power = np.zeros(power.size + 1)
    sorted_power[:-1] = power
    segments = np.add.reduceat(sorted_power, layout.starts)
    segments[layout.empty] = 0.0  # reduceat gives the element itself for an empty segment
    total = float(segments.sum())  # everything but DC: what the window leaves of the mean
    high = segments[-1] / total if total > 0 else 0.0
    # the least-squares slope through at most 16 points, in Python floats (numpy calls cost more
    # than the arithmetic on arrays this small)
    points = [(log_f, math.log10(power / weight)) for power, weight, log_f
              in zip(segments[1: SLOPE_BINS + 1].tolist(), layout.band_weight_list, layout.band_log_f_list)
              if weight > 0 and power > 0]
    slope = 0.0
    if len(points) >= 3:
        x_mean = math.fsum(x for x, _ in points) / len(points)
        y_mean = math.fsum(y for _, y in points) / len(points)
        slope = (math.fsum((x - x_mean) * (y - y_mean) for x, y in points)
                 / math.fsum((x - x_mean) ** 2 for x, _ in points))
    return {"spectral_high_frequency": min(1.0, max(0.0, float(high))), "spectral_slope": slope}


def register(registry: Registry) -> None:
    """Register :func:`spectrum` and their descriptors in ``registry`` (in this order)."""
    registry.extractor("image", "texture", _SPECTRUM_DESCRIPTORS)(spectrum)
