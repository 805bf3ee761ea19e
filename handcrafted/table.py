"""The features-table contract: columns, format version, provenance, reading, writing and merging.

A features table is one Parquet file, one row per item, sorted by ``id``:

========== ======== =================================================================================
column     dtype    meaning
========== ======== =================================================================================
id         str      the manifest's item id (unique)
modality   str      ``"image"`` or ``"audio"``
sha256     str      hex SHA-256 of the media file the values were computed from
<name>     float64  one column per descriptor, image descriptors first, in registry order
========== ======== =================================================================================

The schema metadata key ``b"resonance.features"`` (:data:`METADATA_KEY`) holds the provenance:
``format`` (:data:`FORMAT_VERSION`), the ``descriptor_set`` (name and version, also under its own key
:data:`DESCRIPTOR_SET_KEY`), ``descriptors_by_modality`` (the table's columns per modality),
per-modality code ``signatures``, the manifest it was computed from, the configuration, package
versions, ``incomplete`` and ``row_signatures`` (see below). Failures are written beside it, to
:func:`failures_path`.

Merging (why a subset run never deletes results)
------------------------------------------------
A run that selects only some items (``limit``, ``modality``) or some groups writes a table that is
the previous one *updated*: rows it did not select are carried over unchanged, and columns of
groups it did not select stay. A row is carried only while it still describes the manifest's bytes
(same id, modality and ``sha256``) and its modality's code signature is current (a modality the run
does not compute keeps its previous signature); rows of items that left the manifest, changed
bytes, or were computed by older code of a modality this run computes are dropped (the run's
``dropped`` count). A run computes the selected groups only; where a row therefore lacks a column
the table has (a group added to some rows but not to others), its value is null and the
provenance's ``incomplete`` lists it (``{"col1,col2": [ids]}``): null then means *not computed*, not
*undefined*, and the next run that selects that group computes it.

Rows are dropped only when their item left the manifest or its bytes changed (the old values
describe other bytes). A row computed by older code of its modality (another code signature) is
carried as it is when the run does not select it, and recorded in ``row_signatures``
(``{signature: [ids]}``, the rows whose signature is not their modality's in ``signatures``); it is
never reused for a selected item, and its values never fill a recomputed row.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from resonance.errors import DatasetError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHECKPOINT_SUFFIX", "DESCRIPTOR_SET_KEY", "FORMAT_VERSION", "KEY_COLUMNS", "METADATA_KEY", "MODALITIES",
           "Previous", "failures_path", "frame_from_rows", "incomplete_map", "load_previous", "read_features",
           "row_signature_map", "table_provenance", "write_csv", "write_table"]

MODALITIES = ("image", "audio")
KEY_COLUMNS = ("id", "modality", "sha256")
#: Schema-metadata key of the provenance JSON.
METADATA_KEY = b"resonance.features"
#: Schema-metadata key of the descriptor set's ``{"name": ..., "version": ...}``.
DESCRIPTOR_SET_KEY = b"resonance.descriptor_set"
#: Suffix of the partial table written while a run is in progress (``features.parquet.partial``).
CHECKPOINT_SUFFIX = ".partial"
#: Format version of the table (part of every code signature: changing it recomputes everything).
FORMAT_VERSION = 1
FAILURE_COLUMNS = ("id", "modality", "path", "reason", "detail")


def failures_path(out_file: str | os.PathLike[str]) -> Path:
    """The failures CSV written beside ``out_file``: ``features.parquet`` -> ``features_failures.csv``."""
    out_file = Path(out_file)
    return out_file.with_name(f"{out_file.stem}_failures.csv")


def checkpoint_path(out_file: str | os.PathLike[str]) -> Path:
    """The partial table of a run in progress, beside ``out_file``."""
    out_file = Path(out_file)
    return out_file.with_name(out_file.name + CHECKPOINT_SUFFIX)


def table_provenance(schema: Any) -> dict[str, Any]:
    """The provenance dict stored in a table's schema metadata ({} when absent or unreadable)."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_features(path: str | os.PathLike[str], *, modality: Literal["image", "audio"] | None = None
                  ) -> pd.DataFrame:
    """Read a features table.

    Parameters
    ----------
    path : path-like
        The Parquet table.
    modality : {"image", "audio"} or None, keyword-only
        Keep only this modality's rows *and* descriptor columns (so no column is null by design).

    Returns
    -------
    pandas.DataFrame
        Indexed by position, sorted by ``id``; the provenance dict is in ``frame.attrs["provenance"]``.

    Raises
    ------
    ParameterError
        ``modality`` is not one of the two.
    DatasetError
        ``path`` is missing or not a features table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if modality is not None and modality not in MODALITIES:
        raise ParameterError(f"modality must be one of {MODALITIES} or None, got {modality!r}")
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no features table at {path}; run `resonance features extract` first")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise DatasetError(f"{path} is not a readable features table ({error}); extract it again") from error
    provenance = table_provenance(table.schema)
    frame = table.to_pandas()
    missing = [c for c in KEY_COLUMNS if c not in frame.columns]
    if missing:
        raise DatasetError(f"{path} is not a features table: it lacks the columns {missing}")
    if modality is not None:
        own = provenance.get("descriptors_by_modality", {}).get(modality, [])
        keep = list(KEY_COLUMNS) + [c for c in own if c in frame.columns]
        frame = frame.loc[frame["modality"] == modality, keep].reset_index(drop=True)
    frame.attrs["provenance"] = provenance
    return frame


def frame_from_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows (dicts with the key columns and any descriptor values) as a table sorted by ``id``."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows), columns=[*KEY_COLUMNS, *columns])
    frame = frame.astype({c: "float64" for c in columns} | {c: "str" for c in KEY_COLUMNS})
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def write_table(frame: pd.DataFrame, path: Path, provenance: Mapping[str, Any]) -> None:
    """Write ``frame`` with ``provenance`` in its schema metadata, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from resonance.io import atomic_path

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(provenance, sort_keys=True).encode()}
    if "descriptor_set" in provenance:  # also its own table-level entry: {"name": ..., "version": ...}
        metadata[DESCRIPTOR_SET_KEY] = json.dumps(provenance["descriptor_set"], sort_keys=True).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(metadata), tmp, compression="zstd")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV, atomically."""
    from resonance.io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


# -- merging ----------------------------------------------------------------------------------------

@dataclass
class StoredRow:
    """One row of a previous table: its values and the columns it really holds."""

    modality: str
    sha256: str
    values: dict[str, float]
    columns: set[str]
    signature: str = ""


@dataclass
class Previous:
    """What the previous table (and an interrupted run's checkpoint) hold that can still be trusted.

    ``rows`` by id (each with the code signature it was computed with); ``ids`` every id the
    previous final table held; ``columns`` its columns per modality (in order); ``signatures`` (per
    modality, of the final table) and ``descriptors`` (metadata) as recorded.
    """

    rows: dict[str, StoredRow] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    columns: dict[str, list[str]] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    descriptors: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_previous(out_file: Path) -> Previous:
    """Every row of ``out_file`` and of its checkpoint, with the signature each was computed with.

    Checkpoint rows (newer) replace table rows of another sha256 or signature, and add their values
    to a row of the same sha256 and signature. Which rows a run may reuse or carry is decided by the
    run (see the module docstring).
    """
    import pyarrow.parquet as pq

    previous = Previous()
    for path in (out_file, checkpoint_path(out_file)):
        if not path.is_file():
            continue
        try:
            table = pq.read_table(path)
        except Exception as error:  # noqa: BLE001 -- an unreadable old table is recomputed, not fatal
            print(f"warning: ignoring unreadable previous table {path}: {error}", file=sys.stderr)
            continue
        provenance = table_provenance(table.schema)
        frame = table.to_pandas()
        if not set(KEY_COLUMNS) <= set(frame.columns):
            continue
        frame = frame.astype({c: str for c in KEY_COLUMNS})
        recorded = provenance.get("signatures", {}) or {}
        if path == out_file:
            previous.ids = set(frame["id"])
            previous.signatures = {m: sig for m, sig in recorded.items() if m in MODALITIES}
        by_modality = provenance.get("descriptors_by_modality") or _infer_columns(frame)
        missing_by_id = _missing_by_id(provenance.get("incomplete") or {})
        row_signature = {item_id: sig for sig, ids in (provenance.get("row_signatures") or {}).items()
                         for item_id in ids}
        for modality in MODALITIES:
            signature = recorded.get(modality)
            if signature is None:
                continue  # not a table this package wrote for this modality: recomputed
            columns = [c for c in by_modality.get(modality, []) if c in frame.columns]
            known = previous.columns.setdefault(modality, [])
            known += [c for c in columns if c not in known]
            for name in columns:
                meta = (provenance.get("descriptors") or {}).get(name)
                if meta is not None:
                    previous.descriptors.setdefault(name, meta)
            own = frame[frame["modality"] == modality]
            for record in own[["id", "sha256", *columns]].to_dict("records"):
                item_id, sha256 = record.pop("id"), record.pop("sha256")
                holds = set(columns) - missing_by_id.get(item_id, set())
                values = {c: record[c] for c in holds}
                sig = row_signature.get(item_id, signature)
                old = previous.rows.get(item_id)
                if old is not None and (old.modality, old.sha256, old.signature) == (modality, sha256, sig):
                    old.values.update(values)
                    old.columns |= holds
                else:
                    previous.rows[item_id] = StoredRow(modality, sha256, values, holds, sig)
    return previous


def _infer_columns(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Columns per modality of a table without provenance: those not null on every row of it."""
    values = [c for c in frame.columns if c not in KEY_COLUMNS]
    return {m: [c for c in values if frame.loc[frame["modality"] == m, c].notna().any()] for m in MODALITIES}


def _missing_by_id(incomplete: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    missing: dict[str, set[str]] = {}
    for joined, ids in incomplete.items():
        for item_id in ids:
            missing.setdefault(item_id, set()).update(c for c in joined.split(",") if c)
    return missing


def incomplete_map(missing: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """``{id: columns not computed}`` as stored in the provenance: ``{"c1,c2": [ids]}``, sorted."""
    grouped: dict[str, list[str]] = {}
    for item_id, columns in missing.items():
        columns = sorted(columns)
        if columns:
            grouped.setdefault(",".join(columns), []).append(item_id)
    return {k: sorted(v) for k, v in sorted(grouped.items())}


def row_signature_map(signatures: Mapping[str, str], rows: Iterable[tuple[str, str, str]]) -> dict[str, list[str]]:
    """``{signature: [ids]}`` of the rows ``(id, modality, signature)`` whose signature is not their
    modality's in ``signatures`` (as stored in the provenance's ``row_signatures``)."""
    grouped: dict[str, list[str]] = {}
    for item_id, modality, signature in rows:
        if signature != signatures.get(modality):
            grouped.setdefault(signature, []).append(item_id)
    return {k: sorted(v) for k, v in sorted(grouped.items())}
