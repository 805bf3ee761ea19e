"""Generic corpora: a folder per class, or a CSV manifest; images or audio. The fallback adapter.

Layouts
-------
(a) Class tree -- every top-level folder of ``root`` is a class::

        <root>/<ClassName>/**/<file>

    Class names go through :class:`~resonance.data.emotion.LabelResolver` (any case, word synonyms such
    as ``angry``/``happy``, upstream misspellings such as ``Suprised``; no corpus short codes: ``ANG`` or
    ``F`` mean different emotions in different corpora); a folder named after an emotion outside the 12
    categories (``boredom``, ``love``, ``shame`` ...) is placed through the affective lexicon and its items
    are flagged ``label_from_lexicon``; a user label map overrides both. Every file under a folder that
    names no emotion is rejected ``unknown_label``. Hidden files and folders (``.*``) are skipped; folder
    links are followed (see :mod:`resonance.data.adapters._files` for loops, dangling links and bad
    names). Loose files in ``root`` are ignored when there are class folders; a folder with files but no
    class folder (and no manifest) is a :class:`~resonance.errors.ParameterError` that names the fix.

(b) CSV manifest -- ``<root>/manifest.csv`` (or a CSV path given to the constructor, or ``root`` itself
    when it is a ``.csv`` file), one row per file::

        path,emotion[,valence,arousal[,dominance]][,group|speaker|artist][,gender][,corpus]

    Comma, semicolon, tab or ``|`` separated (found by :class:`csv.Sniffer`); UTF-8, else read as
    Windows-1252/Latin-1 with a warning and ``attributes['manifest_encoding']``. ``path`` is relative to
    the CSV's folder (absolute paths are used as is). A row needs ``emotion`` or ``valence`` + ``arousal``
    (and may have both; ``dominance`` is optional). ``gender`` is read into the items' attributes;
    ``corpus`` names each row's corpus (else the adapter's name). When a manifest exists, the class
    folders beside it are not scanned: the manifest is the explicit statement of the labels. A column
    named twice, a missing column or an empty manifest is a :class:`~resonance.errors.ParameterError`.

Label semantics
---------------
* A class name or ``emotion`` that is one of the 12 categories gives a one-hot distribution; its VAD is
  the NRC-VAD prototype unless the row also gives ``valence``/``arousal`` (then those, source
  ``"generic manifest"``). Any other emotion word found in the lexicon is a VA point (flag
  ``label_from_lexicon``); the word is kept in ``original_labels``.
* ``valence``/``arousal``/``dominance`` alone are points in [0, 1] (0.5 = neutral); the distribution
  follows from :func:`~resonance.data.emotion.from_va`, and the item is flagged ``emotion_from_va`` (its
  most probable category is derived, not given) and ``va_far_from_categories`` when the point is far from
  every category prototype (boredom's low arousal and negative valence is; it never becomes "sadness"
  without a flag). A missing dominance is NaN.

Rejections (``Rejection.reason``)
---------------------------------
``malformed_label``
    A manifest row without ``path``, without any label, with an unparseable number, or with a value
    outside [0, 1].
``unknown_label``
    A class folder or ``emotion`` value that names no category, no lexicon emotion and no mapped word.
``file_not_found``
    A manifest row whose file is absent.
``bad_file_name``, ``dangling_symlink``, ``symlink_loop``, ``duplicate_folder``, ``not_a_regular_file``, ``unreadable``
    See :mod:`resonance.data.adapters._files`.
``unsupported_format``
    An extension that is neither an image (jpg jpeg png bmp tif tiff webp gif) nor audio (wav flac ogg
    opus mp3 m4a aac aiff aif), or whose modality differs from the corpus's.
``conflicting_labels``
    The same file with two different labels: the same path in two manifest rows, identical bytes under
    two classes, or a recording whose native name (RAVDESS, CREMA-D, TESS, SAVEE, EMO-DB) says another
    emotion than its folder or row. Every copy is rejected: which label is right cannot be known.
    Identical bytes are found by SHA-256, computed only for files that share their size with a
    differently labelled file, so a clean corpus is never hashed. Files that merely share a name in
    different class folders (``angry/001.jpg``, ``happy/001.jpg``) are *not* conflicts unless their bytes
    are identical.
``duplicate``
    The same path listed twice with the same label, or a second file with the same ``local_id`` (e.g.
    ``x.wav`` beside ``x.flac``); the first in sorted order is kept.

Identity, groups, modality
--------------------------
* ``local_id`` is the file's path relative to the corpus folder (class tree) or to the CSV's folder
  (manifest), without extension, in POSIX form: file stems alone are not unique across class folders.
* ``group``, first that applies: the manifest's ``group`` (or ``speaker``, ``artist``) column; the
  speaker of a recognised native speech name (``emodb:03``, ``ravdess:Actor_05`` ...); the named group
  of ``group_pattern`` searched in the path relative to the corpus folder; in a class tree, the folder
  path between the class folder and the file (``<root>/angry/actor_03/x.wav`` -> ``actor_03``). Else
  the group is unknown: the item is its own group (``local_id``), is flagged ``unknown_group``, the scan
  warns (:class:`~resonance.data.records.UnknownGroupWarning`) and the datasheet says that its split is
  not speaker-disjoint. A manifest never groups by folder, because its folders are often the classes.
* ``modality`` is the constructor's, else the majority modality of the recognised extensions found; files
  of the other modality are rejected ``unsupported_format``. An exact tie raises
  :class:`~resonance.errors.ParameterError` (``GenericAdapter(modality=...)``).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resonance.data.adapters._files import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    entry_is_dir,
    file_problem,
    is_audio,
    list_folder,
    modality_of,
    printable,
    read_csv,
    walk_files,
)
from resonance.data.adapters._groups import (
    compile_group_pattern,
    group_from_pattern,
    recognise_native_name,
    same_emotion,
    warn_unknown_groups,
)
from resonance.data.emotion import (
    FLAG_EMOTION_FROM_VA,
    EmotionLabel,
    LabelResolver,
    ResolvedLabel,
    canonical_category,
    from_distribution,
    from_va,
    va_flags,
)
from resonance.data.records import FLAG_UNKNOWN_GROUP, Item, Modality, Rejection
from resonance.errors import ParameterError
from resonance.io.atomic import sha256_file

CORPUS = "generic"
MANIFEST_NAME = "manifest.csv"
VAD_SOURCE_MANIFEST = "generic manifest"
_MANIFEST_SUFFIXES = (".csv", ".tsv")
_GROUP_COLUMNS = ("group", "speaker", "artist")
_CORPUS_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_GENDERS = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}


def _known_category(name: str) -> str | None:
    try:
        return canonical_category(name)
    except KeyError:
        return None


def check_corpus_name(name: str) -> str:
    """``name`` lower-cased, checked to be a usable corpus name (letters, digits, ``_.-``)."""
    if not isinstance(name, str) or not _CORPUS_NAME.match(name.strip().lower()):
        raise ParameterError(f"corpus name {name!r} must start with a letter and hold only letters, digits, "
                             "'_', '.' or '-'")
    return name.strip().lower()


@dataclass
class _Candidate:
    """A labelled file awaiting the format, duplicate and conflict checks."""

    path: Path
    local_id: str
    label: EmotionLabel
    label_key: Hashable
    group: str | None
    original: dict[str, Any]
    attributes: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    corpus: str = CORPUS
    label_word: str = ""


def _label_key(label: EmotionLabel) -> Hashable:
    dominance = None if math.isnan(label.dominance) else label.dominance
    return (tuple(sorted(label.distribution.items())), label.valence, label.arousal, dominance)


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
        The ``corpus`` name written on items and rejections (and the adapter's ``name``); a manifest's
        ``corpus`` column overrides it per row.
    group_pattern : str or None
        A regular expression with a named group ``group`` (or ``speaker``), searched in each file's path
        relative to the corpus folder, that gives the group where no column or native name does.
    label_map : path, mapping or None
        A user label map (CSV ``word,category`` or ``word,valence,arousal``) that overrides the categories
        and the lexicon (see :class:`~resonance.data.emotion.LabelResolver`).
    lexicon : path or None
        The ``lexicons/`` folder; default ``$RESONANCE_DATA/lexicons``.
    """

    def __init__(self, *, modality: Modality | None = None, manifest: str | os.PathLike[str] | None = None,
                 corpus: str = CORPUS, group_pattern: str | re.Pattern[str] | None = None,
                 label_map: str | os.PathLike[str] | Mapping | None = None,
                 lexicon: str | os.PathLike[str] | None = None) -> None:
        if modality not in (None, "image", "audio"):
            raise ParameterError(f"modality must be 'image', 'audio' or None, not {modality!r}")
        if not corpus or not isinstance(corpus, str):
            raise ParameterError(f"corpus must be a non-empty string, not {corpus!r}")
        self.name: str = check_corpus_name(corpus)
        self.modality: Modality | None = modality
        self.manifest = Path(manifest) if manifest is not None else None
        self.group_pattern = compile_group_pattern(group_pattern)
        self._resolver_args = (label_map, lexicon)
        self._resolver: LabelResolver | None = None
        #: What the last :meth:`scan` warned about (also issued as Python warnings).
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return f"GenericAdapter(modality={self.modality!r}, manifest={self.manifest!r}, corpus={self.name!r})"

    @property
    def resolver(self) -> LabelResolver:
        """The label resolver (user map, categories, lexicon), built on first use."""
        if self._resolver is None:
            self._resolver = LabelResolver(*self._resolver_args)
        return self._resolver

    # -- layout ------------------------------------------------------------------------------------------
    def manifest_path(self, root: Path) -> Path | None:
        """The CSV manifest that :meth:`scan` would read for ``root``, or ``None`` (class-tree layout)."""
        root = Path(root)
        if root.is_file() and root.suffix.lower() in _MANIFEST_SUFFIXES:
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
        return any(entry_is_dir(e) and _known_category(e.name) is not None for e in list_folder(root))

    # -- scan --------------------------------------------------------------------------------------------
    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        """Yield an :class:`Item` per usable labelled file and a :class:`Rejection` for every other one.

        Raises
        ------
        ParameterError
            If ``root`` is neither a manifest nor a folder, a folder holds no class folder, the manifest
            is empty, repeats a column or lacks a required one, or the modality cannot be inferred (a tie).
        """
        root = Path(root)
        self.warnings = []
        manifest = self.manifest_path(root)
        if self.manifest is not None and manifest is None:
            raise ParameterError(f"manifest {self.manifest} not found (relative paths are taken from {root})")
        if manifest is None and not root.is_dir():
            raise ParameterError(f"{root} is neither a folder nor a CSV manifest")
        candidates: list[_Candidate] = []
        rejections: list[Rejection] = []
        if manifest is not None:
            self._read_manifest(manifest, candidates, rejections)
        else:
            self._read_tree(root, candidates, rejections)
        yield from rejections
        yield from self._finalise(candidates, root)

    def _native(self, path: Path, label_word: str, where: str) -> tuple[dict[str, Any] | None, Rejection | None]:
        """Facts of a recognised native speech name, or the conflict between the name and the label."""
        if not is_audio(path):
            return None, None
        native = recognise_native_name(path.stem)
        if native is None:
            return None, None
        if not same_emotion(native["emotion"], label_word):
            return None, Rejection(self.name, str(path), "conflicting_labels",
                                   f"{where}the name {path.stem!r} ({native['corpus']}) says {native['emotion']}, "
                                   f"the label says {label_word}")
        return native, None

    def _read_tree(self, root: Path, candidates: list[_Candidate], rejections: list[Rejection]) -> None:
        class_dirs = []
        loose = 0
        for entry in list_folder(root):
            if entry_is_dir(entry):
                class_dirs.append(Path(entry.path))
            elif entry.name != MANIFEST_NAME:
                loose += 1
        for class_dir in class_dirs:
            resolved: ResolvedLabel | None = None
            problem = ""
            try:
                resolved = self.resolver.resolve(class_dir.name, declared=False)
            except KeyError as error:
                problem = error.args[0]
            for entry in walk_files(class_dir, self.name):
                if isinstance(entry, Rejection):
                    rejections.append(entry)
                    continue
                path = entry
                if resolved is None:
                    rejections.append(Rejection(self.name, str(path), "unknown_label",
                                                f"class folder {class_dir.name!r}: {problem}"))
                    continue
                below = path.relative_to(class_dir)
                relative = path.relative_to(root)
                local_id = relative.with_suffix("").as_posix()
                attributes: dict[str, Any] = {"layout": "class_tree", "relative_path": relative.as_posix()}
                native, conflict = self._native(path, resolved.label.emotion if not resolved.flags
                                                else class_dir.name, "")
                if conflict is not None:
                    rejections.append(conflict)
                    continue
                parent = below.parent.as_posix()
                if native is not None:
                    group = f"{native['corpus']}:{native['speaker']}"
                    attributes.update(_native_attributes(native))
                else:
                    group = group_from_pattern(self.group_pattern, relative.as_posix())
                    if group is None and parent != ".":
                        group = parent
                candidates.append(_Candidate(
                    path=path, local_id=local_id, label=resolved.label, label_key=_label_key(resolved.label),
                    group=group, original={"class": class_dir.name}, attributes=attributes,
                    flags=resolved.flags, corpus=self.name, label_word=class_dir.name,
                ))
        if not candidates and not rejections:
            what = (f"{loose} file(s) directly in it but no class folder" if loose else
                    "no class folder and no manifest.csv")
            raise ParameterError(f"{root} has {what}: put each class's files in a folder named after the emotion "
                                 f"({root}/angry/..., {root}/sad/...), or add a manifest.csv with path,emotion "
                                 "columns (or path,valence,arousal)")

    def _read_manifest(self, manifest: Path, candidates: list[_Candidate], rejections: list[Rejection]) -> None:
        base = manifest.parent
        table = read_csv(manifest, ["path"])
        columns = table.columns
        if "emotion" not in columns and not {"valence", "arousal"} <= set(columns):
            raise ParameterError(f"{printable(manifest)} needs an 'emotion' column or 'valence' and 'arousal' "
                                 f"columns; found {list(columns.values())}")
        for note in table.notes:
            self.warnings.append(f"{printable(manifest)}: {note}")
            warnings.warn(self.warnings[-1], UserWarning, stacklevel=3)
        group_column = next((c for c in _GROUP_COLUMNS if c in columns), None)
        for line, row in zip(table.lines, table.rows, strict=True):
            where = f"{printable(manifest)}:{line}"
            corpus = self.name
            if row.get("corpus"):
                try:
                    corpus = check_corpus_name(row["corpus"])
                except ParameterError as error:
                    rejections.append(Rejection(self.name, where, "malformed_label", f"line {line}: {error}"))
                    continue
            if not row["path"]:
                rejections.append(Rejection(corpus, where, "malformed_label", "empty path"))
                continue
            path = Path(row["path"])
            path = path if path.is_absolute() else base / path
            try:
                label, flags = self._row_label(row)
            except KeyError as exc:
                rejections.append(Rejection(corpus, str(path), "unknown_label", f"line {line}: {exc.args[0]}"))
                continue
            except ValueError as exc:
                rejections.append(Rejection(corpus, str(path), "malformed_label", f"line {line}: {exc}"))
                continue
            missing = self._missing_file(path, row["path"], base, table.encoding, corpus, line)
            if missing is not None:
                rejections.append(missing)
                continue
            try:
                relative = path.relative_to(base)
            except ValueError:
                relative = path
            local_id = relative.with_suffix("").as_posix()
            attributes: dict[str, Any] = {"layout": "manifest", "relative_path": relative.as_posix(), "line": line}
            if table.encoding != "utf-8":
                attributes["manifest_encoding"] = table.encoding
            if row.get("gender"):
                attributes["gender"] = _GENDERS.get(row["gender"].lower(), row["gender"].lower())
            group = row.get(group_column) if group_column else None
            native = None
            if row.get("emotion"):
                word = label.emotion if not flags else row["emotion"]
                native, conflict = self._native(path, word, f"line {line}: ")
                if conflict is not None:
                    rejections.append(Rejection(corpus, conflict.path, conflict.reason, conflict.detail))
                    continue
            if native is not None:
                attributes.update({k: v for k, v in _native_attributes(native).items()
                                   if k != "gender" or "gender" not in attributes})
                group = group or f"{native['corpus']}:{native['speaker']}"
            group = group or group_from_pattern(self.group_pattern, relative.as_posix())
            candidates.append(_Candidate(
                path=path, local_id=local_id, label=label, label_key=_label_key(label),
                group=group or None, original={k: v for k, v in row.items() if v},
                attributes=attributes, flags=flags, corpus=corpus, label_word=row.get("emotion", ""),
            ))

    @staticmethod
    def _missing_file(path: Path, text: str, base: Path, encoding: str, corpus: str, line: int) -> Rejection | None:
        """The rejection of a manifest row whose file cannot be used, or None."""
        if path.is_symlink() or path.exists():
            problem = file_problem(path, corpus)
            if problem is not None:
                return Rejection(corpus, problem.path, problem.reason, f"line {line}: {problem.detail}")
            return None
        if encoding != "utf-8":
            # The manifest was not UTF-8: the file's name may be in the same legacy encoding on disk.
            try:
                raw = Path(os.fsdecode(text.encode(encoding)))
            except UnicodeEncodeError:
                raw = None
            if raw is not None and (raw if raw.is_absolute() else base / raw).exists():
                raw = raw if raw.is_absolute() else base / raw
                return Rejection(corpus, printable(raw), "bad_file_name",
                                 f"line {line}: the file name {printable(raw.name)!r} is not valid UTF-8; rename "
                                 "the file and save the manifest as UTF-8")
        return Rejection(corpus, str(path), "file_not_found", f"line {line}: {text} does not exist")

    def _row_label(self, row: Mapping[str, str]) -> tuple[EmotionLabel, tuple[str, ...]]:
        """The label of a manifest row and its flags; KeyError/ValueError if bad."""
        emotion = row.get("emotion", "")
        has_va = bool(row.get("valence") or row.get("arousal") or row.get("dominance"))
        if not emotion and not has_va:
            raise ValueError("no label: 'emotion' and 'valence'/'arousal' are all empty")
        vad = None
        if has_va:
            vad = (_unit_interval(row.get("valence", ""), "valence"),
                   _unit_interval(row.get("arousal", ""), "arousal"),
                   _unit_interval(row.get("dominance", ""), "dominance", optional=True))
        if not emotion and vad is not None:
            label = from_va(vad[0], vad[1], vad[2], vad_source=VAD_SOURCE_MANIFEST)
            return label, (FLAG_EMOTION_FROM_VA, *va_flags(vad[0], vad[1]))
        resolved = self.resolver.resolve(emotion, declared=True)
        if vad is None:
            return resolved.label, resolved.flags
        if resolved.flags:  # a word outside the categories: the row's own VA places it
            label = from_va(vad[0], vad[1], vad[2], vad_source=VAD_SOURCE_MANIFEST)
            return label, (*resolved.flags, *va_flags(vad[0], vad[1]))
        label = from_distribution(dict(resolved.label.distribution), vad=vad, vad_source=VAD_SOURCE_MANIFEST)
        return label, ()

    def _finalise(self, candidates: list[_Candidate], root: Path) -> Iterator[Item | Rejection]:
        """Format check, modality, duplicates and conflicts; then the items, in local_id order."""
        modality = self.modality or self._infer_modality(candidates)
        kept: list[_Candidate] = []
        for c in candidates:
            kind = modality_of(c.path)
            if kind is None:
                yield Rejection(c.corpus, str(c.path), "unsupported_format",
                                f"extension {c.path.suffix or '(none)'!r} is neither image nor audio")
            elif kind != modality:
                yield Rejection(c.corpus, str(c.path), "unsupported_format",
                                f"{kind} file in an {modality} corpus (GenericAdapter(modality=...) chooses)")
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
                    yield Rejection(c.corpus, str(c.path), "conflicting_labels",
                                    f"listed {len(copies)} times with different labels: "
                                    f"{[c.original for c in copies]}")
                continue
            survivors.append(copies[0])
            for extra in copies[1:]:
                yield Rejection(extra.corpus, str(extra.path), "duplicate",
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
                        yield Rejection(c.corpus, str(c.path), "conflicting_labels",
                                        f"identical bytes (sha256 {digest[:12]}) under another label: {others}")

        seen: dict[tuple[str, str], Path] = {}
        unknown: dict[str, int] = defaultdict(int)
        total: dict[str, int] = defaultdict(int)
        ordered = sorted((c for c in survivors if id(c) not in conflicted), key=lambda c: (c.corpus, c.local_id,
                                                                                          str(c.path)))
        for c in ordered:
            if (c.corpus, c.local_id) in seen:
                yield Rejection(c.corpus, str(c.path), "duplicate",
                                f"local_id {c.local_id!r} already taken by {seen[c.corpus, c.local_id]}")
                continue
            seen[c.corpus, c.local_id] = c.path
            flags = c.flags
            group = c.group
            if not group:
                group = c.local_id
                flags = (*flags, FLAG_UNKNOWN_GROUP)
                unknown[c.corpus] += 1
            total[c.corpus] += 1
            original = dict(c.original)
            yield Item(corpus=c.corpus, local_id=c.local_id, modality=modality, path=c.path, group=group,
                       label=c.label, original_labels=original, official_split=None, source_kind=modality,
                       attributes=c.attributes, flags=tuple(dict.fromkeys(flags)))
        for corpus in sorted(total):
            message = warn_unknown_groups(corpus, root, unknown[corpus], total[corpus])
            if message:
                self.warnings.append(message)

    def _infer_modality(self, candidates: list[_Candidate]) -> Modality:
        counts = {"image": 0, "audio": 0}
        for c in candidates:
            kind = modality_of(c.path)
            if kind is not None:
                counts[kind] += 1
        if counts["image"] == counts["audio"] and counts["image"] > 0:
            raise ParameterError(f"as many image as audio files ({counts['image']}) in one generic source; put the "
                                 "images and the sounds in two folders and pass each as its own source "
                                 "(`resonance data prepare images=generic:DIR1 sounds=generic:DIR2`), or in Python "
                                 "give GenericAdapter(modality='image' or 'audio')")
        return "image" if counts["image"] > counts["audio"] else "audio"


def _native_attributes(native: Mapping[str, Any]) -> dict[str, Any]:
    facts = dict(native["attributes"])
    return {k: facts[k] for k in ("source_corpus", "speaker", "gender", "native_name") if k in facts}


__all__ = ["AUDIO_EXTENSIONS", "GenericAdapter", "IMAGE_EXTENSIONS", "check_corpus_name", "modality_of"]
