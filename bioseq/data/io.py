"""Reading sequence files, as iterators of :class:`Record`.

FASTA (plain or gzipped) is the main format, read by bioseq's own reader; FASTQ and GenBank (Biopython) are
chosen by extension (``.fq``/``.fastq``, ``.gb``/``.gbk``/``.genbank``, each optionally ``.gz``). Anything else
is read as FASTA. Readers never hold a whole file in memory, and a FASTA record costs about one byte a letter:
the file is read :data:`BLOCK` bytes at a time and each record's letters are appended to one string, never
held as lines. :func:`stream_records` gives a record's letters a block at a time without holding them at all,
and ``read_records(..., hold=N)`` keeps only the first N letters of a longer record (a :class:`LongRecord`,
for a caller that is only going to refuse it).

Every problem raises :class:`~bioseq.errors.InputError` naming the file, and the record where
there is one: a missing file, a directory, a binary or non-UTF-8 file, a truncated gzip, text
before the first header, an empty record, or a file with no records at all.
"""

from __future__ import annotations

import codecs
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
BLOCK = 1 << 20  # bytes of a FASTA file read at a time
SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # the white space str.split() drops, among ASCII characters
DROP_SPACE = str.maketrans("", "", SPACE)
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


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


@dataclass(frozen=True)
class LongRecord(Record):
    """A record longer than the reader was asked to hold (``read_records(..., hold=N)``): ``seq`` is its first
    N letters only, ``length`` counts every letter and ``last`` is its last one."""

    length: int = 0
    last: str = ""


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


def _open_bytes(path: Path) -> IO[bytes]:
    """Open plain or gzipped bytes of text; the gzip magic number decides, not the name. A pipe is read once, into
    a copy that this and every later open reads (:func:`bioseq.data.streams.reopenable`); errors name ``path``."""
    opened = reopenable(path)
    with open(opened, "rb") as fh:
        magic = fh.read(2)
    raw: IO[bytes] = gzip.open(opened, "rb") if magic == b"\x1f\x8b" else open(opened, "rb")
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
    return raw


class _Progress:
    """Where a reader is: the records whose letters were all read (for an error's "after record N")."""

    done = 0


