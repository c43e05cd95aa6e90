"""What ``bioseq tune`` searches and how a search is asked for: the search space (:data:`SPACE`, the ONE place
that lists what is searched: add an option there and every trial draws it, the portfolio's entries and the
defaults fill it in), the search's own options (``--trials``, ``--ensemble``, ``--jobs``, ``--clock``, declared
with their range), the budget and :func:`check_inputs`, which refuses an invalid search before anything starts.
No PyTorch or Optuna here, so ``bioseq tune --help`` and the dashboard's checks stay light; the search itself is
:mod:`bioseq.training.tune`, its warm start :mod:`bioseq.training.portfolio`, its trial costs
:mod:`bioseq.training.fidelity`.
"""

from __future__ import annotations

import re

from ..data.source import DataOptions
from ..errors import InputError, ref
from ..model.config import ENCODINGS, STRANDS
from ..option_spec import Option
from .config import TrainConfig

# THE search space. name: (kind, choices or (low, high), log scale); a name of TRAIN_PARAMS goes to TrainConfig,
# every other to ModelConfig. A new entry needs a default (the ModelConfig / TrainConfig field) inside its range:
# trial 0 and the portfolio's entries that leave it out take the default.
SPACE: dict[str, tuple] = {
    "cell": ("cat", ("lstm", "gru", "rnn")),
    "layers": ("int", (1, 3)),
    "hidden": ("int", (16, 128), True),
    "conv": ("cat", (True, False)),
    "conv_filters": ("int", (16, 128), True),
    "conv_width": ("int", (3, 15)),
    "conv_pool": ("int", (1, 4)),
    "pooling": ("cat", ("last", "mean", "max", "attention")),
    "dropout": ("float", (0.0, 0.5)),
    "forget_bias": ("float", (0.0, 2.0)),
    "lr": ("float", (3e-4, 1e-2), True),
    "batch_size": ("cat", (16, 32, 64)),
    "weight_decay": ("float", (1e-5, 1e-1), True),
    "encoding": ("cat", ENCODINGS), "embed_size": ("int", (8, 64), True), "strand": ("cat", STRANDS),
    "swa": ("cat", (False, True)), "label_smoothing": ("float", (0.0, 0.2)),
}  # --schedule is left out: onecycle and cosine lost on both benchmarks of bench/results/inputs.md
TRAIN_PARAMS = ("lr", "batch_size", "weight_decay", "swa", "label_smoothing")
# options whose values depend on the data's alphabet: alphabet -> the values searched (not searched for others)
BY_ALPHABET = {"strand": {"dna": STRANDS},
               "encoding": {"protein": ("onehot", "blosum62", "physchem", "embedding"),
                            "dna": ("onehot", "embedding", "kmer"), "rna": ("onehot", "embedding", "kmer")}}


def space_for(alphabet: str | None = "dna") -> dict[str, tuple]:
    """:data:`SPACE` for data of ``alphabet``: the options of :data:`BY_ALPHABET` with that alphabet's values,
    left out where it has none (``--strand`` for protein)."""
    space = {}
    for name, (kind, values, *log) in SPACE.items():
        values = BY_ALPHABET[name].get(alphabet or "dna") if name in BY_ALPHABET else values
        if values:
            space[name] = (kind, values, *log)
    return space


# the search's own options (bioseq tune's flags), checked by the options' one rule
TRIALS = Option("trials", "search", int, None, "stop after N trials", min=1, metavar="N",
                unset="as many as fit the budget")
ENSEMBLE = Option("ensemble", "search", int, 3, "at the end, the K best complete trials (probabilities averaged) "
                  "are saved as one ensemble when it beats the best trial's validation loss, else the best trial; "
                  "1: always the best trial", min=1, max=20, metavar="K", nullable=False)
JOBS = Option("jobs", "search", int, None, "trials in N parallel worker processes sharing the study (each with "
              "cores/N threads)", min=1, max=64, metavar="N", unset="one per CPU core on a CPU (up to 8), 1 on a GPU")
CLOCKS = ("wall", "cpu")
CLOCK = Option("clock", "search", str, "wall", "what --budget measures: wall-clock time, or CPU time (every "
               "worker's process time added up; fair on a shared machine)", choices=CLOCKS, nullable=False)
# cross-validation's folds: bioseq cv --folds (bioseq.training.cv) and tune --cv, each trial's inner folds
FOLDS = Option("folds", "cv", int, 10, "cross-validation folds: each fold is tested once by a model trained on the "
               "others", min=2, max=100, metavar="K", nullable=False)
CV = Option("cv", "search", int, None, "score each trial by the mean test loss of a K-fold cross-validation "
            "(bioseq cv) instead of one validation split; each trial then trains K models (K times the time: for "
            "small data), its model the ensemble of the K", min=2, max=100, metavar="K",
            unset="one validation split")
SEARCH_OPTIONS = (TRIALS, ENSEMBLE, JOBS, CLOCK, CV)


def parse_budget(text: str | float | int) -> float:
    """``"10m"``, ``"90s"``, ``"1h"``, ``"1h30m"`` or a number of seconds, as seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
        if not parts or not any(parts.groups()):
            raise InputError(f"budget {text!r}: give a time such as 10m, 90s or 1h")
        h, m, s = (float(g) if g else 0.0 for g in parts.groups())
        seconds = 3600 * h + 60 * m + s
    if seconds <= 0:
        raise InputError(f"budget {text!r}: must be more than zero")
    return seconds


def check_inputs(data: DataOptions, train_cfg: TrainConfig, max_trials: int | None = None, ensemble: int = 1,
                 jobs: int | None = None, clock: str = "wall", cv: int | None = None) -> TrainConfig:
    """``train_cfg`` once every option of a search is valid, else :class:`InputError` (before anything starts):
    the data and training options by their one rule, ``max_trials`` and ``ensemble`` by theirs, and a searched
    training option (``lr``, ``batch_size``, ``weight_decay``) inside what the search draws from, since its
    value is where the search starts (the first trial)."""
    TRIALS.check(max_trials, InputError)
    ENSEMBLE.check(ensemble, InputError)
    JOBS.check(jobs, InputError)
    CLOCK.check(clock, InputError)
    CV.check(cv, InputError)
    if cv and data.val:
        raise InputError(f"{ref('cv', cv)} scores each trial on folds of the training files; drop {ref('val')}")
    data.validate()
    train_cfg.validate()
    for k in TRAIN_PARAMS:
        kind, values, *_ = SPACE[k]
        v = getattr(train_cfg, k)
        if v in values if kind == "cat" else values[0] <= v <= values[1]:
            continue
        what = ", ".join(map(str, values)) if kind == "cat" else f"from {values[0]:g} to {values[1]:g}"
        raise InputError(f"{ref(k, v)} is where the search starts, but tune draws {k} {what}: give a value among "
                         f"them, or leave it out")
    return train_cfg
