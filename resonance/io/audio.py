"""Audio decoding that survives the real world, in bounded memory, and never shortens a clip silently.

Any container/codec that libsndfile reads (WAV, FLAC, Ogg Vorbis/Opus, ...) is decoded directly;
anything else (MP3 in old libsndfile, M4A/AAC, a WAV that is really an MP3, ...) goes through ffmpeg.
The extension is never trusted. Output is always mono float32 at one project rate.

A damaged or cut file is *rejected*, never kept as a shorter clip with the whole utterance's label:
the container is checked before decoding wherever it allows (Ogg: page CRCs, page sequence and the
end-of-stream flag; WAV: the data chunk's size against the file's; MP4/M4A: every top-level box inside
the file), and the decoded length is compared with the one the file declares (FLAC STREAMINFO,
Ogg granule positions, WAV data size, ffprobe's container/stream duration for MP3/M4A); a decoder
error is an error (ffmpeg runs with ``-xerror`` and any message on its stderr rejects the file).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from resonance.errors import DecodeError
from resonance.io.files import check_readable
from resonance.io.limits import DEFAULT_LIMITS, MediaLimits

#: One sample rate for the whole project. 16 kHz keeps all speech cues (F0, formants, HF energy up
#: to 8 kHz) and is the rate the shared speech copies are stored at.
PROJECT_SR = 16_000

#: Peak amplitude below which a clip counts as silent (-80 dBFS).
SILENCE_PEAK = 1e-4

#: A multichannel clip whose channel average peaks this much below its loudest channel (-40 dB) has
#: channels that cancel (e.g. phase-inverted stereo, L = -R); its loudest channel is used instead.
CANCELLATION_RATIO = 1e-2

#: Frames decoded, mixed and resampled at a time (64 Ki frames: 0.5 MB per channel in float32).
BLOCK_FRAMES = 65_536

#: Decoded length may fall short of an ffprobe-declared one by encoder delay and padding (MP3, AAC).
_FFMPEG_SLACK_FRAMES = 4096


@dataclass(frozen=True)
class AudioInfo:
    """What a decoded clip is: its native rate and channels, its duration in seconds, and flags.

    ``flags`` is empty for a plain clip; ``"phase_cancelled"`` means the channels cancelled in the
    average (e.g. phase-inverted stereo) and the loudest channel was used instead of the average.
    """

    sample_rate: int
    channels: int
    duration_s: float
    decoder: str  # "soundfile" or "ffmpeg"
    flags: tuple[str, ...] = ()


def load_audio(
    path: str | os.PathLike[str],
    *,
    sr: int | None = PROJECT_SR,
    allow_silent: bool = False,
    limits: MediaLimits | None = DEFAULT_LIMITS,
) -> tuple[np.ndarray, AudioInfo]:
    """Decode ``path`` to mono float32 at ``sr`` Hz, in bounded memory.

    Parameters
    ----------
    path : path-like
        Any audio file libsndfile or ffmpeg can read, whatever its extension.
    sr : int or None, keyword-only
        Target sample rate in Hz (default :data:`PROJECT_SR`); None keeps the native rate.
    allow_silent : bool, keyword-only
        If False (default), a clip whose peak is below :data:`SILENCE_PEAK` is rejected.
    limits : MediaLimits or None, keyword-only
        Bounds on the native sample rate and on the duration (default
        :data:`resonance.io.limits.DEFAULT_LIMITS`: 8-384 kHz, 0.5 s to 30 min). The rate and the
        declared duration are checked from the header *before* decoding. None disables the bounds.

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        The mono signal in [-1, 1]: the channel average, or the loudest channel when the channels
        cancel in the average (``"phase_cancelled"`` in ``info.flags``).
    info : AudioInfo
        Native rate, channel count, duration and flags of the *source*.

    Raises
    ------
    DecodeError
        ``reason`` is one of ``file_not_found``, ``permission_denied``, ``empty_file``,
        ``decode_error`` (not audio, a damaged stream or a decoder error), ``truncated`` (the file
        ends before its declared end), ``empty_audio``, ``sample_rate_out_of_range``, ``too_short``,
        ``too_long``, ``non_finite``, ``silent``.

    Notes
    -----
    Memory is bounded: the file is read in blocks of :data:`BLOCK_FRAMES` frames (libsndfile, or
    ffmpeg's raw output read from a pipe), each block is mixed to mono float32 and resampled with a
    streaming soxr resampler (``soxr.ResampleStream``, quality HQ, the same filter as
    ``librosa.resample(res_type="soxr_hq")``), and only the mono output at ``sr`` is kept. Peak
    memory is about one output array (4 bytes per output sample: 77 MB for 20 minutes at 16 kHz)
    plus a few blocks, whatever the native rate and channel count. Phase cancellation is detected
    from per-channel peaks gathered in the same pass; only then is the file decoded a second time,
    keeping the loudest channel. Measured (peak RSS above the imports, one process): a 10- and a
    20-minute 44.1 kHz stereo WAV to 16 kHz take 48 and 85 MB (the one-shot decoder before took 608
    and 959 MB); :func:`probe_audio`, which ``prepare`` uses, about 11 MB whatever the length.
    """
    if sr is not None and (isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0):
        from resonance.errors import ParameterError

        raise ParameterError(f"sr must be a positive integer number of Hz or None, got {sr!r}")
    sinks: list[_Output] = []

    def make_sink(native_sr: int, expected_frames: int | None) -> _Output:
        sinks[:] = [_Output(native_sr, sr, expected_frames)]  # a second pass drops the first's output
        return sinks[0]

    info = _decode(Path(path), limits, allow_silent, make_sink)
    return sinks[0].result(), info


def probe_audio(
    path: str | os.PathLike[str],
    *,
    allow_silent: bool = False,
    limits: MediaLimits | None = DEFAULT_LIMITS,
) -> AudioInfo:
    """Validate ``path`` exactly as :func:`load_audio` does, keeping no samples (memory of a few blocks).

    Raises the same :class:`~resonance.errors.DecodeError` reasons as :func:`load_audio`.
    """
    return _decode(Path(path), limits, allow_silent, lambda native_sr, expected: _Discard())


# -- the decoding pass ------------------------------------------------------------------------------

class _Discard:
    def add(self, block: np.ndarray) -> None:
        pass

    def finish(self) -> None:
        pass


class _Output:
    """Mono blocks in, the whole mono signal at the target rate out (resampled block by block)."""

    def __init__(self, native_sr: int, sr: int | None, expected_frames: int | None) -> None:
        self._resampler = None
        self._ratio = 1.0
        if sr is not None and sr != native_sr:
            import soxr

            self._resampler = soxr.ResampleStream(native_sr, sr, 1, dtype="float32", quality="HQ")
            self._ratio = sr / native_sr
        self._n_in = 0
        capacity = int(np.ceil(expected_frames * self._ratio)) + 16 if expected_frames else BLOCK_FRAMES
        self._buffer = np.empty(max(capacity, 16), dtype=np.float32)
        self._n = 0

    def _append(self, y: np.ndarray) -> None:
        if self._n + y.size > self._buffer.size:
            grown = np.empty(max(2 * self._buffer.size, self._n + y.size), dtype=np.float32)
            grown[: self._n] = self._buffer[: self._n]
            self._buffer = grown
        self._buffer[self._n : self._n + y.size] = y
        self._n += y.size

    def add(self, block: np.ndarray) -> None:
        self._n_in += block.size
        self._append(block if self._resampler is None else self._resampler.resample_chunk(block))

    def finish(self) -> None:
        if self._resampler is None:
            return
        self._append(self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        # the stream now equals a one-shot ``soxr.resample``, sample for sample; librosa.resample then
        # fixes the length to ceil(n * ratio) with zeros, and so does this (the same array, bit for bit)
        wanted = int(np.ceil(self._n_in * self._ratio))
        if self._n < wanted:
            self._append(np.zeros(wanted - self._n, dtype=np.float32))
        self._n = min(self._n, wanted)

    def result(self) -> np.ndarray:
        if self._n != self._buffer.size:
            self._buffer.resize(self._n, refcheck=False)  # shrinks in place (realloc), no second copy
        return self._buffer


@dataclass
class _Pass:
    """What one decoding pass saw."""

    frames: int = 0
    non_finite: int = 0
    mix_peak: float = 0.0
    channel_peaks: np.ndarray | None = None
    error: str = ""


def _decode(path: Path, limits: MediaLimits | None, allow_silent: bool,
            make_sink: Callable[[int, int | None], _Discard | _Output]) -> AudioInfo:
    size = check_readable(path)
    container = _inspect_container(path, size)
    source = _open_source(path, container)
    if limits is not None:
        limits.check_sample_rate(source.sample_rate, str(path))
    if source.declared_frames == 0 and source.exact:
        raise DecodeError("empty_audio", f"{path} holds 0 samples")
    if limits is not None and source.declared_frames is not None:
        declared_s = source.declared_frames / source.sample_rate
        if source.exact or declared_s > limits.max_duration_s:  # an ffprobe estimate bounds only from above
            limits.check_duration(declared_s, str(path), declared=True)
    max_frames = None if limits is None else int(limits.max_duration_s * source.sample_rate) + 1

    sink = make_sink(source.sample_rate, source.declared_frames)
    seen = _run_pass(source, None, sink, max_frames, path)
    _check_complete(path, source, container, seen)
    if seen.frames == 0:
        raise DecodeError("empty_audio", f"{path} decodes to 0 samples")
    if seen.non_finite:
        raise DecodeError("non_finite", f"{path} contains {seen.non_finite} NaN or infinite samples")
    if limits is not None:
        limits.check_duration(seen.frames / source.sample_rate, str(path))
    flags: tuple[str, ...] = ()
    peak = seen.mix_peak
    loudest = float(np.max(seen.channel_peaks)) if seen.channel_peaks is not None else peak
    if source.channels > 1 and loudest >= SILENCE_PEAK and peak < CANCELLATION_RATIO * loudest:
        channel = int(np.argmax(seen.channel_peaks))
        flags = ("phase_cancelled",)
        sink = make_sink(source.sample_rate, source.declared_frames)
        again = _run_pass(_open_source(path, container), channel, sink, max_frames, path)
        _check_complete(path, source, container, again)
        peak = again.mix_peak
    if not allow_silent and peak < SILENCE_PEAK:
        raise DecodeError("silent", f"{path} peaks below {20 * np.log10(SILENCE_PEAK):.0f} dBFS")
    return AudioInfo(source.sample_rate, source.channels, seen.frames / float(source.sample_rate),
                     source.decoder, flags)


def _run_pass(source: _Source, channel: int | None, sink: _Discard | _Output, max_frames: int | None,
              path: Path) -> _Pass:
    """Decode every block once: count frames and non-finite samples, gather peaks, feed ``sink``
    the channel average (or ``channel``). Stops with ``too_long`` past ``max_frames``."""
    seen = _Pass(channel_peaks=np.zeros(source.channels, dtype=np.float64))
    try:
        for block in source.blocks():
            seen.frames += block.shape[0]
            if max_frames is not None and seen.frames > max_frames:  # longer than its header said
                raise DecodeError("too_long", f"{path} decodes past {max_frames / source.sample_rate:,.0f} s, "
                                              "the MediaLimits.max_duration_s bound")
            finite = np.isfinite(block)
            if not finite.all():
                seen.non_finite += int(block.size - np.count_nonzero(finite))
                block = np.where(finite, block, np.float32(0.0))
            if block.shape[0] == 0:
                continue
            np.maximum(seen.channel_peaks, np.max(np.abs(block), axis=0), out=seen.channel_peaks)
            mono = block.mean(axis=1, dtype=np.float32) if channel is None else block[:, channel].copy()
            seen.mix_peak = max(seen.mix_peak, float(np.max(np.abs(mono))))
            sink.add(mono)
    except _DecoderFailure as failure:
        seen.error = str(failure)
    finally:
        source.close()
    sink.finish()
    return seen


def _check_complete(path: Path, source: _Source, container: _Container, seen: _Pass) -> None:
    """Reject a pass that ended early (a decoder error, or fewer frames than the file declares)."""
    declared = source.declared_frames
    if seen.error:
        if container.kind == "flac" and _flac_is_cut(path, container, source.declared_frames):
            raise DecodeError("truncated", f"{path}: the file ends before sample {declared:,} that its "
                                           f"STREAMINFO declares (decoder: {seen.error})")
        # a cut file was caught from its container before decoding, where the container says
        # (WAV, Ogg, MP4, MP3 with a Xing header); an error in a complete file is damage
        stopped = f" (decoding stopped at {seen.frames / source.sample_rate:.3f} s" + (
            f" of the {declared / source.sample_rate:.3f} s declared)" if declared else ")")
        raise DecodeError("decode_error", f"{path}: {seen.error}{stopped}")
    if declared:
        slack = 0 if source.exact else _FFMPEG_SLACK_FRAMES + declared // 1000
        if seen.frames + slack < declared:
            raise DecodeError("truncated", f"{path} decodes to {seen.frames / source.sample_rate:.3f} s but "
                                           f"declares {declared / source.sample_rate:.3f} s")


# -- opening and reading ----------------------------------------------------------------------------

class _DecoderFailure(Exception):
    """The decoder stopped with an error mid-stream."""


@dataclass
class _Source:
    """An opened stream: native rate, channels, the declared length, and a block iterator."""

    sample_rate: int
    channels: int
    declared_frames: int | None
    exact: bool  # the declared length is exact (libsndfile), not an ffprobe estimate
    decoder: str
    blocks: Callable[[], Iterator[np.ndarray]]
    close: Callable[[], None]


def _open_source(path: Path, container: _Container) -> _Source:
    if container.kind == "mp3" and shutil.which("ffmpeg"):
        # libsndfile's MP3 decoder (mpg123) pads a cut file with silence up to the Xing header's
        # length; ffmpeg stops where the data stops, and so shows the cut against the declared length
        return _open_ffmpeg(path, RuntimeError("MP3 is decoded with ffmpeg"), container)
    try:
        handle = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as sf_error:
        return _open_ffmpeg(path, sf_error, container)
    if handle.format == "MP3" and shutil.which("ffmpeg"):  # an MP3 the sniffing above missed
        handle.close()
        return _open_ffmpeg(path, RuntimeError("MP3 is decoded with ffmpeg"), container)
    if container.kind == "flac":  # STREAMINFO's total samples; 0 means "unknown"
        declared = container.declared_frames or None
    elif container.kind == "wav" and container.declared_frames is not None:
        declared = container.declared_frames  # the data chunk's size
    else:  # Ogg: from the last granule position; others: what libsndfile computes
        declared = handle.frames if handle.frames > 0 else None

    def blocks() -> Iterator[np.ndarray]:
        try:
            yield from handle.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as error:
            raise _DecoderFailure(str(error)) from error

    return _Source(int(handle.samplerate), int(handle.channels), declared, True, "soundfile", blocks,
                   handle.close)


def _open_ffmpeg(path: Path, cause: Exception, container: _Container) -> _Source:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise DecodeError("decode_error", f"libsndfile cannot read {path} ({cause}) and ffmpeg is not installed")
    native_sr, channels, declared_s = _ffprobe_stream(path, cause)
    declared = None if declared_s is None else int(round(declared_s * native_sr))
    process: list[subprocess.Popen] = []

    def blocks() -> Iterator[np.ndarray]:
        cmd = [ffmpeg, "-v", "error", "-xerror", "-nostdin", "-i", str(path), "-map", "0:a:0",
               "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-"]
        with tempfile.TemporaryFile() as stderr:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL)
            process.append(proc)
            assert proc.stdout is not None
            frame_bytes = 4 * channels
            pending = b""
            while True:
                chunk = proc.stdout.read(BLOCK_FRAMES * frame_bytes)
                if not chunk:
                    break
                chunk = pending + chunk
                usable = len(chunk) - len(chunk) % frame_bytes
                pending = chunk[usable:]
                yield np.frombuffer(chunk[:usable], dtype="<f4").reshape(-1, channels)
            returncode = proc.wait()
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip().splitlines()
        if returncode != 0 or message:
            raise _DecoderFailure(f"ffmpeg: {message[-1] if message else f'exit status {returncode}'}")

    def close() -> None:
        for proc in process:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    return _Source(native_sr, channels, declared, False, "ffmpeg", blocks, close)


def _ffprobe_stream(path: Path, cause: Exception) -> tuple[int, int, float | None]:
    """Native rate, channels and declared duration (stream's, else container's) of the first audio stream."""
    ffprobe = shutil.which("ffprobe")
    cmd = [ffprobe or "ffprobe", "-v", "error", "-select_streams", "a:0",
           "-show_entries", "stream=sample_rate,channels,duration:format=duration", "-of", "json", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, check=False, text=True, errors="replace")
    except OSError as error:
        raise DecodeError("decode_error", f"libsndfile cannot read {path} ({cause}) and ffprobe failed: "
                                          f"{error}") from None
    import json

    try:
        probed = json.loads(proc.stdout or "{}")
    except ValueError:
        probed = {}
    streams = probed.get("streams") or []
    if proc.returncode != 0 or not streams:
        message = proc.stderr.strip().splitlines()
        why = message[-1] if message and proc.returncode != 0 else "it holds no audio stream"
        raise DecodeError("decode_error", f"{path} is not audio that libsndfile or ffmpeg can read ({why})")
    stream = streams[0]
    try:
        native_sr, channels = int(stream["sample_rate"]), int(stream["channels"])
    except (KeyError, TypeError, ValueError):
        raise DecodeError("decode_error", f"{path}: its audio stream has no sample rate or channel count") from None
    if channels <= 0:
        raise DecodeError("decode_error", f"{path}: its audio stream has {channels} channels")
    declared = None
    for value in (stream.get("duration"), (probed.get("format") or {}).get("duration")):
        try:
            declared = float(value)
        except (TypeError, ValueError):
            continue
        if np.isfinite(declared) and declared > 0:
            break
        declared = None
    return native_sr, channels, declared


# -- containers -------------------------------------------------------------------------------------

@dataclass
class _Container:
    """What the container says before any decoding: its kind and, where it says, the length in frames."""

    kind: str  # "wav", "ogg", "flac", "mp4", "mp3" or "other"
    declared_frames: int | None = None
    flac_streaminfo: tuple[int, int, int] | None = None  # (max block size, sample rate, total samples)
    flac_first_frame: int = 0


def _inspect_container(path: Path, size: int) -> _Container:
    """Structural checks that need no decoder; raise ``truncated`` / ``decode_error`` when they fail."""
    with open(path, "rb") as handle:
        head = handle.read(64)
        if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
            return _inspect_wav(path, handle, size)
        if head[:4] == b"OggS":
            return _inspect_ogg(path, handle, size)
        if head[:4] == b"fLaC":
            return _inspect_flac(path, handle, size)
        if head[4:8] == b"ftyp":
            return _inspect_mp4(path, handle, size)
        if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
            return _inspect_mp3(path, handle, head, size)
    return _Container("other")


def _inspect_wav(path: Path, handle, size: int) -> _Container:
    """The data chunk's declared size against the bytes present."""
    handle.seek(12)
    block_align = 0
    data_size_64 = None
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return _Container("wav")  # no data chunk: libsndfile will say so
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        start = handle.tell()
        if chunk_id == b"ds64" and chunk_size >= 16:
            data_size_64 = struct.unpack("<Q", handle.read(16)[8:16])[0]
        elif chunk_id == b"fmt " and chunk_size >= 16:
            block_align = struct.unpack("<H", handle.read(16)[12:14])[0]
        elif chunk_id == b"data":
            if chunk_size == 0xFFFFFFFF and data_size_64 is not None:
                chunk_size = data_size_64
            if chunk_size in (0xFFFFFFFF,) or (chunk_size == 0 and size > start + 1024):
                return _Container("wav")  # a streamed WAV whose writer never filled the size in
            present = size - start
            if chunk_size > present:
                raise DecodeError("truncated", f"{path}: its data chunk declares {chunk_size:,} bytes but "
                                               f"only {present:,} are present (the file is cut)")
            frames = chunk_size // block_align if block_align else None
            return _Container("wav", declared_frames=frames)
        handle.seek(start + chunk_size + (chunk_size & 1))
        if handle.tell() > size:
            return _Container("wav")


_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial value 0) via zlib's reflected one."""
    raw = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def _inspect_ogg(path: Path, handle, size: int) -> _Container:
    """Every page: capture pattern where a page must start, CRC, sequence numbers, end-of-stream flag."""
    handle.seek(0)
    offset = 0
    sequence: dict[int, int] = {}
    last_granule: dict[int, int] = {}
    pre_skip: dict[int, int] = {}
    audio_pages = 0
    last_flags = 0
    while offset < size:
        header = handle.read(27)
        if len(header) < 27 and header[:4] == b"OggS"[: len(header[:4])]:
            raise DecodeError("truncated", f"{path} ends inside an Ogg page header at byte {offset:,}")
        if header[:4] != b"OggS":
            raise DecodeError("decode_error", f"{path} is damaged: no Ogg page where one must start (byte "
                                              f"{offset:,})")
        flags, granule, serial, number, crc, n_segments = struct.unpack("<BqIIIB", header[5:27])
        lacing = handle.read(n_segments)
        body_size = sum(lacing)
        body = handle.read(body_size)
        if len(lacing) < n_segments or len(body) < body_size:
            raise DecodeError("truncated", f"{path} ends inside Ogg page {number} (byte {offset:,}): the file is cut")
        page = bytearray(header + lacing + body)
        page[22:26] = b"\0\0\0\0"
        if _ogg_crc(bytes(page)) != crc:
            raise DecodeError("decode_error", f"{path} is damaged: Ogg page {number} (byte {offset:,}) fails "
                                              "its CRC check")
        expected = sequence.get(serial, -1) + 1
        if serial in sequence and number != expected:
            raise DecodeError("decode_error", f"{path} is damaged: Ogg page {expected} is missing (page "
                                              f"{number} follows page {expected - 1})")
        sequence[serial] = number
        if number == 0 and body[:8] == b"OpusHead" and len(body) >= 12:
            pre_skip[serial] = struct.unpack("<H", body[10:12])[0]
        if granule > 0:
            last_granule[serial] = granule
            audio_pages += 1
        last_flags = flags
        offset += len(page)
    if not last_flags & 0x04:
        if audio_pages == 0:
            raise DecodeError("truncated", f"{path} ends inside its Ogg headers (no audio page): the file is cut")
        raise DecodeError("truncated", f"{path} has no end-of-stream page: the file is cut")
    return _Container("ogg")


