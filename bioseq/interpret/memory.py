"""Memory span: how strongly an input position influences the output, by distance from the read-out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..model.store import ModelBundle
from .inputs import input_gradients, prepared, target_index


def memory_curve(bundle: ModelBundle, records: Sequence[Record], target: str | None = None) -> pd.DataFrame:
    """Mean influence ‖∂score/∂x(p)‖ of each input position by distance from the end of the sequence.

    Distance 0 is the last letter (where a forward read-out sits). Columns distance, influence,
    relative (influence / its peak), sequences (how many sequences reach that distance).
    """
    _, arrays = prepared(bundle, records)
    grads, _ = input_gradients(bundle, arrays, target_index(bundle, target))
    sums: dict[int, list[float]] = defaultdict(list)
    for g in grads:
        norms = np.linalg.norm(g, axis=1)[::-1]
        for d, v in enumerate(norms):
            sums[d].append(float(v))
    dist = np.array(sorted(sums))
    infl = np.array([np.mean(sums[d]) for d in dist]) if len(dist) else np.array([])
    peak = infl.max() if infl.size and infl.max() > 0 else 1.0
    return pd.DataFrame({"distance": dist, "influence": infl, "relative": infl / peak,
                         "sequences": [len(sums[d]) for d in dist]})


def effective_memory(curve: pd.DataFrame, fraction: float = 0.01) -> int | None:
    """The first distance beyond the peak where influence falls below ``fraction`` of the peak.

    ``None`` when it never does within the sequences given (the model reaches all the way back).
    """
    if curve.empty:
        return None
    rel = curve["relative"].to_numpy()
    peak = int(np.argmax(rel))
    below = np.flatnonzero(rel[peak:] < fraction)
    return int(curve["distance"].iloc[peak + below[0]]) if below.size else None
