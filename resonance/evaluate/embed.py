"""Embed a dataset with a trained dual encoder: ids, modality, L2-normalised embeddings and head outputs.

:func:`embed_dataset` runs a :class:`~resonance.models.DualEncoder` in eval mode, without gradients, over
any torch dataset of item dicts (see :mod:`resonance.train.data`), in batches, with a progress bar. Items
of both modalities may be mixed; the result keeps the dataset's order.

:class:`FrameDataset` turns the rows of a manifest (a prepared dataset's, or the in-memory one that
:func:`resonance.data.manifest.unlabelled_manifest` makes of a plain folder) into such items with the
preprocessing of :mod:`resonance.train.inputs` (decode, resize / log-mel windows) and, for descriptor and
hybrid towers, the item's descriptors from a features table (NaN where undefined or absent). It is what
index galleries and single queries go through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from resonance.data.emotion import CATEGORIES, CATEGORY_INDEX, CATEGORY_VAD
from resonance.errors import ParameterError

__all__ = ["Embeddings", "FrameDataset", "embed_dataset", "input_params", "model_descriptor_names",
           "resolve_device"]


@dataclass(frozen=True, eq=False)
class Embeddings:
    """What :func:`embed_dataset` returns, one row per item in dataset order.

    Attributes
    ----------
    ids : np.ndarray of str, shape (n,)
    modality : np.ndarray of str, shape (n,)
        ``"image"`` or ``"audio"``.
    embeddings : np.ndarray of float32, shape (n, dim)
        L2-normalised points of the shared space.
    va : np.ndarray of float32, shape (n, 2)
        The valence/arousal head's output, in [0, 1].
    category_probs : np.ndarray of float32, shape (n, 12)
        Softmax of the category head, in :data:`resonance.data.emotion.CATEGORIES` order.
    failed : list of (id, reason)
        Items left out because their file did not decode.
    """

    ids: np.ndarray
    modality: np.ndarray
    embeddings: np.ndarray
    va: np.ndarray
    category_probs: np.ndarray
    failed: list = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def subset(self, rows: np.ndarray) -> Embeddings:
        """The rows ``rows`` (a boolean mask or integer positions)."""
        return Embeddings(self.ids[rows], self.modality[rows], self.embeddings[rows], self.va[rows],
                          self.category_probs[rows])

    def reorder(self, ids: Sequence[str]) -> Embeddings:
        """Rows in the order of ``ids`` (each must be present)."""
        position = {str(i): n for n, i in enumerate(self.ids)}
        missing = [i for i in ids if str(i) not in position]
        if missing:
            raise ParameterError(f"{len(missing)} items were not embedded (e.g. {missing[0]!r})")
        return self.subset(np.array([position[str(i)] for i in ids], dtype=np.int64))


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; or ``"cpu"`` / ``"cuda"``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda', got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device 'cuda' was asked for but no CUDA device is available; use --device auto")
    return torch.device(name)


class _Collate:
    """Group items by modality; items that failed to load (an ``"error"`` key) are set aside."""

    def __call__(self, items: list[dict[str, Any]]) -> tuple[list[str], list[str], dict, list[tuple[str, str]]]:
        from resonance.train.data import collate

        good = [it for it in items if "error" not in it]
        failed = [(str(it.get("id", "")), str(it["error"])) for it in items if "error" in it]
        batch = collate(good) if good else {}
        return [str(it.get("id", "")) for it in good], [it["modality"] for it in good], batch, failed


@torch.no_grad()
def embed_dataset(model: torch.nn.Module, dataset: Dataset, *, batch_size: int = 32, device: str = "auto",
                  num_workers: int = 0, progress: bool = True, description: str = "embedding") -> Embeddings:
    """Embed every item of ``dataset`` (in eval mode, no gradients).

    Parameters
    ----------
    model : DualEncoder
    dataset : torch Dataset of item dicts
        Each with ``"modality"`` and ``"input"`` (and ``"descriptors"``/``"mask"`` for descriptor towers);
        an ``"id"`` is kept when present, else the position is the id. An item dict with an ``"error"``
        key (a file that did not decode, see :class:`FrameDataset`) is left out and listed in
        ``Embeddings.failed``.
    batch_size : int
        Items per forward pass, >= 1.
    device : {"auto", "cpu", "cuda"}
    num_workers : int
        DataLoader worker processes (0: load in this process).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    Embeddings
        In dataset order. The model is left in the train/eval mode it was in.
    """
    from resonance.parallel import progress_bar
    from resonance.train.data import move_batch

    if int(batch_size) < 1:
        raise ParameterError(f"batch_size must be >= 1, got {batch_size}")
    n = len(dataset)
    if n == 0:
        raise ParameterError("the dataset to embed is empty")
    dev = resolve_device(device)
    was_training = model.training
    model.eval().to(dev)
    loader = DataLoader(dataset, batch_size=int(batch_size), shuffle=False, num_workers=int(num_workers),
                        collate_fn=_Collate())
    ids: list[str] = []
    modality: list[str] = []
    parts: dict[str, list[np.ndarray]] = {"embedding": [], "va": [], "probs": []}
    failed: list[tuple[str, str]] = []
    seen = 0
    try:
        with progress_bar(n, description=description, unit="item", enabled=progress, leave=False) as bar:
            for batch_ids, batch_mods, batch, batch_failed in loader:
                failed += batch_failed
                size = len(batch_mods)
                if size:
                    missing = set(batch_mods) - set(getattr(model, "towers", batch))
                    if missing:
                        raise ParameterError(f"the model has no tower for {sorted(missing)} items")
                    out = model(move_batch(batch, dev))
                    e = np.zeros((size, model.embed_dim), np.float32)
                    v = np.zeros((size, 2), np.float32)
                    pr = np.zeros((size, len(CATEGORIES)), np.float32)
                    for m in set(batch_mods):
                        rows = np.array([i for i, bm in enumerate(batch_mods) if bm == m], dtype=np.int64)
                        e[rows] = out[m]["embedding"].float().cpu().numpy()
                        v[rows] = out[m]["va"].float().cpu().numpy()
                        pr[rows] = torch.softmax(out[m]["category_logits"].float(), dim=-1).cpu().numpy()
                    parts["embedding"].append(e)
                    parts["va"].append(v)
                    parts["probs"].append(pr)
                    ids += [i if i else str(seen + k) for k, i in enumerate(batch_ids)]
                    modality += batch_mods
                seen += size + len(batch_failed)
                bar.update(size + len(batch_failed))
    finally:
        model.train(was_training)
    if not ids:
        raise ParameterError(f"no item could be embedded ({len(failed)} failed, e.g. {failed[0][1] if failed else ''})")
    z = np.concatenate(parts["embedding"])
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    z = z / np.where(norms > 0, norms, 1.0)
    return Embeddings(np.array(ids, dtype=object), np.array(modality, dtype=object), z.astype(np.float32),
                      np.concatenate(parts["va"]), np.concatenate(parts["probs"]), failed)


# -- manifest rows -> items -------------------------------------------------------------------------

def input_params(train_config: Any, sample_rate: int | None = None) -> tuple[Any, Any]:
    """The :class:`~resonance.train.inputs.ImageParams` and ``AudioParams`` a checkpoint was trained with.

    ``train_config`` is the checkpoint's :class:`~resonance.train.config.TrainConfig`; its ``data`` table
    gives the image size, mel bands, STFT and windows exactly as
    :class:`~resonance.train.manifest_data.ManifestDataset` reads them. ``sample_rate`` defaults to the
    project's analysis rate (:data:`resonance.io.PROJECT_SR`).
    """
    from resonance.io.audio import PROJECT_SR
    from resonance.train.inputs import AudioParams, ImageParams

    data = train_config.data
    image = ImageParams(int(data.resolved_image_size))
    audio = AudioParams(int(sample_rate or PROJECT_SR), int(data.resolved_n_mels), data.n_fft, data.hop_length,
                        data.window_s, data.window_hop_s, data.long_clip_s)
    return image, audio


def model_descriptor_names(model: torch.nn.Module) -> dict[str, tuple[str, ...]]:
    """The descriptor names each tower of ``model`` reads (a modality without a descriptor tower is absent)."""
    from resonance.models.towers.descriptor import DescriptorTower

    names: dict[str, tuple[str, ...]] = {}
    for modality, tower in model.towers.items():
        for module in tower.modules():
            if isinstance(module, DescriptorTower):
                names[modality] = tuple(module.names)
    return names


def _soft_label(row: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([row.get(f"p_{c}", np.nan) for c in CATEGORIES], dtype=np.float64)
    emotion = row.get("emotion")
    if not np.isfinite(p).all() or p.sum() <= 0:
        p = np.full(len(CATEGORIES), 1.0 / len(CATEGORIES))
        if isinstance(emotion, str) and emotion in CATEGORY_INDEX:
            p[:] = 0.0
            p[CATEGORY_INDEX[emotion]] = 1.0
    va = np.array([row.get("valence", np.nan), row.get("arousal", np.nan)], dtype=np.float64)
    if not np.isfinite(va).all():
        va = np.array(CATEGORY_VAD[emotion][:2]) if isinstance(emotion, str) and emotion in CATEGORY_VAD \
            else np.full(2, 0.5)
    return p / p.sum(), va


class FrameDataset(Dataset):
    """Items (see :mod:`resonance.train.data`) from the rows of a manifest frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Manifest rows with absolute ``path`` (as :func:`~resonance.data.manifest.read_manifest` returns
        them), ``id``, ``modality`` and optionally ``sha256``, ``emotion``, ``p_*``, ``valence``,
        ``arousal``. Unlabelled rows get a uniform distribution and VA (0.5, 0.5) as placeholders: the
        embedding does not read labels.
    image_params, audio_params : ImageParams, AudioParams
        The preprocessing (see :func:`input_params`).
    descriptors : dict, optional
        ``{modality: DataFrame indexed by id with the tower's descriptor columns}``; an item absent from
        it gets NaN (undefined) for every descriptor.
    descriptor_names : dict, optional
        ``{modality: names}`` the model reads (:func:`model_descriptor_names`).
    cache : InputCache, optional
        Preprocessed arrays by content hash (decoded once across runs).
    describe : bool
        Compute the descriptors of items absent from ``descriptors`` from their file (as
        ``resonance features extract`` does), instead of leaving them undefined.
    skip_errors : bool
        A file that does not decode gives ``{"id", "modality", "error"}`` (which
        :func:`embed_dataset` sets aside) instead of raising :class:`~resonance.errors.DecodeError`.
    """

    def __init__(self, frame: pd.DataFrame, image_params: Any, audio_params: Any, *,
                 descriptors: Mapping[str, pd.DataFrame] | None = None,
                 descriptor_names: Mapping[str, Sequence[str]] | None = None, cache: Any = None,
                 describe: bool = False, skip_errors: bool = False) -> None:
        self.describe = describe
        self.skip_errors = skip_errors
        self.frame = frame.reset_index(drop=True)
        self.image_params = image_params
        self.audio_params = audio_params
        self.descriptors = dict(descriptors or {})
        self.names = {m: tuple(v) for m, v in (descriptor_names or {}).items()}
        self.cache = cache

    def __len__(self) -> int:
        return len(self.frame)

    def _input(self, row: Mapping[str, Any]) -> np.ndarray:
        from resonance.train.inputs import audio_array, image_array, params_hash

        path, modality = row["path"], row["modality"]
        if modality == "image":
            compute = lambda: image_array(path, self.image_params)  # noqa: E731
            kind, params = "image", self.image_params
        else:
            compute = lambda: audio_array(path, self.audio_params)  # noqa: E731
            kind, params = "logmel", self.audio_params
        sha = str(row.get("sha256") or "")
        if self.cache is not None and sha and set(sha) != {"0"}:
            array = self.cache.get(kind, sha, params_hash(kind, params), compute)
        else:
            array = compute()
        array = np.asarray(array)
        if modality == "image":
            return array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)
        return array.astype(np.float32)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from resonance.errors import DecodeError

        row = self.frame.iloc[i].to_dict()
        try:
            return self._item(row)
        except DecodeError as error:
            if not self.skip_errors:
                raise
            return {"id": str(row["id"]), "modality": row["modality"], "error": str(error)}

    def _descriptors(self, row: Mapping[str, Any], names: tuple[str, ...]) -> np.ndarray:
        table = self.descriptors.get(row["modality"])
        if table is not None and row["id"] in table.index:
            values = table.loc[row["id"]]
            return np.array([values.get(n, np.nan) for n in names], dtype=np.float64)
        if self.describe:
            from handcrafted.extract import describe_file

            values = describe_file(row["modality"], row["path"], names, self.audio_params.sample_rate)
            return np.array([values[n] for n in names], dtype=np.float64)
        return np.full(len(names), np.nan)

    def _item(self, row: Mapping[str, Any]) -> dict[str, Any]:
        modality = row["modality"]
        p, va = _soft_label(row)
        names = self.names.get(modality, ())
        desc = self._descriptors(row, names) if names else np.zeros(0)
        x = self._input(row)
        if modality == "audio" and x.ndim == 4 and x.shape[0] == 1:
            x = x[0]
        return {"id": str(row["id"]), "modality": modality, "input": torch.from_numpy(np.ascontiguousarray(x)),
                "p": torch.tensor(p, dtype=torch.float32), "va": torch.tensor(va, dtype=torch.float32),
                "descriptors": torch.tensor(desc, dtype=torch.float32),
                "mask": torch.tensor(np.isfinite(desc))}
