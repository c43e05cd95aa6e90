"""Charts of a tuning study: every trial's validation loss with the best so far, and parameter importances.

Input: the trials table of :func:`bioseq.training.tune.read_study` (one row per trial: ``trial``,
``state``, ``val_loss``, …) and the ``{parameter: importance}`` of :func:`bioseq.training.tune.importances`.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..options import label_of
from .common import WIDTH, empty, whole_ticks


def best_so_far(trials: pd.DataFrame) -> pd.DataFrame:
    """``trial, val_loss, best`` of the complete trials: the running minimum of the validation loss."""
    done = trials[trials["state"] == "complete"].sort_values("trial")[["trial", "val_loss"]].copy()
    done["best"] = done["val_loss"].cummin()
    return done


def tuning_history(trials: pd.DataFrame, width: int = WIDTH) -> alt.LayerChart | alt.Chart:
    """Each complete trial's best validation loss (points) and the best so far (a step line), by trial."""
    if trials is None or not len(trials) or not (trials["state"] == "complete").any():
        return empty("no trial finished yet")
    d = best_so_far(trials)
    x = alt.X("trial:Q", title="trial", axis=alt.Axis(values=whole_ticks(int(d["trial"].min()),
                                                                         int(d["trial"].max())), format="d"))
    points = alt.Chart(d).mark_circle(size=60, opacity=0.6).encode(
        x=x, y=alt.Y("val_loss:Q", title="validation loss", scale=alt.Scale(zero=False)),
        tooltip=["trial:Q", alt.Tooltip("val_loss:Q", format=".4f", title="validation loss")])
    line = alt.Chart(d).mark_line(interpolate="step-after", color="#d62728").encode(
        x=x, y="best:Q", tooltip=["trial:Q", alt.Tooltip("best:Q", format=".4f", title="best so far")])
    return (points + line).properties(width=width, height=220, title="Validation loss per trial; line: best so far")


def importances(values: dict[str, float], width: int = WIDTH, finished: int | None = None,
                needed: int = 5) -> alt.Chart:
    """Horizontal bars, one per searched option under its form label, longest first; a row of room per label so
    none overlaps. Empty (with the reason) until ``needed`` trials have finished (``finished`` so far)."""
    if not values:
        so_far = f" ({finished} so far)" if finished is not None else ""
        return empty(f"importances need at least {needed} finished trials{so_far}: on fewer they are noise")
    d = pd.DataFrame({"option": [label_of(k) for k in values], "importance": list(values.values())})
    return alt.Chart(d).mark_bar().encode(
        y=alt.Y("option:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=0)),
        x=alt.X("importance:Q", title="importance (share of the variance of the validation loss)",
                axis=alt.Axis(format="%")),
        tooltip=["option:N", alt.Tooltip("importance:Q", format=".3f")],
    ).properties(width=width, height=110 + 26 * len(d), title="Which options mattered (fANOVA)")
