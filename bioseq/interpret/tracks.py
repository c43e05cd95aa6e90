"""A labeller's label tracks along each record, true and predicted, one row per position, to align with gates.

The predicted track is the most probable label at each position (softmax of the logits ``(1, L, C)``);
the true track comes from label strings or index arrays (:func:`bioseq.interpret.inputs.position_labels`).
Positions are 1-based, as in :func:`bioseq.interpret.gates.gate_table` (a labeller's front end does not
pool, so step t is position t), so the two tables join on ``id, position``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..data.encoding import pad_batch
from ..data.io import Record
from ..model.store import ModelBundle
from .inputs import model_device, per_position_only, position_labels, prepared


def position_probabilities(bundle: ModelBundle, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Label probabilities ``(L, C)`` per encoded record, one record at a time (input order)."""
    model = bundle.model.eval()
    out = []
    with torch.inference_mode():
        for a in arrays:
            x, lengths = pad_batch([a])
            out.append(torch.softmax(model(x.to(model_device(bundle)), lengths)[0], 1).cpu().numpy())
    return out


def label_tracks(bundle: ModelBundle, records: Sequence[Record], labels: Sequence | None = None) -> pd.DataFrame:
    """Columns ``id, position, letter, true, predicted, probability, scored, correct, p_<label>...``.

    ``true`` is the true label ("" where unknown or not scored; ``scored`` says which), ``probability``
    that of the predicted label, ``correct`` whether it is the true one (False where not scored).
    """
    per_position_only(bundle, "label tracks")
    seqs, arrays = prepared(bundle, records)
    truth = position_labels(bundle, records, labels)
    names = np.array(bundle.classes, dtype=object)
    frames = []
    for k, (r, s, p) in enumerate(zip(records, seqs, position_probabilities(bundle, arrays))):
        pred = p.argmax(1)
        t = truth[k] if truth is not None else np.full(len(s), -1)
        scored = t >= 0
        frames.append(pd.DataFrame({
            "id": r.id, "position": np.arange(1, len(s) + 1), "letter": list(s),
            "true": np.where(scored, names[np.clip(t, 0, None)], ""), "predicted": names[pred],
            "probability": p[np.arange(len(s)), pred], "scored": scored, "correct": scored & (pred == t),
            **{f"p_{c}": p[:, i] for i, c in enumerate(bundle.classes)}}))
    cols = ["id", "position", "letter", "true", "predicted", "probability", "scored", "correct",
            *[f"p_{c}" for c in bundle.classes]]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
