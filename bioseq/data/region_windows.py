"""Windows around genome regions and the negatives drawn beside them: no file access here.

A region is a :class:`~bioseq.data.bed.Region` (0-based, half-open); a window is ``(start, end)`` on its
chromosome, possibly past either end (the genome pads it with ``N``). Sequences are ``str`` of the genome's letters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .bed import Region

COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")
BACKGROUND = "background"  # the class of drawn negatives


def window(r: Region, width: int | None, flank: int | None) -> tuple[int, int]:
    """``[start, end)`` of the window read for ``r``: recentred to ``width``, then ``flank`` added each side (it may
    reach past the chromosome: :meth:`bioseq.data.genome.Genome.padded` pads it)."""
    start, end = r.start, r.end
    if width:
        start = (r.start + r.end) // 2 - width // 2
        end = start + width
    return start - (flank or 0), end + (flank or 0)


def reverse_complement(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """``seq`` shuffled keeping its first letter and every dinucleotide count (the Altschul-Erikson shuffle as
    DeepLIFT writes it: each letter's following letters are permuted, the last one kept, which keeps the walk
    through them whole)."""
    if len(seq) < 3:
        return seq
    follows: dict[str, list[int]] = {}
    for i, c in enumerate(seq[:-1]):
        follows.setdefault(c, []).append(i + 1)
    for c, nxt in follows.items():
        if len(nxt) > 1:
            head = [nxt[k] for k in rng.permutation(len(nxt) - 1)]
            follows[c] = head + nxt[-1:]
    used = dict.fromkeys(follows, 0)
    out, at = [seq[0]], 0
    for _ in range(len(seq) - 1):
        c = seq[at]
        at = follows[c][used[c]]
        used[c] += 1
        out.append(seq[at])
    return "".join(out)


def flank_regions(regions: Sequence[Region], lengths) -> list[Region]:
    """One negative per region: the window of its width just left of it (even places) or right (odd), else the
    other side; a side past the chromosome or overlapping any of ``regions`` is not taken."""
    by_chrom: dict[str, np.ndarray] = {}
    for c in {r.chrom for r in regions}:
        by_chrom[c] = np.array([(r.start, r.end) for r in regions if r.chrom == c], dtype=np.int64)
    out = []
    for k, r in enumerate(regions):
        w, spans = r.width, by_chrom[r.chrom]
        sides = [(r.start - w, r.start), (r.end, r.end + w)]
        for a, b in sides[::1 if k % 2 == 0 else -1]:
            if a >= 0 and b <= lengths[r.chrom] and not ((spans[:, 0] < b) & (spans[:, 1] > a)).any():
                out.append(Region(r.chrom, a, b, f"{r.name or r.text} flank", r.strand, BACKGROUND, r.file, r.line))
                break
    return out
