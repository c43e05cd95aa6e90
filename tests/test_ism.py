"""In-silico mutagenesis: the per-substitution table and the per-position score, exact on a linear model."""

from __future__ import annotations

import numpy as np
import pytest
from _linear import HEAD, U, decay, linear_bundle, linear_labeller, logits_of, rec, records

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.errors import InputError
from bioseq.interpret import ism as ism_module
from bioseq.interpret.attribution import explain
from bioseq.interpret.ism import ism


def test_ism_of_a_linear_model_is_the_weight_difference():
    bundle = linear_bundle()
    seq = "ACGTTGCA"
    df = ism(bundle, rec(seq))
    assert list(df.columns) == ["id", "position", "ref", "alt", "delta", "delta_prob", "target"]
    assert len(df) == len(seq) * (DNA.size - 1)
    assert not df.duplicated(["position", "alt"]).any()
    assert (df["ref"] != df["alt"]).all()
    assert (df["target"] == "b").all()
    dec = 0.5 ** (len(seq) - df["position"].to_numpy())
    ref = np.array(["ACGT".index(c) for c in df["ref"]])
    alt = np.array(["ACGT".index(c) for c in df["alt"]])
    np.testing.assert_allclose(df["delta"], HEAD[1] * dec * (U[alt] - U[ref]), rtol=1e-5, atol=1e-6)
    # delta_prob is the change of the softmax probability of the target
    base = logits_of(bundle, [encode(seq, DNA)])[0]
    p_base = np.exp(base[1]) / np.exp(base).sum()
    lb = base[1] + df["delta"].to_numpy()
    la = np.full_like(lb, base[0]) + df["delta"].to_numpy() * HEAD[0] / HEAD[1]
    np.testing.assert_allclose(df["delta_prob"], np.exp(lb) / (np.exp(lb) + np.exp(la)) - p_base, atol=1e-6)


def test_ism_for_a_chosen_class():
    bundle = linear_bundle()
    df = ism(bundle, rec("GATTACA"), target="a")
    assert (df["target"] == "a").all()
    ref = np.array(["ACGT".index(c) for c in df["ref"]])
    alt = np.array(["ACGT".index(c) for c in df["alt"]])
    dec = 0.5 ** (7 - df["position"].to_numpy())
    np.testing.assert_allclose(df["delta"], HEAD[0] * dec * (U[alt] - U[ref]), rtol=1e-5, atol=1e-6)


def test_ism_replaces_an_ambiguous_letter_by_every_letter():
    df = ism(linear_bundle(), rec("ANC"))
    assert df[df["position"] == 2]["alt"].tolist() == ["A", "C", "G", "T"]
    assert len(df) == 3 + 4 + 3


def test_ism_refuses_sequences_over_the_limit(monkeypatch):
    bundle = linear_bundle()
    monkeypatch.setattr(ism_module, "ISM_MAX_LENGTH", 10)
    assert len(ism(bundle, rec("A" * 10))) == 30
    with pytest.raises(InputError, match="limited to 10 letters; this one has 11"):
        ism(bundle, rec("A" * 11))


# --- the attribution method: one score per position ------------------------------------------------


@pytest.mark.parametrize("target,cls", [(None, 1), ("a", 0)])
def test_ism_score_is_the_mean_drop_over_the_alternatives(target, cls):
    """score(t) = head w^(T-t) (u[ref] - mean of u over the three other letters)."""
    bundle = linear_bundle()
    seqs = ["ACGTTGCA", "TGA"]
    df = explain(bundle, records(*seqs), "ism", target=target)
    assert (df["method"] == "ism").all() and (df["target"] == bundle.classes[cls]).all()
    for i, s in enumerate(seqs):
        ref = U[["ACGT".index(c) for c in s]]
        expected = HEAD[cls] * decay(len(s)) * (ref - (U.sum() - ref) / 3)
        np.testing.assert_allclose(df[df["id"] == f"s{i}"]["score"], expected, rtol=1e-5, atol=1e-6)


def test_ism_score_equals_the_table_averaged_per_position():
    bundle = linear_bundle(w=0.8)
    r = rec("GANTTACA")
    table = ism(bundle, r)
    scores = explain(bundle, [r], "ism")["score"].to_numpy()
    np.testing.assert_allclose(scores, -table.groupby("position")["delta"].mean().to_numpy(), rtol=1e-5, atol=1e-6)


def test_ism_of_a_linear_labeller_at_a_position():
    """At t, replacing letter p ≤ t changes logit b by head_b w^(t-p) (u[alt] - u[ref]); letters after t nothing."""
    seq, t = "ACGTAC", 4
    df = ism(linear_labeller(w=0.5), rec(seq), position=t)
    assert len(df) == 6 * 3 and (df["target"] == "b").all()
    idx = {c: i for i, c in enumerate("ACGT")}
    want = [HEAD[1] * 0.5 ** (t - p) * (U[idx[a]] - U[idx[r]]) if p <= t else 0.0
            for p, r, a in zip(df["position"], df["ref"], df["alt"])]
    np.testing.assert_allclose(df["delta"], want, rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="choose the position to explain"):
        ism(linear_labeller(), rec(seq))
    with pytest.raises(InputError, match="a position to explain is for labellers"):
        ism(linear_bundle(), rec(seq), position=2)
