"""Predictions for the dashboard: filtered views, a decision threshold, evaluation of uploads (either task), and
a labeller's uploads labelled position by position (:func:`predict_uploads`: per-record rows, the three-line FASTA
of predicted labels, per-position evaluation when the uploads carry true labels).

The table itself comes from :func:`bioseq.prediction.predict.predict_frame` (the rows of ``bioseq predict`` in
input order, with ``progress(done, total)`` after every chunk so a page can show a progress bar); a labeller's
is long (``id, position, letter, prediction, p_<label>...``, plus ``true`` when known).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.io import Record
from ..errors import InputError
from ..metrics.positions import PositionEvaluation
from ..model.store import ModelBundle
from ..prediction.predict import predict_chunks, predict_frame, prediction_table
from ..task import label_string

__all__ = ["PositionPredictions", "apply_threshold", "evaluate_upload", "filter_predictions", "follow_selection",
           "predict_frame", "predict_uploads", "unlike_training", "with_truth"]

NOT_SCORED = ""


def filter_predictions(df: pd.DataFrame, classes: Sequence[str] | None = None, min_probability: float = 0.0,
                       text: str = "", unusual: bool = False, wrong: bool = False) -> pd.DataFrame:
    """Rows predicted as one of ``classes``, whose winning probability is at least ``min_probability``,
    whose id contains ``text``, (with ``unusual``) that are unlike the training data and (with ``wrong``) whose
    prediction is not their known ``true`` label (:func:`with_truth`); the original row numbers are kept as the
    index."""
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
    if wrong and "true" in df:
        keep &= (df["true"].notna() & (df["true"] != df["prediction"])).to_numpy()
    return df[keep]


def with_truth(bundle: ModelBundle, frame: pd.DataFrame, records: Sequence[Record],
               labels: tuple[str, bytes] | None = None) -> pd.DataFrame:
    """A classifier's prediction table with a ``true`` column last: each record's label as training reads it (an
    uploaded ``labels`` table, ``label=`` tokens, or one file per class; renamed by the model's class map; empty
    where unknown). The table as it is when no record's label is one of the model's classes (two unlabelled
    files are not two classes). Errors name the user's labels file."""
    from .records import labels_for

    table, names = saved([labels]) if labels else ([[None]], {})
    try:
        found = labels_for(list(records), table[0][0], (bundle.meta.get("training") or {}).get("class_map"))
    except InputError as e:
        raise renamed(e, names) from None
    if not set(found) & set(bundle.classes):
        return frame
    return frame.assign(true=pd.Series(found, index=frame.index, dtype=object))


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
    probability (0.5), and a ``threshold`` column last that records it (a CSV of the table says how its calls
    were made)."""
    if len(classes) != 2:
        raise ValueError("a decision threshold needs a two-class model")
    positive = frame[f"p_{classes[1]}"].to_numpy() >= threshold
    return frame.assign(prediction=np.where(positive, classes[1], classes[0]), threshold=float(threshold))


def saved(*groups: Sequence[tuple[str, bytes]]) -> tuple[list[list[str]], dict[str, str]]:
    """Groups of uploaded ``(name, bytes)`` files saved into the workspace: their paths per group, and the
    names the user gave them by path (for :func:`renamed`)."""
    from .uploads import save_uploads

    every = [f for g in groups for f in g]
    paths = [str(p) for p in save_uploads(every)]
    out, start = [], 0
    for g in groups:
        out.append(paths[start:start + len(g)])
        start += len(g)
    return out, dict(zip(paths, [n for n, _ in every]))


def renamed(e: InputError, names: dict[str, str]) -> InputError:
    """The error with stored upload paths replaced by the names the user gave the files."""
    text = str(e)
    for stored, name in names.items():
        text = text.replace(stored, name)
    return InputError(text)


def evaluate_upload(bundle: ModelBundle, files: Sequence[tuple[str, bytes]], labels: tuple[str, bytes] | None = None,
                    labels_fasta: Sequence[tuple[str, bytes]] = (), mask: Sequence[tuple[str, bytes]] = ()):
    """:func:`bioseq.prediction.evaluate.evaluate_files` of uploaded labelled files (a classifier's: ``label=``
    tokens, one file per class, or a labels table; a labeller's: three-line FASTA, or label FASTA and mask
    files matched by id): saved into the workspace first, errors naming the user's files."""
    from ..prediction.evaluate import evaluate_files

    (paths, table, label_paths, masks), names = saved(files, [labels] if labels else [], labels_fasta, mask)
    try:
        return evaluate_files(bundle, paths, table[0] if table else None, labels_fasta=label_paths or None,
                              mask=masks or None)
    except InputError as e:
        raise renamed(e, names) from None


