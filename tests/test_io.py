"""Decoding that survives the real world: any mode, codec or extension; bad files give clear reasons."""

import shutil

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from resonance.errors import DecodeError
from resonance.io import PROJECT_SR, atomic_path, load_audio, load_image


def _tone(seconds=0.5, sr=22050, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16", "LA", "1"])
def test_any_image_mode_becomes_rgb_uint8(tmp_path, mode):
    rgb = Image.new("RGB", (48, 40), (200, 30, 10))
    if mode == "I;16":
        img = Image.fromarray(np.full((40, 48), 40000, dtype=np.uint16))
    else:
        img = rgb.convert(mode)
    path = tmp_path / f"x.{'tiff' if mode in ('CMYK', 'I;16') else 'png'}"
    img.save(path)
    array, info = load_image(path)
    assert array.shape == (40, 48, 3) and array.dtype == np.uint8
    assert info.mode == mode
    if mode == "I;16":  # 16-bit is rescaled, not clipped to white
        assert array[0, 0, 0] == round(40000 / 65535 * 255)


def test_transparent_pixels_are_composited_on_white(tmp_path):
    img = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    img.save(tmp_path / "t.png")
    array, _ = load_image(tmp_path / "t.png")
    assert (array == 255).all()


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (120, 40), (0, 0, 255))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "o.jpg", exif=exif)
    array, info = load_image(tmp_path / "o.jpg")
    assert array.shape[:2] == (120, 40) and (info.width, info.height) == (40, 120)


def test_decompression_bomb_is_refused(tmp_path):
    Image.new("L", (3000, 3000)).save(tmp_path / "big.png")
    with pytest.raises(DecodeError) as error:
        load_image(tmp_path / "big.png", max_pixels=1_000_000)
    assert error.value.reason == "decompression_bomb"


@pytest.mark.parametrize("content, reason", [
    (b"", "empty_file"),
    (b"this is not an image at all", "decode_error"),
])
def test_bad_images_give_reasons(tmp_path, content, reason):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(DecodeError) as error:
        load_image(path)
    assert error.value.reason == reason


def test_truncated_jpeg_is_rejected_truncated(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "f.jpg")
    data = (tmp_path / "f.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(DecodeError) as error:
        load_image(tmp_path / "t.jpg")
    assert error.value.reason == "truncated"


def test_audio_is_mono_at_the_project_rate(tmp_path):
    sf.write(tmp_path / "s.wav", _tone(channels=2), 22050)
    y, info = load_audio(tmp_path / "s.wav")
    assert y.ndim == 1 and y.dtype == np.float32
    assert info.channels == 2 and info.sample_rate == 22050
    assert len(y) == pytest.approx(0.5 * PROJECT_SR, abs=2)


def test_extension_is_not_trusted(tmp_path):
    sf.write(tmp_path / "real.flac", _tone(), 22050)
    shutil.copy(tmp_path / "real.flac", tmp_path / "lying.mp3")
    y, _ = load_audio(tmp_path / "lying.mp3")
    assert len(y) > 0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_codecs_libsndfile_cannot_read_go_through_ffmpeg(tmp_path):
    import subprocess

    sf.write(tmp_path / "a.wav", _tone(1.0), 22050)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "a.wav"), "-c:a", "aac",
                    str(tmp_path / "a.m4a")], check=True)
    y, info = load_audio(tmp_path / "a.m4a")
    assert info.decoder == "ffmpeg" and len(y) == pytest.approx(PROJECT_SR, rel=0.1)


def test_real_opus_decodes(shared_data):
    path = next((shared_data / "ravdess").rglob("*.ogg"))
    y, info = load_audio(path)
    assert info.sample_rate == 16000 and y.size > 0


@pytest.mark.parametrize("maker, reason", [
    (lambda p: p.write_bytes(b""), "empty_file"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00garbage-not-audio" * 10), "decode_error"),
    (lambda p: sf.write(p, np.zeros(16000), 16000, format="WAV"), "silent"),
    (lambda p: sf.write(p, np.zeros(0), 16000, format="WAV"), "empty_audio"),
])
def test_bad_audio_gives_reasons(tmp_path, maker, reason):
    path = tmp_path / "bad.wav"
    maker(path)
    with pytest.raises(DecodeError) as error:
        load_audio(path)
    assert error.value.reason == reason


def test_truncated_flac_is_rejected_or_shorter(tmp_path):
    sf.write(tmp_path / "f.flac", _tone(2.0), 22050)
    data = (tmp_path / "f.flac").read_bytes()
    (tmp_path / "t.flac").write_bytes(data[:200])
    with pytest.raises(DecodeError):
        load_audio(tmp_path / "t.flac")


def test_missing_file(tmp_path):
    with pytest.raises(DecodeError) as error:
        load_audio(tmp_path / "nope.wav")
    assert error.value.reason == "file_not_found"


def test_atomic_write_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]
