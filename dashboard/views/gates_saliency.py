"""Gates & saliency: gate activations under the letters, any attribution method as a logo, mutagenesis, motifs.

One page for every task: what differs comes from the model's Task (:func:`bioseq.task.task_of`) and the views
registry (:data:`bioseq.interpret.views.VIEWS`). A task with an output per position (``per_position``) explains
the output at a chosen position t, draws its true and predicted labels under the gates and the window the model
uses at t; motifs are drawn for the tasks their view explains.

Every choice that belongs to the model (the record, the class explained, the position, the window, the member,
layers and gates) follows it through :func:`dashboard.state.follow`: a model picked anew starts on its own
defaults, never on the last model's choices. A long record opens on its strongest region
(:func:`bioseq.interpret.regions.strongest_region`), and the page offers to jump back there. Another page opens
sequences here through ``st.session_state["gates_open"]`` (FASTA text, taken as pasted: the Variants panel's
reference and alternative windows); with ``st.session_state["gates_variant"]`` (the variant's class and name) a
first tab sets the two windows side by side (:func:`bioseq.app.variant_effects.compare_alleles`) while the pasted
text is still the variant's."""

import streamlit as st

from bioseq import plots
from bioseq.app import glossary, readable, variant_effects
from bioseq.app import records as records_lib
from bioseq.data import io
from bioseq.errors import BioseqError
from bioseq.interpret import attribution, ism, jaspar, named_motifs, regions, views
from bioseq.interpret import gate_saliency as gate_saliency_lib
from bioseq.interpret import window as window_lib
from bioseq.model import cells
from bioseq.prediction import predict
from bioseq.task import task_of
from dashboard import loaders, state, widgets
from dashboard.parts import guards

# the page's words for a task with one output per sequence (False) and for one with an output per position (True)
WORDS = {
    False: {"upload": "a FASTA file",
            "order": "misclassified first: wrong predictions first, the most confident mistakes leading; most "
                     "confident per class: each predicted class's surest records, the classes taking turns",
            "gates": "Gates run 0–1 (a forget gate near 1 over a stretch means 'remembering through here')",
            "gate saliency": "How much each gate, at each position, decides the explained score: activation × "
                             "gradient, summed over units (bars above the line push the class up); then the three "
                             "units that matter most. A forget gate that holds across a stretch between a signal "
                             "and the read-out is where the memory is."},
    True: {"upload": "a FASTA file (three-line FASTA adds the true labels)",
           "order": "misclassified first: the least accurate records first; most confident per class: by the label "
                    "each record gets most often, the surest first",
           "gates": "The letters, then the true labels (when known) and the predicted ones, the probability of each "
                    "label, and the gates below on the same positions: where a forget gate holds or drops against a "
                    "segment boundary",
           "gate saliency": "How much each gate, at each position, decides the label's score at position {t}: "
                            "activation × gradient, summed over units. In a forward direction no gate after t can "
                            "score."},
}

path = widgets.model_choice("gates_model")
if path is None:
    st.info("No saved models yet: train one on the Train page first.", icon=":material/info:")
    st.stop()
bundle = widgets.bundle_or_stop(path)
task = task_of(bundle)
words = WORDS[task.per_position]
opened = st.session_state.pop("gates_open", None)  # sequences another page sent here (a variant's REF and ALT)
if opened:
    st.session_state.update(gates_origin="paste", gates_paste=opened)
origins = {"data": "the model's training data", "dataset": "the dataset on the Data page", "paste": "pasted text",
           "upload": words["upload"]}
origin = st.radio("Sequence from", list(origins), key="gates_origin", horizontal=True, format_func=origins.get)
source = state.current_source()
variant = st.session_state.get("gates_variant")  # {"fasta", "target", "label"}: the variant opened here, if any
if not variant or origin != "paste" or st.session_state.get("gates_paste") != variant["fasta"]:
    variant = None


