"""A persisted FAISS index of L2-normalised embeddings: a gallery that sounds and paintings search.

Scores are inner products of unit vectors, i.e. cosine similarities. Two kinds of index:

* ``"exact"`` -- :class:`faiss.IndexFlatIP`, brute force, for galleries up to ``exact_threshold`` items
  (50 000 by default): exact results, no build cost;
* ``"hnsw"`` -- :class:`faiss.IndexHNSWFlat` with ``METRIC_INNER_PRODUCT`` (Malkov & Yashunin, 2018),
  approximate, for larger galleries: sub-millisecond to few-millisecond queries at a million items, at
  the cost of a build and a recall below 1 (``ef_search`` trades speed for recall).

On disk an index is a folder of three files, each written atomically, ``index.json`` last:

* ``index.faiss`` -- :func:`faiss.write_index`;
* ``items.parquet`` -- one row per gallery item in index order: ``id`` and, when given, ``modality``,
  ``path`` and ``label`` (a gallery may be unlabelled);
* ``index.json`` -- provenance and the contract: format version, checkpoint id, embedding dimension,
  normalisation, metric, kind and HNSW parameters, item count, faiss version, and the SHA-256 of the two
  other files, so that :meth:`EmbeddingIndex.load` detects a folder whose files do not belong together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from resonance.errors import ParameterError
from resonance.io.atomic import atomic_path, sha256_file, write_text_atomic

__all__ = ["DEFAULT_EXACT_THRESHOLD", "FORMAT_VERSION", "EmbeddingIndex", "SearchResult"]

FORMAT_VERSION = 1
DEFAULT_EXACT_THRESHOLD = 50_000
_KINDS = ("auto", "exact", "hnsw")
_INDEX_FILE, _ITEMS_FILE, _META_FILE = "index.faiss", "items.parquet", "index.json"
_REBUILD = "rebuild it with `resonance index build`"


@dataclass(frozen=True, eq=False)
class SearchResult:
    """The ``k`` nearest gallery items of each query, best first.

    Attributes
    ----------
    ids : np.ndarray of str, shape (n_queries, k)
        Gallery item ids.
    scores : np.ndarray of float32, shape (n_queries, k)
        Cosine similarities, descending along each row.
    positions : np.ndarray of int64, shape (n_queries, k)
        Row numbers in :attr:`EmbeddingIndex.items`.
    """

    ids: np.ndarray
    scores: np.ndarray
    positions: np.ndarray


def _as_unit_float32(x: object, name: str, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 copy of ``x`` (n, d) with unit rows; errors name the fix."""
    arr = np.array(x, dtype=np.float32, order="C", copy=True, ndmin=2)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ParameterError(f"{name} must be a non-empty array of shape (n, dim); got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ParameterError(f"{name} have dimension {arr.shape[1]} but the index holds {dim}-d embeddings; embed "
                             f"them with the checkpoint the index was built from, or {_REBUILD}")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} contain NaN or infinite values; re-embed those items")
    norms = np.linalg.norm(arr, axis=1)
    if (norms == 0).any():
        raise ParameterError(f"{name} row {int(np.flatnonzero(norms == 0)[0])} is all zeros and has no direction")
    faiss.normalize_L2(arr)
    return arr


def _column(values: Sequence | None, name: str, n: int) -> list | None:
    if values is None:
        return None
    values = list(values)
    if len(values) != n:
        raise ParameterError(f"{name} has {len(values)} entries for {n} embeddings; pass one per item")
    return values


