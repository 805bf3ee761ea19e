"""Galleries to match against: ``resonance index build`` and ``resonance match``.

:func:`build_index` embeds a gallery -- a prepared dataset (every split, labelled or not) or a plain folder
of images and sounds without labels (made a manifest by
:func:`resonance.data.manifest.unlabelled_manifest`, every item marked ``unlabelled``) -- and persists one
:class:`~resonance.evaluate.index.EmbeddingIndex` per modality (exact for small galleries, HNSW for large
ones)::

    INDEX/image/    index.faiss, items.parquet, index.json   (the paintings)
    INDEX/audio/    ...                                      (the sounds)
    INDEX/gallery.json                                       written last

``gallery.json`` records the checkpoint (path and SHA-256), the source, the item counts, the SHA-256 of
each sub-index's ``index.json`` (so a folder whose parts come from different builds is refused), the files
that were skipped (not media) and those that did not decode.

:func:`match` embeds one query file with the same checkpoint and searches the *other* modality by default
(a sound finds paintings, a painting finds sounds), returning the ``k`` best with their cosine scores, and
optionally draws a contact sheet. A query that does not decode raises
:class:`~resonance.errors.DecodeError` (one line on the command line).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resonance.errors import DatasetError, InputNotFoundError, ParameterError

__all__ = ["GALLERY_FILE", "BuildResult", "MatchResult", "build_index", "load_gallery", "match"]

GALLERY_FILE = "gallery.json"
GALLERY_FORMAT = 1
_REBUILD = "rebuild it with `resonance index build CHECKPOINT SOURCE --out INDEX`"


@dataclass
class BuildResult:
    """What :func:`build_index` wrote."""

    folder: Path
    counts: dict[str, int]
    kind: dict[str, str]
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        parts = ", ".join(f"{n} {'paintings' if m == 'image' else 'sounds'} ({self.kind[m]})"
                          for m, n in self.counts.items())
        extra = ""
        if self.failed:
            extra += f"; {len(self.failed)} files did not decode (e.g. {self.failed[0][1]})"
        if self.skipped:
            extra += f"; {len(self.skipped)} files skipped (not images or sounds)"
        return f"index {self.folder}: {parts}{extra}"


@dataclass
class MatchResult:
    """The ``k`` gallery items nearest to a query, best first."""

    query: Path
    query_modality: str
    target_modality: str
    hits: pd.DataFrame  # rank, id, path, label, score
    sheet: Path | None = None


def checkpoint_id(path: str | os.PathLike[str]) -> str:
    """``"sha256:<hex>"`` of a checkpoint file (what an index records and a match checks)."""
    from resonance.io.atomic import sha256_file

    return "sha256:" + sha256_file(path)


def _gallery_frame(source: Path) -> tuple[pd.DataFrame, list[tuple[str, str, str]], str]:
    from resonance.data.manifest import manifest_file, read_manifest, unlabelled_manifest

    try:
        manifest_file(source)
    except InputNotFoundError:
        scan = unlabelled_manifest(source)
        return scan.manifest, list(scan.skipped), "unlabelled"
    return read_manifest(source), [], "dataset"


def _params(model_ckpt: Any, frame: pd.DataFrame) -> tuple[Any, Any]:
    from resonance.evaluate.embed import input_params
    from resonance.evaluate.protocol import train_config_of

    info = frame.attrs.get("manifest")
    return input_params(train_config_of(model_ckpt), getattr(info, "sample_rate", None))


def build_index(checkpoint: str | os.PathLike[str], source: str | os.PathLike[str], out: str | os.PathLike[str], *,
                features: str | os.PathLike[str] | None = None, kind: str = "auto", batch_size: int = 32,
                device: str = "auto", progress: bool = True,
                log: Callable[[str], None] | None = None) -> BuildResult:
    """Embed the gallery ``source`` with ``checkpoint`` and write the index folder ``out``.

    Parameters
    ----------
    checkpoint : path-like
        A ``.pt`` from ``resonance train``.
    source : path-like
        A prepared dataset (folder or ``manifest.parquet``), a plain folder of images/sounds, or a ``.txt``
        list of their paths.
    out : path-like
        The index folder (created; a previous index there is replaced).
    features : path-like, optional
        A features table for descriptor/hybrid towers (default: found beside a dataset; otherwise the
        descriptors are computed from the files).
    kind : {"auto", "exact", "hnsw"}
        See :meth:`EmbeddingIndex.build`.

    Returns
    -------
    BuildResult
    """
    from resonance.evaluate.embed import FrameDataset, embed_dataset, model_descriptor_names
    from resonance.evaluate.index import EmbeddingIndex
    from resonance.evaluate.protocol import find_features, read_descriptor_tables
    from resonance.io.atomic import sha256_file, write_text_atomic
    from resonance.train.checkpoint import load_model

    out, source = Path(out), Path(source)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; pass a folder for the index")
    model, ckpt = load_model(checkpoint)
    frame, skipped, source_kind = _gallery_frame(source)
    names = model_descriptor_names(model)
    tables: dict[str, pd.DataFrame] = {}
    if names:
        path = find_features(source, features) if source_kind == "dataset" or features else None
        tables, _ = read_descriptor_tables(path, set(frame["id"])) if path is not None else ({}, "")
    image_params, audio_params = _params(ckpt, frame)
    dataset = FrameDataset(frame, image_params, audio_params, descriptors=tables, descriptor_names=names,
                           describe=bool(names), skip_errors=True)
    if log:
        log(f"embedding {len(frame)} gallery items from {source} ({source_kind})")
    emb = embed_dataset(model, dataset, batch_size=batch_size, device=device, progress=progress,
                        description="indexing")
    by_id = frame.set_index("id")
    cid = checkpoint_id(checkpoint)
    indexes: dict[str, EmbeddingIndex] = {}
    for modality in ("image", "audio"):
        rows = emb.modality == modality
        if not rows.any():
            continue
        ids = emb.ids[rows].tolist()
        items = by_id.loc[ids]
        labels = [e if isinstance(e, str) and e else None for e in items.get("emotion", pd.Series(None, index=ids))]
        indexes[modality] = EmbeddingIndex.build(emb.embeddings[rows], ids=ids, modality=[modality] * len(ids),
                                                 paths=items["path"].astype(str).tolist(),
                                                 labels=labels, checkpoint=cid, kind=kind)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"format": GALLERY_FORMAT, "checkpoint": str(Path(checkpoint).resolve()),
                            "checkpoint_id": cid, "source": str(source.resolve()), "source_kind": source_kind,
                            "embed_dim": int(emb.embeddings.shape[1]), "modalities": {}}
    for modality, index in indexes.items():
        index.save(out / modality)
        meta["modalities"][modality] = {"n_items": len(index), "kind": index.kind,
                                        "index_json_sha256": sha256_file(out / modality / "index.json")}
    meta["skipped"] = [list(s) for s in skipped]
    meta["failed"] = [list(f) for f in emb.failed]
    write_text_atomic(out / GALLERY_FILE, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return BuildResult(out, {m: len(i) for m, i in indexes.items()}, {m: i.kind for m, i in indexes.items()},
                       skipped, list(emb.failed))


def load_gallery(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(gallery.json contents, {modality: EmbeddingIndex})`` of an index folder, checked whole."""
    from resonance.evaluate.index import EmbeddingIndex
    from resonance.io.atomic import sha256_file

    folder = Path(folder)
    path = folder / GALLERY_FILE
    if not path.is_file():
        raise DatasetError(f"{folder} is not an index folder (no {GALLERY_FILE}); build one with "
                           "`resonance index build CHECKPOINT SOURCE --out INDEX`")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} cannot be read ({error}); {_REBUILD}") from None
    if not isinstance(meta, dict) or meta.get("format") != GALLERY_FORMAT:
        raise DatasetError(f"{path} has index format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                           f"this version reads {GALLERY_FORMAT}; {_REBUILD}")
    indexes = {}
    for modality, entry in meta.get("modalities", {}).items():
        sub = folder / modality
        if not (sub / "index.json").is_file() or sha256_file(sub / "index.json") != entry.get("index_json_sha256"):
            raise DatasetError(f"{sub} does not belong to {path} (an interrupted build or a changed file); {_REBUILD}")
        indexes[modality] = EmbeddingIndex.load(sub, expected_checkpoint=meta.get("checkpoint_id"))
    return meta, indexes


def match(query: str | os.PathLike[str], index: str | os.PathLike[str], *, k: int = 10,
          checkpoint: str | os.PathLike[str] | None = None, same_modality: bool = False,
          sheet: str | os.PathLike[str] | None = None, device: str = "auto") -> MatchResult:
    """The ``k`` gallery items of the other modality (or the same, ``same_modality``) nearest to ``query``.

    Raises
    ------
    InputNotFoundError
        ``query`` does not exist.
    DecodeError
        ``query`` does not decode (its reason names the problem).
    ParameterError, DatasetError
        Not an image or sound, no index, an index of another checkpoint, or no item of the target modality.
    """
    from resonance.data.adapters import modality_of
    from resonance.evaluate.contact_sheet import Tile, contact_sheet
    from resonance.evaluate.embed import FrameDataset, embed_dataset, model_descriptor_names
    from resonance.train.checkpoint import load_model

    if int(k) < 1:
        raise ParameterError(f"-k must be a positive integer, got {k}")
    query = Path(query)
    if not query.is_file():
        raise InputNotFoundError(f"query {query} does not exist; pass an image or a sound file")
    q_modality = modality_of(query)
    if q_modality is None:
        raise ParameterError(f"{query} is neither an image nor a sound (by its extension {query.suffix or '(none)'!r});"
                             " pass a painting (.png, .jpg ...) or a sound (.wav, .flac, .mp3 ...)")
    meta, indexes = load_gallery(index)
    target = q_modality if same_modality else ("audio" if q_modality == "image" else "image")
    if target not in indexes:
        noun = "paintings" if target == "image" else "sounds"
        raise DatasetError(f"the index {index} holds no {noun}; build it from a source with {noun}, "
                           "or pass --same to search the query's own modality")
    ckpt_path = Path(checkpoint) if checkpoint is not None else Path(meta["checkpoint"])
    if not ckpt_path.is_file():
        raise ParameterError(f"the checkpoint the index was built from, {ckpt_path}, is gone; pass it with "
                             "--checkpoint, or rebuild the index")
    if checkpoint_id(ckpt_path) != meta.get("checkpoint_id"):
        raise ParameterError(f"{ckpt_path} is not the checkpoint the index {index} was built from; pass that one "
                             f"with --checkpoint, or {_REBUILD}")
    model, ckpt = load_model(ckpt_path)
    frame = pd.DataFrame([{"id": f"query:{query.name}", "modality": q_modality, "path": str(query.resolve()),
                           "sha256": ""}])
    image_params, audio_params = _params(ckpt, frame)
    names = model_descriptor_names(model)
    dataset = FrameDataset(frame, image_params, audio_params, descriptor_names=names, describe=bool(names))
    dataset[0]  # decode now: a DecodeError names the problem before anything else happens
    emb = embed_dataset(model, dataset, batch_size=1, device=device, progress=False)
    result = indexes[target].search(emb.embeddings, k=k)
    items = indexes[target].items
    positions = result.positions[0]
    hits = pd.DataFrame({"rank": np.arange(1, len(positions) + 1), "id": result.ids[0],
                         "path": items["path"].to_numpy()[positions] if "path" in items else None,
                         "label": items["label"].to_numpy()[positions] if "label" in items else None,
                         "score": result.scores[0].astype(np.float64)})
    sheet_path = None
    if sheet is not None:
        tiles = [Tile(row.path, target, os.path.basename(str(row.path or row.id)),
                      f"#{row.rank} {row.score:.2f}" + (f" {row.label}" if isinstance(row.label, str) else ""))
                 for row in hits.itertuples(index=False)]
        sheet_path = contact_sheet(Tile(str(query), q_modality, query.name, f"query ({q_modality})"), tiles, sheet)
    return MatchResult(query, q_modality, target, hits, sheet_path)
