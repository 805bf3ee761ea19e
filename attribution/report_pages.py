"""Figures and HTML of the attribution report (self-contained: every image inlined as a data URI, no
script, no CDN)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

STYLE = ("body{font-family:sans-serif;max-width:1150px;margin:auto;padding:0 1em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}img{max-width:100%}"
         ".flag{color:#a00;font-weight:bold}.row{display:flex;gap:2em;flex-wrap:wrap}")


def png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bar(names: list[str], values: np.ndarray, title: str) -> str:
    import matplotlib.pyplot as plt

    order = np.argsort(-values)[:15][::-1]
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(order) + 1))
    ax.barh([names[i] for i in order], values[order])
    _few_ticks(ax)
    ax.set_title(title, fontsize=9)
    return png(fig)


def _few_ticks(ax: Any) -> None:
    """At most four x ticks, in scientific notation for small values (labels that never overlap)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))


def heatmap(matrix: np.ndarray, rows: list[str], cols: list[str], title: str) -> str:
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
    return png(fig)


def curves(di: dict[str, Any], unit: str) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, mode in zip(axes, ("deletion", "insertion"), strict=True):
        ax.plot(di["fractions"], di[mode]["attribution"], label="attribution order")
        ax.plot(di["fractions"], di[mode]["random"], label="random order", linestyle="--")
        lo, hi = di[mode]["auc_gap_ci"]
        ax.set_title(f"{mode}: AUC gap {di[mode]['auc_gap']:.3f} [{lo:.3f}, {hi:.3f}]", fontsize=8)
        ax.set_xlabel(f"fraction of {unit}")
        ax.legend(fontsize=7)
    return png(fig)


def hist(values: np.ndarray, title: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.5))
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    ax.hist(np.log10(np.maximum(v, 1e-12)), bins=30)
    ax.set_xlabel("log10 relative completeness error")
    ax.axvline(-2, color="r", linestyle="--", linewidth=1)
    ax.set_title(title, fontsize=9)
    return png(fig)


def beeswarm(shap_values: np.ndarray, x: np.ndarray, names: list[str]) -> str:
    import warnings

    import matplotlib.pyplot as plt

    with warnings.catch_warnings():  # shap's own deprecations (np.random.seed, colormap set_over), not ours
        warnings.simplefilter("ignore", (FutureWarning, PendingDeprecationWarning, DeprecationWarning))
        import shap

        rng = np.random.default_rng(0)
        try:
            shap.summary_plot(shap_values, x, feature_names=names, show=False, max_display=15, plot_size=(6, 5),
                              rng=rng)
        except TypeError:  # shap without the rng argument
            shap.summary_plot(shap_values, x, feature_names=names, show=False, max_display=15, plot_size=(6, 5))
    return png(plt.gcf())


def grouped_bars(groups: dict[str, float], title: str) -> str:
    import matplotlib.pyplot as plt

    names = list(groups)
    values = np.array([groups[n] for n in names])
    fig, ax = plt.subplots(figsize=(4.5, 0.22 * len(names) + 1))
    ax.barh(names[::-1], values[::-1], color=["#c33" if v > 0 else "#36c" for v in values[::-1]])
    ax.axvline(0, color="k", linewidth=0.5)
    _few_ticks(ax)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=8)
    return png(fig)


def esc(value: Any) -> str:
    return html.escape(str(value))


def table_html(reg: dict[str, Any]) -> str:
    if "terms" not in reg:
        return f"<p>{esc(reg.get('skipped', ''))}</p>"
    rows = sorted(reg["terms"], key=lambda t: -abs(t["coef"]))[:12]
    body = "".join(f"<tr><td>{esc(t['term'])}</td><td>{t['coef']:.3f}</td>"
                   f"<td>[{t['ci_low']:.3f}, {t['ci_high']:.3f}]</td><td>{t['p']:.2g}</td></tr>" for t in rows)
    r2 = f"R2 {reg['r2']:.2f}, " if reg.get("r2") is not None else ""
    dropped = reg.get("dropped_collinear") or []
    note = f"; {len(dropped)} collinear descriptors left out (VIF &gt; 10)" if dropped else ""
    return (f"<p>{esc(reg['outcome'])} outcome, {reg['model']}, {r2}n={reg['n']}{note}</p><table><tr><th>term</th>"
            f"<th>std. coef</th><th>95% CI</th><th>p</th></tr>{body}</table>")


def document(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>{STYLE}</style>"
            f"</head><body>{body}</body></html>")


def _completeness(c: dict[str, Any] | None, figure: str | None, what: str) -> str:
    if not c:
        return ""
    return (f"<p>{esc(what)}: n={c['n']}, median {c['median']:.2g}, 95th percentile {c['p95']:.2g}, "
            f"max {c['max']:.2g}; {100 * c['share_below_1pct']:.1f} % below 1 %</p>"
            + (f"<img src='{figure}'>" if figure else ""))


