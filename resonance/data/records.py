"""What an adapter yields: an :class:`Item` to keep or a :class:`Rejection` with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from resonance.data.emotion import EmotionLabel

Modality = Literal["image", "audio"]
Split = Literal["train", "val", "test"]

#: Corpus names as they appear in the manifest's ``corpus`` column.
CORPORA: tuple[str, ...] = (
    "dvisa", "feelingblue", "ravdess", "tess", "cremad", "savee", "emodb", "emopia", "kaggle", "generic", "probes",
)
#: Flag of an item whose group (speaker, artist) is not known: it is its own group, so a split cannot
#: keep its speaker out of the other splits. The datasheet says so; prepare warns.
FLAG_UNKNOWN_GROUP = "unknown_group"


class UnknownGroupWarning(UserWarning):
    """Items whose speaker or artist is unknown: their splits cannot be group-disjoint."""


@dataclass(frozen=True)
class Item:
    """One stimulus before decoding.

    ``local_id`` is unique within the corpus and independent of folder, extension and codec, so the
    same recording arriving twice (e.g. RAVDESS as Ogg and as FLAC) is recognised as one item.
    ``group`` is the unit that must not straddle splits (speaker, actor, artist, song).
    ``source_kind`` is ``'audio'``, ``'image'`` or ``'midi'`` (rendered to audio before decoding).
    ``attributes`` holds corpus facts recovered from names (gender, sentence, intensity, word ...).
    ``original_labels`` holds the source labels verbatim (JSON-serialisable).
    """

    corpus: str
    local_id: str
    modality: Modality
    path: Path
    group: str
    label: EmotionLabel
    original_labels: Mapping[str, Any]
    official_split: Split | None = None
    source_kind: Literal["audio", "image", "midi"] | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Globally unique id: ``corpus:local_id``."""
        return f"{self.corpus}:{self.local_id}"

    @property
    def kind(self) -> str:
        return self.source_kind or self.modality


@dataclass(frozen=True)
class Rejection:
    """An input that was not used, with a short machine-readable ``reason`` and a human ``detail``."""

    corpus: str
    path: str
    reason: str
    detail: str = ""


@runtime_checkable
class Adapter(Protocol):
    """A corpus reader. ``detect`` says whether a folder has this corpus's upstream layout;
    ``scan`` yields every item or rejection found there, without decoding media."""

    name: str
    modality: Modality

    def detect(self, root: Path) -> bool: ...

    def scan(self, root: Path) -> Iterator[Item | Rejection]: ...


def partition_records(records: Iterable[Item | Rejection]) -> tuple[list[Item], list[Rejection]]:
    """Split an adapter's output into its items and its rejections, keeping their order."""
    items: list[Item] = []
    rejections: list[Rejection] = []
    for record in records:
        (items if isinstance(record, Item) else rejections).append(record)
    return items, rejections
