"""Render MIDI to audio with a real General-MIDI synthesiser (FluidSynth), with a content-keyed cache.

Symbolic corpora such as EMOPIA (Hung et al., ISMIR 2021) ship piano performances as MIDI only. To
put them in the same audio space as the speech corpora, every clip is synthesised once with
FluidSynth and the *FluidR3_GM* SoundFont (program 0, Acoustic Grand Piano, which is what EMOPIA's
transcriptions use) and stored as 16 kHz mono FLAC.

Rendering choices (all part of the cache key, so changing any of them re-renders):

* **Synthesis rate 44.1 kHz, then soxr "HQ" resampling to 16 kHz.** FluidSynth pitch-shifts its
  44.1 kHz piano samples by 4-point interpolation without an anti-aliasing filter; synthesising
  directly at 16 kHz folds the piano's 8-20 kHz content back into the band (measured: about +0.8 dB
  in 4-7 kHz on a real clip). Synthesising at 44.1 kHz costs about 1.7x the time and avoids it.
* **Reverb and chorus off** (``-R 0 -C 0``). The emotion should come from the notes, velocities and
  pedalling in the MIDI, not from a room the synthesiser adds; dry output is also bit-for-bit
  reproducible across runs (checked).
* **Fixed master gain, no normalisation.** Loudness (MIDI velocity) is an arousal cue, so clips are
  not normalised against each other. The default gain of 0.5 (FluidSynth's own default is 0.2, which
  leaves most piano clips near -27 dBFS) keeps every EMOPIA clip well below full scale (measured over
  all 1,078 clips: peak median 0.11, maximum 0.42); a render that would clip is refused
  (``DecodeError("clipped")``), never silently limited.
* **Float rendering, stereo averaged to mono**, then written as FLAC PCM_16.
* **Tail.** FluidSynth's fast renderer appends about 2.4 s after the last MIDI event, by which point
  the piano release has decayed below -60 dBFS; the output is cut at ``midi length + tail_s``
  (default 1 s) so that durations follow the MIDI.

Cost: about 0.45 s of one core per 40 s clip (FluidSynth at 44.1 kHz dominates); all 1,078 EMOPIA
clips (12.3 h of audio, 657 MB of FLAC) took 11.7 min with ``render_many(workers=2)`` on a busy
2-core machine, and 0.3 s when every render was already cached.

References
----------
.. [1] H.-T. Hung, J. Ching, S. Doh, N. Kim, J. Nam, Y.-H. Yang. "EMOPIA: A Multi-Modal Pop Piano
   Dataset For Emotion Recognition and Emotion-based Music Generation." ISMIR 2021.
.. [2] FluidSynth, https://www.fluidsynth.org ; FluidR3_GM SoundFont by Frank Wen (MIT licence).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from resonance.errors import DecodeError, ParameterError, ResonanceError
from resonance.io.atomic import atomic_path
from resonance.io.audio import PROJECT_SR, SILENCE_PEAK

#: Environment variable naming a SoundFont (.sf2/.sf3) to use instead of the Debian default.
SOUNDFONT_ENV = "RESONANCE_SOUNDFONT"

#: Where Debian/Ubuntu's ``fluid-soundfont-gm`` puts its SoundFont, tried in this order.
DEFAULT_SOUNDFONTS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/default.sf2"),
)

#: Default master gain (FluidSynth's ``-g``); see the module docstring for why 0.5.
DEFAULT_GAIN = 0.5

#: Rate FluidSynth synthesises at before resampling to the project rate.
DEFAULT_SYNTH_RATE = 44_100

#: Seconds kept after the MIDI's last event (release of the final notes).
DEFAULT_TAIL_S = 1.0

#: MIDI files claiming to last longer than this are treated as corrupt (mido reports ~1e43 s for
#: some corrupted delta times).
MAX_MIDI_SECONDS = 3_600.0

#: Bumped whenever the rendering code changes in a way that changes the output bytes.
RENDER_VERSION = 1

_INSTALL_HINT = "install it with `apt-get install fluidsynth fluid-soundfont-gm`"
_SF_ID_BYTES = 1 << 20


@dataclass(frozen=True)
class RenderInfo:
    """What one render produced.

    ``duration_s`` is the written audio's length; ``midi_length_s`` the MIDI's own length (mido);
    ``peak`` the written signal's absolute peak (linear, full scale = 1); ``seconds`` the wall time.
    """

    midi_path: str
    out_path: str
    sample_rate: int
    duration_s: float
    midi_length_s: float
    n_notes: int
    peak: float
    soundfont: str
    fluidsynth_version: str
    seconds: float


@dataclass(frozen=True)
class MidiSummary:
    """The facts about a MIDI file that validation establishes (see :func:`inspect_midi`)."""

    type: int
    n_tracks: int
    ticks_per_beat: int
    length_s: float
    n_notes: int


# --------------------------------------------------------------------------------------- lookup


def find_fluidsynth() -> str:
    """Path of the ``fluidsynth`` executable.

    Raises
    ------
    ResonanceError
        When it is not on ``PATH``, with the install command.
    """
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ResonanceError(f"the `fluidsynth` program is not on PATH; {_INSTALL_HINT}")
    return exe


def find_soundfont(soundfont: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the SoundFont: the argument, else ``$RESONANCE_SOUNDFONT``, else the Debian paths.

    An explicit argument or environment value that does not exist is an error (never a silent
    fallback to another SoundFont, which would change every render).

    Raises
    ------
    ResonanceError
        When no SoundFont file is found, with the install command.
    """
    if soundfont is not None or os.environ.get(SOUNDFONT_ENV):
        origin = "soundfont argument" if soundfont is not None else f"${SOUNDFONT_ENV}"
        path = Path(soundfont if soundfont is not None else os.environ[SOUNDFONT_ENV]).expanduser()
        if not path.is_file():
            raise ResonanceError(f"SoundFont {path} (from the {origin}) does not exist; pass an existing "
                                 f".sf2 file or {_INSTALL_HINT}")
        return path.resolve()
    for candidate in DEFAULT_SOUNDFONTS:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(str(p) for p in DEFAULT_SOUNDFONTS)
    raise ResonanceError(f"no General-MIDI SoundFont found (tried {tried}); {_INSTALL_HINT}, or set "
                         f"${SOUNDFONT_ENV} to an .sf2 file")


