"""Descriptors of every item of a prepared dataset, into one Parquet table keyed by item id.

The table (``out_file``) has one row per item whose media decoded and whose descriptors could be
computed, sorted by ``id``:

========== ======== =================================================================================
column     dtype    meaning
========== ======== =================================================================================
id         str      the manifest's item id (unique)
modality   str      ``"image"`` or ``"audio"``
sha256     str      hex SHA-256 of the media file the values were computed from
<name>     float64  one column per selected descriptor, image descriptors first, in registry order
========== ======== =================================================================================

It is one *wide* table on purpose: studies and attribution join it to the manifest on ``id`` and
select a modality with ``modality`` (or :func:`read_features`). The descriptor columns of the
*other* modality are null (NaN) on every row: an audio row has no ``colour`` values. Within a row's
own modality a NaN only occurs where the registry documents the descriptor as undefined (for example
F0 statistics of an unvoiced clip).

Items that fail (decode error, missing file, stale ``sha256``, an extractor raising) are written to
``<out stem>_failures.csv`` beside the table (columns ``id, modality, path, reason, detail``) and
the run carries on. The schema metadata key ``b"resonance.features"`` holds the provenance: package
versions, descriptor metadata, the configuration, the manifest's hash and the code signatures.

Re-running is incremental: an item is reused when its ``id``, ``modality`` and ``sha256`` match a
row of the previous table (or of the checkpoint an interrupted run left beside it, see
:data:`CHECKPOINT_SUFFIX`), that table's code signature for the modality is the current one, and it
holds every selected descriptor column. The signature hashes the descriptor and decoder source code
and the numeric libraries' versions, so changing an extractor recomputes everything of its
modality; correctness over speed. Items no longer in the manifest are dropped.

Work runs in chunks of items, in parallel processes on this machine by default, or on a Dask
cluster when ``ExtractConfig.scheduler`` names one; both call the same chunk function with BLAS,
OpenMP and OpenCV limited to one thread, so the two give the same table up to floating-point
rounding: a few float32 reductions in the descriptors round differently with the memory alignment
of their buffers, which differs between processes (measured below 1e-10 relative; the ids, rows,
columns and failures are identical).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from resonance.errors import DecodeError, ParameterError
from resonance.provenance import package_versions

if TYPE_CHECKING:  # pandas is imported lazily: importing this module must stay cheap in workers
    import pandas as pd

__all__ = ["CHECKPOINT_SUFFIX", "METADATA_KEY", "ExtractConfig", "ExtractResult", "extract_features",
           "failures_path", "read_features"]

MODALITIES = ("image", "audio")
KEY_COLUMNS = ("id", "modality", "sha256")
#: Schema-metadata key of the provenance JSON in the output Parquet file.
METADATA_KEY = b"resonance.features"
#: Suffix of the partial table written while a run is in progress (``features.parquet.partial``).
CHECKPOINT_SUFFIX = ".partial"
FORMAT_VERSION = 1

#: Where each modality's public entry point lives; imported lazily (it registers the descriptors).
_DESCRIBERS = {"image": ("handcrafted.image", "describe_image"),
               "audio": ("handcrafted.audio", "describe_audio")}
_PACKAGES = ("synesthetic-resonance", "numpy", "scipy", "librosa", "scikit-image", "opencv-python-headless",
             "pillow", "soundfile", "soxr", "numba", "pandas", "pyarrow", "joblib", "dask", "distributed")
#: Libraries whose version changes descriptor values; part of the reuse signature.
_NUMERIC_PACKAGES = ("numpy", "scipy", "librosa", "scikit-image", "opencv-python-headless", "pillow",
                     "soundfile", "soxr", "numba")


@dataclass(frozen=True)
class ExtractConfig:
    """What to extract and how to run it.

    Parameters
    ----------
    groups : sequence of str or None
        Descriptor groups to compute (e.g. ``["colour", "energy"]``); None (default) computes every
        registered group. Items of a modality none of whose groups is selected are skipped.
    modality : {"image", "audio"} or None
        Only items of this modality; None (default) takes both.
    workers : int or None
        Worker processes on this machine; None (default) uses every core this process may run on
        (``os.sched_getaffinity``, else ``os.cpu_count()``). 1 runs in this process. Ignored when
        ``scheduler`` is given.
    scheduler : str or None
        Address of a running Dask scheduler (``"tcp://host:8786"``); the chunks are mapped over its
        workers. None (default) uses local processes.
    chunk_size : int
        Items per task (default 16). Larger chunks cost less scheduling, smaller ones balance better.
    limit : int or None
        Only the first ``limit`` items (in ``id`` order, after the modality filter); for smoke runs.
    checkpoint_s : float
        Seconds between checkpoints of the partial table (default 60); 0 checkpoints after every chunk.
    verify_sha256 : bool
        Hash every file in its worker and record a ``sha256_mismatch`` failure when it differs from
        the manifest (default True), so the table's ``sha256`` column always tells the truth.
    progress : bool
        Show a progress bar over items on stderr (default True).
    """

    groups: tuple[str, ...] | None = None
    modality: Literal["image", "audio"] | None = None
    workers: int | None = None
    scheduler: str | None = None
    chunk_size: int = 16
    limit: int | None = None
    checkpoint_s: float = 60.0
    verify_sha256: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.groups is not None:
            if isinstance(self.groups, str):
                raise ParameterError(f"groups must be a sequence of group names, not the string "
                                     f"{self.groups!r}; write groups=[{self.groups!r}]")
            groups = tuple(self.groups)
            if not groups or not all(isinstance(g, str) and g for g in groups):
                raise ParameterError(f"groups must be None or a non-empty sequence of names, got {self.groups!r}")
            object.__setattr__(self, "groups", tuple(dict.fromkeys(groups)))
        if self.modality is not None and self.modality not in MODALITIES:
            raise ParameterError(f"modality must be one of {MODALITIES} or None, got {self.modality!r}")
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ParameterError(f"workers must be a positive integer or None, got {self.workers!r}")
        if self.scheduler is not None and "://" not in str(self.scheduler):
            raise ParameterError(f"scheduler must be a Dask address such as 'tcp://127.0.0.1:8786', "
                                 f"got {self.scheduler!r}")
        if not isinstance(self.chunk_size, int) or self.chunk_size < 1:
            raise ParameterError(f"chunk_size must be a positive integer, got {self.chunk_size!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 1):
            raise ParameterError(f"limit must be a positive integer or None, got {self.limit!r}")
        if not self.checkpoint_s >= 0:
            raise ParameterError(f"checkpoint_s must be >= 0 seconds, got {self.checkpoint_s!r}")

    def resolved_workers(self) -> int:
        """The number of local worker processes this configuration uses."""
        if self.workers is not None:
            return self.workers
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1


@dataclass(frozen=True)
class ExtractResult:
    """Summary of one :func:`extract_features` run.

    ``n_items`` items were selected from the manifest; each was ``computed``, ``reused`` from the
    previous table, ``failed`` (see ``failures_file``) or ``skipped`` (no selected descriptor of its
    modality). ``dropped`` rows of the previous table are gone because their item left the manifest
    or the selection.
    """

    out_file: Path
    failures_file: Path
    n_items: int
    computed: int
    reused: int
    failed: int
    skipped: int
    dropped: int
    n_descriptors: int
    wall_s: float
    failure_reasons: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """One human-readable line."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.failure_reasons.items()))
        text = (f"{self.n_items} items: {self.computed} computed, {self.reused} reused, {self.failed} failed"
                f"{f' ({reasons})' if reasons else ''}, {self.skipped} skipped, {self.dropped} dropped; "
                f"{self.n_descriptors} descriptors in {self.wall_s:.1f} s -> {self.out_file}")
        return text


