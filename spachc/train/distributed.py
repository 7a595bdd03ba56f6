"""Process groups under torchrun: gloo on CPU, NCCL on CUDA.

A process that torchrun started joins a process group even when it is the only one
(`--nproc_per_node 1`): the same DDP and collective code then runs on one GPU as on many,
which is how a single lent GPU checks the NCCL path. A process started without torchrun
is a world of 1 with no process group."""

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
    launched: bool = False  # started by torchrun: joins a process group, whatever the size

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.launched


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_from_env() -> World:
    """This process's place in the job torchrun describes in the environment (or alone)."""
    if not launched_by_torchrun():
        return World()
    return World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)),
                 launched=True)


def init_world(world: World, device: torch.device) -> World:
    """Join the process group (the device is already the local rank's GPU on CUDA)."""
    if world.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, device_id=device if device.type == "cuda" else None)
    return world


def backend(world: World) -> str | None:
    """The process group's backend ("nccl", "gloo"), or None outside torchrun."""
    return dist.get_backend() if world.distributed and dist.is_initialized() else None


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
