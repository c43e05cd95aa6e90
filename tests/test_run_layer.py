"""``recurrence.run_layer``: the CPU padded path gives the packed layer's outputs and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from bioseq.model.recurrence import run_layer

LAYERS = {
    "lstm": lambda bi: nn.LSTM(3, 5, batch_first=True, bidirectional=bi),
    "gru": lambda bi: nn.GRU(3, 5, batch_first=True, bidirectional=bi),
    "rnn-tanh": lambda bi: nn.RNN(3, 5, batch_first=True, bidirectional=bi),
    "rnn-relu": lambda bi: nn.RNN(3, 5, nonlinearity="relu", batch_first=True, bidirectional=bi),
}


def outputs_and_grads(rnn, x, lengths, fn, enforce_sorted=False):
    x = x.clone().requires_grad_()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    out = fn(packed)
    assert torch.equal(out.batch_sizes, packed.batch_sizes)
    (out.data.sin() * torch.arange(out.data.numel()).view_as(out.data)).sum().backward()
    grads = [p.grad.clone() for p in rnn.parameters()] + [x.grad]
    rnn.zero_grad(set_to_none=True)
    return out.data.detach(), grads


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_padded_path_equals_the_packed_layer(kind, bidirectional):
    torch.manual_seed(0)
    rnn = LAYERS[kind](bidirectional)
    x = torch.randn(4, 7, 3)
    lengths = torch.tensor([5, 7, 2, 5])  # unsorted, with a tie
    want, want_g = outputs_and_grads(rnn, x, lengths, lambda p: rnn(p)[0])
    got, got_g = outputs_and_grads(rnn, x, lengths, lambda p: run_layer(rnn, p))
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    for g, w in zip(got_g, want_g):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-4)


def test_sorted_batches_and_equal_lengths():
    torch.manual_seed(1)
    rnn = LAYERS["lstm"](True)
    x = torch.randn(3, 6, 3)
    for lengths, enforce in ((torch.tensor([6, 4, 1]), True), (torch.tensor([6, 6, 6]), False)):
        want, _ = outputs_and_grads(rnn, x, lengths, lambda p: rnn(p)[0], enforce)
        got, _ = outputs_and_grads(rnn, x, lengths, lambda p: run_layer(rnn, p), enforce)
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
