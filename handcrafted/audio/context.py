"""The shared per-clip context of the audio descriptors: :class:`AudioContext`.

One :class:`AudioContext` is built per clip. It computes each shared representation once, on first
use, and every extractor (the family modules of :mod:`handcrafted.audio`) reads from it:

==================  ======================================================================
representation      how
==================  ======================================================================
``magnitude``       ``|librosa.stft(y, n_fft, hop_length)|``, Hann, centred, zero-padded.
                    At 16 kHz ``n_fft=1024`` (64 ms, 15.6 Hz bins) and ``hop_length=160``
                    (10 ms, 100 frames/s); other rates keep those durations.
``power``           ``magnitude ** 2``.
``mel_power``       ``librosa.feature.melspectrogram(S=power, n_mels=64)`` (0 Hz - Nyquist).
``log_mel``         ``librosa.power_to_db(mel_power)`` (80 dB top).
``onset_envelope``  ``librosa.onset.onset_strength(S=log_mel)`` (spectral flux, 100 frames/s).
``chroma``          ``librosa.feature.chroma_stft(S=power, tuning=0)``.
``rms``             ``librosa.feature.rms(y, frame_length=n_fft, hop_length)``: the same frames.
``active``          frames whose RMS is within 40 dB of the loudest frame (and above -120 dBFS).
``f0_track``        :func:`handcrafted.pitch.track_f0` (Boersma 1993, 10 ms, 75-600 Hz).
``pulses``          :func:`handcrafted.pitch.glottal_pulses` on that track.
==================  ======================================================================

Level- and spectrum-shape statistics are taken over *active* frames so that the leading and
trailing silence of a recording does not dilute them; ``low_energy_ratio`` and ``voiced_fraction``
deliberately use all frames (they measure how much of the clip is quiet or voiced).

This module imports nothing of :mod:`handcrafted` but the pitch tracker (lazily, on first use of
:attr:`AudioContext.f0_track`); the family modules import it, never the other way round.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import librosa
import numpy as np

from resonance.errors import ParameterError

__all__ = ["AudioContext", "ACTIVE_GATE_DB", "FLOOR_DB", "HOP_S", "MIN_DURATION_S", "MIN_SAMPLE_RATE",
           "N_MELS", "N_MFCC", "WINDOW_S", "to_db", "validate_sr", "validate_signal"]

#: Shortest clip accepted, in seconds: below this rhythm and pitch statistics have too few frames.
MIN_DURATION_S = 0.5
#: Lowest sample rate accepted (Hz): the pitch ceiling (600 Hz), the 1 kHz split of
#: ``hf_energy_ratio`` and four contrast bands need at least this.
MIN_SAMPLE_RATE = 8000
#: STFT window and hop as durations; at 16 kHz they are n_fft=1024 and hop_length=160.
WINDOW_S = 0.064
HOP_S = 0.010
N_MELS = 64
N_MFCC = 13
#: Level floor in dBFS (amplitude 1e-6): digital silence gets this level instead of -inf.
FLOOR_DB = -120.0
#: Frames quieter than the loudest frame by more than this (dB) are "inactive" (silence, breath).
ACTIVE_GATE_DB = 40.0


class AudioContext:
    """One clip and its shared, lazily computed representations.

    Parameters
    ----------
    y : array_like, shape (n,)
        Mono signal, floating point, finite, nominally in [-1, 1] (0 dBFS = amplitude 1).
    sr : int
        Sample rate in Hz, at least :data:`MIN_SAMPLE_RATE`.
    fmin, fmax : float, keyword-only
        Pitch floor and ceiling in Hz for the F0 track (default 75-600 Hz, speech).

    Raises
    ------
    ParameterError
        If ``y`` is not a 1-D finite floating array of at least :data:`MIN_DURATION_S` seconds, or
        ``sr`` is not an integer >= :data:`MIN_SAMPLE_RATE`.

    Notes
    -----
    Every attribute below is computed on first access and cached, so an extractor pays only for the
    representations it uses and no representation is computed twice.
    """

    def __init__(self, y: Any, sr: int, *, fmin: float = 75.0, fmax: float = 600.0) -> None:
        self.sr = validate_sr(sr)
        self.y = validate_signal(y, self.sr)
        if not 0 < fmin < fmax <= self.sr / 4:
            raise ParameterError(f"need 0 < fmin < fmax <= sr/4 = {self.sr / 4:g} Hz, "
                                 f"got fmin={fmin}, fmax={fmax}")
        self.fmin = float(fmin)
        self.fmax = float(fmax)
        self.n_fft = int(2 ** round(np.log2(WINDOW_S * self.sr)))
        self.hop_length = int(round(HOP_S * self.sr))

    @property
    def duration(self) -> float:
        """Clip duration in seconds."""
        return self.y.size / self.sr

    @property
    def frame_rate(self) -> float:
        """Analysis frames per second."""
        return self.sr / self.hop_length

    @cached_property
    def magnitude(self) -> np.ndarray:
        """STFT magnitude, shape (1 + n_fft // 2, n_frames), float32."""
        return np.abs(librosa.stft(self.y, n_fft=self.n_fft, hop_length=self.hop_length))

    @cached_property
    def power(self) -> np.ndarray:
        """Power spectrogram ``magnitude ** 2``, shape (1 + n_fft // 2, n_frames)."""
        return self.magnitude ** 2

    @cached_property
    def frequencies(self) -> np.ndarray:
        """Centre frequency of each STFT bin in Hz, shape (1 + n_fft // 2,)."""
        return librosa.fft_frequencies(sr=self.sr, n_fft=self.n_fft)

    @cached_property
    def mel_power(self) -> np.ndarray:
        """Mel power spectrogram, shape (64, n_frames), from the shared STFT."""
        return librosa.feature.melspectrogram(S=self.power, sr=self.sr, n_fft=self.n_fft, n_mels=N_MELS)

    @cached_property
    def log_mel(self) -> np.ndarray:
        """Log mel spectrogram in dB (``power_to_db``, 80 dB dynamic range), shape (64, n_frames)."""
        return librosa.power_to_db(self.mel_power)

    @cached_property
    def onset_envelope(self) -> np.ndarray:
        """Onset strength (log-mel spectral flux), shape (n_frames,)."""
        return librosa.onset.onset_strength(S=self.log_mel, sr=self.sr, hop_length=self.hop_length)

    @cached_property
    def chroma(self) -> np.ndarray:
        """Chromagram, shape (12, n_frames), each frame max-normalised; tuning fixed at A440."""
        # tuning=0 skips librosa's tuning estimate (a piptrack pass that costs more than the chroma
        # itself and is meaningless for speech).
        return librosa.feature.chroma_stft(S=self.power, sr=self.sr, n_fft=self.n_fft, tuning=0.0)

    @cached_property
    def rms(self) -> np.ndarray:
        """Frame RMS amplitude (time domain, same frames as the STFT), shape (n_frames,)."""
        return librosa.feature.rms(y=self.y, frame_length=self.n_fft, hop_length=self.hop_length)[0]

    @cached_property
    def frame_db(self) -> np.ndarray:
        """Frame level in dBFS, floored at -120 dBFS, shape (n_frames,)."""
        return to_db(self.rms)

    @cached_property
    def active(self) -> np.ndarray:
        """Boolean mask of active frames (within 40 dB of the loudest, above the floor)."""
        gate = max(float(self.frame_db.max()) - ACTIVE_GATE_DB, FLOOR_DB)
        return self.frame_db > gate

    @cached_property
    def active_or_all(self) -> np.ndarray:
        """:attr:`active`, or every frame when none is active (digital silence)."""
        return self.active if self.active.any() else np.ones_like(self.active)

    @cached_property
    def f0_track(self):
        """The F0 track (:class:`handcrafted.pitch.F0Track`), 10 ms frames."""
        from handcrafted.pitch import track_f0

        return track_f0(self.y, self.sr, fmin=self.fmin, fmax=self.fmax, hop_length=self.hop_length)

    @cached_property
    def pulses(self) -> np.ndarray:
        """Glottal pulse times in seconds from :attr:`f0_track`, shape (n_pulses,)."""
        from handcrafted.pitch import glottal_pulses

        return glottal_pulses(self.y, self.f0_track)


def validate_sr(sr: Any) -> int:
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer, float, np.floating)):
        raise ParameterError(f"sr must be a number of samples per second, got {type(sr).__name__}")
    if not np.isfinite(sr) or sr != int(sr):
        raise ParameterError(f"sr must be a whole number of Hz, got {sr!r}")
    if sr < MIN_SAMPLE_RATE:
        raise ParameterError(f"sr={sr} Hz is below the minimum {MIN_SAMPLE_RATE} Hz; load the clip with "
                             "resonance.io.load_audio(path) (16 kHz) or resample it")
    return int(sr)


