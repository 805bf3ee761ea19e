"""One registry of handcrafted descriptors: names, units, ranges, groups and references.

Attribution and studies list and select descriptors only through this registry. A descriptor is
computed by an *extractor*: one function per group that receives a shared context (one decoded image,
one STFT) and returns several descriptors at once, so no work is repeated across descriptors.

A user registers their own::

    from handcrafted import REGISTRY, Descriptor

    @REGISTRY.extractor("image", "colour", [Descriptor("redness", "Mean red", "0-1", (0, 1),
                                                       "image", "colour", "my paper")])
    def redness(ctx):
        return {"redness": float(ctx.rgb_float[..., 0].mean())}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from resonance.errors import ParameterError, UnknownNameError

Modality = Literal["image", "audio"]
MODALITIES: tuple[Modality, ...] = ("image", "audio")
IMAGE_GROUPS = ("colour", "texture", "composition")
AUDIO_GROUPS = ("energy", "spectrum", "rhythm", "pitch", "harmony")


@dataclass(frozen=True)
class Descriptor:
    """Metadata of one scalar descriptor.

    ``undefined`` says when the value is NaN on purpose (e.g. F0 of an unvoiced clip); a NaN in any
    other case is a bug. ``codec_sensitive`` flags descriptors that lossy coding distorts (measured
    in ``docs/codec_robustness.md``).
    """

    name: str
    label: str
    unit: str
    range: tuple[float, float]
    modality: Modality
    group: str
    reference: str
    description: str = ""
    undefined: str = ""
    codec_sensitive: bool = False


def descriptor_factory(modality: Modality, group: str) -> Callable[..., Descriptor]:
    """A maker of descriptors of one modality and group, so that a group's module lists only what
    differs: ``make(name, label, unit, (low, high), reference, description="", undefined="")``."""

    def make(name: str, label: str, unit: str, range_: tuple[float, float], reference: str,
             description: str = "", undefined: str = "") -> Descriptor:
        return Descriptor(name, label, unit, tuple(range_), modality, group, reference, description, undefined)

    return make


Extractor = Callable[[Any], Mapping[str, float]]


@dataclass(frozen=True)
class ExtractorSpec:
    modality: Modality
    group: str
    function: Extractor
    names: tuple[str, ...]


class Registry:
    """Descriptors and the extractors that compute them."""

    def __init__(self) -> None:
        self._descriptors: dict[str, Descriptor] = {}
        self._extractors: list[ExtractorSpec] = []

    def extractor(self, modality: Modality, group: str, descriptors: Sequence[Descriptor]
                  ) -> Callable[[Extractor], Extractor]:
        """Decorator registering ``function(context) -> {name: value}`` and its descriptors."""

        def register(function: Extractor) -> Extractor:
            for descriptor in descriptors:
                if descriptor.name in self._descriptors:
                    raise ParameterError(f"descriptor {descriptor.name!r} is already registered")
                if descriptor.modality != modality or descriptor.group != group:
                    raise ParameterError(f"descriptor {descriptor.name!r} belongs to {descriptor.modality}/"
                                     f"{descriptor.group}, not {modality}/{group}")
            for descriptor in descriptors:
                self._descriptors[descriptor.name] = descriptor
            self._extractors.append(ExtractorSpec(modality, group, function,
                                                  tuple(d.name for d in descriptors)))
            return function

        return register

    def __getitem__(self, name: str) -> Descriptor:
        try:
            return self._descriptors[name]
        except KeyError:
            raise UnknownNameError(f"no descriptor named {name!r}; see `resonance features describe`") from None

    def __contains__(self, name: object) -> bool:
        return name in self._descriptors

    def __len__(self) -> int:
        return len(self._descriptors)

    def select(self, modality: Modality | None = None, groups: Iterable[str] | None = None,
               names: Iterable[str] | None = None) -> list[Descriptor]:
        """Descriptors filtered by modality, group and/or name, in registration order."""
        _check_modality(modality)
        groups = set(groups) if groups is not None else None
        names = set(names) if names is not None else None
        if groups:
            unknown = groups - {d.group for d in self._descriptors.values()}
            if unknown:
                raise UnknownNameError(f"unknown descriptor groups {sorted(unknown)}; "
                                       "see `resonance features describe`")
        return [d for d in self._descriptors.values()
                if (modality is None or d.modality == modality)
                and (groups is None or d.group in groups)
                and (names is None or d.name in names)]

    def extractors(self, modality: Modality, groups: Iterable[str] | None = None) -> list[ExtractorSpec]:
        _check_modality(modality)
        groups = set(groups) if groups is not None else None
        return [e for e in self._extractors
                if e.modality == modality and (groups is None or e.group in groups)]

    def include(self, other: Registry, modality: Modality, groups: Iterable[str] | None = None) -> None:
        """Register here the extractors (and their descriptors) of ``other`` for ``modality`` and,
        optionally, only ``groups``, in ``other``'s order: a registry built from parts of another."""
        for spec in other.extractors(modality, groups):
            self.extractor(spec.modality, spec.group, [other[n] for n in spec.names])(spec.function)

    def flag_codec_sensitive(self, names: Iterable[str]) -> None:
        """Mark descriptors that lossy coding distorts (the measured list, see ``codec_sensitive.txt``)."""
        for name in names:
            self._descriptors[name] = replace(self[name], codec_sensitive=True)

    def to_frame(self, modality: Modality | None = None):
        """The registry as a pandas DataFrame (one row per descriptor)."""
        import pandas as pd

        return pd.DataFrame([asdict(d) for d in self.select(modality)])


def _check_modality(modality: object) -> None:
    if modality is not None and modality not in MODALITIES:
        raise ParameterError(f"unknown modality {modality!r}; choose from {list(MODALITIES)}")


@dataclass(frozen=True)
class DescriptorSet:
    """A named, versioned set of descriptors, like openSMILE's ``eGeMAPSv02``: what a features table
    was computed with, by name.

    ``version`` changes whenever a descriptor is added, removed or renamed, or its definition
    changes its values on purpose; ``names`` lists the set's descriptors per modality, in column
    order. :data:`handcrafted.DESCRIPTOR_SET` is the built-in set; ``extract_features`` records its
    name and version in every features table.
    """

    name: str
    version: str
    names: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_registry(cls, name: str, version: str, registry: Registry,
                      modalities: Sequence[Modality] = ("image", "audio")) -> DescriptorSet:
        """The set of every descriptor ``registry`` holds now, per modality."""
        return cls(name, version, {m: tuple(d.name for d in registry.select(m)) for m in modalities})

    @property
    def label(self) -> str:
        """``name/version``, e.g. ``"resonance-hc/1.0"``."""
        return f"{self.name}/{self.version}"

    def to_dict(self) -> dict[str, str]:
        """``{"name": ..., "version": ...}`` (what a features table records)."""
        return {"name": self.name, "version": self.version}


#: The default registry, filled by :func:`handcrafted.image.register` and
#: :func:`handcrafted.audio.register` when :mod:`handcrafted` is imported.
REGISTRY = Registry()
