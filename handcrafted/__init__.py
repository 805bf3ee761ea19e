"""Handcrafted descriptors of paintings and sounds, with one registry of names, units and references.

Public API:

- :data:`REGISTRY`, :class:`Descriptor`, :class:`Registry` -- what can be measured (attribution and
  studies select descriptors only through the registry); users register their own extractors.
- :func:`describe_image` -- colour, texture and composition of one RGB image.
- :func:`describe_audio` -- energy, spectrum, rhythm, pitch/voice and harmony of one mono clip.
- :func:`extract_features` -- every descriptor of every item of a prepared dataset, into Parquet.

Importing this package registers the built-in descriptors (it imports :mod:`handcrafted.image` and
:mod:`handcrafted.audio`); it never imports torch.
"""

from handcrafted.audio import describe_audio  # noqa: E402  (registers the audio descriptors)
from handcrafted.extract import ExtractConfig, ExtractResult, extract_features, read_features  # noqa: E402
from handcrafted.image import describe_image  # noqa: E402  (registers the image descriptors)
from handcrafted.registry import AUDIO_GROUPS, IMAGE_GROUPS, REGISTRY, Descriptor, Registry


def _codec_sensitive_names() -> list[str]:
    """Descriptors that Opus coding distorts, as measured by ``benchmarks/codec_robustness.py``
    (FLAC vs Opus on 120 RAVDESS recordings; flagged when Spearman or ICC(A,1) < 0.9)."""
    from importlib.resources import files

    text = files("handcrafted").joinpath("codec_sensitive.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


REGISTRY.flag_codec_sensitive(_codec_sensitive_names())

__all__ = [
    "AUDIO_GROUPS",
    "IMAGE_GROUPS",
    "REGISTRY",
    "Descriptor",
    "ExtractConfig",
    "ExtractResult",
    "Registry",
    "describe_audio",
    "describe_image",
    "extract_features",
    "read_features",
]
