"""Acceptance of issue 19, item 1 (regions in): on a generated genome of a few Mbp and several chromosomes, with the
AP-1 site TGACTCA planted in the positive regions of a BED file (:func:`bioseq.data.synthetic.motif_genome`),

    bioseq train --regions pos.bed --genome genome.fa --val-chroms chr4 --test-chroms chr5

learns the motif: the accuracy on the held-out validation chromosome (from the model file) and on the test
chromosome, never seen in training (its regions and their shuffled negatives, read as training read them and
scored as ``bioseq evaluate MODEL --regions pos.bed --genome genome.fa --test-chroms chr5`` scores them), must each
be at least 0.9.

    python -m bench.regions [--mbp 3] [--per-mb 400] [--epochs 6] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 0.9


def chromosomes(mbp: float, n: int = 5) -> tuple[tuple[str, int], ...]:
    """``n`` chromosomes of ``mbp`` Mbp in all; the fourth named without ``chr`` (as Ensembl names them)."""
    size = int(mbp * 1e6 / n)
    return tuple((("" if k == 4 else "chr") + str(k), size) for k in range(1, n + 1))


def run(folder: str | os.PathLike, mbp: float = 3.0, per_mb: int = 400, epochs: int = 6, seed: int = 0) -> dict:
    """Generate, train with chromosome hold-out, evaluate on the test chromosome; the figures as a dict."""
    from bioseq.cli import main
    from bioseq.data.synthetic import motif_genome
    from bioseq.model.store import load_model
    from bioseq.prediction.evaluate import evaluate_regions

    folder = Path(folder)
    g = motif_genome(folder, chromosomes(mbp), per_mb=per_mb, seed=seed)
    out = folder / "model.safetensors"
    args = ["train", "--regions", str(g.positives), "--genome", str(g.fasta), "--val-chroms", "chr4",
            "--test-chroms", "chr5", "--width", "200", "--epochs", str(epochs), "--out", str(out), "--overwrite",
            "--quiet", "--seed", str(seed)]
    start = time.perf_counter()
    if main(args) != 0:
        raise SystemExit("bioseq train failed")
    seconds = time.perf_counter() - start
    bundle = load_model(out)
    ev = evaluate_regions(bundle, [str(g.positives)], str(g.fasta), test_chroms="chr5")  # bioseq evaluate's path
    training = bundle.meta["training"]
    return {"genome_bp": sum(n for _, n in chromosomes(mbp)), "positives": len(g.sites),
            "val_accuracy": float(training["val_metrics"]["accuracy"]) if "val_metrics" in training else None,
            "test_accuracy": float(ev.metrics["accuracy"]), "test_auroc": float(ev.metrics["auroc"]),
            "test_records": int(ev.metrics["n"]), "train_seconds": round(seconds, 1),
            "command": "bioseq " + " ".join(args)}


def main_(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mbp", type=float, default=3.0)
    ap.add_argument("--per-mb", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--folder")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(a.folder or tmp, a.mbp, a.per_mb, a.epochs)
    for k, v in figures.items():
        print(f"{k}: {v}")
    ok = figures["test_accuracy"] >= TARGET and (figures["val_accuracy"] or 0) >= TARGET
    print(f"{'PASS' if ok else 'FAIL'}: held-out accuracy >= {TARGET}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main_())
