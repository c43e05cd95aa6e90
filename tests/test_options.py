"""The options table: one declaration per option generates the CLI, the form and the table in docs/options.md."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

import bioseq
from bioseq import options
from bioseq.app import train_form
from bioseq.cli import build_parser, main
from bioseq.data.source import DataOptions
from bioseq.errors import InputError
from bioseq.model import cells
from bioseq.model.config import ModelConfig
from bioseq.model.store import load_model
from bioseq.training.config import TrainConfig
from bioseq.training.fit import default_model_config
from bioseq.training.runs import read_run

ROOT = Path(__file__).resolve().parent.parent
OPTIONS_PAGE = ROOT / "docs" / "options.md"
RUN_ARGS = {"help", "log_dir", "resume", "overwrite", "quiet", "out", "name", "rank_timeout"}  # how to run, not what
CONFIGS = {"data": DataOptions, "model": ModelConfig, "training": TrainConfig}


def train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def cli_args() -> dict[str, argparse.Action]:
    return {a.dest: a for a in train_parser()._actions if a.dest not in RUN_ARGS}


def test_every_config_field_is_an_option():
    assert options.undeclared() == []
    table = {(o.group, o.name) for o in options.options()}
    fields = {(g, f.name) for g, cls in CONFIGS.items() for f in dataclasses.fields(cls)}
    assert table == fields
    assert {o.name for o in options.options() if not o.cli} == {"alphabet_size", "n_classes"}  # from the data
    assert all(o.help and (o.label or o.internal) for o in options.options())


def test_a_field_without_opt_is_found():
    @dataclasses.dataclass
    class Loose:
        plain: int = 3

    assert options.undeclared(Loose) == ["Loose.plain"] and options._collect(Loose, "model") == []


def test_every_field_has_a_cli_flag_or_a_form_field_unless_internal():
    cli, form = set(cli_args()), {o.name for o in train_form.fields()}
    for o in options.options():
        assert o.name in cli or o.name in form or o.internal, o.name
        assert (o.name in cli) == o.cli, o.name
        assert (o.name in form) == (not o.internal), o.name


def test_the_form_lists_every_cli_option_except_internal_ones():
    internal = {o.name for o in options.options() if o.internal}
    assert set(cli_args()) - internal == {o.name for o in train_form.fields()}
    assert internal & set(cli_args()) == {"train", "labels", "val", "class_map", "alphabet",  # from the Data page
                                          "task", "labels_fasta", "mask", "ignore_label",
                                          "regions", "genome", "bed_label_column", "width", "flank", "background",
                                          "background_bed", "val_chroms", "test_chroms", "regions_labels"}


def test_defaults_agree_between_dataclass_cli_and_form():
    parsed = vars(train_parser().parse_args(["x.fa"]))
    form = train_form.defaults("dna")
    for o in options.options():
        f = next(f for f in dataclasses.fields(CONFIGS[o.group]) if f.name == o.name)
        default = None if f.default is dataclasses.MISSING else f.default
        assert o.default == default, o.name
        if o.cli and not o.positional:
            assert parsed[o.name] == (None if o.from_data else default), o.name  # None: decided by the data
        if o.name in form:
            assert o.from_form(form[o.name]) == o.default_for("dna"), o.name


def test_alphabet_defaults_agree_with_the_built_model():
    for alphabet in ("dna", "rna", "protein"):
        built = default_model_config(alphabet, 4, 2).to_dict()
        form = train_form.defaults(alphabet)
        assert {k: built[k] for k in options.alphabet_defaults("protein")} == {
            k: form[k] for k in options.alphabet_defaults("protein")}
    assert options.alphabet_defaults("protein") == {"conv_width": 5, "conv_pool": 1, "pooling": "last"}
    assert options.alphabet_defaults("dna") == {}


def test_the_cli_without_options_gives_the_dataclass_defaults():
    a = train_parser().parse_args(["x.fa", "y.fa"])
    data, model, tc = options.split_options(a.train, {o.name: getattr(a, o.name) for o in options.settable()
                                                      if o.cli})
    assert data == DataOptions(["x.fa", "y.fa"]) and tc == TrainConfig()
    assert default_model_config("dna", 4, 2, **model) == default_model_config("dna", 4, 2)


def test_help_lists_every_form_option_with_its_generated_default(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    for o in train_form.fields():
        assert o.flag in text, o.flag
    assert "--weight-decay X AdamW shrinkage of the weights, a mild regulariser (default 0.01)" in text
    assert "(default 9 DNA/RNA, 5 protein)" in text and "(default max DNA/RNA, last protein)" in text
    names = ",".join(cells.names())  # rnn,lstm,gru,dtrnn: from the cell registry
    assert f"--cell {{{names}}}, --arch {{{names}}}" in text


def test_default_texts():
    assert options.option("conv_width").describe() == "letters each motif detector sees (default 9 DNA/RNA, 5 protein)"
    assert options.option("bidirectional").default_text() == "on"
    assert options.option("max_length").default_text() == "none"
    assert options.option("alphabet").default_text() == "detected"
    assert options.option("lr").default_text() == "0.003"


@pytest.mark.parametrize("argv, expected", [
    (["--arch", "gru"], {"cell": "gru"}),
    (["--cell", "rnn"], {"cell": "rnn"}),
    (["--no-class-weights", "--weight-decay", "0"], {"class_weights": False, "weight_decay": 0.0}),
    (["--no-bidirectional", "--skip", "--no-conv"], {"bidirectional": False, "skip": True, "conv": False}),
    (["--no-group-by-length", "--device", "cuda:1"], {"group_by_length": False, "device": "cuda:1"}),
    (["--max-length", "20", "--clip", "0"], {"max_length": 20, "clip": 0.0}),
])
def test_cli_spellings(argv, expected):
    a = vars(train_parser().parse_args(["x.fa", *argv]))
    assert {k: a[k] for k in expected} == expected


@pytest.mark.parametrize("argv, message", [
    (["--lr", "fast"], "argument --lr: not a valid float: 'fast'"),
    (["--cell", "transformer"], "argument --cell/--arch: invalid choice: 'transformer'"),
])
def test_cli_refuses_bad_values(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        train_parser().parse_args(["x.fa", *argv])
    assert e.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--lr", "5"], "--lr must be at least 0 and at most 1, not 5"),
    (["--dropout", "1.5"], "--dropout must be at least 0 and at most 0.9, not 1.5"),
    (["--lr", "nan"], "--lr must be at least 0 and at most 1, not nan"),
    (["--forget-bias", "inf"], "--forget-bias must be a finite number, not inf"),
    (["--hidden", "0"], "--hidden must be at least 1 and at most 1024, not 0"),
    (["--max-length", "0"], "--max-length must be at least 1, not 0"),
    (["--val-fraction", "0.99"], "--val-fraction must be at least 0.01 and at most 0.5, not 0.99"),
    (["--seeds", "21"], "--seeds must be at least 1 and at most 20, not 21"),
])
def test_out_of_range_is_one_line_naming_the_option_and_its_range(argv, message, dna_fasta, bioseq_home, capsys):
    assert main(["train", str(dna_fasta), *argv]) == 2
    assert capsys.readouterr().err == f"bioseq: error: {message}\n"
    assert not bioseq_home.exists()  # refused before anything was read or written


@pytest.mark.parametrize("values, message", [
    ({"lr": 5}, "--lr must be at least 0 and at most 1, not 5"),
    ({"dropout": 1.5}, "--dropout must be at least 0 and at most 0.9, not 1.5"),
    ({"epochs": 2.5}, "--epochs must be a whole number (at least 1 and at most 1000), not 2.5"),
    ({"epochs": "3"}, "--epochs must be a whole number (at least 1 and at most 1000), not '3'"),
    ({"class_weights": 1}, "--class-weights is on or off (True or False), not 1"),
    ({"val_fraction": 1.0}, "--val-fraction must be at least 0.01 and at most 0.5, not 1"),
    ({"val_fraction": 1.0, "val": ["v.fa"]}, "--val-fraction must be at least 0.01 and at most 0.5, not 1"),
    ({"max_steps": 0}, "--max-steps must be at least 1 and at most 10000000, not 0"),
    ({"split_identity": 0.05}, "--split-identity must be at least 0.1 and at most 1, not 0.05"),
    ({"length_policy": "middle"}, "unknown length_policy 'middle'; choose one of start, end, centre"),
])
def test_bioseq_train_refuses_by_the_same_rule(values, message, dna_fasta, bioseq_home):
    with pytest.raises(InputError) as e:
        bioseq.train([dna_fasta], name="api", **values)
    assert str(e.value) == message
    assert not bioseq_home.exists()


def test_every_bound_is_checked_by_one_rule():
    for o in options.options():
        if o.min is not None and o.type in (int, float):
            below = o.min - 1 if o.type is int else o.min - 0.5
            assert o.problem(below) and o.range_text() in o.problem(below), o.name
            assert o.problem(o.type(o.min)) is None, o.name
        if o.max is not None:
            assert o.problem(o.max + 1) and o.problem(o.type(o.max)) is None, o.name
        if o.type is float:
            assert o.problem(float("nan")), o.name
    lr = options.option("lr")
    assert lr.problem(5) == "⟦lr⟧ must be at least 0 and at most 1, not 5"
    assert InputError(lr.problem(5)).dashboard() == "“Learning rate” must be at least 0 and at most 1, not 5"


def test_each_config_validates_itself():
    with pytest.raises(InputError, match="--patience must be at least 1 and at most 1000, not 0"):
        TrainConfig(patience=0).validate()
    with pytest.raises(InputError, match="--split-identity must be at least 0.1 and at most 1, not 0"):
        DataOptions(["a.fa"], split_identity=0.0).validate()
    with pytest.raises(InputError, match="--conv-width must be at least 1 and at most 51, not 52"):
        ModelConfig(4, 2, conv_width=52).validate()
    assert TrainConfig().validate() == TrainConfig() and DataOptions(["a.fa"]).validate() == DataOptions(["a.fa"])


def test_help_loads_no_pytorch():
    """``bioseq --help`` and ``bioseq train --help`` build the parser from the options table, which imports no
    PyTorch (the declarations are a leaf module; each command's arguments are built only when it runs)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (["train", "--help"], ["--help"]):
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "bioseq", *argv], capture_output=True,
                           text=True, env=env, timeout=120)
        imported = [line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if "import time:" in line]
        assert r.returncode == 0 and "usage: bioseq" in r.stdout and "bioseq.cli.commands" in imported
        assert ("--weight-decay" in r.stdout) == (argv[0] == "train")
        assert not [m for m in imported if "torch" in m], argv


