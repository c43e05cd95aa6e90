"""The cell registry: names and errors, well-formed specs, steps that reproduce PyTorch's fused layers, DT-RNN."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
import torch
from _cells import CELL_KINDS, FUSED_KINDS
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.interpret.gates import gate_arrays, layer_io
from bioseq.model import cells
from bioseq.model.card import describe_config
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import CELLS, ModelConfig
from bioseq.model.recurrence import hidden_output, unroll_layer
from bioseq.model.store import ModelBundle, load_model, save_model
from bioseq.options import options


def test_names_come_from_one_read_only_registry():
    assert cells.names() == ("rnn", "lstm", "gru", "dtrnn")
    assert CELLS == cells.names()  # the config's choices are the registry's
    assert [s.name for s in cells.CELLS.values()] == list(cells.names())
    with pytest.raises(TypeError):
        cells.CELLS["tcn"] = cells.get("rnn")  # type: ignore[index]
    assert FUSED_KINDS == [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("bad", ["transformer", "LSTM", "", None])
def test_unknown_cell_names_list_the_known_ones(bad):
    message = f"unknown cell {bad!r}; choose one of rnn, lstm, gru, dtrnn"
    with pytest.raises(ValueError) as e:
        cells.get(bad)
    assert str(e.value) == message
    with pytest.raises(ValueError) as e:
        SequenceClassifier(ModelConfig(4, 2, cell=bad))
    # a missing cell is refused by the options' one rule before the registry is asked
    assert str(e.value) == (message if bad is not None else "--cell needs a value")


@pytest.mark.parametrize("name", cells.names())
def test_every_spec_is_well_formed(name):
    spec = cells.get(name)
    assert spec.gates[-1] == "hidden" and len(set(spec.gates)) == len(spec.gates)
    assert set(spec.state) <= set(spec.gates) and spec.state[0] == "hidden"
    assert spec.signed <= set(spec.gates) and "hidden" in spec.signed
    assert set(spec.reads) <= {f.name for f in fields(ModelConfig)}
    assert spec.param_names[:4] == ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    assert spec.help and spec.describe({"activation": "tanh"})


@pytest.mark.parametrize(("cell", "activation"), CELL_KINDS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_built_layers_have_the_specs_parameters(cell, activation, bidirectional):
    cfg = ModelConfig(4, 2, cell=cell, activation=activation, hidden=5, bidirectional=bidirectional)
    spec = cells.get(cell)
    layer = spec.build(cfg, 3)
    want = {f"{k}_l0{sfx}": shape for sfx in ("", "_reverse")[: cfg.directions]
            for k, shape in spec.param_shapes(3, 5).items()}
    assert {k: tuple(p.shape) for k, p in layer.named_parameters()} == want
    assert [k for k, _ in layer.named_parameters()] == list(want)  # registration order, as nn.RNN


def test_parameter_shapes_by_hand():
    assert cells.get("lstm").param_shapes(3, 5) == {"weight_ih": (20, 3), "weight_hh": (20, 5), "bias_ih": (20,),
                                                    "bias_hh": (20,)}
    assert cells.get("gru").param_shapes(3, 5)["weight_hh"] == (15, 5)
    assert cells.get("dtrnn").param_shapes(3, 5) == {"weight_ih": (5, 3), "weight_hh": (5, 5), "bias_ih": (5,),
                                                     "bias_hh": (5,), "weight_zh": (5, 5), "bias_zh": (5,)}


def test_signed_gates_agree_across_cells():
    """The charts know a gate by name only: a name is signed in every cell that has it, or in none."""
    for gate in {g for s in cells.CELLS.values() for g in s.gates}:
        assert len({gate in s.signed for s in cells.CELLS.values() if gate in s.gates}) == 1, gate
    assert cells.signed_gates() == {"candidate", "cell", "hidden", "transition"}


def test_help_text_and_labels():
    assert cells.help_text() == (
        "rnn: one tanh/relu update per letter, forgets quickly; lstm: gated cell state that keeps information "
        "over long stretches; gru: a lighter gated cell; dtrnn: deep transition: a small tanh network between one "
        "state and the next")
    assert next(o for o in options() if o.name == "cell").help.startswith(cells.help_text())
    assert [cells.get(c).describe({"activation": a}) for c, a in CELL_KINDS] == [
        "RNN-tanh", "RNN-relu", "RNN-sigmoid", "LSTM", "GRU", "DT-RNN"]


def _final(packed: PackedSequence, values: torch.Tensor, lengths: torch.Tensor, reverse: bool) -> torch.Tensor:
    """Each sequence's last state of one direction, ``(B, H)`` in input order: its last step, or step 1 reversed."""
    padded, _ = pad_packed_sequence(PackedSequence(values, packed.batch_sizes, packed.sorted_indices,
                                                   packed.unsorted_indices), batch_first=True)
    return padded[:, 0] if reverse else padded[torch.arange(len(lengths)), lengths - 1]


