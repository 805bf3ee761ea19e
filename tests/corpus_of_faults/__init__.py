"""A generated corpus of broken and edge-case media, each kind with its ONE expected ``prepare`` outcome.

Nothing here is committed as a binary: :func:`generate` writes every file into a folder given to it
(a pytest ``tmp_path``), in two folder-per-class trees that the generic adapter reads::

    <folder>/audio/Angry/<kind>.<ext>   every audio kind, plus audio/Angry/good_audio.wav, audio/Sad/good_audio.flac
    <folder>/image/Angry/<kind>.<ext>   every image kind, plus image/Angry/good_image.png, image/Sad/good_image.jpg

An outcome is either a rejection reason (the ``reason`` column of ``rejected.csv``) or ``accepted``,
optionally with the media flags the manifest's ``flags`` column must hold (e.g. ``multi_frame``).

``python -m tests.corpus_of_faults --table`` prints the kinds and outcomes as a markdown table.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

SR = 16_000

#: Flags that the decoders themselves put on an item (the adapters may add others, e.g. about groups).
MEDIA_FLAGS = frozenset({"multi_frame", "phase_cancelled", "bit_depth_inferred", "range_rescaled"})


@dataclass(frozen=True)
class Fault:
    """One kind of input: how to make it and what ``prepare`` must do with it."""

    name: str
    modality: str  # "audio" or "image"
    suffix: str
    outcome: str  # a rejection reason, or "accepted"
    description: str
    make: Callable[[Path], None]
    flags: tuple[str, ...] = ()  # media flags an accepted item must carry (and no other media flag)
    needs: str = ""  # "ffmpeg" or "non_root"

    @property
    def filename(self) -> str:
        return f"{self.name}{self.suffix}"

    @property
    def outcome_text(self) -> str:
        if self.outcome != "accepted":
            return f"rejected `{self.outcome}`"
        return "accepted" + (f", flag `{';'.join(self.flags)}`" if self.flags else "")


# -- signals and encoders ---------------------------------------------------------------------------

def _voice(seconds: float = 1.5, sr: int = SR, f0: float = 180.0, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like signal: harmonics under a slow envelope, plus a little noise."""
    t = np.arange(int(round(seconds * sr))) / sr
    rng = np.random.default_rng(seed)
    tone = sum(0.25 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 2.0 * t)
    return (envelope * tone + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def _wav(path: Path, y: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> None:
    sf.write(path, y, sr, format="WAV", subtype=subtype)


def _wav_bytes(y: np.ndarray, sr: int = SR) -> bytes:
    import io

    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _ffmpeg_encode(path: Path, codec: list[str], fmt: str, seconds: float = 2.0) -> None:
    """Encode a voice signal with ffmpeg (from PATH) into ``path``."""
    source = path.with_name(path.name + ".source.wav")
    _wav(source, _voice(seconds))
    try:
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), *codec, "-f", fmt,
                        str(path)], check=True, capture_output=True)
    finally:
        source.unlink()


def _cut(path: Path, fraction: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def _damage_middle(path: Path, n: int = 64) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + n] = b"\xff" * n
    path.write_bytes(bytes(data))


def _scramble_middle(path: Path, n: int = 200) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + n] = bytes(range(n))
    path.write_bytes(bytes(data))


def _ogg_pages(data: bytes) -> list[bytes]:
    pages, offset = [], 0
    while offset < len(data):
        n_segments = data[offset + 26]
        size = 27 + n_segments + sum(data[offset + 27 : offset + 27 + n_segments])
        pages.append(data[offset : offset + size])
        offset += size
    return pages


# -- audio makers -----------------------------------------------------------------------------------

def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _zero_length_wav(path: Path) -> None:
    _wav(path, np.zeros(0, dtype=np.float32))


def _header_only_wav(path: Path) -> None:
    path.write_bytes(_wav_bytes(_voice(1.0))[:44])  # the header declares 1 s; no sample follows


