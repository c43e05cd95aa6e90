"""The ``bioseq`` command line: train, tune, predict, scan, variants, evaluate, models, info,
inspect and check-overlap.

Every command has ``--help``. Errors print one line naming the file (and record) and exit with a
non-zero status; no traceback (set ``BIOSEQ_DEBUG=1`` to see one) and no partial output file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Collection, Sequence
from types import MappingProxyType

from ..errors import BioseqError
from ..version import __version__
from .arguments import add_destination, add_option, add_option_arguments
from .device import add_device_arguments, add_rank_timeout
from .progress import progress_printer as _progress_printer

EXIT_INPUT = 2
REGION_OPTIONS = ("test_chroms", "width", "flank", "background", "background_bed", "bed_label_column",
                  "regions_labels")  # bioseq evaluate --regions BED --genome FASTA, read as training reads them


def _fmt(v) -> str:
    return "nan" if isinstance(v, float) and math.isnan(v) else f"{v:.4f}" if isinstance(v, float) else str(v)


def cmd_train(a: argparse.Namespace) -> int:
    from ..interpret.diagnose import diagnose_model
    from ..options import settable, split_options
    from ..task import task_of
    from ..training.fit import fit

    data, model_opts, tc = split_options(a.train, {o.name: getattr(a, o.name) for o in settable() if o.cli})
    if a.resume and not (a.name or a.out or a.log_dir):
        raise BioseqError("--resume needs --name, --out or --log-dir to find the interrupted run")
    from .. import runtime
    from ..training.crowding import crowding

    crowd = crowding(exclude=a.name) if runtime.is_main() else None
    if crowd is not None:
        print(f"bioseq: note: {crowd.text()}", file=sys.stderr)
    r = fit(data, model_opts, tc, out=a.out, name=a.name, log_dir=a.log_dir, resume=a.resume, overwrite=a.overwrite,
            callback=None if a.quiet else _progress_printer(), launcher="cli", rank_timeout=a.rank_timeout)
    runtime.finish()
    if not runtime.is_main():
        return 0  # rank 0 reports
    s = r.summary
    task = task_of(r.bundle)
    what = task.summary(s)
    print(f"data: {s['records']} training records {what}, {s['alphabet']}, length "
          f"{s['length_min']}-{s['length_max']} (median {s['length_median']:g})"
          + (f", {s['truncated']} cut to {a.max_length} keeping the {a.length_policy}" if s["truncated"] else ""),
          file=sys.stderr)
    for note in s.get("notes", ()):
        print(f"bioseq: note: {note}", file=sys.stderr)
    for warning in s.get("warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)
    m = r.result.val_metrics
    weakest = task.weakest(r.result.confusion, r.bundle.classes)  # a rare label's F1 beside the means
    print(f"validation (best epoch {r.result.best_epoch}{task.scope}): "
          + "  ".join([*(f"{k} {_fmt(m[k])}" for k in task.headline), *([weakest] if weakest else [])]),
          file=sys.stderr)
    print("confusion (rows true, columns predicted; " + ", ".join(r.bundle.classes) + "): "
          + str(r.result.confusion), file=sys.stderr)
    # a labeller's memory is measured per position and its findings say labels and positions
    print(diagnose_model(r.bundle, r.val.ids, r.val.seqs, r.result.gradients, r.result.history).text(),
          file=sys.stderr)
    print(f"logs: {r.run_dir}", file=sys.stderr)
    print(r.path)
    return 0


def cmd_predict(a: argparse.Namespace) -> int:
    from collections import Counter

    from .. import runtime
    from ..prediction.novelty import summary
    from ..prediction.predict import predict_files
    from ..task import task_of
    from .device import load

    bundle = load(a.model, a.device)
    flagged: Counter = Counter()
    n = predict_files(bundle, a.files, a.output, fmt=a.format, chunk_size=a.chunk_size, batch_size=a.batch_size,
                      with_sequence=a.with_sequence, rank_timeout=a.rank_timeout, flagged=flagged)
    if not runtime.is_main():
        return 0
    if a.output not in (None, "-"):
        print(f"wrote {n} {task_of(bundle).written}predictions to {a.output}", file=sys.stderr)
    warning = summary(flagged)
    if warning:
        print(f"bioseq: warning: {warning} See the unlike_training column.", file=sys.stderr)
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from ..model.store import load_model, resolve
    from ..prediction.evaluate import evaluate_files, evaluate_regions

    bundle = load_model(resolve(a.model))
    if a.regions or a.genome:
        if a.files or a.labels or a.labels_fasta or a.mask:
            raise BioseqError("give sequence files (with their labels) or --regions with --genome, not both")
        ev = evaluate_regions(bundle, a.regions or [], a.genome, **{k: getattr(a, k) for k in REGION_OPTIONS})
    elif not a.files:
        raise BioseqError("nothing to evaluate: give labelled sequence files, or --regions BED files with --genome")
    else:
        ev = evaluate_files(bundle, a.files, labels=a.labels, labels_fasta=a.labels_fasta, mask=a.mask,
                            ignore_label=a.ignore_label)
    print(json.dumps(ev.as_json(), indent=1, default=float) if a.json else "\n".join(ev.report()))
    return 0


def cmd_models(a: argparse.Namespace) -> int:
    from ..model.store import delete_model, list_models, rename_model
    from ..workspace import workspace

    if a.action == "rename":
        print(rename_model(a.old, a.new, overwrite=a.overwrite))
        return 0
    if a.action == "delete":
        if not (a.yes or _confirmed(f"delete model {a.name!r} for good? [y/N] ")):
            raise BioseqError(f"{a.name}: not deleted; add --yes to delete it without a question")
        delete_model(a.name)
        print(f"deleted model {a.name}", file=sys.stderr)
        return 0
    rows = list_models(include_bundled=True)
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    if not any(not r["bundled"] for r in rows):
        print(f"no models in {workspace()}", file=sys.stderr)
    if not rows:
        return 0
    print(f"{'name':<40} {'alphabet':<8} {'val acc':>7}  {'created':<25} architecture")
    for r in rows:
        if "error" in r:
            print(f"{r['name']:<40} DAMAGED: {r['error']}")
            continue
        acc = r.get("val_accuracy")
        created = "bundled (read-only)" if r["bundled"] else r["created"] or ""
        print(f"{r['name']:<40} {r['alphabet'] or '?':<8} {_fmt(acc) if acc is not None else '-':>7}  "
              f"{created:<25} {r['architecture']}")
    return 0


def _confirmed(question: str) -> bool:
    """The user's yes at a terminal; never yes when standard input is not one (a script must say --yes)."""
    if not sys.stdin.isatty():
        return False
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def cmd_info(a: argparse.Namespace) -> int:
    from ..model import bundled
    from ..model.card import describe_model
    from ..model.store import read_meta, resolve
    from ..task import task_of

    meta = read_meta(resolve(a.model))
    if a.json:
        print(json.dumps(meta, indent=1))
        return 0
    t = meta.get("training") or {}
    length = meta.get("length") or {}  # read_meta checked its fields
    lines = [
        f"name:          {meta.get('name')}",
        f"architecture:  {describe_model(meta)}",
        "alphabet:      {name} ({letters}; {rule})".format(**{"rule": "", **meta["alphabet"]}),
        task_of(meta).describe(meta),
        f"length:        max {length.get('max_length') or 'none'}, keep {length.get('policy', 'start')}",
        f"created:       {meta.get('created')}  seed {meta.get('seed')}",
        "versions:      " + ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items()),
        *(f"{k + ':':<14} {v}" for k, v in bundled.card_rows(meta)),
    ]
    if t:
        task = task_of(meta)
        lines.append(f"trained on:    {task.counted(t.get('counts'))} ({task.unit} per {task.word}); best epoch "
                     f"{t.get('best_epoch')}, {t.get('seconds', 0):.0f}s")
        for f in t.get("files", []):
            lines.append(f"  {f['role']:<5} {f['path']}  sha256 {f['sha256'][:16]}…")
        lines += _split_lines(t)
        if meta.get("ensemble"):
            e = meta["ensemble"]
            lines.append(f"ensemble:      {len(e.get('members', []))} members ({e.get('origin', 'seeds')}), "
                         "probabilities averaged")
        vm = t.get("val_metrics") or {}
        sd = (meta.get("cv") or {}).get("sd") or {}  # bioseq cv: the folds' mean test figures ± their sd
        lines.append(("cross-val:     " if sd else "validation:    ") + "  ".join(
            f"{k} {_fmt(vm[k])}" + (f" ± {_fmt(sd[k])}" if k in sd else "")
            for k in ("accuracy", "balanced_accuracy", "auroc", "mcc", "f1") if k in vm))
    print("\n".join(lines))
    return 0


