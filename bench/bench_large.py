"""Data larger than memory: the encoded-sequence cache (:mod:`bioseq.data.cache`) and bounded peak memory.

a. Building batches from the cache against a training step of bioseq's default DNA model on those batches
   (forward, backward, AdamW): batch-building seq/s over model-step seq/s. Far above 1 means the model, not
   reading the data, sets the training speed. Also the cache's build speed (records/s, both passes).
b. Peak RSS of ``bioseq train FILE --epochs 1 --max-steps N`` on a generated FASTA of labelled 200 bp
   records (the cache is built inside the run; target 2 GiB at 2,000,000 records).
c. Peak RSS of ``bioseq predict`` on a generated FASTA with a small model (the model's size does not change
   how many records are held; target 1 GiB at 10,000,000 records).

Figures are printed, nothing is asserted on time. Generating and reading millions of records takes minutes:
the defaults are small, the full sizes are options.

    python -m bench.bench_large [--records 20000] [--train-records 200000] [--predict-records 1000000]
                                [--max-steps 100] [--skip throughput train predict]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see bench_core

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_core  # noqa: E402
from bench.bench_core import CLOCKS, bioseq_command, run_peak_rss, write_random_fasta  # noqa: E402
from bench.report import Figure, at_least, at_most, info, machine, run_sections  # noqa: E402
from bioseq.data.alphabets import DNA  # noqa: E402
from bioseq.data.encoding import length_batches, take_batch  # noqa: E402
from bioseq.data.large import load_cached  # noqa: E402
from bioseq.model.classifier import SequenceClassifier  # noqa: E402
from bioseq.model.store import ModelBundle  # noqa: E402
from bioseq.training.fit import default_model_config  # noqa: E402


@contextmanager
def workspace(folder: Path):
    """``$BIOSEQ_HOME`` set to ``folder`` (for this process and the commands it starts)."""
    old = os.environ.get("BIOSEQ_HOME")
    os.environ["BIOSEQ_HOME"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("BIOSEQ_HOME") if old is None else os.environ.__setitem__("BIOSEQ_HOME", old)


def cache_throughput(n: int = 20_000, length: int = 200, batch_size: int = 32, steps: int = 20,
                     clock: str = "cpu") -> list[Figure]:
    """(a) Batches built from the cache per second against default-model training steps per second."""
    now = CLOCKS[clock]
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp, workspace(Path(tmp) / "home"):
        fasta = write_random_fasta(Path(tmp) / "train.fa", n, length, seed=4, labels=True)
        t0 = now()
        ds = load_cached([fasta])
        build = now() - t0
        view, labels = ds.encoded(), torch.from_numpy(ds.labels)
        batches = length_batches(view.lengths, batch_size, shuffle=True, rng=np.random.default_rng(0))
        t0 = now()
        for idx in batches:
            take_batch(view, idx)
        batch_rate = n / (now() - t0)
        torch.manual_seed(0)
        model = SequenceClassifier(default_model_config("dna", DNA.size, 2)).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0 = now()
        for idx in batches[:steps]:
            x, lengths = take_batch(view, idx)
            loss = loss_fn(model(x, lengths), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model_rate = steps * batch_size / (now() - t0)
    return [
        info("cache build records/s (survey + encode)", n / build, note=f"{n:,} x {length} bp"),
        info("batch building seq/s from the cache", batch_rate, note=f"batches of {batch_size}"),
        info("training step seq/s, default DNA model", model_rate, note=f"{steps} steps, includes batch building"),
        at_least("batch building / model step speed", batch_rate / model_rate, 10, "x",
                 note="far above 1: the model, not reading the data, sets the speed"),
    ]


def train_rss(n: int = 200_000, length: int = 200, max_steps: int = 100) -> list[Figure]:
    """(b) Peak RSS of ``bioseq train`` (cache built inside the run) as a subprocess."""
    with tempfile.TemporaryDirectory(prefix="bioseq-bench-") as tmp, workspace(Path(tmp) / "home"):
        fasta = write_random_fasta(Path(tmp) / "train.fa", n, length, seed=5, labels=True)
        out = Path(tmp) / "model.safetensors"
        rc, peak, secs = run_peak_rss([bioseq_command(), "train", str(fasta), "--epochs", "1", "--max-steps",
                                       str(max_steps), "--quiet", "--out", str(out)])
        if rc != 0 or not out.exists():
            raise RuntimeError(f"bioseq train failed (exit {rc})")
    return [at_most(f"bioseq train peak RSS, {n:,} records", peak, 2048, " MiB",
                    note=f"{length} bp, --epochs 1 --max-steps {max_steps}, default DNA model, {secs:.0f}s")]


def small_bundle() -> ModelBundle:
    """A randomly initialised one-layer GRU of 8 units, no convolution: prediction cheap enough for 10M records."""
    torch.manual_seed(0)
    cfg = default_model_config("dna", DNA.size, 2, cell="gru", hidden=8, layers=1, conv=False, bidirectional=False)
    return ModelBundle(SequenceClassifier(cfg).eval(), DNA, ["a", "b"], meta={"name": "bench-small"})


def predict_rss(n: int = 1_000_000, length: int = 200) -> list[Figure]:
    """(c) Peak RSS of ``bioseq predict MODEL big.fa -o out.csv`` with :func:`small_bundle` as a subprocess."""
    return bench_core.predict_rss(n, length, bundle=small_bundle(), model="1-layer GRU of 8")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m bench.bench_large")
    ap.add_argument("--records", type=int, default=20_000, help="records for (a) (20000)")
    ap.add_argument("--train-records", type=int, default=200_000, help="records for (b) (200000; target at 2M)")
    ap.add_argument("--predict-records", type=int, default=1_000_000, help="records for (c) (1000000; target at 10M)")
    ap.add_argument("--max-steps", type=int, default=100, help="optimiser steps in (b) (100)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads in this process (1)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["throughput", "train", "predict"])
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    print(machine(), flush=True)
    sections = {"throughput": lambda: cache_throughput(args.records),
                "train": lambda: train_rss(args.train_records, max_steps=args.max_steps),
                "predict": lambda: predict_rss(args.predict_records)}
    return run_sections(sections, args.skip, "Data larger than memory")


if __name__ == "__main__":
    sys.exit(main())
