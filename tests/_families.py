"""Hand-made sequence families with known identities, and an independent identity check (Biopython).

A variant of a root changes the positions ``p`` with ``(p * 7) % L < k`` (so exactly ``k`` of ``L``; the
sets are nested as ``k`` grows), each to the letter ``shift`` places further round the alphabet, so two
variants of one root with different shifts differ at every position either changed: their identity
is ``1 - max(k) / L``, and a variant's identity to its root is ``1 - k / L``.
"""

from __future__ import annotations

import numpy as np
from Bio.Align import PairwiseAligner, substitution_matrices

AMINO = "ACDEFGHIKLMNPQRSTVWY"
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def variant(root: str, k: int, shift: int, letters: str) -> str:
    n = len(root)
    out = list(root)
    for p in range(n):
        if (p * 7) % n < k:
            out[p] = letters[(letters.index(root[p]) + shift) % len(letters)]
    return "".join(out)


def random_seq(rng: np.random.Generator, n: int, letters: str) -> str:
    return "".join(rng.choice(list(letters), n))


def protein_family(rng: np.random.Generator, name: str) -> list[tuple[str, str]]:
    """A 40-letter root, variants 90%, 70%, 45% (linked at 0.4) and 30% (not), and a 20-letter fragment."""
    root = random_seq(rng, 40, AMINO)
    return [(f"{name}_root", root), (f"{name}_v90", variant(root, 4, 1, AMINO)),
            (f"{name}_v70", variant(root, 12, 2, AMINO)), (f"{name}_v45", variant(root, 22, 3, AMINO)),
            (f"{name}_v30", variant(root, 28, 4, AMINO)), (f"{name}_frag", root[5:25])]


def dna_family(rng: np.random.Generator, name: str) -> list[tuple[str, str]]:
    """A 60-letter root, variants 95%, 88% (as its reverse complement) and 83% (linked at 0.8), 70% (not),
    and a 30-letter fragment."""
    root = random_seq(rng, 60, "ACGT")
    return [(f"{name}_root", root), (f"{name}_v95", variant(root, 3, 1, "ACGT")),
            (f"{name}_v88rc", variant(root, 7, 2, "ACGT")[::-1].translate(COMPLEMENT)),
            (f"{name}_v83", variant(root, 10, 3, "ACGT")), (f"{name}_v70", variant(root, 18, 1, "ACGT")),
            (f"{name}_frag", root[20:50])]


def families(kind: str, n: int = 4, unrelated: int = 6, seed: int = 7) -> list[tuple[str, str, str]]:
    """``(id, seq, label)``: ``n`` families and ``unrelated`` lone sequences; labels alternate within a family."""
    rng = np.random.default_rng(seed)
    make, letters, length = (protein_family, AMINO, 40) if kind == "protein" else (dna_family, "ACGT", 60)
    recs = [r for f in range(n) for r in make(rng, f"f{f}")]
    recs += [(f"lone{i}", random_seq(rng, length, letters)) for i in range(unrelated)]
    return [(i, s, f"c{j % 2}") for j, (i, s) in enumerate(recs)]


def independent_identity(kind: str):
    """Identity (identical positions / shorter length) by Biopython's aligner, global with free end gaps
    (a different alignment from the tools'): BLOSUM62 and gap 11 + 1 for protein; +1/-1, gap 2 + 1 and
    both strands for DNA."""
    if kind == "protein":
        al = PairwiseAligner(mode="global", substitution_matrix=substitution_matrices.load("BLOSUM62"),
                             open_gap_score=-12, extend_gap_score=-1, end_gap_score=0)
    else:
        al = PairwiseAligner(mode="global", match_score=1, mismatch_score=-1, open_gap_score=-3,
                             extend_gap_score=-1, end_gap_score=0)

    def identity(a: str, b: str) -> float:
        strands = (b,) if kind == "protein" else (b, b[::-1].translate(COMPLEMENT))
        return max(al.align(a, s)[0].counts().identities for s in strands) / min(len(a), len(b))

    return identity


def crossing_pairs(kind: str, train: list[str], val: list[str], threshold: float) -> list[tuple[int, int, float]]:
    """Every (val, train) pair whose independent identity is ``threshold`` or more."""
    identity = independent_identity(kind)
    out = []
    for i, v in enumerate(val):
        for j, t in enumerate(train):
            x = identity(v, t)
            if x >= threshold:
                out.append((i, j, x))
    return out
