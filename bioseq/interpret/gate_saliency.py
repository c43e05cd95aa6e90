"""Gate saliency: how much each gate, at each position, decides the explained score.

For every recurrent layer, direction, step t, unit j and gate g of the model's cell (LSTM: ``input``,
``forget``, ``candidate``, ``output``, the cell state ``cell`` and ``hidden``; GRU: ``reset``,
``update``, ``candidate``, ``hidden``; RNN: ``hidden``; DT-RNN: ``transition``, ``hidden``), the
attribution of the target class logit y to the gate's activation a is gradient × activation::

    score = a_g(t, j) · ∂y / ∂a_g(t, j)

where ∂y/∂a is the full derivative through every later step (:mod:`bioseq.interpret.unrolled`
keeps each gate of each step as its own tensor). A forget gate holding a memory has a positive
score along the stretch it carries it: f(t) · ∂y/∂f(t) = f(t) · C(t-1) · ∂y/∂C(t). Summed over the
units of the last step, the ``hidden`` scores of a one-layer model with the ``last`` read-out add up
to the logit minus the head's bias (tested).

:func:`gate_saliency` returns one tidy row per record, layer, direction, position, unit and gate:
``id, layer, direction, position, span_start, span_end, unit, gate, value, score, target``
(``value`` the activation, ``target`` the class explained); :func:`gate_summary` sums it over units
(a track per gate), :func:`top_units` keeps the units with the most attribution.

A labeller is explained at a chosen 1-based ``position`` t: y is the logit of the label at t (the
chosen one, or the predicted one there) and the table gains ``at`` (= t); in a forward direction no
gate after t has any score. The hidden scores at t of a one-layer labeller add up to y minus the
head's bias (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..data.io import Record
from ..model import cells
from ..model.recurrence import directions
from ..model.store import ModelBundle
from .at_position import explained
from .gates import step_positions, step_spans
from .inputs import batches, no_cudnn, prepared, resolve_targets
from .unrolled import padded, unrolled_logits, unrolled_outputs

COLUMNS = ["id", "layer", "direction", "position", "span_start", "span_end", "unit", "gate", "value", "score",
           "target"]
SUMMARY_COLUMNS = ["id", "layer", "direction", "position", "span_start", "span_end", "gate", "score", "abs_score",
                   "value", "target"]


def _batch_scores(model, spec, x, lengths, targets, index: int | None = None) -> tuple[dict, torch.Tensor]:
    """``{(layer, direction, gate): (values, scores)}`` each ``(B, T', H)``, and the steps ``(B,)``; a
    labeller's logits are read at the 0-based ``index``."""
    with no_cudnn():
        if index is None:
            logits, layers, packed, steps = unrolled_logits(model, x, lengths)
        else:
            out, layers, packed, steps = unrolled_outputs(model, x, lengths)
            logits = model.per_position(out, steps)[:, index]  # (B, C)
        y = logits.gather(1, torch.as_tensor(targets, device=logits.device)[:, None]).sum()
        keys = [(li, d, g) for li, layer in enumerate(layers, 1) for d in range(len(layer.steps)) for g in spec.gates]
        tensors = [[s[g] for s in layers[li - 1].steps[d]] for li, d, g in keys]
        # autograd.grad, not backward(): the model's parameters get no .grad (the model may be shared)
        grads = torch.autograd.grad(y, [t for ts in tensors for t in ts], allow_unused=True)
    out, k = {}, 0
    for key, ts in zip(keys, tensors):
        g = [gr if gr is not None else torch.zeros_like(t) for t, gr in zip(ts, grads[k:k + len(ts)])]
        k += len(ts)
        value = padded(packed, torch.cat(ts).detach())
        out[key] = (value, value * padded(packed, torch.cat(g)))
    return out, steps


def gate_saliency(bundle: ModelBundle, records: Sequence[Record], target: str | None = None,
                  batch_size: int = 32, position: int | None = None) -> pd.DataFrame:
    """Gradient × activation of the target logit for every gate, unit and position (see the module docstring);
    ``position`` (1-based) is required for a labeller and refused for a classifier."""
    model = bundle.model.eval()
    spec = cells.get(model.cfg.cell)
    names = [d for d, _ in directions(model.cfg.bidirectional)]
    _, arrays = prepared(bundle, records)
    targets = resolve_targets(explained(bundle, records, position), arrays, target)
    index, extra = (None, {}) if position is None else (int(position) - 1, {"at": int(position)})
    frames: dict[int, list[pd.DataFrame]] = {}
    for idx, x, lengths in batches(bundle, arrays, batch_size):
        scores, steps = _batch_scores(model, spec, x, lengths, targets[idx], index)
        for (layer, d, gate), (value, score) in scores.items():
            v, s = value.cpu().numpy(), score.cpu().numpy()
            for j, i in enumerate(idx):
                n, units = int(steps[j]), v.shape[2]
                spans = np.array(step_spans(bundle, n, len(arrays[i])))
                frames.setdefault(int(i), []).append(pd.DataFrame({
                    "id": records[i].id, "layer": layer, "direction": names[d],
                    "position": np.repeat(step_positions(bundle, n), units),
                    "span_start": np.repeat(spans[:, 0], units), "span_end": np.repeat(spans[:, 1], units),
                    "unit": np.tile(np.arange(1, units + 1), n), "gate": gate,
                    "value": v[j, :n].reshape(-1), "score": s[j, :n].reshape(-1),
                    "target": bundle.classes[int(targets[i])], **extra}))
    ordered = [f for i in sorted(frames) for f in frames[i]]
    cols = COLUMNS + list(extra)
    return pd.concat(ordered, ignore_index=True)[cols] if ordered else pd.DataFrame(columns=cols)


def gate_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per record, layer, direction, gate and position: the score summed over units, the sum of its
    absolute values, and the mean activation (``value``)."""
    if not len(table):
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    keys = ["id", "layer", "direction", "gate", "position", "span_start", "span_end", "target"]
    g = table.assign(abs_score=table["score"].abs()).groupby(keys, sort=False)
    out = g.agg(score=("score", "sum"), abs_score=("abs_score", "sum"), value=("value", "mean")).reset_index()
    return out[SUMMARY_COLUMNS]


def top_units(table: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The rows of the ``n`` units with the largest total |score| per record, layer, direction and gate,
    with their ``rank`` (1 = most)."""
    keys = ["id", "layer", "direction", "gate"]
    if not len(table):
        return pd.DataFrame(columns=[*COLUMNS, "rank"])
    total = table.assign(a=table["score"].abs()).groupby([*keys, "unit"], sort=False)["a"].sum().reset_index()
    total["rank"] = total.groupby(keys, sort=False)["a"].rank(ascending=False, method="first").astype(int)
    keep = total[total["rank"] <= n][[*keys, "unit", "rank"]]
    return table.merge(keep, on=[*keys, "unit"])
