"""The training failures, from a run's history, class counts and leakage: the numbers behind each verdict.

Inputs: the per-epoch history (rows ``epoch, split, loss, balanced_accuracy, accuracy, ...``; splits
``train`` and ``val``) and the ``training`` dict of a model file (``counts`` per class,
``train_config.class_weights``, ``leakage`` from :func:`bioseq.data.leakage.leakage`). Chance is the
loss of the best constant prediction: ln C for C classes with class weights (the default), else the
entropy of the training classes; the chance balanced accuracy is 1/C. Thresholds:

* **not learning** — the validation data stayed at chance (its loss never went below ``NEAR_CHANCE``
  (95%) of chance, or its balanced accuracy at the best epoch is within ``CHANCE_MARGIN`` (0.05) of
  1/C) and so did the training loss (never below ``MEMORISED``, 80%, of chance);
* **overfitting** — the training loss fell below ``MEMORISED`` of chance while the validation data
  stayed at chance (memorising); or the validation loss rose ``RISE`` (10%, and at least 5% of chance) above its
  minimum while the training loss kept falling, or at the best epoch the validation loss exceeds the
  training loss by ``GAP`` (40%) of chance, or the balanced accuracies differ by ``GAP_ACCURACY`` (0.2)
  with a loss gap of 10% of chance or more;
* **underfitting** — at the last epoch both losses are above ``HIGH`` (half) of chance and both
  still fell over that epoch (by 1% or more);
* **accuracy misleads** — the largest class has ``IMBALANCE`` (3) times the smallest, and the
  validation balanced accuracy at the best epoch is within ``0.1`` of chance;
* **leakage** — ``LEAK_SHARE`` (5%) or more of the validation sequences have a near copy in training.

For a labeller (``task="label"``) the same checks run on its per-position history (the loss is the mean
per-position cross-entropy, accuracies are over scored positions) and ``counts`` are positions per label;
the words say labels and positions, and the findings add the per-position accuracy at chance: the share
of the most frequent label (what always predicting it scores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..task import task_of

NEAR_CHANCE = 0.95
MEMORISED = 0.8
CHANCE_MARGIN = 0.05
RISE = 0.1
GAP = 0.4
GAP_ACCURACY = 0.2
HIGH = 0.5
IMBALANCE = 3.0
LEAK_SHARE = 0.05


@dataclass
class TrainingFindings:
    verdicts: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)


def chance_loss(counts: dict, class_weights: bool = True) -> float:
    """The cross-entropy of the best constant prediction: ln C with class weights, else the class entropy."""
    n = np.array([v for v in counts.values() if v > 0], dtype=float)
    if class_weights or not n.size:
        return math.log(max(len(counts), 1))
    p = n / n.sum()
    return float(-(p * np.log(p)).sum())


def _series(history: list[dict], split: str, key: str) -> np.ndarray:
    rows = sorted((h for h in history if h.get("split") == split), key=lambda h: h.get("epoch", 0))
    return np.array([float(h.get(key, math.nan)) for h in rows], dtype=float)


def majority_share(counts: dict) -> float:
    """The accuracy of always predicting the most frequent class or label: its share of the counts."""
    n = np.array([v for v in counts.values() if v > 0], dtype=float)
    return float(n.max() / n.sum()) if n.size else math.nan


def training_findings(history: list[dict] | None, training: dict | None, task: str = "classify") -> TrainingFindings:
    """The training verdicts of the module docstring, with their findings and numbers (``task``: classify or
    label, which only changes the words and adds the per-position chance accuracy)."""
    words = task_of(task)
    kind, kinds = words.word, words.plural
    out = TrainingFindings()
    training = training or {}
    counts = training.get("counts") or {}
    leak = training.get("leakage")
    if leak and leak.get("checked"):
        out.numbers["leakage_share"] = leak["share"]
        what = (f"{leak['identity']:.0%} or more identical" if leak.get("identity") else "near copies") + \
            f", by {leak['method']}"
        text = f"{leak['count']} of {leak['checked']} validation sequences ({leak['share']:.1%}) have a training " \
               f"sequence {what}"
        if leak["share"] >= LEAK_SHARE:
            out.verdicts.append("leakage")
            out.findings.append(text + ": the validation numbers measure memory, not generalisation")
        elif leak["count"]:
            out.findings.append(text)
    tl, vl = _series(history or [], "train", "loss"), _series(history or [], "val", "loss")
    if len(counts) < 2 or not vl.size or not tl.size or not np.isfinite(vl).all() or not np.isfinite(tl).all():
        return out
    n_classes = len(counts)
    weighted = (training.get("train_config") or {}).get("class_weights", True)
    chance = chance_loss(counts, weighted)
    chance_words = f"ln {n_classes} for {n_classes} weighted {kinds}" if weighted else f"the {kind} entropy"
    tb, vb = _series(history, "train", "balanced_accuracy"), _series(history, "val", "balanced_accuracy")
    va = _series(history, "val", "accuracy")
    best = int(np.argmin(vl))
    out.numbers.update(chance_loss=chance, min_val_loss=float(vl[best]), best_epoch=best + 1,
                       val_balanced_accuracy=float(vb[best]) if vb.size else math.nan)
    share = majority_share(counts)
    per_position = ""
    if words.per_position:
        out.numbers["chance_accuracy"] = share
        top = max(counts, key=lambda c: counts[c])
        acc = f"per-position accuracy {va[best]:.3f}, while " if va.size and np.isfinite(va[best]) else ""
        per_position = f"; {acc}always predicting the most frequent label ({top!r}) scores {share:.3f}"
    val_at_chance = vl.min() >= NEAR_CHANCE * chance or bool(vb.size and vb[best] <= 1 / n_classes + CHANCE_MARGIN)
    memorising = val_at_chance and tl.min() < MEMORISED * chance
    if val_at_chance and not memorising:
        out.verdicts.append("not learning")
        out.findings.append(f"the validation loss never went below {vl.min():.3f}, {vl.min() / chance:.0%} of chance "
                            f"({chance:.3f}, {chance_words}); balanced accuracy "
                            f"{vb[best]:.3f} at the best epoch (chance {1 / n_classes:.3f}){per_position}")
    rise = vl[-1] - vl[best]
    gap = vl[best] - tl[best]
    acc_gap = float(tb[best] - vb[best]) if vb.size and tb.size else 0.0
    out.numbers.update(val_rise=float(rise), loss_gap=float(gap), accuracy_gap=acc_gap)
    if memorising:
        out.verdicts.append("overfitting")
        out.findings.append(f"the training loss fell to {tl.min():.3f} while the validation loss stayed at chance "
                            f"(at best {vl.min():.3f}; chance {chance:.3f}): the model memorises the training set")
    elif rise >= max(RISE * vl[best], 0.05 * chance) and tl[-1] < tl[best]:
        out.verdicts.append("overfitting")
        out.findings.append(f"the validation loss rose from {vl[best]:.3f} (epoch {best + 1}) to {vl[-1]:.3f} (epoch "
                            f"{len(vl)}) while the training loss fell from {tl[best]:.3f} to {tl[-1]:.3f}; the "
                            f"model file keeps epoch {best + 1}")
    elif gap >= GAP * chance or (acc_gap >= GAP_ACCURACY and gap >= 0.1 * chance):
        out.verdicts.append("overfitting")
        out.findings.append(f"at the best epoch ({best + 1}) the training loss is {tl[best]:.3f} and the validation "
                            f"loss {vl[best]:.3f}; balanced accuracy {tb[best]:.3f} in training, {vb[best]:.3f} in "
                            "validation: a large train/validation gap")
    falling = len(vl) >= 2 and vl[-1] < 0.99 * vl[-2] and tl[-1] < 0.99 * tl[-2]
    if "not learning" not in out.verdicts and min(tl[-1], vl[-1]) > HIGH * chance and falling:
        out.verdicts.append("underfitting")
        out.findings.append(f"both losses are still high ({tl[-1]:.3f} training, {vl[-1]:.3f} validation; chance "
                            f"{chance:.3f}) and still fell in the last epoch ({len(vl)})")
    sizes = [v for v in counts.values() if v > 0]
    ratio = max(sizes) / min(sizes) if sizes else 1.0
    if ratio >= IMBALANCE and vb.size and vb[best] <= 1 / n_classes + 0.1:
        out.verdicts.append("accuracy misleads")
        acc = (f"per-position accuracy {va[best]:.3f} (the most frequent label alone: {share:.3f}) but "
               if words.per_position else f"accuracy {va[best]:.3f} but ") if va.size else ""
        unit = f" {words.unit}" if words.per_position else ""
        out.findings.append(f"{acc}balanced accuracy {vb[best]:.3f} (chance {1 / n_classes:.3f}): the {kinds} are "
                            f"unbalanced ({', '.join(f'{c}: {n}{unit}' for c, n in counts.items())}; "
                            f"{ratio:.1f} to 1)")
    return out


@dataclass(frozen=True)
class RunVerdict:
    """What a finished run's banner says: ``success`` only when nothing is wrong, else ``warning`` with the
    ``problems`` (each names the figure and the baseline it does not beat)."""

    level: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.level == "success"

    def text(self) -> str:
        return "; ".join(self.problems)


def run_verdict(val_metrics: dict | None, counts: dict | None, task: str = "classify",
                history: list[dict] | None = None, training: dict | None = None) -> RunVerdict:
    """The verdict on a finished run from its validation figures (``val_metrics``) and its ``counts`` per class
    (a labeller's: positions per label): a warning when the model is at or near chance, balanced accuracy
    within ``CHANCE_MARGIN`` of 1/C, accuracy within ``CHANCE_MARGIN`` of always predicting the most frequent
    class (:func:`majority_share`), or AUROC within 0.1 of 0.5; and for every verdict of
    :func:`training_findings` on its ``history`` (with ``training``: ``train_config``, ``leakage``)."""
    words = task_of(task)
    counts = {c: n for c, n in (counts or {}).items() if n}
    m = val_metrics or {}
    problems = []

    def figure(key: str) -> float:
        v = m.get(key)
        return float(v) if isinstance(v, int | float) and math.isfinite(v) else math.nan

    bal, acc, auroc = figure("balanced_accuracy"), figure("accuracy"), figure("auroc")
    if len(counts) >= 2:
        chance, share = 1 / len(counts), majority_share(counts)
        top = max(counts, key=lambda c: counts[c])
        if bal <= chance + CHANCE_MARGIN:
            problems.append(f"validation balanced accuracy {bal:.2f} is at chance ({chance:.2f} for {len(counts)} "
                            f"{words.plural})")
        if acc <= share + CHANCE_MARGIN:
            problems.append(f"validation accuracy {acc:.2f} is no better than always predicting the most frequent "
                            f"{words.word} {top!r} ({share:.2f})")
    if auroc <= 0.6:
        problems.append(f"validation AUROC {auroc:.2f} is near chance (0.50)")
    training = training or {}
    leak = training_findings(None, {"leakage": training.get("leakage")}, words.name)  # its finding, if a verdict
    found = training_findings(history, {**training, "leakage": None, "counts": counts}, words.name)
    at_chance = bool(problems)  # one verdict and one finding each, in order, once the leakage is apart
    for verdict, finding in [*zip(leak.verdicts, leak.findings), *zip(found.verdicts, found.findings)]:
        if not (at_chance and verdict == "not learning"):
            problems.append(f"{verdict}: {finding}")
    return RunVerdict("warning" if problems else "success", tuple(problems))