def _split_lines(training: dict) -> list[str]:
    from ..data.leakage import describe_leakage
    from ..data.splits import describe_split

    return [f"split:         {describe_split(training.get('split'))}",
            f"leakage:       {describe_leakage(training.get('leakage'))}"]


def cmd_inspect(a: argparse.Namespace) -> int:
    from .inspect import run_inspect

    return run_inspect(a)


def _train_arguments(t: argparse.ArgumentParser) -> None:
    t.description = ("Train a model: a classifier (one class per sequence: labels from label=VALUE header tokens, "
                     "--labels, or one file per class, several files whose headers carry no labels) or a labeller (a "
                     "label per position: three-line FASTA, or --labels-fasta; --task label, detected from the "
                     "files), on sequence files or on genome regions (--regions BED files with --genome FASTA, "
                     "held out by chromosome with --val-chroms). Every option is also an argument of "
                     "bioseq.train() and a field of the dashboard's Train form.")
    add_option_arguments(t)
    o = t.add_argument_group("run")
    o.add_argument("--log-dir", metavar="DIR", help="write metrics.csv, gradients.csv and checkpoints here")
    o.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint "
                   "(the same data and model options)")
    o.add_argument("--overwrite", action="store_true", help="replace the model and run of this --name or --out "
                   "(refused without it)")
    o.add_argument("--quiet", action="store_true", help="no progress output")
    add_destination(t, "save the model file here", "save the model in the workspace registry under this name")
    add_rank_timeout(o)
    t.set_defaults(func=cmd_train)


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    from ..data.io import CHUNK_SIZE

    p.description = ("Writes CSV: id, prediction, p_<class> per class, in input order. For a labeller: id, position "
                     "(1-based), letter, prediction, p_<label> per label, one row per letter; with --format fasta, "
                     "three-line FASTA with the predicted label string.")
    p.add_argument("model", metavar="MODEL", help="model file or registry name")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="output CSV (default or '-': standard output)")
    add_option(p, CHUNK_SIZE)
    p.add_argument("--with-sequence", action="store_true", help="add each record's sequence as a last column")
    p.add_argument("--format", choices=("csv", "fasta"), help="labellers: csv (default, one row per position) or "
                   "fasta (three-line FASTA: header, sequence, predicted labels)")
    add_device_arguments(p, "records per forward pass (512; labellers 128)")
    add_rank_timeout(p)
    p.set_defaults(func=cmd_predict)