def _load() -> tuple[list, list | None, object]:
    """The records, their true labels as the model's task keeps them, and their table of predictions."""
    if origin == "paste":
        text = st.text_area("Sequence (FASTA or bare letters)", key="gates_paste", height=100)
        records, labels = (io.parse_text(text) if text.strip() else []), None
    else:
        files = st.file_uploader("FASTA file", key="gates_upload") if origin == "upload" else None
        wanting = (origin == "upload" and not files) or (origin == "dataset" and source is None)
        records, labels = ([], None) if wanting else loaders.labelled_records(
            origin, path, source if origin == "dataset" else None, widgets.uploaded(files))
    if not records:
        return records, labels, None
    predict.check_alphabet(bundle, records)
    return records, labels, loaders.record_table(path, records, labels)


def _record_choice(found) -> tuple[int, str | None]:
    """The record picker (an order, a record searchable by id) and the class explained: ``(index, target)``."""
    c1, c2, c3 = st.columns([2, 3, 2])
    order = c1.selectbox("Order", records_lib.ORDERS, key="gates_order", help=words["order"])
    ordered = list(records_lib.order_records(found, order)["index"])
    state.follow("gates_record", (path, origin), ordered[0])
    index = c2.selectbox("Record (type to search by id)", ordered, key="gates_record",
                         format_func=lambda i: records_lib.describe_row(found.iloc[i]))
    predicted = f"predicted {task.word}"
    state.follow("gates_target", path, predicted)
    choice = c3.selectbox("Explain the score of", [predicted, *bundle.classes], key="gates_target")
    return index, None if choice == predicted else choice


def _metrics(row, t: int | None, label_tracks) -> None:
    """The record's true and predicted label and its probabilities (at position t for an output per position)."""
    at = f" at {t}" if t else ""
    cols = st.columns((3 if t else 2) + len(bundle.classes))
    if t:
        cols.pop(0).metric("Accuracy on this record", "unknown" if row["correct"] is None
                           else f"{row['accuracy']:.3f}", help="share of its scored positions labelled right")
        row = label_tracks[label_tracks["position"] == t].iloc[0]
        true, shown, right = row["true"], row["predicted"], None if not row["scored"] else bool(row["correct"])
    else:
        true, shown, right = row["true"], row["prediction"], row["correct"]
    cols[0].metric(f"True label{at}", true or "unknown")
    cols[1].metric(f"Predicted{at}", shown, delta=None if right is None else ("right" if right else "wrong"),
                   delta_color="normal" if right else "inverse")
    for col, c in zip(cols[2:], bundle.classes):
        col.metric(f"p({c}){at}", f"{row[f'p_{c}']:.3f}")


def _layers(table, key: str, n: int = 2):
    """The layer and directions of a gate table to draw, and the ``n - 2`` columns left beside them."""
    c1, c2, *rest = st.columns(n)
    layers, all_directions = sorted(table["layer"].unique()), list(table["direction"].unique())
    state.follow(f"{key}_layer", path, layers[0])
    layer = c1.selectbox("Layer", layers, key=f"{key}_layer")
    directions = c2.multiselect("Direction", all_directions, key=f"{key}_directions",
                                default=state.follow(f"{key}_directions", path, all_directions[:1]))
    return layer, directions, rest


def _gates() -> None:
    table = loaders.explain("gates", path, [record], member=member)
    layer, directions, (g3, g4) = _layers(table, "gates", 4)
    names = list(table["gate"].unique())
    shown = g3.multiselect("Gates", names, default=state.follow("gates_names", path, names), key="gates_names")
    units = sorted(table["unit"].unique())
    n_units = g4.slider("Units", 1, len(units), state.follow("gates_units", path, min(16, len(units))),
                        key="gates_units") if len(units) > 1 else 1
    signed = ", ".join(g for g in names if g in cells.signed_gates())
    st.caption(words["gates"] + (f"; {signed} are signed." if signed else "."), help=glossary.explain("forget gate"))
    widgets.chart(plots.gate_heatmaps(table, seq, units=units[:n_units], layers=[layer], directions=directions,
                                      gate_names=shown, window=window, tracks=label_tracks), "gates_heatmap",
                  f"{record.id}_gates")