# -- public entry points ----------------------------------------------------------------------------

def extract_features(dataset: str | os.PathLike[str], out_file: str | os.PathLike[str],
                     config: ExtractConfig | None = None) -> ExtractResult:
    """Compute the registered descriptors of every manifest item into one Parquet table.

    Parameters
    ----------
    dataset : path-like
        A prepared dataset folder (holding ``manifest.parquet``) or a manifest Parquet file with at
        least the columns ``id``, ``modality``, ``path`` and ``sha256``.
    out_file : path-like
        The Parquet table to write (see the module docstring for its columns). An existing table is
        reused incrementally; its failures go to :func:`failures_path` ``(out_file)``.
    config : ExtractConfig, optional
        What to compute and how to run; the defaults compute everything on every local core.

    Returns
    -------
    ExtractResult
        Counts of computed, reused, failed, skipped and dropped items, and the wall time.

    Raises
    ------
    ParameterError
        The manifest is missing or malformed, or ``config.groups`` names an unknown group, before
        any work is done.
    RuntimeError
        No item could be computed because every item that decoded raised in its extractors (a broken
        extractor or environment); the previous ``out_file`` is left untouched. A crashed worker
        process (joblib's ``TerminatedWorkerError``) or a lost Dask worker also propagates.

    Notes
    -----
    Interrupting a run (Ctrl-C, a killed job) leaves the last checkpoint beside ``out_file``; the
    next run with the same arguments resumes from it.
    """
    import pandas as pd

    started = time.perf_counter()
    config = config or ExtractConfig()
    out_file = Path(out_file)
    manifest_file = _manifest_file(dataset)
    manifest = _read_manifest(manifest_file, config)
    modalities = [config.modality] if config.modality else list(MODALITIES)
    for modality in modalities:
        _describer(modality)  # importing it registers its descriptors
    names = _selected_names(modalities, config.groups)
    if not any(names.values()):
        raise ParameterError(f"groups {list(config.groups or [])} select no descriptor of "
                             f"{' or '.join(modalities)}; see handcrafted.REGISTRY.to_frame()")
    signatures = {m: _code_signature(m) for m in names if names[m]}
    columns = [n for m in MODALITIES for n in names.get(m, ())]

    skipped_mask = ~manifest["modality"].isin(list(signatures))
    skipped = int(skipped_mask.sum())
    manifest = manifest[~skipped_mask]
    previous, old_ids = _previous_rows(out_file, signatures, names)
    reused_rows, todo = _split_reusable(manifest, previous, names)
    dropped = len(old_ids - set(manifest["id"]))

    provenance = _provenance(manifest_file, config, names, signatures)
    rows: list[dict[str, Any]] = list(reused_rows)
    failures: list[dict[str, str]] = []
    checkpoint = out_file.with_name(out_file.name + CHECKPOINT_SUFFIX)
    if todo:
        chunks = [todo[i:i + config.chunk_size] for i in range(0, len(todo), config.chunk_size)]
        task = partial(_extract_chunk, groups=_groups_by_modality(config.groups, names), names=names,
                       verify_sha256=config.verify_sha256)
        last_checkpoint = time.monotonic()
        with _progress(len(todo), config.progress) as bar:
            for chunk_rows, chunk_failures in _run_chunks(task, chunks, config):
                rows += chunk_rows
                failures += chunk_failures
                bar.update(len(chunk_rows) + len(chunk_failures))
                if failures:
                    bar.set_postfix(failed=len(failures), refresh=False)
                if time.monotonic() - last_checkpoint >= config.checkpoint_s:
                    _write_table(_frame(rows, columns), checkpoint, {**provenance, "partial": True})
                    last_checkpoint = time.monotonic()

    failures_frame = pd.DataFrame(failures, columns=["id", "modality", "path", "reason", "detail"])
    failures_frame = failures_frame.sort_values("id", kind="stable").reset_index(drop=True)
    failures_file = failures_path(out_file)
    _write_csv(failures_frame, failures_file)
    broken = failures_frame[failures_frame["reason"] == "extraction_error"]
    if todo and len(failures) == len(todo) and len(broken):
        # every item that decoded raised: a broken extractor or environment, not bad media; keep
        # the old table rather than replace it by an empty one
        raise RuntimeError(f"no item could be computed: all {len(broken)} items that decoded failed in "
                           f"extraction, e.g. {broken['id'].iloc[0]}: {broken['detail'].iloc[0]}; "
                           f"{out_file} was left as it was (details in {failures_file})")
    _write_table(_frame(rows, columns), out_file, provenance)
    checkpoint.unlink(missing_ok=True)
    return ExtractResult(
        out_file=out_file, failures_file=failures_file, n_items=len(manifest) + skipped,
        computed=len(rows) - len(reused_rows), reused=len(reused_rows), failed=len(failures),
        skipped=skipped, dropped=dropped, n_descriptors=len(columns), wall_s=time.perf_counter() - started,
        failure_reasons=failures_frame["reason"].value_counts().sort_index().to_dict())