def _evaluate_arguments(e: argparse.ArgumentParser) -> None:
    e.description = ("Metrics of a model on labelled sequence files, or on genome regions read as training reads "
                     "them (--regions BED files with --genome; --test-chroms scores the chromosomes a run held out; "
                     "--width, --flank, --background and --bed-label-column default to the model's training run's).")
    e.add_argument("model", metavar="MODEL")
    e.add_argument("files", nargs="*", metavar="FILE")
    add_option_arguments(e, groups=(), names=("regions", "genome", *REGION_OPTIONS))
    e.add_argument("--labels", metavar="F", help="CSV or TSV with columns id,label")
    e.add_argument("--labels-fasta", nargs="+", metavar="FILE", help="labellers: label FASTA files matched by id "
                   "(default: the files are three-line FASTA)")
    e.add_argument("--mask", nargs="+", metavar="FILE", help="labellers: 0/1 FASTA files of scored positions")
    e.add_argument("--ignore-label", metavar="CHAR", help="labellers: a label never scored (default: the model's)")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=cmd_evaluate)


def _models_arguments(m: argparse.ArgumentParser) -> None:
    m.description = "Without an action: list the models in the workspace registry."
    m.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models, action=None)
    ma = m.add_subparsers(dest="action", metavar="ACTION")
    r = ma.add_parser("rename", help="rename a registry model (the file and the name inside it)")
    r.add_argument("old", metavar="OLD")
    r.add_argument("new", metavar="NEW")
    r.add_argument("--overwrite", action="store_true", help="replace a model called NEW (refused without it)")
    d = ma.add_parser("delete", help="delete a registry model (asks first; --yes in a script)")
    d.add_argument("name", metavar="NAME")
    d.add_argument("--yes", action="store_true", help="delete without asking (needed when not at a terminal)")