def _gate_saliency() -> None:
    scored = loaders.explain("gate-saliency", path, [record], target, member=member, position=t)
    layer, directions, _ = _layers(scored, "gates_sal")
    st.caption(words["gate saliency"].format(t=t))
    widgets.chart(plots.gate_saliency_tracks(gate_saliency_lib.gate_summary(scored), seq,
                                             top=gate_saliency_lib.top_units(scored, 3), layers=[layer],
                                             directions=directions, window=window), "gates_gate_saliency",
                  f"{record.id}_gate_saliency{suffix}")


def _saliency() -> None:
    """Any attribution method as a logo; where the window view applies, the window the model uses at t."""
    methods = attribution.METHODS
    method = st.radio("Method", list(methods), key="gates_method", horizontal=True,
                      format_func=lambda m: methods[m].label, help="  \n".join(
                          f"**{m.label}**: {m.help}" for m in methods.values()))
    chosen, used = methods[method], None
    if chosen.max_length is not None and attribution.prepared_lengths(bundle, [record])[0] > chosen.max_length:
        st.info(f"{chosen.heading} is limited to {chosen.max_length} letters.", icon=":material/info:")
        return
    try:
        scores = loaders.explain(method, path, [record], target, position=t)
        if views.get_view("window").fits(bundle):
            used = loaders.explain("window", path, [record], target, method=method, positions=(t,))
    except BioseqError as e:  # one message; the other tabs still draw
        widgets.error(e)
        return
    st.caption(f"{chosen.heading}: {chosen.help}. Explaining {task.word} **{scores['target'].iloc[0]}**"
               + (f" at position **{t}**" if t else "") + ": tall letters push its score up, letters below the line "
               "push it down.")
    widgets.chart(plots.saliency_logo(scores, title=f"{record.id}: {chosen.label}"
                                      + (f" for the label at {t}" if t else ""), window=window),
                  "gates_saliency", f"{record.id}_{method}{suffix}")
    if used is None:
        return
    rf = window_lib.receptive_field(bundle, t, len(record.seq))
    widgets.chart(plots.used_window(scores, used, t, rf, window), "gates_window_chart", f"{record.id}_window{suffix}")
    st.caption(f"The window the model uses at {t}, against its receptive field ("
               f"{window_lib.receptive_field_words(bundle)}): " + "; ".join(
                   f"{w['mass']:.0%} of the attribution lies within {int(w['back'])} letters before and "
                   f"{int(w['ahead'])} after" for _, w in used.dropna(subset=["back"]).iterrows()) + ".")
    widgets.table(readable.window_table(used), "gates_window", f"{record.id}_window{suffix}", hide_index=True)


def _alleles() -> None:
    """The variant opened from the Variants panel: its reference and alternative windows, one above the other on
    the same positions, the variant marked, with the score of each and the difference, for one method."""
    methods = attribution.METHODS
    method = st.radio("Method", list(methods), key="gates_variant_method", horizontal=True,
                      format_func=lambda m: methods[m].label, help="  \n".join(
                          f"**{m.label}**: {m.help}" for m in methods.values()))
    try:
        table, s = variant_effects.compare_alleles(bundle, records, method, target or variant["target"])
    except BioseqError as e:
        widgets.error(e)
        return
    c1, c2, c3 = st.columns(3)
    at = f" at {s['position']}" if task.per_position else ""
    c1.metric(f"p({s['target']}){at}, reference", f"{s['ref_score']:.4f}")
    c2.metric(f"p({s['target']}){at}, alternative", f"{s['alt_score']:.4f}")
    c3.metric("Difference (alternative − reference)", f"{s['diff']:+.4f}",
              help=f"log odds ratio {s['log_odds_ratio']:+.3f}, as `bioseq variants` writes it")
    st.caption(f"{methods[method].heading} of both windows for {task.word} **{s['target']}**{at}, on the same "
               f"positions: the variant's first letter is at {s['position']} (dashed line). Tall letters push the "
               "score up, letters below the line push it down.")
    widgets.chart(plots.allele_logos(table, s["position"], f"{variant['label']}: {methods[method].label}, ", window),
                  "gates_variant_chart", f"{variant['label']}_{method}")


