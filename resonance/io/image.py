"""Image decoding that survives the real world: any Pillow mode to 8-bit RGB, EXIF orientation
applied, transparency composited on white, and size limits checked before decoding (decompression
bombs, images too small or too elongated for the descriptors).

High-bit-depth modes are scaled, never clipped to black or white:

- ``I;16*`` (16-bit): divided by 65535.
- ``I`` (32-bit integer): values in [0, 255] are taken as 8-bit; above, the bit depth is inferred as
  the bit length of the largest value (a 12-bit scan peaking at 4000 is divided by 4095; 300 gives
  9 bits, 511), flagged ``bit_depth_inferred``; negative values are scaled by the actual range,
  flagged ``range_rescaled``.
- ``F`` (32-bit float): values in [0, 1] (the usual convention) are multiplied by 255, a slightly
  negative minimum clipped at 0; a maximum above 1 is scaled by the actual range (min to max),
  flagged ``range_rescaled``. NaN or infinite pixels are rejected (``non_finite``).

A multi-frame file (animated GIF, multi-page TIFF) decodes its first frame, flagged ``multi_frame``
(``ImageInfo.n_frames`` gives the count).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from resonance.errors import DecodeError
from resonance.io.files import check_readable
from resonance.io.limits import DEFAULT_LIMITS, MediaLimits

#: Largest image accepted, in pixels (about 8k x 8k). Pillow's own bomb limit is 89 Mpx.
MAX_PIXELS = DEFAULT_LIMITS.max_pixels

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_PIXELS_ONLY = MediaLimits(min_image_side=1, max_aspect_ratio=1e12, max_pixels=MAX_PIXELS)


@dataclass(frozen=True)
class ImageInfo:
    """The source image: its size after EXIF orientation, original mode and format, frames and flags.

    ``flags`` may hold ``multi_frame`` (only the first of ``n_frames`` frames was decoded),
    ``bit_depth_inferred`` and ``range_rescaled`` (see the module docstring).
    """

    width: int
    height: int
    mode: str
    format: str
    n_frames: int = 1
    flags: tuple[str, ...] = ()


def load_image(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = None,
    limits: MediaLimits | None = DEFAULT_LIMITS,
) -> tuple[np.ndarray, ImageInfo]:
    """Decode ``path`` to an RGB ``uint8`` array of shape ``(height, width, 3)``.

    Parameters
    ----------
    path : path-like
        Any image Pillow reads, whatever its extension.
    max_pixels : int or None, keyword-only
        Overrides ``limits.max_pixels`` (the decompression-bomb guard) when given.
    limits : MediaLimits or None, keyword-only
        Size bounds checked from the header before decoding (default
        :data:`resonance.io.limits.DEFAULT_LIMITS`: at least 32 px a side, aspect ratio at most 20,
        at most 64 Mpx). None keeps only the pixel-count guard (:data:`MAX_PIXELS`).

    Returns
    -------
    rgb : np.ndarray, shape (height, width, 3), uint8
    info : ImageInfo

    Raises
    ------
    DecodeError
        ``reason`` is one of ``file_not_found``, ``permission_denied``, ``empty_file``,
        ``decode_error``, ``truncated``, ``decompression_bomb``, ``image_too_small``,
        ``aspect_ratio_out_of_range``, ``non_finite``, ``empty_image``.
    """
    path = Path(path)
    if limits is None:
        limits = _PIXELS_ONLY
    if max_pixels is not None:
        limits = dataclasses.replace(limits, max_pixels=int(max_pixels))
    check_readable(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                limits.check_image_size(img.width, img.height, str(path))
                fmt = img.format or "unknown"
                mode = img.mode
                n_frames = int(getattr(img, "n_frames", 1) or 1)
                img.load()  # decode fully now, so that truncation is caught here
                rgb, flags = _to_rgb(ImageOps.exif_transpose(img), path)
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DecodeError("decompression_bomb", f"{path}: {error}") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        reason = "truncated" if "truncated" in str(error).lower() else "decode_error"
        raise DecodeError(reason, f"{path}: {error}") from error
    if rgb.size == 0:
        raise DecodeError("empty_image", f"{path} has no pixels")
    if n_frames > 1:
        flags = ("multi_frame", *flags)
    return rgb, ImageInfo(rgb.shape[1], rgb.shape[0], mode, fmt, n_frames, flags)


def _grey_to_rgb(grey8: np.ndarray) -> np.ndarray:
    return np.repeat(grey8[..., None], 3, axis=2)


def _to_rgb(img: Image.Image, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """Any mode to RGB uint8 (see the module docstring), alpha composited over white; and flags."""
    if img.mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(img, dtype=np.float64)
        return _grey_to_rgb(np.clip(np.round(grey / 65535.0 * 255.0), 0, 255).astype(np.uint8)), ()
    if img.mode in {"I", "F"}:
        return _wide_to_rgb(np.asarray(img), img.mode, path)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8), ()


def _wide_to_rgb(values: np.ndarray, mode: str, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """32-bit integer (``I``) or float (``F``) greyscale to 8-bit, by bit depth or range."""
    grey = values.astype(np.float64)
    if grey.size == 0:
        return _grey_to_rgb(grey.astype(np.uint8)), ()
    if not np.isfinite(grey).all():
        raise DecodeError("non_finite", f"{path} ({mode}) holds {int(np.sum(~np.isfinite(grey)))} NaN or "
                                        "infinite pixels")
    low, high = float(grey.min()), float(grey.max())
    flags: tuple[str, ...] = ()
    if mode == "F" and high <= 1.0:
        scaled = np.clip(grey, 0.0, 1.0)
    elif mode == "I" and low >= 0 and high <= 255:
        scaled = grey / 255.0
    elif mode == "I" and low >= 0:
        scaled = grey / float((1 << int(high).bit_length()) - 1)
        flags = ("bit_depth_inferred",)
    else:
        scaled = (grey - low) / (high - low) if high > low else np.zeros_like(grey)
        flags = ("range_rescaled",)
    return _grey_to_rgb(np.round(scaled * 255.0).astype(np.uint8)), flags
