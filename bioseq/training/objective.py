"""What the training loop minimises and reports, per task: one label per sequence, or one per position.

* **classify**: logits ``(B, C)``, targets ``(B,)`` class indices; probabilities are kept as ``(N, C)``.
* **label** (sequence labelling, the lecture's C = Σₜ C⁽ᵗ⁾): logits ``(B, T, C)``, targets ``(B, T)`` int64
  with :data:`~bioseq.data.position_labels.UNSCORED` at padded and unscored positions; the loss is the mean
  of the per-position cross-entropies over scored positions (:func:`position_loss`), and probabilities are
  kept as one ``(length, C)`` array per sequence. Unscored positions enter no loss and no metric.

An objective's ``loss`` returns ``(mean loss, weight)``: the weight (sequences, or the scored positions'
class-weight sum) lets the loop average over batches exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data.position_labels import UNSCORED
from ..metrics import classification_metrics, confusion
from ..metrics.positions import position_confusion, position_metrics

WEIGHT_CAP = 10.0  # no class weighs more than this many times the most common class


def class_weight_vector(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights normalised to mean 1 (a missing class gets weight 1); negative labels
    (unscored positions) are not counted. A rare class's weight is capped at :data:`WEIGHT_CAP` times the
    most common class's: one record among 80 would otherwise outweigh all the others and the model would
    call everything that class (see :func:`weight_warnings`)."""
    labels = np.asarray(labels)
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 1.0)
    if (counts > 0).any():
        w = np.minimum(w, WEIGHT_CAP * w[counts > 0].min())
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def weight_warnings(per_class: Mapping[str, int], weighted: bool = True, what: str = "records") -> list[str]:
    """One line per class with more than :data:`WEIGHT_CAP` times fewer training ``what`` than the largest:
    too few to learn from, and (``weighted``) its class weight is capped."""
    top = max(per_class.values(), default=0)
    out = []
    for c, n in per_class.items():
        if 0 < n and top / n > WEIGHT_CAP:
            weight = (f"its class weight is capped at {WEIGHT_CAP:g}x the largest class's (inverse frequency "
                      f"would give {top / n:.0f}x); " if weighted else "")
            out.append(f"class {c!r} has {n} training {what if n > 1 else what[:-1]} against {top} of the largest "
                       f"class: {weight}so few are hard to learn: add some, or merge or drop the class (class map)")
    return out


def position_loss(logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, weight sum)``: the mean over scored positions of −log p(y⁽ᵗ⁾), from logits ``(B, T, C)`` and
    targets ``(B, T)`` (:data:`UNSCORED` = not scored). With per-label ``weight (C,)`` it is the weighted mean
    ``Σ w_y C⁽ᵗ⁾ / Σ w_y``. A batch with no scored position gives 0 (and no gradient)."""
    flat = targets.reshape(-1)
    keep = flat != UNSCORED
    scored = logits.reshape(-1, logits.shape[-1])[keep]  # (scored positions, C)
    y = flat[keep]
    total = nn.functional.cross_entropy(scored, y, weight=weight, reduction="sum")
    count = weight[y].sum() if weight is not None else keep.sum().to(total.dtype)
    return total / count.clamp_min(1e-12), count.detach()


def pad_targets(tracks: Sequence[np.ndarray], width: int) -> torch.Tensor:
    """Per-sequence targets ``(length_i,)`` -> ``(B, width)`` int64, :data:`UNSCORED` past each length."""
    out = np.full((len(tracks), width), UNSCORED, dtype=np.int64)
    for i, t in enumerate(tracks):
        out[i, : len(t)] = t
    return torch.from_numpy(out)


class Classify:
    """One label per sequence: ``labels`` is ``(N,)``."""

    def __init__(self, labels: np.ndarray, n_classes: int, weight: torch.Tensor | None = None):
        self.labels, self.n_classes, self.weight = np.asarray(labels), n_classes, weight
        self.loss_fn = nn.CrossEntropyLoss(weight=weight)

    def targets(self, idx: np.ndarray, width: int, device) -> torch.Tensor:
        return torch.as_tensor(self.labels[idx], device=device)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        return self.loss_fn(logits, y), float(len(y))

    def buffer(self) -> np.ndarray:
        return np.zeros((len(self.labels), self.n_classes), dtype=np.float32)

    def keep(self, buf, idx: np.ndarray, logits: torch.Tensor, lengths: torch.Tensor) -> None:
        buf[idx] = torch.softmax(logits.detach().float(), 1).cpu().numpy()

    def metrics(self, buf, loss: float) -> dict:
        return classification_metrics(self.labels, buf, loss)

    def confusion(self, buf) -> list[list[int]]:
        return confusion(self.labels, np.asarray(buf).argmax(1), self.n_classes)


class Label:
    """One label per position: ``labels`` is a list of ``(length_i,)`` int64 tracks (negative = unscored)."""

    def __init__(self, labels: Sequence[np.ndarray], n_classes: int, weight: torch.Tensor | None = None):
        self.labels, self.n_classes, self.weight = list(labels), n_classes, weight

    def targets(self, idx: np.ndarray, width: int, device) -> torch.Tensor:
        return pad_targets([self.labels[i] for i in idx], width).to(device)

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
        loss, count = position_loss(logits, y, self.weight)
        return loss, float(count)

    def buffer(self) -> list:
        return [None] * len(self.labels)

    def keep(self, buf, idx: np.ndarray, logits: torch.Tensor, lengths: torch.Tensor) -> None:
        probs = torch.softmax(logits.detach().float(), -1).cpu().numpy()
        for j, i in enumerate(idx):
            buf[i] = probs[j, : int(lengths[j])]

    def metrics(self, buf, loss: float) -> dict:
        return position_metrics(self.labels, buf, self.n_classes, loss)

    def confusion(self, buf) -> list[list[int]]:
        return position_confusion(self.labels, buf, self.n_classes)


def objective(labelling: bool, labels, n_classes: int, weight: torch.Tensor | None = None) -> Classify | Label:
    """The objective of a model's task (``cfg.labelling``) for ``labels``."""
    return (Label if labelling else Classify)(labels, n_classes, weight)


def visited(task: Classify | Label, buf, batches: Sequence[np.ndarray]) -> tuple[Classify | Label, object]:
    """The objective and kept probabilities of the records in ``batches`` only: a partial epoch
    (``--max-steps``) is scored on the records it saw."""
    idx = np.sort(np.concatenate(list(batches))) if len(batches) else np.zeros(0, dtype=np.int64)
    if isinstance(task, Label):
        return Label([task.labels[i] for i in idx], task.n_classes, task.weight), [buf[i] for i in idx]
    return Classify(task.labels[idx], task.n_classes, task.weight), buf[idx]


def flat_labels(labels, labelling: bool) -> np.ndarray:
    """All labels of a split as one array (positions of every sequence for a labeller), for class weights."""
    if labelling:
        return np.concatenate([np.asarray(t) for t in labels]) if len(labels) else np.zeros(0, dtype=np.int64)
    return np.asarray(labels)
