"""Presets of the Train page: named model option sets over the defaults (:mod:`bioseq.app.train_form`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import InputError
from .train_form import defaults

DEFAULT_PRESET = "BiLSTM + conv"
PRESETS: Mapping[str, tuple[str, dict]] = MappingProxyType({
    DEFAULT_PRESET: ("the measured default: a convolution finds motifs, a bidirectional LSTM carries them", {}),
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


def preset_values(preset: str, alphabet: str | None = "dna", task: str | None = None) -> dict:
    """Every form value of ``preset`` for data of ``alphabet`` (and ``task``: ``label`` for a labeller)."""
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return {**defaults(alphabet, task), **PRESETS[preset][1]}
