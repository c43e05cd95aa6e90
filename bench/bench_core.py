"""Core speed and memory figures of bioseq, each against the plainest way to do the same work.

a. Training speed of :func:`bioseq.training.loop.train` (gradient norms recorded every step) against
   the fastest plain PyTorch loop of the same architecture, for one and two directions, with and
   without the conv front end, on equal and mixed lengths, and the share of the machine's GEMM peak
   (:mod:`bench.train_speed`); and the cost of recording every step, not every 10th.
b. ``bioseq predict`` end to end (FASTA reading, encoding, batching, forward, CSV writing) against
   a bare forward of the same model over pre-encoded, pre-padded tensors; and the share of the
   end-to-end time spent outside the model's forward.
c. Peak RSS of the real ``bioseq predict`` command on a generated FASTA (1M records by default).
d. On AMP Scanner v2, with bioseq's default protein model: training seq/s with length-grouped
   batches against the naive approach of padding every sequence to the longest one in the data
   (front zero padding, as the published AMP model does, so the recurrent layer runs over every
   padded position).

Timings interleave the variants and keep each one's best time. By default the clock is the
process's CPU time with one torch thread (``--clock wall`` and ``--threads`` change that): on a
shared machine, wall time mostly measures the neighbours. Ratios compare runs of one process.

    python -m bench.bench_core [--n-train 1000] [--n-predict 20000] [--n 1000000] [--data DIR] [--quick]
"""

from __future__ import annotations

import os

# Busy-waiting OpenMP threads starve each other on a shared machine (10-50x slower steps when
# other processes hold the cores); it must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import functools  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import train_speed  # noqa: E402
from bench.report import Figure, at_least, at_most, info, machine, table  # noqa: E402
from bench.train_speed import CLOCKS, SETUPS, Setup, best_of, dna_arrays  # noqa: E402
from bioseq.data.alphabets import DNA  # noqa: E402
from bioseq.data.dataset import load_dataset  # noqa: E402
from bioseq.model.classifier import SequenceClassifier  # noqa: E402
from bioseq.model.config import ModelConfig  # noqa: E402
from bioseq.model.store import ModelBundle, save_model  # noqa: E402
from bioseq.prediction.predict import predict_files  # noqa: E402
from bioseq.training.config import TrainConfig  # noqa: E402
from bioseq.training.fit import default_model_config  # noqa: E402
from bioseq.training.loop import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks"
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def write_random_fasta(path: Path, n: int, length: int, seed: int = 0, block: int = 100_000,
                       labels: bool = False) -> Path:
    """Write ``n`` random DNA records of ``length`` bp (ids ``s0``, ``s1``, ...), fast, with NumPy; with
    ``labels``, headers ``label=a`` and ``label=b`` in turn."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as fh:
        for start in range(0, n, block):
            m = min(block, n - start)
            lines = np.full((m, length + 1), ord("\n"), dtype=np.uint8)
            lines[:, :length] = BASES[rng.integers(0, 4, (m, length))]
            tag = [b" label=a", b" label=b"] if labels else [b"", b""]
            fh.write(b"".join(b">s%d%s\n%s" % (start + i, tag[(start + i) % 2], row.tobytes())
                              for i, row in enumerate(lines)))
    return path


# --- a. training ---------------------------------------------------------------------------------

def train_throughput(n: int = 1000, epochs: int = 2, repeats: int = 3, hidden: int = 64, clock: str = "cpu",
                     setups: Sequence[Setup] = SETUPS, gemm_n: int = 2048) -> list[Figure]:
    """(a) bioseq training against the fastest plain loop per configuration (:mod:`bench.train_speed`), the
    GEMM-peak shares, and the cost of recording gradient norms every step rather than every 10th."""
    figs = train_speed.figures(n, epochs, repeats, hidden, clock, setups, gemm_n=gemm_n)
    arrays, labels = dna_arrays(n, (50, 150), seed=0)
    val_arrays, val_labels = dna_arrays(max(n // 10, 2), (50, 150), seed=1)
    mcfg = ModelConfig(alphabet_size=4, n_classes=2, hidden=hidden, bidirectional=False, conv=False,
                       pooling="last", dropout=0.0)
    base = dict(epochs=epochs, batch_size=32, lr=3e-3, weight_decay=1e-2, clip=1.0, class_weights=False,
                patience=epochs + 1, device="cpu", seed=0)

    def run(every: int) -> Callable[[], None]:
        def go() -> None:
            torch.manual_seed(0)
            train(SequenceClassifier(mcfg), arrays, labels, val_arrays, val_labels,
                  TrainConfig(grad_every=every, **base))
        return go

    t = best_of({"every": run(1), "every10": run(10)}, repeats, clock)
    return figs + [at_most("gradient recording overhead, every step vs every 10th",
                           100 * (t["every"] / t["every10"] - 1), 5, "%",
                           note=f"uni, conv off, mixed lengths; best of {repeats}")]


@contextmanager
def time_spent_in(cls: type, method: str, clock: str = "cpu") -> Iterator[list[float]]:
    """Accumulate the time spent in ``cls.method`` (all instances) into the yielded one-item list."""
    original, now, spent = getattr(cls, method), CLOCKS[clock], [0.0]

    @functools.wraps(original)
    def timed(self, *args, **kwargs):
        t0 = now()
        try:
            return original(self, *args, **kwargs)
        finally:
            spent[0] += now() - t0

    setattr(cls, method, timed)
    try:
        yield spent
    finally:
        setattr(cls, method, original)


# --- b, c. prediction ---------------------------------------------------------------------------

def dna_bundle(seed: int = 0) -> ModelBundle:
    """A randomly initialised model with bioseq's default DNA architecture."""
    torch.manual_seed(seed)
    cfg = default_model_config("dna", DNA.size, 2)
    return ModelBundle(SequenceClassifier(cfg).eval(), DNA, ["negative", "positive"], meta={"name": "bench-dna"})


