"""Seeded synthetic tasks with a known answer, for the bundled examples, tests and experiments.

* :func:`motif_dna` — a short motif planted anywhere in random DNA decides the class;
* :func:`cterm_protein` — a C-terminal retention signal (``KDEL``/``HDEL``) decides the class;
  negatives may carry the signal elsewhere;
* :func:`memory_dna` — which of two 8-mers sits in the first 12 positions decides the class,
  followed by random sequence (the lecture's memory experiment);
* :func:`transmembrane_protein` — one label per residue: hydrophobic stretches of 16-25 residues
  (transmembrane-like helices, label ``M``) in polar-rich soluble sequence (label ``O``).

Each returns a list of ``(id, sequence, label)`` (for :func:`transmembrane_protein` the label is a string as
long as the sequence); :func:`write_fasta` writes ``label=`` headers, :func:`write_three_line` the
three-line FASTA of per-position labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..outputs import write_output

AMINO = "ACDEFGHIKLMNPQRSTVWY"
DNA_MOTIF = "TGACTCA"  # AP-1 site


def _random(rng: np.random.Generator, letters: str, n: int) -> str:
    return "".join(np.array(list(letters))[rng.integers(0, len(letters), n)])


def _revcomp(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def motif_dna(n: int, length: int = 200, motif: str = DNA_MOTIF, seed: int = 0,
              ambiguous: float = 0.0) -> list[tuple[str, str, str]]:
    """Half ``motif`` (planted at a random place), half ``background`` without the motif."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        positive = i % 2 == 0
        while True:
            s = _random(rng, "ACGT", length)
            if motif not in s and _revcomp(motif) not in s:
                break
        if positive:
            at = int(rng.integers(0, length - len(motif) + 1))
            s = s[:at] + motif + s[at + len(motif):]
        if ambiguous:
            chars = list(s)
            for p in np.flatnonzero(rng.random(length) < ambiguous):
                if not positive or not (at <= p < at + len(motif)):
                    chars[p] = "N"
            s = "".join(chars)
        out.append((f"seq{i + 1}", s, "motif" if positive else "background"))
    return out


def cterm_protein(n: int, min_len: int = 40, max_len: int = 160, seed: int = 0) -> list[tuple[str, str, str]]:
    """Half end in ``KDEL``/``HDEL`` (``retained``); half do not (``secreted``), a third with a decoy inside."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        positive = i % 2 == 0
        length = int(rng.integers(min_len, max_len + 1))
        s = _random(rng, AMINO, length)
        signal = "KDEL" if rng.random() < 0.7 else "HDEL"
        if positive:
            s = s[:-4] + signal
        else:
            while s[-3:] == "DEL":
                s = s[:-1] + _random(rng, AMINO, 1)
            if rng.random() < 1 / 3:
                at = int(rng.integers(0, length - 12))
                s = s[:at] + signal + s[at + 4:]
        out.append((f"prot{i + 1}", s, "retained" if positive else "secreted"))
    return out


def memory_dna(n: int, length: int, seed: int = 0, kmers: tuple[str, str] = ("ACGTTGCA", "TGCAACGT"),
               window: int = 12) -> list[tuple[str, str, str]]:
    """Which of two 8-mers sits in the first ``window`` positions sets the label; the rest is random."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % 2
        s = list(_random(rng, "ACGT", length))
        at = int(rng.integers(0, window - len(kmers[label]) + 1))
        s[at:at + len(kmers[label])] = kmers[label]
        out.append((f"mem{i + 1}", "".join(s), f"kmer{label + 1}"))
    return out


def write_fasta(path: str | os.PathLike, records: list[tuple[str, str, str]], width: int = 60) -> Path:
    """Write ``(id, seq, label)`` records as FASTA with a ``label=`` token in each header."""
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "w") as fh:
            for ident, seq, label in records:
                fh.write(f">{ident} label={label}\n")
                for i in range(0, len(seq), width):
                    fh.write(seq[i:i + width] + "\n")

    write_output(path, write)
    return path


HYDROPHOBIC = "AILMFVWG"  # the letters of transmembrane-like segments (mostly)
SOLUBLE = "ACDEFGHIKLMNPQRSTVWY" + "DEKRNQSTGP" * 2  # polar- and charge-rich, hydrophobic letters rarer


def transmembrane_protein(n: int, min_len: int = 60, max_len: int = 240, seed: int = 0
                          ) -> list[tuple[str, str, str]]:
    """Proteins with 0-4 hydrophobic segments of 16-25 residues (``M``) in soluble sequence (``O``).

    A segment's residues are drawn from :data:`HYDROPHOBIC` with probability 0.9 (else any letter), the
    soluble parts from :data:`SOLUBLE`; segments are at least 8 residues apart. The rule to learn: a
    position is ``M`` when it lies in a long hydrophobic stretch, which takes context on both sides.
    """
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        labels = np.full(length, "O")
        k = int(rng.integers(0, 5))
        placed, tries = [], 0
        while len(placed) < k and tries < 50:
            tries += 1
            w = int(rng.integers(16, 26))
            start = int(rng.integers(0, max(length - w, 1)))
            if start + w > length or any(start < e + 8 and b < start + w + 8 for b, e in placed):
                continue
            placed.append((start, start + w))
            labels[start:start + w] = "M"
        seq = np.array(list(_random(rng, SOLUBLE, length)))
        tm = labels == "M"
        core = np.array(list(_random(rng, HYDROPHOBIC, length)))
        use = tm & (rng.random(length) < 0.9)
        seq[use] = core[use]
        out.append((f"tm{i:05d}", "".join(seq), "".join(labels)))
    return out


