"""``resonance data prepare``: corpora in, one validated, unified, documented dataset out.

Pipeline: scan every source with its adapter -> optional per-corpus ``limit`` -> one item per recording
(duplicates recorded) -> render MIDI -> decode and validate every file (cached by path, size and
mtime, so a re-run decodes only what changed) -> splits -> identical files marked ->
``manifest.parquet``, ``rejected.csv``, ``datasheet.md``, ``dataset.json``, ``va_plane.png``.
Every write is atomic; the same sources, seed and limit give the same manifest, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from resonance.data.adapters import detect_adapter, get_adapter
from resonance.data.emotion import CATEGORIES
from resonance.data.records import Adapter, Item, Rejection, partition_records
from resonance.data.splits import SplitConfig, assign_splits
from resonance.errors import DecodeError
from resonance.io.atomic import atomic_path, sha256_bytes, sha256_file, write_text_atomic
from resonance.paths import cache_root

MANIFEST_VERSION = "1"
LOSSLESS_SUFFIXES = (".flac", ".wav", ".aif", ".aiff", ".png", ".tif", ".tiff", ".bmp")
_CACHE_FILE = ".cache/decoded.parquet"


@dataclass(frozen=True)
class SourceSpec:
    """One ``[CORPUS=]PATH`` argument."""

    path: Path
    corpus: str | None = None

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        corpus, sep, path = text.partition("=")
        if sep and corpus and "/" not in corpus:
            return cls(Path(path).expanduser(), corpus.strip().lower())
        return cls(Path(text).expanduser())


@dataclass(frozen=True)
class PrepareConfig:
    """Everything that determines a prepared dataset (recorded in ``dataset.json``)."""

    seed: int = 0
    limit: int | None = None
    holdout_corpus: str | None = None
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)


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
        return (f"{self.n_items:,} items ({per_corpus}); {self.n_rejected:,} rejected (see rejected.csv); "
                f"{self.n_decoded:,} files decoded, {self.n_reused:,} reused from cache -> {self.out}")


Progress = Callable[[Iterable, int, str], Iterable]


def _no_progress(iterable: Iterable, total: int, description: str) -> Iterable:
    return iterable


def prepare_dataset(sources: Sequence[str | SourceSpec], out: str | Path, config: PrepareConfig = PrepareConfig(),
                    progress: Progress = _no_progress) -> PrepareResult:
    """Build the dataset folder ``out`` from ``sources`` (see the module docstring)."""
    out = Path(out)
    specs = [s if isinstance(s, SourceSpec) else SourceSpec.parse(s) for s in sources]
    if not specs:
        raise ValueError("give at least one SOURCE folder")
    items, rejections, detections = _scan_sources(specs)
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
    manifest = _manifest_frame(kept, config)
    manifest.insert(manifest.columns.get_loc("flags") + 1, "same_stimulus_as", _shared_stimuli(manifest))
    rejected = _rejections_frame(rejections)
    _write_outputs(out, manifest, rejected, specs, detections, config)
    counts = manifest.groupby("corpus").size().to_dict()
    return PrepareResult(out, len(manifest), len(rejected), decoded, reused, counts, detections)


# -- scanning ---------------------------------------------------------------------------------------

def _scan_sources(specs: Sequence[SourceSpec]) -> tuple[list[Item], list[Rejection], list[tuple[str, str]]]:
    items: list[Item] = []
    rejections: list[Rejection] = []
    detections: list[tuple[str, str]] = []
    for spec in specs:
        if not spec.path.exists():  # a folder, or a CSV manifest for the generic adapter
            raise FileNotFoundError(f"source folder {spec.path} does not exist")
        adapter: Adapter = get_adapter(spec.corpus) if spec.corpus else detect_adapter(spec.path)
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
    """Facts about every item's media, from the cache where the file is unchanged."""
    media_paths = _render_midi(items, out, config, progress)
    cache = _load_cache(out / _CACHE_FILE)
    facts: dict[str, dict] = {}
    todo: list[tuple[str, str, str, str]] = []
    for item in items:
        path = media_paths[item.id]
        if isinstance(path, DecodeError):
            facts[item.id] = _failure(path)
            continue
        key = _stat_key(path)
        if key is not None and key in cache:
            facts[item.id] = dict(cache[key], media_path=str(path))
        else:
            todo.append((item.id, str(path), item.modality, key or ""))
    results = _run_parallel(_probe_media, [(p, m) for _, p, m, _ in todo], config.workers, progress,
                            "decoding")
    for (item_id, path, _modality, key), result in zip(todo, results, strict=True):
        facts[item_id] = dict(result, media_path=path)
        if key:  # a file's facts (failures included) stay valid while its size and mtime do
            cache[key] = result
    _save_cache(out / _CACHE_FILE, cache)
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
    """Decode one file fully (which validates it) and return its facts, or the reason it failed."""
    from resonance.io.audio import load_audio
    from resonance.io.image import load_image

    facts = {"reason": "", "detail": "", "sha256": "", "duration_s": np.nan, "sample_rate": np.nan,
             "channels": np.nan, "width": np.nan, "height": np.nan}
    try:
        if modality == "audio":
            y, info = load_audio(path, sr=None)
            facts.update(duration_s=info.duration_s, sample_rate=info.sample_rate, channels=info.channels)
        else:
            rgb, info = load_image(path)
            facts.update(width=info.width, height=info.height, channels=3)
        facts["sha256"] = sha256_file(path)
    except DecodeError as error:
        facts.update(reason=error.reason, detail=error.detail)
    return facts


