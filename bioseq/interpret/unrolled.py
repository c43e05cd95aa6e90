"""A model run with every recurrent layer unrolled, so that each gate at each step is its own tensor.

A fused recurrent layer (``nn.LSTM``, cuDNN) returns its outputs as one tensor: autograd then sees
neither the gates nor the path back through the recurrence. :func:`unrolled_logits` runs the model's
own ``features``, ``recurrent`` (skip connections, normalisation and dropout between layers),
``readout`` and ``head`` with each layer replaced by an :class:`UnrolledLayer` of the same weights,
which runs the one unrolled time loop (:func:`bioseq.model.recurrence.unroll_layer`, the cell's step
from :mod:`bioseq.model.cells`) and keeps every gate of every step. A gradient with respect to one of
those tensors is the full back-propagation-through-time derivative.

Shapes: packed data is ``(N, F)`` with N = sum of the (front-end) lengths, time-major with
shrinking batch sizes; ``UnrolledLayer.steps[d][t][gate]`` is ``(batch_sizes[t], H)`` for direction
``d`` (forward first); concatenated over steps they are packed data ``(N, H)``, which :func:`padded`
lays out as ``(B, T', H)``.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..errors import InputError
from ..model import cells
from ..model.recurrence import hidden_output, packed_like, unroll_layer
from ..task import task_of


class UnrolledLayer:
    """Stand-in for one recurrent layer: the same weights and maths, step by step, keeping every gate."""

    def __init__(self, rnn, cfg):
        self.rnn, self.cfg, self.spec = rnn, cfg, cells.get(cfg.cell)
        self.steps: list[list[dict[str, torch.Tensor]]] = []  # per direction, per step: gate -> (B_t, H)

    def __call__(self, packed: PackedSequence):
        self.steps = unroll_layer(self.spec, self.cfg, self.rnn, packed)
        return hidden_output(packed, self.steps), None


def unrolled_outputs(model, x: torch.Tensor, lengths: torch.Tensor):
    """``(out (B, T', D), layers, packed, steps)``: the last recurrent layer's padded outputs with unrolled layers.

    ``packed`` is the first layer's packed input (its batch sizes and order are every layer's) and
    ``steps`` the lengths after the front end ``(B,)``.
    """
    feats, steps = model.features(x, lengths)
    packed = pack_padded_sequence(feats, steps, batch_first=True, enforce_sorted=False)
    layers = [UnrolledLayer(rnn, model.cfg) for rnn in model.rnns]
    stand_in = SimpleNamespace(cfg=model.cfg, rnns=layers, norms=model.norms, drop=model.drop)
    out, _ = pad_packed_sequence(type(model).recurrent(stand_in, packed), batch_first=True)
    return out, layers, packed, steps


def unrolled_logits(model, x: torch.Tensor, lengths: torch.Tensor):
    """``(logits (B, C), layers, packed, steps)`` of ``model`` on ``x (B, T, K)`` with unrolled layers
    (see :func:`unrolled_outputs`). A labeller has no read-out: it is refused (read its outputs per position)."""
    if task_of(model).per_position:
        raise InputError("this view reads one score per sequence; a labeller gives one per position (see "
                         "bioseq.interpret.position_gradients)")
    out, layers, packed, steps = unrolled_outputs(model, x, lengths)
    return model.head(model.readout(out, steps)), layers, packed, steps


def padded(packed: PackedSequence, data: torch.Tensor) -> torch.Tensor:
    """Packed ``data (N, H)`` laid out like ``packed`` as a padded batch ``(B, T', H)`` in input order."""
    return pad_packed_sequence(packed_like(packed, data), batch_first=True)[0]
