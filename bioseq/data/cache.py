"""The encoded-sequence cache: labelled sequence files encoded once into one memory-mapped file.

A cache file (``$BIOSEQ_HOME/cache/<key>.bsq``, :func:`cache_path`) holds, for N records:

* ``codes`` ``(total,)`` uint8: every record's letters as bytes (as the model reads them: cleaned and cut
  by the length policy), one byte a letter; the alphabet's lookup table ``(256, alphabet)`` turns them into
  one-hot rows, IUPAC codes into fractional rows, at batch time
  (:meth:`bioseq.data.encoded_view.EncodedView.batch`);
* ``offsets`` ``(N + 1,)`` int64: record i is ``codes[offsets[i]:offsets[i + 1]]``;
* ``labels`` ``(N,)`` int64 class indices; ``hashes`` ``(N,)`` uint64, a 64-bit BLAKE2b hash of each
  upper-cased sequence (identical sequences: one hash, for the split and the duplicate counts);
* ``ids`` (UTF-8 bytes) with ``id_offsets`` ``(N + 1,)`` int64;
* a JSON header (at the end): the format version, the source (each file's path, size and SHA-256, and the
  options that change the content), the alphabet, the classes, the section places, a BLAKE2b checksum of
  the offsets, labels, hashes and ids, and a CRC-32 of the codes.

The layout is ``MAGIC codes ids offsets id_offsets labels hashes header header-length MAGIC``, each section
8-byte aligned. It is written to a temporary file and renamed (:func:`bioseq.workspace.atomic_write`). On
opening, a bad magic or version, a header that is not a JSON object of the expected fields, sizes that
disagree with the file or each other, a checksum or CRC that does not match, or a different source raises
:class:`CacheError`: :func:`load_or_build` then rebuilds it.
Building reads the files twice (a survey of labels and alphabet, then the encoding), one record at a time;
the per-record arrays and ids go to temporary files as they grow, so its memory does not grow with the number
of records. Opening checks the file a block at a time and maps every section, the per-record arrays too:
nothing of size N is read into memory until a caller asks for it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import mmap
import os
import shutil
import tempfile
import zlib
from array import array
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..workspace import atomic_write, workspace
from .alphabets import Alphabet, AlphabetSurvey, get_alphabet
from .dataset import NO_TOKEN, NOT_A_LETTER, class_from_filename, file_sha256, header_label, read_label_table
from .encoding import clean, encode, fit_length
from .io import _check_path, read_many

MAGIC = b"BSQCACH1"
VERSION = 1
ARRAYS = ("offsets", "id_offsets", "labels", "hashes")
DTYPES = {"offsets": "<i8", "id_offsets": "<i8", "labels": "<i8", "hashes": "<u8"}
CHUNK = 1 << 22  # bytes written, or read for the CRC, at a time
RELEASE = 1 << 24  # the mapped pages read are given back after this many letters (or bytes of per-record arrays)


class CacheError(ValueError):
    """A cache file that cannot be trusted (damaged, truncated, or of another source)."""


def cache_dir() -> Path:
    return workspace() / "cache"


def source_identity(paths: Sequence[str | os.PathLike], **options) -> dict:
    """What a cache's content depends on: each file's absolute path, size and SHA-256, and ``options``."""
    files = [{"path": os.path.abspath(p), "size": os.path.getsize(p), "sha256": file_sha256(p)} for p in paths]
    table = options.get("labels")
    if table:
        options = {**options, "labels": {"path": os.path.abspath(table), "sha256": file_sha256(table)}}
    return {"version": VERSION, "files": files, "options": options}


def cache_path(paths: Sequence[str | os.PathLike], **options) -> Path:
    """The cache file of ``paths`` read with ``options`` (named by them; the contents are checked on opening)."""
    key = json.dumps([[os.path.abspath(p) for p in paths], options], sort_keys=True, default=str)
    return cache_dir() / f"{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}.bsq"


class SequenceCache:
    """An opened cache file: the codes, ids and per-record arrays, each a view of one read-only memory map."""

    def __init__(self, path: str | os.PathLike, identity: dict | None = None):
        self.path = Path(path)
        self.meta, self.map, places = _open(self.path, identity)
        mm = np.frombuffer(self.map, dtype=np.uint8)
        sec = {k: mm[a:a + b] for k, (a, b) in places.items()}
        self.codes, self.ids_blob = sec["codes"], sec["ids"]
        arrays = {k: sec[k].view(DTYPES[k]) for k in ARRAYS}
        self.offsets, self.id_offsets, self.labels, self.hashes = (arrays[k] for k in ARRAYS)
        self.alphabet = Alphabet.from_dict(self.meta["alphabet"])
        self.classes: list[str] = list(self.meta["classes"])
        self.truncated: int = self.meta["truncated"]
        self.built = False  # True when load_or_build had to build it
        self.read = 0  # letters and per-record bytes read from the map since its pages were last released

    def __len__(self) -> int:
        return len(self.labels)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def release(self) -> None:
        """Drop the pages of the file this process has read from its resident memory (the kernel keeps them in
        its page cache, and reading them again maps them back): a pass over every record then costs no memory."""
        self.read = 0
        if hasattr(mmap, "MADV_DONTNEED"):
            self.map.madvise(mmap.MADV_DONTNEED)

    def touched(self, n: int) -> None:
        """Count ``n`` letters (or bytes) read from the map; past :data:`RELEASE` its pages are released, so that
        epochs and whole passes keep resident memory flat."""
        self.read += int(n)
        if self.read > RELEASE:
            self.release()

    def seq(self, i: int) -> str:
        return bytes(self.codes[self.offsets[i]:self.offsets[i + 1]]).decode("ascii")

    def id(self, i: int) -> str:
        return bytes(self.ids_blob[self.id_offsets[i]:self.id_offsets[i + 1]]).decode("utf-8")


def _open(path: Path, identity: dict | None) -> tuple[dict, mmap.mmap, dict[str, tuple[int, int]]]:
    """The header, a read-only memory map of the file and each section's place, after every check of the module
    docstring; the checks read the file a block at a time, so opening holds no section in memory."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 2 * len(MAGIC) + 8 or fh.read(8) != MAGIC:
                raise CacheError("too short or bad magic")
            fh.seek(size - 16)
            head_len, end = int(np.frombuffer(fh.read(8), dtype="<u8")[0]), fh.read(8)
            if end != MAGIC or head_len > size - 24:
                raise CacheError("bad magic or header length")
            fh.seek(size - 16 - head_len)
            meta = json.loads(fh.read(head_len).decode("utf-8"))
            if not isinstance(meta, dict):  # valid JSON, but not the header's object
                raise CacheError("the header is not an object")
            if meta.get("version") != VERSION or (identity is not None and meta.get("source") != identity):
                raise CacheError("another version or source")
            places = _places(meta, size - 16 - head_len)
            if _checksum(fh, places, meta) != meta["checksum"] or _crc(fh, *places["codes"]) != meta["codes_crc"]:
                raise CacheError("checksum mismatch")
            _check_ranges(fh, places, meta)
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CacheError(f"unreadable ({e})") from None
    except CacheError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # a header of the wrong shape
        raise CacheError(f"bad header ({type(e).__name__}: {e})") from None
    return meta, mapped, places


