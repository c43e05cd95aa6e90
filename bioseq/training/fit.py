"""From files to a saved model: load, split, build, train, log and save, in one call.

The CLI's ``bioseq train``, the dashboard's Train page and :func:`bioseq.train` all call :func:`fit`.
A run writes its run folder (``--log-dir``, or ``$BIOSEQ_HOME/runs/<name>``) through
:class:`bioseq.training.runs.RunFolder`, the same way whoever starts it (``launcher``): ``run.json``
with live progress, ``metrics.csv``, ``gradients.csv`` and ``checkpoint.safetensors`` (see there).
The run's name is claimed first (:mod:`bioseq.training.claims`), the data hashed and the model path and card
checked before training (:mod:`bioseq.training.model_card`), and a resumed run must have the same data and
model options as the run it continues (:mod:`bioseq.data.fingerprint`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import runtime
from ..data.dataset import Dataset, load_dataset, parse_class_map, summarize
from ..data.fingerprint import data_files, differences, fingerprint
from ..data.io import read_blocks
from ..data.large import CachedDataset, hashed_leakage, load_cached, split_cached, summarize_cached, use_cache
from ..data.leakage import leakage
from ..data.position_labels import (
    PositionDataset,
    load_positions,
    split_positions,
    summarize_positions,
)
from ..data.profile import training_profile
from ..data.source import DataOptions
from ..data.splits import files_rule, split
from ..errors import InputError, TrainingError, ref
from ..model.classifier import SequenceClassifier
from ..model.config import PROTEIN_ONLY, ModelConfig
from ..model.store import ModelBundle, model_path, save_model
from ..options import alphabet_defaults, option
from ..outputs import check_output
from ..task import Task, detect, weight_warnings
from ..workspace import check_name, new_name, runs_dir
from . import distributed
from .claims import Claim, claim
from .config import TrainConfig, seed_everything
from .loop import Progress, TrainResult, train
from .model_card import Card
from .runs import RunFolder, error_message


def default_model_config(alphabet: str, alphabet_size: int, n_classes: int, **overrides) -> ModelConfig:
    """The default architecture for an alphabet (and task); ``overrides`` that are ``None`` are ignored.

    The defaults were measured (docs/training.md, "Defaults"): a small conv front end finds short motifs anywhere;
    a BiLSTM with forget-gate bias 1 carries them; the read-out differs by alphabet; a labeller keeps one
    output per position (no pooling). Each default, and where it differs by alphabet or task, is declared
    with its :class:`ModelConfig` field (:mod:`bioseq.options`).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if given.get("strand", "forward") != "forward" and alphabet != "dna":
        raise InputError(f"{ref('strand', given['strand'])} reads both DNA strands; {alphabet.upper()} has one "
                         f"strand to read (drop the option or use {ref('strand', 'forward')})")
    if given.get("encoding") in PROTEIN_ONLY and alphabet != "protein":
        raise InputError(f"{ref('encoding', given['encoding'])} encodes amino acids; this data is {alphabet.upper()} "
                         f"(use {ref('encoding', 'embedding')}, {ref('encoding', 'kmer')} or drop the option)")
    opts = alphabet_defaults(alphabet, given.get("task"))
    opts.update(given)
    return ModelConfig(alphabet_size=alphabet_size, n_classes=n_classes, **opts).validate()


def ensemble_result(nets: list, results: list[TrainResult], val_arrays, val_targets) -> tuple:
    """The ensemble of ``nets`` and its result: the members' mean probabilities scored on validation; the
    history, gradients and best epoch are the first member's."""
    from ..model.ensemble import Ensemble
    from ..task import task_of
    from .loop import evaluate

    model = Ensemble(nets).eval()
    device = next(nets[0].parameters()).device  # where the members were trained (a GPU, or the CPU)
    metrics, probs = evaluate(model, val_arrays, val_targets, device=device)
    first = results[0]
    confusion = task_of(model).bind(val_targets, model.cfg.n_classes).confusion(probs)
    return model, replace(first, val_metrics=metrics, confusion=confusion, seconds=sum(r.seconds for r in results),
                          interrupted=any(r.interrupted for r in results))


