"""One way to run work in parallel: chunks of items on local processes or on a Dask cluster.

:func:`map_chunks` calls ``function(chunk)`` for every chunk and yields ``(index, result)`` as each
chunk completes, in any order; :func:`progress_bar` is the one progress bar (tqdm, ``disable=`` when
off). ``prepare``'s decoding, MIDI rendering and ``extract`` all run through them.

Local processes are loky's (the executor joblib uses), rather than
:class:`concurrent.futures.ProcessPoolExecutor`, because a loky worker is a fresh interpreter started
by fork + exec: the parent's threads (a progress bar, BLAS pools) are never forked, ``__main__`` is
never re-imported (so a notebook, ``python -`` or a script without a main guard works), functions
travel with cloudpickle (a closure or a lambda works), the thread variables of BLAS, OpenMP and numba
are set before the worker imports anything, and a dead worker is reported with its exit signal.

What holds for local processes:

- *A crashed worker costs at most its chunk.* A worker that dies (SIGKILL, SIGSEGV, the kernel's
  out-of-memory killer) breaks the pool and every chunk in flight with it (at most ``2 * workers``:
  chunks are submitted in a bounded window). Those chunks are retried, each alone in a fresh process;
  the innocent ones then complete, and a chunk that kills its process again is the culprit: with
  ``merge`` it is split into single items, each retried alone, so only the item that crashes is lost;
  its result is ``on_crash(chunk, detail)`` and the run carries on.
- *Workers die with their parent.* Each worker asks the kernel for SIGKILL when its parent dies
  (``prctl(PR_SET_PDEATHSIG)`` on Linux; elsewhere a thread that watches the parent), so killing the
  main process with SIGKILL leaves no worker behind; with the workers gone, loky's resource tracker
  removes its semaphores from ``/dev/shm``.
- *Numba's on-disk cache is never written by two processes at once.* librosa compiles its
  ``@guvectorize(cache=True)`` / ``@jit(cache=True)`` functions into numba's cache, which concurrent
  processes write without atomicity (numba issue 10128, librosa issue 1998): an index can end up
  naming another overload's machine code, and every later run segfaults. With ``warmup``, the
  parent first runs that function in a fresh subprocess, under an exclusive file lock, against one
  shared cache folder (``numba_cache``; see :func:`warm_numba_cache`): one process compiles, and a
  cache that makes the warm-up fail (a poisoned one: killed by a signal, or an unreadable file) is
  wiped and built again. Each worker then starts on its own hard-linked copy of that folder
  (``NUMBA_CACHE_DIR``), so whatever it compiles itself never reaches the shared one.

``workers=1`` runs in this process. With ``warmup``, a process that has not imported numba yet (and
has no ``NUMBA_CACHE_DIR`` of its own) is pointed at a private copy of the warmed cache as well; one
that has keeps its own numba configuration, which numba reads once, at import.

A Dask cluster is not ours: its workers, their lifetime and their numba cache are the cluster's; a
chunk whose Dask worker is lost is retried by the scheduler, and one that ends in ``KilledWorker``
goes to ``on_crash`` like a local crash.

Examples
--------
>>> from resonance.parallel import map_chunks
>>> sorted(map_chunks(sum, [[1, 2], [3, 4, 5]], workers=1, progress=False))
[(0, 3), (1, 12)]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from resonance.errors import ParameterError

__all__ = ["THREAD_VARIABLES", "WarmUp", "WorkerCrashedError", "map_chunks", "progress_bar", "warm_numba_cache"]

C = TypeVar("C")
R = TypeVar("R")

#: Environment variables that cap the threads of BLAS, OpenMP and numba in each worker (joblib's list).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "NUMEXPR_NUM_THREADS")
#: Seconds a warm-up subprocess may run (a cold compile of librosa's functions took 25 s alone and 95 s
#: beside two other compiles on 2 busy cores).
WARMUP_TIMEOUT_S = 900.0
_LOCK_NAME = ".lock"
_STAMP_NAME = ".verified.json"
_WORKERS_DIR = ".workers"
_OWN_FILES = {_LOCK_NAME, _STAMP_NAME, _WORKERS_DIR}


class WorkerCrashedError(RuntimeError):
    """A worker process died on a chunk, also when retried alone, and no ``on_crash`` was given."""


# -- the one entry point ----------------------------------------------------------------------------

def map_chunks(function: Callable[[C], R], chunks: Sequence[C], *, workers: int = 1, scheduler: str | None = None,
               progress: Any = True, description: str | None = None, unit: str = "item",
               on_crash: Callable[[C, str], R] | None = None, merge: Callable[[list[R]], R] | None = None,
               on_worker_lost: Callable[[str], None] | None = None, warmup: str | None = None,
               numba_cache: str | os.PathLike[str] | None = None, threads_per_worker: int | None = 1
               ) -> Iterator[tuple[int, R]]:
    """Yield ``(index, function(chunks[index]))`` for every chunk, as each completes (in any order).

    Parameters
    ----------
    function : callable
        Called with one chunk; must be picklable by cloudpickle (a module-level function, a
        ``functools.partial`` of one, a closure). An exception it raises propagates (the other
        workers are stopped); handle per-item errors inside it.
    chunks : sequence
        The units of work. The progress bar counts ``len(chunk)`` items per chunk when chunks have a
        length (else one per chunk).
    workers : int, keyword-only
        Local worker processes (at most one per chunk); 1 (default) runs in this process.
        Ignored when ``scheduler`` is given.
    scheduler : str or None, keyword-only
        Address of a running Dask scheduler (``"tcp://host:8786"``): the chunks are mapped over its
        workers. None (default) uses local processes.
    progress : bool or tqdm bar, keyword-only
        True (default): a bar of its own over the items (see :func:`progress_bar`); False: none; a
        bar made by the caller: update that one (the caller closes it).
    description, unit : str, keyword-only
        The bar's label and unit.
    on_crash : callable or None, keyword-only
        ``on_crash(chunk, detail)`` gives the result of a chunk whose worker process died twice on it,
        the second time alone in a fresh process (``detail`` says how it died). None: raise
        :class:`WorkerCrashedError` instead.
    merge : callable or None, keyword-only
        Given, a chunk that crashes alone is split into single items (``chunk[k:k + 1]``), each
        retried alone, and ``merge(results)`` (in item order) is the chunk's result: a crash then
        costs only the item that caused it. ``on_crash`` is called with those one-item chunks.
    on_worker_lost : callable or None, keyword-only
        Called with a description of the death right after a local worker died, before any retry
        (``extract`` writes its checkpoint there).
    warmup : str or None, keyword-only
        ``"module:function"`` run once in a fresh subprocess before local workers start, to compile
        numba code into ``numba_cache`` in one process (see :func:`warm_numba_cache`); needs
        ``numba_cache``.
    numba_cache : path-like or None, keyword-only
        The shared numba cache folder; each local worker starts on a private hard-linked copy.
    threads_per_worker : int or None, keyword-only
        Threads of BLAS, OpenMP and numba in each local worker (default 1, set through
        :data:`THREAD_VARIABLES` before the worker imports anything); None leaves them alone.

    Yields
    ------
    (int, object)
        The chunk's index in ``chunks`` and its result.

    Raises
    ------
    ParameterError
        Before any work, when ``workers``, ``scheduler``, ``warmup`` or ``threads_per_worker`` is
        invalid.
    WorkerCrashedError
        A chunk crashed its worker twice and no ``on_crash`` was given.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ParameterError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None and "://" not in str(scheduler):
        raise ParameterError(f"scheduler must be a Dask address such as 'tcp://127.0.0.1:8786', got {scheduler!r}")
    if warmup is not None and (not isinstance(warmup, str) or warmup.count(":") != 1):
        raise ParameterError(f"warmup must be 'module:function', got {warmup!r}")
    if warmup is not None and numba_cache is None:
        raise ParameterError("warmup needs numba_cache, the folder the warm-up compiles into")
    if threads_per_worker is not None and (not isinstance(threads_per_worker, int) or threads_per_worker < 1):
        raise ParameterError(f"threads_per_worker must be a positive integer or None, got {threads_per_worker!r}")
    chunks = list(chunks)
    return _with_progress(_dispatch(function, chunks, workers, scheduler, on_crash, merge, on_worker_lost,
                                    warmup, numba_cache, threads_per_worker),
                          chunks, progress, description, unit)


