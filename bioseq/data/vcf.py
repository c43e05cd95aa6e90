"""Variants from a VCF (pysam): plain, gzipped or bgzipped; one :class:`Variant` per ALT allele.

SNPs and short indels are kept (ALT alleles of A, C, G, T and N letters); symbolic and structural ALTs
(``<DEL>``, breakends, ``*``) and lines without an ALT (``.``) are skipped and counted in :class:`Skipped`.
Every problem names the VCF file and line (1-based, counting the header lines, blank ones included): a line
pysam cannot parse, a blank line among the records (pysam stops on it; blank lines at the very end are ignored),
a file that is not a VCF. A gzipped VCF that is not bgzipped (pysam needs BGZF) is read through a
decompressed temporary copy, streamed.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InputError

LETTERS = re.compile(r"[ACGTNacgtn]+")
SKIP_WORDS = {"symbolic": "symbolic or structural ALT (<DEL>, breakend, *)", "no_alt": "no ALT allele ('.')"}


@dataclass(frozen=True)
class Variant:
    """One ALT allele of a VCF line: ``pos`` 1-based as in the VCF, ``line`` the file's 1-based line."""

    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    line: int

    @property
    def label(self) -> str:
        return f"{self.chrom}:{self.pos} {self.ref}>{self.alt}"


class Skipped(Counter):
    """Alleles skipped by reason (:data:`SKIP_WORDS`), with :meth:`words` for a note."""

    def words(self) -> str:
        return "; ".join(f"{n:,} {'allele' if n == 1 else 'alleles'} with {SKIP_WORDS[k]}"
                         for k, n in sorted(self.items()) if n)


def _is_bgzf(path: str) -> bool | None:
    """``True`` for a bgzipped file, ``False`` for one gzipped otherwise, ``None`` when not gzipped."""
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        return None
    return bool(len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC")


@contextlib.contextmanager
def _readable(path: str) -> Iterator[str]:
    """A path pysam opens: the file itself, or a decompressed temporary copy of a non-BGZF gzip."""
    if _is_bgzf(path) is not False:
        yield path
        return
    fd, tmp = tempfile.mkstemp(suffix=".vcf", prefix="bioseq-")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    except (OSError, EOFError) as e:
        os.remove(tmp)
        raise InputError(f"cannot be decompressed ({e})", path) from None
    try:
        yield tmp
    finally:
        os.remove(tmp)


def _lines(path: str):
    return gzip.open(path, "rb") if _is_bgzf(path) else open(path, "rb")


def _header_lines(path: str) -> int:
    """How many lines the VCF's header holds, up to its ``#CHROM`` line, blank lines among them included
    (pysam's own header adds lines of its own)."""
    n = 0
    with _lines(path) as fh:
        for raw in fh:
            n += 1
            if raw.startswith(b"#CHROM"):
                return n
            if raw.strip() and not raw.startswith(b"#"):
                return n - 1
    return n


def _blank_at(path: str, line: int) -> bool | None:
    """Whether line ``line`` (1-based) is blank: ``None`` when it is not, ``True`` when it and every line after it
    are blank (a harmless end of file), ``False`` when records follow it."""
    with _lines(path) as fh:
        rest = itertools.islice(fh, line - 1, None)
        if next(rest, b"").strip():
            return None
        return not any(raw.strip() for raw in rest)


def read_variants(path: str | os.PathLike, skipped: Skipped | None = None) -> Iterator[Variant]:
    """The ALT alleles of ``path`` in file order, streamed (see the module docstring)."""
    import pysam

    path = str(path)
    if not os.path.isfile(path):
        raise InputError("no such VCF file" if not os.path.exists(path) else "is not a file", path)
    skipped = Skipped() if skipped is None else skipped
    pysam.set_verbosity(0)  # htslib's own warnings would go to standard error beside our one line
    with _readable(path) as readable:
        try:
            vf = pysam.VariantFile(readable)
        except (ValueError, OSError) as e:
            raise InputError("is not a VCF file (pysam finds no VCF header: '##fileformat=VCF…' and '#CHROM…' "
                             f"lines){'' if isinstance(e, ValueError) else f' ({_why(e)})'}", path) from None
        with vf:
            line = _header_lines(readable)
            records = iter(vf)
            while True:
                line += 1
                try:
                    rec = next(records)
                except StopIteration:
                    return
                except (ValueError, OSError) as e:
                    blank = _blank_at(readable, line)
                    if blank:  # blank lines at the end of the file: pysam stops on them, nothing is lost
                        return
                    if blank is False:
                        raise InputError(f"line {line}: a blank line among the records (a VCF has none: remove "
                                         "it)", path) from None
                    raise InputError(f"line {line}: cannot be read as a VCF record ({_why(e)})", path) from None
                yield from _alleles(rec, path, line, skipped)


def _alleles(rec, path: str, line: int, skipped: Skipped) -> Iterator[Variant]:
    ref = rec.ref or ""
    if not LETTERS.fullmatch(ref):
        raise InputError(f"line {line}: REF {ref!r} is not made of A, C, G, T and N letters", path)
    if not rec.alts:
        skipped["no_alt"] += 1
        return
    for alt in rec.alts:
        if not LETTERS.fullmatch(alt or ""):
            skipped["symbolic"] += 1
            continue
        yield Variant(str(rec.chrom), int(rec.pos), rec.id or "", ref.upper(), alt.upper(), line)


def _why(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    return text.split("\n")[0]
