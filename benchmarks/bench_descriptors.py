#!/usr/bin/env python
"""Throughput of the handcrafted descriptors, per core and on two cores, against two baselines.

Run from the repository root (``make bench``)::

    python benchmarks/bench_descriptors.py                 # ~2-3 minutes on 2 cores
    python benchmarks/bench_descriptors.py --images 50 --clips 20   # a quick look
    python benchmarks/bench_descriptors.py --full          # also time extract_features on all data

What is measured, on real data from ``$RESONANCE_DATA``:

* **images/s per core** on D-ViSA images (224 px longest side) for the full image descriptor set,
  and **audio-seconds per CPU-second** ("x realtime") on RAVDESS and TESS clips (16 kHz) for the full
  audio set. "Per core" runs in a child process pinned to one core (``os.sched_setaffinity``) with
  BLAS/OpenMP/numba/OpenCV held to one thread (the variables are set before numpy is imported), and
  the rate divides by the CPU time of that process, so other jobs sharing the machine do not count.
  ``describe`` excludes decoding (arrays decoded beforehand); ``decode+describe`` includes it.
* **2 cores**: a process pool of two single-threaded workers, decode+describe, items per *wall* second.
* Baseline (a) **naive per-feature calls**: each descriptor family calls librosa / scikit-image on
  its own from the raw input, recomputing the STFT, colour conversions and grey images every time,
  the way feature-extraction scripts are usually written.
* Baseline (b) **openSMILE eGeMAPSv02 functionals** (88 features; PyPI ``opensmile``) on the same clips.
* A **per-group cost**: each registered group computed alone (a fresh context, so a group pays for
  the representations it needs); the groups' sum minus the full set is what sharing saves.

Targets (the issue): audio >= 40x realtime per core; images >= 200 images/s per core at 224 px.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
TARGET_AUDIO_XRT = 40.0
TARGET_IMAGES_PER_S = 200.0
SR = 16_000


# -- choosing the data ------------------------------------------------------------------------------

def spread_evenly(paths: list[Path], n: int) -> list[Path]:
    """``n`` paths evenly spaced over the sorted list (so not all from one artist or actor)."""
    paths = sorted(paths)
    if n >= len(paths):
        return paths
    step = len(paths) / n
    return [paths[int(i * step)] for i in range(n)]


def choose_files(data: Path, n_images: int, n_clips: int) -> tuple[list[str], list[str]]:
    images = spread_evenly(list((data / "d-visa" / "data").glob("*.jpg")), n_images)
    ravdess = list((data / "ravdess").rglob("*.ogg"))
    tess = list((data / "tess").rglob("*.ogg"))
    clips = spread_evenly(ravdess, n_clips - n_clips // 2) + spread_evenly(tess, n_clips // 2)
    if not images or not clips:
        raise SystemExit(f"no D-ViSA images or RAVDESS/TESS clips under {data}; set RESONANCE_DATA")
    return [str(p) for p in images], [str(p) for p in clips]


# -- the naive baselines ----------------------------------------------------------------------------

def naive_image(rgb):  # noqa: ANN001, ANN201 -- runs in the child only
    """Every family from the raw RGB, each converting it again (scikit-image, the usual way)."""
    import numpy as np
    from scipy import ndimage
    from scipy.cluster.vq import kmeans2
    from skimage import color, feature, filters, measure, transform

    out = {}
    hsv = color.rgb2hsv(rgb)  # brightness / saturation
    out.update(v_mean=hsv[..., 2].mean(), v_std=hsv[..., 2].std(), s_mean=hsv[..., 1].mean(),
               s_std=hsv[..., 1].std())
    hsv = color.rgb2hsv(rgb)  # hue statistics
    angle = hsv[..., 0] * 2 * np.pi
    out["hue_r"] = np.hypot(np.cos(angle).mean(), np.sin(angle).mean())
    hsv = color.rgb2hsv(rgb)  # hue histogram
    out.update({f"hue_{i}": v for i, v in enumerate(np.histogram(hsv[..., 0], 12, (0, 1))[0] / hsv[..., 0].size)})
    f = rgb.astype(float)  # colourfulness (Hasler & Suesstrunk 2003)
    rg, yb = f[..., 0] - f[..., 1], 0.5 * (f[..., 0] + f[..., 1]) - f[..., 2]
    out["colourfulness"] = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    hsv = color.rgb2hsv(rgb)  # warm / cool
    out["warm"] = ((hsv[..., 0] < 0.25) | (hsv[..., 0] > 0.9)).mean()
    lab = color.rgb2lab(rgb)  # CIELab statistics
    out.update(l_mean=lab[..., 0].mean(), a_mean=lab[..., 1].mean(), b_mean=lab[..., 2].mean(),
               chroma=np.hypot(lab[..., 1], lab[..., 2]).mean())
    small = transform.resize(rgb, (48, 48), anti_aliasing=True)  # palette on a thumbnail
    centres, _ = kmeans2(color.rgb2lab(small).reshape(-1, 3), 5, seed=0, minit="++")
    out["palette_spread"] = centres.std()
    grey = color.rgb2gray(rgb)  # contrast
    out.update(rms_contrast=grey.std(), michelson=(grey.max() - grey.min()) / (grey.max() + grey.min() + 1e-9))
    for distance in (1, 2, 4):  # GLCM (Haralick 1973), one matrix per distance
        grey = color.rgb2gray(rgb)
        levels = (grey * 31).astype(np.uint8)
        glcm = feature.graycomatrix(levels, [distance], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=32,
                                    symmetric=True, normed=True)
        for prop in ("contrast", "dissimilarity", "homogeneity", "energy", "correlation"):
            out[f"glcm_{prop}_{distance}"] = feature.graycoprops(glcm, prop).mean()
    grey = (color.rgb2gray(rgb) * 255).astype(np.uint8)  # LBP (Ojala 2002)
    lbp = feature.local_binary_pattern(grey, 8, 1, "uniform")
    out.update({f"lbp_{i}": v for i, v in enumerate(np.bincount(lbp.astype(int).ravel(), minlength=10) / lbp.size)})
    out["edge_density"] = feature.canny(color.rgb2gray(rgb), sigma=1.0).mean()  # Canny
    grey = color.rgb2gray(rgb)  # Tamura coarseness: moving averages over 2^k windows, k = 0..5
    best = np.zeros(grey.shape)
    sizes = np.zeros(grey.shape)
    for k in range(6):
        mean = ndimage.uniform_filter(grey, size=2 ** k, mode="reflect")
        half = max(1, 2 ** (k - 1))
        diff = np.maximum(np.abs(np.roll(mean, half, 1) - np.roll(mean, -half, 1)),
                          np.abs(np.roll(mean, half, 0) - np.roll(mean, -half, 0)))
        sizes[diff > best] = 2 ** k
        best = np.maximum(best, diff)
    out["tamura_coarseness"] = sizes.mean()
    grey = color.rgb2gray(rgb)  # Tamura contrast: sigma / kurtosis^(1/4)
    centred = grey - grey.mean()
    out["tamura_contrast"] = grey.std() / max(((centred ** 4).mean() / grey.var() ** 2) ** 0.25, 1e-12)
    grey = color.rgb2gray(rgb)  # Tamura directionality: histogram of gradient angles
    gx, gy = filters.sobel_h(grey), filters.sobel_v(grey)
    angles = np.arctan2(gy, gx)[np.hypot(gx, gy) > 0.05] % np.pi
    out["tamura_directionality"] = np.histogram(angles, 16, (0, np.pi))[0].max() / max(angles.size, 1)
    grey = color.rgb2gray(rgb)  # Fourier spectrum: radial power and its log-log slope
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey * np.outer(np.hanning(grey.shape[0]),
                                                                 np.hanning(grey.shape[1]))))) ** 2
    yy, xx = np.indices(power.shape)
    radius = np.hypot(yy - power.shape[0] // 2, xx - power.shape[1] // 2) / max(power.shape)
    bands = np.geomspace(0.02, 0.25, 17)
    radial = [power[(radius >= lo) & (radius < hi)].mean() for lo, hi in zip(bands[:-1], bands[1:])]
    out["spectral_slope"] = np.polyfit(np.log10(np.sqrt(bands[:-1] * bands[1:])), np.log10(radial), 1)[0]
    out["spectral_high"] = power[radius > 0.25].sum() / power.sum()
    grey = color.rgb2gray(rgb)  # composition: entropy, symmetry, thirds, spectrum
    out["entropy"] = measure.shannon_entropy((grey * 255).astype(np.uint8))
    out["symmetry_lr"] = np.abs(grey - grey[:, ::-1]).mean()
    out["symmetry_ud"] = np.abs(grey - grey[::-1]).mean()
    saliency = np.abs(filters.sobel(color.rgb2gray(rgb)))
    h, w = saliency.shape
    ys, xs = np.mgrid[0:h, 0:w]
    total = saliency.sum() + 1e-12
    out["centroid_x"], out["centroid_y"] = (saliency * xs).sum() / total / w, (saliency * ys).sum() / total / h
    return {k: float(v) for k, v in out.items()}


def naive_audio(y, sr):  # noqa: ANN001, ANN201 -- runs in the child only
    """Every family from the raw waveform, each computing its own STFT (librosa, the usual way)."""
    import librosa
    import numpy as np

    out = {}
    frames = {
        "centroid": librosa.feature.spectral_centroid(y=y, sr=sr),
        "bandwidth": librosa.feature.spectral_bandwidth(y=y, sr=sr),
        "rolloff": librosa.feature.spectral_rolloff(y=y, sr=sr),
        "flatness": librosa.feature.spectral_flatness(y=y),
        "contrast": librosa.feature.spectral_contrast(y=y, sr=sr),
        "zcr": librosa.feature.zero_crossing_rate(y),
        "rms": librosa.feature.rms(y=y),
        "mfcc": librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13),
        "chroma": librosa.feature.chroma_stft(y=y, sr=sr),
        "onset": librosa.onset.onset_strength(y=y, sr=sr)[None],
    }
    for name, values in frames.items():
        for i, row in enumerate(values):
            out[f"{name}_{i}_mean"], out[f"{name}_{i}_std"] = row.mean(), row.std()
    out["tempo"] = float(np.atleast_1d(librosa.feature.tempo(y=y, sr=sr))[0])
    out["onset_rate"] = len(librosa.onset.onset_detect(y=y, sr=sr)) / (len(y) / sr)
    f0, voiced, _ = librosa.pyin(y, fmin=75.0, fmax=600.0, sr=sr)
    out["f0_mean"] = float(np.nanmean(f0)) if voiced.any() else float("nan")
    out["voiced_fraction"] = float(voiced.mean())
    return {k: float(v) for k, v in out.items()}


# -- the child processes ----------------------------------------------------------------------------

def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


REPEATS = 2


def _timed(function, inputs):  # noqa: ANN001, ANN202
    """CPU and wall seconds of ``function(x)`` over ``inputs``: the faster of :data:`REPEATS` passes.

    One warm-up call first (imports, numba compilation); the best pass drops the first pass's page
    faults and allocator growth, which ``process_time`` counts and which later passes do not pay.
    """
    function(inputs[0])
    best = (float("inf"), float("inf"))
    for _ in range(REPEATS):
        cpu, wall = time.process_time(), time.perf_counter()
        for x in inputs:
            function(x)
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best


def child_single(spec: dict) -> dict:
    """Everything measured on one pinned, single-threaded core."""
    import cv2
    import numpy as np

    from handcrafted.audio import describe_audio
    from handcrafted.image import describe_image
    from handcrafted.registry import AUDIO_GROUPS, IMAGE_GROUPS
    from resonance.io import load_audio, load_image

    cv2.setNumThreads(1)
    results: dict = {"cpu": sorted(os.sched_getaffinity(0)), "numpy": np.__version__}
    cpu0 = time.process_time()
    images = [load_image(p)[0] for p in spec["images"]]
    results["image_decode_cpu_s"] = time.process_time() - cpu0
    cpu0 = time.process_time()
    clips = [load_audio(p)[0] for p in spec["clips"]]
    results["audio_decode_cpu_s"] = time.process_time() - cpu0
    results["n_images"], results["n_clips"] = len(images), len(clips)
    results["image_px"] = float(np.mean([max(im.shape[:2]) for im in images]))
    audio_s = sum(len(y) for y in clips) / SR
    results["audio_s"] = audio_s
    results["n_image_descriptors"] = len(describe_image(images[0]))
    results["n_audio_descriptors"] = len(describe_audio(clips[0], sr=SR))

    cpu, wall = _timed(describe_image, images)
    results["ours_image"] = {"cpu_s": cpu, "wall_s": wall, "rate": _rate(len(images), cpu)}
    cpu, wall = _timed(lambda y: describe_audio(y, sr=SR), clips)
    results["ours_audio"] = {"cpu_s": cpu, "wall_s": wall, "rate": _rate(audio_s, cpu)}

    groups = {}
    for group in IMAGE_GROUPS:
        cpu, _ = _timed(lambda im, g=group: describe_image(im, groups=[g]), images)
        groups[f"image/{group}"] = {"ms_per_item": 1000 * cpu / len(images),
                                    "n": len(describe_image(images[0], groups=[group]))}
    for group in AUDIO_GROUPS:
        cpu, _ = _timed(lambda y, g=group: describe_audio(y, sr=SR, groups=[g]), clips)
        groups[f"audio/{group}"] = {"ms_per_item": 1000 * cpu / len(clips), "per_audio_s": cpu / audio_s,
                                    "n": len(describe_audio(clips[0], sr=SR, groups=[group]))}
    results["groups"] = groups
    results["extractors"] = _extractor_costs(images, clips)

    n_naive_images = min(len(images), spec["baseline_images"])
    cpu, wall = _timed(naive_image, images[:n_naive_images])
    results["naive_image"] = {"cpu_s": cpu, "wall_s": wall, "rate": _rate(n_naive_images, cpu),
                              "n": n_naive_images, "n_features": len(naive_image(images[0]))}
    n_naive_clips = min(len(clips), spec["baseline_clips"])
    naive_audio_s = sum(len(y) for y in clips[:n_naive_clips]) / SR
    cpu, wall = _timed(lambda y: naive_audio(y, SR), clips[:n_naive_clips])
    results["naive_audio"] = {"cpu_s": cpu, "wall_s": wall, "rate": _rate(naive_audio_s, cpu),
                              "n": n_naive_clips, "n_features": len(naive_audio(clips[0], SR))}
    try:
        import opensmile
    except ImportError:
        results["opensmile"] = None
    else:
        smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                feature_level=opensmile.FeatureLevel.Functionals)
        cpu, wall = _timed(lambda y: smile.process_signal(y, SR), clips)
        results["opensmile"] = {"cpu_s": cpu, "wall_s": wall, "rate": _rate(audio_s, cpu),
                                "n_features": int(smile.process_signal(clips[0], SR).shape[1]),
                                "version": opensmile.__version__}
    return results


def _extractor_costs(images: list, clips: list) -> dict:
    """Marginal CPU ms/item of every registered extractor inside one shared context, in registration
    order: an extractor that first touches a representation (the STFT, HSV) pays for it."""
    from handcrafted.audio import AudioContext
    from handcrafted.image import ImageContext
    from handcrafted.registry import REGISTRY

    costs: dict = {}
    for modality, items, make in (("image", images, ImageContext), ("audio", clips, lambda y: AudioContext(y, SR))):
        specs = REGISTRY.extractors(modality)
        totals = [0.0] * len(specs)
        for item in items:
            context = make(item)
            for i, spec in enumerate(specs):
                start = time.process_time()
                spec.function(context)
                totals[i] += time.process_time() - start
        for spec, total in zip(specs, totals, strict=True):
            key = f"{modality}/{spec.group}/{spec.function.__name__}"
            costs[key] = {"ms_per_item": 1000 * total / len(items), "n": len(spec.names)}
    return costs


def _pool_init() -> None:
    for var in THREAD_VARS:
        os.environ[var] = "1"


def _pool_item(job: tuple[str, str]) -> tuple[float, float]:
    """Decode and describe one item in a pool worker: (audio duration or 0, CPU seconds it took)."""
    modality, path = job
    from resonance.io import load_audio, load_image

    start = time.process_time()
    if modality == "image":
        from handcrafted.image import describe_image

        describe_image(load_image(path)[0])
        return 0.0, time.process_time() - start
    from handcrafted.audio import describe_audio

    y, _ = load_audio(path)
    describe_audio(y, sr=SR)
    return len(y) / SR, time.process_time() - start


def child_pool(spec: dict) -> dict:
    """Two single-threaded worker processes, decode+describe, items per wall second."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    results = {"workers": spec["workers"]}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(spec["workers"], mp_context=context, initializer=_pool_init) as pool:
        # warm every worker (imports, numba compilation) outside the timed part
        list(pool.map(_pool_item, [("image", spec["images"][0]), ("audio", spec["clips"][0])] * spec["workers"]))
        for modality, paths in (("image", spec["images"]), ("audio", spec["clips"])):
            wall = time.perf_counter()
            done = list(pool.map(_pool_item, [(modality, p) for p in paths], chunksize=4))
            wall = time.perf_counter() - wall
            audio_s, cpu = sum(d for d, _ in done), sum(c for _, c in done)
            amount = audio_s if modality == "audio" else len(paths)
            # cpu / (wall * workers): the share of the cores the pool actually got on a shared machine
            results[modality] = {"wall_s": wall, "cpu_s": cpu, "n": len(paths), "audio_s": audio_s,
                                 "rate": _rate(amount, wall), "rate_cpu": _rate(amount, cpu),
                                 "core_share": cpu / (wall * spec["workers"])}
    return results


