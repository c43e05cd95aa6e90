"""Charts of predictions: predicted classes and the probability of the winner."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import COUNT_AXIS, WIDTH, binned


def prediction_summary(df: pd.DataFrame, classes: list[str]) -> alt.HConcatChart:
    """Predicted class counts and a histogram of the winning probability (pre-aggregated)."""
    probs = df[[f"p_{c}" for c in classes]].to_numpy()
    top = probs.max(1) if len(df) else np.zeros(0)
    counts = df["prediction"].value_counts().rename_axis("prediction").reset_index(name="sequences")
    hist = binned(top, df["prediction"], np.linspace(0, 1, 21), "prediction")
    left = alt.Chart(counts, title="Predicted classes").mark_bar().encode(
        x=alt.X("sequences:Q", title="sequences", axis=COUNT_AXIS), y=alt.Y("prediction:N", title=None, sort=classes),
        color=alt.Color("prediction:N", legend=None, scale=alt.Scale(domain=classes)),
        tooltip=["prediction:N", "sequences:Q"],
    ).properties(width=WIDTH // 2 - 40, height=240)
    right = alt.Chart(hist, title="Probability of the predicted class")
    right = right.mark_bar(binSpacing=0, orient="vertical").encode(
        x=alt.X("start:Q", title="probability", scale=alt.Scale(domain=[0, 1])), x2="end:Q",
        y=alt.Y("records:Q", title="sequences", axis=COUNT_AXIS),
        color=alt.Color("prediction:N", title="prediction", scale=alt.Scale(domain=classes)),
        tooltip=["prediction:N", alt.Tooltip("start:Q", title="from", format=".2f"),
                 alt.Tooltip("end:Q", title="to", format=".2f"), alt.Tooltip("records:Q", title="sequences")],
    ).properties(width=WIDTH // 2, height=240)
    return alt.hconcat(left, right)
