"""A 2-D map of the shared space: UMAP of a split's embeddings, coloured by emotion, shaped by modality.

Three files:

* ``map.png`` -- the scatter (matplotlib): colour = category, circle = painting, triangle = sound;
* ``map.html`` -- the same map as one self-contained page: inline SVG and a few lines of inline
  JavaScript, no external script, style sheet or font (it opens offline). Hovering a painting shows its
  thumbnail, embedded as a base64 ``data:`` URI; hovering a sound names it;
* ``montage.png`` -- for a few example sounds (the first of each category, up to ``n_examples``), the
  paintings nearest to them in the shared space (cosine), with scores.

UMAP (McInnes et al., 2018; ``umap-learn``) runs with the cosine metric and a fixed ``random_state``, so
a map is reproducible (and single-threaded). ``n_neighbors`` is lowered to ``n - 1`` on tiny sets; up to
:data:`EXACT_NEIGHBOURS_MAX` items the neighbour graph is computed exactly (brute force) and handed to UMAP.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from resonance.data.emotion import CATEGORIES
from resonance.errors import ParameterError

__all__ = ["CATEGORY_COLOURS", "MAP_FILES", "category_colours", "map_html", "nearest_montage", "project_2d", "run_map",
           "write_map"]

MAP_FILES = ("map.png", "map.html", "montage.png")
#: Up to this many items the UMAP neighbour graph is exact (brute-force cosine k-NN).
EXACT_NEIGHBOURS_MAX = 20_000


#: One colour per category, chosen to read as the emotion where convention allows (anger red, sadness
#: blue, calm teal, happiness yellow ...), and distinct from each other.
CATEGORY_COLOURS: dict[str, str] = {
    "anger": "#d62728", "disgust": "#8c8c00", "fear": "#6a3d9a", "sadness": "#1f4fb4", "happiness": "#f2c200",
    "surprise": "#ff7f0e", "neutral": "#9e9e9e", "calm": "#17becf", "amusement": "#f781bf", "awe": "#3f2b96",
    "contentment": "#2ca02c", "excitement": "#e7298a",
}


def category_colours() -> dict[str, str]:
    """One hex colour per category of :data:`CATEGORIES` (:data:`CATEGORY_COLOURS`)."""
    return {c: CATEGORY_COLOURS[c] for c in CATEGORIES}


def project_2d(z: np.ndarray, *, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """UMAP of the rows of ``z`` to 2-D (cosine metric, seeded); (n, 2) float64."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 4:
        raise ParameterError(f"a map needs at least 4 items, got {z.shape[0] if z.ndim == 2 else 0}")
    import warnings

    import umap

    k = max(2, min(n_neighbors, z.shape[0] - 1))
    options: dict = {}
    if z.shape[0] <= EXACT_NEIGHBOURS_MAX:
        # exact cosine neighbours (brute force, sklearn): same graph UMAP would approximate, and it skips
        # compiling UMAP's nearest-neighbour descent (measured: a first map in a process 42 s -> 9-14 s)
        from sklearn.neighbors import NearestNeighbors

        distances, indices = NearestNeighbors(n_neighbors=k, metric="cosine").fit(z).kneighbors(z)
        options["precomputed_knn"] = (indices, distances.astype(np.float32), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, metric="cosine", random_state=seed,
                            init="random" if z.shape[0] < 16 else "spectral", n_jobs=1, **options)
        return np.asarray(reducer.fit_transform(z), dtype=np.float64)


