"""Prediction tables for the dashboard: filtered views, a decision threshold, evaluation of uploads.

The table itself comes from :func:`bioseq.prediction.predict.predict_frame` (the rows of ``bioseq predict`` in
input order, with ``progress(done, total)`` after every chunk so a page can show a progress bar).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..model.store import ModelBundle
from ..prediction.predict import predict_frame

__all__ = ["apply_threshold", "evaluate_upload", "filter_predictions", "follow_selection", "predict_frame",
           "unlike_training"]


def filter_predictions(df: pd.DataFrame, classes: Sequence[str] | None = None, min_probability: float = 0.0,
                       text: str = "", unusual: bool = False) -> pd.DataFrame:
    """Rows predicted as one of ``classes``, whose winning probability is at least ``min_probability``,
    whose id contains ``text`` and (with ``unusual``) that are unlike the training data; the original row
    numbers are kept as the index."""
    keep = np.ones(len(df), dtype=bool)
    if classes:
        keep &= df["prediction"].isin(list(classes)).to_numpy()
    if min_probability > 0:
        keep &= df.filter(like="p_").max(axis=1).to_numpy() >= min_probability
    if text:
        keep &= df["id"].astype(str).str.contains(text, case=False, regex=False).to_numpy()
    if unusual and "unlike_training" in df:
        flags = df["unlike_training"].astype(str)
        keep &= (flags.str.len() > 0).to_numpy() & ~flags.str.startswith("not checked").to_numpy()
    return df[keep]


def follow_selection(shown: pd.DataFrame, rows: Sequence[int], previous: int | None) -> int | None:
    """The record (its row number in the full table) that the reader selected: the clicked row of the shown
    table, else the one selected before if it is still shown. Filtering never moves the selection to a
    record that was not clicked."""
    if rows:
        return int(shown.index[rows[0]])
    return previous if previous is not None and previous in shown.index else None


def unlike_training(frame: pd.DataFrame) -> str | None:
    """The Predict page's banner when some records are unlike the training data (else ``None``)."""
    from ..prediction.novelty import summary

    return summary(frame.rename(columns={"unlike_training": "flag"})) if "unlike_training" in frame else None


def apply_threshold(frame: pd.DataFrame, classes: Sequence[str], threshold: float) -> pd.DataFrame:
    """A two-class table with ``prediction`` called by ``p(classes[1]) >= threshold`` instead of the larger
    probability (0.5)."""
    if len(classes) != 2:
        raise ValueError("a decision threshold needs a two-class model")
    positive = frame[f"p_{classes[1]}"].to_numpy() >= threshold
    return frame.assign(prediction=np.where(positive, classes[1], classes[0]))


def evaluate_upload(bundle: ModelBundle, files: Sequence[tuple[str, bytes]], labels: tuple[str, bytes] | None = None):
    """:func:`bioseq.prediction.evaluate.evaluate_files` of uploaded labelled files (``label=`` tokens, one
    file per class, or a labels table): saved into the workspace first, errors naming the user's files."""
    from ..errors import InputError
    from ..prediction.evaluate import evaluate_files
    from .position_predictions import renamed
    from .uploads import save_uploads

    paths = save_uploads(list(files) + ([labels] if labels else []))
    table = str(paths.pop()) if labels else None
    names = {str(p): n for p, (n, _) in zip(paths, files)} | ({table: labels[0]} if labels else {})
    try:
        return evaluate_files(bundle, [str(p) for p in paths], table)
    except InputError as e:
        raise renamed(e, names) from None
