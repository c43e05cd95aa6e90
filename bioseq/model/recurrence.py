"""Running one recurrent layer over a packed batch: the fused fast path and the one unrolled time loop.

Packed data (``PackedSequence.data``) is ``(N, F)`` with N = sum of lengths, time-major: step t
holds rows ``offsets[t]:offsets[t + 1]``, one per sequence still running at t, longest first, so
``batch_sizes`` shrink. Outputs are ``(N, D)`` in the same order, D = hidden * directions (forward
first).

* :func:`run_layer` runs any layer; PyTorch's fused single-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN``
  take a fast padded path on the CPU.
* :func:`unroll` is the time loop, step by step with a cell's step function
  (of a :class:`~bioseq.model.cells.CellSpec`: the cells build their layers from here, so this module
  never imports them), keeping every gate of every step as its own tensor; the reverse direction walks
  the steps backwards, starting each sequence at zero where it ends.
  :func:`unroll_layer` runs it over every direction of a layer, fused or not, from the layer's own
  weights: the generic :class:`UnrolledRNN`, the gate recomputation and the unrolled stand-in for
  gradients across time all go through it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

DIRECTIONS = (("forward", ""), ("reverse", "_reverse"))  # direction name and parameter suffix
FUSED_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # a fused layer's, in its flat-weights order


def packed_like(packed: PackedSequence, data: torch.Tensor) -> PackedSequence:
    """``data`` laid out as ``packed`` (same batch sizes and row order)."""
    return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)


def directions(bidirectional: bool) -> tuple[tuple[str, str], ...]:
    return DIRECTIONS[: 2 if bidirectional else 1]


def direction_params(layer: nn.Module, names: Sequence[str], suffix: str) -> dict[str, torch.Tensor]:
    """One direction's parameters by their short names: ``weight_ih`` is ``layer.weight_ih_l0{suffix}``."""
    return {k: getattr(layer, f"{k}_l0{suffix}") for k in names}


def _resize(state: torch.Tensor, rows: int) -> torch.Tensor:
    if state.shape[0] < rows:  # the reverse direction: sequences that end here start at zero
        state = torch.cat([state, state.new_zeros(rows - state.shape[0], state.shape[1])])
    return state[:rows]


def unroll(spec, cfg, params: Mapping[str, torch.Tensor], data: torch.Tensor, batch_sizes: Sequence[int],
           reverse: bool) -> list[dict[str, torch.Tensor]]:
    """One direction over packed ``data (N, F)``: per step t, every gate of ``spec`` ``(batch_sizes[t], H)``.

    ``spec`` is a :class:`~bioseq.model.cells.CellSpec`; ``params`` are the direction's parameters
    by short name. The input projection is one product for all steps; each step's state is the
    previous step's tensors themselves, so autograd sees every h(t) along the recurrence.
    """
    hsz = params["weight_hh"].shape[1]
    proj = data @ params["weight_ih"].T + params["bias_ih"]  # (N, G*H)
    offsets = [0, *itertools.accumulate(batch_sizes)]
    out: list[dict[str, torch.Tensor]] = [{} for _ in batch_sizes]
    state = {k: data.new_zeros(0, hsz) for k in spec.state}
    steps = range(len(batch_sizes))
    for t in reversed(steps) if reverse else steps:
        gates = spec.step(cfg, params, proj[offsets[t]:offsets[t + 1]], {k: _resize(v, batch_sizes[t])
                                                                         for k, v in state.items()})
        out[t] = gates
        state = {k: gates[k] for k in spec.state}
    return out


def unroll_layer(spec, cfg, layer: nn.Module, packed: PackedSequence) -> list[list[dict[str, torch.Tensor]]]:
    """:func:`unroll` over each direction of ``layer`` (forward first), with the layer's own weights."""
    sizes = packed.batch_sizes.tolist()
    return [unroll(spec, cfg, direction_params(layer, spec.param_names, sfx), packed.data, sizes, reverse=bool(sfx))
            for _, sfx in directions(cfg.bidirectional)]


def hidden_output(packed: PackedSequence, per_direction: list[list[dict[str, torch.Tensor]]]) -> PackedSequence:
    """The layer output from :func:`unroll_layer`'s gates: h(t) of each direction side by side, ``(N, D)``."""
    return packed_like(packed, torch.cat([torch.cat([g["hidden"] for g in steps]) for steps in per_direction], 1))


class UnrolledRNN(nn.Module):
    """A recurrent layer for a cell with no fused kernel: :func:`unroll` with the cell's step.

    Parameters keep ``nn.RNN``'s names (``weight_ih_l0``, ..., ``bias_hh_l0_reverse``) plus the
    cell's extra ones, all initialised U(-1/√H, 1/√H) in registration order, as ``nn.RNN`` does.
    ``forward(packed)`` returns ``(PackedSequence (N, D), None)`` like ``nn.RNN``.
    """

    def __init__(self, spec, cfg, input_size: int):
        super().__init__()
        self.spec, self.cfg = spec, cfg
        self.hidden_size, self.bidirectional = cfg.hidden, cfg.bidirectional
        k = 1.0 / math.sqrt(cfg.hidden)
        for _, sfx in directions(cfg.bidirectional):
            for name, shape in spec.param_shapes(input_size, cfg.hidden).items():
                self.register_parameter(f"{name}_l0{sfx}", nn.Parameter(torch.empty(shape).uniform_(-k, k)))

    def extra_repr(self) -> str:
        return f"{self.spec.name}, hidden={self.hidden_size}, bidirectional={self.bidirectional}"

    def forward(self, packed: PackedSequence) -> tuple[PackedSequence, None]:
        return hidden_output(packed, unroll_layer(self.spec, self.cfg, self, packed)), None


