"""Atomic writes, output locks, staged output sets and content hashes.

An interrupted run never leaves half a file: every file is written beside its target under a name
starting with :data:`TMP_PREFIX` and renamed into place. A *set* of files that belong together (a
dataset's manifest, datasheet and ``dataset.json``) is written into a staging folder and moved into
place by :class:`StagedOutputs`, whose commit a later run finishes if a kill interrupted it. Two runs
writing to one place are kept apart by :func:`output_lock`. Written files honour the process's umask
(``tempfile.mkstemp`` alone would make them 0600).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from resonance.errors import LockedError, ParameterError

_CHUNK = 1 << 20
#: Every temporary file this package writes starts with this prefix (so only ours are ever cleaned).
TMP_PREFIX = ".resonance-tmp-"
#: Staging folders of :class:`StagedOutputs` start with this prefix.
STAGING_PREFIX = ".resonance-staging-"
_COMMIT_MARKER = "COMMIT.json"


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new regular file gets from ``open()``: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` in one rename.

    On any exception the temporary file is removed and ``target`` keeps its previous content. The
    new file's mode is ``0o666`` less the umask, as for any file created with ``open()``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file() and not tmp_path.is_symlink():
            with contextlib.suppress(OSError):  # e.g. a hard link to a file someone else owns
                os.chmod(tmp_path, file_mode())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def clean_stale_temporaries(folder: str | os.PathLike[str], names: Sequence[str] | None = None) -> list[Path]:
    """Remove the temporary files a killed run left in ``folder`` (not recursive); return them.

    Only files whose name starts with :data:`TMP_PREFIX` and ends with ``.tmp`` are touched -- and,
    when ``names`` is given, only the temporaries of those target names. Call it while holding the
    folder's :func:`output_lock`, so that no live run's temporary is removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    prefixes = [f"{TMP_PREFIX}{n}." for n in names] if names is not None else [TMP_PREFIX]
    for path in folder.iterdir():
        if path.name.endswith(".tmp") and any(path.name.startswith(p) for p in prefixes):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def output_lock(lock_file: str | os.PathLike[str], what: str) -> Iterator[Path]:
    """Hold an exclusive lock on ``lock_file`` (``fcntl.flock``) for the duration of the block.

    Parameters
    ----------
    lock_file : path-like
        The lock file, created if absent (e.g. ``OUT/.lock``). It is never deleted: deleting a lock
        file lets two runs lock two different files.
    what : str
        What the lock protects, for the error message (e.g. ``"dataset folder out/"``).

    Raises
    ------
    LockedError
        Another process (or another open of the file in this one) holds the lock; nothing was done.

    Notes
    -----
    The lock is released by the kernel when its holder exits, however it exits, so a killed run
    never leaves a stale lock behind. ``flock`` is advisory and may not work across NFS clients.
    """
    lock_file = Path(lock_file)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not a POSIX system: no lock
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "unknown process"
                raise LockedError(f"{what} is being written by another run ({holder}); wait for it to finish "
                                  f"or write somewhere else") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        yield lock_file
    finally:
        os.close(fd)  # releases the lock


class StagedOutputs:
    """A set of files written into a staging folder inside ``folder`` and moved into place together.

    Write each file to :meth:`path` ``(name)``, then call :meth:`commit`. The commit first records
    the file names in a marker inside the staging folder, then renames each file into ``folder``
    (in the order given to :meth:`commit`, so the file readers check first can be renamed last), then
    removes the staging folder. If a kill interrupts the commit, :func:`recover_staged_outputs`
    (called by the next run under the folder's lock) finishes it; a staging folder without a marker
    was never complete and is deleted. Readers see the old set or the new one, except during the
    few renames of a commit.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.stage = self.folder / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.stage.mkdir()

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` (a plain file name, no folder)."""
        if Path(name).name != name or name in {"", ".", ".."}:
            raise ParameterError(f"a staged output is a plain file name, got {name!r}")
        return self.stage / name

    def commit(self, order: Sequence[str] | None = None) -> None:
        """Move every staged file into ``folder``; ``order`` lists names to rename first, in order."""
        present = sorted(p.name for p in self.stage.iterdir() if p.name != _COMMIT_MARKER)
        first = [n for n in (order or []) if n in present]
        names = first + [n for n in present if n not in first]
        mode = file_mode()
        for name in names:
            with contextlib.suppress(OSError):
                os.chmod(self.stage / name, mode)
        marker = self.stage / _COMMIT_MARKER
        with open(marker, "w", encoding="utf-8") as handle:
            json.dump({"order": names}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        _finish_commit(self.stage, self.folder, names)

    def discard(self) -> None:
        """Remove the staging folder and whatever was written into it."""
        shutil.rmtree(self.stage, ignore_errors=True)

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.stage.exists():
            self.discard()


def _finish_commit(stage: Path, folder: Path, names: Sequence[str]) -> None:
    for name in names:
        source = stage / name
        if source.exists():
            os.replace(source, folder / name)
    shutil.rmtree(stage, ignore_errors=True)


def recover_staged_outputs(folder: str | os.PathLike[str]) -> list[str]:
    """Finish the commits a killed run left in ``folder``, delete its incomplete staging folders.

    Call it under the folder's :func:`output_lock`. Returns the names of the staging folders that
    were dealt with, completed ones suffixed ``" (completed)"``.
    """
    folder = Path(folder)
    handled: list[str] = []
    if not folder.is_dir():
        return handled
    for stage in sorted(folder.glob(f"{STAGING_PREFIX}*")):
        if not stage.is_dir():
            continue
        marker = stage / _COMMIT_MARKER
        try:
            names = json.loads(marker.read_text(encoding="utf-8"))["order"]
        except (OSError, ValueError, KeyError, TypeError):
            shutil.rmtree(stage, ignore_errors=True)
            handled.append(stage.name)
            continue
        _finish_commit(stage, folder, [n for n in names if isinstance(n, str) and Path(n).name == n])
        handled.append(f"{stage.name} (completed)")
    return handled


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
