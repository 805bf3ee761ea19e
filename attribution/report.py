"""The attribution report: per emotion, what carries the alignment, and how reliable each answer is.

:func:`attribution_report` writes, into ``out``::

    index.html                 links every page, with each emotion's top descriptors and top pair
                               (self-contained: images inlined, no script, no CDN)
    report.json                every number of every page
    sanity.html, sanity.json   completeness at the default n_steps, cascading randomisation, deletion
                               and insertion against random order, faithfulness correlation
    emotions/EMOTION.json      one emotion's numbers (written atomically; a rerun skips finished ones)
    emotions/EMOTION.html      SHAP bar + beeswarm with the surrogate's fidelity, the image x sound pair
                               matrix, IG top descriptors, deletion curves, IG overlays on the most
                               representative paintings and spectrograms with their grouped IG, the
                               regression tables (model and human outcome side by side), and the
                               distribution of completeness errors

Per emotion E: the *model* outcome of a ``modality`` item is its alignment to E's prototype (the mean
embedding of the other modality's E items); IG explains it over the descriptors of every E item (streamed
in chunks) and over the raw inputs of the ``n_overlays`` E items closest to that prototype (the most
representative ones); the regression fits it, and the human label probability of E, on the descriptors of
every item of the modality; the pair matrix is the integrated-Jacobian matrix averaged over congruent
pairs (image and sound both E) -- or, for deep towers without descriptor inputs, the SHAP interaction
values of the surrogate; SHAP comes from one surrogate of s(image, sound) over random pairs, summarised
over the pairs in which the image or the sound is E.

Memory: the items are read in chunks (:mod:`attribution.items`); only embeddings, labels and
descriptors of all items are held, plus the inputs of one chunk at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from attribution import report_pages as pages
from attribution.encode import has_descriptor_inputs, has_raw_inputs, tower_kind
from attribution.ig import DEFAULT_STEPS, integrated_gradients
from attribution.items import ItemTable, item_table, label_probability
from attribution.overlays import OVERLAY_BASELINE, OVERLAY_MAX_STEPS, grouped, overlay_figure, raw_input_attributions
from attribution.pairwise import integrated_jacobians, pair_ranking
from attribution.regression import standardised_regression
from attribution.sanity import (
    cascading_randomisation,
    deletion_insertion,
    faithfulness_correlation,
    random_model_floor,
    randomisation_blocks,
)
from attribution.stream import streamed_integrated_gradients
from attribution.surrogate import FIDELITY_THRESHOLD, random_pairs, shap_surrogate
from attribution.targets import alignment
from resonance.errors import ParameterError
from resonance.io import write_text_atomic

REPORT_FORMAT = 6
#: The report's regressions leave out descriptors whose variance inflation factor exceeds this.
MAX_VIF = 10.0


def _completeness(rel: np.ndarray) -> dict[str, Any] | None:
    rel = np.asarray(rel, dtype=np.float64)
    rel = rel[np.isfinite(rel)]
    if not len(rel):
        return None
    return {"n": int(len(rel)), "median": float(np.median(rel)), "p95": float(np.quantile(rel, 0.95)),
            "max": float(rel.max()), "share_below_1pct": float(np.mean(rel < 0.01)),
            "quantiles": {str(q): float(np.quantile(rel, q)) for q in (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)}}


class _Context:
    """What every page of one report shares."""

    def __init__(self, model: Any, table: ItemTable, settings: dict[str, Any],
                 raw_image: Callable[[int], Any] | None) -> None:
        self.model, self.table, self.s, self.raw_image = model, table, settings, raw_image
        self.descriptor_inputs = {m: has_descriptor_inputs(model, m) for m in ("image", "audio")}
        self.raw_inputs = {m: has_raw_inputs(model, m) for m in ("image", "audio")}

    def raw_parts(self, rows: Sequence[int], modality: str) -> dict[str, Any]:
        """Parts whose ``input`` is what the raw-input IG varies: pixels even where the dataset gives
        cached backbone features."""
        import torch

        from resonance.train.data import collate

        items = [self.table.item(r) for r in rows]
        if modality == "image" and self.raw_image is not None:
            items = [dict(it, input=torch.as_tensor(self.raw_image(int(r)))) for it, r in zip(items, rows, strict=True)]
        return collate(items)[modality]


#: Up to this many candidate pairs an emotion's pairs are sampled from the enumerated list (16 MB); beyond,
#: they are drawn without enumerating.
ENUMERATE_PAIRS = 2_000_000


def _emotion_pairs(table: ItemTable, emotion: str, n_pairs: int, seed: int) -> dict[str, np.ndarray]:
    """``n_pairs`` distinct random (image, sound) pairs of which the image or the sound (or both) is labelled
    ``emotion``, uniform over those pairs, with both descriptor vectors and the model's alignment (as
    :func:`random_pairs`). Memory is O(n_pairs): the pairs are drawn, not enumerated, unless there are few."""
    img_rows, aud_rows = table.rows("image"), table.rows("audio")
    ni, na = len(img_rows), len(aud_rows)
    ei = np.flatnonzero(table.label[img_rows] == emotion)
    ea = np.flatnonzero(table.label[aud_rows] == emotion)
    in_e = np.zeros(ni, dtype=bool)
    in_e[ei] = True
    total = len(ei) * na + ni * len(ea) - len(ei) * len(ea)
    rng = np.random.default_rng(seed)
    if total <= max(4 * n_pairs, ENUMERATE_PAIRS):
        flat = np.union1d((ei[:, None] * na + np.arange(na)).ravel(), (np.arange(ni)[:, None] * na + ea).ravel())
        flat = rng.choice(flat, size=min(n_pairs, len(flat)), replace=False)
    else:  # draw from the two rectangles (E images x all sounds, all images x E sounds), once per pair
        chosen: set[int] = set()
        n1, n2 = len(ei) * na, ni * len(ea)
        while len(chosen) < n_pairs:
            k = rng.integers(0, n1 + n2, size=2 * n_pairs)
            one, two = k < n1, np.maximum(k - n1, 0)
            i = np.where(one, ei[np.minimum(k, n1 - 1) // na] if n1 else 0, two // max(len(ea), 1))
            a = np.where(one, k % na, ea[two % len(ea)] if len(ea) else 0)
            keep = one | ~in_e[i]  # a pair with an E image is drawn through the first rectangle only
            for c in (i * na + a)[keep].tolist():  # in the order drawn
                if len(chosen) < n_pairs:
                    chosen.add(c)
        flat = np.fromiter(chosen, dtype=np.int64)
    flat = np.sort(flat)
    ii, aa = flat // na, flat % na
    zi, za = table.embedding[img_rows], table.embedding[aud_rows]
    return {"image": table.descriptors["image"][ii], "audio": table.descriptors["audio"][aa],
            "score": (zi[ii] * za[aa]).sum(1), "pairs": np.stack([ii, aa], 1)}


def _shap_section(ctx: _Context, emotion: str, numbers: dict[str, Any], figures: dict[str, str]) -> Any:
    """SHAP of this emotion's own surrogate: fitted on random pairs with an image or a sound of the
    emotion, its fidelity measured on held-out pairs of the same kind. Returns the surrogate (None when
    there are too few pairs)."""
    t, names = ctx.table, ctx.table.names
    pairs = _emotion_pairs(t, emotion, ctx.s["n_pairs"], ctx.s["seed"])
    if len(pairs["score"]) < 20:
        numbers["shap"] = {"skipped": f"only {len(pairs['score'])} pairs with an item of {emotion}: a surrogate "
                                      "needs >= 20", "n_pairs": 0, "interpretable": False,
                           "fidelity_r2": None, "threshold": FIDELITY_THRESHOLD}
        return None
    surrogate = shap_surrogate({"image": pairs["image"], "audio": pairs["audio"]}, pairs["score"], t.names,
                               seed=ctx.s["seed"], max_explain=300)
    rows = np.asarray(surrogate.extras["explained_rows"])
    fid = surrogate.extras["fidelity_r2"]
    numbers["shap"] = {"fidelity_r2": fid, "interpretable": surrogate.extras["interpretable"],
                       "threshold": surrogate.extras["threshold"], "n_pairs": int(len(rows)),
                       "n_train": surrogate.extras["n_train"], "n_test": surrogate.extras["n_test"],
                       "scope": f"random pairs with an image or a sound of {emotion}"}
    for m in ("image", "audio"):
        v = np.abs(surrogate.attributions[m]["descriptors"]).mean(0)
        numbers["shap"][f"{m}_mean_abs"] = dict(zip(names[m], v.tolist(), strict=True))
        order = np.argsort(-v)[:3]
        numbers["shap"][f"{m}_top"] = [(names[m][i], float(v[i])) for i in order]
        figures[f"shap_bar_{m}"] = pages.bar(names[m], v, f"{m}: mean |SHAP| (surrogate R2 {fid:.2f})")
    x = np.concatenate([pairs["image"][rows], pairs["audio"][rows]], 1)
    sv = np.concatenate([surrogate.attributions["image"]["descriptors"],
                         surrogate.attributions["audio"]["descriptors"]], 1)
    figures["shap_beeswarm"] = pages.beeswarm(sv, x, [f"image:{n}" for n in names["image"]]
                                              + [f"audio:{n}" for n in names["audio"]])
    return surrogate


def _pair_section(ctx: _Context, emotion: str, surrogate: Any, numbers: dict[str, Any],
                  figures: dict[str, str]) -> None:
    t, names = ctx.table, ctx.table.names
    ri, ra = t.rows("image", emotion), t.rows("audio", emotion)
    if all(ctx.descriptor_inputs.values()) and len(ri) and len(ra):
        k = min(len(ri), len(ra), ctx.s["max_items"])
        rng = np.random.default_rng(ctx.s["seed"])
        ri, ra = rng.permutation(ri)[:k], rng.permutation(ra)[:k]
        ij = integrated_jacobians(ctx.model, {"image": t.parts(ri, "image"), "audio": t.parts(ra, "audio")},
                                  n_steps=max(8, ctx.s["n_steps"] // 2))
        matrix, ranking = ij.attributions["pair"]["matrix"], pair_ranking(ij)
        rel = np.abs(ij.delta) / np.maximum(np.abs(ij.extras["alignment"]), 1e-12)
        method = f"integrated Jacobians over congruent pairs ({ij.extras['n_steps']} Gauss-Legendre nodes)"
        extra = {"relative_delta_median": float(np.median(rel)), "relative_delta_max": float(rel.max()),
                 "alignment_mean": float(np.mean(ij.extras["alignment"])),
                 "interaction_part_mean": float(np.mean(ij.score)),
                 "main_image_mean": float(np.mean(ij.extras["main_image"])),
                 "main_audio_mean": float(np.mean(ij.extras["main_audio"]))}
    else:
        if surrogate is None:
            numbers["pair_matrix"] = {"n_pairs": 0, "skipped": "no surrogate for this emotion (too few pairs)"}
            return
        matrix = surrogate.attributions["pair"]["matrix"]
        ranking = pair_ranking(surrogate)
        k = len(matrix)
        why = ("the towers read no descriptors" if not all(ctx.descriptor_inputs.values()) else
               f"no congruent pairs: the data has no {'image' if not len(ri) else 'sound'} of {emotion}")
        method = (f"SHAP interaction values of {emotion}'s surrogate over held-out pairs with an item of "
                  f"{emotion} ({why})")
        extra = {"relative_delta_median": float(np.median(np.abs(surrogate.delta))), "relative_delta_max":
                 float(np.max(np.abs(surrogate.delta)))}
    mean = matrix.mean(0)
    top = ranking[0]
    i, j = names["image"].index(top[0]), names["audio"].index(top[1])
    numbers["pair_matrix"] = {"n_pairs": k, "method": method, "top_pairs": ranking[:10],
                              "top_pair_mean_contribution": float(mean[i, j]), "mean_matrix": mean.tolist(), **extra}
    figures["pair_matrix"] = pages.heatmap(mean, names["image"], names["audio"],
                                           f"{emotion}: image x sound contributions")


def _overlays(ctx: _Context, emotion: str, m: str, target: Any, rows: np.ndarray, scores: np.ndarray,
              entry: dict[str, Any], figures: dict[str, str]) -> np.ndarray:
    n = ctx.s["n_overlays"]
    if not (ctx.raw_inputs[m] and n):
        entry["overlays_skipped"] = (f"the {m} tower reads descriptors only: no pixels or bins to attribute"
                                     if not ctx.raw_inputs[m] else "overlays turned off")
        return np.zeros(0)
    chosen = rows[np.argsort(-scores, kind="stable")[:n]]
    part = ctx.raw_parts(chosen, m)
    r = raw_input_attributions(ctx.model, target, {m: part}, n_steps=ctx.s["overlay_steps"],
                               max_steps=ctx.s["overlay_max_steps"])
    a, x = r.attributions[m]["input"], part["input"].numpy()
    groups = grouped(m, a, x)
    mean_groups = {g: float(np.mean(v)) for g, v in groups.items()}
    entry["overlays"] = {"ids": [ctx.table.ids[i] for i in chosen], "score": r.score.tolist(),
                         "baseline_score": r.baseline_score.tolist(), "delta": r.delta.tolist(),
                         "relative_delta": r.relative_delta.tolist(), "grouped_mean": mean_groups,
                         "n_steps": r.extras["n_steps"], "segments": r.extras["segments"],
                         "converged": r.extras["converged"], "abs_error_sum": r.extras["abs_error_sum"],
                         "grouped": {g: v.tolist() for g, v in groups.items()},
                         "note": f"{len(chosen)} {m} items of {emotion} closest to the prototype; baseline "
                                 f"{OVERLAY_BASELINE[m]}, {ctx.s['overlay_steps']} steps, refined along the path up "
                                 f"to {ctx.s['overlay_max_steps']} where completeness missed 1 %; grouped IG is the "
                                 "sum of element attributions per named feature, mean over these items"}
    for k, (i, xi, ai) in enumerate(zip(chosen, x, a, strict=True)):
        title = (f"{ctx.table.ids[i]}: score {r.score[k]:+.3f} vs baseline {r.baseline_score[k]:+.3f}; "
                 f"completeness error {100 * r.relative_delta[k]:.2f} % at {r.extras['n_steps'][k]} steps"
                 + ("" if r.extras["converged"][k] else " (step cap reached)"))
        figures[f"overlay_{m}_{k}"] = pages.png(overlay_figure(m, xi, ai, title))
    figures[f"groups_{m}"] = pages.grouped_bars(mean_groups, f"{m}: grouped IG ({emotion})")
    return r.relative_delta


def _modality_section(ctx: _Context, emotion: str, m: str, figures: dict[str, str]) -> tuple[dict, list, list]:
    t = ctx.table
    rows = t.rows(m, emotion)
    if not len(rows):
        return {"skipped": f"no {m} items of {emotion} in this split"}, [], []
    try:
        target = t.prototype(emotion, m)
    except ParameterError as err:
        return {"skipped": str(err)}, [], []
    all_rows = t.rows(m)
    proto = target.prototype.numpy().astype(np.float64)
    y_model = t.embedding[all_rows] @ proto
    scores = t.embedding[rows] @ proto
    entry: dict[str, Any] = {"n_items": int(len(rows)), "prototype_alignment_mean": float(scores.mean())}
    desc_rel, raw_rel = [], []
    if ctx.descriptor_inputs[m]:
        chunks = ({m: p} for p in t.chunks(rows, m, ctx.s["chunk"]))
        st = streamed_integrated_gradients(ctx.model, target, chunks, n_steps=ctx.s["n_steps"])
        desc_rel.append(st.relative_delta)
        entry["ig"] = {"n": st.n, "n_steps": ctx.s["n_steps"], "baseline": "train mean",
                       "mean_abs": dict(zip(st.feature_names[m], st.mean_abs(m).tolist(), strict=True)),
                       "mean_signed": dict(zip(st.feature_names[m], st.mean_signed(m).tolist(), strict=True)),
                       "completeness": _completeness(st.relative_delta)}
        entry["top_descriptors"] = st.top(m, 10)
        sub = rows[:min(len(rows), ctx.s["max_items"], ctx.s["chunk"])]
        parts = {m: t.parts(sub, m)}
        ig = integrated_gradients(ctx.model, target, parts, n_steps=ctx.s["n_steps"])
        di = deletion_insertion(ctx.model, target, parts, ig, n_boot=200, seed=ctx.s["seed"],
                                n_random=ctx.s["n_random"], n_points=ctx.s["n_points"])
        entry["deletion"] = di
        figures[f"deletion_{m}"] = pages.curves(di, "descriptors")
    raw_rel.append(_overlays(ctx, emotion, m, target, rows, scores, entry, figures))
    desc = t.descriptors[m]
    for outcome, y in (("model", y_model), ("human", label_probability(t, all_rows, emotion))):
        try:
            entry[f"regression_{outcome}"] = standardised_regression({m: desc}, y, {m: t.names[m]}, outcome=outcome,
                                                                     max_vif=MAX_VIF).to_dict()
        except ParameterError as err:
            entry[f"regression_{outcome}"] = {"skipped": str(err)}
    return entry, desc_rel, raw_rel


def _emotion_section(ctx: _Context, emotion: str) -> tuple[dict[str, Any], dict[str, str]]:
    numbers: dict[str, Any] = {"emotion": emotion}
    figures: dict[str, str] = {}
    surrogate = _shap_section(ctx, emotion, numbers, figures)
    _pair_section(ctx, emotion, surrogate, numbers, figures)
    desc_rel, raw_rel = [], []
    for m in ("image", "audio"):
        numbers[m], d, r = _modality_section(ctx, emotion, m, figures)
        desc_rel += d
        raw_rel += r
    for key, rel, fig in (("completeness_descriptors", desc_rel, "completeness"),
                          ("completeness_raw", raw_rel, "completeness_raw")):
        c = _completeness(np.concatenate(rel)) if rel else None
        numbers[key] = c
        if c:
            figures[fig] = pages.hist(np.concatenate(rel), f"{emotion}: IG |delta| / |score - baseline score|")
    return numbers, figures


def _sanity(ctx: _Context) -> tuple[dict[str, Any], dict[str, str]]:
    """Completeness, randomisation, deletion and faithfulness of IG of s(image, sound) on random pairs."""
    t, s = ctx.table, ctx.s
    rng = np.random.default_rng(s["seed"] + 1)
    ri, ra = t.rows("image"), t.rows("audio")
    k = min(s["n_sanity"], len(ri), len(ra))
    ri, ra = rng.choice(ri, k, replace=False), rng.choice(ra, k, replace=False)
    if all(ctx.descriptor_inputs.values()):
        field, steps, kw = "descriptors", s["n_steps"], {}
        parts = {"image": t.parts(ri, "image"), "audio": t.parts(ra, "audio")}
    else:
        field, steps = "input", s["overlay_steps"]
        kw = {"baselines": {m: [OVERLAY_BASELINE[m]] for m in ("image", "audio")}, "internal_batch_size": 16}
        parts = {"image": ctx.raw_parts(ri, "image"), "audio": ctx.raw_parts(ra, "audio")}

    def explain(model: Any, keep: list | None = None) -> np.ndarray:
        r = integrated_gradients(model, alignment(), parts, field=field, n_steps=steps, **kw)
        if keep is not None:
            keep.append(r)
        return np.concatenate([r.attributions[m][field].reshape(k, -1) for m in ("image", "audio")], 1)

    kept: list = []
    n_img = int(np.prod(parts["image"][field].shape[1:]))
    groups = {"image": slice(0, n_img), "audio": slice(n_img, None)}
    rows = cascading_randomisation(ctx.model, lambda mdl: explain(mdl, kept if not kept else None),
                                   seed=s["seed"], blocks=randomisation_blocks(ctx.model), feature_groups=groups)
    result = kept[0]
    floor = random_model_floor(ctx.model, explain, seed=s["seed"], feature_groups=groups)
    di = deletion_insertion(ctx.model, alignment(), parts, result, field=field, n_boot=1000, seed=s["seed"],
                            n_random=s["n_random"], n_points=s["n_points"])
    faith = faithfulness_correlation(ctx.model, alignment(), parts, result, field=field, seed=s["seed"])
    what = (f"IG of s(image, sound) over the {field} of {k} random test pairs, {steps} steps "
            f"({'train-mean baseline' if field == 'descriptors' else 'blurred image / silence baseline'}); "
            "deletion replaces the top-attributed features by the baseline, most-attributed first, against 10 random "
            "orders (AUC gap with a bootstrap 95 % interval over pairs)")
    sanity = {"what": what, "field": field, "n_pairs": k, "n_steps": steps,
              "completeness": _completeness(result.relative_delta), "randomisation": rows, "deletion": di,
              "faithfulness": faith, "randomised_spearman_final": rows[-1]["spearman_abs"] if rows else None,
              "randomised_spearman_signed_final": rows[-1]["spearman_signed"] if rows else None,
              "randomised_spearman_importance_final": rows[-1].get("spearman_importance") if rows else None,
              "randomised_spearman_importance_by_modality_final": {
                  m: rows[-1].get(f"spearman_importance_{m}") for m in groups} if rows else None,
              "random_vs_random_spearman_abs": floor["abs"],
              "random_vs_random_spearman_importance": floor["importance"],
              "random_vs_random_spearman_importance_by_modality": {m: floor[f"importance_{m}"] for m in groups}}
    figures = {"deletion": pages.curves(di, field), "completeness": pages.hist(result.relative_delta,
                                                                               "IG |delta| / |s - s(baseline)|")}
    return sanity, figures


def _resumed(path: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    if path.exists() and path.with_suffix(".html").exists():
        done = json.loads(path.read_text())
        if done.get("settings") == settings:
            return done
    return None


def attribution_report(model: Any, items: Sequence[dict[str, Any]], out: str | Path, *,
                       emotions: Sequence[str] | None = None, n_pairs: int = 2000, n_steps: int = DEFAULT_STEPS,
                       overlay_steps: int = 32, overlay_max_steps: int = OVERLAY_MAX_STEPS, n_overlays: int = 3,
                       max_items: int = 200, chunk: int = 64,
                       n_sanity: int = 64, n_random: int = 10, n_points: int = 11, seed: int = 0,
                       progress: bool = True,
                       names: Mapping[str, Sequence[str]] | None = None,
                       transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                       raw_image: Callable[[int], Any] | None = None, model_name: str = "",
                       log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the per-emotion attribution report of ``model`` over ``items`` (a dataset or a list).

    ``n_steps`` is the IG/integrated-Jacobian quadrature on descriptors; ``overlay_steps`` that of the
    raw-input maps (``n_overlays`` per emotion and modality), refined along the path where their
    completeness error is not below 1 %, up to ``overlay_max_steps`` gradient evaluations per map
    (:func:`attribution.adaptive.adaptive_integrated_gradients`); ``max_items`` bounds the pairs of the pair
    matrix and the items of the deletion curves; ``chunk`` the items read at once; ``n_sanity`` the random
    pairs of the sanity page (0: no sanity page); ``n_random`` and ``n_points`` the random orders and the
    points of every deletion / insertion curve. ``names`` are the
    descriptor columns (default: the model's descriptor towers'); ``transform`` is applied to every item
    read; ``raw_image(row)`` gives the pixels of an image row when the items carry cached features.

    Resumable: an emotion whose ``emotions/EMOTION.json`` exists with the same settings is read, not
    recomputed. Nothing is written before the inputs are checked. Returns the contents of ``report.json``.
    """
    import matplotlib

    matplotlib.use("Agg")
    table = item_table(model, items, chunk=chunk, names=names, transform=transform, progress=progress)
    present = sorted(set(table.label.tolist()))
    emotions = list(present if emotions is None else emotions)
    missing = [e for e in emotions if e not in present]
    if missing:
        raise ParameterError(f"no items of emotion {missing}: the data has {present}; pick emotions from those")
    for m in ("image", "audio"):
        if m not in table.descriptors:
            raise ParameterError(f"the data has no {m} items; an alignment report needs paintings and sounds")
    out = Path(out)
    settings = {"format": REPORT_FORMAT, "n_pairs": n_pairs, "n_steps": n_steps, "overlay_steps": overlay_steps,
                "overlay_max_steps": max(overlay_max_steps, overlay_steps), "n_overlays": n_overlays,
                "max_items": max_items, "chunk": chunk, "n_sanity": n_sanity,
                "n_random": n_random, "n_points": n_points, "seed": seed,
                "n_items": len(table.ids), "items_digest": _digest(table.ids)}
    ctx = _Context(model, table, settings, raw_image)
    (out / "emotions").mkdir(parents=True, exist_ok=True)
    img_rows, aud_rows = table.rows("image"), table.rows("audio")
    pairs = random_pairs(table.embedding[img_rows], table.descriptors["image"], table.embedding[aud_rows],
                         table.descriptors["audio"], n_pairs, seed)
    surrogate = shap_surrogate({"image": pairs["image"], "audio": pairs["audio"]}, pairs["score"], table.names,
                               seed=seed, max_explain=300)
    sanity = _resumed(out / "sanity.json", settings) if n_sanity else {}
    if sanity is None:
        sanity, figures = _sanity(ctx)
        sanity["settings"] = settings
        write_text_atomic(out / "sanity.html", pages.sanity_page(sanity, figures))
        write_text_atomic(out / "sanity.json", json.dumps(sanity, default=float))
    done: dict[str, Any] = {}
    iterator: Any = emotions
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(emotions, desc="attribution", unit="emotion")
    for emotion in iterator:
        path = out / "emotions" / f"{emotion}.json"
        numbers = _resumed(path, settings)
        if numbers is not None:
            if log:
                log(f"{emotion}: already done, skipped")
        else:
            numbers, figures = _emotion_section(ctx, emotion)
            numbers["settings"] = settings
            write_text_atomic(path.with_suffix(".html"), pages.emotion_page(emotion, numbers, figures))
            write_text_atomic(path, json.dumps(numbers, default=float))
        done[emotion] = numbers
    towers = {m: tower_kind(model, m) for m in ("image", "audio")}
    report = {"settings": settings, "model": model_name or f"towers {towers}", "towers": towers,
              "surrogate": {k: surrogate.extras[k] for k in ("fidelity_r2", "interpretable", "threshold", "n_train",
                                                            "n_test")},
              "overall_top_pairs_surrogate": pair_ranking(surrogate)[:10], "sanity": sanity, "emotions": done}
    write_text_atomic(out / "report.json", json.dumps(report, default=float, indent=1))
    write_text_atomic(out / "index.html", pages.index_page(report))
    return report


def _digest(ids: Sequence[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
