"""The project's progress bar (:func:`resonance.parallel.progress_bar`) in the shape of the library's
``progress`` hooks: ``progress(iterable, total, description)``."""

from __future__ import annotations

from collections.abc import Iterable

from resonance.parallel import progress_bar


def tqdm_progress(iterable: Iterable, total: int, description: str) -> Iterable:
    return progress_bar(total, description=description, unit="file", iterable=iterable, leave=False)
