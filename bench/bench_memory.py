"""Peak memory of long records, large windows and many records (each figure a real ``bioseq`` command in a
subprocess, its peak RSS from ``getrusage(RUSAGE_CHILDREN)``; target 1 GiB, or flat in the number of records).

a. ``bioseq scan`` of one generated record of ``--scan-letters`` (100 Mbp) random DNA, 60 letters a line, with
   a one-layer GRU of 8 units (``max_length`` 200: window 200; stride 200 unless ``--stride``).
b. ``bioseq predict`` refusing one gzipped record of ``--refuse-letters`` (300 Mbp; the 300,000-letter limit of
   a model without training lengths): the record is counted, never held.
c. The largest window :func:`bioseq.prediction.predict.memory_limit` allows a 2-layer, 128-unit model (the
   default DNA model otherwise), and ``bioseq scan`` of a record three windows long with that window.
d. ``bioseq train FILE --cache on --epochs 1 --max-steps N`` on ``--train-records`` generated 200 bp records
   (the cache built inside the run): peak RSS at each size should stay flat.

Nothing is asserted; the figures are printed beside their targets. Generating 300 Mbp and training on millions of
records takes minutes: choose the sizes with the options.

    python -m bench.bench_memory [--scan-letters 100000000] [--refuse-letters 300000000]
                                 [--train-records 100000 2000000] [--max-steps 20] [--skip scan refuse window train]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see bench_core

import argparse  # noqa: E402
import gzip  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_core import BASES, bioseq_command, run_peak_rss, write_random_fasta  # noqa: E402
from bench.bench_large import small_bundle, workspace  # noqa: E402
from bench.report import Figure, at_most, info, machine, run_sections  # noqa: E402
from bioseq.data.alphabets import DNA  # noqa: E402
from bioseq.model.classifier import SequenceClassifier  # noqa: E402
from bioseq.model.store import ModelBundle, save_model  # noqa: E402
from bioseq.prediction.predict import memory_limit, position_bytes  # noqa: E402
from bioseq.training.fit import default_model_config  # noqa: E402

GIB = 1024  # MiB


def write_long_record(path: Path, letters: int, width: int = 60, seed: int = 0, block: int = 6_000_000) -> Path:
    """One record ``>chrL`` of ``letters`` random DNA letters, ``width`` a line; gzipped when ``path`` ends .gz."""
    rng = np.random.default_rng(seed)
    with (gzip.open(path, "wb", compresslevel=1) if path.suffix == ".gz" else open(path, "wb")) as fh:
        fh.write(b">chrL generated\n")
        for start in range(0, letters, block):
            seq = BASES[rng.integers(0, 4, min(block, letters - start))].tobytes()
            fh.write(b"".join(seq[i:i + width] + b"\n" for i in range(0, len(seq), width)))
    return path


def run(cmd: list[str]) -> tuple[float, float]:
    """Peak RSS (MiB) and seconds of ``bioseq cmd``; a failure raises, with its exit status."""
    rc, peak, secs = run_peak_rss([bioseq_command(), *cmd])
    if rc != 0:
        raise RuntimeError(f"bioseq {' '.join(cmd[:1])} failed (exit {rc})")
    return peak, secs


def scan_rss(letters: int = 100_000_000, stride: int = 200) -> list[Figure]:
    """(a) Peak RSS of ``bioseq scan`` on one long record."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp:
        bundle = small_bundle()
        bundle.max_length = 200
        model = save_model(Path(tmp) / "small.safetensors", bundle)
        fasta = write_long_record(Path(tmp) / "long.fa", letters)
        peak, secs = run(["scan", str(model), str(fasta), "--stride", str(stride), "-o", str(Path(tmp) / "o.bg")])
    return [at_most(f"bioseq scan peak RSS, one {letters:,}-letter record", peak, GIB, " MiB",
                    note=f"1-layer GRU of 8, window 200, stride {stride}, {secs:.0f}s")]


def refuse_rss(letters: int = 300_000_000) -> list[Figure]:
    """(b) Peak RSS of ``bioseq predict`` refusing one gzipped record far beyond its limit (exit status 2)."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp:
        model = save_model(Path(tmp) / "small.safetensors", small_bundle())
        fasta = write_long_record(Path(tmp) / "long.fa.gz", letters)
        size = fasta.stat().st_size
        rc, peak, secs = run_peak_rss([bioseq_command(), "predict", str(model), str(fasta), "-o",
                                       str(Path(tmp) / "o.csv")])
        if rc != 2 or (Path(tmp) / "o.csv").exists():
            raise RuntimeError(f"bioseq predict did not refuse the record (exit {rc})")
    return [at_most(f"bioseq predict refusing a gzipped {letters:,}-letter record, peak RSS", peak, GIB, " MiB",
                    note=f"{size / 2**20:.0f} MiB gzip, {secs:.0f}s")]


def window_rss(hidden: int = 128, layers: int = 2) -> list[Figure]:
    """(c) The largest window a ``layers``-layer model of ``hidden`` units may scan, and a scan with it."""
    torch.manual_seed(0)
    cfg = default_model_config("dna", DNA.size, 2, hidden=hidden, layers=layers)
    bundle = ModelBundle(SequenceClassifier(cfg).eval(), DNA, ["a", "b"], meta={"name": "bench-window"})
    window = memory_limit(bundle)
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp:
        model = save_model(Path(tmp) / "m.safetensors", bundle)
        fasta = write_long_record(Path(tmp) / "r.fa", 3 * window)
        peak, secs = run(["scan", str(model), str(fasta), "--window", str(window), "--stride", str(window),
                          "-o", str(Path(tmp) / "o.bg")])
    return [info(f"largest window, default DNA model with {layers} layers of {hidden} units", window, " letters",
                 note=f"memory_limit: 600 MiB / {position_bytes(bundle):,} bytes a position"),
            at_most(f"bioseq scan peak RSS with that window ({window:,})", peak, GIB, " MiB",
                    note=f"3 windows, {secs:.0f}s")]


def train_rss(sizes: Sequence[int] = (100_000, 2_000_000), max_steps: int = 20, length: int = 200) -> list[Figure]:
    """(d) Peak RSS of ``bioseq train --cache on`` at each number of records (the cache built in the run)."""
    figs, first = [], None
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp, workspace(Path(tmp) / "home"):
            fasta = write_random_fasta(Path(tmp) / "train.fa", n, length, seed=5, labels=True)
            out = Path(tmp) / "model.safetensors"
            peak, secs = run(["train", str(fasta), "--cache", "on", "--epochs", "1", "--max-steps", str(max_steps),
                              "--quiet", "--out", str(out)])
        first = first or peak
        figs.append(info(f"bioseq train --cache on peak RSS, {n:,} records", peak, " MiB",
                         note=f"{length} bp, --max-steps {max_steps}, default DNA model, {secs:.0f}s"))
    if len(figs) > 1:
        figs.append(at_most(f"growth from {sizes[0]:,} to {sizes[-1]:,} records", figs[-1].value / first, 1.1, "x",
                            note="the cache's pages given back as read; index, labels, order: bytes a record"))
    return figs


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m bench.bench_memory")
    ap.add_argument("--scan-letters", type=int, default=100_000_000, help="letters of the scanned record (1e8)")
    ap.add_argument("--stride", type=int, default=200, help="stride of the scan (200)")
    ap.add_argument("--refuse-letters", type=int, default=300_000_000, help="letters of the refused record (3e8)")
    ap.add_argument("--train-records", type=int, nargs="+", default=[100_000, 2_000_000],
                    help="numbers of training records (100000 2000000)")
    ap.add_argument("--max-steps", type=int, default=20, help="optimiser steps of each training run (20)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["scan", "refuse", "window", "train"])
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    torch.set_num_threads(1)
    print(machine(), flush=True)
    sections = {"scan": lambda: scan_rss(args.scan_letters, args.stride),
                "refuse": lambda: refuse_rss(args.refuse_letters), "window": window_rss,
                "train": lambda: train_rss(args.train_records, args.max_steps)}
    return run_sections(sections, args.skip, "Peak memory")


if __name__ == "__main__":
    sys.exit(main())
