"""Gate activations recomputed from a model's own weights, along each sequence.

For every recurrent layer and direction, per step ``t`` and unit ``j``, every gate of the model's
cell, as its spec in :mod:`bioseq.model.cells` lists them (for example LSTM: ``input``,
``forget``, ``candidate``, ``output``, ``cell`` C(t), ``hidden`` h(t); plain RNN: ``hidden``), run
by the one unrolled time loop (:func:`bioseq.model.recurrence.unroll`) with the layer's own weights.

Arrays are ``(steps, hidden)`` per (layer, direction, gate); step t of a model with a convolutional
front end covers the sequence positions given by ``span_start..span_end`` (1-based). The
recomputed ``hidden`` equals the fused layer's output (checked in the tests to 1e-5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence

from ..data.encoding import pad_batch
from ..data.io import Record
from ..model import cells, encodings
from ..model.recurrence import directions, unroll_layer
from ..model.store import ModelBundle
from ..prediction.predict import encode_records


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
    spec = cells.get(cfg.cell)
    io, _ = layer_io(bundle, array)
    result = {}
    with torch.no_grad():
        for li, (rnn, (x, _)) in enumerate(zip(bundle.model.rnns, io), 1):
            per_direction = unroll_layer(spec, cfg, rnn, pack_sequence([x]))  # one sequence: step t is row t
            for (direction, _), steps in zip(directions(cfg.bidirectional), per_direction):
                for gate in spec.gates:
                    result[(li, direction, gate)] = torch.cat([s[gate] for s in steps]).cpu().numpy()
    return result


def step_spans(bundle: ModelBundle, steps: int, length: int) -> list[tuple[int, int]]:
    """1-based (start, end) sequence positions covered by each recurrent step."""
    front = bundle.model.front
    if front is None:
        back, ahead = encodings.reach(bundle.model.cfg)  # a k-mer encoding reads letters beside its position
        return [(max(t - back, 0) + 1, min(t + ahead, length - 1) + 1) for t in range(steps)]
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
