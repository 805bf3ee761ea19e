"""Corpus adapters: one class per upstream layout, all yielding :class:`~resonance.data.records.Item`
or :class:`~resonance.data.records.Rejection` without decoding media.

:func:`get_adapter` builds one by corpus name; :func:`detect_adapter` recognises a folder's layout,
trying the specific layouts first and the generic folder-per-class / CSV layout last.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from resonance.data.records import Adapter

# name -> (module, class); imported on demand so that one adapter's dependency never blocks another.
_ADAPTERS: dict[str, tuple[str, str]] = {
    "dvisa": ("resonance.data.adapters.dvisa", "DvisaAdapter"),
    "feelingblue": ("resonance.data.adapters.feelingblue", "FeelingBlueAdapter"),
    "emopia": ("resonance.data.adapters.emopia", "EmopiaAdapter"),
    "probes": ("resonance.data.adapters.probes", "ProbesAdapter"),
    "ravdess": ("resonance.data.adapters.speech", "RavdessAdapter"),
    "tess": ("resonance.data.adapters.speech", "TessAdapter"),
    "cremad": ("resonance.data.adapters.speech", "CremadAdapter"),
    "savee": ("resonance.data.adapters.speech", "SaveeAdapter"),
    "kaggle": ("resonance.data.adapters.speech", "KaggleAudioEmotionsAdapter"),
    "generic": ("resonance.data.adapters.generic", "GenericAdapter"),
}
#: Detection order: the most specific layouts first; Kaggle's class folders before the generic tree.
DETECTION_ORDER: tuple[str, ...] = tuple(_ADAPTERS)


def adapter_names() -> list[str]:
    """Every corpus name accepted as ``CORPUS=`` in ``resonance data prepare``."""
    return list(_ADAPTERS)


def get_adapter(name: str) -> Adapter:
    """A new adapter for corpus ``name`` (see :func:`adapter_names`)."""
    try:
        module_name, class_name = _ADAPTERS[name]
    except KeyError:
        raise KeyError(f"unknown corpus {name!r}; expected one of {', '.join(_ADAPTERS)}") from None
    return getattr(importlib.import_module(module_name), class_name)()


def detect_adapter(root: Path) -> Adapter:
    """The adapter whose layout ``root`` has.

    Raises
    ------
    ValueError
        If no layout matches; the message lists the corpora and the ``CORPUS=PATH`` syntax.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder")
    for name in DETECTION_ORDER:
        adapter = get_adapter(name)
        if adapter.detect(root):
            return adapter
    raise ValueError(f"could not recognise the layout of {root}; name it as CORPUS={root} with CORPUS one "
                     f"of {', '.join(_ADAPTERS)}")


__all__ = ["DETECTION_ORDER", "adapter_names", "detect_adapter", "get_adapter"]
