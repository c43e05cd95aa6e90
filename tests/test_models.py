"""The classifier: every option's output shape, padding invariance of outputs, gradients and batch norm."""

from __future__ import annotations

import copy
import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from _cells import CELL_KINDS
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.model import cells, recurrence
from bioseq.model.classifier import ConvFrontEnd, SequenceClassifier, make_rnn
from bioseq.model.config import ACTIVATIONS, CELLS, NORMS, POOLINGS, ModelConfig
from bioseq.model.recurrence import UnrolledRNN

LENGTHS = (7, 1, 4, 10, 3, 10)


def arrays(lengths=LENGTHS, seed=0):
    rng = np.random.default_rng(seed)
    return [encode("".join(rng.choice(list("ACGTN"), n)), DNA) for n in lengths]


def model_for(seed=0, **kw):
    opts = {"alphabet_size": 4, "n_classes": 3, "hidden": 6, "conv_filters": 5, "conv_width": 3, "dropout": 0.0}
    opts.update(kw)
    torch.manual_seed(seed)
    return SequenceClassifier(ModelConfig(**opts))


def logits_alone(model, arrs):
    return torch.cat([model(*pad_batch([a])) for a in arrs])


def check_shape_and_padding_invariance(model, arrs=None):
    arrs = arrs or arrays()
    model.eval()
    with torch.no_grad():
        x, lengths = pad_batch(arrs)
        batch = model(x, lengths)
        assert batch.shape == (len(arrs), model.cfg.n_classes)
        assert torch.isfinite(batch).all()
        torch.testing.assert_close(batch, logits_alone(model, arrs), atol=1e-5, rtol=0)
        # extra all-zero padding columns change nothing either
        wider = torch.cat([x, torch.zeros(x.shape[0], 5, x.shape[2])], dim=1)
        torch.testing.assert_close(model(wider, lengths), batch, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("cell", "activation"), CELL_KINDS)
@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_cells_directions_poolings(cell, activation, bidirectional, pooling):
    model = model_for(cell=cell, activation=activation, bidirectional=bidirectional, pooling=pooling, conv=False)
    check_shape_and_padding_invariance(model)


@pytest.mark.parametrize(("conv_pool", "conv_width"), [(1, 3), (2, 3), (3, 4), (2, 9)])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_conv_front_end(conv_pool, conv_width, pooling):
    model = model_for(conv=True, conv_pool=conv_pool, conv_width=conv_width, pooling=pooling)
    check_shape_and_padding_invariance(model)


@pytest.mark.parametrize(("norm", "skip"), list(itertools.product(NORMS, [False, True])))
@pytest.mark.parametrize(("cell", "activation"), [("lstm", "tanh"), ("rnn", "sigmoid")])
def test_stacked_layers_norm_skip(norm, skip, cell, activation):
    model = model_for(layers=3, norm=norm, skip=skip, cell=cell, activation=activation)
    assert len(model.rnns) == 3 and len(model.norms) == 2
    if norm == "batch":  # give eval-mode batch norm non-trivial running statistics first
        model.train()
        with torch.no_grad():
            model(*pad_batch(arrays(seed=5)))
    check_shape_and_padding_invariance(model)


def test_feature_shapes_of_the_conv_front_end():
    model = model_for(conv=True, conv_pool=3, conv_filters=5)
    x, lengths = pad_batch(arrays())
    feats, out_lengths = model.features(x, lengths)
    assert feats.shape == (6, 4, 5)  # ceil(10 / 3) = 4 steps, 5 filters
    assert out_lengths.tolist() == [3, 1, 2, 4, 1, 4]
    for f, n in zip(feats, out_lengths, strict=True):
        assert not f[n:].any()  # steps past a sequence's length are zero