def progress_bar(total: int | None = None, *, description: str | None = None, unit: str = "item",
                 enabled: bool = True, iterable: Any = None, leave: bool = True) -> Any:
    """The project's progress bar: tqdm on stderr, a no-op (``disable=True``) when not ``enabled``.

    Redirected to a file, it writes a line every 10 s instead of ten a second. Use it as a context
    manager (``with progress_bar(n) as bar: bar.update(k)``) or around an ``iterable``.
    """
    from tqdm.auto import tqdm

    interval = 0.1 if sys.stderr.isatty() else 10.0
    return tqdm(iterable, total=total, desc=description, unit=unit, disable=not enabled, dynamic_ncols=True,
                smoothing=0.1, mininterval=interval, leave=leave)


def _with_progress(results: Iterator[tuple[int, R]], chunks: list, progress: Any, description: str | None,
                   unit: str) -> Iterator[tuple[int, R]]:
    owned = isinstance(progress, bool)
    total = sum(_size(c) for c in chunks)
    bar = progress_bar(total, description=description, unit=unit, enabled=progress) if owned else progress
    try:
        for index, result in results:
            bar.update(_size(chunks[index]))
            yield index, result
    finally:
        results.close()  # type: ignore[attr-defined]  # a generator: stops the workers when abandoned
        if owned:
            bar.close()


