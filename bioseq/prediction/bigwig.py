"""A scan's bedGraph as a bigWig (pyBigWig), for genome browsers (IGV, UCSC) that want a binary, indexed track.

A bigWig holds no overlapping intervals, while a scan's windows overlap when the stride is shorter than the
window. The rule: each window's score covers the letters nearer its centre than any other window's centre of
the same record, within the window: window ``i`` covers ``[max(start_i, b_{i−1}), min(end_i, b_i))`` with
``b_i = ⌊(centre_i + centre_{i+1}) / 2⌋``. So windows that do not overlap (stride ≥ window) are written as they
are, the bigWig's value at a window's centre is that window's score, and every letter between the first and
the last centre has a value. Chromosome sizes are the records' lengths (the end of each record's last window,
which always ends at the record's end). The bedGraph is read twice, streamed: sizes, then intervals.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..errors import InputError

BLOCK = 100_000  # intervals handed to pyBigWig at a time


def _windows(bedgraph: str) -> Iterator[tuple[str, int, int, float]]:
    with open(bedgraph, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(("track", "browser", "#")) or not line.strip():
                continue
            chrom, start, end, score = line.rstrip("\n").split("\t")
            yield chrom, int(start), int(end), float(score)


def chromosome_sizes(bedgraph: str) -> list[tuple[str, int]]:
    """Each record's length, in file order; a record name met twice is refused (a bigWig names each once)."""
    sizes: dict[str, int] = {}
    last, before = None, -1
    for chrom, start, end, _ in _windows(bedgraph):  # a record's window starts rise: a fall is the next record
        if chrom in sizes and (chrom != last or start <= before):
            raise InputError(f"the record name {chrom!r} occurs twice among the scanned records; a bigWig names "
                             "each chromosome once: rename one, or write a bedGraph")
        sizes[chrom], last, before = max(sizes.get(chrom, 0), end), chrom, start
    return list(sizes.items())


def intervals(bedgraph: str) -> Iterator[tuple[str, int, int, float]]:
    """The bigWig's intervals (see the module docstring), streamed."""
    prev = None  # (chrom, start, end, score, low): the window waiting for its right neighbour
    for chrom, start, end, score in _windows(bedgraph):
        if prev is not None and prev[0] == chrom:
            b = (prev[1] + prev[2] + start + end) // 4
            if min(prev[2], b) > prev[4]:
                yield prev[0], prev[4], min(prev[2], b), prev[3]
            prev = (chrom, start, end, score, max(start, b))
            continue
        if prev is not None:
            yield prev[0], prev[4], prev[2], prev[3]
        prev = (chrom, start, end, score, start)
    if prev is not None:
        yield prev[0], prev[4], prev[2], prev[3]


def write_bigwig(bedgraph: str, out: str) -> None:
    """Write the bigWig of a scan's ``bedgraph`` (one window per line, a track line allowed) to ``out``."""
    import pyBigWig

    sizes = chromosome_sizes(bedgraph)
    bw = pyBigWig.open(os.fspath(out), "w")
    if bw is None:
        raise OSError(f"pyBigWig cannot open {out} for writing")
    try:
        bw.addHeader(sizes)
        block: list[tuple[str, int, int, float]] = []
        for row in intervals(bedgraph):
            block.append(row)
            if len(block) == BLOCK:
                _add(bw, block)
                block = []
        _add(bw, block)
    finally:
        bw.close()


def bigwig_bytes(bedgraph_text: str) -> bytes:
    """The bigWig of a scan's bedGraph text, as bytes (the dashboard's download): pyBigWig writes only to a
    path, so through a private temporary folder that is removed afterwards."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bioseq-bigwig-") as tmp:
        bedgraph, out = os.path.join(tmp, "scan.bedgraph"), os.path.join(tmp, "scan.bw")
        with open(bedgraph, "w", encoding="utf-8") as fh:
            fh.write(bedgraph_text)
        write_bigwig(bedgraph, out)
        with open(out, "rb") as fh:
            return fh.read()


def _add(bw, block: list[tuple[str, int, int, float]]) -> None:
    if block:
        chroms, starts, ends, values = (list(x) for x in zip(*block))
        bw.addEntries(chroms, starts, ends=ends, values=values)
