"""The comparison of runs: one row per run with metrics, options and time; like compared with like."""

from __future__ import annotations

import pandas as pd
from conftest import TINY, TINY_ARGS

from bioseq.app.run_table import COLUMNS, comparable, comparison_table
from bioseq.cli import main

QUICK = [*TINY_ARGS, "--epochs", "1", "--quiet"]  # one quiet epoch of the tiny model


def test_rows_with_metrics_options_and_time(dna_fasta, protein_fasta):
    assert main(["train", str(dna_fasta), "--name", "d1", *QUICK]) == 0
    assert main(["train", str(dna_fasta), "--name", "d2", "--cell", "gru", *QUICK]) == 0
    assert main(["train", str(protein_fasta), "--name", "p1", *QUICK]) == 0
    table = comparison_table()
    assert list(table.columns) == list(COLUMNS) and set(table["run"]) == {"d1", "d2", "p1"}
    d2 = table.set_index("run").loc["d2"]
    assert d2["cell"] == "gru" and d2["hidden"] == TINY["hidden"] and d2["status"] == "done" and d2["epochs_run"] == 1
    assert 0 <= d2["val_accuracy"] <= 1 and d2["minutes"] >= 0 and d2["alphabet"] == "dna"
    assert comparable(table, "d1") == ["d1", "d2"]  # not the protein run
    assert comparable(table, "p1") == ["p1"] and comparable(table, "nope") == []


def test_no_runs():
    assert comparison_table().empty and comparable(pd.DataFrame(columns=COLUMNS), "x") == []


def test_imbalance_note_speaks_of_positions_for_a_labeller():
    from bioseq.app.cards import notes
    from bioseq.app.run_table import run_notes

    vm = {"accuracy": 0.94, "balanced_accuracy": 0.5}
    labeller = {"val_metrics": vm, "summary": {"per_class": {"O": 94, "M": 6}}, "model_config": {"task": "label"}}
    assert run_notes(labeller)[-1].startswith("94% of the positions are of one label: accuracy can look good while "
                                              "the rare label is missed")
    meta = {"task": "label", "training": {"val_metrics": vm, "val_counts": {"O": 94, "M": 6}}}
    assert notes(meta)[-1].startswith("94% of the positions are of one label")
    classifier = {"val_metrics": vm, "summary": {"per_class": {"a": 94, "b": 6}}, "model_config": {}}
    assert run_notes(classifier)[-1].startswith("94% of the sequences are of one class")


def test_a_labellers_row_names_its_worst_label(dna_fasta, tmp_path):
    from bioseq.app.run_table import weakest
    from bioseq.data.synthetic import transmembrane_protein, write_three_line
    from bioseq.training.runs import read_run

    tm = write_three_line(tmp_path / "tm.fa", transmembrane_protein(40, min_len=30, max_len=60, seed=1))
    assert main(["train", str(tm), "--name", "lab", *QUICK]) == 0
    assert main(["train", str(dna_fasta), "--name", "cls", *QUICK]) == 0
    rows = comparison_table().set_index("run")
    info = read_run("lab")
    c = info["confusion"]  # rows true M, O; columns predicted
    f1 = [2 * c[i][i] / (sum(c[i]) + sum(r[i] for r in c)) if sum(c[i]) + sum(r[i] for r in c) else 2.0
          for i in range(2)]
    k = f1.index(min(f1))
    assert rows.loc["lab", "val_worst_label"] == "MO"[k] and rows.loc["lab", "val_worst_f1"] == min(f1)
    assert weakest(info) == f"worst label {'MO'[k]}: F1 {min(f1):.3f}"
    assert pd.isna(rows.loc["cls", "val_worst_label"]) and weakest(read_run("cls")) == ""
