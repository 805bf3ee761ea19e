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
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from handcrafted.audio import AudioContext, describe_audio
from handcrafted.pitch import (
    glottal_pulses,
    harmonics_to_noise_db,
    jitter_local,
    pulse_amplitudes,
    shimmer_local,
    track_f0,
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


def ours_measures(y: np.ndarray, sr: int) -> dict:
    track = track_f0(y, sr, fmin=FMIN, fmax=FMAX)
    times = glottal_pulses(y, track)
    point_times, amplitudes = pulse_amplitudes(y, sr, times)
    return {"track": track, "jitter": jitter_local(times), "shimmer": shimmer_local(point_times, amplitudes),
            "hnr": harmonics_to_noise_db(track)}


def _nan_safe_spearman(a, b) -> tuple[float, int]:
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    return float(stats.spearmanr(a[keep], b[keep]).statistic), int(keep.sum())


def validate_accuracy(root: Path, *, with_pyin: bool) -> dict:
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
        ours = ours_measures(y, SR)
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
    describe_audio(signals[0], SR)  # warm-up: imports, FFT plans, librosa caches

    t = time.process_time()
    for y in signals:
        describe_audio(y, SR)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyin", action="store_true", help="also run librosa.pyin for comparison")
    parser.add_argument("--json", type=Path, help="write all numbers (and per-clip rows) here")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    root = data_root()
    out = {"accuracy": validate_accuracy(root, with_pyin=args.pyin)}
    if not args.skip_speed:
        out["speed"] = time_descriptors(root)
    summary = {k: v for k, v in out["accuracy"].items() if k != "rows"}
    print(json.dumps({"accuracy": summary, "speed": out.get("speed")}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
