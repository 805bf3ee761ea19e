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
modality; correctness over speed. Items no longer in the manifest are dropped; rows and columns a
run does not select (``limit``, ``modality``, ``groups``) are kept, so a smoke run never deletes
results (see "Merging" in :mod:`handcrafted.table`, which holds the table's contract). Audio is
decoded at the sample rate recorded in the manifest. One run at a time writes a table: the run
holds ``.<table name>.lock`` beside it.

Work runs in chunks of items, in parallel processes on this machine by default, or on a Dask
cluster when ``ExtractConfig.scheduler`` names one; both call the same chunk function with BLAS,
OpenMP and OpenCV limited to one thread, so the two give the same table up to floating-point
rounding: a few float32 reductions in the descriptors round differently with the memory alignment
of their buffers, which differs between processes (measured below 1e-10 relative; the ids, rows,
columns and failures are identical).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from handcrafted.extract_reuse import _NUMERIC_PACKAGES, _code_signature, _Plan, _plan  # noqa: F401 -- re-exported
from handcrafted.extract_worker import (  # noqa: F401 -- re-exported: other modules and tests use these names
    _DESCRIBERS,
    _describe_item,
    _describer,
    _extract_chunk,
    _single_threaded,
    describe_file,
)
from handcrafted.table import (
    CHECKPOINT_SUFFIX,
    FAILURE_COLUMNS,
    FORMAT_VERSION,
    KEY_COLUMNS,  # noqa: F401 -- re-exported
    METADATA_KEY,
    MODALITIES,
    Previous,
    checkpoint_path,
    failures_path,
    frame_from_rows,
    incomplete_map,
    load_previous,
    read_features,
    row_signature_map,
    write_csv,
    write_table,
)
from resonance.errors import ExtractionError, ParameterError
from resonance.parallel import map_chunks, progress_bar
from resonance.provenance import package_versions

if TYPE_CHECKING:  # pandas is imported lazily: importing this module must stay cheap in workers
    import pandas as pd

__all__ = ["CHECKPOINT_SUFFIX", "METADATA_KEY", "ExtractConfig", "ExtractResult", "describe_file", "extract_features",
           "failures_path", "read_features"]

# the table's constants and readers live in handcrafted.table (re-exported here)
_write_table = write_table
_frame = frame_from_rows
_write_csv = write_csv

_PACKAGES = ("synesthetic-resonance", "numpy", "scipy", "librosa", "scikit-image", "opencv-python-headless",
             "pillow", "soundfile", "soxr", "numba", "pandas", "pyarrow", "joblib", "dask", "distributed")


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
        if isinstance(self.checkpoint_s, bool) or not isinstance(self.checkpoint_s, (int, float)) \
                or not self.checkpoint_s >= 0:
            raise ParameterError(f"checkpoint_s must be >= 0 seconds, got {self.checkpoint_s!r}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ExtractConfig:
        """The inverse of :meth:`to_dict`; unknown keys are a :class:`ParameterError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown ExtractConfig fields {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def checked(self) -> ExtractConfig:
        """This configuration, validated again through a :meth:`to_dict` / :meth:`from_dict` round trip."""
        again = ExtractConfig.from_dict(self.to_dict())
        if again != self:
            raise ParameterError(f"ExtractConfig does not survive a round trip: {self!r} != {again!r}")
        return again

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
    modality). ``kept`` rows of the previous table were not selected and were carried over
    unchanged; ``dropped`` rows of the previous table are gone because their item left the manifest,
    its file changed, or its modality's code changed (see :mod:`handcrafted.table`).
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
    kept: int = 0

    def summary(self) -> str:
        """One human-readable line."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.failure_reasons.items()))
        text = (f"{self.n_items} items: {self.computed} computed, {self.reused} reused, {self.failed} failed"
                f"{f' ({reasons})' if reasons else ''}, {self.skipped} skipped, {self.dropped} dropped"
                f"{f', {self.kept} other rows kept' if self.kept else ''}; "
                f"{self.n_descriptors} descriptors in {self.wall_s:.1f} s -> {self.out_file}")
        return text


# -- public entry points ----------------------------------------------------------------------------

def extract_features(dataset: str | os.PathLike[str], out_file: str | os.PathLike[str],
                     config: ExtractConfig | None = None) -> ExtractResult:
    """Compute the registered descriptors of every manifest item into one Parquet table.

    Parameters
    ----------
    dataset : path-like
        A prepared dataset folder (holding ``manifest.parquet``), a manifest Parquet file with at
        least the columns ``id``, ``modality``, ``path`` and ``sha256`` (read through
        :func:`resonance.data.manifest.read_manifest`), or *unlabelled material*: a plain folder of
        images and sounds, or a ``.txt`` list of their paths (see
        :func:`resonance.data.manifest.unlabelled_manifest`; files that are not media are recorded
        as failures ``unsupported_format``).
    out_file : path-like
        The Parquet table to write (see :mod:`handcrafted.table` for its columns). An existing table
        is updated: rows and columns this run does not select are kept (see "Merging" there); its
        failures go to :func:`failures_path` ``(out_file)``.
    config : ExtractConfig, optional
        What to compute and how to run; the defaults compute everything on every local core.

    Returns
    -------
    ExtractResult
        Counts of computed, reused, failed, skipped and dropped items, and the wall time.

    Raises
    ------
    ParameterError
        The manifest is missing or malformed (a :class:`~resonance.errors.DatasetError`), or
        ``config`` is invalid or names an unknown group, before any work is done.
    LockedError
        Another run is writing ``out_file``.
    ExtractionError
        (a ``RuntimeError``) No item could be computed because every item that decoded raised in its
        extractors (a broken extractor or environment); the previous ``out_file`` is left untouched.
        A worker process that dies (a decoder segfault, the out-of-memory killer) does not end the
        run: its chunk is retried alone in a fresh process, and an item that kills it again is a
        ``worker_crashed`` failure (the checkpoint is written as soon as a worker dies).

    Notes
    -----
    Interrupting a run (Ctrl-C, a killed job) leaves the last checkpoint beside ``out_file``; the
    next run with the same arguments resumes from it.
    """
    from resonance.io.atomic import clean_stale_temporaries, output_lock

    started = time.perf_counter()
    config = config if config is not None else ExtractConfig()
    if not isinstance(config, ExtractConfig):
        raise ParameterError(f"config must be an ExtractConfig, got {type(config).__name__}")
    config = config.checked()
    out_file = Path(out_file)
    if out_file.is_dir():
        raise ParameterError(f"--out {out_file} is a folder; pass the path of the .parquet table to write")
    modalities = [config.modality] if config.modality else list(MODALITIES)
    for modality in modalities:
        _describer(modality)  # importing it registers its descriptors
    names = _selected_names(modalities, config.groups)
    if not any(names.values()):
        raise ParameterError(f"groups {list(config.groups or [])} select no descriptor of "
                             f"{' or '.join(modalities)}; see `resonance features describe`")
    source = _load_source(dataset)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out_file.parent / f".{out_file.name}.lock", f"features table {out_file}"):
        clean_stale_temporaries(out_file.parent, [out_file.name, failures_path(out_file).name,
                                                  checkpoint_path(out_file).name])
        return _extract_locked(source, out_file, config, names, started)


def _extract_locked(source: _Source, out_file: Path, config: ExtractConfig, names: dict[str, tuple[str, ...]],
                    started: float) -> ExtractResult:
    """The run itself, under the output's lock (see :func:`extract_features`)."""
    import pandas as pd

    signatures = {m: _code_signature(m) for m in names if names[m]}
    columns = [n for m in MODALITIES for n in names.get(m, ())]
    selected = _select(source.manifest, config)

    skipped_mask = ~selected["modality"].isin(list(signatures))
    skipped = int(skipped_mask.sum())
    manifest = selected[~skipped_mask]
    previous = load_previous(out_file)
    plan = _plan(source.manifest, manifest, previous, names, signatures)
    reused_rows, todo = plan.reused, plan.todo

    provenance = _provenance(source, config, names, signatures)
    rows: list[dict[str, Any]] = list(reused_rows)
    failures: list[dict[str, str]] = []
    checkpoint = out_file.with_name(out_file.name + CHECKPOINT_SUFFIX)
    if todo:
        chunks = [todo[i:i + config.chunk_size] for i in range(0, len(todo), config.chunk_size)]
        task = partial(_extract_chunk, groups=_groups_by_modality(config.groups, names), names=names,
                       verify_sha256=config.verify_sha256, sample_rate=source.sample_rate)
        last_checkpoint = time.monotonic()

        def write_checkpoint() -> None:
            nonlocal last_checkpoint
            _write_table(_frame(rows, columns), checkpoint, {**provenance, "partial": True})
            last_checkpoint = time.monotonic()

        with progress_bar(len(todo), description="descriptors", enabled=config.progress) as bar:

            def worker_lost(detail: str) -> None:
                # keep what is done before the retries: a second failure must not cost it
                bar.write(f"warning: {detail}", file=sys.stderr)
                write_checkpoint()

            for chunk_rows, chunk_failures in _run_chunks(task, chunks, config, bar, worker_lost):
                rows += chunk_rows
                failures += chunk_failures
                if failures:
                    bar.set_postfix(failed=len(failures), refresh=False)
                crashed = any(f["reason"] == "worker_crashed" for f in chunk_failures)
                if crashed or time.monotonic() - last_checkpoint >= config.checkpoint_s:
                    write_checkpoint()

    failures_frame = pd.DataFrame(failures + source.failures, columns=list(FAILURE_COLUMNS))
    failures_frame = failures_frame.sort_values("id", kind="stable").reset_index(drop=True)
    failures_file = failures_path(out_file)
    _write_csv(failures_frame, failures_file)
    broken = failures_frame[failures_frame["reason"] == "extraction_error"]
    if todo and len(failures) == len(todo) and len(broken):
        # every item that decoded raised: a broken extractor or environment, not bad media; keep
        # the old table rather than replace it by an empty one
        raise ExtractionError(f"no item could be computed: all {len(broken)} items that decoded failed in "
                              f"extraction, e.g. {broken['id'].iloc[0]}: {broken['detail'].iloc[0]}; "
                              f"{out_file} was left as it was (details in {failures_file})")
    final_rows, missing, row_signatures = plan.assemble(rows)
    final_provenance = _final_provenance(provenance, plan, previous, signatures, missing,
                                         [(r["id"], r["modality"], row_signatures[r["id"]]) for r in final_rows])
    _write_table(_frame(final_rows, plan.column_order()), out_file, final_provenance)
    checkpoint.unlink(missing_ok=True)
    dropped = len(previous.ids - {row["id"] for row in final_rows})
    return ExtractResult(
        out_file=out_file, failures_file=failures_file, n_items=len(selected) + len(source.failures),
        computed=len(rows) - len(reused_rows), reused=len(reused_rows), failed=len(failures) + len(source.failures),
        skipped=skipped, dropped=dropped, n_descriptors=len(columns), wall_s=time.perf_counter() - started,
        failure_reasons=failures_frame["reason"].value_counts().sort_index().to_dict(), kept=len(plan.carried))


# -- running chunks ---------------------------------------------------------------------------------

def _run_chunks(task: Any, chunks: list[list[tuple[str, str, str, str]]], config: ExtractConfig, bar: Any,
                worker_lost: Any) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, str]]]]:
    """Yield each chunk's ``(rows, failures)`` as it completes (in any order), through
    :func:`resonance.parallel.map_chunks`: local processes (BLAS/OpenMP/numba held to one thread,
    librosa's numba code compiled once by :func:`_warm_numba` before they start) or a Dask cluster.
    A chunk whose worker process dies is retried alone; an item that kills its process again is a
    ``worker_crashed`` failure and the run carries on."""
    from resonance.paths import cache_root

    audio = any(modality == "audio" for chunk in chunks for _, modality, _, _ in chunk)
    results = map_chunks(task, chunks, workers=config.resolved_workers(), scheduler=config.scheduler,
                         progress=bar, on_crash=_crashed_chunk, merge=_merge_chunks, on_worker_lost=worker_lost,
                         warmup=f"{__name__}:_warm_numba" if audio else None, numba_cache=cache_root() / "numba")
    for _, result in results:
        yield result


