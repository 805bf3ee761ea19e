"""Spectral-shape and MFCC descriptors, all from the shared STFT of :class:`handcrafted.audio.context.AudioContext`.

Every statistic is taken over the clip's *active* frames (within 40 dB of its loudest frame), so
silence before and after a recording does not pull spectral means towards the noise floor.
"""

from __future__ import annotations

import librosa
import numpy as np

from handcrafted.audio.context import AudioContext
from handcrafted.registry import Registry, descriptor_factory

#: Split frequency (Hz) of ``hf_energy_ratio``: energy above 1 kHz against all energy, the
#: "high-frequency energy" cue of Juslin & Laukka (2003, Table 7) as measured by Banse & Scherer (1996).
HF_SPLIT_HZ = 1000.0
#: Spectral contrast: lowest band edge and number of octave bands (200 Hz - 6.4 kHz at >= 12.8 kHz).
CONTRAST_FMIN = 200.0
CONTRAST_BANDS = 5

PEETERS = ("Peeters, G. (2004). A large set of audio features for sound description (similarity and "
           "classification) in the CUIDADO project. IRCAM technical report")
LIBROSA = ("McFee, B. et al. (2015). librosa: audio and music signal analysis in Python. Proc. 14th "
           "Python in Science Conf., 18-25")
JIANG = ("Jiang, D.-N. et al. (2002). Music type classification by spectral contrast feature. Proc. "
         "IEEE ICME, 113-116")
BANSE_SCHERER = ("Banse, R. & Scherer, K. R. (1996). Acoustic profiles in vocal emotion expression. "
                 "J. Personality and Social Psychology 70(3), 614-636; cue as in Juslin & Laukka (2003)")
DAVIS = ("Davis, S. & Mermelstein, P. (1980). Comparison of parametric representations for "
         "monosyllabic word recognition. IEEE Trans. ASSP 28(4), 357-366; librosa.feature.mfcc")


_spectrum = descriptor_factory("audio", "spectrum")


_SPECTRAL_SHAPE_DESCRIPTORS = [
    _spectrum("spectral_centroid_hz", "Spectral centroid", "Hz", (0.0, 8000.0), PEETERS,
              "Mean over active frames of the magnitude-weighted mean frequency "
              "(librosa.feature.spectral_centroid); upper bound is Nyquist (8 kHz at 16 kHz)."),
    _spectrum("spectral_bandwidth_hz", "Spectral bandwidth", "Hz", (0.0, 8000.0), PEETERS,
              "Mean over active frames of the magnitude-weighted standard deviation of frequency "
              "around the centroid (librosa.feature.spectral_bandwidth, p=2)."),
    _spectrum("spectral_rolloff_hz", "Spectral roll-off (85%)", "Hz", (0.0, 8000.0), PEETERS,
              "Mean over active frames of the frequency below which 85% of the magnitude lies."),
    _spectrum("spectral_flatness", "Spectral flatness", "ratio", (0.0, 1.0), PEETERS,
              "Mean over active frames of geometric / arithmetic mean of the power spectrum "
              "(white noise ~0.5, a pure tone ~0)."),
    _spectrum("spectral_contrast_db", "Spectral contrast", "dB", (0.0, 80.0), JIANG,
              "Mean over active frames and 6 sub-bands (5 octaves from 200 Hz + the rest) of the "
              "peak-valley difference (librosa.feature.spectral_contrast, quantile 0.02)."),
    _spectrum("spectral_flux", "Spectral variation", "ratio", (0.0, 1.0), PEETERS,
              "Mean over consecutive active frame pairs of 1 - cosine similarity of their magnitude "
              "spectra (Peeters' spectral variation; level-invariant; 0 for a steady sound)."),
    _spectrum("zero_crossing_rate", "Zero-crossing rate", "crossings/sample", (0.0, 1.0), PEETERS,
              "Mean over active frames of the fraction of sign changes per sample "
              "(librosa.feature.zero_crossing_rate); x sr/2 gives a frequency."),
    _spectrum("hf_energy_ratio", "High-frequency energy ratio", "fraction", (0.0, 1.0), BANSE_SCHERER,
              "Share of the power above 1 kHz, pooled over active frames; 0 for silence."),
]


