"""Contact sheets: a query and its nearest items of the other modality, as one PNG (matplotlib, Agg).

A painting is drawn as a thumbnail; a sound as a tile that names it (file name, and its label when the
gallery has one). Every tile is captioned with its rank, cosine score and label. :func:`thumbnail` and
:func:`thumbnail_data_uri` also serve the interactive map (:mod:`resonance.evaluate.maps`).
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resonance.errors import DecodeError

__all__ = ["Tile", "contact_sheet", "draw_tiles", "thumbnail", "thumbnail_data_uri"]


@dataclass(frozen=True)
class Tile:
    """One cell of a sheet: ``path`` (drawn when an image), ``modality``, a ``title`` and a ``caption``."""

    path: str | None
    modality: str
    title: str
    caption: str = ""


def thumbnail(path: str | os.PathLike[str] | None, size: int = 128) -> np.ndarray | None:
    """An RGB uint8 thumbnail (longer side ``size``) of an image file; None when it does not decode."""
    if path is None:
        return None
    from PIL import Image

    from resonance.io.image import load_image

    try:
        rgb, _ = load_image(path, limits=None)
    except DecodeError:
        return None
    img = Image.fromarray(rgb)
    img.thumbnail((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img)


def thumbnail_data_uri(path: str | os.PathLike[str] | None, size: int = 96) -> str | None:
    """A ``data:image/jpeg;base64,...`` URI of :func:`thumbnail` (embeddable in a self-contained page)."""
    thumb = thumbnail(path, size)
    if thumb is None:
        return None
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(thumb).save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _sound_tile(ax, title: str) -> None:
    ax.set_facecolor("#263238")
    ax.text(0.5, 0.55, "\u266a", ha="center", va="center", fontsize=28, color="#eceff1", transform=ax.transAxes)
    ax.text(0.5, 0.18, title[:28], ha="center", va="center", fontsize=7, color="#eceff1", transform=ax.transAxes)


def draw_tiles(rows: Sequence[Sequence[Tile]], out: str | os.PathLike[str], *, title: str = "",
               tile_inches: float = 1.9) -> Path:
    """Draw a grid of tiles (one list per row) into the PNG ``out``, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from resonance.io.atomic import atomic_path

    n_rows = max(1, len(rows))
    n_cols = max(1, max((len(r) for r in rows), default=1))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(tile_inches * n_cols, tile_inches * 1.15 * n_rows),
                             squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if r >= len(rows) or c >= len(rows[r]):
                ax.axis("off")
                continue
            tile = rows[r][c]
            thumb = thumbnail(tile.path) if tile.modality == "image" else None
            if thumb is not None:
                ax.imshow(thumb)
            elif tile.modality == "image":
                ax.text(0.5, 0.5, "(does not decode)", ha="center", va="center", fontsize=7, transform=ax.transAxes)
            else:
                _sound_tile(ax, tile.title)
            ax.set_title(tile.caption or tile.title, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return out


def contact_sheet(query: Tile, hits: Sequence[Tile], out: str | os.PathLike[str], *, per_row: int = 6) -> Path:
    """The query tile, then its hits, ``per_row`` hits to a row, into the PNG ``out``."""
    rows: list[list[Tile]] = [[query]]
    for start in range(0, len(hits), per_row):
        rows.append(list(hits[start:start + per_row]))
    return draw_tiles(rows, out, title=f"query: {query.title}")
