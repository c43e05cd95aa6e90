"""Each input encoding, strand option and training recipe against the defaults: ``python -m bench.inputs``.

On the shared benchmarks of :mod:`bench.benchmarks` (AMP Scanner v2 for protein, UCI splice for DNA: same data,
same splits), every variant trains a small model (:data:`SMALL`) with the same fixed budget (:data:`BUDGET`
epochs, early stopping) and the same seeds; a variant differs from the defaults in one option only. Reported per
benchmark and variant: the validation accuracy and loss (mean over the seeds), the difference in validation
accuracy from the defaults, the test accuracy (scored once per seed, for information: the choice is made
on validation), the best epoch and the wall seconds per seed (on a shared machine). The last variant of each
benchmark combines the options that won there in a first run. ``--seeds``, ``--epochs`` and ``--only`` make it
shorter. The table goes to stdout and, with ``--out``, to a Markdown file (``bench/results/inputs.md``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench_core: spinning threads starve on shared CPUs

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.benchmarks import DEFAULT_DATA, make_task, scores  # noqa: E402
from bench.report import machine  # noqa: E402
from bioseq.data.dataset import load_dataset  # noqa: E402
from bioseq.training.config import TrainConfig  # noqa: E402
from bioseq.training.fit import fit  # noqa: E402

SMALL = {"hidden": 32, "conv_filters": 32}  # every variant's model, beside its one option
BUDGET = {"epochs": 12, "patience": 3, "batch_size": 32, "device": "cpu", "grad_every": 1000}
COMMON = [("defaults", {}, {}), ("onecycle schedule", {}, {"schedule": "onecycle"}),
          ("cosine schedule", {}, {"schedule": "cosine"}), ("SWA", {}, {"swa": True}),
          ("label smoothing 0.1", {}, {"label_smoothing": 0.1}),
          ("learned embedding 16", {"encoding": "embedding"}, {})]
VARIANTS = {
    "amp": [*COMMON, ("BLOSUM62 rows", {"encoding": "blosum62"}, {}),
            ("physicochemical + one-hot", {"encoding": "physchem"}, {}),
            ("attention read-out", {"pooling": "attention"}, {}),
            ("winners: BLOSUM62 + attention + SWA", {"encoding": "blosum62", "pooling": "attention"}, {"swa": True})],
    "splice": [*COMMON, ("3-mer embedding 16", {"encoding": "kmer"}, {}),
               ("reverse-complement augmentation", {"strand": "augment"}, {}),
               ("both strands (augment + average)", {"strand": "both"}, {}),
               ("attention read-out", {"pooling": "attention"}, {}),
               ("winners: embedding + attention + smoothing 0.1", {"encoding": "embedding", "pooling": "attention"},
                {"label_smoothing": 0.1})],
}


def run_variant(task, label: str, model: dict, train: dict, seeds: Sequence[int], budget: dict, work: Path) -> dict:
    """Train ``seeds`` models of one variant; their validation and test figures (one model per seed)."""
    rows = []
    for seed in seeds:
        tag = f"{task.name}-{abs(hash(label)) % 10**8}-s{seed}"
        t0 = time.perf_counter()
        r = fit(task.data, {**SMALL, **model}, TrainConfig(**{**budget, **train, "seed": seed}),
                out=work / f"{tag}.safetensors", log_dir=work / "runs" / tag)
        b = r.bundle
        test = load_dataset(task.tests["test"], alphabet=b.alphabet, classes=b.classes)
        rows.append({"val_acc": r.result.val_metrics["accuracy"], "val_loss": r.result.val_metrics["loss"],
                     "test_acc": scores([b], test, task.positive)["accuracy"], "wall_s": time.perf_counter() - t0,
                     "best_epoch": r.result.best_epoch})
    return {"label": label, **{k: statistics.fmean(r[k] for r in rows) for k in rows[0]},
            "val_acc_sd": statistics.stdev([r["val_acc"] for r in rows]) if len(rows) > 1 else 0.0,
            "per_seed": rows}


def table(name: str, results: list[dict]) -> str:
    base = results[0]["val_acc"]
    lines = [f"### {name}", "", "| variant | val accuracy | ± sd | Δ val vs defaults | val loss | test accuracy | "
             "best epoch | wall s |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['label']} | {r['val_acc']:.4f} | {r['val_acc_sd']:.4f} | {r['val_acc'] - base:+.4f} | "
                     f"{r['val_loss']:.4f} | {r['test_acc']:.4f} | {r['best_epoch']:.1f} | {r['wall_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.inputs", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared benchmarks folder")
    ap.add_argument("--benchmarks", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--seeds", type=int, default=2, help="seeds per variant (0, 1, ...)")
    ap.add_argument("--epochs", type=int, default=BUDGET["epochs"])
    ap.add_argument("--only", nargs="*", help="variant labels to run beside the defaults")
    ap.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    a = ap.parse_args(argv)
    budget = {**BUDGET, "epochs": a.epochs}
    head = (f"Each variant: model {SMALL} plus its one option; training {budget}; seeds 0..{a.seeds - 1}. "
            f"Machine: {machine()}.\n")
    print(head, flush=True)
    parts = [head]
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.benchmarks:
            work = Path(tmp) / name
            work.mkdir()
            task = make_task(name, a.data, work)
            results = []
            for label, model, train in VARIANTS[name]:
                if a.only and label != "defaults" and label not in a.only:
                    continue
                results.append(run_variant(task, label, model, train, range(a.seeds), budget, work))
                print(f"{name}: {label}: val acc {results[-1]['val_acc']:.4f}", flush=True)
            parts.append(table(task.title, results))
            print(parts[-1], flush=True)
            if a.out:
                a.out.write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
