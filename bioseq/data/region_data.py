"""Training data from genome regions: BED files read against a genome (``--regions a.bed --genome g.fa``), as the
same :class:`~bioseq.data.dataset.Dataset` (one class per region) or
:class:`~bioseq.data.position_labels.PositionDataset` (``--regions-labels``: a label per letter) that sequence files
give, split into training and validation by whole chromosomes (``--val-chroms``) or by the usual split.

* **Classes**: one per BED file (the file name up to its first dot, as for FASTA files), or the BED column
  ``--bed-label-column``. With one class, negatives are drawn (``--background``): ``shuffled`` (each region
  dinucleotide-shuffled, :func:`dinucleotide_shuffle`; the default), ``flanks`` (the window of the same width just
  beside each region, left or right in turn, that overlaps no region) or ``bed`` (``--background-bed`` files).
* **Windows**: ``--width W`` recentres each region to W letters, then ``--flank N`` adds N letters on each side. A
  window that runs past a chromosome's end is padded with ``N`` there. A region on the ``-`` strand (BED column 6)
  is read reverse-complemented (its labels reversed).
* **Per-position labels** (``--regions-labels f.bed``): each ``--regions`` window, labelled ``1`` where a feature
  of the BED files covers the letter and ``0`` elsewhere.
* **Hold-out**: ``--val-chroms chr8`` puts every window on those chromosomes in validation; ``--test-chroms chr9``
  leaves those out of training and validation. Chromosome names are matched as the genome spells them
  (:meth:`bioseq.data.genome.Genome.resolve`: ``chr1`` and ``1`` are one chromosome), with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, ref
from .bed import Region, check_regions, read_bed
from .dataset import Dataset, class_from_filename
from .genome import Genome
from .region_windows import BACKGROUND, dinucleotide_shuffle, flank_regions, reverse_complement, window

fetch_padded = Genome.padded  # fetch_padded(genome, chrom, start, end), under its earlier name

if TYPE_CHECKING:  # source.py calls check_region_options: no import loop
    from .source import DataOptions

FEATURE, OUTSIDE = "1", "0"  # per-position labels from BED
SEQUENCE_ONLY = ("labels", "labels_fasta", "mask", "val")


def check_region_options(opts: DataOptions) -> None:
    """Refuse region options that cannot go together (before anything is read)."""
    if opts.train:
        raise InputError(f"give sequence files or {ref('regions')}, not both")
    if not opts.genome:
        raise InputError(f"{ref('regions')} needs {ref('genome')}: the genome FASTA the regions are read from")
    for name in SEQUENCE_ONLY:
        if getattr(opts, name):
            raise InputError(f"{ref(name)} is for sequence files; with {ref('regions')} the classes come from the BED "
                             f"files (or {ref('bed_label_column')}) and validation from {ref('val_chroms')}")
    if opts.background_bed and opts.background not in (None, "bed"):
        raise InputError(f"{ref('background_bed')} gives the negatives of {ref('background', 'bed')}, not of "
                         f"{ref('background', opts.background)}")
    if opts.background == "bed" and not opts.background_bed:
        raise InputError(f"{ref('background', 'bed')} needs {ref('background_bed')}: BED files of negative regions")
    if opts.regions_labels and (opts.background or opts.background_bed or opts.bed_label_column):
        raise InputError(f"{ref('regions_labels')} labels each letter of the {ref('regions')} windows; "
                         f"{ref('background')} and {ref('bed_label_column')} are for one class per region")
    both = set(chrom_list(opts.val_chroms)) & set(chrom_list(opts.test_chroms))
    if both:
        raise InputError(f"{', '.join(sorted(both))} is in both {ref('val_chroms')} and {ref('test_chroms')}")


def chrom_list(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


class RegionReader:
    """The regions of ``opts`` read against its genome: :meth:`classified` (one class per region) or
    :meth:`labelled` (a label per letter), each with the chromosome of every record."""

    def __init__(self, opts: DataOptions):
        self.opts = opts
        self.genome = Genome(opts.genome)
        self.regions: list[Region] = []
        self.notes: list[str] = []  # e.g. a BED header line skipped
        for path in opts.regions:
            found = check_regions(read_bed(path, opts.bed_label_column, self.notes), self.genome)
            label = class_from_filename(path)
            self.regions += [r if r.label is not None else _relabel(r, label) for r in found]

    def close(self) -> None:
        self.genome.close()

    def _read(self, r: Region) -> str:
        a, b = window(r, self.opts.width, self.opts.flank)
        seq = self.genome.padded(r.chrom, a, b)
        return reverse_complement(seq) if r.strand == "-" else seq

    def _negatives(self, seed: int) -> list[tuple[Region, str]]:
        kind = self.opts.background or ("bed" if self.opts.background_bed else "shuffled")
        if kind == "shuffled":
            rng = np.random.default_rng(seed)
            return [(_relabel(r, BACKGROUND, f"{r.text} shuffled"), dinucleotide_shuffle(self._read(r), rng))
                    for r in self.regions]
        if kind == "flanks":
            wins = [Region(r.chrom, *window(r, self.opts.width, self.opts.flank), r.name, r.strand, r.label, r.file,
                           r.line) for r in self.regions]
            found = flank_regions(wins, self.genome.lengths)
            return [(r, self.genome.padded(r.chrom, r.start, r.end)) for r in found]
        found = [_relabel(r, BACKGROUND) for p in self.opts.background_bed
                 for r in check_regions(read_bed(p, notes=self.notes), self.genome)]
        return [(r, self._read(r)) for r in found]

    def classified(self, seed: int = 0) -> tuple[list[Region], list[str]]:
        """Every region (and drawn negative) with its letters; the class is each region's ``label``."""
        pairs = [(r, self._read(r)) for r in self.regions]
        classes = {r.label for r in self.regions}
        if len(classes) == 1:
            if BACKGROUND in classes:
                raise InputError(f"the one class of the regions is named {BACKGROUND!r}, the name of the drawn "
                                 "negatives: rename the BED file", self.opts.regions[0])
            drawn = self._negatives(seed)
            if not drawn:  # only flanks can find none
                raise InputError(f"{ref('background', 'flanks')} found no free window beside any region (one of its "
                                 "width, inside the chromosome, overlapping no region): use "
                                 f"{ref('background', 'shuffled')} or {ref('background', 'bed')}", self.opts.regions[0])
            pairs += drawn
        elif self.opts.background or self.opts.background_bed:
            raise InputError(f"{ref('background')} draws negatives when {ref('regions')} gives one class; these "
                             f"regions have {len(classes)} ({', '.join(sorted(classes))})")
        return [r for r, _ in pairs], [s for _, s in pairs]

    def labelled(self) -> tuple[list[Region], list[str], list[str]]:
        """Every ``--regions`` window with its letters and its label string (``1`` where a ``--regions-labels``
        feature covers the letter)."""
        features: dict[str, list[tuple[int, int]]] = {}
        for p in self.opts.regions_labels:
            for f in check_regions(read_bed(p, notes=self.notes), self.genome):
                features.setdefault(f.chrom, []).append((f.start, f.end))
        spans = {c: np.array(v, dtype=np.int64) for c, v in features.items()}
        regions, seqs, labels = [], [], []
        for r in self.regions:
            a, b = window(r, self.opts.width, self.opts.flank)
            marks = np.zeros(b - a, dtype=bool)
            for fa, fb in spans.get(r.chrom, np.zeros((0, 2), dtype=np.int64)):
                if fa < b and fb > a:
                    marks[max(fa, a) - a:min(fb, b) - a] = True
            text = "".join(np.where(marks, FEATURE, OUTSIDE))
            regions.append(r)
            seqs.append(self._read(r))
            labels.append(text[::-1] if r.strand == "-" else text)
        return regions, seqs, labels

    def held_out(self, option: str) -> set[str]:
        """The genome's names of the chromosomes of ``--val-chroms`` or ``--test-chroms``."""
        text = getattr(self.opts, option)
        out = set()
        for c in chrom_list(text):
            name = self.genome.resolve(c)
            if name is None:
                raise InputError(f"{ref(option, text)}: no chromosome {c!r} in the genome "
                                 f"({self.genome.chromosomes_text()})", self.opts.genome)
            out.add(name)
        return out