def bare_forward(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    """Probabilities for pre-encoded, pre-padded ``x (N, T, K)`` (all of length T), in order."""
    lengths = torch.full((batch_size,), x.shape[1], dtype=torch.int64)
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size]
            out.append(torch.softmax(model(xb, lengths[:len(xb)]), 1).numpy())
    return np.concatenate(out)


def predict_throughput(n: int = 20_000, length: int = 200, repeats: int = 2, workdir: Path | None = None,
                       clock: str = "cpu") -> list[Figure]:
    """(b) ``predict_files`` on a FASTA file against a bare forward over pre-encoded tensors."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-", dir=workdir) as tmp:
        fasta = write_random_fasta(Path(tmp) / "reads.fa", n, length, seed=2)
        bundle = dna_bundle()
        x = torch.from_numpy(DNA.table()[BASES[np.random.default_rng(2).integers(0, 4, (n, length))]])
        out = str(Path(tmp) / "out.csv")
        bare_forward(bundle.model, x[:512])  # warm-up
        t = best_of({"e2e": lambda: predict_files(bundle, [fasta], out),
                     "bare": lambda: bare_forward(bundle.model, x)}, repeats, clock)
        now = CLOCKS[clock]
        t0 = now()
        with time_spent_in(SequenceClassifier, "forward", clock) as in_model:
            predict_files(bundle, [fasta], out)
        outside = 1 - in_model[0] / (now() - t0)
    return [
        info("predict seq/s, bioseq predict end to end", n / t["e2e"], note=f"{n} x {length} bp, default DNA model"),
        info("predict seq/s, bare forward on pre-encoded tensors", n / t["bare"]),
        at_least("predict speed end to end / bare forward", t["bare"] / t["e2e"], 0.8, note=f"best of {repeats}"),
        info("share of predict_files time outside the model's forward", 100 * outside, "%",
             note="reading, encoding, batching, CSV"),
    ]


def bioseq_command() -> str:
    exe = Path(sys.executable).with_name("bioseq")
    return str(exe) if exe.exists() else (shutil.which("bioseq") or "bioseq")


# Linux counts a forked child's copy of its parent in the child's peak RSS, even after exec, so the
# command is started by a small helper process and the helper reports its one child's peak.
RSS_HELPER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")


def run_peak_rss(cmd: Sequence[str]) -> tuple[int, float, float]:
    """Run ``cmd``; return its exit status, its own peak RSS in MiB and its wall time in seconds."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RSS_HELPER, *cmd], capture_output=True, text=True)
    peak, rc = (int(v) for v in proc.stdout.split()) if proc.returncode == 0 else (0, proc.returncode)
    sys.stderr.write(proc.stderr if rc else "")
    return rc, peak / 1024 if sys.platform != "darwin" else peak / 2**20, time.perf_counter() - t0  # KiB / bytes


