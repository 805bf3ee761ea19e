"""A tqdm progress bar in the shape the library's ``progress`` hooks expect."""

from __future__ import annotations

from collections.abc import Iterable

from tqdm import tqdm


def tqdm_progress(iterable: Iterable, total: int, description: str) -> Iterable:
    return tqdm(iterable, total=total, desc=description, unit="file", dynamic_ncols=True, leave=False)
