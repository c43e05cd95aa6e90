"""``bioseq tune`` on the published classification benchmarks: ``python -m bench.benchmarks --tune MINUTES``.

For each benchmark of :mod:`bench.benchmarks` (same data, same splits, same test sets) and each tuning seed,
:func:`bioseq.training.tune.tune` searches for ``MINUTES`` (default 10) of **CPU time** (``clock="cpu"``: every
worker process's CPU time added up; the machine is shared, so wall time is not a fair budget): Optuna TPE seeded
with the tuning seed, the warm-start portfolio, Hyperband pruning on validation loss, one worker per core, the
best trial (or the ensemble of the best 3 when better on validation) chosen by validation loss. Only the
training and validation files are read while tuning. Each test set is then scored **once** with the chosen
model of each seed.

Reported per benchmark and test set: the test accuracy of each seed, their mean and sample standard
deviation, and a **Wilson score 95% interval** for each seed's accuracy (n = test size; it describes
test-set sampling noise only, not seed-to-seed variation, which the standard deviation shows), beside
the published LSTM-family figure. Results go to ``bench/results/tuned.json`` and ``tuned.md``; every
finished (benchmark, seed) is written as soon as it is done, so a stopped run keeps what it finished.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from pathlib import Path

from bench.report import machine
from bioseq.data.dataset import load_dataset
from bioseq.model.store import load_model
from bioseq.training.config import TrainConfig
from bioseq.training.tune import tune

TRIAL_TRAIN = {"epochs": 30, "patience": 6, "device": "cpu", "grad_every": 50}  # per trial; the search picks the rest
Z95 = 1.959963984540054


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (k may be a fraction, e.g. accuracy * n)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def tune_one(task, seed: int, budget_min: float, work: Path, echo, scores) -> dict:
    """One study on ``task`` with tuning seed ``seed``; its chosen model scored once on each test set."""
    from bench.tune_jobs import _cpu

    cpu0, t0 = _cpu(), time.perf_counter()
    res = tune(task.data, f"{task.name}-s{seed}", budget=budget_min * 60, clock="cpu", jobs=None, seed=seed,
               train_cfg=TrainConfig(**TRIAL_TRAIN), log_dir=work / f"study-{task.name}-s{seed}")
    cpu, wall = _cpu() - cpu0, time.perf_counter() - t0  # this process and its worker processes
    if res.model_path is None:
        raise RuntimeError(f"{task.name} seed {seed}: no trial finished within {budget_min} CPU-minutes")
    bundle = load_model(res.model_path)
    best = min((r for r in res.trials if r["state"] == "complete"), key=lambda r: r["val_loss"])
    tests = {}
    for name, files in task.tests.items():
        m = scores([bundle], load_dataset(files, alphabet=bundle.alphabet, classes=bundle.classes), task.positive)
        lo, hi = wilson(m["accuracy"] * m["n"], m["n"])
        tests[name] = {**m, "wilson95": [lo, hi]}
        echo(f"  {task.name} seed {seed} -> {name} ({m['n']}): acc {m['accuracy']:.4f} "
             f"[{lo:.3f}, {hi:.3f}] auroc {m['auroc']:.4f}")
    states = [r["state"] for r in res.trials]
    return {"seed": seed, "cpu_s": cpu, "wall_s": wall, "trials": len(states), "complete": states.count("complete"),
            "pruned": states.count("pruned"), "best_trial": best["trial"], "best_val_loss": best["val_loss"],
            "best_val_accuracy": best["val_accuracy"], "model_config": bundle.model.cfg.to_dict(),
            "params": {k: v for k, v in best.items() if k not in ("trial", "state", "val_loss", "val_accuracy",
                                                                 "epochs", "stopped_by_budget", "seconds")},
            "test": tests}


def summary(runs: list[dict]) -> dict:
    """Mean and sample standard deviation of each test set's accuracy over the seeds run."""
    out = {}
    for name in runs[0]["test"]:
        acc = [r["test"][name]["accuracy"] for r in runs]
        out[name] = {"n": runs[0]["test"][name]["n"], "accuracies": acc, "mean": statistics.fmean(acc),
                     "sd": statistics.stdev(acc) if len(acc) > 1 else math.nan}
    return out


