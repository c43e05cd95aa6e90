"""``bioseq check-overlap TRAIN… --against TEST…``: test sequences with a near-identical training sequence.

Prints one line (how many of the test sequences have a training sequence at ``--identity`` or more, the
identity rule and the tool) to standard error, and the list, one row per such test sequence (``test_id,
test_file, train_id, train_file, identity``), as CSV to ``-o`` (written atomically) or standard output.
"""

from __future__ import annotations

import argparse
import sys

from ..data.homology import TOOLS


def _identity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1, not {text}")
    return value


def cmd_check_overlap(a: argparse.Namespace) -> int:
    from ..data.overlap import check_overlap
    from ..outputs import check_output, write_output

    inputs = (a.train, a.against)
    if a.output not in (None, "-"):
        check_output(a.output, inputs)  # before any work
    found = check_overlap(a.train, a.against, a.identity, a.tool, a.alphabet)
    if a.output in (None, "-"):
        found.table.to_csv(sys.stdout, index=False)
    else:
        write_output(a.output, lambda tmp: found.table.to_csv(tmp, index=False), inputs)
    print(found.text(), file=sys.stderr)
    return 0


def add_overlap_arguments(p) -> None:
    p.description = ("For every test sequence, search the training sequences with MMseqs2 (or CD-HIT where MMseqs2 "
                     "is missing) and list those with a training sequence at --identity or more (identical aligned "
                     "positions / length of the shorter sequence; both strands for DNA/RNA). Install the tools "
                     "with: sudo apt-get install mmseqs2 cd-hit")
    p.add_argument("train", nargs="+", metavar="TRAIN", help="training sequence files (no labels needed)")
    p.add_argument("--against", nargs="+", required=True, metavar="TEST", help="test sequence files")
    p.add_argument("--identity", type=_identity, default=0.4, metavar="X",
                   help="identity at or above which a pair counts (default 0.4)")
    p.add_argument("--tool", choices=TOOLS, help="mmseqs or cd-hit (default: mmseqs where installed)")
    p.add_argument("--alphabet", choices=("dna", "rna", "protein"), help="the alphabet (default: detected)")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="output CSV (default or '-': standard output)")
    p.set_defaults(func=cmd_check_overlap)
