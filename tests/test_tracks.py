"""A labeller's true and predicted label tracks, one row per position, aligned with the gate table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.io import Record
from bioseq.errors import InputError
from bioseq.interpret.gates import gate_table
from bioseq.interpret.tracks import label_tracks
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

LABELS = ["C", "E", "H"]


def labeller(seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    opts = {"hidden": 3, "conv": True, "conv_pool": 1, "conv_filters": 4, "conv_width": 3, "dropout": 0.0,
            "task": "label", **cfg}
    bundle = ModelBundle(SequenceClassifier(ModelConfig(DNA.size, len(LABELS), **opts)).eval(), DNA, list(LABELS))
    bundle.meta["labelling"] = {"ignore_label": "-"}
    return bundle


def rec(seq: str, ident: str = "s", number: int = 1) -> Record:
    return Record(ident, ident, seq, "test.fa", number)


def test_tracks_hold_the_true_and_predicted_labels():
    bundle = labeller(seed=1)
    seq = "ACGTAG"
    table = label_tracks(bundle, [rec(seq, "a"), rec("GGA", "b", 2)], ["CC-HEE", "EEH"])
    assert list(table.columns) == ["id", "position", "letter", "true", "predicted", "probability", "scored",
                                   "correct", "p_C", "p_E", "p_H"]
    a = table[table["id"] == "a"]
    assert a["position"].tolist() == [1, 2, 3, 4, 5, 6] and "".join(a["letter"]) == seq
    assert a["true"].tolist() == ["C", "C", "", "H", "E", "E"]
    assert a["scored"].tolist() == [True, True, False, True, True, True]
    with torch.no_grad():
        p = torch.softmax(bundle.model(torch.from_numpy(encode(seq, DNA))[None], torch.tensor([6]))[0], 1).numpy()
    assert a["predicted"].tolist() == [LABELS[i] for i in p.argmax(1)]
    np.testing.assert_allclose(a[["p_C", "p_E", "p_H"]].to_numpy(), p, rtol=1e-6)
    np.testing.assert_allclose(a["probability"], p.max(1), rtol=1e-6)
    assert (a["correct"] == (a["scored"] & (a["true"] == a["predicted"]))).all()
    unlabelled = label_tracks(bundle, [rec(seq)])
    assert (unlabelled["true"] == "").all() and not unlabelled["scored"].any() and not unlabelled["correct"].any()
    with pytest.raises(InputError, match="record 1 \\(s\\): position 1: label 'Q'"):
        label_tracks(bundle, [rec(seq)], ["QQQQQQ"])


def test_gates_of_a_labeller_align_with_its_tracks():
    bundle = labeller(cell="lstm", bidirectional=True, layers=2, seed=2)
    records = [rec("ACGTAGCA", "a"), rec("GGATC", "b", 2)]
    gates = gate_table(bundle, records)
    assert set(gates["gate"]) == {"input", "forget", "candidate", "output", "cell", "hidden"}
    for r in records:  # one step per position: no pooling in a labeller
        sub = gates[(gates["id"] == r.id) & (gates["unit"] == 1) & (gates["gate"] == "forget")]
        assert sorted(set(sub["position"])) == list(range(1, len(r.seq) + 1))
        assert (sub["span_start"] <= sub["position"]).all() and (sub["span_end"] >= sub["position"]).all()
    joined = gates.merge(label_tracks(bundle, records), on=["id", "position"], how="left")
    assert len(joined) == len(gates) and joined["predicted"].notna().all()
