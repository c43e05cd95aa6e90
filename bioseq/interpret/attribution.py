"""Attribution: which input letters decide the model's score (saliency, integrated gradients).

All functions take a :class:`~bioseq.store.ModelBundle` and records, run the model in eval mode
(on CPU or GPU; cuDNN is switched off around the backward pass, because cuDNN's RNN backward
refuses eval mode — captum#564) and return tidy DataFrames. Shapes inside: a batch is
``x (B, T, K)``; attributions are ``(B, T, K)`` and are summed over the alphabet to one score
per position. Padding is handled by packing, so a sequence's scores do not depend on its batch.

The score explained is the logit of the target class: a chosen class, or each sequence's
predicted class.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..data.encoding import clean, fit_length, length_batches, pad_batch
from ..data.io import Record
from ..errors import InputError
from ..model.store import ModelBundle
from ..prediction.predict import encode_records, predict_logits


def no_cudnn():
    """Context that disables cuDNN, whose RNN backward refuses eval mode."""
    return torch.backends.cudnn.flags(enabled=False) if torch.cuda.is_available() else contextlib.nullcontext()


def target_index(bundle: ModelBundle, target: str | None) -> int | None:
    if target is None:
        return None
    if target not in bundle.classes:
        raise InputError(f"unknown class {target!r}; the model's classes are {', '.join(bundle.classes)}")
    return bundle.classes.index(target)


def prepared(bundle: ModelBundle, records: Sequence[Record]) -> tuple[list[str], list[np.ndarray]]:
    """The sequences as the model sees them (cleaned and cut) and their encodings."""
    seqs = [fit_length(clean(r.seq, bundle.alphabet), bundle.max_length, bundle.length_policy) for r in records]
    return seqs, encode_records(bundle, records)


def prepared_lengths(bundle: ModelBundle, records: Sequence[Record]) -> list[int]:
    """How many letters of each record the model sees (after cleaning and its length policy)."""
    return [len(fit_length(clean(r.seq, bundle.alphabet), bundle.max_length, bundle.length_policy))
            for r in records]


def _device(bundle: ModelBundle) -> torch.device:
    return next(bundle.model.parameters()).device


def input_gradients(bundle: ModelBundle, arrays: Sequence[np.ndarray], target: int | None,
                    scale: float = 1.0, batch_size: int = 64) -> tuple[list[np.ndarray], np.ndarray]:
    """Gradient of the target logit w.r.t. ``scale * x`` per sequence ``(L, K)``, and the targets."""
    model = bundle.model.eval()
    dev = _device(bundle)
    grads: list[np.ndarray] = [None] * len(arrays)  # type: ignore[list-item]
    targets = np.zeros(len(arrays), dtype=np.int64)
    for idx in length_batches([len(a) for a in arrays], batch_size):
        x, lengths = pad_batch([arrays[i] for i in idx])
        x = (x * scale).to(dev).requires_grad_(True)
        with no_cudnn():
            logits = model(x, lengths)
            tgt = logits.argmax(1) if target is None else torch.full((len(idx),), target, device=dev)
            # autograd.grad, not backward(): the model's parameters get no .grad (it may be shared)
            (g,) = torch.autograd.grad(logits.gather(1, tgt[:, None]).sum(), x)
        g = g.detach().cpu().numpy()
        for j, i in enumerate(idx):
            grads[i] = g[j, : len(arrays[i])]
            targets[i] = int(tgt[j])
    return grads, targets


def _per_position(bundle: ModelBundle, records, seqs, scores, targets, column: str) -> pd.DataFrame:
    frames = [pd.DataFrame({"id": r.id, "position": np.arange(1, len(s) + 1), "letter": list(s),
                            column: sc, "target": bundle.classes[t]})
              for r, s, sc, t in zip(records, seqs, scores, targets)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["id", "position", "letter", column, "target"])


def saliency_arrays(bundle: ModelBundle, records: Sequence[Record], target: str | None = None):
    """Gradient × input ``(L, K)`` per record, with sequences and target indices."""
    seqs, arrays = prepared(bundle, records)
    grads, targets = input_gradients(bundle, arrays, target_index(bundle, target))
    return seqs, [g * a for g, a in zip(grads, arrays)], targets


def saliency(bundle: ModelBundle, records: Sequence[Record], target: str | None = None) -> pd.DataFrame:
    """Gradient × input, summed over the alphabet: columns id, position, letter, saliency, target."""
    seqs, attr, targets = saliency_arrays(bundle, records, target)
    return _per_position(bundle, records, seqs, [a.sum(1) for a in attr], targets, "saliency")


def integrated_gradients(bundle: ModelBundle, records: Sequence[Record], target: str | None = None,
                         steps: int = 32) -> pd.DataFrame:
    """Integrated gradients from the all-zero input (no letter), midpoint rule with ``steps`` steps.

    Columns id, position, letter, ig, target. The scores sum to about f(x) - f(0).
    """
    seqs, arrays = prepared(bundle, records)
    t_idx = target_index(bundle, target)
    _, targets = input_gradients(bundle, arrays, t_idx)  # fix the target at the input's prediction
    total = [np.zeros_like(a) for a in arrays]
    for alpha in (np.arange(steps) + 0.5) / steps:
        by_target: dict[int, list[int]] = defaultdict(list)
        for i, t in enumerate(targets):
            by_target[int(t)].append(i)
        for t, members in by_target.items():
            g, _ = input_gradients(bundle, [arrays[i] for i in members], t, scale=float(alpha))
            for i, gi in zip(members, g):
                total[i] += gi
    scores = [(tot / steps * a).sum(1) for tot, a in zip(total, arrays)]
    return _per_position(bundle, records, seqs, scores, targets, "ig")


def _scores(bundle: ModelBundle, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Logits and probabilities ``(N, C)`` in input order, without gradients."""
    logits = predict_logits(bundle, arrays)
    return logits, torch.softmax(torch.from_numpy(logits), 1).numpy()
