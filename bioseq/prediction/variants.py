"""Variant effects: the model's output around the reference allele and around the alternative allele of every
SNP and short indel of a VCF (:mod:`bioseq.data.vcf`), against a genome (:mod:`bioseq.data.genome`).

Windows: ``W`` letters (the model's input length: its ``max_length``, else its longest training sequence, or
``window=``). With ``c = W // 2`` and the variant's first letter at 0-based ``p`` (VCF ``pos − 1``), the
reference window is the genome's ``[p − c, p − c + W)``: the REF allele starts at index ``c``. The alternative
window keeps the same ``c`` letters on the left, then the ALT allele, then the genome from the end of the REF
allele on, cut to ``W`` letters: so for an indel both windows are ``W`` letters, aligned on the left flank
(a deletion pulls letters in from the right, an insertion pushes them out; an allele longer than ``W − c`` is
cut at the window's end, and such alleles are counted in a note). Letters beyond a chromosome's ends are ``N``.

The REF allele is checked against the genome before any scoring (:func:`check_variants`): every mismatch is
listed by VCF line in one error, or with ``skip_mismatch`` left out and counted, never scored. A chromosome the
genome lacks (with or without ``chr``) or a position past its end is an error naming the line.

Scores: the model's probability of each class (both strands where the model reads both, as in ``predict``):
a classifier's for the window, a labeller's at the variant's first letter (index ``c``; every position of
the window goes to the positions table, ``offset`` = index − ``c``). Rows, one per variant allele and class:
``chrom, pos, id, ref, alt, class, ref_score, alt_score, diff, log_odds_ratio`` with ``diff = alt − ref`` and
``log_odds_ratio = logit(alt) − logit(ref)``, probabilities clipped to ``[1e-6, 1 − 1e-6]``. Or a BED
(``fmt="bed"``): a ``track`` line, then ``chrom, start, end, name, score`` per variant allele for one class,
``start``/``end`` the REF allele's span (0-based, end exclusive), ``name`` ``ID:REF>ALT:diff``, ``score``
``round(1000·|diff|)`` (BED's 0-1000). Variants go in chunks through :func:`~bioseq.prediction.shards.write_chunks`
(bounded memory, atomic output, shared among torchrun's processes).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import runtime
from ..data.encoding import encode_span
from ..data.genome import Genome
from ..data.vcf import Skipped, Variant, read_variants
from ..errors import InputError, ModelFileError
from ..model.store import ModelBundle
from ..outputs import check_folder, check_output
from ..runtime import RANK_TIMEOUT
from ..task import task_of
from .predict import length_limit, memory_limit, predict_arrays
from .shards import write_chunks

FORMATS = ("csv", "bed")
COLUMNS = ["chrom", "pos", "id", "ref", "alt", "class", "ref_score", "alt_score", "diff", "log_odds_ratio"]
POSITION_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "offset", "class", "ref_score", "alt_score", "diff"]
EPS = 1e-6
LISTED = 10  # mismatching lines named in the error
CHUNK_LETTERS = 1 << 22  # the letters of one chunk's windows (reference and alternative) at most


@dataclass
class Checked:
    """What :func:`check_variants` found: alleles to score, skipped ones, REF mismatches (the first
    :data:`LISTED` as ``(line, words)``, all of them counted in ``mismatched``: memory stays bounded)."""

    scored: int = 0
    skipped: Skipped = field(default_factory=Skipped)
    mismatches: list[tuple[int, str]] = field(default_factory=list)
    mismatched: int = 0
    cut: int = 0  # scored alleles (REF or ALT) longer than the window's right half: only partly in their windows
    half: int = 0  # that right half, W - W // 2 letters

    def notes(self) -> list[str]:
        out = [f"skipped {self.skipped.words()}"] if self.skipped else []
        if self.mismatched:
            n = self.mismatched
            out.append(f"left out {n:,} {'allele' if n == 1 else 'alleles'} whose REF does not match the genome "
                       f"({'line' if n == 1 else 'lines'} {_lines(self.mismatches, n)})")
        if self.cut:
            n = self.cut
            out.append(f"{n:,} {'allele' if n == 1 else 'alleles'} (REF or ALT) longer than the {self.half:,} letters "
                       "the window holds from the variant on: scored on the part inside the window (a larger "
                       "window holds more)")
        return out


def _lines(found: list[tuple[int, str]], n: int) -> str:
    shown = ", ".join(f"{line} ({words})" for line, words in found[:LISTED])
    return shown + (f" and {n - LISTED:,} more" if n > LISTED else "")


def _chunks(variants: Iterator[Variant], size: int) -> Iterator[list[Variant]]:
    """Lists of ``size`` variants; one empty list when there are none (the output still gets its header)."""
    it, first = iter(variants), True
    while (chunk := list(itertools.islice(it, size))) or first:
        first = False
        yield chunk


def variant_window(bundle: ModelBundle, window: int | None = None) -> int:
    """The window ``W``: ``window``, else the model's ``max_length``, else its longest training sequence."""
    where = bundle.path or bundle.name
    if bundle.alphabet.name not in ("dna", "rna"):
        raise ModelFileError(f"{where}: this model reads {bundle.alphabet.name.upper()}; variant effects need a "
                             "DNA (or RNA) model, as the genome is DNA")
    if window is None:
        window = bundle.max_length or length_limit(bundle)[1]
        if not window:
            raise InputError("the model file records no training lengths: give the window (--window)", where)
    window = int(window)
    if window < 1:
        raise InputError(f"the window must be at least 1 letter, not {window}")
    if bundle.max_length and window > bundle.max_length:
        raise InputError(f"a window of {window:,} letters is longer than the model reads (its max_length, "
                         f"{bundle.max_length:,}); choose --window {bundle.max_length} or less")
    if window > memory_limit(bundle):
        raise InputError(f"a window of {window:,} letters is more than this model reads at once in bounded memory "
                         f"(at most {memory_limit(bundle):,} letters for a model of this size)")
    return window