def run(names, data: Path, budget_min: float, seeds, out: Path, echo) -> dict:
    """Tune every benchmark in ``names`` for each seed (seed-major, so every benchmark gets seed 0 first)."""
    from bench import benchmarks as bm

    path = out / "tuned.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="bioseq-tuned-") as tmp:
        import os

        os.environ.setdefault("BIOSEQ_HOME", str(Path(tmp) / "home"))
        tasks = {}
        for n in names:
            (Path(tmp) / n).mkdir()
            tasks[n] = bm.make_task(n, data, Path(tmp) / n)
            results[n] = {"name": n, "title": tasks[n].title, "budget_cpu_min": budget_min, "notes": tasks[n].notes,
                          "published": bm.PUBLISHED[n], "runs": [], "machine": machine()}
        for seed in seeds:
            for n in names:
                echo(f"{tasks[n].title}: tuning seed {seed}, {budget_min} CPU-min")
                r = results[n]
                r["runs"].append(tune_one(tasks[n], seed, budget_min, Path(tmp) / n, echo, bm.scores))
                r["summary"] = summary(r["runs"])
                save(results, out)
    return results


def save(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("tuned.json", json.dumps(results, indent=1, default=float)), ("tuned.md", markdown(results))):
        tmp = out / f"{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)


def _pct(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def markdown(results: dict) -> str:
    lines = ["# bioseq tune on published benchmarks", "",
             "Each benchmark: `bioseq tune` (Optuna TPE, warm-start portfolio, Hyperband pruning) for a CPU-time "
             "budget per tuning seed, the best trial (or the ensemble of the best 3, when better) chosen on "
             "validation loss only, each test set scored once per seed. Accuracy in %; "
             "95% CI: Wilson score interval of each seed's test accuracy (test-set sampling only).", "",
             "| benchmark | test set | n | budget (CPU-min) | seeds | accuracy per seed [Wilson 95% CI] | mean ± sd "
             "| published LSTM-family | mean − published |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results.values():
        if not r.get("runs"):
            continue
        target = r["published"]["target"]
        for i, (name, s) in enumerate(r["summary"].items()):
            per = "; ".join(f"{_pct(x['test'][name]['accuracy'])} [{_pct(x['test'][name]['wilson95'][0])}, "
                            f"{_pct(x['test'][name]['wilson95'][1])}]" for x in r["runs"])
            first = i == 0
            lines.append(f"| {r['name'] if first else ''} | {name} | {s['n']} | {r['budget_cpu_min']:g} "
                         f"| {', '.join(str(x['seed']) for x in r['runs'])} | {per} "
                         f"| {_pct(s['mean'])} ± {_pct(s['sd'])} "
                         + (f"| {target['method']}: {_pct(target['accuracy'])} "
                            f"| {100 * (s['mean'] - target['accuracy']):+.1f} points |" if first else "| | |"))
    for r in results.values():
        if not r.get("runs"):
            continue
        lines += ["", f"## {r['title']}", "", r["machine"], "",
                  "| seed | trials (complete / pruned) | CPU-min | wall-min | best trial | val loss | val accuracy "
                  "| chosen options |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {x['seed']} | {x['trials']} ({x['complete']} / {x['pruned']}) | {x['cpu_s'] / 60:.1f} "
                  f"| {x['wall_s'] / 60:.1f} | {x['best_trial']} | {x['best_val_loss']:.4f} "
                  f"| {_pct(x['best_val_accuracy'])} | `{json.dumps(x['params'])}` |" for x in r["runs"]]
    return "\n".join(lines) + "\n"


def merge(paths, out: Path) -> dict:
    """Join ``tuned.json`` files written by separate processes (e.g. one per seed) into ``out``."""
    results: dict = {}
    for p in paths:
        for name, r in json.loads(Path(p).read_text()).items():
            if not r.get("runs"):
                continue
            have = results.setdefault(name, {**r, "runs": []})
            have["runs"] = sorted(have["runs"] + [x for x in r["runs"] if x["seed"] not in
                                                  {y["seed"] for y in have["runs"]}], key=lambda x: x["seed"])
            have["summary"] = summary(have["runs"])
    save(results, out)
    return results
