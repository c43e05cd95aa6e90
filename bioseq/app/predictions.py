"""Prediction tables for the dashboard: chunked, with a progress callback, and filtered views.

:func:`predict_frame` runs :func:`bioseq.prediction.predict.predict_chunks` (alphabet check, length policy,
length-grouped batches) and returns the rows of ``bioseq predict`` in input order, calling
``progress(done, total)`` after every chunk so a page can show a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..model.store import ModelBundle
from ..prediction.predict import predict_chunks, prediction_table


def predict_frame(bundle: ModelBundle, records: Sequence[Record], *, chunk_size: int = 2048,
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Predictions for ``records`` as one DataFrame (see :func:`bioseq.prediction.predict.prediction_table`)."""
    frames, done = [], 0
    for chunk, arrays, probs in predict_chunks(bundle, records, chunk_size=chunk_size):
        frames.append(prediction_table(bundle, chunk, arrays, probs))
        done += len(chunk)
        if progress:
            progress(done, len(records))
    if not frames:
        return prediction_table(bundle, [], [], np.zeros((0, len(bundle.classes))))
    return pd.concat(frames, ignore_index=True)


def filter_predictions(df: pd.DataFrame, classes: Sequence[str] | None = None, min_probability: float = 0.0,
                       text: str = "") -> pd.DataFrame:
    """Rows predicted as one of ``classes``, whose winning probability is at least ``min_probability``,
    and whose id contains ``text``; the original row numbers are kept as the index."""
    keep = np.ones(len(df), dtype=bool)
    if classes:
        keep &= df["prediction"].isin(list(classes)).to_numpy()
    if min_probability > 0:
        keep &= df.filter(like="p_").max(axis=1).to_numpy() >= min_probability
    if text:
        keep &= df["id"].astype(str).str.contains(text, case=False, regex=False).to_numpy()
    return df[keep]
