"""Protein secondary structure (3 states), following ``../shared/benchmarks/secondary_structure/SOURCE.md``.

* Train on ``train`` (9,712 chains), select (early stopping on the validation loss, the best epoch kept) on
  ``valid`` (1,080) only, and score ``cb513`` once; the files are read where they are, never copied.
* Only mask = 1 residues are scored, in training (unscored residues are read as input but enter no loss,
  no metric and no batch statistic) and in testing.
* The two CB513 chains identical to training chains (``cb513_359`` = train ``1wfb-A``, ``cb513_330`` =
  valid ``1tii-C``) are **dropped from the test set**; the headline is on the other 509 chains. The score on
  all 511 is reported beside it, from the same single prediction.
* Training time is measured as wall time and as the process's CPU time (every thread), with
  ``torch.set_num_threads(threads)``. Training has a CPU budget (30 CPU-minutes by default): no epoch is
  started that the last epoch's CPU time says would not fit, and training stops at the budget regardless;
  the best epoch on validation loss among those completed is kept.

Results go to ``bench/results/secondary_structure.json`` and ``.md``.

    python -m bench.benchmarks --only secondary_structure [--threads 1]
    python -m bench.secondary_structure [--threads 1] [--epochs N] [--cpu-budget MINUTES] [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import machine  # noqa: E402
from bioseq.data.position_labels import load_positions  # noqa: E402
from bioseq.data.source import DataOptions  # noqa: E402
from bioseq.prediction.evaluate import evaluate_dataset  # noqa: E402
from bioseq.training.config import TrainConfig  # noqa: E402
from bioseq.training.fit import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "benchmarks" / "secondary_structure"
RESULTS = ROOT / "bench" / "results"
SHARED_WITH_TRAINING = ("cb513_359", "cb513_330")  # SOURCE.md: identical to train 1wfb-A and valid 1tii-C
PUBLISHED = {"method": "TAPE one-hot (Rao et al. 2019)", "q3": 0.69}
MODEL = {"task": "label", "conv_filters": 128, "conv_width": 11, "hidden": 96, "layers": 2}  # conv + 2-layer BiLSTM
CPU_BUDGET_S = 30 * 60  # training stops before an epoch that would not fit in 30 CPU-minutes (or at the budget)
TRAIN = {"epochs": 20, "patience": 3, "batch_size": 32, "lr": 3e-3, "grad_every": 50, "device": "cpu",
         "class_weights": False}  # Q3 is plain accuracy: no re-weighting towards the rarer strand state


def files(split: str, root: Path = DATA) -> dict[str, str]:
    suffix = ".gz" if split != "cb513" else ""
    return {k: str(root / f"{split}_{k}.fasta{suffix}") for k in ("seq", "ss3", "mask")}


def data_options(root: Path = DATA) -> DataOptions:
    tr, va = files("train", root), files("valid", root)
    return DataOptions([tr["seq"]], val=[va["seq"]], labels_fasta=[tr["ss3"], va["ss3"]],
                       mask=[tr["mask"], va["mask"]])


def _scores(ev) -> dict:
    return {"chains": ev.metrics["n"], "scored_residues": ev.metrics["positions"], "q3": ev.metrics["accuracy"],
            "mcc": ev.metrics["mcc"], "macro_f1": ev.metrics["f1"], "sov": ev.metrics["sov"],
            "per_label": ev.per_label, "confusion": ev.confusion, "labels": ev.labels,
            "per_chain_q3_quantiles": {str(k): v for k, v in ev.quantiles().items()}}


class CpuBudget:
    """``should_stop`` for :func:`fit`: stop before an epoch that would overrun ``seconds`` of process CPU time."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.process_time()
        self.epoch_start, self.last_epoch, self.fresh_epoch = self.start, 0.0, True

    def used(self) -> float:
        return time.process_time() - self.start

    def epoch_done(self) -> None:
        now = time.process_time()
        self.last_epoch, self.epoch_start, self.fresh_epoch = now - self.epoch_start, now, True

    def __call__(self) -> bool:
        fresh, self.fresh_epoch = self.fresh_epoch, False
        return self.used() >= self.seconds or (fresh and self.used() + self.last_epoch > self.seconds)


