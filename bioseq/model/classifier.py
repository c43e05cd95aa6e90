"""One recurrent sequence classifier, built from a :class:`ModelConfig`.

Data flow and shapes (B = batch, T = longest length in the batch, K = alphabet size):

* input ``x (B, T, K)`` one-hot, ``lengths (B,)``; rows past a length are zero;
* optional convolutional front end: ``Conv1d`` + ReLU + max-pool of width ``conv_pool`` over valid
  positions only, giving ``(B, ceil(T / conv_pool), conv_filters)``;
* the sequence is packed once; every recurrent layer reads and writes a ``PackedSequence`` whose
  ``data`` is ``(sum of lengths, features)``, exactly the valid positions, so padding never changes
  outputs, gradients or batch-norm statistics. Between layers: skip connection, normalisation
  (``batch`` or ``layer``, over valid positions only), dropout;
* read-out over valid positions (``last``, ``mean``, ``max``, ``attention``) to ``(B, D)`` with
  ``D = hidden * directions``; ``last`` reads the forward direction at the last valid position
  and the backward direction at position 1;
* a linear head gives logits ``(B, n_classes)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .config import ModelConfig


class SigmoidRNN(nn.Module):
    """Elman RNN with a sigmoid activation over a ``PackedSequence`` (``nn.RNN`` has no sigmoid).

    Parameter names match ``nn.RNN`` (``weight_ih_l0``, ``weight_hh_l0_reverse``, ...). Packed data
    is time-major with shrinking batch sizes, so step t updates only the first ``batch_sizes[t]``
    states; the backward direction walks the steps in reverse, starting new sequences at zero.
    """

    def __init__(self, input_size: int, hidden_size: int, bidirectional: bool):
        super().__init__()
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        k = 1.0 / math.sqrt(hidden_size)
        for sfx in ("", "_reverse")[: 2 if bidirectional else 1]:
            shapes = (("weight_ih_l0", (hidden_size, input_size)), ("weight_hh_l0", (hidden_size, hidden_size)),
                      ("bias_ih_l0", (hidden_size,)), ("bias_hh_l0", (hidden_size,)))
            for name, shape in shapes:
                self.register_parameter(name + sfx, nn.Parameter(torch.empty(shape).uniform_(-k, k)))

    def _direction(self, data: torch.Tensor, batch_sizes: list[int], sfx: str, reverse: bool) -> torch.Tensor:
        w_hh = getattr(self, "weight_hh_l0" + sfx)
        proj = data @ getattr(self, "weight_ih_l0" + sfx).T + getattr(self, "bias_ih_l0" + sfx) \
            + getattr(self, "bias_hh_l0" + sfx)  # (N, H)
        offsets = [0]
        for bs in batch_sizes:
            offsets.append(offsets[-1] + bs)
        outs: list[torch.Tensor] = [None] * len(batch_sizes)  # type: ignore[list-item]
        h = data.new_zeros(0, self.hidden_size)
        steps = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        for t in steps:
            bs = batch_sizes[t]
            if h.shape[0] < bs:
                h = torch.cat([h, h.new_zeros(bs - h.shape[0], self.hidden_size)])
            h = torch.sigmoid(proj[offsets[t]:offsets[t + 1]] + h[:bs] @ w_hh.T)
            outs[t] = h
        return torch.cat(outs)

    def forward(self, packed: PackedSequence) -> tuple[PackedSequence, None]:
        sizes = packed.batch_sizes.tolist()
        out = self._direction(packed.data, sizes, "", reverse=False)
        if self.bidirectional:
            out = torch.cat([out, self._direction(packed.data, sizes, "_reverse", reverse=True)], dim=1)
        return PackedSequence(out, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices), None


def make_rnn(cfg: ModelConfig, input_size: int) -> nn.Module:
    """One recurrent layer (both directions) of the configured cell type."""
    if cfg.cell == "rnn" and cfg.activation == "sigmoid":
        return SigmoidRNN(input_size, cfg.hidden, cfg.bidirectional)
    kw = dict(input_size=input_size, hidden_size=cfg.hidden, batch_first=True, bidirectional=cfg.bidirectional)
    if cfg.cell == "rnn":
        return nn.RNN(nonlinearity=cfg.activation, **kw)
    rnn = nn.LSTM(**kw) if cfg.cell == "lstm" else nn.GRU(**kw)
    if cfg.cell == "lstm":
        h = cfg.hidden
        with torch.no_grad():  # PyTorch gate order is i, f, g, o
            for name, p in rnn.named_parameters():
                if name.startswith("bias_ih"):
                    p[h:2 * h].fill_(cfg.forget_bias)
                elif name.startswith("bias_hh"):
                    p[h:2 * h].zero_()
    return rnn


def _packed_like(packed: PackedSequence, data: torch.Tensor) -> PackedSequence:
    return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)


def _fused_op(rnn: nn.Module):
    """The ATen function behind a single-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN`` with biases, else ``None``."""
    if type(rnn) not in (nn.LSTM, nn.GRU, nn.RNN) or rnn.num_layers != 1 or not rnn.bias \
            or getattr(rnn, "proj_size", 0):
        return None
    return {"LSTM": torch.lstm, "GRU": torch.gru, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}[rnn.mode]


def run_layer(rnn: nn.Module, packed: PackedSequence) -> PackedSequence:
    """One recurrent layer over a packed batch: outputs ``data (sum of lengths, D)`` at the valid positions.

    On the CPU, PyTorch's packed kernels are several times slower (backward especially) as soon
    as the lengths in a batch differ. There, a single-layer ``nn.LSTM``/``nn.GRU``/``nn.RNN`` runs
    each direction over the padded batch instead: the forward direction on the batch as it is, the
    reverse direction on each sequence reversed within its own length. Padding then always comes
    after the valid positions, which are packed again, so outputs and gradients are those of the
    packed run (to float rounding). Other layers, the GPU and equal lengths use the packed call.
    """
    fused = _fused_op(rnn)
    sizes = packed.batch_sizes
    if fused is None or packed.data.device.type != "cpu" or int(sizes[0]) == int(sizes[-1]):
        return rnn(packed)[0]
    x, lengths = pad_packed_sequence(packed, batch_first=True)  # (B, T, F), lengths on the CPU
    B, T, _ = x.shape
    hidden = rnn.hidden_size
    h0 = x.new_zeros(1, B, hidden)
    outs = []
    for suffix in ("", "_reverse")[: 2 if rnn.bidirectional else 1]:
        weights = [getattr(rnn, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        inp, flip = x, None
        if suffix:  # position t of row b reads position lengths[b] - 1 - t; padding stays in place
            t = torch.arange(T)[None, :]
            flip = torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t).to(x.device)  # (B, T)
            inp = x.gather(1, flip[:, :, None].expand(-1, -1, x.shape[2]))
        hx = (h0, h0) if fused is torch.lstm else h0
        out = fused(inp, hx, weights, True, 1, 0.0, rnn.training, False, True)[0]  # (B, T, H)
        outs.append(out if flip is None else out.gather(1, flip[:, :, None].expand(-1, -1, hidden)))
    out = torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]  # (B, T, D)
    order = packed.sorted_indices
    if order is not None:  # back to the packed batch's own row order (longest first)
        out, lengths = out.index_select(0, order), lengths[order.cpu()]
    return _packed_like(packed, pack_padded_sequence(out, lengths, batch_first=True).data)


class ConvFrontEnd(nn.Module):
    """``(B, T, K) -> (B, ceil(T / pool), filters)``; pooling sees valid positions only."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.width, self.pool = cfg.conv_width, cfg.conv_pool
        self.conv = nn.Conv1d(cfg.alphabet_size, cfg.conv_filters, cfg.conv_width, padding="same")
        self.relu = nn.ReLU()  # a module (no parameters), so Captum's DeepLift applies its rescale rule here

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths + self.pool - 1, self.pool, rounding_mode="floor")

    def span(self, step: int, length: int) -> tuple[int, int]:
        """1-based inclusive range of sequence positions that output step ``step`` (0-based) sees."""
        left = (self.width - 1) // 2
        lo = step * self.pool - left
        hi = step * self.pool + self.pool - 1 + (self.width - 1 - left)
        return max(lo, 0) + 1, min(hi, length - 1) + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.relu(self.conv(x.transpose(1, 2)))  # (B, F, T)
        mask = torch.arange(y.shape[2], device=y.device)[None, :] < lengths.to(y.device)[:, None]
        if self.pool > 1:
            y = y.masked_fill(~mask[:, None, :], float("-inf"))
            y = nn.functional.max_pool1d(y, self.pool, ceil_mode=True)
            lengths = self.out_lengths(lengths)
            mask = torch.arange(y.shape[2], device=y.device)[None, :] < lengths.to(y.device)[:, None]
        y = y.masked_fill(~mask[:, None, :], 0.0)
        return y.transpose(1, 2), lengths  # (B, T', F)


