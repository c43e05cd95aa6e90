"""TF-MoDISco on attribution maps (:mod:`bioseq.interpret.modisco`): the hypothetical contributions of each kind
of method, worked out on the linear model of ``tests/_linear.py``; patterns trimmed and placed; one line when
there is nothing to find."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from _linear import U, decay, linear_bundle, rec

from bioseq.interpret.attribution import attribute
from bioseq.interpret.modisco import NoMotifs, _pattern, contributions, discover

SEQ = "ACGTTGCA"


@pytest.mark.parametrize("method, options", [("saliency", {}), ("ig", {"steps": 4})])
def test_gradient_methods_give_the_gradient_centred_over_the_alphabet(method, options):
    # the gradient of logit b (head 2) at position t is 2 w^(T-t) u for every letter; centred: 2 w^(T-t) (u - 1.25)
    onehots, hyps = contributions(linear_bundle(), [rec(SEQ)], "b", method, **options)
    want = 2.0 * decay(len(SEQ))[:, None] * (U - U.mean())[None, :]
    np.testing.assert_allclose(hyps[0], want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hyps[0].sum(1), 0.0, atol=1e-6)  # on the simplex
    assert onehots[0].shape == (len(SEQ), 4) and (onehots[0].argmax(1) == ["ACGT".index(c) for c in SEQ]).all()
    _, raw = contributions(linear_bundle(), [rec(SEQ)], "b", method, simplex="off", **options)
    np.testing.assert_allclose(raw[0], 2.0 * decay(len(SEQ))[:, None] * U[None, :], rtol=1e-5)  # the raw gradient


@pytest.mark.parametrize("method", ["ism", "occlusion"])
def test_other_methods_put_their_score_on_the_letter_there(method):
    onehots, hyps = contributions(linear_bundle(), [rec(SEQ)], "b", method)
    scores = attribute(linear_bundle(), [rec(SEQ)], method, "b").scores[0]
    np.testing.assert_allclose(hyps[0], scores[:, None] * onehots[0])
    np.testing.assert_allclose((hyps[0] * onehots[0]).sum(1), scores)


def test_a_pattern_is_trimmed_to_its_contribution_and_placed_by_its_seqlets():
    cwm = np.zeros((9, 4))
    cwm[3:6] = [[1.0, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 0.2, 0]]  # columns 3..5 carry it; 0.2 < 0.3 of 1.0
    ppm = np.tile(np.eye(4)[[0]], (9, 1))
    seqlets = [SimpleNamespace(example_idx=0, start=10, end=19, is_revcomp=False),
               SimpleNamespace(example_idx=1, start=10, end=19, is_revcomp=True),
               SimpleNamespace(example_idx=1, start=0, end=9, is_revcomp=False)]
    p = _pattern(SimpleNamespace(contrib_scores=cwm, sequence=ppm, seqlets=seqlets), "pos_1", "+", [30, 30])
    assert len(p.ppm) == 2 and np.allclose(p.cwm, cwm[3:5])  # columns 3 and 4 (weight 1.0 and 0.5)
    assert (p.seqlets, p.sequences) == (3, 2)
    assert p.positions == [15, 16, 5]  # centre 4 of the kept columns: 10 + 4, 19 - 4, 0 + 4; 1-based


def test_records_shorter_than_the_window_are_one_line():
    onehots, hyps = contributions(linear_bundle(), [rec(SEQ)], "b")
    with pytest.raises(NoMotifs, match="^TF-MoDISco needs records of at least 21 letters .*the longest here has 8$"):
        discover(onehots, hyps)


def test_a_failure_inside_tf_modisco_is_one_line(monkeypatch):
    import modiscolite.tfmodisco

    def fails(*args, **kwargs):
        raise ValueError("Sample weights must contain at least one non-zero number.")

    monkeypatch.setattr(modiscolite.tfmodisco, "TFMoDISco", fails)
    onehots = [np.eye(4)[np.arange(30) % 4]] * 3
    with pytest.raises(NoMotifs, match=r"^TF-MoDISco failed on 3 records \(ValueError: Sample weights must"):
        discover(onehots, [o * 0.5 for o in onehots])
