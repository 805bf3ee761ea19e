"""Generic corpora: a folder per class, or a CSV manifest; images or audio. The fallback adapter.

Layouts
-------
(a) Class tree -- every top-level folder of ``root`` is a class::

        <root>/<ClassName>/**/<file>

    Class names go through :func:`~resonance.data.emotion.canonical_category` (any case, synonyms such as
    ``angry``/``ANG``/``happy``); every file under a folder whose name is no known category is rejected
    ``unknown_label``. Hidden files and folders (``.*``) are skipped. Loose files in ``root`` are ignored.

(b) CSV manifest -- ``<root>/manifest.csv`` (or a CSV path given to the constructor, or ``root`` itself
    when it is a ``.csv`` file), one row per file::

        path,emotion[,valence,arousal[,dominance]][,group]

    ``path`` is relative to the CSV's folder (absolute paths are used as is). A row needs ``emotion`` or
    ``valence`` + ``arousal`` (and may have both; ``dominance`` is optional). When a manifest exists, the
    class folders beside it are not scanned: the manifest is the explicit statement of the labels.

Label semantics
---------------
* A class name or ``emotion`` gives a one-hot distribution; its VAD is the NRC-VAD prototype unless the
  row also gives ``valence``/``arousal`` (then those, source ``"generic manifest"``).
* ``valence``/``arousal``/``dominance`` alone are points in [0, 1] (0.5 = neutral); the distribution
  follows from :func:`~resonance.data.emotion.from_va`. A missing dominance is NaN.

Rejections (``Rejection.reason``)
---------------------------------
``malformed_label``
    A manifest row without ``path``, without any label, with an unparseable number, or with a value
    outside [0, 1].
``unknown_label``
    A class folder or ``emotion`` value that names no shared category.
``file_not_found``
    A manifest row whose file is absent.
``unsupported_format``
    An extension that is neither an image (jpg jpeg png bmp tif tiff webp gif) nor audio (wav flac ogg
    opus mp3 m4a aac aiff aif), or whose modality differs from the corpus's.
``conflicting_labels``
    The same file with two different labels: the same path in two manifest rows, or identical bytes under
    two classes. Every copy is rejected: which label is right cannot be known. Identical bytes are found by
    SHA-256, computed only for files that share their size with a differently labelled file, so a clean
    corpus is never hashed. Files that merely share a name in different class folders
    (``angry/001.jpg``, ``happy/001.jpg``) are *not* conflicts unless their bytes are identical.
``duplicate``
    The same path listed twice with the same label, or a second file with the same ``local_id`` (e.g.
    ``x.wav`` beside ``x.flac``); the first in sorted order is kept.

Identity, groups, modality
--------------------------
* ``local_id`` is the file's path relative to the corpus folder (class tree) or to the CSV's folder
  (manifest), without extension, in POSIX form: file stems alone are not unique across class folders.
* ``group`` is the ``group`` column if given; in a class tree, else the folder path between the class
  folder and the file (``<root>/angry/actor_03/x.wav`` -> ``actor_03``); else the item itself
  (``local_id``). A manifest without a ``group`` column never groups by folder, because its folders are
  often the classes, which would confound group and label: give a ``group`` column for speakers/artists.
* ``modality`` is the constructor's, else the majority modality of the recognised extensions found; files
  of the other modality are rejected ``unsupported_format``. An exact tie raises
  :class:`~resonance.errors.ParameterError` (pass ``modality=``).
"""

from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resonance.data.emotion import EmotionLabel, canonical_category, from_category, from_distribution, from_va
from resonance.data.records import Item, Modality, Rejection
from resonance.errors import ParameterError, ResonanceError
from resonance.io.atomic import sha256_file

CORPUS = "generic"
MANIFEST_NAME = "manifest.csv"
VAD_SOURCE_MANIFEST = "generic manifest"
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"})
AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".aac", ".aiff", ".aif"})