def _size(chunk: Any) -> int:
    try:
        return len(chunk)
    except TypeError:
        return 1


def _dispatch(function: Callable, chunks: list, workers: int, scheduler: str | None, on_crash: Callable | None,
              merge: Callable | None, on_worker_lost: Callable | None, warmup: str | None,
              numba_cache: str | os.PathLike[str] | None, threads_per_worker: int | None) -> Iterator[tuple[int, Any]]:
    if not chunks:
        return
    if scheduler is not None:
        yield from _run_dask(function, chunks, scheduler, on_crash)
        return
    workers = min(workers, len(chunks))
    root = _numba_root(numba_cache) if numba_cache is not None else None
    if workers <= 1:
        if root is not None and warmup is not None:
            _adopt_numba_cache(root, warmup)
        for index, chunk in enumerate(chunks):
            yield index, function(chunk)
        return
    if root is not None and warmup is not None:
        warm_numba_cache(root, warmup, exact=True)
    env = {name: str(threads_per_worker) for name in THREAD_VARIABLES} if threads_per_worker else {}
    pool = _Pools(initargs=(os.getpid(), str(root) if root else None), env=env)
    try:
        yield from _run_local(function, chunks, workers, pool, on_crash, merge, on_worker_lost)
    finally:
        pool.close()
        if root is not None:
            _sweep_private_caches(root)


# -- local processes --------------------------------------------------------------------------------

class _Pools:
    """Makes loky executors with the worker initializer, and shuts them all down at the end."""

    def __init__(self, initargs: tuple, env: dict[str, str]) -> None:
        self.initargs = initargs
        self.env = env
        self.open: list[Any] = []
        self.finished = False

    def new(self, workers: int) -> Any:
        from joblib.externals.loky import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=self.initargs,
                                       env=self.env)
        self.open.append(executor)
        return executor

    def discard(self, executor: Any) -> None:
        """Shut down a broken executor (its workers are killed)."""
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True, kill_workers=True)
        with contextlib.suppress(ValueError):
            self.open.remove(executor)

    def close(self) -> None:
        # a run that ended early (an exception, a closed generator, Ctrl-C) kills its workers
        for executor in self.open:
            with contextlib.suppress(Exception):
                executor.shutdown(wait=True, kill_workers=not self.finished)
        self.open.clear()


