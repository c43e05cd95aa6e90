"""Gates: recomputed states equal the fused layers, hand-built cells give known gates, tidy table, spans."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _cells import CELL_KINDS

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.io import Record
from bioseq.interpret.gates import gate_arrays, gate_table, layer_io, step_spans
from bioseq.model import cells
from bioseq.model.classifier import ConvFrontEnd, SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

SEQ = "ACGTTGCANGTACG"  # 14 letters, with an ambiguity code


def _bundle(seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    opts = {"hidden": 5, "conv_filters": 6, "conv_width": 3, "dropout": 0.0, **cfg}
    model = SequenceClassifier(ModelConfig(DNA.size, 2, **opts)).eval()
    with torch.no_grad():  # non-trivial normalisation: random running statistics and affine terms
        for norm in model.norms:
            for name in ("running_mean", "weight", "bias"):
                if hasattr(norm, name):
                    getattr(norm, name).copy_(torch.randn_like(getattr(norm, name)) * 0.5 + (name == "weight"))
            if hasattr(norm, "running_var"):
                norm.running_var.copy_(torch.rand_like(norm.running_var) + 0.5)
    return ModelBundle(model, DNA, ["a", "b"])


SHAPES = {
    "1 layer": dict(layers=1, bidirectional=False, conv=False),
    "2 layers bi batch-norm skip conv": dict(layers=2, bidirectional=True, norm="batch", skip=True, conv=True),
    "3 layers bi layer-norm": dict(layers=3, bidirectional=True, norm="layer", conv=False),
    "2 layers uni conv pool 3": dict(layers=2, bidirectional=False, conv=True, conv_pool=3, conv_width=4),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("cell,activation", CELL_KINDS)
def test_recomputed_hidden_equals_fused_output(cell, activation, shape):
    bundle = _bundle(cell=cell, activation=activation, **SHAPES[shape])
    cfg = bundle.model.cfg
    array = encode(SEQ, DNA)
    io, steps = layer_io(bundle, array)
    arrays = gate_arrays(bundle, array)
    assert len(io) == cfg.layers
    assert steps == (math.ceil(len(SEQ) / cfg.conv_pool) if cfg.conv else len(SEQ))
    h = cfg.hidden
    for layer, (_, out) in enumerate(io, 1):
        assert out.shape == (steps, cfg.out_dim)
        np.testing.assert_allclose(arrays[(layer, "forward", "hidden")], out[:, :h].numpy(), atol=1e-5)
        if cfg.bidirectional:
            np.testing.assert_allclose(arrays[(layer, "reverse", "hidden")], out[:, h:].numpy(), atol=1e-5)
        else:
            assert (layer, "reverse", "hidden") not in arrays
    # the layers' outputs are what the model reads out: the logits follow from the last layer
    expected_keys = {(li, d, g) for li in range(1, cfg.layers + 1)
                     for d in ("forward", "reverse")[: cfg.directions] for g in cells.get(cell).gates}
    assert set(arrays) == expected_keys


def test_layer_io_inputs_chain_through_norm_and_skip():
    """Layer 2's recorded input is layer 1's output after skip-free norm (layer 1 has no skip)."""
    bundle = _bundle(cell="gru", layers=2, bidirectional=True, norm="layer", conv=False)
    io, _ = layer_io(bundle, encode(SEQ, DNA))
    (x1, out1), (x2, _) = io
    np.testing.assert_allclose(x1.numpy(), encode(SEQ, DNA), atol=0)
    with torch.no_grad():
        np.testing.assert_allclose(x2.numpy(), bundle.model.norms[0](out1).numpy(), atol=1e-6)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-np.asarray(v, dtype=np.float64)))


def _hand_model(cell: str, hidden: int, bidirectional: bool, bias_ih, bias_hh) -> ModelBundle:
    """All recurrent weights zero: every gate is a constant set by the biases alone."""
    cfg = ModelConfig(DNA.size, 2, cell=cell, hidden=hidden, bidirectional=bidirectional, conv=False,
                      dropout=0.0, pooling="last")
    model = SequenceClassifier(cfg).eval()
    with torch.no_grad():
        for name, p in model.rnns[0].named_parameters():
            if name.startswith("weight"):
                p.zero_()
            else:
                p.copy_(torch.tensor(bias_ih if name.startswith("bias_ih") else bias_hh, dtype=torch.float32))
    return ModelBundle(model, DNA, ["a", "b"])


def test_hand_built_lstm_gives_known_gates_and_a_geometric_cell_state():
    b_i, b_f, b_g, b_o = [0.5, -1.0], [2.0, 0.0], [1.0, -0.5], [-0.3, 1.2]
    # the biases are split between bias_ih and bias_hh: the cell must add both
    bias = np.concatenate([b_i, b_f, b_g, b_o])
    bundle = _hand_model("lstm", 2, False, bias - 0.25, np.full(8, 0.25))
    n = 9
    arrays = gate_arrays(bundle, encode("ACGTACGTA", DNA))
    i, f, g, o = _sigmoid(b_i), _sigmoid(b_f), np.tanh(b_g), _sigmoid(b_o)
    t = np.arange(1, n + 1)[:, None]
    cell = i * g * (1 - f ** t) / (1 - f)  # C(t) = f C(t-1) + i g, C(0) = 0
    expected = {"input": np.broadcast_to(i, (n, 2)), "forget": np.broadcast_to(f, (n, 2)),
                "candidate": np.broadcast_to(g, (n, 2)), "output": np.broadcast_to(o, (n, 2)),
                "cell": cell, "hidden": o * np.tanh(cell)}
    for gate, want in expected.items():
        np.testing.assert_allclose(arrays[(1, "forward", gate)], want, rtol=1e-5, atol=1e-6, err_msg=gate)
    io, _ = layer_io(bundle, encode("ACGTACGTA", DNA))
    np.testing.assert_allclose(io[0][1].numpy(), o * np.tanh(cell), rtol=1e-5, atol=1e-6)


def test_hand_built_gru_gives_known_gates_both_directions():
    b_ir, b_iz, b_in = [0.4, -0.7], [1.0, -0.5], [0.3, -0.8]
    b_hr, b_hz, b_hn = [0.1, 0.2], [0.5, 0.0], [1.5, 0.6]
    bundle = _hand_model("gru", 2, True, np.concatenate([b_ir, b_iz, b_in]), np.concatenate([b_hr, b_hz, b_hn]))
    seq = "GATTACAGAT"
    n = len(seq)
    arrays = gate_arrays(bundle, encode(seq, DNA))
    r = _sigmoid(np.add(b_ir, b_hr))
    z = _sigmoid(np.add(b_iz, b_hz))
    cand = np.tanh(np.add(b_in, r * np.asarray(b_hn)))  # the reset gate scales the recurrent bias b_hn
    fwd_t = np.arange(1, n + 1)[:, None]  # steps taken by the forward direction at position p
    rev_t = np.arange(n, 0, -1)[:, None]  # the reverse direction starts at the last position
    for direction, steps in (("forward", fwd_t), ("reverse", rev_t)):
        np.testing.assert_allclose(arrays[(1, direction, "reset")], np.broadcast_to(r, (n, 2)), rtol=1e-5)
        np.testing.assert_allclose(arrays[(1, direction, "update")], np.broadcast_to(z, (n, 2)), rtol=1e-5)
        np.testing.assert_allclose(arrays[(1, direction, "candidate")], np.broadcast_to(cand, (n, 2)), rtol=1e-5)
        # h(t) = (1 - z) n + z h(t-1), h(0) = 0  =>  h(t) = n (1 - z^t)
        np.testing.assert_allclose(arrays[(1, direction, "hidden")], cand * (1 - z ** steps), rtol=1e-5, atol=1e-6)
    io, _ = layer_io(bundle, encode(seq, DNA))
    np.testing.assert_allclose(io[0][1].numpy(), np.hstack([cand * (1 - z ** fwd_t), cand * (1 - z ** rev_t)]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", cells.names())
def test_gate_values_are_well_formed(cell):
    bundle = _bundle(seed=3, cell=cell, layers=2, bidirectional=True, conv=True)
    with torch.no_grad():  # large weights push gates to their limits
        for rnn in bundle.model.rnns:
            for p in rnn.parameters():
                p.mul_(6.0)
    arrays = gate_arrays(bundle, encode(SEQ * 2, DNA))
    sigmoid_gates = set(cells.get(cell).gates) - cells.get(cell).signed  # LSTM: input, forget, output
    for (_, _, gate), a in arrays.items():
        assert np.isfinite(a).all()
        if gate in sigmoid_gates:
            assert a.min() >= 0.0 and a.max() <= 1.0, gate
        if gate in ("candidate", "hidden"):
            assert a.min() >= -1.0 and a.max() <= 1.0, gate


def test_gate_table_has_every_cell_exactly_once():
    bundle = _bundle(cell="lstm", layers=2, bidirectional=True, conv=True, conv_pool=2, conv_width=5)
    records = [Record("r1", "r1", SEQ, "f.fa", 1), Record("r2", "r2", "ACGTA", "f.fa", 2)]
    df = gate_table(bundle, records)
    assert list(df.columns) == ["id", "layer", "direction", "position", "span_start", "span_end", "unit", "gate",
                                "value"]
    key = ["id", "layer", "direction", "position", "unit", "gate"]
    assert not df.duplicated(key).any()
    for rec in records:
        steps = math.ceil(len(rec.seq) / 2)
        sub = df[df["id"] == rec.id]
        assert len(sub) == 2 * 2 * steps * 5 * len(cells.get("lstm").gates)
        assert sorted(sub["position"].unique()) == list(range(1, len(rec.seq) + 1, 2))  # 1-based, step starts
        assert set(sub["unit"]) == {1, 2, 3, 4, 5}
        assert set(sub["gate"]) == set(cells.get("lstm").gates)
        assert set(sub["direction"]) == {"forward", "reverse"}
        assert sub["span_start"].min() == 1 and sub["span_end"].max() == len(rec.seq)
    # the table holds the arrays' values, step-major then unit
    arrays = gate_arrays(bundle, encode(SEQ, DNA))
    sub = df[(df["id"] == "r1") & (df["layer"] == 2) & (df["direction"] == "reverse") & (df["gate"] == "forget")]
    np.testing.assert_array_equal(sub.sort_values(["position", "unit"])["value"].to_numpy(),
                                  arrays[(2, "reverse", "forget")].reshape(-1))


def test_gate_table_without_conv_uses_one_position_per_step():
    bundle = _bundle(cell="rnn", conv=False, bidirectional=False)
    df = gate_table(bundle, [Record("r", "r", "ACGTAC", "f.fa", 1)])
    assert len(df) == 6 * 5
    assert (df["position"] == df["span_start"]).all() and (df["position"] == df["span_end"]).all()
    assert sorted(df["position"].unique()) == [1, 2, 3, 4, 5, 6]


def test_conv_span_by_hand_width_5_pool_2():
    front = ConvFrontEnd(ModelConfig(4, 2, conv_width=5, conv_pool=2, conv_filters=3))
    # step t pools conv outputs 2t and 2t+1; conv output p sees letters p-2..p+2 (0-based), cut to the sequence
    assert [front.span(t, 10) for t in range(5)] == [(1, 4), (1, 6), (3, 8), (5, 10), (7, 10)]
    assert [front.span(t, 9) for t in range(5)] == [(1, 4), (1, 6), (3, 8), (5, 9), (7, 9)]


@pytest.mark.parametrize("width,pool", [(5, 2), (4, 2), (3, 3), (1, 1), (6, 1)])
def test_conv_span_is_the_receptive_field(width, pool):
    """Measured from the convolution's own Jacobian: which letters can reach each pooled step."""
    torch.manual_seed(0)
    cfg = ModelConfig(4, 2, conv_width=width, conv_pool=pool, conv_filters=2)
    front = ConvFrontEnd(cfg)
    length = 11
    x = torch.rand(1, length, 4, requires_grad=True)
    y = front.conv(x.transpose(1, 2))  # (1, F, L), before ReLU and pooling
    seen = []
    for p in range(length):
        (g,) = torch.autograd.grad(y[0, :, p].sum(), x, retain_graph=True)
        seen.append(np.flatnonzero(g[0].abs().sum(1).numpy() > 0))
    bundle = ModelBundle(SequenceClassifier(ModelConfig(4, 2, conv_width=width, conv_pool=pool, conv_filters=2)), DNA,
                         ["a", "b"])
    steps = math.ceil(length / pool)
    spans = step_spans(bundle, steps, length)
    for t in range(steps):
        letters = np.concatenate([seen[p] for p in range(t * pool, min(t * pool + pool, length))])
        assert spans[t] == (letters.min() + 1, letters.max() + 1), t