def test_choices_come_from_the_registry_when_asked(monkeypatch):
    import bioseq.model.config as config

    monkeypatch.setattr(config, "CELLS", ("rnn", "lstm", "gru", "new"))
    assert options.option("cell").allowed == ("rnn", "lstm", "gru", "new")


def test_form_values_for_none():
    max_length, clip = options.option("max_length"), options.option("clip")
    assert (max_length.to_form(None), max_length.from_form(0), max_length.from_form(50)) == (0, None, 50)
    assert (clip.to_form(None), clip.from_form(0.0), clip.from_form(2.0)) == (0.0, None, 2.0)
    assert max_length.form_label == "Max length (0 = none)" and max_length.form_min == 0
    assert clip.form_label == "Gradient clipping (0 = off)"


def test_split_options_routes_each_option_to_its_config():
    assert options.split_options(Path("b.fa"), {})[0].train == ["b.fa"]
    data, model, tc = options.split_options("a.fa", {"val_fraction": 0.3, "cell": "gru", "hidden": None,
                                                     "epochs": 3, "weight_decay": 0.0})
    assert data == DataOptions(["a.fa"], val_fraction=0.3)
    assert model == {"cell": "gru"}  # None: the default for the data's alphabet
    assert tc == TrainConfig(epochs=3, weight_decay=0.0)


