"""A checkpoint's per-item outputs as a table: what ``resonance study run --predictions`` reads.

:func:`predict` embeds the labelled items of a prepared dataset with a trained dual encoder (every split,
or the ones asked for; preprocessing and input cache as in training and evaluation) and writes one row
per item (or per item and match) to Parquet or CSV:

=====================  ==============================================================================
``id``, ``modality``   the item (as in the manifest); ``corpus``, ``split`` beside them
``pred_valence``       the valence/arousal head's output, in [0, 1]
``pred_arousal``
``pred_p_<category>``  the category head's softmax, one column per :data:`~resonance.data.emotion.CATEGORIES`
``pred_category``      its most probable category
``match_id``           with ``match_k >= 1``: the item of the *other* modality nearest in the shared space
``match_score``        (a sound's closest paintings, a painting's closest sounds, among the predicted
``match_rank``         items), its cosine similarity and rank (1 = best); ``match_k`` rows per item
=====================  ==============================================================================

The table's Parquet metadata (or, for CSV, ``FILE.provenance.json`` beside it) records the checkpoint
(path, SHA-256, epoch, model name), the dataset's ``data_version``, the seed of the checkpoint's config,
the splits, the match settings and package versions. Studies read this table and never the model.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resonance.data.emotion import CATEGORIES
from resonance.errors import DatasetError, ParameterError

__all__ = ["PREDICTION_COLUMNS", "PredictResult", "predict", "predictions_frame"]

#: The per-item output columns (before the optional match columns).
PREDICTION_COLUMNS = ("id", "modality", "corpus", "split", "pred_valence", "pred_arousal",
                      *(f"pred_p_{c}" for c in CATEGORIES), "pred_category")


@dataclass
class PredictResult:
    """What :func:`predict` wrote."""

    path: Path
    table: pd.DataFrame
    provenance: dict[str, Any]
    notes: list[str]

    def summary(self) -> str:
        counts = self.table.drop_duplicates("id")["modality"].value_counts().to_dict()
        parts = ", ".join(f"{n} {'paintings' if m == 'image' else 'sounds'}" for m, n in sorted(counts.items()))
        matched = f", {self.provenance['match_k']} match(es) each" if self.provenance.get("match_k") else ""
        return f"predictions of {parts}{matched} -> {self.path}"


def predictions_frame(embeddings: Any, meta: pd.DataFrame | None = None, *, match_k: int = 1,
                      match_corpora: Sequence[str] | None = None) -> pd.DataFrame:
    """The predictions table of an :class:`~resonance.evaluate.embed.Embeddings` (see the module docstring).

    ``meta`` (indexed by id, optional) supplies ``corpus`` and ``split``. With ``match_k >= 1`` each item
    gets its ``match_k`` nearest items of the other modality (exact cosine search through
    :class:`~resonance.evaluate.index.EmbeddingIndex`), one row per (item, match); an item whose other
    modality is absent keeps one row with an empty match. ``match_corpora`` restricts the items matched
    against to those corpora (e.g. the paintings of ``dvisa``, not the probe images).
    """
    from resonance.evaluate.index import EmbeddingIndex

    if int(match_k) < 0:
        raise ParameterError(f"match_k must be >= 0, got {match_k}")
    ids = np.asarray(embeddings.ids).astype(str)
    frame = pd.DataFrame({"id": ids, "modality": np.asarray(embeddings.modality).astype(str)})
    for column in ("corpus", "split"):
        frame[column] = (meta[column].reindex(ids).astype(object).to_numpy() if meta is not None and column in meta
                         else None)
    va = np.asarray(embeddings.va, dtype=np.float64)
    probs = np.asarray(embeddings.category_probs, dtype=np.float64)
    frame["pred_valence"], frame["pred_arousal"] = va[:, 0], va[:, 1]
    for j, category in enumerate(CATEGORIES):
        frame[f"pred_p_{category}"] = probs[:, j]
    frame["pred_category"] = np.asarray(CATEGORIES, dtype=object)[probs.argmax(axis=1)]
    if not match_k:
        return frame
    parts = []
    for modality, other in (("audio", "image"), ("image", "audio")):
        rows = np.flatnonzero(frame["modality"].to_numpy() == modality)
        if not len(rows):
            continue
        gallery = frame["modality"].to_numpy() == other
        if match_corpora:
            gallery &= frame["corpus"].isin(list(match_corpora)).to_numpy()
        gallery = np.flatnonzero(gallery)
        block = frame.iloc[rows]
        if not len(gallery):
            parts.append(block.assign(match_id=None, match_score=np.nan, match_rank=np.nan))
            continue
        index = EmbeddingIndex.build(embeddings.embeddings[gallery], ids=ids[gallery].tolist(),
                                     modality=[other] * len(gallery), kind="exact")
        found = index.search(embeddings.embeddings[rows], k=int(match_k))
        k = found.ids.shape[1]
        repeated = block.loc[block.index.repeat(k)].reset_index(drop=True)
        parts.append(repeated.assign(match_id=found.ids.reshape(-1).astype(str),
                                     match_score=found.scores.reshape(-1).astype(np.float64),
                                     match_rank=np.tile(np.arange(1, k + 1), len(rows))))
    return pd.concat(parts, ignore_index=True)


def predict(checkpoint: str | os.PathLike[str], dataset_dir: str | os.PathLike[str], out: str | os.PathLike[str],
            *, splits: Sequence[str] | None = None, fold: int | None = None,
            features: str | os.PathLike[str] | None = None, match_k: int = 1,
            match_corpora: Sequence[str] | None = None, batch_size: int = 64,
            device: str = "auto", cache_dir: str | None = None,
            progress: bool = True, log: Callable[[str], None] | None = None) -> PredictResult:
    """Embed the labelled items of ``dataset_dir`` with ``checkpoint`` and write their predictions to ``out``.

    Parameters
    ----------
    checkpoint : path-like
        A ``.pt`` written by ``resonance train``.
    dataset_dir : path-like
        A dataset folder written by ``resonance data prepare``.
    out : path-like
        ``.parquet`` (default for any other suffix) or ``.csv``.
    splits : sequence of str, optional
        The manifest splits to predict (default: every split). Matches are searched among these items.
    fold : int, optional
        Read the splits as in cross-validation fold ``fold`` (e.g. with ``splits=["test"]`` only the actors
        that fold held out, beside the non-folded corpora's test split), so that a fold's checkpoint is
        judged on items it did not train on. Default: the fold the checkpoint was trained on, if any; another
        fold, or a fold for a checkpoint of the manifest split, is refused (as ``resonance evaluate`` does,
        :func:`resonance.evaluate.protocol.checkpoint_fold`).
    features : path-like, optional
        Features table for descriptor/hybrid towers (default: ``features.parquet`` in or beside the dataset).
    match_k : int
        Nearest items of the other modality per item (0: no match columns).
    match_corpora : sequence of str, optional
        Match only against items of these corpora (default: every predicted item of the other modality).
    cache_dir : str, optional
        The preprocessed-input cache (default: the checkpoint's ``data.cache_dir``).

    Returns
    -------
    PredictResult
    """
    from handcrafted.table import write_csv, write_table
    from resonance.data.manifest import read_manifest
    from resonance.evaluate.embed import embed_dataset
    from resonance.evaluate.gallery import checkpoint_id
    from resonance.evaluate.protocol import apply_fold, find_features, train_config_of
    from resonance.io.atomic import write_text_atomic
    from resonance.provenance import package_versions
    from resonance.train.checkpoint import load_model
    from resonance.train.manifest_data import ManifestDataset

    out = Path(out)
    if out.is_dir():
        raise ParameterError(f"--out {out} is a folder; give a file name (predictions.parquet or .csv)")
    if int(match_k) < 0:
        raise ParameterError(f"match_k must be >= 0, got {match_k}")
    model, ckpt = load_model(checkpoint)
    frame = read_manifest(dataset_dir)
    info = frame.attrs.get("manifest")
    if "split" not in frame.columns:
        raise DatasetError(f"the manifest of {dataset_dir} has no split column; re-run `resonance data prepare`")
    config = train_config_of(ckpt)
    fold, fold_info = apply_fold(frame, ckpt, config, fold, None, Path(checkpoint))
    if fold_info is not None:
        frame = fold_info["frame"]
    present = sorted(set(frame["split"].dropna().astype(str)) - {""})
    chosen = list(splits) if splits else present
    unknown = [s for s in chosen if s not in present]
    if unknown:
        raise DatasetError(f"{dataset_dir} has no split {unknown[0]!r}; its splits are {present}")
    data = config.data
    features_path = find_features(dataset_dir, features)
    data = dataclasses.replace(data, dataset=str(dataset_dir), features=str(features_path) if features_path else "",
                               cache_dir=str(cache_dir) if cache_dir else data.cache_dir)
    config = dataclasses.replace(config, data=data)
    items = ManifestDataset(dataset_dir, chosen, config, frame=frame, evaluation=False)
    if fold_info is not None:
        items.notes.append(fold_info["note"])
    if len(items) == 0:
        raise DatasetError(f"splits {chosen} of {dataset_dir} hold no labelled items to predict")
    if log:
        log(f"predicting {len(items)} items of {dataset_dir} ({', '.join(chosen)}) with {checkpoint}")
    emb = embed_dataset(model, items, batch_size=batch_size, device=device, progress=progress,
                        description="predicting")
    meta = items.frame.set_index("id")
    table = predictions_frame(emb, meta, match_k=match_k, match_corpora=match_corpora)
    provenance = {"kind": "predictions", "checkpoint": str(Path(checkpoint).resolve()),
                  "checkpoint_id": checkpoint_id(checkpoint), "epoch": ckpt.get("epoch"),
                  "model": ckpt["config"].get("model", {}).get("name"), "seed": ckpt["config"].get("seed"),
                  "trained_on_data_version": ckpt.get("data_version"), "dataset": str(Path(dataset_dir).resolve()),
                  "data_version": getattr(info, "data_version", None), "splits": chosen, "fold": fold,
                  "features": str(features_path) if features_path else None, "match_k": int(match_k),
                  "match_corpora": list(match_corpora) if match_corpora else None,
                  "items": int(len(emb)), "failed": [list(f) for f in emb.failed], "notes": list(items.notes),
                  "packages": package_versions()}
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        write_csv(table, out)
        write_text_atomic(out.with_name(out.name + ".provenance.json"),
                          json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n")
    else:
        write_table(table, out, provenance)
    return PredictResult(out, table, provenance, list(items.notes))