def _mutagenesis() -> None:
    if len(seq) > ism.ISM_MAX_LENGTH:
        st.info(f"In-silico mutagenesis is limited to {ism.ISM_MAX_LENGTH} letters.", icon=":material/info:")
    elif len(seq) <= 300 or st.button(f"Run mutagenesis ({len(seq) * (bundle.alphabet.size - 1):,} mutants)",
                                      key="gates_ism"):
        widgets.chart(plots.ism_heatmap(loaders.explain("mutations", path, [record], target, position=t),
                                        window=window), "gates_ism_chart", f"{record.id}_ism{suffix}")


def _motifs() -> None:
    named = named_motifs.nucleic(bundle)
    m1, m2, m3 = st.columns(3)
    n = m1.slider("Sequences", 10, min(500, len(records)), state.follow("gates_motif_n", (path, origin),
                  min(100, len(records))), key="gates_motif_n") if len(records) > 10 else len(records)
    if named:
        release = m2.selectbox("JASPAR release", jaspar.releases(), key="gates_motif_jaspar",
                               help="the JASPAR CORE vertebrate matrices the motifs are named against (inside "
                               "pyjaspar, offline)")
        options = {"jaspar_release": release}
    else:
        options = {"k": m2.slider("Motif length k", 3, 12, state.follow("gates_motif_k", path, 6 if
                                  bundle.alphabet.size <= 4 else 4), key="gates_motif_k"), "top": 15}
    by = m3.selectbox("Scores from", list(attribution.METHODS), key="gates_motif_method",
                      format_func=lambda m: attribution.METHODS[m].label,
                      help="the attribution method whose maps TF-MoDISco reads" if named else
                      "the attribution method whose per-letter scores the k-mer windows add up")
    request = (path, n, target, by, *options.values())
    if st.button(f"Find motifs in {n} sequences", key="gates_find_motifs", icon=":material/search:"):
        st.session_state["gates_motif_request"] = request
    if st.session_state.get("gates_motif_request") != request:
        return
    try:
        with st.spinner(_motif_wait(named)):
            found = loaders.explain("motifs", path, records[:n], target, method=by, **options)
    except BioseqError as e:  # e.g. a record longer than the method's limit, or no motif found
        widgets.error(e)
        return
    if named:
        _named(found)
        return
    widgets.chart(plots.motif_bars(found), "gates_motifs", "motifs")
    if len(found):
        widgets.table(found, "gates_motif_table", "motifs", hide_index=True)
        motif = st.selectbox("Logo of", list(dict.fromkeys(found["motif"])), key="gates_logo_motif",
                             help="in the table's order: the candidate most enriched in its class first")
        logo = loaders.explain("logo", path, records[:n], target, motif=motif, method=by)
        widgets.chart(plots.motif_logo(logo, title=f"Windows within one letter of {motif}"), "gates_logo",
                      f"logo_{motif}")


def _motif_wait(named: bool) -> str:
    """What the spinner says while the motifs are found (TomTom's first run compiles it: about a minute)."""
    if not named:
        return "Finding the k-mers at the attribution peaks…"
    return "Running TF-MoDISco and naming its motifs with TomTom…" + (
        "" if jaspar.compiled() else " The first run on a fresh install compiles TomTom, about a minute.")


