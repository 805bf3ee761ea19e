"""Study design: which trials a rating study holds, in what order each rater sees them, and how many raters.

:func:`design_study` embeds one split of a prepared dataset with a checkpoint (through
:mod:`resonance.evaluate.embed`, as ``resonance evaluate`` does), scores every painting-sound pair by the
cosine of their embeddings and, beside it, by the descriptor-only baseline
(:mod:`resonance.evaluate.baselines`, fit on the train split), then picks:

* **rating trials** -- one painting and one sound, "how well do they match emotionally?" (1-7). Pairs are
  stratified over the model's score range (``n_bins`` quantile bins of all pairs' scores) crossed with the
  sound's emotion, drawn round-robin over those cells, preferring media used least so far;
* **2AFC trials** -- one sound and two paintings, "which fits better?": half where the model is confident
  (the largest score margins between the two paintings), half where it is not (the smallest margins);
* **attention checks** -- *catch* trials, shown exactly as 2AFC trials, whose answer the rule defines:
  the painting whose labelled (valence, arousal) is nearer the sound's, only where that distance differs
  by at least ``catch_gap``; and *repeats* of rating trials, shown again later;
* **the headphone check** (:mod:`resonance.judge.headphone`) -- always first.

Each rater's order is a permutation drawn from ``(seed, rater index)`` (:func:`rater_schedule`): the
headphone trials first, then the rating, 2AFC and catch trials shuffled, each repeat placed after its
original with at least ``min_repeat_lag`` trials between. Which painting of a 2AFC or catch trial is on the
left is balanced: within a rater half the trials show the model's (or the rule's) choice on the left, and
each trial shows it on the left for every other rater.

The number of raters is planned by simulation (:func:`plan_raters`, :mod:`resonance.judge.simulate`).

The study folder::

    S/study.json     the design: trials, media, scores, plan, seed, checkpoint, data version, versions
    S/media/         the study's media under opaque ids (copies or hard links; no client path is a file path)
    S/judge.sqlite   the answers (:mod:`resonance.judge.store`)
    S/links.txt      one link path per rater (their secret tokens; mode 0600)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from resonance.errors import DatasetError, ParameterError

__all__ = ["STUDY_FILE", "DesignConfig", "design_study", "load_study", "plan_raters", "rater_schedule",
           "select_trials"]

STUDY_FILE = "study.json"
STUDY_FORMAT = 1
MEDIA_DIR = "media"
#: What a browser plays or shows as is; other formats are decoded and written as WAV / PNG.
BROWSER_AUDIO = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
BROWSER_IMAGE = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                 ".gif": "image/gif"}


@dataclass(frozen=True)
class DesignConfig:
    """How many trials of each kind, the order constraints, the seed and the rater plan."""

    seed: int = 0
    split: str = "test"
    n_rating: int = 40
    n_2afc: int = 16
    n_catch: int = 4
    n_repeat: int = 4
    n_headphone: int = 6
    headphone_tone_s: float = 1.0
    n_bins: int = 4
    catch_gap: float = 0.25
    min_repeat_lag: int = 3
    raters: int | None = None  # None: the planned number
    plan_candidates: tuple[int, ...] = (5, 10, 15, 20, 25, 30, 40)
    plan_simulations: int = 60
    plan_reliability: float = 0.8
    expected_exclusion: float = 0.15
    sliders: bool = True  # the optional felt valence/arousal (SAM) sliders

    def __post_init__(self) -> None:
        for name in ("seed", "n_catch", "n_repeat", "n_2afc"):
            if int(getattr(self, name)) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("n_rating", "n_headphone", "n_bins"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_repeat > self.n_rating:
            raise ParameterError(f"n_repeat ({self.n_repeat}) cannot exceed n_rating ({self.n_rating})")
        if self.raters is not None and int(self.raters) < 1:
            raise ParameterError(f"--raters must be >= 1, got {self.raters}")
        if not 0 <= self.expected_exclusion < 1:
            raise ParameterError(f"expected_exclusion must be in [0, 1), got {self.expected_exclusion}")


# -- trial selection (numpy only) -------------------------------------------------------------------

def _least_used_pick(candidates: np.ndarray, usage: np.ndarray, rng: np.random.Generator) -> int:
    """An index into ``candidates`` (rows of media ids) whose media were used least, ties at random."""
    load = usage[candidates].sum(axis=1)
    best = np.flatnonzero(load == load.min())
    return int(best[rng.integers(best.size)])


def select_trials(scores: np.ndarray, image_va: np.ndarray, sound_va: np.ndarray, sound_emotion: Sequence[str],
                  config: DesignConfig) -> dict[str, list[dict[str, Any]]]:
    """Pick the rating, 2AFC, catch and repeat trials from the model's pair scores.

    Parameters
    ----------
    scores : (n_images, n_sounds) array
        The model's score of each painting-sound pair.
    image_va, sound_va : (n, 2) arrays
        Labelled valence and arousal, in [0, 1] (the catch rule reads them).
    sound_emotion : sequence of str
        The emotion label of each sound (the strata).

    Returns
    -------
    dict
        ``{"rating": [{"image", "sound", "stratum"}], "2afc": [{"sound", "images", "confidence"}],
        "catch": [{"sound", "images", "answer"}], "repeat": [{"of"}]}`` with row indices (the caller
        names them).
    """
    rng = np.random.default_rng([config.seed, 16])
    n_img, n_snd = scores.shape
    if n_img < 2 or n_snd < 1:
        raise DatasetError(f"the split has {n_img} paintings and {n_snd} sounds; a study needs at least two "
                           "paintings and one sound")
    if config.n_rating > n_img * n_snd:
        raise ParameterError(f"{config.n_rating} rating trials asked for, but the split has only {n_img * n_snd} "
                             "painting-sound pairs; lower --n-rating")
    emotions = np.asarray([str(e) for e in sound_emotion])
    flat = scores.ravel()
    edges = np.quantile(flat, np.linspace(0, 1, config.n_bins + 1)[1:-1])
    bins = np.searchsorted(edges, scores, side="right")  # (n_img, n_snd) in 0 .. n_bins-1
    cells = [(e, b) for e in sorted(set(emotions)) for b in range(config.n_bins)]
    pools = {c: [(i, j) for i in range(n_img) for j in np.flatnonzero(emotions == c[0]) if bins[i, j] == c[1]]
             for c in cells}
    pools = {c: p for c, p in pools.items() if p}
    usage = np.zeros(n_img + n_snd)
    rating: list[dict[str, Any]] = []
    order = [cells[k] for k in rng.permutation(len(cells)) if cells[k] in pools]
    while len(rating) < config.n_rating:
        progressed = False
        for cell in order:
            pool = pools[cell]
            if not pool or len(rating) >= config.n_rating:
                continue
            rows = np.array([[i, n_img + j] for i, j in pool])
            k = _least_used_pick(rows, usage, rng)
            i, j = pool.pop(k)
            usage[[i, n_img + j]] += 1
            rating.append({"image": int(i), "sound": int(j), "stratum": f"{cell[0]}/bin{cell[1] + 1}"})
            progressed = True
        if not progressed:
            break

    # 2AFC: per sound, every pair of paintings (at most 400, drawn), by the model's margin
    triples = []
    for j in range(n_snd):
        pairs = [(a, b) for a in range(n_img) for b in range(a + 1, n_img)]
        if len(pairs) > 400:
            pairs = [pairs[k] for k in rng.choice(len(pairs), 400, replace=False)]
        triples += [(j, a, b, abs(scores[a, j] - scores[b, j])) for a, b in pairs]
    triples_arr = np.array(triples, dtype=np.float64)
    afc: list[dict[str, Any]] = []
    used_triples: set[tuple[int, int, int]] = set()
    if config.n_2afc:
        margin_order = np.argsort(triples_arr[:, 3], kind="stable")
        n_conf = config.n_2afc // 2 + config.n_2afc % 2
        for label, ranked, n_want in (("confident", margin_order[::-1], n_conf),
                                      ("unsure", margin_order, config.n_2afc - n_conf)):
            pool = [int(r) for r in ranked[: max(n_want * 4, 8)]]  # that end of the margins
            per_sound: dict[int, int] = {}
            taken = 0
            while taken < n_want and pool:
                # the most extreme candidate among the sounds used least so far (spreads sounds, emotions)
                least = min(per_sound.get(int(triples_arr[r, 0]), 0) for r in pool)
                row = next(r for r in pool if per_sound.get(int(triples_arr[r, 0]), 0) == least)
                pool.remove(row)
                j, a, b = (int(x) for x in triples_arr[row, :3])
                if (j, a, b) in used_triples:
                    continue
                used_triples.add((j, a, b))
                per_sound[j] = per_sound.get(j, 0) + 1
                afc.append({"sound": j, "images": [a, b] if rng.random() < 0.5 else [b, a], "confidence": label})
                taken += 1
            if taken < n_want:
                raise ParameterError(f"only {taken} {label} 2AFC trials could be built, {n_want} asked for; "
                                     "lower --n-2afc")

    # catch: labelled VA distance differs by at least catch_gap; the largest gaps, one per sound first
    catch: list[dict[str, Any]] = []
    if config.n_catch:
        dist = np.linalg.norm(image_va[:, None, :] - sound_va[None, :, :], axis=2)  # (n_img, n_snd)
        gaps = [(float(abs(dist[a, j] - dist[b, j])), j, a, b) for (j, a, b, _m) in triples
                if (j, a, b) not in used_triples]
        gaps = [g for g in gaps if g[0] >= config.catch_gap]
        gaps.sort(key=lambda g: (-g[0], g[1], g[2], g[3]))
        per_sound: dict[int, int] = {}
        for rnd in range(config.n_catch):
            for gap, j, a, b in gaps:
                if len(catch) >= config.n_catch:
                    break
                if per_sound.get(j, 0) != rnd or any(c["sound"] == j and set(c["images"]) == {a, b} for c in catch):
                    continue
                per_sound[j] = rnd + 1
                near = 0 if dist[a, j] < dist[b, j] else 1
                catch.append({"sound": j, "images": [a, b], "answer": near, "gap": round(gap, 4)})
        if len(catch) < config.n_catch:
            raise DatasetError(f"only {len(catch)} catch trials have labelled valence-arousal distances that "
                               f"differ by >= {config.catch_gap}; lower --n-catch or the catch gap")
    picks = rng.choice(len(rating), size=min(config.n_repeat, len(rating)), replace=False)
    repeat = [{"of": int(k)} for k in sorted(picks.tolist())]
    return {"rating": rating, "2afc": afc, "catch": catch, "repeat": repeat}


def rater_schedule(study: dict[str, Any], index: int) -> list[tuple[str, int]]:
    """``[(trial id, flip)]`` in the order rater ``index`` (0-based) sees them; ``flip`` 1 swaps the two
    paintings of a 2AFC or catch trial. Deterministic from the study's seed and ``index``."""
    config = study["config"]
    rng = np.random.default_rng([int(config["seed"]), 1601, int(index)])
    trials = study["trials"]
    heads = [t["id"] for t in trials if t["kind"] == "headphone"]
    main = [t["id"] for t in trials if t["kind"] in ("rating", "2afc", "catch")]
    repeats = [t for t in trials if t["kind"] == "repeat"]
    order = [main[k] for k in rng.permutation(len(main))]
    lag = int(config.get("min_repeat_lag", 3))
    for rep in repeats:
        if order.index(rep["of"]) + lag + 1 > len(order):  # too late to repeat: move the original earlier
            order.remove(rep["of"])
            order.insert(int(rng.integers(0, max(len(order) // 2, 1))), rep["of"])
        start = order.index(rep["of"]) + lag + 1
        order.insert(int(rng.integers(start, len(order) + 1)), rep["id"])
    choice = [t["id"] for t in trials if t["kind"] in ("2afc", "catch")]
    flips = {tid: (k + index) % 2 for k, tid in enumerate(choice)}
    return [(tid, 0) for tid in heads] + [(tid, flips.get(tid, 0)) for tid in order]


# -- the rater plan ---------------------------------------------------------------------------------

def plan_raters(study: dict[str, Any], *, candidates: Sequence[int] = (5, 10, 15, 20, 25, 30, 40),
                n_simulations: int = 60, reliability: float = 0.8, expected_exclusion: float = 0.15,
                rater_model: Any = None, seed: int = 0) -> dict[str, Any]:
    """How many raters give item means of the rating trials with reliability >= ``reliability``.

    For each candidate count ``n``, ``n_simulations`` studies of ``n`` simulated raters
    (:class:`~resonance.judge.simulate.RaterModel`, default assumptions) rate the design's rating trials;
    the reliability of a simulation is the squared correlation between the ``n``-rater item means and the
    expected ratings (infinitely many raters). The plan is the smallest ``n`` whose median reliability
    reaches ``reliability``; ``recruit`` inflates it by the expected exclusion rate. The power of the
    model-human Spearman test (p < 0.05) under the same assumptions is reported beside it.
    """
    from scipy.stats import pearsonr, spearmanr

    from resonance.judge.simulate import RaterModel, expected_ratings, simulate_rating_matrix

    model = rater_model or RaterModel()
    expected = expected_ratings(study, model)
    rating_ids = list(expected)
    truth = np.array([expected[t] for t in rating_ids])
    scores = np.array([_trial(study, t)["model"] for t in rating_ids])
    rows = []
    rng = np.random.default_rng([seed, 1602])
    for n in sorted(set(int(c) for c in candidates)):
        rel, power = [], []
        for _ in range(int(n_simulations)):
            matrix = simulate_rating_matrix(study, model, n, rng)  # (n, n_items)
            means = matrix.mean(axis=0)
            r = pearsonr(means, truth).statistic if np.std(means) > 0 and np.std(truth) > 0 else 0.0
            rel.append(float(r) ** 2)
            rho = spearmanr(scores, means)
            power.append(bool(np.isfinite(rho.pvalue) and rho.pvalue < 0.05))
        rows.append({"raters": n, "median_reliability": round(float(np.median(rel)), 4),
                     "p10_reliability": round(float(np.quantile(rel, 0.1)), 4),
                     "spearman_power": round(float(np.mean(power)), 4)})
    enough = [r["raters"] for r in rows if r["median_reliability"] >= reliability]
    planned = enough[0] if enough else None
    return {"criterion": f"median reliability of the item means >= {reliability} over {n_simulations} simulations",
            "assumptions": asdict(model), "candidates": rows, "planned_raters": planned,
            "recruit": math.ceil(planned / (1 - expected_exclusion)) if planned else None,
            "expected_exclusion": expected_exclusion,
            "note": "" if planned else f"no candidate up to {max(candidates)} raters reaches {reliability}"}


# -- the study folder -------------------------------------------------------------------------------

def _trial(study: dict[str, Any], trial_id: str) -> dict[str, Any]:
    return study["_by_id"][trial_id] if "_by_id" in study else next(t for t in study["trials"] if t["id"] == trial_id)


def load_study(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The design of a study folder (``study.json``), with an id -> trial lookup under ``"_by_id"``."""
    path = Path(folder) / STUDY_FILE
    if not path.is_file():
        raise DatasetError(f"{folder} is not a study folder (no {STUDY_FILE}); make one with "
                           "`resonance judge design --checkpoint C --data D --out S`")
    try:
        study = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path} cannot be read ({error}); design the study again") from None
    if not isinstance(study, dict) or study.get("format") != STUDY_FORMAT:
        raise DatasetError(f"{path} is not a study file of format {STUDY_FORMAT}; design the study again")
    study["_by_id"] = {t["id"]: t for t in study["trials"]}
    study["_folder"] = str(Path(folder).resolve())
    return study


def _opaque(seed: int, key: str) -> str:
    return hashlib.sha256(f"resonance-judge:{seed}:{key}".encode()).hexdigest()[:20]


def _place_media(source: Path, modality: str, media_dir: Path, mid: str) -> tuple[str, float | None]:
    """Copy (or hard-link) ``source`` into the study as ``mid.ext``; formats a browser cannot read are
    decoded and written as WAV / PNG. Returns the file name and (sounds) the duration."""
    from resonance.io import load_audio, load_image, probe_audio
    from resonance.io.atomic import atomic_path

    suffix = source.suffix.lower()
    if modality == "audio":
        if suffix in BROWSER_AUDIO:
            duration = probe_audio(source).duration_s
            name = f"{mid}{suffix}"
        else:
            import soundfile as sf

            samples, info = load_audio(source, sr=None)
            duration, name = info.duration_s, f"{mid}.wav"
            with atomic_path(media_dir / name) as tmp:
                sf.write(tmp, samples, info.sample_rate, subtype="PCM_16", format="WAV")
            return name, float(duration)
    else:
        duration = None
        if suffix not in BROWSER_IMAGE:
            from PIL import Image

            pixels, _ = load_image(source)
            name = f"{mid}.png"
            with atomic_path(media_dir / name) as tmp:
                Image.fromarray(pixels).save(tmp, format="PNG")
            return name, None
        load_image(source)  # refuses a damaged file here, not in a rater's browser
        name = f"{mid}{suffix}"
    target = media_dir / name
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return name, (float(duration) if duration is not None else None)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return a @ b.T


@dataclass
class DesignResult:
    """What :func:`design_study` wrote."""

    folder: Path
    counts: dict[str, int]
    plan: dict[str, Any]
    raters: int
    links: Path
    baseline_note: str = ""
    failed: list = field(default_factory=list)

    def summary(self) -> str:
        parts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        plan = self.plan.get("planned_raters")
        planned = f"planned {plan} raters (recruit {self.plan.get('recruit')})" if plan else self.plan.get("note")
        base = f"; descriptor baseline: {self.baseline_note}" if self.baseline_note else ""
        return f"study {self.folder}: {parts}; {planned}; {self.raters} rater links in {self.links}{base}"


def design_study(checkpoint: str | os.PathLike[str], data: str | os.PathLike[str], out: str | os.PathLike[str],
                 config: DesignConfig = DesignConfig(), *, features: str | os.PathLike[str] | None = None,
                 device: str = "auto", batch_size: int = 32, progress: bool = True,
                 log: Callable[[str], None] | None = None) -> DesignResult:
    """Design a study from ``checkpoint`` on ``config.split`` of the prepared dataset ``data`` into ``out``.

    Refuses an ``out`` that already holds a study (answers would no longer match the design).
    ``study.json`` is written last, so a folder without it is an interrupted design and is redone.
    """
    from resonance.data.manifest import read_manifest
    from resonance.evaluate.baselines import descriptor_baseline
    from resonance.evaluate.embed import embed_dataset
    from resonance.evaluate.protocol import load_eval_set, train_config_of
    from resonance.io.atomic import sha256_file, write_text_atomic
    from resonance.judge.headphone import generate_headphone_trials, pass_threshold
    from resonance.judge.store import Store
    from resonance.provenance import package_versions
    from resonance.train.checkpoint import load_model

    say = log or (lambda _m: None)
    out = Path(out)
    if (out / STUDY_FILE).exists():
        raise ParameterError(f"{out} already holds a study; pass another --out (a new design would not match "
                             "the answers stored there)")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; pass a folder for the study")
    for stale in ("judge.sqlite", "judge.sqlite-wal", "judge.sqlite-shm", "links.txt"):
        (out / stale).unlink(missing_ok=True)  # left by an interrupted design: study.json is written last
    model, ckpt = load_model(checkpoint)
    frame = read_manifest(data)
    train_config = train_config_of(ckpt)
    test = load_eval_set(data, config.split, train_config, features=features, frame=frame)
    meta = test.meta.reset_index(drop=True)
    say(f"embedding {len(meta)} items of split {config.split!r}")
    emb = embed_dataset(model, test.dataset, batch_size=batch_size, device=device, progress=progress)
    emb = emb.reorder(meta["id"].tolist())
    img = np.flatnonzero(meta["modality"].to_numpy() == "image")
    snd = np.flatnonzero(meta["modality"].to_numpy() == "audio")
    scores = _cosine(emb.embeddings[img].astype(np.float64), emb.embeddings[snd].astype(np.float64))
    baseline, baseline_note = None, ""
    if test.descriptors:
        try:
            train = load_eval_set(data, "train", train_config, features=features, require_both=False,
                                  with_dataset=False, frame=frame)
            space = descriptor_baseline(train.meta, train.descriptors, meta, test.descriptors, seed=config.seed) \
                if train.descriptors else "no descriptors in the train split"
        except DatasetError as error:
            space = f"no train split to fit it on ({error})"
        if isinstance(space, str):
            baseline_note = space
        else:
            baseline = _cosine(space.points[img], space.points[snd])
    else:
        baseline_note = test.descriptor_note or "no descriptors"
    va = meta[["valence", "arousal"]].to_numpy(np.float64)
    picked = select_trials(scores, va[img], va[snd], meta["category"].to_numpy()[snd], config)

    out.mkdir(parents=True, exist_ok=True)
    media_dir = out / MEDIA_DIR
    media_dir.mkdir(exist_ok=True)
    media: dict[str, dict[str, Any]] = {}

    def media_id(row: int) -> str:
        item = meta.iloc[row]
        mid = _opaque(config.seed, str(item["id"]))
        if mid not in media:
            name, duration = _place_media(Path(item["path"]), item["modality"], media_dir, mid)
            media[mid] = {"modality": item["modality"], "file": name, "duration_s": duration,
                          "emotion": str(item["category"]), "valence": float(item["valence"]),
                          "arousal": float(item["arousal"]), "source": str(item["id"])}
        return mid

    def base(i: int, j: int) -> float | None:
        return None if baseline is None else round(float(baseline[i, j]), 6)

    trials: list[dict[str, Any]] = []
    heads = generate_headphone_trials(media_dir, config.n_headphone, seed=config.seed,
                                      tone_s=config.headphone_tone_s, gap_s=min(0.5, config.headphone_tone_s),
                                      names=[_opaque(config.seed, f"headphone:{k}") for k in range(config.n_headphone)])
    for k, h in enumerate(heads):
        mid = h.path.stem
        media[mid] = {"modality": "audio", "file": h.path.name, "duration_s": round(h.duration_s, 6),
                      "emotion": None, "valence": None, "arousal": None, "source": f"headphone:{k}"}
        trials.append({"id": f"H{k + 1:02d}", "kind": "headphone", "sound": mid, "answer": h.answer,
                       "order": list(h.order)})
    for k, t in enumerate(picked["rating"]):
        i, j = int(img[t["image"]]), int(snd[t["sound"]])
        trials.append({"id": f"R{k + 1:03d}", "kind": "rating", "image": media_id(i), "sound": media_id(j),
                       "emotion": str(meta["category"].iloc[j]), "image_emotion": str(meta["category"].iloc[i]),
                       "stratum": t["stratum"], "model": round(float(scores[t["image"], t["sound"]]), 6),
                       "baseline": base(t["image"], t["sound"])})
    for kind, prefix in (("2afc", "F"), ("catch", "C")):
        for k, t in enumerate(picked[kind]):
            j = int(snd[t["sound"]])
            a, b = t["images"]
            entry = {"id": f"{prefix}{k + 1:02d}", "kind": kind, "sound": media_id(j),
                     "images": [media_id(int(img[a])), media_id(int(img[b]))],
                     "emotion": str(meta["category"].iloc[j]),
                     "model": [round(float(scores[a, t["sound"]]), 6), round(float(scores[b, t["sound"]]), 6)],
                     "baseline": None if baseline is None else [base(a, t["sound"]), base(b, t["sound"])]}
            entry.update({"confidence": t["confidence"]} if kind == "2afc" else {"answer": t["answer"],
                                                                               "gap": t["gap"]})
            trials.append(entry)
    for k, t in enumerate(picked["repeat"]):
        trials.append({"id": f"P{k + 1:02d}", "kind": "repeat", "of": f"R{t['of'] + 1:03d}"})

    info = frame.attrs["manifest"]
    study: dict[str, Any] = {
        "format": STUDY_FORMAT, "config": {k: list(v) if isinstance(v, tuple) else v
                                           for k, v in asdict(config).items()},
        "checkpoint": {"path": str(Path(checkpoint).resolve()), "sha256": sha256_file(checkpoint),
                       "epoch": ckpt.get("epoch"), "step": ckpt.get("step"),
                       "data_version": ckpt.get("data_version")},
        "dataset": {"path": str(Path(data).resolve()), "split": config.split, "data_version": info.data_version},
        "scores": {"model": "cosine of the checkpoint's embeddings",
                   "baseline": "cosine in the descriptor-only baseline's space (resonance.evaluate.baselines)"
                   if baseline is not None else None, "baseline_note": baseline_note},
        "headphone": {"test": "Woods et al. (2017) antiphase", "n_trials": config.n_headphone,
                      "pass": pass_threshold(config.n_headphone), "tone_s": config.headphone_tone_s},
        "media": media, "trials": trials, "versions": package_versions(),
    }
    study["_by_id"] = {t["id"]: t for t in trials}
    say(f"planning the number of raters ({config.plan_simulations} simulations per candidate)")
    study["plan"] = plan_raters(study, candidates=config.plan_candidates, n_simulations=config.plan_simulations,
                                reliability=config.plan_reliability, expected_exclusion=config.expected_exclusion,
                                seed=config.seed)
    n_raters = int(config.raters or study["plan"]["recruit"] or max(config.plan_candidates))
    study["schedule"] = "resonance.judge.design.rater_schedule(study, rater index) from config.seed"
    store = Store.create(out / "judge.sqlite", study)
    try:
        tokens = store.add_raters(study, n_raters)
    finally:
        store.close()
    links = write_links(out, tokens)
    by_id = study.pop("_by_id")
    write_text_atomic(out / STUDY_FILE, json.dumps(study, indent=2, ensure_ascii=False) + "\n")  # last: complete
    study["_by_id"] = by_id
    counts = {k: sum(t["kind"] == k for t in trials) for k in ("rating", "2afc", "catch", "repeat", "headphone")}
    return DesignResult(out, counts, study["plan"], n_raters, links, baseline_note, list(emb.failed))


def write_links(folder: str | os.PathLike[str], tokens: Sequence[str], *, append: bool = False) -> Path:
    """``links.txt``: one ``/r/TOKEN`` path per rater (mode 0600: the tokens are the raters' keys)."""
    path = Path(folder) / "links.txt"
    old = path.read_text(encoding="utf-8") if append and path.is_file() else ""
    text = old + "".join(f"/r/{t}\n" for t in tokens)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
