"""The model options (:class:`ModelConfig`): everything needed to rebuild a model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from . import cells

CELLS = cells.names()
ACTIVATIONS = ("tanh", "relu", "sigmoid")
NORMS = ("none", "batch", "layer")
POOLINGS = ("last", "mean", "max", "attention")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a classifier. Choices are checked by :meth:`validate`."""

    alphabet_size: int
    n_classes: int
    cell: str = "lstm"
    activation: str = "tanh"  # rnn only
    layers: int = 1
    hidden: int = 64
    bidirectional: bool = True
    dropout: float = 0.1
    skip: bool = False
    norm: str = "none"
    conv: bool = True
    conv_filters: int = 64
    conv_width: int = 9
    conv_pool: int = 2
    pooling: str = "max"
    forget_bias: float = 1.0  # lstm only: initial forget-gate bias, as in Keras

    def validate(self) -> ModelConfig:
        for name, value, allowed in (("cell", self.cell, CELLS), ("activation", self.activation, ACTIVATIONS),
                                     ("norm", self.norm, NORMS), ("pooling", self.pooling, POOLINGS)):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
        for name in ("alphabet_size", "layers", "hidden", "conv_filters", "conv_width", "conv_pool"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.n_classes < 2:
            raise ValueError("a classifier needs at least two classes")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")
        return self

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def out_dim(self) -> int:
        return self.hidden * self.directions

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(sorted(unknown))}")
        return cls(**d).validate()
