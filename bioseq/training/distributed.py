"""Training across processes with ``torch.distributed`` (launched by ``torchrun``): DistributedDataParallel,
gloo on CPU and NCCL on CUDA.

``torchrun --nproc-per-node N -m bioseq train …`` (or ``--nnodes``/``--rdzv-endpoint`` across machines, or
``srun torchrun …`` under Slurm) starts N processes with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set
(the processes themselves, their devices and the process group are :mod:`bioseq.runtime`'s).
Each builds the same model from the same seed and the same length-grouped, shuffled batches (the rule of
one process, :func:`bioseq.data.encoding.length_batches`), then takes every N-th batch (:func:`shard`); DDP
all-reduces (averages) the gradients in ``backward``, so the recorded gradient norms are those of the
all-reduced gradient and every rank holds the same weights. Every rank evaluates the whole validation set,
so early stopping agrees without messages. Only rank 0 writes the run folder, the checkpoints and the model
file (atomically); every rank may read a checkpoint to resume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..runtime import active, world

if TYPE_CHECKING:
    import torch
    from torch import nn


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """The model in DistributedDataParallel when several processes train, else the model itself."""
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)


def shard(batches: list) -> list:
    """This rank's batches: every ``world``-th, the same count on every rank (DDP steps together), so up to
    ``world - 1`` batches of an epoch are left out (a different few each epoch, as batches are shuffled)."""
    rank, size = world()
    if size == 1:
        return batches
    if len(batches) < size:
        batches = (batches * size)[:size]
    usable = len(batches) - len(batches) % size
    return batches[rank:usable:size]


class ReadOnlyRun:
    """A run folder as ranks other than 0 see it: its paths (to resume from its checkpoint), and no writes."""

    def __init__(self, run):
        self.path, self.checkpoint_path = run.path, run.checkpoint_path

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None