def detect_task(opts: DataOptions, task: str | None = None) -> Task:
    """The task of the training data (:func:`bioseq.task.detect`); a given ``task`` name wins."""
    return detect(opts.train, opts.labels_fasta, opts.mask, task, ignore_label=opts.ignore_label,
                  per_position=bool(opts.regions_labels))


def load_position_split(opts: DataOptions, seed: int = 0) -> tuple[PositionDataset, PositionDataset, dict]:
    """Training and validation per-position data: ``--val`` files (three-line, or with their ids in the same
    ``--labels-fasta`` and ``--mask`` files), or a split of the training records."""
    if opts.val:
        every = read_training(opts, True, [*opts.train, *opts.val])
        n_train = sum(1 for p in opts.train for _ in read_blocks(p, "fasta"))
        train_ds, val_ds = every.subset(range(n_train)), every.subset(range(n_train, len(every)))
        return train_ds, val_ds, {"method": "files", "val_fraction": len(val_ds) / max(len(every), 1)}
    ds = read_training(opts, True)
    train_ds, val_ds, rule = split_positions(ds, opts.val_fraction, seed, opts.split_identity)
    if len(val_ds) == 0 or len(train_ds) == 0:
        raise InputError(f"too few records ({len(ds)}) to hold out a validation set", ", ".join(opts.train))
    return train_ds, val_ds, rule


def read_training(opts: DataOptions, per_position: bool, files=None) -> Dataset | PositionDataset:
    """Every record of the training ``files`` (default ``opts.train``) in memory, labelled as the task reads them:
    one label per sequence (classes renamed, merged or dropped by ``--class-map``) or a label per position."""
    files = opts.train if files is None else files
    if not per_position:
        return load_dataset(files, labels=opts.labels, alphabet=opts.alphabet, max_length=opts.max_length,
                            length_policy=opts.length_policy, class_map=parse_class_map(opts.class_map))
    if opts.labels or opts.class_map:
        raise InputError("--labels and --class-map are for one label per sequence; per-position labels come from "
                         "a three-line FASTA or --labels-fasta")
    return load_positions(files, alphabet=opts.alphabet, labels_fasta=opts.labels_fasta, mask=opts.mask,
                          ignore_label=opts.ignore_label, max_length=opts.max_length,
                          length_policy=opts.length_policy)


@dataclass
class FitResult:
    bundle: ModelBundle
    result: TrainResult
    path: Path
    run_dir: Path
    summary: dict = field(default_factory=dict)
    val: Dataset | None = None

    def __repr__(self) -> str:  # the model in a line, never the validation set or the gradient records
        from ..model.card import short

        return short(self.bundle, self.result.val_metrics, "training result")

    def _repr_html_(self) -> str:
        from ..model.card import card_html

        return card_html(self.bundle, self.result.val_metrics,
                         {"best epoch": self.result.best_epoch, "saved": self.path, "logs": self.run_dir})


def load_split_rule(opts: DataOptions, seed: int = 0) -> tuple[Dataset, Dataset, dict]:
    """Training and validation data, and the rule it followed (:mod:`bioseq.data.splits`): ``--val`` files, a
    homology-aware split with ``--split-identity``, else a stratified split. Classes are renamed, merged
    or dropped by ``--class-map`` first."""
    class_map = parse_class_map(opts.class_map)
    if cached(opts):
        return load_cached_split(opts, seed, class_map)
    ds = read_training(opts, False)
    if opts.val:
        val = load_dataset(opts.val, labels=opts.labels, alphabet=ds.alphabet, classes=ds.classes,
                           max_length=opts.max_length, length_policy=opts.length_policy, class_map=class_map)
        return ds, val, files_rule(ds, val, opts.split_identity)
    train_ds, val_ds, rule = split(ds, opts.val_fraction, seed, opts.split_identity)
    if len(val_ds) == 0 or len(train_ds) == 0:
        raise InputError(f"too few records ({len(ds)}) to hold out a validation set", ", ".join(opts.train))
    return train_ds, val_ds, rule


