"""The work of one chunk of :func:`handcrafted.extract.extract_features`, in a worker process.

Every path (serial, local processes, Dask) calls :func:`_extract_chunk` with the numeric libraries
held to one thread, so they all compute the same numbers. Importing this module is cheap (the
describers are imported on first use).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from resonance.errors import DecodeError, ParameterError

#: Where each modality's public entry point lives; imported lazily (it registers the descriptors).
_DESCRIBERS = {"image": ("handcrafted.image", "describe_image"),
               "audio": ("handcrafted.audio", "describe_audio")}


def _describer(modality: str) -> Any:
    import importlib

    module_name, function = _DESCRIBERS[modality]
    return getattr(importlib.import_module(module_name), function)


def _extract_chunk(items: Sequence[tuple[str, str, str, str]], *, groups: Mapping[str, tuple[str, ...] | None],
                   names: Mapping[str, tuple[str, ...]], verify_sha256: bool, sample_rate: int | None = None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Descriptors of ``items`` (``(id, modality, path, sha256)`` tuples): rows and failures.

    Every path (serial, process pool, Dask) calls this function, with the numeric libraries held to
    one thread, so they all compute the same numbers.
    """
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    for modality in {m for _, m, _, _ in items}:
        _describer(modality)  # load numpy/scipy/cv2 first, so that the thread limits reach them
    with _single_threaded():
        for item_id, modality, path, sha256 in items:
            try:
                values = _describe_item(modality, path, sha256, groups[modality], names[modality], verify_sha256,
                                        sample_rate)
            except DecodeError as error:
                failures.append({"id": item_id, "modality": modality, "path": path,
                                 "reason": error.reason, "detail": error.detail})
            except ParameterError as error:  # decodable, but not a valid input (e.g. a 4-px image)
                failures.append({"id": item_id, "modality": modality, "path": path,
                                 "reason": "invalid_input", "detail": str(error)})
            except Exception as error:  # noqa: BLE001 -- one broken item must not end a long job
                failures.append({"id": item_id, "modality": modality, "path": path,
                                 "reason": "extraction_error", "detail": f"{type(error).__name__}: {error}"})
            else:
                rows.append({"id": item_id, "modality": modality, "sha256": sha256, **values})
    return rows, failures


def describe_file(modality: str, path: str | os.PathLike[str], names: tuple[str, ...] = (),
                  sample_rate: int | None = None) -> dict[str, float]:
    """The descriptors ``names`` (default: all of the modality's) of one media file, decoded as extraction
    decodes it (audio at ``sample_rate``, default the project's rate)."""
    return _describe_item(modality, str(path), "", None, tuple(names), False, sample_rate)


def _describe_item(modality: str, path: str, sha256: str, groups: tuple[str, ...] | None,
                   names: tuple[str, ...], verify_sha256: bool, sample_rate: int | None = None) -> dict[str, float]:
    """One decode, one call of the modality's ``describe_*`` (which shares one context).

    Audio is decoded at ``sample_rate``, the rate the manifest was made for (default the project's).
    """
    from resonance.io import PROJECT_SR, load_audio, load_image, sha256_file

    sr = int(sample_rate or PROJECT_SR)
    if modality == "image":
        rgb, _ = load_image(path)
        values = _describer("image")(rgb, groups=groups)
    else:
        y, _ = load_audio(path, sr=sr)
        values = _describer("audio")(y, sr=sr, groups=groups)
    if verify_sha256:
        actual = sha256_file(path)
        if actual != sha256:
            raise DecodeError("sha256_mismatch", f"{path} hashes to {actual[:12]}..., the manifest says "
                                                 f"{sha256[:12]}...; the manifest is stale, re-run prepare")
    missing = [n for n in names if n not in values]
    if missing:
        raise RuntimeError(f"describe_{modality} did not return {missing}")
    return {n: float(values[n]) for n in names}


class _single_threaded:
    """Hold BLAS/OpenMP (threadpoolctl) and OpenCV to one thread; restore them on exit."""

    def __enter__(self) -> _single_threaded:
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1)
        self._cv2_threads = None
        cv2 = sys.modules.get("cv2")
        if cv2 is not None:
            self._cv2_threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
        return self

    def __exit__(self, *exc: object) -> None:
        self._limits.restore_original_limits()
        cv2 = sys.modules.get("cv2")
        if cv2 is not None and self._cv2_threads is not None:
            cv2.setNumThreads(self._cv2_threads)