def run(root: Path = DATA, threads: int = 1, epochs: int | None = None, quick: bool = False, echo=print,
        cpu_budget_s: float = CPU_BUDGET_S, work: Path | None = None, resume_cpu_s: float | None = None,
        resume_wall_s: float = 0.0, model: dict | None = None, train: dict | None = None) -> dict:
    """Train, select on valid, test once on CB513; returns the JSON-ready result.

    With ``work`` the run folder (and its per-epoch checkpoint) is kept there; with ``resume_cpu_s`` training
    continues from that checkpoint (e.g. after the process was stopped), ``resume_cpu_s`` being the CPU time
    the stopped process had used, which is added to this one's (the budget covers both); ``resume_wall_s``
    likewise for wall time. ``model`` and ``train`` replace :data:`MODEL` and :data:`TRAIN` (``bench.bundle``);
    with ``work`` the model file is ``work/ss3.safetensors``.
    """
    torch.set_num_threads(threads)
    data = data_options(root)
    model = MODEL if model is None else model
    tc = TrainConfig(**{**(TRAIN if train is None else train), **({"epochs": epochs} if epochs else {}),
                        **({"epochs": 1} if quick else {})})
    with tempfile.TemporaryDirectory(prefix="bioseq-ss3-") as scratch:
        tmp = str(work) if work else scratch
        os.environ.setdefault("BIOSEQ_HOME", str(Path(tmp) / "home"))
        t0, budget = time.perf_counter(), CpuBudget(cpu_budget_s)
        budget.start -= resume_cpu_s or 0.0

        def progress(p) -> None:
            if p.phase == "epoch":
                budget.epoch_done()
                echo(f"  epoch {p.epoch}: val Q3 {p.history[-1]['accuracy']:.4f}, val loss "
                     f"{p.history[-1]['loss']:.4f} [{p.elapsed / 60:.1f} min wall, {budget.used() / 60:.1f} CPU-min]")

        r = fit(data, model, tc, out=Path(tmp) / "ss3.safetensors", log_dir=Path(tmp) / "run", callback=progress,
                should_stop=budget, resume=resume_cpu_s is not None, overwrite=resume_cpu_s is None)
        wall, cpu = time.perf_counter() - t0 + resume_wall_s, budget.used()
        bundle = r.bundle
    test = files("cb513", root)
    every = load_positions([test["seq"]], labels_fasta=[test["ss3"]], mask=[test["mask"]], alphabet=bundle.alphabet,
                           label_set=bundle.classes)
    keep = [i for i, ident in enumerate(every.ids) if ident not in SHARED_WITH_TRAINING]
    dropped = sorted(set(every.ids) & set(SHARED_WITH_TRAINING))
    full = evaluate_dataset(bundle, every)  # one prediction; the 509-chain score is a subset of it
    clean = evaluate_dataset(bundle, every.subset(keep))
    out = {"name": "secondary_structure", "title": "Protein secondary structure, 3 states (CB513)",
           "protocol": "train on train, early stopping on valid, CB513 scored once on mask = 1 residues",
           "shared_chains": {"dropped_from_test": dropped, "why": "identical to a training or validation chain"},
           "model_config": bundle.model.cfg.to_dict(), "train_config": tc.__dict__, "threads": threads,
           "best_epoch": r.result.best_epoch, "epochs_run": len(r.result.history) // 2,
           "train_wall_s": wall, "train_cpu_s": cpu, "cpu_budget_s": cpu_budget_s,
           "stopped_by_budget": r.result.interrupted, "resumed_after_cpu_s": resume_cpu_s,
           "valid": {k: r.result.val_metrics[k] for k in ("accuracy", "mcc", "f1", "sov")},
           "test": _scores(clean), "test_all_511": _scores(full), "published": PUBLISHED,
           "q3_gap": clean.metrics["accuracy"] - PUBLISHED["q3"], "machine": machine()}
    t = out["test"]
    echo(f"CB513 ({t['chains']} chains, {t['scored_residues']} scored residues): Q3 {t['q3']:.4f}; all 511: "
         f"{out['test_all_511']['q3']:.4f}; training {wall / 60:.1f} min wall, {cpu / 60:.1f} CPU-min")
    return out


