"""Experiment b: how far back can RNN, LSTM and GRU remember?

Task (``bioseq.synthetic.memory_dna``): which of two 8-mers sits in the first 12 positions sets the
label; the rest of the sequence is random. One-hot input, 64 units, one direction, read at the
last state, 4,000 training sequences, 15 epochs. Held-out accuracy and the memory curve
(influence of each input position on the output by distance from the read-out) come from
bioseq itself (``bioseq.interpret.memory_curve`` / ``effective_memory``).

    python experiments/memory.py [--out docs/experiments] [--lengths 25 40 80] [--n 4000] [--epochs 15]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd
import torch

from bioseq import plots
from bioseq.data.dataset import load_dataset
from bioseq.data.io import read_records
from bioseq.data.source import DataOptions
from bioseq.data.synthetic import memory_dna, write_fasta
from bioseq.interpret.memory import effective_memory, memory_curve
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit
from bioseq.training.loop import evaluate

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "RNN": {"cell": "rnn", "activation": "tanh"},
    "LSTM, default init": {"cell": "lstm", "forget_bias": 0.0},
    "GRU": {"cell": "gru"},
    "LSTM, forget bias 1": {"cell": "lstm", "forget_bias": 1.0},
    "LSTM, forget bias 3": {"cell": "lstm", "forget_bias": 3.0},
}
BASE = {"hidden": 64, "bidirectional": False, "conv": False, "pooling": "last", "dropout": 0.0}


def run(out: Path, lengths: list[int], n: int, epochs: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    os.environ.setdefault("BIOSEQ_HOME", tempfile.mkdtemp(prefix="bioseq-exp-"))
    torch.set_num_threads(1)  # the same arithmetic on every rerun
    work = Path(tempfile.mkdtemp(prefix="bioseq-memory-"))
    rows, curves = [], []
    for length in lengths:
        train_f = write_fasta(work / f"mem{length}.train.fa", memory_dna(n, length, seed=seed))
        val_f = write_fasta(work / f"mem{length}.val.fa", memory_dna(n // 4, length, seed=seed + 1))
        test_f = write_fasta(work / f"mem{length}.test.fa", memory_dna(n // 4, length, seed=seed + 2))
        for label, opts in MODELS.items():
            r = fit(DataOptions([str(train_f)], val=[str(val_f)]), {**BASE, **opts},
                    TrainConfig(epochs=epochs, seed=seed, patience=epochs),
                    name=f"memory-{length}-{label.replace(' ', '').replace(',', '-')}")
            test = load_dataset([test_f], alphabet=r.bundle.alphabet, classes=r.bundle.classes)
            m, _ = evaluate(r.bundle.model, test.encoded(), test.labels)
            recs = list(read_records(test_f))[:200]
            curve = memory_curve(r.bundle, recs)
            reach = effective_memory(curve)
            rows.append({"length": length, "model": label, "test accuracy": m["accuracy"],
                         "effective memory": reach if reach is not None else f">={length - 1}",
                         "influence at first 12 positions (rel.)":
                             float(curve[curve.distance >= length - 12]["relative"].mean())})
            curves.append(curve.assign(model=label, length=length))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    curve_df = pd.concat(curves)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "memory.csv", index=False)
    curve_df.to_csv(out / "memory_curves.csv", index=False)
    wide = table.pivot(index="length", columns="model", values="test accuracy")[list(MODELS)]
    (out / "memory.md").write_text((wide * 100).round(1).astype(str).add("%").to_markdown())
    acc = alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("length:O", title="sequence length (signal in the first 12 positions)"),
        y=alt.Y("test accuracy:Q", scale=alt.Scale(domain=[0.4, 1.0])),
        color=alt.Color("model:N", sort=list(MODELS)),
        tooltip=["model", "length", alt.Tooltip("test accuracy:Q", format=".3f"), "effective memory"],
    ).properties(width=320, height=240, title="Held-out accuracy against distance to the signal")
    longest = curve_df[curve_df.length == max(lengths)].rename(columns={"model": "run"})
    infl = plots.memory_curve(longest).properties(width=320, height=240,
                                                  title=f"Memory curve, length {max(lengths)}")
    (acc | infl).save(str(out / "memory.png"), scale_factor=1.5)
    return table, curve_df


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs/experiments")
    ap.add_argument("--lengths", type=int, nargs="+", default=[25, 40, 80])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(run(a.out, a.lengths, a.n, a.epochs, a.seed)[0].to_string(index=False))
