"""The dashboard's Variants panel, without Streamlit: score an uploaded VCF against a genome (uploaded or a path
on this machine), sort by effect, and give one variant's reference and alternative windows as records for
Gates & saliency. The scores are :func:`bioseq.prediction.variants.variant_frame`'s, as in ``bioseq variants``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..data.genome import Genome
from ..data.io import Record
from ..data.vcf import Variant
from ..errors import BioseqError, InputError
from ..model.store import ModelBundle
from ..prediction.variants import Checked, allele_windows, variant_frame, variant_window
from .uploads import _named, save_uploads

SKIP_FLAG = "--skip-mismatch scores the others and leaves these out"  # the command line's words ...
SKIP_BOX = "tick “Leave out variants whose REF does not match the genome” to score the others"  # the panel's


def score_uploads(bundle: ModelBundle, vcf: tuple[str, bytes], genome: tuple[str, bytes] | str, *,
                  window: int | None = None, skip_mismatch: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, Checked, str]:
    """``(effects, checked, genome path)`` of an uploaded VCF ``(name, bytes)`` against ``genome``: an upload
    ``(name, bytes)`` or a path on this machine. Errors name the files as the user gave them."""
    files = [vcf] if isinstance(genome, str) else [vcf, genome]
    paths = save_uploads(files)
    names = {str(p): name for p, (name, _) in zip(paths, files)}
    genome_path = genome if isinstance(genome, str) else str(paths[1])
    try:
        table, checked = variant_frame(bundle, paths[0], genome_path, window=window, skip_mismatch=skip_mismatch,
                                       progress=progress)
    except BioseqError as e:
        raise _named(e, {**names, SKIP_FLAG: SKIP_BOX}) from None
    return table, checked, genome_path


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
