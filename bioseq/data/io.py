"""Reading sequence files with Biopython, as iterators of :class:`Record`.

FASTA (plain or gzipped) is the main format; FASTQ and GenBank are chosen by extension
(``.fq``/``.fastq``, ``.gb``/``.gbk``/``.genbank``, each optionally ``.gz``). Anything else is
read as FASTA. Readers never hold a whole file in memory.

Every problem raises :class:`~bioseq.errors.InputError` naming the file, and the record where
there is one: a missing file, a directory, a binary or non-UTF-8 file, a truncated gzip, text
before the first header, an empty record, or a file with no records at all.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from Bio import SeqIO

from ..errors import InputError
from ..option_spec import Option
from .streams import reopenable

FORMAT_BY_SUFFIX = {
    ".fq": "fastq", ".fastq": "fastq",
    ".gb": "genbank", ".gbk": "genbank", ".genbank": "genbank",
}


@dataclass(frozen=True)
class Record:
    """One sequence: ``number`` is its 1-based place in ``file``."""

    id: str
    description: str
    seq: str
    file: str
    number: int

    @property
    def where(self) -> str:
        return f"{self.number} ({self.id})" if self.id else str(self.number)


def guess_format(path: str | os.PathLike) -> str:
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return FORMAT_BY_SUFFIX.get(Path(name).suffix, "fasta")


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file", str(path))
    if path.is_dir():
        raise InputError("is a directory, not a sequence file", str(path))


def _open_text(path: Path) -> IO[str]:
    """Open plain or gzipped text; the gzip magic number decides, not the name. A pipe is read once, into a
    copy that this and every later open reads (:func:`bioseq.data.streams.reopenable`)."""
    path = reopenable(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    raw: IO[bytes] = gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")
    try:
        head = raw.peek(4096)[:4096] if hasattr(raw, "peek") else b""
    except (OSError, EOFError, zlib.error) as e:
        raw.close()
        raise InputError(f"damaged or truncated gzip file ({e})", str(path)) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raw.close()
        raise InputError("is UTF-16 text; save it as plain ASCII or UTF-8 FASTA", str(path))
    if b"\x00" in head:
        raw.close()
        raise InputError("is a binary file, not a text sequence file", str(path))
    # utf-8-sig: a byte-order mark (as Windows editors write) is read as nothing
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline=None)


def _checked_lines(handle: IO[str], path: str) -> Iterator[str]:
    """Yield lines, refusing sequence text before the first header and decoding errors."""
    started = False
    number = 0
    try:
        for number, line in enumerate(handle, 1):
            if not started:
                if line.startswith(">"):
                    started = True
                elif line.strip():
                    raise InputError(f"line {number}: sequence text before the first '>' header "
                                     "(a sequence with no header?)", path)
            yield line
    except UnicodeDecodeError as e:
        # the decoder works on a chunk that starts in the line after the last one yielded
        line = number + 1 + e.object[:e.start].count(b"\n")
        raise InputError(f"line {line}: not UTF-8 text (binary, UTF-16 or Latin-1?)", path) from None


def _fasta(handle: IO[str], path: str) -> Iterator[tuple[str, str, list[str]]]:
    """``(id, title, lines)`` per record; white space inside a line (tabs, spaces) is dropped."""
    title, lines = None, []
    for line in _checked_lines(handle, path):
        if line.startswith(">"):
            if title is not None:
                yield _ident(title), title, lines
            title, lines = line[1:].rstrip(), []
        elif title is not None:
            line = "".join(line.split())
            if line:
                lines.append(line)
    if title is not None:
        yield _ident(title), title, lines


def _ident(title: str) -> str:
    return title.split(None, 1)[0] if title.strip() else ""


def _biopython(handle: IO[str], fmt: str) -> Iterator[tuple[str, str, list[str]]]:
    for rec in SeqIO.parse(handle, fmt):
        yield rec.id, rec.description, [str(rec.seq)]


def read_records(path: str | os.PathLike, fmt: str | None = None) -> Iterator[Record]:
    """Iterate over the records of one sequence file.

    An empty record (a header with no sequence) and a file without any record are errors.
    """
    for record, _ in read_blocks(path, fmt):
        yield record


def read_blocks(path: str | os.PathLike, fmt: str | None = None) -> Iterator[tuple[Record, list[str]]]:
    """Like :func:`read_records`, with each record's sequence lines as they stand in the file (FASTA), for
    layouts that give lines a meaning, such as three-line FASTA (sequence line, then label line)."""
    p = Path(path)
    name = str(path)
    _check_path(p)
    fmt = fmt or guess_format(p)
    handle = _open_text(p)
    number = 0
    try:
        parsed = _fasta(handle, name) if fmt == "fasta" else _biopython(handle, fmt)
        for number, (ident, desc, lines) in enumerate(parsed, 1):
            if not ident:
                raise InputError("header has no identifier", name, str(number))
            seq = "".join(lines)
            if not seq:
                raise InputError("empty record: the header has no sequence", name, f"{number} ({ident})")
            yield Record(ident, desc, seq, name, number), lines
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise InputError(f"damaged or truncated gzip file after record {number} ({e})", name) from None
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text after record {number} (binary, UTF-16 or Latin-1?)", name) from None
    except InputError:
        raise
    except (ValueError, AssertionError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"not valid {fmt.upper()} after record {number}: {first}", name) from None
    finally:
        handle.close()
    if number == 0:
        raise InputError(f"no {fmt.upper()} records found (empty file?)", name)


def read_many(paths: Iterable[str | os.PathLike], fmt: str | None = None) -> Iterator[Record]:
    """Records of several files in order."""
    for path in paths:
        yield from read_records(path, fmt)


CHUNK_SIZE = Option("chunk_size", "predict", int, 4096, "records read at a time", min=1, metavar="N",
                    nullable=False)


def chunked(records: Iterable[Record], size: int, letters: int | None = None) -> Iterator[list[Record]]:
    """Group an iterator of records into lists of at most ``size`` (and, with ``letters``, of about that many
    letters at most: a list closes once it reaches them), for bounded memory. ``size`` below 1 is refused
    (:data:`CHUNK_SIZE`) before anything is read."""
    CHUNK_SIZE.check(size, InputError)
    return _chunks(records, size, letters)


def _chunks(records: Iterable[Record], size: int, letters: int | None) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    total = 0
    for rec in records:
        chunk.append(rec)
        total += len(rec.seq)
        if len(chunk) == size or (letters is not None and total >= letters):
            yield chunk
            chunk, total = [], 0
    if chunk:
        yield chunk


def read_upload(data: bytes, name: str, fmt: str | None = None) -> list[Record]:
    """Records from the bytes of an uploaded file; errors name ``name`` (the file the user chose)."""
    import tempfile

    suffix = "".join(Path(name).suffixes[-2:]) or ".fa"
    with tempfile.TemporaryDirectory(prefix="bioseq-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            records = list(read_records(path, fmt or guess_format(name)))
        except InputError as e:
            raise InputError(str(e).replace(str(path), name)) from None
    return [Record(r.id, r.description, r.seq, name, r.number) for r in records]


def parse_text(text: str, name: str = "pasted sequence") -> list[Record]:
    """Records from pasted text: FASTA, or one bare sequence (white space ignored)."""
    text = text.strip()
    if not text:
        raise InputError("nothing was pasted", name)
    if text.startswith(">"):
        return read_upload(text.encode("utf-8"), name, "fasta")
    return [Record("pasted", "pasted", "".join(text.split()), name, 1)]
