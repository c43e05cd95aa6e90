"""Per-layer gradient norms (GradientRecorder) and the first/last layer ratio."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.interpret.diagnose import diagnose_run
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.training.recorder import COLUMNS, GradientRecorder, layer_means, layer_parameters, layer_ratio
from bioseq.training.runs import RunFolder, gradient_summary


def backward_once(model, seed=0):
    rng = np.random.default_rng(seed)
    arrs = [encode("".join(rng.choice(list("ACGT"), n)), DNA) for n in (5, 9, 3)]
    model.zero_grad()
    model(*pad_batch(arrs)).logsumexp(1).sum().backward()


def norm(params):
    return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in params))


def make(bidirectional=True, layers=3, **kw):
    torch.manual_seed(0)
    return SequenceClassifier(ModelConfig(4, 2, cell="gru", hidden=5, layers=layers, bidirectional=bidirectional,
                                   conv=False, dropout=0.0, **kw))


def test_norms_equal_a_hand_computation():
    model = make()
    backward_once(model)
    rec = GradientRecorder(model)
    rec.record(epoch=1, step=1)
    rows = rec.table()
    assert [(r["epoch"], r["step"], r["layer"]) for r in rows] == [(1, 1, 1), (1, 1, 2), (1, 1, 3)]
    assert all(set(r) == {"epoch", "step", "layer", *COLUMNS} for r in rows)
    for row, rnn in zip(rows, model.rnns, strict=True):
        named = dict(rnn.named_parameters())
        pick = {
            "grad_norm": named,
            "weight_norm": [n for n in named if n.startswith("weight")],
            "bias_norm": [n for n in named if n.startswith("bias")],
            "forward_norm": [n for n in named if not n.endswith("_reverse")],
            "reverse_weight_norm": [n for n in named if n.startswith("weight") and n.endswith("_reverse")],
            "forward_bias_norm": [n for n in named if n.startswith("bias") and not n.endswith("_reverse")],
        }
        for column, names in pick.items():
            assert row[column] == pytest.approx(norm(named[n] for n in names), rel=1e-5), column
        assert row["grad_norm"] ** 2 == pytest.approx(row["weight_norm"] ** 2 + row["bias_norm"] ** 2, rel=1e-5)
        assert row["grad_norm"] ** 2 == pytest.approx(row["forward_norm"] ** 2 + row["reverse_norm"] ** 2, rel=1e-5)


def test_layer_one_is_nearest_the_input():
    model = make(layers=2)
    first, second = layer_parameters(model)
    assert dict(first)["weight_ih_l0"].shape[1] == 4  # reads the one-hot input
    assert dict(second)["weight_ih_l0"].shape[1] == 10  # reads layer 1's two directions
    backward_once(model)
    rec = GradientRecorder(model)
    rec.record(1, 1)
    assert rec.table()[0]["grad_norm"] == pytest.approx(norm(model.rnns[0].parameters()), rel=1e-5)


def test_unidirectional_reverse_columns_are_nan():
    model = make(bidirectional=False, layers=2)
    backward_once(model)
    rec = GradientRecorder(model)
    rec.record(1, 1)
    for row in rec.table():
        assert all(math.isnan(row[c]) for c in COLUMNS if c.startswith("reverse"))
        assert row["forward_norm"] == pytest.approx(row["grad_norm"])


def test_record_every_k_steps_and_missing_grads():
    model = make(layers=2)
    rec = GradientRecorder(model, every=3)
    for step in range(1, 8):
        rec.record(epoch=1, step=step)  # no backward yet: missing gradients count as zero
    assert sorted({r["step"] for r in rec.table()}) == [1, 4, 7]
    assert len(rec.table()) == 3 * 2
    assert all(r["grad_norm"] == 0.0 for r in rec.table())


def test_load_restores_recorded_rows():
    model = make(layers=2)
    rec = GradientRecorder(model)
    for step in (1, 2):
        backward_once(model, seed=step)
        rec.record(1, step)
    again = GradientRecorder(model)
    again.load(rec.table())
    assert again.table() == rec.table()
    assert len(again.table()) == 4


def test_layer_ratio():
    rows = [{"layer": 1, "grad_norm": 1.0}, {"layer": 2, "grad_norm": 3.0},
            {"layer": 1, "grad_norm": 3.0}, {"layer": 2, "grad_norm": 5.0}, {"layer": 3, "grad_norm": 8.0}]
    out = layer_ratio(rows)
    assert out["per_layer"] == {1: 2.0, 2: 4.0, 3: 8.0}
    assert out["ratio"] == pytest.approx(2.0 / 8.0)
    assert layer_ratio([{"layer": 1, "bias_norm": 2.0}, {"layer": 2, "bias_norm": 1.0}], "bias_norm")["ratio"] == 2.0
    assert math.isnan(layer_ratio([])["ratio"])
    assert math.isnan(layer_ratio([{"layer": 1, "grad_norm": 1.0}, {"layer": 2, "grad_norm": 0.0}])["ratio"])


NON_FINITE = [{"layer": 1, "grad_norm": 1.0}, {"layer": 1, "grad_norm": math.nan}, {"layer": 1, "grad_norm": 3.0},
              {"layer": 2, "grad_norm": math.inf}, {"layer": 2, "grad_norm": 4.0},
              {"layer": 2, "grad_norm": -math.inf}, {"layer": 3, "grad_norm": math.nan}]


def test_layer_means_drop_non_finite_norms():
    means = layer_means(NON_FINITE)
    assert list(means) == [1, 2, 3]
    assert means[1] == 2.0 and means[2] == 4.0  # NaN and ±inf left out, not averaged in
    assert math.isnan(means[3])  # no finite norm at all
    assert math.isnan(layer_ratio(NON_FINITE)["ratio"])  # the last layer has no mean
    assert layer_ratio(NON_FINITE[:-1]) == {"per_layer": {1: 2.0, 2: 4.0}, "ratio": 0.5}
    one = layer_ratio([{"layer": 1, "grad_norm": 2.0}])
    assert one["per_layer"] == {1: 2.0} and math.isnan(one["ratio"])  # a ratio needs two layers


def test_the_diagnosis_and_the_run_summary_use_the_one_rule():
    """Both appear on the Gradient flow page: the same rows give the same means and ratio."""
    rows = [{"epoch": 1, "step": i // 2 + 1, **{c: math.nan for c in COLUMNS}, **r}
            for i, r in enumerate(NON_FINITE[:-1])]
    result = SimpleNamespace(history=[], gradients=rows, interrupted=False, best_epoch=1, val_metrics={})
    RunFolder.named("nan-run").finish(result, "nan-run.safetensors")  # the run folder writes gradients.csv
    summary = gradient_summary("nan-run")
    numbers = diagnose_run(rows).numbers
    assert summary.per_layer == numbers["layer_means"] == {1: 2.0, 2: 4.0}
    assert summary.ratio == numbers["layer_ratio"] == 0.5


def test_a_labellers_per_position_loss_is_recorded_per_layer():
    from bioseq.data.position_labels import UNSCORED
    from bioseq.task import position_loss

    model = make(task="label", norm="batch")
    rng = np.random.default_rng(1)
    arrs = [encode("".join(rng.choice(list("ACGT"), n)), DNA) for n in (5, 9, 3)]
    x, lengths = pad_batch(arrs)
    targets = torch.from_numpy(rng.integers(0, 2, x.shape[:2]))
    targets[torch.arange(x.shape[1])[None, :] >= lengths[:, None]] = UNSCORED
    model.zero_grad()
    position_loss(model(x, lengths), targets)[0].backward()
    rec = GradientRecorder(model)
    rec.record(epoch=1, step=1)
    rows = rec.table()
    assert [r["layer"] for r in rows] == [1, 2, 3]
    for row, rnn in zip(rows, model.rnns, strict=True):
        params = dict(rnn.named_parameters())
        assert row["grad_norm"] == pytest.approx(norm(params.values()), rel=1e-5) and row["grad_norm"] > 0
        assert row["reverse_norm"] == pytest.approx(norm([p for n, p in params.items() if n.endswith("_reverse")]),
                                                    rel=1e-5)
    assert np.isfinite(layer_ratio(rows)["ratio"])


@pytest.mark.parametrize("clip", [1e-3, 1e3, None])
def test_record_and_clip_is_record_then_clip_grad_norm(clip):
    """One norm computation for both: the same rows as record() and bit-identical clipped gradients."""
    model = make(layers=2)
    backward_once(model)
    params = list(model.parameters())
    want_rec = GradientRecorder(model)
    want_rec.record(1, 1)
    saved = [p.grad.clone() for p in params]
    if clip:
        torch.nn.utils.clip_grad_norm_(params, clip)
    want = [p.grad.clone() for p in params]
    for p, g in zip(params, saved):
        p.grad = g.clone()
    rec = GradientRecorder(model)
    rec.record_and_clip(params, clip, 1, 1)
    assert all(torch.equal(p.grad, w) for p, w in zip(params, want))
    if clip == 1e-3:
        assert not torch.equal(want[0], saved[0])  # the clip did act
    assert rec.table() == want_rec.table()
