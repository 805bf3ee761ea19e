"""The evaluation run: a trained checkpoint on one split, with its baselines computed in the same run.

:func:`evaluate` embeds a split of a prepared dataset with the checkpoint's model and scores the shared
space with the numpy metrics of this package; :func:`evaluate_model` does the same for a model and
:class:`EvalSet` objects already in memory (tests, the demo). Every system goes through one scoring
function (:func:`score_space`), so the numbers are comparable:

* **model** -- the trained checkpoint;
* **chance** -- the trained model's space with the labels of each modality permuted (seeded), averaged
  over ``n_permutations`` permutations: what the metric gives when the space knows nothing of emotion,
  with the same category counts;
* **untrained** -- the same architecture from its seeded initialisation (the packaged ImageNet weights
  of an EfficientNet tower are kept, the descriptor standardisation is the checkpoint's);
* **descriptor** -- linear models on the handcrafted descriptors (:mod:`resonance.evaluate.baselines`).

Scores of a space (see the metric modules for the definitions):

* ``retrieval`` -- image->sound and sound->image: P@1/5/10, mAP, MRR macro over the categories present in
  both modalities, nDCG@10 graded by :func:`resonance.data.emotion.similarity_matrix`; per-category tables;
* ``pairwise`` -- congruent-over-incongruent triplet accuracy and ROC AUC, anchors of each modality;
* ``clustering`` -- k-means (k = number of categories) purity, NMI, ARI, Hungarian accuracy, modality
  mixing and the modality gap;
* ``probes`` -- per modality and corpus: category UA, WA and macro-F1 of the category head (argmax) with a
  per-class table, valence and arousal CCC and r of the VA head.

The model's headline numbers get 95 % intervals from a bootstrap over the manifest's ``group`` (speakers,
artists, songs), each modality's groups resampled separately (:func:`stratified_group_bootstrap`). The
report is written as ``evaluation.json`` and ``evaluation.md``, staged and moved into place together, so a
failed run leaves the previous report (or none), never half of one.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch.utils.data import Dataset

from resonance.data.emotion import CATEGORIES, similarity_matrix
from resonance.errors import DatasetError, ParameterError
from resonance.evaluate.clustering import cluster_joint_space
from resonance.evaluate.pairwise import pairwise_correspondence, sample_triplets, triplet_scores
from resonance.evaluate.probes import category_metrics, regression_metrics
from resonance.evaluate.retrieval import cross_modal_retrieval

__all__ = ["EvalSet", "ProtocolConfig", "apply_fold", "checkpoint_fold", "eval_set_from_items", "evaluate",
           "evaluate_model", "headline", "load_eval_set", "score_space"]

P_COLUMNS = [f"p_{c}" for c in CATEGORIES]
SOUND = "sound"  # the audio modality's name in metric keys
REPORT_FILES = ("evaluation.json", "evaluation.md")
#: Said in every report: why the chance column's clustering geometry equals the model's.
CHANCE_NOTE = ("chance permutes each modality's labels and keeps the model's points, so its modality gap and "
               "modality mixing equal the model's by construction; only label-dependent metrics differ")


@dataclass(frozen=True)
class ProtocolConfig:
    """Knobs of the evaluation (every one recorded in the report).

    ks, ndcg_k : retrieval cut-offs (those beyond the smaller gallery are dropped and said so)
    n_permutations : label permutations averaged for the chance baseline
    triplets_per_anchor : pairwise triplets drawn per anchor
    n_resamples, confidence_level : the group bootstrap (``n_resamples = 0`` skips the intervals)
    seed : every draw (permutations, triplets, k-means, the untrained initialisation, the bootstrap)
    batch_size, device, progress : embedding
    """

    ks: tuple[int, ...] = (1, 5, 10)
    ndcg_k: int = 10
    n_permutations: int = 10
    triplets_per_anchor: int = 5
    n_resamples: int = 200
    confidence_level: float = 0.95
    seed: int = 0
    batch_size: int = 64
    device: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.n_permutations < 1:
            raise ParameterError(f"n_permutations must be >= 1, got {self.n_permutations}")
        if self.triplets_per_anchor < 1:
            raise ParameterError(f"triplets_per_anchor must be >= 1, got {self.triplets_per_anchor}")
        if self.n_resamples and self.n_resamples < 100:
            raise ParameterError(f"n_resamples must be 0 (no intervals) or >= 100, got {self.n_resamples}")
        if not self.ks or min(self.ks) < 1 or self.ndcg_k < 1:
            raise ParameterError(f"retrieval cut-offs must be positive, got ks={self.ks}, ndcg_k={self.ndcg_k}")


@dataclass(eq=False)
class EvalSet:
    """One split in memory: the items to embed and what is known about them.

    Attributes
    ----------
    dataset : torch Dataset
        Item dicts (see :mod:`resonance.train.data`), each with an ``"id"``.
    meta : pandas.DataFrame
        One row per item: ``id``, ``modality``, ``corpus``, ``group``, ``category`` (a name of
        :data:`~resonance.data.emotion.CATEGORIES`), ``valence``, ``arousal`` and the ``p_<category>``
        soft label.
    descriptors : dict
        ``{modality: DataFrame indexed by id, one column per descriptor}`` for the descriptor baseline
        (empty: that baseline is skipped, and the report says why).
    descriptor_note : str
        Why ``descriptors`` is empty, when it is.
    """

    dataset: Dataset
    meta: pd.DataFrame
    descriptors: dict[str, pd.DataFrame] = field(default_factory=dict)
    descriptor_note: str = ""


# -- building eval sets -----------------------------------------------------------------------------

def _check_modalities(meta: pd.DataFrame, where: str) -> None:
    for modality, noun in (("image", "paintings (image)"), ("audio", "sounds (audio)")):
        if not (meta["modality"] == modality).any():
            raise DatasetError(f"{where} has no labelled {noun} items; the evaluation compares paintings with "
                               "sounds: prepare the dataset from at least one image corpus and one sound corpus "
                               "(`resonance data prepare images=... sounds=...`), or evaluate another split")


def eval_set_from_items(dataset: Dataset, *, corpus: str = "synthetic", where: str = "the dataset") -> EvalSet:
    """An :class:`EvalSet` of a dataset whose items carry their labels (e.g.
    :class:`~resonance.train.data.SyntheticEmotionDataset`); its descriptors serve the baseline."""
    rows, desc = [], {"image": [], "audio": []}
    for i in range(len(dataset)):
        item = dataset[i]
        p = np.asarray(item["p"], dtype=np.float64)
        va = np.asarray(item["va"], dtype=np.float64)
        item_id = str(item.get("id", f"item{i}"))
        rows.append({"id": item_id, "modality": item["modality"], "corpus": item.get("corpus", corpus),
                     "group": str(item.get("group", item_id)), "category": CATEGORIES[int(p.argmax())],
                     "valence": float(va[0]), "arousal": float(va[1]),
                     **{c: float(v) for c, v in zip(P_COLUMNS, p, strict=True)}})
        d = np.asarray(item.get("descriptors", ()), dtype=np.float64)
        if d.size:
            desc[item["modality"]].append((item_id, d))
    meta = pd.DataFrame(rows)
    _check_modalities(meta, where)

    class _WithIds(Dataset):
        def __len__(self) -> int:
            return len(dataset)

        def __getitem__(self, i: int) -> dict:
            return {**dataset[i], "id": rows[i]["id"]}

    descriptors = {m: pd.DataFrame(np.stack([d for _, d in v]), index=[i for i, _ in v],
                                   columns=[f"d{j}" for j in range(v[0][1].size)])
                   for m, v in desc.items() if v}
    return EvalSet(_WithIds(), meta, descriptors,
                   "" if len(descriptors) == 2 else "the items carry no descriptors of both modalities")


def find_features(dataset_dir: str | os.PathLike[str], features: str | os.PathLike[str] | None = None) -> Path | None:
    """The features table of a dataset: ``features`` when given, else ``DATASET/features.parquet``, else the
    one beside the dataset folder (where ``resonance demo`` writes it); None when there is none."""
    if features is not None:
        path = Path(features)
        if not path.is_file():
            raise DatasetError(f"no features table at {path}; run `resonance features extract {dataset_dir} "
                               f"--out {path}` first")
        return path
    base = Path(dataset_dir)
    folder = base if base.is_dir() else base.parent
    for candidate in (folder / "features.parquet", folder.parent / "features.parquet"):
        if candidate.is_file():
            return candidate
    return None


def read_descriptor_tables(path: Path | None, ids: set[str]) -> tuple[dict[str, pd.DataFrame], str]:
    """``{modality: descriptors indexed by id}`` of the items ``ids`` from a features table, and a note."""
    if path is None:
        return {}, ("no features table found; run `resonance features extract DATASET --out "
                    "DATASET/features.parquet` (or pass --features) for the descriptor baseline")
    from handcrafted.table import KEY_COLUMNS, read_features

    tables: dict[str, pd.DataFrame] = {}
    for modality in ("image", "audio"):
        frame = read_features(path, modality=modality)
        frame = frame[frame["id"].isin(ids)]
        columns = [c for c in frame.columns if c not in KEY_COLUMNS]
        if len(frame) and columns:
            tables[modality] = frame.set_index("id")[columns].astype(np.float64)
    note = "" if len(tables) == 2 else f"the features table {path} lacks the descriptors of one modality"
    return tables, note


def _labelled_meta(frame: pd.DataFrame) -> pd.DataFrame:
    from resonance.data.manifest import is_unlabelled
    from resonance.evaluate.embed import _soft_label

    frame = frame[~is_unlabelled(frame)]
    rows = []
    for row in frame.to_dict("records"):
        emotion = row.get("emotion")
        has_p = all(c in row and np.isfinite(row[c]) for c in P_COLUMNS)
        if not (isinstance(emotion, str) and emotion in CATEGORIES) and not has_p:
            continue
        p, va = _soft_label(row)
        category = emotion if isinstance(emotion, str) and emotion in CATEGORIES else CATEGORIES[int(p.argmax())]
        rows.append({"id": str(row["id"]), "modality": row["modality"], "corpus": str(row.get("corpus") or ""),
                     "group": str(row.get("group") or row["id"]), "category": category, "valence": float(va[0]),
                     "arousal": float(va[1]), **dict(zip(P_COLUMNS, p.tolist(), strict=True)),
                     "path": row.get("path")})
    columns = ["id", "modality", "corpus", "group", "category", "valence", "arousal", *P_COLUMNS, "path"]
    return pd.DataFrame(rows, columns=columns)


def train_config_of(checkpoint: Mapping[str, Any]) -> Any:
    """The :class:`~resonance.train.config.TrainConfig` recorded in a checkpoint."""
    from resonance.train.config import config_from_dict

    return config_from_dict(checkpoint["config"])


def load_eval_set(dataset_dir: str | os.PathLike[str], split: str, train_config: Any, *,
                  features: str | os.PathLike[str] | None = None, require_both: bool = True,
                  with_dataset: bool = True, frame: pd.DataFrame | None = None) -> EvalSet:
    """The labelled items of one split of a prepared dataset, ready to embed.

    Items are those :class:`~resonance.train.manifest_data.ManifestDataset` takes on the evaluation side
    (labelled, and not the twin of an item in another split), preprocessed as the checkpoint's
    ``train_config`` says. Raises :class:`~resonance.errors.DatasetError` naming the fix when the split is
    empty or (``require_both``) lacks a modality. ``with_dataset=False`` reads only the labels and the
    descriptors (the train split of the descriptor baseline decodes nothing).
    """
    from resonance.data.manifest import read_manifest
    from resonance.train.manifest_data import ManifestDataset

    if frame is None:
        frame = read_manifest(dataset_dir)
    if "split" not in frame.columns:
        raise DatasetError(f"the manifest of {dataset_dir} has no split column; re-run `resonance data prepare`")
    splits = sorted(set(frame["split"].dropna().astype(str)) - {""})
    if not (frame["split"].astype(str) == split).any():
        raise DatasetError(f"{dataset_dir} has no items in split {split!r}; its splits are {splits}: pass one "
                           "of them with --split")
    dataset = None
    if with_dataset:
        dataset = ManifestDataset(dataset_dir, split, train_config, frame=frame, evaluation=True)
        rows = dataset.frame
    else:
        rows = frame[frame["split"].astype(str) == split]
    meta = _labelled_meta(rows)
    if meta.empty:
        raise DatasetError(f"split {split!r} of {dataset_dir} has no labelled items; evaluation needs emotion "
                           "labels (index unlabelled folders with `resonance index build` instead)")
    if require_both:
        _check_modalities(meta, f"split {split!r} of {dataset_dir}")
    tables, note = read_descriptor_tables(find_features(dataset_dir, features), set(meta["id"]))
    return EvalSet(dataset, meta, tables, note)


# -- scoring ----------------------------------------------------------------------------------------

def _cutoffs(config: ProtocolConfig, n_small: int) -> tuple[tuple[int, ...], int]:
    ks = tuple(k for k in config.ks if k <= n_small) or (1,)
    return ks, min(config.ndcg_k, n_small)


def _probe(true_cat: np.ndarray, pred_cat: np.ndarray, va_true: np.ndarray, va_pred: np.ndarray) -> dict:
    out: dict[str, Any] = {"n_items": int(true_cat.shape[0])}
    out["category"] = category_metrics(true_cat, pred_cat).to_dict()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["va"] = regression_metrics(va_true, va_pred)
    except ParameterError as error:
        out["va"] = {"skipped": str(error)}
    return out


def score_space(z: np.ndarray, probs: np.ndarray, va_pred: np.ndarray, meta: pd.DataFrame,
                config: ProtocolConfig = ProtocolConfig(), *, probes: bool = True) -> dict[str, Any]:
    """Every metric of one system's space (see the module docstring).

    Parameters
    ----------
    z : np.ndarray, shape (n, dim)
        The system's points (L2-normalised by the metrics).
    probs : np.ndarray, shape (n, 12)
        Its category distribution per item (probes: the argmax).
    va_pred : np.ndarray, shape (n, 2)
        Its valence/arousal per item.
    meta : pandas.DataFrame
        The truth, one row per item (see :class:`EvalSet`).
    """
    modality = meta["modality"].to_numpy()
    img, aud = modality == "image", modality == "audio"
    labels = meta["category"].to_numpy().astype(str)
    p = meta[P_COLUMNS].to_numpy(np.float64)
    va = meta[["valence", "arousal"]].to_numpy(np.float64)
    ks, ndcg_k = _cutoffs(config, int(min(img.sum(), aud.sum())))
    relevance = similarity_matrix(p[img], va[img], p[aud], va[aud])
    retrieval = cross_modal_retrieval(z[img], z[aud], labels_a=labels[img], labels_b=labels[aud], relevance=relevance,
                                      names=("image", SOUND), ks=ks, ndcg_k=ndcg_k)
    out: dict[str, Any] = {"retrieval": {k: v.to_dict() for k, v in retrieval.items()}}
    pairwise: dict[str, Any] = {}
    for name, a, c in ((f"{SOUND}->image", aud, img), (f"image->{SOUND}", img, aud)):
        try:
            triplets = sample_triplets(labels[a], labels[c], per_anchor=config.triplets_per_anchor, seed=config.seed)
        except ParameterError as error:
            pairwise[name] = {"skipped": str(error)}
            continue
        pairwise[name] = pairwise_correspondence(*triplet_scores(z[a], z[c], triplets)).to_dict()
    out["pairwise"] = pairwise
    n_classes = np.unique(labels).size
    if 2 <= n_classes <= len(labels):
        out["clustering"] = cluster_joint_space(z, labels=labels, modality=modality, seed=config.seed).to_dict()
    else:
        out["clustering"] = {"skipped": f"{n_classes} category in the split; clustering needs two or more"}
    if probes:
        pred = np.asarray(CATEGORIES)[np.asarray(probs).argmax(axis=1)]
        table: dict[str, Any] = {}
        for m, mname in (("image", "image"), ("audio", SOUND)):
            rows = modality == m
            entry = {"all": _probe(labels[rows], pred[rows], va[rows], va_pred[rows])}
            corpora = meta.loc[rows, "corpus"].astype(str)
            if corpora.nunique() > 1:
                for corpus in sorted(corpora.unique()):
                    sel = rows & (meta["corpus"].astype(str) == corpus).to_numpy()
                    entry[corpus] = _probe(labels[sel], pred[sel], va[sel], va_pred[sel])
            table[mname] = entry
        out["probes"] = table
    out["cutoffs"] = {"ks": list(ks), "ndcg_k": ndcg_k, "asked_ks": list(config.ks), "asked_ndcg_k": config.ndcg_k}
    return out


def headline(result: Mapping[str, Any]) -> dict[str, float | None]:
    """The few numbers of a :func:`score_space` result that the summary table compares across systems."""
    out: dict[str, float | None] = {}
    for direction, r in result.get("retrieval", {}).items():
        for key in ("P@1", "MRR", "mAP", *[k for k in r if k.startswith("nDCG@")]):
            out[f"{direction} {key}"] = r.get(key)
    for direction, r in result.get("pairwise", {}).items():
        out[f"pairwise {direction} acc"] = r.get("accuracy")
        out[f"pairwise {direction} AUC"] = r.get("auc")
    clustering = result.get("clustering", {})
    for key in ("nmi", "purity", "modality_mixing", "modality_gap"):
        out[f"clustering {key}"] = clustering.get(key)
    for modality, entry in result.get("probes", {}).items():
        probe = entry.get("all", {})
        out[f"{modality} UA"] = probe.get("category", {}).get("UA")
        out[f"{modality} macro-F1"] = probe.get("category", {}).get("macro_F1")
        for target in ("valence", "arousal"):
            out[f"{modality} {target} CCC"] = probe.get("va", {}).get(target, {}).get("CCC")
    return out


def _mean_results(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The mean of each numeric leaf over results of the same shape (tables and strings dropped)."""
    out: dict[str, Any] = {}
    for key, value in results[0].items():
        values = [r.get(key) for r in results]
        if isinstance(value, Mapping):
            if all(isinstance(v, Mapping) for v in values):
                out[key] = _mean_results(values)
        elif isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            continue
        else:
            nums = [float(v) for v in values if isinstance(v, int | float | np.number) and v is not None]
            finite = [v for v in nums if np.isfinite(v)]
            out[key] = float(np.mean(finite)) if finite else None
    return out


