"""Gate activations recomputed from a model's own weights, along each sequence.

For every recurrent layer and direction, per step ``t`` and unit ``j``:

* LSTM (PyTorch gate order i, f, g, o): ``input``, ``forget``, ``candidate``, ``output`` gates, plus
  ``cell`` C(t) and ``hidden`` h(t) = o(t) ⊙ tanh(C(t));
* GRU (order r, z, n): ``reset``, ``update``, ``candidate`` and ``hidden``;
* plain RNN: ``hidden`` only.

Arrays are ``(steps, hidden)`` per (layer, direction, gate); step t of a model with a convolutional
front end covers the sequence positions given by ``span_start..span_end`` (1-based). The
recomputed ``hidden`` equals the fused layer's output (checked in the tests to 1e-5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from ..data.encoding import pad_batch
from ..data.io import Record
from ..model.store import ModelBundle
from ..prediction.predict import encode_records

GATES = {"lstm": ("input", "forget", "candidate", "output", "cell", "hidden"),
         "gru": ("reset", "update", "candidate", "hidden"),
         "rnn": ("hidden",)}


def _act(cfg):
    return {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[cfg.activation]


def cell_step(cell: str, cfg, params: dict, proj: torch.Tensor, h: torch.Tensor,
              c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """One step of one direction: ``proj = x(t) @ W_ih.T + b_ih`` ``(..., G*H)``, states ``h, c (..., H)``.

    Returns the new ``h``, ``c`` (unchanged except for the LSTM) and the gate values. Works on one
    sequence ``(H,)`` or on a batch ``(B, H)``; differentiable, so it can also be back-propagated.
    """
    rec = h @ params["weight_hh"].T + params["bias_hh"]  # (..., G*H)
    if cell == "lstm":
        i, f, g, o = (proj + rec).chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h, c, {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}
    if cell == "gru":
        xr, xz, xn = proj.chunk(3, dim=-1)
        hr, hz, hn = rec.chunk(3, dim=-1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h, c, {"reset": r, "update": z, "candidate": n, "hidden": h}
    h = _act(cfg)(proj + rec)
    return h, c, {"hidden": h}


def _recompute(cell: str, cfg, params: dict, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run one direction over ``x (T, F)`` step by step; return ``(T, H)`` tensors per gate."""
    hsz = params["weight_hh"].shape[1]
    h = x.new_zeros(hsz)
    c = x.new_zeros(hsz)
    out: dict[str, list] = {g: [] for g in GATES[cell]}
    proj = x @ params["weight_ih"].T + params["bias_ih"]  # (T, G*H)
    for t in range(x.shape[0]):
        h, c, vals = cell_step(cell, cfg, params, proj[t], h, c)
        for k, v in vals.items():
            out[k].append(v)
    return {k: torch.stack(v) for k, v in out.items()}


def layer_io(bundle: ModelBundle, array: np.ndarray) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
    """Per recurrent layer, its input ``(T', F)`` and fused output ``(T', D)`` for one sequence."""
    model = bundle.model.eval()
    x, lengths = pad_batch([array])
    with torch.no_grad():
        feats, lengths = model.features(x.to(next(model.parameters()).device), lengths)
        packed = pack_padded_sequence(feats, lengths, batch_first=True)
        keep: list = []
        model.recurrent(packed, keep)
    return [(pin.data, pout.data) for pin, pout in keep], int(lengths[0])


def gate_arrays(bundle: ModelBundle, array: np.ndarray) -> dict[tuple[int, str, str], np.ndarray]:
    """``{(layer, direction, gate): (steps, hidden) array}`` for one encoded sequence."""
    cfg = bundle.model.cfg
    cell = cfg.cell
    io, _ = layer_io(bundle, array)
    result = {}
    with torch.no_grad():
        for li, (rnn, (x, _)) in enumerate(zip(bundle.model.rnns, io), 1):
            named = dict(rnn.named_parameters())
            for direction, sfx in (("forward", ""), ("reverse", "_reverse"))[: cfg.directions]:
                params = {k: named[f"{k}_l0{sfx}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
                xin = x.flip(0) if direction == "reverse" else x
                vals = _recompute(cell, cfg, params, xin)
                for gate, v in vals.items():
                    v = v.flip(0) if direction == "reverse" else v
                    result[(li, direction, gate)] = v.cpu().numpy()
    return result


def step_spans(bundle: ModelBundle, steps: int, length: int) -> list[tuple[int, int]]:
    """1-based (start, end) sequence positions covered by each recurrent step."""
    front = bundle.model.front
    if front is None:
        return [(t + 1, t + 1) for t in range(steps)]
    return [front.span(t, length) for t in range(steps)]


def step_positions(bundle: ModelBundle, steps: int) -> np.ndarray:
    """The 1-based sequence position where each step's pooled window starts."""
    pool = bundle.model.cfg.conv_pool if bundle.model.front is not None else 1
    return np.arange(steps) * pool + 1


def gate_table(bundle: ModelBundle, records: Sequence[Record]) -> pd.DataFrame:
    """Tidy long table: id, layer, direction, position, span_start, span_end, unit, gate, value."""
    frames = []
    for rec, array in zip(records, encode_records(bundle, records)):
        arrays = gate_arrays(bundle, array)
        for (layer, direction, gate), a in arrays.items():
            steps, units = a.shape
            spans = np.array(step_spans(bundle, steps, len(array)))
            frames.append(pd.DataFrame({
                "id": rec.id, "layer": layer, "direction": direction,
                "position": np.repeat(step_positions(bundle, steps), units),
                "span_start": np.repeat(spans[:, 0], units), "span_end": np.repeat(spans[:, 1], units),
                "unit": np.tile(np.arange(1, units + 1), steps), "gate": gate, "value": a.reshape(-1),
            }))
    cols = ["id", "layer", "direction", "position", "span_start", "span_end", "unit", "gate", "value"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
