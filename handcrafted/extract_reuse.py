"""What a run of :func:`handcrafted.extract.extract_features` can reuse, and what it must compute.

:func:`_code_signature` hashes what determines a modality's values; :func:`_plan` decides, for the
selected items and every row of the previous table, what is reused, computed or carried over (see
"Merging" in :mod:`handcrafted.table`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handcrafted.table import FORMAT_VERSION, KEY_COLUMNS, MODALITIES, Previous
from resonance.provenance import package_versions

if TYPE_CHECKING:
    import pandas as pd

#: Libraries whose version changes descriptor values; part of the reuse signature.
_NUMERIC_PACKAGES = ("numpy", "scipy", "librosa", "scikit-image", "opencv-python-headless", "pillow",
                     "soundfile", "soxr", "numba")


def _code_signature(modality: str) -> str:
    """Hash of what determines a modality's values: descriptor and decoder code, library versions.

    The code is every module of the ``handcrafted`` package (except the extract and table modules,
    which run the job and store its results but compute no value), the module of every extractor
    registered for ``modality`` (a user's own included), and ``resonance.io``'s decoder with the
    readability check and media limits it applies (``files.py``, ``limits.py``).
    """
    from handcrafted.registry import REGISTRY

    package_dir = Path(__file__).resolve().parent
    not_values = {package_dir / n for n in ("extract.py", "extract_reuse.py", "extract_worker.py", "table.py")}
    files = {p for p in package_dir.rglob("*.py") if p not in not_values}
    for spec in REGISTRY.extractors(modality):  # type: ignore[arg-type]
        module = sys.modules.get(spec.function.__module__)
        if module is not None and getattr(module, "__file__", None):
            files.add(Path(module.__file__).resolve())
    io_module = sys.modules.get(f"resonance.io.{modality}")
    if io_module is None:
        import importlib

        io_module = importlib.import_module(f"resonance.io.{modality}")
    # the decoder's shared checks decide what decodes too: its readability check and the media limits
    io_dir = Path(io_module.__file__).resolve().parent
    files |= {Path(io_module.__file__).resolve(), io_dir / "files.py", io_dir / "limits.py"}
    digest = hashlib.sha256(f"format {FORMAT_VERSION} {modality}\n".encode())
    for path in sorted(files):
        digest.update(path.relative_to(path.parents[1]).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    versions = package_versions(_NUMERIC_PACKAGES)
    digest.update(json.dumps(versions, sort_keys=True).encode())
    return digest.hexdigest()[:16]


@dataclass
class _Plan:
    """What a run does with each item and each previous row (see "Merging" in :mod:`handcrafted.table`).

    ``columns`` are the output table's columns per modality; ``reused`` rows need no work, ``todo``
    items are computed (the selected groups only); ``carried`` previous rows were not selected and
    are kept unchanged (with the code signature they were computed with); ``previous`` rows of the
    same bytes and the current ``signatures`` lend the values of other groups.
    """

    columns: dict[str, list[str]]
    reused: list[dict[str, Any]]
    todo: list[tuple[str, str, str, str]]
    carried: list[str]
    previous: Previous
    signatures: Mapping[str, str]

    def column_order(self) -> list[str]:
        return [c for m in MODALITIES for c in self.columns.get(m, [])]

    def assemble(self, rows: Sequence[Mapping[str, Any]]
                 ) -> tuple[list[dict[str, Any]], dict[str, set[str]], dict[str, str]]:
        """The output rows (``rows`` of this run, merged with the previous values of the same bytes and
        code, and the carried rows); per id, the table columns its row lacks (not computed); and per
        id, the code signature its values were computed with."""
        out: list[dict[str, Any]] = []
        missing: dict[str, set[str]] = {}
        signature: dict[str, str] = {}
        for item_id in self.carried:
            old = self.previous.rows[item_id]
            wanted = self.columns.get(old.modality, [])
            out.append({"id": item_id, "modality": old.modality, "sha256": old.sha256,
                        **{c: old.values[c] for c in wanted if c in old.columns}})
            signature[item_id] = old.signature
        for row in rows:
            old = self.previous.rows.get(row["id"])
            current = self.signatures[row["modality"]]
            wanted = self.columns.get(row["modality"], [])
            values: dict[str, Any] = {}
            if old is not None and (old.modality, old.sha256, old.signature) == (row["modality"], row["sha256"],
                                                                                  current):
                values = {c: old.values[c] for c in wanted if c in old.columns}
            values.update({k: v for k, v in row.items() if k not in KEY_COLUMNS})
            out.append({"id": row["id"], "modality": row["modality"], "sha256": row["sha256"], **values})
            signature[row["id"]] = current
        for row in out:
            lacking = set(self.columns.get(row["modality"], [])) - set(row)
            if lacking:
                missing[row["id"]] = lacking
        return out, missing, signature


def _plan(full: pd.DataFrame, manifest: pd.DataFrame, previous: Previous, names: Mapping[str, tuple[str, ...]],
          signatures: Mapping[str, str]) -> _Plan:
    """Decide, for the selected ``manifest`` items and every previous row, what this run does."""
    from handcrafted.registry import REGISTRY

    columns: dict[str, list[str]] = {}
    for modality in MODALITIES:
        if names.get(modality):
            wanted = set(names[modality]) | set(previous.columns.get(modality, []))
            columns[modality] = [d.name for d in REGISTRY.select(modality) if d.name in wanted]
        elif previous.columns.get(modality):
            columns[modality] = list(previous.columns[modality])
    reused: list[dict[str, Any]] = []
    todo: list[tuple[str, str, str, str]] = []
    for item_id, modality, path, sha256 in manifest[["id", "modality", "path", "sha256"]].itertuples(index=False):
        old = previous.rows.get(item_id)
        if (old is not None and (old.modality, old.sha256, old.signature) == (modality, sha256, signatures[modality])
                and set(names[modality]) <= old.columns):
            reused.append({"id": item_id, "modality": modality, "sha256": sha256,
                           **{n: float(old.values[n]) for n in names[modality]}})
        else:
            todo.append((item_id, modality, path, sha256))
    selected = set(manifest["id"])
    current = dict(zip(full["id"], zip(full["modality"], full["sha256"], strict=True), strict=True))
    carried = sorted(item_id for item_id, old in previous.rows.items()
                     if item_id not in selected and current.get(item_id) == (old.modality, old.sha256)
                     and old.modality in columns)
    return _Plan(columns, reused, todo, carried, previous, signatures)