def predict_rss(n: int = 1_000_000, length: int = 200, workdir: Path | None = None, bundle: ModelBundle | None = None,
                model: str = "default DNA model") -> list[Figure]:
    """(c) Peak RSS of ``bioseq predict MODEL big.fa -o out.csv`` as a subprocess (``bundle``: the default
    DNA model, randomly initialised)."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-", dir=workdir) as tmp:
        fasta = write_random_fasta(Path(tmp) / "big.fa", n, length, seed=3)
        path = save_model(Path(tmp) / "model.safetensors", bundle or dna_bundle())
        rc, peak, secs = run_peak_rss([bioseq_command(), "predict", str(path), str(fasta),
                                       "-o", str(Path(tmp) / "out.csv")])
        rows = sum(1 for _ in open(Path(tmp) / "out.csv")) - 1 if rc == 0 else 0
    if rc != 0 or rows != n:
        raise RuntimeError(f"bioseq predict failed (exit {rc}, {rows} of {n} rows)")
    return [at_most(f"bioseq predict peak RSS, {n:,} records", peak, 1024, " MiB",
                    note=f"{length} bp, {model}, {secs:.0f}s, {n / secs:.0f} seq/s"),]


# --- d. length grouping -------------------------------------------------------------------------

def front_pad(arrays: Sequence[np.ndarray], width: int) -> list[np.ndarray]:
    """Zero-pad every array at the front to ``width`` rows: the naive fixed-length input."""
    out = []
    for a in arrays:
        p = np.zeros((width, a.shape[1]), dtype=a.dtype)
        p[width - len(a):] = a
        out.append(p)
    return out


def grouping_speedup(data: Path = DEFAULT_DATA, epochs: int = 2, repeats: int = 1, limit: int | None = None,
                     clock: str = "cpu") -> list[Figure]:
    """(d) Length-grouped batches against every batch padded to the data's longest sequence."""
    amp = Path(data) / "amp_scanner_v2"
    tr = load_dataset([amp / "AMP.tr.fa", amp / "DECOY.tr.fa"])
    va = load_dataset([amp / "AMP.eval.fa", amp / "DECOY.eval.fa"], alphabet=tr.alphabet, classes=tr.classes)
    if limit:  # a small, class-balanced sample for smoke tests
        tr, va = tr.subset(np.r_[0:limit // 2, len(tr) - limit // 2:len(tr)]), va.subset(range(0, len(va), 8))
    x, y, vx, vy = tr.encoded(), tr.labels, va.encoded(), va.labels
    width = int(max(max(map(len, x)), max(map(len, vx))))  # longest in the training and tuning data
    px, pvx = front_pad(x, width), front_pad(vx, width)
    cfg = default_model_config(tr.alphabet.name, tr.alphabet.size, len(tr.classes))

    def run(arrays, val_arrays, group: bool) -> Callable[[], None]:
        tc = TrainConfig(epochs=epochs, patience=epochs + 1, device="cpu", group_by_length=group)
        return lambda: train(SequenceClassifier(cfg), arrays, y, val_arrays, vy, tc)

    variants = {"grouped": run(x, vx, True), "padded": run(px, pvx, True), "random": run(x, vx, False)}
    t = best_of(variants, repeats, clock)
    seqs = len(x) * epochs
    what = f"AMP train {len(x)} seqs (length {min(map(len, x))}-{width}), {epochs} ep, default protein model"
    return [
        info("AMP train seq/s, length-grouped batches", seqs / t["grouped"], note=what),
        info("AMP train seq/s, random batches (each padded to its longest, packed)", seqs / t["random"]),
        info("AMP train seq/s, every batch padded to the longest", seqs / t["padded"], note=f"{width} positions"),
        at_least("length grouping speed-up over global padding", t["padded"] / t["grouped"], 3, "x",
                 note=f"best of {repeats}"),
    ]


# --- command line -------------------------------------------------------------------------------

def parser(prog: str = "python -m bench.bench_core") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog=prog)
    ap.add_argument("--n-train", type=int, default=1000, help="training sequences for (a) (1000)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs for (a) and (d) (2)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats per variant; best kept (3)")
    ap.add_argument("--n-predict", type=int, default=20_000, help="records for (b) (20000)")
    ap.add_argument("--n", type=int, default=1_000_000, help="records for the peak-RSS run (c) (1000000)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"benchmark data folder ({DEFAULT_DATA})")
    ap.add_argument("--threads", type=int, default=1, help="torch threads in this process; 0: torch's choice (1)")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu", help="time by process CPU time or wall (cpu)")
    ap.add_argument("--quick", action="store_true", help="small sizes, one repeat: a smoke run")
    ap.add_argument("--skip", nargs="*", default=[],
                    choices=["train", "predict", "rss", "grouping", "scan", "distributed", "training"],
                    help="sections to leave out (scan, distributed and training: python -m bench, bench.bench_scale)")
    return ap


def figures(args: argparse.Namespace, echo: Callable[[str], None] = print) -> list[Figure]:
    """Run the selected benchmarks, echoing each section's figures as it finishes."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args = argparse.Namespace(**{**vars(args), "n_train": 300, "n_predict": 2000, "n": 5000, "repeats": 1,
                                     "epochs": 1})
    sections = {
        "train": lambda: train_throughput(args.n_train, args.epochs, args.repeats, clock=args.clock),
        "predict": lambda: predict_throughput(args.n_predict, repeats=max(1, args.repeats - 1), clock=args.clock),
        "rss": lambda: predict_rss(args.n),
        "grouping": lambda: grouping_speedup(args.data, args.epochs, max(1, args.repeats - 1),
                                             limit=400 if args.quick else None, clock=args.clock),
    }
    echo(f"{machine()} · clock: {args.clock}")
    return run_sections(sections, args.skip, echo)


def run_sections(sections: dict[str, Callable[[], list[Figure]]], skip: Sequence[str],
                 echo: Callable[[str], None] = print) -> list[Figure]:
    """Run each section not in ``skip``, echoing its figures and time as it finishes; all the figures."""
    out: list[Figure] = []
    for name, run in sections.items():
        if name in skip:
            continue
        t0 = time.perf_counter()
        got = run()
        echo(f"\n[{name}: {time.perf_counter() - t0:.0f}s]\n{table(got)}")
        out += got
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    figs = figures(args, echo=lambda text: print(text, flush=True))
    print("\nAll core figures\n" + table(figs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
