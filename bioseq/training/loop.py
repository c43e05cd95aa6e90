"""The training loop: AdamW, length-grouped batches, early stopping, checkpoints, gradient recording.

Inputs are lists of encoded sequences ``(length, alphabet)`` with labels ``(N,)``, or for a labeller
one ``(length,)`` track of label indices per sequence (negative = unscored); the model's task
(:mod:`bioseq.task`) gives the loss and the metrics. Each batch is padded to its own longest
member, ``x (B, T, K)``, and the model packs it, so padding never changes outputs, gradients or batch
statistics; a labeller's unscored positions are left out of batch-norm statistics too. Progress goes to a
plain callback, so this module never imports a user interface.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.encoding import encoded_lengths, length_batches, take_batch
from ..errors import TrainingError, ref
from ..model import strands
from ..model.precision import autocast, grad_scaler
from ..runtime import RANK_TIMEOUT, device_for, init, is_main, resolve_device
from ..task import class_weight_vector, task_of
from . import checkpoint, distributed, recipes
from .config import TrainConfig, seed_everything
from .recorder import GradientRecorder

__all__ = ["Progress", "TrainResult", "class_weight_vector", "evaluate", "train"]


@dataclass
class Progress:
    """What the callback receives after each batch (``phase='batch'``) and epoch (``'epoch'``)."""

    phase: str
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int
    loss: float
    elapsed: float
    history: list[dict] = field(default_factory=list)


@dataclass
class TrainResult:
    history: list[dict]  # one row per epoch and split: epoch, split, loss, accuracy, ...
    gradients: list[dict]  # one row per recurrent layer per recorded step
    best_epoch: int
    confusion: list[list[int]]
    val_metrics: dict
    seconds: float
    stopped_early: bool = False
    interrupted: bool = False


EXPLODING_ADVICE = ("gradients are probably exploding. "
                    f"Try a lower learning rate ({ref('lr')}), gradient clipping ({ref('clip', 1.0)}, or lower), "
                    f"an LSTM or GRU cell ({ref('cell', 'lstm')}) instead of a plain RNN, tanh instead of relu "
                    f"({ref('activation', 'tanh')}), or batch normalisation between layers ({ref('norm', 'batch')}). "
                    "The last good checkpoint is kept.")
NAN_ADVICE = "the loss became {value} at epoch {epoch}, step {step}: " + EXPLODING_ADVICE
VAL_NAN_ADVICE = "the validation loss became {value}: " + EXPLODING_ADVICE


def adamw(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with PyTorch's fused kernel where it has one (CPU and CUDA float parameters): one kernel per
    step instead of a dozen small ops per parameter (about 3% of a step of the default model on a CPU)."""
    params = list(model.parameters())
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` on ``device``; to a GPU from pinned memory without blocking (the copy overlaps queued work)."""
    if device.type != "cuda":
        return x.to(device)
    return x.pin_memory().to(device, non_blocking=True)


def scaled_step(scaler: torch.amp.GradScaler, loss: torch.Tensor, opt: torch.optim.Optimizer, model: nn.Module,
                clip: float | None, recorder: GradientRecorder, epoch: int, step: int) -> None:
    """One float16 step: backward on the scaled loss, gradients unscaled before they are recorded and
    clipped; a step the scaler skips (an overflow: it lowers its scale) keeps no recorded row."""
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    recorder.record(epoch, step)
    if clip:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    scale = scaler.get_scale()
    scaler.step(opt)
    scaler.update()
    if scaler.get_scale() < scale:
        recorder.forget(step)


def evaluate(model: nn.Module, arrays: Sequence[np.ndarray], labels, *, batch_size: int = 256,
             device: torch.device | str = "cpu", loss_fn: nn.Module | None = None,
             weight: torch.Tensor | None = None, amp: str | None = None) -> tuple[dict, np.ndarray | list[np.ndarray]]:
    """Metrics and probabilities of ``model`` in eval mode, in input order: ``(N, C)`` for a classifier
    (``loss_fn`` defaults to plain cross-entropy), one ``(length, C)`` array per sequence for a labeller
    (the loss weighted by the per-label ``weight``); the forward passes under ``amp``
    (:mod:`bioseq.model.precision`)."""
    model.eval()
    device = torch.device(device)
    task = task_of(model).bind(labels, model.cfg.n_classes, weight)
    if loss_fn is not None and hasattr(task, "loss_fn"):
        task.loss_fn = loss_fn
    probs = task.buffer()
    total, count = 0.0, 0.0
    with torch.no_grad():
        for idx in length_batches(encoded_lengths(arrays), batch_size):
            x, lengths = take_batch(arrays, idx)
            y = task.targets(idx, x.shape[1], device)
            with autocast(amp, device):
                logits = task.run(model, to_device(x, device), lengths, y)
                loss, n = task.loss(logits, y)
            total += float(loss) * n
            count += n
            task.keep(probs, idx, logits, lengths)
    if not math.isfinite(total):  # NaN probabilities would crash the metrics with a bare ValueError
        raise TrainingError(VAL_NAN_ADVICE.format(value=total))
    return task.metrics(probs, total / max(count, 1e-12)), probs


def train(model: nn.Module, train_arrays: Sequence[np.ndarray], train_labels,
          val_arrays: Sequence[np.ndarray], val_labels, cfg: TrainConfig, *,
          callback: Callable[[Progress], None] | None = None,
          checkpoint_path: str | os.PathLike | None = None, resume: bool = False,
          should_stop: Callable[[], bool] | None = None, rank_timeout: float = RANK_TIMEOUT) -> TrainResult:
    """Train ``model`` in place, restore its best weights (lowest validation loss) and report.

    A checkpoint is saved to ``checkpoint_path`` (a run folder's, :mod:`bioseq.training.runs`) after
    each epoch; with ``resume`` the run continues from it. ``should_stop`` is polled between batches
    (the dashboard's Stop button). ``rank_timeout``: under torchrun, minutes to wait for the other processes.
    """
    seed_everything(cfg.seed, cfg.deterministic)
    device = device_for(resolve_device(cfg.device))
    init(device, rank_timeout)
    model.to(device)
    net = distributed.wrap(model, device)  # DDP under torchrun: gradients all-reduced in backward
    n_classes, kind = model.cfg.n_classes, task_of(model)
    weights = class_weight_vector(kind.flat(train_labels), n_classes) if cfg.class_weights else None
    weights = weights.to(device) if weights is not None else None
    task = kind.bind(train_labels, n_classes, weights)
    val_loss_fn = getattr(task, "loss_fn", None)  # validation keeps the unsmoothed loss
    task = recipes.smooth(task, cfg.label_smoothing)
    opt = adamw(model, cfg.lr, cfg.weight_decay)
    recorder = GradientRecorder(model, cfg.grad_every)
    scaler = grad_scaler(cfg.amp, device)
    params = list(model.parameters())
    lengths = encoded_lengths(train_arrays)
    steps_per_epoch = min(math.ceil(len(train_arrays) / cfg.batch_size), cfg.max_steps or math.inf)
    average = recipes.WeightAverage(model) if cfg.swa else None
    history: list[dict] = []
    best = {"loss": math.inf, "epoch": 0, "state": copy.deepcopy(model.state_dict())}
    best_val = None  # the best epoch's validation metrics and probabilities: no second pass at the end
    start_epoch, step, waited = 1, 0, 0
    ckpt_path = Path(checkpoint_path) if checkpoint_path else None
    if resume and ckpt_path and ckpt_path.exists():
        state = checkpoint.load(ckpt_path, model, opt, device)
        history, best, waited = state["history"], state["best"], state["waited"]
        start_epoch, step = state["epoch"] + 1, state["step"]
        recorder.load(state["gradients"])
        for group in opt.param_groups:  # the options given now win, e.g. a lower --lr after a NaN loss
            group["lr"], group["weight_decay"] = cfg.lr, cfg.weight_decay
    t0 = time.perf_counter()
    stopped_early = interrupted = False
    for epoch in range(start_epoch, cfg.epochs + 1):
        if waited >= cfg.patience:
            stopped_early = True
            break
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        batches = distributed.shard(length_batches(lengths, cfg.batch_size, shuffle=True, rng=rng,
                                                   group=cfg.group_by_length))[:cfg.max_steps]
        run_loss, seen = 0.0, 0.0
        probs = task.buffer()
        for b, idx in enumerate(batches, 1):
            if should_stop is not None and should_stop():
                interrupted = True
                break
            flip = strands.flips(len(idx), rng) if model.cfg.strand != "forward" else None
            x, lens = take_batch(train_arrays, idx)
            y = task.targets(idx, x.shape[1], device)
            if flip is not None:  # random reverse complements; a labeller's labels reversed with them
                x, flipped_y = strands.flip_batch(x, lens, flip, y if kind.per_position else None)
                y = flipped_y if kind.per_position else y
            with autocast(cfg.amp, device):
                logits = task.run(net, to_device(x, device), lens, y)
                loss, n = task.loss(logits, y)
            value = loss.item()  # the step's one wait for the device; the probabilities are ready with it
            if not math.isfinite(value):
                raise TrainingError(NAN_ADVICE.format(value=value, epoch=epoch, step=b))
            if flip is not None and kind.per_position:  # each position's probabilities kept at its own place
                logits = torch.where(torch.as_tensor(flip, device=logits.device)[:, None, None],
                                     strands.reverse(logits, lens), logits)
            task.keep(probs, idx, logits, lens)
            opt.zero_grad(set_to_none=True)
            recipes.set_lr(opt, cfg.lr, cfg.schedule, step, cfg.epochs * steps_per_epoch)
            step += 1
            if scaler is None:
                loss.backward()
                recorder.record_and_clip(params, cfg.clip, epoch, step)
                opt.step()
            else:
                scaled_step(scaler, loss, opt, model, cfg.clip, recorder, epoch, step)
            run_loss += value * n
            seen += n
            if callback:
                callback(Progress("batch", epoch, cfg.epochs, b, steps_per_epoch, run_loss / max(seen, 1e-12),
                                  time.perf_counter() - t0, history))
        if interrupted:
            break
        scored, probs = task.visited(probs, batches) if cfg.max_steps else (task, probs)
        train_m = scored.metrics(probs, run_loss / max(seen, 1e-12))
        val_m, val_p = evaluate(model, val_arrays, val_labels, device=device, weight=weights,
                                loss_fn=val_loss_fn, amp=cfg.amp)
        history.append({"epoch": epoch, "split": "train", **train_m})
        history.append({"epoch": epoch, "split": "val", **val_m})
        improved = val_m["loss"] < best["loss"] - 1e-4
        if improved:
            best = {"loss": val_m["loss"], "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
            best_val, waited = (val_m, val_p), 0
        else:
            waited += 1
        if average is not None:
            average.update(epoch, improved)
        if ckpt_path and is_main():
            checkpoint.save(ckpt_path, model, opt, {"epoch": epoch, "step": step, "history": history,
                                                     "best": best, "waited": waited,
                                                     "gradients": recorder.table()})
        if callback:
            callback(Progress("epoch", epoch, cfg.epochs, steps_per_epoch, steps_per_epoch,
                              train_m["loss"], time.perf_counter() - t0, history))
    model.load_state_dict(best["state"])
    if average is not None and not interrupted:
        def batches():  # the training set once, for the average's batch-norm statistics
            for i in length_batches(lengths, cfg.batch_size):
                x, lens = take_batch(train_arrays, i)
                yield to_device(x, device), lens, task.targets(i, x.shape[1], device)

        best, best_val = average.choose(best, best_val, batches, task.run, lambda m: evaluate(
            m, val_arrays, val_labels, device=device, weight=weights, loss_fn=val_loss_fn, amp=cfg.amp))
    if best_val is not None:  # evaluated with exactly these weights (evaluation changes no state)
        val_m, val_p = best_val
    else:  # a resumed run's best epoch, or no finished epoch
        val_m, val_p = evaluate(model, val_arrays, val_labels, device=device, weight=weights,
                                loss_fn=val_loss_fn, amp=cfg.amp)
    return TrainResult(history, recorder.table(), best["epoch"],
                       kind.bind(val_labels, n_classes).confusion(val_p), val_m,
                       time.perf_counter() - t0, stopped_early, interrupted)

