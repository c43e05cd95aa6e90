"""Memory span of a labeller: influence of input p on the output at t by distance, past and future."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _linear import HEAD, U, linear_labeller, rec

from bioseq.data.alphabets import DNA
from bioseq.errors import InputError
from bioseq.interpret.memory import COLUMNS, effective_memory, reach
from bioseq.interpret.position_memory import position_memory
from bioseq.model.classifier import build_model
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle


def test_a_decaying_linear_labeller_remembers_w_to_the_distance():
    """Influence of p on t is |head_b| w^(t-p) ‖u‖ for p ≤ t and nothing after t."""
    curve = position_memory(linear_labeller(w=0.5), [rec("ACGTACGTACGT", "x"), rec("TTGACATTGA", "y", 2)],
                            min_share=0)
    assert list(curve.columns) == COLUMNS
    past, future = curve[curve["direction"] == "past"], curve[curve["direction"] == "future"]
    assert past["distance"].tolist() == list(range(12)) and future["distance"].tolist() == list(range(1, 12))
    assert past["sequences"].tolist() == [2] * 10 + [1] * 2
    np.testing.assert_allclose(past["relative"], 0.5 ** np.arange(12), rtol=1e-5)
    np.testing.assert_allclose(past["influence"], HEAD[1] * np.linalg.norm(U) * 0.5 ** np.arange(12), rtol=1e-5)
    assert (future["relative"] == 0).all() and (future["influence"] == 0).all()
    assert effective_memory(curve) == 7  # 1/128 < 1% first at distance 7
    assert reach(curve)["relative"].iloc[0] == pytest.approx(1.0)
    kept = position_memory(linear_labeller(w=0.5), [rec("ACGTACGTACGT", "x"), rec("TTGACATTGA", "y", 2)],
                           min_share=1.0)
    assert kept["distance"].max() == 9  # the two records both reach distances up to 9


def test_a_labeller_without_recurrence_feels_only_its_own_letter():
    curve = position_memory(linear_labeller(w=0.0), [rec("ACGTAC")], min_share=0)
    assert curve[curve["direction"] == "past"]["relative"].tolist() == [1.0] + [0.0] * 5
    assert effective_memory(curve) == 1


def test_a_bidirectional_labeller_reaches_the_future_and_classifiers_are_refused():
    torch.manual_seed(1)
    cfg = ModelConfig(DNA.size, 2, hidden=3, conv=False, bidirectional=True, dropout=0.0, task="label", conv_pool=1)
    bundle = ModelBundle(build_model(cfg).eval(), DNA, ["a", "b"])
    curve = position_memory(bundle, [rec("ACGTTGCA")], min_share=0)
    assert (curve[curve["direction"] == "future"]["relative"] > 0).all()
    torch.manual_seed(0)
    clf = ModelBundle(build_model(ModelConfig(DNA.size, 2, hidden=2, conv=False)).eval(), DNA, ["a", "b"])
    with pytest.raises(InputError, match="needs a labeller"):
        position_memory(clf, [rec("ACGT")])