def _info_arguments(i: argparse.ArgumentParser) -> None:
    i.add_argument("model", metavar="MODEL")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=cmd_info)


def _inspect_arguments(p: argparse.ArgumentParser) -> None:
    from .inspect import add_inspect_arguments

    add_inspect_arguments(p, cmd_inspect)


def _scan_arguments(p: argparse.ArgumentParser) -> None:
    from .scan import add_scan_arguments

    add_scan_arguments(p)


def _variants_arguments(p: argparse.ArgumentParser) -> None:
    from .variants import add_variants_arguments

    add_variants_arguments(p)


def _overlap_arguments(p: argparse.ArgumentParser) -> None:
    from .overlap import add_overlap_arguments

    add_overlap_arguments(p)


def _cv_arguments(p: argparse.ArgumentParser) -> None:
    from .cv import add_cv_arguments

    add_cv_arguments(p)


def _tune_arguments(p: argparse.ArgumentParser) -> None:
    from .tune import add_tune_arguments

    add_tune_arguments(p)


# name: (what `bioseq --help` says, the function that adds the command's arguments)
COMMANDS = MappingProxyType({
    "train": ("train a classifier or a per-position labeller on labelled sequence files", _train_arguments),
    "predict": ("predict classes (or per-position labels) for sequence files", _predict_arguments),
    "evaluate": ("metrics of a model on labelled files", _evaluate_arguments),
    "models": ("list the models in the workspace registry (rename or delete one)", _models_arguments),
    "info": ("print a model card", _info_arguments),
    "inspect": ("look inside a trained model (saliency, gates, gradients, ...)", _inspect_arguments),
    "scan": ("slide a classifier along long records (genome scale): a bedGraph of a class's probability",
             _scan_arguments),
    "variants": ("score SNPs and short indels of a VCF against a genome: the model's output for REF and ALT",
                 _variants_arguments),
    "check-overlap": ("list test sequences that have a near-identical training sequence", _overlap_arguments),
    "tune": ("search model and training options (Optuna) and save the best model", _tune_arguments),
    "cv": ("K-fold cross-validation: per-fold figures and their mean ± sd (--ensemble saves the fold models)",
           _cv_arguments),
})


def build_parser(only: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``bioseq`` parser: every command with its arguments, or with ``only`` just those commands' arguments
    (the others listed by name and help). Adding a command's arguments may load its libraries (``inspect``
    reads the attribution registry, and PyTorch with it), so :func:`main` adds the running command's only:
    ``bioseq --help`` and ``bioseq train --help`` load no PyTorch."""
    ap = argparse.ArgumentParser(prog="bioseq", description="Train recurrent classifiers and per-position "
                                 "labellers on DNA, RNA and protein sequences, predict, and look inside. Models go "
                                 "to $BIOSEQ_HOME (default ~/.bioseq).")
    ap.add_argument("--version", action="version", version=f"bioseq {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (text, add_arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=text)
        if only is None or name in only:
            add_arguments(p)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    # Idle OpenMP threads sleep instead of spinning; on a busy 2-core machine spinning costs ~9x.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)  # the top level takes no option values
    args = build_parser(only=(command,) if command else ()).parse_args(argv)
    try:
        return args.func(args)
    except BioseqError as e:
        if getattr(e, "quiet", False):  # under torchrun, an error every rank raises: rank 0 prints it and fails
            return 0
        print(f"bioseq: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("bioseq: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, MemoryError) as e:
        if os.environ.get("BIOSEQ_DEBUG"):
            raise
        print(f"bioseq: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        if os.environ.get("BIOSEQ_DEBUG"):
            raise
        if getattr(e, "quiet", False):
            return 0
        print(f"bioseq: internal error ({type(e).__name__}): {e}. Set BIOSEQ_DEBUG=1 for details.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
