"""The dashboard's helpers for labellers: the Data report of per-position data, labelled records, per-position
uploads, the per-record table, the model card's task rows and the Predict page's results."""

from __future__ import annotations

import numpy as np
import pytest

from bioseq.app import cards, position_data, records, uploads
from bioseq.app.data_report import report, source_task
from bioseq.app.predictions import predict_uploads
from bioseq.data.position_labels import UNSCORED
from bioseq.data.source import DataSource
from bioseq.errors import InputError

SEQS = b">s1\nACDEFG\n>s2\nKLMNPQ\n"
LABELS = b">s2\nOOOMMM\n>s1\nMMMOOO\n"  # matched by id, not by order
MASK = b">s1\n111100\n>s2\n111111\n"


@pytest.fixture
def paired():
    return uploads.upload_source([("s.fa", SEQS)], "positions", labels_fasta=[("l.fa", LABELS)],
                                 mask=[("m.fa", MASK)])


def test_position_report_counts_by_hand(paired):
    rep = report(paired)
    s = rep.summary
    assert rep.task == "label" and rep.classes == ["M", "O"]
    assert s["per_class"] == {"M": 6, "O": 4} and s["positions"] == 12 and s["masked"] == 2
    # segments of the scored positions: s1 MMM O (the masked end splits nothing further), s2 OOO MMM
    assert sorted(map(tuple, rep.segments.to_numpy().tolist())) == [("M", 3), ("M", 3), ("O", 1), ("O", 3)]
    assert list(rep.records["scored"]) == [4 / 6, 1.0]
    comp = rep.composition.set_index(["label", "letter"])["fraction"]
    assert comp[("M", "A")] == pytest.approx(1 / 6) and comp[("(not scored)", "F")] == 0.5
    assert any("2 of 12 positions (16.7%) are not scored (the mask)" in n for n in rep.notes)


def test_three_line_upload_is_detected_in_header_mode(write):
    three = write("t.fa", ">a\nACDE\nMMOO\n>b\nFGHI\nOOMM\n")
    src = uploads.upload_source([("t.fa", three.read_bytes())], "header")
    assert report(src).task == "label" and source_task(src).per_position
    assert not source_task(DataSource("plain", (str(write("p.fa", ">a label=x\nACGT\n")),))).per_position


def test_paired_upload_round_trips_and_trains_as_positions(paired):
    assert uploads.source_by_key(paired.key) == paired  # labels and mask files kept in the manifest
    assert uploads.display_names(paired)[paired.labels_fasta[0]] == "l.fa"
    opts = paired.data_options()
    assert opts.labels_fasta == list(paired.labels_fasta) and opts.mask == list(paired.mask)
    with pytest.raises(InputError, match="one character"):
        uploads.upload_source([("s.fa", SEQS)], "positions", ignore_label="--")


def test_read_labelled_tracks_and_plain_files(paired, write):
    recs, tracks = position_data.source_labelled(paired, ["M", "O"])
    assert [r.id for r in recs] == ["s1", "s2"] and recs[0].seq == "ACDEFG"
    assert tracks[0].tolist() == [0, 0, 0, 1, UNSCORED, UNSCORED] and tracks[1].tolist() == [1, 1, 1, 0, 0, 0]
    plain, none = position_data.read_labelled([str(write("p.fa", ">x\nACDE\n"))], ["M", "O"])
    assert none is None and plain[0].seq == "ACDE"
    with pytest.raises(InputError, match="not one of the labels"):
        position_data.source_labelled(paired, ["M", "X"])
    assert position_data.spread(list(range(10)), 3) == [0, 3, 6]


def test_position_record_table_by_hand(label_bundle):
    recs, tracks = position_data.read_labelled(*label_bundle.files, labels_fasta=[label_bundle.labels],
                                               mask=[label_bundle.mask])
    probs = [np.tile([0.9, 0.1], (len(r.seq), 1)) for r in recs]  # everything predicted M
    table = records.record_table(label_bundle.bundle, recs, tracks, probs)
    assert list(table["accuracy"]) == [0.75, 0.5] and list(table["prediction"]) == ["M", "M"]
    assert list(table["correct"]) == [False, False] and list(table["segments"]) == [1, 1]
    assert list(table["share_M"]) == [1.0, 1.0] and list(table["scored"]) == [4, 6]
    ordered = records.order_records(table, "misclassified first")
    assert list(ordered["id"]) == ["s2", "s1"]
    assert "accuracy 0.75 · mostly M (mean p 0.90) · 6 letters" in records.describe_row(table.iloc[0])
    unknown = records.record_table(label_bundle.bundle, recs, None, probs)
    assert unknown["correct"].isna().all() and "labels unknown" in records.describe_row(unknown.iloc[0])


