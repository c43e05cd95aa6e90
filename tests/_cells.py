"""The layer kinds the registry can build: every registered cell, with each activation for the cells
that read ``activation`` (the plain RNN: tanh and relu fused, sigmoid unrolled)."""

from __future__ import annotations

from bioseq.model import cells
from bioseq.model.config import ACTIVATIONS

CELL_KINDS = [(name, activation) for name in cells.names()
              for activation in (ACTIVATIONS if "activation" in cells.get(name).reads else ("tanh",))]
