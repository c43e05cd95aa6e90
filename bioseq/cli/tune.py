"""``bioseq tune FILE… --budget 10m``: search model and training options with Optuna (:mod:`bioseq.training.tune`).

Progress goes to standard error (one line per trial and per epoch: trials done, the best validation loss
so far and the time left); the best model's path to standard output. ``--resume`` continues a study.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import BioseqError


def _printer(stream=None):
    stream = stream or sys.stderr  # looked up when called: sys.stderr may have been replaced since import
    tty = stream.isatty()

    def show(p) -> None:
        stream.write(("\r" if tty else "") + p.text() + ("" if tty and p.epoch else "\n"))
        stream.flush()
    return show


def cmd_tune(a: argparse.Namespace) -> int:
    from ..options import settable, split_options
    from ..training.tune import best_trial, chosen_options, parse_budget, tune

    budget = parse_budget(a.budget)  # a bad --budget is an input error before anything starts
    chosen = {o.name: getattr(a, o.name) for o in settable() if o.cli and hasattr(a, o.name)}
    data, model_opts, tc = split_options(a.train, chosen)
    if a.resume and not (a.name or a.out or a.log_dir):
        raise BioseqError("--resume needs --name, --out or --log-dir to find the study")
    r = tune(data, a.name, budget, seed=tc.seed, resume=a.resume, max_trials=a.trials, train_cfg=tc,
             model_options=model_opts, log_dir=a.log_dir, callback=None if a.quiet else _printer(),
             ensemble=a.ensemble, out=a.out, jobs=a.jobs, clock=a.clock, cv=a.cv)
    done = sum(t["state"] == "complete" for t in r.trials)
    pruned = sum(t["state"] == "pruned" for t in r.trials)
    print(f"{len(r.trials)} trials ({done} complete, {pruned} pruned) in {r.seconds:.0f}s wall; study {r.folder}",
          file=sys.stderr)
    best = best_trial(r.trials)
    if r.model_path is None or best is None:
        raise BioseqError("no trial finished within the budget; give a longer --budget")
    print(f"best: trial {best['trial']}, {'cross-validated' if a.cv else 'validation'} loss {best['val_loss']:.4f}, "
          f"accuracy {best['val_accuracy']:.4f}; " + ", ".join(f"{k} {v}" for k, v in chosen_options(best).items()),
          file=sys.stderr)
    if r.ensemble and r.ensemble.get("chosen") == "ensemble":
        print(f"saved: the ensemble of trials {', '.join(map(str, r.ensemble['members']))}, validation loss "
              f"{r.ensemble['ensemble_val_loss']:.4f} against {r.ensemble['best_trial_val_loss']:.4f} for the best "
              "trial alone", file=sys.stderr)
    print(r.model_path)
    return 0


def add_tune_arguments(p) -> None:
    """The data and training options of ``bioseq train`` (the same declarations, checked the same way) and
    ``--task``; the search's own options; ``--out`` or ``--name`` as for ``train``."""
    from ..training.search import SEARCH_OPTIONS, SPACE
    from .arguments import add_destination, add_option, add_option_arguments

    p.description = ("Search the options with Optuna (TPE sampler, Hyperband pruning on the per-epoch validation loss) "
                     "for --budget, choosing on validation data only. The first trial is the defaults (with the "
                     "training options given here: --lr, --batch-size and --weight-decay are where the search "
                     "starts), then a portfolio of configurations measured on published benchmarks for the kind "
                     "of data. --jobs worker processes share the study, an SQLite database in the run folder "
                     "($BIOSEQ_HOME/runs/NAME/study.db); --resume continues it. Searched: " + ", ".join(SPACE) + ".")
    add_option_arguments(p, groups=("data", "training"), names=("task",))
    o = p.add_argument_group("search")
    o.add_argument("--budget", default="10m", help="time for the search, e.g. 3m, 90s, 1h30m (default 10m): wall-clock "
                   "time, or CPU time with --clock cpu")
    for option in SEARCH_OPTIONS:
        add_option(o, option)
    o.add_argument("--log-dir", metavar="DIR", help="keep the study and trials here instead of the workspace")
    o.add_argument("--resume", action="store_true", help="continue the study --name")
    o.add_argument("--quiet", action="store_true", help="no progress output")
    add_destination(p, "save the best model file here (the study is named after the file)",
                    "the study's name, also the best model's registry name")
    p.set_defaults(func=cmd_tune)