def failures_path(out_file: str | os.PathLike[str]) -> Path:
    """The failures CSV written beside ``out_file``: ``features.parquet`` -> ``features_failures.csv``."""
    out_file = Path(out_file)
    return out_file.with_name(f"{out_file.stem}_failures.csv")


def read_features(path: str | os.PathLike[str], *, modality: Literal["image", "audio"] | None = None
                  ) -> pd.DataFrame:
    """Read a table written by :func:`extract_features`.

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
    """
    import pyarrow.parquet as pq

    if modality is not None and modality not in MODALITIES:
        raise ParameterError(f"modality must be one of {MODALITIES} or None, got {modality!r}")
    table = pq.read_table(path)
    provenance = _table_provenance(table.schema)
    frame = table.to_pandas()
    if modality is not None:
        keep = list(KEY_COLUMNS) + list(provenance.get("descriptors_by_modality", {}).get(modality, []))
        frame = frame.loc[frame["modality"] == modality, keep].reset_index(drop=True)
    frame.attrs["provenance"] = provenance
    return frame


# -- the work of one chunk (runs in a worker process) -----------------------------------------------

def _extract_chunk(items: Sequence[tuple[str, str, str, str]], *, groups: Mapping[str, tuple[str, ...] | None],
                   names: Mapping[str, tuple[str, ...]], verify_sha256: bool
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
                values = _describe_item(modality, path, sha256, groups[modality], names[modality], verify_sha256)
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


def _describe_item(modality: str, path: str, sha256: str, groups: tuple[str, ...] | None,
                   names: tuple[str, ...], verify_sha256: bool) -> dict[str, float]:
    """One decode, one call of the modality's ``describe_*`` (which shares one context)."""
    from resonance.io import PROJECT_SR, load_audio, load_image, sha256_file

    if modality == "image":
        rgb, _ = load_image(path)
        values = _describer("image")(rgb, groups=groups)
    else:
        y, _ = load_audio(path, sr=PROJECT_SR)
        values = _describer("audio")(y, PROJECT_SR, groups=groups)
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


# -- running chunks ---------------------------------------------------------------------------------

def _run_chunks(task: Any, chunks: list[list[tuple[str, str, str, str]]], config: ExtractConfig
                ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, str]]]]:
    """Yield each chunk's ``(rows, failures)`` as it completes (in any order)."""
    if config.scheduler is not None:
        yield from _run_dask(task, chunks, config.scheduler)
        return
    workers = min(config.resolved_workers(), len(chunks))
    if workers <= 1:
        for chunk in chunks:
            yield task(chunk)
        return
    yield from _run_pool(task, chunks, workers)


