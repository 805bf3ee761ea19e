"""Throughput of the judge web app: N simulated raters answering concurrently over loopback against a real
`resonance judge serve` process, as a ratio of the listening-bound ideal measured in the same run.

Each simulated rater waits out every clip as a browser would, so no server can beat ``ideal``: the
answers the raters would give in the time if the server took no time at all (each rater's schedule
played back to back). The study folder is copied first (its database is left untouched)::

    python benchmarks/bench_judge_load.py STUDY --raters 50 --seconds 15
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import httpx

    from resonance.judge import RaterModel, load_study, open_store, rater_schedule
    from resonance.judge.simulate import simulate_http

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="a study folder written by `resonance judge design`")
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "study"
        shutil.copytree(args.study, folder)
        study = load_study(folder)
        store = open_store(folder)
        first = store.count("raters")
        tokens = store.add_raters(study, args.raters)
        store.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "resonance.cli.main", "judge", "serve", str(folder),
                                   "--port", str(port)], stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            started = time.perf_counter()
            acknowledged, stats = simulate_http(f"http://127.0.0.1:{port}", tokens, study, RaterModel(seed=1),
                                                seconds=args.seconds)
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
        ideal = 0
        for k in range(args.raters):
            durations = []
            for trial_id, _ in rater_schedule(study, first + k):
                trial = study["_by_id"][trial_id]
                trial = study["_by_id"][trial["of"]] if trial["kind"] == "repeat" else trial
                durations.append(study["media"][trial["sound"]]["duration_s"] + 0.02)
            ideal += int((np.cumsum(durations) <= args.seconds).sum())
    print(f"{args.raters} raters, {elapsed:.1f} s: {len(acknowledged)} answers acknowledged "
          f"({len(acknowledged) / elapsed:.1f}/s); listening-bound ideal {ideal} ({ideal / args.seconds:.1f}/s); "
          f"ratio {len(acknowledged) / ideal:.2f}; {stats}")


if __name__ == "__main__":
    main()