def cached(opts: DataOptions, per_position: bool = False) -> bool:
    """Whether the training data is read through the encoded-sequence cache (``--cache``, :mod:`bioseq.data.large`):
    ``on``, or ``auto`` for large files; not for per-position labels, a homology split or genome regions (read in
    memory)."""
    if opts.regions:
        if opts.cache == "on":
            raise InputError(f"{ref('cache', 'on')} reads sequence files; {ref('regions')} are read in memory (use "
                             f"{ref('cache', 'off')})")
        return False
    if not use_cache(opts.cache, opts.train):
        return False
    if opts.cache == "on" and (per_position or opts.split_identity):
        raise InputError(f"{ref('cache', 'on')} reads one label per sequence with a stratified split or "
                         f"{ref('val')} files; per-position labels and {ref('split_identity')} are read in memory "
                         f"(use {ref('cache', 'off')})")
    return not (per_position or opts.split_identity)


def load_cached_split(opts: DataOptions, seed: int, class_map: dict) -> tuple[CachedDataset, CachedDataset, dict]:
    """:func:`load_split_rule` through the cache: the same records, labels, split and errors, in bounded memory."""
    kw = {"labels": opts.labels, "max_length": opts.max_length, "length_policy": opts.length_policy,
          "class_map": class_map}
    ds = load_cached(opts.train, alphabet=opts.alphabet, **kw)
    if opts.val:
        val = load_cached(opts.val, alphabet=ds.alphabet, classes=ds.classes, **kw)
        return ds, val, files_rule(ds, val)
    train_ds, val_ds = split_cached(ds, opts.val_fraction, seed)
    if len(val_ds) == 0 or len(train_ds) == 0:
        raise InputError(f"too few records ({len(ds)}) to hold out a validation set", ", ".join(opts.train))
    return train_ds, val_ds, {"method": "stratified", "val_fraction": len(val_ds) / len(ds), "seed": seed}


def loader(data: DataOptions, per_position: bool) -> Callable:
    """What reads ``data`` into ``(train, val, split rule)`` given ``(data, seed)``: genome regions
    (:func:`~bioseq.data.region_data.load_region_split`), per-position labels (:func:`load_position_split`) or one
    label per sequence (:func:`load_split_rule`)."""
    if data.regions:
        from ..data.region_data import load_region_split

        return lambda opts, seed: load_region_split(opts, seed, per_position)
    return load_position_split if per_position else load_split_rule


def targets_of(ds: Dataset | PositionDataset):
    """Class indices ``(N,)``, or one ``(length,)`` label track per record (``UNSCORED`` = not scored)."""
    return ds.targets() if isinstance(ds, PositionDataset) else ds.labels


def fit(data: DataOptions, model_options: dict | None = None, train_cfg: TrainConfig | None = None, *,
        out: str | os.PathLike | None = None, name: str | None = None, log_dir: str | os.PathLike | None = None,
        resume: bool = False, overwrite: bool = False, callback: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None, launcher: str = "python",
        claimed: Claim | None = None, rank_timeout: float = runtime.RANK_TIMEOUT) -> FitResult:
    """Train a model on ``data`` and save it to ``out`` or the registry under ``name``.

    The name is claimed first (:mod:`bioseq.training.claims`): a model or run of that name is refused unless
    ``overwrite`` (replace it) or ``resume`` (continue it, with the same data and model options), and so is a
    name being trained right now; ``claimed`` is a claim the caller already holds (the dashboard's). Before
    training, the model path must be writable and the model's metadata within the format's limits; when the
    save still fails, the run is marked failed and its checkpoint kept for ``--resume``.
    ``launcher`` (``cli``, ``dashboard``, ``python``) is recorded in ``run.json``. ``rank_timeout``: under
    torchrun, minutes a process waits for the others (``--rank-timeout``) before the run stops with one line.
    """
    train_cfg = train_cfg or TrainConfig()
    model_options = dict(model_options or {})
    held = claimed
    try:
        if name is not None or out is not None:  # claimed before the data is read: a taken name is said at once
            name, path, run = _destination(name, out, log_dir)
            check_output(path, data.inputs())  # never onto an input
            held = held or _claim(name, path, run, resume, overwrite, out)
        with runtime.watching(rank_timeout, "training stopped, no model written"):
            return _fit(data, model_options, train_cfg, out, name, log_dir, resume, overwrite, callback, should_stop,
                        launcher, rank_timeout)
    finally:
        if held is not None:
            held.release()