def chance_baseline(z: np.ndarray, probs: np.ndarray, va_pred: np.ndarray, meta: pd.DataFrame,
                    config: ProtocolConfig) -> dict[str, Any]:
    """:func:`score_space` of the model's space with each modality's labels permuted, averaged."""
    rng = np.random.default_rng(config.seed)
    label_columns = ["category", "valence", "arousal", *P_COLUMNS]
    runs = []
    for _ in range(config.n_permutations):
        permuted = meta.copy()
        for m in ("image", "audio"):
            rows = np.flatnonzero(meta["modality"].to_numpy() == m)
            shuffled = rng.permutation(rows)
            permuted.loc[permuted.index[rows], label_columns] = meta.iloc[shuffled][label_columns].to_numpy()
        permuted["valence"] = permuted["valence"].astype(np.float64)
        permuted["arousal"] = permuted["arousal"].astype(np.float64)
        permuted[P_COLUMNS] = permuted[P_COLUMNS].astype(np.float64)
        runs.append(score_space(z, probs, va_pred, permuted, config))
    out = _mean_results(runs)
    out["n_permutations"] = config.n_permutations
    return out


def _macro_p1_mrr(q: np.ndarray, g: np.ndarray, q_lab: np.ndarray, g_lab: np.ndarray) -> tuple[float, float]:
    """Macro P@1 and MRR exactly as :func:`~resonance.evaluate.retrieval.retrieval_metrics` defines them
    (stable ties, categories present on both sides), in plain numpy for the bootstrap's many resamples."""
    shared = np.intersect1d(q_lab, g_lab)
    keep = np.isin(q_lab, shared)
    if not keep.any():
        return float("nan"), float("nan")
    q, q_lab = q[keep], q_lab[keep]
    order = np.argsort(-(q @ g.T), axis=1, kind="stable")
    hits = g_lab[order] == q_lab[:, None]
    p1, rr = hits[:, 0].astype(np.float64), 1.0 / (hits.argmax(axis=1) + 1)
    cats, inverse = np.unique(q_lab, return_inverse=True)
    counts = np.bincount(inverse, minlength=cats.size)
    return (float(np.mean(np.bincount(inverse, p1, cats.size) / counts)),
            float(np.mean(np.bincount(inverse, rr, cats.size) / counts)))


