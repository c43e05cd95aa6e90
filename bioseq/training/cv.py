"""Cross-validation: ``bioseq cv FILE… --folds K``, :func:`bioseq.cv` and ``bioseq tune --cv K``.

The training records are dealt into K folds (:mod:`bioseq.data.folds`: identical sequences, or with
``--split-identity`` whole homology clusters, in one fold; classes stratified). Fold k is the test set of a model
trained on the other K-1 folds, with an inner validation part split from them as ``bioseq train`` splits
(:func:`bioseq.data.splits.split`, for early stopping and the best epoch); the model options, defaults and
training are ``bioseq train``'s. Each fold's model is scored on its fold by the task's evaluation (the figures of
``bioseq evaluate``: :meth:`~bioseq.metrics.classification.Evaluation.figures`) and its cross-entropy ``loss``
there. The summary of each figure is its mean over folds and its sample standard deviation (``ddof`` 1); a figure
undefined in any fold (NaN) has a NaN mean.

A CV run is one run folder (:mod:`bioseq.training.runs`): ``run.json`` with ``cv`` (``folds``: the per-fold
figures, ``mean``, ``sd``, ``sizes``, ``split``), fold k's curves in its member metrics file (``metrics.csv``,
``metrics-<k>.csv``; each fold's inner validation), ``val_metrics`` the mean and ``confusion`` the test
confusions summed over folds. With ``ensemble`` the K fold models are saved as one ensemble model file
(:mod:`bioseq.model.ensemble`), its card holding the ``cv`` summary. Names are claimed as for ``train``
(:mod:`bioseq.training.claims`): a taken name is refused without ``overwrite``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import runtime
from ..data.dataset import summarize
from ..data.fingerprint import data_files
from ..data.folds import chromosome_folds, make_folds
from ..data.position_labels import split_positions, summarize_positions
from ..data.profile import training_profile
from ..data.source import DataOptions
from ..data.splits import split
from ..errors import InputError, ref
from ..metrics.classification import fmt
from ..model.classifier import SequenceClassifier
from ..model.ensemble import Ensemble
from ..model.store import model_path, save_model
from ..option_spec import Option
from ..outputs import check_output
from ..workspace import check_name, new_name, runs_dir
from .claims import claim
from .config import TrainConfig, seed_everything
from .fit import default_model_config, detect_task, read_training, targets_of
from .loop import Progress, evaluate, train
from .model_card import Card
from .runs import RunFolder
from .search import FOLDS

FOLD_BY = Option("fold_by", "cv", str, "record", "what a fold holds: records (identical sequences, or with "
                 "--split-identity homology clusters, kept whole; classes stratified) or, for genome regions "
                 "(--regions), whole chromosomes", choices=("record", "chrom"), nullable=False)


def summarize_folds(folds: list[dict]) -> tuple[dict, dict]:
    """``(mean, sd)`` of each figure over ``folds`` (one dict per fold): the mean, and the sample standard
    deviation (``ddof`` 1, NaN for one fold); NaN where a fold lacks the figure or has NaN."""
    keys = list(dict.fromkeys(k for f in folds for k in f))
    mean, sd = {}, {}
    for k in keys:
        values = [float(f.get(k, math.nan)) for f in folds]
        n = len(values)
        m = mean[k] = math.fsum(values) / n if n else math.nan
        sd[k] = math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return mean, sd


def fold_table(folds: list[dict], mean: dict, sd: dict) -> list[dict]:
    """One row per figure: ``metric``, ``mean``, ``sd``, ``fold 1`` … ``fold K`` (a CV run's summary table)."""
    return [{"metric": k, "mean": mean[k], "sd": sd[k],
             **{f"fold {i}": f.get(k, math.nan) for i, f in enumerate(folds, 1)}} for k in mean]


@dataclass
class CVResult:
    """The figures of a cross-validation: per fold, mean and sd (see the module docstring)."""

    folds: list[dict]
    mean: dict
    sd: dict
    sizes: list[int]
    split: dict
    task: str
    classes: list[str]
    run_dir: Path
    model_path: Path | None = None
    seconds: float = 0.0
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    results: list = field(default_factory=list, repr=False)  # each fold's TrainResult
    config: dict = field(default_factory=dict, repr=False)  # the model options (ModelConfig.to_dict())

    def as_json(self) -> dict:
        """What ``bioseq cv --json`` prints: ``folds`` (a list of metric → value), ``mean``, ``sd`` and context."""
        return {"folds": self.folds, "mean": self.mean, "sd": self.sd, "fold_sizes": self.sizes,
                "split": self.split, "task": self.task, "classes": self.classes, "run": str(self.run_dir),
                "model": str(self.model_path) if self.model_path else None, "seconds": self.seconds,
                "interrupted": self.interrupted, "warnings": self.warnings}

    def table(self) -> list[dict]:
        """One row per figure: ``metric``, ``fold 1`` … ``fold K``, ``mean``, ``sd`` (:func:`fold_table`)."""
        return fold_table(self.folds, self.mean, self.sd)

    def report(self) -> list[str]:
        """The table in text: per fold, then mean ± sd."""
        width = max([len(k) for k in self.mean] + [6])
        head = f"{'metric':<{width}} " + " ".join(f"{'fold ' + str(i):>8}" for i in range(1, len(self.folds) + 1))
        lines = [head + "   mean ± sd"]
        for row in self.table():
            cells = " ".join(f"{fmt(float(row[f'fold {i}'])):>8}" for i in range(1, len(self.folds) + 1))
            lines.append(f"{row['metric']:<{width}} {cells}   {fmt(row['mean'])} ± {fmt(row['sd'])}")
        lines.append(f"{'records':<{width}} " + " ".join(f"{n:>8}" for n in self.sizes))
        return lines


@dataclass
class Pool:
    """The records dealt into folds (``ds``) and what comes with them: for genome regions each record's chromosome,
    the records of ``--val-chroms`` (every fold's inner validation, never tested) and the hold-out in ``rule``."""

    ds: object
    val: object = None
    chroms: list[str] | None = None
    rule: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_pool(data: DataOptions, per_position: bool, seed: int) -> Pool:
    """The records to cross-validate, read as ``bioseq train`` reads them (:func:`~bioseq.training.fit.read_training`,
    or :func:`~bioseq.data.region_data.read_regions` for genome regions, the same reader as training's): for regions,
    the records on ``--test-chroms`` are left out (the final test set, never in a fold) and those on
    ``--val-chroms`` are every fold's inner validation."""
    if not data.regions:
        return Pool(read_training(data, per_position))
    from ..data.region_data import chromosome_split, read_regions

    ds, chroms, val_chroms, test_chroms, notes = read_regions(data, seed, per_position)
    train, val, test = chromosome_split(chroms, val_chroms, test_chroms)
    where = ", ".join(data.regions)
    if not train:
        raise InputError("no regions left to cross-validate after holding out the validation and test chromosomes",
                         where)
    if val_chroms and not val:
        raise InputError(f"no regions on the validation chromosomes ({ref('val_chroms', data.val_chroms)})", where)
    rule = {"regions": len(ds), "test_chroms": sorted(test_chroms), "test_records": len(test)}
    if val_chroms:
        rule.update(val_chroms=sorted(val_chroms), val_records=len(val))
    return Pool(ds.subset(train), ds.subset(val) if val_chroms else None, [chroms[i] for i in train], rule, notes)


def _inner_split(ds, fraction: float, seed: int, identity: float | None, per_position: bool):
    """The inner ``(train, validation, rule)`` of a fold's training part, as ``bioseq train`` splits."""
    train_ds, val_ds, rule = (split_positions if per_position else split)(ds, fraction, seed, identity)
    if not len(train_ds) or not len(val_ds):
        raise InputError(f"too few records ({len(ds)}) in the training folds to hold out a validation part; give "
                         f"fewer {ref('folds')} or more data", ", ".join(ds.files))
    return train_ds, val_ds


def _check(data: DataOptions, train_cfg: TrainConfig, k: int, ensemble: bool, out, fold_by: str) -> None:
    """Refuse what cross-validation cannot do, before anything is read (one line each)."""
    FOLDS.check(k, InputError)
    FOLD_BY.check(fold_by, InputError)
    data.validate()
    train_cfg.validate()
    if fold_by == "chrom" and not data.regions:
        raise InputError(f"{ref('fold_by', 'chrom')} deals whole chromosomes into folds: it needs genome regions "
                         f"({ref('regions')} with {ref('genome')})")
    if fold_by == "chrom" and data.split_identity:
        raise InputError(f"{ref('fold_by', 'chrom')} keeps whole chromosomes in a fold; {ref('split_identity')} "
                         f"makes homology-aware folds of records ({ref('fold_by', 'record')}): give one of them")
    if data.val:
        raise InputError(f"cross-validation holds out each fold in turn and splits validation from the other folds; "
                         f"drop {ref('val')} (or train with it)")
    if train_cfg.seeds > 1:
        raise InputError(f"cross-validation trains one network per fold; drop {ref('seeds', train_cfg.seeds)} "
                         "(--ensemble saves the folds' networks as one ensemble)")
    if data.cache == "on":
        raise InputError(f"cross-validation reads its records in memory; use {ref('cache', 'off')}")
    if out is not None and not ensemble:
        raise InputError("--out saves the folds' ensemble model: add --ensemble (or give --name for the run)")
    if runtime.active():
        raise InputError("cross-validation runs in one process; run bioseq cv without torchrun")


def cross_validate(data: DataOptions, model_options: dict | None = None, train_cfg: TrainConfig | None = None,
                   folds: int = 10, *, name: str | None = None, out: str | os.PathLike | None = None,
                   log_dir: str | os.PathLike | None = None, ensemble: bool = False, overwrite: bool = False,
                   callback: Callable[[Progress], None] | None = None,
                   on_fold: Callable[[int, int, dict | None], None] | None = None,
                   should_stop: Callable[[], bool] | None = None, launcher: str = "python",
                   fold_by: str = "record") -> CVResult:
    """K-fold cross-validation of the options of ``bioseq train`` on ``data`` (see the module docstring).

    The run is ``$BIOSEQ_HOME/runs/<name>`` (or ``log_dir``); with ``ensemble`` the K fold models are saved as one
    ensemble model, to ``out`` or the registry as ``name``. ``callback`` gets each fold's training progress,
    ``on_fold(k, K, figures)`` each fold's start (``figures`` ``None``) and end; ``should_stop`` stops the
    fold in training and the run (``interrupted``; no model saved). ``fold_by`` ``chrom`` (genome regions): whole
    chromosomes in a fold (:data:`FOLD_BY`)."""
    train_cfg = train_cfg or TrainConfig()
    model_options = dict(model_options or {})
    _check(data, train_cfg, folds, ensemble, out, fold_by)
    if out is not None and name is None:
        name = Path(out).name.removesuffix(".safetensors")
    held = _claim(data, name, out, log_dir, ensemble, overwrite) if name is not None else None
    try:
        task = detect_task(data, model_options.get("task"))
        model_options["task"] = task.name
        pool = read_pool(data, task.per_position, train_cfg.seed)
        ds = pool.ds
        try:
            cfg = default_model_config(ds.alphabet.name, ds.alphabet.size, len(ds.classes), **model_options)
        except ValueError as e:
            raise InputError(f"model options: {e}") from None
        if held is None:
            name = new_name(f"cv-{cfg.cell}", ds.alphabet.name)
            held = _claim(data, name, None, log_dir, ensemble, overwrite)
        return _run(data, cfg, train_cfg, task, pool, folds, fold_by, name, held.model, RunFolder(held.folder),
                    callback, on_fold, should_stop, launcher)
    finally:
        if held is not None:
            held.release()


def _claim(data: DataOptions, name: str, out, log_dir, ensemble: bool, overwrite: bool):
    """The run's claim (and the ensemble model's path, checked never to be an input file)."""
    name = check_name(name)
    path = None
    if ensemble:
        path = Path(out) if out is not None else model_path(name)
        check_output(path, data.inputs())
    folder = Path(log_dir) if log_dir else runs_dir() / name
    return claim(name, folder, path, overwrite=overwrite, rename="--out" if out is not None else "--name",
                 resumable=False)


def _run(data: DataOptions, cfg, train_cfg: TrainConfig, task, pool: Pool, k: int, fold_by: str, name: str,
         path: Path | None, run: RunFolder, callback, on_fold, should_stop, launcher: str) -> CVResult:
    """The folds of :func:`cross_validate` once the name is claimed and the data read."""
    ds, where = pool.ds, ", ".join(data.regions or data.train)
    strata = np.zeros(len(ds), dtype=np.int64) if task.per_position else ds.labels
    if fold_by == "chrom":
        fold_of, rule = chromosome_folds(pool.chroms, k, train_cfg.seed, where)
    else:
        fold_of, rule = make_folds(ds.seqs, strata, k, train_cfg.seed, data.split_identity,
                                   ds.alphabet.name != "protein", where=where)
    rule.update(pool.rule)
    sizes = [int((fold_of == f).sum()) for f in range(k)]
    counts = {} if task.per_position else dict(zip(ds.classes, np.bincount(strata, minlength=len(ds.classes))))
    warnings = [f"{task.word} {c!r} has {n} records, fewer than the {k} folds: some test folds lack it, and figures "
                "that need it (AUROC, its F1) are undefined there (NaN); give fewer --folds"
                for c, n in counts.items() if 0 < n < k]
    summary = (summarize_positions if task.per_position else summarize)(ds)
    summary["notes"] = pool.notes  # e.g. chromosome names matched under another spelling
    card = Card(name, data, ds.alphabet, list(ds.classes), train_cfg, data_files(data), summary["per_class"],
                summary["per_class"], rule, None, training_profile(ds.encoded()), str(run.path.resolve()),
                task.per_position)
    if path is not None:
        replace(card, train_cfg=replace(train_cfg, seeds=k)).check(path, cfg)  # the K-member model can be saved
    run.clear()  # the claim allowed it: a fresh run, or --overwrite
    run.start(name, launcher, model_path=str(path or ""), model_config=cfg.to_dict(), train_config=asdict(train_cfg),
              data=asdict(data), summary=summary, split=rule, cv={"folds": [], "k": k, "sizes": sizes})
    figures, nets, results, confusion = [], [], [], None
    try:
        for f in range(k):
            if on_fold:
                on_fold(f + 1, k, None)
            test, rest = ds.subset(np.flatnonzero(fold_of == f)), ds.subset(np.flatnonzero(fold_of != f))
            inner_train, inner_val = (rest, pool.val) if pool.val is not None else _inner_split(
                rest, data.val_fraction, train_cfg.seed, data.split_identity, task.per_position)
            run.begin_member(f + 1)
            seed_everything(train_cfg.seed, train_cfg.deterministic)
            net = SequenceClassifier(cfg)
            result = train(net, inner_train.encoded(), targets_of(inner_train), inner_val.encoded(),
                           targets_of(inner_val), train_cfg, callback=_both(run.progress, callback),
                           should_stop=should_stop)  # no checkpoint: a cross-validation is not resumed
            results.append(result)
            if result.interrupted:
                break
            scores, probs = evaluate(net, test.encoded(), targets_of(test), device=next(net.parameters()).device)
            ev = task.evaluation(ds.classes, test, probs)
            figures.append({**ev.figures(), "loss": float(scores["loss"])})
            nets.append(net.cpu().eval())
            confusion = ev.confusion if confusion is None else (np.asarray(confusion) + ev.confusion).tolist()
            run.update(cv=_summary(figures, k, sizes, rule))  # the folds so far, for the dashboard
            if on_fold:
                on_fold(f + 1, k, figures[-1])
        cv = _summary(figures, k, sizes, rule)
        mean, sd, interrupted = cv["mean"], cv["sd"], len(figures) < k
        first = replace(results[0], val_metrics=mean, confusion=confusion or [],
                        seconds=sum(r.seconds for r in results), interrupted=interrupted)
        saved = None
        if path is not None and not interrupted:
            bundle = card.bundle(Ensemble(nets).eval(), first, results)
            bundle.meta["ensemble"] = {"origin": f"{k}-fold cross-validation", "folds": k,
                                       "member_val_metrics": [r.val_metrics for r in results],
                                       "member_histories": [r.history for r in results]}
            bundle.meta["cv"] = cv
            saved = save_model(path, bundle)
        run.finish(first, saved or "")
        run.update(cv=cv)
    except BaseException as e:
        run.fail(e)
        raise
    return CVResult(figures, mean, sd, sizes, rule, task.name, list(ds.classes), run.path, saved,
                    first.seconds, interrupted, warnings, results, cfg.to_dict())


def cv_trial(trial, data: DataOptions, model_options: dict, train_cfg: TrainConfig, k: int, where: Path, name: str,
             should_stop: Callable[[], bool], callback: Callable[[Progress], None] | None = None) -> float:
    """A trial of ``bioseq tune --cv K`` (an Optuna trial): the mean test loss of a K-fold cross-validation of the
    trial's options, its run and model in ``where`` (the model: the ensemble of the K fold models). A trial
    stopped by the budget before its last fold is pruned."""
    import optuna

    r = cross_validate(data, model_options, train_cfg, k, name=name, out=where / "model.safetensors",
                       log_dir=where, ensemble=True, callback=callback, should_stop=should_stop, launcher="tune")
    trial.set_user_attr("val_accuracy", r.mean.get("accuracy"))
    trial.set_user_attr("model_options", r.config)
    trial.set_user_attr("stopped_by_budget", r.interrupted)
    trial.set_user_attr("cv", {"mean": r.mean, "sd": r.sd})
    if r.interrupted:
        raise optuna.TrialPruned(f"stopped by the budget after {len(r.folds)} of {k} folds")
    return r.mean["loss"]


def _summary(figures: list[dict], k: int, sizes: list[int], rule: dict) -> dict:
    """``run.json``'s ``cv`` (and the model card's): the folds' figures so far, their mean and sd, the fold sizes
    and the rule that made the folds."""
    mean, sd = summarize_folds(figures)
    return {"folds": figures, "mean": mean, "sd": sd, "k": k, "sizes": sizes, "split": rule}


def _both(first: Callable, second: Callable | None) -> Callable:
    def call(p) -> None:
        first(p)
        if second:
            second(p)
    return call