padded = Genome.padded  # padded(genome, chrom, start, end): the genome's one padded read


def allele_windows(genome: Genome, v: Variant, window: int) -> tuple[str, str]:
    """The reference and alternative windows of ``v`` (see the module docstring), ``window`` letters each."""
    c, p = window // 2, v.pos - 1
    left = padded(genome, v.chrom, p - c, p)
    ref = padded(genome, v.chrom, p - c, p - c + window)
    alt = left + v.alt
    rest = window - len(alt)
    if rest > 0:
        alt += padded(genome, v.chrom, p + len(v.ref), p + len(v.ref) + rest)
    return ref, alt[:window]


def _place(genome: Genome, vcf: str, v: Variant) -> str | None:
    """The genome's letters under ``v``'s REF, or ``None`` past the chromosome's end; errors name the line."""
    name = genome.resolve(v.chrom)
    if name is None:
        raise InputError(f"line {v.line}: chromosome {v.chrom!r} is not in the genome {genome.path} (with or "
                         f"without 'chr'; it has {genome.chromosomes_text()})", vcf)
    n = genome.length(name)
    if v.pos < 1 or v.pos - 1 + len(v.ref) > n:
        raise InputError(f"line {v.line}: {v.label} lies past the end of {name} ({n:,} letters) in the genome "
                         f"{genome.path}", vcf)
    return genome.fetch(name, v.pos - 1, v.pos - 1 + len(v.ref)).upper()


def matches(found: str, ref: str) -> bool:
    """REF against the genome's letters, case-insensitive; an ``N`` on either side matches any letter."""
    return len(found) == len(ref) and all(a == b or "N" in (a, b) for a, b in zip(found, ref))


def variants_of(genome: Genome, vcf: str, checked: Checked | None = None, window: int = 0) -> Iterator[Variant]:
    """The VCF's scorable alleles whose REF matches the genome; mismatches go to ``checked``, and with
    ``window`` the alleles longer than its right half are counted."""
    checked = Checked() if checked is None else checked
    checked.half = window - window // 2
    for v in read_variants(vcf, checked.skipped):
        found = _place(genome, vcf, v)
        if matches(found, v.ref):
            checked.scored += 1
            checked.cut += bool(window) and max(len(v.ref), len(v.alt)) > checked.half
            yield v
        else:
            checked.mismatched += 1
            if len(checked.mismatches) < LISTED:
                checked.mismatches.append((v.line, f"{v.chrom}:{v.pos} REF {v.ref}, genome {found}"))


def check_variants(genome: Genome, vcf: str, skip_mismatch: bool = False, window: int = 0) -> Checked:
    """Read the whole VCF once (streamed) before scoring: the REF of every allele against the genome. Refuses
    mismatches, listed by line, unless ``skip_mismatch``; counts the alleles longer than ``window``'s right half."""
    checked = Checked()
    for _ in variants_of(genome, vcf, checked, window):
        pass
    if checked.mismatched and not skip_mismatch:
        n = checked.mismatched
        raise InputError(f"the REF allele does not match the genome {genome.path} at {n:,} "
                         f"{'allele' if n == 1 else 'alleles'}: {'line' if n == 1 else 'lines'} "
                         f"{_lines(checked.mismatches, n)}; is it the same assembly? (--skip-mismatch scores the "
                         "others and leaves these out)", vcf)
    return checked


