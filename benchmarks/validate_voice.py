"""Validate the fast F0 / jitter / shimmer / HNR of ``handcrafted.pitch`` against Praat, and time the
whole audio descriptor set.

Accuracy: the 120 lossless RAVDESS clips (actors 01-02, 16 kHz FLAC) are analysed by
``handcrafted.pitch`` and by Praat through ``praat-parselmouth`` with the same pitch floor/ceiling
(75-600 Hz):

* F0: Praat ``To Pitch`` (ac, time step 0.01 s); per-clip mean F0 over voiced frames, and frame-wise
  on frames voiced in both (each Praat frame is matched to our frame nearest in time, <= 5 ms).
* jitter: ``To PointProcess (periodic, cc)`` 75 600, then ``Get jitter (local)`` 0 0 0.0001 0.02 1.3.
* shimmer: the same point process with the sound, ``Get shimmer (local)`` 0 0 0.0001 0.02 1.3 1.6.
* HNR: ``To Harmonicity (cc)`` 0.01 75 0.1 1.0, then ``Get mean`` 0 0.

Speed: per-core throughput (audio seconds per CPU second) of ``describe_audio`` on 50 real Ogg Opus
clips (25 RAVDESS, 25 TESS, spread over the corpora), decoded first with ``resonance.io.load_audio``
so that only descriptor computation is timed, with a breakdown per shared representation and per
extractor. Run it pinned to one core::

    taskset -c 0 .venv/bin/python benchmarks/validate_voice.py [--pyin] [--json results.json]

``--pyin`` also runs ``librosa.pyin`` (the accuracy reference the brief names, ~9x real time) on the
same clips for comparison. The numbers are written up in ``docs/voice_validation.md``.

Per emotion (``--per-emotion``): F0 and voicing against Praat's ``To Pitch (ac)`` with the settings
``track_f0`` emulates (``To Pitch (ac)`` 0.01 75 15 no 0.03 0.45 0.01 0.35 0.14 600, which is what
``To Pitch`` 0.01 75 600 runs), per corpus x emotion, on

* ``ravdess_flac``: all 120 lossless clips (actors 01-02; 8 neutral, 16 of every other emotion);
* ``ravdess`` (Ogg Opus, actors 03-24) and ``tess`` (Ogg Opus): ``--n-per-emotion`` clips (default
  20) per emotion, drawn with a fixed seed (``REPORT_SEED``) from the clips left after removing the
  development clips (``development_clips``: the ad-hoc samples the tracker was checked on while it
  was fixed), so that the reported clips were never looked at while the Praat rules were put in.
  ``--fresh-seed S`` draws a third Opus subset from the clips in neither set (used once, after the
  last change, because the report subset was looked at when the peak-height refinement was chosen).

Frames are compared on the same time grid: the signal given to ``track_f0`` is prefixed with the
zeros (< 1 hop) that put its frame centres on Praat's (Praat centres its frames in the clip), so that
frame ``j`` of both trackers analyses the same samples (to half a sample). The old protocol (nearest
frame, up to 5 ms apart) is reported alongside. ``--baseline REV`` (default: the commit before the
fix) runs ``track_f0`` as it was at git revision ``REV`` on the same clips in the same run, for a
before/after table and a speed ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy import stats

from handcrafted.audio import AudioContext, describe_audio
from handcrafted.pitch import (
    f0_statistics,
    glottal_pulses,
    harmonics_to_noise_db,
    jitter_local,
    pulse_amplitudes,
    shimmer_local,
    track_f0,
    voice_quality,
)
from handcrafted.registry import REGISTRY
from resonance.io.audio import load_audio
from resonance.paths import data_root

FMIN, FMAX = 75.0, 600.0
SR = 16_000


def praat_measures(y: np.ndarray, sr: int) -> dict:
    """Praat's F0 track and voice measures for one clip (the reference)."""
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(y.astype(np.float64), sr)
    pitch = call(sound, "To Pitch", 0.01, FMIN, FMAX)
    points = call(sound, "To PointProcess (periodic, cc)", FMIN, FMAX)
    harmonicity = call(sound, "To Harmonicity (cc)", 0.01, FMIN, 0.1, 1.0)
    return {
        "f0": pitch.selected_array["frequency"],
        "times": pitch.xs(),
        "jitter": call(points, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3),
        "shimmer": call([sound, points], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6),
        "hnr": call(harmonicity, "Get mean", 0, 0),
    }


