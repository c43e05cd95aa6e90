"""What the interpretation methods share: records as the model sees them, targets, batches, input gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from _linear import HEAD, U, decay, linear_bundle, rec, records

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.errors import InputError
from bioseq.interpret.attribution import METHODS, explain
from bioseq.interpret.gate_saliency import gate_saliency
from bioseq.interpret.inputs import (
    batches,
    check_length,
    input_gradients,
    prepared,
    prepared_lengths,
    resolve_targets,
    simplex_centred,
)
from bioseq.interpret.memory import memory_curve
from bioseq.interpret.position_gradients import position_gradients
from bioseq.interpret.time_gradients import time_gradients

RANDOM = {m.name for m in METHODS.values() if "seed" in {o.name for o in m.options}}


def test_prepared_is_what_the_model_sees():
    bundle = linear_bundle()
    bundle.max_length, bundle.length_policy = 4, "end"
    seqs, arrays = prepared(bundle, records("ACGTTG", "GA"))
    assert seqs == ["GTTG", "GA"] and [a.shape for a in arrays] == [(4, 4), (2, 4)]
    assert prepared_lengths(bundle, records("ACGTTG", "GA")) == [4, 2]


def test_targets_are_the_chosen_class_or_each_prediction():
    bundle = linear_bundle(head=np.array([2.0, -1.0]))  # now class a is always predicted
    arrays = [encode("ACGT", DNA), encode("GG", DNA)]
    assert resolve_targets(bundle, arrays, None).tolist() == [0, 0]
    assert resolve_targets(bundle, arrays, "b").tolist() == [1, 1]
    assert resolve_targets(bundle, [], None).tolist() == []
    with pytest.raises(InputError, match="unknown class 'z'; the model's classes are a, b"):
        resolve_targets(bundle, arrays, "z")


def test_input_gradients_take_one_target_for_all_or_one_per_record():
    bundle = linear_bundle()
    arrays = [encode("ACG", DNA), encode("TTAC", DNA)]
    expected = [HEAD[c] * decay(len(a))[:, None] * U[None, :] for a, c in zip(arrays, (0, 1))]
    grads, targets = input_gradients(bundle, arrays, np.array([0, 1]))
    assert targets.tolist() == [0, 1]
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6)
    grads, targets = input_gradients(bundle, arrays, None)
    assert targets.tolist() == [1, 1]
    np.testing.assert_allclose(grads[0], HEAD[1] * decay(3)[:, None] * U[None, :], rtol=1e-6)


def test_batches_group_lengths():
    bundle = linear_bundle()
    arrays = [np.zeros((n, 4), dtype=np.float32) for n in (5, 3, 5, 3, 4)]
    same = [(idx.tolist(), tuple(x.shape), lengths.tolist()) for idx, x, lengths in batches(bundle, arrays, 2, True)]
    assert same == [([1, 3], (2, 3, 4), [3, 3]), ([4], (1, 4, 4), [4]), ([0, 2], (2, 5, 4), [5, 5])]
    mixed = [idx.tolist() for idx, _, _ in batches(bundle, arrays, 2)]
    assert mixed == [[1, 3], [4, 0], [2]]


def test_check_length_names_the_record():
    check_length(rec("ACGT"), 4, 4, "a method")
    check_length(rec("ACGT"), 4, None, "a method")
    with pytest.raises(InputError, match=r"record 1 \(s\): a method is limited to 3 letters; this one has 4"):
        check_length(rec("ACGT"), 4, 3, "a method")


# --- simplex correction ------------------------------------------------------------------------------


def test_simplex_correction_removes_the_mean_over_the_alphabet_at_each_position():
    bundle = linear_bundle()
    arrays = [encode("ACGN", DNA), encode("TTACG", DNA)]
    raw, _ = input_gradients(bundle, arrays, np.array([0, 1]))
    centred, _ = input_gradients(bundle, arrays, np.array([0, 1]), simplex="on")
    for r, c, cls, a in zip(raw, centred, (0, 1), arrays):
        np.testing.assert_allclose(c.mean(1), 0.0, atol=1e-7)  # no component along (1, 1, 1, 1) is left
        np.testing.assert_allclose(c, r - r.mean(1, keepdims=True), rtol=1e-6, atol=1e-7)
        # by hand: head[c] w^(T-t) (u - mean(u)) at every position
        np.testing.assert_allclose(c, HEAD[cls] * decay(len(a))[:, None] * (U - U.mean())[None, :], rtol=1e-6)


def test_simplex_centred_is_the_identity_forward_and_centres_any_gradient():
    x = torch.rand(2, 3, 4, requires_grad=True)
    y = simplex_centred(x)
    assert torch.equal(y, x)
    w = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    (g,) = torch.autograd.grad((y * w).sum(), x)
    torch.testing.assert_close(g, w - w.mean(-1, keepdim=True))


def test_corrected_saliency_is_ism_up_to_k_minus_1_over_k_on_a_linear_model_and_ism_is_unchanged():
    """On a linear model ISM at a position is g(a) - mean of g over the other letters; corrected saliency is
    g(a) - mean of g over all K letters = (K-1)/K of that. Raw saliency is g(a): off by the mean gradient.
    ISM takes no gradients, so it has no simplex option and its scores do not move."""
    bundle = linear_bundle()
    recs = records("ACGTTGCA", "GATTACA")
    ism = explain(bundle, recs, "ism")
    corrected = explain(bundle, recs, "saliency")
    raw = explain(bundle, recs, "saliency", simplex="off")
    np.testing.assert_allclose(corrected["score"], 0.75 * ism["score"], rtol=1e-5, atol=1e-7)
    assert not np.allclose(raw["score"], 0.75 * ism["score"], rtol=1e-3)
    assert "simplex" not in {o.name for o in METHODS["ism"].options}
    pd.testing.assert_frame_equal(ism, explain(bundle, recs, "ism"))


@pytest.mark.parametrize("method", ["saliency", "ig", "smoothgrad", "gradientshap"])
def test_every_gradient_method_is_simplex_corrected_by_default_and_says_so(method):
    m = METHODS[method]
    assert m.parse({})["simplex"] == "on" and "simplex-corrected" in m.help


# --- the cuDNN guard ---------------------------------------------------------------------------------


def test_every_gradient_view_runs_with_cudnn_off(make_bundle, monkeypatch):
    """cuDNN's RNN backward refuses eval mode ("cudnn RNN backward can only be called in training mode"), so
    every gradient taken through a model in eval mode must run inside :func:`no_cudnn`. CUDA is not needed to
    check it: the flag is switched on every machine, and each gradient records whether cuDNN was enabled."""
    seen = []
    grad = torch.autograd.grad

    def recording_grad(*args, **kwargs):
        seen.append(torch.backends.cudnn.enabled)
        return grad(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", recording_grad)
    assert torch.backends.cudnn.enabled  # the default, outside the views
    classifier = make_bundle(seed=2, cell="lstm", layers=2, bidirectional=True)
    labeller = make_bundle(seed=2, cell="lstm", task="label", conv=False)
    recs = records("ACGTTGCATT", "GATTACAGG")
    views = {f"explain {m}": (lambda m=m: explain(classifier, recs, m, samples=2) if m in RANDOM
                              else explain(classifier, recs, m))
             for m in METHODS if m not in ("ism", "occlusion")}
    views |= {
        "labeller saliency": lambda: explain(labeller, recs, "saliency", position=3),
        "time gradients": lambda: time_gradients(classifier, recs),
        "gate saliency": lambda: gate_saliency(classifier, recs),
        "memory": lambda: memory_curve(classifier, recs),
        "position gradients": lambda: position_gradients(labeller, recs[0]),
    }
    for name, view in views.items():
        seen.clear()
        view()
        assert seen and not any(seen), f"{name}: {len(seen)} gradients, cuDNN on in {sum(seen)}"
    assert torch.backends.cudnn.enabled  # and it is back on afterwards
