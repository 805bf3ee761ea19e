"""What the speech-corpus adapters share: the walk, layout sniffing, name problems and item building.

One walker (:func:`iter_audio_files`, see :mod:`resonance.data.adapters._files`) and one scan loop
(:func:`scan_with`) serve every corpus; each corpus module adds its parser (``parse_<corpus>_name``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from resonance.data.adapters._files import (
    AUDIO_EXTENSIONS,
    check_root,
    is_audio,
    iter_corpus_files,
    iter_media_files,
    sample_files,
    subfolder_names,
)
from resonance.data.emotion import from_category
from resonance.data.records import Item, Rejection

#: Class folders of the Kaggle tree (lower case), with upstream's ``Suprised`` spelling.
KAGGLE_CLASSES = frozenset({"angry", "disgusted", "fearful", "happy", "neutral", "sad", "suprised", "surprised"})
#: How many distinct class folders make a Kaggle layout.
KAGGLE_MIN_CLASSES = 4


def iter_audio_files(root: Path | str, corpus: str) -> Iterator[Path | Rejection]:
    """Audio files under ``root`` (sorted); ``unsupported_format`` for every file that is neither audio nor
    documentation, and the walker's rejections (bad names, dangling links, loops)."""
    return iter_media_files(root, corpus, is_audio, "an audio format")


def looks_like_kaggle(root: Path) -> bool:
    """Whether ``root`` has at least :data:`KAGGLE_MIN_CLASSES` Kaggle class folders near its top."""
    return len(subfolder_names(root) & KAGGLE_CLASSES) >= KAGGLE_MIN_CLASSES


def detect_by_names(root: Path | str, recognise: Callable[[Path], bool]) -> bool:
    """A layout is detected when audio exists and at least half of a small sample parses."""
    root = Path(root)
    try:
        if not root.is_dir():
            return False
    except OSError:
        return False
    if looks_like_kaggle(root):
        return False
    sample = sample_files(root, is_audio)
    return bool(sample) and 2 * sum(recognise(p) for p in sample) >= len(sample)


class NameProblem(Exception):
    """Internal: a name that cannot be used, with the rejection reason and detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def malformed(detail: str) -> NameProblem:
    return NameProblem("malformed_name", detail)


def attempt(parse: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
    """``parse(*args)``, or None where the name cannot be used."""
    try:
        return parse(*args)
    except NameProblem:
        return None


def code(table: Mapping[str, str], value: str, field: str, stem: str) -> str:
    """``table[value]``; a malformed-name problem naming the field when the code is unknown."""
    if value not in table:
        raise malformed(f"{stem!r}: {field} code {value!r} is not one of {', '.join(table)}")
    return table[value]


def make_item(parsed: Mapping[str, Any], path: Path, *, corpus: str | None = None,
              flags: tuple[str, ...] = ()) -> Item:
    """An :class:`Item` from a parser's dict; ``parsed['label']`` (an EmotionLabel) wins over
    ``from_category(parsed['emotion'])``, and ``parsed['flags']`` are added to ``flags``."""
    corpus = corpus or parsed["corpus"]
    label = parsed.get("label") or from_category(parsed["emotion"])
    return Item(
        corpus=corpus,
        local_id=parsed["local_id"],
        modality="audio",
        path=path,
        group=parsed.get("group") or f"{parsed['corpus']}:{parsed['speaker']}",
        label=label,
        original_labels=dict(parsed["original_labels"]),
        source_kind="audio",
        attributes=dict(parsed["attributes"]),
        flags=tuple(dict.fromkeys((*flags, *parsed.get("flags", ())))),
    )


def scan_with(root: Path | str, corpus: str, parse_path: Callable[[Path], dict[str, Any]]
              ) -> Iterator[Item | Rejection]:
    """The shared scan loop: walk, parse each audio file, turn name problems into rejections."""
    for entry in iter_audio_files(root, corpus):
        if isinstance(entry, Rejection):
            yield entry
            continue
        try:
            yield make_item(parse_path(entry), entry)
        except NameProblem as problem:
            yield Rejection(corpus, str(entry), problem.reason, problem.detail)


__all__ = ["AUDIO_EXTENSIONS", "KAGGLE_CLASSES", "KAGGLE_MIN_CLASSES", "NameProblem", "attempt", "check_root",
           "code", "detect_by_names", "is_audio", "iter_audio_files", "iter_corpus_files", "looks_like_kaggle",
           "make_item", "malformed", "scan_with"]