def _run_pool(task: Any, chunks: list[list[tuple[str, str, str, str]]], workers: int
              ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, str]]]]:
    """joblib's loky processes: they never re-import ``__main__`` (so a notebook, ``python -`` or a
    script without a main guard works), are reused across calls, and start with the thread
    variables of BLAS/OpenMP set to 1 (``inner_max_num_threads``)."""
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend="loky", n_jobs=workers, inner_max_num_threads=1):
        # One worker crashing (a decoder segfault) raises TerminatedWorkerError: nothing is
        # written, and the checkpoint keeps the chunks finished so far.
        yield from Parallel(return_as="generator_unordered", batch_size=1)(delayed(task)(c) for c in chunks)


def _run_dask(task: Any, chunks: list[list[tuple[str, str, str, str]]], address: str
              ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, str]]]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as error:  # pragma: no cover - dask[distributed] is a dependency
        raise ParameterError("scheduler= needs dask.distributed; pip install 'dask[distributed]'") from error

    # Closing a client that connected by address leaves the cluster running: it is not ours.
    with Client(address, set_as_default=False) as client:
        futures = client.map(task, chunks, pure=False)
        for future in as_completed(futures, loop=client.loop):
            yield future.result()
            future.release()


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from tqdm.auto import tqdm

    # redirected to a log file, a line every 10 s instead of ten a second
    interval = 0.1 if sys.stderr.isatty() else 10.0
    return tqdm(total=total, unit="item", desc="descriptors", dynamic_ncols=True, smoothing=0.1,
                mininterval=interval)