def _places(meta: dict, end: int) -> dict[str, tuple[int, int]]:
    """Each section's ``(start, length)``, checked against the counts in the header and the file's size."""
    n, total, places = int(meta["n"]), int(meta["total"]), {k: tuple(map(int, v)) for k, v in meta["sections"].items()}
    want = {"codes": total, "ids": int(meta["ids_bytes"]), "offsets": 8 * (n + 1), "id_offsets": 8 * (n + 1),
            "labels": 8 * n, "hashes": 8 * n}
    if {k: v[1] for k, v in places.items()} != want or any(a < 8 or b < 0 or a % 8 and k != "codes"
                                                            or a + b > end for k, (a, b) in places.items()):
        raise CacheError("section sizes disagree")
    return places


def _blocks(fh, start: int, length: int, dtype: str = "u1") -> Iterator[np.ndarray]:
    """A section of the open file ``fh`` a block at a time (as ``dtype``), never the whole section at once."""
    item, size = np.dtype(dtype).itemsize, CHUNK
    fh.seek(start)
    while length > 0:
        block = fh.read(min(size - size % item, length))
        if not block:
            raise CacheError("truncated section")
        length -= len(block)
        yield np.frombuffer(block, dtype=dtype)


def _check_ranges(fh, places: dict, meta: dict) -> None:
    """Offsets that start at 0, never decrease and end at their section's size; labels that name a class."""
    for k, end in (("offsets", meta["total"]), ("id_offsets", meta["ids_bytes"])):
        last = None
        for block in _blocks(fh, *places[k], "<i8"):
            if (last is None and block[0] != 0) or (last is not None and block[0] < last) or (np.diff(block) < 0).any():
                raise CacheError("offsets out of range")
            last = block[-1]
        if last != end:
            raise CacheError("offsets out of range")
    for block in _blocks(fh, *places["labels"], "<i8"):
        if (block < 0).any() or (block >= len(meta["classes"])).any():
            raise CacheError("labels out of range")