def emotion_page(emotion: str, numbers: dict[str, Any], figures: dict[str, str]) -> str:
    parts = [f"<h1>{esc(emotion)}</h1><p><a href='../index.html'>index</a> | "
             "<a href='../sanity.html'>sanity checks</a></p>"]
    s = numbers["shap"]
    parts.append("<h2>SHAP on descriptors (this emotion's surrogate of s(image, sound))</h2>")
    if s.get("fidelity_r2") is None:
        parts.append(f"<p>{esc(s.get('skipped', 'no surrogate'))}</p><div class='row'>")
    else:
        flag = "" if s["interpretable"] else " <span class='flag'>(below the threshold: not interpretable)</span>"
        parts.append(f"<p>gradient-boosted surrogate fitted on {s['n_train']} {esc(s['scope'])}; held-out R2 "
                     f"{s['fidelity_r2']:.3f}{flag} (threshold {s['threshold']}) on {s['n_test']} held-out pairs, "
                     f"{s['n_pairs']} of them explained</p><div class='row'>")
    parts += [f"<img src='{figures[k]}'>" for k in ("shap_bar_image", "shap_bar_audio") if k in figures]
    parts.append("</div>")
    if "shap_beeswarm" in figures:
        parts.append(f"<img src='{figures['shap_beeswarm']}'>")
    pm = numbers["pair_matrix"]
    parts.append("<h2>Image feature x sound feature</h2>")
    if pm.get("n_pairs"):
        top = "".join(f"<li>{esc(a)} x {esc(b)}: {100 * v:.1f} % of |A|</li>" for a, b, v in pm["top_pairs"][:5])
        parts.append(f"<p>{esc(pm['method'])}, {pm['n_pairs']} pairs; relative completeness error: median "
                     f"{pm['relative_delta_median']:.2g}, max {pm['relative_delta_max']:.2g}</p><ol>{top}</ol>"
                     f"<img src='{figures['pair_matrix']}'>")
    else:
        parts.append(f"<p>{esc(pm['skipped'])}</p>")
    for m in ("image", "audio"):
        e = numbers.get(m, {})
        parts.append(f"<h2>{m}: alignment to the {esc(emotion)} prototype</h2>")
        if "skipped" in e:
            parts.append(f"<p>{esc(e['skipped'])}</p>")
            continue
        if e.get("ig"):
            top = ", ".join(f"{esc(n)} ({v:.3g}, mean {sv:+.3g})" for n, v, sv in e["top_descriptors"][:5])
            parts.append(f"<p>{e['ig']['n']} {m} items of {esc(emotion)}; IG top descriptors "
                         f"(mean |attribution|, mean signed): {top}</p>")
        if f"deletion_{m}" in figures:
            parts.append(f"<img src='{figures[f'deletion_{m}']}'>")
        ov = e.get("overlays")
        if ov:
            parts.append(f"<h3>IG on the {'pixels' if m == 'image' else 'log-mel bins'} of the most representative "
                         f"{m} items</h3><p>{esc(ov['note'])}</p>")
            parts += [f"<img src='{figures[k]}'>" for k in sorted(figures) if k.startswith(f"overlay_{m}_")]
            if f"groups_{m}" in figures:
                parts.append(f"<img src='{figures[f'groups_{m}']}'>")
        elif e.get("overlays_skipped"):
            parts.append(f"<p>{esc(e['overlays_skipped'])}</p>")
        parts.append("<div class='row'><div><h3>what drives the model</h3>"
                     f"{table_html(e['regression_model'])}</div><div><h3>what drives people</h3>"
                     f"{table_html(e['regression_human'])}</div></div>")
    parts.append("<h2>Completeness</h2>")
    parts.append(_completeness(numbers.get("completeness_descriptors"), figures.get("completeness"),
                               "IG on descriptors, |delta| / |score - baseline score|"))
    parts.append(_completeness(numbers.get("completeness_raw"), figures.get("completeness_raw"),
                               "IG on pixels / log-mel bins (overlays)"))
    return document(f"attribution: {emotion}", "".join(parts))