def validate_signal(y: Any, sr: int) -> np.ndarray:
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        hint = " (integer PCM: divide by the full-scale value, e.g. y / 32768.0)" \
            if np.issubdtype(y.dtype, np.integer) else ""
        raise ParameterError(f"y must be a floating-point array, got dtype {y.dtype}{hint}")
    if y.ndim != 1:
        raise ParameterError(f"y must be 1-D (mono), got shape {y.shape}; average the channels first, "
                             "e.g. y.mean(axis=0) for librosa's (channels, n) layout or y.mean(axis=1) "
                             "for soundfile's (n, channels)")
    if not np.all(np.isfinite(y)):
        raise ParameterError(f"y contains {int(np.sum(~np.isfinite(y)))} non-finite samples (NaN or inf)")
    if y.size < MIN_DURATION_S * sr:
        raise ParameterError(f"y is {y.size / sr:.3f} s long; descriptors need at least {MIN_DURATION_S} s "
                             f"({int(np.ceil(MIN_DURATION_S * sr))} samples at {sr} Hz)")
    return np.ascontiguousarray(y, dtype=np.float32)


def to_db(amplitude: np.ndarray) -> np.ndarray:
    """20*log10 of an amplitude, floored at :data:`FLOOR_DB`."""
    return 20.0 * np.log10(np.maximum(amplitude, 10.0 ** (FLOOR_DB / 20.0)))