def _run_local(function: Callable, chunks: list, workers: int, pools: _Pools, on_crash: Callable | None,
               merge: Callable | None, on_worker_lost: Callable | None) -> Iterator[tuple[int, Any]]:
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = deque(range(len(chunks)))
    in_flight: dict[Any, int] = {}
    executor = None
    while pending or in_flight:
        if executor is None:
            executor = pools.new(workers)
        # a bounded window: when the pool breaks, only these chunks are lost with it
        while pending and len(in_flight) < 2 * workers:
            index = pending.popleft()
            in_flight[executor.submit(function, chunks[index])] = index
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        crash = next((f.exception() for f in done if _crashed(f)), None)
        if crash is None:
            for future in done:
                yield in_flight.pop(future), future.result()
            continue
        # the pool is broken: every chunk in flight ends with it (some may have finished just before)
        wait(in_flight, timeout=60)
        lost = []
        for future, index in list(in_flight.items()):
            if future.done() and not _crashed(future):
                yield index, future.result()
            else:
                lost.append(index)
        in_flight.clear()
        pools.discard(executor)
        executor = None
        if on_worker_lost is not None:
            on_worker_lost(f"a worker process died ({_how_it_died(crash)}); retrying the {len(lost)} chunks "
                           f"in flight, each alone in a fresh process")
        yield from _retry_alone(function, chunks, lost, workers, pools, on_crash, merge)
    pools.finished = True


def _retry_alone(function: Callable, chunks: list, indices: list[int], workers: int, pools: _Pools,
                 on_crash: Callable | None, merge: Callable | None) -> Iterator[tuple[int, Any]]:
    """Run each chunk alone in a single-worker process (``workers`` of them at once)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    jobs: deque[tuple[int, int | None, Any]] = deque((i, None, chunks[i]) for i in sorted(indices))
    parts: dict[int, dict[int, Any]] = {}
    idle: list[Any] = []
    running: dict[Any, tuple[tuple[int, int | None, Any], Any]] = {}
    while jobs or running:
        while jobs and len(running) < workers:
            job = jobs.popleft()
            executor = idle.pop() if idle else pools.new(1)
            running[executor.submit(function, job[2])] = (job, executor)
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            (index, part, chunk), executor = running.pop(future)
            if _crashed(future):
                pools.discard(executor)
                if part is None and merge is not None and _size(chunk) > 1:
                    parts[index] = {}
                    jobs.extend((index, k, chunk[k:k + 1]) for k in range(_size(chunk)))
                    continue
                detail = (f"the worker process died ({_how_it_died(future.exception())}) computing it, "
                          f"and again when it was retried alone in a fresh process")
                if on_crash is None:
                    raise WorkerCrashedError(f"chunk {index}: {detail}")
                result = on_crash(chunk, detail)
            else:
                idle.append(executor)
                result = future.result()
            if part is None:
                yield index, result
                continue
            parts[index][part] = result
            if len(parts[index]) == _size(chunks[index]):
                done_parts = parts.pop(index)
                yield index, merge([done_parts[k] for k in range(len(done_parts))])  # type: ignore[misc]
    for executor in idle:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True)
        with contextlib.suppress(ValueError):
            pools.open.remove(executor)


def _crashed(future: Any) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return future.done() and isinstance(future.exception(), BrokenProcessPool)


def _how_it_died(error: BaseException | None) -> str:
    """``"SIGKILL(-9)"`` from loky's ``TerminatedWorkerError`` message, else its first line."""
    text = str(error or "")
    codes = re.search(r"exit codes of the workers are \{([^}]*)\}", text)
    if codes:
        return codes.group(1)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _init_worker(parent_pid: int, numba_root: str | None) -> None:
    """Runs first in every local worker: die with the parent; start on a private numba cache."""
    _die_with_parent(parent_pid)
    if numba_root is not None:
        os.environ["NUMBA_CACHE_DIR"] = str(_private_numba_cache(Path(numba_root)))
        if "numba" in sys.modules:  # not expected (nothing imports numba before this), but then re-read
            sys.modules["numba"].core.config.reload_config()


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)
            return
    # elsewhere (or when prctl fails): a thread that notices being re-parented
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="resonance-parent-watch", daemon=True).start()


