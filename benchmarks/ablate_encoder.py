"""Ablations of the dual encoder on VALIDATION only: train one fold per variant, report validation metrics.

Every variant is a list of ``--set`` overrides on one base config; each trains on fold ``--fold``'s
train side (:func:`resonance.train.manifest_data.build_manifest_datasets`) and is scored on that fold's
validation side with the weights validation loss chose (the loop's :func:`~resonance.train.loop.validate`:
loss, image->sound P@1, congruence gap, modality gap, per-modality category UA). The test side is never
built. Results are appended to ``OUT/ablation.jsonl`` as each variant finishes, and a variant already
there is skipped (a re-run resumes)::

    python benchmarks/ablate_encoder.py configs/ravdess_dvisa_cpu_quick.toml --out /tmp/enc/ablate \\
        --fold 0 --variant base= --variant hard=loss.targets=hard,loss.intra_targets=hard
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--out", required=True)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--variant", action="append", required=True,
                        help="NAME=key=value,key=value (NAME= for the base config)")
    args = parser.parse_args()

    import torch

    from resonance.data.manifest import read_manifest
    from resonance.models import DualEncoderLoss
    from resonance.train.checkpoint import load_checkpoint
    from resonance.train.config import load_config
    from resonance.train.loop import resolve_device, train, validate
    from resonance.train.manifest_data import build_manifest_datasets

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "ablation.jsonl"
    done = set()
    if log_path.exists():
        done = {json.loads(line)["variant"] for line in log_path.read_text().splitlines() if line.strip()}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        if name in done:
            print(f"{name}: done already, skipped", flush=True)
            continue
        overrides = [o for o in rest.split(",") if o]
        cfg = load_config(args.config, [*overrides, f"run_dir={str(out / name)!r}", f"data.fold={args.fold}"])
        frame = read_manifest(cfg.data.dataset)
        cfg = dataclasses.replace(cfg, data_version=cfg.data_version or frame.attrs["manifest"].data_version or "")
        data = build_manifest_datasets(cfg, args.fold, frame=frame, with_test=False)
        started = time.perf_counter()
        result = train(cfg, data.train, data.val)
        seconds = time.perf_counter() - started
        model = result.model
        best = Path(cfg.run_dir) / "checkpoints" / "best.pt"
        if result.best_epoch is not None and best.is_file():
            model.load_state_dict(load_checkpoint(best)["model"])
        metrics = validate(model, DualEncoderLoss(cfg.loss), data.val, cfg, resolve_device(cfg.device))
        row = {"variant": name, "overrides": overrides, "fold": args.fold, "best_epoch": result.best_epoch,
               "epochs": cfg.epochs, "train_seconds": round(seconds, 1), "torch_threads": torch.get_num_threads(),
               **{k: round(float(v), 5) for k, v in metrics.items()}}
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