def _relabel(r: Region, label: str, name: str | None = None) -> Region:
    return Region(r.chrom, r.start, r.end, r.name if name is None else name, r.strand, label, r.file, r.line)


def record_id(r: Region) -> str:
    """``name|chr1:100-300(-)``: the region's name (when it has one) and where it is."""
    where = r.text + (f"({r.strand})" if r.strand in ("+", "-") else "")
    return f"{r.name}|{where}" if r.name else where


def chromosome_split(chroms: Sequence[str], val: set[str], test: set[str]) -> tuple[list[int], list[int], list[int]]:
    """Record indices ``(train, val, test)`` by chromosome."""
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for i, c in enumerate(chroms):
        parts[1 if c in val else 2 if c in test else 0].append(i)
    return parts


def build_dataset(opts: DataOptions, regions: Sequence[Region], seqs: Sequence[str], genome: str,
                  classes: Sequence[str] | None = None) -> Dataset:
    """The :class:`Dataset` of region records (alphabet checked, ``--max-length`` applied); ``classes`` in this
    order (a model's), else the labels found, sorted."""
    from .alphabets import get_alphabet
    from .encoding import clean, encode, fit_length

    alphabet = get_alphabet(opts.alphabet or "dna")
    ids = [record_id(r) for r in regions]
    kept, truncated = [], 0
    for ident, seq in zip(ids, seqs):
        encode(seq, alphabet, file=genome, record=ident)
        s = clean(seq, alphabet)
        cut = fit_length(s, opts.max_length, opts.length_policy)
        truncated += len(cut) < len(s)
        kept.append(cut)
    found = sorted({r.label for r in regions})
    classes = list(classes) if classes is not None else found
    index = {c: i for i, c in enumerate(classes)}
    unknown = [c for c in found if c not in index]
    if unknown:
        raise InputError(f"class {unknown[0]!r} of the regions is not one of the model's ({', '.join(classes)})",
                         ", ".join(opts.regions))
    return Dataset(ids, kept, np.array([index[r.label] for r in regions], dtype=np.int64), classes, alphabet,
                   [*opts.regions, opts.genome], truncated)


