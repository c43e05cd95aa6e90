"""Attribution and memory: saliency, integrated gradients, in-silico mutagenesis, motifs, memory span.

All functions take a :class:`~bioseq.store.ModelBundle` and records, run the model in eval mode
(on CPU or GPU; cuDNN is switched off around the backward pass, because cuDNN's RNN backward
refuses eval mode — captum#564) and return tidy DataFrames. Shapes inside: a batch is
``x (B, T, K)``; attributions are ``(B, T, K)`` and are summed over the alphabet to one score
per position. Padding is handled by packing, so a sequence's scores do not depend on its batch.

The score explained is the logit of the target class: a chosen class, or each sequence's
predicted class.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from .encoding import clean, fit_length, length_batches, pad_batch
from .errors import InputError
from .io import Record
from .predict import encode_records, predict_logits
from .store import ModelBundle

ISM_MAX_LENGTH = 1000  # in-silico mutagenesis runs length x (alphabet - 1) mutants


def no_cudnn():
    """Context that disables cuDNN, whose RNN backward refuses eval mode."""
    return torch.backends.cudnn.flags(enabled=False) if torch.cuda.is_available() else contextlib.nullcontext()


def target_index(bundle: ModelBundle, target: str | None) -> int | None:
    if target is None:
        return None
    if target not in bundle.classes:
        raise InputError(f"unknown class {target!r}; the model's classes are {', '.join(bundle.classes)}")
    return bundle.classes.index(target)


def prepared(bundle: ModelBundle, records: Sequence[Record]) -> tuple[list[str], list[np.ndarray]]:
    """The sequences as the model sees them (cleaned and cut) and their encodings."""
    seqs = [fit_length(clean(r.seq, bundle.alphabet), bundle.max_length, bundle.length_policy) for r in records]
    return seqs, encode_records(bundle, records)


def prepared_lengths(bundle: ModelBundle, records: Sequence[Record]) -> list[int]:
    """How many letters of each record the model sees (after cleaning and its length policy)."""
    return [len(fit_length(clean(r.seq, bundle.alphabet), bundle.max_length, bundle.length_policy))
            for r in records]


def _device(bundle: ModelBundle) -> torch.device:
    return next(bundle.model.parameters()).device


def input_gradients(bundle: ModelBundle, arrays: Sequence[np.ndarray], target: int | None,
                    scale: float = 1.0, batch_size: int = 64) -> tuple[list[np.ndarray], np.ndarray]:
    """Gradient of the target logit w.r.t. ``scale * x`` per sequence ``(L, K)``, and the targets."""
    model = bundle.model.eval()
    dev = _device(bundle)
    grads: list[np.ndarray] = [None] * len(arrays)  # type: ignore[list-item]
    targets = np.zeros(len(arrays), dtype=np.int64)
    for idx in length_batches([len(a) for a in arrays], batch_size):
        x, lengths = pad_batch([arrays[i] for i in idx])
        x = (x * scale).to(dev).requires_grad_(True)
        with no_cudnn():
            logits = model(x, lengths)
            tgt = logits.argmax(1) if target is None else torch.full((len(idx),), target, device=dev)
            # autograd.grad, not backward(): the model's parameters get no .grad (it may be shared)
            (g,) = torch.autograd.grad(logits.gather(1, tgt[:, None]).sum(), x)
        g = g.detach().cpu().numpy()
        for j, i in enumerate(idx):
            grads[i] = g[j, : len(arrays[i])]
            targets[i] = int(tgt[j])
    return grads, targets


def _per_position(bundle: ModelBundle, records, seqs, scores, targets, column: str) -> pd.DataFrame:
    frames = [pd.DataFrame({"id": r.id, "position": np.arange(1, len(s) + 1), "letter": list(s),
                            column: sc, "target": bundle.classes[t]})
              for r, s, sc, t in zip(records, seqs, scores, targets)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["id", "position", "letter", column, "target"])


def saliency_arrays(bundle: ModelBundle, records: Sequence[Record], target: str | None = None):
    """Gradient × input ``(L, K)`` per record, with sequences and target indices."""
    seqs, arrays = prepared(bundle, records)
    grads, targets = input_gradients(bundle, arrays, target_index(bundle, target))
    return seqs, [g * a for g, a in zip(grads, arrays)], targets


def saliency(bundle: ModelBundle, records: Sequence[Record], target: str | None = None) -> pd.DataFrame:
    """Gradient × input, summed over the alphabet: columns id, position, letter, saliency, target."""
    seqs, attr, targets = saliency_arrays(bundle, records, target)
    return _per_position(bundle, records, seqs, [a.sum(1) for a in attr], targets, "saliency")


def integrated_gradients(bundle: ModelBundle, records: Sequence[Record], target: str | None = None,
                         steps: int = 32) -> pd.DataFrame:
    """Integrated gradients from the all-zero input (no letter), midpoint rule with ``steps`` steps.

    Columns id, position, letter, ig, target. The scores sum to about f(x) - f(0).
    """
    seqs, arrays = prepared(bundle, records)
    t_idx = target_index(bundle, target)
    _, targets = input_gradients(bundle, arrays, t_idx)  # fix the target at the input's prediction
    total = [np.zeros_like(a) for a in arrays]
    for alpha in (np.arange(steps) + 0.5) / steps:
        by_target: dict[int, list[int]] = defaultdict(list)
        for i, t in enumerate(targets):
            by_target[int(t)].append(i)
        for t, members in by_target.items():
            g, _ = input_gradients(bundle, [arrays[i] for i in members], t, scale=float(alpha))
            for i, gi in zip(members, g):
                total[i] += gi
    scores = [(tot / steps * a).sum(1) for tot, a in zip(total, arrays)]
    return _per_position(bundle, records, seqs, scores, targets, "ig")


def _scores(bundle: ModelBundle, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Logits and probabilities ``(N, C)`` in input order, without gradients."""
    logits = predict_logits(bundle, arrays)
    return logits, torch.softmax(torch.from_numpy(logits), 1).numpy()


