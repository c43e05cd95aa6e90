"""Gradient flow across time: ‖∂C/∂h(t)‖ for every recurrent layer, direction and step.

A fused recurrent layer returns its outputs as one tensor, so autograd cannot give the gradient
with respect to each state h(t) along the path back through the recurrence. Here each layer is
replaced by an unrolled stand-in with the same weights, whose every h(t) is its own tensor; the
gradient with respect to it is the full back-propagation-through-time ∂C/∂h(t). Packed data is
``(sum of lengths, features)``, time-major with shrinking batch sizes.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..data.encoding import length_batches, pad_batch
from ..model import cells
from ..model.recurrence import hidden_output, unroll_layer
from .attribution import no_cudnn, prepared, target_index


class _UnrolledLayer:
    """Stand-in for one recurrent layer: the same weights and maths, step by step, keeping every h(t).

    A fused layer (``nn.LSTM``, cuDNN) returns its outputs as one tensor, whose gradient holds only
    what flows back from above (the read-out or the next layer), never the path back through the
    recurrence. Here the layer runs through the one unrolled time loop
    (:func:`bioseq.model.recurrence.unroll_layer`, the cell's step from :mod:`bioseq.model.cells`),
    where every h(t) is its own tensor, used both as an output and by step t+1, so the gradient
    with respect to it is the full back-propagation-through-time ∂C/∂h(t).
    """

    def __init__(self, rnn, cfg):
        self.rnn, self.cfg, self.spec = rnn, cfg, cells.get(cfg.cell)
        self.states: list[list[torch.Tensor]] = []  # per direction: h(t) (batch_sizes[t], H) per step

    def __call__(self, packed):
        per_direction = unroll_layer(self.spec, self.cfg, self.rnn, packed)
        self.states = [[gates["hidden"] for gates in steps] for steps in per_direction]
        return hidden_output(packed, per_direction), None


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


def time_profile(df: pd.DataFrame, min_share: float = 0.5) -> pd.DataFrame:
    """‖∂C/∂h(t)‖ by layer, direction and distance from the read-out, robust to mixed lengths.

    Each record's norms are divided by that record's largest in the same layer (both directions), the
    profile is the median of these relative values over the records that reach a distance, and
    distances reached by fewer than ``min_share`` of the records are left out. Columns layer,
    direction, distance, grad_norm (median raw norm), relative, sequences.
    """
    cols = ["layer", "direction", "distance", "grad_norm", "relative", "sequences"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    peak = df.groupby(["id", "layer"])["grad_norm"].transform("max")
    df = df.assign(relative=np.where(peak > 0, df["grad_norm"] / peak.where(peak > 0, 1.0), 0.0))
    out = df.groupby(["layer", "direction", "distance"], as_index=False).agg(
        grad_norm=("grad_norm", "median"), relative=("relative", "median"), sequences=("id", "nunique"))
    need = max(1, int(np.ceil(min_share * df["id"].nunique())))
    return out[out["sequences"] >= need].reset_index(drop=True)[cols]