def _inspect_flac(path: Path, handle, size: int) -> _Container:
    """STREAMINFO's total samples (checked against the decoded length) and where the frames start."""
    handle.seek(4)
    streaminfo = None
    while True:
        header = handle.read(4)
        if len(header) < 4:
            raise DecodeError("truncated", f"{path} ends inside its FLAC metadata")
        last, kind, length = header[0] >> 7, header[0] & 0x7F, int.from_bytes(header[1:4], "big")
        block = handle.read(length)
        if len(block) < length:
            raise DecodeError("truncated", f"{path} ends inside its FLAC metadata")
        if kind == 0 and length >= 18:
            max_block = struct.unpack(">H", block[2:4])[0]
            packed = int.from_bytes(block[10:18], "big")
            rate, total = packed >> 44, packed & ((1 << 36) - 1)
            streaminfo = (max_block, rate, total)
        if last:
            break
    if streaminfo is None:
        return _Container("flac")
    return _Container("flac", declared_frames=streaminfo[2], flac_streaminfo=streaminfo,
                      flac_first_frame=handle.tell())


def _inspect_mp4(path: Path, handle, size: int) -> _Container:
    """Every top-level box must end inside the file (a cut M4A ends inside ``mdat`` or ``moov``)."""
    offset = 0
    while offset < size:
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            raise DecodeError("truncated", f"{path} ends inside an MP4 box header at byte {offset:,}")
        box_size, box_type = struct.unpack(">I", header[:4])[0], header[4:8].decode("latin-1")
        if box_size == 1:
            if len(header) < 16:
                raise DecodeError("truncated", f"{path} ends inside an MP4 box header at byte {offset:,}")
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:
            break  # extends to the end of the file
        if box_size < 8:
            raise DecodeError("decode_error", f"{path} is damaged: MP4 box {box_type!r} at byte {offset:,} "
                                              f"has size {box_size}")
        if offset + box_size > size:
            raise DecodeError("truncated", f"{path} ends inside its {box_type!r} box ({size - offset:,} of "
                                           f"{box_size:,} bytes present): the file is cut")
        offset += box_size
    return _Container("mp4")