def test_labelled_records_of_a_labeller_are_label_tracks(label_bundle, paired, tmp_path):
    from bioseq.model.store import save_model

    path = save_model(tmp_path / "tm.safetensors", label_bundle.bundle)
    recs, tracks = records.labelled_records(path, "dataset", paired)
    assert [r.id for r in recs] == ["s1", "s2"] and tracks[1].tolist() == [1, 1, 1, 0, 0, 0]
    recs, tracks = records.labelled_records(path, "upload", files=[("t.fa", b">a\nACDE\nMMOO\n>b\nFG\nOM\n")],
                                            limit=1)
    assert [r.id for r in recs] == ["a"] and [t.tolist() for t in tracks] == [[0, 0, 1, 1]]
    recs, tracks = records.labelled_records(path, "upload", files=[("p.fa", b">a\nACDE\n")])
    assert recs[0].seq == "ACDE" and tracks is None  # plain FASTA: labels unknown


def test_model_card_task_and_ignore_rule():
    meta = {"name": "tm", "task": "label", "classes": ["M", "O"],
            "labelling": {"labels": ["M", "O"], "ignore_label": "-", "mask": True}}
    card = dict(cards.model_card(meta).itertuples(index=False))
    assert card["task"] == "label (one label per position)" and card["labels"] == "M, O"
    assert card["unscored positions"] == "label '-' is never scored; a 0/1 mask chose the scored positions"
    classifier = dict(cards.model_card({"name": "c", "classes": ["a", "b"]}).itertuples(index=False))
    assert classifier["task"] == "classify (one label per sequence)" and "labels" not in classifier


def test_predict_uploads_with_labels_and_mask(label_bundle):
    bundle = label_bundle.bundle
    found = predict_uploads(bundle, [("s.fa", SEQS)], [("l.fa", LABELS)], [("m.fa", MASK)])
    assert found.evaluation is not None and found.evaluation.metrics["positions"] == 10
    assert list(found.table["true"][:6]) == ["M", "M", "M", "O", "", ""]
    assert len(found.table) == 12 and list(found.per_record["scored"]) == [4, 6]
    lines = found.fasta(bundle.classes).splitlines()
    assert lines[:2] == [">s1", "ACDEFG"] and len(lines[2]) == 6
    tracks = found.record_tracks(1)
    assert list(tracks["position"]) == [1, 2, 3, 4, 5, 6] and list(tracks["true"]) == list("OOOMMM")
    with pytest.raises(InputError, match="l2.fa"):
        predict_uploads(bundle, [("s.fa", SEQS)], [("l2.fa", b">s1\nMMMOOO\n")])  # s2 has no labels: named


@pytest.fixture
def label_bundle(write, make_bundle):
    """A tiny untrained labeller (labels M, O) and the paired files above."""
    from types import SimpleNamespace

    from bioseq.data.alphabets import get_alphabet

    bundle = make_bundle(get_alphabet("protein"), ("M", "O"), task="label", conv=False)
    files = (write("s.fa", SEQS.decode()), write("l.fa", LABELS.decode()), write("m.fa", MASK.decode()))
    return SimpleNamespace(bundle=bundle, files=([str(files[0])], ["M", "O"]), labels=str(files[1]),
                           mask=str(files[2]))


def test_unscored_label_is_left_out_of_counts_and_segments():
    three = b">a\nACDEFG\nMM--OO\n>b\nKLMN\nOOMM\n"
    src = uploads.upload_source([("t.fa", three)], "positions", ignore_label="-")
    rep = report(src)
    assert rep.summary["per_class"] == {"M": 4, "O": 4} and rep.summary["masked"] == 2
    assert sorted(map(tuple, rep.segments.to_numpy().tolist())) == [("M", 2), ("M", 2), ("O", 2), ("O", 2)]
    assert any("(label '-')" in n for n in rep.notes) and src.data_options().ignore_label == "-"