def _unweighted_accuracy(true: np.ndarray, pred: np.ndarray) -> float:
    """Mean per-class recall over the classes in ``true`` (= sklearn's balanced accuracy)."""
    if true.size == 0:
        return float("nan")
    return float(np.mean([(pred[true == c] == c).mean() for c in np.unique(true)]))


def _confidence_intervals(z: np.ndarray, probs: np.ndarray, va_pred: np.ndarray, meta: pd.DataFrame,
                          config: ProtocolConfig) -> dict[str, Any]:
    """Bootstrap intervals of the model's headline numbers (see :func:`stratified_group_bootstrap`)."""
    from resonance.evaluate.probes import concordance_correlation

    groups = meta["group"].astype(str).to_numpy()
    modality = meta["modality"].to_numpy().astype(str)
    labels = meta["category"].to_numpy().astype(str)
    pred = np.asarray(CATEGORIES)[probs.argmax(axis=1)]
    va = meta[["valence", "arousal"]].to_numpy(np.float64)
    zn = z / np.linalg.norm(z, axis=1, keepdims=True)

    def statistic(rows: np.ndarray) -> dict[str, float]:
        img, aud = rows[modality[rows] == "image"], rows[modality[rows] == "audio"]
        out: dict[str, float] = {}
        for name, q, g in ((f"image->{SOUND}", img, aud), (f"{SOUND}->image", aud, img)):
            p1, mrr = _macro_p1_mrr(zn[q], zn[g], labels[q], labels[g])
            out[f"{name} P@1"], out[f"{name} MRR"] = p1, mrr
        for name, a, c in ((f"{SOUND}->image", aud, img), (f"image->{SOUND}", img, aud)):
            try:
                t = sample_triplets(labels[a], labels[c], per_anchor=config.triplets_per_anchor, seed=config.seed)
                sc, si = (zn[a][t[:, 0]] * zn[c][t[:, 1]]).sum(1), (zn[a][t[:, 0]] * zn[c][t[:, 2]]).sum(1)
                out[f"pairwise {name} acc"] = float(np.mean((sc > si) + 0.5 * (sc == si)))
            except ParameterError:
                out[f"pairwise {name} acc"] = float("nan")
        for mname, r in (("image", img), (SOUND, aud)):
            out[f"{mname} UA"] = _unweighted_accuracy(labels[r], pred[r])
            for j, target in enumerate(("valence", "arousal")):
                try:
                    out[f"{mname} {target} CCC"] = concordance_correlation(va[r, j], va_pred[r, j])
                except ParameterError:
                    out[f"{mname} {target} CCC"] = float("nan")
        return out

    return stratified_group_bootstrap(statistic, groups, modality, n_resamples=config.n_resamples,
                                      confidence_level=config.confidence_level, seed=config.seed)


