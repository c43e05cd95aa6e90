"""Prediction tables for the dashboard: chunked, with a progress callback, and filtered views.

:func:`predict_frame` runs :func:`bioseq.predict.predict_records` (alphabet check, length policy,
length-grouped batches) and returns ``id, prediction, p_<class>...`` in input order, calling
``progress(done, total)`` after every chunk so a page can show a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..data.io import Record
from ..model.store import ModelBundle
from ..prediction.predict import csv_header, predict_records


def predict_frame(bundle: ModelBundle, records: Sequence[Record], *, chunk_size: int = 2048,
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Predictions for ``records`` as a DataFrame (columns of :func:`bioseq.predict.csv_header`)."""
    cols = csv_header(bundle.classes)
    probs = np.zeros((len(records), len(bundle.classes)), dtype=np.float32)
    for i, (_, p) in enumerate(predict_records(bundle, records, chunk_size=chunk_size)):
        probs[i] = p
        if progress and ((i + 1) % chunk_size == 0 or i + 1 == len(records)):
            progress(i + 1, len(records))
    classes = np.asarray(bundle.classes, dtype=object)
    df = pd.DataFrame(probs.astype(float), columns=cols[2:])
    df.insert(0, "prediction", classes[probs.argmax(1)] if len(records) else [])
    df.insert(0, "id", [r.id for r in records])
    return df


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
