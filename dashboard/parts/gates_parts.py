"""Controls shared by the Gates & saliency page of classifiers (``dashboard/views/gates_saliency.py``) and of labellers
(``dashboard/parts/gates_positions.py``). Not a page."""

import streamlit as st

from bioseq import plots
from bioseq.app import records as records_lib
from bioseq.interpret import attribution
from bioseq.interpret import gate_saliency as gate_saliency_lib
from bioseq.model import cells
from dashboard import widgets


def gate_controls(table):
    """Layer, directions, gates and units of a gate table to draw: ``(layer, directions, gates, units, signed)``."""
    g1, g2, g3, g4 = st.columns(4)
    layer = g1.selectbox("Layer", sorted(table["layer"].unique()), key="gates_layer")
    directions = g2.multiselect("Direction", list(table["direction"].unique()), key="gates_directions",
                                default=list(table["direction"].unique())[:1])
    names = list(table["gate"].unique())
    shown = g3.multiselect("Gates", names, default=names, key="gates_names")
    units = sorted(table["unit"].unique())
    n_units = g4.slider("Units", 1, len(units), min(16, len(units)), key="gates_units") if len(units) > 1 else 1
    signed = ", ".join(g for g in names if g in cells.signed_gates())
    return layer, directions, shown, units[:n_units], signed


def gate_saliency_view(scored, seq: str, caption: str, window, name: str) -> None:
    """A gate saliency table drawn: its layer and directions chosen, a caption, the tracks per gate and the three
    units that matter most."""
    s1, s2 = st.columns(2)
    layer = s1.selectbox("Layer", sorted(scored["layer"].unique()), key="gates_sal_layer")
    directions = s2.multiselect("Direction", list(scored["direction"].unique()), key="gates_sal_directions",
                                default=list(scored["direction"].unique())[:1])
    st.caption(caption)
    widgets.chart(plots.gate_saliency_tracks(gate_saliency_lib.gate_summary(scored), seq,
                                             top=gate_saliency_lib.top_units(scored, 3), layers=[layer],
                                             directions=directions, window=window), "gates_gate_saliency", name)


def method_choice() -> str:
    """The attribution method, from the registry."""
    methods = attribution.METHODS
    return st.radio("Method", list(methods), key="gates_method", horizontal=True,
                    format_func=lambda m: methods[m].label, help="  \n".join(
                        f"**{m.label}**: {m.help}" for m in methods.values()))


def record_choice(found, classes, describe, order_help: str, predicted: str = "predicted class"):
    """The record picker (an order, a record searchable by id) and the class explained: ``(index, target)``."""
    c1, c2, c3 = st.columns([2, 3, 2])
    order = c1.selectbox("Order", records_lib.ORDERS, key="gates_order", help=order_help)
    ordered = records_lib.order_records(found, order)
    index = c2.selectbox("Record (type to search by id)", list(ordered["index"]), key="gates_record",
                         format_func=lambda i: describe(found.iloc[i]))
    choice = c3.selectbox("Explain the score of", [predicted, *classes], key="gates_target")
    return index, None if choice == predicted else choice
