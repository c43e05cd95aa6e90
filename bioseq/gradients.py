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

    One fused ``torch._foreach_norm`` call and one small matrix product per recorded step keep
    the cost to a fraction of a percent of a training step.
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
        m = torch.zeros(self.n_layers * len(COLUMNS), len(self.params))
        for j, (li, cols) in enumerate(groups):
            for c in cols:
                m[li * len(COLUMNS) + c, j] = 1.0
        self.matrix = m
        self.rows: list[tuple[int, int]] = []  # (epoch, step)
        self.values: list[np.ndarray] = []  # each (L, len(COLUMNS))

    def record(self, epoch: int, step: int) -> None:
        """Call after ``loss.backward()``; ``step`` counts optimiser steps from 1."""
        if (step - 1) % self.every:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        sq = torch.stack(torch._foreach_norm(grads)).float().cpu() ** 2
        norms = (self.matrix @ sq).sqrt().view(self.n_layers, len(COLUMNS)).numpy()
        if not self.bidirectional:
            norms = norms.copy()
            norms[:, COLUMNS.index("reverse_norm"):] = math.nan
        self.rows.append((epoch, step))
        self.values.append(norms)

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
        self.values = list(by_step.values())


def layer_ratio(rows: list[dict], column: str = "grad_norm") -> dict:
    """Mean norm per layer over the recorded rows and the first/last layer ratio."""
    per_layer: dict[int, list[float]] = {}
    for r in rows:
        per_layer.setdefault(int(r["layer"]), []).append(float(r[column]))
    means = {k: float(np.mean(v)) for k, v in sorted(per_layer.items())}
    if not means:
        return {"per_layer": {}, "ratio": math.nan}
    first, last = means[min(means)], means[max(means)]
    return {"per_layer": means, "ratio": first / last if last > 0 else math.nan}


def time_gradients(bundle, records, target: str | None = None, batch_size: int = 64):
    """‖∂C/∂h(t)‖ for every recurrent layer, direction and step of each record.

    C is the cross-entropy of the target class (a chosen class, or each sequence's predicted
    class). ``distance`` counts steps from the read-out of that direction: from the last step for
    the forward direction, from the first step for the reverse one. Columns id, layer, direction,
    step, position (1-based sequence position where the step starts), distance, grad_norm.
    """
    import pandas as pd
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    from .encoding import length_batches, pad_batch
    from .interpret import no_cudnn, prepared, target_index

    model = bundle.model.eval()
    dev = next(model.parameters()).device
    _, arrays = prepared(bundle, records)
    t_idx = target_index(bundle, target)
    hsz = model.cfg.hidden
    pool = model.cfg.conv_pool if model.front is not None else 1
    frames: dict[int, list] = {}
    for idx in length_batches([len(a) for a in arrays], batch_size):
        x, lengths = pad_batch([arrays[i] for i in idx])
        with no_cudnn():
            feats, steps = model.features(x.to(dev), lengths)
            packed = pack_padded_sequence(feats, steps, batch_first=True, enforce_sorted=False)
            keep: list = []
            out, _ = pad_packed_sequence(model.recurrent(packed, keep), batch_first=True)
            for _, o in keep:
                o.data.retain_grad()
            logits = model.head(model.readout(out, steps))
            tgt = logits.argmax(1) if t_idx is None else torch.full((len(idx),), t_idx, device=dev)
            torch.nn.functional.cross_entropy(logits, tgt, reduction="sum").backward()
        for li, (_, o) in enumerate(keep, 1):
            g, _ = pad_packed_sequence(PackedSequence(o.data.grad, o.batch_sizes, o.sorted_indices,
                                                      o.unsorted_indices), batch_first=True)
            for d, direction in enumerate(("forward", "reverse")[: model.cfg.directions]):
                norms = g[:, :, d * hsz:(d + 1) * hsz].norm(dim=2).cpu().numpy()  # (B, T')
                for j, i in enumerate(idx):
                    n = int(steps[j])
                    step = np.arange(n)
                    frames.setdefault(int(i), []).append(pd.DataFrame({
                        "id": records[i].id, "layer": li, "direction": direction, "step": step + 1,
                        "position": step * pool + 1, "distance": (n - 1 - step) if d == 0 else step,
                        "grad_norm": norms[j, :n]}))
    cols = ["id", "layer", "direction", "step", "position", "distance", "grad_norm"]
    ordered = [f for i in sorted(frames) for f in frames[i]]
    return pd.concat(ordered, ignore_index=True)[cols] if ordered else pd.DataFrame(columns=cols)


def time_profile(df):
    """Mean ‖∂C/∂h(t)‖ by layer, direction and distance from the read-out."""
    return df.groupby(["layer", "direction", "distance"], as_index=False)["grad_norm"].mean()
