"""A reference genome read by random access (pyfaidx): never the whole genome in memory.

``Genome(path).fetch(chrom, start, end)`` gives the letters ``[start, end)`` (0-based, end exclusive) of a
chromosome, as the FASTA holds them (soft-masked lower case kept; the models read letters case-insensitively).
A chromosome is found by its name with or without a ``chr`` prefix (``chr1`` and ``1`` name the same one, as
do ``chrM`` and ``MT``). A plain or bgzipped FASTA is indexed on first use (pyfaidx writes ``.fai`` beside
it); a gzipped one that is not bgzipped is refused with the command that fixes it. Every error names the
genome file.
"""

from __future__ import annotations

import os

from ..errors import InputError

ALIASES = {"chrm": "mt", "mt": "chrm"}


def _keys(name: str) -> list[str]:
    """The forms of a chromosome name that may match: as given, without or with ``chr``, case-insensitive."""
    low = name.lower()
    bare = low[3:] if low.startswith("chr") else low
    keys = [low, bare, "chr" + bare]
    if low in ALIASES:
        keys.append(ALIASES[low])
    return keys


class Genome:
    """A reference genome FASTA (plain or bgzipped), read by random access."""

    def __init__(self, path: str | os.PathLike):
        import pyfaidx

        self.path = str(path)
        if not os.path.isfile(self.path):
            raise InputError("no such genome file (a FASTA of the reference genome)" if not os.path.exists(self.path)
                             else "is not a file", self.path)
        try:
            self.fasta = pyfaidx.Fasta(self.path, as_raw=True, sequence_always_upper=False, rebuild=False,
                                       read_ahead=1 << 16)
        except pyfaidx.UnsupportedCompressionFormat:
            raise InputError("is gzipped but not bgzipped; random access needs `bgzip` compression (run "
                             "`gunzip` then `bgzip` on it) or a plain FASTA", self.path) from None
        except (pyfaidx.FastaIndexingError, ValueError, OSError) as e:
            raise InputError(f"cannot be read as an indexed FASTA genome ({e})", self.path) from None
        self.names = list(self.fasta.keys())
        if not self.names:
            raise InputError("holds no sequences (a FASTA of the reference genome)", self.path)
        self._by_key: dict[str, str] = {}
        for n in self.names:
            self._by_key.setdefault(n.lower(), n)
        for n in self.names:
            for k in _keys(n):
                self._by_key.setdefault(k, n)

    def resolve(self, chrom: str) -> str | None:
        """The genome's name for ``chrom`` (with or without ``chr``), or ``None``."""
        for k in _keys(str(chrom)):
            if k in self._by_key:
                return self._by_key[k]
        return None

    def name(self, chrom: str) -> str:
        """:meth:`resolve`, or an error naming the genome and a few of its chromosomes."""
        found = self.resolve(chrom)
        if found is None:
            shown = ", ".join(self.names[:5]) + (", …" if len(self.names) > 5 else "")
            raise InputError(f"no chromosome {chrom!r} (with or without 'chr'); it has {shown}", self.path)
        return found

    def length(self, chrom: str) -> int:
        return len(self.fasta[self.name(chrom)])

    def sizes(self) -> dict[str, int]:
        """Every chromosome's length, in file order."""
        return {n: len(self.fasta[n]) for n in self.names}

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Letters ``[start, end)`` (0-based) of ``chrom``; refuses a span outside the chromosome."""
        name = self.name(chrom)
        n = len(self.fasta[name])
        if start < 0 or end > n or start > end:
            raise InputError(f"{chrom}:{start}-{end} lies outside the chromosome (0-{n:,})", self.path)
        return str(self.fasta[name][start:end]) if end > start else ""

    def window(self, chrom: str, start: int, end: int, pad: str = "N") -> str:
        """Letters ``[start, end)``, with ``pad`` for the letters beyond either end of the chromosome."""
        n = self.length(chrom)
        lo, hi = max(0, start), min(n, end)
        inner = self.fetch(chrom, lo, hi) if hi > lo else ""
        return pad * (lo - start) + inner + pad * (end - max(hi, lo, start))

    def close(self) -> None:
        self.fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
