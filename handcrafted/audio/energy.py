"""Energy descriptors: level, its variability and range, A-weighted level, low-energy ratio."""

from __future__ import annotations

import librosa
import numpy as np

from handcrafted.audio.context import FLOOR_DB, AudioContext, to_db
from handcrafted.registry import Registry, descriptor_factory

JUSLIN_LAUKKA = ("Juslin, P. N. & Laukka, P. (2003). Communication of emotions in vocal expression and "
                 "music performance: different channels, same code? Psychological Bulletin 129(5), 770-814")
TZANETAKIS = ("Tzanetakis, G. & Cook, P. (2002). Musical genre classification of audio signals. "
              "IEEE Trans. Speech and Audio Processing 10(5), 293-302")
IEC_A = "IEC 61672-1:2013 (A-weighting curve), via librosa.A_weighting"


_energy = descriptor_factory("audio", "energy")

DESCRIPTORS = [
    _energy("rms_mean_dbfs", "Mean RMS level", "dBFS", (-120.0, 0.0), JUSLIN_LAUKKA,
            "20*log10 of the mean frame RMS over active frames (64 ms frames, 10 ms hop); a full-scale "
            "sine is -3.01 dBFS; digital silence is -120 dBFS (the floor)."),
    _energy("rms_std_db", "RMS level variability", "dB", (0.0, 40.0), JUSLIN_LAUKKA,
            "Standard deviation of the frame level in dB over active frames; 0 for silence."),
    _energy("dynamic_range_db", "Dynamic range", "dB", (0.0, 40.0), JUSLIN_LAUKKA,
            "95th minus 5th percentile of the frame level (dB) over active frames (bounded by the "
            "40 dB activity gate); 0 for silence."),
    _energy("loudness_dba", "A-weighted level", "dB(A)FS", (-120.0, 0.0), IEC_A,
            "Equivalent A-weighted level over active frames: 10*log10 of the mean A-weighted power, "
            "from the shared STFT normalised so that a full-scale 1 kHz sine reads -3.0 dB. A "
            "loudness proxy (not LUFS); -120 for silence."),
    _energy("low_energy_ratio", "Low-energy frame ratio", "fraction", (0.0, 1.0), TZANETAKIS,
            "Fraction of all frames whose RMS is below the clip's mean frame RMS (pauses raise it)."),
]


def energy(ctx: AudioContext) -> dict[str, float]:
    """Level statistics from the frame RMS and the A-weighted power spectrogram."""
    active = ctx.active
    level = ctx.frame_db[active]
    if level.size:
        mean_dbfs = float(to_db(np.mean(ctx.rms[active])))
        std_db = float(np.std(level))
        p5, p95 = np.percentile(level, [5, 95])
        dynamic = float(p95 - p5)
    else:
        mean_dbfs, std_db, dynamic = FLOOR_DB, 0.0, 0.0
    # Parseval for a one-sided spectrum of a Hann-windowed frame: interior bins count twice, and
    # dividing by sum(w**2) makes the estimate the power of the unwindowed signal.
    window = librosa.filters.get_window("hann", ctx.n_fft, fftbins=True)
    bin_weight = np.full(ctx.frequencies.size, 2.0)
    bin_weight[0] = bin_weight[-1] = 1.0
    a_weight = np.zeros(ctx.frequencies.size)  # A-weighting is -inf dB at DC
    a_weight[1:] = 10.0 ** (librosa.A_weighting(ctx.frequencies[1:], min_db=None) / 10.0)
    scale = bin_weight * a_weight / (ctx.n_fft * np.sum(window ** 2))
    frames = ctx.power[:, active] if level.size else ctx.power[:, :0]
    a_power = float(np.mean(scale @ frames)) if frames.shape[1] else 0.0
    loudness = float(10.0 * np.log10(max(a_power, 10.0 ** (FLOOR_DB / 10.0))))
    low_energy = float(np.mean(ctx.rms < np.mean(ctx.rms)))
    return {"rms_mean_dbfs": mean_dbfs, "rms_std_db": std_db, "dynamic_range_db": dynamic,
            "loudness_dba": loudness, "low_energy_ratio": low_energy}



def register(registry: Registry) -> None:
    """Register :func:`energy` and its descriptors in ``registry``."""
    registry.extractor("audio", "energy", DESCRIPTORS)(energy)