def _destination(name: str | None, out, log_dir) -> tuple[str, Path, RunFolder]:
    """The run's name, model path and run folder."""
    if out is None:
        name = check_name(name)
        path = model_path(name)
    else:
        path = Path(out)
        name = name or path.name.removesuffix(".safetensors")
    return name, path, RunFolder(log_dir if log_dir else runs_dir() / name)


def _claim(name: str, path: Path, run: RunFolder, resume: bool, overwrite: bool, out) -> Claim | None:
    """Rank 0's claim on the run (:func:`bioseq.training.claims.claim`); other ranks write nothing."""
    if not runtime.is_main():
        return None
    return claim(name, run.path, path, overwrite=overwrite, resume=resume, resume_from=run.checkpoint_path,
                 rename="--out" if out is not None else "--name")


def _fit(data: DataOptions, model_options: dict, train_cfg: TrainConfig, out, name, log_dir, resume: bool,
         overwrite: bool, callback, should_stop, launcher: str, rank_timeout: float) -> FitResult:
    task = detect_task(data, model_options.get("task"))
    model_options["task"], each_position = task.name, task.per_position
    load = loader(data, each_position)
    cached(data, each_position)  # refuses --cache on with per-position labels
    train_ds, val_ds, split_rule = load(data, train_cfg.seed)
    large = isinstance(train_ds, CachedDataset)
    summarize_ = summarize_positions if each_position else summarize_cached if large else summarize
    leak = hashed_leakage(train_ds, val_ds) if large else leakage(train_ds.ids, train_ds.seqs, val_ds.ids,
                                                                   val_ds.seqs, train_ds.alphabet.name != "protein")
    try:
        cfg = default_model_config(train_ds.alphabet.name, train_ds.alphabet.size, len(train_ds.classes),
                                   **model_options)
    except ValueError as e:  # e.g. --conv-pool 2 for data found to be per-position
        raise InputError(f"model options: {e}") from None
    held = None
    if name is None and out is None:  # a fresh name, claimed like a given one
        name = new_name(cfg.cell, train_ds.alphabet.name)
        held = _claim(*_destination(name, None, log_dir), resume, overwrite, None)
    name, path, run = _destination(name, out, log_dir)
    check_output(path, data.inputs())
    try:
        train_arrays, val_arrays = train_ds.encoded(), val_ds.encoded()
        files = data_files(data)  # what the save needs, read now: a file changed during training changes nothing
        summary = summarize_(train_ds)
        summary["notes"] = split_rule.pop("notes", [])  # e.g. chromosome names matched under another spelling
        summary["warnings"] = weight_warnings(summary["per_class"], train_cfg.class_weights, task.unit, task.word)
        card = Card(name, data, train_ds.alphabet, list(train_ds.classes), train_cfg, files, summary["per_class"],
                    summarize_(val_ds)["per_class"], split_rule, leak, training_profile(train_arrays),
                    str(run.path.resolve()), each_position)
        print_ = fingerprint(data, files, train_cfg.seed)
        if resume:
            _check_resume(run, name, cfg, print_)
        if not runtime.is_main():  # under torchrun only rank 0 writes the run folder and the model
            run, callback = distributed.ReadOnlyRun(run), None
        else:
            card.check(path, cfg)  # the model can be written, and its metadata is within the format's limits
            if overwrite:
                run.clear()  # the replaced run's checkpoints and logs
        run.start(name, launcher, model_path=str(path), model_config=cfg.to_dict(), train_config=asdict(train_cfg),
                  data=asdict(data), summary=summary, split=split_rule, leakage=leak, fingerprint=print_)
        try:
            nets, results = _train(cfg, train_cfg, train_ds, val_ds, train_arrays, val_arrays, run, resume,
                                   callback, should_stop, rank_timeout)
            model, result = (nets[0], results[0]) if len(nets) == 1 else ensemble_result(
                nets, results, val_arrays, targets_of(val_ds))
            bundle = card.bundle(model.cpu().eval(), result, results)
            if runtime.is_main():
                _save(path, bundle, run)
            run.finish(result, path)
        except BaseException as e:
            run.fail(e)
            raise
        return FitResult(bundle, result, path, run.path, summary, val_ds)
    finally:
        if held is not None:
            held.release()


