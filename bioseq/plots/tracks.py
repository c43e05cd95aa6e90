"""Tracks along a sequence, shared by the sequence charts (:mod:`.sequence`) and the labelling charts
(:mod:`.positions`): the position axis, the letters, and a record's label rows with per-label probability lines."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .common import WIDTH, empty, letter_scale, whole_ticks

NOT_SCORED = "(not scored)"
LETTER_PX = 9  # width of one position, so that its letter can be read


def _letters(seq: str) -> pd.DataFrame:
    return pd.DataFrame({"position": np.arange(1, len(seq) + 1), "letter": list(seq.upper())})


def track_width(positions: int, width: int = WIDTH) -> int:
    """Width of a chart along the sequence: at least ``width``, and :data:`LETTER_PX` per position shown (so a
    long window is drawn wide, to be scrolled, rather than squeezed into overlapping letters)."""
    return max(width, LETTER_PX * int(positions))


def position_axis(domain, orient: str = "bottom", title: str | None = "position") -> alt.X:
    """The shared x encoding of sequence charts: 1-based positions, whole-number ticks only."""
    lo, hi = int(np.ceil(domain[0])), int(np.floor(domain[1]))
    return alt.X("position:Q", scale=alt.Scale(domain=list(domain), nice=False), title=title,
                 axis=alt.Axis(orient=orient, values=whole_ticks(lo, hi, most=20), format="d"))


def letter_track(seq: str | pd.DataFrame, width: int = WIDTH, domain=None) -> alt.Chart:
    """The sequence (or a ``position, letter`` table) as coloured letters on the shared position axis, only
    those inside ``domain``; one position is at least :data:`LETTER_PX` wide."""
    df = _letters(seq) if isinstance(seq, str) else seq
    domain = domain or [0.5, len(df) + 0.5]
    df = df[(df["position"] >= domain[0]) & (df["position"] <= domain[1])]
    width = track_width(len(df), width)
    size = int(min(14, max(7, 0.9 * width / max(len(df), 1))))
    return alt.Chart(df).mark_text(fontWeight="bold", font="monospace", fontSize=size).encode(
        x=position_axis(domain, "top", None),
        text="letter:N", color=alt.Color("letter:N", scale=letter_scale(df["letter"]), legend=None),
        tooltip=["position:Q", "letter:N"]).properties(width=width, height=24)


def domain_of(tracks: pd.DataFrame, window) -> list[float]:
    lo, hi = window or (1, int(tracks["position"].max()) if len(tracks) else 1)
    return [lo - 0.5, hi + 0.5]


def track_panels(tracks: pd.DataFrame, domain, width: int) -> list[alt.Chart]:
    """The label rows (true when known, predicted) and the per-label probability lines of one record, inside
    ``domain`` (x from 0.5 to length + 0.5), to stack under its letters and over its gates."""
    df = tracks[(tracks["position"] >= domain[0]) & (tracks["position"] <= domain[1])]
    labels = [c[2:] for c in tracks.columns if c.startswith("p_")]
    rows = [("predicted", df["predicted"])]
    if "true" in df.columns and (df["true"].astype(str) != "").any():
        rows.insert(0, ("true", df["true"].astype(str).replace("", NOT_SCORED)))
    cells = pd.concat([pd.DataFrame({"track": name, "position": df["position"], "label": values})
                       for name, values in rows], ignore_index=True)
    cells = cells.assign(x0=cells["position"] - 0.5, x1=cells["position"] + 0.5)
    x = alt.X("x0:Q", scale=alt.Scale(domain=domain, nice=False), title=None,
              axis=alt.Axis(values=whole_ticks(int(np.ceil(domain[0])), int(np.floor(domain[1])), most=20),
                            format="d"))
    color = alt.Scale(domain=[*labels, NOT_SCORED], scheme="category10")
    band = alt.Chart(cells, title="labels").mark_rect().encode(
        x=x, x2="x1:Q", y=alt.Y("track:N", title=None, sort=[r[0] for r in rows]),
        color=alt.Color("label:N", scale=color, title="label"),
        tooltip=["track:N", "position:Q", "label:N"]).properties(width=width, height=22 * len(rows))
    probs = df[["position", *[f"p_{c}" for c in labels]]].melt(id_vars=["position"], var_name="label",
                                                               value_name="p")
    probs = probs.assign(label=probs["label"].str[2:]).rename(columns={"p": "probability"})
    lines = alt.Chart(probs, title="probability of each label").mark_line(interpolate="step-after").encode(
        x=position_axis(domain, title=None), y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("label:N", scale=color, title="label"),
        tooltip=["position:Q", "label:N", alt.Tooltip("probability:Q", format=".3f")]).properties(
        width=width, height=110)
    return [band, lines]


def label_tracks(tracks: pd.DataFrame, window: tuple[int, int] | None = None, width: int = WIDTH
                 ) -> alt.VConcatChart:
    """One record as aligned tracks: its letters, its true labels (when known), its predicted labels and one
    probability line per label (:func:`bioseq.interpret.tracks.label_tracks` rows of one record)."""
    if not len(tracks):
        return alt.vconcat(empty("no positions"))
    domain = domain_of(tracks, window)
    lo, hi = int(np.ceil(domain[0])), int(np.floor(domain[1]))
    width = track_width(hi - lo + 1, width)
    letters = tracks[["position", "letter"]]
    return alt.vconcat(letter_track(letters, width, domain), *track_panels(tracks, domain, width),
                       spacing=4).resolve_scale(color="independent")  # letters have colours of their own
