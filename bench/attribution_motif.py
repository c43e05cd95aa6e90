"""Does each attribution method point at the planted motif? One row per registered method.

The default DNA model is trained on ``data/dna_motif.train.fa`` (as ``bioseq train`` does, in a
temporary workspace) unless ``--model`` names one. For every motif-carrying record of
``data/dna_motif.test.fa`` (``label=motif``: the 7-mer TGACTCA planted once, found by string
search), the method explains the ``motif`` class; a hit is a record whose highest-scoring
position falls inside the planted 7-mer. Target: at least 90% hits per method.

    python -m bench.attribution_motif [--model PATH] [--n 200] [--methods saliency ig ...]
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

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, at_least, table  # noqa: E402
from bioseq.data.io import Record, read_records  # noqa: E402
from bioseq.data.synthetic import DNA_MOTIF  # noqa: E402
from bioseq.interpret.attribution import METHODS, explain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAIN, TEST = ROOT / "data" / "dna_motif.train.fa", ROOT / "data" / "dna_motif.test.fa"


def positives(path: Path | str = TEST, n: int | None = None, motif: str = DNA_MOTIF) -> list[Record]:
    """The first ``n`` records labelled ``motif`` that carry ``motif`` exactly once."""
    found = [r for r in read_records(path) if "label=motif" in r.description and r.seq.upper().count(motif) == 1]
    return found[:n]


def hit_rate(bundle, records: Sequence[Record], method: str, motif: str = DNA_MOTIF, **options) -> float:
    """Share of ``records`` whose highest-scoring position (explaining class motif) lies inside ``motif``."""
    df = explain(bundle, records, method, target="motif", **options)
    top = df.loc[df.groupby("id", sort=False)["score"].idxmax(), ["id", "position"]].set_index("id")["position"]
    hits = 0
    for r in records:
        start = r.seq.upper().find(motif) + 1  # 1-based
        hits += start <= int(top[r.id]) < start + len(motif)
    return hits / len(records)


def train_default(home: Path):
    """The default DNA model on the bundled task, in workspace ``home``."""
    from bioseq.data.source import DataOptions
    from bioseq.training.fit import fit

    os.environ["BIOSEQ_HOME"] = str(home)
    return fit(DataOptions([str(TRAIN)]), name="dna-default").bundle


def figures(bundle, records: Sequence[Record], methods: Sequence[str] = tuple(METHODS)) -> list[Figure]:
    out = []
    for name in methods:
        t0 = time.perf_counter()
        rate = hit_rate(bundle, records, name)
        secs = time.perf_counter() - t0
        out.append(at_least(f"top position inside the motif, {name}", 100 * rate, 90, "%",
                            f"{len(records)} records, {secs:.1f} s"))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model file or registry name (default: train the default DNA model)")
    p.add_argument("--test", default=str(TEST), help="FASTA with label=motif records")
    p.add_argument("--n", type=int, help="use at most this many motif-carrying records (default: all)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    a = p.parse_args(argv)
    if a.model:
        import bioseq

        bundle = bioseq.load(a.model)
    else:
        with tempfile.TemporaryDirectory() as home:
            print("training the default DNA model on", TRAIN.name, "...", file=sys.stderr)
            bundle = train_default(Path(home))
    records = positives(a.test, a.n)
    print(table(figures(bundle, records, a.methods)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
