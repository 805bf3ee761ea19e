"""Rhythm descriptors from the shared onset-strength envelope (log-mel spectral flux, 100 frames/s).

No beat tracker is run: tempo, its stability and pulse clarity all come from one autocorrelation
tempogram of the onset envelope, which is cheaper than ``librosa.beat.beat_track`` (a dynamic
programme over the same envelope) and needs no numba compilation. Speech has no musical beat, so
for speech these describe the periodicity of syllable onsets rather than a tempo a listener taps.
"""

from __future__ import annotations

import librosa
import numpy as np

from handcrafted.audio.context import AudioContext
from handcrafted.registry import Registry, descriptor_factory

#: Tempogram window (s): long enough to hold two periods at 30 BPM.
TEMPOGRAM_WINDOW_S = 4.0
#: Tempo range (BPM) searched for pulse clarity.
PULSE_BPM_RANGE = (40.0, 240.0)

GROSCHE = ("Grosche, P., Mueller, M. & Kurth, F. (2010). Cyclic tempogram: a mid-level tempo "
           "representation for music signals. Proc. IEEE ICASSP; librosa.feature.tempo (log-normal "
           "prior centred on 120 BPM)")
BOECK = ("Boeck, S., Krebs, F. & Schedl, M. (2012). Evaluating the online capabilities of onset "
         "detection methods. Proc. ISMIR; librosa.onset.onset_detect")
LARTILLOT = ("Lartillot, O., Eerola, T., Toiviainen, P. & Fornari, J. (2008). Multi-feature modeling of "
             "pulse clarity: design, validation and optimization. Proc. ISMIR, 521-526")


_rhythm = descriptor_factory("audio", "rhythm")


_TEMPO_DESCRIPTORS = [
    _rhythm("tempo_bpm", "Tempo", "BPM", (30.0, 320.0), GROSCHE,
            "Global tempo: argmax of the time-averaged autocorrelation tempogram (4 s window) "
            "weighted by librosa's log-normal prior around 120 BPM."),
    _rhythm("tempo_std_bpm", "Local tempo variability", "BPM", (0.0, 150.0), GROSCHE,
            "Standard deviation of the frame-wise tempo of the same tempogram (librosa.feature.tempo "
            "with aggregate=None); 0 is a perfectly steady pulse, octave jumps make it large."),
    _rhythm("pulse_clarity", "Pulse clarity", "ratio", (0.0, 1.0), LARTILLOT,
            "Maximum of the normalised autocorrelation of the mean-removed onset envelope for lags "
            "of 40-240 BPM (0 if negative, if the envelope is flat or the clip too short)."),
]


def tempo(ctx: AudioContext) -> dict[str, float]:
    """Tempo, its frame-wise spread and pulse clarity from one tempogram of the onset envelope."""
    envelope = ctx.onset_envelope
    win_length = int(round(TEMPOGRAM_WINDOW_S * ctx.frame_rate))
    tempogram = librosa.feature.tempogram(onset_envelope=envelope, sr=ctx.sr, hop_length=ctx.hop_length,
                                          win_length=win_length)
    kwargs = {"sr": ctx.sr, "hop_length": ctx.hop_length, "tg": tempogram}
    global_tempo = float(librosa.feature.tempo(**kwargs)[0])
    local_tempo = librosa.feature.tempo(aggregate=None, **kwargs)

    centred = envelope - envelope.mean()
    autocorrelation = librosa.autocorrelate(centred)
    shortest = int(np.floor(60.0 * ctx.frame_rate / PULSE_BPM_RANGE[1]))
    longest = min(int(np.ceil(60.0 * ctx.frame_rate / PULSE_BPM_RANGE[0])), autocorrelation.size - 1)
    if autocorrelation[0] > 0 and longest >= shortest:
        clarity = float(np.max(autocorrelation[shortest:longest + 1]) / autocorrelation[0])
    else:
        clarity = 0.0
    return {"tempo_bpm": global_tempo, "tempo_std_bpm": float(np.std(local_tempo)),
            "pulse_clarity": float(np.clip(clarity, 0.0, 1.0))}


_ONSETS_DESCRIPTORS = [
    _rhythm("onset_rate_hz", "Onset rate", "onsets/s", (0.0, 20.0), BOECK,
            "Onsets per second picked from the onset envelope by librosa.onset.onset_detect "
            "(default thresholds); for speech a proxy of articulation rate (Juslin & Laukka 2003)."),
]


def onsets(ctx: AudioContext) -> dict[str, float]:
    """Onset rate from the shared onset envelope."""
    picked = librosa.onset.onset_detect(onset_envelope=ctx.onset_envelope, sr=ctx.sr,
                                        hop_length=ctx.hop_length)
    return {"onset_rate_hz": float(len(picked) / ctx.duration)}


def register(registry: Registry) -> None:
    """Register :func:`tempo`, :func:`onsets` and their descriptors in ``registry`` (in this order)."""
    registry.extractor("audio", "rhythm", _TEMPO_DESCRIPTORS)(tempo)
    registry.extractor("audio", "rhythm", _ONSETS_DESCRIPTORS)(onsets)
