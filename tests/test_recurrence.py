"""The one unrolled time loop over packed data: step order by hand, batch independence, the generic layer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from _cells import CELL_KINDS
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

from bioseq.model import cells
from bioseq.model.config import ModelConfig
from bioseq.model.recurrence import UnrolledRNN, hidden_output, packed_like, unroll, unroll_layer

# A cell that adds its inputs up: h(t) = h(t-1) + x(t). Forward gives prefix sums, reverse suffix sums.
SUMMING = SimpleNamespace(state=("hidden",), param_names=cells.BASE_PARAMS,
                          step=lambda cfg, p, xp, state: {"hidden": state["hidden"] + xp})


def test_unroll_walks_packed_steps_forward_and_backward_by_hand():
    seqs = [torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[10.0]]), torch.tensor([[100.0], [200.0]])]
    packed = pack_sequence(seqs, enforce_sorted=False)  # batch sizes 3, 2, 1: rows sorted longest first
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    params = {"weight_ih": torch.eye(1), "bias_ih": torch.zeros(1), "weight_hh": torch.zeros(1, 1)}
    sizes = packed.batch_sizes.tolist()
    for reverse, want in ((False, [[1, 3, 6], [10], [100, 300]]), (True, [[6, 5, 3], [10], [300, 200]])):
        steps = unroll(SUMMING, None, params, packed.data, sizes, reverse)
        assert [tuple(g["hidden"].shape) for g in steps] == [(3, 1), (2, 1), (1, 1)]
        out, lengths = pad_packed_sequence(packed_like(packed, torch.cat([g["hidden"] for g in steps])),
                                           batch_first=True)
        assert [out[b, : lengths[b], 0].tolist() for b in range(3)] == want


@pytest.mark.parametrize(("cell", "activation"), CELL_KINDS)
def test_a_batch_unrolls_as_each_sequence_alone(cell, activation):
    """Every gate of every step; the reverse direction of a sequence is the forward one of it reversed."""
    torch.manual_seed(0)
    cfg = ModelConfig(4, 2, cell=cell, activation=activation, hidden=4, bidirectional=True)
    spec = cells.get(cell)
    layer = spec.build(cfg, 3)
    seqs = [torch.randn(n, 3) for n in (4, 1, 6, 4)]
    packed = pack_sequence(seqs, enforce_sorted=False)
    with torch.no_grad():
        batch = unroll_layer(spec, cfg, layer, packed)
        for gate in spec.gates:
            padded = [pad_packed_sequence(packed_like(packed, torch.cat([g[gate] for g in d])), batch_first=True)[0]
                      for d in batch]
            for b, seq in enumerate(seqs):
                n = len(seq)
                alone = unroll_layer(spec, cfg, layer, pack_sequence([seq]))
                for d in (0, 1):
                    torch.testing.assert_close(padded[d][b, :n], torch.cat([g[gate] for g in alone[d]]),
                                               atol=1e-6, rtol=0)
                reverse = {k: getattr(layer, f"{k}_l0_reverse") for k in spec.param_names}
                flipped = unroll(spec, cfg, reverse, seq.flip(0), [1] * n, reverse=False)
                torch.testing.assert_close(torch.cat([g[gate] for g in alone[1]]),
                                           torch.cat([g[gate] for g in flipped]).flip(0), atol=1e-6, rtol=0)


def test_unrolled_rnn_is_initialised_and_named_as_nn_rnn():
    cfg = ModelConfig(4, 2, cell="rnn", activation="sigmoid", hidden=5, bidirectional=True)
    torch.manual_seed(0)
    fused = nn.RNN(3, 5, batch_first=True, bidirectional=True)
    torch.manual_seed(0)
    layer = cells.get("rnn").build(cfg, 3)
    assert isinstance(layer, UnrolledRNN)
    assert list(layer.state_dict()) == list(fused.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(layer.state_dict().values(), fused.state_dict().values(),
                                                 strict=True))
    assert repr(layer) == "UnrolledRNN(rnn, hidden=5, bidirectional=True)"


def test_unrolled_rnn_forward_is_the_loop():
    cfg = ModelConfig(4, 2, cell="rnn", activation="sigmoid", hidden=3, bidirectional=False)
    torch.manual_seed(2)
    layer = cells.get("rnn").build(cfg, 2)
    x, lengths = torch.randn(3, 5, 2), torch.tensor([2, 5, 3])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, extra = layer(packed)
    assert extra is None and torch.equal(out.batch_sizes, packed.batch_sizes)
    assert torch.equal(out.data, hidden_output(packed, unroll_layer(cells.get("rnn"), cfg, layer, packed)).data)
    assert out.data.shape == (10, 3)
