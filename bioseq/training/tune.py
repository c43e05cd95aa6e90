"""Search the model and training options with Optuna: ``bioseq tune`` and the Train page's Tune panel.

A **study** lives in its own folder, ``$BIOSEQ_HOME/runs/<name>/`` (or ``--log-dir``), :mod:`bioseq.training.study`:

* ``study.db``: Optuna's SQLite storage (trials, parameters, values, per-epoch values): ``--resume`` continues it;
  ``--jobs N`` worker processes share it (:mod:`bioseq.training.searcher`);
* ``tune.json``: the study's options (data, budget, clock, seed, search space, workers, the portfolio, the bf16
  decision, the ensemble decision) and status, for the dashboard;
* ``trial-<n>/``: each trial's ordinary run folder (:mod:`bioseq.training.runs`) and its model file
  ``trial-<n>/model.safetensors``.

Sampler: TPE seeded with the study's seed (worker ``w`` with ``seed + 1000 w``). Pruner: Hyperband on the
per-epoch **validation loss** (:mod:`bioseq.training.fidelity`, with the subsample rule for large data and
the bf16 rule). The objective is the best validation loss of a trial, so selection uses validation data only
(a test file is never read). The first trial of a new study is the defaults (never pruned), so the best trial
is never worse on validation than the defaults; then, on a CPU with native bf16 and ``--amp auto``, the
defaults in bf16; then the portfolio's configurations for the kind of data (:mod:`bioseq.training.portfolio`);
then TPE. A trial that would run past the budget is stopped early and keeps its best epoch
(``stopped_by_budget``). After every trial, the best trial's model file is copied to the registry as
``<name>`` with the trial history in its model card (``meta["tuning"]``): stopping a search keeps the best
model found so far. At the end, the best ``ensemble`` trials become one ensemble model when that is better on
validation (:mod:`bioseq.training.top_trials`).

The search space (:data:`SPACE`, docs/tuning.md) leaves out what the Task says does not apply (a labeller's read-out).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data.fingerprint import data_files, differences, fingerprint
from ..data.source import DataOptions
from ..errors import InputError, TrainingError, ref
from ..model.config import ModelConfig
from ..model.precision import cpu_bf16
from ..model.store import model_path
from ..options import alphabet_defaults
from ..outputs import check_output
from ..task import task_of
from ..workspace import check_name
from .claims import Claim, claim
from .config import TrainConfig
from .fidelity import TRIAL_EPOCH_RESIDUES, amp_check_wanted, jobs_for, threads_for
from .portfolio import kind_of, portfolio
from .search import (  # noqa: F401 - the search space and the search's options, importable from here as before
    CLOCK,
    ENSEMBLE,
    JOBS,
    SEARCH_OPTIONS,
    SPACE,
    TRAIN_PARAMS,
    TRIALS,
    check_inputs,
    parse_budget,
    space_for,
)
from .searcher import BF16_ROLE, FP32_ROLE, Searcher, TuneProgress, run_worker, suggest  # noqa: F401
from .study import (  # noqa: F401 - the study's files and readers, importable from here as before
    IMPORTANCE_TRIALS,
    StudyFolder,
    best_trial,
    chosen_options,
    complete_trials,
    importances,
    list_studies,
    read_study,
    trials_table,
)
from .top_trials import final_model


def data_profile(data: DataOptions, task: str, seed: int = 0) -> dict:
    """The training data in the numbers the search plans with: alphabet, records, residues, median length."""
    import numpy as np

    from .fit import loader

    train = loader(data, task_of(task).per_position)(data, seed)[0]
    lengths = np.asarray(train.lengths() if callable(train.lengths) else train.lengths)
    return {"alphabet": train.alphabet.name, "records": int(len(lengths)), "residues": int(lengths.sum()),
            "median_length": float(np.median(lengths)) if len(lengths) else 0.0}


def default_params(data: DataOptions, train_cfg: TrainConfig, task: str = "classify",
                   alphabet: str | None = None) -> dict:
    """The defaults as a point of :data:`SPACE` (the alphabet's model defaults and ``train_cfg``)."""
    alphabet = alphabet or data.alphabet or data_profile(data, task)["alphabet"]
    model = {f: getattr(ModelConfig, f, None) for f in space_for(alphabet) if f not in TRAIN_PARAMS}
    model.update({k: v for k, v in alphabet_defaults(alphabet, task).items() if k in model})
    params = {**model, **{k: getattr(train_cfg, k) for k in TRAIN_PARAMS}}
    return {k: v for k, v in params.items() if k not in task_of(task).fixed}


@dataclass
class TuneResult:
    name: str
    folder: Path
    model_path: Path | None
    best_value: float | None
    best_params: dict = field(default_factory=dict)
    trials: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    ensemble: dict | None = None  # the ensemble decision (top_trials.final_model)


def tune(data: DataOptions, name: str | None = None, budget: float | str = "10m", *, seed: int = 0,
         resume: bool = False, max_trials: int | None = None, train_cfg: TrainConfig | None = None,
         model_options: dict | None = None, log_dir: str | os.PathLike | None = None,
         callback: Callable[[TuneProgress], None] | None = None,
         should_stop: Callable[[], bool] | None = None, ensemble: int = ENSEMBLE.default,
         claimed: Claim | None = None, out: str | os.PathLike | None = None, jobs: int | None = 1,
         clock: str = "wall", cv: int | None = None) -> TuneResult:
    """Run (or with ``resume`` continue) the study ``name`` for ``budget``; save its best model as ``name``
    (or to the file ``out``, the study then named after it).

    ``budget`` is wall-clock time, or with ``clock="cpu"`` the CPU time of every worker added up.
    ``model_options`` fix options the search leaves alone (e.g. ``task``); ``train_cfg`` gives the
    per-trial epochs, patience and the rest of the training options (its ``lr``, ``batch_size`` and
    ``weight_decay`` are the first trial's). ``jobs`` worker processes share the study (``None``: one per core
    on a CPU, :func:`bioseq.training.fidelity.jobs_for`). With ``ensemble`` k > 1 the saved model is the
    ensemble of the k best complete trials when its validation loss is lower than the best trial's
    (:mod:`bioseq.training.top_trials`); ``cv`` K scores each trial by K-fold CV (:func:`.cv.cv_trial`; the
    best trial is then saved, never an ensemble of trials). The name is claimed as a run's is
    (:mod:`bioseq.training.claims`; ``claimed``: a claim the caller holds); a resumed study must be on the same
    data (files, record options and seed) and task.
    """
    from .fit import detect_task

    budget_s = parse_budget(budget)
    base = check_inputs(data, train_cfg or TrainConfig(), max_trials, ensemble, jobs, clock, cv)
    fixed = dict(model_options or {})
    task = fixed["task"] = detect_task(data, fixed.get("task")).name
    if out is not None and name is None:
        name = Path(out).name.removesuffix(".safetensors")
    name = check_name(name or f"tune-{time.strftime('%Y%m%d-%H%M%S')}")
    folder = StudyFolder(log_dir) if log_dir else StudyFolder.named(name)
    if out is not None:
        out = check_output(out, data.inputs())
    else:
        out = model_path(name) if log_dir is None else folder.path / f"{name}.safetensors"
    held = claimed or claim(name, folder.path, out, resume=resume, resume_from=folder.db, kind="study")
    try:
        return _search(data, name, folder, out, budget_s, base, fixed, task, seed, resume, max_trials, callback,
                       should_stop, ensemble, jobs, clock, cv)
    finally:
        held.release()


def _plan(data: DataOptions, name: str, folder: StudyFolder, out: Path, budget_s: float, base: TrainConfig,
          fixed: dict, task: str, seed: int, jobs: int | None, clock: str) -> tuple[Searcher, dict]:
    """The workers' shared plan, and the data's profile."""
    import torch

    profile = data_profile(data, task, seed)
    gpu = torch.cuda.is_available() and base.device != "cpu"
    n = jobs_for(jobs, gpu)
    calibrate = amp_check_wanted(base.amp, base.device, torch.cuda.is_available(), cpu_bf16())
    return Searcher(data, name, str(folder.path), str(out), base, fixed, task, seed, budget_s, clock,
                    time.time() + budget_s, n, threads_for(n), profile["records"], profile["residues"],
                    calibrate, alphabet=profile["alphabet"]), profile


def _enqueue(study, data: DataOptions, base: TrainConfig, task: str, profile: dict, calibrate: bool) -> dict:
    """The warm start of a new study: the defaults (and their bf16 twin), then the portfolio of the data's kind."""
    defaults = default_params(data, base, task, profile["alphabet"])
    study.enqueue_trial(defaults, user_attrs={"role": FP32_ROLE})
    if calibrate:
        study.enqueue_trial(defaults, user_attrs={"role": BF16_ROLE})
    kind = kind_of(task_of(task).per_position, profile["alphabet"], profile["median_length"])
    chosen = portfolio(kind, defaults)
    for params, source in chosen:
        study.enqueue_trial(params, user_attrs={"role": "portfolio", "source": source})
    return {"kind": kind, "entries": [source for _, source in chosen]}


def _search(data: DataOptions, name: str, folder: StudyFolder, out: Path, budget_s: float, base: TrainConfig,
            fixed: dict, task: str, seed: int, resume: bool, max_trials: int | None, callback, should_stop,
            ensemble: int, jobs: int | None, clock: str, cv: int | None = None) -> TuneResult:
    """:func:`tune` once the study's name is claimed."""
    import torch

    print_ = fingerprint(data, data_files(data), seed)
    if resume:
        _check_same_data(folder, name, print_, task)
    searcher, profile = _plan(data, name, folder, out, budget_s, base, fixed, task, seed, jobs, clock)
    searcher.cv = cv
    study = searcher.open(0, create=not resume)
    warm = None if resume else _enqueue(study, data, base, task, profile, searcher.calibrate)
    folder.stop_path.unlink(missing_ok=True)
    folder.update(name=name, status="running", pid=os.getpid(), seed=seed, budget=budget_s, clock=clock,
                  data=asdict(data), task=task,
                  space={k: list(v[1]) for k, v in space_for(profile["alphabet"]).items()},
                  fingerprint=print_, cv=cv, started=folder.info().get("started") or time.strftime("%Y-%m-%dT%H:%M:%S"),
                  jobs=searcher.jobs, threads=searcher.threads, profile=profile,
                  subsample=f"trial epochs of about {TRIAL_EPOCH_RESIDUES:,} residues" if
                  profile["residues"] > TRIAL_EPOCH_RESIDUES and base.max_steps is None else None,
                  **({"portfolio": warm} if warm else {}))
    t0 = time.monotonic()
    quotas = _quotas(None if max_trials is None else max(0, max_trials - _finished(study)), searcher.jobs)
    threads = torch.get_num_threads()
    searcher.deadline = time.time() + budget_s  # the search's time starts now, setup done
    children = _spawn(searcher, quotas)
    try:
        torch.set_num_threads(searcher.threads)
        searcher.run(0, quotas[0], callback, should_stop)
    except BaseException as e:
        folder.stop_path.touch()
        folder.update(status="failed", error=str(e))
        raise
    finally:
        torch.set_num_threads(threads)
        for p in children:
            p.join()
        _fail_stale(study)
    errors = [v for k, v in folder.info().items() if k.startswith("worker_") and k.endswith("_error")]
    rows = trials_table(study)
    done = complete_trials(study)
    if errors and not done:
        folder.update(status="failed", error=errors[0])
        raise TrainingError(f"every worker of the study {name!r} failed: {errors[0]}")
    chosen = final_model(folder, study, out, name, 1 if cv else ensemble, data, seed, task) if done else None
    best = done[0] if done else None
    folder.update(status="done", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                  best_value=best.value if best else None, best_trial=best.number if best else None,
                  model_path=str(out) if best else None, ensemble=chosen)
    return TuneResult(name, folder.path, out if best else None, best.value if best else None,
                      best.params if best else {}, rows, time.monotonic() - t0, chosen)


def _quotas(remaining: int | None, jobs: int) -> list[int | None]:
    """Each worker's number of trials: ``remaining`` shared out (the first workers get one more), or no limit."""
    if remaining is None:
        return [None] * jobs
    return [remaining // jobs + (w < remaining % jobs) for w in range(jobs)]


def _spawn(searcher: Searcher, quotas: list[int | None]) -> list:
    """Worker processes 1… (spawned: a fresh interpreter, no forked threads), those with trials to run.

    A spawned child re-runs the parent's ``__main__`` script unless it has none: a user's script that calls
    ``tune`` without an ``if __name__ == "__main__"`` guard would start a search in every worker, and a Streamlit
    page (the dashboard, AppTest) leaves its page as ``__main__``. The workers need nothing from it (``run_worker``
    and the searcher come from bioseq), so they are started with a ``__main__`` that names no file."""
    import multiprocessing
    import sys
    import types

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=run_worker, args=(searcher, w, q), name=f"bioseq-tune-{searcher.name}-{w}")
             for w, q in enumerate(quotas) if w > 0 and q != 0]
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        for p in procs:
            p.start()
    finally:
        if main is not None:
            sys.modules["__main__"] = main
    return procs


def _fail_stale(study) -> None:
    """Mark trials still ``running`` once every worker is done (a worker that died) as failed."""
    import optuna

    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)


def _check_same_data(folder: StudyFolder, name: str, print_: dict, task: str) -> None:
    """Refuse to continue a study on other data than its own (its trials would mix two datasets)."""
    info = folder.info()
    diffs = differences(info["fingerprint"], print_) if "fingerprint" in info else []
    if info.get("task", task) != task:
        diffs.append(f"{ref('task', task)} (it used {info['task']})")
    if diffs:
        raise InputError(f"cannot resume the study {name!r} on other data: {'; '.join(diffs[:3])}; resume with the "
                         "study's data, or start a new study with another --name", str(folder.path))


def _finished(study) -> int:
    return sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))

