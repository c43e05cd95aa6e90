"""Training options (:class:`TrainConfig`), the seeding helper and the device choice."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import TrainingError


@dataclass
class TrainConfig:
    """Training options; the defaults are the ones measured to learn (see README)."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 4  # early stopping: epochs without a better validation loss
    clip: float | None = 1.0  # max gradient L2 norm; None or 0 turns clipping off
    class_weights: bool = True
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    grad_every: int = 1  # record per-layer gradient norms every k optimiser steps
    group_by_length: bool = True


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch; optionally ask PyTorch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for, but PyTorch sees no CUDA GPU here; use --device cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise TrainingError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)
