"""``bioseq cv FILE… --folds K``: K-fold cross-validation with the options of ``bioseq train``
(:mod:`bioseq.training.cv`).

Progress goes to standard error (a line per fold, a line per epoch); the table of per-fold figures with their
mean ± sd to standard output, or with ``--json`` the object ``{"folds": [...], "mean": {...}, "sd": {...}, ...}``.
"""

from __future__ import annotations

import argparse
import sys

from ..metrics.classification import fmt
from ..outputs import json_text


def _fold_printer(stream=None):
    stream = stream or sys.stderr

    def show(k: int, n: int, figures: dict | None) -> None:
        if figures is None:
            stream.write(f"fold {k}/{n}: training on the other folds\n")
        else:
            shown = [(key, v) for key, v in figures.items() if key != "loss"][:6]
            stream.write(f"fold {k}/{n} test: " + "  ".join(f"{key} {fmt(v)}" for key, v in shown) + "\n")
        stream.flush()
    return show


def fold_rule(rule: dict) -> str:
    """What the folds hold, in words (a CV result's ``split``)."""
    how = {"homology": "homology clusters", "chromosomes": "whole chromosomes"}.get(rule.get("method"),
                                                                                   "identical sequences")
    words = f"{how} kept in one fold" + (", classes stratified" if rule.get("stratified") else "")
    if rule.get("val_chroms"):
        words += f"; {', '.join(rule['val_chroms'])} the inner validation of every fold"
    if rule.get("test_chroms"):
        words += f"; {', '.join(rule['test_chroms'])} held out ({rule['test_records']} records, in no fold)"
    return words


def cmd_cv(a: argparse.Namespace) -> int:
    from ..options import settable, split_options
    from ..training.cv import cross_validate
    from .progress import progress_printer

    data, model_opts, tc = split_options(a.train, {o.name: getattr(a, o.name) for o in settable() if o.cli})
    r = cross_validate(data, model_opts, tc, a.folds, name=a.name, out=a.out, log_dir=a.log_dir,
                       ensemble=a.ensemble, overwrite=a.overwrite,
                       callback=None if a.quiet else progress_printer(sys.stderr),
                       on_fold=None if a.quiet else _fold_printer(), launcher="cli", fold_by=a.fold_by)
    print(f"{len(r.sizes)}-fold cross-validation of {sum(r.sizes)} records ({fold_rule(r.split)}); logs: {r.run_dir}",
          file=sys.stderr)
    for warning in r.warnings:
        print(f"bioseq: warning: {warning}", file=sys.stderr)
    if r.interrupted:
        print(f"bioseq: warning: stopped after {len(r.folds)} of {len(r.sizes)} folds; no model saved",
              file=sys.stderr)
    print(json_text(r.as_json()) if a.json else "\n".join(r.report()))
    if r.model_path:
        print(f"ensemble of the {len(r.sizes)} fold models saved as {r.model_path}", file=sys.stderr)
    return 0


def add_cv_arguments(p: argparse.ArgumentParser) -> None:
    """The data, model and training options of ``bioseq train`` (the same declarations, checked the same way),
    ``--folds`` and ``--ensemble``; ``--out`` or ``--name`` as for ``train``."""
    from ..training.cv import FOLD_BY
    from ..training.search import FOLDS
    from .arguments import add_destination, add_option, add_option_arguments

    p.description = ("K-fold cross-validation: each fold is tested once by a model trained on the other folds (with "
                     "an inner validation split from them for early stopping, as bioseq train splits); identical "
                     "sequences, or with --split-identity whole homology clusters, stay in one fold, and classes are "
                     "stratified. Genome regions (--regions with --genome) are read as bioseq train reads them; "
                     "--fold-by chrom puts whole chromosomes in a fold, --test-chroms are left out of every fold and "
                     "--val-chroms are every fold's inner validation. Prints every figure of bioseq evaluate per fold "
                     "and its mean ± sd (sample sd over folds); --json prints {\"folds\": [...], \"mean\": {...}, "
                     "\"sd\": {...}} (an undefined figure is null). The run goes to $BIOSEQ_HOME/runs/NAME with one "
                     "curve per fold.")
    add_option_arguments(p)
    o = p.add_argument_group("cross-validation")
    add_option(o, FOLDS)
    add_option(o, FOLD_BY)
    o.add_argument("--ensemble", action="store_true", help="save the K fold models as one ensemble model file "
                   "(probabilities averaged) under --name or at --out, for bioseq predict")
    o.add_argument("--json", action="store_true", help="print the figures as JSON")
    o.add_argument("--log-dir", metavar="DIR", help="write the run's files here instead of the workspace")
    o.add_argument("--overwrite", action="store_true", help="replace the run (and model) of this --name or --out "
                   "(refused without it)")
    o.add_argument("--quiet", action="store_true", help="no progress output")
    add_destination(p, "save the ensemble model file here (with --ensemble)",
                    "the run's name, and with --ensemble the model's registry name")
    p.set_defaults(func=cmd_cv)
