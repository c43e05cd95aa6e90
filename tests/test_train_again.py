""""Train again with these options" (bioseq.app.train_again): a run's or a model's saved options as the Train
form's values, its data when they are still in the workspace, and a note for what was left out."""

from __future__ import annotations

from bioseq.app import train_again, train_form
from bioseq.app.uploads import upload_source

SEQS = b">a label=x\nACGTACGTAC\n>b label=y\nTTTTGGGGCC\n"


def test_from_run_finds_its_kept_data_and_notes_unknown_options():
    kept = upload_source([("s.fa", SEQS)], "header")
    again = train_again.from_run({"name": "r1", "summary": {"alphabet": "dna"},
                                  "model_config": {"cell": "rnn", "activation": "relu", "n_classes": 2, "gone": 1},
                                  "train_config": {"epochs": 3}, "data": {"train": list(kept.train),
                                                                          "class_map": "x=z"}})
    assert again.source.key == kept.key and again.source.class_map == "x=z"
    assert (again.values["cell"], again.values["activation"], again.values["epochs"]) == ("rnn", "relu", 3)
    assert set(again.values) == {o.name for o in train_form.fields()} and again.task == "classify"
    assert again.message() == ("Filled in with the options of run r1; its data (s.fa) loaded. Nothing starts until "
                               "you press Start training. Note: ignored, not options of this version: gone.")


def test_from_model_without_its_data_keeps_the_current_dataset():
    meta = {"name": "m1", "task": "label", "alphabet": {"name": "protein"}, "config": {"cell": "gru", "hidden": 16},
            "length": {"max_length": 50, "policy": "end"},
            "training": {"train_config": {"lr": 0.01}, "files": [{"path": "/nowhere/t.fa", "role": "train"}]}}
    again = train_again.from_model(meta)
    assert again.source is None and (again.alphabet, again.task) == ("protein", "label")
    assert (again.values["hidden"], again.values["lr"], again.values["max_length"]) == (16, 0.01, 50)
    assert again.values["length_policy"] == "end" and again.values["conv_pool"] == 1  # a labeller's default
    assert "no longer in the workspace" in again.message() and "Note" not in again.message()
