"""Data parallelism through ``torchrun``: the process group, rank 0 as the one that logs and saves.

``torchrun --nproc_per_node=N -m resonance ...`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and
``MASTER_ADDR``/``MASTER_PORT``; :func:`init_distributed` reads them (NCCL on CUDA, gloo on CPU).
Without them the run is a single process and every helper is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group described by the torchrun environment (idempotent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, world, local)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def gather_to_main(info: DistInfo, obj: Any) -> list[Any] | None:
    """Every rank's ``obj`` as a list on rank 0 (``None`` elsewhere); ``[obj]`` in a single process."""
    if not info.enabled:
        return [obj]
    out: list[Any] | None = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def scatter_from_main(info: DistInfo, objs: list[Any] | None) -> Any:
    """Rank r receives ``objs[r]`` from rank 0."""
    if not info.enabled:
        return objs[0] if objs else None
    out: list[Any] = [None]
    dist.scatter_object_list(out, objs if info.is_main else None, src=0)
    return out[0]


def broadcast_object(info: DistInfo, obj: Any) -> Any:
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_buffers(info: DistInfo, module: torch.nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics, ...) to every rank.

    DDP broadcasts buffers at the start of each forward, so after the last training forward every
    rank holds its own update; this is called before validation and at the end, so that every rank
    validates (and so decides early stopping) on the same model and ends with the same state.
    """
    if info.enabled:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
