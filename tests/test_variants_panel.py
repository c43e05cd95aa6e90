"""The Predict page's Variants panel (dashboard/parts/variants_panel.py) under AppTest: upload a VCF and a genome,
score, sort by effect, compare a variant's reference and alternative windows, open them in Gates & saliency, which
sets them side by side with their scores; a labeller's panel with the change at every position; a REF mismatch is
one message naming the uploaded VCF and its line.

The motif model (tests/_linear.py) gives p(motif) = 0.880797 to a window holding GATTA and 0.5 to any other."""

from __future__ import annotations

from _linear import linear_labeller, motif_bundle
from test_pages import PAGES, charts, errors, ok, open_page, texts  # noqa: F401
from test_scan_panel import saved
from test_variants import CHR1, vcf_text

GENOME = f">chr1\n{CHR1}\n".encode()
VCF = vcf_text("chr1 50 far G A", "chr1 23 brk T C", "1 21 del GA G").encode()


def upload(at, vcf: bytes = VCF):
    at.file_uploader(key="variants_vcf").set_value(("v.vcf", vcf, "text/plain")).run()
    at.file_uploader(key="variants_genome").set_value(("g.fa", GENOME, "text/plain")).run()
    at.button(key="variants_run").click().run()
    return ok(at)


def test_variants_are_scored_sorted_by_effect_and_opened_side_by_side():
    saved(motif_bundle(bias=-4.5), "motif")
    at = ok(open_page("predict"))
    assert at.number_input(key="variants_window").value == 20
    upload(at)
    frame = at.session_state["variants_frame"]
    assert list(frame.columns) == ["chrom", "pos", "id", "ref", "alt", "class", "ref_score", "alt_score", "diff",
                                   "log_odds_ratio"] and len(frame) == 6
    assert at.selectbox(key="variants_class").value == "motif"
    assert at.get("download_button")
    at.session_state["variants_table_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    ok(at)
    assert "brk:T>C: reference and alternative" in [s.value for s in at.subheader]  # the largest effect first
    assert at.get("vega_lite_chart")  # the two saliency logos, one above the other
    at.button(key="variants_open").click().run()
    ok(at)
    assert at.session_state["gates_origin"] == "paste"
    assert at.session_state["gates_paste"].startswith(">ref|brk:T>C reference window of brk:T>C\n")
    assert "gates_open" not in at.session_state  # taken by the Gates & saliency page


def test_a_ref_mismatch_is_one_message_naming_the_vcf_line():
    saved(motif_bundle(bias=-4.5), "motif")
    at = upload(open_page("predict"), vcf_text("chr1 23 ok T C", "chr1 25 bad T C").encode())
    assert [e.value for e in errors(at)] == [
        "v.vcf: the REF allele does not match the genome g.fa at 1 allele: line 4 (chr1:25 REF T, genome A); is "
        "it the same assembly? (tick “Leave out variants whose REF does not match the genome” to score the "
        "others)"]
    assert "variants_frame" not in at.session_state
    at.checkbox(key="variants_skip").check().run()
    at.button(key="variants_run").click().run()
    ok(at)
    assert len(at.session_state["variants_frame"]) == 2
    assert "Note: left out 1 allele whose REF does not match the genome (line 4 (chr1:25" in texts(at.caption)


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_gates_and_saliency_sets_an_opened_variant_side_by_side_with_its_scores():
    saved(motif_bundle(bias=-4.5), "motif")
    at = upload(ok(open_page("predict")))
    at.session_state["variants_table_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.button(key="variants_open").click().run()
    ok(at)
    assert at.tabs[0].label == "Reference vs alternative"
    shown = metrics(at)
    assert (shown["p(motif), reference"], shown["p(motif), alternative"],
            shown["Difference (alternative − reference)"]) == ("0.8808", "0.5000", "-0.3808")
    assert "the variant's first letter is at 11 (dashed line)" in texts(at.caption)
    chart = at.get("vega_lite_chart")[0].proto.spec  # one chart: the two logos stacked, the variant marked
    assert all(f'"brk:T>C: gradient \\u00d7 input, {word}"' in chart for word in ("reference", "alternative"))
    assert chart.count('"title": "variant at"') == 2
    at.switch_page(PAGES["gates_saliency"])  # AppTest's next run stays where st.switch_page went, as a browser does
    at.radio(key="gates_variant_method").set_value("ism").run()
    ok(at)
    assert not errors(at), [e.value for e in errors(at)]
    assert metrics(at)["Difference (alternative − reference)"] == "-0.3808"
    at.text_area(key="gates_paste").set_value(">other\nGATTACA\n").run()  # no longer the variant
    ok(at)
    assert "Reference vs alternative" not in [t.label for t in at.tabs]


def test_a_labeller_gets_the_panel_with_the_change_at_every_position():
    saved(linear_labeller(), "lab")
    at = ok(open_page("predict"))  # no FASTA uploaded: the panel is there all the same
    assert at.number_input(key="variants_window").value == 20
    upload(at)
    frame, positions = at.session_state["variants_frame"], at.session_state["variants_positions"]
    assert len(frame) == 6 and len(positions) == 3 * 20 * 2
    at.session_state["variants_table_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    ok(at)
    row = frame[frame["class"] == "b"].assign(key=lambda f: f["diff"].abs()).sort_values(
        "key", ascending=False, kind="stable").iloc[0]
    shown = at.dataframe[-1].value
    assert list(shown.columns) == ["chrom", "pos", "id", "ref", "alt", "offset", "class", "ref_score", "alt_score",
                                   "diff"] and len(shown) == 20 and set(shown["id"]) == {row["id"]}
    assert shown.loc[shown["offset"] == 0, "diff"].iloc[0] == round(row["diff"], 4)  # the table shows 4 places
    assert at.get("download_button")
    at.button(key="variants_open").click().run()
    ok(at)
    assert at.tabs[0].label == "Reference vs alternative"
    assert float(metrics(at)["Difference (alternative − reference)"]) == round(row["diff"], 4)
    assert "p(b) at 11, reference" in metrics(at)
