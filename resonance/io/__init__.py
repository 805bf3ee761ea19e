"""Robust decoding of audio and images, and atomic writes. No torch here."""

from resonance.io.atomic import atomic_path, sha256_bytes, sha256_file, write_bytes_atomic, write_text_atomic
from resonance.io.audio import PROJECT_SR, AudioInfo, load_audio
from resonance.io.image import MAX_PIXELS, ImageInfo, load_image

__all__ = [
    "MAX_PIXELS",
    "PROJECT_SR",
    "AudioInfo",
    "ImageInfo",
    "atomic_path",
    "load_audio",
    "load_image",
    "sha256_bytes",
    "sha256_file",
    "write_bytes_atomic",
    "write_text_atomic",
]