# -- manifest, previous table, signatures -----------------------------------------------------------

def _manifest_file(dataset: str | os.PathLike[str]) -> Path:
    path = Path(dataset)
    if path.is_dir():
        path = path / "manifest.parquet"
    if not path.is_file():
        raise ParameterError(f"no manifest at {path}; run `resonance data prepare` first, or pass the "
                             "manifest.parquet file itself")
    return path


def _read_manifest(path: Path, config: ExtractConfig) -> pd.DataFrame:
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        available = set(pq.read_schema(path).names)
    except Exception as error:  # noqa: BLE001 -- whatever pyarrow raises, the file is not a manifest
        raise ParameterError(f"{path} is not a readable Parquet manifest: {error}") from error
    required = ["id", "modality", "path", "sha256"]
    missing = [c for c in required if c not in available]
    if missing:
        raise ParameterError(f"manifest {path} lacks the columns {missing}; it needs {required}")
    manifest = pd.read_parquet(path, columns=required)
    nulls = [c for c in required if manifest[c].isna().any()]
    if nulls:
        raise ParameterError(f"manifest {path} has empty values in {nulls}")
    manifest = manifest.astype({c: str for c in required})
    duplicated = manifest["id"][manifest["id"].duplicated()].unique().tolist()
    if duplicated:
        raise ParameterError(f"manifest ids must be unique; repeated: {duplicated[:5]}")
    unknown = sorted(set(manifest["modality"]) - set(MODALITIES))
    if unknown:
        raise ParameterError(f"manifest {path} has unknown modalities {unknown}; expected {MODALITIES}")
    manifest = manifest.sort_values("id", kind="stable").reset_index(drop=True)
    if config.modality is not None:
        manifest = manifest[manifest["modality"] == config.modality].reset_index(drop=True)
    if config.limit is not None:
        manifest = manifest.head(config.limit)
    return manifest


def _describer(modality: str) -> Any:
    import importlib

    module_name, function = _DESCRIBERS[modality]
    return getattr(importlib.import_module(module_name), function)


def _selected_names(modalities: Sequence[str], groups: tuple[str, ...] | None) -> dict[str, tuple[str, ...]]:
    from handcrafted.registry import REGISTRY

    if groups is not None:
        known = {d.group for m in modalities for d in REGISTRY.select(m)}
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise ParameterError(f"unknown descriptor groups {unknown} for {' and '.join(modalities)}; "
                                 f"known: {sorted(known)}")
    return {m: tuple(d.name for d in REGISTRY.select(m) if groups is None or d.group in groups)
            for m in modalities}


def _groups_by_modality(groups: tuple[str, ...] | None, names: Mapping[str, tuple[str, ...]]
                        ) -> dict[str, tuple[str, ...] | None]:
    """The groups handed to each ``describe_*``: only its own modality's (None: all of them)."""
    from handcrafted.registry import REGISTRY

    if groups is None:
        return {m: None for m in names}
    return {m: tuple(g for g in groups if any(d.group == g for d in REGISTRY.select(m))) for m in names}


