"""Experiment a: vanishing gradients across layers, and the batch-norm remedy.

Four 4-layer plain RNNs (32 units, one direction, one-hot input, last-state read-out) train for
2 epochs on the bundled protein task: sigmoid, tanh, ReLU, and sigmoid with batch normalisation
between layers, three seeds each (the table shows means; ``ratio per seed`` gives each seed's).
The table is computed from each run's own ``gradients.csv`` (bioseq's per-layer recording) and
``metrics.csv``. PyTorch runs on one thread, so reruns give the same numbers.

    python experiments/vanishing_layers.py [--out docs/experiments] [--epochs 2] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd
import torch

from bioseq import plots
from bioseq.data.source import DataOptions
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit
from bioseq.training.recorder import layer_ratio

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "sigmoid": {"activation": "sigmoid"},
    "sigmoid + batch norm": {"activation": "sigmoid", "norm": "batch"},
    "tanh": {"activation": "tanh"},
    "ReLU": {"activation": "relu"},
}
BASE = {"cell": "rnn", "layers": 4, "hidden": 32, "bidirectional": False, "conv": False, "pooling": "last",
        "dropout": 0.0}


def run(out: Path, epochs: int, seeds: list[int]) -> pd.DataFrame:
    os.environ.setdefault("BIOSEQ_HOME", tempfile.mkdtemp(prefix="bioseq-exp-"))
    torch.set_num_threads(1)  # same arithmetic on every run: the sigmoid plateau amplifies rounding noise
    data = DataOptions([str(ROOT / "data/protein_kdel.train.fa")], val=[str(ROOT / "data/protein_kdel.test.fa")])
    per_seed, curves = [], []
    for label, opts in RUNS.items():
        for seed in seeds:
            r = fit(data, {**BASE, **opts}, TrainConfig(epochs=epochs, seed=seed, patience=epochs),
                    name=f"vanish-{label.replace(' ', '').replace('+', '-')}-{seed}")
            grads = pd.read_csv(r.run_dir / "gradients.csv")
            metrics = pd.read_csv(r.run_dir / "metrics.csv")
            layers = layer_ratio(grads.to_dict("records"))
            per_seed.append({"model": label, "seed": seed, **{f"L{k}": v for k, v in layers["per_layer"].items()},
                             "ratio L1/L4": layers["ratio"],
                             "train loss": metrics[metrics.split == "train"].iloc[-1]["loss"],
                             "val accuracy": metrics[metrics.split == "val"].iloc[-1]["accuracy"]})
            if seed == seeds[0]:
                curves.append(grads.assign(model=label))
            print(per_seed[-1], flush=True)
    seeds_df = pd.DataFrame(per_seed)
    out.mkdir(parents=True, exist_ok=True)
    seeds_df.to_csv(out / "vanishing_layers_seeds.csv", index=False)
    rows = []
    for label, g in seeds_df.groupby("model", sort=False):
        row = g.drop(columns=["model", "seed"]).mean().to_dict()
        row["ratio per seed"] = ", ".join(f"{v:.3g}" for v in g["ratio L1/L4"])
        rows.append({"model": label, **row})
    table = pd.DataFrame(rows)
    table.to_csv(out / "vanishing_layers.csv", index=False)
    all_grads = pd.concat(curves)
    means = table.melt(id_vars="model", value_vars=["L1", "L2", "L3", "L4"], var_name="layer",
                       value_name="grad_norm")
    means = means.assign(layer=means["layer"].str[1:].astype(int)).rename(columns={"model": "run"})
    plots.layer_means(means).properties(title="Mean gradient norm per layer, 4-layer RNN, 2 epochs").save(
        str(out / "vanishing_layers.png"), scale_factor=1.5)
    plots.layer_gradients(all_grads.rename(columns={"model": "run"}).assign(direction="forward")).save(
        str(out / "vanishing_layers_steps.png"), scale_factor=1.5)
    (out / "vanishing_layers.md").write_text(table.to_markdown(index=False, floatfmt=".3g"))
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs/experiments")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = ap.parse_args()
    print(run(a.out, a.epochs, a.seeds).to_string(index=False))