def mapped(regions: Sequence[Region], seqs: Sequence[str], class_map: str | None
           ) -> tuple[list[Region], list[str]]:
    """The regions renamed, merged or dropped by ``--class-map`` (:func:`bioseq.data.dataset.parse_class_map`)."""
    from .dataset import parse_class_map, renamed

    table = parse_class_map(class_map)
    if not table:
        return list(regions), list(seqs)
    keep, names = renamed([r.label for r in regions], table)
    names_iter = iter(names)
    pairs = [(_relabel(r, next(names_iter)), s) for r, s, k in zip(regions, seqs, keep) if k]
    if len({r.label for r, _ in pairs}) < 2:
        raise InputError(f"{ref('class_map')} leaves fewer than two classes")
    return [r for r, _ in pairs], [s for _, s in pairs]


def _read_all(opts: DataOptions, seed: int, per_position: bool) -> tuple:
    """Every window of ``opts`` with its letters (and label string), after ``--class-map``; the genome's names of
    the validation and test chromosomes; the notes."""
    if per_position != bool(opts.regions_labels):
        raise InputError(f"a labeller on genome regions takes its per-position labels from {ref('regions_labels')}"
                         if per_position else f"{ref('regions_labels')} gives a label per position: train a "
                         f"labeller ({ref('task', 'label')}, or leave {ref('task')} out)")
    reader = RegionReader(opts)
    try:
        if per_position:
            regions, seqs, labels = reader.labelled()
        else:
            regions, seqs = mapped(*reader.classified(seed), opts.class_map)
            labels = None
        held = reader.held_out("val_chroms"), reader.held_out("test_chroms")
        notes = reader.notes + reader.genome.notes()
    finally:
        reader.close()
    return regions, seqs, labels, *held, notes


def _build(opts: DataOptions, regions, seqs, labels, classes: Sequence[str] | None = None):
    if labels is None:
        return build_dataset(opts, regions, seqs, opts.genome, classes)
    if classes is not None and list(classes) != [OUTSIDE, FEATURE]:
        raise InputError(f"{ref('regions_labels')} labels letters {OUTSIDE} and {FEATURE}; the model's labels are "
                         f"{', '.join(classes)}", ", ".join(opts.regions_labels))
    return build_positions(opts, regions, seqs, labels)


def load_region_split(opts: DataOptions, seed: int = 0, per_position: bool = False) -> tuple:
    """``(train, val, rule)`` from ``--regions``: :class:`Dataset` (or, with ``--regions-labels``,
    :class:`PositionDataset`) parts by whole chromosomes (``--val-chroms``), else by the usual split
    (``--val-fraction``, ``--split-identity``); ``--test-chroms`` are left out of both (:func:`load_region_test`
    reads them). ``rule`` says how, with the chromosome-name notes under ``notes``."""
    from .splits import split

    regions, seqs, labels, val_chroms, test_chroms, notes = _read_all(opts, seed, per_position)
    ds = _build(opts, regions, seqs, labels)
    train, val, test = chromosome_split([r.chrom for r in regions], val_chroms, test_chroms)
    where = ", ".join(opts.regions)
    if not train:
        raise InputError("no regions left to train on after holding out the validation and test chromosomes", where)
    if test_chroms:
        notes.append(f"{len(test)} records on the test chromosomes ({opts.test_chroms}) left out: score them with "
                     f"bioseq evaluate MODEL --regions {' '.join(opts.regions)} --genome {opts.genome} "
                     f"--test-chroms {opts.test_chroms}")
    base = {"regions": len(ds), "test_chroms": sorted(test_chroms), "test_records": len(test), "notes": notes}
    if val_chroms:
        if not val:
            raise InputError(f"no regions on the validation chromosomes ({ref('val_chroms', opts.val_chroms)})",
                             where)
        rule = {"method": "chromosomes", "val_chroms": sorted(val_chroms), "val_fraction": len(val) / len(ds), **base}
        return ds.subset(train), ds.subset(val), rule
    rest = ds.subset(train)
    if per_position:
        from .position_labels import split_positions

        train_ds, val_ds, rule = split_positions(rest, opts.val_fraction, seed, opts.split_identity)
    else:
        train_ds, val_ds, rule = split(rest, opts.val_fraction, seed, opts.split_identity)
    if len(val_ds) == 0 or len(train_ds) == 0:
        raise InputError(f"too few regions ({len(rest)}) to hold out a validation set", where)
    return train_ds, val_ds, {**rule, **base}