def ours_measures(y: np.ndarray, sr: int, tracker=track_f0) -> dict:
    track = tracker(y, sr, fmin=FMIN, fmax=FMAX)
    times = glottal_pulses(y, track)
    point_times, amplitudes = pulse_amplitudes(y, sr, times)
    return {"track": track, "jitter": jitter_local(times), "shimmer": shimmer_local(point_times, amplitudes),
            "hnr": harmonics_to_noise_db(track)}


def _nan_safe_spearman(a, b) -> tuple[float, int]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    return float(stats.spearmanr(a[keep], b[keep]).statistic), int(keep.sum())


def validate_accuracy(root: Path, *, with_pyin: bool, tracker=track_f0) -> dict:
    files = sorted((root / "ravdess_flac").rglob("*.flac"))
    if len(files) != 120:
        raise SystemExit(f"expected 120 FLAC files under {root / 'ravdess_flac'}, found {len(files)}")
    rows = []
    frame_rel, frame_both, frame_agree, frame_total = [], 0, 0, 0
    pyin_rel, pyin_clip = [], []
    cpu = {"ours": 0.0, "praat": 0.0, "pyin": 0.0}
    audio_s = 0.0
    for path in files:
        y, _ = load_audio(path)
        audio_s += y.size / SR
        t = time.process_time()
        ours = ours_measures(y, SR, tracker)
        cpu["ours"] += time.process_time() - t
        t = time.process_time()
        ref = praat_measures(y, SR)
        cpu["praat"] += time.process_time() - t

        track = ours["track"]
        index = np.clip(np.round(ref["times"] * SR / track.hop_length).astype(int), 0, track.f0.size - 1)
        close = np.abs(index * track.hop_length / SR - ref["times"]) <= 0.005
        mine = np.where(close, track.f0[index], np.nan)
        praat_voiced = ref["f0"] > 0
        our_voiced = np.isfinite(mine)
        both = praat_voiced & our_voiced
        frame_rel.append(np.abs(mine[both] / ref["f0"][both] - 1.0))
        frame_both += int(both.sum())
        frame_agree += int(np.sum((praat_voiced == our_voiced) & close))
        frame_total += int(close.sum())
        praat_mean = float(ref["f0"][praat_voiced].mean()) if praat_voiced.any() else np.nan
        our_mean = float(np.nanmean(track.f0)) if track.voiced.any() else np.nan
        row = {"file": path.name, "f0_ours": our_mean, "f0_praat": praat_mean,
               "jitter_ours": ours["jitter"], "jitter_praat": ref["jitter"],
               "shimmer_ours": ours["shimmer"], "shimmer_praat": ref["shimmer"],
               "hnr_ours": ours["hnr"], "hnr_praat": ref["hnr"],
               "voiced_ours": float(track.voiced.mean()), "voiced_praat": float(praat_voiced.mean())}
        if with_pyin:
            import librosa

            t = time.process_time()
            f0_pyin, voiced_pyin, _ = librosa.pyin(y, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=1024,
                                                   hop_length=160)
            cpu["pyin"] += time.process_time() - t
            f0_pyin = np.where(voiced_pyin, f0_pyin, np.nan)
            pick = np.clip(index, 0, f0_pyin.size - 1)
            theirs = np.where(close, f0_pyin[pick], np.nan)
            both_p = praat_voiced & np.isfinite(theirs)
            pyin_rel.append(np.abs(theirs[both_p] / ref["f0"][both_p] - 1.0))
            row["f0_pyin"] = float(np.nanmean(f0_pyin)) if np.isfinite(f0_pyin).any() else np.nan
            pyin_clip.append(abs(row["f0_pyin"] / praat_mean - 1.0))
        rows.append(row)

    def col(name):
        return np.array([r[name] for r in rows], dtype=float)

    clip_rel = np.abs(col("f0_ours") / col("f0_praat") - 1.0)
    frames = np.concatenate(frame_rel)
    result = {
        "n_clips": len(rows), "audio_s": audio_s,
        "f0_clip_mean_rel_error_median": float(np.nanmedian(clip_rel)),
        "f0_clip_mean_rel_error_p90": float(np.nanpercentile(clip_rel, 90)),
        "f0_clip_mean_rel_error_max": float(np.nanmax(clip_rel)),
        "f0_frame_rel_error_median": float(np.median(frames)),
        "f0_frame_rel_error_p90": float(np.percentile(frames, 90)),
        "f0_frame_gross_error_rate_20pct": float(np.mean(frames > 0.2)),
        "f0_frames_voiced_in_both": frame_both,
        "voicing_agreement": frame_agree / frame_total,
        "voiced_fraction_spearman": _nan_safe_spearman(col("voiced_ours"), col("voiced_praat"))[0],
        "cpu_s": cpu,
    }
    for measure in ("f0", "jitter", "shimmer", "hnr"):
        rho, n = _nan_safe_spearman(col(f"{measure}_ours"), col(f"{measure}_praat"))
        a, b = col(f"{measure}_ours"), col(f"{measure}_praat")
        keep = np.isfinite(a) & np.isfinite(b)
        result[f"{measure}_spearman"] = rho
        result[f"{measure}_pearson"] = float(stats.pearsonr(a[keep], b[keep]).statistic)
        result[f"{measure}_n"] = n
        result[f"{measure}_median_ours"] = float(np.median(a[keep]))
        result[f"{measure}_median_praat"] = float(np.median(b[keep]))
    if with_pyin:
        pyin_frames = np.concatenate(pyin_rel)
        result["pyin_f0_clip_mean_rel_error_median"] = float(np.nanmedian(pyin_clip))
        result["pyin_f0_frame_rel_error_median"] = float(np.median(pyin_frames))
        result["pyin_f0_frame_gross_error_rate_20pct"] = float(np.mean(pyin_frames > 0.2))
    result["rows"] = rows
    return result


