"""Adapter for the synthetic probe stimuli written by :func:`resonance.data.probes.generate_probes`.

Layout: ``root/probes.csv`` (one row per stimulus), ``root/images/*.png``, ``root/sounds/*.flac``.

The probes are the one corpus with both modalities. The :class:`~resonance.data.records.Adapter`
protocol has a single ``modality`` attribute; it is set to ``"image"`` (the first modality in the
csv) and each yielded :class:`Item` carries its own ``modality`` from its row, images and sounds alike.
Consumers must read ``Item.modality``, never ``adapter.modality``, for this corpus.

Groups (the unit that must not straddle splits) are written by the generator: for images the
composition layout (one per texture x hue cell; its saturation x brightness variants share every
shape), for melodies the contour (one per register x timbre cell; its tempo, mode and loudness variants
are the same tune), and for steady tones the register (same pitch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resonance.data.emotion import from_va
from resonance.data.probes import CSV_COLUMNS, RULES
from resonance.data.records import Item, Modality, Rejection

#: Generating parameters per modality (empty cells of the other modality are left out).
_IMAGE_PARAMS = ("kind", "hue_deg", "saturation", "brightness", "texture", "layout", "image_size", "seed")
_SOUND_PARAMS = ("kind", "tempo_bpm", "mode", "loudness_dbfs", "register_midi", "timbre_brightness",
                 "harmonic_rolloff", "melody", "duration_s", "sample_rate", "seed")


def _read_header(csv_path: Path) -> list[str]:
    with open(csv_path, encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


class ProbesAdapter:
    """Reads a probe folder; yields one :class:`Item` (or :class:`Rejection`) per csv row."""

    name = "probes"
    corpus = "probes"
    #: Nominal only: the probes hold images *and* sounds, each item says which (module docstring).
    modality: Modality = "image"

    def detect(self, root: Path) -> bool:
        """True if ``root/probes.csv`` exists and has every probe column."""
        csv_path = Path(root) / "probes.csv"
        if not csv_path.is_file():
            return False
        try:
            header = _read_header(csv_path)
        except (OSError, UnicodeDecodeError):
            return False
        return set(CSV_COLUMNS) <= set(header)

    def scan(self, root: Path) -> Iterator[Item | Rejection]:
        """Yield every probe; a row whose file is missing, or whose label is unusable, is a Rejection."""
        import pandas as pd

        root = Path(root)
        csv_path = root / "probes.csv"
        if not self.detect(root):
            yield Rejection(self.corpus, str(csv_path), "not_a_probe_folder",
                            f"{csv_path} is missing or lacks the columns {', '.join(CSV_COLUMNS)}")
            return
        # keep_default_na=False: the empty ``mode`` of a tone stays "" rather than becoming NaN.
        table = pd.read_csv(csv_path, keep_default_na=False, na_values={
            c: [""] for c in CSV_COLUMNS if c not in ("file", "modality", "local_id", "group", "kind",
                                                      "texture", "mode", "rule")})
        for row in table.to_dict(orient="records"):
            yield self._item(root, row)

    def _item(self, root: Path, row: dict[str, Any]) -> Item | Rejection:
        path = root / str(row["file"])
        modality = row["modality"]
        if modality not in ("image", "audio"):
            return Rejection(self.corpus, str(path), "bad_modality", f"modality={modality!r}")
        if not path.is_file():
            return Rejection(self.corpus, str(path), "file_not_found", f"{row['file']} listed in probes.csv")
        rule = str(row["rule"])
        if rule not in RULES:
            return Rejection(self.corpus, str(path), "unknown_rule", f"rule={rule!r}; known: {sorted(RULES)}")
        dominance = float(row["dominance"])
        try:
            label = from_va(float(row["valence"]), float(row["arousal"]), dominance,
                            vad_source=RULES[rule], synthetic=True)
        except ValueError as error:
            return Rejection(self.corpus, str(path), "bad_label", str(error))
        names = _IMAGE_PARAMS if modality == "image" else _SOUND_PARAMS
        attributes = {name: _plain(row[name]) for name in names}
        original = {"rule": rule, "valence": float(row["valence"]), "arousal": float(row["arousal"]),
                    "dominance": None if math.isnan(dominance) else dominance}
        return Item(
            corpus=self.corpus,
            local_id=str(row["local_id"]),
            modality=modality,
            path=path,
            group=str(row["group"]),
            label=label,
            original_labels=original,
            official_split=None,
            source_kind=modality,
            attributes=attributes,
            flags=("synthetic",),
        )


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, NaN to None (attributes are JSON-serialised downstream)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
