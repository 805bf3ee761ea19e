"""``resonance data prepare``: corpora in, one validated, unified, documented dataset out.

Pipeline: scan every source with its adapter -> optional per-corpus ``limit`` -> one item per recording
(duplicates recorded) -> render MIDI -> decode and validate every file -> splits -> identical files
marked -> ``manifest.parquet``, ``rejected.csv``, ``datasheet.md``, ``dataset.json``, ``va_plane.png``.
The same sources, seed and limit give the same manifest, byte for byte, wherever OUT and the data are
(paths are stored relative to named roots, see :mod:`resonance.data.manifest`).

Decode cache: what a file's decoding found is kept in ``OUT/.cache/facts.parquet`` under the file's
*content* (its SHA-256, extension and modality) and the decoder's code signature, never under its
name, size or mtime. Every run re-hashes every file (cheap next to decoding), so a file changed in
place -- even with the same size and mtime -- is decoded again, and a file that could not be read
(permission denied, gone) is never cached: it cannot be hashed, so the next run tries it again.

One run at a time: the run holds ``OUT/.lock`` (``fcntl.flock``); a second run into the same OUT stops
at once with a :class:`~resonance.errors.LockedError`. The five outputs are written into a staging
folder inside OUT and moved into place together (:class:`~resonance.io.atomic.StagedOutputs`); a run
killed while moving them is completed by the next run, and temporaries a killed run left are removed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from resonance.data.adapters import detect_adapter, get_adapter
from resonance.data.emotion import CATEGORIES
from resonance.data.manifest import (
    DATASET_ROOT,
    MANIFEST_FILE,
    MANIFEST_VERSION,
    read_manifest,
    relative_to_root,
    source_root_names,
    validate_sample_rate,
    write_manifest,
)
from resonance.data.records import Adapter, Item, Rejection, partition_records
from resonance.data.splits import SplitConfig, assign_splits
from resonance.errors import DatasetError, DecodeError, InputNotFoundError, ParameterError
from resonance.io.atomic import (
    StagedOutputs,
    atomic_path,
    clean_stale_temporaries,
    output_lock,
    recover_staged_outputs,
    sha256_bytes,
    sha256_file,
)
from resonance.io.audio import PROJECT_SR
from resonance.paths import cache_root

__all__ = ["MANIFEST_VERSION", "PrepareConfig", "PrepareResult", "SourceSpec", "data_version", "load_manifest",
           "prepare_dataset"]

LOSSLESS_SUFFIXES = (".flac", ".wav", ".aif", ".aiff", ".png", ".tif", ".tiff", ".bmp")
_CACHE_FILE = ".cache/facts.parquet"
_OLD_CACHE_FILES = (".cache/decoded.parquet",)
#: Failure reasons that say nothing about a file's bytes: never cached, always tried again.
_TRANSIENT_REASONS = frozenset({"file_not_found", "permission_denied", "unreadable", "io_error", "worker_crashed",
                                "timeout", "interrupted"})
#: The output set, in the order its files are moved into place (the manifest last: readers open it first).
_OUTPUTS = ("rejected.csv", "datasheet.md", "va_plane.png", "dataset.json", MANIFEST_FILE)


@dataclass(frozen=True)
class SourceSpec:
    """One ``[CORPUS=]PATH`` or ``NAME=generic:PATH`` argument.

    ``corpus`` is the corpus name (an adapter name, or with ``adapter='generic'`` a name of the user's
    choosing, e.g. ``mycorpus=generic:/data/mine`` makes items ``mycorpus:<local_id>``); ``adapter`` is
    the adapter that reads it (None: the adapter named ``corpus``, or layout detection).
    """

    path: Path
    corpus: str | None = None
    adapter: str | None = None

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        corpus, sep, path = text.partition("=")
        if sep and corpus and "/" not in corpus:
            adapter, colon, rest = path.partition(":")
            if colon and adapter.strip().lower() == "generic":
                from resonance.data.adapters.generic import check_corpus_name

                return cls(Path(rest).expanduser(), check_corpus_name(corpus), "generic")
            return cls(Path(path).expanduser(), corpus.strip().lower())
        return cls(Path(text).expanduser())


@dataclass(frozen=True)
class PrepareConfig:
    """Everything that determines a prepared dataset (recorded in ``dataset.json``).

    Parameters
    ----------
    seed : int
        Seed of the split and of the ``limit`` sample (>= 0).
    limit : int or None
        At most this many items per corpus (>= 1), a seeded sample; None takes every item.
    holdout_corpus : str or None
        Send this whole corpus (case-insensitive) to the test split; it must be one of the sources.
    fractions : (float, float, float)
        Train, validation and test fractions (each in [0, 1], summing to 1).
    workers : int
        Decoding processes (>= 1); not recorded (it does not change the result).
    sample_rate : int
        The analysis sample rate the dataset is made for, in Hz (default the project's 16 kHz);
        recorded in the manifest, where ``extract`` reads it.

    Raises
    ------
    ParameterError
        On construction, for any invalid field.
    """

    seed: int = 0
    limit: int | None = None
    holdout_corpus: str | None = None
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    sample_rate: int = PROJECT_SR
    group_pattern: str | None = None
    label_map: str | None = None

    def __post_init__(self) -> None:
        def is_int(value: object) -> bool:
            return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

        if not is_int(self.seed) or self.seed < 0:
            raise ParameterError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.limit is not None and (not is_int(self.limit) or self.limit < 1):
            raise ParameterError(f"limit must be a positive integer (items per corpus) or None, got {self.limit!r}; "
                                 "drop --limit to take every item")
        if self.holdout_corpus is not None:
            if not isinstance(self.holdout_corpus, str) or not self.holdout_corpus.strip():
                raise ParameterError(f"holdout_corpus must be a corpus name or None, got {self.holdout_corpus!r}")
            object.__setattr__(self, "holdout_corpus", self.holdout_corpus.strip().lower())
        try:
            fractions = tuple(float(f) for f in self.fractions)
        except (TypeError, ValueError):
            fractions = ()
        if len(fractions) != 3 or not all(0.0 <= f <= 1.0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
            raise ParameterError(f"fractions must be three numbers in [0, 1] (train, val, test) summing to 1, "
                                 f"got {self.fractions!r}")
        object.__setattr__(self, "fractions", fractions)
        if not is_int(self.workers) or self.workers < 1:
            raise ParameterError(f"workers must be a positive integer, got {self.workers!r}")
        validate_sample_rate(self.sample_rate)
        from resonance.data.adapters._groups import compile_group_pattern

        compile_group_pattern(self.group_pattern)  # a ParameterError before any work
        if self.label_map is not None:
            object.__setattr__(self, "label_map", str(self.label_map))
            if not Path(self.label_map).is_file():
                raise ParameterError(f"label map {self.label_map} not found; give a CSV file with word,category "
                                     "or word,valence,arousal columns")

    def to_dict(self) -> dict:
        """The fields as JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> PrepareConfig:
        """The inverse of :meth:`to_dict`; unknown keys are a :class:`ParameterError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown PrepareConfig fields {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def checked(self) -> PrepareConfig:
        """This configuration, validated again through a :meth:`to_dict` / :meth:`from_dict` round trip."""
        again = PrepareConfig.from_dict(self.to_dict())
        if again != self:
            raise ParameterError(f"PrepareConfig does not survive a round trip: {self!r} != {again!r}")
        return again


@dataclass
class PrepareResult:
    """What ``prepare`` wrote and how much of it was new."""

    out: Path
    n_items: int
    n_rejected: int
    n_decoded: int
    n_reused: int
    counts: dict[str, int]
    detections: list[tuple[str, str]]

    def summary(self) -> str:
        per_corpus = ", ".join(f"{c} {n:,}" for c, n in sorted(self.counts.items()))
        see = " (see rejected.csv)" if self.n_rejected else ""
        return (f"{self.n_items:,} items ({per_corpus}); {self.n_rejected:,} rejected{see}; "
                f"{self.n_decoded:,} files decoded, {self.n_reused:,} reused from cache -> {self.out}")


Progress = Callable[[Iterable, int, str], Iterable]


def _no_progress(iterable: Iterable, total: int, description: str) -> Iterable:
    return iterable


def prepare_dataset(sources: Sequence[str | SourceSpec], out: str | Path, config: PrepareConfig = PrepareConfig(),
                    progress: Progress = _no_progress) -> PrepareResult:
    """Build the dataset folder ``out`` from ``sources`` (see the module docstring).

    Raises
    ------
    ParameterError
        An invalid configuration, no source, or ``out`` is a file -- before any work.
    InputNotFoundError
        A source does not exist (before any work).
    LockedError
        Another run is writing into ``out``; nothing was done.
    DatasetError
        No usable item was found (nothing is written).
    """
    out = Path(out)
    if not isinstance(config, PrepareConfig):
        raise ParameterError(f"config must be a PrepareConfig, got {type(config).__name__}")
    config = config.checked()
    if isinstance(sources, (str, SourceSpec)):
        sources = [sources]
    specs = [s if isinstance(s, SourceSpec) else SourceSpec.parse(s) for s in sources]
    if not specs:
        raise ParameterError("give at least one SOURCE folder")
    for spec in specs:
        if not spec.path.exists():
            raise InputNotFoundError(f"source folder {spec.path} does not exist; check the path")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; pass a folder for the dataset")
    with output_lock(out / ".lock", f"dataset folder {out}"):
        recover_staged_outputs(out)
        for folder in (out, out / ".cache", out / "rendered"):
            clean_stale_temporaries(folder)
        return _prepare_locked(specs, out, config, progress)


def _prepare_locked(specs: list[SourceSpec], out: Path, config: PrepareConfig, progress: Progress) -> PrepareResult:
    items, rejections, detections = _scan_sources(specs, config)
    if config.holdout_corpus is not None and config.holdout_corpus not in {i.corpus for i in items}:
        raise ParameterError(f"--holdout-corpus {config.holdout_corpus!r} matches no corpus of the sources; "
                             f"they hold {sorted({i.corpus for i in items})}")
    items = _apply_limit(items, config)
    items, duplicates = _one_item_per_recording(items)
    rejections += duplicates
    media, decoded, reused = _decode_all(items, out, config, progress)
    kept: list[tuple[Item, dict]] = []
    for item in items:
        facts = media[item.id]
        if facts["reason"]:
            rejections.append(Rejection(item.corpus, str(item.path), facts["reason"], facts["detail"]))
        else:
            kept.append((item, facts))
    if not kept:
        raise DatasetError(_nothing_usable(rejections, specs))
    roots = source_root_names([(corpus, spec.path) for spec, (_, corpus) in zip(specs, detections, strict=True)])
    manifest = _manifest_frame(kept, config, out, roots)
    manifest.insert(manifest.columns.get_loc("flags") + 1, "same_stimulus_as", _shared_stimuli(manifest))
    rejected = _rejections_frame(rejections)
    _write_outputs(out, manifest, rejected, specs, detections, config, roots)
    counts = manifest.groupby("corpus").size().to_dict()
    return PrepareResult(out, len(manifest), len(rejected), decoded, reused, counts, detections)


# -- scanning ---------------------------------------------------------------------------------------

def _scan_sources(specs: Sequence[SourceSpec], config: PrepareConfig | None = None
                  ) -> tuple[list[Item], list[Rejection], list[tuple[str, str]]]:
    items: list[Item] = []
    rejections: list[Rejection] = []
    detections: list[tuple[str, str]] = []
    options = {"group_pattern": config.group_pattern, "label_map": config.label_map} if config else {}
    for spec in specs:
        if not spec.path.exists():  # a folder, or a CSV manifest for the generic adapter
            raise InputNotFoundError(f"source folder {spec.path} does not exist")
        adapter: Adapter
        if spec.adapter:
            adapter = get_adapter(spec.adapter, {**options, "corpus": spec.corpus})
        elif spec.corpus:
            adapter = get_adapter(spec.corpus, options)
        else:
            adapter = detect_adapter(spec.path, options)
        detections.append((str(spec.path), adapter.name))
        found, rejected = partition_records(adapter.scan(spec.path))
        items += found
        rejections += rejected
    return items, rejections, detections


def _apply_limit(items: list[Item], config: PrepareConfig) -> list[Item]:
    """At most ``limit`` items per corpus, a seeded sample (the same seed picks the same items)."""
    if config.limit is None:
        return items
    by_corpus: dict[str, list[Item]] = {}
    for item in items:
        by_corpus.setdefault(item.corpus, []).append(item)
    chosen: list[Item] = []
    for corpus in sorted(by_corpus):
        ids = sorted({item.id for item in by_corpus[corpus]})
        if len(ids) > config.limit:
            rng = np.random.default_rng([config.seed, len(ids)])
            ids = sorted(rng.choice(ids, size=config.limit, replace=False).tolist())
        keep = set(ids)
        chosen += [item for item in by_corpus[corpus] if item.id in keep]
    return chosen


def _one_item_per_recording(items: list[Item]) -> tuple[list[Item], list[Rejection]]:
    """The same recording (same id) arriving twice, e.g. as Ogg and FLAC, is one item: the lossless
    copy is kept (then the first path in sort order); the other copies are recorded as duplicates."""
    by_id: dict[str, list[Item]] = {}
    for item in items:
        by_id.setdefault(item.id, []).append(item)
    kept: list[Item] = []
    rejections: list[Rejection] = []
    for item_id in sorted(by_id):
        copies = sorted(by_id[item_id], key=lambda i: (i.path.suffix.lower() not in LOSSLESS_SUFFIXES, str(i.path)))
        kept.append(copies[0])
        rejections += [Rejection(c.corpus, str(c.path), "duplicate_recording",
                                 f"same recording as {copies[0].path}") for c in copies[1:]]
    return kept, rejections


# -- decoding ---------------------------------------------------------------------------------------

def _decode_all(items: list[Item], out: Path, config: PrepareConfig, progress: Progress
                ) -> tuple[dict[str, dict], int, int]:
    """Facts about every item's media, from the cache where the file's bytes were decoded before.

    The cache key is the file's content (see the module docstring): every file is hashed on every
    run, and a file that cannot be read is decoded (and fails) again rather than looked up.
    """
    media_paths = _render_midi(items, out, config, progress)
    signature = _decoder_signature()
    cache = _load_cache(out / _CACHE_FILE, signature)
    facts: dict[str, dict] = {}
    todo: list[tuple[str, str, str, str]] = []
    for item in items:
        path = media_paths[item.id]
        if isinstance(path, DecodeError):
            facts[item.id] = _failure(path)
            continue
        digest = _content_hash(path)
        key = _cache_key(digest, path, item.modality, signature) if digest else ""
        if key and key in cache:
            facts[item.id] = dict(cache[key], sha256=digest, media_path=str(path))
        else:
            todo.append((item.id, str(path), item.modality, digest))
    results = _run_parallel(_probe_media, [(p, m) for _, p, m, _ in todo], config.workers, progress,
                            "decoding")
    for (item_id, path, modality, digest), result in zip(todo, results, strict=True):
        facts[item_id] = dict(result, media_path=path)
        # what the bytes decoded to is cached under those bytes: never a failure that says nothing
        # about them (unreadable, gone, a crashed worker), never bytes that changed while decoding
        if digest and result.get("reason", "") not in _TRANSIENT_REASONS and result.get("sha256") in ("", digest):
            cache[_cache_key(digest, Path(path), modality, signature)] = result
    _save_cache(out / _CACHE_FILE, cache)
    for old in _OLD_CACHE_FILES:
        (out / old).unlink(missing_ok=True)
    return facts, len(todo), len(items) - len(todo)


def _render_midi(items: list[Item], out: Path, config: PrepareConfig, progress: Progress
                 ) -> dict[str, Path | DecodeError]:
    """Media path per item. MIDI items are rendered once into the content-addressed cache
    (``$RESONANCE_CACHE/midi``, shared by every dataset) and linked into ``out/rendered`` so that the
    dataset folder stands on its own."""
    paths: dict[str, Path | DecodeError] = {item.id: item.path for item in items if item.kind != "midi"}
    midi = [item for item in items if item.kind == "midi"]
    if midi:
        from resonance.io.midi import render_many  # deferred: needs fluidsynth only when MIDI is given

        rendered = render_many([item.path for item in midi], cache_root() / "midi", workers=config.workers)
        for item, result in zip(midi, rendered, strict=True):
            paths[item.id] = result if isinstance(result, DecodeError) else _link_into(result, out / "rendered")
    return paths


def _link_into(cached: Path, folder: Path) -> Path:
    """A hard link (a copy across file systems) of a cached render inside the dataset folder."""
    target = folder / cached.name
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.unlink()
            try:
                os.link(cached, tmp)
            except OSError:
                shutil.copyfile(cached, tmp)
    return target


def _probe_media(path: str, modality: str) -> dict:
    """Decode one file fully (which validates it) and return its facts, or the reason it failed.

    One set of limits, :data:`resonance.io.limits.DEFAULT_LIMITS`, is applied here, the same that
    ``load_audio``/``load_image`` apply in ``extract``: what ``prepare`` keeps, ``extract`` can use.
    Audio is validated block by block at its *native* rate (``probe_audio``: nothing is resampled
    before the rate check, no sample is kept); media flags (``multi_frame``, ``phase_cancelled`` ...)
    go to the manifest's ``flags``."""
    from resonance.io.audio import probe_audio
    from resonance.io.image import load_image
    from resonance.io.limits import DEFAULT_LIMITS

    facts = {"reason": "", "detail": "", "sha256": "", "duration_s": np.nan, "sample_rate": np.nan,
             "channels": np.nan, "width": np.nan, "height": np.nan, "media_flags": ""}
    try:
        if modality == "audio":
            info = probe_audio(path, limits=DEFAULT_LIMITS)
            facts.update(duration_s=info.duration_s, sample_rate=info.sample_rate, channels=info.channels)
        else:
            _, info = load_image(path, limits=DEFAULT_LIMITS)
            facts.update(width=info.width, height=info.height, channels=3)
        facts["media_flags"] = ";".join(info.flags)
        facts["sha256"] = sha256_file(path)
    except DecodeError as error:
        facts.update(reason=error.reason, detail=error.detail)
    return facts


def _media_flags(facts: dict) -> list[str]:
    """The flags ``_probe_media`` found in the media itself (none for facts cached without them)."""
    flags = facts.get("media_flags")
    return [f for f in flags.split(";") if f] if isinstance(flags, str) else []


def _failure(error: DecodeError) -> dict:
    return {"reason": error.reason, "detail": error.detail, "sha256": "", "media_path": ""}


def _run_parallel(function, arguments: list[tuple], workers: int, progress: Progress, description: str) -> list:
    """``[function(*args) for args in arguments]``, in ``workers`` processes (:func:`resonance.parallel.map_chunks`).

    ``function`` is a decoder whose first argument is the file's path and which returns a facts dict.
    A worker process that dies (a decoder segfault) costs only the file that killed it: its chunk is
    retried alone, then file by file, and the file that kills its process again gets the facts of a
    ``worker_crashed`` failure (and so a line in ``rejected.csv``); the other files are decoded.
    """
    from resonance.parallel import map_chunks

    if not arguments:
        return []
    if workers <= 1 or len(arguments) < 16:
        return [function(*args) for args in progress(arguments, len(arguments), description)]
    size = max(1, len(arguments) // (workers * 8))
    chunks = [arguments[i:i + size] for i in range(0, len(arguments), size)]
    results: list[list | None] = [None] * len(chunks)

    def each_result() -> Iterable:
        for index, chunk_results in map_chunks(partial(_call_each, function), chunks, workers=workers,
                                               progress=False, on_crash=_crashed_files, merge=_concatenated):
            results[index] = chunk_results
            yield from chunk_results

    for _ in progress(each_result(), len(arguments), description):
        pass
    return [result for chunk_results in results for result in chunk_results]  # type: ignore[union-attr]


def _call_each(function, chunk: list[tuple]) -> list:
    return [function(*args) for args in chunk]


def _crashed_files(chunk: list[tuple], detail: str) -> list[dict]:
    return [_failure(DecodeError("worker_crashed", f"{args[0]}: {detail}")) for args in chunk]


def _concatenated(parts: list[list]) -> list:
    return [result for part in parts for result in part]


def _content_hash(path: Path) -> str:
    """The file's SHA-256, or "" when it cannot be read (then it is decoded, not looked up)."""
    try:
        return sha256_file(path)
    except OSError:
        return ""


def _cache_key(digest: str, path: Path, modality: str, signature: str) -> str:
    return f"{digest}|{path.suffix.lower()}|{modality}|{signature}"


def _decoder_signature() -> str:
    """Hash of what decides a file's facts: the decoding code and the decoding libraries' versions."""
    import resonance.io as io_package
    from resonance.provenance import package_versions

    digest = hashlib.sha256(b"prepare facts 2\n")
    for source in sorted(Path(io_package.__file__).resolve().parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    digest.update(inspect.getsource(_probe_media).encode())
    versions = package_versions(("numpy", "soundfile", "soxr", "pillow", "scipy", "pyav", "av"))
    digest.update(json.dumps(versions, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _load_cache(path: Path, signature: str) -> dict[str, dict]:
    """The cached facts of the current decoder (entries of an older decoder are dropped)."""
    if not path.is_file():
        return {}
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException):
        return {}  # a damaged cache only costs a re-decode
    if "key" not in frame:
        return {}
    frame = frame[frame["key"].astype(str).str.endswith(f"|{signature}")]
    return {row.pop("key"): row for row in frame.to_dict("records")}


def _save_cache(path: Path, cache: dict[str, dict]) -> None:
    frame = pd.DataFrame([dict(value, key=key) for key, value in sorted(cache.items())])
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


# -- outputs ----------------------------------------------------------------------------------------

def _manifest_frame(kept: list[tuple[Item, dict]], config: PrepareConfig, out: Path, roots: dict[str, str]
                    ) -> pd.DataFrame:
    """One row per kept item; ``path`` relative to the dataset folder (renders) or to its source root,
    ``source_path`` relative to its source root (see :mod:`resonance.data.manifest`)."""
    rows = []
    media_roots = {**roots, DATASET_ROOT: os.path.abspath(out)}
    for item, facts in kept:
        label = item.label
        root, path = relative_to_root(facts["media_path"], media_roots)
        source_root, source_path = relative_to_root(item.path, roots)
        row = {
            "id": item.id, "modality": item.modality, "corpus": item.corpus,
            "path": path, "root": root, "source_path": source_path, "source_root": source_root,
            "group": item.group, "official_split": item.official_split, "emotion": label.emotion,
            "valence": label.valence, "arousal": label.arousal, "dominance": label.dominance,
            "vad_source": label.vad_source, "synthetic": bool(label.synthetic or "synthetic" in item.flags),
        }
        row.update({f"p_{c}": float(label.distribution.get(c, 0.0)) for c in CATEGORIES})
        row.update({
            "gender": item.attributes.get("gender"),
            "original_labels": json.dumps(item.original_labels, sort_keys=True, default=str),
            "attributes": json.dumps(item.attributes, sort_keys=True, default=str),
            "flags": ";".join([*item.flags, *_media_flags(facts)]),
            "duration_s": facts["duration_s"], "sample_rate": facts["sample_rate"],
            "channels": facts["channels"], "width": facts["width"], "height": facts["height"],
            "sha256": facts["sha256"],
        })
        rows.append(row)
    frame = pd.DataFrame(rows)
    split_config = SplitConfig(config.fractions, config.seed, config.holdout_corpus)
    frame.insert(frame.columns.get_loc("official_split"), "split", assign_splits(frame, split_config))
    for column in ("sample_rate", "channels", "width", "height"):
        frame[column] = frame[column].astype("Int64")
    return frame.sort_values("id", kind="stable").reset_index(drop=True)


def _shared_stimuli(manifest: pd.DataFrame) -> pd.Series:
    """For each item, the ids of other items with identical bytes (";"-joined, else "").

    Identical bytes under two ids are one stimulus rated twice: D-ViSA and FeelingBlue share 138
    WikiArt images, and D-ViSA itself holds one image under two titles. Each item keeps its own
    ratings. (A file under two *class folders* is a layout error instead: the folder-per-class
    adapters reject it as ``conflicting_labels``.) Within a corpus, twins share their group and so
    their split when the group is the artist; across corpora each corpus's rules set the split, so a
    model trained on one corpus and tested on another must leave the twins out."""
    ids_by_hash = manifest.groupby("sha256")["id"].agg(list)
    return manifest.apply(lambda row: ";".join(i for i in ids_by_hash[row["sha256"]] if i != row["id"]), axis=1)


def _rejections_frame(rejections: list[Rejection]) -> pd.DataFrame:
    frame = pd.DataFrame([asdict(r) for r in rejections], columns=["corpus", "path", "reason", "detail"])
    return frame.sort_values(["corpus", "path", "reason"], kind="stable").reset_index(drop=True)


def data_version(manifest: pd.DataFrame) -> str:
    """A content hash of the dataset: every item id with the hash of its file and its split."""
    lines = "\n".join(manifest["id"] + "\t" + manifest["sha256"] + "\t" + manifest["split"])
    return sha256_bytes(lines.encode())[:16]


def _nothing_usable(rejections: list[Rejection], specs: Sequence[SourceSpec]) -> str:
    """The one-line error when no item survived: how many files were rejected, why, an example."""
    sources = ", ".join(str(s.path) for s in specs)
    if not rejections:
        return (f"no usable item was found in {sources}: no file there matches the layout; check the folder or "
                "name the corpus (CORPUS=PATH)")
    reasons: dict[str, int] = {}
    for r in rejections:
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    summary = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    first = rejections[0]
    return (f"no usable item was found in {sources}: {len(rejections)} files rejected ({summary}), e.g. "
            f"{first.path}: {first.reason}{f' ({first.detail})' if first.detail else ''}; nothing was written")


def _write_outputs(out: Path, manifest: pd.DataFrame, rejected: pd.DataFrame, specs: Sequence[SourceSpec],
                   detections: list[tuple[str, str]], config: PrepareConfig, roots: dict[str, str]) -> None:
    """Write the output set into a staging folder, then move it into place (see the module docstring)."""
    from resonance.data.datasheet import render_datasheet, render_va_plane
    from resonance.provenance import package_versions

    provenance = {
        "manifest_version": MANIFEST_VERSION,
        "data_version": data_version(manifest),
        "config": {k: v for k, v in config.to_dict().items() if k != "workers"},
        "sample_rate": int(config.sample_rate),
        "roots": roots,
        "sources": [{"path": os.path.abspath(s.path), "corpus": corpus} for s, (_, corpus) in zip(specs, detections,
                                                                                                   strict=True)],
        "packages": package_versions(),
    }
    with StagedOutputs(out) as staged:
        write_manifest(manifest, staged.path(MANIFEST_FILE), provenance)
        with atomic_path(staged.path("rejected.csv")) as tmp:
            rejected.to_csv(tmp, index=False)
        staged.path("dataset.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
        staged.path("datasheet.md").write_text(render_datasheet(manifest, rejected, provenance), encoding="utf-8")
        render_va_plane(manifest, staged.path("va_plane.png"))
        staged.commit(_OUTPUTS)


def load_manifest(dataset: str | Path, **options) -> pd.DataFrame:
    """Read a dataset's manifest with absolute paths: :func:`resonance.data.manifest.read_manifest`."""
    return read_manifest(dataset, **options)