def _checksum(fh, places: dict, meta: dict) -> str:
    """BLAKE2b of the per-record arrays and the ids (read from the open file ``fh``) and the header (less its
    checksum)."""
    h = hashlib.blake2b(digest_size=16)
    for k in (*ARRAYS, "ids"):
        for block in _blocks(fh, *places[k]):
            h.update(block)
    h.update(json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True).encode())
    return h.hexdigest()


def _crc(fh, start: int, length: int) -> int:
    return functools.reduce(lambda crc, block: zlib.crc32(block, crc), _blocks(fh, start, length), 0)


def _labeller(paths: list[str], table: dict | None, mode: str | None):
    """A record's label name under a label mode (``table``, ``header``, ``files``)."""
    if table is not None:
        return lambda r: table.get(r.id)
    return (lambda r: header_label(r.description)) if mode == "header" else lambda r: class_from_filename(r.file)


def _survey(paths: list[str], table: dict | None, class_map: Mapping[str, str], alphabet: Alphabet | None
            ) -> tuple[str, set[str], Alphabet]:
    """First pass: the label mode, the label names kept, and the alphabet (given, or detected on the
    records kept), with the errors of :func:`bioseq.data.dataset.load_dataset`."""
    modes = ["table"] if table is not None else ["header"] + (["files"] if len(paths) > 1 else [])
    names = {m: set() for m in modes}
    surveys = {m: AlphabetSurvey(", ".join(paths)) for m in modes}
    first_missing, any_token = None, False
    for r in read_many(paths):
        token = header_label(r.description)
        if table is not None and r.id not in table:
            raise InputError(f"id {r.id!r} is not in the labels file", r.file, r.where)
        any_token |= token is not None
        first_missing = first_missing or (None if token is not None or table is not None else r)
        for m in modes:
            name = table[r.id] if m == "table" else token if m == "header" else class_from_filename(r.file)
            name = class_map.get(name, name) if name is not None else None
            if not name:
                continue
            names[m].add(name)
            if alphabet is None:
                bad = NOT_A_LETTER.search(r.seq)
                if bad:
                    raise InputError(f"invalid character {bad.group()!r} (not a letter of any alphabet)",
                                     r.file, r.where, bad.start() + 1)
                surveys[m].add(r.seq)
    mode = "table" if table is not None else "header" if first_missing is None else "files"
    if mode == "files" and (any_token or len(paths) < 2):
        raise InputError(NO_TOKEN, first_missing.file, first_missing.where)
    if not names[mode]:
        raise InputError("every class was dropped", ", ".join(paths))
    try:
        return mode, names[mode], alphabet or surveys[mode].result()
    except ValueError as e:
        raise InputError(str(e)) from None


