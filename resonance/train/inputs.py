"""Model inputs from media files: decoding, preprocessing and a content-hash cache, so that no epoch
decodes a file twice.

What an item's ``input`` is (see :mod:`resonance.train.data`):

* image: RGB float32 (3, S, S) in [0, 1] -- the decoded painting (:func:`resonance.io.image.load_image`,
  EXIF-oriented), its shorter side resized to S with Pillow's antialiased bicubic filter and the
  longer side centre-cropped (the aspect ratio is kept, no colour is touched). Train-time
  augmentation (random resized crop, horizontal flip, small rotation; never hue, saturation or
  brightness, because colour carries the emotion) is done by the image towers on the batch
  (:class:`resonance.models.towers.ImageAugment`), so the cached tensor is the un-augmented one;
* image, frozen EfficientNet-Lite0: its pooled (1280,) backbone features, computed once with
  :meth:`~resonance.models.towers.EfficientNetTower.embed_backbone` and cached (the tower skips the
  backbone when it receives them; no augmentation can apply to features);
* audio: log-mel power in dB, (1, M, T), from :func:`librosa.feature.melspectrogram` of the clip decoded
  at the manifest's sample rate (:func:`resonance.io.audio.load_audio`), ``power_to_db`` with
  ``ref=1.0`` (absolute level kept: loudness is an arousal cue) and a floor at -100 dB. A clip no
  longer than ``long_clip_s`` is one window of ``window_s`` seconds (zero-padded at the end, or its
  centre cropped); a longer clip (EMOPIA, ~40 s) is cut into windows of ``window_s`` every
  ``window_hop_s`` seconds, the last one aligned with the end of the clip: (W, 1, M, T).

Cache
-----
:class:`InputCache` stores every preprocessed array as ``.npy`` under ``ROOT/<kind>/<aa>/<key>.npy``,
``key = sha256(file sha256 + kind + the preprocessing parameters)``: the same bytes preprocessed the
same way are decoded once, whatever their path; changing a parameter (image size, n_mels, window ...)
changes the key. Files are written atomically (:func:`resonance.io.atomic.atomic_path`), so a killed
run leaves whole entries or none; an unreadable entry is recomputed and replaced. Images are cached
as uint8 (exactly what was decoded, a quarter of the float size), log-mels and features as float32
(so a cached input is bit-identical to a fresh one, whoever wrote the entry).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from resonance.errors import ParameterError
from resonance.io.atomic import atomic_path
from resonance.io.audio import load_audio
from resonance.io.image import load_image
from resonance.paths import CACHE_ENV

#: Format of the cached arrays; part of every key (changing the code that makes them bumps it).
CACHE_FORMAT = 1
#: Floor of the log-mel spectrograms, dB re 1.0 (``power_to_db(amin=1e-10)``).
DB_FLOOR = -100.0


@dataclass(frozen=True)
class ImageParams:
    """How an image becomes a (3, S, S) tensor."""

    size: int = 224

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 8 <= self.size <= 1024:
            raise ParameterError(f"image size must be an integer in [8, 1024] pixels, got {self.size!r}")


@dataclass(frozen=True)
class AudioParams:
    """How a clip becomes log-mel windows (see the module docstring)."""

    sample_rate: int = 16_000
    n_mels: int = 64
    n_fft: int = 1024
    hop_length: int = 256
    window_s: float = 4.0
    window_hop_s: float = 2.0
    long_clip_s: float = 10.0

    def __post_init__(self) -> None:
        if not 16 <= self.n_mels <= 256:
            raise ParameterError(f"n_mels must be in [16, 256] (the audio CNN needs >= 16), got {self.n_mels}")
        if not 64 <= self.n_fft <= 16384:
            raise ParameterError(f"n_fft must be in [64, 16384] samples, got {self.n_fft}")
        if not 1 <= self.hop_length <= self.n_fft:
            raise ParameterError(f"hop_length must be in [1, n_fft={self.n_fft}], got {self.hop_length}")
        if not 0.25 <= self.window_s <= 60:
            raise ParameterError(f"window_s must be in [0.25, 60] seconds, got {self.window_s}")
        if not 0 < self.window_hop_s <= self.window_s:
            raise ParameterError(f"window_hop_s must be in (0, window_s={self.window_s}], got {self.window_hop_s}")
        if self.long_clip_s < self.window_s:
            raise ParameterError(f"long_clip_s must be >= window_s ({self.window_s}), got {self.long_clip_s}")

    @property
    def frames(self) -> int:
        """Frames T of one window."""
        return int(round(self.window_s * self.sample_rate / self.hop_length))


def params_hash(kind: str, params: Any) -> str:
    """A short stable hash of a preprocessing kind and its parameters (a dataclass or a mapping)."""
    values = asdict(params) if hasattr(params, "__dataclass_fields__") else dict(params)
    text = json.dumps({"format": CACHE_FORMAT, "kind": kind, **values}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_cache_dir(out: str | os.PathLike[str] | None = None) -> Path:
    """``$RESONANCE_CACHE/inputs`` when set, else ``OUT/.cache/inputs`` (``out`` default: the current folder)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser() / "inputs"
    return Path(out if out is not None else ".") / ".cache" / "inputs"


