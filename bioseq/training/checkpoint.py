"""Per-epoch training checkpoints in safetensors (no pickle), written atomically.

Tensors: ``model.*`` (current weights), ``best.*`` (best weights so far), ``opt.<i>.<key>``
(AdamW state per parameter), ``rng.torch`` (the CPU random state). JSON metadata holds the epoch,
step, history, early-stopping counters and the recorded gradient rows.
"""

from __future__ import annotations

import json
import os

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from ..errors import TrainingError
from ..workspace import atomic_write


def save(path: str | os.PathLike, model: nn.Module, opt: torch.optim.Optimizer, info: dict) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in info["best"]["state"].items()})
    sd = opt.state_dict()
    for i, st in sd["state"].items():
        for key, v in st.items():
            tensors[f"opt.{i}.{key}"] = torch.as_tensor(v).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {k: v for k, v in info.items() if k != "best"}
    meta.update(best_loss=info["best"]["loss"], best_epoch=info["best"]["epoch"], param_groups=sd["param_groups"])
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"bioseq_checkpoint": json.dumps(meta)}))


def load(path: str | os.PathLike, model: nn.Module, opt: torch.optim.Optimizer, device: torch.device) -> dict:
    """Restore model, optimiser and RNG state; return the metadata with ``best`` rebuilt."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads(f.metadata()["bioseq_checkpoint"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 - any damage means the checkpoint cannot be used
        raise TrainingError(f"{path}: cannot resume from this checkpoint ({e}); start again without --resume") from None
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        state: dict[int, dict] = {}
        for k, v in tensors.items():
            if k.startswith("opt."):
                _, i, key = k.split(".", 2)
                state.setdefault(int(i), {})[key] = v.to(device) if key != "step" else v
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (RuntimeError, KeyError, ValueError) as e:  # PyTorch's size-mismatch report is many lines: the first two
        lines = [t.strip() for t in str(e).strip().splitlines() if t.strip()]
        raise TrainingError(f"{path}: the checkpoint does not match this model ({' '.join(lines[:2])}); "
                            "resume with the same options, or start again without --resume") from None
    torch.set_rng_state(tensors["rng.torch"])
    meta["best"] = {"loss": meta["best_loss"], "epoch": meta["best_epoch"],
                    "state": {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("best.")}}
    return meta
