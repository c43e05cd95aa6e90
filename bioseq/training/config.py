"""Training options (:class:`TrainConfig`) and the seeding helper (the device choice is :mod:`bioseq.runtime`'s).

PyTorch and NumPy load inside the helpers, so the options table can be read without them.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

from ..errors import InputError
from ..model.precision import AMP_CHOICES
from ..option_spec import check_fields, declare, opt


@declare("training")
@dataclass
class TrainConfig:
    """Training options; the defaults are the ones measured to learn (see docs/training.md)."""

    epochs: int = opt(20, label="Epochs", min=1, max=1000, help="maximum passes over the training data")
    batch_size: int = opt(32, label="Batch size", min=1, max=4096, help="sequences per optimiser step")
    lr: float = opt(3e-3, label="Learning rate", min=0.0, max=1.0, step=1e-4,
                    help="AdamW step size; lower it if the loss jumps or turns NaN")
    weight_decay: float = opt(1e-2, label="Weight decay", min=0.0, max=1.0, step=1e-3,
                              help="AdamW shrinkage of the weights, a mild regulariser")
    patience: int = opt(4, label="Patience", min=1, max=1000,
                        help="early stopping: stop after this many epochs without a better validation loss")
    clip: float | None = opt(1.0, label="Gradient clipping", min=0.0, max=100.0, step=0.5, none=0.0, unset="off",
                             help="cap the gradient's L2 norm at this, against exploding gradients; 0 turns it off")
    class_weights: bool = opt(True, label="Class weights", help="weight classes by inverse frequency, for "
                              "unbalanced data")
    seed: int = opt(0, label="Seed", min=0, help="random seed: the same seed and options give the same model")
    seeds: int = opt(1, label="Ensemble of seeds", min=1, max=20, help="train this many models (seeds seed, "
                     "seed+1, ...) and save them as one ensemble file that averages their probabilities")
    deterministic: bool = opt(False, label="Deterministic", help="ask PyTorch for deterministic kernels (slower)")
    device: str = opt("auto", label="Device", choices=("auto", "cpu", "cuda"), open_choices=True,
                      help="auto uses a CUDA GPU when there is one")
    grad_every: int = opt(1, label="Record gradients every", min=1, max=1000,
                          help="optimiser steps between per-layer gradient recordings (the Gradient flow page)")
    max_steps: int | None = opt(None, label="Max steps per epoch", min=1, max=10_000_000, none=0, unset="all",
                                help="at most this many optimiser steps per epoch (a quick pass over large data)")
    group_by_length: bool = opt(True, label="Group by length", help="batch sequences of similar length "
                                "together, so less padding is computed")
    amp: str = opt("auto", label="Mixed precision", choices=AMP_CHOICES,
                   help="compute in bfloat16 or float16 (with loss scaling) under autocast, for training and "
                   "validation; auto is bf16 on a CUDA GPU that supports it and off on a CPU (float32, the "
                   "measured baseline there; fp16 needs CUDA)")

    schedule: str = opt("constant", label="Learning-rate schedule", choices=("constant", "onecycle", "cosine"),
                        help="constant keeps the learning rate; onecycle warms up to it over the first 30% of the "
                        "steps and anneals to 1/250000 of it; cosine anneals from it to zero over the epochs")
    swa: bool = opt(False, label="Weight averaging (SWA)", help="stochastic weight averaging: average the weights "
                    "of every epoch from the first that does not improve the validation loss, and keep the "
                    "average when its validation loss is lower than the best epoch's")
    label_smoothing: float = opt(0.0, label="Label smoothing", min=0.0, max=0.5, step=0.05,
                                 help="train towards (1 - s) on the true class and s spread over all classes, "
                                 "against over-confidence; the validation loss stays unsmoothed")

    def validate(self) -> TrainConfig:
        """``self`` if every option's value is valid (type, choices, range), else :class:`InputError`
        naming the first that is not."""
        check_fields(self, InputError)
        return self


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch; optionally ask PyTorch for deterministic kernels."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