def score_variants(bundle: ModelBundle, genome: Genome, variants: list[Variant], window: int,
                   batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray, list | None]:
    """``(ref, alt, positions)``: each ``(N, classes)`` probabilities at the variant, and for a labeller
    ``[(ref (W, C), alt (W, C))]`` per variant (``None`` for a classifier)."""
    seqs = [s for v in variants for s in allele_windows(genome, v, window)]
    if bundle.alphabet.name == "rna":
        seqs = [s.replace("T", "U").replace("t", "u") for s in seqs]
    where = {"file": genome.path}
    rows = [encode_span(s, bundle.alphabet, **where) for s in seqs]
    probs = predict_arrays(bundle, rows, batch_size)
    if not task_of(bundle).per_position:
        probs = np.asarray(probs, dtype=float)
        return probs[0::2], probs[1::2], None
    c = window // 2
    at = np.asarray([p[c] for p in probs], dtype=float).reshape(-1, len(bundle.classes))
    return at[0::2], at[1::2], [(probs[i], probs[i + 1]) for i in range(0, len(probs), 2)]


def log_odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def effect_table(variants: list[Variant], classes: list[str], ref: np.ndarray, alt: np.ndarray) -> pd.DataFrame:
    """One row per variant allele and class (:data:`COLUMNS`)."""
    k = len(classes)
    table = pd.DataFrame({
        "chrom": np.repeat([v.chrom for v in variants], k), "pos": np.repeat([v.pos for v in variants], k),
        "id": np.repeat([v.id for v in variants], k), "ref": np.repeat([v.ref for v in variants], k),
        "alt": np.repeat([v.alt for v in variants], k), "class": np.tile(classes, len(variants)),
        "ref_score": ref.reshape(-1), "alt_score": alt.reshape(-1)})
    table["diff"] = table["alt_score"] - table["ref_score"]
    table["log_odds_ratio"] = log_odds(table["alt_score"].to_numpy()) - log_odds(table["ref_score"].to_numpy())
    return table


def position_table(variants: list[Variant], classes: list[str], positions: list, window: int) -> pd.DataFrame:
    """A labeller's change at every position of every window (:data:`POSITION_COLUMNS`)."""
    frames = []
    offsets = np.arange(window) - window // 2
    for v, (ref, alt) in zip(variants, positions):
        n = min(len(ref), len(alt))
        frame = pd.DataFrame({"offset": np.repeat(offsets[:n], len(classes)),
                              "class": np.tile(classes, n),
                              "ref_score": np.asarray(ref[:n], float).reshape(-1),
                              "alt_score": np.asarray(alt[:n], float).reshape(-1)})
        for col, value in reversed(list(zip(POSITION_COLUMNS[:5], (v.chrom, v.pos, v.id, v.ref, v.alt)))):
            frame.insert(0, col, value)
        frame["diff"] = frame["alt_score"] - frame["ref_score"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=POSITION_COLUMNS)


def bed_lines(table: pd.DataFrame, target: str) -> str:
    """The BED rows of one class of an effect table (see the module docstring)."""
    rows = table[table["class"] == target]
    lines = []
    for r in rows.itertuples(index=False):
        name = f"{r.id or f'{r.chrom}:{r.pos}'}:{r.ref}>{r.alt}:{r.diff:+.4g}"
        lines.append(f"{r.chrom}\t{r.pos - 1}\t{r.pos - 1 + len(r.ref)}\t{name}\t{round(1000 * abs(r.diff))}\n")
    return "".join(lines)


def bed_header(name: str, target: str) -> str:
    return (f'track name="{name}" description="variant effects on P({target}): score 1000 x |alt - ref|" '
            "useScore=1\n")


def write_effects(fh, table: pd.DataFrame, fmt: str, header: bool, target: str, name: str) -> None:
    if fmt == "bed":
        fh.write((bed_header(name, target) if header else "") + bed_lines(table, target))
    else:
        table.to_csv(fh, header=header, index=False, float_format="%.6g", lineterminator="\n")


def _target(bundle: ModelBundle, target: str | None, fmt: str) -> str | None:
    if target is not None and target not in bundle.classes:
        raise InputError(f"unknown class {target!r}; the model's classes are {', '.join(bundle.classes)}")
    return target if target is not None or fmt != "bed" else bundle.classes[-1]