def _train(cfg: ModelConfig, train_cfg: TrainConfig, train_ds, val_ds, train_arrays, val_arrays, run, resume: bool,
           callback, should_stop, rank_timeout: float) -> tuple[list, list[TrainResult]]:
    """One network per seed (an ensemble when ``seeds`` > 1), each with its checkpoint in the run folder."""
    def on_progress(p: Progress) -> None:
        run.progress(p)
        if callback:
            callback(p)

    nets, results = [], []
    for k in range(train_cfg.seeds):
        member_cfg = replace(train_cfg, seed=train_cfg.seed + k)
        if train_cfg.seeds > 1:
            run.begin_member(k + 1)  # each member's curves in their own metrics file
        seed_everything(member_cfg.seed, train_cfg.deterministic)  # the seed decides the initial weights too
        nets.append(SequenceClassifier(cfg))
        ckpt = run.checkpoint_path if k == 0 else run.path / f"checkpoint-{k + 1}.safetensors"
        results.append(train(nets[-1], train_arrays, targets_of(train_ds), val_arrays, targets_of(val_ds),
                             member_cfg, callback=on_progress, checkpoint_path=ckpt, resume=resume,
                             should_stop=should_stop, rank_timeout=rank_timeout))
        if results[-1].interrupted:
            break
    return nets, results


def _save(path: Path, bundle, run: RunFolder) -> None:
    """Save the model; if that fails, say so in one line that names the kept checkpoint."""
    try:
        save_model(path, bundle)
    except Exception as e:  # noqa: BLE001 - any failure: the trained weights are in the checkpoint
        kept = run.checkpoint_path if run.checkpoint_path.exists() else None
        raise TrainingError(f"{path}: the model could not be saved ({error_message(e)})" + (
            f"; the trained weights are kept in {kept}: fix that and run the same command with --resume to save "
            "them" if kept else "")) from None


def _check_resume(run: RunFolder, name: str, cfg: ModelConfig, print_: dict) -> None:
    """Refuse to continue a run with other data or model options (nothing of the run is changed)."""
    try:
        before = run.info()
    except InputError:  # no run.json: only the checkpoint can tell
        return
    diffs = differences(before["fingerprint"], print_) if "fingerprint" in before else []
    old, new = before.get("model_config") or {}, cfg.to_dict()
    diffs += [f"{_named(k, new[k])} (it used {_named(k, old[k])})" for k in new if k in old and old[k] != new[k]]
    if diffs:
        raise InputError(f"cannot resume the run {name!r} with other data or options: {'; '.join(diffs[:3])}"
                         + (f" and {len(diffs) - 3} more" if len(diffs) > 3 else "")
                         + "; resume with the run's data and options, or start again with --overwrite", str(run.path))


def _named(key: str, value) -> str:
    """``--hidden 8`` for an option, ``n_classes 3`` for the rest of a model config."""
    try:
        option(key)
    except KeyError:
        return f"{key} {value}"
    return ref(key, value)
