"""Where and how a process computes: the device (``--device``) and the processes of a torchrun job.

Below both training and prediction (:mod:`bioseq.training`, :mod:`bioseq.prediction`), which each take their
device and their rank from here. ``torchrun --nproc-per-node N -m bioseq train|predict|scan …`` starts N
processes with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set: :func:`world` reads them, :func:`init` joins the
process group (gloo on CPU, NCCL on CUDA) and :func:`device_for` gives each process of a node its own GPU.

:func:`init` gives training's process group the same timeout (``bioseq train --rank-timeout``), and
:func:`watching` turns a process group's timeout into one line. :class:`Ranks` is how the processes of
``bioseq predict`` and ``scan`` wait for each other: values
exchanged through torchrun's rendezvous store, with a timeout (minutes, :data:`RANK_TIMEOUT` by default)
after which a rank that has stopped answering (stopped, hung, killed) is named in one line.
"""

from __future__ import annotations

import datetime
import itertools
import os
import pickle
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .errors import BioseqError, TrainingError, ref

if TYPE_CHECKING:  # PyTorch is imported when used: the command line's --help reads RANK_TIMEOUT from here
    import torch

RANK_TIMEOUT = 10.0  # minutes a rank waits for a silent rank before giving up (--rank-timeout)
_CALLS = itertools.count()


def resolve_device(name: str) -> torch.device:
    """The device named ``auto`` (a CUDA GPU when PyTorch sees one, else the CPU), ``cpu`` or ``cuda[:N]``."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"{ref('device', 'cuda')} was asked for, but PyTorch sees no CUDA GPU here; "
                            f"use {ref('device', 'cpu')}")
    if name != "cpu" and not name.startswith("cuda"):
        raise TrainingError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


def world() -> tuple[int, int]:
    """``(rank, world size)`` from the environment torchrun sets; ``(0, 1)`` for one process."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def active() -> bool:
    """Whether this process is one of several (launched by torchrun)."""
    return world()[1] > 1


def is_main() -> bool:
    return world()[0] == 0


def init(device: torch.device, minutes: float = RANK_TIMEOUT) -> None:
    """Join the process group once (gloo on CPU, NCCL on CUDA); nothing for one process. ``minutes``: how long
    joining, and each collective step after it (DDP's all-reduce), waits for the other processes
    (:func:`watching` says it in one line)."""
    import torch.distributed as dist

    if active() and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                timeout=datetime.timedelta(minutes=minutes))


@contextmanager
def watching(minutes: float, what: str):
    """Around collective work (training under torchrun): a process group that timed out, or whose peer went away,
    is one line naming ``--rank-timeout`` (:class:`RanksLost`) instead of PyTorch's traceback."""
    import torch.distributed as dist

    try:
        yield
    except dist.DistError as e:
        raise RanksLost(minutes, what, e) from None


class RanksLost(BioseqError):
    """The processes of a torchrun job lost each other (a timeout, or a process that stopped or failed)."""

    def __init__(self, minutes: float, what: str, cause: Exception):
        said = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        super().__init__(f"the processes of this torchrun job did not all answer within {minutes:g} minutes "
                         f"(stopped, hung or killed?): {what} (PyTorch: {said}); --rank-timeout MINUTES sets how "
                         "long to wait")


def device_for(device: torch.device) -> torch.device:
    """On CUDA, each process of a node takes its own GPU (``LOCAL_RANK``)."""
    if device.type == "cuda" and active():
        import torch

        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def barrier() -> None:
    import torch.distributed as dist

    if active() and dist.is_initialized():
        dist.barrier()


def finish() -> None:
    """Leave the process group (after the last collective call)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class RankSilent(BioseqError):
    """A rank did not answer within the timeout; ``ranks`` are those that did not."""

    def __init__(self, ranks: list[int], size: int, minutes: float, what: str):
        self.ranks = ranks
        who = "rank " + ", ".join(map(str, ranks)) if len(ranks) < 2 else "ranks " + ", ".join(map(str, ranks))
        super().__init__(f"{who} of {size} did not answer within {minutes:g} minutes (stopped, hung or killed?): "
                         f"{what}; --rank-timeout MINUTES sets how long to wait")


class Ranks:
    """The processes of a torchrun job, talking through its rendezvous store (``MASTER_ADDR``, ``MASTER_PORT``;
    torchrun's agent holds the store, or else rank 0 does). :meth:`gather` waits for every rank's value;
    a rank that has neither answered nor :meth:`beat` for ``minutes`` is named (:class:`RankSilent`)."""

    def __init__(self, minutes: float = RANK_TIMEOUT, what: str = "nothing was written"):
        from torch.distributed import PrefixStore, TCPStore

        self.rank, self.size = world()
        self.minutes, self.what = minutes, what
        timeout = datetime.timedelta(minutes=minutes)
        try:
            addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
        except (KeyError, ValueError):
            raise BioseqError(f"WORLD_SIZE is {self.size} but MASTER_ADDR and MASTER_PORT are not set: start the "
                              "processes with torchrun") from None
        self._agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
        store = self._op(lambda: TCPStore(addr, port, None, self.rank == 0 and not self._agent, timeout,
                                          wait_for_workers=False, multi_tenant=True))
        run = f"{os.environ.get('TORCHELASTIC_RUN_ID', '')}/{os.environ.get('TORCHELASTIC_RESTART_COUNT', 0)}"
        self.store = PrefixStore(f"bioseq/{run}/{next(_CALLS)}/", store)

    def beat(self) -> None:
        """Say that this rank is still working (between values it posts)."""
        self._op(lambda: self.store.add(f"beat/{self.rank}", 1))

    def post(self, tag: str, value) -> None:
        self._op(lambda: self.store.set(f"{tag}/{self.rank}", pickle.dumps(value)))

    def gather(self, tag: str, value=None, ranks=None) -> dict:
        """Post ``value`` under ``tag`` and wait for that of every rank of ``ranks`` (default all): rank -> value."""
        self.post(tag, value)
        ranks = range(self.size) if ranks is None else ranks
        heard = {r: (None, time.monotonic()) for r in ranks}
        pause = 0.01
        while True:
            waiting = [r for r in ranks if not self._op(lambda r=r: self.store.check([f"{tag}/{r}"]))]
            if not waiting:
                return {r: pickle.loads(self._op(lambda r=r: self.store.get(f"{tag}/{r}"))) for r in ranks}
            now = time.monotonic()
            for r in waiting:
                beats = self._op(lambda r=r: self.store.add(f"beat/{r}", 0))
                if beats != heard[r][0]:
                    heard[r] = (beats, now)
            silent = [r for r in waiting if now - heard[r][1] > 60 * self.minutes]
            if silent:
                raise RankSilent(silent, self.size, self.minutes, self.what)
            time.sleep(pause)
            pause = min(0.5, pause * 2)

    def _op(self, step):
        """``step()`` on the store, given at most the timeout (a store whose host is stopped never answers: the
        step runs in a thread left behind); the store's host (rank 0, or torchrun's agent) is then named."""
        box: dict = {}

        def run() -> None:
            try:
                box["value"] = step()
            except Exception as e:  # noqa: BLE001 - raised below, in the caller's thread
                box["error"] = e

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(60 * self.minutes)
        if "value" in box:
            return box["value"]
        if self._agent:
            raise BioseqError(f"torchrun's rendezvous store did not answer within {self.minutes:g} minutes: "
                              f"{self.what}")
        raise RankSilent([0], self.size, self.minutes, self.what)
