"""The bundled example datasets and the :class:`DataSource` that names a dataset's files.

This module is deliberately light (no PyTorch, pandas or scikit-learn), so the dashboard's home
page can offer the examples before the heavy libraries have loaded.

A :class:`DataSource` names training files (and optionally a labels table, validation files and
held-out test files) and how labels are found: ``header`` (``label=VALUE`` tokens), ``table`` (a
CSV/TSV with ``id,label``) or ``files`` (one file per class, the class taken from the file name).
It is a frozen dataclass of strings and tuples, so the dashboard can cache on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .errors import InputError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LABEL_MODES = MappingProxyType({
    "header": "label=VALUE in each FASTA header", "table": "a CSV/TSV file with columns id,label",
    "files": "one file per class (the class is the file name up to its first dot)"})


@dataclass(frozen=True)
class DataSource:
    """Labelled training data as paths, plus optional held-out test files for prediction."""

    name: str
    train: tuple[str, ...]
    label_mode: str = "header"
    labels: str | None = None
    val: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    alphabet: str | None = None  # None: detect
    description: str = ""

    def data_options(self, **overrides):
        """:class:`bioseq.fit.DataOptions` for this source; ``overrides`` set val_fraction, max_length, ..."""
        from .fit import DataOptions

        return DataOptions(train=list(self.train), labels=self.labels, val=list(self.val) or None,
                           alphabet=self.alphabet, **overrides)


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    alphabet: str
    description: str
    train: str
    test: str

    def source(self) -> DataSource:
        return DataSource(self.title, (str(DATA_DIR / self.train),), "header", test=(str(DATA_DIR / self.test),),
                          alphabet=None, description=self.description)


EXAMPLES: tuple[Example, ...] = (
    Example("dna_motif", "DNA motif (AP-1 site)", "dna",
            "1,600 DNA sequences of 200 bp; class 'motif' carries TGACTCA somewhere, 'background' never does.",
            "dna_motif.train.fa", "dna_motif.test.fa"),
    Example("protein_kdel", "Protein ER retention (KDEL/HDEL)", "protein",
            "1,600 proteins of 40-160 residues; 'retained' ends in KDEL or HDEL, 'secreted' does not "
            "(a third carry the signal elsewhere as a decoy).",
            "protein_kdel.train.fa", "protein_kdel.test.fa"),
)


def example(key: str) -> Example:
    """The bundled example called ``key`` (``dna_motif`` or ``protein_kdel``)."""
    for ex in EXAMPLES:
        if ex.key == key:
            return ex
    raise InputError(f"unknown example {key!r}; choose one of {', '.join(e.key for e in EXAMPLES)}")