class InputCache:
    """Preprocessed arrays on disk, keyed by content hash and parameters (see the module docstring).

    ``hits`` and ``misses`` count lookups in this process (a miss computes and stores).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, sha256: str, phash: str) -> Path:
        key = hashlib.sha256(f"{sha256}:{kind}:{phash}".encode()).hexdigest()
        return self.root / kind / key[:2] / f"{key}.npy"

    def load(self, kind: str, sha256: str, phash: str) -> np.ndarray | None:
        path = self.path(kind, sha256, phash)
        try:
            with open(path, "rb") as handle:
                return np.load(handle, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None  # absent, or damaged by something outside our atomic writes: recompute

    def store(self, kind: str, sha256: str, phash: str, array: np.ndarray) -> None:
        path = self.path(kind, sha256, phash)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
        with atomic_path(path) as tmp:
            tmp.write_bytes(buffer.getvalue())

    def get(self, kind: str, sha256: str, phash: str, compute) -> np.ndarray:
        """The cached array, or ``compute()`` stored then returned."""
        if sha256:
            cached = self.load(kind, sha256, phash)
            if cached is not None:
                self.hits += 1
                return cached
        self.misses += 1
        array = compute()
        if sha256:
            self.store(kind, sha256, phash, array)
        return array


def image_array(path: str | os.PathLike[str], params: ImageParams) -> np.ndarray:
    """Decode and resize one image: uint8 (3, S, S) (shorter side to S, centre crop)."""
    from PIL import Image

    rgb, _ = load_image(path, limits=None)
    s = params.size
    h, w = rgb.shape[:2]
    scale = s / min(h, w)
    nh, nw = max(s, int(round(h * scale))), max(s, int(round(w * scale)))
    img = Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    top, left = (nh - s) // 2, (nw - s) // 2
    out = np.asarray(img.crop((left, top, left + s, top + s)), dtype=np.uint8)
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def logmel_windows(y: np.ndarray, params: AudioParams) -> np.ndarray:
    """Log-mel dB windows (W, 1, M, T) float32 of a mono signal at ``params.sample_rate``."""
    import librosa

    sr = params.sample_rate
    win = int(round(params.window_s * sr))
    if len(y) <= params.long_clip_s * sr:
        if len(y) > win:  # one window: the clip's centre
            start = (len(y) - win) // 2
            y = y[start:start + win]
        starts_s = [0]
    else:
        hop = int(round(params.window_hop_s * sr))
        starts_s = list(range(0, len(y) - win + 1, hop))
        if starts_s[-1] + win < len(y):
            starts_s.append(len(y) - win)
    mel = librosa.feature.melspectrogram(y=np.asarray(y, dtype=np.float32), sr=sr, n_fft=params.n_fft,
                                         hop_length=params.hop_length, n_mels=params.n_mels, power=2.0)
    db = np.maximum(librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None), DB_FLOOR).astype(np.float32)
    t = params.frames
    out = np.full((len(starts_s), 1, params.n_mels, t), DB_FLOOR, dtype=np.float32)
    for i, start in enumerate(starts_s):
        f0 = int(round(start / params.hop_length))
        chunk = db[:, f0:f0 + t]
        out[i, 0, :, : chunk.shape[1]] = chunk
    return out


def audio_array(path: str | os.PathLike[str], params: AudioParams) -> np.ndarray:
    """Decode one clip at ``params.sample_rate`` and make its log-mel windows (W, 1, M, T)."""
    y, _ = load_audio(path, sr=params.sample_rate, allow_silent=True, limits=None)
    return logmel_windows(y, params)
