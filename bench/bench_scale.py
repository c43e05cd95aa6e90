"""At scale: ``bioseq scan`` on a long record, and ``bioseq predict`` and ``bioseq train`` under torchrun.

e. Peak RSS and wall time of ``bioseq scan MODEL chr.fa --window 147 --stride 50 -o out.bedgraph`` on one
   random record of 1 Mbp (default DNA model, as a subprocess; target: at most 1 GB).
f. Wall time of ``bioseq predict`` on one FASTA in one process against ``torchrun --nproc-per-node 2``
   (one torch thread per process either way, ``--chunk-size 1024`` so both ranks get chunks): the
   speed-up, with the machine's core count, and whether the two CSVs are byte-identical. Start-up (two
   Python processes importing torch, the rendezvous) is included: it is what a user waits for.
g. The same for ``bioseq train`` (DistributedDataParallel, gloo): training throughput of 2 processes against 1.

Wall time, not CPU time: the point of a second process is a second core. On a shared machine the
neighbours move it; read the ratio, not the seconds.

    python -m bench.bench_scale [--scan-length 1000000] [--n-distributed 40000] [--repeats 2] [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see bench_core

import argparse  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_core import (  # noqa: E402
    BASES,
    bioseq_command,
    dna_bundle,
    run_peak_rss,
    run_sections,
    write_random_fasta,
)
from bench.report import Figure, at_most, info, machine, table  # noqa: E402
from bioseq.model.store import save_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def write_long_record(path: Path, length: int, seed: int = 0, width: int = 60) -> Path:
    """One random DNA record ``chrB`` of ``length`` bp, 60 letters a line."""
    seq = BASES[np.random.default_rng(seed).integers(0, 4, length)].tobytes()
    with open(path, "wb") as fh:
        fh.write(b">chrB random\n")
        for i in range(0, length, width):
            fh.write(seq[i:i + width] + b"\n")
    return path


def scan_rss(length: int = 1_000_000, window: int = 147, stride: int = 50, workdir: Path | None = None
             ) -> list[Figure]:
    """(e) Peak RSS and time of ``bioseq scan`` on one record of ``length`` bp."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-", dir=workdir) as tmp:
        fasta = write_long_record(Path(tmp) / "chr.fa", length, seed=4)
        model = save_model(Path(tmp) / "model.safetensors", dna_bundle())
        out = Path(tmp) / "out.bedgraph"
        rc, peak, secs = run_peak_rss([bioseq_command(), "scan", str(model), str(fasta), "--window", str(window),
                                       "--stride", str(stride), "--device", "cpu", "-o", str(out)])
        windows = sum(1 for line in open(out) if not line.startswith("track")) if rc == 0 else 0
    if rc != 0:
        raise RuntimeError(f"bioseq scan failed (exit {rc})")
    what = f"{length:,} bp, window {window}, stride {stride}, default DNA model"
    return [at_most(f"bioseq scan peak RSS, one {length / 1e6:g} Mbp record", peak, 1024, " MiB", note=what),
            info("bioseq scan wall time", secs, " s", note=f"{windows:,} windows, {windows / secs:,.0f} windows/s")]


def torchrun_command() -> str:
    exe = Path(sys.executable).with_name("torchrun")
    return str(exe) if exe.exists() else (shutil.which("torchrun") or "torchrun")


def timed(cmd: Sequence[str]) -> tuple[float, float]:
    """Run ``cmd``; its wall time and the CPU time of it and every process it started (s)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(list(cmd), env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])} … failed: {done.stderr.strip().splitlines()[-1:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def one_against_many(make_args, procs: int, repeats: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Best ``(wall, cpu)`` of ``python -m bioseq ARGS`` and of ``torchrun --nproc-per-node procs -m bioseq ARGS``,
    interleaved ``repeats`` times; ``make_args("one" | "many")`` gives each run's arguments."""
    best = {k: (float("inf"), float("inf")) for k in ("one", "many")}
    for _ in range(repeats):
        best["one"] = min(best["one"], timed([sys.executable, "-m", "bioseq", *make_args("one")]))
        best["many"] = min(best["many"], timed([torchrun_command(), "--nproc-per-node", str(procs), "-m",
                                                "bioseq", *make_args("many")]))
    return best["one"], best["many"]


