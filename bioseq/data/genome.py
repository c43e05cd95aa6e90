"""A reference genome read by random access (:class:`Genome`), through ``pyfaidx``: never the whole genome in memory.

``Genome(path)`` opens a plain FASTA or a bgzipped FASTA (``bgzip``; ``pysam.tabix_compress`` makes one). A FASTA
compressed with plain gzip cannot be read at random places: it is recompressed once, streamed (bounded memory),
into a bgzipped copy in the workspace (``$BIOSEQ_HOME/genome-index/<key>/``, keyed like the index below), with a
note saying so; later runs reuse the copy. ``fetch(chrom, start, end)`` gives the letters of ``[start, end)``
(0-based, half-open) in upper case (soft-masked lower-case letters read as upper case); runs of ``N`` stay ``N``.

**The index.** pyfaidx needs a ``.fai`` index (and a ``.gzi`` for bgzip). An index beside the FASTA
(``genome.fa.fai``, ``genome.fa.gz.gzi``) that is not older than the FASTA is used as it is. Otherwise the index is
built in the workspace (``$BIOSEQ_HOME/genome-index/<key>/``, the key from the FASTA's absolute path, size and
modification time), never beside the user's file: the folder of a genome may be read-only or shared, and bioseq
never writes next to or changes a user's input.

**Chromosome names** (:meth:`Genome.resolve`): a name is matched as it is; else with its ``chr`` prefix dropped or
added (a BED saying ``chr1`` against a genome saying ``1``, and the other way round; ``Chr1`` too), and
``chrM``/``MT``/``M`` for each other. A match that needed a rename is recorded in :attr:`Genome.renamed` so the
caller can say so in a note.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ..errors import InputError
from ..workspace import workspace

GZIP_MAGIC = b"\x1f\x8b"
MITO = ("chrM", "MT", "chrMT", "M", "ChrM")  # the mitochondrion's names, tried for any of them
MITO_BASES = ("M", "MT")


def is_bgzip(head: bytes) -> bool:
    """Whether the first bytes of a file are a BGZF block (gzip with a ``BC`` extra field)."""
    return len(head) >= 14 and head[:2] == GZIP_MAGIC and head[3] & 4 and head[12:14] == b"BC"


def compression(path: str | os.PathLike) -> str:
    """``plain``, ``bgzip`` or ``gzip`` (plain gzip) from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != GZIP_MAGIC:
        return "plain"
    return "bgzip" if is_bgzip(head) else "gzip"


def name_candidates(name: str) -> list[str]:
    """The names ``name`` may have in a genome, in the order tried: itself, the ``chr`` prefix (any case:
    ``Chr1`` as TAIR writes it) dropped or added, then the other spellings of the mitochondrion (chrM/MT)."""
    base = name[3:] if name[:3].lower() == "chr" and len(name) > 3 else name
    out = [name, base, "chr" + base, "Chr" + base, "CHR" + base]
    if base.upper() in MITO_BASES:
        out += MITO
    return list(dict.fromkeys(out))