def _crashed_chunk(items: Sequence[tuple[str, str, str, str]], detail: str
                   ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The failures of items whose worker process died on them (see :func:`resonance.parallel.map_chunks`)."""
    return [], [{"id": item_id, "modality": modality, "path": path, "reason": "worker_crashed",
                 "detail": f"{path}: {detail}"} for item_id, modality, path, _ in items]


def _merge_chunks(parts: list[tuple[list[dict[str, Any]], list[dict[str, str]]]]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    return [row for rows, _ in parts for row in rows], [f for _, failures in parts for f in failures]


def _warm_numba() -> None:
    """Decode and describe one synthetic clip, as a worker does (the warm-up of
    :func:`resonance.parallel.warm_numba_cache`: it compiles every numba function of librosa the audio
    descriptors use into the shared cache, in one process, before the workers start).

    The clip is 1.5 s of a harmonic tone switched on and off three times a second, over noise, at
    22,050 Hz, so that decoding resamples it and onsets, pitch and chroma all find something. An
    error is raised (the warm-up then fails, and a damaged cache is rebuilt).
    """
    import tempfile

    import numpy as np
    import soundfile as sf

    rate = 22_050
    t = np.arange(int(1.5 * rate)) / rate
    tone = sum(0.3 / k * np.sin(2 * np.pi * k * 220.0 * t) for k in range(1, 6))
    gate = (np.sin(2 * np.pi * 3.0 * t) > 0).astype(float)
    y = tone * gate + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    with tempfile.TemporaryDirectory(prefix="resonance-warmup-") as folder:
        path = Path(folder) / "warmup.wav"
        sf.write(path, y.astype(np.float32), rate, subtype="PCM_16")
        _describer("audio")
        with _single_threaded():
            _describe_item("audio", str(path), "", None, (), False)


# -- manifest, previous table, signatures -----------------------------------------------------------

@dataclass(frozen=True)
class _Source:
    """The items to describe: a manifest (absolute paths), what to record about it, its sample rate,
    and the files of unlabelled material that could not be used (as failure rows)."""

    manifest: pd.DataFrame
    reference: dict[str, Any]
    sample_rate: int
    failures: list[dict[str, str]]


_LIST_SUFFIXES = (".txt", ".lst", ".list")


def _load_source(dataset: str | os.PathLike[str]) -> _Source:
    """A prepared dataset (folder or manifest file) or unlabelled material (folder or ``.txt`` list)."""
    from resonance.data.manifest import MANIFEST_FILE, manifest_file, read_manifest, unlabelled_manifest
    from resonance.errors import DatasetError
    from resonance.io import sha256_bytes, sha256_file

    path = Path(dataset)
    if (path.is_dir() and (path / MANIFEST_FILE).is_file()) or (path.is_file() and path.suffix == ".parquet") \
            or not path.exists():
        file = manifest_file(path)
        manifest = read_manifest(file, columns=[])  # the required columns (and the roots' columns)
        info = manifest.attrs["manifest"]
        reference = {"path": str(file.resolve()), "sha256": sha256_file(file), "version": info.version,
                     "data_version": info.data_version}
        return _Source(manifest, reference, info.sample_rate, [])
    if path.is_file() and path.suffix.lower() not in _LIST_SUFFIXES:
        raise DatasetError(f"{path} is neither a manifest.parquet nor a .txt list of files; pass a dataset folder, "
                           "its manifest, a folder of images/sounds or a list of their paths")
    scan = unlabelled_manifest(path)
    manifest = scan.manifest
    lines = "\n".join(manifest["id"] + "\t" + manifest["sha256"])
    reference = {"path": str(path.resolve()), "unlabelled": True, "sha256": sha256_bytes(lines.encode())}
    failures = [{"id": f"unlabelled:{p}", "modality": "", "path": p, "reason": reason, "detail": detail}
                for p, reason, detail in scan.skipped]
    return _Source(manifest, reference, manifest.attrs["manifest"].sample_rate, failures)


def _select(manifest: pd.DataFrame, config: ExtractConfig) -> pd.DataFrame:
    """The items this run describes: the modality filter, then the first ``limit`` ids."""
    frame = manifest.sort_values("id", kind="stable").reset_index(drop=True)
    if config.modality is not None:
        frame = frame[frame["modality"] == config.modality].reset_index(drop=True)
    if config.limit is not None:
        frame = frame.head(config.limit)
    return frame


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


# -- writing ----------------------------------------------------------------------------------------

def _descriptor_metadata(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    from handcrafted.registry import REGISTRY

    return {n: {"modality": d.modality, "group": d.group, "unit": d.unit, "label": d.label,
                "undefined": d.undefined, "codec_sensitive": d.codec_sensitive}
            for n in names for d in [REGISTRY[n]]}


def _provenance(source: _Source, config: ExtractConfig, names: Mapping[str, tuple[str, ...]],
                signatures: Mapping[str, str]) -> dict[str, Any]:
    """The provenance of this run's rows (the checkpoint's; :func:`_final_provenance` adds the merge)."""
    from handcrafted.builtin import DESCRIPTOR_SET

    descriptors = _descriptor_metadata(n for m in names for n in names[m])
    return {
        "format": FORMAT_VERSION,
        "descriptor_set": DESCRIPTOR_SET.to_dict(),
        "manifest": dict(source.reference),
        "sample_rate": int(source.sample_rate),
        "config": {k: v for k, v in config.to_dict().items() if k not in {"progress"}},
        "descriptors_by_modality": {m: list(v) for m, v in names.items()},
        "descriptors": descriptors,
        "signatures": dict(signatures),
        "packages": package_versions(_PACKAGES),
    }


def _final_provenance(provenance: Mapping[str, Any], plan: _Plan, previous: Previous, signatures: Mapping[str, str],
                      missing: Mapping[str, Iterable[str]], row_signatures: Iterable[tuple[str, str, str]]
                      ) -> dict[str, Any]:
    """The provenance of the merged table: every column it holds, the signature of every modality it
    holds (current for the computed ones, as recorded for the carried ones), the rows of other code,
    and what is incomplete."""
    computed = [c for m in plan.columns if m in signatures for c in plan.columns[m]]
    descriptors = _descriptor_metadata(computed)
    for modality, columns in plan.columns.items():
        if modality not in signatures:
            descriptors.update({c: previous.descriptors[c] for c in columns if c in previous.descriptors})
    kept_signatures = {m: previous.signatures[m] for m in plan.columns
                       if m not in signatures and m in previous.signatures}
    row_signatures = list(row_signatures)
    for modality in plan.columns:  # a carried modality only a checkpoint held: its rows' usual signature
        if modality not in signatures and modality not in kept_signatures:
            found = Counter(sig for _, m, sig in row_signatures if m == modality)
            if found:
                kept_signatures[modality] = found.most_common(1)[0][0]
    table_signatures = {**kept_signatures, **signatures}
    others = row_signature_map(table_signatures, row_signatures)
    return {**provenance, "descriptors_by_modality": {m: list(c) for m, c in plan.columns.items()},
            "descriptors": descriptors, "signatures": table_signatures, "row_signatures": others,
            "incomplete": incomplete_map(missing)}