def _failure(error: DecodeError) -> dict:
    return {"reason": error.reason, "detail": error.detail, "sha256": "", "media_path": ""}


def _run_parallel(function, arguments: list[tuple], workers: int, progress: Progress, description: str) -> list:
    if not arguments:
        return []
    if workers <= 1 or len(arguments) < 16:
        return [function(*args) for args in progress(arguments, len(arguments), description)]
    chunk = max(1, len(arguments) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        mapped = pool.map(function, *zip(*arguments, strict=True), chunksize=chunk)
        return list(progress(mapped, len(arguments), description))


def _stat_key(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _load_cache(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException):
        return {}  # a damaged cache only costs a re-decode
    return {row.pop("key"): row for row in frame.to_dict("records")}


def _save_cache(path: Path, cache: dict[str, dict]) -> None:
    frame = pd.DataFrame([dict(value, key=key) for key, value in sorted(cache.items())])
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


# -- outputs ----------------------------------------------------------------------------------------

def _manifest_frame(kept: list[tuple[Item, dict]], config: PrepareConfig) -> pd.DataFrame:
    rows = []
    for item, facts in kept:
        label = item.label
        row = {
            "id": item.id, "modality": item.modality, "corpus": item.corpus,
            "path": str(Path(facts["media_path"]).resolve()), "source_path": str(item.path.resolve()),
            "group": item.group, "official_split": item.official_split, "emotion": label.emotion,
            "valence": label.valence, "arousal": label.arousal, "dominance": label.dominance,
            "vad_source": label.vad_source, "synthetic": bool(label.synthetic or "synthetic" in item.flags),
        }
        row.update({f"p_{c}": float(label.distribution.get(c, 0.0)) for c in CATEGORIES})
        row.update({
            "gender": item.attributes.get("gender"),
            "original_labels": json.dumps(item.original_labels, sort_keys=True, default=str),
            "attributes": json.dumps(item.attributes, sort_keys=True, default=str),
            "flags": ";".join(item.flags),
            "duration_s": facts["duration_s"], "sample_rate": facts["sample_rate"],
            "channels": facts["channels"], "width": facts["width"], "height": facts["height"],
            "sha256": facts["sha256"],
        })
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise ValueError("no usable item was found in the sources (see rejected.csv)")
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


def _write_outputs(out: Path, manifest: pd.DataFrame, rejected: pd.DataFrame, specs: Sequence[SourceSpec],
                   detections: list[tuple[str, str]], config: PrepareConfig) -> None:
    from resonance.data.datasheet import render_datasheet, render_va_plane
    from resonance.provenance import package_versions

    out.mkdir(parents=True, exist_ok=True)
    provenance = {
        "manifest_version": MANIFEST_VERSION,
        "data_version": data_version(manifest),
        "config": {k: v for k, v in asdict(config).items() if k != "workers"},
        "sources": [{"path": str(s.path.resolve()), "corpus": corpus} for s, (_, corpus) in zip(specs, detections,
                                                                                                 strict=True)],
        "packages": package_versions(),
    }
    table = pa.Table.from_pandas(manifest, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"resonance": json.dumps(provenance, sort_keys=True).encode()})
    with atomic_path(out / "manifest.parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    with atomic_path(out / "rejected.csv") as tmp:
        rejected.to_csv(tmp, index=False)
    write_text_atomic(out / "dataset.json", json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    write_text_atomic(out / "datasheet.md", render_datasheet(manifest, rejected, provenance))
    render_va_plane(manifest, out / "va_plane.png")


def load_manifest(dataset: str | Path) -> pd.DataFrame:
    """Read ``manifest.parquet`` from a dataset folder (or the file itself)."""
    path = Path(dataset)
    if path.is_dir():
        path = path / "manifest.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `resonance data prepare` first")
    return pd.read_parquet(path)