@functools.lru_cache(maxsize=8)
def fluidsynth_version(exe: str | None = None) -> str:
    """The version string FluidSynth reports (e.g. ``'2.3.1'``); part of every cache key."""
    exe = exe or find_fluidsynth()
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if "runtime version" in line:
            return line.rsplit(" ", 1)[-1].strip()
    return proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else "unknown"


@functools.lru_cache(maxsize=8)
def _soundfont_identity_cached(path: str, size: int, mtime_ns: int) -> str:
    # Hashing 148 MB per clip would dominate; name + size + first MiB identifies a SoundFont build.
    with open(path, "rb") as handle:
        head = hashlib.sha256(handle.read(_SF_ID_BYTES)).hexdigest()
    return f"{Path(path).name}:{size}:{head}"


def soundfont_identity(soundfont: str | os.PathLike[str]) -> str:
    """``'<file name>:<size>:<sha256 of the first MiB>'`` of a SoundFont."""
    path = Path(soundfont).resolve()
    stat = path.stat()
    return _soundfont_identity_cached(str(path), stat.st_size, stat.st_mtime_ns)


# ----------------------------------------------------------------------------------- validation


def inspect_midi(midi_path: str | os.PathLike[str], *, max_seconds: float = MAX_MIDI_SECONDS) -> MidiSummary:
    """Parse a MIDI file with mido and check that it holds something to play.

    Raises
    ------
    DecodeError
        ``file_not_found``, ``empty_file``, ``decode_error`` (not MIDI, truncated, corrupt timing,
        type 2) or ``empty_midi`` (parses but has no sounding note, or zero length).
    """
    import mido  # deferred: only MIDI users pay for it

    path = Path(midi_path)
    if not path.is_file():
        raise DecodeError("file_not_found", str(path))
    if path.stat().st_size == 0:
        raise DecodeError("empty_file", f"{path} has 0 bytes")
    try:
        midi = mido.MidiFile(path)
        length = float(midi.length)  # type 2 (asynchronous tracks) raises ValueError here
    except EOFError:
        raise DecodeError("decode_error", f"{path} is truncated (unexpected end of file)") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise DecodeError("decode_error", f"{path} is not a readable MIDI file ({exc})") from None
    if not np.isfinite(length) or length > max_seconds:
        raise DecodeError("decode_error", f"{path} claims a length of {length:.3g} s (corrupt delta times?)")
    n_notes = sum(1 for track in midi.tracks for msg in track if msg.type == "note_on" and msg.velocity > 0)
    if n_notes == 0 or length <= 0.0:
        raise DecodeError("empty_midi", f"{path} has {n_notes} sounding notes and lasts {length:.3f} s")
    return MidiSummary(midi.type, len(midi.tracks), midi.ticks_per_beat, length, n_notes)


