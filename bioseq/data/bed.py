"""BED intervals read by hand (:func:`read_bed`), checked against a genome (:func:`check_regions`).

BED is plain tab-separated text (chrom, start, end, then optional name, score, strand, ...; 0-based half-open). The
project's dependencies have no reader for plain BED (pysam reads only bgzipped, tabix-indexed BED, and pybedtools
needs bedtools installed), so the format is parsed here, in this one module, and nowhere else. Read: BED3, BED6 and
wider; plain, gzipped or bgzipped (bgzip is gzip to a sequential reader); ``#`` comments, ``track`` and ``browser``
lines and blank lines skipped; fields split on tabs (on any white space when a line has no tab). A header line as
many tools write one (``chrom start end ...``, ``chromStart``/``chromEnd``) is skipped, with a note, when it is the
first line that is not a comment and its start or end is not a whole number.

Every error names the BED file, the line number and the region: a coordinate that is not a whole number, a negative
start, a zero or negative width, a missing label column, and (:func:`check_regions`) an unknown chromosome or a
region past the chromosome's end.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .genome import GZIP_MAGIC, Genome

SKIP = ("#", "track", "browser")
HEADER_WORDS = ({"chrom", "chr", "chromosome", "seqname", "seqnames", "seqid", "contig"},
                {"start", "chromstart", "begin"}, {"end", "chromend", "stop"})


@dataclass(frozen=True)
class Region:
    """One BED line: ``[start, end)`` on ``chrom`` (0-based, half-open), its name, strand (``+``, ``-`` or ``.``)
    and label (from the label column, else ``None``); ``file`` and ``line`` say where it was read."""

    chrom: str
    start: int
    end: int
    name: str = ""
    strand: str = "."
    label: str | None = None
    file: str = ""
    line: int = 0

    @property
    def width(self) -> int:
        return self.end - self.start

    @property
    def text(self) -> str:
        """``chr1:100-200`` (BED coordinates)."""
        return f"{self.chrom}:{self.start}-{self.end}"

    def error(self, problem: str) -> InputError:
        """An :class:`InputError` naming this region's file, line and coordinates."""
        return InputError(f"line {self.line} ({self.text}): {problem}", self.file)


def _lines(path: Path) -> Iterator[str]:
    with open(path, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
    opener = gzip.open if gz else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline=None) as fh:  # a byte-order mark is not a name
            yield from fh
    except UnicodeDecodeError:
        raise InputError("is not a text BED file (not UTF-8 text)", str(path)) from None
    except (OSError, EOFError) as e:
        raise InputError(f"cannot read the BED file: {e}", str(path)) from None


def _integer(text: str, what: str, path: str, n: int, fields: list[str]) -> int:
    try:
        return int(text)
    except ValueError:
        where = f"{fields[0]}:{fields[1]}-{fields[2]}"
        raise InputError(f"line {n} ({where}): the {what} {text!r} is not a whole number", path) from None


def is_header(fields: Sequence[str]) -> bool:
    """Whether ``fields`` (a BED line's first columns) are column names: ``chrom start end`` or ``chromStart`` /
    ``chromEnd`` (any case), with a start or end that is not a whole number."""
    if all(f.lstrip("+-").isdigit() for f in fields[1:3]):
        return False
    return any(f.lower().lstrip("#") in words for f, words in zip(fields, HEADER_WORDS))


def read_bed(path: str | os.PathLike, label_column: int | None = None, notes: list[str] | None = None
             ) -> list[Region]:
    """The regions of a BED file, in order. ``label_column`` is the 1-based column holding each region's label
    (e.g. 4 for the name column). A skipped header line is said in ``notes`` (when given)."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such BED file", str(path))
    if not p.is_file():
        raise InputError("the BED path is not a file", str(path))
    out: list[Region] = []
    first = True
    for n, raw in enumerate(_lines(p), 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith(SKIP):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        header, first = first and is_header(fields), False
        if header:
            if notes is not None:
                notes.append(f"{path}: line {n} read as a header and skipped ({' '.join(fields[:3])} ...)")
            continue
        if len(fields) < 3:
            raise InputError(f"line {n}: a BED line needs at least 3 columns (chrom, start, end); this one has "
                             f"{len(fields)}", str(path))
        start = _integer(fields[1], "start", str(path), n, fields)
        end = _integer(fields[2], "end", str(path), n, fields)
        region = Region(fields[0], start, end, fields[3] if len(fields) > 3 else "",
                        fields[5] if len(fields) > 5 and fields[5] in ("+", "-") else ".", None, str(path), n)
        if start < 0:
            raise region.error("the start is negative")
        if end <= start:
            raise region.error(f"{'zero' if end == start else 'negative'} width (the end must be after the start)")
        if label_column is not None:
            if len(fields) < label_column or not fields[label_column - 1]:
                raise region.error(f"no label in column {label_column} (the line has {len(fields)} columns)")
            region = Region(*[getattr(region, k) for k in ("chrom", "start", "end", "name", "strand")],
                            fields[label_column - 1], str(path), n)
        out.append(region)
    if not out:
        raise InputError("the BED file has no regions", str(path))
    return out


def check_regions(regions: Sequence[Region], genome: Genome) -> list[Region]:
    """``regions`` with each chromosome named as the genome names it; an unknown chromosome or a region past the
    chromosome's end is an error naming the BED file, line and region."""
    out = []
    for r in regions:
        name = genome.resolve(r.chrom)
        if name is None:
            raise r.error(f"unknown chromosome {r.chrom!r}: the genome {genome.path} has "
                          f"{genome.chromosomes_text()}")
        size = genome.lengths[name]
        if r.end > size:
            raise r.error(f"the region ends past the end of {name} (length {size}) in {genome.path}")
        out.append(Region(name, r.start, r.end, r.name, r.strand, r.label, r.file, r.line))
    return out
