"""Option types shared by several sub-apps."""

from __future__ import annotations

from enum import StrEnum


class Device(StrEnum):
    """Where to embed: ``auto`` takes CUDA when there is one, else the CPU."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