def _named(found) -> None:
    """The named motif table (TF-MoDISco, TomTom against JASPAR), its downloads (the full table as CSV and the
    motifs as a MEME file, the bytes the CLI writes), a motif's logo, where the motifs sit."""
    st.caption(f"TF-MoDISco found {len(found)} motif(s) in the attribution maps; each is matched against "
               f"{found.attrs.get('reference', 'JASPAR')} by TomTom (q-value: the false discovery rate of the match).")
    for note in found.attrs.get("notes", ()):  # a class without motifs while another has some
        st.info(f"No motif for {note}", icon=":material/info:")
    widgets.table(found.drop(columns=["ppm", "positions"]), "gates_motif_table", "named_motifs", hide_index=True,
                  download=found, download_help="every column, as `bioseq inspect motifs` writes it (with each "
                  "motif's matrix `ppm` and its seqlets' `positions` as JSON)")
    st.download_button("Download motifs (MEME)", data=named_motifs.meme_bytes(found), file_name="named_motifs.meme",
                       mime="text/plain", key="gates_motif_meme", on_click="ignore", icon=":material/download:",
                       help="the motifs as a MEME file, as `bioseq inspect motifs --meme-out` writes it (for TomTom, "
                       "FIMO or another motif tool)")
    labels = [f"{r.target} {r.motif}" for r in found.itertuples()]
    shown = st.selectbox("Logo of", range(len(found)), key="gates_logo_motif", format_func=labels.__getitem__)
    widgets.chart(plots.named_logo(found.iloc[shown], bundle.alphabet.letters), "gates_logo", f"logo_{labels[shown]}")
    widgets.chart(plots.motif_positions(found), "gates_motif_positions", "motif_positions")


def _strongest() -> tuple[int, int]:
    """The strongest :data:`widgets.WINDOW` letters of the record by saliency of the output explained (the first
    ones where it cannot be computed)."""
    if len(seq) <= widgets.WINDOW:
        return 1, len(seq)
    try:
        return regions.strongest_region(loaders.explain("saliency", path, [record], target, position=t),
                                        widgets.WINDOW)
    except BioseqError:
        return 1, widgets.WINDOW


def _window(box) -> tuple[int, int]:
    """The zoom: a record opens on its strongest region; a button jumps back there."""
    strongest = _strongest()
    z1, z2 = box.columns([4, 1], vertical_alignment="bottom")
    window = z1.slider("Positions shown", 1, len(seq), state.follow("gates_window", owner, strongest),
                       key="gates_window", help=f"zoom into part of the sequence (gates, saliency and mutagenesis): "
                       f"a long sequence opens on the {widgets.WINDOW} letters that carry the most saliency, "
                       "which stay readable")
    z2.button(f"Jump to the strongest region ({strongest[0]}–{strongest[1]})", key="gates_jump",
              icon=":material/my_location:", disabled=tuple(window) == strongest,
              on_click=lambda: st.session_state.update(gates_window=strongest),
              help=f"the {min(len(seq), widgets.WINDOW)} letters with the most saliency (|gradient × input| "
              "summed) for the output explained")
    return window


records, labels, found = guards.records_or_stop(_load)
if len(records) == loaders.MAX_RECORDS:
    st.caption(f"The first {loaders.MAX_RECORDS:,} records are searched.")
index, target = _record_choice(found)
record = records[index]
seq = record.seq.upper()
owner = (path, origin, index, record.id)  # a window belongs to one record of one model
if task.per_position:  # the output explained: the label of the letter at position t
    p1, box = st.columns([1, 3])
    if st.session_state.get("gates_position", 0) > len(seq):  # kept from a longer record: its last letter
        st.session_state["gates_position"] = len(seq)
    t = int(p1.number_input("Position t", 1, len(seq), state.follow("gates_position", path, max(1, len(seq) // 2)),
                            key="gates_position",
                            help="the output explained: the label the model gives the letter at position t"))
    label_tracks = loaders.explain("tracks", path, [record], labels=[labels[index]] if labels is not None else None)
else:
    box, t, label_tracks = st, None, None
suffix = f"_at_{t}" if t else ""
window = _window(box) if len(seq) > 1 else None
_metrics(found.iloc[index], t, label_tracks)
member = widgets.member_choice(path, "gates_member")

at = f" at {t}" if t else ""
opened_variant = {"Reference vs alternative": _alleles} if variant else {}
sections = {**opened_variant, "Gates": _gates, f"Gate saliency{at}": _gate_saliency, f"Saliency{at}": _saliency,
            f"Mutagenesis{at}": _mutagenesis, **({"Motifs": _motifs} if views.get_view("motifs").fits(bundle) else {})}
for tab, draw in zip(st.tabs(list(sections)), sections.values()):
    with tab:
        draw()
