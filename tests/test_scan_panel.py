"""The Predict page's scan panel (dashboard/parts/scan_panel.py) under AppTest: upload a long sequence, scan it, see the
track; bad letters are one message; a labeller gets a word instead of a scan.

The motif model (tests/_linear.py) gives 0.880797 to a window holding GATTA and 0.5 to any other."""

from __future__ import annotations

import numpy as np
from _linear import MOTIF, linear_labeller, motif_bundle
from test_pages import charts, errors, fresh_caches, ok, open_page, texts  # noqa: F401

from bioseq.model.store import model_path, save_model


def saved(bundle, name: str) -> str:
    bundle.meta["training"] = {"profile": {"length_min": 10, "length_max": 20, "composition": [0.25] * 4,
                                           "composition_cutoff": 1.0}}
    save_model(model_path(name), bundle)
    return name


def long_sequence(n: int = 3_000, at: tuple[int, ...] = (500, 2_200)) -> bytes:
    s = list("".join(np.random.default_rng(0).choice(list("CG"), n)))
    for p in at:
        s[p:p + len(MOTIF)] = MOTIF
    return (">chrT\n" + "".join(s) + "\n").encode()


def test_scan_panel_draws_the_track_of_an_uploaded_long_sequence():
    saved(motif_bundle(bias=-4.5), "motif")
    at = ok(open_page("predict"))
    assert at.number_input(key="scan_window").value == 20 and at.number_input(key="scan_stride").value == 10
    assert at.selectbox(key="scan_class").value == "motif"
    at.file_uploader(key="scan_file").set_value(("chr.fa", long_sequence(), "text/plain")).run()
    at.button(key="scan_run").click().run()
    ok(at)
    frame = at.session_state["scan_frame"]
    assert len(frame) == (3_000 - 20) // 10 + 1 and list(frame.columns) == ["record", "start", "end",
                                                                           "p_background", "p_motif"]
    hits = frame[frame["p_motif"] > 0.6]["start"].tolist()
    assert hits == [490, 500, 2_190, 2_200]  # exactly the windows that hold all of GATTA (at 500 and 2,200)
    assert charts(at) >= 1 and "299 windows of 1 record(s)" in texts(at.caption)
    assert at.get("download_button")  # the bedGraph
    bigwig_button = [b for b in at.get("download_button") if "bigWig" in b.proto.label]
    assert len(bigwig_button) == 1  # and the bigWig, for genome browsers
    at.selectbox(key="scan_class").set_value("background").run()  # another class: the same scan, redrawn
    ok(at)
    assert at.session_state["scan_frame"] is frame and charts(at) >= 1


def test_scan_panel_bad_letters_are_one_message():
    saved(motif_bundle(bias=-4.5), "motif")
    at = open_page("predict")
    at.file_uploader(key="scan_file").set_value(("bad.fa", b">x\nCCCCCCCCCCXCCCCC\n", "text/plain")).run()
    at.button(key="scan_run").click().run()
    ok(at)
    assert [e.value for e in errors(at)] == ["bad.fa: looks like PROTEIN, but the model expects DNA sequences (first "
                                             "invalid letter 'X' in record 1 (x), position 11)"]
    assert "scan_frame" not in at.session_state


def test_a_labeller_has_no_scan_panel():
    """A labeller labels whole records on its own Predict page; scanning slides a classifier."""
    saved(linear_labeller(), "labeller")
    at = ok(open_page("predict"))
    assert "Three-line FASTA" in texts(at.info)  # the labeller's page
    assert all(e.label != "Scan a long sequence (genome scale)" for e in at.expander)
    assert all(u.key != "scan_file" for u in at.get("file_uploader"))
