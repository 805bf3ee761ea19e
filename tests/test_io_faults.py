"""Issue 11, items 2, 3, 13, 14 (and the decoding parts of 18): damaged or cut media is rejected, never
shortened; bounds are checked from the header before decoding; long audio is decoded in bounded memory;
wide-range images are scaled, not blackened; one set of limits is applied by ``prepare``."""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from resonance.errors import DecodeError, ParameterError
from resonance.io import DEFAULT_LIMITS, PROJECT_SR, MediaLimits, load_audio, load_image, probe_audio

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _voice(seconds=2.0, sr=16000, f0=180.0):
    t = np.arange(int(round(seconds * sr))) / sr
    return (sum(0.25 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))).astype(np.float32)


def _reason(path, loader=load_audio, **kwargs):
    with pytest.raises(DecodeError) as error:
        loader(path, **kwargs)
    return error.value.reason


def _cut(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def _ffmpeg(source, target, *codec):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), *codec, str(target)], check=True)


# -- item 2: truncated and damaged audio ------------------------------------------------------------

@pytest.mark.parametrize("subtype", ["OPUS", "VORBIS"])
def test_cut_ogg_is_truncated_not_shorter(tmp_path, subtype):
    path = tmp_path / "x.ogg"
    sf.write(path, _voice(3.0), 16000, format="OGG", subtype=subtype)
    assert load_audio(path)[1].duration_s == pytest.approx(3.0, abs=0.01)
    for fraction in (0.5, 0.9, 0.99):
        cut = tmp_path / f"cut{fraction}.ogg"
        cut.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
        assert _reason(cut) == "truncated", fraction


def test_damaged_ogg_page_is_detected_not_skipped(tmp_path):
    path = tmp_path / "x.ogg"
    sf.write(path, _voice(3.0), 16000, format="OGG", subtype="OPUS")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    (tmp_path / "flip.ogg").write_bytes(bytes(data))
    with pytest.raises(DecodeError) as error:
        load_audio(tmp_path / "flip.ogg")
    assert error.value.reason == "decode_error" and "CRC" in error.value.detail