@pytest.mark.parametrize("width", [2, 4, 5])
def test_an_even_conv_width_pads_as_same_without_a_warning(width):
    """An even width used to print PyTorch's "padding='same' with even kernel" warning (a tuning trial with conv
    width 4 did): the front end pads explicitly, with the numbers of padding="same"."""
    torch.manual_seed(0)
    front = ConvFrontEnd(ModelConfig(4, 2, conv_width=width, conv_pool=1, conv_filters=3))
    x = torch.rand(2, 7, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        y, _ = front(x, torch.tensor([7, 7]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = nn.functional.conv1d(x.transpose(1, 2), front.conv.weight, front.conv.bias, padding="same")
    torch.testing.assert_close(y, torch.relu(same).transpose(1, 2))
    assert set(dict(front.named_parameters())) == {"conv.weight", "conv.bias"}  # model files load as before


def test_conv_span_covers_every_input_that_changes_a_step():
    torch.manual_seed(0)
    front = ConvFrontEnd(ModelConfig(4, 2, conv_filters=16, conv_width=5, conv_pool=2))
    length = 11
    x = torch.rand(1, length, 4)
    base, _ = front(x, torch.tensor([length]))
    for p in range(length):
        bumped = x.clone()
        bumped[0, p] += 10.0
        changed = (front(bumped, torch.tensor([length]))[0] - base).abs().amax(-1) > 0
        for step in np.flatnonzero(changed[0].numpy()):
            lo, hi = front.span(int(step), length)
            assert lo <= p + 1 <= hi, (p, step, (lo, hi))
    assert front.span(0, length) == (1, 4) and front.span(5, length) == (9, 11)


def params_grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize(("cell", "activation"), CELL_KINDS)
@pytest.mark.parametrize(("pooling", "conv"), [("last", False), ("mean", True), ("max", True), ("attention", False)])
def test_padded_batch_gradients_equal_the_sum_of_per_sequence_gradients(cell, activation, pooling, conv):
    model = model_for(cell=cell, activation=activation, pooling=pooling, conv=conv, layers=2, skip=True,
                      norm="layer").train()
    arrs = arrays()
    weights = torch.randn(len(arrs), 3, generator=torch.Generator().manual_seed(1))
    model.zero_grad()
    (model(*pad_batch(arrs)) * weights).sum().backward()
    batch = params_grads(model)
    model.zero_grad()
    for i, a in enumerate(arrs):
        (model(*pad_batch([a])) * weights[i]).sum().backward()
    alone = params_grads(model)
    assert set(batch) == set(alone) == {n for n, _ in model.named_parameters()}
    for name in batch:
        torch.testing.assert_close(batch[name], alone[name], atol=1e-5, rtol=1e-4, msg=name)


def test_batch_norm_in_train_mode_uses_valid_positions_only():
    model = model_for(layers=2, norm="batch", conv=False).train()
    bn = model.norms[0]
    x, lengths = pad_batch(arrays())
    keep: list = []
    model(x, lengths, keep=keep)
    (_, first_out), (second_in, _) = keep
    rows = first_out.data  # exactly the valid positions: sum of lengths rows
    assert rows.shape == (sum(LENGTHS), model.cfg.out_dim)
    mean, var = rows.mean(0), rows.var(0, unbiased=False)
    expected = (rows - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
    torch.testing.assert_close(second_in.data, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(bn.running_mean, bn.momentum * mean.detach(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(bn.running_var, (1 - bn.momentum) + bn.momentum * rows.var(0).detach(),
                               atol=1e-6, rtol=1e-5)


def test_batch_norm_train_mode_output_ignores_padding():
    model = model_for(layers=2, norm="batch", conv=True).train()
    x, lengths = pad_batch(arrays())
    out = model(x, lengths)
    wider = torch.cat([x, torch.zeros(x.shape[0], 7, 4)], dim=1)
    stats = model.norms[0].running_mean.clone()
    model.norms[0].reset_running_stats()
    torch.testing.assert_close(model(wider, lengths), out, atol=1e-5, rtol=0)
    torch.testing.assert_close(model.norms[0].running_mean, stats)


def test_last_readout_takes_forward_end_and_backward_start():
    model = model_for(cell="lstm", pooling="last", conv=False, bidirectional=True).eval()
    x, lengths = pad_batch(arrays())
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h_n, _) = model.rnns[0](packed)
    padded, _ = pad_packed_sequence(out, batch_first=True)
    summary = model.readout(padded, lengths)
    # h_n holds each direction's final state: forward at the last valid position, backward at position 1
    torch.testing.assert_close(summary, torch.cat([h_n[0], h_n[1]], dim=1))
    with torch.no_grad():
        torch.testing.assert_close(model(x, lengths), model.head(summary), atol=1e-6, rtol=0)


def test_readout_by_hand():
    model = model_for(hidden=2, bidirectional=True, pooling="last", conv=False)
    out = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 3, 4)  # (B=2, T=3, D=4)
    out[1, 2] = 0.0  # padding of the second sequence (length 2)
    lengths = torch.tensor([3, 2])
    assert model.readout(out, lengths).tolist() == [[8, 9, 2, 3], [16, 17, 14, 15]]
    model.cfg.pooling = "mean"
    assert model.readout(out, lengths).tolist() == [[4, 5, 6, 7], [14, 15, 16, 17]]
    model.cfg.pooling = "max"
    out[1, 2] = 100.0  # padding never wins the max
    assert model.readout(out, lengths).tolist() == [[8, 9, 10, 11], [16, 17, 18, 19]]


def test_lstm_forget_gate_bias():
    cfg = ModelConfig(4, 2, cell="lstm", hidden=5, layers=2, forget_bias=2.5, conv=False)
    torch.manual_seed(0)
    model = SequenceClassifier(cfg)
    for rnn in model.rnns:
        for sfx in ("_l0", "_l0_reverse"):
            b_ih, b_hh = getattr(rnn, "bias_ih" + sfx), getattr(rnn, "bias_hh" + sfx)
            total = (b_ih + b_hh).detach()
            assert torch.equal(total[5:10], torch.full((5,), 2.5))  # gate order i, f, g, o
            assert not torch.isclose(total[:5], torch.tensor(2.5)).any()


def test_sigmoid_rnn_matches_a_hand_loop():
    torch.manual_seed(3)
    rnn = make_rnn(ModelConfig(4, 2, cell="rnn", activation="sigmoid", hidden=3, bidirectional=True), 2)
    assert isinstance(rnn, UnrolledRNN)
    seqs = [torch.randn(3, 2), torch.randn(1, 2), torch.randn(2, 2)]
    x = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    packed = pack_padded_sequence(x, torch.tensor([3, 1, 2]), batch_first=True, enforce_sorted=False)
    out, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True)
    assert out.shape == (3, 3, 6)

    def loop(seq, sfx):
        w_ih, w_hh = getattr(rnn, "weight_ih_l0" + sfx), getattr(rnn, "weight_hh_l0" + sfx)
        b = getattr(rnn, "bias_ih_l0" + sfx) + getattr(rnn, "bias_hh_l0" + sfx)
        h, hs = torch.zeros(3), []
        for x_t in seq:
            h = torch.sigmoid(w_ih @ x_t + w_hh @ h + b)
            hs.append(h)
        return torch.stack(hs)

    for i, s in enumerate(seqs):
        torch.testing.assert_close(out[i, : len(s), :3], loop(s, ""))
        torch.testing.assert_close(out[i, : len(s), 3:], loop(s.flip(0), "_reverse").flip(0))
        assert not out[i, len(s):].any()
    assert sorted(n for n, _ in rnn.named_parameters()) == sorted(
        n for n, _ in nn.RNN(2, 3, bidirectional=True).named_parameters())


def test_make_rnn_picks_the_cell():
    cfg = ModelConfig(4, 2, hidden=4)
    kinds = {(c, a): type(make_rnn(ModelConfig(4, 2, hidden=4, cell=c, activation=a), 4)) for c, a in CELL_KINDS}
    known = {("rnn", "tanh"): nn.RNN, ("rnn", "relu"): nn.RNN, ("rnn", "sigmoid"): UnrolledRNN,
             ("lstm", "tanh"): nn.LSTM, ("gru", "tanh"): nn.GRU, ("dtrnn", "tanh"): UnrolledRNN}
    assert {k: kinds[k] for k in known} == known  # and a cell added later builds a fused or an unrolled layer:
    assert set(kinds.values()) <= {nn.RNN, nn.LSTM, nn.GRU, UnrolledRNN}
    assert make_rnn(ModelConfig(4, 2, cell="rnn", activation="relu"), 4).nonlinearity == "relu"
    assert cfg.out_dim == 8 and ModelConfig(4, 2, hidden=4, bidirectional=False).out_dim == 4


@pytest.mark.parametrize(("field", "value", "choices"), [
    ("cell", "transformer", CELLS), ("activation", "gelu", ACTIVATIONS),
    ("norm", "group", NORMS), ("pooling", "sum", POOLINGS),
])
def test_validate_lists_the_valid_choices(field, value, choices):
    with pytest.raises(ValueError) as e:
        ModelConfig(4, 2, **{field: value}).validate()
    assert str(e.value) == f"unknown {field} {value!r}; choose one of {', '.join(choices)}"


@pytest.mark.parametrize(("kw", "message"), [
    ({"hidden": 0}, "hidden must be at least 1"), ({"layers": 0}, "layers must be at least 1"),
    ({"n_classes": 1}, "at least two classes"), ({"dropout": 1.0}, "dropout"),
])
def test_validate_ranges(kw, message):
    with pytest.raises(ValueError, match=message):
        SequenceClassifier(ModelConfig(**{"alphabet_size": 4, "n_classes": 2, "hidden": 4, **kw}))


def test_config_dict_round_trip():
    cfg = ModelConfig(20, 3, cell="gru", layers=2, hidden=7, norm="layer", pooling="attention")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model config keys: colour"):
        ModelConfig.from_dict({**cfg.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="unknown cell"):
        ModelConfig.from_dict({**cfg.to_dict(), "cell": "tcn"})


# --- the labeller (task "label"): logits (B, T, C) at every position ---------------------------------------

def labeller(seed=0, **kw):
    return model_for(seed, task="label", conv_pool=1, **kw)


@pytest.mark.parametrize(("cell", "activation"), CELL_KINDS)
@pytest.mark.parametrize("bidirectional", [True, False], ids=["bi", "uni"])
@pytest.mark.parametrize(("layers", "norm", "skip", "conv"), [(1, "none", False, True), (3, "batch", True, True),
                                                                (2, "layer", False, False)])
def test_labeller_gives_padding_invariant_logits_at_every_position(cell, activation, bidirectional, layers, norm,
                                                                   skip, conv):
    model = labeller(cell=cell, activation=activation, bidirectional=bidirectional, layers=layers, norm=norm,
                     skip=skip, conv=conv).eval()
    arrs = arrays()
    with torch.no_grad():
        x, lengths = pad_batch(arrs)
        out = model(x, lengths)
        assert out.shape == (len(arrs), max(LENGTHS), 3)
        for i, a in enumerate(arrs):
            alone = model(*pad_batch([a]))[0]
            torch.testing.assert_close(out[i, : len(a)], alone, atol=1e-5, rtol=0)
            assert (out[i, len(a):] == 0).all()  # exactly zero past the length
        wider = torch.cat([x, torch.zeros(x.shape[0], 5, x.shape[2])], dim=1)
        torch.testing.assert_close(model(wider, lengths)[:, : x.shape[1]], out, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", cells.names())
def test_labeller_padded_batch_gradients_equal_the_sum_of_per_sequence_gradients(cell):
    model = labeller(cell=cell, layers=2, skip=True).train()  # dropout 0: train mode is deterministic
    arrs = arrays()
    weights = [torch.randn(len(a), 3, generator=torch.Generator().manual_seed(i)) for i, a in enumerate(arrs)]

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    x, lengths = pad_batch(arrs)
    out = model(x, lengths)
    batch = grads(sum((out[i, : len(a)] * w).sum() for i, (a, w) in enumerate(zip(arrs, weights))))
    alone = [grads((model(*pad_batch([a]))[0] * w).sum()) for a, w in zip(arrs, weights)]
    for b, parts in zip(batch, zip(*alone)):
        torch.testing.assert_close(b, sum(parts), atol=1e-4, rtol=1e-4)


def test_labeller_output_t_depends_only_on_the_past_when_one_directional():
    model = labeller(cell="lstm", bidirectional=False, conv=False).eval()
    a = arrays((8,))[0]
    x = torch.from_numpy(a)[None].requires_grad_(True)
    model(x, torch.tensor([8]))[0, 3].sum().backward()
    assert (x.grad[0, 4:] == 0).all() and x.grad[0, :4].abs().sum() > 0


def test_labeller_refuses_conv_pooling():
    with pytest.raises(ValueError, match="cannot pool: conv_pool is 2"):
        ModelConfig(alphabet_size=4, n_classes=3, task="label", conv_pool=2).validate()
    assert ModelConfig(alphabet_size=4, n_classes=3, task="label", conv=False, conv_pool=2).validate()
    with pytest.raises(ValueError, match="unknown task 'segment'; choose one of classify, label"):
        ModelConfig(alphabet_size=4, n_classes=3, task="segment").validate()
    with pytest.raises(ValueError, match="a labeller needs at least two labels"):
        ModelConfig(alphabet_size=4, n_classes=1, task="label", conv_pool=1).validate()


def test_masked_batch_norm_takes_statistics_from_the_scored_rows_only():
    from bioseq.model.classifier import masked_batch_norm

    bn = nn.BatchNorm1d(1, momentum=0.5).train()
    data = torch.tensor([[1.0], [3.0], [100.0]])
    rows = torch.tensor([True, True, False])
    out = masked_batch_norm(bn, data, rows)
    # mean 2, biased variance 1 over the scored rows; the unscored row is normalised with them
    torch.testing.assert_close(out[:, 0], torch.tensor([-1.0, 1.0, 98.0]) / math.sqrt(1 + bn.eps))
    torch.testing.assert_close(bn.running_mean, torch.tensor([1.0]))  # 0.5 * 0 + 0.5 * 2
    torch.testing.assert_close(bn.running_var, torch.tensor([1.5]))  # 0.5 * 1 + 0.5 * (unbiased 2)
    bn.eval()
    torch.testing.assert_close(masked_batch_norm(bn, data, rows), bn(data))  # eval: running statistics


def test_labeller_batch_norm_with_every_position_scored_is_plain_batch_norm():
    model = labeller(layers=2, norm="batch").train()
    x, lengths = pad_batch(arrays())
    scored = torch.arange(x.shape[1])[None, :] < lengths[:, None]
    torch.testing.assert_close(model(x, lengths, scored=scored), model(x, lengths))
    scored[0, :3] = False  # now those positions leave the statistics: the outputs elsewhere change
    assert not torch.allclose(model(x, lengths, scored=scored)[1], model(x, lengths)[1])


def outputs_and_gradients(model, x, lengths, packed: bool, scored=None):
    """Logits, parameter gradients and the input's gradient of one training-mode pass, packed or padded."""
    model.padded = not packed
    model.zero_grad()
    x = x.clone().requires_grad_()
    out = model(x, lengths, scored=scored) if scored is not None else model(x, lengths)
    (out.sin() * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    model.padded = True
    return out.detach(), params_grads(model), x.grad


FAST_CASES = [dict(bidirectional=bi, pooling=pool, conv=conv)
              for bi, pool, conv in itertools.product([True, False], POOLINGS, [False, True])]
FAST_CASES += [dict(cell=c, activation=a, bidirectional=True, pooling=pool)
               for (c, a), pool in itertools.product([("gru", "tanh"), ("rnn", "relu")], ["last", "attention"])]
FAST_CASES += [dict(layers=3, skip=skip, norm=norm, bidirectional=True, pooling=pool)
               for skip, norm, pool in itertools.product([False, True], ["batch", "layer"], ["last", "mean"])]
FAST_CASES += [dict(task="label", conv_pool=1, layers=2, norm="batch", bidirectional=bi, cell=c)
               for bi, c in itertools.product([True, False], ["lstm", "gru"])]


@pytest.mark.parametrize("lengths", [LENGTHS, (6, 6, 6)], ids=["mixed", "equal"])
@pytest.mark.parametrize("kw", FAST_CASES, ids=lambda kw: "-".join(f"{v}" for v in kw.values()))
def test_padded_fast_path_gives_the_packed_run(kw, lengths, monkeypatch):
    """The CPU fast path (no packing) reproduces the packed run of PyTorch's packed kernels: logits, every
    parameter's gradient and the input's gradient, in training mode (batch norm statistics over valid, scored
    positions only)."""
    model = model_for(**kw).train()
    x, lens = pad_batch(arrays(lengths))
    scored = None
    if model.cfg.labelling:  # every third position unscored
        scored = (torch.arange(x.shape[1])[None, :] % 3 != 1).expand(len(lens), -1)
    twin = copy.deepcopy(model)
    with monkeypatch.context() as m:
        m.setattr(recurrence, "padded_ok", lambda rnn, device: False)  # run_layer: the packed kernels too
        want = outputs_and_gradients(twin, x, lens, packed=True, scored=scored)
    got = outputs_and_gradients(model, x, lens, packed=False, scored=scored)
    torch.testing.assert_close(got[0], want[0], atol=1e-5, rtol=1e-5)
    assert set(got[1]) == set(want[1]) == {n for n, _ in model.named_parameters()}
    for name in want[1]:
        torch.testing.assert_close(got[1][name], want[1][name], atol=1e-4, rtol=1e-4, msg=name)
    torch.testing.assert_close(got[2], want[2], atol=1e-5, rtol=1e-4)
    for (k, v), w in zip(model.state_dict().items(), twin.state_dict().values()):  # batch norm's running statistics
        torch.testing.assert_close(v, w, atol=1e-6, rtol=1e-5, msg=k)
