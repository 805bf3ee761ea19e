#!/usr/bin/env python
"""Per-extractor CPU cost of the handcrafted image descriptors, single thread, at 224 px.

Run from the repository root::

    python benchmarks/profile_image_descriptors.py                  # 50 images, 7 rounds
    python benchmarks/profile_image_descriptors.py --images 100 --rounds 11 --cpu 0
    python benchmarks/profile_image_descriptors.py --json costs.json

What is measured, on real D-ViSA images (``$RESONANCE_DATA/d-visa/data``, longest side 224 px),
decoded beforehand so that decoding is not counted:

* ``context.<name>``: each shared representation of :class:`handcrafted.image.ImageContext` (a
  cached property), forced in the order the class defines them, so a representation built from an
  earlier one (the HSV planes from the HSV image) is charged only its own work. Some (``lab``,
  ``hsv_planes``, the full-image ``hue``) serve callers only: the built-in extractors read the
  pixel sample (``context.sample``) instead, whose own representations are charged to the
  extractor that first needs them;
* ``<group>.<extractor>``: each registered extractor run on contexts whose representations are
  already cached, i.e. its own work only;
* ``END-TO-END describe_image``: the full set from the RGB array, as a user calls it, with the
  minor page faults per image it caused (each temporary above glibc's 128 KiB mmap threshold, e.g. a
  float64 array of a 224 x 113 spectrum, costs fresh pages on every image: keep them out of the hot
  path). The parts run each function over all images in turn (warm caches, reused memory) and also
  count representations the built-in extractors do not read (``lab``, ``hsv_planes``, ...), so their
  total is not the end-to-end cost.

To compare with another version of the code (the numbers in a report are "before" and "after" on
the same machine minutes apart), run this script with ``PYTHONPATH`` pointing at a checkout of that
version; the machine's speed drifts by 30% over an hour, so never compare runs far apart.

Every figure is CPU time of this thread (``time.thread_time``) per image, the *minimum* over
``--rounds`` rounds: the machine is shared, and contention only ever adds time, so the fastest round
is the best estimate of the cost itself. The process is pinned to one core (``--cpu``,
``os.sched_setaffinity``, like ``taskset -c``) and numpy/OpenMP/OpenCV are held to one thread
(``OMP_NUM_THREADS`` etc. set here before numpy is imported, and ``cv2.setNumThreads(1)``); the
library itself never changes these settings. The 1-minute load average before and after is
printed so that a reader can judge the contention.

Target: the full set at >= 200 images/s per core (< 5 ms CPU per image).
"""

from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")
for _var in THREAD_VARS:  # before numpy / OpenCV load their thread pools
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from functools import cached_property  # noqa: E402
from pathlib import Path  # noqa: E402

TARGET_MS = 5.0


from bench_descriptors import spread_evenly  # noqa: E402  (the benchmarks folder is on sys.path)


def _context_properties(cls: type) -> list[str]:
    """Names of the cached properties of ``cls``, in definition order."""
    return [name for name, value in vars(cls).items() if isinstance(value, cached_property)]


def profile(images: list, rounds: int) -> dict[str, float]:
    """Minimum over ``rounds`` of the CPU seconds per image of every representation and extractor,
    and of ``describe_image`` end to end.

    The end-to-end rounds run first, back to back, as an extraction loop runs: interleaving them
    with the part rounds (which keep every context of a round alive) would change the allocator's
    state, and with it how many fresh pages each image touches.
    """
    from handcrafted.image import ImageContext, describe_image
    from handcrafted.registry import REGISTRY

    representations = _context_properties(ImageContext)
    specs = REGISTRY.extractors("image")
    for image in images[:3]:  # warm caches (FFT plans, lookup tables, lazy imports)
        describe_image(image)
    best: dict[str, float] = {}
    n = len(images)

    def keep(key: str, seconds: float) -> None:
        best[key] = min(best.get(key, math.inf), seconds / n)

    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        start = time.thread_time()
        for image in images:
            describe_image(image)
        keep("END-TO-END describe_image", time.thread_time() - start)
    best["page faults per image"] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / (rounds * n)
    for _ in range(rounds):
        contexts = [ImageContext(image) for image in images]
        for name in representations:
            start = time.thread_time()
            for context in contexts:
                getattr(context, name)
            keep("context." + name, time.thread_time() - start)
        for spec in specs:
            start = time.thread_time()
            for context in contexts:
                spec.function(context)
            keep(f"{spec.group}.{spec.function.__name__}", time.thread_time() - start)
    return best


def _load_average() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=50, help="number of D-ViSA images (default 50)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; the minimum is kept (default 7)")
    parser.add_argument("--cpu", type=int, default=0, help="core to pin to (default 0; -1: no pinning)")
    parser.add_argument("--json", type=Path, help="also write the costs (ms/image) to this file")
    args = parser.parse_args(argv)

    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    import cv2

    cv2.setNumThreads(1)  # per-core measurement; the library never changes this
    from resonance.io.image import load_image
    from resonance.paths import data_root

    folder = data_root() / "d-visa" / "data"
    paths = spread_evenly(list(folder.glob("*.jpg")), args.images)
    if not paths:
        print(f"no D-ViSA images in {folder} (set RESONANCE_DATA)", file=sys.stderr)
        return 1
    images = [load_image(path)[0] for path in paths]
    sizes = {image.shape[:2] for image in images}
    load_before = _load_average()
    wall = time.perf_counter()
    best = profile(images, args.rounds)
    wall = time.perf_counter() - wall
    load_after = _load_average()

    print(f"{len(images)} D-ViSA images ({len(sizes)} distinct sizes, longest side "
          f"{max(max(s) for s in sizes)} px), best of {args.rounds} rounds, CPU time per image, "
          f"pinned to core {args.cpu}, 1 thread; load average {load_before:.2f} -> {load_after:.2f} "
          f"on {os.cpu_count()} CPUs; {wall:.0f} s wall")
    groups: dict[str, float] = {}
    faults = best.pop("page faults per image")
    for key, value in best.items():
        print(f"  {key:44s} {value * 1e3:7.3f} ms")
        if key.startswith("END"):
            print(f"  {'(minor page faults per image)':44s} {faults:7.0f}")
        group = key.split(".")[0]
        if not key.startswith("END"):
            groups[group] = groups.get(group, 0.0) + value
    parts = ", ".join(f"{group} {value * 1e3:.2f}" for group, value in groups.items())
    end_to_end = best["END-TO-END describe_image"]
    print(f"sum by group (ms): {parts}; parts total {sum(groups.values()) * 1e3:.2f}")
    verdict = "meets" if end_to_end * 1e3 < TARGET_MS else "MISSES"
    print(f"=> {end_to_end * 1e3:.2f} ms/image = {1 / end_to_end:.0f} images/s per core "
          f"({verdict} the target of {1e3 / TARGET_MS:.0f})")
    if args.json:
        args.json.write_text(json.dumps({"ms_per_image": {k: v * 1e3 for k, v in best.items()},
                                         "page_faults_per_image": faults,
                                         "images": len(images), "rounds": args.rounds,
                                         "load_average": [load_before, load_after]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
