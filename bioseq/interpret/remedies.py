"""What to try for each verdict of the diagnosis, as data: which option, which value, and why.

A :class:`Remedy` names an option by its options-table name (:mod:`bioseq.options`), so the CLI shows
its flag (``--lr``) and the dashboard its form label ("Learning rate"); ``value`` is the suggested
value (``None``: the words say which way to move it). Remedies without an option are advice in
words. ``str(remedy)`` is the CLI's wording: ``why (--flag value)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Remedy:
    """One thing to try: ``why`` in words, and the option (and value) that does it, if any."""

    why: str
    option: str | None = None  # an options-table name, e.g. "lr"
    value: Any = None  # a value of that option, a tuple of alternatives, or None

    def _option(self):
        from ..options import option

        return option(self.option)

    @property
    def flag(self) -> str | None:
        """The CLI flag, e.g. ``--lr``."""
        return self._option().flag if self.option else None

    @property
    def label(self) -> str | None:
        """The dashboard's form label, e.g. ``Learning rate``."""
        return self._option().label if self.option else None

    def setting(self, name: str | None = None) -> str:
        """The option and value as ``name value`` (``name`` defaults to the flag): ``--norm batch``."""
        name = name or self.flag or ""
        if self.value is None:
            return name
        if isinstance(self.value, bool):
            return name if self.value or not name.startswith("--") else "--no-" + name[2:]
        shown = " / ".join(map(str, self.value)) if isinstance(self.value, tuple) else str(self.value)
        return f"{name} {shown}"

    def __str__(self) -> str:
        return f"{self.why} ({self.setting()})" if self.option else self.why


_CELLS = ("lstm", "gru")
REMEDIES = MappingProxyType({
    "vanishing across layers": (
        Remedy("use ReLU instead of sigmoid or tanh", "activation", "relu"),
        Remedy("use LSTM or GRU cells", "cell", _CELLS),
        Remedy("add batch normalisation between layers", "norm", "batch"),
        Remedy("add skip connections", "skip", True),
        Remedy("or use fewer layers", "layers", 1),
    ),
    "vanishing across time": (
        Remedy("use LSTM or GRU cells instead of a plain RNN", "cell", _CELLS),
        Remedy("raise the LSTM forget-gate bias to 1 or more, so the cell state keeps what it saw", "forget_bias", 1.0),
        Remedy("read the sequence both ways", "bidirectional", True),
        Remedy("use a max or attention read-out", "pooling", "max"),
        Remedy("shorten the path: a convolutional front end with pooling", "conv_pool", 2),
    ),
    "exploding": (
        Remedy("clip gradients (1.0, or lower)", "clip", 1.0),
        Remedy("lower the learning rate", "lr"),
        Remedy("use LSTM or GRU cells, or tanh instead of relu", "cell", _CELLS),
        Remedy("add batch normalisation between layers", "norm", "batch"),
    ),
    "not learning": (
        Remedy("check that each label belongs to its sequence: with shuffled labels there is nothing to learn"),
        Remedy("use a learning rate that moves the weights (the default 0.003; 0 learns nothing)", "lr", 0.003),
        Remedy("train for more epochs", "epochs", 40),
        Remedy("let a convolution find short motifs", "conv", True),
        Remedy("read every position, not only the last state", "pooling", "max"),
    ),
    "overfitting": (
        Remedy("train on more data: the model memorises a small training set"),
        Remedy("more dropout", "dropout", 0.3),
        Remedy("stronger weight decay", "weight_decay", 0.05),
        Remedy("a smaller model", "hidden", 16),
        Remedy("stop sooner once the validation loss stops improving", "patience", 2),
    ),
    "underfitting": (
        Remedy("train for more epochs: both losses were still falling", "epochs", 60),
        Remedy("a larger model", "hidden", 128),
        Remedy("a higher learning rate", "lr", 0.01),
        Remedy("less regularisation", "dropout", 0.0),
    ),
    "accuracy misleads": (
        Remedy("judge the model by balanced accuracy and MCC, not accuracy: predicting the common class "
               "scores well on unbalanced data"),
        Remedy("weight the classes by inverse frequency", "class_weights", True),
        Remedy("collect more examples of the rare class"),
    ),
    "leakage": (
        Remedy("split by homology, so that near copies stay on one side (0.4 suits protein, 0.8 DNA)",
               "split_identity"),
        Remedy("check held-out test files the same way: bioseq check-overlap TRAIN... --against TEST..."),
    ),
    "healthy": (),
})
