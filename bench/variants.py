"""Acceptance of ``bioseq variants``: on a generated genome with a motif planted in positive regions and a model
trained on windows cut from it, motif-breaking SNPs get far larger effects than random SNPs; a REF mismatch in
the VCF is reported by its line.

The genome (several chromosomes, names with and without ``chr``, soft-masked stretches, N runs) holds the AP-1
site TGACTCA (a palindrome: on both strands) at the centre of each positive region and nowhere else. The model
is trained on FASTA windows of the regions of the first chromosomes (``bound``) and on motif-free windows
(``unbound``).
The VCF holds, on the last chromosome (never trained on), one SNP at a central letter of every planted site
(motif-breaking) and as many SNPs at random places, at least 2 letters from any site. The figure: the AUROC
of ``|diff|`` of p(bound) telling motif-breaking SNPs from random ones (target ≥ 0.9).

    python -m bench.variants [--sites 300] [--epochs 15]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see bench_core

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, at_least, info, table  # noqa: E402

MOTIF = "TGACTCA"  # AP-1; its own reverse complement
WIDTH = 100
CHROMS = (("chr1", 200_000), ("2", 200_000), ("chr3", 150_000))  # chr3: the test chromosome
HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _scrub(s: list[str]) -> None:
    text = "".join(s)
    at = text.find(MOTIF)
    while at >= 0:
        s[at + 3] = "A" if s[at + 3] != "A" else "C"
        at = text.find(MOTIF, at + 1)


def make_genome(folder: Path, sites: int, seed: int = 0) -> dict:
    """Write ``genome.fa``; the planted sites per chromosome ``{name: [0-based starts]}``."""
    rng = np.random.default_rng(seed)
    planted, records = {}, []
    for name, size in CHROMS:
        s = list(rng.choice(list("ACGT"), size))
        _scrub(s)
        s[:500] = "N" * 500  # an N run at the start and in the middle
        s[size // 2:size // 2 + 300] = "N" * 300
        free = [a for a in range(1000, size - 1000, 300) if abs(a - size // 2) > 500]
        starts = sorted(int(a) for a in rng.choice(free, sites, replace=False))
        for a in starts:
            s[a:a + len(MOTIF)] = MOTIF
        for a in rng.integers(0, size - 3000, 6):  # soft-masked stretches
            s[a:a + 2000] = [c.lower() for c in s[a:a + 2000]]
        planted[name] = starts
        records.append(f">{name}\n" + "\n".join("".join(s[i:i + 60]) for i in range(0, size, 60)) + "\n")
    (folder / "genome.fa").write_text("".join(records))
    return planted


def training_files(folder: Path, planted: dict, seed: int = 1) -> list[str]:
    """FASTA windows of the training chromosomes: around each site (``bound``), and motif-free (``unbound``)."""
    from bioseq.data.genome import Genome

    rng = np.random.default_rng(seed)
    bound, unbound = [], []
    with Genome(folder / "genome.fa") as g:
        for name, _ in CHROMS[:-1]:
            for a in planted[name]:
                lo = a + len(MOTIF) // 2 - WIDTH // 2 + int(rng.integers(-25, 26))
                bound.append(g.fetch(name, lo, lo + WIDTH))
            n = g.length(name)
            while len(unbound) < len(bound):
                lo = int(rng.integers(600, n - WIDTH))
                seq = g.fetch(name, lo, lo + WIDTH)
                if MOTIF not in seq and "N" not in seq:
                    unbound.append(seq)
    paths = []
    for label, seqs in (("bound", bound), ("unbound", unbound)):
        path = folder / f"{label}.fa"
        path.write_text("".join(f">{label}{i}\n{s}\n" for i, s in enumerate(seqs)))
        paths.append(str(path))
    return paths


def write_vcf(folder: Path, planted: dict, seed: int = 2) -> tuple[Path, np.ndarray]:
    """SNPs on the test chromosome: one at a central letter of every site, as many at random places; the labels
    (1 = motif-breaking)."""
    from bioseq.data.genome import Genome

    rng = np.random.default_rng(seed)
    name, size = CHROMS[-1]
    rows, labels = [], []
    with Genome(folder / "genome.fa") as g:
        for a in planted[name]:
            p = a + int(rng.integers(1, len(MOTIF) - 1))  # inside the site, not its ends
            rows.append((p, g.fetch(name, p, p + 1)))
            labels.append(1)
        while len(rows) < 2 * len(planted[name]):
            p = int(rng.integers(600, size - 600))
            ref = g.fetch(name, p, p + 1)
            if ref != "N" and all(not (a - 2 <= p < a + len(MOTIF) + 2) for a in planted[name]):
                rows.append((p, ref))
                labels.append(0)
    order = np.argsort([p for p, _ in rows], kind="stable")
    lines = []
    for i in order:
        p, ref = rows[i]
        alt = "ACGT"[("ACGT".index(ref) + 1 + int(rng.integers(0, 3))) % 4]
        lines.append(f"{name}\t{p + 1}\tv{i}\t{ref}\t{alt}\t.\t.\t.\n")
    path = folder / "variants.vcf"
    path.write_text(HEAD + "".join(lines))
    return path, np.asarray(labels)[order]


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def run(folder: Path, sites: int = 300, epochs: int = 15) -> list[Figure]:
    import pandas as pd

    from bioseq.cli import main as cli
    from bioseq.data.source import DataOptions
    from bioseq.training.config import TrainConfig
    from bioseq.training.fit import fit

    os.environ["BIOSEQ_HOME"] = str(folder / "home")
    planted = make_genome(folder, sites)
    t0 = time.perf_counter()
    result = fit(DataOptions(training_files(folder, planted)), {"hidden": 16, "conv_filters": 16, "conv_width": 9},
                 TrainConfig(epochs=epochs, batch_size=32, device="cpu", seed=0), out=folder / "model.safetensors")
    trained = time.perf_counter() - t0
    vcf, labels = write_vcf(folder, planted)
    out = folder / "effects.csv"
    t0 = time.perf_counter()
    code = cli(["variants", str(folder / "model.safetensors"), "--vcf", str(vcf), "--genome",
                str(folder / "genome.fa"), "--class", "bound", "--device", "cpu", "-o", str(out)])
    scored = time.perf_counter() - t0
    assert code == 0, "bioseq variants failed"
    effects = pd.read_csv(out)
    value = auroc(labels, effects["diff"].abs().to_numpy())
    bad = folder / "mismatch.vcf"  # the line of the 11th variant gets a wrong REF
    lines = vcf.read_text().splitlines(keepends=True)
    cols = lines[12].split("\t")
    cols[3] = "ACGT"[("ACGT".index(cols[3]) + 1) % 4]
    lines[12] = "\t".join(cols)
    bad.write_text("".join(lines))
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        refused = cli(["variants", str(folder / "model.safetensors"), "--vcf", str(bad), "--genome",
                       str(folder / "genome.fa"), "-o", str(folder / "never.csv")])
    named = refused == 2 and ": line 13 (" in err.getvalue() and not (folder / "never.csv").exists()
    val = (result.result.val_metrics or {}).get("balanced_accuracy")
    return [at_least("AUROC, motif-breaking vs random SNPs (|diff| of p(bound))", value, 0.9, "",
                     f"{int(labels.sum())} + {int((1 - labels).sum())} SNPs on {CHROMS[-1][0]} (never trained on)"),
            at_least("REF mismatch reported by its line (1 = yes)", float(named), 1, "", err.getvalue().strip()[:120]),
            info("training time", trained, "s", f"{epochs} epochs; validation balanced accuracy "
                 f"{val:.3f}" if val is not None else f"{epochs} epochs"),
            info("bioseq variants time", scored, "s", f"{len(effects)} rows")]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", type=int, default=300, help="planted sites per chromosome (default 300)")
    p.add_argument("--epochs", type=int, default=15)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print(table(run(Path(tmp), a.sites, a.epochs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