@dataclass
class PositionPredictions:
    """What the Predict page shows for a labeller's uploads."""

    records: list[Record]
    tracks: list[np.ndarray] | None  # true label indices per record (UNSCORED = -100), None when unknown
    probs: list[np.ndarray]  # (length, n_labels) per record
    table: pd.DataFrame  # long: id, position, letter, prediction, p_<label>..., true (when known)
    per_record: pd.DataFrame  # index, id, length, scored, accuracy, confidence, prediction, segments, share_<label>
    evaluation: PositionEvaluation | None = None

    def fasta(self, labels: Sequence[str]) -> str:
        """Three-line FASTA of the predicted labels: header, sequence, predicted label string."""
        return "".join(f">{r.description or r.id}\n{r.seq}\n{label_string(labels, p)}\n"
                       for r, p in zip(self.records, self.probs))

    def wrong_records(self) -> pd.DataFrame:
        """The rows of :attr:`per_record` with a scored position labelled wrong (their record numbers kept)."""
        return self.per_record[self.per_record["accuracy"] < 1]

    def record_tracks(self, index: int) -> pd.DataFrame:
        """One record's rows as :func:`bioseq.interpret.tracks.label_tracks` lays them out (for the chart)."""
        rows = self.table[self.table["id"] == self.records[index].id]
        rows = rows.iloc[: len(self.records[index].seq)]
        true = rows["true"] if "true" in rows else pd.Series(NOT_SCORED, index=rows.index)
        return rows.rename(columns={"prediction": "predicted"}).assign(true=true.fillna(NOT_SCORED))


def predict_uploads(bundle: ModelBundle, files: Sequence[tuple[str, bytes]],
                    labels_fasta: Sequence[tuple[str, bytes]] = (), mask: Sequence[tuple[str, bytes]] = (), *,
                    chunk_size: int = 1024, progress: Callable[[int, int], None] | None = None) -> PositionPredictions:
    """Label uploaded ``(name, bytes)`` files with a labeller, ``progress(done, total)`` after every chunk;
    evaluate them (:func:`evaluate_upload`) when they carry true labels. Errors name the user's files."""
    from .position_data import read_labelled
    from .records import record_table

    (seqs, labels, masks), names = saved(files, labels_fasta, mask)
    try:
        records, tracks = read_labelled(seqs, bundle.classes, labels_fasta=labels, mask=masks,
                                        ignore_label=bundle.labelling.get("ignore_label"))
    except InputError as e:
        raise renamed(e, names) from None
    probs: list[np.ndarray] = []
    for _chunk, _, p in predict_chunks(bundle, records, chunk_size=chunk_size):
        probs += p
        if progress:
            progress(len(probs), len(records))
    evaluation = evaluate_upload(bundle, files, None, labels_fasta, mask) if tracks is not None else None
    table = prediction_table(bundle, records, [], probs)
    if tracks is not None:
        names_ = np.asarray(bundle.classes, dtype=object)
        table["true"] = np.concatenate([np.where(t >= 0, names_[np.clip(t, 0, None)], NOT_SCORED) for t in tracks]) \
            if tracks else np.zeros(0, dtype=object)
    per_record = record_table(bundle, records, tracks, probs).drop(columns=["true", "correct"])
    return PositionPredictions(records, tracks, probs, table, per_record, evaluation)
