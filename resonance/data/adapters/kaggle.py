"""Kaggle "Audio Emotions" adapter: one folder per class over a mix of RAVDESS, CREMA-D, TESS and SAVEE.

Layout
------
One folder per class: ``Angry Disgusted Fearful Happy Neutral Sad Suprised`` (upstream spelling;
``Surprised`` and any case are accepted). The folder gives the label.

Where each file came from
-------------------------
Each native name is tried against the RAVDESS, CREMA-D, TESS, SAVEE and EMO-DB parsers
(:func:`~resonance.data.adapters._groups.recognise_native_name`); when one recognises it,
``attributes['source_corpus']`` and the group (the speaker) come from it and ``local_id`` is
``<source_corpus>:<native id>``, so a RAVDESS recording inside a Kaggle tree is recognisably that
recording. A name whose emotion contradicts its class folder is rejected ``conflicting_labels`` (which
of the two is right cannot be known); of one recording under two class folders, a copy whose folder
agrees with its name is kept, and where both still remain (names without an emotion) every copy is
rejected ``conflicting_labels``.

Names no parser knows
---------------------
With ``group_pattern`` (a regex with a named group ``group``, searched in the path relative to the
root) the group is the match (``kaggle:<match>``). Otherwise the speaker is unknown: the file is its
own group ``kaggle:unknown:<stem>`` and is flagged ``unrecognised_name`` and ``unknown_group``; the
scan warns (:class:`~resonance.data.records.UnknownGroupWarning`) and the datasheet says that the
splits are not speaker-disjoint for those items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from resonance.data.adapters._groups import (
    compile_group_pattern,
    emotion_key,
    group_from_pattern,
    recognise_native_name,
    same_emotion,
    warn_unknown_groups,
)
from resonance.data.adapters._speech_common import (
    KAGGLE_CLASSES,
    KAGGLE_MIN_CLASSES,
    check_root,
    iter_audio_files,
    looks_like_kaggle,
    make_item,
)
from resonance.data.adapters.cremad import find_cremad_demographics
from resonance.data.emotion import canonical_category
from resonance.data.records import FLAG_UNKNOWN_GROUP, Item, Modality, Rejection


class KaggleAudioEmotionsAdapter:
    """Kaggle "Audio Emotions": class folders over a mix of RAVDESS, CREMA-D, TESS and SAVEE files.

    Parameters
    ----------
    group_pattern : str or None
        A regular expression with a named group ``group`` that gives the group of files whose names no
        corpus parser recognises (see the module docstring).
    """

    name = "kaggle"
    modality: Modality = "audio"

    def __init__(self, *, group_pattern: str | re.Pattern[str] | None = None) -> None:
        self.group_pattern = compile_group_pattern(group_pattern)
        #: What the last :meth:`scan` warned about (also issued as Python warnings).
        self.warnings: list[str] = []

    def detect(self, root: Path) -> bool:
        root = Path(root)
        try:
            return root.is_dir() and looks_like_kaggle(root)
        except OSError:
            return False

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        # Conflicts can only be seen once the whole tree is read, so items are buffered.
        root = check_root(root)
        demographics = find_cremad_demographics(root)
        items: list[Item] = []
        for entry in iter_audio_files(root, self.name):
            if isinstance(entry, Rejection):
                yield entry
                continue
            item = self._item(entry, root, demographics)
            if isinstance(item, Rejection):
                yield item
            else:
                items.append(item)
        folders: dict[str, set[str]] = {}
        for item in items:
            folders.setdefault(item.local_id, set()).add(item.label.emotion)
        kept = 0
        unknown = 0
        for item in items:
            if len(folders[item.local_id]) > 1:
                yield Rejection(self.name, str(item.path), "conflicting_labels",
                                f"{item.local_id!r} lies in class folders of different emotions "
                                f"({', '.join(sorted(folders[item.local_id]))})")
            else:
                kept += 1
                unknown += FLAG_UNKNOWN_GROUP in item.flags
                yield item
        message = warn_unknown_groups(self.name, root, unknown, kept)
        self.warnings = [message] if message else []

    def _item(self, path: Path, root: Path, demographics: Mapping[str, Mapping[str, Any]]
              ) -> Item | Rejection:
        relative = path.relative_to(root)
        class_folder = next((p.name for p in relative.parents if p.name.lower() in KAGGLE_CLASSES), None)
        if class_folder is None:
            return Rejection(self.name, str(path), "unlabelled",
                             f"not inside a class folder ({', '.join(sorted(KAGGLE_CLASSES))})")
        label = canonical_category(class_folder)
        native = recognise_native_name(path.stem, demographics)
        flags: tuple[str, ...] = ()
        if native is None:
            group = group_from_pattern(self.group_pattern, relative.as_posix())
            if group is not None:
                native_group = f"kaggle:{group}"
                flags = ("unrecognised_name",)
            else:
                # Without a recognised name or a pattern the speaker is unknown: each such file is its
                # own group, so it cannot be grouped with its speaker (flagged, warned, datasheet).
                native_group = f"kaggle:unknown:{path.stem}"
                flags = ("unrecognised_name", FLAG_UNKNOWN_GROUP)
            native = {
                "corpus": "kaggle", "local_id": path.stem, "speaker": path.stem, "group": native_group,
                "original_labels": {}, "attributes": {"source_corpus": None, "native_name": path.stem},
            }
            local_id = f"unknown:{path.stem}"
        elif {emotion_key(native["emotion"]), label} == {"calm", "neutral"}:
            # The Kaggle mix has no Calm folder: RAVDESS's calm recordings are filed under Neutral. The
            # recording's own corpus is the finer label; it is kept, with the folder in original_labels.
            label = emotion_key(native["emotion"])
            flags = ("label_from_name",)
            local_id = f"{native['corpus']}:{native['local_id']}"
        else:
            if not same_emotion(native["emotion"], label):
                return Rejection(self.name, str(path), "conflicting_labels",
                                 f"the name {path.stem!r} ({native['corpus']}) says {native['emotion']}, the class "
                                 f"folder {class_folder!r} says {label}")
            local_id = f"{native['corpus']}:{native['local_id']}"
        parsed = {**native, "local_id": local_id, "emotion": label, "label": None, "flags": (),
                  "original_labels": {"class_folder": class_folder, **native["original_labels"]}}
        return make_item(parsed, path, corpus=self.name, flags=flags)


__all__ = ["KAGGLE_CLASSES", "KAGGLE_MIN_CLASSES", "KaggleAudioEmotionsAdapter", "recognise_native_name"]
