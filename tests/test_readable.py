"""Tables in words for people: option labels, readable column names, three significant digits on screen."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bioseq.app import readable
from bioseq.options import label_of


def test_option_labels_come_from_the_options_table():
    assert label_of("forget_bias") == "Forget-gate bias" and label_of("conv_pool") == "Conv pool"
    assert label_of("no_such_option") == "no_such_option"


def test_values_to_three_significant_digits():
    assert readable.rounded(0.0012345678901234) == 0.00123 and readable.rounded(1234.5678) == 1230.0
    assert readable.rounded(7) == 7 and readable.rounded(True) is True and readable.rounded("lstm") == "lstm"
    assert np.isnan(readable.rounded(float("nan"))) and readable.rounded(0.0) == 0.0
    df = pd.DataFrame({"lr": [0.0012345678901234, 0.5], "layers": [1, 2], "cell": ["lstm", "gru"]})
    shown = readable.for_people(df)
    assert shown["lr"].tolist() == [0.00123, 0.5] and shown["layers"].tolist() == [1, 2]
    assert df["lr"].iloc[0] == 0.0012345678901234  # the frame behind the CSV download keeps every digit


def test_trials_and_window_tables_in_words():
    rows = [{"trial": 0, "state": "complete", "val_loss": 0.69, "val_accuracy": 0.5, "epochs": 3,
             "stopped_by_budget": False, "seconds": 1.0, "forget_bias": 1.0, "conv_pool": 2}]
    assert list(readable.trials_table(rows).columns) == [
        "trial", "state", "validation loss", "validation accuracy", "epochs", "stopped by budget", "seconds",
        "Forget-gate bias", "Conv pool"]
    assert readable.options_in_words({"forget_bias": 1.23456789, "cell": "lstm"}) == \
        "Forget-gate bias `1.23`, Recurrent cell `lstm`"
    from bioseq.interpret.window import COLUMNS

    shown = readable.window_table(pd.DataFrame(columns=COLUMNS))
    assert all(" " in c or c in ("record", "length") for c in shown.columns), list(shown.columns)
