"""The probe images: abstract compositions of one hue family with controlled mean HSV brightness and
saturation (:func:`render_image`), written as lossless PNG with fixed encoder settings."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from resonance.data.probes.rules import TEXTURES
from resonance.errors import ParameterError
from resonance.io.atomic import atomic_path

__all__ = ["render_image", "write_png"]


def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return np.clip(gaussian_filter(mask.astype(np.float64), sigma), 0.0, 1.0) if sigma > 0 else mask


def _layout(size: int, texture: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-centred deviation fields (hue degrees, saturation, value) of one composition.

    The layout depends on the texture and the generator only, not on the target colour, so the
    colour levels of one layout share their shapes exactly.
    """
    from scipy.ndimage import gaussian_filter
    from skimage.draw import ellipse, polygon

    yy, xx = np.mgrid[0:size, 0:size] / (size - 1.0)
    d_h = np.zeros((size, size))
    d_s = np.zeros((size, size))
    d_v = np.zeros((size, size))
    edge_sigma = size / 40.0 if texture in ("gradient", "blobs") else 0.0

    # Texture of the ground.
    if texture == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * xx + np.sin(angle) * yy
        ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-12) * 2.0 - 1.0  # -1 .. 1
        d_v += 0.12 * ramp
        d_s -= 0.06 * ramp
    elif texture == "blobs":
        for amplitude, channel in ((0.14, d_v), (0.08, d_s)):
            noise = gaussian_filter(rng.standard_normal((size, size)), size / 10.0, mode="wrap")
            channel += amplitude * noise / (np.abs(noise).max() + 1e-12)
    else:  # stripes: square wave at a random angle, plus fine pixel noise
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(0.05, 0.09)
        phase = np.cos(angle) * xx + np.sin(angle) * yy
        d_v += 0.12 * np.sign(np.sin(2 * np.pi * phase / period))
        d_v += 0.04 * rng.uniform(-1, 1, (size, size))
        d_s += 0.04 * rng.uniform(-1, 1, (size, size))

    # A few shapes, each with its own colour offset (hue within +-30 degrees of the family).
    n_shapes = int(rng.integers(3, 6))
    for _ in range(n_shapes):
        mask = np.zeros((size, size), dtype=bool)
        cy, cx = rng.uniform(0.15, 0.85, 2) * size
        if rng.random() < 0.5:
            ry, rx = rng.uniform(0.08, 0.3, 2) * size
            rr, cc = ellipse(cy, cx, ry, rx, shape=mask.shape, rotation=rng.uniform(0, np.pi))
        else:
            k = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 2 * np.pi, k))
            radii = rng.uniform(0.1, 0.3, k) * size
            rr, cc = polygon(cy + radii * np.sin(angles), cx + radii * np.cos(angles), shape=mask.shape)
        mask[rr, cc] = True
        alpha = _soft(mask, edge_sigma)
        # Offsets at least a little away from zero, so that every shape stands out from the ground.
        sign = rng.choice([-1.0, 1.0], 3)
        shape_h = sign[0] * rng.uniform(8, 30)
        shape_s = sign[1] * rng.uniform(0.04, 0.12)
        shape_v = sign[2] * rng.uniform(0.08, 0.2)
        d_h = (1 - alpha) * d_h + alpha * shape_h
        d_s = (1 - alpha) * d_s + alpha * (shape_s + 0.5 * d_s)  # shapes keep some ground texture
        d_v = (1 - alpha) * d_v + alpha * (shape_v + 0.5 * d_v)
    return d_h - d_h.mean(), d_s - d_s.mean(), d_v - d_v.mean()


def _with_mean(deviation: np.ndarray, target: float, *, iterations: int = 20) -> np.ndarray:
    """``target + deviation`` clipped to [0, 1], shifted until its mean is ``target`` (to 1e-6).

    Clipping moves the mean; a few fixed-point shifts restore it (the targets are kept inside
    [0.15, 0.85] so the shift always converges).
    """
    shift = 0.0
    out = np.clip(target + deviation, 0.0, 1.0)
    for _ in range(iterations):
        error = target - out.mean()
        if abs(error) < 1e-6:
            break
        shift += error
        out = np.clip(target + deviation + shift, 0.0, 1.0)
    return out


def render_image(*, hue_deg: float, saturation: float, brightness: float, texture: str, layout: int,
                 size: int = 224, seed: int = 0) -> np.ndarray:
    """Render one abstract probe image.

    Parameters
    ----------
    hue_deg : float, keyword-only
        Hue family in degrees; pixels vary within about +-30 degrees of it.
    saturation, brightness : float, keyword-only
        Target mean HSV saturation and value in [0, 1]; the float image has exactly these means.
    texture : str, keyword-only
        One of :data:`TEXTURES`.
    layout : int, keyword-only
        Composition id: images with the same ``(seed, layout, texture, size)`` share their shapes.
    size : int, keyword-only
        Side in pixels.
    seed : int, keyword-only
        Global seed.

    Returns
    -------
    np.ndarray, shape (size, size, 3), uint8
        RGB pixels.
    """
    from skimage.color import hsv2rgb

    if texture not in TEXTURES:
        raise ParameterError(f"texture={texture!r}; expected one of {TEXTURES}")
    rng = np.random.default_rng([seed, 1, int(layout)])
    d_h, d_s, d_v = _layout(size, texture, rng)
    h = np.mod(hue_deg + d_h, 360.0) / 360.0
    s = _with_mean(d_s, saturation)
    v = _with_mean(d_v, brightness)
    rgb = hsv2rgb(np.stack([h, s, v], axis=-1))
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    # Fixed encoder settings and no metadata chunks: identical pixels give identical bytes.
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG", compress_level=6, optimize=False)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())

