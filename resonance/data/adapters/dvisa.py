"""D-ViSA: abstract-expressionist WikiArt images with categorical and valence/arousal/dominance labels.

Reference
---------
Seoyun Kim, ChaeHee An, Junyeop Cha, Dongjae Kim, Eunil Park. *D-ViSA: A Dataset for Detecting Visual
Sentiment from Art Images.* ICCV 2023 Workshops, pp. 3051-3059. Labels: GitHub ``dxlabskku/D-ViSA``.

Upstream layout
---------------
::

    <root>/D-ViSA.csv                  artwork, final_emo, final_vad
    <root>/art_emo_vad_dataset.csv     <index>, artwork, emo1..emo3, vad1..vad3, final_emo, final_vad
    <root>/data/<artist>_<title>.jpg   the images (``<root>/`` itself is searched too)

``<root>`` may also be the folder holding ``d-visa/``. ``art_emo_vad_dataset.csv`` was deleted from the
upstream repository's HEAD (it is recovered from history in the shared bundle); without it every item
falls back to a one-hot ``final_emo`` distribution and carries the flag ``no_annotator_labels``.

Label semantics
---------------
* ``final_emo`` is one of the 8 Mikels / ArtEmis categories; ``final_vad`` is a Python-list string
  ``[valence, arousal, dominance]`` in [0, 1], D-ViSA's own aggregate (its rule is undocumented). It is
  used verbatim as the item's VAD.
* ``emoN`` is annotator N's categorical choice, a list string of 1..7 labels. The item's category
  distribution is the annotators' label distribution: each annotator with a non-empty annotation spreads
  weight 1 equally over its labels, and the weights are averaged over those annotators. Empty
  annotations (``[]`` or ``['']``, 18 in the real file) are *excluded*, flagged ``annotatorN_empty``.
* ``vadN`` is annotator N's ``[V, A, D]``; it does not enter the label (``final_vad`` does) but is kept in
  ``original_labels``. A value outside [0, 1] (annotator 2 of
  ``jackson-pollock_untitled-o-connor-thaw-770(1).jpg`` has valence 100.0) is kept verbatim and flagged
  ``annotatorN_vad_out_of_range``; upstream evidently dropped it too (its ``final_vad`` valence equals the
  mean of the other two annotators).
* Ties: three annotators often disagree completely (e.g. ``['awe'], ['excitement'], ['fear']``), and
  :attr:`~resonance.data.emotion.EmotionLabel.emotion` breaks ties by
  :data:`~resonance.data.emotion.CATEGORIES` order, which puts anger, disgust, fear and sadness first.
  Left alone, that rule would relabel 446 of the 2,782 images and bias the hard label towards negative
  categories (excitement 344 -> 199, disgust 249 -> 380). So **final_emo wins ties**: it is the label's
  ``preferred`` category (the distribution itself stays exactly the annotators' vote shares), and the
  item is flagged ``final_emo_tie_break``. Where the annotators' majority is *not* ``final_emo`` (277
  images; upstream's aggregation rule is undocumented) the distribution is left as the votes say,
  ``label.emotion`` differs from ``final_emo`` and the item is flagged ``final_emo_not_argmax``.
  ``final_emo`` is always in ``original_labels``, with ``agreement``: the fraction of non-empty
  annotators whose labels include it.

Quirks handled
--------------
* Two label rows name ``georgia-o'keeffe_...`` while the files are ``georgia-okeeffe_...``: when the
  exact name is absent, the name without apostrophes is tried. ``local_id`` and ``group`` follow the file.
* A malformed ``final_vad`` (not a list of three numbers in [0, 1]) or a ``final_emo`` outside the
  shared categories gives ``Rejection(reason='malformed_label')`` and the scan carries on; a labelled
  file that is absent gives ``'file_not_found'``; an image without a label row gives ``'unlabelled'``.

Group is the artist (the slug before the first ``_``): 141 artists in the real data.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from resonance.data.adapters._files import is_image, read_rows
from resonance.data.emotion import EmotionLabel, canonical_category, from_distribution
from resonance.data.records import Item, Modality, Rejection
from resonance.errors import ParameterError

CORPUS = "dvisa"
LABEL_FILE = "D-ViSA.csv"
ANNOTATOR_FILE = "art_emo_vad_dataset.csv"
VAD_SOURCE = "D-ViSA final_vad (Kim et al. 2023)"
N_ANNOTATORS = 3
#: Weight added to ``final_emo`` when it ties for the most probable category (see the module docstring).


def find_dvisa_dir(root: Path) -> Path | None:
    """The folder holding ``D-ViSA.csv``: ``root`` itself or one of its ``d-visa`` / ``D-ViSA`` children."""
    root = Path(root)
    for candidate in (root, root / "d-visa", root / "D-ViSA", root / "dvisa"):
        if (candidate / LABEL_FILE).is_file():
            return candidate
    return None


def parse_vad(text: str) -> tuple[float, float, float]:
    """Parse a D-ViSA VAD list string such as ``'[0.2, 0.30000000000000004, 0.2]'``.

    Raises
    ------
    ValueError
        If the text is not a Python list of three finite numbers. The range is *not* checked here, so
        that out-of-range annotator values can be kept verbatim and flagged.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"not a Python list literal: {text!r}") from exc
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"expected a list [valence, arousal, dominance], got {text!r}")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value):
        raise ValueError(f"expected three finite numbers, got {text!r}")
    return float(value[0]), float(value[1]), float(value[2])


