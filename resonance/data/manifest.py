"""The manifest contract: what ``prepare`` writes and every later stage reads, in one place.

A manifest is one Parquet file (``manifest.parquet`` in a dataset folder), one row per item, sorted
by ``id``. Its schema metadata key ``b"resonance"`` (:data:`METADATA_KEY`) holds the provenance that
``dataset.json`` repeats: :data:`MANIFEST_VERSION`, the ``data_version`` content hash, the analysis
``sample_rate`` the dataset was made for, and the named ``roots`` its paths are relative to.

Paths
-----
``path`` (the media file to decode) and ``source_path`` (the file the item came from) are stored
relative to a *named root*, given in ``root`` and ``source_root``:

* ``"dataset"`` (:data:`DATASET_ROOT`) is the folder holding the manifest, wherever it now is, so a
  dataset folder (with the MIDI renders inside it) can be moved or copied as a whole;
* any other name is a source folder, recorded in the provenance's ``roots`` (name -> absolute
  folder); if the data moved, pass ``roots={"ravdess": "/new/place"}`` to :func:`read_manifest`;
* ``""`` means the path is absolute (a file outside every root).

Ids never depend on where the data lives (``corpus:local_id``, the local id relative to its corpus
folder). :func:`read_manifest` returns absolute ``path`` and ``source_path`` by default.

Columns
-------
:data:`COLUMNS` lists every column ``prepare`` writes with its dtype; :data:`REQUIRED` the ones every
reader needs. Unlabelled items (a folder of one's own images or sounds, see
:func:`unlabelled_manifest`) carry the flag ``unlabelled`` and null ``emotion``, ``valence`` and
``arousal``: an emotion is never invented.

Version history: ``"1"`` absolute paths, no roots, no sample rate; ``"2"`` (current) relative paths,
``root``/``source_root`` columns, ``roots`` and ``sample_rate`` in the provenance. Version 1 files
are still read (their paths are taken as they are).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resonance.data.emotion import CATEGORIES
from resonance.errors import DatasetError, InputNotFoundError, ParameterError

#: Format version of the manifest (see the module docstring for the history).
MANIFEST_VERSION = "2"
#: The file name of the manifest inside a dataset folder.
MANIFEST_FILE = "manifest.parquet"
#: Schema-metadata key of the provenance JSON.
METADATA_KEY = b"resonance"
#: The root name of paths inside the dataset folder itself.
DATASET_ROOT = "dataset"
#: The flag of an item without an emotion label.
UNLABELLED_FLAG = "unlabelled"
MODALITIES = ("image", "audio")

#: Every column ``prepare`` writes, in order, with its pandas dtype ("str" columns may be null only
#: where marked nullable in :data:`NULLABLE`). Adapters may add columns; readers keep them.
COLUMNS: dict[str, str] = {
    "id": "str", "modality": "str", "corpus": "str", "path": "str", "root": "str", "source_path": "str",
    "source_root": "str", "group": "str", "split": "str", "official_split": "str", "emotion": "str",
    "valence": "float64", "arousal": "float64", "dominance": "float64", "vad_source": "str", "synthetic": "bool",
    **{f"p_{c}": "float64" for c in CATEGORIES},
    "gender": "str", "original_labels": "str", "attributes": "str", "flags": "str", "same_stimulus_as": "str",
    "duration_s": "float64", "sample_rate": "Int64", "channels": "Int64", "width": "Int64", "height": "Int64",
    "sha256": "str",
}
#: The columns every reader needs (``extract`` needs no more).
REQUIRED: tuple[str, ...] = ("id", "modality", "path", "sha256")
#: Columns that may hold nulls.
NULLABLE: frozenset[str] = frozenset(
    {"official_split", "emotion", "valence", "arousal", "dominance", "gender", "duration_s", "sample_rate",
     "channels", "width", "height", "root", "source_root", "source_path", "vad_source"}
    | {f"p_{c}" for c in CATEGORIES})
_NUMERIC = {"float64", "Int64"}


@dataclass(frozen=True)
class ManifestInfo:
    """What a manifest says about itself (its provenance), as read by :func:`read_manifest`."""

    file: Path | None
    version: str
    sample_rate: int
    roots: Mapping[str, str] = field(default_factory=dict)
    data_version: str | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path | None:
        """The dataset folder (the root named :data:`DATASET_ROOT`)."""
        return self.file.parent if self.file is not None else None


def default_sample_rate() -> int:
    """The project's analysis rate (:data:`resonance.io.PROJECT_SR`), for manifests that do not say."""
    from resonance.io.audio import PROJECT_SR

    return int(PROJECT_SR)