# -- Dask -------------------------------------------------------------------------------------------

def _run_dask(function: Callable, chunks: list, address: str, on_crash: Callable | None
              ) -> Iterator[tuple[int, Any]]:
    try:
        from dask.distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError as error:  # pragma: no cover - dask[distributed] is a dependency
        raise ParameterError("scheduler= needs dask.distributed; pip install 'dask[distributed]'") from error

    # Closing a client that connected by address leaves the cluster running: it is not ours.
    with Client(address, set_as_default=False) as client:
        futures = client.map(function, chunks, pure=False)
        index_of = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures, loop=client.loop):
            index = index_of[future.key]
            try:
                result = future.result()
            except KilledWorker as error:
                detail = f"the Dask workers computing it died ({error})"
                if on_crash is None:
                    raise WorkerCrashedError(f"chunk {index}: {detail}") from error
                result = on_crash(chunks[index], detail)
            yield index, result
            future.release()


# -- numba's on-disk cache --------------------------------------------------------------------------

@dataclass(frozen=True)
class WarmUp:
    """What :func:`warm_numba_cache` did.

    ``status`` is ``"verified"`` (the cache is unchanged since a warm-up succeeded on it: nothing was
    run), ``"warmed"`` (the warm-up ran and succeeded), ``"repaired"`` (it failed on the cache as it
    was, which was then wiped, and succeeded on the fresh one) or ``"failed"`` (it also failed on a
    fresh cache, or timed out: the cause is not the cache; workers then compile what they miss in
    their private copies). ``detail`` says why a warm-up failed; ``seconds`` is the wall time.
    """

    status: str
    seconds: float
    directory: Path
    detail: str = ""


def warm_numba_cache(directory: str | os.PathLike[str], target: str, *, exact: bool = False,
                     timeout_s: float = WARMUP_TIMEOUT_S) -> WarmUp:
    """Compile ``target``'s numba code into the cache ``directory`` in one process, and repair a poisoned cache.

    ``target`` (``"module:function"``) is called without arguments in a fresh Python subprocess with
    ``NUMBA_CACHE_DIR`` set to the cache folder, holding an exclusive lock on ``<folder>/.lock`` (so two
    runs never compile into it at once). When it fails, killed by a signal (a poisoned cache segfaults)
    or with an error (an unreadable cache file), the folder is emptied and the warm-up run once more.
    After a success the folder's listing (names, sizes, modification times) is recorded, and the next
    call with an unchanged listing returns at once without running anything: only this function
    writes the folder (workers compile into private copies), so an unchanged listing is the content
    that succeeded.

    Parameters
    ----------
    directory : path-like
        The shared cache; the cache itself is the sub-folder for this Python environment
        (``<directory>/py311-<hash of sys.prefix>``) unless ``exact`` is true.
    target : str
        ``"module:function"``, importable with this process's ``sys.path``.
    exact : bool, keyword-only
        Use ``directory`` itself as the cache folder.
    timeout_s : float, keyword-only
        Seconds the subprocess may run before it is killed (counted as a failure, not retried).

    Returns
    -------
    WarmUp
        What was done, and how long it took.
    """
    started = time.perf_counter()
    root = Path(directory) if exact else _numba_root(directory)
    if target.count(":") != 1:
        raise ParameterError(f"target must be 'module:function', got {target!r}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / _LOCK_NAME, "a+")  # noqa: SIM115 -- held for the whole warm-up
    except OSError as error:
        return WarmUp("failed", time.perf_counter() - started, root, f"cannot use {root}: {error}")
    with lock:
        _flock(lock, exclusive=True)
        _sweep_private_caches(root)
        stamp = _stamp(root, target)
        if _read_stamp(root) == stamp:
            return WarmUp("verified", time.perf_counter() - started, root)
        ok, detail = _run_warmup(root, target, timeout_s)
        status = "warmed"
        if not ok and not detail.startswith("timed out"):
            first = detail
            _wipe(root)
            ok, detail = _run_warmup(root, target, timeout_s)
            status = "repaired" if ok else "failed"
            detail = f"on the cache as it was: {first}" + ("" if ok else f"; on an empty cache: {detail}")
        elif not ok:
            status = "failed"
        # either way the folder now holds what one process wrote: record it, so the next run trusts it
        _write_stamp(root, _stamp(root, target), ok)
    if status != "warmed":
        print(f"warning: numba cache {root}: warm-up {status} ({detail})", file=sys.stderr)
    return WarmUp(status, time.perf_counter() - started, root, detail)


def _adopt_numba_cache(root: Path, warmup: str) -> None:
    """Point this process at a private copy of the warmed shared cache, when numba is not loaded yet.

    A process that already imported numba, or whose ``NUMBA_CACHE_DIR`` is set, keeps its own
    configuration (numba reads it once, at import).
    """
    if "numba" in sys.modules or os.environ.get("NUMBA_CACHE_DIR"):
        return
    warm_numba_cache(root, warmup, exact=True)
    os.environ["NUMBA_CACHE_DIR"] = str(_private_numba_cache(root))


def _numba_root(directory: str | os.PathLike[str]) -> Path:
    tag = hashlib.sha256(os.path.realpath(sys.prefix).encode()).hexdigest()[:10]
    return Path(directory).expanduser() / f"py{sys.version_info.major}{sys.version_info.minor}-{tag}"


def _run_warmup(root: Path, target: str, timeout_s: float) -> tuple[bool, str]:
    module, function = target.split(":")
    code = (f"import importlib; importlib.import_module({module!r}).{function}()")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(root), **{name: "1" for name in THREAD_VARIABLES},
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        proc = subprocess.run([sys.executable, "-c", code], env=env, stdin=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout_s:.0f} s"
    if proc.returncode == 0:
        return True, ""
    if proc.returncode < 0:
        return False, f"killed by {signal.Signals(-proc.returncode).name}"
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    return False, f"exit status {proc.returncode}: {lines[-1] if lines else 'no message'}"


def _cache_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in _OWN_FILES)