def _code_signature(modality: str) -> str:
    """Hash of what determines a modality's values: descriptor and decoder code, library versions.

    The code is every module of the ``handcrafted`` package (except this one), the module of every
    extractor registered for ``modality`` (a user's own included), and ``resonance.io``'s decoder.
    """
    from handcrafted.registry import REGISTRY

    package_dir = Path(__file__).resolve().parent
    files = {p for p in package_dir.rglob("*.py") if p.name != Path(__file__).name}
    for spec in REGISTRY.extractors(modality):  # type: ignore[arg-type]
        module = sys.modules.get(spec.function.__module__)
        if module is not None and getattr(module, "__file__", None):
            files.add(Path(module.__file__).resolve())
    io_module = sys.modules.get(f"resonance.io.{modality}")
    if io_module is None:
        import importlib

        io_module = importlib.import_module(f"resonance.io.{modality}")
    files.add(Path(io_module.__file__).resolve())
    digest = hashlib.sha256(f"format {FORMAT_VERSION} {modality}\n".encode())
    for path in sorted(files):
        digest.update(path.relative_to(path.parents[1]).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    versions = package_versions(_NUMERIC_PACKAGES)
    digest.update(json.dumps(versions, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _previous_rows(out_file: Path, signatures: Mapping[str, str], names: Mapping[str, tuple[str, ...]]
                   ) -> tuple[pd.DataFrame | None, set[str]]:
    """Rows of the previous table and of an interrupted run's checkpoint that can still be trusted.

    A row survives when its modality's code signature is the current one and its table holds all
    currently selected descriptors of that modality; checkpoint rows (newer) win over table rows.
    Also returns every id the previous table held (to count the dropped ones).
    """
    import pandas as pd
    import pyarrow.parquet as pq

    frames = []
    old_ids: set[str] = set()
    for path in (out_file, out_file.with_name(out_file.name + CHECKPOINT_SUFFIX)):
        if not path.is_file():
            continue
        try:
            table = pq.read_table(path)
        except Exception as error:  # noqa: BLE001 -- an unreadable old table is recomputed, not fatal
            print(f"warning: ignoring unreadable previous table {path}: {error}", file=sys.stderr)
            continue
        provenance = _table_provenance(table.schema)
        frame = table.to_pandas()
        if not set(KEY_COLUMNS) <= set(frame.columns):
            continue
        if path == out_file:
            old_ids = set(frame["id"].astype(str))
        usable = [m for m, sig in signatures.items()
                  if provenance.get("signatures", {}).get(m) == sig and set(names[m]) <= set(frame.columns)]
        frames.append(frame[frame["modality"].isin(usable)])
    if not frames:
        return None, old_ids
    previous = pd.concat(frames, ignore_index=True)
    return previous.drop_duplicates("id", keep="last").reset_index(drop=True), old_ids


def _split_reusable(manifest: pd.DataFrame, previous: pd.DataFrame | None, names: Mapping[str, tuple[str, ...]]
                    ) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    """Reusable rows (as dicts) and the ``(id, modality, path, sha256)`` items still to compute."""
    reused: list[dict[str, Any]] = []
    todo: list[tuple[str, str, str, str]] = []
    by_id = previous.set_index("id") if previous is not None else None
    for item_id, modality, path, sha256 in manifest[["id", "modality", "path", "sha256"]].itertuples(index=False):
        if by_id is not None and item_id in by_id.index:
            old = by_id.loc[item_id]
            if old["modality"] == modality and old["sha256"] == sha256:
                reused.append({"id": item_id, "modality": modality, "sha256": sha256,
                               **{n: float(old[n]) for n in names[modality]}})
                continue
        todo.append((item_id, modality, path, sha256))
    return reused, todo


# -- writing ----------------------------------------------------------------------------------------

def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=[*KEY_COLUMNS, *columns])
    frame = frame.astype({c: "float64" for c in columns} | {c: "str" for c in KEY_COLUMNS})
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def _write_table(frame: pd.DataFrame, path: Path, provenance: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from resonance.io import atomic_path

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), METADATA_KEY: json.dumps(provenance, sort_keys=True).encode()}
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(metadata), tmp, compression="zstd")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    from resonance.io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _table_provenance(schema: Any) -> dict[str, Any]:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


def _provenance(manifest_file: Path, config: ExtractConfig, names: Mapping[str, tuple[str, ...]],
                signatures: Mapping[str, str]) -> dict[str, Any]:
    from handcrafted.registry import REGISTRY
    from resonance.io import sha256_file

    descriptors = {n: {"modality": d.modality, "group": d.group, "unit": d.unit, "label": d.label,
                       "undefined": d.undefined, "codec_sensitive": d.codec_sensitive}
                   for m in names for n in names[m] for d in [REGISTRY[n]]}
    return {
        "format": FORMAT_VERSION,
        "manifest": {"path": str(manifest_file.resolve()), "sha256": sha256_file(manifest_file)},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(config).items()
                   if k not in {"progress"}},
        "descriptors_by_modality": {m: list(v) for m, v in names.items()},
        "descriptors": descriptors,
        "signatures": dict(signatures),
        "packages": package_versions(_PACKAGES),
    }