def parse_emotions(text: str) -> tuple[list[str], list[str]]:
    """Parse an annotator's label list string (``"['sadness', 'fear']"``).

    Returns
    -------
    verbatim : list of str
        The list as written upstream (kept in ``original_labels``).
    categories : list of str
        The canonical categories, with empty strings (``"['']"``) dropped; ``[]`` for an empty annotation.

    Raises
    ------
    ValueError
        If the text is not a list of strings; KeyError if a label names no shared category.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"not a Python list literal: {text!r}") from exc
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"expected a list of label strings, got {text!r}")
    return list(value), [canonical_category(x) for x in value if x.strip()]


def annotator_distribution(annotations: list[list[str]]) -> dict[str, float]:
    """Average over annotators of each annotator's uniform distribution over its own labels.

    Parameters
    ----------
    annotations : list of list of str
        One (possibly empty) label list per annotator; empty lists are skipped, not counted as zero.

    Returns
    -------
    dict
        Category -> probability, summing to 1; empty when every annotation is empty.
    """
    non_empty = [labels for labels in annotations if labels]
    weights: dict[str, float] = {}
    for labels in non_empty:
        for name in labels:
            weights[name] = weights.get(name, 0.0) + 1.0 / (len(labels) * len(non_empty))
    return weights


def _resolve_image(name: str, image_dirs: tuple[Path, ...]) -> Path | None:
    # The two georgia-o'keeffe rows name files that are stored without the apostrophe.
    for candidate_name in dict.fromkeys((name, name.replace("'", ""))):
        for folder in image_dirs:
            path = folder / candidate_name
            if path.is_file():
                return path
    return None


def _annotator_fields(row: Mapping[str, str]) -> tuple[dict[str, Any], list[list[str]], list[str]]:
    """Per-annotator labels and VADs as kept in ``original_labels``, the usable label lists, and flags."""
    emo_raw: list[Any] = []
    vad_raw: list[Any] = []
    usable: list[list[str]] = []
    flags: list[str] = []
    issues: list[str] = []
    for n in range(1, N_ANNOTATORS + 1):
        emo_text, vad_text = row.get(f"emo{n}", ""), row.get(f"vad{n}", "")
        try:
            verbatim, labels = parse_emotions(emo_text)
        except (ValueError, KeyError) as exc:
            verbatim, labels = emo_text, []
            flags.append(f"annotator{n}_malformed_emo")
            issues.append(f"emo{n} {emo_text!r} excluded from the distribution: {exc}")
        else:
            if not labels:
                flags.append(f"annotator{n}_empty")
                issues.append(f"emo{n} {emo_text!r} is empty and excluded from the distribution")
        usable.append(labels)
        emo_raw.append(verbatim)
        try:
            vad = parse_vad(vad_text)
        except ValueError as exc:
            vad_raw.append(vad_text)
            flags.append(f"annotator{n}_vad_malformed")
            issues.append(f"vad{n} {vad_text!r}: {exc}")
        else:
            vad_raw.append(list(vad))
            bad = [dim for dim, x in zip(("valence", "arousal", "dominance"), vad) if not 0.0 <= x <= 1.0]
            if bad:
                flags.append(f"annotator{n}_vad_out_of_range")
                issues.append(f"vad{n} {list(vad)}: {', '.join(bad)} outside [0, 1] (kept verbatim, unused)")
    fields = {"annotator_emotions": emo_raw, "annotator_vad": vad_raw, "annotation_issues": issues}
    return fields, usable, flags


class DvisaAdapter:
    """Reader of the D-ViSA corpus (see the module docstring for layout and label rules)."""

    name: str = CORPUS
    modality: Modality = "image"

    def detect(self, root: Path) -> bool:
        """True when ``root`` (or its ``d-visa`` child) holds ``D-ViSA.csv``."""
        return find_dvisa_dir(Path(root)) is not None

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        """Yield one :class:`Item` per labelled image present, and a :class:`Rejection` otherwise.

        Raises
        ------
        ParameterError
            If ``root`` holds no ``D-ViSA.csv``.
        ResonanceError
            If a label file lacks a required column.
        """
        base = find_dvisa_dir(Path(root))
        if base is None:
            raise ParameterError(f"{root} holds no {LABEL_FILE} (nor does a d-visa/ folder inside it)")
        image_dirs = tuple(d for d in (base / "data", base / "images", base) if d.is_dir())
        rows = read_rows(base / LABEL_FILE, ("artwork", "final_emo", "final_vad"))
        annotators: dict[str, dict[str, str]] = {}
        if (base / ANNOTATOR_FILE).is_file():
            required = ("artwork", *(f"emo{n}" for n in range(1, 4)), *(f"vad{n}" for n in range(1, 4)))
            annotators = {r["artwork"]: r for r in read_rows(base / ANNOTATOR_FILE, required)}

        labelled: set[Path] = set()  # files some row names, whether or not its label is usable
        for row in rows:
            path = _resolve_image(row["artwork"].strip(), image_dirs)
            if path is not None:
                labelled.add(path)
            yield self._item(row, annotators.get(row["artwork"]), path, image_dirs, base)

        # Images nobody labelled are not used; say so rather than dropping them silently.
        for folder in image_dirs[:1]:
            for path in sorted(folder.iterdir()):
                if is_image(path) and path not in labelled and path.is_file():
                    yield Rejection(CORPUS, str(path), "unlabelled", f"no row of {LABEL_FILE} names it")

    def _item(self, row: Mapping[str, str], annotator_row: Mapping[str, str] | None, path: Path | None,
              image_dirs: tuple[Path, ...], base: Path) -> Item | Rejection:
        artwork = row["artwork"].strip()
        where = str(path or (image_dirs[0] if image_dirs else base) / artwork)
        try:
            final_vad = parse_vad(row["final_vad"])
        except ValueError as exc:
            return Rejection(CORPUS, where, "malformed_label", f"final_vad: {exc}")
        if not all(0.0 <= x <= 1.0 for x in final_vad):
            return Rejection(CORPUS, where, "malformed_label", f"final_vad {list(final_vad)} outside [0, 1]")
        try:
            final_emo = canonical_category(row["final_emo"])
        except KeyError as exc:
            return Rejection(CORPUS, where, "malformed_label", f"final_emo: {exc.args[0]}")
        if path is None:
            return Rejection(CORPUS, where, "file_not_found",
                             f"{artwork} is labelled but absent from {', '.join(map(str, image_dirs))}")

        original: dict[str, Any] = {"artwork": artwork, "final_emo": row["final_emo"],
                                    "final_vad": list(final_vad)}
        flags: list[str] = []
        if annotator_row is None:
            weights: dict[str, float] = {}
            flags.append("no_annotator_labels")
        else:
            fields, usable, flags = _annotator_fields(annotator_row)
            original.update(fields)
            weights = annotator_distribution(usable)
            non_empty = [labels for labels in usable if labels]
            original["agreement"] = (sum(final_emo in labels for labels in non_empty) / len(non_empty)
                                     if non_empty else None)
            if not non_empty:
                flags.append("no_annotator_labels")
        if not weights:
            weights = {final_emo: 1.0}
        top = max(weights.values())
        tied = [c for c, w in weights.items() if math.isclose(w, top, rel_tol=1e-9)]
        if final_emo not in tied:
            flags.append("final_emo_not_argmax")
        elif len(tied) > 1:
            flags.append("final_emo_tie_break")
        label: EmotionLabel = from_distribution(weights, vad=final_vad, vad_source=VAD_SOURCE,
                                                preferred=final_emo)

        artist, _, title = path.stem.partition("_")
        return Item(
            corpus=CORPUS, local_id=path.stem, modality="image", path=path, group=artist, label=label,
            original_labels=original, official_split=None, source_kind="image",
            attributes={"artist": artist, "title": title}, flags=tuple(flags),
        )


__all__ = ["DvisaAdapter", "annotator_distribution", "find_dvisa_dir", "parse_emotions",
           "parse_vad"]