class Genome:
    """A FASTA genome read by random access. ``lengths`` maps each sequence name (as the FASTA says it, up to the
    first white space) to its length."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        p = Path(path)
        if not p.exists():
            raise InputError("no such genome file", self.path)
        if not p.is_file():
            raise InputError("the genome is not a file", self.path)
        kind = compression(p)
        self.copied: Path | None = None
        if kind == "gzip":  # plain gzip: read through a bgzipped copy in the workspace
            self.copied = p = self._bgzipped_copy(p)
        self.compressed = kind != "plain"
        self._fasta = self._open(p)
        self.lengths: Mapping[str, int] = MappingProxyType({k: len(v) for k, v in self._fasta.items()})
        if not self.lengths:
            raise InputError("the genome has no sequences (is it a FASTA file?)", self.path)
        self.renamed: dict[str, str] = {}

    def _open(self, p: Path):
        import pyfaidx

        fai, gzi = self._index_paths(p)
        try:
            return pyfaidx.Fasta(str(p), indexname=str(fai), gzi_indexname=str(gzi) if self.compressed else None,
                                 as_raw=True, sequence_always_upper=True, rebuild=False)
        except pyfaidx.FastaIndexingError as e:
            raise InputError(f"cannot index the genome: {_first_line(e)}", self.path) from None
        except (pyfaidx.UnsupportedCompressionFormat, ValueError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read the genome: {_first_line(e)}", self.path) from None

    def _bgzipped_copy(self, p: Path) -> Path:
        """A bgzipped copy of a plain-gzip FASTA in the workspace, made once (streamed, into a private folder,
        then moved in place)."""
        import gzip
        import zlib

        from Bio import bgzf

        st = p.stat()
        key = hashlib.sha256(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:20]
        folder = workspace() / "genome-index" / key
        copy = folder / (p.name + ".bgz")
        if copy.exists():
            return copy
        tmp = folder / f"copying-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            with gzip.open(p, "rb") as src, bgzf.BgzfWriter(str(tmp / copy.name), "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            os.replace(tmp / copy.name, copy)
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(f"cannot read the gzipped genome: {_first_line(e)}", self.path) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return copy

    def _index_paths(self, p: Path) -> tuple[Path, Path]:
        """The ``.fai`` (and ``.gzi``) to use: beside the FASTA when there and up to date, else in the workspace,
        built there now (into a private folder, then moved in place: two processes never share a half index)."""
        beside = (Path(str(p) + ".fai"), Path(str(p) + ".gzi"))
        fresh = [q.exists() and q.stat().st_mtime >= p.stat().st_mtime for q in beside]
        if fresh[0] and (fresh[1] or not self.compressed):
            return beside
        st = p.stat()
        key = hashlib.sha256(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:20]
        folder = workspace() / "genome-index" / key
        fai, gzi = folder / (p.name + ".fai"), folder / (p.name + ".gzi")
        if fai.exists() and (gzi.exists() or not self.compressed):
            return fai, gzi
        import pyfaidx

        tmp = folder / f"building-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            pyfaidx.Faidx(str(p), indexname=str(tmp / fai.name),
                          gzi_indexname=str(tmp / gzi.name) if self.compressed else None).close()
            if self.compressed:
                os.replace(tmp / gzi.name, gzi)
            os.replace(tmp / fai.name, fai)
        except pyfaidx.FastaIndexingError as e:
            raise InputError(f"cannot index the genome: {_first_line(e)}", self.path) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise InputError(f"cannot read the genome: {_first_line(e)}", self.path) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return fai, gzi

    def resolve(self, chrom: str) -> str | None:
        """The genome's name for ``chrom`` (see the module docstring), or ``None`` when it has none."""
        for name in name_candidates(chrom):
            if name in self.lengths:
                if name != chrom:
                    self.renamed[chrom] = name
                return name
        return None

    def length(self, chrom: str) -> int:
        """The length of ``chrom`` (any spelling :meth:`resolve` matches)."""
        return self.lengths[self._name(chrom)]

    def _name(self, chrom: str) -> str:
        name = self.resolve(chrom)
        if name is None:
            raise InputError(f"no chromosome {chrom!r} in the genome ({self.chromosomes_text()})", self.path)
        return name

    def chromosomes_text(self, shown: int = 5) -> str:
        names = list(self.lengths)
        return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """The letters of ``chrom`` from ``start`` to ``end`` (0-based, half-open), upper case."""
        name = self._name(chrom)
        if start < 0 or end > self.lengths[name] or end < start:
            raise InputError(f"{chrom}:{start}-{end} is outside {name} (length {self.lengths[name]})", self.path)
        return str(self._fasta[name][start:end])

    def padded(self, chrom: str, start: int, end: int) -> str:
        """The letters of ``[start, end)`` like :meth:`fetch`, with ``N`` for the part before 0 or past the
        chromosome's end (windows centred near a chromosome's ends)."""
        n = self.length(chrom)
        lo, hi = max(0, start), min(n, end)
        inner = self.fetch(chrom, lo, hi) if hi > lo else ""
        return "N" * (lo - start) + inner + "N" * (end - max(hi, lo, start))

    def notes(self) -> list[str]:
        """One line per chromosome name matched under another spelling, and one if a plain-gzip genome was read
        through a bgzipped copy."""
        copied = [f"the genome {self.path} is compressed with plain gzip, which cannot be read at random places: "
                  f"it is read through a bgzipped copy in the workspace ({self.copied})"] if self.copied else []
        return copied + [f"chromosome {a!r} read as {b!r} of the genome {self.path}"
                         for a, b in sorted(self.renamed.items())]

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
