"""In-silico mutagenesis: the model's score for every single-letter substitution of a sequence.

Each mutant is the reference one-hot ``(L, K)`` with one row replaced by another letter's one-hot
row (a row that already is that letter is skipped; an ambiguous row such as N's is replaced by each
of the K letters). All mutants of a record are scored in length-grouped batches, without gradients.

Two views: :func:`ism` is the per-substitution table (the mutagenesis heatmap); :func:`ism_scores`
is the attribution method (one score per position: the drop of the target logit when the reference
letter is replaced, averaged over the alternatives; positive = the letter supports the class).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from ..data.io import Record
from ..model.store import ModelBundle
from ..prediction.predict import predict_logits
from .at_position import explained
from .inputs import check_length, prepared, target_index

ISM_MAX_LENGTH = 1000  # in-silico mutagenesis runs length x (alphabet - 1) mutants


def _mutants(ref: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Every single-row substitution of ``ref (L, K)``: the mutants, their 0-based positions and letters."""
    eye = np.eye(ref.shape[1], dtype=np.float32)
    mutants, positions, alts = [], [], []
    for p in range(len(ref)):
        for k in range(ref.shape[1]):
            if np.array_equal(ref[p], eye[k]):
                continue
            m = ref.copy()
            m[p] = eye[k]
            mutants.append(m)
            positions.append(p)
            alts.append(k)
    return mutants, np.array(positions, dtype=np.int64), np.array(alts, dtype=np.int64)


def _logits(bundle: ModelBundle, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The reference's logits ``(C,)``, every mutant's ``(M, C)``, and the mutants' positions and letters."""
    mutants, positions, alts = _mutants(ref)
    logits = predict_logits(bundle, [ref, *mutants])
    return logits[0], logits[1:], positions, alts


def ism(bundle: ModelBundle, record: Record, target: str | None = None, position: int | None = None) -> pd.DataFrame:
    """Every single-letter substitution: columns id, position, ref, alt, delta, delta_prob, target.

    ``delta`` is the change of the target logit, ``delta_prob`` of its probability. Sequences are
    limited to :data:`ISM_MAX_LENGTH` letters. A labeller needs ``position`` (1-based): the label there is
    the one explained (:mod:`bioseq.interpret.at_position`).
    """
    bundle = explained(bundle, [record], position)
    seqs, arrays = prepared(bundle, [record])
    seq = seqs[0]
    check_length(record, len(seq), ISM_MAX_LENGTH, "in-silico mutagenesis")
    ref_logits, logits, positions, alts = _logits(bundle, arrays[0])
    t = target_index(bundle, target)
    t = int(ref_logits.argmax()) if t is None else t
    softmax = torch.softmax(torch.from_numpy(np.vstack([ref_logits, logits])), 1).numpy()
    letters = np.array(list(bundle.alphabet.letters))
    return pd.DataFrame({
        "id": record.id, "position": positions + 1, "ref": [seq[p] for p in positions], "alt": letters[alts],
        "delta": logits[:, t] - ref_logits[t], "delta_prob": softmax[1:, t] - softmax[0, t],
        "target": bundle.classes[t],
    })


def ism_scores(bundle: ModelBundle, arrays: Sequence[np.ndarray], targets: np.ndarray) -> list[np.ndarray]:
    """Per position ``(L,)``: mean over the substitutions there of ``logit_t(reference) - logit_t(mutant)``."""
    out = []
    for ref, t in zip(arrays, targets):
        ref_logits, logits, positions, _ = _logits(bundle, ref)
        drop = ref_logits[t] - logits[:, t]
        out.append(np.bincount(positions, drop, len(ref)) / np.maximum(np.bincount(positions, None, len(ref)), 1))
    return out
