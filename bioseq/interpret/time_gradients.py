"""Gradient flow across time: ‖∂C/∂h(t)‖ for every recurrent layer, direction and step.

A fused recurrent layer returns its outputs as one tensor, so autograd cannot give the gradient
with respect to each state h(t) along the path back through the recurrence. Here each layer is
replaced by an unrolled stand-in with the same weights, whose every h(t) is its own tensor; the
gradient with respect to it is the full back-propagation-through-time ∂C/∂h(t). Packed data is
``(sum of lengths, features)``, time-major with shrinking batch sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.encoding import length_batches, pad_batch
from .attribution import no_cudnn, prepared, target_index
from .unrolled import UnrolledLayer, padded, unrolled_logits


def state_grads(loss: torch.Tensor, layers: list[UnrolledLayer], retain_graph: bool = False) -> list[torch.Tensor]:
    """∂loss/∂h(t) per layer, both directions side by side: ``(N, D)`` in packed order.

    ``autograd.grad``, not ``backward()``: the model's parameters get no ``.grad`` (it may be shared).
    ``retain_graph`` keeps the graph for a further loss on the same run (one per position, for labellers).
    """
    states = [[[g["hidden"] for g in steps] for steps in layer.steps] for layer in layers]
    flat = [h for layer in states for hs in layer for h in hs]
    grads = iter(torch.autograd.grad(loss, flat, retain_graph=retain_graph, allow_unused=True))
    out = []
    for layer in states:
        dirs = []
        for hs in layer:
            dirs.append(torch.cat([g if g is not None else torch.zeros_like(h) for h, g in zip(hs, grads)]))
        out.append(torch.cat(dirs, dim=1))
    return out


def time_gradients(bundle, records, target: str | None = None, batch_size: int = 64):
    """‖∂C/∂h(t)‖ for every recurrent layer, direction and step of each record.

    C is the cross-entropy of the target class (a chosen class, or each sequence's predicted
    class). ∂C/∂h(t) is the full back-propagation-through-time gradient, including the path back
    through the recurrence (:mod:`bioseq.interpret.unrolled`). ``distance`` counts steps from the
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
            logits, layers, packed, steps = unrolled_logits(model, x.to(dev), lengths)
            tgt = logits.argmax(1) if t_idx is None else torch.full((len(idx),), t_idx, device=dev)
            loss = torch.nn.functional.cross_entropy(logits, tgt, reduction="sum")
            layer_grads = state_grads(loss, layers)
        for li, grad in enumerate(layer_grads, 1):
            g = padded(packed, grad)
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
