"""Captum's methods: agreement with bioseq's own saliency and IG, exact values on a linear model, every cell.

The linear model (``tests/_linear.py``) has the constant gradient ``head[c] w^(T-t) u`` at the letter
of position t, so DeepLift, GradientShap, SmoothGrad and occlusion can be worked out on paper.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _cells import CELL_KINDS
from _linear import HEAD, U, by_id, decay, expected_linear_saliency, linear_bundle, rec, records
from captum.attr import InputXGradient, IntegratedGradients

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.interpret.attribution import METHODS, explain
from bioseq.interpret.captum_methods import captum_attributions, reference, seeded
from bioseq.interpret.inputs import prepared, resolve_targets

CFGS = [dict(cell="lstm", bidirectional=True, conv=True, pooling="max"),
        dict(cell="gru", bidirectional=True, conv=False, pooling="attention", layers=2, norm="layer"),
        dict(cell="rnn", activation="tanh", bidirectional=False, conv=True, pooling="last")]
SEQS = ("ACGTTGCAGTAC", "GGATCC", "TTTACGTAGGCATGCA")


def uniform_linear(seq: str, cls: int = 1) -> np.ndarray:
    """Against the uniform reference (1/4 of each letter): ``head w^(T-t) (u·x(t) - mean u)``."""
    return HEAD[cls] * decay(len(seq)) * (encode(seq, DNA) @ U - U.mean())


# --- the same quantity two ways ---------------------------------------------------------------------


@pytest.mark.parametrize("cfg", CFGS)
def test_captum_input_x_gradient_is_bioseq_saliency(make_bundle, cfg):
    bundle = make_bundle(seed=3, **cfg)
    recs = records(*SEQS)
    _, arrays = prepared(bundle, recs)
    targets = resolve_targets(bundle, arrays, None)
    attr = captum_attributions(bundle, arrays, targets, lambda model, x, t, lengths: InputXGradient(model).attribute(
        x.requires_grad_(True), target=t, additional_forward_args=(lengths,)))
    ours = explain(bundle, recs, "saliency", simplex="off")
    for i, a in enumerate(attr):
        np.testing.assert_allclose(a.sum(1), by_id(ours, f"s{i}"), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cfg", CFGS)
def test_captum_integrated_gradients_riemann_middle_is_bioseq_ig(make_bundle, cfg):
    bundle = make_bundle(seed=5, **cfg)
    recs = records(*SEQS)
    _, arrays = prepared(bundle, recs)
    targets = resolve_targets(bundle, arrays, "b")
    attr = captum_attributions(bundle, arrays, targets, lambda model, x, t, lengths: IntegratedGradients(
        model).attribute(x, baselines=torch.zeros_like(x), target=t, additional_forward_args=(lengths,), n_steps=16,
                         method="riemann_middle"))
    ours = explain(bundle, recs, "ig", target="b", steps=16, simplex="off")
    for i, a in enumerate(attr):
        np.testing.assert_allclose(a.sum(1), by_id(ours, f"s{i}"), rtol=1e-4, atol=1e-6)


# --- DeepLift ---------------------------------------------------------------------------------------


def test_deeplift_of_a_linear_model():
    bundle = linear_bundle()
    recs = records("ACGTTGCA", "GGNAC")
    zero = explain(bundle, recs, "deeplift")
    uniform = explain(bundle, recs, "deeplift", baseline="uniform")
    assert (zero["method"] == "deeplift").all()
    for i, r in enumerate(recs):
        np.testing.assert_allclose(by_id(zero, f"s{i}"), expected_linear_saliency(r.seq, 1), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(by_id(uniform, f"s{i}"), uniform_linear(r.seq), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("conv", [True, False])
@pytest.mark.parametrize("cell", CELL_KINDS)
def test_deeplift_runs_on_every_cell(make_bundle, cell, conv):
    bundle = make_bundle(seed=2, cell=cell[0], activation=cell[1], conv=conv, layers=2, bidirectional=True)
    recs = records(*SEQS)
    df = explain(bundle, recs, "deeplift")
    assert len(df) == sum(map(len, SEQS)) and np.isfinite(df["score"]).all()
    assert all(p.grad is None for p in bundle.model.parameters())
    alone = explain(bundle, recs[1:2], "deeplift")
    np.testing.assert_allclose(by_id(df, "s1"), alone["score"].to_numpy(), rtol=1e-4, atol=1e-6)


class _FunctionalReLU(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)


def test_deeplift_applies_its_rule_at_the_conv_front_ends_relu(make_bundle):
    """The front end's ReLU is an ``nn.ReLU``, so DeepLift's rescale rule applies there and its scores
    differ from gradient × input; with a ReLU that DeepLift does not know, it falls back to gradients
    everywhere, and with the zero baseline that is gradient × input exactly."""
    bundle = make_bundle(seed=1, cell="gru", conv=True)
    assert isinstance(bundle.model.front.relu, torch.nn.ReLU)
    recs = records(*SEQS)
    saliency = explain(bundle, recs, "saliency", simplex="off")["score"]
    assert not np.allclose(explain(bundle, recs, "deeplift")["score"], saliency, rtol=1e-3, atol=1e-5)
    bundle.model.front.relu = _FunctionalReLU()
    np.testing.assert_allclose(explain(bundle, recs, "deeplift")["score"], saliency, rtol=1e-4, atol=1e-6)


# --- GradientShap and SmoothGrad ---------------------------------------------------------------------


def test_gradientshap_of_a_linear_model():
    bundle = linear_bundle()
    recs = records("ACGTTGCA", "TTGAC")
    zero = explain(bundle, recs, "gradientshap", baseline="zero", samples=4, simplex="off")
    uniform = explain(bundle, recs, "gradientshap", baseline="uniform", samples=4, simplex="off")
    for i, r in enumerate(recs):
        np.testing.assert_allclose(by_id(zero, f"s{i}"), expected_linear_saliency(r.seq, 1), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(by_id(uniform, f"s{i}"), uniform_linear(r.seq), rtol=1e-5, atol=1e-6)


def test_gradientshap_against_random_sequences_is_the_mean_over_the_draws():
    """Each draw picks one random reference r: score(t) = head w^(T-t) (u·x(t) - u·r(t)); one reference
    per draw, so with one sample the scores equal that for some reference drawn from the pool."""
    bundle = linear_bundle()
    seq = "ACGTTGCA"
    got = explain(bundle, [rec(seq)], "gradientshap", samples=1, seed=3)["score"].to_numpy()
    pool = reference("random", torch.zeros(1, len(seq), 4), seed=3).numpy() @ U  # (16, L): u·r(t)
    candidates = HEAD[1] * decay(len(seq)) * (encode(seq, DNA) @ U - pool)
    assert np.abs(candidates - got).max(1).min() < 1e-5


def test_smoothgrad_of_a_linear_model_is_saliency():
    bundle = linear_bundle()
    recs = records("ACGTTGCA", "GGNAC")
    df = explain(bundle, recs, "smoothgrad", noise=0.01, samples=8, simplex="off")  # tiny noise: every ReLU input > 0
    for i, r in enumerate(recs):
        np.testing.assert_allclose(by_id(df, f"s{i}"), expected_linear_saliency(r.seq, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", [m.name for m in METHODS.values() if "seed" in {o.name for o in m.options}])
def test_random_methods_are_reproducible_and_leave_the_global_generators_alone(make_bundle, method):
    bundle = make_bundle(seed=0)
    names = {o.name for o in METHODS[method].options}
    small = {k: v for k, v in {"samples": 4, "noise": 0.2}.items() if k in names}  # gradientshap, smoothgrad: both
    recs = records(*SEQS)
    torch.manual_seed(123)
    np.random.seed(123)
    first = explain(bundle, recs, method, **small)
    after = torch.rand(1).item(), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(123)
    assert after == (torch.rand(1).item(), np.random.rand())  # as if the method had not run
    again = explain(bundle, recs, method, **small)
    other = explain(bundle, recs, method, **small, seed=1)
    np.testing.assert_array_equal(first["score"], again["score"])
    assert not np.allclose(first["score"], other["score"])


def test_seeded_restores_the_generators():
    torch.manual_seed(7)
    np.random.seed(7)
    with seeded(0):
        torch.rand(3), np.random.rand(3)
    got = torch.rand(1).item(), np.random.rand()
    torch.manual_seed(7)
    np.random.seed(7)
    assert got == (torch.rand(1).item(), np.random.rand())


def test_random_references_are_one_hot_sequences():
    r = reference("random", torch.zeros(2, 9, 4), count=5, seed=1)
    assert r.shape == (5, 9, 4) and (r.sum(2) == 1).all() and set(r.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(r, reference("random", torch.zeros(2, 9, 4), count=5, seed=1))
    with pytest.raises(ValueError, match="zero, uniform, random"):
        reference("shuffled", torch.zeros(1, 2, 4))


# --- occlusion --------------------------------------------------------------------------------------


def windowed(scores: np.ndarray, w: int) -> np.ndarray:
    """Mean over the windows of w letters inside the sequence that cover t of the window's total."""
    n = len(scores)
    w = min(w, n)
    totals = [scores[s:s + w].sum() for s in range(n - w + 1)]
    return np.array([np.mean([totals[s] for s in range(n - w + 1) if s <= t < s + w]) for t in range(n)])


