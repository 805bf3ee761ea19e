"""Audio descriptors: known answers on synthetic signals, the undefined cases, validation, and a
direction check on real RAVDESS speech."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from handcrafted.audio import AudioContext, describe_audio
from handcrafted.pitch import glottal_pulses, jitter_local, pulse_amplitudes, shimmer_local, track_f0
from handcrafted.registry import AUDIO_GROUPS, REGISTRY
from resonance.errors import ParameterError

SR = 16_000


def _sine(freq: float, seconds: float = 2.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return amplitude * np.sin(2 * np.pi * freq * t)


def _speechlike(seed: int = 0, seconds: float = 2.0) -> np.ndarray:
    """A harmonic tone with gliding F0, syllable-like amplitude envelope and a noise floor."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 3 * t)) ** 2
    return 0.1 * tone * envelope + 0.002 * rng.standard_normal(t.size)


def _tones(midis: list[int], seconds: float = 0.25) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.concatenate([0.3 * np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * t) * np.hanning(t.size)
                           for m in midis])


def _pulse_train(jitter: float, shimmer: float, seed: int, seconds: float = 2.0, f0: float = 140.0):
    """Damped two-formant responses at known pulse times and amplitudes (fractional delays)."""
    rng = np.random.default_rng(seed)
    times, amps, t = [], [], 0.05
    while t < seconds - 0.05:
        times.append(t)
        amps.append(1 + shimmer * rng.uniform(-1, 1))
        t += (1 / f0) * (1 + jitter * rng.uniform(-1, 1))
    n = np.arange(int(0.02 * SR)) / SR
    response = (np.exp(-300 * n) * np.sin(2 * np.pi * 700 * n)
                + 0.5 * np.exp(-200 * n) * np.sin(2 * np.pi * 1200 * n))
    y = np.zeros(int(seconds * SR))
    k = np.arange(-16, 17)
    for time, amp in zip(times, amps):
        centre = int(np.floor(time * SR))
        impulse = np.sinc(k - (time * SR - centre)) * np.hanning(35)[1:-1]
        segment = np.convolve(impulse, response) * amp
        y[centre - 16:centre - 16 + segment.size] += segment
    return 0.3 * y / np.abs(y).max(), np.array(times), np.array(amps)


# --- registry ------------------------------------------------------------------------------------

def test_registry_metadata_is_complete_and_matches_output():
    descriptors = REGISTRY.select("audio")
    assert {d.group for d in descriptors} == set(AUDIO_GROUPS)
    for d in descriptors:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", d.name), d.name
        assert d.label and d.unit and d.reference and d.description, d.name
        assert d.range[0] < d.range[1], d.name
    values = describe_audio(_speechlike(), sr=SR)
    assert list(values) == [d.name for d in descriptors]


def test_groups_select_only_their_descriptors():
    values = describe_audio(_speechlike(), sr=SR, groups=["energy", "harmony"])
    assert set(values) == {d.name for d in REGISTRY.select("audio", groups=["energy", "harmony"])}


# --- known answers ---------------------------------------------------------------------------------

def test_sine_440_centroid_and_f0():
    values = describe_audio(_sine(440.0), sr=SR, groups=["spectrum", "pitch"])
    assert values["spectral_centroid_hz"] == pytest.approx(440.0, rel=0.02)
    assert values["f0_mean_hz"] == pytest.approx(440.0, rel=0.01)
    assert values["voiced_fraction"] > 0.9
    assert values["f0_std_semitones"] < 0.05
    assert values["spectral_flatness"] < 0.01


def test_harmonic_tone_f0_has_no_octave_error():
    t = np.arange(2 * SR) / SR
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 15))
    values = describe_audio(0.2 * tone, sr=SR, groups=["pitch"])
    assert values["f0_mean_hz"] == pytest.approx(150.0, rel=0.01)


def test_click_train_120_bpm_gives_tempo_120():
    y = np.zeros(8 * SR)
    for onset in np.arange(0.1, 8.0, 0.5):
        start = int(onset * SR)
        y[start:start + 40] += 0.8 * np.hanning(40)
    values = describe_audio(y, sr=SR, groups=["rhythm"])
    assert values["tempo_bpm"] == pytest.approx(120.0, abs=2.0)
    assert values["onset_rate_hz"] == pytest.approx(2.0, abs=0.2)
    assert values["pulse_clarity"] > 0.5


def test_white_noise_is_flat_and_a_sine_is_not():
    noise = 0.1 * np.random.default_rng(1).standard_normal(2 * SR)
    assert describe_audio(noise, sr=SR, groups=["spectrum"])["spectral_flatness"] > 0.3
    assert describe_audio(_sine(1000.0), sr=SR, groups=["spectrum"])["spectral_flatness"] < 0.01


def test_full_scale_sine_levels():
    values = describe_audio(_sine(1000.0, amplitude=1.0), sr=SR, groups=["energy"])
    assert values["rms_mean_dbfs"] == pytest.approx(-3.01, abs=0.1)
    assert values["loudness_dba"] == pytest.approx(-3.01, abs=0.1)  # A-weighting is ~0 dB at 1 kHz


def test_doubling_amplitude_adds_6_02_db():
    y = _speechlike(seed=3)
    quiet = describe_audio(y, sr=SR)
    loud = describe_audio(2.0 * y, sr=SR)
    for name in ("rms_mean_dbfs", "loudness_dba"):
        assert loud[name] - quiet[name] == pytest.approx(20 * math.log10(2), abs=0.1), name
    # Level-invariant descriptors do not move.
    for name in ("rms_std_db", "dynamic_range_db", "spectral_centroid_hz", "f0_mean_hz", "jitter_local_pct"):
        assert loud[name] == pytest.approx(quiet[name], rel=1e-3, abs=1e-6), name


