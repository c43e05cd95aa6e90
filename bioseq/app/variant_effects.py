"""The dashboard's Variants panel, without Streamlit: score an uploaded VCF against a genome (uploaded or a path
on this machine), sort by effect, and give one variant's reference and alternative windows as records for
Gates & saliency, where :func:`compare_alleles` sets them side by side. The scores are
:func:`bioseq.prediction.variants.variant_tables`'s, as in ``bioseq variants``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..data.encoding import encode_span
from ..data.genome import Genome
from ..data.io import Record
from ..data.vcf import Variant
from ..errors import BioseqError, InputError
from ..interpret import attribution
from ..model.store import ModelBundle
from ..prediction.predict import predict_arrays
from ..prediction.variants import Checked, allele_windows, log_odds, variant_tables, variant_window
from ..task import task_of
from .uploads import _named, save_uploads

SKIP_FLAG = "--skip-mismatch scores the others and leaves these out"  # the command line's words ...
SKIP_BOX = "tick “Leave out variants whose REF does not match the genome” to score the others"  # the panel's


def score_uploads(bundle: ModelBundle, vcf: tuple[str, bytes], genome: tuple[str, bytes] | str, *,
                  window: int | None = None, skip_mismatch: bool = False,
                  progress: Callable[[int, int], None] | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None, Checked, str]:
    """``(effects, positions, checked, genome path)`` of an uploaded VCF ``(name, bytes)`` against ``genome``: an
    upload ``(name, bytes)`` or a path on this machine. ``positions``: where the model has an output per position,
    the change at every position of each window, as ``bioseq variants --positions-out`` writes it (else
    ``None``). Errors name the files as the user gave them."""
    files = [vcf] if isinstance(genome, str) else [vcf, genome]
    paths = save_uploads(files)
    names = {str(p): name for p, (name, _) in zip(paths, files)}
    genome_path = genome if isinstance(genome, str) else str(paths[1])
    try:
        table, positions, checked = variant_tables(bundle, paths[0], genome_path, window=window,
                                                   skip_mismatch=skip_mismatch, progress=progress)
    except BioseqError as e:
        raise _named(e, {**names, SKIP_FLAG: SKIP_BOX}) from None
    return table, positions, checked, genome_path


def ranked(table: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows of one class, largest effect first (by ``|diff|``, then ``|log_odds_ratio|``; ties in VCF order)."""
    rows = table[table["class"] == target].reset_index(drop=True)
    key = rows["diff"].abs() + 1e-9 * rows["log_odds_ratio"].abs()
    return rows.iloc[key.sort_values(ascending=False, kind="stable").index].reset_index(drop=True)


def allele_records(bundle: ModelBundle, genome: str, row: pd.Series, window: int | None = None) -> list[Record]:
    """The reference and alternative windows of one effect row, as records ``ref`` and ``alt`` (the ids name
    the variant), in the rule of :func:`bioseq.prediction.variants.allele_windows`."""
    v = Variant(str(row["chrom"]), int(row["pos"]), str(row["id"] or ""), str(row["ref"]), str(row["alt"]), 0)
    width = variant_window(bundle, window)
    with Genome(genome) as g:
        if g.resolve(v.chrom) is None:
            raise InputError(f"no chromosome {v.chrom!r}", genome)
        ref, alt = allele_windows(g, v, width)
    name = f"{v.id or f'{v.chrom}:{v.pos}'}:{v.ref}>{v.alt}"
    return [Record(f"ref|{name}", f"reference window of {name}", ref.upper(), "variant", 1),
            Record(f"alt|{name}", f"alternative window of {name}", alt.upper(), "variant", 2)]


def fasta_text(records: list[Record]) -> str:
    """Records as FASTA text (for the Gates & saliency page's pasted sequences)."""
    return "".join(f">{r.id} {r.description}\n{r.seq}\n" for r in records)


ALLELES = ("reference", "alternative")


def compare_alleles(bundle: ModelBundle, records: list[Record], method: str = "saliency", target: str | None = None,
                    **options) -> tuple[pd.DataFrame, dict]:
    """A variant's reference and alternative windows (the records of :func:`allele_records`, in that order) side by
    side: ``(table, summary)``. ``table`` is ``method``'s attribution of both windows for one class (``target``,
    default the class predicted for the reference), as :func:`bioseq.interpret.attribution.explain` gives it, with
    ``allele`` (``reference``/``alternative``). ``summary``: ``target``, ``position`` (the variant's first letter,
    1-based: ``W // 2 + 1``), ``ref_score``, ``alt_score`` (the probability of ``target``, as ``bioseq variants``
    scores it: a labeller's at ``position``, which is also the output its attribution explains), ``diff`` (alt −
    ref) and ``log_odds_ratio``."""
    if len(records) != 2:
        raise InputError(f"a variant is compared as two windows, reference and alternative, not {len(records)}")
    position = len(records[0].seq) // 2 + 1
    per_position = task_of(bundle).per_position
    probs = predict_arrays(bundle, [encode_span(r.seq, bundle.alphabet) for r in records])
    probs = np.asarray([p[position - 1] if per_position else p for p in probs], dtype=float)
    k = bundle.classes.index(target) if target is not None else int(np.argmax(probs[0]))
    at = position if per_position else None
    table = pd.concat([attribution.explain(bundle, [r], method, bundle.classes[k], position=at, **options)
                       .assign(allele=word) for r, word in zip(records, ALLELES)], ignore_index=True)
    ref, alt = probs[:, k]
    return table, {"target": bundle.classes[k], "position": position, "ref_score": float(ref),
                   "alt_score": float(alt), "diff": float(alt - ref),
                   "log_odds_ratio": float((log_odds(np.array([alt])) - log_odds(np.array([ref])))[0])}


def variant_positions(positions: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The rows of a positions table (:func:`score_uploads`'s) for one effect row's variant allele and class."""
    keep = positions["class"] == row["class"]
    for col in ("chrom", "pos", "id", "ref", "alt"):
        keep &= positions[col].astype(str) == str(row[col])
    return positions[keep].reset_index(drop=True)
