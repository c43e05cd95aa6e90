"""Both DNA strands: the reverse complement of one-hot sequences, for training on random reverse complements
(``strand="augment"``) and for predicting the average over a sequence and its reverse complement (``"both"``).

The DNA one-hot columns are ``A, C, G, T`` (:data:`bioseq.data.alphabets.DNA`), so complementing a letter is
reversing the column order (A↔T, C↔G; an ambiguity code's fractions move with their letters, e.g. R = A/G
becomes Y = C/T). Reverse complement of one sequence ``(L, K)``: flip both axes. Of a padded batch
``(B, T, K)`` with ``lengths (B,)``: position ``t < L`` takes position ``L - 1 - t``; padding stays zero.
"""

from __future__ import annotations

import numpy as np
import torch

from .config import STRANDS

__all__ = ["STRANDS", "augment", "reverse_complement", "reverse_complement_array"]


def reverse_complement_array(a: np.ndarray) -> np.ndarray:
    """``(L, 4)`` DNA one-hot -> its reverse complement ``(L, 4)``."""
    return np.ascontiguousarray(a[::-1, ::-1])


def reverse_complement(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``(B, T, 4)`` padded DNA one-hot -> the reverse complement of each sequence over its own length."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    lens = lengths.to(x.device)[:, None]
    src = (lens - 1 - t).clamp(min=0)  # (B, T): where position t reads from
    out = torch.gather(x, 1, src[:, :, None].expand(-1, -1, x.shape[2])).flip(-1)
    return out * (t < lens)[:, :, None].to(x.dtype)


def augment(arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Each ``(L, 4)`` array replaced by its reverse complement with probability 1/2 (``rng`` decides)."""
    flip = rng.random(len(arrays)) < 0.5
    return [reverse_complement_array(a) if f else a for a, f in zip(arrays, flip)]