@pytest.mark.parametrize("y", [np.zeros(SR), 0.1 * np.random.default_rng(2).standard_normal(SR)],
                         ids=["silence", "white_noise"])
def test_unvoiced_input_gives_nan_only_where_documented(y):
    values = describe_audio(y, sr=SR)
    assert values["voiced_fraction"] == 0.0
    for name in ("f0_mean_hz", "f0_std_semitones", "f0_range_semitones", "jitter_local_pct",
                 "shimmer_local_pct", "hnr_db"):
        assert math.isnan(values[name]), name
    for name, value in values.items():
        if math.isnan(value):
            assert REGISTRY[name].undefined, f"{name} is NaN without a documented undefined case"


def test_major_and_minor_progressions_have_opposite_mode():
    major = [[72, 76, 79], [77, 81, 84], [79, 83, 86], [72, 76, 79]]  # I-IV-V-I in C
    minor = [[72, 75, 79], [77, 80, 84], [79, 82, 86], [72, 75, 79]]  # i-iv-v-i in C minor
    mode = {name: describe_audio(_tones([n for chord in chords for n in chord] * 2), sr=SR,
                                 groups=["harmony"])["mode_major_minor"]
            for name, chords in (("major", major), ("minor", minor))}
    assert mode["major"] > 0 > mode["minor"]


def test_jitter_and_shimmer_follow_the_generating_perturbation():
    measured = []
    for jitter in (0.0, 0.01, 0.03):
        y, times, _ = _pulse_train(jitter, 0.0, seed=4)
        track = track_f0(y, SR)
        measured.append(jitter_local(glottal_pulses(y, track)))
        if jitter:
            # Overlapping pulse responses blur timing for Praat too (it reads ~15% low on these).
            assert measured[-1] == pytest.approx(jitter_local(times), rel=0.3)
    assert measured[0] < 0.001 < measured[1] < measured[2]
    y, times, amps = _pulse_train(0.0, 0.2, seed=5)
    pulses = glottal_pulses(y, track_f0(y, SR))
    expected = shimmer_local(times, amps)
    assert shimmer_local(*pulse_amplitudes(y, SR, pulses)) == pytest.approx(expected, rel=0.3)


def test_jitter_and_shimmer_formulas_by_hand():
    # Periods alternate 10 ms and 11 ms: mean |diff| = 1 ms, mean period = 10.5 ms.
    times = np.cumsum([0.0] + [0.010, 0.011] * 5)
    assert jitter_local(times) == pytest.approx(0.001 / 0.0105)
    # Amplitudes alternate 1.0 and 1.2 at 10 ms spacing; mean over all points but the last.
    point_times = np.arange(6) * 0.010
    amplitudes = np.array([1.0, 1.2] * 3)
    assert shimmer_local(point_times, amplitudes) == pytest.approx(0.2 / np.mean(amplitudes[:-1]))
    assert math.isnan(jitter_local(times[:2]))


def test_context_computes_each_representation_once():
    context = AudioContext(_speechlike(), SR)
    assert context.magnitude is context.magnitude
    assert context.f0_track is context.f0_track
    assert context.n_fft == 1024 and context.hop_length == 160
    assert context.magnitude.shape[1] == context.rms.size == context.f0_track.f0.size


# --- validation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("y, sr, match", [
    (np.zeros(SR, dtype=np.int16), SR, "floating-point"),
    (np.zeros((2, SR)), SR, "1-D"),
    (np.full(SR, np.nan), SR, "non-finite"),
    (np.zeros(SR // 4), SR, "at least 0.5 s"),
    (np.zeros(SR), 4000, "below the minimum"),
    (np.zeros(SR), 16000.5, "whole number"),
    (np.zeros(SR), "16000", "number"),
    (np.zeros(SR), True, "number"),
])
def test_invalid_input_raises_parameter_error(y, sr, match):
    with pytest.raises(ParameterError, match=match):
        describe_audio(y, sr=sr)


def test_unknown_group_raises():
    with pytest.raises(ParameterError, match="unknown audio descriptor groups"):
        describe_audio(np.zeros(SR), sr=SR, groups=["timbre"])


# --- real data --------------------------------------------------------------------------------------

def test_angry_speech_is_louder_and_higher_than_sad(shared_data):
    """Direction only (Juslin & Laukka 2003): angry > sad in level and F0, on subset medians."""
    from resonance.io.audio import load_audio

    base = shared_data / "ravdess" / "Audio_Speech_Actors_01-24"
    values = {}
    for emotion, code in (("angry", "05"), ("sad", "04")):
        clips = [base / f"Actor_{a:02d}" / f"03-01-{code}-01-01-01-{a:02d}.ogg" for a in range(1, 21)]
        rows = [describe_audio(load_audio(path)[0], sr=SR, groups=["energy", "pitch"]) for path in clips]
        values[emotion] = {name: np.array([row[name] for row in rows])
                           for name in ("rms_mean_dbfs", "f0_mean_hz")}
    for name in ("rms_mean_dbfs", "f0_mean_hz"):
        angry, sad = values["angry"][name], values["sad"][name]
        assert np.nanmedian(angry) > np.nanmedian(sad), name