def distributed_speedup(n: int = 40_000, length: int = 200, procs: int = 2, repeats: int = 1,
                        workdir: Path | None = None) -> list[Figure]:
    """(f) ``bioseq predict`` in one process against ``procs`` processes under torchrun (best wall time of each)."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-", dir=workdir) as tmp:
        fasta = write_random_fasta(Path(tmp) / "reads.fa", n, length, seed=5)
        model = save_model(Path(tmp) / "model.safetensors", dna_bundle())
        args = ["predict", str(model), str(fasta), "--chunk-size", "1024", "--device", "cpu", "-o"]
        (wall1, cpu1), (wall2, cpu2) = one_against_many(lambda k: [*args, str(Path(tmp) / f"{k}.csv")], procs,
                                                        repeats)
        same = (Path(tmp) / "one.csv").read_bytes() == (Path(tmp) / "many.csv").read_bytes()
    return [
        info(f"bioseq predict speed-up, torchrun {procs} processes / 1 process", wall1 / wall2, "x",
             note=f"{n:,} x {length} bp, default DNA model, wall incl. start-up, {os.cpu_count()} cores, "
             f"best of {repeats}, load {os.getloadavg()[0]:.1f}"),
        info(f"CPU time, torchrun {procs} processes / 1 process", cpu2 / cpu1, "x",
             note="the cost of sharing out: every rank reads the whole input; start-up"),
        info("… the two CSVs byte-identical (1 = yes)", float(same)),
        info("bioseq predict seq/s, 1 process / torchrun", n / wall1, note=f"{n / wall2:,.0f} seq/s with {procs}"),
    ]


def distributed_training(n: int = 8_000, length: int = 100, procs: int = 2, repeats: int = 1, epochs: int = 2,
                         workdir: Path | None = None) -> list[Figure]:
    """(g) ``bioseq train`` in one process against ``procs`` DDP processes under torchrun (gloo, one torch thread
    each): training throughput (records x epochs per wall second, start-up and validation included)."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-", dir=workdir) as tmp:
        fasta = write_random_fasta(Path(tmp) / "train.fa", n, length, seed=6, labels=True)
        args = ["train", str(fasta), "--epochs", str(epochs), "--patience", str(epochs), "--device", "cpu", "--quiet",
                "--hidden", "32", "--conv-filters", "32", "--out"]
        (wall1, cpu1), (wall2, cpu2) = one_against_many(
            lambda k: [*args, str(Path(tmp) / f"{k}.safetensors"), "--log-dir", str(Path(tmp) / k)], procs, repeats)
    work = n * epochs
    return [
        info(f"bioseq train speed-up, torchrun {procs} processes / 1 process", wall1 / wall2, "x",
             note=f"{n:,} x {length} bp, {epochs} epochs, BiLSTM 32 + conv 32, gloo, wall incl. start-up and "
             f"validation, {os.cpu_count()} cores, best of {repeats}, load {os.getloadavg()[0]:.1f}"),
        info(f"… CPU time, torchrun {procs} processes / 1 process", cpu2 / cpu1, "x",
             note="every rank reads the data and scores the whole validation set; gradients all-reduced per step"),
        info("bioseq train records x epochs per second, 1 process", work / wall1,
             note=f"{work / wall2:,.0f} with {procs} processes"),
    ]


def parser(prog: str = "python -m bench.bench_scale") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog=prog)
    add_arguments(ap)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved runs of the torchrun comparison; best kept (2)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["scan", "distributed", "training"])
    return ap


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--scan-length", type=int, default=1_000_000, help="letters of the scanned record (1000000)")
    ap.add_argument("--n-distributed", type=int, default=40_000, help="records for the torchrun run (40000)")


def figures(args: argparse.Namespace, echo=print) -> list[Figure]:
    """Run (e), (f) and (g) unless skipped (``args.skip`` may name ``scan``, ``distributed`` and ``training``)."""
    quick, skip = getattr(args, "quick", False), set(getattr(args, "skip", None) or ())
    sections = {
        "scan": lambda: scan_rss(100_000 if quick else args.scan_length),
        "distributed": lambda: distributed_speedup(4_000 if quick else args.n_distributed,
                                                   repeats=1 if quick else max(1, getattr(args, "repeats", 2) - 1)),
        "training": lambda: distributed_training(1_000 if quick else 8_000, epochs=1 if quick else 2),
    }
    return run_sections(sections, skip, echo)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    print(machine())
    figs = figures(args, echo=lambda text: print(text, flush=True))
    print("\nPrediction at scale\n" + table(figs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
