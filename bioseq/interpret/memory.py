"""Memory span: how strongly an input position influences the output, by distance from the read-out.

The explained score is the target class logit, ``head(r)`` of the read-out vector ``r (B, D)``. Its
forward half ``r[:, :H]`` comes from the forward direction, read at the last letter (for the ``last``
read-out), and its reverse half from the reverse direction, read at the first letter; so the score
splits into one part per direction, and each part has its own read-out position. For each record,
direction and input position ``p`` the influence is ``‖∂ score_direction / ∂x(p)‖`` at distance
``k`` from that direction's read-out (forward: from the end, ``k = L - 1 - p``; reverse: from the start,
``k = p``).

Averaging sequences of mixed lengths, with fewer and fewer sequences at long distances, makes such a
curve saw-tooth. So each sequence's influences are divided by that sequence's largest one (over both
directions), the curve is the **median** of these relative values over the sequences that reach a
distance, and distances reached by fewer than ``min_share`` of the sequences are not drawn. Columns:
``direction, distance, influence`` (mean raw norm), ``relative`` (median relative), ``sequences``.

With a ``mean``, ``max`` or ``attention`` read-out the model reads every position, so the distance is
counted from the sequence's end and start all the same, but there is no single read-out it travels from.

A task with an output per position (a labeller) has a read-out at every position t: the influence is
``‖∂ logit_t(y) / ∂x(p)‖`` for y the label predicted at t (or the chosen one); ``direction`` is ``past`` for
inputs at or before t (``distance = t − p ≥ 0``) and ``future`` after it (``distance = p − t ≥ 1``). Each
(record, t) row is divided by its largest value and averaged per record over its measured positions t
(``max_positions`` of them per batch, :func:`~bioseq.interpret.position_gradients.sample_positions`, one
backward pass each); the curve is then made as above, with the same columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..data.io import Record
from ..model.store import ModelBundle
from ..task import task_of
from .inputs import batches, no_cudnn, prepared, resolve_targets, target_index
from .position_gradients import by_distance, relative_to_peak, sample_positions

COLUMNS = ["direction", "distance", "influence", "relative", "sequences"]


def direction_gradients(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray,
                        batch_size: int = 64) -> list[dict[str, np.ndarray]]:
    """Per record: ``{direction: ‖∂ score_direction / ∂x(p)‖ (L,)}`` for the target class of each record."""
    model = bundle.model.eval()
    cfg = model.cfg
    names = ("forward", "reverse")[: cfg.directions]
    out: list[dict] = [None] * len(arrays)  # type: ignore[list-item]
    for idx, x, lengths in batches(bundle, arrays, batch_size):
        x = x.requires_grad_(True)
        with no_cudnn():
            feats, steps = model.features(x, lengths)
            packed = pack_padded_sequence(feats, steps, batch_first=True, enforce_sorted=False)
            seq_out, _ = pad_packed_sequence(model.recurrent(packed), batch_first=True)
            r = model.readout(seq_out, steps)  # (B, D)
            w = model.head.weight[torch.as_tensor(targets[idx], device=x.device)]  # (B, D)
            parts = [(r[:, d * cfg.hidden:(d + 1) * cfg.hidden] * w[:, d * cfg.hidden:(d + 1) * cfg.hidden]).sum()
                     for d in range(len(names))]
            # autograd.grad, not backward(): the model's parameters get no .grad (it may be shared)
            grads = [torch.autograd.grad(part, x, retain_graph=True)[0] for part in parts]
        norms = [g.norm(dim=2).detach().cpu().numpy() for g in grads]  # (B, T) per direction
        for j, i in enumerate(idx):
            out[i] = {name: n[j, : len(arrays[i])] for name, n in zip(names, norms)}
    return out


def memory_curve(bundle: ModelBundle, records: Sequence[Record], target: str | None = None,
                 min_share: float = 0.5, max_positions: int = 32, batch_size: int = 32) -> pd.DataFrame:
    """The influence curve of the module docstring (columns :data:`COLUMNS`): one per direction from the
    read-out, or ``past`` and ``future`` of each position for a task with an output per position
    (``max_positions`` measured per batch of ``batch_size``)."""
    _, arrays = prepared(bundle, records)
    if not arrays:
        return pd.DataFrame(columns=COLUMNS)
    per = _per_position(bundle, arrays, target, max_positions, batch_size) if task_of(bundle).per_position \
        else _per_readout(bundle, arrays, target)
    need = max(1, int(np.ceil(min_share * len(arrays))))
    first = "forward" if any(d == "forward" for d, _ in per) else "past"
    rows = [{"direction": d, "distance": k, "influence": float(np.mean(raws)), "relative": float(np.median(rels)),
             "sequences": len(rels)}
            for (d, k), (rels, raws) in sorted(per.items(), key=lambda kv: (kv[0][0] != first, kv[0][1]))
            if len(rels) >= need]
    return pd.DataFrame(rows, columns=COLUMNS)


def _per_readout(bundle: ModelBundle, arrays, target: str | None) -> dict:
    """``{(direction, distance): (relative values, raw norms)}``, one value per record, from the read-out."""
    per: dict = defaultdict(lambda: ([], []))
    for norms in direction_gradients(bundle, arrays, resolve_targets(bundle, arrays, target)):
        peak = max(float(v.max()) for v in norms.values()) if norms else 0.0
        for direction, v in norms.items():
            by_distance = v[::-1] if direction == "forward" else v  # index k = distance from the read-out
            for k, value in enumerate(by_distance):
                per[direction, k][0].append(float(value) / peak if peak > 0 else 0.0)
                per[direction, k][1].append(float(value))
    return per


def _per_position(bundle: ModelBundle, arrays, target: str | None, max_positions: int, batch_size: int) -> dict:
    """``{(past | future, distance): (relative values, raw norms)}``, one value per record, from every position."""
    per: dict = defaultdict(lambda: ([], []))
    for _, ts, infl in _influences(bundle, arrays, target_index(bundle, target), max_positions, batch_size):
        dist = ts[:, None] - np.arange(1, infl.shape[1] + 1)[None, :]  # t − p, (n, L)
        for d, rel, raw, _ in by_distance(dist, relative_to_peak(infl, infl.max(1)), infl):
            key = ("past", d) if d >= 0 else ("future", -d)
            per[key][0].append(rel)
            per[key][1].append(raw)
    return per


def _influences(bundle: ModelBundle, arrays: Sequence[np.ndarray], target: int | None, max_positions: int,
                batch_size: int):
    """Per record ``(index, output positions (n,) 1-based, influence (n, L))`` of an output per position."""
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


def reach(curve: pd.DataFrame) -> pd.DataFrame:
    """The strongest direction at each distance: ``distance, influence, relative, sequences`` (what the
    model as a whole still feels that far from a read-out)."""
    if curve.empty:
        return pd.DataFrame(columns=COLUMNS[1:])
    return curve.groupby("distance", as_index=False).agg(influence=("influence", "max"), relative=("relative", "max"),
                                                         sequences=("sequences", "max"))


FRACTION = 0.01  # the memory span's threshold: a share of the peak influence (the chart's dashed line)

# The ends of a sequence by direction of reading: the forward read-out is at the last letter, the reverse at the first.
ENDS = {"protein": {"forward": "C-terminal", "reverse": "N-terminal"}}
NUCLEIC_ENDS = {"forward": "3′", "reverse": "5′"}
SIDES = {"forward": "last", "reverse": "first"}


def spans(curve: pd.DataFrame, fraction: float = FRACTION) -> dict[str, int | None]:
    """The memory span of each direction of the curve: see :func:`effective_memory`."""
    if curve.empty:
        return {}
    groups = curve.groupby("direction", sort=False) if "direction" in curve.columns else [("", curve)]
    found: dict[str, int | None] = {}
    for direction, g in groups:
        g = g.sort_values("distance")
        kept = np.flatnonzero(g["relative"].to_numpy() >= fraction)
        if not kept.size:
            found[direction] = 0
        elif kept[-1] == len(g) - 1:
            found[direction] = None
        else:
            found[direction] = int(g["distance"].iloc[kept[-1] + 1])
    return found


def effective_memory(curve: pd.DataFrame, fraction: float = FRACTION) -> int | None:
    """The memory span, the one definition every sentence and chart uses: the first distance from the read-out
    (drawn on the curve) beyond which the relative influence (the median share of each sequence's peak, the
    line the memory chart draws) stays below ``fraction`` (1%, the chart's dashed line); with one curve per
    direction, the farthest of them. So every input at that distance or farther gets under 1% of the peak,
    and one nearer does not.

    ``None`` when the curve is still at or above ``fraction`` at the farthest distance drawn (the model reaches
    as far as was measured); 0 when it never reaches ``fraction`` (no distance holds 1% of the influence in the
    median sequence: each sequence's influence sits somewhere else, where its signal is).
    """
    found = spans(curve, fraction)
    if not found or any(v is None for v in found.values()):
        return None
    return max(found.values())


def span_words(curve: pd.DataFrame, alphabet: str | None = None, fraction: float = FRACTION) -> str:
    """Which inputs the model uses, in the sequence's own terms: ``the last ~39 positions (the C-terminal end)``
    from a forward read-out, ``the first ~12 positions (the 5′ end)`` from a reverse one, both for a model that
    reads both ways; a labeller's ``the ~5 positions up to each position labelled and ~3 after it``."""
    found = {d: k for d, k in spans(curve, fraction).items() if k}
    if "past" in found or "future" in found:
        parts = ([f"the ~{found['past']} positions up to each position labelled"] if "past" in found else []) + \
            ([f"~{found['future']} after it"] if "future" in found else [])
        return " and ".join(parts)
    ends = ENDS.get(alphabet or "", NUCLEIC_ENDS if alphabet else {})
    return " and ".join(f"the {SIDES.get(d, 'last')} ~{k} positions" + (f" (the {ends[d]} end)" if d in ends else "")
                        for d, k in found.items())


def measured_range(curve: pd.DataFrame) -> int:
    """The longest distance the curve covers (what "the whole range" means for :func:`effective_memory`)."""
    return int(curve["distance"].max()) if len(curve) else 0