@pytest.mark.parametrize(("cell", "activation"), FUSED_KINDS)
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_step_reproduces_the_fused_layer(cell, activation, bidirectional):
    """Outputs and final states (h_n, and c_n for the LSTM) of the unrolled step equal PyTorch's, to 1e-5."""
    torch.manual_seed(0)
    cfg = ModelConfig(4, 2, cell=cell, activation=activation, hidden=5, bidirectional=bidirectional)
    spec = cells.get(cell)
    layer = spec.build(cfg, 3)
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(3.0)  # away from the linear regime
    x, lengths = torch.randn(4, 7, 3), torch.tensor([5, 7, 2, 5])  # unsorted, with a tie
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        want, finals = layer(packed)
        steps = unroll_layer(spec, cfg, layer, packed)
    torch.testing.assert_close(hidden_output(packed, steps).data, want.data, atol=1e-5, rtol=0)
    finals = finals if isinstance(finals, tuple) else (finals,)  # (h_n,) or (h_n, c_n): (directions, B, H)
    assert len(finals) == len(spec.state)
    for name, final in zip(spec.state, finals, strict=True):
        for d, per_step in enumerate(steps):
            got = _final(packed, torch.cat([g[name] for g in per_step]), lengths, reverse=d == 1)
            torch.testing.assert_close(got, final[d], atol=1e-5, rtol=0, msg=name)


# --- the deep-transition RNN -------------------------------------------------------------------------------------

def test_dtrnn_by_hand():
    """z(t) = tanh(W_ih x + b_ih + W_hh h(t-1) + b_hh), h(t) = tanh(W_zh z(t) + b_zh), in float64 by hand."""
    cfg = ModelConfig(DNA.size, 2, cell="dtrnn", hidden=2, bidirectional=True, conv=False, dropout=0.0)
    torch.manual_seed(0)
    model = SequenceClassifier(cfg).eval()
    rng = np.random.default_rng(0)
    params = {name: rng.uniform(-1, 1, p.shape) for name, p in model.rnns[0].named_parameters()}
    with torch.no_grad():
        for name, p in model.rnns[0].named_parameters():
            p.copy_(torch.from_numpy(params[name]))
    seq = "GATTACA"
    x = encode(seq, DNA).astype(np.float64)

    def run(xs, sfx):
        w = {k: params[f"{k}_l0{sfx}"] for k in cells.get("dtrnn").param_names}
        h, zs, hs = np.zeros(2), [], []
        for x_t in xs:
            z = np.tanh(w["weight_ih"] @ x_t + w["bias_ih"] + w["weight_hh"] @ h + w["bias_hh"])
            h = np.tanh(w["weight_zh"] @ z + w["bias_zh"])
            zs.append(z)
            hs.append(h)
        return np.array(zs), np.array(hs)

    arrays = gate_arrays(ModelBundle(model, DNA, ["a", "b"]), encode(seq, DNA))
    z_f, h_f = run(x, "")
    z_r, h_r = run(x[::-1], "_reverse")
    expected = {"forward": (z_f, h_f), "reverse": (z_r[::-1], h_r[::-1])}
    for direction, (z, h) in expected.items():
        np.testing.assert_allclose(arrays[(1, direction, "transition")], z, atol=1e-6)
        np.testing.assert_allclose(arrays[(1, direction, "hidden")], h, atol=1e-6)
    io, _ = layer_io(ModelBundle(model, DNA, ["a", "b"]), encode(seq, DNA))
    np.testing.assert_allclose(io[0][1].numpy(), np.hstack([h_f, h_r[::-1]]), atol=1e-6)


def test_dtrnn_initialisation():
    torch.manual_seed(0)
    layer = cells.get("dtrnn").build(ModelConfig(4, 2, cell="dtrnn", hidden=16), 8)
    names = [n for n, _ in layer.named_parameters()]
    assert names == [f"{k}_l0{sfx}" for sfx in ("", "_reverse")
                     for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_zh", "bias_zh")]
    for sfx in ("", "_reverse"):
        for k in ("weight_hh", "weight_zh"):
            w = getattr(layer, f"{k}_l0{sfx}").detach()
            torch.testing.assert_close(w @ w.T, torch.eye(16), atol=1e-5, rtol=0)  # orthogonal
        for k in ("weight_ih", "bias_ih", "bias_hh", "bias_zh"):
            assert getattr(layer, f"{k}_l0{sfx}").abs().max() <= 0.25  # U(-1/√16, 1/√16), as nn.RNN


def test_dtrnn_saves_loads_and_predicts_the_same(tmp_path):
    cfg = ModelConfig(DNA.size, 3, cell="dtrnn", hidden=6, layers=2, conv_filters=5, conv_width=3, norm="layer")
    torch.manual_seed(1)
    bundle = ModelBundle(SequenceClassifier(cfg).eval(), DNA, ["a", "b", "c"])
    path = save_model(tmp_path / "dt.safetensors", bundle)
    loaded = load_model(path)
    assert loaded.model.cfg == cfg and type(loaded.model.rnns[0]) is type(bundle.model.rnns[0])
    assert {"rnns.1.weight_zh_l0", "rnns.1.bias_zh_l0_reverse"} <= set(loaded.model.state_dict())
    x, lengths = pad_batch([encode(s, DNA) for s in ("ACGTTGCA", "GAT", "ACGTACGTACGTAC")])
    with torch.no_grad():
        assert torch.equal(loaded.model(x, lengths), bundle.model(x, lengths))
    assert describe_config(cfg.to_dict()) == "conv5/3 pool2 -> 2x BiDT-RNN 6 [layer] -> max"
