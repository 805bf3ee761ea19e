"""The attribution report: per emotion, what carries the alignment (descriptor towers).

:func:`attribution_report` writes, into ``out``::

    index.html                 links every emotion page (self-contained: images inlined, no CDN)
    report.json                every number of every page
    emotions/EMOTION.json      one emotion's numbers (written atomically; a rerun skips finished ones)
    emotions/EMOTION.html      top descriptors (SHAP bar + beeswarm), the image x sound pair matrix,
                               deletion curves, surrogate fidelity, regression tables (model and human
                               outcome side by side), the distribution of completeness errors

Per emotion E: the *model* outcome is each item's alignment to E's prototype in the other modality
(IG over its descriptors, regression on its descriptors); the *human* outcome is the item's label
probability of E (regression on the same descriptors); the pair matrix is the integrated-Jacobian
matrix averaged over congruent pairs (image and sound both labelled E); SHAP comes from one surrogate of
s(image, sound) over random pairs, summarised over the pairs in which the image or the sound is E.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from attribution.ig import integrated_gradients
from attribution.pairwise import integrated_jacobians, pair_ranking
from attribution.regression import standardised_regression
from attribution.sanity import deletion_insertion
from attribution.surrogate import embed_items, pair_table, shap_surrogate
from attribution.targets import prototype_alignment
from resonance.data.emotion import CATEGORIES
from resonance.errors import ParameterError
from resonance.io import write_text_atomic

REPORT_FORMAT = 1


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _bar(names: list[str], values: np.ndarray, title: str) -> str:
    import matplotlib.pyplot as plt

    order = np.argsort(-values)[:15][::-1]
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(order) + 1))
    ax.barh([names[i] for i in order], values[order])
    ax.set_title(title, fontsize=9)
    return _png(fig)


def _heatmap(matrix: np.ndarray, rows: list[str], cols: list[str], title: str) -> str:
    import matplotlib.pyplot as plt

    r = np.argsort(-np.abs(matrix).sum(1))[:15]
    c = np.argsort(-np.abs(matrix).sum(0))[:15]
    m = matrix[np.ix_(r, c)]
    lim = float(np.abs(m).max()) or 1.0
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_yticks(range(len(r)), [rows[i] for i in r], fontsize=7)
    ax.set_xticks(range(len(c)), [cols[i] for i in c], fontsize=7, rotation=90)
    fig.colorbar(im, ax=ax)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def _curves(di: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, mode in zip(axes, ("deletion", "insertion"), strict=True):
        ax.plot(di["fractions"], di[mode]["attribution"], label="attribution order")
        ax.plot(di["fractions"], di[mode]["random"], label="random order", linestyle="--")
        lo, hi = di[mode]["auc_gap_ci"]
        ax.set_title(f"{mode}: AUC gap {di[mode]['auc_gap']:.3f} [{lo:.3f}, {hi:.3f}]", fontsize=8)
        ax.set_xlabel("fraction of descriptors")
        ax.legend(fontsize=7)
    return _png(fig)


def _hist(values: np.ndarray, title: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.hist(values, bins=30)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def _beeswarm(shap_values: np.ndarray, x: np.ndarray, names: list[str]) -> str:
    import matplotlib.pyplot as plt
    import shap

    shap.summary_plot(shap_values, x, feature_names=names, show=False, max_display=15, plot_size=(6, 5))
    return _png(plt.gcf())


def _label(item: dict[str, Any]) -> str:
    return CATEGORIES[int(np.argmax(np.asarray(item["p"])))]


def _emotion_section(model: Any, items: list[dict[str, Any]], emotion: str, table: dict[str, Any],
                     surrogate: Any, n_steps: int, max_items: int) -> tuple[dict[str, Any], dict[str, str]]:
    from resonance.data.emotion import CATEGORY_INDEX
    from resonance.train.data import collate

    numbers: dict[str, Any] = {"emotion": emotion}
    figures: dict[str, str] = {}
    names = table["names"]
    # SHAP summarised over pairs involving this emotion
    rows = np.asarray(surrogate.extras["explained_rows"])
    img_lab = np.array([_label(table["image_items"][i]) for i in table["pairs"][rows, 0]])
    aud_lab = np.array([_label(table["audio_items"][j]) for j in table["pairs"][rows, 1]])
    sel = (img_lab == emotion) | (aud_lab == emotion)
    numbers["shap"] = {"fidelity_r2": surrogate.extras["fidelity_r2"],
                       "interpretable": surrogate.extras["interpretable"], "n_pairs": int(sel.sum())}
    if sel.any():
        for m in ("image", "audio"):
            v = np.abs(surrogate.attributions[m]["descriptors"][sel]).mean(0)
            numbers["shap"][f"{m}_mean_abs"] = dict(zip(names[m], v.tolist(), strict=True))
            figures[f"shap_bar_{m}"] = _bar(names[m], v, f"{m}: mean |SHAP| (R2 {surrogate.extras['fidelity_r2']:.2f})")
        x = np.concatenate([table["image"][rows][sel], table["audio"][rows][sel]], 1)
        sv = np.concatenate([surrogate.attributions["image"]["descriptors"][sel],
                             surrogate.attributions["audio"]["descriptors"][sel]], 1)
        figures["shap_beeswarm"] = _beeswarm(sv, x, [f"image:{n}" for n in names["image"]]
                                             + [f"audio:{n}" for n in names["audio"]])
    # pair matrix over congruent pairs
    imgs = [it for it in items if it["modality"] == "image" and _label(it) == emotion][:max_items]
    auds = [it for it in items if it["modality"] == "audio" and _label(it) == emotion][:max_items]
    if imgs and auds:
        k = min(len(imgs), len(auds))
        rng = np.random.default_rng(0)
        parts = {"image": collate([imgs[i] for i in rng.permutation(len(imgs))[:k]])["image"],
                 "audio": collate([auds[i] for i in rng.permutation(len(auds))[:k]])["audio"]}
        ij = integrated_jacobians(model, parts, n_steps=max(8, n_steps // 2))
        mean = ij.attributions["pair"]["matrix"].mean(0)
        numbers["pair_matrix"] = {"n_pairs": k, "top_pairs": pair_ranking(ij)[:10], "mean_matrix": mean.tolist(),
                                  "relative_delta_max": float(np.max(np.abs(ij.delta)) /
                                                              max(np.abs(ij.score).max(), 1e-12)),
                                  "alignment_mean": float(np.mean(ij.extras["alignment"]))}
        figures["pair_matrix"] = _heatmap(mean, names["image"], names["audio"],
                                          f"{emotion}: image x sound contributions (integrated Jacobians)")
    else:
        numbers["pair_matrix"] = {"n_pairs": 0, "skipped": "no congruent pairs of this emotion"}
    # IG, deletion, regression per modality
    deltas = []
    for m in ("image", "audio"):
        chosen = [it for it in items if it["modality"] == m][:max_items]
        try:
            target = prototype_alignment(emotion, m, model, items)
        except ParameterError as err:
            numbers[m] = {"skipped": str(err)}
            continue
        parts = {m: collate(chosen)[m]}
        ig = integrated_gradients(model, target, parts, n_steps=n_steps)
        deltas.append(ig.relative_delta)
        entry: dict[str, Any] = {"ig": ig.summary(), "top_descriptors": ig.ranking(m)[:10]}
        di = deletion_insertion(model, target, parts, ig, n_boot=200)
        entry["deletion"] = di
        figures[f"deletion_{m}"] = _curves(di)
        _, desc, chosen_all = embed_items(model, items, m)
        with __import__("torch").no_grad():
            y_model = np.concatenate([
                target(model, {m: {kk: v.to(next(model.parameters()).device)
                                   for kk, v in collate(chosen_all[s:s + 256])[m].items()}}).cpu().numpy()
                for s in range(0, len(chosen_all), 256)])
        y_human = np.array([float(np.asarray(it["p"])[CATEGORY_INDEX[emotion]]) for it in chosen_all])
        for outcome, y in (("model", y_model), ("human", y_human)):
            try:
                entry[f"regression_{outcome}"] = standardised_regression({m: desc}, y, {m: names[m]},
                                                                         outcome=outcome).to_dict()
            except ParameterError as err:
                entry[f"regression_{outcome}"] = {"skipped": str(err)}
        numbers[m] = entry
    if deltas:
        rel = np.concatenate(deltas)
        rel = rel[np.isfinite(rel)]
        numbers["completeness_relative_delta"] = {"median": float(np.median(rel)), "max": float(rel.max()),
                                                  "share_below_1pct": float(np.mean(rel < 0.01))}
        figures["completeness"] = _hist(rel, "IG |delta| / |score - baseline score|")
    return numbers, figures


def _table_html(reg: dict[str, Any]) -> str:
    if "terms" not in reg:
        return f"<p>{html.escape(reg.get('skipped', ''))}</p>"
    rows = sorted(reg["terms"], key=lambda t: -abs(t["coef"]))[:12]
    body = "".join(f"<tr><td>{html.escape(t['term'])}</td><td>{t['coef']:.3f}</td>"
                   f"<td>[{t['ci_low']:.3f}, {t['ci_high']:.3f}]</td><td>{t['p']:.2g}</td></tr>" for t in rows)
    r2 = f"R2 {reg['r2']:.2f}, " if reg.get("r2") is not None else ""
    return (f"<p>{html.escape(reg['outcome'])} outcome, {reg['model']}, {r2}n={reg['n']}</p><table><tr><th>term</th>"
            f"<th>std. coef</th><th>95% CI</th><th>p</th></tr>{body}</table>")


def _page(emotion: str, numbers: dict[str, Any], figures: dict[str, str]) -> str:
    parts = [f"<h1>{html.escape(emotion)}</h1><p><a href='../index.html'>index</a></p>"]
    s = numbers["shap"]
    flag = "" if s["interpretable"] else " <b>(below threshold: not interpretable)</b>"
    parts.append(f"<h2>SHAP on descriptors</h2><p>surrogate held-out R2 {s['fidelity_r2']:.3f}{flag}; "
                 f"{s['n_pairs']} pairs</p>")
    for key in ("shap_bar_image", "shap_bar_audio", "shap_beeswarm"):
        if key in figures:
            parts.append(f"<img src='{figures[key]}'>")
    pm = numbers["pair_matrix"]
    parts.append("<h2>Image x sound pair matrix</h2>")
    if pm.get("n_pairs"):
        top = "".join(f"<li>{html.escape(a)} x {html.escape(b)}: {100 * v:.1f} %</li>"
                      for a, b, v in pm["top_pairs"][:5])
        parts.append(f"<p>{pm['n_pairs']} congruent pairs; max relative completeness error "
                     f"{pm['relative_delta_max']:.2g}</p><ol>{top}</ol><img src='{figures['pair_matrix']}'>")
    else:
        parts.append(f"<p>{html.escape(pm['skipped'])}</p>")
    for m in ("image", "audio"):
        e = numbers.get(m, {})
        parts.append(f"<h2>{m}: alignment to the {html.escape(emotion)} prototype</h2>")
        if "skipped" in e:
            parts.append(f"<p>{html.escape(e['skipped'])}</p>")
            continue
        parts.append("<p>IG top descriptors: " + ", ".join(html.escape(n) for n in e["top_descriptors"][:5]) + "</p>")
        parts.append(f"<img src='{figures[f'deletion_{m}']}'>")
        parts.append("<div style='display:flex;gap:2em'><div><h3>what drives the model</h3>"
                     f"{_table_html(e['regression_model'])}</div><div><h3>what drives people</h3>"
                     f"{_table_html(e['regression_human'])}</div></div>")
    if "completeness" in figures:
        c = numbers["completeness_relative_delta"]
        parts.append(f"<h2>Completeness</h2><p>median {c['median']:.2g}, max {c['max']:.2g}, "
                     f"{100 * c['share_below_1pct']:.0f} % below 1 %</p><img src='{figures['completeness']}'>")
    return _html(f"attribution: {emotion}", "".join(parts))


def _html(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}img{max-width:100%}</style></head>"
            f"<body>{body}</body></html>")


def _check_towers(model: Any) -> None:
    for m in ("image", "audio"):
        if type(model.towers[m]).__name__ != "DescriptorTower":
            raise ParameterError(f"the report needs a model with descriptor towers (train the 'descriptor' preset); "
                                 f"the {m} tower of this checkpoint is {type(model.towers[m]).__name__}")


def attribution_report(model: Any, items: Sequence[dict[str, Any]], out: str | Path, *,
                       emotions: Sequence[str] | None = None, n_pairs: int = 2000, n_steps: int = 32,
                       max_items: int = 200, seed: int = 0, progress: bool = True,
                       log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the per-emotion attribution report of a descriptor-tower ``model`` over ``items``.

    Resumable: an emotion whose ``emotions/EMOTION.json`` exists with the same settings is read, not
    recomputed. Returns the contents of ``report.json``.
    """
    import matplotlib

    matplotlib.use("Agg")
    items = list(items)
    _check_towers(model)
    present = sorted({_label(it) for it in items})
    if emotions is None:
        emotions = present
    missing = [e for e in emotions if e not in present]
    if missing:
        raise ParameterError(f"no items of emotion {missing}: the data has {present}; pick emotions from those")
    out = Path(out)
    (out / "emotions").mkdir(parents=True, exist_ok=True)
    settings = {"format": REPORT_FORMAT, "n_pairs": n_pairs, "n_steps": n_steps, "max_items": max_items,
                "seed": seed, "n_items": len(items)}
    table = pair_table(model, items, n_pairs, seed)
    surrogate = shap_surrogate({"image": table["image"], "audio": table["audio"]}, table["score"], table["names"],
                               seed=seed, max_explain=300)
    pages: dict[str, Any] = {}
    iterator: Any = emotions
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(emotions, desc="attribution", unit="emotion")
    for emotion in iterator:
        path = out / "emotions" / f"{emotion}.json"
        if path.exists() and (out / "emotions" / f"{emotion}.html").exists():
            done = json.loads(path.read_text())
            if done.get("settings") == settings:
                pages[emotion] = done
                if log:
                    log(f"{emotion}: already done, skipped")
                continue
        numbers, figures = _emotion_section(model, items, emotion, table, surrogate, n_steps, max_items)
        numbers["settings"] = settings
        write_text_atomic(out / "emotions" / f"{emotion}.html", _page(emotion, numbers, figures))
        write_text_atomic(path, json.dumps(numbers, default=float))
        pages[emotion] = numbers
    report = {"settings": settings, "surrogate": {k: surrogate.extras[k] for k in ("fidelity_r2", "interpretable",
                                                                                  "threshold", "n_train", "n_test")},
              "overall_top_pairs": pair_ranking(surrogate)[:10], "emotions": pages}
    links = "".join(f"<li><a href='emotions/{html.escape(e)}.html'>{html.escape(e)}</a>: top pair "
                    + (html.escape(" x ".join(pages[e]["pair_matrix"]["top_pairs"][0][:2]))
                       if pages[e]["pair_matrix"].get("n_pairs") else "n/a") + "</li>" for e in emotions)
    write_text_atomic(out / "index.html", _html("attribution report", "<h1>Attribution report</h1>"
                      f"<p>surrogate fidelity R2 {surrogate.extras['fidelity_r2']:.3f}</p><ul>{links}</ul>"))
    write_text_atomic(out / "report.json", json.dumps(report, default=float, indent=1))
    return report


