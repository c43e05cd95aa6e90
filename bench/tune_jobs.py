"""Parallel worker processes against threads in one process, for ``bioseq tune --jobs``:
``python -m bench.tune_jobs [--benchmark splice] [--budget 90] [--epochs 6] [--fixed]``.

``--fixed``: the controlled comparison: two trainings of the defaults for ``--epochs`` epochs, one after the other
with two threads each (what ``--jobs 1`` does on 2 cores), against both at once with one thread each (``--jobs 2``);
each in its own spawned process, so both pay the same start; CPU time and wall time of the pair.

Runs the same study twice on one shared benchmark (:mod:`bench.benchmarks`' data and split), for the same
wall-clock budget: ``--jobs 1`` with as many threads as cores, then ``--jobs <cores>`` with one thread each.
Reports trials finished (complete + pruned), epochs trained (all trials), CPU time of the process and its
workers, wall time, trials and epochs per CPU-minute, trials per wall-minute, and the machine's load average
before each run (the machine may be shared). The trials differ between the two runs (the sampler's draws and
the pruner's brackets), so ``--fixed`` is the cleaner comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    """CPU seconds of this process and its finished (joined) children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _train(data, threads: int, home: str, tag: str, epochs: int) -> None:
    import torch

    torch.set_num_threads(threads)
    os.environ["BIOSEQ_HOME"] = home
    from bioseq.training.config import TrainConfig
    from bioseq.training.fit import fit

    fit(data, {}, TrainConfig(epochs=epochs, patience=epochs, device="cpu", amp="off", grad_every=50), name=tag)


def fixed(data, epochs: int, home: str) -> list[dict]:
    """The ``--fixed`` comparison (module docstring), threads then processes."""
    import multiprocessing

    ctx, rows = multiprocessing.get_context("spawn"), []
    for mode, threads, pairs in (("one after the other, 2 threads each", 2, [[0], [1]]),
                                 ("at once, 1 thread each", 1, [[0, 1]])):
        load, cpu0, t0 = os.getloadavg()[0], _cpu(), time.perf_counter()
        for group in pairs:
            procs = [ctx.Process(target=_train, args=(data, threads, home, f"{threads}-{k}", epochs)) for k in group]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
        rows.append({"mode": mode, "load_before": load, "cpu_s": _cpu() - cpu0, "wall_s": time.perf_counter() - t0})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--benchmark", default="splice")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "benchmarks",
                    help="the shared benchmarks folder (../shared/benchmarks)")
    ap.add_argument("--budget", type=float, default=90.0, help="wall-clock seconds per configuration")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--fixed", action="store_true", help="the controlled comparison (see above)")
    args = ap.parse_args(argv)
    from bench import benchmarks as bm
    from bioseq.training.config import TrainConfig
    from bioseq.training.fidelity import cores
    from bioseq.training.tune import tune

    n = cores()
    out = {"benchmark": args.benchmark, "budget_wall_s": args.budget, "epochs": args.epochs, "cores": n, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bioseq-jobs-") as tmp:
        os.environ["BIOSEQ_HOME"] = str(Path(tmp) / "home")
        task = bm.make_task(args.benchmark, args.data, Path(tmp))
        if args.fixed:
            out["fixed"] = fixed(task.data, args.epochs, os.environ["BIOSEQ_HOME"])
            return out
        for jobs in (1, n):
            load, cpu0, t0 = os.getloadavg()[0], _cpu(), time.perf_counter()
            r = tune(task.data, f"jobs{jobs}", args.budget, jobs=jobs, ensemble=1,
                     train_cfg=TrainConfig(epochs=args.epochs, patience=3, device="cpu", amp="off", grad_every=50))
            cpu, wall = _cpu() - cpu0, time.perf_counter() - t0
            done = [t for t in r.trials if t["state"] in ("complete", "pruned")]
            row = {"jobs": jobs, "threads_per_trial": max(1, n // jobs), "load_before": load, "trials": len(done),
                   "complete": sum(t["state"] == "complete" for t in done), "cpu_s": cpu, "wall_s": wall,
                   "epochs": sum(t["epochs"] for t in r.trials), "trials_per_cpu_min": 60 * len(done) / cpu,
                   "trials_per_wall_min": 60 * len(done) / wall,
                   "epochs_per_cpu_min": 60 * sum(t["epochs"] for t in r.trials) / cpu,
                   "best_val_loss": r.best_value}
            out["runs"].append(row)
            print(json.dumps(row), flush=True)
    return out


if __name__ == "__main__":
    main()
