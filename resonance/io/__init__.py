"""Robust decoding of audio and images, one set of media limits, and atomic writes. No torch here."""

from resonance.io.atomic import atomic_path, sha256_bytes, sha256_file, write_bytes_atomic, write_text_atomic
from resonance.io.audio import PROJECT_SR, AudioInfo, load_audio, probe_audio
from resonance.io.image import MAX_PIXELS, ImageInfo, load_image
from resonance.io.limits import DEFAULT_LIMITS, MediaLimits

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_PIXELS",
    "PROJECT_SR",
    "AudioInfo",
    "ImageInfo",
    "MediaLimits",
    "atomic_path",
    "load_audio",
    "load_image",
    "probe_audio",
    "sha256_bytes",
    "sha256_file",
    "write_bytes_atomic",
    "write_text_atomic",
]
