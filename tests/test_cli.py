"""The command line, end to end on tiny data: in-process through ``main`` and once as a real process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from conftest import TINY, TINY_ARGS

from bioseq.cli import commands as cli
from bioseq.cli import main
from bioseq.data.io import read_records
from bioseq.model.store import load_model

TRAIN = [*TINY_ARGS, "--epochs", "2", "--quiet"]
BIOSEQ = Path(sys.executable).parent / "bioseq"


def one_error_line(err: str, *must_contain: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bioseq: error: ") and "Traceback" not in err
    for text in must_contain:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def model(dna_fasta, capsys) -> str:
    """A tiny model trained through the CLI into the registry as ``tiny``."""
    assert main(["train", str(dna_fasta), "--name", "tiny", *TRAIN]) == 0
    capsys.readouterr()
    return "tiny"


@pytest.fixture
def bad_fasta(write) -> Path:
    return write("bad.fa", ">a label=background\n" + "ACGT" * 10 + "\n>b label=motif\n" + "ACGT" * 5 + "EACGT\n")


def test_train_out(dna_fasta, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", str(dna_fasta), "--out", str(out), "--log-dir", str(tmp_path / "run"), *TRAIN]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out}\n"
    assert "data: 32 training records (background 16, motif 16), dna, length 24-24" in captured.err
    assert "validation (best epoch" in captured.err and "confusion (rows true" in captured.err
    assert f"logs: {tmp_path / 'run'}" in captured.err
    bundle = load_model(out)
    assert bundle.model.cfg.hidden == TINY["hidden"] and bundle.model.cfg.conv_width == TINY["conv_width"]
    assert (tmp_path / "run" / "metrics.csv").is_file()


def test_train_model_options_reach_the_model(dna_fasta, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    args = ["--arch", "gru", "--layers", "2", "--no-bidirectional", "--no-conv", "--pooling", "mean",
            "--norm", "layer", "--skip", "--dropout", "0.2", "--max-length", "20", "--length-policy", "end"]
    assert main(["train", str(dna_fasta), "--out", str(out), *TRAIN, *args]) == 0
    assert "32 training records" in capsys.readouterr().err
    b = load_model(out)
    c = b.model.cfg
    assert (c.cell, c.layers, c.bidirectional, c.conv, c.pooling, c.norm, c.skip, c.dropout) == (
        "gru", 2, False, False, "mean", "layer", True, 0.2)
    assert (b.max_length, b.length_policy) == (20, "end")


def test_train_name_then_models_and_info(model, bioseq_home, capsys):
    assert (bioseq_home / "models" / "tiny.safetensors").is_file()
    assert main(["models"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["name", "alphabet"] and out[1].split()[:2] == ["tiny", "dna"]
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows if not r["bundled"]] == ["tiny"] and rows[0]["classes"] == ["background", "motif"]

    assert main(["info", "tiny"]) == 0
    text = capsys.readouterr().out
    arch = f"conv{TINY['conv_filters']}/{TINY['conv_width']} pool2 -> 1x BiLSTM {TINY['hidden']} -> max"
    assert "name:          tiny" in text and f"architecture:  {arch}" in text
    assert "classes:       background, motif" in text and "  train " in text and "validation:" in text
    trained = next(line for line in text.splitlines() if line.startswith("trained on:"))
    assert trained.startswith("trained on:    background 16, motif 16 (sequences per class); best epoch")  # no dict
    assert main(["info", "tiny", "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["format"] == "bioseq-model" and meta["name"] == "tiny" and meta["config"]["hidden"] == 8


def test_models_when_empty(capsys, bioseq_home):
    assert main(["models"]) == 0
    assert capsys.readouterr().err.strip() == f"no models in {bioseq_home}"
    assert main(["models", "--json"]) == 0
    assert [r for r in json.loads(capsys.readouterr().out) if not r["bundled"]] == []  # only the bundled models


def test_predict_to_a_file_and_to_stdout(model, dna_fasta, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", model, str(dna_fasta), "-o", str(out)]) == 0
    assert capsys.readouterr().err.strip() == f"wrote 40 predictions to {out}"
    rows = csv_rows(out.read_text())
    assert rows[0] == ["id", "prediction", "p_background", "p_motif", "length", "unlike_training", "file"]
    assert [r[0] for r in rows[1:]] == [f"seq{i}" for i in range(1, 41)]
    assert main(["predict", model, str(dna_fasta), "--chunk-size", "7"]) == 0
    assert capsys.readouterr().out == out.read_bytes().decode()


def test_predict_warns_about_records_unlike_the_training_data(model, write, tmp_path, capsys):
    """`bioseq predict` said only "wrote N predictions" while every record was flagged: it says on stderr how
    many and why, in the Predict page's sentence (bioseq.prediction.novelty.summary)."""
    odd = write("odd.fa", "".join(f">poly{i}\n{'A' * 24}\n" for i in range(5))
                + "".join(f">long{i}\n{'ACGT' * 20}\n" for i in range(3)) + ">fine\nACGTTGCAACGTTGCAACGTTGCA\n")
    out = tmp_path / "odd.csv"
    assert main(["predict", model, str(odd), "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"wrote 9 predictions to {out}",
                   "bioseq: warning: 8 of 9 sequences are unlike the training data (3 much longer than any training "
                   "sequence, 5 with an unusual letter composition); their predictions may be confident and still "
                   "wrong. See the unlike_training column."]
    assert main(["predict", model, str(odd), "--chunk-size", "2"]) == 0  # counted over chunks, to stdout too
    assert capsys.readouterr().err.strip().startswith("bioseq: warning: 8 of 9 sequences")


def test_train_help_names_both_tasks(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Train a model: a classifier (one class per sequence" in text
    assert "or a labeller (a label per position" in text


def test_evaluate_text_and_json(model, dna_fasta, write, capsys):
    assert main(["evaluate", model, str(dna_fasta)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["n", "accuracy", "balanced_accuracy", "auroc", "auprc", "mcc",
                                                    "f1", "confusion"]
    assert lines[0].split() == ["n", "40"]
    assert main(["evaluate", model, str(dna_fasta), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["n"] == 40 and m["classes"] == ["background", "motif"] and "loss" not in m
    assert sum(map(sum, m["confusion"])) == 40 and 0 <= m["accuracy"] <= 1
    # labels from a table give the same numbers
    records = list(read_records(dna_fasta))
    plain = write("plain.fa", "".join(f">{r.id}\n{r.seq}\n" for r in records))
    table = write("labels.tsv", "id\tlabel\n" + "".join(f"{r.id}\t{r.description.split('label=')[1]}\n"
                                                      for r in records))
    assert main(["evaluate", model, str(plain), "--labels", str(table), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == m


@pytest.mark.parametrize("command", [[], ["train"], ["predict"], ["evaluate"], ["models"], ["info"]])
def test_help_exits_zero(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("usage: bioseq")


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == "bioseq 0.1.0"


def test_bad_training_file(bad_fasta, tmp_path, bioseq_home, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", str(bad_fasta), "--out", str(out), "--alphabet", "dna", *TRAIN]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, str(bad_fasta), "record 2 (b)", "position 21", "'E'")
    assert main(["train", str(bad_fasta), "--out", str(out), *TRAIN]) == cli.EXIT_INPUT  # detection sees it first
    one_error_line(capsys.readouterr().err, str(bad_fasta), "record 2 looks like protein")
    assert not out.exists() and not bioseq_home.exists()
    assert main(["train", str(tmp_path / "missing.fa"), "--name", "x", *TRAIN]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, str(tmp_path / "missing.fa"), "no such file")
    assert not bioseq_home.exists()


def test_bad_prediction_input_leaves_no_output(model, bad_fasta, protein_fasta, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    assert main(["predict", model, str(bad_fasta), "-o", str(out)]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, str(bad_fasta), "record 2 (b)")
    assert main(["predict", model, str(protein_fasta), "-o", str(out)]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, str(protein_fasta), "looks like PROTEIN")
    assert main(["predict", model, str(bad_fasta)]) == cli.EXIT_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    one_error_line(captured.err, str(bad_fasta))
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".tmp")) == []


def test_bad_model_arguments(tmp_path, dna_fasta, model, protein_fasta, capsys):
    assert main(["predict", "nosuchmodel", str(dna_fasta)]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, "nosuchmodel", "no such model file or registry name")
    assert main(["info", str(dna_fasta)]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, str(dna_fasta), "not a bioseq model file")
    assert main(["evaluate", model, str(protein_fasta)]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err)


def test_output_into_a_missing_folder(model, dna_fasta, tmp_path, capsys):
    out = tmp_path / "no" / "such" / "p.csv"
    assert main(["predict", model, str(dna_fasta), "-o", str(out)]) == cli.EXIT_INPUT  # names the output, exit 2
    one_error_line(capsys.readouterr().err, f"{out}: cannot write the output: No such file or directory")


def test_training_failure_is_one_line(dna_fasta, tmp_path, monkeypatch, capsys):
    class Exploding(torch.nn.CrossEntropyLoss):
        def forward(self, logits, y):
            return super().forward(logits, y) * float("nan")

    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", Exploding)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would print more than one line
        assert main(["train", str(dna_fasta), "--out", str(tmp_path / "m.safetensors"), *TRAIN]) == cli.EXIT_INPUT
    one_error_line(capsys.readouterr().err, "loss became nan", "--lr")
    assert not (tmp_path / "m.safetensors").exists()


def test_unexpected_errors_are_one_line_unless_debugging(monkeypatch, capsys):
    def boom(a):
        raise RuntimeError("something odd")

    monkeypatch.setattr(cli, "cmd_models", boom)
    assert main(["models"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "bioseq: internal error (RuntimeError): something odd. Set BIOSEQ_DEBUG=1 for details."]
    monkeypatch.setenv("BIOSEQ_DEBUG", "1")
    with pytest.raises(RuntimeError, match="something odd"):
        main(["models"])


def run_bioseq(*args, env):
    return subprocess.run([str(BIOSEQ), *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_the_installed_command(dna_fasta, bad_fasta, tmp_path):
    env = {**os.environ, "BIOSEQ_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    r = run_bioseq("train", dna_fasta, "--name", "sub", *TRAIN, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "home" / "models" / "sub.safetensors")

    r = run_bioseq("predict", "sub", dna_fasta, env=env)
    assert r.returncode == 0, r.stderr
    rows = csv_rows(r.stdout)
    assert rows[0][:4] == ["id", "prediction", "p_background", "p_motif"] and len(rows) == 41

    out = tmp_path / "p.csv"
    r = run_bioseq("predict", "sub", bad_fasta, "-o", out, env=env)
    assert r.returncode == cli.EXIT_INPUT and r.stdout == ""
    one_error_line(r.stderr, str(bad_fasta), "record 2 (b)", "position 21")
    assert not out.exists()

    r = run_bioseq("predict", "--help", env=env)
    assert r.returncode == 0 and r.stdout.startswith("usage: bioseq predict")


@pytest.mark.parametrize("size", ["0", "-3"])
def test_predict_refuses_a_chunk_size_below_one(model, dna_fasta, tmp_path, size, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", model, str(dna_fasta), "-o", str(out), "--chunk-size", size]) == 2
    one_error_line(capsys.readouterr().err, f"--chunk-size must be at least 1, not {size}")
    assert not out.exists()


def test_evaluate_refuses_label_options_of_the_other_task(model, dna_fasta, write, capsys):
    labels = write("l.fa", ">seq1\n" + "A" * 24 + "\n")
    assert main(["evaluate", model, str(dna_fasta), "--labels-fasta", str(labels)]) == 2
    one_error_line(capsys.readouterr().err, "--labels-fasta FILE is not for this model: tiny gives one label per "
                   "sequence")
    assert main(["evaluate", model, str(dna_fasta), "--mask", str(labels), "--ignore-label", "-"]) == 2
    one_error_line(capsys.readouterr().err, "--mask FILE and --ignore-label are not for this model")


def test_a_class_too_rare_to_weigh_is_a_warning(tmp_path, capsys):
    from bioseq.data.synthetic import motif_dna, write_fasta

    train = write_fasta(tmp_path / "t.fa", motif_dna(24, length=24, seed=1) + [("lonely", "ACGT" * 6, "rare")])
    val = write_fasta(tmp_path / "v.fa", motif_dna(8, length=24, seed=2))
    assert main(["train", str(train), "--val", str(val), "--out", str(tmp_path / "m.safetensors"), *TRAIN]) == 0
    err = capsys.readouterr().err
    assert "\nwarning: class 'rare' has 1 training sequence against 12 of the largest class: its weight is " \
           "capped at 10x" in err


# ---------- models rename / delete ----------

def test_models_rename_and_delete(model, bioseq_home, capsys, monkeypatch):
    assert main(["models", "rename", "tiny", "renamed"]) == 0
    assert capsys.readouterr().out.strip() == str(bioseq_home / "models" / "renamed.safetensors")
    assert main(["models", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out) if not r["bundled"]] == ["renamed"]
    assert main(["models", "rename", "renamed", "renamed2", "--overwrite"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal: no question, no deletion
    assert main(["models", "delete", "renamed2"]) == 2
    assert capsys.readouterr().err.strip() == ("bioseq: error: renamed2: not deleted; add --yes to delete it "
                                               "without a question")
    assert (bioseq_home / "models" / "renamed2.safetensors").is_file()
    assert main(["models", "delete", "renamed2", "--yes"]) == 0
    assert capsys.readouterr().err.strip() == "deleted model renamed2"
    assert main(["models"]) == 0 and capsys.readouterr().err.strip() == f"no models in {bioseq_home}"


def test_models_rename_refuses_a_taken_or_missing_name(model, capsys):
    from bioseq.model.store import model_path, register_model

    register_model(model_path("tiny"), "other")
    assert main(["models", "rename", "tiny", "other"]) == 2
    one_error_line(capsys.readouterr().err, "other: a model called 'other' is already in the registry")
    assert model_path("tiny").is_file()
    assert main(["models", "rename", "nothing", "x"]) == 2
    assert capsys.readouterr().err.strip() == "bioseq: error: nothing: no such model in the registry"
    assert main(["models", "delete", "nothing", "--yes"]) == 2
    assert capsys.readouterr().err.strip() == "bioseq: error: nothing: no such model in the registry"


def test_train_says_in_one_line_when_other_runs_share_the_cores(dna_fasta, monkeypatch, capsys):
    from bioseq.training import crowding, runs

    monkeypatch.setattr(crowding, "cpu_cores", lambda: 1)
    assert main(["train", str(dna_fasta), "--name", "alone", *TRAIN]) == 0
    assert "note:" not in capsys.readouterr().err
    runs.RunFolder.named("other").start("other", "cli")  # training now, in this process
    assert main(["train", str(dna_fasta), "--name", "second", *TRAIN]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert notes == ["bioseq: note: 1 other run is training in this workspace (other); with this one, 2 runs of 1 "
                     "thread share 1 CPU core, so each trains about 2.0× slower. Wait for it to finish, or stop it, to "
                     "train at full speed"]