def ism(bundle: ModelBundle, record: Record, target: str | None = None) -> pd.DataFrame:
    """Every single-letter substitution: columns id, position, ref, alt, delta, delta_prob, target.

    ``delta`` is the change of the target logit, ``delta_prob`` of its probability. Sequences are
    limited to :data:`ISM_MAX_LENGTH` letters.
    """
    seqs, arrays = prepared(bundle, [record])
    seq, ref = seqs[0], arrays[0]
    if len(seq) > ISM_MAX_LENGTH:
        raise InputError(f"in-silico mutagenesis is limited to {ISM_MAX_LENGTH} letters; this one has {len(seq)}",
                         record.file, record.where)
    letters = bundle.alphabet.letters
    ref_logits, ref_probs = _scores(bundle, [ref])
    t = target_index(bundle, target)
    t = int(ref_logits[0].argmax()) if t is None else t
    eye = np.eye(len(letters), dtype=np.float32)
    mutants, where = [], []
    for p in range(len(seq)):
        for k, alt in enumerate(letters):
            if seq[p].upper() == alt:
                continue
            m = ref.copy()
            m[p] = eye[k]
            mutants.append(m)
            where.append((p + 1, seq[p], alt))
    logits, probs = _scores(bundle, mutants)
    return pd.DataFrame({
        "id": record.id, "position": [w[0] for w in where], "ref": [w[1] for w in where],
        "alt": [w[2] for w in where], "delta": logits[:, t] - ref_logits[0, t],
        "delta_prob": probs[:, t] - ref_probs[0, t], "target": bundle.classes[t],
    })


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
                    per_seq: int = 2) -> pd.DataFrame:
    """Top-scoring k-mer windows per sequence: id, target, kmer, score, start (1-based)."""
    seqs, attr, targets = saliency_arrays(bundle, records, target)
    rows = [(r.id, bundle.classes[t], kmer, score, start + 1)
            for r, s, a, t in zip(records, seqs, attr, targets)
            for kmer, score, start in _top_windows(s, a.sum(1), k, per_seq)]
    return pd.DataFrame(rows, columns=["id", "target", "kmer", "score", "start"])


def motifs(bundle: ModelBundle, records: Sequence[Record], k: int = 6, top: int = 20,
           target: str | None = None) -> pd.DataFrame:
    """Motif candidates: the k-mers that most often carry the attribution, per target class.

    Columns target, motif, count, mean_score, sequences; ranked by total score (count × mean).
    """
    inst = motif_instances(bundle, records, k, target)
    if inst.empty:
        return pd.DataFrame(columns=["target", "motif", "count", "mean_score", "sequences"])
    g = inst.groupby(["target", "kmer"]).agg(count=("score", "size"), mean_score=("score", "mean"),
                                             sequences=("id", "nunique")).reset_index()
    g = g.rename(columns={"kmer": "motif"})
    g["total"] = g["count"] * g["mean_score"]
    g = g.sort_values(["target", "total"], ascending=[True, False]).groupby("target").head(top)
    return g.drop(columns="total").reset_index(drop=True)


def motif_logo(bundle: ModelBundle, records: Sequence[Record], motif: str | None = None, k: int | None = None,
               target: str | None = None) -> pd.DataFrame:
    """Sequence-logo data for a motif: the top windows within one mismatch of it, aligned.

    Columns position, letter, frequency, bits (letter height = frequency × information content).
    """
    k = len(motif) if motif else (k or 6)
    inst = motif_instances(bundle, records, k, target)
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


def memory_curve(bundle: ModelBundle, records: Sequence[Record], target: str | None = None) -> pd.DataFrame:
    """Mean influence ‖∂score/∂x(p)‖ of each input position by distance from the end of the sequence.

    Distance 0 is the last letter (where a forward read-out sits). Columns distance, influence,
    relative (influence / its peak), sequences (how many sequences reach that distance).
    """
    _, arrays = prepared(bundle, records)
    grads, _ = input_gradients(bundle, arrays, target_index(bundle, target))
    sums: dict[int, list[float]] = defaultdict(list)
    for g in grads:
        norms = np.linalg.norm(g, axis=1)[::-1]
        for d, v in enumerate(norms):
            sums[d].append(float(v))
    dist = np.array(sorted(sums))
    infl = np.array([np.mean(sums[d]) for d in dist]) if len(dist) else np.array([])
    peak = infl.max() if infl.size and infl.max() > 0 else 1.0
    return pd.DataFrame({"distance": dist, "influence": infl, "relative": infl / peak,
                         "sequences": [len(sums[d]) for d in dist]})


def effective_memory(curve: pd.DataFrame, fraction: float = 0.01) -> int | None:
    """The first distance beyond the peak where influence falls below ``fraction`` of the peak.

    ``None`` when it never does within the sequences given (the model reaches all the way back).
    """
    if curve.empty:
        return None
    rel = curve["relative"].to_numpy()
    peak = int(np.argmax(rel))
    below = np.flatnonzero(rel[peak:] < fraction)
    return int(curve["distance"].iloc[peak + below[0]]) if below.size else None


Explainer = Callable[..., pd.DataFrame]
