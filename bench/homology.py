"""How long homology takes: the overlap check and the homology-aware split on the bundled data (and, when
the benchmarks are there, AMP Scanner's train/test peptides), with each tool that is installed.

Prints one row per task and tool: wall seconds, and what was found. No target: the figures say what a
``--split-identity`` run or a ``bioseq check-overlap`` costs on this machine (``$OMP_NUM_THREADS`` threads).

    python -m bench.homology [--tools mmseqs cd-hit]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bioseq.data import homology  # noqa: E402
from bioseq.data.dataset import load_dataset  # noqa: E402
from bioseq.data.overlap import check_overlap  # noqa: E402
from bioseq.data.splits import homology_split  # noqa: E402
from bioseq.errors import BioseqError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AMP = Path("/work/shared/benchmarks/amp_scanner_v2")
TASKS = (  # name, train files, test files, identity
    ("dna_motif train vs test", [ROOT / "data/dna_motif.train.fa"], [ROOT / "data/dna_motif.test.fa"], 0.8),
    ("protein_kdel train vs test", [ROOT / "data/protein_kdel.train.fa"], [ROOT / "data/protein_kdel.test.fa"], 0.9),
    ("AMP Scanner train vs test", [AMP / "AMP.tr.fa", AMP / "DECOY.tr.fa"], [AMP / "AMP.te.fa", AMP / "DECOY.te.fa"],
     0.9),
)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.homology", description=__doc__.splitlines()[0])
    ap.add_argument("--tools", nargs="+", default=list(homology.TOOLS), choices=homology.TOOLS)
    a = ap.parse_args(argv)
    print(f"{'task':<34} {'tool':<7} {'seconds':>8}  result")
    for tool in a.tools:
        if not homology.available(tool):
            print(f"{'(all)':<34} {tool:<7} {'-':>8}  not installed")
            continue
        for name, train, test, identity in TASKS:
            if not all(p.is_file() for p in (*train, *test)):
                continue
            t0 = time.perf_counter()
            found = check_overlap(train, test, identity, tool)
            print(f"{name:<34} {tool:<7} {time.perf_counter() - t0:>8.1f}  {found.count} of {found.tested} test "
                  f"sequences at >= {identity:.0%}")
            t0 = time.perf_counter()
            ds = load_dataset(train)
            try:
                tr, va, rule = homology_split(ds, 0.2, identity, 0, tool)
                what = f"{rule['clusters']} clusters (largest {rule['largest_cluster']}), {len(va)} validation, " \
                       f"{rule['rounds']} round(s)"
            except BioseqError as e:
                what = f"no split: {e}"
            print(f"{'  split of its training files':<34} {tool:<7} {time.perf_counter() - t0:>8.1f}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
