"""Names for DNA motifs: JASPAR (``pyjaspar``, offline) or a MEME file, matched with TomTom (``memelite``).

A motif is a position probability matrix ``(W, 4)`` over ``ACGT`` (an RNA model's ``U`` is read as ``T``: JASPAR
is DNA). :func:`reference` loads the motifs to match against: a JASPAR release (``2026`` by default; the SQLite
file ships inside ``pyjaspar``, nothing is downloaded), its ``CORE`` collection by default, the vertebrate
matrices by default (``taxa="all"`` for every taxonomic group), the latest version of each matrix; or the
motifs of a MEME file (:func:`memelite.io.read_meme`). :func:`match` runs TomTom (both strands) of each query
against all of them and keeps the best ``top`` per query with its p-value and its q-value (Benjamini-Hochberg
over the query's p-values against every reference motif, as TomTom reports them). :func:`meme_text` gives
motifs as a MEME file through ``modiscolite``'s writer (:func:`write_meme` writes it);
:func:`memelite.io.read_meme` reads it back.

TomTom's kernels are numba functions cached on disk (``@njit(cache=True)``: in ``memelite/__pycache__``, or in
``$NUMBA_CACHE_DIR`` when set): the first match on a fresh install compiles them (about a minute); later
processes load them from the cache. :func:`compiled` says whether this process has matched once already.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

RELEASE = "2026"
COLLECTION = "CORE"
TAXA = ("vertebrates", "all")
LETTERS = "ACGT"


@dataclass(frozen=True)
class Reference:
    """Motifs to match against: ``ids`` (JASPAR matrix ids, or a MEME file's motif names), ``names`` (the
    transcription factor, or ``""``), ``matrices`` ``(W, 4)`` probabilities, ``families`` (JASPAR's TF family,
    ``Fos-related, Jun-related``; ``""`` from a MEME file), and where they come from."""

    source: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    matrices: tuple[np.ndarray, ...]
    families: tuple[str, ...] = ()

    def family(self, i: int) -> str:
        return self.families[i] if self.families else ""


@dataclass(frozen=True)
class Match:
    """One reference motif matched by TomTom: its id, name, p-value, q-value and TF family."""

    id: str
    name: str
    p_value: float
    q_value: float
    family: str = ""

    def words(self) -> str:
        return f"{self.id} {self.name} (q {self.q_value:.2g})".replace("  ", " ")


def releases() -> list[str]:
    """The JASPAR releases inside ``pyjaspar``, newest first (``2026``, ``2024``, ...)."""
    from pyjaspar import jaspar_releases

    return sorted((r.removeprefix("JASPAR") for r in jaspar_releases), reverse=True)


def _release(release: str | int) -> str:
    name = str(release).upper().removeprefix("JASPAR")
    if name not in releases():
        raise InputError(f"unknown JASPAR release {release!r}; pyjaspar has {', '.join(releases())}")
    return name


def reference(release: str | int = RELEASE, collection: str = COLLECTION, taxa: str = "vertebrates",
              motifs_file: str | os.PathLike | None = None) -> Reference:
    """The reference motifs: a MEME file's when ``motifs_file`` is given, else JASPAR's (see the module)."""
    if motifs_file is not None:
        return _meme_reference(str(motifs_file))
    if taxa not in TAXA:
        raise InputError(f"JASPAR taxa must be one of {', '.join(TAXA)}, not {taxa!r}")
    return _jaspar(_release(release), str(collection).upper(), taxa)


@functools.lru_cache(maxsize=4)
def _jaspar(release: str, collection: str, taxa: str) -> Reference:
    from pyjaspar import jaspardb

    db = jaspardb(release=f"JASPAR{release}")
    with warnings.catch_warnings():  # "Zero motifs returned": said below in words
        warnings.simplefilter("ignore")
        found = db.fetch_motifs(collection=collection, tax_group=None if taxa == "all" else [taxa])
    if not found:
        raise InputError(f"JASPAR {release} has no {collection} motifs for {taxa}")
    mats = []
    for m in found:
        counts = np.array([m.counts[c] for c in LETTERS], dtype=np.float64).T
        mats.append(counts / np.maximum(counts.sum(1, keepdims=True), 1e-12))
    return Reference(f"JASPAR{release} {collection} {taxa}", tuple(m.matrix_id for m in found),
                     tuple(m.name for m in found), tuple(mats), tuple(", ".join(m.tf_family or ()) for m in found))


def _meme_reference(path: str) -> Reference:
    from memelite.io import read_meme

    if not os.path.isfile(path):
        raise InputError("no such MEME file", path)
    try:
        motifs = read_meme(path)
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, IndexError) as e:
        raise InputError(f"not a readable MEME motif file ({type(e).__name__}: {e})", path) from None
    if not motifs:
        raise InputError("no motifs in this MEME file (no 'MOTIF' with a letter-probability matrix)", path)
    ids, names = zip(*[(key.split(" ", 1) + [""])[:2] for key in motifs])
    return Reference(os.path.basename(path), ids, names, tuple(np.asarray(m, dtype=np.float64).T
                                                                for m in motifs.values()))


def q_values(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of the p-values ``p`` (one query against every reference motif)."""
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


