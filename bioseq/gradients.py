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


class _UnrolledLayer:
    """Stand-in for one fused recurrent layer: the same maths, step by step, keeping every h(t).

    A fused layer (``nn.LSTM``, cuDNN) returns its outputs as one tensor, whose gradient holds only
    what flows back from above (the read-out or the next layer), never the path back through the
    recurrence. Here every h(t) is its own tensor, used both as an output and by step t+1, so the
    gradient with respect to it is the full back-propagation-through-time ∂C/∂h(t). Packed data is
    time-major with shrinking batch sizes (as in :class:`bioseq.models.SigmoidRNN`).
    """

    def __init__(self, rnn, cfg):
        self.rnn, self.cfg = rnn, cfg
        self.states: list[list[torch.Tensor]] = []  # per direction: h(t) (batch_sizes[t], H) per step

    def _direction(self, data: torch.Tensor, sizes: list[int], params: dict, reverse: bool) -> list[torch.Tensor]:
        from .gates import cell_step

        hsz = params["weight_hh"].shape[1]
        proj = data @ params["weight_ih"].T + params["bias_ih"]  # (N, G*H)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        hs: list[torch.Tensor] = [None] * len(sizes)  # type: ignore[list-item]
        h = c = data.new_zeros(0, hsz)
        for t in (range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))):
            bs = sizes[t]
            if h.shape[0] < bs:  # the reverse direction starts new sequences at zero
                h = torch.cat([h, h.new_zeros(bs - h.shape[0], hsz)])
                c = torch.cat([c, c.new_zeros(bs - c.shape[0], hsz)])
            h, c, _ = cell_step(self.cfg.cell, self.cfg, params, proj[offsets[t]:offsets[t + 1]], h[:bs], c[:bs])
            hs[t] = h
        return hs

    def __call__(self, packed):
        from torch.nn.utils.rnn import PackedSequence

        named = dict(self.rnn.named_parameters())
        sizes = packed.batch_sizes.tolist()
        outs = []
        for sfx, reverse in (("", False), ("_reverse", True))[: self.cfg.directions]:
            params = {k: named[f"{k}_l0{sfx}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            hs = self._direction(packed.data, sizes, params, reverse)
            self.states.append(hs)
            outs.append(torch.cat(hs))
        out = torch.cat(outs, dim=1)  # (N, D), packed order
        return PackedSequence(out, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices), None


def _state_grads(loss: torch.Tensor, layers: list[_UnrolledLayer]) -> list[torch.Tensor]:
    """∂loss/∂h(t) per layer, both directions side by side: ``(N, D)`` in packed order.

    ``autograd.grad``, not ``backward()``: the model's parameters get no ``.grad`` (it may be shared).
    """
    flat = [h for layer in layers for hs in layer.states for h in hs]
    grads = iter(torch.autograd.grad(loss, flat, allow_unused=True))
    out = []
    for layer in layers:
        dirs = []
        for hs in layer.states:
            dirs.append(torch.cat([g if g is not None else torch.zeros_like(h) for h, g in zip(hs, grads)]))
        out.append(torch.cat(dirs, dim=1))
    return out


def time_gradients(bundle, records, target: str | None = None, batch_size: int = 64):
    """‖∂C/∂h(t)‖ for every recurrent layer, direction and step of each record.

    C is the cross-entropy of the target class (a chosen class, or each sequence's predicted
    class). ∂C/∂h(t) is the full back-propagation-through-time gradient, including the path back
    through the recurrence (see :class:`_UnrolledLayer`). ``distance`` counts steps from the
    read-out of that direction: from the last step for the forward direction, from the first step
    for the reverse one. Columns id, layer, direction, step, position (1-based sequence position
    where the step starts), distance, grad_norm.
    """
    from types import SimpleNamespace

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
            layers = [_UnrolledLayer(rnn, model.cfg) for rnn in model.rnns]
            # the model's own recurrent() (skip, norm, dropout between layers), with unrolled layers
            stand_in = SimpleNamespace(cfg=model.cfg, rnns=layers, norms=model.norms, drop=model.drop)
            out, _ = pad_packed_sequence(type(model).recurrent(stand_in, packed), batch_first=True)
            logits = model.head(model.readout(out, steps))
            tgt = logits.argmax(1) if t_idx is None else torch.full((len(idx),), t_idx, device=dev)
            loss = torch.nn.functional.cross_entropy(logits, tgt, reduction="sum")
            layer_grads = _state_grads(loss, layers)
        for li, grad in enumerate(layer_grads, 1):
            g, _ = pad_packed_sequence(PackedSequence(grad, packed.batch_sizes, packed.sorted_indices,
                                                      packed.unsorted_indices), batch_first=True)
            for d, direction in enumerate(("forward", "reverse")[: model.cfg.directions]):
                norms = g[:, :, d * hsz:(d + 1) * hsz].norm(dim=2).detach().cpu().numpy()  # (B, T')
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
