"""``bioseq variants MODEL --vcf V --genome G [-o OUT] [--window W] [--format csv|bed] [--positions-out P]``.

Scores every SNP and short indel of a VCF: the model's output for the window around the reference allele and
around the alternative allele, per class (:mod:`bioseq.prediction.variants`). Runs under torchrun like
``bioseq predict``.
"""

from __future__ import annotations

import argparse
import sys

from .device import add_device_arguments, add_rank_timeout, positive


def add_variants_arguments(p) -> None:
    p.description = (
        "Scores each SNP and short indel of a VCF (one row per ALT allele and class): the model's probability for "
        "the window of W letters around the reference allele and around the alternative allele (the variant's "
        "first letter at the window's middle, W // 2; for an indel the left flank is kept and the right side "
        "filled from the genome and cut to W letters; N beyond a chromosome's ends). CSV columns chrom, pos, id, "
        "ref, alt, class, ref_score, alt_score, diff (alt - ref), log_odds_ratio. The REF allele is checked against "
        "the genome first: a mismatch stops the command, naming the VCF lines, unless --skip-mismatch. Symbolic "
        "and structural ALTs (<DEL>, breakends) are skipped and counted. The output appears whole.")
    p.add_argument("model", metavar="MODEL", help="model file or registry name (a DNA classifier or labeller)")
    p.add_argument("--vcf", required=True, metavar="VCF", help="variants: VCF, plain, gzipped or bgzipped")
    p.add_argument("--genome", required=True, metavar="FASTA",
                   help="the reference genome (FASTA: plain, gzipped or bgzipped; chromosome names with or "
                   "without 'chr')")
    p.add_argument("-o", "--output", metavar="OUT.csv",
                   help="output file (default or '-': standard output; a file is required under torchrun)")
    p.add_argument("--window", type=positive, metavar="W", help="letters per window (default: the model's "
                   "max_length, else its longest training sequence)")
    p.add_argument("--format", choices=("csv", "bed"), default="csv",
                   help="csv (default) or bed: a track line, then chrom, start, end, name (ID:REF>ALT:diff), score "
                   "(1000 x |diff|) for one class (--class, default the model's last)")
    p.add_argument("--class", dest="target", metavar="C", help="only this class (default: every class in the CSV, "
                   "the model's last class in a BED)")
    p.add_argument("--positions-out", metavar="POS.csv", help="a labeller: the change at every position of each "
                   "window (chrom, pos, id, ref, alt, offset, class, ref_score, alt_score, diff; offset 0 is the "
                   "variant's first letter)")
    p.add_argument("--skip-mismatch", action="store_true", help="score the variants whose REF matches the genome "
                   "and leave out (and count) the others, instead of stopping")
    add_device_arguments(p, "variants per chunk (256)")
    add_rank_timeout(p)
    p.set_defaults(func=cmd_variants)


def cmd_variants(a: argparse.Namespace) -> int:
    from .. import runtime
    from ..prediction.variants import variant_files
    from .device import load

    bundle = load(a.model, a.device)
    checked = variant_files(bundle, a.vcf, a.genome, a.output, window=a.window, fmt=a.format, target=a.target,
                            positions_out=a.positions_out, skip_mismatch=a.skip_mismatch,
                            batch_size=a.batch_size or 256, rank_timeout=a.rank_timeout)
    if runtime.is_main():
        for note in checked.notes():
            print(f"bioseq: note: {note}", file=sys.stderr)
        if a.output not in (None, "-"):
            print(f"wrote the effects of {checked.scored:,} variant alleles to {a.output}", file=sys.stderr)
    return 0
