"""bioseq's own gradient × input and integrated gradients: exact on a linear model; IG completeness.

The models are in ``tests/_linear.py``; both methods are run through the registry's ``explain``.
"""

from __future__ import annotations

import numpy as np
import pytest
from _linear import HEAD, U, by_id, expected_linear_saliency, linear_bundle, logits_of, rec, records

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.interpret.attribution import explain
from bioseq.interpret.saliency import gradient_x_input, integrated_gradients

# --- saliency ---------------------------------------------------------------------------------------


def test_saliency_of_a_linear_model_is_the_weight_picked_by_each_letter():
    bundle = linear_bundle()
    seqs = ["ACGTTGCA", "GGNAC", "TACGATCGATCGTA"]  # N is a quarter of each letter
    df = explain(bundle, records(*seqs), "saliency", simplex="off")
    assert list(df.columns) == ["id", "position", "letter", "score", "method", "target"]
    assert (df["target"] == "b").all()  # the prediction
    assert (df["method"] == "saliency").all()
    for i, s in enumerate(seqs):
        sub = df[df["id"] == f"s{i}"]
        assert sub["position"].tolist() == list(range(1, len(s) + 1))
        assert "".join(sub["letter"]) == s
        np.testing.assert_allclose(sub["score"], expected_linear_saliency(s, 1), rtol=1e-6, atol=1e-7)


def test_saliency_with_w_one_is_exactly_head_times_u():
    bundle = linear_bundle(w=1.0)
    df = explain(bundle, [rec("TTGACA")], "saliency", simplex="off")
    np.testing.assert_allclose(df["score"], HEAD[1] * U[[3, 3, 2, 0, 1, 0]], rtol=1e-6)


def test_saliency_for_a_chosen_class_differs_from_the_prediction():
    bundle = linear_bundle()
    seq = "ACGTAC"
    chosen = explain(bundle, [rec(seq)], "saliency", target="a", simplex="off")
    predicted = explain(bundle, [rec(seq)], "saliency", simplex="off")
    assert (chosen["target"] == "a").all() and (predicted["target"] == "b").all()
    np.testing.assert_allclose(chosen["score"], expected_linear_saliency(seq, 0), rtol=1e-6)
    assert np.sign(chosen["score"]).tolist() == [-1.0] * len(seq)


def test_gradient_x_input_takes_one_target_per_record():
    bundle = linear_bundle()
    arrays = [encode("ACGT", DNA), encode("GGA", DNA)]
    a, b = gradient_x_input(bundle, arrays, np.array([0, 1]), simplex="off")
    np.testing.assert_allclose(a, expected_linear_saliency("ACGT", 0), rtol=1e-6)
    np.testing.assert_allclose(b, expected_linear_saliency("GGA", 1), rtol=1e-6)


@pytest.mark.parametrize("cfg", [
    dict(cell="lstm", layers=2, bidirectional=True, norm="batch", pooling="attention", conv=True),
    dict(cell="gru", layers=1, bidirectional=True, pooling="last", conv=False),
    dict(cell="rnn", activation="tanh", layers=2, bidirectional=False, skip=True, pooling="max", conv=True),
])
def test_saliency_does_not_depend_on_the_batch(make_bundle, cfg):
    bundle = make_bundle(seed=4, **cfg)
    short = rec("ACGTTGCAGT", "short", 1)
    others = [rec("ACGTACGTACGTACGTACGTAC", "long1", 2), rec("TTTTGGGGCCCCAAAATTGG", "long2", 3)]
    alone = explain(bundle, [short], "saliency")
    together = explain(bundle, [others[0], short, others[1]], "saliency")
    np.testing.assert_allclose(by_id(together, "short"), alone["score"].to_numpy(), rtol=1e-4, atol=1e-6)


# --- integrated gradients ---------------------------------------------------------------------------


def test_integrated_gradients_of_a_linear_model_equal_saliency():
    bundle = linear_bundle()
    recs = [rec("ACGTTGCA", "x"), rec("GGNACTT", "y", 2)]
    for target in (None, "a"):
        ig = explain(bundle, recs, "ig", target=target, steps=8)
        sal = explain(bundle, recs, "saliency", target=target)
        assert list(ig.columns) == ["id", "position", "letter", "score", "method", "target"]
        assert (ig["method"] == "ig").all()
        np.testing.assert_allclose(ig["score"], sal["score"], rtol=1e-5, atol=1e-7)
        assert (ig["target"] == sal["target"]).all()


def test_integrated_gradients_of_a_linear_model_need_one_step():
    """The gradient of a linear model is the same all along the path, so any step count gives saliency."""
    bundle = linear_bundle(w=1.0)
    arrays = [encode("TGCA", DNA)]
    for steps in (1, 3):
        (ig,) = integrated_gradients(bundle, arrays, np.array([1]), steps=steps, simplex="off")
        np.testing.assert_allclose(ig, HEAD[1] * U[[3, 2, 1, 0]], rtol=1e-6)


@pytest.mark.parametrize("cfg,tol", [
    (dict(cell="lstm", conv=False, pooling="attention", bidirectional=True), 1e-3),  # smooth: error ~ f''/(24·64²)
    (dict(cell="gru", conv=False, pooling="mean", layers=2, norm="layer"), 1e-3),
    (dict(cell="rnn", activation="tanh", conv=False, pooling="last"), 1e-3),
    (dict(cell="lstm", conv=True, pooling="max"), 1e-2),  # ReLU and max-pool kinks cost the midpoint rule more
])
def test_integrated_gradients_are_complete(make_bundle, cfg, tol):
    """Σ_positions IG = f(x) - f(0) for the target logit, up to the midpoint rule's error."""
    bundle = make_bundle(seed=1, **cfg)
    rng = np.random.default_rng(0)
    recs = records(*("".join(rng.choice(list("ACGT"), n)) for n in (6, 17, 25)))
    ig = explain(bundle, recs, "ig", steps=64, simplex="off")
    for r in recs:
        sub = ig[ig["id"] == r.id]
        x = encode(r.seq, DNA)
        t = bundle.classes.index(sub["target"].iloc[0])
        fx, f0 = logits_of(bundle, [x])[0, t], logits_of(bundle, [np.zeros_like(x)])[0, t]
        assert t == int(logits_of(bundle, [x])[0].argmax())  # the target is the prediction
        assert abs(sub["score"].sum() - (fx - f0)) <= tol, (sub["score"].sum(), fx - f0)
