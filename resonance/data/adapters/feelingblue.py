"""FeelingBlue: WikiArt images with relative (Best-Worst Scaling) scores for five emotions.

Reference
---------
Amith Ananthram, Olivia Winn, Smaranda Muresan. *FeelingBlue: A Corpus for Understanding the Emotional
Connotation of Color in Context.* TACL 11 (2023), doi:10.1162/tacl_a_00540. Annotation files: GitHub
``amith-ananthram/feelingblue``, folder ``corpora/``.

Upstream layout
---------------
::

    <root>/corpora/feelingblue_relative_scores.csv   emotion, image_id, filename, score
    <root>/corpora/feelingblue_splits.json           {"train": [filename, ...], "valid": [...]}
    <root>/corpora/wikiart/<artist>_<title>.jpg      the images (upstream code expects them here)

``<root>`` may be ``feelingblue/``, ``feelingblue/corpora/`` or the folder holding ``feelingblue/``.

Label semantics
---------------
Each image was scored in one or two *emotion subsets* (anger, disgust, fear, happiness, sadness). A
score is a Best-Worst-Scaling relative score in [-1, 1]: how often the image was chosen as the *most*
minus the *least* <emotion> in 4-tuples of images from the same subset. Scores are comparable only
within one emotion, and an emotion an image was never scored for is **missing, not zero**.

* ``original_labels['scores']`` holds a score per scored emotion only (unscored emotions are absent).
* Category distribution: over the scored emotions only, with weights proportional to ``(score + 1) / 2``,
  the BWS score mapped linearly to [0, 1] (0 = always chosen least, 1 = always chosen most). An image
  scored only for, say, fear gets a one-hot fear distribution: the corpus says nothing about the others.
  When every scored weight is 0 (every score -1) the distribution is undefined and the image is rejected
  (``malformed_label``); this does not happen in the real data.
* VAD: the distribution-weighted mean of the NRC-VAD category prototypes
  (:func:`~resonance.data.emotion.from_distribution` with ``vad=None``).
* ``official_split``: ``train`` -> ``'train'``, ``valid`` -> ``'val'``; ``None`` for an image in neither
  list (or in both, flagged ``split_conflict``).

Groups
------
The official split is **not artist-disjoint**: 112 of the 281 artists have images in both train and
valid. Honouring the official split therefore requires ``group`` to be the image itself (``local_id``);
the artist is kept in ``attributes['artist']`` so that an artist-disjoint re-split remains possible.

Rejections
----------
Of the 912 labelled images only 230 are present in the shared bundle: each absent one gives
``Rejection(reason='file_not_found')`` (682 in the real data). A score that is not a number in [-1, 1],
an emotion outside the shared categories, or two different scores for one (emotion, image) give
``malformed_label``. An image file that no score row names gives ``unlabelled``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resonance.data.adapters._files import is_image, read_csv
from resonance.data.emotion import canonical_category, from_distribution
from resonance.data.records import Item, Modality, Rejection, Split
from resonance.errors import ParameterError, ResonanceError

CORPUS = "feelingblue"
SCORES_FILE = "feelingblue_relative_scores.csv"
SPLITS_FILE = "feelingblue_splits.json"
IMAGE_DIR = "wikiart"
SPLIT_NAMES: dict[str, Split] = {"train": "train", "valid": "val"}


def find_feelingblue_dir(root: Path) -> Path | None:
    """The folder holding ``feelingblue_relative_scores.csv`` (``corpora/``), searched leniently."""
    root = Path(root)
    for candidate in (root, root / "corpora", root / "feelingblue", root / "feelingblue" / "corpora"):
        if (candidate / SCORES_FILE).is_file():
            return candidate
    return None


def bws_weight(score: float) -> float:
    """Map a Best-Worst-Scaling relative score in [-1, 1] to a non-negative weight ``(score + 1) / 2``.

    Raises
    ------
    ValueError
        If ``score`` is not a finite number in [-1, 1].
    """
    if not (math.isfinite(score) and -1.0 <= score <= 1.0):
        raise ValueError(f"BWS score {score} is outside [-1, 1]")
    return (score + 1.0) / 2.0


def read_scores(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Read ``feelingblue_relative_scores.csv`` grouped by file name.

    Returns
    -------
    images : dict
        filename -> ``{"image_id": str, "scores": {emotion: float}}`` for well-formed rows, in file order.
    problems : dict
        filename -> reason text for images with at least one malformed row (they are rejected whole,
        since a partial set of scores would silently change the distribution).
    """
    images: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}
    table = read_csv(path, ("emotion", "image_id", "filename", "score"), sniff=False, allow_empty=True)
    for line, row in zip(table.lines, table.rows, strict=True):
        filename = row["filename"]
        if not filename:
            problems[f"<line {line}>"] = f"line {line}: empty filename"
            continue
        entry = images.setdefault(filename, {"image_id": row["image_id"], "scores": {}})
        try:
            emotion = canonical_category(row["emotion"])
            score = float(row["score"])
            bws_weight(score)
        except (KeyError, ValueError) as exc:
            problems.setdefault(filename, f"line {line}: {exc.args[0] if exc.args else exc}")
            continue
        previous = entry["scores"].get(emotion)
        if previous is not None and previous != score:
            problems.setdefault(filename, f"line {line}: two scores for {emotion}: {previous} and {score}")
        entry["scores"][emotion] = score
    return images, problems


