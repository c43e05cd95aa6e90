"""Motif candidates: the k-mer windows that carry the most attribution, ranked by enrichment; sequence-logo data.

The per-position scores ``(L,)`` come from any method of :mod:`bioseq.interpret.attribution`
(``method``, default saliency, with its ``options``); a window's score is the sum over its k letters, and a
record's **peak** k-mers are its best non-overlapping windows (``per_seq``, positive scores only).

A candidate is ranked by its **enrichment** in the class explained c: the share of the records of class c (the
class the model predicts for them) with the k-mer among their peaks, against the share of the other records
with it among theirs, each with a pseudo-count of one record on either side::

    enrichment = ((n_c(m) + 1) / (n_c + 2)) / ((n_other(m) + 1) / (n_other + 2))

so a planted site at the peak of every record of its class and of no other ranks far above k-mers that peak
once (count-1 noise: about 2), whatever the class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..model.store import ModelBundle
from .attribution import attribute
from .inputs import prepared, resolve_targets

PSEUDO = 1.0  # records added to each side of an enrichment's shares
COLUMNS = ["target", "motif", "count", "mean_score", "sequences", "in_class", "in_others", "enrichment"]


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


def _instances(bundle: ModelBundle, records: Sequence[Record], k: int, target: str | None, per_seq: int,
               method: str, **options) -> tuple[pd.DataFrame, list[str]]:
    """The peak windows (with ``record``, the record's index) and each record's class (the predicted one)."""
    a = attribute(bundle, records, method, target, **options)
    predicted = a.targets if target is None else resolve_targets(bundle, prepared(bundle, records)[1], None)
    rows = [(i, r.id, bundle.classes[t], kmer, score, start + 1)
            for i, (r, s, sc, t) in enumerate(zip(records, a.seqs, a.scores, a.targets))
            for kmer, score, start in _top_windows(s, sc, k, per_seq)]
    inst = pd.DataFrame(rows, columns=["record", "id", "target", "kmer", "score", "start"])
    return inst, [bundle.classes[int(c)] for c in predicted]


def motif_instances(bundle: ModelBundle, records: Sequence[Record], k: int = 6, target: str | None = None,
                    per_seq: int = 2, method: str = "saliency", **options) -> pd.DataFrame:
    """Top-scoring k-mer windows per sequence: id, target, kmer, score, start (1-based)."""
    return _instances(bundle, records, k, target, per_seq, method, **options)[0].drop(columns="record")


def enrichment(inst: pd.DataFrame, classes: Sequence[str], pseudo: float = PSEUDO) -> pd.DataFrame:
    """Per (target, kmer) of peak windows ``inst`` (``record`` index, ``target``, ``kmer``), with ``classes`` the
    class of each record: ``in_class`` (share of the target class's records with the k-mer at a peak),
    ``in_others`` (the same among the other records) and ``enrichment`` (their ratio with ``pseudo`` records added
    to each side, see the module docstring)."""
    cls = np.asarray(classes, dtype=object)
    peaks = inst.drop_duplicates(["record", "kmer"])[["record", "kmer"]]
    holders = {kmer: cls[g["record"].to_numpy()] for kmer, g in peaks.groupby("kmer")}  # the classes of its records
    rows = []
    for target, kmer in inst[["target", "kmer"]].drop_duplicates().itertuples(index=False):
        held, n_in = holders[kmer], int((cls == target).sum())
        hit_in = int((held == target).sum())
        hit_out, n_out = len(held) - hit_in, len(cls) - n_in
        share_in = (hit_in + pseudo) / (n_in + 2 * pseudo)
        share_out = (hit_out + pseudo) / (n_out + 2 * pseudo)
        rows.append((target, kmer, hit_in / n_in if n_in else 0.0, hit_out / n_out if n_out else 0.0,
                     share_in / share_out))
    return pd.DataFrame(rows, columns=["target", "kmer", "in_class", "in_others", "enrichment"])


def motifs(bundle: ModelBundle, records: Sequence[Record], k: int = 6, top: int = 20,
           target: str | None = None, method: str = "saliency", **options) -> pd.DataFrame:
    """Motif candidates: the k-mers at the attribution peaks, the ``top`` most enriched per class explained.

    Columns target, motif, count (peak windows), mean_score, sequences (records), in_class, in_others, enrichment
    (see the module docstring); ranked by enrichment in the class explained over all classes, then by total score
    (count × mean).
    """
    inst, classes = _instances(bundle, records, k, target, 2, method, **options)
    if inst.empty:
        return pd.DataFrame(columns=COLUMNS)
    g = inst.groupby(["target", "kmer"]).agg(count=("score", "size"), mean_score=("score", "mean"),
                                             sequences=("record", "nunique")).reset_index()
    g = g.merge(enrichment(inst, classes), on=["target", "kmer"]).rename(columns={"kmer": "motif"})
    g["total"] = g["count"] * g["mean_score"]
    g = g.sort_values(["enrichment", "total", "motif"], ascending=[False, False, True])
    return g.groupby("target").head(top).drop(columns="total").reset_index(drop=True)[COLUMNS]


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
    return logo_rows(counts / np.maximum(counts.sum(1, keepdims=True), 1), letters)


def logo_rows(freq: np.ndarray, letters: str) -> pd.DataFrame:
    """Letter frequencies ``(W, K)`` as logo rows: position (1-based), letter, frequency, bits (letter height =
    frequency × information content)."""
    freq = np.asarray(freq, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(freq > 0, freq * np.log2(freq), 0.0), axis=1)
    ic = np.log2(len(letters)) - entropy
    return pd.DataFrame([(p + 1, letters[c], freq[p, c], freq[p, c] * ic[p])
                         for p in range(len(freq)) for c in range(len(letters))],
                        columns=["position", "letter", "frequency", "bits"])
