"""Memory span of a labeller: how strongly an input position influences the output at another, by distance.

For an output position t and an input position p (1-based) of a record, the influence is
``‖∂ logit_t(y) / ∂x(p)‖`` (the gradient with respect to the one-hot row ``x(p) (K,)``), for y the label
the model predicts at t (or one chosen label). Each output position has its own read-out, t itself:
``direction`` is ``past`` for inputs at or before t (``distance = t − p ≥ 0``) and ``future`` for inputs
after it (``distance = p − t ≥ 1``); a forward-only model without a convolution feels nothing in the future.

As in :mod:`bioseq.interpret.memory`, each (record, t) influence row is divided by its largest value,
averaged per record over its measured positions t, and the curve is the **median** of these relative
values over the records that reach a distance (``sequences``), with the mean raw norm as ``influence``;
distances reached by fewer than ``min_share`` of the records are left out. The columns are those of
:data:`bioseq.interpret.memory.COLUMNS`, so :func:`~bioseq.interpret.memory.effective_memory`,
:func:`~bioseq.interpret.memory.reach` and the diagnosis read it unchanged.

Shapes: batches ``x (B, T, K)``, logits ``(B, T, C)``; one backward pass per measured output position
serves a batch; ``max_positions`` output positions are measured per batch, spread over its longest
record (:func:`~bioseq.interpret.position_gradients.sample_positions`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..data.io import Record
from ..model.store import ModelBundle
from .inputs import batches, check_labeller, no_cudnn, prepared, target_index
from .memory import COLUMNS
from .position_gradients import by_distance, relative_to_peak, sample_positions


def _influences(bundle: ModelBundle, arrays: Sequence[np.ndarray], target: int | None, max_positions: int,
                batch_size: int):
    """Per record ``(index, output positions (n,) 1-based, influence (n, L))``."""
    model = bundle.model.eval()
    for idx, x, lengths in batches(bundle, arrays, batch_size):
        x = x.requires_grad_(True)
        with no_cudnn():
            logits = model(x, lengths)  # (B, T, C)
            T = logits.shape[1]
            y = logits.detach().argmax(2) if target is None else torch.full(logits.shape[:2], target,
                                                                             device=x.device)
            picked = logits.gather(2, y[:, :, None])[:, :, 0]  # (B, T)
            ts = [int(t) - 1 for t in sample_positions(T, max_positions)]
            # autograd.grad, not backward(): the model's parameters get no .grad (it may be shared)
            norms = [torch.autograd.grad(picked[:, t].sum(), x, retain_graph=k < len(ts) - 1)[0].norm(dim=2)
                     .detach().cpu().numpy() for k, t in enumerate(ts)]  # each (B, T)
        stacked = np.stack(norms, 1)  # (B, n, T)
        for j, i in enumerate(idx):
            n = len(arrays[i])
            keep = [k for k, t in enumerate(ts) if t < n]
            yield int(i), np.asarray(ts)[keep] + 1, stacked[j, keep, :n]


def position_memory(bundle: ModelBundle, records: Sequence[Record], target: str | None = None,
                    max_positions: int = 32, min_share: float = 0.5, batch_size: int = 32) -> pd.DataFrame:
    """The influence curve of the module docstring, ``past`` and ``future`` (columns of ``memory.COLUMNS``)."""
    check_labeller(bundle, "the memory span per position")
    _, arrays = prepared(bundle, records)
    per: dict[tuple[str, int], tuple[list[float], list[float]]] = {}
    n_records = 0
    for _, ts, infl in _influences(bundle, arrays, target_index(bundle, target), max_positions, batch_size):
        n_records += 1
        dist = ts[:, None] - np.arange(1, infl.shape[1] + 1)[None, :]  # t − p, (n, L)
        for d, rel, raw, _ in by_distance(dist, relative_to_peak(infl, infl.max(1)), infl):
            key = ("past", d) if d >= 0 else ("future", -d)
            rels, raws = per.get(key, ([], []))
            per[key] = (rels + [rel], raws + [raw])
    need = max(1, int(np.ceil(min_share * n_records)))
    rows = [{"direction": direction, "distance": d, "influence": float(np.mean(raws)),
             "relative": float(np.median(rels)), "sequences": len(rels)}
            for (direction, d), (rels, raws) in sorted(per.items(), key=lambda kv: (kv[0][0] != "past", kv[0][1]))
            if len(rels) >= need]
    return pd.DataFrame(rows, columns=COLUMNS)
