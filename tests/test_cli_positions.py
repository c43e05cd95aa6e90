"""The command line for labellers, end to end on tiny per-position data: train (three-line FASTA; paired files
with a mask and an unscored label), evaluate, predict (CSV and FASTA), and bad inputs.

The tiny task is hand-checkable: in DNA, A and G are labelled ``H``, C is ``E`` and T is ``C`` (so the labels
are secondary-structure letters and the accuracy is called Q3)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from conftest import TINY_ARGS, cli_args

from bioseq.cli import main
from bioseq.model.store import load_model, read_meta

# long enough to learn the rule, which reads one letter at a time (conv width 1)
TRAIN = [*TINY_ARGS, *cli_args({"conv_width": 1, "epochs": 12, "lr": 0.03}), "--quiet"]
RULE = str.maketrans("AGCT", "HHEC")


def records(n: int = 40, seed: int = 0) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), int(rng.integers(8, 20))))
        out.append((f"r{i}", seq, seq.translate(RULE)))
    return out


def three_line(recs) -> str:
    return "".join(f">{i}\n{s}\n{lab}\n" for i, s, lab in recs)


def one_error_line(err: str, *must_contain: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bioseq: error: ") and "Traceback" not in err
    for text in must_contain:
        assert text in lines[0], (text, lines[0])
    return lines[0]


@pytest.fixture
def trained(write, tmp_path, capsys):
    """A labeller trained through the CLI on a three-line FASTA, with no option about the task."""
    data = write("train.3line.fa", three_line(records()))
    out = tmp_path / "lab.safetensors"
    assert main(["train", str(data), "--out", str(out), *TRAIN]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out}\n"
    return out, captured.err


def test_train_on_a_three_line_fasta_detects_labelling(trained):
    out, err = trained
    assert "data: 32 training records labelled positions" in err and "(100.0% of positions scored)" in err
    assert "per position over scored positions" in err and "sov" in err and "worst label C: F1 1.000" in err
    assert "diagnosis: " in err and "--pooling" not in err and "--conv-pool" not in err  # read as a labeller
    meta = read_meta(out)
    assert meta["task"] == "label" and meta["format_version"] == 2 and meta["config"]["task"] == "label"
    assert meta["labelling"] == {"labels": ["C", "E", "H"], "ignore_label": None, "mask": False}
    assert meta["config"]["conv_pool"] == 1  # the labelling default: one output per position
    bundle = load_model(out)
    assert bundle.task == "label" and bundle.classes == ["C", "E", "H"]
    assert meta["training"]["val_metrics"]["accuracy"] == 1.0  # a one-letter rule, learnt exactly


def test_evaluate_prints_q3_per_label_segments_and_per_sequence(trained, write, capsys):
    test = write("test.3line.fa", three_line(records(6, seed=1)))
    assert main(["evaluate", str(trained[0]), str(test)]) == 0
    text = capsys.readouterr().out
    positions = sum(len(s) for _, s, _ in records(6, seed=1))
    assert f"scored positions       {positions}" in text and "Q3 (per position)" in text
    assert "Q3 (per position)      1.0000" in text and "mcc                    1.0000" in text
    assert "seg-F1" in text and "per-sequence Q3: min 1.0000" in text
    assert "worst label F1         1.0000 (C)" in text  # every label learnt: a tie, the first label named
    assert main(["evaluate", str(trained[0]), str(test), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["accuracy_name"] == "Q3" and m["n"] == 6 and [r["label"] for r in m["per_label"]] == ["C", "E", "H"]
    assert m["worst_label"] == {"label": "C", "f1": 1.0}
    assert sum(map(sum, m["confusion"])) == positions


def test_predict_writes_the_long_csv_in_input_order_identically_across_reloads(trained, write, tmp_path, capsys):
    seqs = write("new.fa", ">z\nAGCT\n>a\nTTC\n")
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert main(["predict", str(trained[0]), str(seqs), "-o", str(a)]) == 0
    assert main(["predict", str(trained[0]), str(seqs), "-o", str(b)]) == 0  # a fresh load of the model
    assert a.read_bytes() == b.read_bytes()
    assert main(["predict", str(trained[0]), str(seqs), "-o", str(c), "--chunk-size", "1"]) == 0
    rows = list(csv.reader(io.StringIO(a.read_text())))
    one_by_one = list(csv.reader(io.StringIO(c.read_text())))  # other batches: the same to float rounding
    assert [r[:4] for r in one_by_one] == [r[:4] for r in rows]
    np.testing.assert_allclose(np.array([r[4:] for r in one_by_one[1:]], float),
                               np.array([r[4:] for r in rows[1:]], float), atol=1e-5)
    assert rows[0] == ["id", "position", "letter", "prediction", "p_C", "p_E", "p_H"]
    assert [r[:4] for r in rows[1:]] == [["z", "1", "A", "H"], ["z", "2", "G", "H"], ["z", "3", "C", "E"],
                                         ["z", "4", "T", "C"], ["a", "1", "T", "C"], ["a", "2", "T", "C"],
                                         ["a", "3", "C", "E"]]
    assert all(abs(sum(map(float, r[4:])) - 1) < 1e-5 for r in rows[1:])
    assert "wrote 2 records of per-position predictions" in capsys.readouterr().err.splitlines()[0]


def test_predict_fasta_writes_three_line_fasta_and_reads_three_line_input(trained, write, tmp_path):
    three = write("in.3line.fa", ">q\nGATC\nCCCC\n>w\nCC\nHH\n")  # its label lines are ignored
    out = tmp_path / "p.fa"
    assert main(["predict", str(trained[0]), str(three), "--format", "fasta", "-o", str(out)]) == 0
    assert out.read_text() == ">q\nGATC\nHHCE\n>w\nCC\nEE\n"  # G, A -> H; T -> C; C -> E


def test_paired_files_with_mask_and_unscored_label(write, tmp_path, capsys):
    recs = records()
    seqs = write("s.fa", "".join(f">{i}\n{s}\n" for i, s, _ in recs))
    # the label FASTA in another order (matched by id); '-' at position 1 of every record is never scored
    labels = write("l.fa", "".join(f">{i}\n-{lab[1:]}\n" for i, _, lab in reversed(recs)))
    mask = write("m.fa", "".join(f">{i}\n{'0' if len(s) > 10 else '1'}{'1' * (len(s) - 1)}\n" for i, s, _ in recs))
    out = tmp_path / "p.safetensors"
    assert main(["train", str(seqs), "--labels-fasta", str(labels), "--mask", str(mask), "--ignore-label", "-",
                 "--out", str(out), *TRAIN]) == 0
    assert "% of positions scored)" in capsys.readouterr().err
    meta = read_meta(out)
    assert meta["labelling"] == {"labels": ["C", "E", "H"], "ignore_label": "-", "mask": True}
    assert {f["role"] for f in meta["training"]["files"]} == {"train", "labels", "mask"}
    assert main(["evaluate", str(out), str(seqs), "--labels-fasta", str(labels), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["positions"] == sum(len(s) - 1 for _, s, _ in recs)  # the model's '-' rule: first positions unscored


@pytest.mark.parametrize(("layout", "message"), [
    ("length", "bad.fa: record 2 (b): the label string has 3 characters but the sequence has 4 letters"),
    ("missing", "record 2 (b): id 'b' has no label string in"),
    ("empty", "l.fa: record 2 (b): empty record"),
])
def test_bad_training_inputs_exit_2_with_one_line_and_no_model(layout, message, write, tmp_path, capsys):
    good = three_line(records(12))
    if layout == "length":
        args = [str(write("bad.fa", ">a\nACGT\nHHEC\n>b\nACGT\nHHE\n" + good))]
    else:
        seqs = write("s.fa", ">a\nAC\n>b\nGGTT\n")
        labels = write("l.fa", ">a\nEH\n" + ("" if layout == "missing" else ">b\n\n"))
        args = [str(seqs), "--labels-fasta", str(labels)]
    out = tmp_path / "never.safetensors"
    assert main(["train", *args, "--out", str(out), *TRAIN]) == 2
    one_error_line(capsys.readouterr().err, message)
    assert not out.exists() and list(tmp_path.glob("never*")) == []


def test_bad_evaluate_and_predict_inputs_exit_2_and_leave_no_file(trained, write, tmp_path, capsys):
    unknown = write("u.3line.fa", ">a\nACGT\nHHEX\n")
    assert main(["evaluate", str(trained[0]), str(unknown)]) == 2
    one_error_line(capsys.readouterr().err, "u.3line.fa: record 1 (a): position 4: label 'X' is not one of the "
                                            "labels CEH")
    bad = write("bad.fa", ">a\nACGT\n>b\nACGZ\n")
    out = tmp_path / "p.csv"
    assert main(["predict", str(trained[0]), str(bad), "-o", str(out), "--chunk-size", "1"]) == 2
    one_error_line(capsys.readouterr().err, "bad.fa", "record 2 (b)", "'Z'")
    assert not out.exists() and list(tmp_path.glob("p.csv*")) == []


def test_task_and_pooling_are_checked(write, tmp_path, capsys):
    data = write("t.3line.fa", three_line(records(12)))
    assert main(["train", str(data), "--conv-pool", "2", "--out", str(tmp_path / "x.safetensors"), *TRAIN]) == 2
    one_error_line(capsys.readouterr().err, "cannot pool", "--conv-pool 1")
    seqs, labels = write("s.fa", ">a\nAC\n"), write("l.fa", ">a\nEH\n")
    assert main(["train", str(seqs), "--labels-fasta", str(labels), "--task", "classify", *TRAIN]) == 2
    one_error_line(capsys.readouterr().err, "--task classify needs one label per sequence")


def test_the_bundled_per_position_example_is_three_line_fasta_with_its_rule():
    from bioseq.data.examples import example
    from bioseq.data.position_labels import is_position_data, read_positions

    src = example("protein_tm").source()
    assert is_position_data(src.train) and is_position_data(src.test)
    ds = read_positions(src.train)
    assert len(ds) == 600 and ds.label_set == ["M", "O"]
    hydrophobic = set("AILMFVWG")
    for seq, lab in zip(ds.seqs[:50], ds.labels[:50]):
        inside = [c in hydrophobic for c, y in zip(seq, lab) if y == "M"]
        assert not inside or sum(inside) / len(inside) > 0.8  # segments are mostly hydrophobic letters
        runs = [len(r) for r in lab.replace("O", " ").split()]
        assert all(16 <= n <= 25 for n in runs)


def test_the_python_api_predicts_per_position(trained, write):
    import bioseq

    table = bioseq.predict(str(trained[0]), write("q.3line.fa", ">q\nGATC\nCCCC\n"))
    assert list(table.columns) == ["id", "position", "letter", "prediction", "p_C", "p_E", "p_H"]
    assert "".join(table["prediction"]) == "HHCE" and table["position"].tolist() == [1, 2, 3, 4]


def test_info_names_the_task_and_labels(trained, capsys):
    assert main(["info", str(trained[0])]) == 0
    assert "task:          label (one label per position); labels C, E, H" in capsys.readouterr().out
