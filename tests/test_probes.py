"""Probe stimuli: determinism, parameter fidelity, label-rule directions, adapter round trip."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from resonance.data.adapters.probes import ProbesAdapter
from resonance.data.probes import (
    CSV_COLUMNS,
    ProbeConfig,
    colour_vad,
    generate_probes,
    probe_table,
    render_sound,
    sound_va,
)
from resonance.data.records import Adapter, Item, Rejection
from resonance.errors import ParameterError
from resonance.io.audio import load_audio
from resonance.io.image import load_image

#: A small grid that still spans every factor (36 images, 20 melodies + 8 tones).
SMALL = ProbeConfig(
    image_size=64,
    hues_deg=(30.0, 210.0),
    saturations=(0.2, 0.5, 0.8),
    brightnesses=(0.2, 0.8),
    tempos_bpm=(70.0, 150.0),
    loudness_dbfs=(-36.0, -18.0),
    registers_midi=(48, 72),
    timbre_brightness=(0.0, 1.0),
    modes=("major", "minor"),
    duration_s=1.0,
)


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    root = tmp_path_factory.mktemp("probes_a")
    return generate_probes(root, SMALL)


def _table(probes) -> pd.DataFrame:
    return probes.table


# --- generation -----------------------------------------------------------------------------------

def test_counts_and_csv(probes):
    table = pd.read_csv(probes.csv_path, keep_default_na=False)
    assert list(table.columns) == list(CSV_COLUMNS)
    n_img = 2 * 3 * 2 * 3
    n_mel = 2 * 2 * 2 * 2 * 2
    n_tone = 2 * 2 * 2
    assert probes.n_images == n_img and probes.n_sounds == n_mel + n_tone
    assert len(table) == n_img + n_mel + n_tone == probes.n_written
    assert table["local_id"].is_unique and table["file"].is_unique
    assert (table["synthetic"].astype(str) == "True").all()
    for name in table["file"]:
        assert (probes.root / name).is_file()


def test_deterministic_bytes(probes, tmp_path):
    again = generate_probes(tmp_path / "b", SMALL)
    for name in list(again.table["file"]) + ["probes.csv", "probes_config.json"]:
        assert (probes.root / name).read_bytes() == (again.root / name).read_bytes(), name


def test_seed_changes_compositions(tmp_path):
    base = ProbeConfig(image_size=48, hues_deg=(0.0,), saturations=(0.5,), brightnesses=(0.5,),
                       textures=("blobs",), tempos_bpm=(100.0,), modes=("major",),
                       loudness_dbfs=(-24.0,), registers_midi=(60,), timbre_brightness=(0.5,),
                       include_tones=False, duration_s=1.0)
    a = generate_probes(tmp_path / "s0", base)
    b = generate_probes(tmp_path / "s1", ProbeConfig(**{**base.__dict__, "seed": 1}))
    image = a.table["file"].iloc[0]
    assert (a.root / image).read_bytes() != (b.root / image).read_bytes()


def test_rerun_skips_existing_files(probes):
    files = [probes.root / f for f in probes.table["file"]]
    mtimes = [f.stat().st_mtime_ns for f in files]
    again = generate_probes(probes.root, SMALL)
    assert again.n_written == 0 and again.n_skipped == len(files)
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    # A deleted file is the only one rewritten.
    files[0].unlink()
    third = generate_probes(probes.root, SMALL)
    assert third.n_written == 1 and files[0].is_file()


def test_other_config_in_same_folder_is_refused(probes):
    with pytest.raises(ParameterError, match="different ProbeConfig"):
        generate_probes(probes.root, ProbeConfig(**{**SMALL.__dict__, "seed": 7}))


@pytest.mark.parametrize("bad", [
    {"saturations": (0.9,)}, {"brightnesses": ()}, {"textures": ("plaid",)}, {"modes": ("dorian",)},
    {"loudness_dbfs": (-3.0,)}, {"registers_midi": (60.5,)}, {"hues_deg": (10.0, 10.0)},
    {"image_size": 8}, {"duration_s": 0.1}, {"seed": -1},
])
def test_config_validation(bad):
    with pytest.raises(ParameterError):
        ProbeConfig(**bad)


# --- parameter fidelity ---------------------------------------------------------------------------

def test_images_hold_their_hsv_parameters(probes):
    from skimage.color import rgb2hsv

    images = _table(probes)[_table(probes)["modality"] == "image"]
    measured = []
    for row in images.itertuples():
        rgb, info = load_image(probes.root / row.file)
        assert info.format == "PNG" and rgb.shape == (64, 64, 3)
        hsv = rgb2hsv(rgb)
        measured.append((row.saturation, row.brightness, row.texture, hsv[..., 1].mean(),
                         hsv[..., 2].mean(), hsv[..., 2].std()))
        # Circular mean hue stays in the family.
        angle = np.angle(np.exp(2j * np.pi * hsv[..., 0]).mean(), deg=True) % 360
        assert abs((angle - row.hue_deg + 180) % 360 - 180) < 15
    m = pd.DataFrame(measured, columns=["s", "v", "texture", "s_hat", "v_hat", "v_std"])
    assert np.abs(m["s_hat"] - m["s"]).max() < 0.03
    assert np.abs(m["v_hat"] - m["v"]).max() < 0.03
    # Monotone: every step up the parameter raises the measured mean.
    for param, measured_col in (("s", "s_hat"), ("v", "v_hat")):
        means = m.groupby(param)[measured_col].mean()
        assert means.is_monotonic_increasing and means.diff().dropna().min() > 0.1
    # Compositions, not flat squares: brightness varies inside every image.
    assert m["v_std"].min() > 0.03


def test_sound_rms_tracks_loudness_and_never_clicks(probes):
    sounds = _table(probes)[_table(probes)["modality"] == "audio"]
    levels = []
    for row in sounds.itertuples():
        y, info = load_audio(probes.root / row.file)
        assert info.sample_rate == 16_000 and info.channels == 1
        assert abs(info.duration_s - SMALL.duration_s) < 1e-3
        rms_db = 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
        levels.append((row.loudness_dbfs, rms_db))
        assert np.abs(y).max() < 0.99
        # Enveloped: starts and ends at (near) zero, and no note onset clicks. Every partial lies
        # below 0.45 sr = 7.2 kHz; a click is broadband and would put energy above it.
        assert abs(y[0]) < 1e-3 and abs(y[-1]) < 1e-3
        power = np.abs(np.fft.rfft(y.astype(np.float64))) ** 2
        freqs = np.fft.rfftfreq(len(y), 1 / 16_000)
        assert power[freqs > 7_500].sum() / power.sum() < 1e-6, row.file
    levels = np.array(levels)
    assert np.abs(levels[:, 1] - levels[:, 0]).max() < 0.1  # 16-bit quantisation only
    means = pd.Series(levels[:, 1]).groupby(levels[:, 0]).mean()
    assert means.is_monotonic_increasing


def test_tone_pitch_tracks_register(probes):
    import librosa

    tones = _table(probes)[_table(probes)["kind"] == "tone"]
    for row in tones.itertuples():
        y, _ = load_audio(probes.root / row.file)
        expected = librosa.midi_to_hz(row.register_midi)
        # trough_threshold 0.2, not 0.1: C5 has a 30.6-sample period at 16 kHz, and with bright
        # timbre yin's integer-lag dip at one period stays above 0.1 and it jumps an octave down.
        f0 = librosa.yin(y, fmin=60, fmax=1200, sr=16_000, frame_length=2048, trough_threshold=0.2)
        cents = 1200 * np.log2(np.median(f0[5:-5]) / expected)
        assert abs(cents) < 20, (row.file, cents)
        # And the strongest partial is the fundamental (amplitudes fall as k ** -p).
        spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        peak_hz = np.argmax(spectrum) * 16_000 / len(y)
        assert abs(peak_hz - expected) < 3.0, (row.file, peak_hz)


def test_timbre_brightness_raises_spectral_centroid():
    import librosa

    kwargs = dict(kind="melody", register_midi=60, loudness_dbfs=-24.0, tempo_bpm=100.0,
                  mode="major", melody=0, duration_s=1.0)
    centroids = [float(np.mean(librosa.feature.spectral_centroid(
        y=render_sound(timbre_brightness=b, **kwargs), sr=16_000))) for b in (0.0, 0.5, 1.0)]
    assert centroids[0] < centroids[1] < centroids[2]


def test_minor_and_major_differ_by_the_third():
    import librosa

    kwargs = dict(kind="melody", register_midi=60, timbre_brightness=0.0, loudness_dbfs=-24.0,
                  tempo_bpm=60.0, melody=0, duration_s=1.5)
    for mode, third in (("major", 4), ("minor", 3)):
        y = render_sound(mode=mode, **kwargs)
        # The melody opens with the tonic triad: the second eighth note (0.5-1.0 s at 60 BPM) is the third.
        segment = y[int(0.55 * 16_000):int(0.9 * 16_000)]
        f0 = np.median(librosa.yin(segment, fmin=100, fmax=800, sr=16_000, frame_length=2048))
        assert round(librosa.hz_to_midi(f0)) == 60 + third, mode


# --- label rules ----------------------------------------------------------------------------------

def test_colour_rule_directions():
    v_dark, a_dark, d_dark = colour_vad(brightness=0.2, saturation=0.5)
    v_bright, a_bright, d_bright = colour_vad(brightness=0.8, saturation=0.5)
    assert v_bright > v_dark and a_bright < a_dark and d_bright < d_dark
    v_dull, a_dull, d_dull = colour_vad(brightness=0.5, saturation=0.2)
    v_vivid, a_vivid, d_vivid = colour_vad(brightness=0.5, saturation=0.8)
    assert v_vivid > v_dull and a_vivid > a_dull and d_vivid > d_dull
    assert colour_vad(brightness=0.5, saturation=0.5) == pytest.approx((0.5, 0.5, 0.5))
    # Brightness weighs more than saturation for pleasure (.69 vs .22).
    assert colour_vad(brightness=0.8, saturation=0.5)[0] > colour_vad(brightness=0.5, saturation=0.8)[0]
    with pytest.raises(ParameterError):
        colour_vad(brightness=1.5, saturation=0.5)


def test_sound_rule_directions():
    base = dict(loudness_dbfs=-24.0, pitch_midi=60, timbre_brightness=0.5, tempo_bpm=110.0, mode="major")

    def va(**change):
        return sound_va(**{**base, **change})

    assert va(loudness_dbfs=-14.0)[1] > va(loudness_dbfs=-34.0)[1]
    assert va(tempo_bpm=150.0)[1] > va(tempo_bpm=70.0)[1]
    assert va(pitch_midi=72)[1] > va(pitch_midi=48)[1]
    assert va(timbre_brightness=1.0)[1] > va(timbre_brightness=0.0)[1]
    assert va(mode="major")[0] > va(mode="minor")[0]
    assert va(mode="major")[1] == va(mode="minor")[1]  # mode is a valence cue only
    assert va(tempo_bpm=150.0)[0] > va(tempo_bpm=70.0)[0]
    assert va(loudness_dbfs=-14.0)[0] == va(loudness_dbfs=-34.0)[0]  # loudness: arousal only
    with pytest.raises(ParameterError):
        va(mode="lydian")


def test_labels_in_unit_interval_and_follow_parameters():
    table = probe_table(ProbeConfig())
    for col in ("valence", "arousal"):
        assert table[col].between(0, 1).all()
    images = table[table["modality"] == "image"]
    assert images["dominance"].between(0, 1).all()
    assert table.loc[table["modality"] == "audio", "dominance"].isna().all()
    # Measured on the whole default grid: valence rises with brightness, arousal with loudness.
    assert images.groupby("brightness")["valence"].mean().is_monotonic_increasing
    sounds = table[table["modality"] == "audio"]
    assert sounds.groupby("loudness_dbfs")["arousal"].mean().is_monotonic_increasing
    melodies = sounds[sounds["kind"] == "melody"]
    by_mode = melodies.groupby("mode")["valence"].mean()
    assert by_mode["major"] > by_mode["minor"]


def test_default_grid_size():
    table = probe_table(ProbeConfig())
    assert (table["modality"] == "image").sum() == 6 * 3 * 3 * 3
    assert (table["modality"] == "audio").sum() == 3 * 2 * 3 * 3 * 3 + 3 * 3 * 3


# --- adapter --------------------------------------------------------------------------------------

def test_adapter_round_trip(probes):
    adapter = ProbesAdapter()
    assert isinstance(adapter, Adapter)
    assert adapter.detect(probes.root)
    items = list(adapter.scan(probes.root))
    assert all(isinstance(i, Item) for i in items)
    table = _table(probes).set_index("local_id")
    assert len(items) == len(table)
    assert {i.modality for i in items} == {"image", "audio"}
    for item in items:
        row = table.loc[item.local_id]
        assert item.corpus == "probes" and item.modality == row["modality"]
        assert item.path == probes.root / row["file"]
        assert item.flags == ("synthetic",) and item.label.synthetic
        assert item.label.valence == pytest.approx(row["valence"], abs=1e-6)
        assert item.label.arousal == pytest.approx(row["arousal"], abs=1e-6)
        assert item.original_labels["rule"] == row["rule"]
        assert item.group == row["group"]
        if item.modality == "image":
            assert item.attributes["saturation"] == pytest.approx(row["saturation"])
            assert item.attributes["texture"] == row["texture"]
            assert item.label.dominance == pytest.approx(row["dominance"], abs=1e-6)
        else:
            assert item.attributes["loudness_dbfs"] == pytest.approx(row["loudness_dbfs"])
            assert math.isnan(item.label.dominance)
            if row["kind"] == "tone":
                assert item.attributes["mode"] == "" and item.attributes["tempo_bpm"] is None


def test_groups_hold_near_duplicates_together(probes):
    table = _table(probes)
    images = table[table["modality"] == "image"]
    # One layout per (texture, hue): its colour variants share the group, and no group mixes layouts.
    assert (images.groupby("group")[["texture", "hue_deg"]].nunique() == 1).all().all()
    assert images.groupby("group").size().eq(3 * 2).all()
    melodies = table[table["kind"] == "melody"]
    assert (melodies.groupby("group")[["register_midi", "timbre_brightness"]].nunique() == 1).all().all()
    assert not set(images["group"]) & set(table.loc[table["modality"] == "audio", "group"])


def test_adapter_missing_file_and_detect(probes, tmp_path):
    adapter = ProbesAdapter()
    assert not adapter.detect(tmp_path)
    (tmp_path / "probes.csv").write_text("file,modality\nx.png,image\n")
    assert not adapter.detect(tmp_path)
    # Copy the csv into a folder without the media: every row is a file_not_found rejection.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "probes.csv").write_bytes(probes.csv_path.read_bytes())
    out = list(adapter.scan(bare))
    assert out and all(isinstance(r, Rejection) and r.reason == "file_not_found" for r in out)


def test_importing_adapter_is_light():
    import subprocess
    import sys

    code = ("import sys, resonance.data.adapters.probes; "
            "print(any(m in sys.modules for m in ('torch', 'skimage', 'scipy', 'librosa')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
