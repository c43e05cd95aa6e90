"""Every benchmark ratio in one run and one table, with its target and a PASS/FAIL word.

Runs :mod:`bench.bench_core` (its options apply, e.g. ``--quick`` or ``--n 100000``), then
:mod:`bench.bench_scale` (``bioseq scan`` on a long record, ``bioseq predict`` and ``bioseq train`` under
torchrun), and then,
where ``bench/bench_dashboard.py`` exists, the dashboard benchmark. That script drives a real
browser and prints rows ``  <figure>  <seconds> s  <target>``; it runs as a subprocess and its
rows join the table (a module that defines ``figures(quick=...)`` returning Figures is called
directly instead). Nothing here fails on a missed target: the words are for the reader.

    python -m bench [--quick] [--n 1000000] [--no-dashboard] ...     (or: python bench/run.py ...)

The published-benchmark accuracies are not ratios and take long; see ``python -m bench.benchmarks``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see bench_core

import importlib  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_core, bench_scale  # noqa: E402
from bench.report import Figure, at_most, info, table  # noqa: E402

DASHBOARD = Path(__file__).resolve().with_name("bench_dashboard.py")
ROW = re.compile(r"^\s{2}(?P<name>\S.*?)\s+(?P<secs>\d+(?:\.\d+)?) s(?:\s+<=\s*(?P<target>\d+(?:\.\d+)?) s)?\s*$")


def as_figure(f) -> Figure:
    return f if isinstance(f, Figure) else Figure(**{k: f[k] for k in ("name", "value", "unit", "target", "ok",
                                                                        "note") if k in f})


def parse_rows(text: str, note: str = "") -> list[Figure]:
    """Figures from printed rows ``  name  1.23 s  <= 2 s`` (the target is optional)."""
    out = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            secs = float(m["secs"])
            out.append(at_most(m["name"], secs, float(m["target"]), " s", note) if m["target"]
                       else info(m["name"], secs, " s", note))
    return out


def dashboard_figures(quick: bool, sequences: int | None = None) -> tuple[list[Figure], str]:
    """The dashboard benchmark's figures, when ``bench/bench_dashboard.py`` exists, and a status line."""
    if not DASHBOARD.exists():
        return [], "bench/bench_dashboard.py: not present, skipped"
    mod = importlib.import_module("bench.bench_dashboard")
    if hasattr(mod, "figures"):
        return [as_figure(f) for f in mod.figures(quick=quick)], "bench_dashboard: included"
    n = sequences or (1000 if quick else None)
    cmd = [sys.executable, str(DASHBOARD)] + (["--sequences", str(n)] if n else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout, end="")
    figs = parse_rows(proc.stdout, note=f"{n:,} sequences" if n else "")
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return figs, f"bench_dashboard: exit {proc.returncode} ({tail})"
    return figs, "bench_dashboard: included" + (f" at {n:,} sequences (targets are for 10,000)" if n else "")


def main(argv: Sequence[str] | None = None) -> int:
    ap = bench_core.parser("python -m bench")
    ap.add_argument("--no-dashboard", action="store_true", help="skip bench/bench_dashboard.py (needs Chromium)")
    ap.add_argument("--dashboard-sequences", type=int, help="sequences for the dashboard's Predict page")
    bench_scale.add_arguments(ap)
    args = ap.parse_args(argv)
    figs = bench_core.figures(args, echo=lambda text: print(text, flush=True))
    figs += bench_scale.figures(args, echo=lambda text: print(text, flush=True))
    if args.no_dashboard:
        status = "bench_dashboard: skipped (--no-dashboard)"
    else:
        extra, status = dashboard_figures(args.quick, args.dashboard_sequences)
        figs += extra
    print(f"\n{status}")
    passed, failed = sum(f.ok is True for f in figs), sum(f.ok is False for f in figs)
    print(f"\nEvery figure, one run ({passed} PASS, {failed} FAIL)\n{table(figs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