def stratified_group_bootstrap(statistic: Callable[[np.ndarray], Mapping[str, float]], groups: np.ndarray,
                               strata: np.ndarray, *, n_resamples: int = 200, confidence_level: float = 0.95,
                               seed: int = 0) -> dict[str, Any]:
    """Percentile intervals of the values of ``statistic(rows)`` under a bootstrap of groups within strata.

    The paintings' groups (artists) and the sounds' groups (speakers, songs) are different sets, and a
    cross-modal metric needs both sides, so each stratum's (modality's) groups are resampled with
    replacement separately (the stratified cluster bootstrap, Davison & Hinkley 1997, section 3.8), every
    drawn group bringing all its items. ``statistic`` returns several named values per resample (one pass
    serves every metric). Resamples where a value is undefined (NaN: e.g. no category left on both
    sides) are dropped for that value and counted in ``n_undefined``; a stratum of one group gives no
    interval, said so. The pooled, one-metric version is
    :func:`~resonance.evaluate.bootstrap.group_bootstrap_ci`.

    Returns
    -------
    dict
        ``{name: {"estimate", "low", "high", "confidence_level", "n_groups", "n_resamples", "n_undefined",
        "method"}}``, or ``{"skipped": reason}``.
    """
    rng = np.random.default_rng(seed)
    rows_of: list[list[np.ndarray]] = []
    for stratum in np.unique(strata):
        in_stratum = np.flatnonzero(strata == stratum)
        names = np.unique(groups[in_stratum])
        if names.size < 2:
            return {"skipped": f"the {stratum} items form {names.size} group; intervals need two or more groups "
                               "(speakers, artists, songs) per modality"}
        rows_of.append([in_stratum[groups[in_stratum] == g] for g in names])
    estimate = dict(statistic(np.arange(groups.shape[0])))
    draws: dict[str, list[float]] = {k: [] for k in estimate}
    for _ in range(int(n_resamples)):
        rows = np.concatenate([np.concatenate([parts[j] for j in rng.integers(0, len(parts), len(parts))])
                               for parts in rows_of])
        for key, value in statistic(rows).items():
            draws[key].append(float(value))
    alpha = (1.0 - confidence_level) / 2.0
    out: dict[str, Any] = {}
    for key, values in draws.items():
        arr = np.asarray(values)
        finite = arr[np.isfinite(arr)]
        entry: dict[str, Any] = {"estimate": float(estimate[key]), "confidence_level": confidence_level,
                                 "n_groups": int(sum(len(p) for p in rows_of)), "n_resamples": int(n_resamples),
                                 "n_undefined": int(arr.size - finite.size),
                                 "method": "percentile; groups resampled within each modality"}
        if finite.size:
            entry["low"], entry["high"] = (float(v) for v in np.quantile(finite, [alpha, 1.0 - alpha]))
        else:
            entry["low"] = entry["high"] = None
        out[key] = entry
    return out