def _f(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown(r: dict) -> str:
    t = r["test"]
    lines = ["# Protein secondary structure (3 states), CB513", "", r["machine"], "",
             f"Protocol: {r['protocol']}. Dropped from the test set (identical to a training/validation chain): "
             f"{', '.join(r['shared_chains']['dropped_from_test'])}.", "",
             "| test set | chains | scored residues | Q3 | macro F1 | MCC | SOV | training (wall / CPU) | published |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, s in (("CB513 without the 2 shared chains", t), ("CB513, all 511", r["test_all_511"])):
        lines.append(f"| {name} | {s['chains']} | {s['scored_residues']} | {_f(s['q3'])} | {_f(s['macro_f1'])} "
                     f"| {_f(s['mcc'])} | {_f(s['sov'])} | {r['train_wall_s'] / 60:.1f} / {r['train_cpu_s'] / 60:.1f}"
                     f" min ({r['threads']} thread{'s' if r['threads'] > 1 else ''}) "
                     f"| {r['published']['method']}: {r['published']['q3']:.2f} |")
    lines += ["", "| label | residues | precision | recall | F1 | segment F1 | SOV |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {p['label']} | {p['positions']} | {_f(p['precision'])} | {_f(p['recall'])} | {_f(p['f1'])} "
              f"| {_f(p['segment_f1'])} | {_f(p['sov'])} |" for p in t["per_label"]]
    lines += ["", f"Confusion (rows true, columns predicted; {', '.join(t['labels'])}): {t['confusion']}", "",
              f"Per-chain Q3 quantiles: {json.dumps({k: round(v, 3) for k, v in t['per_chain_q3_quantiles'].items()})}",
              "", f"Validation (best epoch {r['best_epoch']} of {r['epochs_run']}): "
              + ", ".join(f"{k} {_f(v)}" for k, v in r["valid"].items()), "",
              f"ModelConfig: `{json.dumps(r['model_config'])}`", "", f"TrainConfig: `{json.dumps(r['train_config'])}`"]
    if r.get("resumed_after_cpu_s") is not None:
        lines += ["", f"Training was stopped after {r['resumed_after_cpu_s'] / 60:.1f} CPU-minutes (the machine's wall "
                  "clock, not the CPU budget, ran out) and resumed from its last per-epoch checkpoint with no further "
                  "epochs; the best epoch on validation loss was restored from that checkpoint. The CPU time above "
                  "and wall times above are both processes together."]
    return "\n".join(lines) + "\n"


def save(r: dict, out: Path = RESULTS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "secondary_structure.json").write_text(json.dumps(r, indent=1, default=float))
    (out / "secondary_structure.md").write_text(markdown(r))
    from bench.benchmarks import write_report  # the combined table keeps every other benchmark's entry

    combined = out / "benchmarks.json"
    write_report({**(json.loads(combined.read_text()) if combined.exists() else {}), r["name"]: r}, out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.secondary_structure", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--cpu-budget", type=float, default=CPU_BUDGET_S / 60, help="training CPU-minutes (default 30)")
    ap.add_argument("--quick", action="store_true", help="one epoch; results are printed, not saved")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--work", type=Path, help="keep the run folder and its checkpoint here (default: a temp folder)")
    ap.add_argument("--resume-cpu", type=float, metavar="CPU_MINUTES", help="continue from the checkpoint in "
                    "--work; the CPU-minutes the stopped run had used (counted in the budget and the result)")
    ap.add_argument("--resume-wall", type=float, default=0.0, metavar="MINUTES", help="the stopped run's wall time")
    a = ap.parse_args(argv)
    r = run(a.data, a.threads, a.epochs, a.quick, echo=lambda s: print(s, flush=True), cpu_budget_s=a.cpu_budget * 60,
            work=a.work, resume_cpu_s=None if a.resume_cpu is None else a.resume_cpu * 60,
            resume_wall_s=a.resume_wall * 60)
    if a.quick:
        print(markdown(r))
    else:
        save(r, a.out)
        print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
