"""The window a labeller uses (narrowest span holding a share of the attribution) against its receptive field."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.io import Record
from bioseq.errors import InputError
from bioseq.interpret.window import (
    COLUMNS,
    SUMMARY_COLUMNS,
    narrowest_window,
    receptive_field,
    receptive_field_words,
    used_window,
    window_summary,
)
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle


def labeller(seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    opts = {"hidden": 4, "conv": False, "bidirectional": False, "dropout": 0.0, "conv_pool": 1,
            "conv_filters": 4, "conv_width": 3, "task": "label", **cfg}
    return ModelBundle(SequenceClassifier(ModelConfig(DNA.size, 2, **opts)).eval(), DNA, ["a", "b"])


def rec(seq: str, ident: str = "s", number: int = 1) -> Record:
    return Record(ident, ident, seq, "test.fa", number)


RECORDS = [rec("ACGTTGCAGTCA", "x"), rec("GGATCCATG", "y", 2)]


def test_narrowest_window_on_hand_made_scores():
    assert narrowest_window(np.array([0, 0, 1, 0, 0.0]), 2, 0.99) == (0, 0)
    assert narrowest_window(np.ones(4), 0, 0.5) == (0, 1)
    assert narrowest_window(np.ones(4), 0, 0.9) == (0, 3)
    assert narrowest_window(np.ones(4), 0, 1.0) == (0, 3)  # the whole mass, despite rounding
    # [0..2] and [2..4] both hold 1.5 of 2 and are as wide and as centred: the one reaching less far back wins
    assert narrowest_window(np.array([0.5, 0, 1, 0, 0.5]), 2, 0.6) == (0, 2)
    assert narrowest_window(np.array([-3.0, 1.0]), 1, 0.7) == (1, 0)  # mass is |score|
    assert narrowest_window(np.array([0.2, 0.2, 0.2, 0.2, 0.2]), 2, 0.6) == (1, 1)  # centred
    assert narrowest_window(np.zeros(3), 1, 0.9) is None


def test_receptive_field_of_each_architecture():
    assert receptive_field(labeller(), 4, 10) == (3, 0)
    assert receptive_field(labeller(conv=True, conv_width=5), 4, 10) == (3, 2)
    assert receptive_field(labeller(conv=True, conv_width=4), 9, 10) == (8, 1)  # right half 2, cut at the end
    assert receptive_field(labeller(bidirectional=True), 4, 10) == (3, 6)
    assert receptive_field_words(labeller()) == "the whole past, nothing ahead (forward only)"
    assert receptive_field_words(labeller(conv=True, conv_width=5)) == \
        "the whole past and 2 letters ahead (the convolution) (forward only)"
    assert receptive_field_words(labeller(bidirectional=True)).startswith("the whole sequence")


def test_a_model_without_recurrence_uses_only_the_letter_itself():
    bundle = labeller(cell="rnn")
    with torch.no_grad():
        bundle.model.rnns[0].weight_hh_l0.zero_()  # h(t) depends on x(t) alone
    table = used_window(bundle, RECORDS, positions=[1, 5, 9])
    assert table.equals(used_window(bundle, RECORDS, positions=[1, 5, 9], target="b", method="ig", steps=4))
    assert list(table.columns) == COLUMNS
    assert len(table) == 2 * 3 * 2  # records x positions x masses
    assert (table["back"] == 0).all() and (table["ahead"] == 0).all() and (table["width"] == 1).all()
    assert (table["past_share"] == 0).all() and (table["future_share"] == 0).all()
    assert table["rf_back"].tolist() == [0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8]
    summary = window_summary(table)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["mass"].tolist() == [0.9, 0.99]
    assert summary["width_mean"].tolist() == [1.0, 1.0] and summary["positions"].tolist() == [6, 6]
    assert summary["rf_back_mean"].tolist() == [4.0, 4.0] and summary["records"].tolist() == [2, 2]


@pytest.mark.parametrize("cfg", [{"cell": "lstm"}, {"cell": "gru", "conv": True, "conv_width": 5},
                                 {"cell": "lstm", "bidirectional": True}])
def test_the_used_window_stays_inside_the_receptive_field(cfg):
    bundle = labeller(seed=2, **cfg)
    table = used_window(bundle, RECORDS, max_positions=4)
    assert sorted(set(table["t"])) == [1, 5, 8, 12]
    assert set(table[table["t"] == 12]["id"]) == {"x"}  # y has 9 letters
    assert (table["back"] <= table["rf_back"]).all() and (table["ahead"] <= table["rf_ahead"]).all()
    assert (table["width"] == table["back"] + table["ahead"] + 1).all()
    wide, narrow = table[table["mass"] == 0.99], table[table["mass"] == 0.9]
    assert (wide["width"].to_numpy() >= narrow["width"].to_numpy()).all()
    if not cfg.get("bidirectional") and not cfg.get("conv"):
        assert (table["ahead"] == 0).all() and (table["future_share"] == 0).all()


def test_no_mass_gives_no_window_and_classifiers_are_refused():
    bundle = labeller(cell="rnn")
    with torch.no_grad():
        bundle.model.rnns[0].weight_ih_l0.zero_()
        bundle.model.rnns[0].weight_hh_l0.zero_()
    table = used_window(bundle, RECORDS[:1], positions=[3], masses=[0.9])
    assert math.isnan(table["back"].iloc[0]) and math.isnan(table["past_share"].iloc[0])
    assert window_summary(table)["positions"].tolist() == []
    torch.manual_seed(0)
    clf = ModelBundle(SequenceClassifier(ModelConfig(DNA.size, 2, hidden=2, conv=False)).eval(), DNA, ["a", "b"])
    with pytest.raises(InputError, match="needs a labeller"):
        used_window(clf, RECORDS)