class EmbeddingIndex:
    """Nearest-neighbour search over a gallery of L2-normalised embeddings.

    Build with :meth:`build`, query with :meth:`search`, persist with :meth:`save` and :meth:`load`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> index = EmbeddingIndex.build(rng.normal(size=(100, 8)), ids=[f"p{i}" for i in range(100)])
    >>> index.kind, len(index)
    ('exact', 100)
    >>> index.search(rng.normal(size=(2, 8)), k=3).ids.shape
    (2, 3)
    """

    def __init__(self, index: faiss.Index, items: pd.DataFrame, meta: dict) -> None:
        self._index = index
        self._items = items
        self._meta = meta
        # Looked up on every search: a plain object array, since converting a pandas string column
        # costs ~0.2 s per call at a million items.
        self._ids = items["id"].to_numpy(dtype=object)

    # -- properties -------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """``"exact"`` or ``"hnsw"``."""
        return self._meta["kind"]

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self._meta["dim"])

    @property
    def items(self) -> pd.DataFrame:
        """One row per gallery item in index order (``id``, and ``modality``, ``path``, ``label`` if given)."""
        return self._items

    @property
    def provenance(self) -> dict:
        """A copy of the metadata written to ``index.json`` (without the file hashes)."""
        return {k: v for k, v in self._meta.items() if k != "sha256"}

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __repr__(self) -> str:
        return f"EmbeddingIndex(kind={self.kind!r}, n_items={len(self)}, dim={self.dim})"

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        *,
        ids: Sequence | None = None,
        modality: Sequence | None = None,
        paths: Sequence | None = None,
        labels: Sequence | None = None,
        checkpoint: str | None = None,
        kind: str = "auto",
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        hnsw_m: int = 32,
        ef_construction: int = 100,
        ef_search: int = 256,
    ) -> EmbeddingIndex:
        """Index ``embeddings`` (each row is L2-normalised here; the input is not modified).

        Parameters
        ----------
        embeddings : np.ndarray, shape (n_items, dim)
        ids : sequence of length n_items, optional
            Unique item ids (stored as strings); default ``"0" .. "n-1"``.
        modality, paths, labels : sequences of length n_items, optional
            Stored beside the index for display; ``labels`` may be omitted (an unlabelled gallery).
        checkpoint : str, optional
            Id of the model that produced the embeddings, kept as provenance and checked by :meth:`load`.
        kind : {"auto", "exact", "hnsw"}
            ``"auto"`` picks ``"exact"`` up to ``exact_threshold`` items and ``"hnsw"`` above.
        exact_threshold : int
            Largest gallery ``"auto"`` indexes exactly.
        hnsw_m, ef_construction, ef_search : int
            HNSW graph degree, build-time and query-time beam widths (``ef_search`` is raised to ``k`` when
            a search asks for more).

        Returns
        -------
        EmbeddingIndex
        """
        x = _as_unit_float32(embeddings, "embeddings")
        n, dim = x.shape
        if kind not in _KINDS:
            raise ParameterError(f"kind must be one of {_KINDS}; got {kind!r}")
        for name, value in (("exact_threshold", exact_threshold), ("hnsw_m", hnsw_m),
                            ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if int(value) < 1:
                raise ParameterError(f"{name} must be a positive integer; got {value}")
        ids = [str(i) for i in range(n)] if ids is None else [str(i) for i in _column(ids, "ids", n)]
        if len(set(ids)) != n:
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
            raise ParameterError(f"ids must be unique; {dup!r} occurs more than once")
        columns = {"id": ids}
        for name, values in (("modality", modality), ("path", paths), ("label", labels)):
            col = _column(values, name, n)
            if col is not None:
                columns[name] = [None if v is None else str(v) for v in col]
        chosen = ("exact" if n <= exact_threshold else "hnsw") if kind == "auto" else kind
        if chosen == "exact":
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, int(hnsw_m), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(ef_construction)
            index.hnsw.efSearch = int(ef_search)
        index.add(x)
        meta = {
            "format_version": FORMAT_VERSION,
            "checkpoint": checkpoint,
            "dim": int(dim),
            "normalisation": "l2",
            "metric": "inner_product",
            "kind": chosen,
            "n_items": int(n),
            "hnsw": {"m": int(hnsw_m), "ef_construction": int(ef_construction), "ef_search": int(ef_search)}
            if chosen == "hnsw" else None,
            "faiss_version": faiss.__version__,
            "columns": list(columns),
        }
        return cls(index, pd.DataFrame(columns), meta)

    # -- searching --------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int = 10) -> SearchResult:
        """The ``k`` most similar gallery items of each query.

        Parameters
        ----------
        queries : np.ndarray, shape (n_queries, dim) or (dim,)
            Query embeddings (L2-normalised here).
        k : int
            Neighbours per query, >= 1; clipped to the gallery size (a 4-painting gallery answers 4).

        Returns
        -------
        SearchResult
            Rows in query order, columns best first. Ties in an exact index come in gallery order.
        """
        if int(k) < 1:
            raise ParameterError(f"k must be a positive integer; got {k}")
        q = _as_unit_float32(queries, "queries", dim=self.dim)
        k = min(int(k), len(self))
        if self.kind == "hnsw":
            self._index.hnsw.efSearch = max(int(self._meta["hnsw"]["ef_search"]), k)
        scores, positions = self._index.search(q, k)
        if (positions < 0).any():  # HNSW found fewer than k: not expected with ef_search >= k, said if it happens
            raise ParameterError(f"the index returned fewer than k={k} neighbours; raise ef_search or {_REBUILD}")
        ids = self._ids[positions]
        return SearchResult(ids=ids, scores=scores, positions=positions.astype(np.int64))

    # -- persistence ------------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the index folder (see the module docstring); every file atomically, ``index.json`` last.

        Returns
        -------
        pathlib.Path
            ``folder``.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / _INDEX_FILE) as tmp:
            faiss.write_index(self._index, str(tmp))
        with atomic_path(folder / _ITEMS_FILE) as tmp:
            self._items.to_parquet(tmp, index=False)
        meta = dict(self._meta, sha256={_INDEX_FILE: sha256_file(folder / _INDEX_FILE),
                                        _ITEMS_FILE: sha256_file(folder / _ITEMS_FILE)})
        write_text_atomic(folder / _META_FILE, json.dumps(meta, indent=2) + "\n")
        self._meta = meta
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, expected_dim: int | None = None,
             expected_checkpoint: str | None = None) -> EmbeddingIndex:
        """Read an index folder written by :meth:`save`, checking that it is whole and fits the caller.

        Parameters
        ----------
        folder : path-like
        expected_dim : int, optional
            The dimension of the embeddings that will query it (the model's); a mismatch is an error.
        expected_checkpoint : str, optional
            The checkpoint id the caller embeds with; a different recorded id is an error.

        Returns
        -------
        EmbeddingIndex

        Raises
        ------
        ParameterError
            Missing files, a format from another version, files that do not belong together (an
            interrupted write or a hand edit), or a dimension or checkpoint mismatch; the message names
            the fix.
        """
        folder = Path(folder)
        meta_path = folder / _META_FILE
        if not meta_path.is_file():
            raise ParameterError(f"{folder} is not an index folder (no {_META_FILE}); build one with "
                                 "`resonance index build`")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ParameterError(f"{meta_path} cannot be read ({exc}); {_REBUILD}") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ParameterError(f"{folder} has index format {meta.get('format_version')!r}, this version reads "
                                 f"{FORMAT_VERSION}; {_REBUILD}")
        for name in (_INDEX_FILE, _ITEMS_FILE):
            path = folder / name
            if not path.is_file():
                raise ParameterError(f"{folder} lacks {name}; {_REBUILD}")
            if sha256_file(path) != meta.get("sha256", {}).get(name):
                raise ParameterError(f"{path} does not match {_META_FILE} (an interrupted write or a changed file); "
                                     f"{_REBUILD}")
        if expected_dim is not None and int(expected_dim) != int(meta["dim"]):
            raise ParameterError(f"the index at {folder} holds {meta['dim']}-d embeddings but the model gives "
                                 f"{expected_dim}-d ones; {_REBUILD} from this checkpoint")
        if expected_checkpoint is not None and meta.get("checkpoint") != expected_checkpoint:
            raise ParameterError(f"the index at {folder} was built from checkpoint {meta.get('checkpoint')!r}, not "
                                 f"{expected_checkpoint!r}; {_REBUILD} from this checkpoint")
        index = faiss.read_index(str(folder / _INDEX_FILE))
        items = pd.read_parquet(folder / _ITEMS_FILE)
        if index.d != meta["dim"] or index.ntotal != meta["n_items"] or len(items) != meta["n_items"]:
            raise ParameterError(f"{folder}: index ({index.ntotal} x {index.d}), items ({len(items)}) and "
                                 f"{_META_FILE} ({meta['n_items']} x {meta['dim']}) disagree; {_REBUILD}")
        if meta["kind"] == "hnsw":
            index.hnsw.efSearch = int(meta["hnsw"]["ef_search"])
        return cls(index, items, meta)
