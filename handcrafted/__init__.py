"""Handcrafted descriptors of paintings and sounds, with one registry of names, units and references.

Public API:

- :data:`REGISTRY`, :class:`Descriptor`, :class:`Registry` -- what can be measured (attribution and
  studies select descriptors only through the registry); users register their own extractors.
- :data:`DESCRIPTOR_SET` -- the built-in descriptors as one named, versioned set
  (``resonance-hc/1.0``), recorded in every features table.
- :func:`describe_image` -- colour, texture and composition of one RGB image.
- :func:`describe_audio` -- energy, spectrum, rhythm, pitch/voice and harmony of one mono clip.
- :func:`extract_features` -- every descriptor of every item of a prepared dataset, into Parquet.

Layout: :mod:`handcrafted.registry` (what a descriptor is) and :mod:`handcrafted.compute` at the
bottom; the sub-packages :mod:`handcrafted.audio` and :mod:`handcrafted.image` (a shared context,
one module per family, an ``__init__`` that assembles them); :mod:`handcrafted.builtin`, which
registers the built-in families in :data:`REGISTRY`; :mod:`handcrafted.extract` on top. Importing
this package registers the built-in descriptors; it never imports torch.
"""

from handcrafted.audio import describe_audio
from handcrafted.builtin import DESCRIPTOR_SET
from handcrafted.extract import ExtractConfig, ExtractResult, extract_features, read_features
from handcrafted.image import describe_image
from handcrafted.registry import AUDIO_GROUPS, IMAGE_GROUPS, REGISTRY, Descriptor, DescriptorSet, Registry

__all__ = [
    "AUDIO_GROUPS",
    "DESCRIPTOR_SET",
    "IMAGE_GROUPS",
    "REGISTRY",
    "Descriptor",
    "DescriptorSet",
    "ExtractConfig",
    "ExtractResult",
    "Registry",
    "describe_audio",
    "describe_image",
    "extract_features",
    "read_features",
]