def _texts(raw: IO[bytes], path: str, at: _Progress) -> Iterator[str]:
    """The text of ``raw`` a block at a time: UTF-8 (a leading byte-order mark dropped, as Windows editors
    write one), every line end (``\\r\\n``, ``\\r``) as ``\\n``. Text up to a byte that is not UTF-8 comes
    first, then the error naming that byte's line."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    lines, cr = 0, ""
    while True:
        try:
            block = raw.read(BLOCK)
        except GZIP_ERRORS as e:
            raise InputError(f"damaged or truncated gzip file after record {at.done} ({e})", path) from None
        try:
            text, bad = decoder.decode(block, final=not block), None
        except UnicodeDecodeError as e:
            text, bad = e.object[:e.start].decode("utf-8"), e
        text = cr + text
        cr = "\r" if text.endswith("\r") and block and bad is None else ""
        text = text[:-1] if cr else text
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text:
            yield text
        if bad is not None:
            lines += text.count("\n")
            raise InputError(f"line {lines + 1}: not UTF-8 text (binary, UTF-16 or Latin-1?)", path)
        if not block:
            return
        lines += text.count("\n")


def _clean(text: str) -> str:
    """``text`` less its white space (str.split()'s)."""
    return text.translate(DROP_SPACE) if text.isascii() else "".join(text.split())


def _fasta_events(texts: Iterable[str], path: str, lines: bool) -> Iterator[tuple[bool, str]]:
    """``(True, title)`` at each header, then ``(False, letters)`` for the sequence text after it, white space
    (tabs, spaces, line ends) dropped: pieces of any size, or with ``lines`` one per non-empty line. Text before
    the first header is an error naming its line."""
    head: str | None = None  # the header line being read (it may span blocks)
    part = ""  # with ``lines``: the sequence line being read
    started, at_start, line = False, True, 1
    for text in texts:
        pos, n = 0, len(text)
        while pos < n:
            if head is not None:
                end = text.find("\n", pos)
                if end < 0:
                    head, pos = head + text[pos:], n
                    continue
                yield True, (head + text[pos:end]).rstrip()
                head, pos, line, at_start = None, end + 1, line + 1, True
                continue
            if at_start and text[pos] == ">":
                head, pos, started = "", pos + 1, True
                continue
            end = text.find("\n>", pos)
            stop = n if end < 0 else end + 1
            chunk = text[pos:stop]
            if not started:
                if chunk.strip():
                    at = line + chunk.count("\n", 0, len(chunk) - len(chunk.lstrip()))
                    raise InputError(f"line {at}: sequence text before the first '>' header "
                                     "(a sequence with no header?)", path)
            elif lines:
                *whole, part_end = chunk.split("\n")
                for piece in whole:
                    piece, part = _clean(part + piece), ""
                    if piece:
                        yield False, piece
                part += part_end
            else:
                piece = _clean(chunk)
                if piece:
                    yield False, piece
            line += chunk.count("\n")
            pos, at_start = stop, chunk.endswith("\n")
    if head is not None:
        yield True, head.rstrip()
    if lines and _clean(part):
        yield False, _clean(part)


def _grouped(events: Iterator[tuple[bool, str]]) -> Iterator[tuple[str, Iterator[str]]]:
    """``(title, letters)`` per record, ``letters`` an iterator that stops at the next header (to be read
    before the next record; what is left is skipped)."""
    following: list[str | None] = [next(events, (True, None))[1]]  # text before a header raises, so a header

    def letters() -> Iterator[str]:
        for is_head, text in events:
            if is_head:
                following[0] = text
                return
            yield text

    while following[0] is not None:
        title, following[0] = following[0], None
        pieces = letters()
        yield title, pieces
        for _ in pieces:
            pass


def _ident(title: str) -> str:
    return title.split(None, 1)[0] if title.strip() else ""


def _biopython(handle: IO[str], fmt: str) -> Iterator[tuple[str, str, Iterator[str]]]:
    for rec in SeqIO.parse(handle, fmt):
        yield rec.id, rec.description, iter([str(rec.seq)])


def _whole(pieces: Iterator[str], path: str, where: str, at: _Progress) -> Iterator[str]:
    """``pieces`` (the empty ones dropped), then an error if there were none."""
    empty = True
    for piece in pieces:
        if piece:
            empty = False
            yield piece
    if empty:
        raise InputError("empty record: the header has no sequence", path, where)
    at.done += 1


def stream_records(path: str | os.PathLike, fmt: str | None = None, *, lines: bool = False
                   ) -> Iterator[tuple[Record, Iterator[str]]]:
    """``(record, letters)`` per record: ``record.seq`` is empty and ``letters`` gives its letters a block at
    a time (with ``lines``: a FASTA record's sequence lines as they stand in the file, white space dropped),
    read before the next record is asked for. Memory does not grow with a record's length.

    An empty record (a header with no sequence) and a file without any record are errors.
    """
    p = Path(path)
    name = str(path)
    _check_path(p)
    fmt = fmt or guess_format(p)
    raw, at, number = _open_bytes(p), _Progress(), 0
    try:
        if fmt == "fasta":
            parsed = ((_ident(t), t, pieces) for t, pieces in _grouped(_fasta_events(_texts(raw, name, at), name,
                                                                                         lines)))
        else:  # utf-8-sig: a byte-order mark (as Windows editors write) is read as nothing
            parsed = _biopython(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline=None), fmt)
        for number, (ident, desc, pieces) in enumerate(parsed, 1):
            if not ident:
                raise InputError("header has no identifier", name, str(number))
            yield Record(ident, desc, "", name, number), _whole(pieces, name, f"{number} ({ident})", at)
    except GZIP_ERRORS as e:
        raise InputError(f"damaged or truncated gzip file after record {at.done} ({e})", name) from None
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text after record {at.done} (binary, UTF-16 or Latin-1?)", name) from None
    except InputError:
        raise
    except (ValueError, AssertionError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"not valid {fmt.upper()} after record {at.done}: {first}", name) from None
    finally:
        raw.close()
    if number == 0:
        raise InputError(f"no {fmt.upper()} records found (empty file?)", name)


def read_records(path: str | os.PathLike, fmt: str | None = None, *, hold: int | None = None) -> Iterator[Record]:
    """Iterate over the records of one sequence file, each held as one string (about a byte a letter).

    With ``hold``, a record of more letters is not held: it comes as a :class:`LongRecord` of its first ``hold``
    letters, its length and its last letter (the rest is read, counted and dropped).
    An empty record (a header with no sequence) and a file without any record are errors.
    """
    for head, pieces in stream_records(path, fmt):
        seq = ""
        for piece in pieces:
            if hold is not None and len(seq) + len(piece) > hold:
                length, last = len(seq) + len(piece), piece[-1]
                seq += piece[:hold - len(seq)]
                for piece in pieces:
                    length, last = length + len(piece), piece[-1]
                yield LongRecord(head.id, head.description, seq, head.file, head.number, length, last)
                break
            seq += piece  # one string grown in place (CPython), never a list of lines
        else:
            yield Record(head.id, head.description, seq, head.file, head.number)


def read_blocks(path: str | os.PathLike, fmt: str | None = None) -> Iterator[tuple[Record, list[str]]]:
    """Like :func:`read_records`, with each record's sequence lines as they stand in the file (FASTA), for
    layouts that give lines a meaning, such as three-line FASTA (sequence line, then label line)."""
    for head, pieces in stream_records(path, fmt, lines=True):
        lines = list(pieces)
        yield Record(head.id, head.description, "".join(lines), head.file, head.number), lines


def stream_many(paths: Iterable[str | os.PathLike], fmt: str | None = None) -> Iterator[tuple[Record, Iterator[str]]]:
    """:func:`stream_records` of several files in order."""
    for path in paths:
        yield from stream_records(path, fmt)


def read_many(paths: Iterable[str | os.PathLike], fmt: str | None = None, *, hold: int | None = None
              ) -> Iterator[Record]:
    """Records of several files in order (``hold``: as in :func:`read_records`)."""
    for path in paths:
        yield from read_records(path, fmt, hold=hold)


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
