"""Explaining a labeller's output at a chosen position: every registered method, exact saliency, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.io import Record
from bioseq.errors import InputError
from bioseq.interpret.at_position import AtPosition, position_bundle
from bioseq.interpret.attribution import COLUMNS, METHODS, explain
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

LABELS = ["C", "E", "H"]
FAST = {"samples": 4, "steps": 4}


def labeller(seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    opts = {"hidden": 4, "conv": False, "bidirectional": False, "dropout": 0.0, "conv_pool": 1,
            "conv_filters": 4, "conv_width": 3, "task": "label", **cfg}
    return ModelBundle(SequenceClassifier(ModelConfig(DNA.size, len(LABELS), **opts)).eval(), DNA, list(LABELS))


def rec(seq: str, ident: str = "s", number: int = 1) -> Record:
    return Record(ident, ident, seq, "test.fa", number)


RECORDS = [rec("ACGTTGCAGT", "a"), rec("GGATCCA", "b", 2)]


def fast(name: str) -> dict:
    return {k: v for k, v in FAST.items() if k in {o.name for o in METHODS[name].options}}


def test_the_wrapper_reads_one_position():
    bundle = labeller(seed=1)
    x = torch.from_numpy(encode("ACGTAC", DNA))[None]
    lengths = torch.tensor([6])
    with torch.no_grad():
        np.testing.assert_array_equal(AtPosition(bundle.model, 2)(x, lengths), bundle.model(x, lengths)[:, 2])
    wrapped = position_bundle(bundle, [rec("ACGTAC")], 3)
    assert wrapped.model.model is bundle.model and wrapped.classes == LABELS


def test_saliency_is_the_gradient_of_the_logit_at_t_times_the_input():
    bundle = labeller(cell="lstm", bidirectional=True, seed=2)
    seq, t = "ACGTTGCAGT", 4
    x = torch.from_numpy(encode(seq, DNA))[None].requires_grad_(True)
    logits = bundle.model(x, torch.tensor([len(seq)]))[0, t - 1]
    label = int(logits.argmax())
    (g,) = torch.autograd.grad(logits[label], x)
    want = ((g[0] - g[0].mean(1, keepdim=True)) * x[0]).sum(1).detach().numpy()  # simplex-corrected
    df = explain(bundle, [rec(seq)], "saliency", position=t)
    assert list(df.columns) == [*COLUMNS, "at"]
    assert (df["at"] == t).all() and (df["target"] == LABELS[label]).all()
    np.testing.assert_allclose(df["score"], want, rtol=1e-5, atol=1e-7)
    chosen = explain(bundle, [rec(seq)], "saliency", target="H", position=t)
    (g,) = torch.autograd.grad(bundle.model(x, torch.tensor([len(seq)]))[0, t - 1, 2], x)
    want = ((g[0] - g[0].mean(1, keepdim=True)) * x[0]).sum(1).detach().numpy()
    np.testing.assert_allclose(chosen["score"], want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_explains_a_position_and_a_forward_model_ignores_later_letters(method):
    bundle = labeller(cell="gru", seed=3)
    t = 5
    df = explain(bundle, RECORDS, method, position=t, **fast(method))
    assert len(df) == 10 + 7 and df["id"].tolist() == ["a"] * 10 + ["b"] * 7
    assert np.isfinite(df["score"]).all()
    later = df[df["position"] > t]
    assert np.abs(later["score"]).max() < 1e-6  # a forward-only model cannot use letters after t
    assert np.abs(df[df["position"] <= t]["score"]).max() > 1e-4


def test_labellers_need_a_position_and_classifiers_refuse_one():
    bundle = labeller()
    with pytest.raises(InputError, match="choose the position to explain"):
        explain(bundle, RECORDS, "saliency")
    with pytest.raises(InputError, match="test.fa: record 2 \\(b\\): position 8 is past the end of the sequence "
                                         "\\(7 letters\\)"):
        explain(bundle, RECORDS, "saliency", position=8)
    with pytest.raises(InputError, match="1-based"):
        explain(bundle, RECORDS, "saliency", position=0)
    torch.manual_seed(0)
    clf = ModelBundle(SequenceClassifier(ModelConfig(DNA.size, 2, hidden=2, conv=False)).eval(), DNA, ["a", "b"])
    with pytest.raises(InputError, match="a position to explain is for labellers"):
        explain(clf, RECORDS, "saliency", position=3)
    assert list(explain(clf, RECORDS, "saliency").columns) == COLUMNS  # classifiers as before