_MATCHED = []  # one entry once this process has run TomTom (its kernels compiled or loaded from the cache)


def compiled() -> bool:
    """Whether this process has run TomTom already (else the next match may compile it: about a minute on a
    fresh install, a second or two from numba's cache)."""
    return bool(_MATCHED)


def _tomtom(queries: list[np.ndarray], targets: list[np.ndarray]) -> np.ndarray:
    """TomTom's p-values ``(queries, targets)`` of motifs given as ``(4, W)`` (``memelite``'s layout)."""
    from memelite import tomtom

    with warnings.catch_warnings():  # a small MEME file: the p-values lean on few targets (said in the docs)
        warnings.simplefilter("ignore")
        return tomtom(queries, targets)[0]


def match(queries: Sequence[np.ndarray], ref: Reference, top: int = 3) -> list[list[Match]]:
    """The ``top`` best reference motifs for each query ``(W, 4)`` by TomTom p-value (both strands)."""
    if not len(queries):
        return []
    p = _tomtom([np.ascontiguousarray(q.T, dtype=np.float64) for q in queries],
                [np.ascontiguousarray(m.T, dtype=np.float64) for m in ref.matrices])
    _MATCHED.append(True)
    out = []
    for row in np.asarray(p, dtype=np.float64):
        row = np.where(np.isfinite(row), row, 1.0)
        q = q_values(row)
        best = np.argsort(row, kind="stable")[:top]
        out.append([Match(ref.ids[j], ref.names[j], float(row[j]), float(q[j]), ref.family(j)) for j in best])
    return out


def meme_text(motifs: Sequence[tuple[str, np.ndarray, int]]) -> str:
    """``(name, matrix (W, 4), sites)`` motifs as the text of a MEME file (``modiscolite``'s writer)."""
    from modiscolite.meme_writer import MEMEWriter, MEMEWriterMotif

    writer = MEMEWriter(memesuite_version="5", motifs=[], alphabet=LETTERS, strands="+ -",
                        background_frequencies="A 0.25 C 0.25 G 0.25 T 0.25")
    for name, matrix, sites in motifs:
        writer.add_motif(MEMEWriterMotif(name=name, probability_matrix=np.asarray(matrix), source_sites=int(sites),
                                         alphabet=LETTERS))
    return writer.get_output()


def write_meme(path: str, motifs: Sequence[tuple[str, np.ndarray, int]]) -> None:
    """Write ``(name, matrix (W, 4), sites)`` motifs as a MEME file (:func:`meme_text`)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(meme_text(motifs))
