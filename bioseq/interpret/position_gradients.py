"""Gradient flow across time in a labeller, as the lecture defines it: G[t, s] = ‖∂C⁽ᵗ⁾/∂h⁽ˢ⁾‖.

A labeller's cost is C = Σₜ C⁽ᵗ⁾, with C⁽ᵗ⁾ = −log p(y⁽ᵗ⁾ | x) the cross-entropy of the output at
position t (THEORY §1, equations 4–9). For a loss position t and a state position s (both 1-based),
in every recurrent layer and direction, G[t, s] is the norm of the full back-propagation-through-time
gradient of C⁽ᵗ⁾ with respect to the hidden state h⁽ˢ⁾ (each layer unrolled with its own weights,
:mod:`bioseq.interpret.unrolled`). ``distance = t − s``: positive when the error at t flows back to an
earlier state, negative when it reaches a later one (the reverse direction, or any direction of a
layer that feeds a bidirectional one). In a forward-only model G[t, s] = 0 for s > t. For an LSTM h⁽ˢ⁾ is
the hidden state, not the cell state: G is the derivative along h, the cell state C⁽ˢ⁾ being its own path.

y⁽ᵗ⁾ is the true label when label tracks are given (positions not scored are left out), else the
label the model predicts at t, or one chosen ``target`` label at every position.

Shapes: logits ``(B, T, C)``; each layer's ∂C⁽ᵗ⁾/∂h is packed ``(N, D)`` with D = hidden × directions,
laid out ``(B, T, D)``. Cost: each backward pass runs over the whole unrolled graph, so a batch costs
O(T²). A batch of B records is run once as k = max(1, ``ROWS`` // B) copies and each backward pass gives
copy c the loss at its own position, so k loss positions cost one pass (one record: 32 positions a pass).
For long records only ``max_positions`` loss positions are measured, spread evenly over 1..longest
length of the batch (:func:`sample_positions`); ``positions`` chooses them for one record. Measured on
this shared 2-core machine (one thread, load ~5), a 2-layer bidirectional LSTM (hidden 64): one record of
285 letters, 64 positions, 4–7 s (19 s with one backward pass per position on one copy);
:func:`position_profile` of 32 records of 200–300 letters, 32 positions each, about 50 s. Time grows with
the positions measured, so lower ``max_positions`` for speed. (``is_grads_batched`` was measured slower.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.encoding import length_batches, pad_batch
from ..data.io import Record
from ..data.position_labels import UNSCORED
from ..errors import InputError
from ..model.recurrence import directions
from ..model.store import ModelBundle
from ..task import task_of
from .inputs import model_device, no_cudnn, per_position_only, position_labels, prepared, target_index
from .time_gradients import state_grads, time_gradients, time_profile
from .unrolled import padded, unrolled_outputs

COLUMNS = ["id", "layer", "direction", "t", "s", "distance", "grad_norm"]
PROFILE_COLUMNS = ["layer", "direction", "distance", "grad_norm", "relative", "sequences", "positions"]
REACH_COLUMNS = ["layer", "direction", "back", "ahead", "measured_back", "measured_ahead"]
MAX_POSITIONS = 64
ROWS = 32  # rows of one run: a small batch is copied up to this, one copy per loss position (see _flow)


def sample_positions(length: int, max_positions: int = MAX_POSITIONS) -> np.ndarray:
    """1-based loss positions: all of 1..length, or ``max_positions`` of them spread evenly (first and last kept)."""
    if length <= max_positions:
        return np.arange(1, length + 1)
    return np.unique(np.round(np.linspace(1, length, max(max_positions, 2))).astype(np.int64))


def _targets(model, x: torch.Tensor, lengths: torch.Tensor, idx, labels, target: int | None) -> torch.Tensor:
    """y⁽ᵗ⁾ per record and position ``(B, T)`` on the model's device, :data:`UNSCORED` past each length."""
    T = x.shape[1]
    if labels is not None:
        y = torch.full((len(idx), T), UNSCORED, dtype=torch.long)
        for j, i in enumerate(idx):
            y[j, : len(labels[i])] = torch.from_numpy(labels[i])
    elif target is not None:
        y = torch.full((len(idx), T), target, dtype=torch.long)
    else:
        with torch.no_grad():
            y = model(x, lengths).argmax(2).cpu()
    valid = torch.arange(T)[None, :] < lengths[:, None]
    return torch.where(valid, y, torch.full_like(y, UNSCORED)).to(x.device)