class SequenceClassifier(nn.Module):
    """Recurrent classifier for one-hot sequences; see the module docstring for the data flow."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.front = ConvFrontEnd(cfg) if cfg.conv else None
        size = cfg.conv_filters if cfg.conv else cfg.alphabet_size
        self.rnns = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(cfg.layers):
            self.rnns.append(make_rnn(cfg, size if i == 0 else cfg.out_dim))
            if i < cfg.layers - 1:
                norm = {"none": nn.Identity, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}[cfg.norm]
                self.norms.append(norm(cfg.out_dim) if cfg.norm != "none" else norm())
        self.drop = nn.Dropout(cfg.dropout)
        self.attention = nn.Linear(cfg.out_dim, 1) if cfg.pooling == "attention" else None
        self.head = nn.Linear(cfg.out_dim, cfg.n_classes)

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Input to the first recurrent layer: ``(B, T', F)`` and lengths ``(B,)`` (CPU)."""
        lengths = lengths.cpu()
        if self.front is not None:
            x, lengths = self.front(x, lengths)
        return x, lengths

    def recurrent(self, packed: PackedSequence, keep: list | None = None) -> PackedSequence:
        """Run the stacked recurrent layers; append each layer's (input, output) to ``keep``."""
        for i, rnn in enumerate(self.rnns):
            out = run_layer(rnn, packed)
            if keep is not None:
                keep.append((packed, out))
            data = out.data
            if self.cfg.skip and i > 0:
                data = data + packed.data
            if i < len(self.norms):
                data = self.norms[i](data)
            packed = _packed_like(out, self.drop(data))
        return packed

    def readout(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` outputs and lengths -> ``(B, D)`` summary over valid positions."""
        dev = out.device
        lengths = lengths.to(dev)
        mask = torch.arange(out.shape[1], device=dev)[None, :] < lengths[:, None]  # (B, T)
        pool = self.cfg.pooling
        if pool == "last":
            fwd = out[torch.arange(out.shape[0], device=dev), lengths - 1, : self.cfg.hidden]
            if not self.cfg.bidirectional:
                return fwd
            return torch.cat([fwd, out[:, 0, self.cfg.hidden:]], dim=1)
        if pool == "mean":
            return out.sum(1) / lengths[:, None].to(out.dtype)
        if pool == "max":
            return out.masked_fill(~mask[:, :, None], float("-inf")).amax(1)
        scores = self.attention(out).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
        return (torch.softmax(scores, dim=1)[:, :, None] * out).sum(1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, keep: list | None = None) -> torch.Tensor:
        """Logits ``(B, n_classes)``. ``keep`` collects per-layer packed inputs and outputs."""
        feats, lengths = self.features(x, lengths)
        packed = pack_padded_sequence(feats, lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.recurrent(packed, keep), batch_first=True)
        return self.head(self.drop(self.readout(out, lengths)))


def build_model(cfg: ModelConfig) -> SequenceClassifier:
    return SequenceClassifier(cfg)
