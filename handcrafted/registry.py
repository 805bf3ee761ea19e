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

Modality = Literal["image", "audio"]
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
                    raise ValueError(f"descriptor {descriptor.name!r} is already registered")
                if descriptor.modality != modality or descriptor.group != group:
                    raise ValueError(f"descriptor {descriptor.name!r} belongs to {descriptor.modality}/"
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
            raise KeyError(f"no descriptor named {name!r}; see `resonance features describe`") from None

    def __contains__(self, name: object) -> bool:
        return name in self._descriptors

    def __len__(self) -> int:
        return len(self._descriptors)

    def select(self, modality: Modality | None = None, groups: Iterable[str] | None = None,
               names: Iterable[str] | None = None) -> list[Descriptor]:
        """Descriptors filtered by modality, group and/or name, in registration order."""
        groups = set(groups) if groups is not None else None
        names = set(names) if names is not None else None
        if groups:
            unknown = groups - {d.group for d in self._descriptors.values()}
            if unknown:
                raise KeyError(f"unknown descriptor groups {sorted(unknown)}")
        return [d for d in self._descriptors.values()
                if (modality is None or d.modality == modality)
                and (groups is None or d.group in groups)
                and (names is None or d.name in names)]

    def extractors(self, modality: Modality, groups: Iterable[str] | None = None) -> list[ExtractorSpec]:
        groups = set(groups) if groups is not None else None
        return [e for e in self._extractors
                if e.modality == modality and (groups is None or e.group in groups)]

    def flag_codec_sensitive(self, names: Iterable[str]) -> None:
        """Mark descriptors that lossy coding distorts (the measured list, see ``codec_sensitive.txt``)."""
        for name in names:
            self._descriptors[name] = replace(self[name], codec_sensitive=True)

    def to_frame(self, modality: Modality | None = None):
        """The registry as a pandas DataFrame (one row per descriptor)."""
        import pandas as pd

        return pd.DataFrame([asdict(d) for d in self.select(modality)])


#: The default registry, filled by :mod:`handcrafted.image` and :mod:`handcrafted.audio`.
REGISTRY = Registry()
