"""Memory span: influence of a position by distance from the read-out, and the effective memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from _linear import HEAD, U, linear_bundle, linear_labeller, rec

from bioseq.data.alphabets import DNA
from bioseq.interpret.memory import COLUMNS, effective_memory, memory_curve, reach, span_words, spans
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle


def test_memory_of_a_last_position_model():
    bundle = linear_bundle(w=0.0)  # no recurrence: only the last letter reaches the read-out
    curve = memory_curve(bundle, [rec("ACGTACGTAC", "x"), rec("GGTACA", "y", 2)])
    assert list(curve.columns) == ["direction", "distance", "influence", "relative", "sequences"]
    assert set(curve["direction"]) == {"forward"}  # one direction: one curve
    assert curve["distance"].tolist() == list(range(10))
    assert curve["sequences"].tolist() == [2] * 6 + [1] * 4
    assert curve["influence"].iloc[0] == pytest.approx(HEAD[1] * np.linalg.norm(U), rel=1e-6)
    assert (curve["influence"].iloc[1:] == 0).all()
    assert curve["relative"].tolist() == [1.0] + [0.0] * 9
    assert effective_memory(curve) == 1


def test_memory_of_a_decaying_model():
    """Influence w^d: with w = 1/2 it first falls below 1% at d = 7 (1/128)."""
    bundle = linear_bundle(w=0.5)
    curve = memory_curve(bundle, [rec("ACGTACGTACGT", "x"), rec("TTGACATTGA", "y", 2)])
    np.testing.assert_allclose(curve["relative"], 0.5 ** np.arange(12), rtol=1e-5)
    np.testing.assert_allclose(curve["influence"], HEAD[1] * np.linalg.norm(U) * 0.5 ** np.arange(12), rtol=1e-5)
    assert effective_memory(curve) == 7
    assert effective_memory(curve, fraction=0.1) == 4  # 1/16 < 0.1 <= 1/8


def _curve(relative) -> pd.DataFrame:
    rel = np.asarray(relative, dtype=float)
    return pd.DataFrame({"distance": np.arange(len(rel)) * 2, "influence": rel * 3.0, "relative": rel,
                         "sequences": 1})


def test_effective_memory_on_synthetic_curves():
    # the first distance beyond which the line stays under 1%: a dip under 1% that rises again is not the end
    assert effective_memory(_curve([0.5, 1.0, 0.3, 0.02, 0.005, 0.2])) is None  # still 20% at the farthest
    assert effective_memory(_curve([1.0, 0.005, 0.3, 0.0])) == 6  # was 2: the dip at distance 2
    # a line that never reaches 1% keeps nothing at any distance
    assert effective_memory(_curve([0.004, 0.009, 0.001])) == 0
    # values below 1% before the peak do not count
    assert effective_memory(_curve([0.001, 0.2, 1.0, 0.5, 0.0099])) == 8
    # exactly 1% is not below 1%
    assert effective_memory(_curve([1.0, 0.01, 0.0])) == 4
    # never below: the model reaches all the way back
    assert effective_memory(_curve([1.0, 0.5, 0.02])) is None
    assert effective_memory(_curve([])) is None
    assert effective_memory(pd.DataFrame(columns=["distance", "influence", "relative", "sequences"])) is None


def test_each_direction_has_its_own_read_out(make_bundle):
    """A bidirectional model read at the last letter (forward) and the first (reverse): one curve each."""
    bundle = make_bundle(cell="lstm", bidirectional=True, conv=False, pooling="last", seed=3)
    seqs = ["ACGTACGTACGTAAC", "TTGACCAGTTAGCAT", "GGGCATTACGATCAG"]
    curve = memory_curve(bundle, [rec(s, f"s{i}", i + 1) for i, s in enumerate(seqs)])
    assert set(curve["direction"]) == {"forward", "reverse"}
    for _, g in curve.groupby("direction"):
        assert g["distance"].tolist() == list(range(15)) and (g["sequences"] == 3).all()
    assert 0 < curve["relative"].max() <= 1.0
    both = reach(curve)
    assert both["relative"].tolist() == curve.groupby("distance")["relative"].max().tolist()


def test_distances_few_sequences_reach_are_not_drawn():
    bundle = linear_bundle(w=0.5)
    curve = memory_curve(bundle, [rec("ACGTACGTACGT", "x"), rec("TTGA", "y", 2), rec("TTGAC", "z", 3)])
    assert curve["distance"].max() == 4  # 5 letters are reached by 2 of 3 records, 6 and more by 1
    assert (curve["sequences"] >= 2).all()


def test_a_direction_that_never_matters_reaches_zero():
    rows = [{"direction": d, "distance": k, "influence": 1.0, "relative": rel, "sequences": 1}
            for d, rels in (("forward", [1.0, 0.5, 0.001]), ("reverse", [0.005, 0.004, 0.001]))
            for k, rel in enumerate(rels)]
    assert effective_memory(pd.DataFrame(rows)) == 2


# --- a task with an output per position (a labeller): the memory span of every position, past and future ---

def test_a_decaying_linear_labeller_remembers_w_to_the_distance():
    """Influence of p on t is |head_b| w^(t-p) ‖u‖ for p ≤ t and nothing after t."""
    curve = memory_curve(linear_labeller(w=0.5), [rec("ACGTACGTACGT", "x"), rec("TTGACATTGA", "y", 2)],
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
    kept = memory_curve(linear_labeller(w=0.5), [rec("ACGTACGTACGT", "x"), rec("TTGACATTGA", "y", 2)],
                         min_share=1.0)
    assert kept["distance"].max() == 9  # the two records both reach distances up to 9


def test_a_labeller_without_recurrence_feels_only_its_own_letter():
    curve = memory_curve(linear_labeller(w=0.0), [rec("ACGTAC")], min_share=0)
    assert curve[curve["direction"] == "past"]["relative"].tolist() == [1.0] + [0.0] * 5
    assert effective_memory(curve) == 1


def test_a_bidirectional_labeller_reaches_the_future():
    torch.manual_seed(1)
    cfg = ModelConfig(DNA.size, 2, hidden=3, conv=False, bidirectional=True, dropout=0.0, task="label", conv_pool=1)
    bundle = ModelBundle(SequenceClassifier(cfg).eval(), DNA, ["a", "b"])
    curve = memory_curve(bundle, [rec("ACGTTGCA")], min_share=0)
    assert (curve[curve["direction"] == "future"]["relative"] > 0).all()


def test_span_words_say_which_end():
    rows = [{"direction": d, "distance": k, "influence": 1.0, "relative": rel, "sequences": 1}
            for d, rels in (("forward", [1.0, 0.5, 0.02, 0.001]), ("reverse", [0.3, 0.001, 0.0, 0.0]))
            for k, rel in enumerate(rels)]
    curve = pd.DataFrame(rows)
    assert spans(curve) == {"forward": 3, "reverse": 1} and effective_memory(curve) == 3
    assert span_words(curve, "protein") == ("the last ~3 positions (the C-terminal end) and the first ~1 positions "
                                            "(the N-terminal end)")
    assert span_words(curve, "rna") == "the last ~3 positions (the 3′ end) and the first ~1 positions (the 5′ end)"
    reverse = curve[curve["direction"] == "reverse"]
    assert span_words(reverse, "protein") == "the first ~1 positions (the N-terminal end)"
    labeller = curve.replace({"direction": {"forward": "past", "reverse": "future"}})
    assert span_words(labeller, "protein") == "the ~3 positions up to each position labelled and ~1 after it"
