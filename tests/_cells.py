"""The layer kinds the registry can build: every registered cell, with each activation for the cells
that read ``activation`` (the plain RNN: tanh and relu fused, sigmoid unrolled); and those of them that
build PyTorch's fused layers."""

from __future__ import annotations

from torch import nn

from bioseq.model import cells
from bioseq.model.config import ACTIVATIONS, ModelConfig

CELL_KINDS = [(name, activation) for name in cells.names()
              for activation in (ACTIVATIONS if "activation" in cells.get(name).reads else ("tanh",))]
FUSED_KINDS = [(c, a) for c, a in CELL_KINDS
               if isinstance(cells.get(c).build(ModelConfig(4, 2, cell=c, activation=a, hidden=2), 3), nn.RNNBase)]
FUSED_CELLS = list(dict.fromkeys(c for c, _ in FUSED_KINDS))  # cells with a fused layer for some activation
