"""Audio decoding that survives the real world.

Any container/codec that libsndfile reads (WAV, FLAC, Ogg Vorbis/Opus, ...) is decoded directly;
anything else (MP3 in old libsndfile, M4A/AAC, a WAV that is really an MP3, ...) goes through ffmpeg.
The extension is never trusted. Output is always mono float32 at one project rate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from resonance.errors import DecodeError

#: One sample rate for the whole project. 16 kHz keeps all speech cues (F0, formants, HF energy up
#: to 8 kHz) and is the rate the shared speech copies are stored at.
PROJECT_SR = 16_000

#: Peak amplitude below which a clip counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4


@dataclass(frozen=True)
class AudioInfo:
    """What a decoded clip is: its native rate and channels, and its duration in seconds."""

    sample_rate: int
    channels: int
    duration_s: float
    decoder: str  # "soundfile" or "ffmpeg"


def load_audio(
    path: str | os.PathLike[str],
    *,
    sr: int | None = PROJECT_SR,
    allow_silent: bool = False,
) -> tuple[np.ndarray, AudioInfo]:
    """Decode ``path`` to mono float32 at ``sr`` Hz.

    Parameters
    ----------
    path : path-like
        Any audio file libsndfile or ffmpeg can read, whatever its extension.
    sr : int or None, keyword-only
        Target sample rate in Hz (default :data:`PROJECT_SR`); None keeps the native rate.
    allow_silent : bool, keyword-only
        If False (default), a clip whose peak is below :data:`SILENCE_PEAK` is rejected.

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        The mono signal in [-1, 1] (channels averaged).
    info : AudioInfo
        Native rate, channel count and duration of the *source*.

    Raises
    ------
    DecodeError
        ``reason`` is one of ``file_not_found``, ``empty_file``, ``decode_error``, ``empty_audio``,
        ``non_finite``, ``silent``.
    """
    path = Path(path)
    if not path.is_file():
        raise DecodeError("file_not_found", str(path))
    if path.stat().st_size == 0:
        raise DecodeError("empty_file", f"{path} has 0 bytes")
    try:
        data, native_sr = sf.read(path, dtype="float32", always_2d=True)
        channels, decoder = data.shape[1], "soundfile"
        y = data.mean(axis=1)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as sf_error:
        y, native_sr, channels = _decode_with_ffmpeg(path, sf_error)
        decoder = "ffmpeg"
    if y.size == 0:
        raise DecodeError("empty_audio", f"{path} decodes to 0 samples")
    if not np.all(np.isfinite(y)):
        raise DecodeError("non_finite", f"{path} contains NaN or infinite samples")
    if not allow_silent and float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise DecodeError("silent", f"{path} peaks below {20 * np.log10(SILENCE_PEAK):.0f} dBFS")
    info = AudioInfo(int(native_sr), int(channels), y.size / float(native_sr), decoder)
    if sr is not None and native_sr != sr:
        import librosa  # deferred: librosa imports numba, which costs a second

        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr, res_type="soxr_hq")
    return np.ascontiguousarray(y, dtype=np.float32), info


def _decode_with_ffmpeg(path: Path, cause: Exception) -> tuple[np.ndarray, int, int]:
    """Fallback decoder: ffmpeg to raw float32 at the source's own rate."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise DecodeError("decode_error", f"libsndfile cannot read {path} ({cause}) and ffmpeg is not installed")
    native_sr, channels = _ffprobe_stream(path)
    cmd = [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-map", "0:a:0",
           "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DecodeError("decode_error", f"{path}: {message[-1] if message else 'ffmpeg failed'}")
    return np.frombuffer(proc.stdout, dtype="<f4").copy(), native_sr, channels


def _ffprobe_stream(path: Path) -> tuple[int, int]:
    ffprobe = shutil.which("ffprobe")
    cmd = [ffprobe or "ffprobe", "-v", "error", "-select_streams", "a:0",
           "-show_entries", "stream=sample_rate,channels", "-of", "csv=p=0", str(path)]
    proc = subprocess.run(cmd, capture_output=True, check=False, text=True)
    fields = proc.stdout.strip().split(",")
    if proc.returncode != 0 or len(fields) < 2 or not fields[0].isdigit():
        raise DecodeError("decode_error", f"{path} holds no audio stream that ffmpeg can read")
    return int(fields[0]), int(fields[1])
