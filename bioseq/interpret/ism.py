"""In-silico mutagenesis: the model's score for every single-letter substitution of a sequence.

Each mutant is the reference one-hot ``(L, K)`` with one row replaced; all mutants of a record are
scored in length-grouped batches, without gradients.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.io import Record
from ..errors import InputError
from ..model.store import ModelBundle
from .attribution import _scores, prepared, target_index

ISM_MAX_LENGTH = 1000  # in-silico mutagenesis runs length x (alphabet - 1) mutants


def ism(bundle: ModelBundle, record: Record, target: str | None = None) -> pd.DataFrame:
    """Every single-letter substitution: columns id, position, ref, alt, delta, delta_prob, target.

    ``delta`` is the change of the target logit, ``delta_prob`` of its probability. Sequences are
    limited to :data:`ISM_MAX_LENGTH` letters.
    """
    seqs, arrays = prepared(bundle, [record])
    seq, ref = seqs[0], arrays[0]
    if len(seq) > ISM_MAX_LENGTH:
        raise InputError(f"in-silico mutagenesis is limited to {ISM_MAX_LENGTH} letters; this one has {len(seq)}",
                         record.file, record.where)
    letters = bundle.alphabet.letters
    ref_logits, ref_probs = _scores(bundle, [ref])
    t = target_index(bundle, target)
    t = int(ref_logits[0].argmax()) if t is None else t
    eye = np.eye(len(letters), dtype=np.float32)
    mutants, where = [], []
    for p in range(len(seq)):
        for k, alt in enumerate(letters):
            if seq[p].upper() == alt:
                continue
            m = ref.copy()
            m[p] = eye[k]
            mutants.append(m)
            where.append((p + 1, seq[p], alt))
    logits, probs = _scores(bundle, mutants)
    return pd.DataFrame({
        "id": record.id, "position": [w[0] for w in where], "ref": [w[1] for w in where],
        "alt": [w[2] for w in where], "delta": logits[:, t] - ref_logits[0, t],
        "delta_prob": probs[:, t] - ref_probs[0, t], "target": bundle.classes[t],
    })
