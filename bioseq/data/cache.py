"""The encoded-sequence cache: labelled sequence files encoded once into one memory-mapped file.

A cache file (``$BIOSEQ_HOME/cache/<key>.bsq``, :func:`cache_path`) holds, for N records:

* ``codes`` ``(total,)`` uint8: every record's letters as bytes (as the model reads them: cleaned and cut
  by the length policy), one byte a letter; the alphabet's lookup table ``(256, alphabet)`` turns them into
  one-hot rows, IUPAC codes into fractional rows, at batch time (:meth:`EncodedView.batch`);
* ``offsets`` ``(N + 1,)`` int64: record i is ``codes[offsets[i]:offsets[i + 1]]``;
* ``labels`` ``(N,)`` int64 class indices; ``hashes`` ``(N,)`` uint64, a 64-bit BLAKE2b hash of each
  upper-cased sequence (identical sequences: one hash, for the split and the duplicate counts);
* ``ids`` (UTF-8 bytes) with ``id_offsets`` ``(N + 1,)`` int64;
* a JSON header (at the end): the format version, the source (each file's path, size and SHA-256, and the
  options that change the content), the alphabet, the classes, the section places, a BLAKE2b checksum of
  the offsets, labels, hashes and ids, and a CRC-32 of the codes.

The layout is ``MAGIC codes ids offsets id_offsets labels hashes header header-length MAGIC``, each section
8-byte aligned. It is written to a temporary file and renamed (:func:`bioseq.workspace.atomic_write`). On
opening, a bad magic or version, sizes that disagree with the file or each other, a checksum or CRC that
does not match, or a different source raises :class:`CacheError`: :func:`load_or_build` then rebuilds it.
Building reads the files twice (a survey of labels and alphabet, then the encoding), one record at a time;
its memory is the compact arrays above, about 32 bytes a record, never the records themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..workspace import atomic_write, workspace
from .alphabets import Alphabet, AlphabetSurvey, get_alphabet
from .dataset import NO_TOKEN, NOT_A_LETTER, class_from_filename, file_sha256, header_label, read_label_table
from .encoding import clean, encode, fit_length
from .io import _check_path, read_many

MAGIC = b"BSQCACH1"
VERSION = 1
ARRAYS = ("offsets", "id_offsets", "labels", "hashes")
PAD = 256  # the code of a padded position: the zero row of the batch table
CHUNK = 1 << 22  # bytes written, or read for the CRC, at a time


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
    """An opened cache file: memory-mapped codes and ids, the small arrays in memory."""

    def __init__(self, path: str | os.PathLike, identity: dict | None = None):
        self.path = Path(path)
        self.meta, self.codes, self.ids_blob, arrays = _open(self.path, identity)
        self.offsets, self.id_offsets, self.labels, self.hashes = (arrays[k] for k in ARRAYS)
        self.alphabet = Alphabet.from_dict(self.meta["alphabet"])
        self.classes: list[str] = list(self.meta["classes"])
        self.truncated: int = self.meta["truncated"]
        self.built = False  # True when load_or_build had to build it

    def __len__(self) -> int:
        return len(self.labels)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def seq(self, i: int) -> str:
        return bytes(self.codes[self.offsets[i]:self.offsets[i + 1]]).decode("ascii")

    def id(self, i: int) -> str:
        return bytes(self.ids_blob[self.id_offsets[i]:self.id_offsets[i + 1]]).decode("utf-8")


def _open(path: Path, identity: dict | None) -> tuple[dict, np.ndarray, np.ndarray, dict]:
    try:
        size = path.stat().st_size
        if size < 2 * len(MAGIC) + 8:
            raise CacheError("too short")
        mm = np.memmap(path, dtype=np.uint8, mode="r")
        if bytes(mm[:8]) != MAGIC or bytes(mm[-8:]) != MAGIC:
            raise CacheError("bad magic")
        head_len = int(np.frombuffer(bytes(mm[-16:-8]), dtype="<u8")[0])
        if head_len > size - 24:
            raise CacheError("bad header length")
        meta = json.loads(bytes(mm[size - 16 - head_len:size - 16]).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CacheError(f"unreadable ({e})") from None
    if meta.get("version") != VERSION or (identity is not None and meta.get("source") != identity):
        raise CacheError("another version or source")
    n, total, places = meta["n"], meta["total"], meta["sections"]
    want = {"codes": total, "ids": meta["ids_bytes"], "offsets": 8 * (n + 1), "id_offsets": 8 * (n + 1),
            "labels": 8 * n, "hashes": 8 * n}
    if {k: v[1] for k, v in places.items()} != want or any(a < 8 or a + b > size - 16 - head_len
                                                            for a, b in places.values()):
        raise CacheError("section sizes disagree")
    sec = {k: mm[a:a + b] for k, (a, b) in places.items()}
    arrays = {k: np.frombuffer(bytes(sec[k]), dtype="<u8" if k == "hashes" else "<i8") for k in ARRAYS}
    if _checksum(arrays, sec["ids"], meta) != meta["checksum"] or _crc(path, *places["codes"]) != meta["codes_crc"]:
        raise CacheError("checksum mismatch")
    off, ids_off = arrays["offsets"], arrays["id_offsets"]
    if (off[0], off[-1], ids_off[0], ids_off[-1]) != (0, total, 0, meta["ids_bytes"]) or (np.diff(off) < 0).any() \
            or (np.diff(ids_off) < 0).any() or (arrays["labels"] < 0).any() \
            or (arrays["labels"] >= len(meta["classes"])).any():
        raise CacheError("offsets or labels out of range")
    return meta, sec["codes"], sec["ids"], arrays


def _checksum(arrays: Mapping[str, np.ndarray], ids: np.ndarray, meta: dict) -> str:
    """BLAKE2b of the arrays, the ids and the header (less its checksum)."""
    h = hashlib.blake2b(digest_size=16)
    for k in ARRAYS:
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
    h.update(bytes(ids))
    h.update(json.dumps({k: v for k, v in meta.items() if k != "checksum"}, sort_keys=True).encode())
    return h.hexdigest()


def _crc(path: Path, start: int, length: int) -> int:
    crc = 0
    with open(path, "rb") as fh:
        fh.seek(start)
        while length > 0:
            block = fh.read(min(CHUNK, length))
            if not block:
                raise CacheError("truncated codes")
            crc, length = zlib.crc32(block, crc), length - len(block)
    return crc


class EncodedView:
    """The encoded sequences of the records ``index`` of a cache, as the training loop reads them: item i is
    the ``(length, alphabet)`` float32 array of :func:`bioseq.data.encoding.encode`, :meth:`batch` builds
    a padded batch straight from the memory map (identical to :func:`bioseq.data.encoding.pad_batch`)."""

    def __init__(self, cache: SequenceCache, index: np.ndarray):
        self.cache, self.index = cache, np.asarray(index, dtype=np.int64)
        self.starts = cache.offsets[self.index]
        self.lengths = cache.offsets[self.index + 1] - self.starts
        self.table = np.vstack([np.nan_to_num(cache.alphabet.table(), nan=0.0),
                                np.zeros((1, cache.alphabet.size), dtype=np.float32)])  # (257, K): PAD is 0

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.table[self.cache.codes[self.starts[i]:self.starts[i] + self.lengths[i]]]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def codes(self, idx: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Letter codes ``(B, T)`` int64 (:data:`PAD` past each end, T the longest) and lengths ``(B,)``."""
        lengths = self.lengths[idx]
        pos = np.arange(int(lengths.max()) if len(lengths) else 0)
        inside = pos[None, :] < lengths[:, None]
        where = np.where(inside, self.starts[idx][:, None] + pos[None, :], 0)
        return np.where(inside, self.cache.codes[where].astype(np.intp), PAD), lengths

    def batch(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, alphabet)`` float32 and ``lengths (B,)`` for the records ``idx`` of this view."""
        codes, lengths = self.codes(idx)
        return torch.from_numpy(self.table[codes]), torch.from_numpy(lengths)

    def compositions(self, chunk: int = 8192) -> np.ndarray:
        """Letter frequencies ``(N, alphabet)`` float64 (:func:`bioseq.prediction.novelty.compositions`)."""
        out = np.zeros((len(self), self.table.shape[1]))
        for a in range(0, len(self), chunk):
            codes, lengths = self.codes(np.arange(a, min(a + chunk, len(self))))
            rows = np.arange(len(codes))[:, None] * (PAD + 1) + codes
            counts = np.bincount(rows.ravel(), minlength=len(codes) * (PAD + 1)).reshape(len(codes), PAD + 1)
            out[a:a + len(codes)] = counts @ self.table.astype(np.float64) / np.maximum(lengths, 1)[:, None]
        return out


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
    ids, truncated, crc = bytearray(), 0, 0

    def write(tmp: str) -> None:
        nonlocal truncated, crc
        with open(tmp, "wb") as fh:
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
                ids.extend(r.id.encode("utf-8"))
                arrays["id_offsets"].append(len(ids))
                if len(pending) >= 16384:
                    crc = _flush(fh, pending, crc)
            crc = _flush(fh, pending, crc)
            if total == 0:
                raise InputError("every class was dropped", ", ".join(paths))
            places = {"codes": (len(MAGIC), total)}
            for name, data in (("ids", bytes(ids)), *((k, np.asarray(arrays[k]).astype("<u8" if k == "hashes"
                                                                                        else "<i8").tobytes())
                                                       for k in ARRAYS)):
                fh.write(b"\0" * (-fh.tell() % 8))
                places[name] = (fh.tell(), len(data))
                fh.write(data)
            n = len(arrays["labels"])
            meta = {"version": VERSION, "source": identity, "n": n, "total": total, "ids_bytes": len(ids),
                    "alphabet": alphabet.to_dict(), "classes": class_list, "truncated": truncated,
                    "sections": places, "codes_crc": crc}
            meta["checksum"] = _checksum({k: np.asarray(arrays[k]) for k in ARRAYS}, np.frombuffer(ids, np.uint8),
                                         json.loads(json.dumps(meta)))  # as read back: tuples become lists
            head = json.dumps(meta).encode("utf-8")
            fh.write(head + np.array([len(head)], dtype="<u8").tobytes() + MAGIC)

    atomic_write(path, write)
    cache = SequenceCache(path, identity)
    cache.built = True
    return cache


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
