"""The built-in descriptors: registered in the default registry, and named as one versioned set.

Importing this module (which :mod:`handcrafted` does) calls :func:`handcrafted.audio.register` and
:func:`handcrafted.image.register` on :data:`handcrafted.registry.REGISTRY`, marks the descriptors
that lossy audio coding distorts, and freezes :data:`DESCRIPTOR_SET`, the name and version every
features table records.
"""

from __future__ import annotations

from importlib.resources import files

from handcrafted import audio, image
from handcrafted.registry import REGISTRY, DescriptorSet

__all__ = ["DESCRIPTOR_SET", "DESCRIPTOR_SET_NAME", "DESCRIPTOR_SET_VERSION"]

#: Name of the built-in set (as openSMILE names ``eGeMAPSv02``).
DESCRIPTOR_SET_NAME = "resonance-hc"
#: Its version: bump it whenever a built-in descriptor is added, removed or renamed, or a definition
#: changes its values on purpose (``tests/test_known_answers.py`` pins the names of each version).
DESCRIPTOR_SET_VERSION = "1.0"


def _codec_sensitive_names() -> list[str]:
    """Descriptors that Opus coding distorts, as measured by ``benchmarks/codec_robustness.py``
    (FLAC vs Opus on 120 RAVDESS recordings; flagged when Spearman or ICC(A,1) < 0.9)."""
    text = files("handcrafted").joinpath("codec_sensitive.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


audio.register(REGISTRY)
image.register(REGISTRY)
REGISTRY.flag_codec_sensitive(_codec_sensitive_names())

#: The built-in descriptors per modality, in column order, under one name and version.
DESCRIPTOR_SET = DescriptorSet.from_registry(DESCRIPTOR_SET_NAME, DESCRIPTOR_SET_VERSION, REGISTRY)