def spectral_shape(ctx: AudioContext) -> dict[str, float]:
    """Spectral shape statistics over active frames."""
    frames = ctx.active_or_all
    magnitude = ctx.magnitude[:, frames]
    kwargs = {"sr": ctx.sr, "n_fft": ctx.n_fft}
    centroid = librosa.feature.spectral_centroid(S=magnitude, **kwargs)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=magnitude, centroid=centroid[None, :], **kwargs)[0]
    rolloff = librosa.feature.spectral_rolloff(S=magnitude, roll_percent=0.85, **kwargs)[0]
    flatness = librosa.feature.spectral_flatness(S=magnitude, power=2.0)[0]
    n_bands = min(CONTRAST_BANDS, int(np.floor(np.log2(0.5 * ctx.sr / CONTRAST_FMIN))))
    contrast = librosa.feature.spectral_contrast(S=magnitude, fmin=CONTRAST_FMIN, n_bands=n_bands, **kwargs)
    zcr = librosa.feature.zero_crossing_rate(ctx.y, frame_length=ctx.n_fft, hop_length=ctx.hop_length)[0]

    # Spectral variation between consecutive frames that are both active; a pair with a zero
    # spectrum (digital silence) counts as unchanged.
    full = ctx.magnitude.astype(np.float64)
    norms = np.linalg.norm(full, axis=0)
    dots = np.sum(full[:, 1:] * full[:, :-1], axis=0)
    denominator = norms[1:] * norms[:-1]
    variation = np.where(denominator > 0, 1.0 - dots / np.where(denominator > 0, denominator, 1.0), 0.0)
    pairs = frames[1:] & frames[:-1]
    flux = float(np.mean(variation[pairs])) if pairs.any() else 0.0

    power = ctx.power[:, frames]
    total = float(power.sum())
    hf = float(power[ctx.frequencies >= HF_SPLIT_HZ].sum() / total) if total > 0 else 0.0
    return {
        "spectral_centroid_hz": float(np.mean(centroid)),
        "spectral_bandwidth_hz": float(np.mean(bandwidth)),
        "spectral_rolloff_hz": float(np.mean(rolloff)),
        "spectral_flatness": float(np.mean(flatness)),
        "spectral_contrast_db": float(np.mean(contrast)),
        "spectral_flux": float(np.clip(flux, 0.0, 1.0)),
        "zero_crossing_rate": float(np.mean(zcr[frames])),
        "hf_energy_ratio": hf,
    }


_MFCC_DESCRIPTORS = [
    _spectrum(f"mfcc_{i + 1:02d}_{stat}", f"MFCC {i + 1} {stat}", "dB", (-1000.0, 1000.0), DAVIS,
              f"{'Mean' if stat == 'mean' else 'Standard deviation'} over active frames of cepstral "
              f"coefficient c{i} (DCT-II of the 64-band log-mel spectrum, librosa.feature.mfcc, ortho)"
              + ("; c0 is overall log energy." if i == 0 else "."))
    for stat in ("mean", "std") for i in range(13)
]


def mfcc_statistics(ctx: AudioContext) -> dict[str, float]:
    """Means and standard deviations of the first 13 MFCCs (c0..c12) over active frames."""
    mfcc = librosa.feature.mfcc(S=ctx.log_mel[:, ctx.active_or_all], n_mfcc=13)
    values: dict[str, float] = {}
    for stat, column in (("mean", mfcc.mean(axis=1)), ("std", mfcc.std(axis=1))):
        for i, value in enumerate(column):
            values[f"mfcc_{i + 1:02d}_{stat}"] = float(value)
    return values


def register(registry: Registry) -> None:
    """Register :func:`spectral_shape`, :func:`mfcc_statistics` and their descriptors in ``registry``,
    in this order."""
    registry.extractor("audio", "spectrum", _SPECTRAL_SHAPE_DESCRIPTORS)(spectral_shape)
    registry.extractor("audio", "spectrum", _MFCC_DESCRIPTORS)(mfcc_statistics)
