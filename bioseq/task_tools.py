"""The :class:`~bioseq.task.Task`'s helpers: class weights (and a warning where one is capped), the per-position
loss and targets, encoding after a length policy, and the rows of a prediction table. Only numpy loads with this
module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

WEIGHT_CAP = 10.0  # no class weighs more than this many times the most common class


def class_weight_vector(labels: np.ndarray, n_classes: int):
    """Inverse-frequency weights normalised to mean 1 (a missing class gets weight 1); negative labels
    (unscored positions) are not counted. A rare class's weight is capped at :data:`WEIGHT_CAP` times the
    most common class's: one record among 80 would otherwise outweigh all the others and the model would
    call everything that class (see :func:`weight_warnings`)."""
    import torch
    labels = np.asarray(labels)
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 1.0)
    if (counts > 0).any():
        w = np.minimum(w, WEIGHT_CAP * w[counts > 0].min())
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def weight_warnings(per_class: Mapping[str, int], weighted: bool = True, unit: str = "sequences",
                    word: str = "class") -> list[str]:
    """One line per class (``word``) with more than :data:`WEIGHT_CAP` times fewer training ``unit`` than the
    largest: too few to learn from, and (``weighted``) its class weight is capped."""
    top = max(per_class.values(), default=0)
    out = []
    for c, n in per_class.items():
        if 0 < n and top / n > WEIGHT_CAP:
            weight = (f"its weight is capped at {WEIGHT_CAP:g}x the largest {word}'s (inverse frequency would give "
                      f"{top / n:.0f}x); " if weighted else "")
            out.append(f"{word} {c!r} has {n} training {unit if n > 1 else unit[:-1]} against {top} of the largest "
                       f"{word}: {weight}so few are hard to learn: add some, or merge or drop the {word} "
                       "(class map)")
    return out


def refuse_options(given: Mapping, allowed: Sequence[str], why: str) -> None:
    """Refuse, in one line ending in ``why``, the options of ``given`` (name -> value) that are set but not
    ``allowed``: they would be ignored."""
    from .errors import InputError, ref
    other = [ref(k) for k, v in given.items() if v and k not in allowed]
    if other:
        raise InputError(f"{' and '.join(other)} {'are' if len(other) > 1 else 'is'} {why}")


def position_loss(logits, targets, weight=None, smoothing: float = 0.0):
    """``(loss, weight sum)``: the mean over scored positions of −log p(y⁽ᵗ⁾), from logits ``(B, T, C)`` and
    targets ``(B, T)`` (:data:`UNSCORED` = not scored). With per-label ``weight (C,)`` it is the weighted mean
    ``Σ w_y C⁽ᵗ⁾ / Σ w_y``; with ``smoothing`` s each position's target is (1 − s) on its label and s/C on every
    label (PyTorch's ``label_smoothing``). A batch with no scored position gives 0 (and no gradient)."""
    from torch import nn

    from .data.position_labels import UNSCORED
    flat = targets.reshape(-1)
    keep = flat != UNSCORED
    scored = logits.reshape(-1, logits.shape[-1])[keep]  # (scored positions, C)
    y = flat[keep]
    total = nn.functional.cross_entropy(scored, y, weight=weight, reduction="sum", label_smoothing=smoothing)
    count = weight[y].sum() if weight is not None else keep.sum().to(total.dtype)
    return total / count.clamp_min(1e-12), count.detach()


def pad_targets(tracks: Sequence[np.ndarray], width: int):
    """Per-sequence targets ``(length_i,)`` -> ``(B, width)`` int64, :data:`UNSCORED` past each length."""
    import torch

    from .data.position_labels import UNSCORED
    out = np.full((len(tracks), width), UNSCORED, dtype=np.int64)
    for i, t in enumerate(tracks):
        out[i, : len(t)] = t
    return torch.from_numpy(out)


def encode_cut(bundle, records) -> list[np.ndarray]:
    """The rows the model reads per record after its length policy (``max_length``); every letter is checked,
    positions as in the file, and a long record is checked a block at a time with only its kept part encoded."""
    from .data.encoding import encode_cut as encode
    return [encode(r.seq, bundle.alphabet, bundle.max_length, bundle.length_policy, file=r.file, record=r.where)
            for r in records]


def label_string(labels: Sequence[str], probs: np.ndarray) -> str:
    """The most probable label at each position, as a string as long as the sequence."""
    return "".join(np.asarray(labels, dtype=object)[np.asarray(probs).argmax(-1)]) if len(probs) else ""


def probability_frame(classes: Sequence[str], probs: np.ndarray):
    """``prediction, p_<class>...`` for probability rows ``(n, C)``."""
    import pandas as pd

    probs = np.asarray(probs, dtype=float).reshape(-1, len(classes))
    table = pd.DataFrame(probs, columns=[f"p_{c}" for c in classes])
    table.insert(0, "prediction", np.asarray(classes, dtype=object)[probs.argmax(1)] if len(probs) else [])
    return table


def detected(train, labels_fasta=None, given: str | None = None, *, per_position: bool = False) -> str:
    """The name of the task of training data: ``given`` wins; else ``label`` for per-position data
    (``per_position``, label FASTA files, or three-line FASTA), else ``classify``."""
    from .data.position_labels import is_position_data
    return given or ("label" if per_position or is_position_data(train, labels_fasta) else "classify")
