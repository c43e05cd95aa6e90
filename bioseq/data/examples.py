"""The bundled example datasets in the project's ``data/`` folder, each as a :class:`DataSource`.

Light on purpose (no PyTorch, pandas or scikit-learn): the home page offers the examples before the
heavy libraries have loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .source import DataSource

DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # the project folder, beside bioseq/


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    alphabet: str
    description: str
    train: str
    test: str
    task: str = "classify"  # "label": one label per position (three-line FASTA), detected by training too

    def source(self) -> DataSource:
        return DataSource(self.title, (str(DATA_DIR / self.train),), "header", test=(str(DATA_DIR / self.test),),
                          alphabet=None, description=self.description, key=f"example:{self.key}")


EXAMPLES: tuple[Example, ...] = (
    Example("dna_motif", "DNA motif (AP-1 site)", "dna",
            "1,600 DNA sequences of 200 bp; class 'motif' carries TGACTCA somewhere, 'background' never does.",
            "dna_motif.train.fa", "dna_motif.test.fa"),
    Example("protein_kdel", "Protein ER retention (KDEL/HDEL)", "protein",
            "1,600 proteins of 40-160 residues; 'retained' ends in KDEL or HDEL, 'secreted' does not "
            "(a third carry the signal elsewhere as a decoy).",
            "protein_kdel.train.fa", "protein_kdel.test.fa"),
    Example("protein_tm", "Protein transmembrane-like segments (a label per residue)", "protein",
            "600 proteins of 40-160 residues as three-line FASTA: each residue is labelled M inside a hydrophobic "
            "stretch of 16-25 residues (0-4 per protein) and O in the polar-rich rest.",
            "protein_tm.train.fa", "protein_tm.test.fa", task="label"),
)


def example(key: str) -> Example:
    """The bundled example called ``key`` (``dna_motif``, ``protein_kdel`` or ``protein_tm``)."""
    for ex in EXAMPLES:
        if ex.key == key:
            return ex
    raise InputError(f"unknown example {key!r}; choose one of {', '.join(e.key for e in EXAMPLES)}")
