"""Training in a background thread, for the dashboard; the training options as a form spec and presets.

A :class:`TrainingJob` runs :func:`bioseq.fit.fit` in a daemon thread. The thread never touches a
user interface: its progress callback writes into a plain :class:`JobState` under a lock, and the
dashboard polls :meth:`TrainingJob.snapshot`. ``stop()`` sets an event that ``fit`` polls between
batches; the best weights so far are still saved as a model.

A :class:`JobRegistry` holds the jobs of one server process (the dashboard keeps one in
``st.cache_resource``). The run also lives on disk (``runs/<name>/run.json``, ``metrics.csv``),
so it outlives page switches and browser reloads; the worker's ``pid`` in ``run.json`` lets
:mod:`bioseq.runs` report a run whose server died as ``interrupted``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ..data.encoding import LENGTH_POLICIES
from ..data.source import DataOptions
from ..errors import BioseqError, InputError
from ..model import cells
from ..model.config import ACTIVATIONS, CELLS, NORMS, POOLINGS, ModelConfig
from ..model.store import model_path
from ..workspace import check_name, runs_dir
from .config import TrainConfig
from .fit import default_model_config, fit
from .loop import Progress
from .runs import write_status


@dataclass(frozen=True)
class Option:
    """One training option as a form field: ``kind`` is int, float, bool or choice."""

    name: str
    group: str  # data | model | training
    kind: str
    label: str
    help: str
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None


OPTIONS: tuple[Option, ...] = (
    Option("val_fraction", "data", "float", "Validation fraction", "share of each class held out to measure "
           "generalisation (identical sequences stay on one side)", min=0.05, max=0.5, step=0.05),
    Option("max_length", "data", "int", "Max length (0 = none)", "cut longer sequences to this many letters",
           min=0, step=10),
    Option("length_policy", "data", "choice", "Keep which part", "which part of a long sequence to keep",
           LENGTH_POLICIES),
    Option("cell", "model", "choice", "Recurrent cell", cells.help_text(), CELLS),
    Option("activation", "model", "choice", "RNN activation", "plain RNN only: relu and tanh keep gradients "
           "alive better than sigmoid", ACTIVATIONS),
    Option("layers", "model", "int", "Layers", "stacked recurrent layers; deeper stacks need skip connections "
           "or batch norm to train", min=1, max=8),
    Option("hidden", "model", "int", "Hidden units", "units per direction: the size of the memory", min=2, max=1024),
    Option("bidirectional", "model", "bool", "Bidirectional", "a second RNN reads the sequence from the end, so "
           "every position sees both sides"),
    Option("conv", "model", "bool", "Convolution front end", "a convolution finds short motifs before the RNN "
           "and pooling shortens the sequence it must remember"),
    Option("conv_filters", "model", "int", "Conv filters", "motif detectors in the front end", min=1, max=1024),
    Option("conv_width", "model", "int", "Conv width", "letters each motif detector sees", min=1, max=51),
    Option("conv_pool", "model", "int", "Conv pool", "max-pool width after the convolution (1 = none)", min=1, max=16),
    Option("pooling", "model", "choice", "Read-out", "how positions become one vector: last state, mean, max or "
           "learned attention", POOLINGS),
    Option("norm", "model", "choice", "Normalisation", "batch norm between layers re-centres activations, which "
           "keeps gradients from vanishing in deep stacks", NORMS),
    Option("skip", "model", "bool", "Skip connections", "add each layer's input to its output, a short path for "
           "gradients through deep stacks"),
    Option("dropout", "model", "float", "Dropout", "randomly silence units while training, against overfitting",
           min=0.0, max=0.9, step=0.05),
    Option("forget_bias", "model", "float", "Forget-gate bias", "LSTM only: start with the forget gate open so the "
           "cell remembers by default", min=-5.0, max=10.0, step=0.5),
    Option("epochs", "training", "int", "Epochs", "maximum passes over the training data", min=1, max=1000),
    Option("batch_size", "training", "int", "Batch size", "sequences per optimiser step", min=1, max=4096),
    Option("lr", "training", "float", "Learning rate", "AdamW step size; lower it if the loss jumps or turns NaN",
           min=1e-6, max=1.0, step=1e-4),
    Option("weight_decay", "training", "float", "Weight decay", "AdamW shrinkage of the weights, a mild "
           "regulariser", min=0.0, max=1.0, step=1e-3),
    Option("patience", "training", "int", "Patience", "stop after this many epochs without a better validation "
           "loss", min=1, max=1000),
    Option("clip", "training", "float", "Gradient clipping", "cap the gradient norm, against exploding gradients "
           "(0 = off)", min=0.0, max=100.0, step=0.5),
    Option("class_weights", "training", "bool", "Class weights", "weight classes by inverse frequency, for "
           "unbalanced data"),
    Option("seed", "training", "int", "Seed", "random seed: the same seed and options give the same model", min=0),
    Option("deterministic", "training", "bool", "Deterministic", "ask PyTorch for deterministic kernels (slower)"),
    Option("device", "training", "choice", "Device", "auto uses a CUDA GPU when there is one", ("auto", "cpu", "cuda")),
    Option("grad_every", "training", "int", "Record gradients every", "steps between per-layer gradient "
           "recordings (the Gradient flow page)", min=1, max=1000),
)
MODEL_KEYS = tuple(o.name for o in OPTIONS if o.group == "model")
TRAIN_KEYS = tuple(o.name for o in OPTIONS if o.group == "training")

PRESETS: Mapping[str, tuple[str, dict]] = MappingProxyType({
    "BiLSTM + conv": ("the measured default: a convolution finds motifs, a bidirectional LSTM carries them", {}),
    "Vanilla RNN": ("the Elman RNN: one tanh update per letter, read once left to right, classify from the last "
                    "state", {"cell": "rnn", "activation": "tanh", "conv": False, "bidirectional": False,
                              "pooling": "last", "layers": 1}),
    "LSTM": ("one LSTM read left to right, classifying from its last state",
             {"cell": "lstm", "conv": False, "bidirectional": False, "pooling": "last", "layers": 1}),
    "GRU": ("one GRU read left to right, classifying from its last state",
            {"cell": "gru", "conv": False, "bidirectional": False, "pooling": "last", "layers": 1}),
    "BiLSTM": ("an LSTM in each direction, max over positions",
               {"cell": "lstm", "conv": False, "bidirectional": True, "pooling": "max"}),
    "Deep RNN": ("three stacked tanh RNN layers, no help: gradients vanish towards layer 1",
                 {"cell": "rnn", "activation": "tanh", "layers": 3, "conv": False, "bidirectional": False,
                  "pooling": "last", "norm": "none", "skip": False}),
    "Deep RNN + batch norm + skip": ("the same stack with batch norm and skip connections between layers",
                                     {"cell": "rnn", "activation": "tanh", "layers": 3, "conv": False,
                                      "bidirectional": False, "pooling": "last", "norm": "batch", "skip": True}),
})


def defaults(alphabet: str | None = "dna") -> dict:
    """Every option's default value; model defaults depend on the alphabet (as in ``bioseq train``)."""
    cfg = default_model_config(alphabet or "dna", 4, 2).to_dict()
    tc = TrainConfig()
    values = {"val_fraction": 0.2, "max_length": 0, "length_policy": "start"}
    values.update({k: cfg[k] for k in MODEL_KEYS})
    values.update({k: getattr(tc, k) for k in TRAIN_KEYS})
    values["clip"] = tc.clip or 0.0
    return values