def read_splits(path: Path) -> dict[str, list[str]]:
    """Read ``feelingblue_splits.json`` as ``{split: [filename, ...]}`` (upstream names: train, valid)."""
    with open(path, encoding="utf-8") as handle:
        splits = json.load(handle)
    if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
        raise ResonanceError(f"{path} should hold {{'train': [...], 'valid': [...]}}")
    unknown = set(splits) - set(SPLIT_NAMES)
    if unknown:
        raise ResonanceError(f"{path} has unknown split names {sorted(unknown)}; "
                             f"expected {sorted(SPLIT_NAMES)}")
    return splits


class FeelingBlueAdapter:
    """Reader of the FeelingBlue corpus (see the module docstring for layout and label rules)."""

    name: str = CORPUS
    modality: Modality = "image"

    def detect(self, root: Path) -> bool:
        """True when ``root`` (or a ``corpora``/``feelingblue`` child) holds the relative-scores file."""
        return find_feelingblue_dir(Path(root)) is not None

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        """Yield an :class:`Item` per scored image present and a :class:`Rejection` for each other one.

        Raises
        ------
        ParameterError
            If ``root`` holds no ``feelingblue_relative_scores.csv``.
        ResonanceError
            If a label file is not in the upstream format.
        """
        base = find_feelingblue_dir(Path(root))
        if base is None:
            raise ParameterError(f"{root} holds no {SCORES_FILE} "
                                 "(searched ./, corpora/, feelingblue/, feelingblue/corpora/)")
        image_dir = base / IMAGE_DIR
        images, problems = read_scores(base / SCORES_FILE)
        split_of: dict[str, Split | None] = {}
        conflicts: set[str] = set()
        if (base / SPLITS_FILE).is_file():
            for upstream, names in read_splits(base / SPLITS_FILE).items():
                for filename in names:
                    if filename in split_of:
                        conflicts.add(filename)
                    split_of[filename] = SPLIT_NAMES[upstream]

        for key, reason in problems.items():
            if key not in images:
                yield Rejection(CORPUS, str(base / SCORES_FILE), "malformed_label", reason)
        seen: set[str] = set()
        for filename, entry in sorted(images.items()):
            path = image_dir / filename
            seen.add(filename)
            if filename in problems:
                yield Rejection(CORPUS, str(path), "malformed_label", problems[filename])
                continue
            if not path.is_file():
                yield Rejection(CORPUS, str(path), "file_not_found",
                                f"{filename} is scored but absent from {image_dir}")
                continue
            scores: dict[str, float] = dict(entry["scores"])
            weights = {emotion: bws_weight(score) for emotion, score in scores.items()}
            if sum(weights.values()) <= 0.0:
                yield Rejection(CORPUS, str(path), "malformed_label",
                                f"every scored emotion has score -1 ({scores}); the distribution is undefined")
                continue
            flags: tuple[str, ...] = ()
            split = split_of.get(filename)
            if filename in conflicts:
                split, flags = None, ("split_conflict",)
            artist, _, title = path.stem.partition("_")
            upstream_split = next((k for k, v in SPLIT_NAMES.items() if v == split), None)
            yield Item(
                corpus=CORPUS, local_id=path.stem, modality="image", path=path, group=path.stem,
                label=from_distribution(weights), official_split=split, source_kind="image",
                original_labels={"image_id": entry["image_id"], "filename": filename, "scores": scores,
                                 "split": upstream_split},
                attributes={"artist": artist, "title": title}, flags=flags,
            )

        if image_dir.is_dir():
            for path in sorted(image_dir.iterdir()):
                if is_image(path) and path.name not in seen and path.is_file():
                    yield Rejection(CORPUS, str(path), "unlabelled", f"no row of {SCORES_FILE} names it")


__all__ = ["FeelingBlueAdapter", "bws_weight", "find_feelingblue_dir", "read_scores", "read_splits"]
