"""What a training run reads: :class:`DataSource` (named files and how labels are found) and
:class:`DataOptions` (the data options of a run: files, labels, validation, alphabet, length).

A :class:`DataSource` names training files (and optionally a labels table, validation files and
held-out test files) and how labels are found: ``header`` (``label=VALUE`` tokens), ``table`` (a
CSV/TSV with ``id,label``) or ``files`` (one file per class, the class taken from the file name).
It is a frozen dataclass of strings and tuples, so the dashboard can cache on it.

This module is deliberately light (no PyTorch, pandas or scikit-learn), so the dashboard's home
page can offer data before the heavy libraries have loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

LABEL_MODES = MappingProxyType({
    "header": "label=VALUE in each FASTA header", "table": "a CSV/TSV file with columns id,label",
    "files": "one file per class (the class is the file name up to its first dot)"})


@dataclass
class DataOptions:
    """The data options of a training run."""

    train: Sequence[str]
    labels: str | None = None
    val: Sequence[str] | None = None
    val_fraction: float = 0.2
    alphabet: str | None = None
    max_length: int | None = None
    length_policy: str = "start"


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
    key: str = ""  # how the dashboard finds it again: "example:<key>" or "upload:<digest>"

    def data_options(self, **overrides) -> DataOptions:
        """:class:`DataOptions` for this source; ``overrides`` set val_fraction, max_length, ..."""
        return DataOptions(train=list(self.train), labels=self.labels, val=list(self.val) or None,
                           alphabet=self.alphabet, **overrides)

    def records(self, limit: int | None = None) -> list:
        """Sequences for inspection or prediction: the test files, else the training files."""
        from .io import read_many

        out = []
        for rec in read_many(self.test or self.train):
            out.append(rec)
            if limit and len(out) >= limit:
                break
        return out