def _copy_descriptor_stats(source: Any, target: Any) -> None:
    """The descriptor towers' standardisation (fit on train, not learned) from ``source`` into ``target``."""
    from resonance.models.towers.descriptor import DescriptorTower

    src = dict(source.named_modules())
    for name, module in target.named_modules():
        if isinstance(module, DescriptorTower) and isinstance(src.get(name), DescriptorTower):
            for buffer in ("mean", "std", "fitted"):
                getattr(module, buffer).copy_(getattr(src[name], buffer))


def untrained_like(model: Any, model_config: Any, seed: int) -> Any:
    """The architecture of ``model`` from its seeded initialisation (descriptor standardisation copied)."""
    import torch

    from resonance.models import create_model

    state = torch.get_rng_state()
    try:
        torch.manual_seed(seed)
        fresh = create_model(model_config)
    finally:
        torch.set_rng_state(state)
    _copy_descriptor_stats(model, fresh)
    return fresh.eval()


def _arrays(emb: Any, meta: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    emb = emb.reorder(meta["id"].tolist())
    return emb.embeddings.astype(np.float64), emb.category_probs.astype(np.float64), emb.va.astype(np.float64)


def evaluate_model(model: Any, test: EvalSet, *, model_config: Any, train: EvalSet | None = None,
                   config: ProtocolConfig = ProtocolConfig(), log: Callable[[str], None] | None = None,
                   embeddings: Any = None) -> dict[str, Any]:
    """Score ``model`` and its baselines on ``test`` (see the module docstring).

    Parameters
    ----------
    model : DualEncoder
        The trained model.
    test : EvalSet
        The split to score.
    model_config : ModelConfig
        The model's configuration (the untrained baseline is built from it).
    train : EvalSet, optional
        The train split: the descriptor baseline is fit on its descriptors (skipped without it).
    embeddings : Embeddings, optional
        ``test`` already embedded with ``model`` (skips that pass).

    Returns
    -------
    dict
        ``{"summary": DataFrame (headline metrics x systems), "model": ..., "confidence_intervals": ...,
        "baselines": {"chance": ..., "untrained": ..., "descriptor": ...}, "n_items": ..., "protocol": ...}``.
    """
    from resonance.evaluate.baselines import descriptor_baseline
    from resonance.evaluate.embed import embed_dataset

    say = log or (lambda _msg: None)
    meta = test.meta.reset_index(drop=True)
    _check_modalities(meta, "the evaluation set")
    started = time.perf_counter()
    say(f"embedding {len(meta)} items with the trained model")
    emb = embeddings if embeddings is not None else embed_dataset(
        model, test.dataset, batch_size=config.batch_size, device=config.device, progress=config.progress)
    z, probs, va_pred = _arrays(emb, meta)
    result_model = score_space(z, probs, va_pred, meta, config)
    say(f"chance: {config.n_permutations} label permutations")
    result_chance = chance_baseline(z, probs, va_pred, meta, config)
    say("untrained model")
    fresh = untrained_like(model, model_config, config.seed)
    emb0 = embed_dataset(fresh, test.dataset, batch_size=config.batch_size, device=config.device,
                         progress=config.progress, description="embedding (untrained)")
    result_untrained = score_space(*_arrays(emb0, meta), meta, config)
    say("descriptor baseline")
    if train is None:
        result_descriptor: dict[str, Any] = {"skipped": "no train split given to fit the linear models on"}
    elif not test.descriptors or not train.descriptors:
        result_descriptor = {"skipped": test.descriptor_note or train.descriptor_note or "no descriptors"}
    else:
        space = descriptor_baseline(train.meta, train.descriptors, meta, test.descriptors, seed=config.seed)
        if isinstance(space, str):
            result_descriptor = {"skipped": space}
        else:
            result_descriptor = {**score_space(space.points, space.probs, space.va, meta, config),
                                 "models": space.description}
    if config.n_resamples:
        say(f"bootstrap over groups ({config.n_resamples} resamples)")
        intervals = _confidence_intervals(z, probs, va_pred, meta, config)
    else:
        intervals = {"skipped": "n_resamples = 0"}
    systems = {"model": result_model, "chance": result_chance, "untrained": result_untrained,
               "descriptor": result_descriptor}
    summary = pd.DataFrame({name: headline(r) for name, r in systems.items() if "skipped" not in r})
    counts = meta.groupby(["modality", "corpus"]).size()
    notes = [CHANCE_NOTE]
    return {
        "summary": summary,
        "notes": notes,
        "n_items": {f"{m}/{c}": int(n) for (m, c), n in counts.items()},
        "n_groups": int(meta["group"].nunique()),
        "categories": {m: sorted(meta.loc[meta["modality"] == m, "category"].unique().tolist())
                       for m in ("image", "audio")},
        "model": result_model,
        "confidence_intervals": intervals,
        "baselines": {"chance": result_chance, "untrained": result_untrained, "descriptor": result_descriptor},
        "protocol": {**asdict(config), "seconds": round(time.perf_counter() - started, 2)},
    }


def write_report(result: Mapping[str, Any], out: str | os.PathLike[str], *, title: str = "Evaluation") -> list[Path]:
    """``evaluation.json`` and ``evaluation.md`` in ``out``, staged and moved into place together."""
    from resonance.evaluate.report import write_json, write_markdown
    from resonance.io.atomic import StagedOutputs

    out = Path(out)
    with StagedOutputs(out) as staged:
        write_json(result, staged.path(REPORT_FILES[0]))
        write_markdown(result, staged.path(REPORT_FILES[1]), title=title)
        staged.commit(order=[REPORT_FILES[1], REPORT_FILES[0]])
    return [out / name for name in REPORT_FILES]


def evaluate(checkpoint: str | os.PathLike[str], dataset_dir: str | os.PathLike[str], split: str = "test", *,
             out: str | os.PathLike[str] | None = None, features: str | os.PathLike[str] | None = None,
             config: ProtocolConfig = ProtocolConfig(), log: Callable[[str], None] | None = None,
             fold: int | None = None, folds: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Evaluate ``checkpoint`` on ``split`` of the prepared dataset ``dataset_dir``, with its baselines.

    Parameters
    ----------
    checkpoint : path-like
        A ``.pt`` written by ``resonance train``; another version or taxonomy is refused before any work.
    dataset_dir : path-like
        A dataset folder written by ``resonance data prepare`` (or its ``manifest.parquet``).
    split : str
        The split to score (``"test"``); the descriptor baseline is fit on ``"train"``.
    out : path-like, optional
        Folder for ``evaluation.json`` and ``evaluation.md`` (written only when everything succeeded).
    features : path-like, optional
        The features table for the descriptor baseline (default: found beside the dataset).
    config : ProtocolConfig
    fold : int, optional
        Score the cross-validation fold ``fold``: its splits replace the manifest's (the fold's test
        groups are ``split="test"``, its train groups fit the descriptor baseline), so a fold checkpoint is
        scored on speakers it never trained on. Default: the fold the checkpoint was trained on, if any
        (:func:`checkpoint_fold`); another fold than that is refused.
    folds : path-like, optional
        The folds CSV (``fold,group``, as ``resonance train --folds``); default: the one the checkpoint
        was trained with, else the speech corpora's default actor folds.

    Returns
    -------
    dict
        As :func:`evaluate_model`, plus ``"checkpoint"`` and ``"dataset"`` provenance (with the fold).
    """
    from resonance.models.factory import ModelConfig
    from resonance.train.checkpoint import load_model
    from resonance.train.config import from_dict

    model, ckpt = load_model(checkpoint)
    model_config = from_dict(ModelConfig, ckpt["config"]["model"], prefix="model.")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ParameterError(f"--out {out} is a file; pass a folder for evaluation.json and evaluation.md")
    from resonance.data.manifest import read_manifest

    frame = read_manifest(dataset_dir)
    train_config = train_config_of(ckpt)
    fold, fold_info = apply_fold(frame, ckpt, train_config, fold, folds, Path(checkpoint))
    if fold_info is not None:
        frame = fold_info.pop("frame")
    test = load_eval_set(dataset_dir, split, train_config, features=features, frame=frame)
    train = None
    if split == "train":
        test.descriptor_note = "the descriptor baseline is fit on the train split, so it is not scored on it"
        test.descriptors = {}
    elif test.descriptors:
        try:
            train = load_eval_set(dataset_dir, "train", train_config, features=features, require_both=False,
                                  with_dataset=False, frame=frame)
        except DatasetError as error:
            test.descriptor_note = f"no train split to fit the descriptor baseline on ({error})"
            test.descriptors = {}
    result = evaluate_model(model, test, model_config=model_config, train=train, config=config, log=log)
    if fold_info is not None:
        result["notes"].append(fold_info["note"])
    info = frame.attrs["manifest"]
    result = {"checkpoint": {"path": str(Path(checkpoint).resolve()), "epoch": ckpt.get("epoch"),
                             "step": ckpt.get("step"), "resonance_version": ckpt.get("resonance_version"),
                             "data_version": ckpt.get("data_version")},
              "dataset": {"path": str(Path(dataset_dir).resolve()), "split": split,
                          "data_version": info.data_version, "fold": fold,
                          **({"fold_test_groups": fold_info["test_groups"]} if fold_info is not None else {})},
              **result}
    if out is not None:
        write_report(result, out, title=f"Evaluation of {Path(checkpoint).name} on {split}")
    return result


def checkpoint_fold(ckpt: Mapping[str, Any]) -> int | None:
    """The cross-validation fold a checkpoint was trained on, or None (the manifest split).

    Read from its config's ``data.fold``; checkpoints of an all-folds run written before
    :func:`~resonance.train.manifest_data.run_manifest` recorded the fold there carry -1, and their fold is
    read from the run folder's name (``.../fold_K``), which is where that function put them.
    """
    import re

    data = ckpt.get("config", {}).get("data", {})
    if int(data.get("fold", -1)) >= 0:
        return int(data["fold"])
    match = re.fullmatch(r"fold_(\d+)", Path(str(ckpt.get("config", {}).get("run_dir", ""))).name)
    return int(match.group(1)) if match and data.get("kind") == "manifest" and data.get("folds") != "split" else None


def apply_fold(frame: pd.DataFrame, ckpt: Mapping[str, Any], train_config: Any, fold: int | None,
                folds: str | os.PathLike[str] | None, where: Path) -> tuple[int | None, dict[str, Any] | None]:
    """The fold to score and, when there is one, the manifest with the fold's splits (``"frame"``), its test
    groups and a note; refuses a fold other than the checkpoint's (:func:`checkpoint_fold`)."""
    import dataclasses

    from resonance.train.folds import fold_splits, natural_key
    from resonance.train.manifest_data import fold_plan

    trained = checkpoint_fold(ckpt)
    if fold is None:
        fold = trained
    elif fold < 0:
        raise ParameterError(f"--fold must be >= 0, got {fold}")
    elif trained is None:
        raise ParameterError(f"{where} was trained on the manifest split, not on a cross-validation fold: its train "
                             f"split holds speakers of fold {fold}'s test side; omit --fold (score the manifest "
                             "split), or pass a fold checkpoint (RUN/fold_K/checkpoints/best.pt)")
    elif fold != trained:
        raise ParameterError(f"{where} was trained on fold {trained}; scoring it on fold {fold} would test speakers "
                             f"it trained on: pass --fold {trained} (or omit --fold), or use fold {fold}'s checkpoint")
    if fold is None:
        if folds is not None:
            raise ParameterError(f"--folds was given but {where} was trained on the manifest split, not on a fold; "
                                 "omit --folds")
        return None, None
    data = train_config.data
    if folds is not None:
        data = dataclasses.replace(data, folds=str(folds))
    elif data.folds and not Path(data.folds).is_file():
        raise ParameterError(f"{where} was trained with the folds file {data.folds}, which is not here: pass it "
                             "with --folds FILE")
    plan = fold_plan(dataclasses.replace(train_config, data=data), frame)
    if plan is None:
        raise ParameterError("no folds apply to this dataset (no speech corpus to fold by actor): omit --fold, or "
                             "pass --folds FILE")
    if not 0 <= fold < len(plan):
        raise ParameterError(f"--fold must be in [0, {len(plan) - 1}] (the plan has {len(plan)} folds), got {fold}")
    chosen = plan.folds[fold]
    recorded = train_config.data
    if folds is not None and (not recorded.folds or Path(recorded.folds).is_file()):
        trained_plan = fold_plan(train_config, frame)
        if trained_plan is not None and (fold >= len(trained_plan)
                                         or trained_plan.folds[fold].test_groups != chosen.test_groups):
            raise ParameterError(f"fold {fold} of {folds} does not test the groups that fold {fold} of the "
                                 f"checkpoint's "
                                 f"plan ({recorded.folds or 'default actor folds'}) tests: omit --folds, or pass the "
                                 "folds file the checkpoint was trained with")
    attrs = dict(frame.attrs)
    frame = frame.copy()
    frame["split"] = fold_splits(frame, plan, chosen).to_numpy()
    frame.attrs.update(attrs)
    groups = sorted(chosen.test_groups, key=natural_key)
    note = (f"fold {fold} of {len(plan)} ({'folds file ' + str(data.folds) if data.folds else 'default actor folds'}"
            f"): tests {', '.join(groups)}; its train groups fit the descriptor baseline; groups no fold names keep "
            "the manifest's split")
    return fold, {"frame": frame, "test_groups": groups, "note": note}
