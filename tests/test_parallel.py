"""resonance.parallel: crashed workers cost only their item, workers die with their parent, numba's cache
is written by one process and a damaged one is rebuilt (issue 11 items 1, 4, 20)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from resonance.errors import ParameterError
from resonance.parallel import WorkerCrashedError, map_chunks, warm_numba_cache

# Workers import this module to find the functions below, so its top-level imports stay light:
# pandas, PIL and the library's stages are imported inside the tests.
ROOT = Path(__file__).resolve().parents[1]


# -- functions the workers run (module level: a worker imports them from this module) ----------------

def _double_or_die(chunk: list[int]) -> list[int]:
    """Doubles each number; the worker process kills itself (SIGKILL) on 13."""
    out = []
    for x in chunk:
        if x == 13:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.02)
        out.append(2 * x)
    return out


def _flatten(parts: list[list]) -> list:
    return [x for part in parts for x in part]


def _marked(chunk: list[int], detail: str) -> list:
    return [("crashed", x, detail) for x in chunk]


def _extract_or_die(items, **kwargs):
    """Stands in for ``handcrafted.extract._extract_chunk`` (monkeypatched in the parent only, so in
    the worker the module attribute is still the real one)."""
    from handcrafted.extract import _extract_chunk

    if any("die" in item_id for item_id, _, _, _ in items):
        os.kill(os.getpid(), signal.SIGKILL)
    return _extract_chunk(items, **kwargs)


def _probe_or_die(path: str, modality: str) -> dict:
    from resonance.data.prepare import _probe_media

    if "die" in Path(path).name:
        os.kill(os.getpid(), signal.SIGKILL)
    return _probe_media(path, modality)


class _CountingBar:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n


# -- map_chunks ---------------------------------------------------------------------------------------

def test_parallel_and_serial_give_the_same_results_and_count_every_item():
    chunks = [list(range(i, i + 3)) for i in range(0, 30, 3)]
    serial = dict(map_chunks(_flatten, [[c] for c in chunks], workers=1, progress=False))
    bar = _CountingBar()
    parallel = dict(map_chunks(_double_or_die, [[x for x in c if x != 13] for c in chunks], workers=2, progress=bar))
    assert sorted(serial) == sorted(parallel) == list(range(10))
    assert parallel[0] == [0, 2, 4] and parallel[4] == [24, 28]
    assert bar.n == 29  # items, not chunks
    with pytest.raises(ParameterError, match="workers"):
        list(map_chunks(_flatten, chunks, workers=0))
    with pytest.raises(ParameterError, match="module:function"):
        list(map_chunks(_flatten, chunks, workers=2, warmup="no colon", numba_cache="x"))


def test_a_worker_killed_on_one_item_costs_only_that_item():
    chunks = [list(range(i, i + 4)) for i in range(0, 32, 4)]  # 13 is in chunk 3
    lost: list[str] = []
    results = dict(map_chunks(_double_or_die, chunks, workers=2, progress=False, on_crash=_marked,
                              merge=_flatten, on_worker_lost=lost.append))
    assert sorted(results) == list(range(8))
    for index, chunk in enumerate(chunks):
        expected = [2 * x if x != 13 else None for x in chunk]
        got = [r if not isinstance(r, tuple) else None for r in results[index]]
        assert got == expected
    crashed = results[3][1]
    assert crashed[:2] == ("crashed", 13) and "SIGKILL" in crashed[2] and "alone" in crashed[2]
    assert len(lost) == 1 and "SIGKILL" in lost[0]


def test_without_merge_the_chunk_is_lost_and_without_on_crash_it_raises():
    chunks = [[1, 2], [12, 13], [14, 15]]
    results = dict(map_chunks(_double_or_die, chunks, workers=2, progress=False, on_crash=_marked))
    assert results[0] == [2, 4] and results[2] == [28, 30]
    assert [r[:2] for r in results[1]] == [("crashed", 12), ("crashed", 13)]
    with pytest.raises(WorkerCrashedError, match="SIGKILL"):
        list(map_chunks(_double_or_die, chunks, workers=2, progress=False))


# -- through extract and prepare ----------------------------------------------------------------------

def _image_dataset(root: Path, ids: list[str]) -> Path:
    import pandas as pd
    from PIL import Image

    from resonance.io import sha256_file

    media = root / "media"
    media.mkdir(parents=True)
    rows = []
    for seed, item_id in enumerate(ids):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:64, 0:80]
        base = np.stack([xx * 3 % 256, yy * 3 % 256, (xx + yy) % 256], axis=-1).astype(float)
        pixels = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
        path = media / f"{item_id}.png"
        Image.fromarray(pixels).save(path)
        rows.append({"id": item_id, "modality": "image", "path": str(path), "sha256": sha256_file(path)})
    frame = pd.DataFrame(rows).assign(corpus="synthetic", split="train", emotion="neutral", valence=0.5,
                                      arousal=0.5)
    frame.to_parquet(root / "manifest.parquet", index=False)
    return root


def test_extract_keeps_everything_but_the_item_that_kills_its_worker(tmp_path, monkeypatch):
    import pandas as pd

    import handcrafted.extract as extract
    from handcrafted.extract import ExtractConfig, extract_features, failures_path

    ids = ["a", "b", "c_die", "d", "e", "f"]
    dataset = _image_dataset(tmp_path / "ds", ids)
    out = tmp_path / "features.parquet"
    monkeypatch.setattr(extract, "_extract_chunk", _extract_or_die)
    written: list[str] = []
    write_table = extract._write_table
    monkeypatch.setattr(extract, "_write_table",
                        lambda frame, path, provenance: (written.append(Path(path).name),
                                                         write_table(frame, path, provenance)))
    result = extract_features(dataset, out, ExtractConfig(workers=2, chunk_size=2, checkpoint_s=3600,
                                                          groups=["colour"], progress=False))
    assert (result.computed, result.failed) == (5, 1)
    assert result.failure_reasons == {"worker_crashed": 1}
    assert pd.read_parquet(out)["id"].tolist() == ["a", "b", "d", "e", "f"]
    failures = pd.read_csv(failures_path(out))
    assert failures[["id", "reason"]].values.tolist() == [["c_die", "worker_crashed"]]
    assert "SIGKILL" in failures["detail"].iloc[0] and "c_die.png" in failures["detail"].iloc[0]
    # checkpoint_s is an hour: a checkpoint was written because a worker died
    assert written.count(out.name + extract.CHECKPOINT_SUFFIX) >= 1 and written[-1] == out.name


def test_prepare_rejects_the_file_that_kills_its_worker_and_keeps_the_rest(tmp_path, monkeypatch):
    import pandas as pd
    import soundfile as sf

    import resonance.data.prepare as prepare

    root = tmp_path / "tree"
    for emotion in ("Angry", "Sad"):
        (root / emotion).mkdir(parents=True)
    names = []
    for k in range(18):  # 16 or more files: decoded in worker processes
        name = "x_die.wav" if k == 7 else f"clip{k:02d}.wav"
        t = np.arange(16_000) / 16_000
        sf.write(root / ("Angry" if k % 2 else "Sad") / name, 0.3 * np.sin(2 * np.pi * (200 + 15 * k) * t), 16_000)
        names.append(name)
    monkeypatch.setattr(prepare, "_probe_media", _probe_or_die)
    result = prepare.prepare_dataset([f"generic={root}"], tmp_path / "out", prepare.PrepareConfig(workers=2))
    assert result.n_items == 17
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    crashed = rejected[rejected["reason"] == "worker_crashed"]
    assert crashed["path"].map(lambda p: Path(p).name).tolist() == ["x_die.wav"]
    assert "SIGKILL" in crashed["detail"].iloc[0]


# -- workers die with their parent ----------------------------------------------------------------------

def test_workers_die_with_their_parent_and_leave_nothing_in_dev_shm(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    script = tmp_path / "slow_map.py"
    script.write_text(textwrap.dedent(f"""
        import os, time
        from resonance.parallel import map_chunks

        def slow(chunk):
            open(os.path.join({str(pids)!r}, str(os.getpid())), "w").close()
            time.sleep(120)
            return chunk

        for _ in map_chunks(slow, [[1], [2], [3]], workers=2, progress=False):
            pass
    """))
    parent = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2, "the workers did not start"
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in workers if _alive(pid)]
    for pid in alive:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} outlived their parent"
    if Path("/dev/shm").is_dir():
        deadline = time.monotonic() + 5
        while _shm_of(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _shm_of(parent.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _shm_of(pid: int) -> list[str]:
    return [p.name for p in Path("/dev/shm").iterdir() if f"-{pid}-" in p.name or f"_{pid}_" in p.name]


# -- numba's on-disk cache ------------------------------------------------------------------------------

_NUMBA_MODULE = '''
import os, signal
import numba

@numba.njit(cache=True)
def twice_plus_one(x):
    return x * 2 + 1

def warm():
    if os.path.exists(os.path.join(os.environ["NUMBA_CACHE_DIR"], "segfault-me")):
        os.kill(os.getpid(), signal.SIGSEGV)  # stands for machine code of the wrong overload
    assert twice_plus_one(3) == 7 and twice_plus_one(1.5) == 4.0, "wrong machine code"
'''


@pytest.fixture
def numba_target(tmp_path, monkeypatch):
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "tiny_numba.py").write_text(_NUMBA_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "mod"))
    return "tiny_numba:warm"


def _data_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.nbc") if ".workers" not in p.parts)


def test_a_damaged_numba_cache_is_detected_and_rebuilt(tmp_path, numba_target):
    cache = tmp_path / "numba"
    first = warm_numba_cache(cache, numba_target, exact=True)
    assert first.status == "warmed" and len(_data_files(cache)) == 2  # int and float overloads
    again = warm_numba_cache(cache, numba_target, exact=True)
    assert again.status == "verified" and again.seconds < first.seconds

    # garbage bytes: numba fails to unpickle them on every later run (which exception depends on the
    # bytes -- UnpicklingError, UnicodeDecodeError ... -- so the bytes are fixed, not random)
    garbage = np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8).tobytes()
    for suffix in (".nbi", ".nbc"):
        victim = next(p for p in cache.rglob(f"*{suffix}") if ".workers" not in p.parts)
        victim.write_bytes(garbage)
        fixed = warm_numba_cache(cache, numba_target, exact=True)
        assert fixed.status == "repaired" and "exit status 1" in fixed.detail and "Error" in fixed.detail

    (cache / "segfault-me").write_text("")  # a cache whose warm-up dies with a signal
    crashed = warm_numba_cache(cache, numba_target, exact=True)
    assert crashed.status == "repaired" and "SIGSEGV" in crashed.detail
    assert not (cache / "segfault-me").exists()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(tmp_path / "mod")}
    check = subprocess.run([sys.executable, "-c", "import tiny_numba; tiny_numba.warm()"], env=env, check=False)
    assert check.returncode == 0, "the rebuilt cache works"


def test_extract_from_an_empty_numba_cache_with_two_workers_compiles_in_one_process(tmp_path):
    """A fresh install: nothing compiled. Two workers must not both compile into one cache (each
    data file is written exactly once, by the warm-up), and the run succeeds."""
    import pandas as pd
    import soundfile as sf

    from resonance.io import sha256_file

    media = tmp_path / "media"
    media.mkdir()
    rows = []
    for k, f0 in enumerate((180.0, 260.0, 330.0)):
        t = np.arange(int(1.2 * 16_000)) / 16_000
        y = sum(0.3 / h * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 5)) * np.minimum(1, 10 * t)
        path = media / f"a{k}.flac"
        sf.write(path, y.astype(np.float32), 16_000)
        rows.append({"id": f"a{k}", "modality": "audio", "path": str(path), "sha256": sha256_file(path)})
    pd.DataFrame(rows).assign(corpus="synthetic", split="train", emotion="neutral", valence=0.5,
                              arousal=0.5).to_parquet(tmp_path / "manifest.parquet", index=False)
    code = textwrap.dedent(f"""
        from handcrafted.extract import ExtractConfig, extract_features
        r = extract_features({str(tmp_path / 'manifest.parquet')!r}, {str(tmp_path / 'f.parquet')!r},
                             ExtractConfig(workers=2, chunk_size=1, progress=False))
        print("RESULT", r.computed, r.failed)
    """)
    env = {**os.environ, "RESONANCE_CACHE": str(tmp_path / "cache"), "NUMBA_CACHE_DIR": str(tmp_path / "user"),
           "NUMBA_DEBUG_CACHE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "RESULT 3 0" in proc.stdout
    saved = [line.split("data saved to ", 1)[1].strip().strip("'\"") for line in proc.stdout.splitlines()
             if "data saved to" in line]
    assert saved, "nothing was compiled: the cache was not empty"
    assert len(saved) == len(set(saved)), "two processes compiled the same function into one cache"
    shared = tmp_path / "cache" / "numba"
    assert all(Path(p).is_relative_to(shared) and ".workers" not in Path(p).parts for p in saved), \
        "only the warm-up compiles, into the shared cache; the workers only load"
    stamp = json.loads(next(shared.glob("*/.verified.json")).read_text())
    assert stamp["ok"] is True
    assert pd.read_parquet(tmp_path / "f.parquet")["id"].tolist() == ["a0", "a1", "a2"]
