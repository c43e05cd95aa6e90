"""Seeded synthetic tasks with a known answer, for the bundled examples, tests and experiments.

* :func:`motif_dna` — a short motif planted anywhere in random DNA decides the class;
* :func:`cterm_protein` — a C-terminal retention signal (``KDEL``/``HDEL``) decides the class;
  negatives may carry the signal elsewhere;
* :func:`memory_dna` — which of two 8-mers sits in the first 12 positions decides the class,
  followed by random sequence (the lecture's memory experiment).

Each returns a list of ``(id, sequence, label)`` and :func:`write_fasta` writes ``label=`` headers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for ident, seq, label in records:
            fh.write(f">{ident} label={label}\n")
            for i in range(0, len(seq), width):
                fh.write(seq[i:i + width] + "\n")
    return path
