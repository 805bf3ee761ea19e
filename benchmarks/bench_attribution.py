"""Attribution throughput and memory (issue 14).

1. Throughput: Integrated Gradients of s(image, sound) over the descriptor inputs of image-sound pairs,
   32 Gauss-Legendre steps, train-mean baseline, as ``attribution.integrated_gradients`` runs it (with
   its per-example completeness error and the score / baseline-score passes), against plain Captum
   ``IntegratedGradients`` on the same model, inputs, baseline, steps and internal batch size, in the
   same run. Pairs per second, best of ``--repeats``; the ratio ours / Captum (target >= 0.9).
2. Memory: :func:`attribution.streamed_integrated_gradients` over 1,000 ... 10,000 pairs streamed in
   chunks, one subprocess per size, peak RSS (``ru_maxrss``) minus the RSS after the model is built and
   warmed up: flat means it does not grow with the number of pairs.

The model is the ``descriptor`` preset with random weights and standardisation fit on the random
descriptors (``--checkpoint`` uses a trained checkpoint's descriptor or hybrid towers instead; a hybrid
tower's deep features are then random and held fixed, as the report holds them). Run:

    nice -n 10 .venv/bin/python benchmarks/bench_attribution.py [--device cuda] [--checkpoint C]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch


def build(checkpoint: str | None, device: str, seed: int = 0):
    from attribution.ig import descriptor_tower

    if checkpoint:
        from resonance.train import load_model

        model, _ = load_model(checkpoint)
    else:
        from resonance.models import create_model

        torch.manual_seed(seed)
        model = create_model("descriptor").eval()
        rng = np.random.default_rng(seed)
        model.fit_descriptor_stats({m: rng.normal(size=(256, len(descriptor_tower(model, m).names)))
                                    for m in ("image", "audio")})
    return model.to(device).eval()


def make_parts(model, n: int, seed: int, device: str) -> dict[str, dict[str, torch.Tensor]]:
    """n random pairs in the input space of the descriptor towers (5 % undefined values)."""
    from attribution.encode import hold_deep_fixed, tower_kind
    from attribution.ig import descriptor_tower

    g = torch.Generator().manual_seed(seed)
    parts = {}
    for m in ("image", "audio"):
        tower = descriptor_tower(model, m)
        d = len(tower.names)
        x = tower.mean.cpu() + tower.std.cpu() * torch.randn(n, d, generator=g)
        x[torch.rand(n, d, generator=g) < 0.05] = float("nan")
        part = {"descriptors": x.to(device), "mask": torch.isfinite(x).to(device)}
        if tower_kind(model, m) == "hybrid":
            deep_dim = model.towers[m].deep.out_dim
            part = {**part, "deep_features": torch.randn(n, deep_dim, generator=g).to(device)}
        parts[m] = hold_deep_fixed(model, m, part)
    return parts


def plain_captum(model, parts, n_steps: int, internal_batch_size: int) -> float:
    """Plain Captum IntegratedGradients over the same inputs; returns seconds."""
    from captum.attr import IntegratedGradients

    from attribution.encode import encode
    from attribution.ig import descriptor_tower

    def forward(di, da, mi, ma, *deep):
        fi = {"descriptors": di, "mask": mi}
        fa = {"descriptors": da, "mask": ma}
        if deep:
            fi["deep_features"], fa["deep_features"] = deep
        return (encode(model, "image", fi) * encode(model, "audio", fa)).sum(-1)

    xs, bases = [], []
    for m in ("image", "audio"):
        d = parts[m]["descriptors"]
        mean = descriptor_tower(model, m).mean.to(d.dtype).expand_as(d)
        xs.append(torch.where(torch.isfinite(d), d, mean))
        bases.append(mean.clone())
    extra = [parts["image"]["mask"], parts["audio"]["mask"]]
    if "deep_features" in parts["image"]:
        extra += [parts["image"]["deep_features"], parts["audio"]["deep_features"]]
    ig = IntegratedGradients(forward)
    start = time.perf_counter()
    ig.attribute(tuple(xs), baselines=tuple(bases), additional_forward_args=tuple(extra), n_steps=n_steps,
                 method="gausslegendre", internal_batch_size=internal_batch_size, return_convergence_delta=True)
    sync()
    return time.perf_counter() - start


def ours(model, parts, n_steps: int, internal_batch_size: int) -> float:
    from attribution import alignment, integrated_gradients

    start = time.perf_counter()
    integrated_gradients(model, alignment(), parts, n_steps=n_steps, internal_batch_size=internal_batch_size)
    sync()
    return time.perf_counter() - start


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def throughput(args) -> dict:
    model = build(args.checkpoint, args.device)
    parts = make_parts(model, args.pairs, 0, args.device)
    ibs = args.internal_batch_size or args.pairs * args.steps
    ours(model, parts, args.steps, ibs)  # warm-up
    plain_captum(model, parts, args.steps, ibs)
    t_ours, t_plain = [], []
    for _ in range(args.repeats):  # interleaved, so load from other processes hits both alike
        t_plain.append(plain_captum(model, parts, args.steps, ibs))
        t_ours.append(ours(model, parts, args.steps, ibs))
    ps_ours, ps_plain = args.pairs / min(t_ours), args.pairs / min(t_plain)
    return {"pairs": args.pairs, "n_steps": args.steps, "internal_batch_size": ibs, "device": args.device,
            "ours_pairs_per_s": ps_ours, "captum_pairs_per_s": ps_plain, "ratio": ps_ours / ps_plain,
            "ours_s": t_ours, "captum_s": t_plain}


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(args) -> None:
    from attribution import alignment, streamed_integrated_gradients

    torch.set_num_threads(1)
    model = build(args.checkpoint, args.device)
    warm = make_parts(model, args.chunk, 1, args.device)
    from attribution import integrated_gradients

    integrated_gradients(model, alignment(), warm, n_steps=args.steps)
    before = rss_mb()

    def chunks():
        for k, start in enumerate(range(0, args.size, args.chunk)):
            yield make_parts(model, min(args.chunk, args.size - start), 100 + k, args.device)

    start = time.perf_counter()
    result = streamed_integrated_gradients(model, alignment(), chunks(), n_steps=args.steps)
    seconds = time.perf_counter() - start
    rel = result.relative_delta
    print(json.dumps({"pairs": result.n, "rss_before_mb": before, "peak_rss_mb": rss_mb(),
                      "growth_mb": rss_mb() - before, "seconds": seconds, "pairs_per_s": result.n / seconds,
                      "relative_delta_median": float(np.median(rel[np.isfinite(rel)]))}))


def memory(args) -> list[dict]:
    rows = []
    for size in args.sizes:
        cmd = [sys.executable, __file__, "--child-size", str(size), "--chunk", str(args.chunk), "--steps",
               str(args.steps), "--device", args.device] + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows.append(json.loads(out))
        print(f"  {size:6d} pairs: peak RSS {rows[-1]['peak_rss_mb']:.0f} MiB, growth after warm-up "
              f"{rows[-1]['growth_mb']:.1f} MiB, {rows[-1]['pairs_per_s']:.0f} pairs/s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--pairs", type=int, default=1000, help="pairs of the throughput run")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--internal-batch-size", type=int, default=0, help="0: all steps of all pairs at once")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child-size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="also write the numbers as JSON here")
    args = parser.parse_args()
    if args.child_size:
        args.size = args.child_size
        memory_child(args)
        return
    torch.set_num_threads(args.threads)
    print(f"device {args.device}, {args.threads} thread(s), torch {torch.__version__}", flush=True)
    t = throughput(args)
    print(f"throughput, {t['pairs']} pairs, IG {t['n_steps']} steps: ours {t['ours_pairs_per_s']:.0f} pairs/s, "
          f"plain Captum {t['captum_pairs_per_s']:.0f} pairs/s, ratio {t['ratio']:.3f} (target >= 0.9)", flush=True)
    print(f"memory, streamed in chunks of {args.chunk}:", flush=True)
    m = memory(args)
    growth = [r["growth_mb"] for r in m]
    print(f"peak RSS growth {min(growth):.1f} .. {max(growth):.1f} MiB from {m[0]['pairs']} to {m[-1]['pairs']} pairs")
    if args.out:
        from resonance.io import write_text_atomic
        from resonance.provenance import package_versions

        write_text_atomic(args.out, json.dumps({"throughput": t, "memory": m, "packages": package_versions()},
                                               indent=1))


if __name__ == "__main__":
    main()