def _flow(bundle: ModelBundle, arrays: Sequence[np.ndarray], labels: list[np.ndarray] | None, target: int | None,
          positions: Sequence[int] | None, max_positions: int, batch_size: int
          ) -> Iterator[tuple[int, np.ndarray, dict[tuple[int, str], np.ndarray]]]:
    """Per record ``(index, loss positions (n,), {(layer, direction): G (n, L)})``, rows in loss-position order.

    The batch is run once as k copies (up to :data:`ROWS` rows); each backward pass gives copy c the loss at
    its own position (the copies do not interact in eval mode), so k positions cost one pass.
    """
    model = bundle.model.eval()
    cfg = model.cfg
    dev = model_device(bundle)
    names = [d for d, _ in directions(cfg.bidirectional)]
    for idx in length_batches([len(a) for a in arrays], batch_size):
        x, lengths = pad_batch([arrays[i] for i in idx])
        x, B, T = x.to(dev), len(idx), x.shape[1]
        y = _targets(model, x, lengths, idx, labels, target)  # (B, T)
        ts = np.asarray(positions if positions is not None else sample_positions(T, max_positions)) - 1
        ts = [int(t) for t in ts if (y[:, t] != UNSCORED).any()]
        if not ts:
            continue
        found: dict[tuple[int, str], list[np.ndarray]] = {}
        k = min(max(1, ROWS // B), len(ts))  # copies of the batch
        with no_cudnn():
            out, layers, packed, steps = unrolled_outputs(model, x.repeat(k, 1, 1), lengths.repeat(k))
            logits = model.per_position(out, steps)  # (k B, T, C)
            chunks = [ts[c:c + k] for c in range(0, len(ts), k)]
            for n_pass, chunk in enumerate(chunks):
                rows = torch.arange(len(chunk) * B, device=dev)  # copy c explains position chunk[c]
                at = torch.as_tensor(chunk, device=dev).repeat_interleave(B)
                loss = torch.nn.functional.cross_entropy(logits[rows, at], y.repeat(len(chunk), 1)[rows, at],
                                                         ignore_index=UNSCORED, reduction="sum")
                grads = state_grads(loss, layers, retain_graph=n_pass < len(chunks) - 1)
                for li, g in enumerate(grads, 1):
                    g = padded(packed, g).view(k, B, T, -1)[: len(chunk)]  # (copies used, B, T, D)
                    for d, name in enumerate(names):
                        norms = g[..., d * cfg.hidden:(d + 1) * cfg.hidden].norm(dim=3).detach().cpu().numpy()
                        found.setdefault((li, name), []).extend(norms)  # one (B, T) array per position
        scored = (y[:, ts] != UNSCORED).cpu().numpy()  # (B, n)
        stacked = {key: np.stack(v, 1) for key, v in found.items()}  # (B, n, T)
        for j, i in enumerate(idx):
            keep = np.flatnonzero(scored[j])
            if keep.size:
                n = len(arrays[i])
                yield int(i), np.asarray(ts)[keep] + 1, {key: v[j, keep, :n] for key, v in stacked.items()}


def position_gradients(bundle: ModelBundle, record: Record, labels: str | np.ndarray | None = None,
                       target: str | None = None, positions: Sequence[int] | None = None,
                       max_positions: int = MAX_POSITIONS) -> pd.DataFrame:
    """G[t, s] of the module docstring for one record: columns :data:`COLUMNS`, one row per layer, direction,
    loss position ``t`` and state position ``s`` (1-based), with ``distance = t − s``.

    ``labels`` is the record's true label string (or index track); ``target`` one label to explain at
    every position; neither: the predicted label. ``positions`` (1-based) are the loss positions measured;
    by default all, or ``max_positions`` of them for longer records.
    """
    per_position_only(bundle, "gradient flow across positions")
    _, arrays = prepared(bundle, [record])
    tracks = position_labels(bundle, [record], None if labels is None else [labels])
    if positions is not None:
        bad = [p for p in positions if not 1 <= int(p) <= len(arrays[0])]
        if bad:
            raise InputError(f"position {bad[0]} is outside the sequence (1..{len(arrays[0])})", record.file,
                             record.where)
    frames = []
    for _, ts, grads in _flow(bundle, arrays, tracks, target_index(bundle, target), positions, max_positions, 1):
        n = len(arrays[0])
        s = np.arange(1, n + 1)
        for (layer, direction), g in grads.items():
            frames.append(pd.DataFrame({"id": record.id, "layer": layer, "direction": direction,
                                        "t": np.repeat(ts, n), "s": np.tile(s, len(ts)),
                                        "distance": (ts[:, None] - s[None, :]).reshape(-1),
                                        "grad_norm": g.reshape(-1).astype(np.float64)}))
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def flow_profile(bundle: ModelBundle, records: Sequence[Record], labels: Sequence | None = None,
                 max_positions: int = 32) -> pd.DataFrame:
    """The gradient flow by distance over many records, from where the model's task reads its output: the one
    read-out (:func:`~.time_gradients.time_profile` of :func:`~.time_gradients.time_gradients`, ``labels``
    unused), or every position (:func:`position_profile` with the true ``labels`` when given)."""
    if not task_of(bundle).per_position:
        return time_profile(time_gradients(bundle, records))
    return position_profile(bundle, records, labels, max_positions=max_positions)


def position_profile(bundle: ModelBundle, records: Sequence[Record], labels: Sequence | None = None,
                     target: str | None = None, max_positions: int = 32, min_share: float = 0.5,
                     batch_size: int = 32) -> pd.DataFrame:
    """G by distance t − s over many records: columns :data:`PROFILE_COLUMNS`.

    For each record and measured loss position t, G[t, ·] is divided by its largest value in the same
    layer (both directions), so every position counts alike; per record these relative values (and the
    raw norms) are averaged over its loss positions at each distance. ``relative`` is the **median** over
    the records that reach a distance, ``grad_norm`` the mean raw norm, ``sequences`` how many records
    and ``positions`` how many (record, t) pairs reach it. Distances reached by fewer than ``min_share``
    of the records are left out (long records alone would make the tails saw-toothed).
    """
    per_position_only(bundle, "gradient flow across positions")
    _, arrays = prepared(bundle, records)
    tracks = position_labels(bundle, records, labels)
    per: dict[tuple[int, str, int], tuple[list[float], list[float], int]] = {}
    n_records = 0
    for _, ts, grads in _flow(bundle, arrays, tracks, target_index(bundle, target), None, max_positions, batch_size):
        n_records += 1
        n = next(iter(grads.values())).shape[1]
        dist = (ts[:, None] - np.arange(1, n + 1)[None, :])  # (n_t, L)
        for layer in sorted({k[0] for k in grads}):
            mine = {k: v for k, v in grads.items() if k[0] == layer}
            peak = np.max(np.stack(list(mine.values())), axis=(0, 2))  # (n_t,) largest over directions and s
            for (_, direction), g in mine.items():
                for d, rel, raw, count in by_distance(dist, relative_to_peak(g, peak), g):
                    rels, raws, pairs = per.get((layer, direction, d), ([], [], 0))
                    per[layer, direction, d] = (rels + [rel], raws + [raw], pairs + count)
    need = max(1, int(np.ceil(min_share * n_records)))
    rows = [{"layer": layer, "direction": direction, "distance": d, "grad_norm": float(np.mean(raws)),
             "relative": float(np.median(rels)), "sequences": len(rels), "positions": pairs}
            for (layer, direction, d), (rels, raws, pairs) in sorted(per.items(), key=lambda kv: (
                kv[0][0], kv[0][1] != "forward", kv[0][2])) if len(rels) >= need]
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


def relative_to_peak(values: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """``values (n, L)`` divided row by row by ``peak (n,)`` (0 where the peak is 0)."""
    return np.where(peak[:, None] > 0, values / np.where(peak > 0, peak, 1.0)[:, None], 0.0)


def by_distance(dist: np.ndarray, relative: np.ndarray, raw: np.ndarray) -> list[tuple[int, float, float, int]]:
    """``(distance, mean relative, mean raw, count)`` for every distance in ``dist (n, L)`` (integers), over
    the (t, s) cells at that distance; one record's contribution to a profile."""
    d = dist.reshape(-1)
    lo = int(d.min())
    count = np.bincount(d - lo)
    rel = np.bincount(d - lo, relative.reshape(-1)) / np.maximum(count, 1)
    mean = np.bincount(d - lo, raw.reshape(-1)) / np.maximum(count, 1)
    return [(int(k + lo), float(rel[k]), float(mean[k]), int(count[k])) for k in np.flatnonzero(count)]


def table_profile(df: pd.DataFrame, min_share: float = 0.5) -> pd.DataFrame:
    """:func:`position_profile` computed from :func:`position_gradients` tables (several records concatenated):
    the same rule and columns (:data:`PROFILE_COLUMNS`)."""
    if df.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    peak = df.groupby(["id", "layer", "t"])["grad_norm"].transform("max")
    df = df.assign(relative=np.where(peak > 0, df["grad_norm"] / peak.where(peak > 0, 1.0), 0.0))
    keys = ["layer", "direction", "distance"]
    per = df.groupby(["id", *keys], as_index=False).agg(relative=("relative", "mean"), grad_norm=("grad_norm", "mean"),
                                                        pairs=("t", "size"))
    out = per.groupby(keys, as_index=False).agg(grad_norm=("grad_norm", "mean"), relative=("relative", "median"),
                                                sequences=("id", "nunique"), positions=("pairs", "sum"))
    out = out.assign(order=out["direction"] != "forward").sort_values(["layer", "order", "distance"])
    need = max(1, int(np.ceil(min_share * df["id"].nunique())))
    return out[out["sequences"] >= need].reset_index(drop=True)[PROFILE_COLUMNS]


def flow_reach(profile: pd.DataFrame, fraction: float = 0.01) -> pd.DataFrame:
    """How far back and ahead the error at a position reaches, per layer and direction: columns
    :data:`REACH_COLUMNS`. ``back`` is the largest distance t − s ≥ 0 whose relative gradient is at
    least ``fraction``; ``ahead`` the largest s − t ≥ 0 likewise (0 when none: a forward direction of a
    one-layer model never reaches ahead); ``measured_*`` are the farthest distances the profile holds.
    """
    rows = []
    for (layer, direction), g in profile.groupby(["layer", "direction"], sort=False):
        d, rel = g["distance"].to_numpy(), g["relative"].to_numpy()
        past, future = (d >= 0) & (rel >= fraction), (d <= 0) & (rel >= fraction)
        rows.append({"layer": layer, "direction": direction,
                     "back": int(d[past].max()) if past.any() else 0,
                     "ahead": int(-d[future].min()) if future.any() else 0,
                     "measured_back": int(max(d.max(), 0)), "measured_ahead": int(max(-d.min(), 0))})
    return pd.DataFrame(rows, columns=REACH_COLUMNS)