def _inspect_mp3(path: Path, handle, head: bytes, size: int) -> _Container:
    """The Xing/Info header's byte count (LAME and ffmpeg write one) against the bytes present.

    Without such a header (plain CBR), the declared length is ffprobe's estimate from the file size,
    so an MP3 cut at a frame boundary cannot be told from a shorter one: that is documented, not caught.
    """
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        start = 10 + sum((head[6 + i] & 0x7F) << (7 * (3 - i)) for i in range(4))
    handle.seek(start)
    frame = handle.read(4 + 32 + 16)
    if len(frame) < 4 + 9 + 12 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0:
        return _Container("mp3")
    mpeg1, mono = (frame[1] >> 3) & 3 == 3, (frame[3] >> 6) == 3
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    tag = frame[4 + side : 4 + side + 12]
    if tag[:4] not in (b"Xing", b"Info"):
        return _Container("mp3")
    flags = struct.unpack(">I", tag[4:8])[0]
    if flags & 0x2:  # the bytes field follows the frames field when both are present
        field = tag[8:12] if not flags & 0x1 else frame[4 + side + 12 : 4 + side + 16]
        if len(field) == 4:
            declared_bytes = struct.unpack(">I", field)[0]
            present = size - start
            if declared_bytes > present:
                raise DecodeError("truncated", f"{path}: its Xing header declares {declared_bytes:,} bytes of "
                                               f"MP3 frames but only {present:,} are present (the file is cut)")
    return _Container("mp3")


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _flac_frame_end(data: bytes, at: int, max_block: int) -> int | None:
    """The sample just after the FLAC frame whose header starts at ``data[at]``, or None if no header."""
    if at + 6 > len(data) or data[at] != 0xFF or data[at + 1] not in (0xF8, 0xF9):
        return None
    variable = data[at + 1] & 1
    block_code, rate_code = data[at + 2] >> 4, data[at + 2] & 0x0F
    channel_code, size_code, reserved = data[at + 3] >> 4, (data[at + 3] >> 1) & 7, data[at + 3] & 1
    if block_code == 0 or rate_code == 15 or channel_code > 10 or size_code in (3, 7) or reserved:
        return None
    pos = at + 4
    first = data[pos]
    length = next((n for n, mask in enumerate((0x80, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE, 0xFF)) if
                   first & mask == (0, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC, 0xFE)[n]), None)
    if length is None or pos + length + 1 > len(data):
        return None
    number = first & (0x7F >> length) if length else first
    for byte in data[pos + 1 : pos + length + 1]:
        if byte & 0xC0 != 0x80:
            return None
        number = (number << 6) | (byte & 0x3F)
    pos += length + 1
    if block_code == 1:
        block = 192
    elif block_code <= 5:
        block = 576 << (block_code - 2)
    elif block_code in (6, 7):
        extra = 1 if block_code == 6 else 2
        if pos + extra > len(data):
            return None
        block = int.from_bytes(data[pos : pos + extra], "big") + 1
        pos += extra
    else:
        block = 256 << (block_code - 8)
    pos += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if pos >= len(data) or _crc8(data[at:pos]) != data[pos]:
        return None
    start = number if variable else number * max_block
    return start + block


def _flac_is_cut(path: Path, container: _Container, declared: int | None) -> bool:
    """True when the last frame in the file ends before STREAMINFO's total: the file was cut."""
    if container.flac_streaminfo is None or not declared:
        return False
    max_block = container.flac_streaminfo[0]
    size = path.stat().st_size
    tail_start = max(container.flac_first_frame, size - max(1 << 16, 16 * max_block))
    with open(path, "rb") as handle:
        handle.seek(tail_start)
        tail = handle.read()
    at = tail.rfind(b"\xff")
    while at >= 0:
        end = _flac_frame_end(tail, at, max_block)
        if end is not None and 0 < end <= declared:
            return end < declared
        at = tail.rfind(b"\xff", 0, at)
    return False