def manifest_file(dataset: str | os.PathLike[str]) -> Path:
    """The manifest of ``dataset`` (a dataset folder or the Parquet file itself).

    Raises
    ------
    InputNotFoundError
        There is none.
    """
    path = Path(dataset)
    if path.is_dir():
        path = path / MANIFEST_FILE
    if not path.is_file():
        raise InputNotFoundError(f"no manifest at {path}; run `resonance data prepare` first, or pass the "
                                 "manifest.parquet file itself (or a folder of media files to describe)")
    return path


# -- relative paths ---------------------------------------------------------------------------------

def source_root_names(folders: Sequence[tuple[str, str | os.PathLike[str]]]) -> dict[str, str]:
    """Unique root names for ``(corpus, folder)`` pairs: the corpus name, then ``-2``, ``-3`` ...

    The same folder given twice gets one name. A CSV file's root is its folder. Folders are made
    absolute, not resolved.
    """
    names: dict[str, str] = {}
    by_folder: dict[str, str] = {}
    for corpus, folder in folders:
        folder = Path(os.path.abspath(folder))  # not resolved: item paths keep the links the user gave
        if folder.is_file():
            folder = folder.parent
        key = str(folder)
        if key in by_folder:
            continue
        base = (corpus or "source").replace(":", "_") or "source"
        name, n = base, 1
        while name in names or name == DATASET_ROOT:
            n += 1
            name = f"{base}-{n}"
        names[name] = key
        by_folder[key] = name
    return names


def relative_to_root(path: str | os.PathLike[str], roots: Mapping[str, str | os.PathLike[str]]) -> tuple[str, str]:
    """``(root name, posix path relative to it)`` for the deepest root holding ``path``.

    ``("", absolute path)`` when no root holds it. ``path`` is made absolute (not resolved: links
    inside a root stay inside it), and so are the roots.
    """
    absolute = Path(os.path.abspath(path))
    best: tuple[str, str] | None = None
    depth = -1
    for name, folder in roots.items():
        folder = Path(os.path.abspath(folder))
        try:
            relative = absolute.relative_to(folder)
        except ValueError:
            continue
        if len(folder.parts) > depth:
            best, depth = (name, relative.as_posix()), len(folder.parts)
    return best if best is not None else ("", str(absolute))


def resolve_path(relative: str, root: str | None, info: ManifestInfo) -> str:
    """The absolute path of a manifest path ``relative`` under root ``root`` (see the module docstring)."""
    if not root or relative is None or (isinstance(relative, float) and np.isnan(relative)):
        return relative
    if root == DATASET_ROOT:
        if info.folder is None:
            raise DatasetError(f"{relative!r} is relative to the dataset folder, but the manifest has no file")
        return str(info.folder / relative)
    folder = info.roots.get(root)
    if folder is None:
        raise DatasetError(f"manifest {info.file} names the data root {root!r}, which its provenance does not "
                           f"define (known: {sorted(info.roots)}); pass roots={{{root!r}: '/path/to/it'}}")
    return str(Path(folder) / relative)


# -- reading ----------------------------------------------------------------------------------------

