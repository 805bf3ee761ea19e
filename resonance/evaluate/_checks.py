"""Input validation shared by the metric modules: every check raises :class:`ParameterError` before work."""

from __future__ import annotations

import numpy as np

from resonance.errors import ParameterError


def as_matrix(x: object, name: str, *, dim: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 array of shape (n, d) with n >= 1."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ParameterError(f"{name} must be a non-empty 2-D array (n_items, dim); got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ParameterError(f"{name} has dimension {arr.shape[1]}, expected {dim}; embed both sides with the "
                             "same model")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or infinite values; drop or re-embed those items")
    return arr


def l2_normalise(arr: np.ndarray, name: str) -> np.ndarray:
    """Rows of ``arr`` divided by their L2 norm; a zero row has no direction and is an error."""
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        bad = int(np.flatnonzero(norms[:, 0] == 0)[0])
        raise ParameterError(f"{name} row {bad} is all zeros and has no direction; drop it before evaluating")
    return arr / norms


def as_vector(x: object, name: str, *, n: int | None = None, numeric: bool = False) -> np.ndarray:
    """``x`` as a 1-D array (labels, scores or groups) of length ``n`` when given."""
    arr = np.asarray(x, dtype=np.float64) if numeric else np.asarray(x)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be 1-D; got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ParameterError(f"{name} has {arr.shape[0]} entries but there are {n} items; pass one per item")
    if arr.shape[0] == 0:
        raise ParameterError(f"{name} is empty")
    if numeric and not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or infinite values")
    return arr


def check_ks(ks: tuple[int, ...] | list[int], n_gallery: int, name: str = "ks") -> tuple[int, ...]:
    """Cut-offs as a sorted tuple of positive ints, none beyond the gallery size."""
    try:
        out = tuple(sorted({int(k) for k in ks}))
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be positive integers; got {ks!r}") from exc
    if not out or out[0] < 1:
        raise ParameterError(f"{name} must be positive integers; got {ks!r}")
    if out[-1] > n_gallery:
        raise ParameterError(f"{name} has k={out[-1]} but the gallery holds only {n_gallery} items; "
                             f"pass cut-offs up to {n_gallery}")
    return out
