"""Metrics to JSON and Markdown, written atomically (an interrupted run leaves the old file or none).

A metrics dict is nested: its leaves are numbers, strings, None, lists, numpy values, result objects with
a ``to_dict()`` method (e.g. :class:`~resonance.evaluate.retrieval.RetrievalResult`) and
:class:`pandas.DataFrame` tables (per-class and per-category tables). :func:`to_jsonable` turns it into
plain JSON values; NaN and infinities become ``null`` (JSON has no NaN), and a table becomes
``{"columns": [...], "index": [...], "data": [[...], ...]}``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from resonance.errors import ParameterError
from resonance.io.atomic import write_text_atomic

__all__ = ["to_jsonable", "to_markdown", "write_json", "write_markdown"]


def to_jsonable(obj: object) -> object:
    """``obj`` as plain JSON values (dicts, lists, str, int, float, bool, None).

    Parameters
    ----------
    obj : object
        A metrics value; see the module docstring for what is accepted.

    Returns
    -------
    object

    Raises
    ------
    ParameterError
        For a value of another type (named in the message).
    """
    if hasattr(obj, "to_dict") and not isinstance(obj, pd.DataFrame | pd.Series):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, pd.DataFrame):
        return {"columns": [str(c) for c in obj.columns], "index": [to_jsonable(i) for i in obj.index],
                "data": [[to_jsonable(v) for v in row] for row in obj.itertuples(index=False)]}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray | pd.Series):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise ParameterError(f"cannot write a {type(obj).__name__} to a metrics report; convert it to numbers, "
                         "strings, lists, dicts or a DataFrame")


def write_json(metrics: Mapping, path: str | os.PathLike[str]) -> Path:
    """Write ``metrics`` as indented JSON (keys in insertion order), atomically.

    Parameters
    ----------
    metrics : mapping
    path : path-like
        The target file; parent folders are created.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    text = json.dumps(to_jsonable(metrics), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_text_atomic(path, text)
    return Path(path)


def _fmt(value: object, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list[object]], digits: int) -> list[str]:
    lines = ["| " + " | ".join(_fmt(h, digits) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v, digits) for v in row) + " |" for row in rows]
    return lines + [""]


def _section(name: str, value: object, level: int, digits: int) -> list[str]:
    lines = [f"{'#' * min(level, 6)} {name}", ""]
    if isinstance(value, dict) and set(value) == {"columns", "index", "data"}:
        return lines + _table(["", *value["columns"]], [[i, *row] for i, row in zip(value["index"], value["data"])],
                              digits)
    if isinstance(value, dict):
        scalars = [[k, v] for k, v in value.items() if not isinstance(v, dict | list)]
        if scalars:
            lines += _table(["metric", "value"], scalars, digits)
        for k, v in value.items():
            if isinstance(v, dict):
                lines += _section(k, v, level + 1, digits)
            elif isinstance(v, list):
                lines += [f"- **{k}**: " + (", ".join(_fmt(x, digits) for x in v) or "none"), ""]
        return lines
    return lines + [_fmt(value, digits), ""]


def to_markdown(metrics: Mapping, *, title: str = "Evaluation", digits: int = 3) -> str:
    """``metrics`` as Markdown: a section per nested dict, a table of its scalars, tables as tables.

    Parameters
    ----------
    metrics : mapping
    title : str
        The top heading.
    digits : int
        Decimals of floats.

    Returns
    -------
    str
    """
    return "\n".join(_section(title, to_jsonable(metrics), 1, digits)).rstrip("\n") + "\n"


def write_markdown(metrics: Mapping, path: str | os.PathLike[str], *, title: str = "Evaluation",
                   digits: int = 3) -> Path:
    """Write :func:`to_markdown` of ``metrics`` to ``path`` atomically; returns ``path``."""
    write_text_atomic(path, to_markdown(metrics, title=title, digits=digits))
    return Path(path)
