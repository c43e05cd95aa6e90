"""What a training run reads: :class:`DataSource` (named files and how labels are found) and
:class:`DataOptions` (the data options of a run: files, labels, validation, alphabet, length, and for
per-position labels the label FASTA, the mask and the unscored label).

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

from ..errors import InputError, ref
from ..option_spec import check_fields, declare, opt
from .lengths import LENGTH_POLICIES

LABEL_MODES = MappingProxyType({
    "header": "label=VALUE in each FASTA header", "table": "a CSV/TSV file with columns id,label",
    "files": "one file per class (the class is the file name up to its first dot)",
    "positions": "a label per position: three-line FASTA (header, sequence, label string), or a label FASTA "
                 "(and a 0/1 mask FASTA) matched by record id",
    "regions": "genome regions: BED files read from a genome FASTA (one class per BED file, or a label column)"})


BACKGROUNDS = ("shuffled", "flanks", "bed")
_REGIONS = "a BED and genome source on the Data page"


def _alphabets() -> tuple[str, ...]:
    from .alphabets import ALPHABETS

    return tuple(ALPHABETS)


@declare("data")
@dataclass
class DataOptions:
    """The data options of a training run (each field is an option of :mod:`bioseq.options`)."""

    train: Sequence[str] = opt(help="FASTA (.gz too), FASTQ or GenBank files", internal=True, positional=True,
                               metavar="FILE", unset="required", where="sequence files on the Data page")
    labels: str | None = opt(None, help="CSV or TSV with columns id,label", internal=True, metavar="FILE",
                             unset="label=VALUE header tokens",
                             where="a labels file (on the Data page, Labels from “a CSV file”)")
    val: Sequence[str] | None = opt(None, help="validation files", internal=True, metavar="FILE",
                                    unset="a stratified split", where="validation files")
    class_map: str | None = opt(None, help="rename, merge or drop classes before training: OLD=NEW,... (the same "
                                "NEW for two classes merges them; an empty NEW drops a class and its records)",
                                internal=True, metavar="MAP", unset="classes as labelled",
                                where="the Classes table on the Data page")
    val_fraction: float = opt(0.2, label="Validation fraction", help="share of each class held out to measure "
                              "generalisation when there are no validation files (identical sequences stay on one "
                              "side)", min=0.01, max=0.5, step=0.05)
    split_identity: float | None = opt(None, label="Split identity", help="homology-aware split: cluster the "
                                       "sequences with MMseqs2 (or CD-HIT) so that no validation sequence has a "
                                       "training sequence this identical (identical positions / shorter length); "
                                       "0.4 suits protein, 0.8 DNA", min=0.1, max=1.0, step=0.05, none=0.0,
                                       unset="off")
    alphabet: str | None = opt(None, help="the alphabet of the data", choices=_alphabets, internal=True,
                               unset="detected", where="the Alphabet choice on the Data page")
    max_length: int | None = opt(None, label="Max length", help="cut longer sequences to this many letters",
                                 min=1, step=10, none=0)
    length_policy: str = opt("start", label="Keep which part", help="which part of a long sequence to keep",
                             choices=LENGTH_POLICIES)
    cache: str = opt("auto", label="Cache", choices=("auto", "on", "off"),
                     help="encode the training data once into a memory-mapped cache in the workspace and train "
                     "from it in bounded memory (one label per sequence); auto: for training files of 64 MB or more")
    labels_fasta: Sequence[str] | None = opt(None, help="per-position labels: FASTA files whose sequence is the "
                                             "label string of the record with the same id", internal=True,
                                             metavar="FILE", unset="three-line FASTA, or one label per sequence",
                                             where="a label FASTA on the Data page")
    mask: Sequence[str] | None = opt(None, help="per-position labels: FASTA files of 0/1 per position (1 = scored), "
                                     "matched by id", internal=True, metavar="FILE", unset="every position scored",
                                     where="a mask FASTA on the Data page")
    ignore_label: str | None = opt(None, help="per-position labels: a label character that is never scored, e.g. -",
                                   internal=True, metavar="CHAR", unset="none",
                                   where="the unscored label on the Data page")
    regions: Sequence[str] | None = opt(None, help="genome regions instead of sequence files: BED files (one class per "
                                        "file, named up to its first dot, or a label column), read from --genome",
                                        internal=True, metavar="BED", unset="sequence files", where=_REGIONS)
    genome: str | None = opt(None, help="the genome FASTA (plain, gzipped or bgzipped) that --regions read from",
                             internal=True, metavar="FASTA", unset="none", where=_REGIONS)
    bed_label_column: int | None = opt(None, help="the BED column (1-based, e.g. 4) that holds each region's class",
                                       internal=True, min=4, metavar="N", unset="one class per BED file",
                                       where=_REGIONS)
    width: int | None = opt(None, help="resize each region to this width around its centre", internal=True, min=1,
                            metavar="W", unset="the regions as given", where=_REGIONS)
    flank: int | None = opt(None, help="extend each region (after --width) by this many letters on each side",
                            internal=True, min=0, metavar="N", unset="none", where=_REGIONS)
    background: str | None = opt(None, help="negatives when --regions gives one class: shuffled (each region "
                                 "dinucleotide-shuffled), flanks (the regions beside each one), bed (--background-bed)",
                                 choices=BACKGROUNDS, internal=True, unset="shuffled for one class", where=_REGIONS)
    background_bed: Sequence[str] | None = opt(None, help="BED files of negative regions (--background bed)",
                                               internal=True, metavar="BED", unset="none", where=_REGIONS)
    val_chroms: str | None = opt(None, help="hold out these chromosomes (comma list) as the validation set",
                                 internal=True, metavar="CHROMS", unset="a stratified split", where=_REGIONS)
    test_chroms: str | None = opt(None, help="hold out these chromosomes (comma list) as the test set: never trained "
                                  "on or validated on", internal=True, metavar="CHROMS", unset="none", where=_REGIONS)
    regions_labels: Sequence[str] | None = opt(None, help="per-position labels from BED: 1 where a feature of these "
                                               "BED files covers the letter of a --regions window, else 0",
                                               internal=True, metavar="BED", unset="one label per region",
                                               where=_REGIONS)

    def inputs(self) -> list[str]:
        """Every file the options name as an input (never to be written over)."""
        return [p for f in ("train", "val", "labels_fasta", "mask", "regions", "background_bed", "regions_labels")
                for p in getattr(self, f) or []] + [p for p in (self.labels, self.genome) if p]

    def validate(self) -> DataOptions:
        """``self`` if every option's value is valid (type, choices, range), else :class:`InputError`
        naming the first that is not."""
        check_fields(self, InputError)
        if not self.train and not self.regions:
            raise InputError(f"no training data: give sequence files, or {ref('regions')} BED files with "
                             f"{ref('genome')}")
        if self.regions:
            from .region_data import check_region_options

            check_region_options(self)
        return self


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
    class_map: str | None = None  # renamed, merged or dropped classes (bioseq.data.dataset.parse_class_map)
    labels_fasta: tuple[str, ...] = ()  # per-position labels: label FASTA files matched by id
    mask: tuple[str, ...] = ()  # per-position labels: 0/1 mask FASTA files matched by id
    ignore_label: str | None = None  # per-position labels: a label character never scored
    regions: tuple[str, ...] = ()  # genome regions: BED files (label_mode "regions")
    genome: str | None = None  # genome regions: the genome FASTA they are read from
    region_options: tuple[tuple[str, object], ...] = ()  # genome regions: (DataOptions field, value) pairs, e.g. width

    def data_options(self, **overrides) -> DataOptions:
        """:class:`DataOptions` for this source; ``overrides`` set val_fraction, max_length, ..."""
        regions = {"regions": list(self.regions), "genome": self.genome,
                   **{k: list(v) if isinstance(v, list | tuple) else v for k, v in self.region_options}}
        return DataOptions(train=list(self.train), labels=self.labels, val=list(self.val) or None,
                           alphabet=self.alphabet, class_map=self.class_map,
                           labels_fasta=list(self.labels_fasta) or None, mask=list(self.mask) or None,
                           ignore_label=self.ignore_label, **(regions if self.regions else {}), **overrides)

    def records(self, limit: int | None = None) -> list:
        """Sequences for inspection or prediction: the test files, else the training files (a three-line
        FASTA gives its sequences, its label lines left out)."""
        from .position_labels import read_sequences

        if self.regions and not self.test:
            from .region_data import region_records

            return region_records(self.data_options(), limit)
        out = []
        for rec in read_sequences(self.test or self.train):
            out.append(rec)
            if limit and len(out) >= limit:
                break
        return out
