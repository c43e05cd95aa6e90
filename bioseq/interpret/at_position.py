"""A labeller's output at one position, seen as a classifier's, so every attribution method explains it.

A labeller gives logits ``(B, T, C)``; the attribution methods of :mod:`bioseq.interpret.attribution`
explain a score per record, logits ``(B, C)``. :class:`AtPosition` wraps the labeller so that its
``forward(x (B, T, K), lengths (B,))`` returns the logits at one position ``(B, C)``; a bundle holding
it (:func:`position_bundle`) goes through every registered method unchanged (gradients, Captum,
mutagenesis). The wrapped model is shared, never copied or changed. :func:`explained` is the bundle every
method explains: the labeller read at the chosen position, a classifier as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch
from torch import nn

from ..data.io import Record
from ..errors import InputError
from ..model.store import ModelBundle
from ..task import task_of
from .inputs import per_position_only, prepared_lengths


class AtPosition(nn.Module):
    """``forward(x, lengths)``: the labeller's logits at the 0-based ``index`` ``(B, C)``."""

    def __init__(self, model: nn.Module, index: int):
        super().__init__()
        self.model, self.index, self.cfg = model, index, replace(model.cfg, task="classify")  # one output each

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.model(x, lengths)[:, self.index]  # (B, T, C) -> (B, C)


def position_bundle(bundle: ModelBundle, records: Sequence[Record], position: int) -> ModelBundle:
    """A bundle whose model is the labeller read at 1-based ``position``; every record must reach it."""
    per_position_only(bundle, "explaining the output at a position")
    if position < 1:
        raise InputError(f"the position to explain is 1-based, not {position}")
    for r, n in zip(records, prepared_lengths(bundle, records)):
        if position > n:
            raise InputError(f"position {position} is past the end of the sequence ({n} letters)", r.file, r.where)
    return replace(bundle, model=AtPosition(bundle.model, position - 1))


def explained(bundle: ModelBundle, records: Sequence[Record], position: int | None) -> ModelBundle:
    """The bundle whose model gives the one score per record that is explained: a model with an output per
    position is read at the 1-based ``position`` (required; :func:`position_bundle`), a classifier's one output is
    its read-out (a position is refused)."""
    if not task_of(bundle).per_position:
        if position is not None:
            raise InputError("this model classifies whole sequences; a position to explain is for labellers")
        return bundle
    if position is None:
        raise InputError("a labeller gives a label at every position: choose the position to explain")
    return position_bundle(bundle, records, int(position))
