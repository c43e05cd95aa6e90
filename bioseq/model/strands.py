"""Both DNA strands: the reverse complement of one-hot sequences, for training on random reverse complements
(``strand="augment"``) and for predicting the average over a sequence and its reverse complement (``"both"``).

The DNA one-hot columns are ``A, C, G, T`` (:data:`bioseq.data.alphabets.DNA`), so complementing a letter is
reversing the column order (A↔T, C↔G; an ambiguity code's fractions move with their letters, e.g. R = A/G
becomes Y = C/T). Reverse complement of one sequence ``(L, K)``: flip both axes. Of a padded batch
``(B, T, K)`` with ``lengths (B,)``: position ``t < L`` takes position ``L - 1 - t``; padding stays zero.

Training with ``strand="augment"`` (:func:`flip_batch`) reverse-complements each sequence of a batch with
probability 1/2; a labeller's label track ``(B, T)`` of a flipped sequence is reversed with it (the label of
position ``t`` goes to ``L - 1 - t``), and its logits are reversed back (:func:`reverse`) before they are kept,
so the training metrics compare each position with its own label.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.position_labels import UNSCORED
from .config import STRANDS

__all__ = ["STRANDS", "augment", "flip_batch", "flips", "reverse", "reverse_complement", "reverse_complement_array"]


def reverse_complement_array(a: np.ndarray) -> np.ndarray:
    """``(L, 4)`` DNA one-hot -> its reverse complement ``(L, 4)``."""
    return np.ascontiguousarray(a[::-1, ::-1])


def reverse(x: torch.Tensor, lengths: torch.Tensor, fill=0) -> torch.Tensor:
    """``(B, T, ...)`` padded -> each sequence reversed over its own length; ``fill`` past each length."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    lens = lengths.to(x.device)[:, None]
    src = (lens - 1 - t).clamp(min=0)  # (B, T): where position t reads from
    extra = (1,) * (x.dim() - 2)  # the feature axes, if any
    src = src.view(*src.shape, *extra).expand_as(x)
    inside = (t < lens).view(*src.shape[:2], *extra)
    return torch.where(inside, torch.gather(x, 1, src), torch.full_like(x, fill))


def reverse_complement(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``(B, T, 4)`` padded DNA one-hot -> the reverse complement of each sequence over its own length."""
    return reverse(x, lengths).flip(-1)


def flips(n: int, rng: np.random.Generator) -> np.ndarray:
    """Which of ``n`` sequences to reverse-complement: each with probability 1/2 (``rng`` decides)."""
    return rng.random(n) < 0.5


def flip_batch(x: torch.Tensor, lengths: torch.Tensor, flip: np.ndarray, y: torch.Tensor | None = None,
               fill=UNSCORED) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The rows ``flip`` of ``x (B, T, 4)`` reverse-complemented, and of a labeller's targets ``y (B, T)``
    reversed (``fill`` past each length; ``None`` stays ``None``)."""
    rows = torch.as_tensor(flip, device=x.device)
    x = torch.where(rows[:, None, None], reverse_complement(x, lengths), x)
    if y is not None:
        y = torch.where(rows.to(y.device)[:, None], reverse(y, lengths, fill), y)
    return x, y


def augment(arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Each ``(L, 4)`` array replaced by its reverse complement with probability 1/2 (``rng`` decides)."""
    flip = flips(len(arrays), rng)
    return [reverse_complement_array(a) if f else a for a, f in zip(arrays, flip)]
