"""Tables and values in words for people: options by their form labels, column names in words, numbers to three
significant digits. Only what the dashboard shows goes through here; CSV downloads keep the full values."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..options import label_of

DIGITS = 3  # significant digits of a number shown to people

TRIAL_COLUMNS = {"trial": "trial", "state": "state", "val_loss": "validation loss",
                 "val_accuracy": "validation accuracy", "epochs": "epochs", "stopped_by_budget": "stopped by budget",
                 "seconds": "seconds"}
WINDOW_COLUMNS = {"id": "record", "t": "position t", "length": "length", "mass": "attribution share",
                  "back": "letters before t", "ahead": "letters after t", "width": "window width",
                  "rf_back": "model sees before t", "rf_ahead": "model sees after t",
                  "past_share": "share before t", "future_share": "share after t"}


def rounded(value, digits: int = DIGITS):
    """A float to ``digits`` significant digits (0.0012345678 -> 0.00123); anything else as it is."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, float | np.floating):
        return value
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")


def for_people(df: pd.DataFrame, digits: int = DIGITS) -> pd.DataFrame:
    """A copy of ``df`` with every float column to ``digits`` significant digits (for the screen, not the CSV)."""
    out = df.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(lambda v: rounded(v, digits))
    return out


def trials_table(rows: list[dict]) -> pd.DataFrame:
    """A study's trials table (:func:`bioseq.training.tune.trials_table`) with its columns in words and every
    searched option under its form label."""
    df = pd.DataFrame(rows)
    return df.rename(columns={c: TRIAL_COLUMNS.get(c) or label_of(c) for c in df.columns})


def options_in_words(values: Mapping) -> str:
    """``Recurrent cell `lstm`, Learning rate `0.00123` ...``: options by label, numbers rounded."""
    return ", ".join(f"{label_of(k)} `{rounded(v)}`" for k, v in values.items())


def window_table(used: pd.DataFrame) -> pd.DataFrame:
    """The window rows of :func:`bioseq.interpret.window.used_window` with readable column names."""
    return used.rename(columns=WINDOW_COLUMNS)
