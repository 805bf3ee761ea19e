"""Corpus adapters: one class per upstream layout, all yielding :class:`~resonance.data.records.Item`
or :class:`~resonance.data.records.Rejection` without decoding media.

:func:`get_adapter` builds one by corpus name (with options such as ``group_pattern`` or ``label_map``
for the adapters that take them); :func:`detect_adapter` recognises a folder's layout, trying the
specific layouts first and the generic folder-per-class / CSV layout last; a ``.csv`` file is a generic
manifest.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from resonance.data.adapters._files import modality_of
from resonance.data.records import Adapter
from resonance.errors import ParameterError

# name -> (module, class); imported on demand so that one adapter's dependency never blocks another.
_ADAPTERS: dict[str, tuple[str, str]] = {
    "dvisa": ("resonance.data.adapters.dvisa", "DvisaAdapter"),
    "feelingblue": ("resonance.data.adapters.feelingblue", "FeelingBlueAdapter"),
    "emopia": ("resonance.data.adapters.emopia", "EmopiaAdapter"),
    "probes": ("resonance.data.adapters.probes", "ProbesAdapter"),
    "ravdess": ("resonance.data.adapters.ravdess", "RavdessAdapter"),
    "tess": ("resonance.data.adapters.tess", "TessAdapter"),
    "cremad": ("resonance.data.adapters.cremad", "CremadAdapter"),
    "savee": ("resonance.data.adapters.savee", "SaveeAdapter"),
    "emodb": ("resonance.data.adapters.emodb", "EmodbAdapter"),
    "kaggle": ("resonance.data.adapters.kaggle", "KaggleAudioEmotionsAdapter"),
    "generic": ("resonance.data.adapters.generic", "GenericAdapter"),
}
#: Detection order: the most specific layouts first; Kaggle's class folders before the generic tree.
DETECTION_ORDER: tuple[str, ...] = tuple(_ADAPTERS)


def adapter_names() -> list[str]:
    """Every corpus name accepted as ``CORPUS=`` in ``resonance data prepare``."""
    return list(_ADAPTERS)


def get_adapter(name: str, options: Mapping[str, Any] | None = None) -> Adapter:
    """A new adapter for corpus ``name`` (see :func:`adapter_names`).

    ``options`` (``group_pattern``, ``label_map``, ``corpus`` ...) are passed to the adapters whose
    constructor takes them and ignored by the others; ``None`` values are left out.

    Raises
    ------
    ParameterError
        If ``name`` is no corpus; the message lists them.
    """
    try:
        module_name, class_name = _ADAPTERS[name]
    except KeyError:
        raise ParameterError(f"unknown corpus {name!r}; expected one of {', '.join(_ADAPTERS)} (a folder of "
                             f"your own can be named as NAME=generic:PATH)") from None
    cls = getattr(importlib.import_module(module_name), class_name)
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in (options or {}).items() if v is not None and k in accepted}
    return cls(**kwargs)


def detect_adapter(root: Path, options: Mapping[str, Any] | None = None) -> Adapter:
    """The adapter whose layout ``root`` has; a ``.csv`` file is read as a generic manifest.

    Raises
    ------
    ParameterError
        If ``root`` is neither a folder nor a CSV file, or no layout matches; the message lists the
        corpora and the ``CORPUS=PATH`` syntax.
    """
    root = Path(root)
    if root.is_file() and root.suffix.lower() in (".csv", ".tsv"):
        return get_adapter("generic", options)
    if not root.is_dir():
        raise ParameterError(f"{root} is neither a folder nor a CSV manifest")
    for name in DETECTION_ORDER:
        adapter = get_adapter(name, options)
        if adapter.detect(root):
            return adapter
    raise ParameterError(f"could not recognise the layout of {root}; name it as CORPUS={root} with CORPUS one "
                         f"of {', '.join(_ADAPTERS)} (generic: one folder per class, or a manifest.csv with "
                         f"path,emotion columns)")


__all__ = ["DETECTION_ORDER", "adapter_names", "detect_adapter", "get_adapter", "modality_of"]
