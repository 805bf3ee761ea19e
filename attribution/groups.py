"""From pixels and bins to named features: attribution mass of an IG map grouped into the registry's
vocabulary.

Every group is a partition (or a soft partition) of the input's elements; a group's value is the *sum*
of the attributions of its elements. Summed attribution is not the attribution of the group treated as
one feature (removing the whole group at once can change the score by a different amount, because of
interactions between its elements); where that matters, use :func:`attribution.sanity.deletion_insertion`
on the group.

Image (pixel attributions summed over the RGB channels; the image is RGB in [0, 1]):

- ``hue_00`` .. ``hue_11``: HSV hue sectors of 30 degrees (sector k covers [30k, 30k + 30)); pixels with
  saturation < 0.1 go to ``hue_achromatic`` instead;
- ``saturation_low/mid/high``, ``brightness_low/mid/high``: HSV S and V in [0, 1/3), [1/3, 2/3), [2/3, 1];
- ``sf_low/mid/high``: spatial-frequency bands of the grey image by differences of Gaussians
  (sigma 1 and 4: high = I - G1, mid = G1 - G4, low = G4); each pixel's attribution is split between the
  bands in proportion to their squared amplitude at that pixel (a soft partition);
- ``edge`` / ``flat``: Sobel gradient magnitude of the grey image in the top 20 % of the image's pixels
  or not.

Audio (log-mel bins, (1, M, T) dB):

- ``mel_low/mid/high``: the lower, middle and upper third of the mel bins;
- ``onset`` / ``steady``: frames whose spectral flux (sum of positive dB increases over the bands) is
  above its mean + 1 std over the clip, or not;
- ``harmonic`` / ``percussive``: bins where the harmonic part of librosa's HPSS (median filtering of the
  mel power spectrogram) is larger than the percussive part, or not;
- ``voiced`` / ``unvoiced``: a spectrogram-only *proxy* (no waveform is available at this point):
  frames within 40 dB of the clip's loudest frame whose spectral flatness (over mel power) is below 0.3,
  or not. The F0-based ``voiced_fraction`` descriptor is the authoritative one.
"""

from __future__ import annotations

import numpy as np


def _rgb_to_hsv(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, g, b = img[0], img[1], img[2]
    mx, mn = img.max(0), img.min(0)
    diff = mx - mn
    s = np.where(mx > 0, diff / np.where(mx > 0, mx, 1), 0.0)
    safe = np.where(diff > 0, diff, 1)
    h = np.where(mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = np.where(diff > 0, h * 60.0, 0.0)
    return h, s, mx


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma, mode="nearest")


def group_image_attributions(attributions: np.ndarray, images: np.ndarray) -> dict[str, np.ndarray]:
    """Named-feature attribution mass of pixel attributions (n, 3, H, W) of images (n, 3, H, W) in [0, 1].

    Returns ``{group: (n,)}`` (see the module docstring for the definitions).
    """
    from scipy.ndimage import sobel

    a = np.asarray(attributions, dtype=np.float64).sum(1)
    images = np.asarray(images, dtype=np.float64)
    n = a.shape[0]
    out: dict[str, np.ndarray] = {}
    names = [f"hue_{k:02d}" for k in range(12)] + ["hue_achromatic"] + [
        f"{p}_{b}" for p in ("saturation", "brightness") for b in ("low", "mid", "high")] + [
        "sf_low", "sf_mid", "sf_high", "edge", "flat"]
    for name in names:
        out[name] = np.zeros(n)
    for i in range(n):
        h, s, v = _rgb_to_hsv(images[i])
        ai = a[i]
        sector = np.minimum((h // 30).astype(int), 11)
        chroma = s >= 0.1
        for k in range(12):
            out[f"hue_{k:02d}"][i] = ai[chroma & (sector == k)].sum()
        out["hue_achromatic"][i] = ai[~chroma].sum()
        for prefix, channel in (("saturation", s), ("brightness", v)):
            band = np.minimum((channel * 3).astype(int), 2)
            for k, b in enumerate(("low", "mid", "high")):
                out[f"{prefix}_{b}"][i] = ai[band == k].sum()
        grey = images[i].mean(0)
        g1, g4 = _gauss(grey, 1.0), _gauss(grey, 4.0)
        power = np.stack([g4 ** 2, (g1 - g4) ** 2, (grey - g1) ** 2])
        share = power / np.maximum(power.sum(0), 1e-12)
        for k, b in enumerate(("low", "mid", "high")):
            out[f"sf_{b}"][i] = (ai * share[k]).sum()
        mag = np.hypot(sobel(grey, 0), sobel(grey, 1))
        edge = mag >= np.quantile(mag, 0.8)
        out["edge"][i], out["flat"][i] = ai[edge].sum(), ai[~edge].sum()
    return out


def group_audio_attributions(attributions: np.ndarray, logmel: np.ndarray) -> dict[str, np.ndarray]:
    """Named-feature attribution mass of log-mel attributions (n, 1, M, T) of spectrograms (n, 1, M, T) in dB."""
    import librosa

    a = np.asarray(attributions, dtype=np.float64)[:, 0]
    x = np.asarray(logmel, dtype=np.float64)[:, 0]
    n, m, _ = a.shape
    out = {k: np.zeros(n) for k in ("mel_low", "mel_mid", "mel_high", "onset", "steady", "harmonic",
                                    "percussive", "voiced", "unvoiced")}
    thirds = np.array_split(np.arange(m), 3)
    for i in range(n):
        ai, xi = a[i], x[i]
        for name, rows in zip(("mel_low", "mel_mid", "mel_high"), thirds, strict=True):
            out[name][i] = ai[rows].sum()
        flux = np.concatenate([[0.0], np.maximum(np.diff(xi, axis=1), 0).sum(0)])
        onset = flux > flux.mean() + flux.std()
        out["onset"][i], out["steady"][i] = ai[:, onset].sum(), ai[:, ~onset].sum()
        power = librosa.db_to_power(xi)
        harm, perc = librosa.decompose.hpss(power, kernel_size=(min(17, 2 * (xi.shape[1] // 2) - 1 or 1),
                                                                min(17, 2 * (m // 2) - 1 or 1)))
        hmask = harm >= perc
        out["harmonic"][i], out["percussive"][i] = ai[hmask].sum(), ai[~hmask].sum()
        frame_db = 10 * np.log10(np.maximum(power.mean(0), 1e-20))
        flat = np.exp(np.log(np.maximum(power, 1e-20)).mean(0)) / np.maximum(power.mean(0), 1e-20)
        voiced = (frame_db >= frame_db.max() - 40) & (flat < 0.3)
        out["voiced"][i], out["unvoiced"][i] = ai[:, voiced].sum(), ai[:, ~voiced].sum()
    return out