def time_descriptors(root: Path, n_per_corpus: int = 25) -> dict:
    """Per-core throughput of describe_audio on real Ogg clips, with a cost breakdown."""
    ravdess = sorted((root / "ravdess").rglob("*.ogg"))
    tess = sorted((root / "tess").rglob("*.ogg"))
    files = ravdess[:: max(1, len(ravdess) // n_per_corpus)][:n_per_corpus] + \
        tess[:: max(1, len(tess) // n_per_corpus)][:n_per_corpus]
    signals = [load_audio(path)[0] for path in files]
    audio_s = sum(y.size for y in signals) / SR
    describe_audio(signals[0], sr=SR)  # warm-up: imports, FFT plans, librosa caches

    t = time.process_time()
    for y in signals:
        describe_audio(y, sr=SR)
    total = time.process_time() - t

    # Breakdown: representations first (each paid once), then extractors on the warm context.
    representations = ("magnitude", "power", "mel_power", "log_mel", "onset_envelope", "chroma", "rms",
                       "frame_db", "active", "f0_track", "pulses")
    rep_cost = dict.fromkeys(representations, 0.0)
    ext_cost: dict[str, float] = {}
    for y in signals:
        ctx = AudioContext(y, SR)
        for name in representations:
            t = time.process_time()
            getattr(ctx, name)
            rep_cost[name] += time.process_time() - t
        for spec in REGISTRY.extractors("audio"):
            t = time.process_time()
            spec.function(ctx)
            key = f"{spec.group}/{spec.function.__name__}"
            ext_cost[key] = ext_cost.get(key, 0.0) + time.process_time() - t
    return {"n_clips": len(signals), "audio_s": audio_s, "cpu_s": total,
            "realtime_factor": audio_s / total, "ms_cpu_per_audio_s": 1000 * total / audio_s,
            "representations_ms_per_audio_s": {k: 1000 * v / audio_s for k, v in rep_cost.items()},
            "extractors_ms_per_audio_s": {k: 1000 * v / audio_s for k, v in ext_cost.items()}}


# --- Per-emotion F0 / voicing validation ------------------------------------------------------------

RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                    "06": "fearful", "07": "disgust", "08": "surprised"}
#: The commit before the soft-speech fix (issue 11, item 11): the default ``--baseline``.
BASELINE_REV = "d9dc277"
DEVELOPMENT_SEED = 0
REPORT_SEED = 20261202
PITCH_DESCRIPTORS = ("f0_mean_hz", "f0_std_semitones", "f0_range_semitones", "voiced_fraction",
                     "jitter_local_pct", "shimmer_local_pct", "hnr_db")


def emotion_of(corpus: str, path: Path) -> str:
    """Emotion label from a RAVDESS file name (``03-01-EE-...``) or a TESS folder (``OAF_angry``)."""
    if corpus in ("ravdess", "ravdess_flac"):
        return RAVDESS_EMOTIONS[path.stem.split("-")[2]]
    return path.parent.name.split("_", 1)[1].lower()


def opus_pools(root: Path) -> dict[tuple[str, str], list[Path]]:
    """(corpus, emotion) -> sorted Ogg clips: RAVDESS actors 03-24 (01-02 are the FLAC set), all TESS."""
    pools: dict[tuple[str, str], list[Path]] = {}
    for path in sorted((root / "ravdess").rglob("*.ogg")):
        if int(path.stem.split("-")[6]) > 2:
            pools.setdefault(("ravdess", emotion_of("ravdess", path)), []).append(path)
    for path in sorted((root / "tess").rglob("*.ogg")):
        pools.setdefault(("tess", emotion_of("tess", path)), []).append(path)
    return pools


def development_clips(pools: dict[tuple[str, str], list[Path]]) -> set[Path]:
    """The clips looked at while the tracker was fixed: two seeded samples of 5 and 10 per emotion."""
    seen: set[Path] = set()
    for n in (5, 10):
        rng = random.Random(DEVELOPMENT_SEED)
        for key in sorted(pools):
            seen.update(rng.sample(pools[key], n))
    return seen


def report_clips(root: Path, n_per_emotion: int, *, fresh_seed: int | None = None) -> list[tuple[str, str, Path]]:
    """(corpus, emotion, path) of the held-out report subset, see the module docstring.

    ``fresh_seed``: instead, a third Opus subset drawn with that seed from the clips in neither the
    development nor the report subset (the FLAC set is then left out: it has no clips to spare).
    """
    pools = opus_pools(root)
    excluded = development_clips(pools)
    chosen = [] if fresh_seed is not None else [
        ("ravdess_flac", emotion_of("ravdess_flac", path), path)
        for path in sorted((root / "ravdess_flac").rglob("*.flac"))]
    for (corpus, emotion), files in sorted(pools.items()):
        rest = [path for path in files if path not in excluded]
        pick = random.Random(f"{REPORT_SEED}:{corpus}:{emotion}").sample(rest, n_per_emotion)
        if fresh_seed is not None:
            rest = [path for path in rest if path not in set(pick)]
            pick = random.Random(f"{fresh_seed}:{corpus}:{emotion}").sample(rest, n_per_emotion)
        chosen.extend((corpus, emotion, path) for path in sorted(pick))
    return chosen


def load_baseline(rev: str) -> types.ModuleType:
    """``handcrafted/pitch.py`` as it was at git revision ``rev`` (its tracker only, not its registry)."""
    source = subprocess.run(["git", "show", f"{rev}:handcrafted/pitch.py"], check=True, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[1]).stdout
    source = source.split("# --- Registered descriptors")[0]
    module = types.ModuleType(f"pitch_{rev}")
    sys.modules[module.__name__] = module
    exec(compile(source, f"{rev}:handcrafted/pitch.py", "exec"), module.__dict__)
    return module


def praat_pitch(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame times (s) and F0 (Hz, 0 where unvoiced) of Praat's ``To Pitch (ac)`` with its defaults."""
    import parselmouth
    from parselmouth.praat import call

    sound = parselmouth.Sound(y.astype(np.float64), sr)
    pitch = call(sound, "To Pitch (ac)", 0.01, FMIN, 15, "no", 0.03, 0.45, 0.01, 0.35, 0.14, FMAX)
    return pitch.xs(), pitch.selected_array["frequency"]


def compare_with_praat(y: np.ndarray, sr: int, times: np.ndarray, praat_f0: np.ndarray, tracker,
                       *, aligned: bool = True) -> dict:
    """Frame-wise comparison of ``tracker`` (a ``track_f0``) with a Praat track on the same clip.

    ``aligned``: prefix ``y`` with the zeros that put the tracker's frame centres on Praat's frame times
    (the same samples are analysed); otherwise each Praat frame takes the nearest frame (<= 5 ms).
    """
    hop = int(round(0.01 * sr))
    pad = int(round(-times[0] * sr)) % hop if aligned else 0
    track = tracker(np.concatenate([np.zeros(pad), y]), sr, fmin=FMIN, fmax=FMAX, hop_length=hop)
    index = np.round((times * sr + pad) / hop).astype(int)
    close = (index < track.f0.size) & (np.abs(index * hop - pad - times * sr) <= 0.005 * sr)
    ours = np.full(times.size, np.nan)
    ours[close] = track.f0[index[close]]
    praat_voiced, our_voiced = praat_f0 > 0, np.isfinite(ours)
    both = praat_voiced & our_voiced & close
    return {"n_frames": int(close.sum()),
            "agree": int(np.sum((praat_voiced == our_voiced) & close)),
            "false_voiced": int(np.sum(our_voiced & ~praat_voiced & close)),
            "false_unvoiced": int(np.sum(~our_voiced & praat_voiced & close)),
            "frame_rel": np.abs(ours[both] / praat_f0[both] - 1.0),
            "mean_ours": float(np.nanmean(track.f0)) if track.voiced.any() else np.nan,
            "mean_praat": float(praat_f0[praat_voiced].mean()) if praat_voiced.any() else np.nan,
            "track": track, "pad": pad}


def pitch_descriptors(y: np.ndarray, sr: int, track) -> dict[str, float]:
    """The registered pitch-group descriptors of ``y`` computed on a given F0 track."""
    context = SimpleNamespace(y=y, sr=sr, f0_track=track, pulses=glottal_pulses(y, track))
    return {**f0_statistics(context), **voice_quality(context)}


def _cell_summary(rows: list[dict]) -> dict:
    frames = np.concatenate([row["frame_rel"] for row in rows])
    clip = np.array([abs(row["mean_ours"] / row["mean_praat"] - 1.0) for row in rows])
    n_frames = sum(row["n_frames"] for row in rows)
    return {"n_clips": len(rows),
            "f0_clip_mean_rel_error_median": float(np.nanmedian(clip)) if np.isfinite(clip).any() else None,
            "f0_frame_rel_error_median": float(np.median(frames)) if frames.size else None,
            "f0_frame_gross_error_rate_20pct": float(np.mean(frames > 0.2)) if frames.size else None,
            "voicing_agreement": sum(row["agree"] for row in rows) / n_frames,
            "false_voiced": sum(row["false_voiced"] for row in rows),
            "false_unvoiced": sum(row["false_unvoiced"] for row in rows),
            "n_frames": n_frames, "clips_undefined": int(np.sum(~np.isfinite(clip)))}


def validate_per_emotion(root: Path, *, n_per_emotion: int = 20, baseline_rev: str | None = BASELINE_REV,
                         repeats: int = 3, fresh_seed: int | None = None) -> dict:
    """Per corpus x emotion F0/voicing agreement with Praat, for the current tracker and the baseline."""
    clips = report_clips(root, n_per_emotion, fresh_seed=fresh_seed)
    versions = {"current": track_f0}
    if baseline_rev:
        versions["baseline"] = load_baseline(baseline_rev).track_f0
    rows: dict[str, dict[tuple[str, str], list[dict]]] = {name: {} for name in versions}
    nearest: dict[str, list[dict]] = {name: [] for name in versions}
    descriptors: dict[str, list[dict]] = {name: [] for name in versions}
    signals = []
    for corpus, emotion, path in clips:
        y, info = load_audio(path)
        sr = info.sample_rate
        signals.append((y, sr))
        times, praat_f0 = praat_pitch(y, sr)
        for name, tracker in versions.items():
            result = compare_with_praat(y, sr, times, praat_f0, tracker)
            rows[name].setdefault((corpus, emotion), []).append(result)
            nearest[name].append(compare_with_praat(y, sr, times, praat_f0, tracker, aligned=False))
            descriptors[name].append(pitch_descriptors(y, sr, tracker(y, sr, fmin=FMIN, fmax=FMAX)))

    # Speed: the trackers alone, on the same decoded clips, interleaved, best of `repeats` passes.
    audio_s = sum(y.size / sr for y, sr in signals)
    speed = {}
    for tracker in versions.values():
        tracker(signals[0][0], signals[0][1], fmin=FMIN, fmax=FMAX)  # warm-up
    best = dict.fromkeys(versions, np.inf)
    for _ in range(repeats):
        for name, tracker in versions.items():
            t = time.process_time()
            for y, sr in signals:
                tracker(y, sr, fmin=FMIN, fmax=FMAX)
            best[name] = min(best[name], time.process_time() - t)
    for name in versions:
        speed[name] = {"cpu_s": best[name], "realtime_factor": audio_s / best[name]}

    out: dict = {"n_clips": len(clips), "audio_s": audio_s, "speed_track_f0": speed,
                 "clips": [f"{corpus}/{path.name}" for corpus, _, path in clips]}
    for name in versions:
        cells = {f"{corpus}/{emotion}": _cell_summary(cell) for (corpus, emotion), cell in sorted(rows[name].items())}
        overall = _cell_summary([row for cell in rows[name].values() for row in cell])
        out[name] = {"cells": cells, "overall": overall, "overall_nearest_frame": _cell_summary(nearest[name])}
    if "baseline" in versions:
        shifts = {}
        for key in PITCH_DESCRIPTORS:
            new = np.array([row[key] for row in descriptors["current"]], dtype=float)
            old = np.array([row[key] for row in descriptors["baseline"]], dtype=float)
            keep = np.isfinite(new) & np.isfinite(old)
            shifts[key] = {"median_abs_change": float(np.median(np.abs(new[keep] - old[keep]))),
                           "max_abs_change": float(np.max(np.abs(new[keep] - old[keep]))),
                           "clips_changed": int(np.sum(np.abs(new[keep] - old[keep]) > 1e-9)),
                           "median_before": float(np.median(old[keep])),
                           "median_after": float(np.median(new[keep])),
                           "n": int(keep.sum()), "nan_before": int(np.sum(~np.isfinite(old))),
                           "nan_after": int(np.sum(~np.isfinite(new)))}
        out["descriptor_changes"] = shifts
    return out


def per_emotion_markdown(result: dict, name: str = "current") -> str:
    """The per-emotion table of ``validate_per_emotion`` as Markdown."""
    lines = ["| corpus | emotion | clips | F0 error, clip mean (median) | F0 error, frame (median) | "
             "voicing agreement | false voiced | false unvoiced |", "|---|---|---|---|---|---|---|---|"]
    cells = dict(result[name]["cells"])
    cells["all/all"] = result[name]["overall"]
    for key, cell in cells.items():
        corpus, emotion = key.split("/")

        def pct(value):
            return "—" if value is None else f"{100 * value:.3f} %"
        lines.append(f"| {corpus} | {emotion} | {cell['n_clips']} | {pct(cell['f0_clip_mean_rel_error_median'])} | "
                     f"{pct(cell['f0_frame_rel_error_median'])} | {100 * cell['voicing_agreement']:.2f} % | "
                     f"{cell['false_voiced']} | {cell['false_unvoiced']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyin", action="store_true", help="also run librosa.pyin for comparison")
    parser.add_argument("--json", type=Path, help="write all numbers (and per-clip rows) here")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true", help="skip the 120-clip FLAC comparison")
    parser.add_argument("--per-emotion", action="store_true", help="per corpus x emotion F0/voicing table")
    parser.add_argument("--n-per-emotion", type=int, default=20)
    parser.add_argument("--fresh-seed", type=int, default=None,
                        help="per-emotion table on a third subset (neither development nor report clips)")
    parser.add_argument("--baseline", default=BASELINE_REV,
                        help="git revision whose track_f0 is compared in the same run ('' for none)")
    args = parser.parse_args()
    root = data_root()
    out = {}
    if not args.skip_accuracy:
        out["accuracy"] = validate_accuracy(root, with_pyin=args.pyin)
        if args.baseline:
            baseline = validate_accuracy(root, with_pyin=False, tracker=load_baseline(args.baseline).track_f0)
            out["accuracy_baseline"] = {k: v for k, v in baseline.items() if k != "rows"}
    if args.per_emotion:
        out["per_emotion"] = validate_per_emotion(root, n_per_emotion=args.n_per_emotion,
                                                  baseline_rev=args.baseline or None, fresh_seed=args.fresh_seed)
    if not args.skip_speed:
        out["speed"] = time_descriptors(root)
    summary = {k: v for k, v in out.get("accuracy", {}).items() if k != "rows"}
    print(json.dumps({"accuracy": summary, "accuracy_baseline": out.get("accuracy_baseline"),
                      "speed": out.get("speed")}, indent=2))
    if args.per_emotion:
        per = out["per_emotion"]
        for name in ("baseline", "current"):
            if name in per:
                print(f"\n## {name}\n\n{per_emotion_markdown(per, name)}")
                print(f"nearest-frame protocol, all: {json.dumps(per[name]['overall_nearest_frame'])}")
        print(json.dumps({"speed_track_f0": per["speed_track_f0"],
                          "descriptor_changes": per.get("descriptor_changes")}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