def sanity_page(sanity: dict[str, Any], figures: dict[str, str]) -> str:
    parts = ["<h1>Sanity and faithfulness</h1><p><a href='index.html'>index</a></p>",
             f"<p>{esc(sanity['what'])}</p>"]
    c = sanity.get("completeness")
    parts.append(_completeness(c, figures.get("completeness"), "completeness (default n_steps)"))
    nan = float("nan")
    rows = "".join(f"<tr><td>{esc(r['layer'])}</td><td>{r['spearman_abs']:.3f}</td><td>{r['spearman_signed']:.3f}</td>"
                   f"<td>{r.get('spearman_importance', nan):.3f}</td><td>{r.get('spearman_importance_image', nan):.3f}"
                   f"</td><td>{r.get('spearman_importance_audio', nan):.3f}</td></tr>" for r in sanity["randomisation"])
    floor = sanity.get("random_vs_random_spearman_importance_by_modality") or {}
    parts.append("<h2>Cascading model-parameter randomisation</h2><p>Spearman rank correlation of IG with the "
                 "trained model's after re-initialising these blocks, cumulatively from the top; two independently "
                 f"re-initialised models correlate {sanity['random_vs_random_spearman_abs']:.3f} in |IG| and "
                 f"{sanity.get('random_vs_random_spearman_importance', nan):.3f} in the feature ranking "
                 f"({floor.get('image', nan):.3f} within the image features, {floor.get('audio', nan):.3f} within "
                 "the sound features): the floors that what every model shares (the input differences, the masked "
                 "descriptors, the two towers' scales) set. The report ranks each modality's features "
                 "separately; the pooled ranking also mixes the two towers' scales</p><table><tr><th>block</th>"
                 "<th>|IG|</th><th>signed IG</th><th>feature ranking (mean |IG|), pooled</th><th>within image</th>"
                 f"<th>within sound</th></tr>{rows}</table>")
    parts.append("<h2>Deletion and insertion</h2>")
    if "deletion" in figures:
        parts.append(f"<img src='{figures['deletion']}'>")
    f = sanity.get("faithfulness")
    if f:
        parts.append(f"<p>faithfulness correlation {f['faithfulness_correlation']:.3f} (n={f['n']})</p>")
    return document("attribution: sanity", "".join(parts))


def index_page(report: dict[str, Any]) -> str:
    s = report["surrogate"]
    flag = "" if s["interpretable"] else " <span class='flag'>(below the threshold: not interpretable)</span>"
    rows = []
    for e, page in report["emotions"].items():
        tops = []
        for m in ("image", "audio"):
            t = page.get(m, {}).get("top_descriptors")
            shap_top = page["shap"].get(f"{m}_top")
            tops.append(", ".join(esc(n) for n, *_ in t[:3]) if t else
                        (", ".join(esc(n) for n, _ in shap_top) + " (SHAP)" if shap_top else "n/a"))
        pm = page["pair_matrix"]
        pair = f"{esc(pm['top_pairs'][0][0])} x {esc(pm['top_pairs'][0][1])} ({100 * pm['top_pairs'][0][2]:.1f} %)" \
            if pm.get("n_pairs") else "n/a"
        fe = page["shap"].get("fidelity_r2")
        fidelity = "n/a" if fe is None else f"{fe:.2f}" + (
            "" if page["shap"]["interpretable"] else
            " <span class='flag'>(below the threshold: SHAP not interpretable here)</span>")
        rows.append(f"<tr><td><a href='emotions/{esc(e)}.html'>{esc(e)}</a></td><td>{tops[0]}</td><td>{tops[1]}</td>"
                    f"<td>{pair}</td><td>{fidelity}</td></tr>")
    san = report.get("sanity", {})
    last = san.get("randomisation", [{}])[-1] if san.get("randomisation") else {}
    dele = san.get("deletion", {}).get("deletion")
    sanity_line = ""
    if dele is not None:
        sanity_line = (f"<p><a href='sanity.html'>sanity checks</a>: fully re-initialised model Spearman "
                       f"{last.get('spearman_signed', float('nan')):.3f} (signed IG), "
                       f"{last.get('spearman_abs', float('nan')):.3f} (|IG|), "
                       f"{last.get('spearman_importance', float('nan')):.3f} (feature ranking, pooled; "
                       f"{last.get('spearman_importance_image', float('nan')):.3f} within image, "
                       f"{last.get('spearman_importance_audio', float('nan')):.3f} within sound); "
                       f"deletion AUC gap {dele['auc_gap']:.3f} "
                       f"[{dele['auc_gap_ci'][0]:.3f}, "
                       f"{dele['auc_gap_ci'][1]:.3f}]</p>")
    body = (f"<h1>Attribution report</h1><p>{esc(report['model'])}; {report['settings']['n_items']} items; "
            f"surrogate of all pairs: fidelity R2 {s['fidelity_r2']:.3f}{flag}</p>{sanity_line}"
            "<table><tr><th>emotion</th><th>image: IG top descriptors</th><th>sound: IG top descriptors</th>"
            f"<th>top image x sound pair</th><th>its surrogate's held-out R2</th></tr>{''.join(rows)}</table>"
            "<p>IG top descriptors: mean |IG| of the prototype alignment over the emotion's items (SHAP where "
            "the other modality has no item of the emotion); top pair: integrated Jacobians over congruent pairs, "
            "else the surrogate's SHAP interactions. All numbers: "
            "<a href='report.json'>report.json</a></p>")
    return document("attribution report", body)
