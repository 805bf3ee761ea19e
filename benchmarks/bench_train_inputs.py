"""Items/s of the training data pipeline (ManifestDataset.__getitem__), cold cache vs cached.

    python benchmarks/bench_train_inputs.py DATASET [--image-size 224] [--frozen]

Cold: a fresh cache folder, every file decoded and preprocessed (and, with --frozen, embedded by the
frozen EfficientNet-Lite0 in batches of 32); cached: a second pass over the same items, a new
dataset object reading the cache. Prints one line per pass and modality.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--n-mels", type=int, default=64)
    parser.add_argument("--frozen", action="store_true")
    parser.add_argument("--splits", default="train,val,test")
    args = parser.parse_args()
    import torch

    from resonance.train.config import load_config
    from resonance.train.manifest_data import ManifestDataset

    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}, "
          f"cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as cache:
        image = "efficientnet" if args.frozen else "small_cnn"
        config = load_config(None, ['data.kind="manifest"', f'data.dataset="{args.dataset}"',
                                    f'data.cache_dir="{cache}"', f"data.image_size={args.image_size}",
                                    f"data.n_mels={args.n_mels}", 'model.name="tiny"', f'model.image.kind="{image}"'])
        for label in ("cold", "cached"):
            ds = ManifestDataset(args.dataset, args.splits.split(","), config)
            t0 = time.perf_counter()
            if args.frozen:
                ds.warm()
            times: dict[str, list[float]] = {"image": [], "audio": []}
            for i in range(len(ds)):
                t = time.perf_counter()
                item = ds[i]
                times[item["modality"]].append(time.perf_counter() - t)
            total = time.perf_counter() - t0
            parts = ", ".join(f"{m} {len(v)} items {len(v) / max(sum(v), 1e-9):.1f}/s" for m, v in times.items() if v)
            print(f"{label}: {len(ds)} items in {total:.2f} s = {len(ds) / total:.1f} items/s ({parts}); "
                  f"cache hits {ds.cache.hits}, misses {ds.cache.misses}")


if __name__ == "__main__":
    main()
