"""One recurrent sequence classifier, built from a :class:`ModelConfig`.

Data flow and shapes (B = batch, T = longest length in the batch, K = alphabet size):

* input ``x (B, T, K)`` one-hot, ``lengths (B,)``; rows past a length are zero;
* optional input encoding (``encoding``, :mod:`bioseq.model.encodings`): each position's one-hot row mapped
  to ``E`` features (BLOSUM62, physicochemical, learned, k-mer), so attributions still see one-hot input;
* optional convolutional front end: ``Conv1d`` + ReLU + max-pool of width ``conv_pool`` over valid
  positions only, giving ``(B, ceil(T / conv_pool), conv_filters)``;
* the sequence is packed once; every recurrent layer reads and writes a ``PackedSequence`` whose
  ``data`` is ``(sum of lengths, features)``, exactly the valid positions, so padding never changes
  outputs, gradients or batch-norm statistics. Each layer is built by its cell's spec
  (:mod:`bioseq.model.cells`) and run by :func:`~bioseq.model.recurrence.run_layer`. Between
  layers: skip connection, normalisation (``batch`` or ``layer``, over valid positions only),
  dropout;
* read-out over valid positions (``last``, ``mean``, ``max``, ``attention``) to ``(B, D)`` with
  ``D = hidden * directions``; ``last`` reads the forward direction at the last valid position
  and the backward direction at position 1;
* a linear head gives logits ``(B, n_classes)``.

For a labeller (its task has an output per position: sequence labelling) there is no read-out: the head is
applied at every position, giving logits ``(B, T, n_classes)`` (``n_classes`` = labels), exactly zero past each length.
The conv front end then must not pool (``conv_pool == 1``, checked by the config), so output t is
position t.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..task import task_of
from . import cells, encodings
from .config import ModelConfig
from .recurrence import packed_like, padded_layer, padded_ok, reversal_index, run_layer
from .strands import reverse, reverse_complement


def make_rnn(cfg: ModelConfig, input_size: int) -> nn.Module:
    """One recurrent layer (both directions) of the configured cell type, from the cell registry."""
    return cells.get(cfg.cell).build(cfg, input_size)


class SameConv1d(nn.Conv1d):
    """A ``Conv1d`` whose output is as long as its input, for any width: ``(w - 1) // 2`` zeros on the left and
    the rest on the right, as PyTorch's ``padding="same"`` pads, but explicitly, so an even width gives the same
    numbers without PyTorch's warning (nor its padded copy of the input inside the convolution)."""

    def __init__(self, in_channels: int, out_channels: int, width: int):
        super().__init__(in_channels, out_channels, width)
        self.pads = ((width - 1) // 2, width - 1 - (width - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(nn.functional.pad(x, self.pads))


class ConvFrontEnd(nn.Module):
    """``(B, T, K) -> (B, ceil(T / pool), filters)``; pooling sees valid positions only."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.width, self.pool = cfg.conv_width, cfg.conv_pool
        self.reach = encodings.reach(cfg)  # the letters a k-mer encoding adds on each side
        self.conv = SameConv1d(encodings.out_size(cfg), cfg.conv_filters, cfg.conv_width)
        self.relu = nn.ReLU()  # a module (no parameters), so Captum's DeepLift applies its rescale rule here

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths + self.pool - 1, self.pool, rounding_mode="floor")

    def span(self, step: int, length: int) -> tuple[int, int]:
        """1-based inclusive range of sequence positions that output step ``step`` (0-based) sees."""
        left = (self.width - 1) // 2
        lo = step * self.pool - left - self.reach[0]
        hi = step * self.pool + self.pool - 1 + (self.width - 1 - left) + self.reach[1]
        return max(lo, 0) + 1, min(hi, length - 1) + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.relu(self.conv(x.transpose(1, 2)))  # (B, F, T)
        T = y.shape[2]
        if not bool((lengths == T).all()):
            # ReLU outputs are >= 0, so zeros past each length never win a pooling window that holds a valid
            # position (ties go to the first, valid, one), and windows wholly past a length pool to zero
            mask = torch.arange(T, device=y.device)[None, :] < lengths.to(y.device)[:, None]
            y = y.masked_fill(~mask[:, None, :], 0.0)
        if self.pool > 1:
            y = nn.functional.max_pool1d(y, self.pool, ceil_mode=True)
            lengths = self.out_lengths(lengths)
        return y.transpose(1, 2), lengths  # (B, T', F)


class SequenceClassifier(nn.Module):
    """Recurrent classifier for one-hot sequences; see the module docstring for the data flow."""

    padded = True  # the CPU fast path (:meth:`padded_logits`); False forces the packed run

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.each_position = task_of(cfg).per_position  # a labeller: no read-out, the head at every position
        self.encode = encodings.build(cfg)  # None for one-hot: no module, the weights of earlier versions
        self.front = ConvFrontEnd(cfg) if cfg.conv else None
        size = cfg.conv_filters if cfg.conv else encodings.out_size(cfg)
        self.rnns = nn.ModuleList()
        self.norms = nn.ModuleList()
        for i in range(cfg.layers):
            self.rnns.append(make_rnn(cfg, size if i == 0 else cfg.out_dim))
            if i < cfg.layers - 1:
                norm = {"none": nn.Identity, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}[cfg.norm]
                self.norms.append(norm(cfg.out_dim) if cfg.norm != "none" else norm())
        self.drop = nn.Dropout(cfg.dropout)
        self.attention = nn.Linear(cfg.out_dim, 1) if cfg.pooling == "attention" and not self.each_position else None
        self.head = nn.Linear(cfg.out_dim, cfg.n_classes)

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Input to the first recurrent layer: ``(B, T', F)`` and lengths ``(B,)`` (CPU)."""
        lengths = lengths.cpu()
        if self.encode is not None:
            x = self.encode(x, lengths)
        if self.front is not None:
            x, lengths = self.front(x, lengths)
        return x, lengths

    def recurrent(self, packed: PackedSequence, keep: list | None = None,
                  scored: torch.Tensor | None = None) -> PackedSequence:
        """Run the stacked recurrent layers; append each layer's (input, output) to ``keep``. ``scored``
        ``(N,)`` bool in packed order: the rows whose statistics batch norm uses in training (all if None)."""
        for i, rnn in enumerate(self.rnns):
            out = run_layer(rnn, packed)
            if keep is not None:
                keep.append((packed, out))
            data = out.data
            if self.cfg.skip and i > 0:
                data = data + packed.data
            if i < len(self.norms):
                data = masked_batch_norm(self.norms[i], data, scored)
            packed = packed_like(out, self.drop(data))
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

    def per_position(self, out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Labelling head: ``(B, T, D)`` outputs -> logits ``(B, T, n_classes)``, zero past each length."""
        mask = torch.arange(out.shape[1], device=out.device)[None, :] < lengths.to(out.device)[:, None]
        return self.head(self.drop(out)).masked_fill(~mask[:, :, None], 0.0)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, keep: list | None = None,
                scored: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, n_classes)``, or ``(B, T, n_classes)`` for a labeller. ``keep`` collects per-layer
        packed inputs and outputs. ``scored (B, T)`` bool (labellers): only these positions enter batch-norm
        statistics in training; outputs at every position are computed as usual. With ``strand="both"`` an
        evaluating model averages the probabilities of ``x`` and its reverse complement (a labeller's, position
        by position: the reverse complement's outputs reversed back)."""
        if self.cfg.strand == "both" and not self.training and keep is None:
            # the average of the probabilities on both strands, as logits: softmax(log mean p) = mean p
            other = self.strand_logits(reverse_complement(x, lengths), lengths)
            if self.each_position:
                other = reverse(other, lengths)
            p = (torch.softmax(self.strand_logits(x, lengths), -1) + torch.softmax(other, -1)) / 2
            logits = torch.log(p.clamp_min(1e-12))
            if self.each_position:  # exactly zero past each length, as every labeller's logits
                inside = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
                logits = logits.masked_fill(~inside[:, :, None], 0.0)
            return logits
        return self.strand_logits(x, lengths, keep, scored)

    def strand_logits(self, x: torch.Tensor, lengths: torch.Tensor, keep: list | None = None,
                      scored: torch.Tensor | None = None) -> torch.Tensor:
        """The logits of one reading of ``x`` (the sequences as given)."""
        feats, lengths = self.features(x, lengths)
        if keep is None and self.padded and all(padded_ok(rnn, feats.device) for rnn in self.rnns):
            return self.padded_logits(feats, lengths, scored)
        packed = pack_padded_sequence(feats, lengths, batch_first=True, enforce_sorted=False)
        rows = None
        if scored is not None and self.each_position and self.cfg.norm == "batch" and self.training:
            rows = pack_padded_sequence(scored[:, : feats.shape[1]].cpu(), lengths, batch_first=True,
                                        enforce_sorted=False).data.to(feats.device)  # (N,) in packed order
        out, _ = pad_packed_sequence(self.recurrent(packed, keep, rows), batch_first=True,
                                     total_length=feats.shape[1])
        if self.each_position:
            return self.per_position(out, lengths)
        return self.head(self.drop(self.readout(out, lengths)))


    def padded_logits(self, feats: torch.Tensor, lengths: torch.Tensor, scored: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """The packed run's logits, computed on the padded batch ``feats (B, T, F)`` with no packing: the
        CPU fast path when every layer is a fused cell (:func:`~bioseq.model.recurrence.padded_layer`).

        Outputs past a length are never read: batch-norm statistics, the read-outs and the labelling head
        see valid positions only. Dropout draws its masks over the padded tensor (after the ``last``
        read-out, over the read-out), so its random draws differ from the packed run's, not its law.
        """
        B, T, _ = feats.shape
        cfg = self.cfg
        index = reversal_index(lengths, T, feats.device) if cfg.bidirectional else None
        # a `last` read-out of the top layer (no skip) reads each direction where it ends, in its own order
        direct = not self.each_position and cfg.pooling == "last" and not (cfg.skip and len(self.rnns) > 1)
        mask = rows = None
        if not direct or (self.training and cfg.norm == "batch" and len(self.rnns) > 1):
            mask = torch.arange(T)[None, :] < lengths[:, None]  # (B, T) valid positions, CPU
            rows = mask & scored[:, :T].cpu() if scored is not None and self.each_position else mask
            rows = rows.reshape(-1).to(feats.device)  # the rows batch-norm statistics see
        h = feats
        for i, rnn in enumerate(self.rnns):
            if i == len(self.rnns) - 1 and direct:  # each direction read where it ends
                return self.head(self.drop(self.drop(padded_layer(rnn, h, index, final=lengths - 1))))
            out = padded_layer(rnn, h, index)
            if cfg.skip and i > 0:
                out = out + h
            if i < len(self.norms):
                out = masked_batch_norm(self.norms[i], out.reshape(B * T, -1), rows).view(B, T, -1)
            h = self.drop(out)
        h = h.masked_fill(~mask.to(h.device)[:, :, None], 0.0)  # as pad_packed_sequence leaves it
        if self.each_position:
            return self.per_position(h, lengths)
        return self.head(self.drop(self.readout(h, lengths)))


def masked_batch_norm(norm: nn.Module, data: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """``norm(data (N, D))``, except that a training-mode batch norm takes its statistics (and updates its
    running ones) from ``rows`` only, Algorithm 1 of Ioffe & Szegedy over the scored positions."""
    if rows is None or not isinstance(norm, nn.BatchNorm1d) or not norm.training or bool(rows.all()):
        return norm(data)
    chosen = data[rows]
    if chosen.shape[0] < 2:  # too few scored rows for a variance: normalise with the running statistics
        mean, var = norm.running_mean, norm.running_var
    else:
        mean, var = chosen.mean(0), chosen.var(0, unbiased=False)
        with torch.no_grad():
            m = norm.momentum if norm.momentum is not None else 0.1
            n = chosen.shape[0]
            norm.running_mean.mul_(1 - m).add_(m * mean.detach())
            norm.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1))
            norm.num_batches_tracked += 1
    return (data - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias

