"""Automatic mixed precision (AMP): which float type a device computes in, for training and prediction.

``amp`` is the ``--amp`` option: ``off`` (float32 everywhere), ``bf16`` or ``fp16`` (matrix products,
convolutions and recurrent kernels in that type under ``torch.autocast``; weights, optimiser state and the
loss stay float32), or ``auto``: bfloat16 on a CUDA GPU that supports it, else off. bfloat16 keeps
float32's exponent range, so it needs no loss scaling; float16 does, so training with ``fp16`` uses a
``torch.amp.GradScaler`` (:func:`grad_scaler`). On a CPU, ``auto`` means off: bfloat16 recurrent kernels
are only fast on CPUs with native bfloat16 instructions, and float32 is the measured baseline here.

Shapes are unchanged; only dtypes differ (logits come out in the low-precision type; callers that keep
probabilities convert them to float32). Prediction code calls :func:`autocast` around its forward passes.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ..errors import TrainingError, ref

if TYPE_CHECKING:
    import torch

AMP_CHOICES = ("auto", "off", "bf16", "fp16")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 instructions that compute bfloat16 natively (Linux cpuinfo)


def cpu_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU has native bfloat16 instructions (one of :data:`BF16_CPU_FLAGS` among the ``flags`` of
    ``/proc/cpuinfo``); ``False`` where that file cannot be read (another OS): bf16 is then never chosen
    for a CPU by itself, only when asked for with ``--amp bf16``."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def amp_dtype(amp: str | None, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``, or ``None`` for float32. ``fp16`` needs CUDA."""
    import torch

    device = torch.device(device)
    if amp in (None, "off"):
        return None
    if amp == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        if device.type != "cuda":
            raise TrainingError(f"{ref('amp', 'fp16')} needs a CUDA GPU (this run is on {device.type}); "
                                f"use {ref('amp', 'bf16')} or {ref('amp', 'off')}")
        return torch.float16
    raise TrainingError(f"unknown mixed precision {amp!r}; use one of {', '.join(AMP_CHOICES)}")


def autocast(amp: str | None, device: torch.device | str) -> contextlib.AbstractContextManager:
    """A context that runs the forward pass in ``amp``'s dtype on ``device`` (nothing for float32)."""
    import torch

    dtype = amp_dtype(amp, device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def grad_scaler(amp: str | None, device: torch.device | str) -> torch.amp.GradScaler | None:
    """A loss scaler when training in float16 (small gradients would underflow), else ``None``."""
    import torch

    if amp_dtype(amp, device) is torch.float16:
        return torch.amp.GradScaler(torch.device(device).type)
    return None
