"""Ensembles in one model file: several members (seeds of one configuration, or the top trials of a tuning
study) whose probabilities are averaged.

Shapes as for one model (:mod:`bioseq.model.classifier`): input ``x (B, T, K)``, ``lengths (B,)``; each member
gives logits ``(B, C)`` (a labeller ``(B, T, C)``); the ensemble returns ``log(mean_m softmax(logits_m))``,
so a softmax of its output is the members' mean probability exactly (a labeller's output stays zero past
each length). Members must agree on the alphabet size, the classes and the task.

Views that look inside one network (gates, gradients, memory) take a member (:func:`member`); as a
fallback an attribute the ensemble lacks is read from its first member, so such code shows member 1.
Attribution methods average over members (:mod:`bioseq.interpret.attribution`).

File layout (:mod:`bioseq.model.store`): weights ``members.<i>.<name>``; metadata ``ensemble: {members:
[config, ...], origin}`` beside the usual entries, with ``config`` the first member's.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..task import task_of
from .classifier import SequenceClassifier
from .config import ModelConfig


class Ensemble(nn.Module):
    """Members whose probabilities are averaged; see the module docstring."""

    def __init__(self, members: Sequence[SequenceClassifier]):
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        first = members[0].cfg
        for i, m in enumerate(members[1:], 2):
            for key in ("alphabet_size", "n_classes", "task"):
                if getattr(m.cfg, key) != getattr(first, key):
                    raise ValueError(f"member {i} disagrees with member 1 on {key} "
                                     f"({getattr(m.cfg, key)} against {getattr(first, key)})")
        self.members = nn.ModuleList(members)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "members":
                raise
            return getattr(self._modules["members"][0], name)

    @property
    def configs(self) -> list[ModelConfig]:
        return [m.cfg for m in self.members]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, keep: list | None = None,
                scored: torch.Tensor | None = None) -> torch.Tensor:
        p = torch.stack([torch.softmax(m(x, lengths, scored=scored), -1) for m in self.members]).mean(0)
        out = torch.log(p.clamp_min(1e-12))
        if task_of(self.cfg).per_position:
            mask = torch.arange(out.shape[1], device=out.device)[None, :] < lengths.to(out.device)[:, None]
            out = out.masked_fill(~mask[:, :, None], 0.0)
        return out


def build(configs: Sequence[ModelConfig]) -> nn.Module:
    """One :class:`SequenceClassifier` for one config, an :class:`Ensemble` for several."""
    models = [SequenceClassifier(c) for c in configs]
    return models[0] if len(models) == 1 else Ensemble(models)


def members(model: nn.Module) -> list[SequenceClassifier]:
    """The networks of a model: its members, or the model itself."""
    return list(model.members) if isinstance(model, Ensemble) else [model]


def members_configs(model: nn.Module) -> list[ModelConfig]:
    """The configs of a model's networks, in member order."""
    return [m.cfg for m in members(model)]
