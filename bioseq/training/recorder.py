"""Gradient flow: per-layer gradient norms recorded during training.

For a model with ``L`` recurrent layers the recorder keeps, per recorded step, an array of shape
``(L, len(COLUMNS))``: the L2 norm of the gradient over each layer's parameters, split into
weights and biases and into forward and reverse directions. Layer 1 is nearest the input.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

COLUMNS = ("grad_norm", "weight_norm", "bias_norm",
           "forward_norm", "forward_weight_norm", "forward_bias_norm",
           "reverse_norm", "reverse_weight_norm", "reverse_bias_norm")


def layer_parameters(model: nn.Module) -> list[list[tuple[str, nn.Parameter]]]:
    """Named parameters of each recurrent layer, in order (layer 1 first)."""
    return [list(rnn.named_parameters()) for rnn in model.rnns]


class GradientRecorder:
    """Record per-layer gradient norms after ``backward()``, every ``every`` steps.

    A recorded step costs one fused ``torch._foreach_norm`` call and a stack, left on the parameters'
    device (no host sync on a GPU); the per-layer sums are made when the rows are read, for all steps
    in one matrix product.
    """

    def __init__(self, model: nn.Module, every: int = 1):
        self.every = max(1, int(every))
        self.params: list[nn.Parameter] = []
        groups = []  # for each parameter: the COLUMNS it adds to, per layer
        layers = layer_parameters(model)
        for li, named in enumerate(layers):
            for name, p in named:
                self.params.append(p)
                direction = "reverse" if name.endswith("_reverse") else "forward"
                kind = "weight" if name.startswith("weight") else "bias"
                cols = ["grad_norm", f"{kind}_norm", f"{direction}_norm", f"{direction}_{kind}_norm"]
                groups.append((li, [COLUMNS.index(c) for c in cols]))
        self.n_layers = len(layers)
        self.bidirectional = any(n.endswith("_reverse") for named in layers for n, _ in named)
        m = torch.zeros(self.n_layers * len(COLUMNS), len(self.params), dtype=torch.float64)
        for j, (li, cols) in enumerate(groups):
            for c in cols:
                m[li * len(COLUMNS) + c, j] = 1.0
        self.matrix = m
        self.rows: list[tuple[int, int]] = []  # (epoch, step)
        self._values: list[np.ndarray] = []  # each (L, len(COLUMNS)), made from _pending when read
        self._pending: list[torch.Tensor] = []  # per recorded step: each parameter's gradient norm (P,)

    def record(self, epoch: int, step: int) -> None:
        """Call after ``loss.backward()``; ``step`` counts optimiser steps from 1."""
        if (step - 1) % self.every:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self._pending.append(torch.stack(torch._foreach_norm(grads)))
        self.rows.append((epoch, step))

    def record_and_clip(self, params: list[nn.Parameter], clip: float | None, epoch: int, step: int) -> None:
        """:meth:`record`, then ``clip_grad_norm_(params, clip)``, with one ``_foreach_norm`` for both when
        every parameter has a gradient: the clipping is ``clip_grad_norm_``'s own arithmetic (the total
        norm of the per-parameter norms, then ``clip_grads_with_norm_``)."""
        due = not (step - 1) % self.every
        grads = [p.grad for p in params if p.grad is not None]
        positions = self._positions(params)
        if not clip or not due or len(grads) != len(params) or positions is None:
            self.record(epoch, step)
            if clip:
                nn.utils.clip_grad_norm_(params, clip)
            return
        norms = torch._foreach_norm(grads)
        self._pending.append(torch.stack([norms[i] for i in positions]))
        self.rows.append((epoch, step))
        nn.utils.clip_grads_with_norm_(params, clip, torch.linalg.vector_norm(torch.stack(norms)))

    def _positions(self, params: list[nn.Parameter]) -> list[int] | None:
        """Where the recorded parameters sit in ``params`` (cached), or ``None`` if one is missing."""
        key = tuple(map(id, params))
        if getattr(self, "_key", None) != key:
            where = {id(p): i for i, p in enumerate(params)}
            self._key, self._where = key, [where.get(id(p)) for p in self.params]
            if None in self._where:
                self._where = None
        return self._where

    def forget(self, step: int) -> None:
        """Drop the last recorded row if it is ``step``'s (a step the loss scaler skipped)."""
        if self.rows and self.rows[-1][1] == step:
            self.rows.pop()
            (self._pending or self._values).pop()

    @property
    def values(self) -> list[np.ndarray]:
        """Per recorded step, the norms ``(L, len(COLUMNS))`` (reverse columns NaN for one direction)."""
        if self._pending:
            sq = torch.stack(self._pending).double().cpu() ** 2  # (steps, P)
            norms = (sq @ self.matrix.T).sqrt().view(-1, self.n_layers, len(COLUMNS)).numpy()
            if not self.bidirectional:
                norms[:, :, COLUMNS.index("reverse_norm"):] = math.nan
            self._values += list(norms)
            self._pending = []
        return self._values

    def table(self) -> list[dict]:
        """Long rows: one per recurrent layer per recorded step."""
        out = []
        for (epoch, step), v in zip(self.rows, self.values):
            for li in range(self.n_layers):
                row = {"epoch": epoch, "step": step, "layer": li + 1}
                row.update({c: float(v[li, k]) for k, c in enumerate(COLUMNS)})
                out.append(row)
        return out

    def load(self, rows: list[dict]) -> None:
        """Restore recorded rows (from a checkpoint) so that a resumed run keeps its history."""
        by_step: dict[tuple[int, int], np.ndarray] = {}
        for r in rows:
            key = (int(r["epoch"]), int(r["step"]))
            arr = by_step.setdefault(key, np.full((self.n_layers, len(COLUMNS)), math.nan))
            arr[int(r["layer"]) - 1] = [r[c] for c in COLUMNS]
        self.rows = list(by_step)
        self._values, self._pending = list(by_step.values()), []


def layer_means(rows: list[dict], column: str = "grad_norm") -> dict[int, float]:
    """Mean norm per layer (layer 1 first) over the recorded rows, finite values only.

    The one rule for non-finite values: a NaN or infinite norm is dropped, not averaged in (the
    diagnosis reports it as exploding); a layer with no finite value at all gets NaN.
    """
    per_layer: dict[int, list[float]] = {}
    for r in rows:
        per_layer.setdefault(int(r["layer"]), []).append(float(r[column]))
    finite = {k: [x for x in v if math.isfinite(x)] for k, v in sorted(per_layer.items())}
    return {k: float(np.mean(v)) if v else math.nan for k, v in finite.items()}


def layer_ratio(rows: list[dict], column: str = "grad_norm") -> dict:
    """:func:`layer_means` as ``per_layer`` and the first/last layer ``ratio`` of those means.

    The ratio is NaN with fewer than two layers, or when the last layer's mean is not positive.
    """
    means = layer_means(rows, column)
    if len(means) < 2:
        return {"per_layer": means, "ratio": math.nan}
    first, last = means[min(means)], means[max(means)]
    return {"per_layer": means, "ratio": first / last if last > 0 else math.nan}