def load_region_test(opts: DataOptions, seed: int = 0, per_position: bool = False,
                     classes: Sequence[str] | None = None):
    """The records a trained model is scored on: those on ``--test-chroms`` (every window when none is given), read
    exactly as :func:`load_region_split` reads them for training (the same windows, ``--class-map`` and, for the
    same ``seed``, the same drawn negatives). ``classes``: the model's, in its order (a class it lacks is an
    error)."""
    regions, seqs, labels, _, test_chroms, _ = _read_all(opts, seed, per_position)
    if test_chroms:
        keep = chromosome_split([r.chrom for r in regions], set(), test_chroms)[2]
        if not keep:
            raise InputError(f"no regions on the test chromosomes ({ref('test_chroms', opts.test_chroms)})",
                             ", ".join(opts.regions))
        regions, seqs = [regions[i] for i in keep], [seqs[i] for i in keep]
        labels = None if labels is None else [labels[i] for i in keep]
    return _build(opts, regions, seqs, labels, classes)


def read_regions(opts: DataOptions, seed: int = 0, per_position: bool = False) -> tuple:
    """``(dataset, each record's chromosome, validation chromosomes, test chromosomes, notes)``: every record of
    ``--regions`` read exactly as :func:`load_region_split` reads it, before any split (cross-validation's folds)."""
    regions, seqs, labels, val_chroms, test_chroms, notes = _read_all(opts, seed, per_position)
    return _build(opts, regions, seqs, labels), [r.chrom for r in regions], val_chroms, test_chroms, notes


def build_positions(opts: DataOptions, regions: Sequence[Region], seqs: Sequence[str], labels: Sequence[str]):
    """The :class:`PositionDataset` of region windows and their ``0``/``1`` label strings."""
    from .alphabets import get_alphabet
    from .encoding import encode, fit_length
    from .position_labels import PositionDataset

    alphabet = get_alphabet(opts.alphabet or "dna")
    ids = [record_id(r) for r in regions]
    out_seqs, out_labels, truncated = [], [], 0
    for ident, seq, lab in zip(ids, seqs, labels):
        encode(seq, alphabet, file=opts.genome, record=ident)
        cut = fit_length(seq, opts.max_length, opts.length_policy)
        truncated += len(cut) < len(seq)
        out_seqs.append(cut)
        out_labels.append(fit_length(lab, opts.max_length, opts.length_policy))
    masks = [np.ones(len(s), dtype=bool) for s in out_seqs]
    return PositionDataset(ids, out_seqs, out_labels, masks, [OUTSIDE, FEATURE], alphabet,
                           [*opts.regions, *opts.regions_labels, opts.genome], None, truncated)


def region_dataset(opts: DataOptions, seed: int = 0):
    """Every window of ``opts`` as one :class:`Dataset` (with its drawn negatives) or, with ``--regions-labels``,
    :class:`PositionDataset`, before any split or ``--class-map``: what the Data page reports on."""
    from dataclasses import replace

    regions, seqs, labels, *_ = _read_all(replace(opts, class_map=None), seed, bool(opts.regions_labels))
    return _build(opts, regions, seqs, labels)


def region_records(opts: DataOptions, limit: int | None = None) -> list:
    """The regions as :class:`~bioseq.data.io.Record` objects (``label=`` in the description), for inspection."""
    from .io import Record

    ds = region_dataset(opts)
    rows = zip(ds.ids, ds.seqs, ds.labels)
    return [Record(i, i if opts.regions_labels else f"{i} label={ds.classes[int(y)]}", s, opts.genome, n)
            for n, (i, s, y) in enumerate(rows, 1)][:limit]
