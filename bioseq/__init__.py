"""bioseq: train recurrent networks on DNA, RNA and protein sequences, and see inside them.

The public API is four verbs and cross-validation; everything else lives in the sub-packages (see
docs/ARCHITECTURE.md)::

    import bioseq
    result = bioseq.train(["data/dna_motif.train.fa"], name="demo")   # files -> saved model
    model = bioseq.load("demo")                                        # registry name or path
    table = bioseq.predict(model, ["data/dna_motif.test.fa"])          # DataFrame, input order
    scores = bioseq.explain(model, records, method="saliency")         # tidy attribution table
    figures = bioseq.cv(["data/dna_motif.train.fa"], folds=5)         # per-fold figures, mean and sd

Importing ``bioseq`` is cheap: PyTorch loads on the first call.
"""

from __future__ import annotations

import os

from .version import __version__ as __version__  # the one place it is written: bioseq/version.py


def load(model: str, device: str = "cpu"):
    """A :class:`~bioseq.model.store.ModelBundle` from a model file path, a bundled model's name (``ss3``, ``amp``,
    ``splice``: :mod:`bioseq.model.bundled`) or a registry name."""
    from .model.store import load_model, resolve

    return load_model(resolve(str(model)), device)


def train(files, *, name: str | None = None, out: str | None = None, overwrite: bool = False, **options):
    """Train on labelled sequence files and save the model; returns a :class:`~bioseq.training.fit.FitResult`.

    ``options`` are any of the options of ``bioseq train`` (see :mod:`bioseq.options`), by their
    config names, e.g. ``cell="gru", epochs=5, val_fraction=0.1``. A model or run already called ``name``
    (or at ``out``) is refused unless ``overwrite=True``.
    """
    from .options import split_options
    from .training.fit import fit

    data, model_options, train_cfg = split_options(files, options)
    return fit(data, model_options, train_cfg, name=name, out=out, overwrite=overwrite)


def cv(files, *, folds: int = 10, name: str | None = None, out: str | None = None, ensemble: bool = False,
       overwrite: bool = False, **options):
    """K-fold cross-validation with the options of :func:`train` (``split_identity`` for homology-aware folds);
    returns a :class:`~bioseq.training.cv.CVResult`: ``.folds`` (one dict of figures per fold), ``.mean``,
    ``.sd``, ``.as_json()``. With ``ensemble=True`` the fold models are saved as one ensemble model."""
    from .options import split_options
    from .training.cv import cross_validate

    data, model_options, train_cfg = split_options(files, options)
    return cross_validate(data, model_options, train_cfg, folds, name=name, out=out, ensemble=ensemble,
                          overwrite=overwrite)


def _records(files) -> list:
    """Records from file paths (one or several), or the records themselves."""
    from .data.io import Record, read_many

    files = [files] if isinstance(files, str | os.PathLike) else list(files)
    return files if files and isinstance(files[0], Record) else list(read_many(files))


def predict(model, files):
    """Predictions for sequence files (paths) or records, as a DataFrame ``id, prediction, p_<class>…``; for a
    labeller one row per letter, ``id, position, letter, prediction, p_<label>…`` (three-line FASTA is read too)."""
    from .prediction.predict import predict_frame
    from .task import task_of

    bundle = load(model) if isinstance(model, str) else model
    files = [files] if isinstance(files, str | os.PathLike) else list(files)
    return predict_frame(bundle, files if files and not isinstance(files[0], str | os.PathLike)
                         else task_of(bundle).read(files))


def explain(model, records, method: str = "saliency", target: str | None = None, **options):
    """Per-position attribution of sequence files or records: ``id, position, letter, score, method, target``.

    For a labeller give ``position=t`` (1-based): the label at t is explained, and the table gains ``at``."""
    from .interpret.attribution import explain as _explain

    bundle = load(model) if isinstance(model, str) else model
    return _explain(bundle, _records(records), method, target, **options)
