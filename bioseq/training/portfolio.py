"""The warm start of ``bioseq tune``: a small portfolio of configurations known to be good for a kind of data,
tried right after the defaults (``study.enqueue_trial``), so a search starts from measured points rather than
from the defaults alone.

**Kinds** (:func:`kind_of`, from the training data: task, alphabet and median length):

* ``labeller``: one label per position (e.g. protein secondary structure);
* ``long``: median length over 300 (any alphabet);
* ``protein``: protein up to 300 residues (e.g. antimicrobial peptides);
* ``dna_short``: DNA or RNA under 100 bp (e.g. splice sites, 60 bp);
* ``dna``: DNA or RNA of 100–300 bp (e.g. enhancers, 200 bp).

Each entry of :data:`PORTFOLIO` is a point of the search space (:data:`bioseq.training.search.SPACE`; a
name it leaves out takes the default) and says where it came from: the best trial of a study or the
configuration chosen on validation in ``bench/results/`` (the shared benchmarks, ``../shared/benchmarks``),
with its validation figure there. An entry without such a measurement (``long``: no shared benchmark has
long sequences) says so. To add one: append a dict with ``kind``, ``params`` and ``source``.
"""

from __future__ import annotations

from .search import SPACE

KINDS = ("labeller", "long", "protein", "dna_short", "dna")
LONG = 300  # median length above which data is "long"
SHORT_DNA = 100  # median length under which DNA / RNA is "dna_short"

PORTFOLIO: list[dict] = [
    {"kind": "protein", "source": "AMP Scanner v2: the bundled amp model's choice on validation (bench/bundle.py): "
     "BLOSUM62 input + SWA, validation accuracy 91.4% (seeds 0, 1) against 89.6% for one-hot",
     "params": {"encoding": "blosum62", "swa": True}},
    {"kind": "protein", "source": "AMP Scanner v2: best trial (7) of bioseq tune, seed 2, 3 CPU-min "
     "(bench/results/tuned_3min.json); validation loss 0.2196, accuracy 91.2%",
     "params": {"cell": "gru", "layers": 1, "hidden": 19, "conv": True, "conv_filters": 28, "conv_width": 9,
                "conv_pool": 3, "pooling": "mean", "dropout": 0.32, "forget_bias": 0.32, "lr": 6.3e-3,
                "batch_size": 32, "weight_decay": 1.6e-2}},
    {"kind": "protein", "source": "AMP Scanner v2: candidate 'conv 64/9, BiLSTM 64, max' (bench/results/"
     "benchmarks.json); validation accuracy 90.7%",
     "params": {"conv_width": 9, "pooling": "max"}},
    {"kind": "dna", "source": "iEnhancer-2L layer 1: best trial (2) of bioseq tune, seed 2, 3 CPU-min "
     "(bench/results/tuned_3min.json); validation loss 0.5276, accuracy 75.1% (defaults: 72.2%)",
     "params": {"cell": "gru", "layers": 1, "hidden": 55, "conv": True, "conv_filters": 25, "conv_width": 7,
                "conv_pool": 2, "pooling": "mean", "dropout": 0.19, "forget_bias": 1.59, "lr": 2.3e-3,
                "batch_size": 64, "weight_decay": 1.0e-3}},
    {"kind": "dna", "source": "iEnhancer-2L layer 1: candidate chosen on validation 'conv 64/9, pool 4, BiLSTM 64, "
     "mean, dropout 0.3, lr 1e-3' (bench/results/benchmarks.json); validation accuracy 73.1%",
     "params": {"conv_pool": 4, "pooling": "mean", "dropout": 0.3, "lr": 1e-3}},
    {"kind": "dna", "source": "iEnhancer-2L layer 2: candidate chosen on validation 'conv 64/9, pool 4, BiLSTM 64, "
     "max, dropout 0.3' (bench/results/benchmarks.json); validation accuracy 65.2% (defaults: 63.2%)",
     "params": {"conv_pool": 4, "pooling": "max", "dropout": 0.3}},
    {"kind": "dna", "source": "iEnhancer-2L layer 2: best trial (3) of bioseq tune, seed 2, 3 CPU-min "
     "(bench/results/tuned_3min.json); validation accuracy 63.9%",
     "params": {"cell": "lstm", "layers": 2, "hidden": 39, "conv": True, "conv_filters": 117, "conv_width": 10,
                "conv_pool": 1, "pooling": "mean", "dropout": 0.12, "forget_bias": 0.13, "lr": 9.8e-3,
                "batch_size": 16, "weight_decay": 1.1e-2}},
    {"kind": "dna_short", "source": "UCI splice: candidate chosen on validation 'BiLSTM 64, max, no conv' "
     "(bench/results/benchmarks.json); validation accuracy 95.3% (defaults: 95.1%)",
     "params": {"conv": False, "pooling": "max"}},
    {"kind": "dna_short", "source": "UCI splice: candidate 'BiLSTM 64, attention, no conv' (bench/results/"
     "benchmarks.json); validation accuracy 93.3%",
     "params": {"conv": False, "pooling": "attention"}},
    {"kind": "long", "source": "not measured (no shared benchmark has sequences over 300): the iEnhancer layer 1 "
     "entry with pool 4, which shortens what the recurrent layer reads four times",
     "params": {"conv_pool": 4, "pooling": "mean", "dropout": 0.3, "lr": 1e-3}},
    {"kind": "long", "source": "not measured: the iEnhancer layer 1 GRU trial with pool 4 (see its entry)",
     "params": {"cell": "gru", "hidden": 55, "conv_filters": 25, "conv_width": 7, "conv_pool": 4,
                "pooling": "mean", "dropout": 0.19, "forget_bias": 1.59, "lr": 2.3e-3, "batch_size": 64}},
    {"kind": "labeller", "source": "CB513 secondary structure: the benchmark's model, 2-layer BiLSTM 96, conv "
     "128/11 (bench/results/secondary_structure.json); valid Q3 71.8%, CB513 Q3 70.5%",
     "params": {"layers": 2, "hidden": 96, "conv": True, "conv_filters": 128, "conv_width": 11}},
]


def kind_of(per_position: bool, alphabet: str, median_length: float) -> str:
    """The portfolio kind of a training set (see the module docstring)."""
    if per_position:
        return "labeller"
    if median_length > LONG:
        return "long"
    if alphabet == "protein":
        return "protein"
    return "dna_short" if median_length < SHORT_DNA else "dna"


def portfolio(kind: str, defaults: dict, limit: int = 4) -> list[tuple[dict, str]]:
    """At most ``limit`` ``(params, source)`` of ``kind``, each a full point of the search space: the entry's
    values over ``defaults`` (the defaults as a point of the space, less what the task fixes), restricted to
    what ``defaults`` searches; entries equal to the defaults, or to an earlier entry, are left out."""
    chosen: list[tuple[dict, str]] = []
    for entry in PORTFOLIO:
        if entry["kind"] != kind:
            continue
        params = {k: entry["params"].get(k, v) for k, v in defaults.items() if k in SPACE}
        if params != defaults and all(params != p for p, _ in chosen):
            chosen.append((params, entry["source"]))
    return chosen[:limit]
