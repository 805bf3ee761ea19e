"""Training and inference throughput of the dual encoder: the real loop against a bare loop on the same batches.

    python benchmarks/bench_train.py CONFIG [--set key=value ...] [--steps 40] [--warmup 5] [--json OUT]

* **real loop**: :func:`resonance.train.train` for ``--steps`` optimiser steps (one epoch at most, no
  validation set): the DataLoader over the dataset (inputs read from the content-hash cache, collated),
  forward, loss, backward, gradient clipping, AdamW, schedule, metric logging and the end-of-run checkpoint;
  its items/s are the loop's own ``TrainResult.items_per_second``.
* **bare forward+backward**: the same model (same seed), the same batches (the loop's balanced sampler, same
  seed, same order), collated and moved to the device *before* the clock starts; then only the loop's own
  :func:`resonance.train.loop.optimiser_step` (forward, loss, backward, clipping, AdamW). The ratio real / bare says what data loading, logging and
  checkpointing cost (issue 13's target: >= 0.75, i.e. the data pipeline is not the bottleneck).
* **inference**: ``model.encode`` of the same batches under ``no_grad`` in eval mode, items/s.
* **peak memory**: the process's peak RSS (``ru_maxrss``) on CPU; ``torch.cuda.max_memory_allocated`` on a GPU.

The first ``--warmup`` steps of the bare and inference loops are not timed (allocator and kernel warm-up);
the real loop is timed as a user would see it. Both loops run in this process, one after the other, so
they share the machine's state; on a shared machine repeat the run and compare ratios, not absolutes.
Query latency of the gallery index is :mod:`benchmarks.bench_index` (docs/index_benchmark.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _peak_memory(device) -> dict[str, float]:
    import torch

    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if device.type == "cuda":
        out["cuda_max_allocated_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import dataclasses

    import torch

    from resonance.models import DualEncoderLoss, create_model
    from resonance.train import train
    from resonance.train.config import load_config
    from resonance.train.data import build_datasets, collate, dataset_index, descriptor_matrix, move_batch
    from resonance.train.loop import _param_groups, optimiser_step, resolve_device, seed_everything
    from resonance.train.sampler import BalancedBatchSampler

    with tempfile.TemporaryDirectory() as run_dir:
        cfg = load_config(args.config, [*args.overrides, f"run_dir={run_dir!r}", "progress=false",
                                        "tensorboard=false", "checkpoint_every=100000", "patience=0"])
        train_set, _ = build_datasets(cfg)
        if hasattr(train_set, "warm"):
            train_set.warm()  # every input decoded into the cache now, so neither loop pays for decoding
        index = dataset_index(train_set)
        sampler = BalancedBatchSampler(index["modality"], index["p"].argmax(1), cfg.batch_size, seed=cfg.seed)
        steps = min(args.steps, sampler.num_batches)
        cfg = dataclasses.replace(cfg, epochs=1, max_steps=steps)
        device = resolve_device(cfg.device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)

        # the real loop
        real = train(cfg, train_set, None)
        real_memory = _peak_memory(device)

        # the bare loop: same seed, same batches, everything collated beforehand
        sampler.set_epoch(0)
        batches = [move_batch(collate([train_set[i] for i in ids]), device)
                   for _, ids in zip(range(steps), sampler, strict=False)]
        seed_everything(cfg.seed)
        model = create_model(cfg.model)
        model.fit_descriptor_stats({m: descriptor_matrix(train_set, m) for m in ("image", "audio")
                                    if getattr(cfg.model, m).kind in ("descriptor", "hybrid")})
        model.to(device).train()
        loss_fn = DualEncoderLoss(cfg.loss)
        optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
        use_amp = cfg.amp and device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

        def sync() -> None:
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        def bare_step(batch) -> int:
            optimiser_step(model, model, loss_fn, batch, optimizer, scaler, cfg.grad_clip, use_amp)
            return sum(part["p"].shape[0] for part in batch.values())

        warm = min(args.warmup, max(steps - 1, 0))
        for batch in batches[:warm]:
            bare_step(batch)
        sync()
        t0, items = time.perf_counter(), 0
        for batch in batches[warm:]:
            items += bare_step(batch)
        sync()
        bare_ips = items / (time.perf_counter() - t0)

        model.eval()
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            for batch in batches[:warm]:
                for m, part in batch.items():
                    model.encode(m, part)
            sync()
            t0, items = time.perf_counter(), 0
            for batch in batches[warm:]:
                for m, part in batch.items():
                    model.encode(m, part)
                    items += part["p"].shape[0]
            sync()
            infer_ips = items / (time.perf_counter() - t0)

    result = {
        "config": args.config, "overrides": args.overrides, "model": cfg.model.name,
        "towers": {"image": cfg.model.image.kind, "audio": cfg.model.audio.kind},
        "batch_size": cfg.batch_size, "steps": steps, "warmup_steps_untimed": warm,
        "device": str(device), "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                                               else _cpu_name()),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "real_loop_items_per_s": real.items_per_second, "bare_items_per_s": bare_ips,
        "real_over_bare": real.items_per_second / bare_ips, "inference_items_per_s": infer_ips,
        "peak_memory_after_real_loop": real_memory, "peak_memory": _peak_memory(device),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        from resonance.io.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
