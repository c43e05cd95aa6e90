"""The public API: four verbs in bioseq/__init__.py, on files or records."""

from __future__ import annotations

import pytest
from conftest import TINY, TINY_TRAIN

import bioseq
from bioseq.data.io import Record, read_records
from bioseq.errors import InputError


def test_train_load_predict_explain(dna_fasta, tmp_path):
    r = bioseq.train([dna_fasta], name="api", **TINY, **TINY_TRAIN, val_fraction=0.25)
    assert r.path.name == "api.safetensors" and r.bundle.model.cfg.hidden == TINY["hidden"]
    model = bioseq.load("api")
    assert model.classes == ["background", "motif"]
    table = bioseq.predict(model, dna_fasta)
    assert len(table) == 40 and list(table.columns)[:4] == ["id", "prediction", "p_background", "p_motif"]
    assert bioseq.predict("api", list(read_records(dna_fasta))[:3])["id"].tolist() == ["seq1", "seq2", "seq3"]
    scores = bioseq.explain("api", dna_fasta, method="saliency")
    assert list(scores.columns) == ["id", "position", "letter", "score", "method", "target"]
    assert len(scores) == 40 * 24 and set(scores["method"]) == {"saliency"}


def test_results_and_models_have_a_short_repr_and_a_card(dna_fasta):
    """`r` in a notebook printed 90 KB (the validation set, every gradient record), a loaded model 4 KB of
    metadata: one line each, and a model card as HTML."""
    r = bioseq.train([dna_fasta], name="api", **TINY, **TINY_TRAIN, val_fraction=0.25)
    arch = f"conv{TINY['conv_filters']}/{TINY['conv_width']} pool2 -> 1x BiLSTM {TINY['hidden']} -> max"
    figure = r.result.val_metrics["balanced_accuracy"]
    assert repr(r) == (f"<bioseq training result 'api': classifier, {arch}; classes background, motif; "
                       f"validation balanced_accuracy {figure:.3f}>")
    model = bioseq.load("api")
    assert repr(model) == repr(r).replace("training result", "model")
    card = model._repr_html_()
    assert len(card) < 2000 and card.startswith("<table")
    for text in ("<th style='text-align:left'>task</th><td style='text-align:left'>classifier (one class per "
                 "sequence)", "background 15, motif 15 (sequences per class)", f"balanced_accuracy {figure:.3f}"):
        assert text in card, text
    assert "saved" in r._repr_html_() and len(r._repr_html_()) < 2500


def test_a_labellers_repr_says_labels(make_bundle):
    from bioseq.data.alphabets import PROTEIN

    bundle = make_bundle(PROTEIN, ("M", "O"), task="label", conv_pool=1)
    assert repr(bundle).startswith("<bioseq model '': labeller, ") and "; labels M, O>" in repr(bundle)
    assert "labeller (one label per position)" in bundle._repr_html_()


def test_unknown_options_are_named(dna_fasta):
    with pytest.raises(InputError, match="unknown option epoch; known options: labels"):
        bioseq.train([dna_fasta], epoch=1)


def test_explain_a_labeller_at_a_position(make_bundle):
    bundle = make_bundle(task="label", conv_pool=1, bidirectional=False, conv=False)
    table = bioseq.explain(bundle, [Record("r", "r", "ACGTACGT", "x.fa", 1)], position=3)
    assert list(table.columns) == ["id", "position", "letter", "score", "method", "target", "at"]
    assert (table["at"] == 3).all() and (table.loc[table["position"] > 3, "score"] == 0).all()
