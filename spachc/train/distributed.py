"""Process groups under torchrun: gloo on CPU, NCCL on CUDA. One process = world of 1."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_from_env() -> World:
    """This process's place in the job torchrun describes in the environment (or alone)."""
    if not launched_by_torchrun():
        return World()
    return World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))


def init_world(world: World, device: torch.device) -> World:
    """Join the process group (the device is already the local rank's GPU on CUDA)."""
    if world.size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
    return world


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(world: World, values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum of a few numbers over all ranks (metrics, counters)."""
    if not world.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def gather_strings(world: World, value: str) -> list[str]:
    if not world.distributed:
        return [value]
    out: list[str | None] = [None] * world.size
    dist.all_gather_object(out, value)
    return [str(v) for v in out]


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
