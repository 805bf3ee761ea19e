#!/usr/bin/env python
"""Recall against latency of an IVF-PQ index with exact re-ranking, beside exact search, on the galleries of
``bench_index.py`` (random unit 128-d vectors, same seeds), for the 1M-item target of issue 13 (< 5 ms).

    python benchmarks/bench_index_ivf.py [--size 1000000] [--nlist 1024] [--pq 32] [--json OUT]

``faiss.IndexIVFPQ`` (inner product; ``nlist`` k-means cells trained on 100k gallery vectors; product
quantiser of ``--pq`` sub-vectors of 8 bits) inside ``faiss.IndexRefineFlat``, which re-scores the
``k_factor * 10`` best PQ candidates with the exact vectors. For each ``nprobe`` (cells visited) and
``k_factor``: recall@10 against ``faiss.IndexFlatIP`` on the same queries, and the median single-query
latency (one query per call, one search thread, as ``bench_index.py`` measures). Random vectors are the
hard case for any approximate index; the numbers bound what real embeddings need.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import faiss  # noqa: E402
from bench_index import DIM, K, unit_vectors  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--nlist", type=int, default=1024)
    parser.add_argument("--pq", type=int, default=32)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--k-factor", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    gallery = unit_vectors(args.size, seed=1)
    queries = unit_vectors(args.queries, seed=2)
    out: dict = {"size": args.size, "nlist": args.nlist, "pq": args.pq, "queries": args.queries,
                 "faiss": faiss.__version__, "load_average_1min_start": os.getloadavg()[0], "rows": []}
    exact = faiss.IndexFlatIP(DIM)
    exact.add(gallery)
    faiss.omp_set_num_threads(1)  # searches and build alike (see below)
    _, truth = exact.search(queries, K)
    t0, c0 = time.perf_counter(), time.process_time()
    for q in queries[:20]:
        exact.search(q[None], K)
    out["exact_single_query_ms"] = 1000 * (time.perf_counter() - t0) / 20
    out["exact_single_query_cpu_ms"] = 1000 * (time.process_time() - c0) / 20

    # one thread for the build too: on a shared machine OpenMP threads spin waiting for busy cores
    t0, c0 = time.perf_counter(), time.process_time()
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = faiss.IndexIVFPQ(quantizer, DIM, args.nlist, args.pq, 8, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(3).choice(args.size, min(args.size, 100_000), replace=False)
    ivf.train(gallery[np.sort(sample)])
    index = faiss.IndexRefineFlat(ivf)
    index.add(gallery)
    out["build_s"], out["build_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    out["codes_mib"] = args.size * args.pq / 2**20
    faiss.omp_set_num_threads(1)
    for nprobe in args.nprobe:
        ivf.nprobe = nprobe
        for k_factor in args.k_factor:
            params = faiss.IndexRefineSearchParameters(k_factor=k_factor,
                                                       base_index_params=faiss.SearchParametersIVF(nprobe=nprobe))
            _, found = index.search(queries, K, params=params)
            recall = float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)]))
            times = []
            c0 = time.process_time()
            for q in queries:
                t = time.perf_counter()
                index.search(q[None], K, params=params)
                times.append(1000 * (time.perf_counter() - t))
            row = {"nprobe": nprobe, "k_factor": k_factor, "recall_at_10": recall,
                   "single_query_ms_median": statistics.median(times),
                   "single_query_cpu_ms_mean": 1000 * (time.process_time() - c0) / len(queries)}
            out["rows"].append(row)
            print(json.dumps(row), flush=True)
    out["load_average_1min_end"] = os.getloadavg()[0]
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
