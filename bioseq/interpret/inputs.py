"""What the interpretation methods share: records as the model sees them, targets, batches, input gradients.

Shapes (K = alphabet size): one record encodes to ``(L, K)`` after cleaning and the model's own length
policy; a batch is ``x (B, T, K)``, zero past each length, with ``lengths (B,)`` on the CPU; targets are
class indices ``(N,)``. The model runs in eval mode (on CPU or GPU); cuDNN is switched off around every
backward pass, because cuDNN's RNN backward refuses eval mode (captum#564): :func:`no_cudnn` is that one guard,
and it switches the flag on every machine (a no-op for the CPU's kernels), so the CPU tests check that each
gradient view runs inside it.

Simplex correction (Majdandzic et al. 2023, "Correcting gradient-based interpretations of deep neural networks
for genomics"; CREsted's ``simplex_correction``): a one-hot row lives on the simplex (its letters sum to 1), so the
part of the gradient along ``(1, …, 1)`` moves the input off it and means nothing; :func:`simplex_centred` passes
``x`` through unchanged and removes the mean over the alphabet from its gradient ``(B, T, K)`` at each position.

Gradients are taken with ``torch.autograd.grad`` with respect to the input only, so the model's parameters
never get a ``.grad`` (the dashboard shares one cached model between users).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ..data.encoding import clean, fit_length, length_batches, pad_batch
from ..data.io import Record
from ..errors import InputError
from ..model.store import ModelBundle
from ..prediction.predict import encode_records, predict_logits
from ..task import task_of


def no_cudnn():
    """Context that disables cuDNN, whose RNN backward refuses eval mode (on every machine: see the module doc)."""
    return torch.backends.cudnn.flags(enabled=False)


class _SimplexCentre(torch.autograd.Function):
    """Identity forward; backward removes the mean over the last axis (the alphabet) from the gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return grad - grad.mean(dim=-1, keepdim=True)


def simplex_centred(x: torch.Tensor) -> torch.Tensor:
    """``x (B, T, K)`` unchanged, with the gradient that flows back to it centred over the alphabet."""
    return _SimplexCentre.apply(x)


def corrected_forward(model: torch.nn.Module, simplex: str = "on"):
    """The model's forward ``(x, lengths) -> logits`` with the simplex correction on its input gradients when
    ``simplex == "on"``, the model itself when ``"off"``."""
    if simplex == "off":
        return model
    return lambda x, lengths: model(simplex_centred(x), lengths)


def target_index(bundle: ModelBundle, target: str | None) -> int | None:
    """The index of class ``target`` (``None`` stays ``None``: explain the predicted class)."""
    if target is None:
        return None
    if target not in bundle.classes:
        raise InputError(f"unknown class {target!r}; the model's classes are {', '.join(bundle.classes)}")
    return bundle.classes.index(target)


def prepared(bundle: ModelBundle, records: Sequence[Record]) -> tuple[list[str], list[np.ndarray]]:
    """The sequences as the model sees them (cleaned and cut) and their encodings ``(L, K)``."""
    seqs = [fit_length(clean(r.seq, bundle.alphabet), bundle.max_length, bundle.length_policy) for r in records]
    return seqs, encode_records(bundle, records)


def prepared_lengths(bundle: ModelBundle, records: Sequence[Record]) -> list[int]:
    """How many letters of each record the model sees (after cleaning and its length policy)."""
    return [len(fit_length(clean(r.seq, bundle.alphabet), bundle.max_length, bundle.length_policy))
            for r in records]


def check_length(record: Record, length: int, limit: int | None, what: str) -> None:
    """Refuse a record longer than ``limit`` letters (as the model sees it), naming the record."""
    if limit is not None and length > limit:
        raise InputError(f"{what} is limited to {limit} letters; this one has {length}", record.file, record.where)


def per_position_only(bundle: ModelBundle, what: str) -> None:
    """Refuse, in words, a model whose task gives one output per sequence where a view reads one per position."""
    if not task_of(bundle).per_position:
        raise InputError(f"{what} needs a labeller (a model with a label per position); this model classifies "
                         "whole sequences")


