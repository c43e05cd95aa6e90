"""Charts and tables as files: Altair charts to PNG or SVG with vl-convert (offline), tables to CSV."""

from __future__ import annotations

import altair as alt
import pandas as pd


def _spec(chart: alt.TopLevelMixin) -> dict:
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict()


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    """The chart as SVG text (UTF-8 bytes)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_spec(chart)).encode("utf-8")


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart as a PNG image, ``scale`` times its nominal size."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(_spec(chart), scale=scale)


def table_csv(df: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV without the index."""
    return df.to_csv(index=False).encode("utf-8")
