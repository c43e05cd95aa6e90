"""The Predict page's Variants panel, for a classifier and a labeller alike: upload a VCF and a genome (or give the
genome's path), score every SNP and short indel, sort by effect, download the CSV (and, for a model with an output
per position, the change at every position); a row's reference and alternative windows one above the other
(saliency), or opened side by side in Gates & saliency. The work is ``bioseq.app.variant_effects``'s
(``bioseq variants``'s scores).
"""

from __future__ import annotations

import streamlit as st

from bioseq import plots
from bioseq.app import downloads
from bioseq.app import variant_effects as effects
from bioseq.errors import BioseqError
from bioseq.prediction import variants
from dashboard import state, widgets

GATES_PAGE = "dashboard/views/gates_saliency.py"
OPEN_KEY = "gates_open"  # FASTA text the Gates & saliency page takes as its pasted sequences
VARIANT_KEY = "gates_variant"  # the variant's class and name: Gates & saliency sets its two windows side by side


def _inputs(bundle):
    """The VCF upload, the genome (an upload's pair or a path), the window and the mismatch choice."""
    vcf = st.file_uploader("Variants (VCF, plain, .gz or bgzipped)", key="variants_vcf")
    left, right = st.columns(2)
    genome_up = left.file_uploader("Reference genome (FASTA, plain or bgzipped)", key="variants_genome")
    genome_path = right.text_input("…or the genome's path on this machine", key="variants_genome_path",
                                   help="a large genome is read in place, by random access (an index, .fai, is "
                                   "written beside it)")
    try:
        default = variants.variant_window(bundle)
    except BioseqError:
        default = 100  # a model saved without its training lengths
    c1, c2 = st.columns(2)
    window = c1.number_input("Window (letters)", min_value=1, value=default, step=1, key="variants_window",
                             help="letters around each variant; the default is the length the model reads")
    skip = c2.checkbox("Leave out variants whose REF does not match the genome", key="variants_skip",
                       help="otherwise a mismatch stops the scoring and names the VCF lines")
    genome = widgets.uploaded(genome_up)[0] if genome_up else (genome_path.strip() or None)
    return vcf, genome, int(window), skip


def _score(bundle, vcf, genome, window: int, skip: bool) -> None:
    bar = st.progress(0.0, text="Scoring variants…")
    try:
        table, positions, checked, where = effects.score_uploads(
            bundle, widgets.uploaded(vcf)[0], genome, window=window, skip_mismatch=skip,
            progress=lambda done, total: bar.progress(done / max(total, 1),
                                                      text=f"Scored {done:,} of {total:,} variants"))
    except BioseqError as e:
        widgets.error(e)
        return
    finally:
        bar.empty()
    st.session_state.update(variants_frame=table, variants_positions=positions, variants_notes=checked.notes(),
                            variants_genome_file=where, variants_used_window=window)


def _positions(row) -> None:
    """A model with an output per position: the change at every position of the variant's windows, and the
    whole table as ``bioseq variants --positions-out`` writes it."""
    positions = st.session_state.get("variants_positions")
    if positions is None:
        return
    st.caption(f"The change in p({row['class']}) at every position of the window (offset 0: the variant's first "
               "letter).")
    widgets.table(effects.variant_positions(positions, row), "variants_positions", "variant_positions",
                  hide_index=True, download_help="this variant allele's rows")
    st.download_button("Download the change at every position (CSV)", downloads.table_csv(positions),
                       file_name="positions.csv", mime="text/csv", key="variants_positions_download",
                       on_click="ignore", icon=":material/download:", help="every variant allele, position and "
                       "label: chrom, pos, id, ref, alt, offset, class, ref_score, alt_score, diff (bioseq variants "
                       "--positions-out)")


def _variant(bundle, row) -> None:
    """One variant: the reference and alternative windows' saliency one above the other, a labeller's change at
    every position, and a link to Gates & saliency."""
    try:
        records = effects.allele_records(bundle, st.session_state["variants_genome_file"], row,
                                         st.session_state["variants_used_window"])
    except BioseqError as e:
        widgets.error(e)
        return
    name = records[0].id.split("|", 1)[1]
    st.subheader(f"{name}: reference and alternative")
    try:
        table, s = effects.compare_alleles(bundle, records, "saliency", row["class"])
    except BioseqError as e:
        widgets.error(e)
        return
    widgets.chart(plots.allele_logos(table, s["position"], f"gradient × input for '{row['class']}', "),
                  "variants_saliency", f"variant_{name}_saliency")
    _positions(row)
    if st.button("Open both in Gates & saliency", key="variants_open", icon=":material/grid_on:"):
        st.session_state[OPEN_KEY] = effects.fasta_text(records)
        st.session_state[VARIANT_KEY] = {"fasta": st.session_state[OPEN_KEY], "target": row["class"], "label": name}
        state.set_model(bundle.name)
        st.switch_page(GATES_PAGE)


def show(bundle) -> None:
    with st.expander("Variant effects (VCF)", icon=":material/genetics:"):
        vcf, genome, window, skip = _inputs(bundle)
        if vcf is None or genome is None:
            st.caption("Upload a VCF and a genome (or give its path) to score each SNP and short indel: the model's "
                       "output for the window around the reference allele and around the alternative allele.")
            return
        if st.button("Score variants", key="variants_run", type="primary", icon=":material/play_arrow:"):
            st.session_state.pop("variants_table_table", None)  # a row of another table means nothing here
            _score(bundle, vcf, genome, window, skip)
        table = st.session_state.get("variants_frame")
        if table is None:
            return
        for note in st.session_state.get("variants_notes", []):
            st.caption(f"Note: {note}.")
        target = st.selectbox("Effect on the probability of", bundle.classes, index=len(bundle.classes) - 1,
                              key="variants_class")
        shown = effects.ranked(table, target)
        st.download_button("Download variant effects (CSV)", downloads.table_csv(table), file_name="effects.csv",
                           mime="text/csv", key="variants_download", type="primary", on_click="ignore",
                           icon=":material/download:", help="every variant allele and class: chrom, pos, id, ref, "
                           "alt, class, ref_score, alt_score, diff, log_odds_ratio")
        event = widgets.table(shown, "variants_table", "variant_effects", on_select="rerun",
                              selection_mode="single-row", hide_index=True,
                              download_help="this class's rows, largest effect first")
        rows = event.selection.rows if event else []
        if not rows:
            st.caption(f"{len(shown):,} variant allele(s), largest |diff| first. Click a row to compare its "
                       "reference and alternative windows.")
            return
        _variant(bundle, shown.iloc[rows[0]])
