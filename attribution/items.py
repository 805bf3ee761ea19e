"""One pass over a dataset, in chunks, keeping only what a report needs of every item.

:func:`item_table` reads a sequence of items (a :class:`~resonance.train.manifest_data.ManifestDataset`
or a list) ``chunk`` at a time and keeps, per item, its modality, top label, label distribution,
embedding and descriptors -- a few hundred floats -- never the inputs themselves, so a report's memory
grows with the number of items by that much only. Inputs are read again, a chunk at a time, when a
method needs them (:meth:`ItemTable.parts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from attribution.targets import Target
from resonance.data.emotion import CATEGORIES, CATEGORY_INDEX
from resonance.errors import ParameterError


@dataclass
class ItemTable:
    """Per-item summaries of ``source`` (rows are positions in ``source``)."""

    source: Sequence[dict[str, Any]]
    modality: np.ndarray
    label: np.ndarray
    p: np.ndarray
    ids: list[str]
    embedding: np.ndarray
    descriptors: dict[str, np.ndarray]
    names: dict[str, list[str]]
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def rows(self, modality: str, emotion: str | None = None) -> np.ndarray:
        keep = self.modality == modality
        if emotion is not None:
            keep &= self.label == emotion
        return np.flatnonzero(keep)

    def descriptor_rows(self, rows: np.ndarray, modality: str) -> np.ndarray:
        """Descriptors (len(rows), D) of rows of one modality."""
        position = np.cumsum(self.modality == modality) - 1
        return self.descriptors[modality][position[rows]]

    def item(self, row: int) -> dict[str, Any]:
        it = self.source[int(row)]
        return self.transform(it) if self.transform else it

    def parts(self, rows: Sequence[int], modality: str) -> dict[str, torch.Tensor]:
        from resonance.train.data import collate

        return collate([self.item(r) for r in rows])[modality]

    def chunks(self, rows: np.ndarray, modality: str, size: int) -> Iterator[dict[str, torch.Tensor]]:
        for start in range(0, len(rows), size):
            yield self.parts(rows[start:start + size], modality)

    def prototype(self, emotion: str, modality: str) -> Target:
        """The target "alignment of a ``modality`` item to ``emotion``'s prototype in the other modality"."""
        other = "audio" if modality == "image" else "image"
        rows = self.rows(other, emotion)
        if not len(rows):
            raise ParameterError(f"no {other} items of emotion {emotion!r}, so no prototype to align to")
        proto = F.normalize(torch.as_tensor(self.embedding[rows].mean(0), dtype=torch.float32), dim=0)
        return Target("prototype", modality, emotion=emotion, prototype=proto)


def _descriptors_of(item: dict[str, Any]) -> np.ndarray:
    return np.asarray(item.get("descriptors", ()), dtype=np.float64).reshape(-1)


def item_table(model: Any, source: Sequence[dict[str, Any]], *, chunk: int = 128,
               names: Mapping[str, Sequence[str]] | None = None,
               transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
               progress: bool = False) -> ItemTable:
    """Embed every item of ``source`` in chunks and keep its label and descriptors.

    ``names`` are the descriptor columns per modality (default: the model's descriptor towers');
    ``transform`` is applied to every item read (e.g. attaching descriptors from a features table).
    """
    from attribution.ig import descriptor_tower
    from resonance.train.data import collate

    n = len(source)
    if n == 0:
        raise ParameterError("no items to explain: the split is empty; choose a split with items")
    device = next(model.parameters()).device
    modality, label, p, ids = [], [], [], []
    emb: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    desc: dict[str, list[np.ndarray]] = {"image": [], "audio": []}
    starts: Any = range(0, n, chunk)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="embedding", unit="chunk")
    for start in starts:
        batch = [source[i] for i in range(start, min(n, start + chunk))]
        if transform:
            batch = [transform(it) for it in batch]
        for k, it in enumerate(batch):
            modality.append(it["modality"])
            prob = np.asarray(it["p"], dtype=np.float64)
            p.append(prob)
            label.append(CATEGORIES[int(np.argmax(prob))])
            ids.append(str(it.get("id", start + k)))
            desc[it["modality"]].append(_descriptors_of(it))
        parts = collate(batch)
        with torch.no_grad():
            for m, part in parts.items():
                z = model.encode(m, {k: v.to(device) for k, v in part.items()}).cpu().numpy()
                where = [start + k for k, it in enumerate(batch) if it["modality"] == m]
                for row, vec in zip(where, z, strict=True):
                    emb[row] = vec
    mod = np.asarray(modality)
    if names is None:
        names = {m: list(descriptor_tower(model, m).names) for m in ("image", "audio") if (mod == m).any()}
    blocks = {}
    for m in ("image", "audio"):
        if not desc[m]:
            continue
        width = {len(d) for d in desc[m]}
        if width != {len(names.get(m, ()))} or 0 in width:
            raise ParameterError(f"the {m} items have no descriptors (or not the {len(names.get(m, ()))} expected): "
                                 "run `resonance features extract DATASET` first")
        blocks[m] = np.stack(desc[m])
    return ItemTable(source, mod, np.asarray(label), np.stack(p), ids, np.stack(emb).astype(np.float64), blocks,
                     {m: list(v) for m, v in names.items()}, transform)


def label_probability(table: ItemTable, rows: np.ndarray, emotion: str) -> np.ndarray:
    """The human label probability of ``emotion`` of the rows."""
    return table.p[rows, CATEGORY_INDEX[emotion]]
