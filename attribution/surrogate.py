"""SHAP on descriptors through surrogate models: gradient-boosted trees that predict what the dual
encoder computes (its alignment score of image-sound pairs, an item's predicted VA) from both
modalities' handcrafted descriptors, explained by :class:`shap.TreeExplainer` (exact, so SHAP's local
accuracy holds to rounding and is reported as the result's ``delta``).

A surrogate is only as good as its fit: its held-out R^2 (``extras["fidelity_r2"]``, on pairs it was not
fit on) stands beside every result, and below :data:`FIDELITY_THRESHOLD` the result is flagged
``extras["interpretable"] = False`` -- its SHAP values describe the trees, not the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from attribution.ig import descriptor_tower
from attribution.result import AttributionResult
from resonance.errors import ParameterError

#: Held-out R^2 below which a surrogate's SHAP values are flagged as not interpretable.
FIDELITY_THRESHOLD = 0.5


def embed_items(model: Any, items: Sequence[dict[str, Any]], modality: str,
                batch_size: int = 256) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Embeddings (n, E) and raw descriptors (n, D) of the ``modality`` items (and those items)."""
    from resonance.train.data import collate

    chosen = [it for it in items if it["modality"] == modality]
    if not chosen:
        raise ParameterError(f"no {modality} items in the data")
    device = next(model.parameters()).device
    zs, ds = [], []
    with torch.no_grad():
        for start in range(0, len(chosen), batch_size):
            part = collate(chosen[start:start + batch_size])[modality]
            if part["descriptors"].shape[1] == 0:
                raise ParameterError(f"the {modality} items have no descriptors: run `resonance features extract` "
                                     "on the dataset first")
            zs.append(model.encode(modality, {k: v.to(device) for k, v in part.items()}).cpu().numpy())
            ds.append(part["descriptors"].numpy())
    return np.concatenate(zs).astype(np.float64), np.concatenate(ds).astype(np.float64), chosen


def pair_table(model: Any, items: Sequence[dict[str, Any]], n_pairs: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Random image-sound pairs of ``items`` with both descriptor vectors and the model's alignment.

    Returns ``{"image": (n, Di), "audio": (n, Da), "score": (n,), "pairs": (n, 2) item positions,
    "image_items", "audio_items", "names": {modality: names}}``.
    """
    zi, di, imgs = embed_items(model, items, "image")
    za, da, auds = embed_items(model, items, "audio")
    return {**random_pairs(zi, di, za, da, n_pairs, seed), "image_items": imgs, "audio_items": auds,
            "names": {m: list(descriptor_tower(model, m).names) for m in ("image", "audio")}}


def random_pairs(zi: np.ndarray, di: np.ndarray, za: np.ndarray, da: np.ndarray, n_pairs: int,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """``n_pairs`` distinct random (image, sound) pairs of embeddings ``zi``/``za`` with descriptors
    ``di``/``da``: ``{"image", "audio", "score", "pairs"}`` (see :func:`pair_table`)."""
    rng = np.random.default_rng(seed)
    n = min(n_pairs, len(zi) * len(za))
    flat = rng.choice(len(zi) * len(za), size=n, replace=False)
    ii, aa = flat // len(za), flat % len(za)
    return {"image": di[ii], "audio": da[aa], "score": (zi[ii] * za[aa]).sum(1), "pairs": np.stack([ii, aa], 1)}


def _impute(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean = np.nanmean(np.where(np.isfinite(train), train, np.nan), axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    return [np.where(np.isfinite(x), x, mean) for x in (train, *others)]


def shap_surrogate(blocks: dict[str, np.ndarray], y: np.ndarray, names: dict[str, list[str]], *,
                   target: str = "alignment s(image, sound)", test_fraction: float = 0.25, seed: int = 0,
                   interactions: bool = True, max_explain: int = 300, n_estimators: int = 200, max_depth: int = 3,
                   threshold: float = FIDELITY_THRESHOLD) -> AttributionResult:
    """Fit a gradient-boosted surrogate of ``y`` on the descriptor ``blocks`` and explain it with TreeSHAP.

    Parameters
    ----------
    blocks : ``{modality: (n, D_m)}`` descriptor columns (one block for a one-modality target)
    y : (n,) what the model computed (alignment score, predicted valence, ...)
    names : ``{modality: column names}``
    test_fraction : share of rows held out for the fidelity R^2 (and explained)
    interactions : also compute SHAP interaction values; the image x sound block goes to
        ``attributions["pair"]["matrix"]`` (phi_ij + phi_ji, i.e. the whole interaction of the pair)
    max_explain : explain at most this many held-out rows (interaction values cost O(rows D^2))

    Returns
    -------
    AttributionResult
        ``attributions[modality]["descriptors"]`` SHAP values (rows, D_m); ``score`` the surrogate's
        prediction, ``baseline_score`` its expected value, ``delta`` = sum of SHAP values - (score -
        baseline); ``extras``: ``fidelity_r2``, ``interpretable``, ``threshold``, ``n_train``, ``n_test``.
    """
    import shap
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.metrics import r2_score

    modalities = list(blocks)
    x = np.concatenate([np.asarray(blocks[m], dtype=np.float64) for m in modalities], axis=1)
    y = np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(y) < 20:
        raise ParameterError(f"a surrogate needs >= 20 rows with one target each, got {len(x)} rows, {len(y)} targets")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = max(5, int(round(test_fraction * len(y))))
    test, fit = order[:n_test], order[n_test:]
    x_fit, x_test = _impute(x[fit], x[test])
    gbr = GradientBoostingRegressor(n_estimators=n_estimators, max_depth=max_depth, learning_rate=0.05,
                                    subsample=0.8, random_state=seed).fit(x_fit, y[fit])
    r2 = float(r2_score(y[test], gbr.predict(x_test)))
    explain = x_test[:max_explain]
    explainer = shap.TreeExplainer(gbr)
    values = np.asarray(explainer.shap_values(explain), dtype=np.float64)
    expected = float(np.ravel(explainer.expected_value)[0])
    pred = gbr.predict(explain)
    bounds = np.cumsum([0] + [blocks[m].shape[1] for m in modalities])
    attributions: dict[str, dict[str, np.ndarray]] = {m: {"descriptors": values[:, bounds[k]:bounds[k + 1]]}
                                                      for k, m in enumerate(modalities)}
    extras: dict[str, Any] = {"fidelity_r2": r2, "interpretable": bool(r2 >= threshold), "threshold": threshold,
                              "n_train": int(len(fit)), "n_test": int(len(test)),
                              "surrogate": "GradientBoostingRegressor",
                              "explained_rows": test[:max_explain].tolist()}
    if interactions and len(modalities) == 2:
        inter = np.asarray(explainer.shap_interaction_values(explain), dtype=np.float64)
        i0, i1, a0, a1 = bounds[0], bounds[1], bounds[1], bounds[2]
        attributions["pair"] = {"matrix": inter[:, i0:i1, a0:a1] + np.swapaxes(inter[:, a0:a1, i0:i1], 1, 2)}
    return AttributionResult("tree_shap", f"{target} (surrogate)", "surrogate expected value", attributions,
                             delta=values.sum(1) - (pred - expected), score=pred,
                             baseline_score=np.full(len(pred), expected),
                             feature_names={m: list(names[m]) for m in modalities}, extras=extras)