def report_from_checkpoint(checkpoint: str | Path, data: str | Path, out: str | Path, *, split: str = "test",
                           **kwargs: Any) -> dict[str, Any]:
    """:func:`attribution_report` of a checkpoint over one split of a prepared dataset."""
    from resonance.evaluate.protocol import train_config_of
    from resonance.train import load_model
    from resonance.train.manifest_data import ManifestDataset

    model, ckpt = load_model(checkpoint)
    _check_towers(model)
    dataset = ManifestDataset(data, split, train_config_of(ckpt), evaluation=True)
    items = [dataset[i] for i in range(len(dataset))]
    if items and all(np.asarray(it["descriptors"]).size == 0 for it in items):
        raise ParameterError(f"{data} has no descriptors: run `resonance features extract {data}` first")
    return attribution_report(model, items, out, **kwargs)


def explain_pair(checkpoint: str | Path, image: str | Path, sound: str | Path, *, n_steps: int = 64,
                 top: int = 5) -> dict[str, Any]:
    """Why does ``image`` align with ``sound``? IG over both descriptor vectors (baseline: train mean)
    and the integrated-Jacobian pair matrix of s(image, sound), from the files themselves (their
    descriptors are computed as ``resonance features extract`` does)."""
    import pandas as pd

    from attribution.targets import alignment
    from resonance.evaluate.embed import FrameDataset, input_params, model_descriptor_names
    from resonance.evaluate.protocol import train_config_of
    from resonance.train import load_model
    from resonance.train.data import collate

    model, ckpt = load_model(checkpoint)
    _check_towers(model)
    for path in (image, sound):
        if not Path(path).is_file():
            raise ParameterError(f"{path} is not a file")
    frame = pd.DataFrame([{"id": "image", "modality": "image", "path": str(Path(image).resolve())},
                          {"id": "sound", "modality": "audio", "path": str(Path(sound).resolve())}])
    image_params, audio_params = input_params(train_config_of(ckpt))
    dataset = FrameDataset(frame, image_params, audio_params, descriptor_names=model_descriptor_names(model),
                           describe=True)
    items = [dataset[0], dataset[1]]
    parts = {"image": collate([items[0]])["image"], "audio": collate([items[1]])["audio"]}
    ig = integrated_gradients(model, alignment(), parts, n_steps=n_steps)
    ij = integrated_jacobians(model, parts, n_steps=n_steps)
    out: dict[str, Any] = {"image": str(image), "sound": str(sound), "alignment": float(ig.score[0]),
                           "baseline_alignment": float(ig.baseline_score[0]),
                           "ig_delta": float(ig.delta[0]), "ig_relative_delta": float(ig.relative_delta[0]),
                           "pair_delta": float(ij.delta[0]), "interaction_part": float(ij.score[0])}
    for m in ("image", "audio"):
        a = ig.attributions[m]["descriptors"][0]
        order = np.argsort(-np.abs(a))[:top]
        out[f"top_{m}"] = [(ig.feature_names[m][i], float(a[i])) for i in order]
    mat = ij.attributions["pair"]["matrix"][0]
    order = np.argsort(-np.abs(mat), axis=None)[:top]
    out["top_pairs"] = [(ij.feature_names["image"][k // mat.shape[1]], ij.feature_names["audio"][k % mat.shape[1]],
                         float(mat.flat[k])) for k in order]
    return out
