"""Image decoding that survives the real world: any Pillow mode to 8-bit RGB, EXIF orientation
applied, transparency composited on white, and a guard against decompression bombs."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from resonance.errors import DecodeError

#: Largest image accepted, in pixels (about 8k x 8k). Pillow's own bomb limit is 89 Mpx.
MAX_PIXELS = 64_000_000

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


@dataclass(frozen=True)
class ImageInfo:
    """The source image: its size after EXIF orientation, and its original mode and format."""

    width: int
    height: int
    mode: str
    format: str


def load_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Decode ``path`` to an RGB ``uint8`` array of shape ``(height, width, 3)``.

    Raises
    ------
    DecodeError
        ``reason`` is one of ``file_not_found``, ``empty_file``, ``decode_error``,
        ``decompression_bomb``, ``empty_image``.
    """
    path = Path(path)
    if not path.is_file():
        raise DecodeError("file_not_found", str(path))
    if path.stat().st_size == 0:
        raise DecodeError("empty_file", f"{path} has 0 bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > max_pixels:
                    raise DecodeError(
                        "decompression_bomb",
                        f"{path} is {img.width}x{img.height} px, above the {max_pixels:,} px limit",
                    )
                fmt = img.format or "unknown"
                mode = img.mode
                img.load()  # decode fully now, so that truncation is caught here
                rgb = _to_rgb(ImageOps.exif_transpose(img))
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DecodeError("decompression_bomb", f"{path}: {error}") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DecodeError("decode_error", f"{path}: {error}") from error
    if rgb.size == 0:
        raise DecodeError("empty_image", f"{path} has no pixels")
    return rgb, ImageInfo(rgb.shape[1], rgb.shape[0], mode, fmt)


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Any mode to RGB uint8: 16-bit rescaled (not clipped), alpha composited over white."""
    if img.mode in _SIXTEEN_BIT_MODES:
        grey = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode != "I" or grey.max() > 255 else 255.0
        grey8 = np.clip(np.round(grey / peak * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey8[..., None], 3, axis=2)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)