def test_occlusion_of_a_linear_model():
    bundle = linear_bundle()
    seqs = ("ACGTTGCA", "GGNACTT", "TGA")
    recs = records(*seqs)
    one = explain(bundle, recs, "occlusion")
    three = explain(bundle, recs, "occlusion", window=3)
    five = explain(bundle, recs, "occlusion", window=5)  # wider than "TGA": one window covers it all
    uniform = explain(bundle, recs, "occlusion", baseline="uniform")
    for i, s in enumerate(seqs):
        sal = expected_linear_saliency(s, 1)
        np.testing.assert_allclose(by_id(one, f"s{i}"), sal, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(by_id(three, f"s{i}"), windowed(sal, 3), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(by_id(five, f"s{i}"), windowed(sal, 5), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(by_id(uniform, f"s{i}"), uniform_linear(s), rtol=1e-5, atol=1e-6)


def test_occlusion_does_not_depend_on_the_batch(make_bundle):
    bundle = make_bundle(seed=6, cell="lstm", conv=True)
    recs = records(*SEQS)
    together = explain(bundle, recs, "occlusion", window=3)
    alone = explain(bundle, recs[:1], "occlusion", window=3)
    np.testing.assert_allclose(by_id(together, "s0"), alone["score"].to_numpy(), rtol=1e-4, atol=1e-6)