def child_main(kind: str, spec_file: str) -> None:
    os.sched_setaffinity(0, set(json.loads(Path(spec_file).read_text())["cpus"]))
    spec = json.loads(Path(spec_file).read_text())
    results = child_single(spec) if kind == "single" else child_pool(spec)
    print(json.dumps(results))


def run_child(kind: str, spec: dict) -> dict:
    """Run a measurement in a fresh interpreter with one thread per runtime, pinned to ``cpus``."""
    import tempfile

    env = {**os.environ, **{var: "1" for var in THREAD_VARS}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", kind, handle.name], env=env,
                              capture_output=True, text=True, check=False)
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} measurement failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the full-data run ------------------------------------------------------------------------------

def full_run(data: Path, dataset: Path | None, out_dir: Path) -> str:
    """Time :func:`handcrafted.extract.extract_features` over every item (all local cores)."""
    import pandas as pd

    from handcrafted.extract import ExtractConfig, extract_features
    from resonance.io import sha256_file

    if dataset is None:  # a minimal manifest of every image and speech clip (EMOPIA needs `prepare`)
        rows = [{"id": f"img:{p.relative_to(data)}", "modality": "image", "path": str(p)}
                for folder in ("d-visa", "feelingblue") for p in sorted((data / folder).rglob("*.jpg"))]
        rows += [{"id": f"aud:{p.relative_to(data)}", "modality": "audio", "path": str(p)}
                 for folder in ("ravdess", "tess") for p in sorted((data / folder).rglob("*.ogg"))]
        frame = pd.DataFrame(rows)
        frame["sha256"] = [sha256_file(p) for p in frame["path"]]
        out_dir.mkdir(parents=True, exist_ok=True)
        dataset = out_dir / "manifest.parquet"
        frame.to_parquet(dataset, index=False)
    out = out_dir / "features.parquet"
    out.unlink(missing_ok=True)
    result = extract_features(dataset, out, ExtractConfig())
    return result.summary()


