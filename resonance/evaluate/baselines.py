"""The descriptor-only baseline: linear models on the handcrafted descriptors, put through the same protocol.

For each modality separately, fit on the train split:

* a multinomial :class:`sklearn.linear_model.LogisticRegression` from the descriptors to the category
  (the argmax of the soft label), whose predicted probabilities fill the 12 categories of
  :data:`~resonance.data.emotion.CATEGORIES` (categories absent from that modality's train split get 0);
* a :class:`sklearn.linear_model.Ridge` from the descriptors to valence and arousal (clipped to [0, 1]).

Descriptors are standardised with the train split's mean and standard deviation; an undefined value
(NaN) becomes the train mean (0 after standardisation) and a missing-value indicator column is added
for every descriptor that is ever undefined, so "undefined" stays visible to the linear model. Each
item is then the point ``[probabilities (12), valence, arousal]`` of a common, interpretable space
shared by both modalities, and that space is scored exactly as the model's shared space is
(:func:`~resonance.evaluate.protocol.score_space`). No hyper-parameter is tuned (C = 1, alpha = 1).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from resonance.data.emotion import CATEGORIES, CATEGORY_INDEX

__all__ = ["DescriptorSpace", "descriptor_baseline", "fit_modality"]


@dataclass(frozen=True, eq=False)
class DescriptorSpace:
    """The test items in the descriptor baseline's space, in the test meta's order."""

    points: np.ndarray  # (n, 14): probabilities then valence, arousal
    probs: np.ndarray  # (n, 12)
    va: np.ndarray  # (n, 2)
    description: dict


def _design(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardised values with train-mean imputation plus missing indicators (columns ever undefined)."""
    finite = np.isfinite(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.where(finite.any(0), np.nanmean(np.where(finite, train, np.nan), axis=0), 0.0)
        std = np.where(finite.sum(0) > 1, np.nanstd(np.where(finite, train, np.nan), axis=0), 1.0)
    std = np.where(std > 0, std, 1.0)
    missing_cols = (~finite).any(0) | (~np.isfinite(test)).any(0)

    def transform(x: np.ndarray) -> np.ndarray:
        ok = np.isfinite(x)
        z = np.where(ok, (np.where(ok, x, 0.0) - mean) / std, 0.0)
        return np.hstack([z, (~ok[:, missing_cols]).astype(np.float64)])

    return transform(train), transform(test)


def fit_modality(x_train: np.ndarray, cat_train: np.ndarray, va_train: np.ndarray, x_test: np.ndarray,
                 *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """Category probabilities (n_test, 12) and VA (n_test, 2) of one modality's linear models."""
    from sklearn.linear_model import LogisticRegression, Ridge

    a, b = _design(x_train, x_test)
    probs = np.zeros((x_test.shape[0], len(CATEGORIES)))
    classes = np.unique(cat_train)
    if classes.size >= 2:
        clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(a, cat_train)
        for j, c in enumerate(clf.classes_):
            probs[:, CATEGORY_INDEX[c]] = clf.predict_proba(b)[:, j]
        category = f"LogisticRegression(C=1) over {classes.size} classes"
    else:
        probs[:, CATEGORY_INDEX[classes[0]]] = 1.0
        category = f"constant {classes[0]!r} (one class in train)"
    ridge = Ridge(alpha=1.0).fit(a, va_train)
    va = np.clip(ridge.predict(b), 0.0, 1.0)
    return probs, va, {"category": category, "va": "Ridge(alpha=1)", "n_train": int(a.shape[0]),
                       "n_features": int(a.shape[1])}


def descriptor_baseline(train_meta: pd.DataFrame, train_desc: dict[str, pd.DataFrame], test_meta: pd.DataFrame,
                        test_desc: dict[str, pd.DataFrame], *, seed: int = 0) -> DescriptorSpace | str:
    """Fit per-modality linear models on the train descriptors and place the test items in their space.

    Returns a :class:`DescriptorSpace`, or a sentence saying why the baseline cannot be computed.
    """
    n = len(test_meta)
    probs = np.zeros((n, len(CATEGORIES)))
    va = np.zeros((n, 2))
    description: dict = {}
    for modality in ("image", "audio"):
        tr_table, te_table = train_desc.get(modality), test_desc.get(modality)
        if tr_table is None or te_table is None:
            return f"no descriptors of the {modality} items"
        tr = train_meta[(train_meta["modality"] == modality) & train_meta["id"].isin(tr_table.index)]
        te_rows = np.flatnonzero(test_meta["modality"].to_numpy() == modality)
        if len(tr) < 2:
            return f"fewer than two {modality} items with descriptors in the train split"
        columns = list(tr_table.columns)
        x_train = tr_table.loc[tr["id"], columns].to_numpy(np.float64)
        x_test = te_table.reindex(test_meta["id"].iloc[te_rows])[columns].to_numpy(np.float64)
        p, v, info = fit_modality(x_train, tr["category"].to_numpy().astype(str),
                                  tr[["valence", "arousal"]].to_numpy(np.float64), x_test, seed=seed)
        probs[te_rows], va[te_rows] = p, v
        description[modality] = {**info, "n_descriptors": len(columns),
                                 "n_test_without_descriptors": int(np.isnan(x_test).all(axis=1).sum())}
    points = np.hstack([probs, va])
    norms = np.linalg.norm(points, axis=1)
    points[norms == 0] = 1.0  # cannot happen with probabilities, kept so the metrics never see a zero row
    return DescriptorSpace(points, probs, va, description)
