"""Training recipes beside plain AdamW: the learning-rate schedule (``--schedule``), stochastic weight averaging
(``--swa``) and label smoothing (``--label-smoothing``), for :func:`bioseq.training.loop.train`.

* :func:`lr_factor`: the learning rate at optimiser step ``s`` of ``S`` (``s`` from 0) as a multiple of
  ``--lr``. ``constant``: 1. ``cosine``: ``(1 + cos(pi s / S)) / 2``, from 1 to 0. ``onecycle``: the schedule of
  PyTorch's ``OneCycleLR`` with its defaults (Smith & Topin 2019): from 1/25 up to 1 over the first 30% of the
  steps, then down to 1/(25 * 10^4), both on a cosine. The schedule is a function of the step alone, so a
  resumed run continues it where it stopped. ``S`` is every step of ``--epochs`` epochs; early stopping may end
  a run before the schedule does.
* :class:`WeightAverage`: ``torch.optim.swa_utils.AveragedModel`` over the weights at the end of each epoch,
  from the first epoch whose validation loss is not a new best (the run is then near a minimum) to the last;
  batch-norm statistics are recomputed for the average (:meth:`WeightAverage.state`).
* :func:`smooth`: the training objective with ``CrossEntropyLoss(label_smoothing=s)``; validation keeps the
  plain loss, so early stopping and the search compare unsmoothed losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

SCHEDULES = ("constant", "onecycle", "cosine")
WARMUP = 0.3  # onecycle: the share of the steps spent warming up (OneCycleLR's pct_start)
DIV, FINAL_DIV = 25.0, 1e4  # onecycle: start at lr / DIV, end at lr / (DIV * FINAL_DIV)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning rate at step ``step`` (0-based) of ``total``, as a multiple of the base rate."""
    if schedule == "constant" or total <= 1:
        return 1.0
    s = min(max(step, 0), total - 1)
    if schedule == "cosine":
        return (1 + math.cos(math.pi * s / total)) / 2
    if schedule != "onecycle":
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    up = float(WARMUP * total) - 1  # OneCycleLR's phase ends (steps)
    lo, end = 1 / DIV, 1 / (DIV * FINAL_DIV)
    if s <= up:
        a, b, pct = lo, 1.0, s / up
    else:
        a, b, pct = 1.0, end, (s - up) / (total - 1 - up)
    return b + (a - b) * (1 + math.cos(math.pi * pct)) / 2


def set_lr(opt: torch.optim.Optimizer, lr: float, schedule: str, step: int, total: int) -> None:
    """Set every group of ``opt`` to the scheduled rate of ``step`` (a constant schedule leaves them alone)."""
    if schedule == "constant":
        return
    for group in opt.param_groups:
        group["lr"] = lr * lr_factor(schedule, step, total)


def smooth(task, smoothing: float):
    """``task`` (a bound training objective) with label smoothing ``smoothing``: a classifier's
    ``loss_fn`` becomes ``CrossEntropyLoss(weight, label_smoothing=s)``; a labeller's per-position loss reads
    ``task.smoothing``."""
    if smoothing:
        task.smoothing = smoothing
        if hasattr(task, "loss_fn"):
            task.loss_fn = nn.CrossEntropyLoss(weight=task.weight, label_smoothing=smoothing)
    return task


class WeightAverage:
    """Stochastic weight averaging over epochs (see the module docstring)."""

    def __init__(self, model: nn.Module):
        self.model, self.average, self.epochs = model, None, []

    def update(self, epoch: int, improved: bool) -> None:
        """After epoch ``epoch`` (its validation loss a new best or not): start or continue the average."""
        if self.average is None and improved:
            return
        if self.average is None:
            self.average = torch.optim.swa_utils.AveragedModel(self.model)
        self.average.update_parameters(self.model)  # the first call copies, each later one averages
        self.epochs.append(epoch)

    def state(self, batches: Callable[[], Iterable[tuple]], run: Callable) -> dict | None:
        """The averaged weights as a state dict of the model (``None`` with fewer than two epochs averaged);
        with batch norm, its running statistics recomputed over ``batches()`` (training batches, passed to
        ``run(model, *batch)`` in training mode), as ``swa_utils.update_bn`` does."""
        if self.average is None or len(self.epochs) < 2:
            return None
        net = self.average.module
        norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if norms:
            was = net.training
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a cumulative average over the batches
            net.train()
            with torch.no_grad():
                for batch in batches():
                    run(net, *batch)
            for m in norms:
                m.momentum = 0.1
            net.train(was)
        return {k: v.detach().clone() for k, v in net.state_dict().items()}

    def choose(self, best: dict, best_val, batches: Callable[[], Iterable[tuple]], run: Callable,
               score: Callable) -> tuple[dict, object]:
        """``(best, best_val)`` of the loop, replaced by the average's (its weights loaded into the model) when
        ``score(model)`` gives it a lower validation loss than the best epoch's; else as they were (the model
        keeps the best epoch's weights)."""
        state = self.state(batches, run)
        if state is None:
            return best, best_val
        self.model.load_state_dict(state)
        val_m, val_p = score(self.model)
        if val_m["loss"] < best["loss"]:
            return {"loss": val_m["loss"], "epoch": self.epochs[-1], "state": state}, (val_m, val_p)
        self.model.load_state_dict(best["state"])
        return best, best_val