def test_missing_ogg_page_is_a_sequence_gap(tmp_path):
    path = tmp_path / "x.ogg"
    sf.write(path, _voice(3.0), 16000, format="OGG", subtype="OPUS")
    data, pages, offset = path.read_bytes(), [], 0
    while offset < len(data):
        n = data[offset + 26]
        size = 27 + n + sum(data[offset + 27 : offset + 27 + n])
        pages.append(data[offset : offset + size])
        offset += size
    del pages[len(pages) // 2]
    (tmp_path / "gap.ogg").write_bytes(b"".join(pages))
    with pytest.raises(DecodeError) as error:
        load_audio(tmp_path / "gap.ogg")
    assert error.value.reason == "decode_error" and "missing" in error.value.detail


def test_cut_flac_is_truncated_and_damaged_flac_a_decode_error(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, _voice(3.0), 16000, format="FLAC")
    data = path.read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    assert _reason(tmp_path / "cut.flac") == "truncated"
    damaged = bytearray(data)
    damaged[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    (tmp_path / "damaged.flac").write_bytes(bytes(damaged))
    assert _reason(tmp_path / "damaged.flac") == "decode_error"


def test_wav_whose_data_chunk_claims_more_is_truncated(tmp_path):
    sf.write(tmp_path / "x.wav", _voice(3.0), 16000, subtype="PCM_16")
    _cut(tmp_path / "x.wav")
    with pytest.raises(DecodeError) as error:
        load_audio(tmp_path / "x.wav")
    assert error.value.reason == "truncated" and "data chunk" in error.value.detail


def test_streamed_wav_with_unknown_size_is_still_read(tmp_path):
    """A WAV written to a pipe has 0xFFFFFFFF as its data size: unknown, not a claim to check."""
    sf.write(tmp_path / "x.wav", _voice(1.0), 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "x.wav").read_bytes())
    data[40:44] = struct.pack("<I", 0xFFFFFFFF)
    (tmp_path / "x.wav").write_bytes(bytes(data))
    y, info = load_audio(tmp_path / "x.wav")
    assert y.size == 16000


@needs_ffmpeg
@pytest.mark.parametrize("suffix, codec", [
    (".mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
    (".m4a", ["-c:a", "aac"]),
    (".m4a", ["-c:a", "aac", "-movflags", "+faststart"]),
])
def test_cut_mp3_and_m4a_are_truncated_not_silent_or_shorter(tmp_path, suffix, codec):
    sf.write(tmp_path / "s.wav", _voice(3.0), 16000)
    _ffmpeg(tmp_path / "s.wav", tmp_path / f"a{suffix}", *codec)
    assert load_audio(tmp_path / f"a{suffix}")[1].duration_s == pytest.approx(3.0, abs=0.1)
    _cut(tmp_path / f"a{suffix}")
    assert _reason(tmp_path / f"a{suffix}") == "truncated"


@needs_ffmpeg
def test_ffmpeg_decoder_errors_are_errors(tmp_path):
    sf.write(tmp_path / "s.wav", _voice(3.0), 16000)
    _ffmpeg(tmp_path / "s.wav", tmp_path / "a.mp3", "-c:a", "libmp3lame", "-b:a", "64k")
    data = bytearray((tmp_path / "a.mp3").read_bytes())
    data[len(data) // 2 : len(data) // 2 + 200] = bytes(range(200))
    (tmp_path / "a.mp3").write_bytes(bytes(data))
    with pytest.raises(DecodeError) as error:
        load_audio(tmp_path / "a.mp3")
    assert error.value.reason == "decode_error" and "ffmpeg" in error.value.detail


def test_real_damaged_ravdess_files_are_rejected(tmp_path, shared_data):
    """The D1 reproduction: cut Opus and FLAC, a WAV cut in half, one damaged Ogg page."""
    name = "Audio_Speech_Actors_01-24/Actor_01/03-01-05-01-01-01-01"
    opus = (shared_data / "ravdess" / f"{name}.ogg").read_bytes()
    flac = (shared_data / "ravdess_flac" / f"{name}.flac").read_bytes()
    (tmp_path / "opus_half.ogg").write_bytes(opus[: len(opus) // 2])
    (tmp_path / "flac_half.flac").write_bytes(flac[: len(flac) // 2])
    flipped = bytearray(opus)
    flipped[len(opus) // 2 : len(opus) // 2 + 64] = b"\xff" * 64
    (tmp_path / "opus_bitflip.ogg").write_bytes(bytes(flipped))
    assert _reason(tmp_path / "opus_half.ogg") == "truncated"
    assert _reason(tmp_path / "flac_half.flac") == "truncated"
    assert _reason(tmp_path / "opus_bitflip.ogg") == "decode_error"
    assert load_audio(shared_data / "ravdess" / f"{name}.ogg")[1].duration_s == pytest.approx(3.87, abs=0.01)


# -- item 18 (decoding): permission denied, phase-inverted stereo -----------------------------------

@contextlib.contextmanager
def _unreadable_file(write):
    """A file this process cannot read: mode 000, read as user ``nobody`` (via seteuid) when root."""
    folder = Path(tempfile.mkdtemp())
    try:
        os.chmod(folder, 0o755)
        path = folder / "locked"
        write(path)
        os.chmod(path, 0)
        if os.geteuid() == 0:
            os.seteuid(65534)
            try:
                yield path
            finally:
                os.seteuid(0)
        else:
            yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_permission_denied_is_reported_as_such():
    with _unreadable_file(lambda p: sf.write(p, _voice(), 16000, format="WAV")) as path:
        try:
            path.open("rb")
        except PermissionError:
            pass
        else:
            pytest.skip("file modes are not enforced here")
        assert _reason(path) == "permission_denied"
        assert _reason(path, probe_audio) == "permission_denied"
    with _unreadable_file(lambda p: Image.new("RGB", (64, 64)).save(p, format="PNG")) as path:
        assert _reason(path, load_image) == "permission_denied"


def test_phase_inverted_stereo_keeps_one_channel_with_a_flag(tmp_path):
    y = _voice(1.5)
    sf.write(tmp_path / "p.wav", np.stack([y, -y], axis=1), 16000, subtype="FLOAT")
    out, info = load_audio(tmp_path / "p.wav")
    assert info.flags == ("phase_cancelled",) and info.channels == 2
    np.testing.assert_allclose(out, y, atol=1e-6)  # the loudest channel (here the left), not the zero mix
    assert probe_audio(tmp_path / "p.wav").flags == ("phase_cancelled",)
    sf.write(tmp_path / "q.wav", np.stack([y, 0.5 * y], axis=1), 16000)  # ordinary stereo: the average
    out, info = load_audio(tmp_path / "q.wav")
    assert info.flags == () and float(np.max(np.abs(out))) == pytest.approx(0.75 * np.max(np.abs(y)), rel=1e-3)


def test_truly_silent_stereo_is_still_silent(tmp_path):
    sf.write(tmp_path / "s.wav", np.zeros((16000, 2)), 16000)
    assert _reason(tmp_path / "s.wav") == "silent"


# -- item 3: bounds from the header, bounded memory -------------------------------------------------

def _peak_traced(function):
    tracemalloc.start()
    try:
        result = function()
    except DecodeError as error:
        result = error
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, peak


def test_one_hz_header_is_rejected_without_allocating(tmp_path):
    sf.write(tmp_path / "x.wav", 0.5 * np.sin(np.arange(48_000) / 7.6), 1, subtype="PCM_16")  # "48,000 s"
    result, peak = _peak_traced(lambda: load_audio(tmp_path / "x.wav"))
    assert isinstance(result, DecodeError) and result.reason == "sample_rate_out_of_range"
    assert peak < 1_000_000


@pytest.mark.parametrize("sr, reason", [(4000, "sample_rate_out_of_range"), (400_000, "sample_rate_out_of_range"),
                                        (8000, None), (384_000, None)])
def test_native_sample_rate_bounds(tmp_path, sr, reason):
    sf.write(tmp_path / "x.wav", _voice(1.0, sr=sr, f0=150), sr)
    if reason is None:
        assert load_audio(tmp_path / "x.wav")[1].sample_rate == sr
    else:
        assert _reason(tmp_path / "x.wav") == reason
        assert _reason(tmp_path / "x.wav", sr=None) == reason  # the native rate, whatever the target


def test_too_long_is_rejected_from_the_header_before_decoding(tmp_path):
    frames = 31 * 60 * 8000
    sf.write(tmp_path / "h.wav", np.zeros(1), 8000, subtype="PCM_16")
    header = (tmp_path / "h.wav").read_bytes()[:44]
    header = header[:4] + struct.pack("<I", 36 + 2 * frames) + header[8:40] + struct.pack("<I", 2 * frames)
    with open(tmp_path / "long.wav", "wb") as handle:  # sparse: 30 MB that are never read
        handle.write(header)
        handle.truncate(44 + 2 * frames)
    result, peak = _peak_traced(lambda: load_audio(tmp_path / "long.wav"))
    assert isinstance(result, DecodeError) and result.reason == "too_long" and peak < 1_000_000


def test_max_duration_is_configurable(tmp_path):
    sf.write(tmp_path / "x.wav", _voice(1.5), 16000)
    assert _reason(tmp_path / "x.wav", limits=MediaLimits(max_duration_s=1.0)) == "too_long"
    assert load_audio(tmp_path / "x.wav", limits=None)[0].size == 24000


def test_long_audio_is_decoded_in_bounded_memory(tmp_path):
    """Two minutes of 48 kHz stereo (46 MB as float32 stereo): the peak is one 16 kHz mono output plus
    a few blocks, and validating (``probe_audio``) keeps no samples at all."""
    seconds, sr = 120, 48_000
    with sf.SoundFile(tmp_path / "long.wav", "w", sr, 2, subtype="PCM_16") as handle:
        block = np.stack([_voice(10.0, sr=sr)] * 2, axis=1)
        for _ in range(seconds // 10):
            handle.write(block)
    (y, info), peak = _peak_traced(lambda: load_audio(tmp_path / "long.wav"))
    output = y.nbytes
    assert y.size == seconds * PROJECT_SR and info.duration_s == seconds
    assert peak < output + 4_000_000, (peak, output)  # the whole file in float32 would be 46 MB
    _, probe_peak = _peak_traced(lambda: probe_audio(tmp_path / "long.wav"))
    assert probe_peak < 4_000_000


def test_block_resampling_matches_one_shot_soxr(tmp_path):
    import librosa

    for n, sr in [(200_000, 44_100), (100_000, 48_000), (12_345, 22_050), (8000, 8000)]:
        x = (0.3 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
        sf.write(tmp_path / "n.wav", x, sr, subtype="FLOAT")
        y, _ = load_audio(tmp_path / "n.wav")
        reference = librosa.resample(x, orig_sr=sr, target_sr=PROJECT_SR, res_type="soxr_hq")
        np.testing.assert_array_equal(y, reference)  # block boundaries change nothing, bit for bit


# -- item 14: one set of limits, checked in prepare -------------------------------------------------

def test_limits_guarantee_what_the_descriptors_require():
    from handcrafted.audio import MIN_DURATION_S, MIN_SAMPLE_RATE
    from handcrafted.image import MIN_SIDE

    assert DEFAULT_LIMITS.min_duration_s >= MIN_DURATION_S
    assert DEFAULT_LIMITS.min_sample_rate >= MIN_SAMPLE_RATE and PROJECT_SR >= MIN_SAMPLE_RATE
    assert DEFAULT_LIMITS.min_image_side >= MIN_SIDE


@pytest.mark.parametrize("native_sr", [8000, 11025, 16000, 22050, 44100, 48000])
def test_the_shortest_accepted_clip_is_long_enough_for_the_descriptors(tmp_path, native_sr):
    from handcrafted.audio import MIN_DURATION_S

    n = int(np.ceil(DEFAULT_LIMITS.min_duration_s * native_sr))
    sf.write(tmp_path / "x.wav", _voice(n / native_sr, sr=native_sr, f0=150), native_sr, subtype="FLOAT")
    y, _ = load_audio(tmp_path / "x.wav")  # as extract loads it
    assert y.size >= MIN_DURATION_S * PROJECT_SR
    sf.write(tmp_path / "y.wav", _voice((n - 1) / native_sr, sr=native_sr, f0=150), native_sr, subtype="FLOAT")
    assert _reason(tmp_path / "y.wav") == "too_short"


@pytest.mark.parametrize("kwargs", [{"min_duration_s": 0}, {"max_duration_s": float("nan")},
                                    {"min_duration_s": 5.0, "max_duration_s": 1.0},
                                    {"min_sample_rate": 48000, "max_sample_rate": 8000},
                                    {"min_image_side": 2.5}, {"max_aspect_ratio": 0.5}, {"max_pixels": True}])
def test_media_limits_are_validated(kwargs):
    with pytest.raises(ParameterError):
        MediaLimits(**kwargs)


def test_prepare_probe_applies_the_limits_on_the_native_rate(tmp_path):
    """D10: an 800-sample clip and a 1 kHz clip (upsampled before the check, before) are rejected."""
    from resonance.data.prepare import _probe_media

    sf.write(tmp_path / "short.wav", 0.5 * np.sin(np.arange(800) / 5), 16000, subtype="PCM_16")
    sf.write(tmp_path / "rate1k.wav", 0.5 * np.sin(2 * np.pi * 200 * np.arange(2000) / 1000), 1000)
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "dot.png")
    Image.fromarray(np.zeros((1, 5000, 3), np.uint8) + 99).save(tmp_path / "line.png")
    assert _probe_media(str(tmp_path / "short.wav"), "audio")["reason"] == "too_short"
    assert _probe_media(str(tmp_path / "rate1k.wav"), "audio")["reason"] == "sample_rate_out_of_range"
    assert _probe_media(str(tmp_path / "dot.png"), "image")["reason"] == "image_too_small"
    assert _probe_media(str(tmp_path / "line.png"), "image")["reason"] == "image_too_small"
    frames = [Image.new("RGB", (64, 64), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    facts = _probe_media(str(tmp_path / "anim.gif"), "image")
    assert facts["reason"] == "" and facts["media_flags"] == "multi_frame"


@pytest.mark.parametrize("size, reason", [((31, 64), "image_too_small"), ((32, 641), "aspect_ratio_out_of_range"),
                                          ((32, 640), None)])
def test_image_size_limits(tmp_path, size, reason):
    Image.new("RGB", size[::-1], (10, 20, 30)).save(tmp_path / "x.png")
    if reason is None:
        assert load_image(tmp_path / "x.png")[0].shape == (*size, 3)
    else:
        assert _reason(tmp_path / "x.png", load_image) == reason
        assert load_image(tmp_path / "x.png", limits=None)[0].shape == (*size, 3)


def test_bomb_is_refused_from_the_header(tmp_path):
    import zlib

    Image.new("L", (64, 64)).save(tmp_path / "b.png")
    data = bytearray((tmp_path / "b.png").read_bytes())
    data[16:24] = struct.pack(">II", 20_000, 20_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    (tmp_path / "b.png").write_bytes(bytes(data))
    result, peak = _peak_traced(lambda: load_image(tmp_path / "b.png"))
    assert isinstance(result, DecodeError) and result.reason == "decompression_bomb" and peak < 5_000_000


# -- item 13: images decoded black ------------------------------------------------------------------

def test_float_tiff_in_unit_range_is_not_black(tmp_path):
    values = np.linspace(0, 1, 256 * 256, dtype=np.float32).reshape(256, 256)
    Image.fromarray(values).save(tmp_path / "f.tiff")
    rgb, info = load_image(tmp_path / "f.tiff")
    assert info.mode == "F" and info.flags == ()
    assert rgb.min() == 0 and rgb.max() == 255 and rgb.mean() == pytest.approx(127.5, abs=0.6)


def test_float_tiff_beyond_one_is_scaled_by_its_range_with_a_flag(tmp_path):
    Image.fromarray(np.linspace(10, 1000, 96 * 96, dtype=np.float32).reshape(96, 96)).save(tmp_path / "f.tiff")
    rgb, info = load_image(tmp_path / "f.tiff")
    assert info.flags == ("range_rescaled",) and rgb.min() == 0 and rgb.max() == 255


def test_int32_image_above_255_is_scaled_by_its_bit_depth(tmp_path):
    Image.fromarray(np.linspace(0, 300, 256 * 256).reshape(256, 256).astype(np.int32)).save(tmp_path / "i.tif")
    rgb, info = load_image(tmp_path / "i.tif")
    assert info.mode == "I" and info.flags == ("bit_depth_inferred",)
    assert rgb.max() == round(300 / 511 * 255) and rgb.mean() > 60  # 9 bits; was 0/1 (black) before
    Image.fromarray(np.full((64, 64), 4000, dtype=np.int32)).save(tmp_path / "twelve.tif")  # a 12-bit scan
    assert load_image(tmp_path / "twelve.tif")[0][0, 0, 0] == round(4000 / 4095 * 255)
    Image.fromarray(np.linspace(0, 255, 64 * 64).reshape(64, 64).astype(np.int32)).save(tmp_path / "e.tif")
    rgb, info = load_image(tmp_path / "e.tif")
    assert info.flags == () and rgb.max() == 255  # 8-bit values in a 32-bit container: as they are


def test_non_finite_float_image_is_rejected(tmp_path):
    values = np.ones((64, 64), dtype=np.float32)
    values[3, 3] = np.nan
    Image.fromarray(values).save(tmp_path / "n.tiff")
    assert _reason(tmp_path / "n.tiff", load_image) == "non_finite"


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_multi_frame_images_are_flagged(tmp_path, fmt):
    frames = [Image.new("RGB", (64, 64), (i * 80, 40, 0)) for i in range(3)]
    frames[0].save(tmp_path / "m", format=fmt, save_all=True, append_images=frames[1:])
    _, info = load_image(tmp_path / "m")
    assert info.n_frames == 3 and info.flags == ("multi_frame",)
    frames[0].save(tmp_path / "one", format=fmt)
    assert load_image(tmp_path / "one")[1].flags == ()


def test_truncated_png_is_truncated(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    _cut(tmp_path / "p.png")
    assert _reason(tmp_path / "p.png", load_image) == "truncated"
