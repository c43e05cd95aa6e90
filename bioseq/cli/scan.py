"""``bioseq scan MODEL FILE… [--window W] [--stride S] [--class C] [--format bedgraph|csv] -o OUT``.

Slides a classifier along every record (genome scale) and writes one line per window: a bedGraph of the
chosen class's probability, or a CSV of every class (:mod:`bioseq.prediction.scan`). Runs under torchrun
like ``bioseq predict`` (the batches of windows shared out among the processes, rank 0 merging).
"""

from __future__ import annotations

import argparse
import sys

from .device import add_device_arguments, add_rank_timeout, positive


def add_scan_arguments(p) -> None:
    p.description = (
        "Slides the model along each record in windows of W letters every S letters and writes "
        "'record<TAB>start<TAB>end<TAB>score' per window (bedGraph: a 'track type=bedGraph' line first; start "
        "0-based, end exclusive; score: the probability of --class), or a bigWig of the same scores (overlapping "
        "windows cut at the midpoints between their centres; chromosome sizes: the records' lengths). Where the "
        "windows stop short of a record's end, one more window "
        "ends exactly at the end; a record shorter than W is one window. Streams records and windows in "
        "bounded memory; the output appears whole (written to a temporary file, then renamed).")
    p.add_argument("model", metavar="MODEL", help="model file or registry name (a classifier)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT.bedgraph",
                   help="output file (default or '-': standard output; a file is required under torchrun)")
    p.add_argument("--window", type=positive, metavar="W",
                   help="letters per window (default: the model's max_length, else its longest training sequence)")
    p.add_argument("--stride", type=positive, metavar="S", help="letters from one window's start to the next "
                   "(default: half the window)")
    p.add_argument("--class", dest="target", metavar="C", help="the class whose probability is the score "
                   "(default: the model's last class, the positive one of two)")
    p.add_argument("--format", choices=("bedgraph", "csv", "bigwig"), default="bedgraph",
                   help="bedgraph (default), csv (record,start,end,p_<class> for every class, with a header) or "
                   "bigwig (pyBigWig; needs -o)")
    add_device_arguments(p, "windows per forward pass (512)")
    add_rank_timeout(p)
    p.set_defaults(func=cmd_scan)


def cmd_scan(a: argparse.Namespace) -> int:
    from .. import runtime
    from ..prediction.scan import scan_files
    from .device import load

    bundle = load(a.model, a.device)
    n = scan_files(bundle, a.files, a.output, window=a.window, stride=a.stride, target=a.target, fmt=a.format,
                   batch_size=a.batch_size or 512, rank_timeout=a.rank_timeout)
    if a.output not in (None, "-") and runtime.is_main():
        print(f"wrote {n:,} windows to {a.output}", file=sys.stderr)
    return 0
