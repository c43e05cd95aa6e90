"""The Train page's form, from the options table: fields, defaults by alphabet, values to configs."""

from __future__ import annotations

import pytest

from bioseq.app import train_form
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.training.config import TrainConfig


def test_fields_by_column():
    assert [o.name for o in train_form.fields("data")] == ["val_fraction", "split_identity", "max_length",
                                                           "length_policy", "cache"]
    assert train_form.fields("model")[0].name == "cell" and "alphabet_size" not in train_form.defaults()
    assert {o.group for o in train_form.fields()} == set(train_form.COLUMNS)
    assert train_form.key("cell") == train_form.key(train_form.fields("model")[0]) == "train_opt_cell"


def test_defaults_follow_the_alphabet():
    dna, protein = train_form.defaults("dna"), train_form.defaults("protein")
    assert dna["pooling"] == "max" and protein["pooling"] == "last"
    assert protein["conv_pool"] == 1 and dna["conv_pool"] == 2
    assert dna["epochs"] == TrainConfig().epochs and dna["clip"] == 1.0 and dna["max_length"] == 0
    assert set(dna) == {o.name for o in train_form.fields()}
    assert train_form.defaults(None) == dna


def test_to_configs():
    values = {**train_form.defaults("dna"), "max_length": 0, "clip": 0.0, "val_fraction": 0.3, "hidden": 5}
    data, model, tc = train_form.to_configs(values, DataOptions(["a.fa"]))
    assert data.max_length is None and data.val_fraction == 0.3 and data.train == ["a.fa"]
    assert model["hidden"] == 5 and "epochs" not in model
    assert tc.clip is None and tc.epochs == values["epochs"]
    values["max_length"] = 50
    assert train_form.to_configs(values, DataOptions(["a.fa"]))[0].max_length == 50


def test_to_configs_keeps_the_data_page_choices():
    source = DataOptions(["a.fa"], labels="l.csv", val=["v.fa"], alphabet="rna")
    data, _, _ = train_form.to_configs(train_form.defaults("rna"), source)
    assert (data.labels, data.val, data.alphabet, data.val_fraction) == ("l.csv", ["v.fa"], "rna", 0.2)


def test_to_configs_rejects_bad_choices():
    with pytest.raises(InputError, match="unknown cell"):
        train_form.to_configs({**train_form.defaults(), "cell": "transformer"}, DataOptions(["a.fa"]))
    with pytest.raises(InputError, match="--val-fraction must be at least 0.01 and at most 0.5, not 1") as e:
        train_form.to_configs({**train_form.defaults(), "val_fraction": 1.0}, DataOptions(["a.fa"]))
    assert e.value.dashboard() == "“Validation fraction” must be at least 0.01 and at most 0.5, not 1"


def test_the_form_shows_what_applies_common_first():
    common, rest = train_form.layout("protein", "classify", "gru")[True], train_form.layout("protein", "classify",
                                                                                              "gru")[False]
    assert [o.name for o in common["model"]] == ["layers", "hidden", "bidirectional", "dropout", "conv", "pooling"]
    assert [o.name for o in common["training"]] == ["epochs", "batch_size", "lr", "patience", "seed"]
    assert "forget_bias" not in {o.name for g in rest.values() for o in g} and "skip" in {o.name for o in rest["model"]}
    shown = {o.name for g in (common, rest) for c in g.values() for o in c} | {"cell"}
    assert shown == {o.name for o in train_form.shown("protein", "classify", "gru")}
    assert {o.name for o in train_form.fields()} - shown == {"activation", "forget_bias", "strand"}


def test_read_gives_the_default_for_an_option_not_on_the_form():
    """A widget that is not drawn (the forget-gate bias of a GRU) never sends its last value."""
    state = {train_form.key(k): v for k, v in {**train_form.defaults("dna"), "cell": "gru", "forget_bias": 2.5,
                                               "strand": "both", "hidden": 12}.items()}
    values = train_form.read(state, "dna", "classify")
    assert (values["forget_bias"], values["strand"], values["hidden"]) == (1.0, "both", 12)
    labeller = train_form.read({**state, train_form.key("conv_pool"): 4}, "dna", "label")
    assert (labeller["conv_pool"], labeller["strand"]) == (1, "forward")
    assert set(values) == {o.name for o in train_form.fields()}


def test_saved_values_ignore_unknown_and_invalid_options_with_a_note():
    values, notes = train_form.saved_values({"cell": "gru", "hidden": 12, "n_classes": 2, "task": "label",
                                             "old_knob": 1}, {"epochs": 7, "patience": -2},
                                            {"train": ["a.fa"], "max_length": None}, alphabet="protein")
    assert (values["cell"], values["hidden"], values["epochs"], values["max_length"]) == ("gru", 12, 7, 0)
    assert values["patience"] == TrainConfig().patience and values["pooling"] == "last"  # protein's default
    assert notes == ["ignored, not options of this version: old_knob",
                     "ignored, not valid now: “Patience” must be at least 1 and at most 1000, not -2"]