def read_info(path: str | os.PathLike[str]) -> ManifestInfo:
    """The provenance of the manifest file ``path`` (its schema metadata), without reading its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as error:
        raise DatasetError(f"{path} is not a readable Parquet manifest ({error}); re-run `resonance data "
                           "prepare`") from error
    raw = (schema.metadata or {}).get(METADATA_KEY)
    try:
        provenance = json.loads(raw) if raw else {}
    except ValueError:
        provenance = {}
    if not isinstance(provenance, dict):
        provenance = {}
    return ManifestInfo(file=path.resolve(), version=str(provenance.get("manifest_version", "1")),
                        sample_rate=int(provenance.get("sample_rate") or default_sample_rate()),
                        roots=dict(provenance.get("roots") or {}), data_version=provenance.get("data_version"),
                        provenance=provenance)


def read_manifest(dataset: str | os.PathLike[str], *, columns: Sequence[str] | None = None, resolve: bool = True,
                  roots: Mapping[str, str | os.PathLike[str]] | None = None, check_dataset_json: bool = True
                  ) -> pd.DataFrame:
    """Read and check a manifest.

    Parameters
    ----------
    dataset : path-like
        A dataset folder or its ``manifest.parquet``.
    columns : sequence of str, optional
        Only these columns (the :data:`REQUIRED` ones are always read); None reads all.
    resolve : bool
        Turn ``path`` and ``source_path`` into absolute paths (default True).
    roots : mapping, optional
        Folders that replace the recorded ones, by root name (for data that moved).
    check_dataset_json : bool
        Check that ``dataset.json`` beside the manifest has the manifest's ``data_version`` (an
        interrupted write of the output set shows as a mismatch).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``id``; ``frame.attrs["manifest"]`` is the :class:`ManifestInfo`.

    Raises
    ------
    InputNotFoundError
        There is no manifest.
    DatasetError
        The file is not a manifest: unreadable, a required column missing or null, repeated ids,
        unknown modalities, no rows, an unknown root, or a ``dataset.json`` of another version.
    """
    import pyarrow.parquet as pq

    path = manifest_file(dataset)
    info = read_info(path)
    if roots:
        info = ManifestInfo(info.file, info.version, info.sample_rate,
                            {**info.roots, **{k: str(Path(v).resolve()) for k, v in roots.items()}},
                            info.data_version, info.provenance)
    available = list(pq.read_schema(path).names)
    missing = [c for c in REQUIRED if c not in available]
    if missing:
        raise DatasetError(f"manifest {path} lacks the columns {missing}; it needs {list(REQUIRED)} "
                           "(re-run `resonance data prepare`)")
    wanted = None
    if columns is not None:
        unknown = [c for c in columns if c not in available]
        if unknown:
            raise DatasetError(f"manifest {path} lacks the columns {unknown}; it has {available}")
        extra = [c for c in ("root", "source_path", "source_root") if c in available]
        wanted = list(dict.fromkeys([*REQUIRED, *columns, *extra]))
    try:
        frame = pd.read_parquet(path, columns=wanted)
    except Exception as error:  # noqa: BLE001 -- whatever pyarrow raises, the file is not a manifest
        raise DatasetError(f"{path} is not a readable Parquet manifest: {error}") from error
    check_manifest(frame, str(path))
    if check_dataset_json and info.data_version:
        _check_dataset_json(path, info)
    if resolve:
        frame = resolve_paths(frame, info)
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    frame.attrs["manifest"] = info
    return frame


def resolve_paths(frame: pd.DataFrame, info: ManifestInfo) -> pd.DataFrame:
    """``frame`` with absolute ``path`` (and ``source_path``), from its ``root`` columns."""
    frame = frame.copy()
    for column, root_column in (("path", "root"), ("source_path", "source_root")):
        if column in frame and root_column in frame:
            frame[column] = [resolve_path(p, r, info) for p, r in zip(frame[column], frame[root_column],
                                                                       strict=True)]
    return frame


def check_manifest(frame: pd.DataFrame, where: str = "manifest") -> None:
    """Raise :class:`DatasetError` unless ``frame`` keeps the contract (see :func:`read_manifest`)."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DatasetError(f"{where} lacks the columns {missing}; it needs {list(REQUIRED)}")
    if frame.empty:
        raise DatasetError(f"{where} has no items; re-run `resonance data prepare` with sources that hold "
                           "usable files")
    nulls = [c for c in REQUIRED if frame[c].isna().any() or (frame[c].astype(str) == "").any()]
    if nulls:
        raise DatasetError(f"{where} has empty values in {nulls}")
    duplicated = frame["id"][frame["id"].duplicated()].unique().tolist()
    if duplicated:
        raise DatasetError(f"manifest ids must be unique; {where} repeats {duplicated[:5]}")
    unknown = sorted(set(frame["modality"].astype(str)) - set(MODALITIES))
    if unknown:
        raise DatasetError(f"{where} has unknown modalities {unknown}; expected {MODALITIES}")
    for column, dtype in COLUMNS.items():
        if column not in frame.columns:
            continue
        if dtype in _NUMERIC and not pd.api.types.is_numeric_dtype(frame[column]):
            raise DatasetError(f"{where}: column {column!r} must be numeric ({dtype}), is {frame[column].dtype}")
        if column not in NULLABLE and column not in REQUIRED and frame[column].isna().any():
            raise DatasetError(f"{where}: column {column!r} has empty values")


