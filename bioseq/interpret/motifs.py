"""Motif candidates: the k-mer windows that carry the most attribution, and sequence-logo data.

The per-position scores ``(L,)`` come from any method of :mod:`bioseq.interpret.attribution`
(``method``, default saliency, with its ``options``); a window's score is the sum over its k letters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..model.store import ModelBundle
from .attribution import attribute


def _top_windows(seq: str, scores: np.ndarray, k: int, per_seq: int) -> list[tuple[str, float, int]]:
    """The best non-overlapping k-windows by summed score (positive only)."""
    if len(seq) < k:
        return []
    win = np.convolve(scores, np.ones(k), mode="valid")
    taken: list[tuple[str, float, int]] = []
    for start in np.argsort(-win):
        if len(taken) == per_seq or win[start] <= 0:
            break
        if all(abs(int(start) - s) >= k for _, _, s in taken):
            taken.append((seq[start:start + k].upper(), float(win[start]), int(start)))
    return taken


def motif_instances(bundle: ModelBundle, records: Sequence[Record], k: int = 6, target: str | None = None,
                    per_seq: int = 2, method: str = "saliency", **options) -> pd.DataFrame:
    """Top-scoring k-mer windows per sequence: id, target, kmer, score, start (1-based)."""
    a = attribute(bundle, records, method, target, **options)
    rows = [(r.id, bundle.classes[t], kmer, score, start + 1)
            for r, s, sc, t in zip(records, a.seqs, a.scores, a.targets)
            for kmer, score, start in _top_windows(s, sc, k, per_seq)]
    return pd.DataFrame(rows, columns=["id", "target", "kmer", "score", "start"])


def motifs(bundle: ModelBundle, records: Sequence[Record], k: int = 6, top: int = 20,
           target: str | None = None, method: str = "saliency", **options) -> pd.DataFrame:
    """Motif candidates: the k-mers that most often carry the attribution, per target class.

    Columns target, motif, count, mean_score, sequences; ranked by total score (count × mean).
    """
    inst = motif_instances(bundle, records, k, target, method=method, **options)
    if inst.empty:
        return pd.DataFrame(columns=["target", "motif", "count", "mean_score", "sequences"])
    g = inst.groupby(["target", "kmer"]).agg(count=("score", "size"), mean_score=("score", "mean"),
                                             sequences=("id", "nunique")).reset_index()
    g = g.rename(columns={"kmer": "motif"})
    g["total"] = g["count"] * g["mean_score"]
    g = g.sort_values(["target", "total"], ascending=[True, False]).groupby("target").head(top)
    return g.drop(columns="total").reset_index(drop=True)


def motif_logo(bundle: ModelBundle, records: Sequence[Record], motif: str | None = None, k: int | None = None,
               target: str | None = None, method: str = "saliency", **options) -> pd.DataFrame:
    """Sequence-logo data for a motif: the top windows within one mismatch of it, aligned.

    Columns position, letter, frequency, bits (letter height = frequency × information content).
    """
    k = len(motif) if motif else (k or 6)
    inst = motif_instances(bundle, records, k, target, method=method, **options)
    if motif is None and not inst.empty:
        motif = inst.groupby("kmer")["score"].sum().idxmax()
    letters = bundle.alphabet.letters
    cols = ["position", "letter", "frequency", "bits"]
    if not motif or inst.empty:
        return pd.DataFrame(columns=cols)
    motif = motif.upper()
    near = [w for w in inst["kmer"] if len(w) == len(motif) and sum(a != b for a, b in zip(w, motif)) <= 1]
    counts = np.zeros((len(motif), len(letters)))
    for w in near:
        for p, c in enumerate(w):
            if c in letters:
                counts[p, letters.index(c)] += 1
    freq = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(freq > 0, freq * np.log2(freq), 0.0), axis=1)
    ic = np.log2(len(letters)) - entropy
    return pd.DataFrame([(p + 1, letters[c], freq[p, c], freq[p, c] * ic[p])
                         for p in range(len(motif)) for c in range(len(letters))], columns=cols)