def variant_files(bundle: ModelBundle, vcf: str | os.PathLike, genome: str | os.PathLike, out: str | None, *,
                  window: int | None = None, fmt: str = "csv", target: str | None = None,
                  positions_out: str | None = None, skip_mismatch: bool = False, batch_size: int = 256,
                  progress: Callable[[int], None] | None = None, rank_timeout: float = RANK_TIMEOUT) -> Checked:
    """Score every allele of ``vcf`` and write the effects to ``out`` (and a labeller's positions to
    ``positions_out``); what was checked, scored and left out. See the module docstring."""
    if fmt not in FORMATS:
        raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    per_position = task_of(bundle).per_position
    if positions_out and not per_position:
        raise InputError("--positions-out is for a labeller (a model that labels every position); this model "
                         "classifies whole windows")
    vcf, W = str(vcf), variant_window(bundle, window)
    column = _target(bundle, target, fmt)
    classes = [column] if column else list(bundle.classes)
    idx = [bundle.classes.index(c) for c in classes]
    per = max(1, min(batch_size, CHUNK_LETTERS // (2 * W)))
    inputs = (vcf, str(genome), bundle.path)
    for path, others in ((out, inputs), (positions_out, (*inputs, out))):  # before the VCF is read
        if path not in (None, "-"):
            check_folder(path)
            check_output(path, others)
    with Genome(genome) as g:
        try:
            checked = check_variants(g, vcf, skip_mismatch, W)
        except InputError as e:
            e.quiet = runtime.active() and not runtime.is_main()  # type: ignore[attr-defined]
            raise

        def scored(chunk: list[Variant]):
            if not chunk:  # a VCF with nothing to score: the header alone
                return np.zeros((0, len(idx))), np.zeros((0, len(idx))), []
            ref, alt, positions = score_variants(bundle, g, chunk, W, batch_size)
            return ref[:, idx], alt[:, idx], positions

        def render(fh, i: int, chunk: list[Variant]) -> int:
            ref, alt, _ = scored(chunk)
            write_effects(fh, effect_table(chunk, classes, ref, alt), fmt, i == 0, column or "", os.path.basename(vcf))
            return len(chunk)

        def render_positions(fh, i: int, chunk: list[Variant]) -> int:
            _, _, positions = scored(chunk)
            positions = [(r[:, idx], a[:, idx]) for r, a in positions]
            position_table(chunk, classes, positions, W).to_csv(fh, header=i == 0, index=False, float_format="%.6g",
                                                               lineterminator="\n")
            return len(chunk)

        write_chunks(out, _chunks(variants_of(g, vcf), per), render, progress=progress, inputs=inputs,
                     rank_timeout=rank_timeout)
        if positions_out:
            write_chunks(positions_out, _chunks(variants_of(g, vcf), per), render_positions, inputs=(*inputs, out),
                         rank_timeout=rank_timeout)
    return checked


def variant_frame(bundle: ModelBundle, vcf: str | os.PathLike, genome: str | os.PathLike, *,
                  window: int | None = None, skip_mismatch: bool = False, batch_size: int = 256,
                  progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, Checked]:
    """Every allele's effects as one table (held in memory: for the dashboard), and what was checked."""
    table, _, checked = variant_tables(bundle, vcf, genome, window=window, skip_mismatch=skip_mismatch,
                                       batch_size=batch_size, progress=progress)
    return table, checked


def variant_tables(bundle: ModelBundle, vcf: str | os.PathLike, genome: str | os.PathLike, *,
                   window: int | None = None, skip_mismatch: bool = False, batch_size: int = 256,
                   progress: Callable[[int, int], None] | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame | None, Checked]:
    """``(effects, positions, checked)`` held in memory (for the dashboard): every allele's effects, and where the
    model's Task has an output per position the change at every position of each window (``--positions-out``'s
    table; ``None`` for a classifier)."""
    W = variant_window(bundle, window)
    classes = list(bundle.classes)
    frames, position_frames, done = [], [], 0
    with Genome(genome) as g:
        checked = check_variants(g, str(vcf), skip_mismatch, W)
        for chunk in _chunks(variants_of(g, str(vcf)), max(1, min(batch_size, CHUNK_LETTERS // (2 * W)))):
            if not chunk:
                break
            ref, alt, positions = score_variants(bundle, g, chunk, W, batch_size)
            frames.append(effect_table(chunk, classes, ref, alt))
            if positions is not None:
                position_frames.append(position_table(chunk, classes, positions, W))
            done += len(chunk)
            if progress:
                progress(done, checked.scored)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if not task_of(bundle).per_position:
        return table, None, checked
    return table, (pd.concat(position_frames, ignore_index=True) if position_frames
                   else pd.DataFrame(columns=POSITION_COLUMNS)), checked