def build_cache(path: str | os.PathLike, paths: Sequence[str | os.PathLike], identity: dict, *,
                labels: str | os.PathLike | None = None, alphabet: str | Alphabet | None = None,
                classes: Sequence[str] | None = None, max_length: int | None = None, length_policy: str = "start",
                class_map: Mapping[str, str] | None = None) -> SequenceCache:
    """Encode ``paths`` into the cache file ``path`` (the records, labels and errors of
    :func:`bioseq.data.dataset.load_dataset` with the same arguments), streaming, and open it."""
    paths, class_map = [str(p) for p in paths], dict(class_map or {})
    if not paths:
        raise InputError("no input files given")
    table = read_label_table(labels) if labels else None
    alphabet = get_alphabet(alphabet) if isinstance(alphabet, str) else alphabet
    mode, names, alphabet = _survey(paths, table, class_map, alphabet)
    class_list = list(classes) if classes is not None else sorted(names)
    if classes is None and len(class_list) < 2:
        raise InputError(f"needs at least two classes; found only {class_list}", ", ".join(paths))
    index, valid, name_of = {c: i for i, c in enumerate(class_list)}, ~np.isnan(alphabet.table()[:, 0]), \
        _labeller(paths, table, mode)
    arrays = {k: array("Q" if k == "hashes" else "q") for k in ARRAYS}
    arrays["offsets"].append(0)
    arrays["id_offsets"].append(0)
    ids, truncated, crc, n, n_ids = bytearray(), 0, 0, 0, 0

    def write(tmp: str) -> None:
        nonlocal truncated, crc, n, n_ids
        with open(tmp, "w+b") as fh, tempfile.TemporaryDirectory(prefix=".build-", dir=os.path.dirname(tmp)) as td, \
                contextlib.ExitStack() as files:
            spill = {k: files.enter_context(open(os.path.join(td, k), "w+b")) for k in ("ids", *ARRAYS)}
            fh.write(MAGIC)
            pending, total = [], 0
            for r in read_many(paths):
                name = name_of(r)
                name = class_map.get(name, name)
                if not name:
                    continue
                s = clean(r.seq, alphabet)
                try:
                    ok = valid[np.frombuffer(s.encode("ascii"), dtype=np.uint8)].all()
                except UnicodeEncodeError:
                    ok = False
                if not ok:
                    encode(r.seq, alphabet, file=r.file, record=r.where)  # raises the error of the in-memory path
                if name not in index:
                    raise InputError(f"label {name!r} is not one of the classes {class_list}", r.file, r.where)
                cut = fit_length(s, max_length, length_policy)
                truncated += len(cut) < len(s)
                data = cut.encode("ascii")
                pending.append(data)
                total += len(data)
                arrays["offsets"].append(total)
                arrays["labels"].append(index[name])
                arrays["hashes"].append(int.from_bytes(hashlib.blake2b(data.upper(), digest_size=8).digest(),
                                                       "little"))
                ident = r.id.encode("utf-8")
                ids.extend(ident)
                n, n_ids = n + 1, n_ids + len(ident)
                arrays["id_offsets"].append(n_ids)
                if len(pending) >= 16384:
                    crc = _flush(fh, pending, crc)
                    _spill(spill, arrays, ids)
            crc = _flush(fh, pending, crc)
            _spill(spill, arrays, ids)
            if total == 0:
                raise InputError("every class was dropped", ", ".join(paths))
            places = {"codes": (len(MAGIC), total)}
            for name, part in spill.items():  # ids, then the arrays, each 8-byte aligned
                fh.write(b"\0" * (-fh.tell() % 8))
                places[name] = (fh.tell(), part.tell())
                part.seek(0)
                shutil.copyfileobj(part, fh, CHUNK)
            meta = {"version": VERSION, "source": identity, "n": n, "total": total, "ids_bytes": n_ids,
                    "alphabet": alphabet.to_dict(), "classes": class_list, "truncated": truncated,
                    "sections": places, "codes_crc": crc}
            meta["checksum"] = _checksum(fh, places, json.loads(json.dumps(meta)))  # as read back: tuples are lists
            fh.seek(0, os.SEEK_END)
            head = json.dumps(meta).encode("utf-8")
            fh.write(head + np.array([len(head)], dtype="<u8").tobytes() + MAGIC)

    atomic_write(path, write)
    cache = SequenceCache(path, identity)
    cache.built = True
    return cache


def _spill(spill: dict, arrays: dict, ids: bytearray) -> None:
    """Move the per-record values gathered so far to their temporary files (memory stays flat)."""
    for k in ARRAYS:
        spill[k].write(np.asarray(arrays[k]).astype(DTYPES[k]).tobytes())
        del arrays[k][:]
    spill["ids"].write(ids)
    ids.clear()


def _flush(fh, pending: list[bytes], crc: int) -> int:
    block = b"".join(pending)
    pending.clear()
    fh.write(block)
    return zlib.crc32(block, crc)


def load_or_build(paths: Sequence[str | os.PathLike], **options) -> SequenceCache:
    """The cache of ``paths`` read with ``options`` (those of :func:`build_cache`): opened when it exists,
    is whole and matches the files as they are now, else (re)built."""
    key = {k: (dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, (list, tuple)) else
               v.name if isinstance(v, Alphabet) else str(v) if k == "labels" and v else v)
           for k, v in options.items()}
    for p in paths:
        _check_path(Path(p))  # a missing file or a folder: the reader's one-line error
    path, identity = cache_path(paths, **key), source_identity(paths, **key)
    try:
        return SequenceCache(path, identity)
    except (CacheError, KeyError, TypeError, ValueError):  # damaged (an unreadable alphabet, say): rebuilt
        return build_cache(path, paths, identity, **options)
