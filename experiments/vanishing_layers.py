"""Experiment a: vanishing gradients across layers, and the batch-norm remedy.

Four 4-layer plain RNNs (32 units, one direction, one-hot input, last-state read-out) train for
2 epochs on the bundled protein task: sigmoid, tanh, ReLU, and sigmoid with batch normalisation
between layers. The table is computed from each run's own ``gradients.csv`` (bioseq's per-layer
recording) and ``metrics.csv``.

    python experiments/vanishing_layers.py [--out docs/experiments] [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import altair as alt
import pandas as pd

from bioseq.fit import DataOptions, fit
from bioseq.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "sigmoid": {"activation": "sigmoid"},
    "sigmoid + batch norm": {"activation": "sigmoid", "norm": "batch"},
    "tanh": {"activation": "tanh"},
    "ReLU": {"activation": "relu"},
}
BASE = {"cell": "rnn", "layers": 4, "hidden": 32, "bidirectional": False, "conv": False, "pooling": "last",
        "dropout": 0.0}


def run(out: Path, epochs: int, seed: int) -> pd.DataFrame:
    os.environ.setdefault("BIOSEQ_HOME", tempfile.mkdtemp(prefix="bioseq-exp-"))
    data = DataOptions([str(ROOT / "data/protein_kdel.train.fa")], val=[str(ROOT / "data/protein_kdel.test.fa")])
    rows, curves = [], []
    for label, opts in RUNS.items():
        r = fit(data, {**BASE, **opts}, TrainConfig(epochs=epochs, seed=seed, patience=epochs),
                name=f"vanish-{label.replace(' ', '').replace('+', '-')}")
        grads = pd.read_csv(r.run_dir / "gradients.csv")
        metrics = pd.read_csv(r.run_dir / "metrics.csv")
        per_layer = grads.groupby("layer")["grad_norm"].mean()
        last = metrics[metrics.split == "train"].iloc[-1]
        val = metrics[metrics.split == "val"].iloc[-1]
        rows.append({"model": label, **{f"L{k}": v for k, v in per_layer.items()},
                     "ratio L1/L4": per_layer.iloc[0] / per_layer.iloc[-1],
                     "train loss": last["loss"], "val accuracy": val["accuracy"]})
        curves.append(grads.assign(model=label))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "vanishing_layers.csv", index=False)
    all_grads = pd.concat(curves)
    bars = alt.Chart(table.melt(id_vars="model", value_vars=["L1", "L2", "L3", "L4"], var_name="layer",
                                value_name="mean ‖∇‖")).mark_bar().encode(
        x=alt.X("layer:N", title="recurrent layer (1 = nearest the input)"),
        y=alt.Y("mean ‖∇‖:Q", scale=alt.Scale(type="log"), title="mean gradient L2 norm (log)"),
        color="layer:N", column=alt.Column("model:N", title=None),
        tooltip=["model", "layer", alt.Tooltip("mean ‖∇‖:Q", format=".3g")],
    ).properties(width=120, height=200, title="Gradient norm per layer, 4-layer RNN, 2 epochs")
    bars.save(str(out / "vanishing_layers.png"), scale_factor=1.5)
    steps = alt.Chart(all_grads).mark_line().encode(
        x=alt.X("step:Q"), y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="‖∇‖ (log)"),
        color=alt.Color("layer:N"), facet=alt.Facet("model:N", columns=4),
        tooltip=["model", "layer", "step", alt.Tooltip("grad_norm:Q", format=".3g")],
    ).properties(width=180, height=150)
    steps.save(str(out / "vanishing_layers_steps.png"), scale_factor=1.5)
    (out / "vanishing_layers.md").write_text(table.to_markdown(index=False, floatfmt=".3g"))
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs/experiments")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(run(a.out, a.epochs, a.seed).to_string(index=False))
