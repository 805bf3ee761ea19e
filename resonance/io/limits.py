"""One set of limits on what a media file may be, checked before it is decoded.

``prepare`` rejects a file outside these limits with a clear reason (``rejected.csv``), and
:func:`resonance.io.load_audio` / :func:`resonance.io.load_image` apply the same limits by default,
so ``extract`` never receives what its descriptors cannot use. The defaults guarantee what the
descriptors require (``handcrafted.audio.MIN_DURATION_S``, ``handcrafted.audio.MIN_SAMPLE_RATE``,
``handcrafted.image.MIN_SIDE``; a test checks that they do). Audio bounds are checked on the *native*
rate and on the duration the header declares, before any sample is decoded, so a 96 KB WAV whose
header says 1 Hz is refused without allocating anything.

Rejection reasons (``DecodeError.reason``):

- ``sample_rate_out_of_range``: native rate below ``min_sample_rate`` or above ``max_sample_rate``.
- ``too_short`` / ``too_long``: duration below ``min_duration_s`` / above ``max_duration_s``.
- ``image_too_small``: a side below ``min_image_side`` pixels.
- ``aspect_ratio_out_of_range``: longer side / shorter side above ``max_aspect_ratio``.
- ``decompression_bomb``: more than ``max_pixels`` pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from resonance.errors import DecodeError, ParameterError


@dataclass(frozen=True)
class MediaLimits:
    """Bounds on a media file, validated on construction.

    Parameters
    ----------
    min_duration_s : float
        Shortest audio clip accepted, in seconds (default 0.5: the audio descriptors' minimum).
    max_duration_s : float
        Longest audio clip accepted, in seconds (default 1800: 30 minutes).
    min_sample_rate, max_sample_rate : int
        Native sample rate bounds in Hz (default 8000 and 384000). Checked on the file's own rate,
        before any resampling.
    min_image_side : int
        Smallest image side accepted, in pixels (default 32; the image descriptors need 8).
    max_aspect_ratio : float
        Largest ``long side / short side`` accepted (default 20).
    max_pixels : int
        Largest image accepted, in pixels (default 64,000,000, about 8k x 8k); a decompression-bomb guard.

    Raises
    ------
    ParameterError
        If a bound is not a positive finite number, or a minimum exceeds its maximum.
    """

    min_duration_s: float = 0.5
    max_duration_s: float = 1800.0
    min_sample_rate: int = 8_000
    max_sample_rate: int = 384_000
    min_image_side: int = 32
    max_aspect_ratio: float = 20.0
    max_pixels: int = 64_000_000

    def __post_init__(self) -> None:
        for name in ("min_duration_s", "max_duration_s", "max_aspect_ratio"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise ParameterError(f"MediaLimits.{name} must be a positive finite number, got {value!r}")
        for name in ("min_sample_rate", "max_sample_rate", "min_image_side", "max_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ParameterError(f"MediaLimits.{name} must be a positive integer, got {value!r}")
        if self.min_duration_s > self.max_duration_s:
            raise ParameterError(f"MediaLimits.min_duration_s ({self.min_duration_s}) exceeds max_duration_s "
                                 f"({self.max_duration_s})")
        if self.min_sample_rate > self.max_sample_rate:
            raise ParameterError(f"MediaLimits.min_sample_rate ({self.min_sample_rate}) exceeds "
                                 f"max_sample_rate ({self.max_sample_rate})")
        if self.max_aspect_ratio < 1:
            raise ParameterError(f"MediaLimits.max_aspect_ratio must be >= 1, got {self.max_aspect_ratio}")
        if self.min_image_side ** 2 > self.max_pixels:
            raise ParameterError(f"MediaLimits.min_image_side ({self.min_image_side}) squared exceeds "
                                 f"max_pixels ({self.max_pixels})")

    def check_sample_rate(self, sample_rate: float, where: str) -> None:
        """Raise ``sample_rate_out_of_range`` unless the native rate is within the bounds."""
        if not (self.min_sample_rate <= sample_rate <= self.max_sample_rate):
            raise DecodeError("sample_rate_out_of_range",
                              f"{where} is at {sample_rate:g} Hz; accepted native rates are "
                              f"{self.min_sample_rate:,}-{self.max_sample_rate:,} Hz")

    def check_duration(self, duration_s: float, where: str, *, declared: bool = False) -> None:
        """Raise ``too_short`` or ``too_long`` unless ``duration_s`` is within the bounds."""
        what = "its header declares" if declared else "it lasts"
        if duration_s < self.min_duration_s:
            raise DecodeError("too_short", f"{where}: {what} {duration_s:.4g} s; at least "
                                           f"{self.min_duration_s:g} s is needed")
        if duration_s > self.max_duration_s:
            raise DecodeError("too_long", f"{where}: {what} {duration_s:,.1f} s; at most "
                                          f"{self.max_duration_s:,.0f} s is accepted (MediaLimits.max_duration_s)")

    def check_image_size(self, width: int, height: int, where: str) -> None:
        """Raise ``decompression_bomb``, ``image_too_small`` or ``aspect_ratio_out_of_range``."""
        if width * height > self.max_pixels:
            raise DecodeError("decompression_bomb", f"{where} is {width}x{height} px, above the "
                                                    f"{self.max_pixels:,} px limit")
        if min(width, height) < self.min_image_side:
            raise DecodeError("image_too_small", f"{where} is {width}x{height} px; both sides must be at "
                                                 f"least {self.min_image_side} px")
        ratio = max(width, height) / min(width, height)
        if ratio > self.max_aspect_ratio:
            raise DecodeError("aspect_ratio_out_of_range", f"{where} is {width}x{height} px (aspect ratio "
                                                           f"{ratio:.1f}); at most {self.max_aspect_ratio:g} "
                                                           "is accepted")


#: The limits ``prepare``, ``load_audio`` and ``load_image`` apply unless told otherwise.
DEFAULT_LIMITS = MediaLimits()