def preset_values(preset: str, alphabet: str | None = "dna") -> dict:
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return {**defaults(alphabet), **PRESETS[preset][1]}


def build_options(values: Mapping, data: DataOptions) -> tuple[DataOptions, dict, TrainConfig]:
    """Turn form values into ``fit`` arguments; raises :class:`InputError` for invalid choices."""
    model = {k: values[k] for k in MODEL_KEYS if k in values}
    try:
        ModelConfig(alphabet_size=4, n_classes=2, **model).validate()
    except (TypeError, ValueError) as e:
        raise InputError(f"model options: {e}") from None
    train = {k: values[k] for k in TRAIN_KEYS if k in values}
    train["clip"] = float(train.get("clip") or 0) or None
    tc = TrainConfig(**train)
    data = replace(data, val_fraction=float(values.get("val_fraction", data.val_fraction)),
                   max_length=int(values.get("max_length") or 0) or None,
                   length_policy=values.get("length_policy", data.length_policy))
    if not 0 < data.val_fraction < 1 and not data.val:
        raise InputError("the validation fraction must be between 0 and 1")
    return data, model, tc


@dataclass
class JobState:
    """What the worker reports; read a copy with :meth:`TrainingJob.snapshot`."""

    name: str
    status: str = "starting"  # starting | running | done | failed | stopped
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    loss: float = math.nan
    elapsed: float = 0.0
    history: list[dict] = field(default_factory=list)
    error: str = ""
    model_path: str = ""
    val_metrics: dict = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.status in ("starting", "running")

    @property
    def fraction(self) -> float:
        """Share of the planned optimiser steps done (0..1)."""
        if self.status == "done":
            return 1.0
        total = self.epochs * self.steps_per_epoch
        return min(1.0, ((self.epoch - 1) * self.steps_per_epoch + self.step) / total) if total else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current pace (early stopping may end the run sooner)."""
        f = self.fraction
        return self.elapsed * (1 - f) / f if 0 < f < 1 and self.elapsed > 0 else None


class TrainingJob:
    """One training run in a daemon thread; see the module docstring."""

    def __init__(self, name: str, data: DataOptions, model_options: dict, train_cfg: TrainConfig):
        self.name, self.data, self.model_options, self.train_cfg = name, data, dict(model_options), train_cfg
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state = JobState(name, epochs=train_cfg.epochs)
        self._thread = threading.Thread(target=self._run, name=f"bioseq-train-{name}", daemon=True)

    def start(self) -> TrainingJob:
        run = runs_dir() / self.name
        run.mkdir(parents=True, exist_ok=True)
        write_status(run, name=self.name, status="running", pid=os.getpid(), launcher="dashboard")
        self._thread.start()
        return self

    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            s = self._state
            s.status, s.epoch, s.epochs, s.step, s.steps_per_epoch = "running", p.epoch, p.epochs, p.step, \
                p.steps_per_epoch
            s.loss, s.elapsed = p.loss, p.elapsed
            if p.phase == "epoch":
                s.history = [dict(h) for h in p.history]

    def _run(self) -> None:
        try:
            r = fit(self.data, self.model_options, self.train_cfg, name=self.name, callback=self._on_progress,
                    should_stop=self._stop.is_set)
        except Exception as e:  # noqa: BLE001 - reported to the page, never raised in the thread
            msg = str(e) if isinstance(e, BioseqError) else f"{type(e).__name__}: {e}"
            write_status(runs_dir() / self.name, status="failed", error=msg)
            with self._lock:
                self._state.status, self._state.error = "failed", msg
            return
        with self._lock:
            s = self._state
            s.status = "stopped" if r.result.interrupted else "done"
            s.model_path, s.val_metrics, s.history = str(r.path), dict(r.result.val_metrics), list(r.result.history)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def snapshot(self) -> JobState:
        with self._lock:
            return replace(self._state, history=list(self._state.history), val_metrics=dict(self._state.val_metrics))


class JobRegistry:
    """The training jobs of one process, by run name; at most ``max_running`` train at once."""

    def __init__(self, max_running: int = 2):
        self.max_running = max_running
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}

    def start(self, name: str, data: DataOptions, model_options: dict, train_cfg: TrainConfig) -> TrainingJob:
        """Start a run; refuses a taken name or too many concurrent runs with :class:`InputError`."""
        name = check_name(name.strip())
        with self._lock:
            if model_path(name).exists() or (runs_dir() / name).exists() or name in self._jobs:
                raise InputError(f"a model or run called {name!r} already exists; choose another name")
            running = [j.name for j in self._jobs.values() if j.snapshot().active]
            if len(running) >= self.max_running:
                raise InputError(f"{len(running)} runs are already training ({', '.join(running)}); "
                                 "wait for one to finish or stop it")
            job = TrainingJob(name, data, model_options, train_cfg)
            self._jobs[name] = job
        return job.start()

    def get(self, name: str) -> TrainingJob | None:
        with self._lock:
            return self._jobs.get(name)

    def jobs(self) -> list[TrainingJob]:
        """All jobs started in this process, newest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        return sorted(jobs, key=lambda j: j.snapshot().started, reverse=True)

    def active(self) -> list[TrainingJob]:
        return [j for j in self.jobs() if j.snapshot().active]

    def stop(self, name: str) -> None:
        job = self.get(name)
        if job is not None:
            job.stop()