def modality_of(path: str | os.PathLike[str]) -> Modality | None:
    """``'image'`` or ``'audio'`` from the file extension (any case); ``None`` when it is neither."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    return None


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _known_category(name: str) -> str | None:
    try:
        return canonical_category(name)
    except KeyError:
        return None


@dataclass
class _Candidate:
    """A labelled file awaiting the format, duplicate and conflict checks."""

    path: Path
    local_id: str
    label: EmotionLabel
    label_key: Hashable
    group: str
    original: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)


def _unit_interval(text: str, column: str, *, optional: bool = False) -> float:
    text = (text or "").strip()
    if not text:
        if optional:
            return math.nan
        raise ValueError(f"{column} is empty")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{column}={text!r} is not a number") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{column}={value} is outside [0, 1]")
    return value


class GenericAdapter:
    """Reader of a class-folder tree or a CSV manifest (see the module docstring).

    Parameters
    ----------
    modality : {'image', 'audio'} or None
        The corpus's modality; ``None`` infers it from the file extensions at scan time.
    manifest : path or None
        A CSV manifest to read instead of ``<root>/manifest.csv``; relative paths are taken relative to
        the scanned ``root``.
    corpus : str
        The ``corpus`` name written on items and rejections (and the adapter's ``name``).
    """

    def __init__(self, *, modality: Modality | None = None, manifest: str | os.PathLike[str] | None = None,
                 corpus: str = CORPUS) -> None:
        if modality not in (None, "image", "audio"):
            raise ParameterError(f"modality must be 'image', 'audio' or None, not {modality!r}")
        if not corpus or not isinstance(corpus, str):
            raise ParameterError(f"corpus must be a non-empty string, not {corpus!r}")
        self.name: str = corpus
        self.modality: Modality | None = modality
        self.manifest = Path(manifest) if manifest is not None else None

    def __repr__(self) -> str:
        return f"GenericAdapter(modality={self.modality!r}, manifest={self.manifest!r}, corpus={self.name!r})"

    # -- layout ------------------------------------------------------------------------------------------
    def manifest_path(self, root: Path) -> Path | None:
        """The CSV manifest that :meth:`scan` would read for ``root``, or ``None`` (class-tree layout)."""
        root = Path(root)
        if root.is_file() and root.suffix.lower() == ".csv":
            return root
        if self.manifest is not None:
            path = self.manifest if self.manifest.is_absolute() else root / self.manifest
            return path if path.is_file() else None
        return root / MANIFEST_NAME if (root / MANIFEST_NAME).is_file() else None

    def detect(self, root: Path) -> bool:
        """True for a CSV manifest or a folder with at least one subfolder named after a known category."""
        root = Path(root)
        if self.manifest_path(root) is not None:
            return True
        if not root.is_dir():
            return False
        return any(d.is_dir() and not d.name.startswith(".") and _known_category(d.name) is not None
                   for d in root.iterdir())

    # -- scan --------------------------------------------------------------------------------------------
    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        """Yield an :class:`Item` per usable labelled file and a :class:`Rejection` for every other one.

        Raises
        ------
        ParameterError
            If ``root`` is neither a manifest nor a folder, or the modality cannot be inferred (a tie).
        ResonanceError
            If the manifest lacks the ``path`` column or any label column.
        """
        root = Path(root)
        manifest = self.manifest_path(root)
        if manifest is None and not root.is_dir():
            raise ParameterError(f"{root} is neither a folder nor a CSV manifest")
        if self.manifest is not None and manifest is None:
            raise ParameterError(f"manifest {self.manifest} not found (relative paths are taken from {root})")
        candidates: list[_Candidate] = []
        rejections: list[Rejection] = []
        if manifest is not None:
            self._read_manifest(manifest, candidates, rejections)
        else:
            self._read_tree(root, candidates, rejections)
        yield from rejections
        yield from self._finalise(candidates)

    def _read_tree(self, root: Path, candidates: list[_Candidate], rejections: list[Rejection]) -> None:
        for class_dir in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
            category = _known_category(class_dir.name)
            for path in sorted(p for p in class_dir.rglob("*") if p.is_file()):
                below = path.relative_to(class_dir)
                if _is_hidden(below):
                    continue
                if category is None:
                    rejections.append(Rejection(self.name, str(path), "unknown_label",
                                                f"class folder {class_dir.name!r} names no known category"))
                    continue
                local_id = path.relative_to(root).with_suffix("").as_posix()
                parent = below.parent.as_posix()
                candidates.append(_Candidate(
                    path=path, local_id=local_id, label=from_category(category), label_key=("category", category),
                    group=parent if parent != "." else local_id, original={"class": class_dir.name},
                    attributes={"layout": "class_tree", "relative_path": path.relative_to(root).as_posix()},
                ))

    def _read_manifest(self, manifest: Path, candidates: list[_Candidate], rejections: list[Rejection]) -> None:
        base = manifest.parent
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = {c.strip().lower(): c for c in (reader.fieldnames or []) if c}
            if "path" not in columns:
                raise ResonanceError(f"{manifest} lacks a 'path' column; found {reader.fieldnames}")
            if "emotion" not in columns and not {"valence", "arousal"} <= set(columns):
                raise ResonanceError(f"{manifest} needs an 'emotion' column or 'valence' and 'arousal' columns; "
                                     f"found {reader.fieldnames}")
            for line, raw in enumerate(reader, start=2):
                row = {key: (raw.get(original) or "").strip() for key, original in columns.items()}
                where = f"{manifest}:{line}"
                if not row["path"]:
                    rejections.append(Rejection(self.name, where, "malformed_label", "empty path"))
                    continue
                path = Path(row["path"])
                path = path if path.is_absolute() else base / path
                try:
                    label, key = self._row_label(row)
                except KeyError as exc:
                    rejections.append(Rejection(self.name, str(path), "unknown_label", f"line {line}: {exc.args[0]}"))
                    continue
                except ValueError as exc:
                    rejections.append(Rejection(self.name, str(path), "malformed_label", f"line {line}: {exc}"))
                    continue
                if not path.is_file():
                    rejections.append(Rejection(self.name, str(path), "file_not_found",
                                                f"line {line}: {row['path']} does not exist"))
                    continue
                try:
                    relative = path.relative_to(base)
                except ValueError:
                    relative = path
                local_id = relative.with_suffix("").as_posix()
                candidates.append(_Candidate(
                    path=path, local_id=local_id, label=label, label_key=key,
                    group=row.get("group") or local_id, original={k: v for k, v in row.items() if v},
                    attributes={"layout": "manifest", "relative_path": relative.as_posix(), "line": line},
                ))

    @staticmethod
    def _row_label(row: Mapping[str, str]) -> tuple[EmotionLabel, Hashable]:
        """The label of a manifest row and a hashable key to compare labels; KeyError/ValueError if bad."""
        emotion = row.get("emotion", "")
        has_va = bool(row.get("valence") or row.get("arousal") or row.get("dominance"))
        if not emotion and not has_va:
            raise ValueError("no label: 'emotion' and 'valence'/'arousal' are all empty")
        vad = None
        if has_va:
            vad = (_unit_interval(row.get("valence", ""), "valence"),
                   _unit_interval(row.get("arousal", ""), "arousal"),
                   _unit_interval(row.get("dominance", ""), "dominance", optional=True))
        dominance_key = None if vad is None or math.isnan(vad[2]) else vad[2]
        if not emotion and vad is not None:
            label = from_va(vad[0], vad[1], vad[2], vad_source=VAD_SOURCE_MANIFEST)
            return label, ("va", vad[0], vad[1], dominance_key)
        category = canonical_category(emotion)
        if vad is None:
            return from_category(category), ("category", category, None)
        label = from_distribution({category: 1.0}, vad=vad, vad_source=VAD_SOURCE_MANIFEST)
        return label, ("category", category, (vad[0], vad[1], dominance_key))

    def _finalise(self, candidates: list[_Candidate]) -> Iterator[Item | Rejection]:
        """Format check, modality, duplicates and conflicts; then the items, in local_id order."""
        modality = self.modality or self._infer_modality(candidates)
        kept: list[_Candidate] = []
        for c in candidates:
            kind = modality_of(c.path)
            if kind is None:
                yield Rejection(self.name, str(c.path), "unsupported_format",
                                f"extension {c.path.suffix or '(none)'!r} is neither image nor audio")
            elif kind != modality:
                yield Rejection(self.name, str(c.path), "unsupported_format",
                                f"{kind} file in an {modality} corpus (pass modality= to choose)")
            else:
                kept.append(c)

        # The same path listed more than once (manifest rows).
        by_path: dict[Path, list[_Candidate]] = defaultdict(list)
        for c in kept:
            by_path[c.path.resolve()].append(c)
        survivors: list[_Candidate] = []
        for copies in by_path.values():
            if len({c.label_key for c in copies}) > 1:
                for c in copies:
                    yield Rejection(self.name, str(c.path), "conflicting_labels",
                                    f"listed {len(copies)} times with different labels: "
                                    f"{[c.original for c in copies]}")
                continue
            survivors.append(copies[0])
            for extra in copies[1:]:
                yield Rejection(self.name, str(extra.path), "duplicate",
                                f"listed again with the same label (line {extra.attributes.get('line')})")

        # Identical bytes under different labels; hash only same-size files whose labels differ.
        by_size: dict[int, list[_Candidate]] = defaultdict(list)
        for c in survivors:
            by_size[c.path.stat().st_size].append(c)
        conflicted: set[int] = set()
        for same_size in by_size.values():
            if len({c.label_key for c in same_size}) < 2:
                continue
            by_hash: dict[str, list[_Candidate]] = defaultdict(list)
            for c in same_size:
                by_hash[sha256_file(c.path)].append(c)
            for digest, copies in by_hash.items():
                if len({c.label_key for c in copies}) > 1:
                    for c in copies:
                        conflicted.add(id(c))
                        others = [str(o.path) for o in copies if o is not c]
                        yield Rejection(self.name, str(c.path), "conflicting_labels",
                                        f"identical bytes (sha256 {digest[:12]}) under another label: {others}")

        seen: dict[str, Path] = {}
        for c in sorted((c for c in survivors if id(c) not in conflicted), key=lambda c: (c.local_id, str(c.path))):
            if c.local_id in seen:
                yield Rejection(self.name, str(c.path), "duplicate",
                                f"local_id {c.local_id!r} already taken by {seen[c.local_id]}")
                continue
            seen[c.local_id] = c.path
            yield Item(corpus=self.name, local_id=c.local_id, modality=modality, path=c.path, group=c.group,
                       label=c.label, original_labels=c.original, official_split=None, source_kind=modality,
                       attributes=c.attributes)

    def _infer_modality(self, candidates: list[_Candidate]) -> Modality:
        counts = {"image": 0, "audio": 0}
        for c in candidates:
            kind = modality_of(c.path)
            if kind is not None:
                counts[kind] += 1
        if counts["image"] == counts["audio"] and counts["image"] > 0:
            raise ParameterError(f"as many image as audio files ({counts['image']}); pass modality='image' "
                                 "or modality='audio'")
        return "image" if counts["image"] > counts["audio"] else "audio"


__all__ = ["AUDIO_EXTENSIONS", "GenericAdapter", "IMAGE_EXTENSIONS", "modality_of"]