def _wav_claims_more(path: Path) -> None:
    data = _wav_bytes(_voice(3.0))
    path.write_bytes(data[: len(data) // 2])


def _wav_1hz(path: Path) -> None:  # 96 KB whose header says 1 Hz: 48,000 s
    _wav(path, 0.5 * np.sin(np.arange(48_000) / 7.6), sr=1)


def _too_long_wav(path: Path) -> None:
    """A 31-minute 8 kHz WAV of silence, sparse on disk (the header is all that is ever read)."""
    frames = 31 * 60 * 8000
    header = _wav_bytes(np.zeros(1, dtype=np.float32), sr=8000)[:44]
    header = header[:4] + struct.pack("<I", 36 + 2 * frames) + header[8:40] + struct.pack("<I", 2 * frames)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(44 + 2 * frames)


def _phase_inverted(path: Path) -> None:
    y = _voice(1.5)
    _wav(path, np.stack([y, -y], axis=1))


def _one_channel_silent(path: Path) -> None:
    y = _voice(1.5)
    _wav(path, np.stack([y, np.zeros_like(y)], axis=1))


def _nan_float(path: Path) -> None:
    y = _voice(1.5)
    y[1000:1010] = np.nan
    _wav(path, y, subtype="FLOAT")


def _inf_float(path: Path) -> None:
    y = _voice(1.5)
    y[2000] = np.inf
    _wav(path, y, subtype="FLOAT")


def _ogg(subtype: str, after: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        sf.write(path, _voice(3.0), SR, format="OGG", subtype=subtype)
        if after is not None:
            after(path)
    return make


def _drop_middle_page(path: Path) -> None:
    pages = _ogg_pages(path.read_bytes())
    del pages[len(pages) // 2]
    path.write_bytes(b"".join(pages))


def _flac(after: Callable[[Path], None] | None = None, seconds: float = 3.0) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        sf.write(path, _voice(seconds), SR, format="FLAC")
        if after is not None:
            after(path)
    return make


def _ffmpeg(codec: list[str], fmt: str, after: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        _ffmpeg_encode(path, codec, fmt)
        if after is not None:
            after(path)
    return make


_MP3 = (["-c:a", "libmp3lame", "-b:a", "64k"], "mp3")
_M4A = (["-c:a", "aac", "-b:a", "64k"], "ipod")
_M4A_FASTSTART = (["-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart"], "ipod")


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes())


def _jpeg_bytes(path: Path) -> None:
    Image.fromarray(_pattern(64, 64)).save(path, format="JPEG")


def _text(path: Path) -> None:
    path.write_text("This is a text file, not audio and not an image.\n" * 20)


def _unreadable(maker: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        maker(path)
        os.chmod(path, 0)
    return make


# -- image makers -----------------------------------------------------------------------------------

def _pattern(height: int, width: int, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    base = np.stack([xx * 3 % 256, yy * 3 % 256, (xx + yy) % 256], axis=-1).astype(float)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def _png(height: int, width: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        Image.fromarray(_pattern(height, width)).save(path, format="PNG")
    return make


def _truncated(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        Image.fromarray(_pattern(128, 128)).save(path, format=fmt)
        _cut(path)
    return make


def _float_tiff(low: float, high: float) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        Image.fromarray(np.linspace(low, high, 96 * 96, dtype=np.float32).reshape(96, 96)).save(path)
    return make


def _nan_tiff(path: Path) -> None:
    values = np.linspace(0, 1, 96 * 96, dtype=np.float32).reshape(96, 96)
    values[5, 5] = np.nan
    Image.fromarray(values).save(path)


def _int32_tiff(path: Path) -> None:
    Image.fromarray(np.linspace(0, 300, 96 * 96).reshape(96, 96).astype(np.int32)).save(path)


def _png16(path: Path) -> None:
    Image.fromarray((np.linspace(0, 65535, 96 * 96).reshape(96, 96)).astype(np.uint16)).save(path)


def _cmyk_jpeg(path: Path) -> None:
    Image.fromarray(_pattern(64, 64)).convert("CMYK").save(path, format="JPEG")


def _palette_transparent(path: Path) -> None:
    img = Image.fromarray(_pattern(64, 64)).convert("P")
    img.save(path, format="PNG", transparency=0)


def _multi_frame(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        frames = [Image.fromarray(_pattern(64, 64, seed=i)) for i in range(3)]
        frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:])
    return make


def _bomb(path: Path) -> None:
    """A tiny PNG whose header declares 20000 x 20000 px (400 Mpx); nothing is ever decoded."""
    Image.new("L", (64, 64)).save(path, format="PNG")
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 20_000, 20_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def _audio_named_png(path: Path) -> None:
    path.write_bytes(_wav_bytes(_voice(1.0)))


def _png_named_jpg(path: Path) -> None:
    Image.fromarray(_pattern(64, 64)).save(path, format="PNG")


# -- the corpus -------------------------------------------------------------------------------------

def _a(name, suffix, outcome, description, make, flags=(), needs=""):
    return Fault(name, "audio", suffix, outcome, description, make, tuple(flags), needs)


def _i(name, suffix, outcome, description, make, flags=(), needs=""):
    return Fault(name, "image", suffix, outcome, description, make, tuple(flags), needs)


FAULTS: tuple[Fault, ...] = (
    # audio: files that are not audio
    _a("empty_wav", ".wav", "empty_file", "a 0-byte .wav", _empty),
    _a("random_bytes_wav", ".wav", "decode_error", "20 KB of random bytes named .wav", _random_bytes),
    _a("jpeg_named_wav", ".wav", "decode_error", "a JPEG image named .wav", _jpeg_bytes),
    _a("text_named_flac", ".flac", "decode_error", "a text file named .flac", _text),
    _a("unreadable_wav", ".wav", "permission_denied", "a good WAV with mode 000 (skipped as root)",
       _unreadable(lambda p: _wav(p, _voice())), needs="non_root"),
    # audio: no or too little audio
    _a("zero_length_wav", ".wav", "empty_audio", "a valid WAV with 0 samples", _zero_length_wav),
    _a("header_only_wav", ".wav", "truncated", "a 44-byte WAV header declaring 1 s, no data", _header_only_wav),
    _a("one_sample_wav", ".wav", "too_short", "a 1-sample clip", lambda p: _wav(p, _voice(1 / SR))),
    _a("short_0_3s_wav", ".wav", "too_short", "a 0.3 s clip", lambda p: _wav(p, _voice(0.3))),
    _a("short_0_499s_wav", ".wav", "too_short", "a 0.499 s clip (limit 0.5 s)", lambda p: _wav(p, _voice(0.499))),
    _a("exactly_0_5s_wav", ".wav", "accepted", "a 0.5 s clip (the limit)", lambda p: _wav(p, _voice(0.5))),
    _a("silent_wav", ".wav", "silent", "1.5 s of digital silence", lambda p: _wav(p, np.zeros(24_000))),
    _a("too_long_wav", ".wav", "too_long", "a 31-minute WAV (limit 30 min; rejected from its header)",
       _too_long_wav),
    # audio: sample rates
    _a("rate_1hz_wav", ".wav", "sample_rate_out_of_range", "a 96 KB WAV whose header says 1 Hz (48,000 s)",
       _wav_1hz),
    _a("rate_4khz_wav", ".wav", "sample_rate_out_of_range", "1.5 s at 4 kHz (native rate below 8 kHz)",
       lambda p: _wav(p, _voice(1.5, sr=4000, f0=150), sr=4000)),
    _a("rate_400khz_wav", ".wav", "sample_rate_out_of_range", "1 s at 400 kHz (above 384 kHz)",
       lambda p: _wav(p, _voice(1.0, sr=400_000), sr=400_000)),
    _a("rate_8khz_wav", ".wav", "accepted", "1.5 s at 8 kHz (the lowest accepted rate)",
       lambda p: _wav(p, _voice(1.5, sr=8000, f0=150), sr=8000)),
    # audio: sample values and channels
    _a("nan_float_wav", ".wav", "non_finite", "a float WAV with 10 NaN samples", _nan_float),
    _a("inf_float_wav", ".wav", "non_finite", "a float WAV with one +inf sample", _inf_float),
    _a("phase_inverted_stereo", ".wav", "accepted", "stereo with L = -R (the channel average is silent)",
       _phase_inverted, flags=["phase_cancelled"]),
    _a("one_channel_silent_stereo", ".wav", "accepted", "stereo with a silent right channel",
       _one_channel_silent),
    _a("six_channels_wav", ".wav", "accepted", "a 6-channel WAV",
       lambda p: _wav(p, np.stack([_voice(1.5, seed=k) for k in range(6)], axis=1))),
    _a("pcm24_44k_wav", ".wav", "accepted", "24-bit PCM at 44.1 kHz",
       lambda p: _wav(p, _voice(1.5, sr=44_100), sr=44_100, subtype="PCM_24")),
    _a("pcm_u8_wav", ".wav", "accepted", "8-bit unsigned PCM", lambda p: _wav(p, _voice(), subtype="PCM_U8")),
    # audio: truncated and damaged containers
    _a("truncated_wav", ".wav", "truncated", "a WAV cut to half its bytes (header claims more data)",
       _wav_claims_more),
    _a("truncated_opus", ".ogg", "truncated", "an Ogg Opus file cut to half its bytes", _ogg("OPUS", _cut)),
    _a("truncated_vorbis", ".ogg", "truncated", "an Ogg Vorbis file cut to half its bytes",
       _ogg("VORBIS", _cut)),
    _a("opus_cut_in_headers", ".ogg", "truncated", "an Ogg Opus file cut to its first 120 bytes",
       _ogg("OPUS", lambda p: p.write_bytes(p.read_bytes()[:120]))),
    _a("opus_damaged_page", ".ogg", "decode_error", "an Ogg Opus file with 64 bytes of 0xff in the middle "
       "(CRC mismatch)", _ogg("OPUS", _damage_middle)),
    _a("opus_missing_page", ".ogg", "decode_error", "an Ogg Opus file with its middle page removed "
       "(page sequence gap)", _ogg("OPUS", _drop_middle_page)),
    _a("opus_good", ".opus", "accepted", "a good Ogg Opus file with the .opus extension", _ogg("OPUS")),
    _a("truncated_flac", ".flac", "truncated", "a FLAC file cut to half its bytes (STREAMINFO declares more)",
       _flac(_cut)),
    _a("flac_damaged_middle", ".flac", "decode_error", "a FLAC file with 64 bytes of 0xff in the middle",
       _flac(_damage_middle)),
    _a("flac_named_mp3", ".mp3", "accepted", "a good FLAC file named .mp3", _flac()),
    _a("truncated_mp3", ".mp3", "truncated", "an MP3 (LAME, Xing header) cut to half its bytes",
       _ffmpeg(*_MP3, after=_cut), needs="ffmpeg"),
    _a("mp3_damaged_middle", ".mp3", "decode_error", "an MP3 with 200 bytes overwritten in the middle "
       "(ffmpeg reports a decoder error)", _ffmpeg(*_MP3, after=_scramble_middle), needs="ffmpeg"),
    _a("mp3_good", ".mp3", "accepted", "a good MP3", _ffmpeg(*_MP3), needs="ffmpeg"),
    _a("mp3_named_wav", ".wav", "accepted", "a good MP3 named .wav", _ffmpeg(*_MP3), needs="ffmpeg"),
    _a("truncated_m4a", ".m4a", "truncated", "an AAC M4A (index at the end) cut to half its bytes",
       _ffmpeg(*_M4A, after=_cut), needs="ffmpeg"),
    _a("truncated_m4a_faststart", ".m4a", "truncated", "an AAC M4A (index first) cut to half its bytes",
       _ffmpeg(*_M4A_FASTSTART, after=_cut), needs="ffmpeg"),
    _a("m4a_good", ".m4a", "accepted", "a good AAC M4A", _ffmpeg(*_M4A), needs="ffmpeg"),
    # images: not images, unreadable
    _i("empty_png", ".png", "empty_file", "a 0-byte .png", _empty),
    _i("random_bytes_png", ".png", "decode_error", "20 KB of random bytes named .png", _random_bytes),
    _i("text_named_jpg", ".jpg", "decode_error", "a text file named .jpg", _text),
    _i("wav_named_png", ".png", "decode_error", "a WAV file named .png", _audio_named_png),
    _i("unreadable_png", ".png", "permission_denied", "a good PNG with mode 000 (skipped as root)",
       _unreadable(_png(64, 64)), needs="non_root"),
    _i("png_named_jpg", ".jpg", "accepted", "a good PNG named .jpg", _png_named_jpg),
    # images: sizes
    _i("png_1x1", ".png", "image_too_small", "a 1x1 PNG", _png(1, 1)),
    _i("png_5000x1", ".png", "image_too_small", "a 5000x1 PNG", _png(1, 5000)),
    _i("png_31x31", ".png", "image_too_small", "a 31x31 PNG (limit 32 px)", _png(31, 31)),
    _i("png_32x32", ".png", "accepted", "a 32x32 PNG (the limit)", _png(32, 32)),
    _i("png_700x32", ".png", "aspect_ratio_out_of_range", "a 700x32 PNG (aspect ratio 21.9 > 20)",
       _png(32, 700)),
    _i("decompression_bomb", ".png", "decompression_bomb", "a tiny PNG declaring 20000x20000 px", _bomb),
    # images: truncated
    _i("truncated_jpeg", ".jpg", "truncated", "a JPEG cut to half its bytes", _truncated("JPEG")),
    _i("truncated_png", ".png", "truncated", "a PNG cut to half its bytes", _truncated("PNG")),
    # images: modes
    _i("float_tiff_0_1", ".tiff", "accepted", "a float32 (mode F) TIFF in [0, 1]", _float_tiff(0.0, 1.0)),
    _i("float_tiff_0_1000", ".tiff", "accepted", "a float32 TIFF in [0, 1000] (scaled by its range)",
       _float_tiff(0.0, 1000.0), flags=["range_rescaled"]),
    _i("float_tiff_nan", ".tiff", "non_finite", "a float32 TIFF with a NaN pixel", _nan_tiff),
    _i("int32_tiff_300", ".tif", "accepted", "a 32-bit integer (mode I) TIFF peaking at 300",
       _int32_tiff, flags=["bit_depth_inferred"]),
    _i("png_16bit", ".png", "accepted", "a 16-bit greyscale PNG", _png16),
    _i("cmyk_jpeg", ".jpg", "accepted", "a CMYK JPEG", _cmyk_jpeg),
    _i("palette_transparent_png", ".png", "accepted", "a palette PNG with a transparent index",
       _palette_transparent),
    _i("multi_frame_gif", ".gif", "accepted", "an animated GIF with 3 frames", _multi_frame("GIF"),
       flags=["multi_frame"]),
    _i("multi_frame_tiff", ".tiff", "accepted", "a 3-page TIFF", _multi_frame("TIFF"), flags=["multi_frame"]),
)

#: The good files every tree gets, so that each class keeps at least one item.
GOOD_FILES = {
    "audio": (("Angry", "good_audio.wav", lambda p: _wav(p, _voice(1.5, f0=220))),
              ("Sad", "good_audio.flac", lambda p: sf.write(p, _voice(1.5, f0=140, seed=3), SR, format="FLAC"))),
    "image": (("Angry", "good_image.png", lambda p: Image.fromarray(_pattern(64, 80, seed=5)).save(p)),
              ("Sad", "good_image.jpg", lambda p: Image.fromarray(_pattern(80, 64, seed=6)).save(p, quality=90))),
}


def running_as_root() -> bool:
    """True when file modes do not stop this process (root, or a file system that ignores them)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return True
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe"
        probe.write_bytes(b"x")
        os.chmod(probe, 0)
        try:
            with open(probe, "rb"):
                return True
        except PermissionError:
            return False
        finally:
            os.chmod(probe, 0o600)


def available(fault: Fault) -> bool:
    """Whether ``fault`` can be made (and checked) here."""
    if fault.needs == "ffmpeg":
        return shutil.which("ffmpeg") is not None
    if fault.needs == "non_root":
        return not running_as_root()
    return True


def generate(folder: str | os.PathLike[str]) -> dict[Path, Fault]:
    """Write every available kind (and the good files) under ``folder``; return each path's fault."""
    folder = Path(folder)
    made: dict[Path, Fault] = {}
    for modality, goods in GOOD_FILES.items():
        for label, name, make in goods:
            (folder / modality / label).mkdir(parents=True, exist_ok=True)
            make(folder / modality / label / name)
    for fault in FAULTS:
        if not available(fault):
            continue
        path = folder / fault.modality / "Angry" / fault.filename
        fault.make(path)
        made[path] = fault
    return made


def markdown_table(faults: tuple[Fault, ...] = FAULTS) -> str:
    """The corpus as a markdown table: kind, modality, what the file is, expected outcome."""
    lines = ["| kind | modality | input | expected outcome |", "|---|---|---|---|"]
    for fault in faults:
        note = " (made with ffmpeg)" if fault.needs == "ffmpeg" else ""
        lines.append(f"| `{fault.filename}` | {fault.modality} | {fault.description}{note} | {fault.outcome_text} |")
    return "\n".join(lines)