def _check_settings(sample_rate: int, synth_rate: int, gain: float, tail_s: float) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
        raise ParameterError(f"sample_rate must be an integer >= 1000 Hz, got {sample_rate!r}")
    if not isinstance(synth_rate, (int, np.integer)) or not 8000 <= synth_rate <= 96000:
        raise ParameterError(f"synth_rate must be an integer in [8000, 96000] Hz (FluidSynth's range), "
                             f"got {synth_rate!r}")
    if not 0.0 < float(gain) < 10.0:
        raise ParameterError(f"gain must be in (0, 10) (FluidSynth's range), got {gain!r}")
    if not 0.0 <= float(tail_s) <= 60.0:
        raise ParameterError(f"tail_s must be in [0, 60] seconds, got {tail_s!r}")


# ------------------------------------------------------------------------------------- rendering


def render_midi(
    midi_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    sample_rate: int = PROJECT_SR,
    soundfont: str | os.PathLike[str] | None = None,
    gain: float = DEFAULT_GAIN,
    synth_rate: int = DEFAULT_SYNTH_RATE,
    reverb: bool = False,
    chorus: bool = False,
    tail_s: float = DEFAULT_TAIL_S,
) -> RenderInfo:
    """Synthesise ``midi_path`` with FluidSynth and write a mono FLAC to ``out_path`` atomically.

    Parameters
    ----------
    midi_path : path-like
        A Standard MIDI File (type 0 or 1). Validated with mido before FluidSynth runs.
    out_path : path-like
        Destination FLAC (PCM_16, mono). Replaced in one rename; never left half-written.
    sample_rate : int, keyword-only
        Output rate in Hz (default :data:`~resonance.io.audio.PROJECT_SR`, 16 kHz).
    soundfont : path-like or None, keyword-only
        SoundFont to use; ``None`` means ``$RESONANCE_SOUNDFONT`` or the Debian FluidR3_GM.
    gain : float, keyword-only
        FluidSynth master gain in (0, 10); default :data:`DEFAULT_GAIN`.
    synth_rate : int, keyword-only
        Rate FluidSynth synthesises at (Hz) before soxr-HQ resampling to ``sample_rate``.
    reverb, chorus : bool, keyword-only
        FluidSynth's effects (default off: dry and reproducible).
    tail_s : float, keyword-only
        Seconds kept after the MIDI's length (mido) for the release of the final notes.

    Returns
    -------
    RenderInfo

    Raises
    ------
    ResonanceError
        FluidSynth or the SoundFont is missing (with the install command).
    ParameterError
        A setting is out of range.
    DecodeError
        ``reason`` is one of ``file_not_found``, ``empty_file``, ``decode_error``, ``empty_midi``
        (from :func:`inspect_midi`), ``render_error`` (FluidSynth failed), ``silent`` (the render
        peaks below -80 dBFS) or ``clipped`` (the render exceeds full scale at this ``gain``).
    """
    _check_settings(sample_rate, synth_rate, gain, tail_s)
    exe = find_fluidsynth()
    sf2 = find_soundfont(soundfont)
    midi_path = Path(midi_path)
    summary = inspect_midi(midi_path)
    start = time.perf_counter()
    y = _synthesise(exe, sf2, midi_path, synth_rate=synth_rate, gain=gain, reverb=reverb, chorus=chorus)
    # Cut FluidSynth's fixed trailing padding at the MIDI length plus the release tail.
    y = y[: int(round((summary.length_s + tail_s) * synth_rate))]
    if synth_rate != sample_rate:
        import soxr  # deferred; the resampler librosa's "soxr_hq" uses

        y = soxr.resample(y, synth_rate, sample_rate, quality="HQ").astype(np.float32, copy=False)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak < SILENCE_PEAK:
        raise DecodeError("silent", f"{midi_path} renders to silence (peak {peak:.2g}) with {sf2.name}")
    if peak > 1.0:
        raise DecodeError("clipped", f"{midi_path} renders to peak {peak:.3f} > 1 at gain {gain}; lower gain")
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        sf.write(tmp, y, sample_rate, format="FLAC", subtype="PCM_16")
    return RenderInfo(
        midi_path=str(midi_path), out_path=str(out_path), sample_rate=int(sample_rate),
        duration_s=y.size / float(sample_rate), midi_length_s=summary.length_s, n_notes=summary.n_notes,
        peak=peak, soundfont=str(sf2), fluidsynth_version=fluidsynth_version(exe),
        seconds=time.perf_counter() - start,
    )