def write_three_line(path: str | os.PathLike, records: list[tuple[str, str, str]]) -> Path:
    """Write ``(id, sequence, label string)`` records as three-line FASTA: header, sequence, labels."""
    path = Path(path)
    text = "".join(f">{i}\n{s}\n{lab}\n" for i, s, lab in records)
    write_output(path, lambda tmp: Path(tmp).write_text(text))
    return path


GENOME_CHROMS = (("chr1", 300_000), ("chr2", 250_000), ("chr3", 200_000), ("4", 150_000))  # "4": a chr-less name


@dataclass(frozen=True)
class SyntheticGenome:
    """What :func:`motif_genome` wrote: the genome FASTA, the BED of positive regions (each holds ``motif``), a BED
    of negative regions of the same widths (no motif), and each planted site as ``(chrom, start, strand)`` (0-based
    start of the motif on the forward strand; ``-``: its reverse complement was planted)."""

    fasta: Path
    positives: Path
    negatives: Path
    motif: str
    sites: tuple[tuple[str, int, str], ...]


def _scrub(s: np.ndarray, motif: str) -> None:
    """Break every occurrence of ``motif`` and its reverse complement in the letter codes ``s`` (in place)."""
    for m in {motif, _revcomp(motif)}:
        text = s.tobytes().decode()
        at = text.find(m)
        while at >= 0:
            mid = at + len(m) // 2
            s[mid] = ord("A") if s[mid] != ord("A") else ord("C")
            at = text.find(m, at + 1)


def motif_genome(folder: str | os.PathLike, chroms=GENOME_CHROMS, per_mb: int = 1500, width: tuple[int, int] =
                 (150, 250), motif: str = DNA_MOTIF, seed: int = 0, line: int = 60) -> SyntheticGenome:
    """A random genome (``chroms``: ``(name, length)`` pairs) with ``motif`` planted near the centre of each
    positive region (either strand), and none elsewhere. Written to ``folder`` as ``genome.fa`` (soft-masked
    lower-case stretches, runs of N at each chromosome's start and in its middle), ``pos.bed`` and ``neg.bed``
    (region widths drawn from ``width``; about ``per_mb`` regions of each kind per Mbp, none overlapping an N run
    or another region)."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pos, neg, sites, fasta = [], [], [], []
    for name, size in chroms:
        s = np.frombuffer(_random(rng, "ACGT", size).encode(), dtype=np.uint8).copy()
        _scrub(s, motif)
        s[:1000] = ord("N")
        mid = size // 2
        s[mid:mid + 500] = ord("N")
        n = max(int(per_mb * size / 1e6), 2)
        starts = rng.permutation(np.arange(1100, size - 400, 400))[: 2 * n]  # 400 apart: never overlapping
        starts = [int(a) for a in starts if not (mid - 400 < a < mid + 500)]
        for k, a in enumerate(starts):
            w = int(rng.integers(width[0], width[1] + 1))
            if k % 2 == 0:
                strand = "+" if rng.random() < 0.5 else "-"
                at = a + w // 2 - len(motif) // 2 + int(rng.integers(-20, 21))
                s[at:at + len(motif)] = np.frombuffer((motif if strand == "+" else _revcomp(motif)).encode(), np.uint8)
                pos.append((name, a, a + w, f"peak{len(pos) + 1}"))
                sites.append((name, at, strand))
            else:
                neg.append((name, a, a + w, f"neg{len(neg) + 1}"))
        for a in rng.integers(0, size - 2000, max(size // 20_000, 1)):  # soft-masked (lower-case) stretches
            s[a:a + 1500] = np.frombuffer(s[a:a + 1500].tobytes().lower(), np.uint8)
        fasta.append((name, s.tobytes().decode()))

    def write_genome(tmp: str) -> None:
        with open(tmp, "w") as fh:
            for name, seq in fasta:
                fh.write(f">{name}\n")
                fh.writelines(seq[i:i + line] + "\n" for i in range(0, len(seq), line))

    def bed(rows):
        return lambda tmp: Path(tmp).write_text("".join(f"{c}\t{a}\t{b}\t{nm}\t0\t.\n" for c, a, b, nm in rows))

    paths = folder / "genome.fa", folder / "pos.bed", folder / "neg.bed"
    for path, write in zip(paths, (write_genome, bed(pos), bed(neg))):
        write_output(path, write)
    return SyntheticGenome(*paths, motif, tuple(sites))