def test_split_options_refuses_unknown_and_invalid_options():
    with pytest.raises(InputError, match=r"unknown option epoch; known options: labels, val, class_map, val_fraction"):
        options.split_options(["a.fa"], {"epoch": 3})
    with pytest.raises(InputError, match="unknown options alphabet_size, train"):
        options.split_options(["a.fa"], {"train": ["b.fa"], "alphabet_size": 4})
    with pytest.raises(InputError, match="unknown cell 'transformer'"):
        options.split_options(["a.fa"], {"cell": "transformer"})
    with pytest.raises(InputError, match="model options: a labeller gives one output per position"):
        options.split_options(["a.fa"], {"task": "label", "conv_pool": 2})
    with pytest.raises(InputError, match="--val-fraction must be at least 0.01 and at most 0.5, not 1"):
        options.split_options(["a.fa"], {"val_fraction": 1.0})
    assert options.split_options(["a.fa"], {"val_fraction": 0.5, "val": ["v.fa"]})[0].val == ["v.fa"]


def test_docs_table_is_generated():
    text = OPTIONS_PAGE.read_text()
    start, end = options.MARKERS
    assert start in text and end in text, "docs/options.md has lost the options table markers"
    assert text.split(start, 1)[1].split(end, 1)[0] == "\n" + options.markdown(), (
        "docs/options.md's options table is out of date: run `python scripts/docs.py`")


