"""Where the model runs, for ``bioseq predict``, ``scan`` and ``inspect``: ``--device`` and ``--batch-size``.

``--device auto`` (the default) is a CUDA GPU when PyTorch sees one, else the CPU. Under torchrun each
process of a node takes the GPU of its ``LOCAL_RANK`` (:func:`bioseq.runtime.device_for`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported only when a command runs, so --help stays quick
    import torch


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def add_device_arguments(p: argparse.ArgumentParser, batch_help: str, device_default: str | None = "auto",
                         device_note: str = " (auto)") -> None:
    p.add_argument("--batch-size", type=positive, metavar="N", help=batch_help + "; larger is faster on a GPU")
    p.add_argument("--device", default=device_default, metavar="DEVICE",
                   help="auto (a CUDA GPU when PyTorch sees one, else the CPU), cpu, cuda or cuda:N; under torchrun "
                   "each process takes the GPU of its LOCAL_RANK" + device_note)


def minutes(text: str) -> float:
    """An argparse type: a number of minutes above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def add_rank_timeout(p: argparse.ArgumentParser) -> None:
    """``--rank-timeout``: how long a torchrun process waits for one that has stopped answering."""
    from ..runtime import RANK_TIMEOUT

    p.add_argument("--rank-timeout", type=minutes, default=RANK_TIMEOUT, metavar="MIN",
                   help=f"under torchrun: minutes to wait for a process that has stopped answering before naming it "
                   f"and giving up (default {RANK_TIMEOUT:g})")


def device(name: str) -> torch.device:
    """The device named on the command line (``auto``, ``cpu``, ``cuda[:N]``); a clear error when absent."""
    from ..runtime import device_for, resolve_device

    return device_for(resolve_device(name))


def load(model: str, device_name: str):
    """The model file or registry name ``model``, loaded onto the device named ``device_name``."""
    from ..model.store import load_model, resolve

    return load_model(resolve(model), device=device(device_name))
