"""Input encodings beside one-hot (``--encoding``), applied as the model's first layer.

The model always takes the one-hot input ``x (B, T, K)`` (IUPAC codes as fractional rows, zeros past each
length) and maps each position to a vector here, before the convolution or the first recurrent layer. So
every attribution method (saliency, integrated gradients, in-silico mutagenesis) still sees, perturbs and
scores the one-hot letters, and an ambiguity code is the same mixture of its letters' encodings.

* ``onehot``: no layer (the models of earlier versions; their files load and predict exactly as before).
* ``blosum62`` (protein): each letter's row of BLOSUM62 (Henikoff & Henikoff 1992, as Biopython ships it,
  ``Bio.Align.substitution_matrices.load("BLOSUM62")``) divided by 4, a fixed linear map ``K -> 20``.
* ``physchem`` (protein): the one-hot columns followed by four descriptors, each standardised to mean 0 and
  standard deviation 1 over the 20 residues: hydropathy (Kyte & Doolittle 1982), side-chain charge at pH 7
  (K, R +1; D, E −1; H +0.1), residue volume in Å³ (Zamyatnin 1972) and polarity (Grantham 1974).
  A fixed linear map ``K -> K + 4``.
* ``embedding``: a learned linear map ``K -> embed_size`` without bias (an ``nn.Embedding`` that also takes
  fractional rows).
* ``kmer``: a learned embedding of the k-mer centred on each position (``kmer`` letters, the extra letter of
  an even k on the right), for nucleotides (``K ** kmer`` at most :data:`MAX_KMERS`): the k-mer's one-hot
  vector over ``K ** k`` k-mers is the outer product of its letters' rows (a fractional row spreads over the
  k-mers it may be), a letter beyond either end of the sequence counts as unknown (``1/K`` each), and a
  linear map ``K ** k -> embed_size`` embeds it. Output ``t`` still is position ``t``.

The fixed maps are buffers left out of the saved weights (rebuilt from the config).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import nn

from ..data.alphabets import PROTEIN
from .config import ENCODINGS, MAX_KMERS, ModelConfig

__all__ = ["ENCODINGS", "MAX_KMERS", "PHYSCHEM", "blosum62_rows", "build", "out_size", "physchem_rows", "reach"]

# per residue: Kyte-Doolittle hydropathy, charge at pH 7, Zamyatnin volume (A^3), Grantham polarity
PHYSCHEM = {
    "A": (1.8, 0.0, 88.6, 8.1), "R": (-4.5, 1.0, 173.4, 10.5), "N": (-3.5, 0.0, 114.1, 11.6),
    "D": (-3.5, -1.0, 111.1, 13.0), "C": (2.5, 0.0, 108.5, 5.5), "Q": (-3.5, 0.0, 143.8, 10.5),
    "E": (-3.5, -1.0, 138.4, 12.3), "G": (-0.4, 0.0, 60.1, 9.0), "H": (-3.2, 0.1, 153.2, 10.4),
    "I": (4.5, 0.0, 166.7, 5.2), "L": (3.8, 0.0, 166.7, 4.9), "K": (-3.9, 1.0, 168.6, 11.3),
    "M": (1.9, 0.0, 162.9, 5.7), "F": (2.8, 0.0, 189.9, 5.2), "P": (-1.6, 0.0, 112.7, 8.0),
    "S": (-0.8, 0.0, 89.0, 9.2), "T": (-0.7, 0.0, 116.1, 8.6), "W": (-0.9, 0.0, 227.8, 5.4),
    "Y": (-1.3, 0.0, 193.6, 6.2), "V": (4.2, 0.0, 140.0, 5.9),
}


@cache
def blosum62_rows(letters: str = PROTEIN.letters) -> np.ndarray:
    """``(len(letters), len(letters))`` float32: row ``i`` is BLOSUM62's row of ``letters[i]`` over ``letters``,
    divided by 4."""
    from Bio.Align import substitution_matrices

    m = substitution_matrices.load("BLOSUM62")
    rows = np.array([[m[a][b] for b in letters] for a in letters], dtype=np.float32) / 4
    rows.setflags(write=False)
    return rows


@cache
def physchem_rows(letters: str = PROTEIN.letters) -> np.ndarray:
    """``(K, K + 4)`` float32: the identity (one-hot) beside the four standardised descriptors of each letter."""
    d = np.array([PHYSCHEM[a] for a in letters], dtype=np.float64)
    z = (d - d.mean(0)) / d.std(0)
    rows = np.concatenate([np.eye(len(letters)), z], axis=1).astype(np.float32)
    rows.setflags(write=False)
    return rows


_FIXED = {"blosum62": blosum62_rows, "physchem": physchem_rows}


def out_size(cfg: ModelConfig) -> int:
    """The features per position after the encoding: what the convolution or the first recurrent layer reads."""
    if cfg.encoding in _FIXED:
        return _FIXED[cfg.encoding]().shape[1]
    return cfg.embed_size if cfg.encoding in ("embedding", "kmer") else cfg.alphabet_size


def reach(cfg: ModelConfig) -> tuple[int, int]:
    """``(back, ahead)``: the letters beside a position that its encoded vector reads (a k-mer's other letters)."""
    return ((cfg.kmer - 1) // 2, cfg.kmer // 2) if cfg.encoding == "kmer" else (0, 0)


def position_bytes(cfg: ModelConfig) -> int:
    """Bytes per input position the encoding holds in a forward pass (the k-mer vectors are the large part)."""
    kmers = cfg.alphabet_size ** cfg.kmer if cfg.encoding == "kmer" else 0
    return 4 * (kmers + out_size(cfg)) if cfg.encoding != "onehot" else 0


class FixedMap(nn.Module):
    """``(B, T, K) -> (B, T, E)`` by a fixed matrix ``(K, E)`` (a buffer, not saved: rebuilt from the config)."""

    def __init__(self, rows: np.ndarray):
        super().__init__()
        self.register_buffer("rows", torch.tensor(np.array(rows)), persistent=False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return x @ self.rows.to(x.dtype)


class Embedding(nn.Module):
    """A learned ``K -> E`` map without bias; zero rows (padding) stay zero."""

    def __init__(self, size: int, embed_size: int):
        super().__init__()
        self.embed = nn.Linear(size, embed_size, bias=False)
        nn.init.normal_(self.embed.weight, std=embed_size ** -0.5)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


class KmerEmbedding(Embedding):
    """The learned embedding of the k-mer centred on each position (see the module docstring)."""

    def __init__(self, size: int, k: int, embed_size: int):
        super().__init__(size ** k, embed_size)
        self.size, self.k = size, k

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        B, T, K = x.shape
        t = torch.arange(T, device=x.device)[None, :]
        inside = t < lengths.to(x.device)[:, None]  # (B, T)
        left = (self.k - 1) // 2
        vec = None
        for j in range(self.k):
            shift = j - left  # the letter at position t + shift
            src = (t + shift).clamp(0, T - 1).expand(B, -1)
            row = torch.gather(x, 1, src[:, :, None].expand(-1, -1, K))
            ok = (inside & (t + shift >= 0) & (t + shift < lengths.to(x.device)[:, None]))[:, :, None]
            row = torch.where(ok, row, torch.full_like(row, 1.0 / K))
            vec = row if vec is None else (vec[:, :, :, None] * row[:, :, None, :]).reshape(B, T, -1)
        return self.embed(vec).masked_fill(~inside[:, :, None], 0.0)


def build(cfg: ModelConfig) -> nn.Module | None:
    """The encoding layer of ``cfg``, or ``None`` for one-hot."""
    if cfg.encoding in _FIXED:
        return FixedMap(_FIXED[cfg.encoding]())
    if cfg.encoding == "embedding":
        return Embedding(cfg.alphabet_size, cfg.embed_size)
    if cfg.encoding == "kmer":
        return KmerEmbedding(cfg.alphabet_size, cfg.kmer, cfg.embed_size)
    return None