def position_labels(bundle: ModelBundle, records: Sequence[Record], labels: Sequence | None
                    ) -> list[np.ndarray] | None:
    """True label indices ``(L,)`` int64 per record (:data:`~bioseq.data.position_labels.UNSCORED` where a
    position is not scored), from label strings or from index arrays as :meth:`PositionDataset.targets`
    gives them; ``None`` stays ``None``. A string is cut like its sequence (the model's length policy); the
    model's unscored label (``bundle.labelling["ignore_label"]``) is not scored, and any other character
    that is not one of the model's labels is an :class:`InputError`.
    """
    from ..data.position_labels import UNSCORED

    if labels is None:
        return None
    if len(labels) != len(records):
        raise InputError(f"{len(labels)} label tracks for {len(records)} records")
    lut = np.full(256, -1, dtype=np.int64)
    for i, c in enumerate(bundle.classes):
        lut[ord(c)] = i
    ignore_label = (getattr(bundle, "labelling", None) or {}).get("ignore_label")
    if ignore_label:
        lut[ord(ignore_label)] = UNSCORED
    out = []
    for rec, n, lab in zip(records, prepared_lengths(bundle, records), labels):
        if isinstance(lab, str):
            lab = fit_length(lab, bundle.max_length, bundle.length_policy)
            codes = lut[np.frombuffer(lab.encode("latin-1", "replace"), dtype=np.uint8)]
            if (codes == -1).any():
                p = int(np.flatnonzero(codes == -1)[0])
                raise InputError(f"label {lab[p]!r} is not one of the model's labels {''.join(bundle.classes)}",
                                 rec.file, rec.where, p + 1)
            lab = codes
        lab = np.asarray(lab, dtype=np.int64)
        if len(lab) != n:
            raise InputError(f"the label track has {len(lab)} positions but the sequence has {n} letters",
                             rec.file, rec.where)
        out.append(lab)
    return out


def model_device(bundle: ModelBundle) -> torch.device:
    return next(bundle.model.parameters()).device


def resolve_targets(bundle: ModelBundle, arrays: Sequence[np.ndarray], target: str | None) -> np.ndarray:
    """Class index explained per record ``(N,)``: the chosen class, or each record's predicted one."""
    t = target_index(bundle, target)
    if t is not None:
        return np.full(len(arrays), t, dtype=np.int64)
    if not len(arrays):
        return np.zeros(0, dtype=np.int64)
    return predict_logits(bundle, arrays).argmax(1).astype(np.int64)


def batches(bundle: ModelBundle, arrays: Sequence[np.ndarray], batch_size: int,
            same_length: bool = False) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """``(indices, x (B, T, K) on the model's device, lengths (B,))`` over length-grouped batches.

    ``same_length`` puts only records of one length in a batch (for methods, like occlusion, whose
    result would otherwise depend on the padding of the others).
    """
    lengths = [len(a) for a in arrays]
    if same_length:
        groups = [np.flatnonzero(np.asarray(lengths) == n) for n in sorted(set(lengths))]
        chunks = [g[i:i + batch_size] for g in groups for i in range(0, len(g), batch_size)]
    else:
        chunks = length_batches(lengths, batch_size)
    dev = model_device(bundle)
    for idx in chunks:
        x, lens = pad_batch([arrays[i] for i in idx])
        yield idx, x.to(dev), lens


def input_gradients(bundle: ModelBundle, arrays: Sequence[np.ndarray], target: int | Sequence[int] | None,
                    scale: float = 1.0, batch_size: int = 64, simplex: str = "off"
                    ) -> tuple[list[np.ndarray], np.ndarray]:
    """Gradient of the target logit w.r.t. ``scale * x`` per sequence ``(L, K)``, and the targets ``(N,)``.

    ``target``: one class index for all, one per sequence, or ``None`` for each one's prediction;
    ``simplex="on"`` centres each position's gradient over the alphabet (see the module docstring).
    """
    model = corrected_forward(bundle.model.eval(), simplex)
    grads: list[np.ndarray] = [None] * len(arrays)  # type: ignore[list-item]
    targets = np.zeros(len(arrays), dtype=np.int64)
    for idx, x, lengths in batches(bundle, arrays, batch_size):
        x = (x * scale).requires_grad_(True)
        with no_cudnn():
            logits = model(x, lengths)
            if target is None:
                tgt = logits.argmax(1)
            elif np.ndim(target) == 0:
                tgt = torch.full((len(idx),), int(target), device=x.device)
            else:
                tgt = torch.as_tensor(np.asarray(target)[idx], device=x.device)
            # autograd.grad, not backward(): the model's parameters get no .grad (it may be shared)
            (g,) = torch.autograd.grad(logits.gather(1, tgt[:, None]).sum(), x)
        g = g.detach().cpu().numpy()
        for j, i in enumerate(idx):
            grads[i] = g[j, : len(arrays[i])]
            targets[i] = int(tgt[j])
    return grads, targets