def _stamp(root: Path, target: str) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for path in _cache_files(root):
        info = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    try:
        numba_version = version("numba")
    except PackageNotFoundError:
        numba_version = None
    return {"target": target, "python": sys.version, "numba": numba_version, "listing": digest.hexdigest()}


def _read_stamp(root: Path) -> dict[str, Any] | None:
    try:
        stamp = json.loads((root / _STAMP_NAME).read_text())
    except (OSError, ValueError):
        return None
    stamp.pop("ok", None)
    return stamp


def _write_stamp(root: Path, stamp: dict[str, Any], ok: bool) -> None:
    tmp = root / f"{_STAMP_NAME}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps({**stamp, "ok": ok}, sort_keys=True))
        os.replace(tmp, root / _STAMP_NAME)


def _wipe(root: Path) -> None:
    for entry in root.iterdir():
        if entry.name in _OWN_FILES:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
    with contextlib.suppress(OSError):
        (root / _STAMP_NAME).unlink()


def _private_numba_cache(root: Path) -> Path:
    """A copy of the shared cache for this process only (hard links: numba replaces files, never edits them)."""
    try:
        private = root / _WORKERS_DIR / f"{os.getpid()}-{os.urandom(4).hex()}"
        private.mkdir(parents=True)
        with open(root / _LOCK_NAME, "a+") as lock:
            _flock(lock, exclusive=False)  # a consistent snapshot: no warm-up is writing meanwhile
            for path in _cache_files(root):
                target = private / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)
    except OSError:
        private = Path(tempfile.mkdtemp(prefix="resonance-numba-"))  # compiles on its own: slow, never wrong
    import atexit

    atexit.register(shutil.rmtree, private, True)
    return private


def _sweep_private_caches(root: Path) -> None:
    """Remove the private copies of worker processes that are gone (killed ones leave theirs)."""
    folder = root / _WORKERS_DIR
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        pid = entry.name.split("-")[0]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _flock(handle: Any, *, exclusive: bool) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