def _synthesise(exe: str, sf2: Path, midi_path: Path, *, synth_rate: int, gain: float,
                reverb: bool, chorus: bool) -> np.ndarray:
    """Run FluidSynth's fast (non-realtime) file renderer; return the mono float32 signal."""
    with tempfile.TemporaryDirectory(prefix="resonance-fluid-") as tmp:
        wav = Path(tmp) / "render.wav"
        # -n/-i: no MIDI driver, no shell; -F: fast render to a file (no audio driver is opened);
        # float WAV so that nothing is clipped or quantised before we look at the peak.
        cmd = [exe, "-n", "-i", "-q", "-R", "1" if reverb else "0", "-C", "1" if chorus else "0",
               "-r", str(int(synth_rate)), "-g", repr(float(gain)),
               "-F", str(wav), "-T", "wav", "-O", "float", str(sf2), str(midi_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not wav.is_file() or wav.stat().st_size == 0:
            message = (proc.stderr or proc.stdout).strip().splitlines()
            raise DecodeError("render_error", f"fluidsynth failed on {midi_path} (exit {proc.returncode}): "
                                              f"{message[-1] if message else 'no output'}")
        try:
            data, _ = sf.read(wav, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise DecodeError("render_error", f"fluidsynth wrote an unreadable file for {midi_path}: {exc}") from None
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)


# ----------------------------------------------------------------------------------------- cache


def _settings(sample_rate: int = PROJECT_SR, soundfont: str | os.PathLike[str] | None = None,
              gain: float = DEFAULT_GAIN, synth_rate: int = DEFAULT_SYNTH_RATE, reverb: bool = False,
              chorus: bool = False, tail_s: float = DEFAULT_TAIL_S) -> dict[str, Any]:
    """All render settings with defaults filled in (unknown names raise TypeError, as they should)."""
    return {"sample_rate": sample_rate, "soundfont": soundfont, "gain": gain, "synth_rate": synth_rate,
            "reverb": reverb, "chorus": chorus, "tail_s": tail_s}


def render_cache_key(midi_path: str | os.PathLike[str], settings: Mapping[str, Any] | None = None) -> str:
    """Hex SHA-256 naming the render of ``midi_path`` under ``settings``.

    The key covers the MIDI bytes, the SoundFont's identity (:func:`soundfont_identity`), the
    FluidSynth version, :data:`RENDER_VERSION` and every render setting (defaults filled in), so a
    cached file is reused exactly when nothing that shapes its bytes has changed. The MIDI's path
    is *not* part of it: the same file under another name shares its render.

    Parameters
    ----------
    midi_path : path-like
    settings : mapping, optional
        Keyword arguments of :func:`render_midi` (``sample_rate``, ``soundfont``, ``gain``,
        ``synth_rate``, ``reverb``, ``chorus``, ``tail_s``).

    Raises
    ------
    DecodeError
        ``file_not_found`` when the MIDI file does not exist.
    ResonanceError
        FluidSynth or the SoundFont is missing.
    """
    full = _settings(**dict(settings or {}))
    path = Path(midi_path)
    if not path.is_file():
        raise DecodeError("file_not_found", str(path))
    sf2 = find_soundfont(full.pop("soundfont"))
    payload = {
        "render_version": RENDER_VERSION,
        "fluidsynth": fluidsynth_version(find_fluidsynth()),
        "soundfont": soundfont_identity(sf2),
        "settings": {k: (float(v) if isinstance(v, float) else v) for k, v in sorted(full.items())},
    }
    digest = hashlib.sha256(path.read_bytes())
    digest.update(json.dumps(payload, sort_keys=True).encode())
    return digest.hexdigest()


def render_cached(midi_path: str | os.PathLike[str], cache_dir: str | os.PathLike[str], **settings: Any) -> Path:
    """Path of ``<cache_dir>/<render_cache_key>.flac``, rendering it only when it is absent.

    ``settings`` are :func:`render_midi`'s keyword arguments. Concurrent callers may both render the
    same key; the atomic rename makes the last one win with identical bytes.

    Raises
    ------
    DecodeError, ResonanceError, ParameterError
        As :func:`render_midi`; failures are not cached, so they are retried on the next call.
    """
    key = render_cache_key(midi_path, settings)
    target = Path(cache_dir) / f"{key}.flac"
    if not target.is_file():
        render_midi(midi_path, target, **settings)
    return target


def render_many(
    paths: Iterable[str | os.PathLike[str]],
    cache_dir: str | os.PathLike[str],
    *,
    workers: int = 2,
    progress: bool = True,
    **settings: Any,
) -> list[Path | DecodeError]:
    """:func:`render_cached` over many MIDI files in ``workers`` processes, with a progress bar.

    Runs through :func:`resonance.parallel.map_chunks`, one clip per task: a worker process that
    dies (a crash in the resampler or the FLAC encoder) costs only its clip, which is retried once
    in a fresh process and then returned as a ``worker_crashed`` :class:`DecodeError`.

    Returns
    -------
    list
        In input order, the cached FLAC path of each file, or the :class:`DecodeError` that file
        raised (one bad MIDI does not stop the batch).

    Raises
    ------
    ResonanceError
        Before any work, when FluidSynth or the SoundFont is missing.
    ParameterError
        Before any work, when ``workers`` or a setting is invalid.
    """
    from resonance.parallel import map_chunks

    if not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ParameterError(f"workers must be a positive integer, got {workers!r}")
    full = _settings(**settings)
    _check_settings(full["sample_rate"], full["synth_rate"], full["gain"], full["tail_s"])
    find_fluidsynth()
    find_soundfont(full["soundfont"])
    paths = [Path(p) for p in paths]
    task = functools.partial(_render_chunk, cache_dir=cache_dir, settings=settings)
    results: list[Path | DecodeError | None] = [None] * len(paths)
    for index, (outcome,) in map_chunks(task, [[path] for path in paths], workers=int(workers), progress=progress,
                                        description="render MIDI", unit="clip", on_crash=_crashed_render):
        results[index] = DecodeError(*outcome) if isinstance(outcome, tuple) else outcome
    return results  # type: ignore[return-value]  # every slot is filled


def _render_chunk(chunk: list[Path], *, cache_dir: str | os.PathLike[str], settings: Mapping[str, Any]
                  ) -> list[Path | tuple[str, str]]:
    """Render each clip; a :class:`DecodeError` travels back as ``(reason, detail)`` (it does not pickle)."""
    outcomes: list[Path | tuple[str, str]] = []
    for path in chunk:
        try:
            outcomes.append(render_cached(path, cache_dir, **settings))
        except DecodeError as error:
            outcomes.append((error.reason, error.detail))
    return outcomes


def _crashed_render(chunk: list[Path], detail: str) -> list[tuple[str, str]]:
    return [("worker_crashed", f"{path}: {detail}") for path in chunk]


__all__ = [
    "DEFAULT_GAIN",
    "DEFAULT_SOUNDFONTS",
    "DEFAULT_SYNTH_RATE",
    "DEFAULT_TAIL_S",
    "SOUNDFONT_ENV",
    "MidiSummary",
    "RenderInfo",
    "find_fluidsynth",
    "find_soundfont",
    "fluidsynth_version",
    "inspect_midi",
    "render_cache_key",
    "render_cached",
    "render_many",
    "render_midi",
    "soundfont_identity",
]