# -- report -----------------------------------------------------------------------------------------

def report(single: dict, pool: dict) -> str:
    lines = []
    img, aud = single["ours_image"], single["ours_audio"]
    n_img, audio_s = single["n_images"], single["audio_s"]
    decode_img = single["image_decode_cpu_s"]
    decode_aud = single["audio_decode_cpu_s"]
    lines.append(f"data: {n_img} D-ViSA images (mean longest side {single['image_px']:.0f} px), "
                 f"{single['n_clips']} RAVDESS/TESS clips ({audio_s:.1f} s of audio, 16 kHz); "
                 f"per-core runs pinned to CPU {single['cpu']}")
    lines.append("")
    lines.append("IMAGES (full set: %d descriptors)                    images/s   vs naive   target >= %.0f/s"
                 % (single["n_image_descriptors"], TARGET_IMAGES_PER_S))
    naive = single["naive_image"]
    rows = [
        ("resonance describe, 1 core", img["rate"]),
        ("resonance decode+describe, 1 core", _rate(n_img, img["cpu_s"] + decode_img)),
        (f"resonance decode+describe, {pool['workers']} cores (wall; got "
         f"{100 * pool['image']['core_share']:.0f}% of them)", pool["image"]["rate"]),
        (f"naive per-feature skimage ({naive['n_features']} feats), 1 core", naive["rate"]),
    ]
    for label, rate in rows:
        verdict = "" if "naive" in label else ("  PASS" if rate >= TARGET_IMAGES_PER_S else "  MISS")
        lines.append(f"  {label:<60}{rate:>9.1f} {rate / naive['rate']:>9.1f}x{verdict}")
    lines.append("")
    smile = single["opensmile"]
    lines.append("AUDIO (full set: %d descriptors)             x realtime  vs naive  vs openSMILE  target >= %.0fx"
                 % (single["n_audio_descriptors"], TARGET_AUDIO_XRT))
    naive = single["naive_audio"]
    rows = [
        ("resonance describe, 1 core", aud["rate"]),
        ("resonance decode+describe, 1 core", _rate(audio_s, aud["cpu_s"] + decode_aud)),
        (f"resonance decode+describe, {pool['workers']} cores (wall; got "
         f"{100 * pool['audio']['core_share']:.0f}% of them)", pool["audio"]["rate"]),
        (f"naive per-feature librosa+pyin ({naive['n_features']} feats), 1 core", naive["rate"]),
    ]
    if smile:
        rows.append((f"openSMILE {smile['version']} eGeMAPSv02 ({smile['n_features']} feats), 1 core",
                     smile["rate"]))
    for label, rate in rows:
        vs_smile = f"{rate / smile['rate']:>9.2f}x" if smile else "      n/a"
        verdict = "" if ("naive" in label or "openSMILE" in label) else \
            ("  PASS" if rate >= TARGET_AUDIO_XRT else "  MISS")
        lines.append(f"  {label:<60}{rate:>9.1f} {rate / naive['rate']:>8.1f}x {vs_smile}{verdict}")
    lines.append("")
    lines.append("PER-GROUP COST (each group alone, fresh context, 1 core)")
    lines.append(f"  {'group':<22}{'descriptors':>12}{'ms/item':>10}{'share of sum':>14}")
    for modality, full_ms in (("image", 1000 * img["cpu_s"] / n_img),
                              ("audio", 1000 * aud["cpu_s"] / single["n_clips"])):
        groups = {k: v for k, v in single["groups"].items() if k.startswith(modality)}
        total = sum(v["ms_per_item"] for v in groups.values())
        for name, value in groups.items():
            lines.append(f"  {name:<22}{value['n']:>12}{value['ms_per_item']:>10.2f}"
                         f"{100 * value['ms_per_item'] / total:>13.1f}%")
        lines.append(f"  {modality + ' groups summed':<34}{total:>10.2f}   full set in one context: "
                     f"{full_ms:.2f} ms/item (sharing saves {100 * (1 - full_ms / total):.0f}%)")
    lines.append("")
    lines.append("PER-EXTRACTOR COST inside one shared context (marginal; the first to need a representation "
                 "pays for it), 1 core")
    for modality in ("image", "audio"):
        costs = {k: v for k, v in single["extractors"].items() if k.startswith(modality)}
        total = sum(v["ms_per_item"] for v in costs.values())
        for name, value in sorted(costs.items(), key=lambda kv: -kv[1]["ms_per_item"]):
            lines.append(f"  {name:<48}{value['n']:>4}{value['ms_per_item']:>9.2f} ms{100 * value['ms_per_item'] / total:>7.1f}%")
    lines.append("")
    lines.append(f"decode alone, 1 core: {1000 * decode_img / n_img:.2f} ms/image, "
                 f"{audio_s / decode_aud:.0f}x realtime audio")
    lines.append(f"naive baselines on the first {single['naive_image']['n']} images / "
                 f"{single['naive_audio']['n']} clips; rates divide by CPU time of the pinned process, "
                 f"best of {REPEATS} passes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200, help="D-ViSA images (default 200)")
    parser.add_argument("--clips", type=int, default=60, help="RAVDESS + TESS clips (default 60)")
    parser.add_argument("--baseline-images", type=int, default=200, help="images for the naive baseline")
    parser.add_argument("--baseline-clips", type=int, default=60, help="clips for the naive baseline")
    parser.add_argument("--data", type=Path, default=None, help="data folder (default $RESONANCE_DATA)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw numbers here")
    parser.add_argument("--full", action="store_true", help="also time extract_features on all shared data")
    parser.add_argument("--dataset", type=Path, default=None, help="with --full: a prepared dataset folder")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_full"), help="with --full: output folder")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(*args.child)
        return

    from resonance.paths import data_root

    data = args.data or data_root()
    images, clips = choose_files(data, args.images, args.clips)
    cpus = sorted(os.sched_getaffinity(0))
    spec = {"images": images, "clips": clips, "baseline_images": args.baseline_images,
            "baseline_clips": args.baseline_clips}
    started = time.perf_counter()
    single = run_child("single", {**spec, "cpus": cpus[-1:]})
    pool = run_child("pool", {**spec, "cpus": cpus[:2], "workers": min(2, len(cpus))})
    print(report(single, pool))
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s; machine has {os.cpu_count()} CPUs, "
          "shared with other jobs: rates are CPU-time based per core, wall-time based on 2 cores)")
    if args.json:
        args.json.write_text(json.dumps({"single": single, "pool": pool}, indent=2))
    if args.full:
        started = time.perf_counter()
        print("\nFULL:", full_run(data, args.dataset, args.out))
        print(f"(full run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