def _fused_op(rnn: nn.Module):
    """The ATen function behind a single-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN`` with biases, else ``None``."""
    if type(rnn) not in (nn.LSTM, nn.GRU, nn.RNN) or rnn.num_layers != 1 or not rnn.bias \
            or getattr(rnn, "proj_size", 0):
        return None
    return {"LSTM": torch.lstm, "GRU": torch.gru, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}[rnn.mode]


class _Reversal(torch.autograd.Function):
    """``x.index_select(0, index)`` for an ``index`` that is its own inverse, so the backward pass is the
    same cheap gather (no scatter-add)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        return grad.index_select(0, index), None


def reversal_index(lengths: torch.Tensor, T: int, device: torch.device | str = "cpu") -> torch.Tensor | None:
    """Flat ``(B * T,)`` row index reversing each row of a ``(B, T, ·)`` batch within its own length
    (padding stays in place); ``None`` when every length is ``T`` (then a plain flip does it)."""
    if bool((lengths == T).all()):
        return None
    t = torch.arange(T)[None, :]
    lengths = lengths.cpu()[:, None]
    flip = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T)
    return (flip + T * torch.arange(len(lengths))[:, None]).reshape(-1).to(device)


def reverse_within(x: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
    """``x (B, T, F)`` with each row reversed within its length (:func:`reversal_index`; ``None``: all of T)."""
    if index is None:
        return x.flip(1)
    B, T, F = x.shape
    return _Reversal.apply(x.reshape(B * T, F), index).view(B, T, F)


def padded_layer(rnn: nn.Module, x: torch.Tensor, index: torch.Tensor | None,
                 final: torch.Tensor | None = None) -> torch.Tensor:
    """A fused single-layer ``rnn`` over a right-padded batch ``x (B, T, F)``: outputs ``(B, T, D)``.

    The forward direction runs on the batch as it is; the reverse direction on each row reversed within
    its length (``index`` from :func:`reversal_index`), so at every valid position the outputs are those
    of the packed run (past a length they are meaningless). ``index=None`` with a bidirectional layer
    means every length is T: both directions then run in one fused call.

    With ``final (B,)``, each row's last valid position, the result is the final states ``(B, D)``
    instead (the ``last`` read-out): the forward direction's at ``final`` and the reverse direction's at
    position 0, which is ``final`` of its reversed run. When every row ends at T - 1 they are the fused
    call's own final states.
    """
    fused = _fused_op(rnn)
    B, T = x.shape[:2]
    both = rnn.bidirectional and index is None
    h0 = x.new_zeros(2 if both else 1, B, rnn.hidden_size)
    hx = (h0, h0) if fused is torch.lstm else h0
    calls = [("", "_reverse")] if both else [(sfx,) for _, sfx in directions(rnn.bidirectional)]
    outs = []
    for suffixes in calls:
        weights = [w for sfx in suffixes for w in direction_params(rnn, FUSED_PARAMS, sfx).values()]
        backwards = suffixes == ("_reverse",)
        res = fused(reverse_within(x, index) if backwards else x, hx, weights, True, 1, 0.0, rnn.training, both, True)
        if final is None:
            outs.append(reverse_within(res[0], index) if backwards else res[0])  # (B, T, H or D)
        elif not backwards and bool((final == T - 1).all()):
            outs.append(torch.cat(list(res[1]), dim=1))  # (B, H or D)
        else:
            outs.append(res[0][torch.arange(B, device=x.device), final])  # (B, H)
    return torch.cat(outs, dim=1 if final is not None else 2) if len(outs) > 1 else outs[0]


def padded_ok(rnn: nn.Module, device: torch.device) -> bool:
    """Whether :func:`padded_layer` runs ``rnn`` exactly: a fused single-layer cell, on the CPU (CUDA keeps
    cuDNN's packed kernels)."""
    return _fused_op(rnn) is not None and device.type == "cpu"


def run_layer(rnn: nn.Module, packed: PackedSequence) -> PackedSequence:
    """One recurrent layer over a packed batch: outputs ``data (sum of lengths, D)`` at the valid positions.

    On the CPU, PyTorch's packed kernels are several times slower (backward especially) than the
    oneDNN kernels of a padded batch. There, a single-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN`` runs
    :func:`padded_layer` and the valid positions are packed again, so outputs and gradients are those
    of the packed run (to float rounding). Other layers and CUDA use the packed call.
    """
    if not padded_ok(rnn, packed.data.device):
        return rnn(packed)[0]
    x, lengths = pad_packed_sequence(packed, batch_first=True)  # (B, T, F), lengths on the CPU
    T = x.shape[1]
    index = reversal_index(lengths, T, x.device) if rnn.bidirectional else None
    out = padded_layer(rnn, x, index)  # (B, T, D)
    order = packed.sorted_indices
    if order is not None:  # back to the packed batch's own row order (longest first)
        out, lengths = out.index_select(0, order), lengths[order.cpu()]
    return packed_like(packed, pack_padded_sequence(out, lengths, batch_first=True).data)