def _check_dataset_json(path: Path, info: ManifestInfo) -> None:
    sidecar = path.parent / "dataset.json"
    if path.name != MANIFEST_FILE or not sidecar.is_file():
        return
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8")).get("data_version")
    except (OSError, ValueError, AttributeError):
        return
    if recorded and recorded != info.data_version:
        raise DatasetError(f"{path.parent}: dataset.json (data_version {recorded}) does not belong to "
                           f"manifest.parquet ({info.data_version}); a run was interrupted while writing "
                           "them: re-run `resonance data prepare` with the same --out")


# -- writing ----------------------------------------------------------------------------------------

def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the contract's dtypes for the columns it has (``Int64`` counts, float64 values)."""
    frame = frame.copy()
    for column, dtype in COLUMNS.items():
        if column not in frame.columns:
            continue
        if dtype == "Int64":
            frame[column] = frame[column].astype("Int64")
        elif dtype == "float64":
            frame[column] = frame[column].astype("float64")
        elif dtype == "bool":
            frame[column] = frame[column].astype(bool)
    return frame


def write_manifest(frame: pd.DataFrame, path: str | os.PathLike[str], provenance: Mapping[str, Any]) -> None:
    """Write ``frame`` (checked with :func:`check_manifest`) to ``path`` with ``provenance`` in its metadata.

    ``provenance`` gets ``manifest_version`` set to :data:`MANIFEST_VERSION`. The write is atomic.
    Paths are written as they are in ``frame``: make them relative first (:func:`relative_to_root`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from resonance.io.atomic import atomic_path

    check_manifest(frame, str(path))
    provenance = {**provenance, "manifest_version": MANIFEST_VERSION}
    table = pa.Table.from_pandas(conform(frame), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           METADATA_KEY: json.dumps(provenance, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


# -- unlabelled material ----------------------------------------------------------------------------

@dataclass(frozen=True)
class UnlabelledScan:
    """What :func:`unlabelled_manifest` found: the manifest and the files it could not use."""

    manifest: pd.DataFrame
    skipped: list[tuple[str, str, str]]  # (path, reason, detail)


def unlabelled_manifest(source: str | os.PathLike[str], *, hash_files: bool = True) -> UnlabelledScan:
    """An in-memory manifest of a plain folder of images and sounds, or of a ``.txt`` file list.

    Parameters
    ----------
    source : path-like
        A folder (every image and audio file under it, by extension; hidden files are skipped), or a
        text file with one path per line (relative paths are relative to the list's folder; blank
        lines and lines starting with ``#`` are skipped).
    hash_files : bool
        Hash every file (default True); the ``sha256`` column is what reuse and verification key on.

    Returns
    -------
    UnlabelledScan
        ``manifest``: one row per media file, id ``unlabelled:<path relative to the root>``, flag
        ``unlabelled``, null emotion, valence and arousal, ``root`` ``"source"``; ``skipped``: the files
        that are not media or cannot be read, with a reason.

    Raises
    ------
    InputNotFoundError
        ``source`` does not exist.
    DatasetError
        It holds no image or audio file.
    """
    from resonance.data.adapters._files import is_document, modality_of, printable, walk_files
    from resonance.data.records import Rejection
    from resonance.io.atomic import sha256_file

    source = Path(source).expanduser()
    if not source.exists():
        raise InputNotFoundError(f"{source} does not exist; pass a dataset folder, a manifest.parquet, a folder of "
                                 "images/sounds or a .txt list of their paths")
    skipped: list[tuple[str, str, str]] = []
    if source.is_dir():
        root = source.resolve()
        paths: list[Path] = []
        for entry in walk_files(source, "unlabelled"):
            if isinstance(entry, Rejection):
                skipped.append((entry.path, entry.reason, entry.detail))
            else:
                paths.append(entry)
    else:
        root = source.resolve().parent
        paths = list(_listed_paths(source, root))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in paths:
        modality = modality_of(path)
        if modality is None:
            if source.is_dir() and is_document(path):
                continue
            skipped.append((printable(path), "unsupported_format",
                            f"extension {path.suffix or '(none)'!r} is neither an image nor an audio format"))
            continue
        _, relative = relative_to_root(path, {"source": root})
        item_id = f"unlabelled:{relative}"
        if item_id in seen:
            continue
        seen.add(item_id)
        sha256 = ""
        if hash_files:
            try:
                sha256 = sha256_file(path)
            except OSError as error:
                skipped.append((printable(path), "unreadable", f"cannot read the file: {error.strerror}"))
                continue
        rows.append({"id": item_id, "modality": modality, "corpus": "unlabelled", "path": str(path.absolute()),
                     "root": "", "source_path": str(path.absolute()), "source_root": "",
                     "group": item_id, "split": "", "official_split": None, "emotion": None,
                     "valence": np.nan, "arousal": np.nan, "dominance": np.nan, "vad_source": None,
                     "synthetic": False, "flags": UNLABELLED_FLAG, "sha256": sha256 or "0" * 64})
    if not rows:
        raise DatasetError(f"{source} holds no image or audio file ({len(skipped)} other files); pass a folder of "
                           "images/sounds or a .txt list of their paths")
    frame = pd.DataFrame(rows).sort_values("id", kind="stable").reset_index(drop=True)
    frame.attrs["manifest"] = ManifestInfo(file=None, version=MANIFEST_VERSION, sample_rate=default_sample_rate(),
                                           roots={"source": str(root)})
    return UnlabelledScan(frame, skipped)


def _listed_paths(listing: Path, base: Path) -> Iterable[Path]:
    try:
        text = listing.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{listing} is not a UTF-8 text list of paths ({error.reason}); write one path per "
                           "line") from None
    except OSError as error:
        raise DatasetError(f"cannot read {listing}: {error.strerror}") from None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path = Path(line).expanduser()
        yield path if path.is_absolute() else base / path


def is_unlabelled(frame: pd.DataFrame) -> pd.Series:
    """Which rows carry the ``unlabelled`` flag."""
    if "flags" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["flags"].fillna("").astype(str).str.split(";").map(lambda flags: UNLABELLED_FLAG in flags)


def validate_sample_rate(value: Any) -> int:
    """An analysis sample rate: an integer in [8000, 192000] Hz."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 8000 <= int(value) <= 192_000:
        raise ParameterError(f"sample_rate must be an integer number of Hz in [8000, 192000], got {value!r}")
    return int(value)


__all__ = [
    "COLUMNS", "DATASET_ROOT", "MANIFEST_FILE", "MANIFEST_VERSION", "METADATA_KEY", "NULLABLE", "REQUIRED",
    "UNLABELLED_FLAG", "ManifestInfo", "UnlabelledScan", "check_manifest", "conform", "is_unlabelled",
    "manifest_file", "read_info", "read_manifest", "relative_to_root", "resolve_path", "resolve_paths",
    "source_root_names", "unlabelled_manifest", "validate_sample_rate", "write_manifest",
]