def _png(xy: np.ndarray, meta: pd.DataFrame, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from resonance.io.atomic import atomic_path

    colours = category_colours()
    fig, ax = plt.subplots(figsize=(8, 6.5))
    for modality, marker, name in (("image", "o", "painting"), ("audio", "^", "sound")):
        for category in CATEGORIES:
            sel = ((meta["modality"] == modality) & (meta["category"] == category)).to_numpy()
            if sel.any():
                ax.scatter(xy[sel, 0], xy[sel, 1], c=colours[category], marker=marker, s=28, alpha=0.8,
                           edgecolors="black", linewidths=0.3, label=f"{category} ({name})")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def map_html(xy: np.ndarray, meta: pd.DataFrame, *, title: str = "resonance map",
             thumbnails: dict[str, str] | None = None) -> str:
    """The self-contained interactive page (see the module docstring) as a string."""
    colours = category_colours()
    width, height, pad = 900, 700, 30
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    px = pad + (xy - lo) / span * np.array([width - 2 * pad, height - 2 * pad])
    thumbnails = thumbnails or {}
    items, shapes = [], []
    for n, row in enumerate(meta.itertuples(index=False)):
        x, y = float(px[n, 0]), float(height - px[n, 1])
        colour = colours.get(row.category, "#777777")
        name = os.path.basename(str(getattr(row, "path", "") or row.id))
        items.append({"id": str(row.id), "m": row.modality, "c": str(row.category), "n": name,
                      "t": thumbnails.get(str(row.id))})
        if row.modality == "image":
            shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" data-i="{n}"/>')
        else:
            points = f"{x:.1f},{y - 6:.1f} {x - 5.5:.1f},{y + 4:.1f} {x + 5.5:.1f},{y + 4:.1f}"
            shapes.append(f'<polygon points="{points}" fill="{colour}" data-i="{n}"/>')
    legend = "".join(f'<span class="key"><i style="background:{colours[c]}"></i>{html.escape(c)}</span>'
                     for c in CATEGORIES if (meta["category"] == c).any())
    data = json.dumps(items, ensure_ascii=True).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 16px; color: #222; }}
svg {{ border: 1px solid #ccc; background: #fafafa; }}
svg circle, svg polygon {{ stroke: #222; stroke-width: 0.5; opacity: 0.85; cursor: pointer; }}
svg circle:hover, svg polygon:hover {{ stroke-width: 2; opacity: 1; }}
#tip {{ position: fixed; display: none; background: #fff; border: 1px solid #888; padding: 6px;
       font-size: 12px; pointer-events: none; max-width: 220px; }}
#tip img {{ display: block; max-width: 200px; max-height: 200px; margin-bottom: 4px; }}
.key {{ display: inline-block; margin-right: 12px; font-size: 12px; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
</style></head><body>
<h3>{html.escape(title)}</h3>
<p>circle = painting, triangle = sound; colour = emotion category. Hover a point.</p>
<div>{legend}</div>
<svg id="map" width="{width}" height="{height}" viewBox="0 0 {width} {height}">
{chr(10).join(shapes)}
</svg>
<div id="tip"></div>
<script>
const ITEMS = {data};
const tip = document.getElementById("tip");
const ESC = {{"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}};
function esc(s) {{ return String(s).replace(/[&<>"]/g, c => ESC[c]); }}
document.getElementById("map").addEventListener("mousemove", e => {{
  const i = e.target.getAttribute("data-i");
  if (i === null) {{ tip.style.display = "none"; return; }}
  const it = ITEMS[Number(i)];
  let body = "";
  if (it.m === "image" && it.t) {{ body += '<img alt="" src="' + it.t + '">'; }}
  body += (it.m === "image" ? "painting: " : "sound: ") + esc(it.n) + "<br>emotion: " + esc(it.c);
  tip.innerHTML = body;
  tip.style.left = (e.clientX + 14) + "px";
  tip.style.top = (e.clientY + 14) + "px";
  tip.style.display = "block";
}});
document.getElementById("map").addEventListener("mouseleave", () => {{ tip.style.display = "none"; }});
</script>
</body></html>
"""


def nearest_montage(z: np.ndarray, meta: pd.DataFrame, out: Path, *, n_examples: int = 4, k: int = 6) -> Path:
    """The paintings nearest to a few example sounds (see the module docstring), as a PNG."""
    from resonance.evaluate.contact_sheet import Tile, draw_tiles

    sounds = np.flatnonzero(meta["modality"].to_numpy() == "audio")
    images = np.flatnonzero(meta["modality"].to_numpy() == "image")
    examples = []
    for category in CATEGORIES:
        rows = sounds[meta["category"].to_numpy()[sounds] == category]
        if rows.size:
            examples.append(int(rows[0]))
    examples = examples[:n_examples]
    grid = []
    for s in examples:
        scores = z[images] @ z[s]
        order = images[np.argsort(-scores, kind="stable")[:k]]
        sound = meta.iloc[s]
        name = os.path.basename(str(sound.get("path") or sound["id"]))
        row = [Tile(None, "audio", name, f"sound: {sound['category']}")]
        for rank, j in enumerate(order, start=1):
            item = meta.iloc[j]
            row.append(Tile(item.get("path"), "image", str(item["id"]),
                            f"#{rank} {float(z[j] @ z[s]):.2f} {item['category']}"))
        grid.append(row)
    return draw_tiles(grid, out, title="paintings nearest to example sounds")


def write_map(z: np.ndarray, meta: pd.DataFrame, out: str | os.PathLike[str], *, seed: int = 0,
              title: str = "resonance map", thumb_size: int = 96) -> list[Path]:
    """Write :data:`MAP_FILES` for embeddings ``z`` and their ``meta`` (staged, moved into place together)."""
    from resonance.evaluate.contact_sheet import thumbnail_data_uri
    from resonance.io.atomic import StagedOutputs, write_text_atomic

    meta = meta.reset_index(drop=True)
    xy = project_2d(z, seed=seed)
    thumbs = {str(r["id"]): uri for r in meta.to_dict("records") if r["modality"] == "image"
              and (uri := thumbnail_data_uri(r.get("path"), thumb_size)) is not None}
    out = Path(out)
    with StagedOutputs(out) as staged:
        _png(xy, meta, staged.path(MAP_FILES[0]), title)
        write_text_atomic(staged.path(MAP_FILES[1]), map_html(xy, meta, title=title, thumbnails=thumbs))
        written = [MAP_FILES[0], MAP_FILES[1]]
        if (meta["modality"] == "audio").any() and (meta["modality"] == "image").any():
            nearest_montage(z, meta, staged.path(MAP_FILES[2]))
            written.append(MAP_FILES[2])
        staged.commit()
    return [out / name for name in written]


def run_map(checkpoint: str | os.PathLike[str], dataset_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
            split: str = "test", seed: int = 0, batch_size: int = 64, device: str = "auto", progress: bool = True,
            log: Callable[[str], None] | None = None) -> list[Path]:
    """Embed ``split`` of a prepared dataset with ``checkpoint`` and write its map (see the module docstring)."""
    from resonance.evaluate.embed import embed_dataset
    from resonance.evaluate.protocol import load_eval_set, train_config_of
    from resonance.train.checkpoint import load_model

    model, ckpt = load_model(checkpoint)
    data = load_eval_set(dataset_dir, split, train_config_of(ckpt), require_both=False)
    if log:
        log(f"embedding {len(data.meta)} items of split {split!r}")
    emb = embed_dataset(model, data.dataset, batch_size=batch_size, device=device, progress=progress)
    emb = emb.reorder(data.meta["id"].tolist())
    title = f"{Path(checkpoint).name} on {Path(dataset_dir).name}/{split}"
    return write_map(emb.embeddings.astype(np.float64), data.meta, out, seed=seed, title=title)