def test_markdown_rows():
    table = options.markdown()
    values = ", ".join(f"`{n}`" for n in cells.names())
    assert f"| model | `--cell` `--arch` | Recurrent cell | lstm | {values} |" in table
    assert "| training | `--class-weights` / `--no-class-weights` | Class weights | on | on, off |" in table
    assert "| data | `FILE…` | — |" in table and "alphabet_size" not in table
    assert len(table.strip().splitlines()) == 2 + sum(o.cli for o in options.options())


def test_update_rewrites_only_the_table(tmp_path, capsys):
    start, end = options.MARKERS
    page = tmp_path / "R.md"
    page.write_text(f"before\n{start}\nold\n{end}\nafter\n")
    assert options.main(["--update", str(page)]) == 0
    assert page.read_text() == f"before\n{start}\n{options.markdown()}{end}\nafter\n"
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="markers"):
        options.replace_section("no markers", "x")


def test_bioseq_train_on_tiny_data(dna_fasta, bioseq_home):
    with pytest.raises(InputError, match="unknown option epoch; known options: "):
        bioseq.train([dna_fasta], name="api", epoch=1)
    assert not bioseq_home.exists()  # refused before any file was written
    r = bioseq.train([dna_fasta], name="api", epochs=1, hidden=4, conv_filters=4, conv_width=3, dropout=0.0,
                     batch_size=8, cell="gru", val_fraction=0.25)
    cfg = load_model(r.path).model.cfg
    assert (cfg.cell, cfg.hidden, cfg.conv_width, cfg.pooling) == ("gru", 4, 3, "max")
    assert r.summary["records"] == 30 and len(r.val) == 10
    info = read_run("api")
    assert (info["status"], info["launcher"], info["train_config"]["epochs"]) == ("done", "python", 1)


def test_which_options_apply_to_a_task_an_alphabet_and_a_cell():
    """One rule, over the options table, for the Train form (and any help that lists options for some data):
    the task leaves out what it does not use, an alphabet's own option stays with it, a cell's with it."""
    def names(*args, group="model"):
        return {o.name for o in options.applicable(*args, group=group)}

    lstm_dna = names("classify", "dna", "lstm")
    assert {"strand", "pooling", "conv_pool", "forget_bias"} <= lstm_dna and "activation" not in lstm_dna
    assert names("classify", "protein", "lstm") == lstm_dna - {"strand"}
    assert names("classify", "rna", "rnn") == lstm_dna - {"strand", "forget_bias"} | {"activation"}
    assert names("label", "dna", "gru") == lstm_dna - {"strand", "pooling", "conv_pool", "forget_bias"}
    assert names("classify", "dna", "gru", group="training") == {o.name for o in options.options("training")}
    assert options.applies("strand", "classify", None, None)  # not yet known: every alphabet's and cell's option
    assert not options.applies("pooling", bioseq.task.task_of("label"))  # a Task object is asked, as a name is
    assert all(cells.reads(f, c) == (f in cells.get(c).reads or f not in ("activation", "forget_bias"))
               for f in ("activation", "forget_bias", "hidden") for c in cells.names())
