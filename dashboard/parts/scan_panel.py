"""The Predict page's scan panel: slide the model along an uploaded long sequence and draw the score as a track.

``show(bundle)`` puts an expander on the page: an upload, the window, stride and class, a Scan button, then the
track (``bioseq.plots.scan_track``) and bedGraph and bigWig downloads. The work is ``bioseq.prediction.scan``'s, as in
``bioseq scan``.
"""

from __future__ import annotations

import streamlit as st

from bioseq import plots
from bioseq.errors import BioseqError
from bioseq.prediction import bigwig, scan
from dashboard import loaders, widgets


def show(bundle) -> None:
    with st.expander("Scan a long sequence (genome scale)", icon=":material/timeline:"):
        try:
            default = scan.default_window(bundle)
        except BioseqError:
            default = 100  # a model saved without its training lengths
        up = st.file_uploader("A long sequence (FASTA, plain or .gz): the model reads it a window at a time",
                              key="scan_file")
        left, mid, right = st.columns(3)
        window = left.number_input("Window (letters)", min_value=1, value=default, step=1, key="scan_window",
                                   help="Letters per window; the default is the length the model was trained on.")
        stride = mid.number_input("Stride (letters)", min_value=1, value=max(1, default // 2), step=1,
                                  key="scan_stride", help="Letters from one window's start to the next.")
        target = right.selectbox("Score: the probability of", bundle.classes, index=len(bundle.classes) - 1,
                                 key="scan_class")
        if up is None:
            st.caption("Upload a sequence to scan it: one score per window, drawn along the sequence. A window "
                       "that would stop short of the end is moved back to end exactly at the end.")
            return
        pairs = widgets.uploaded(up)
        key = (bundle.path, widgets.digest(pairs), int(window), int(stride))
        if st.button("Scan", key="scan_run", type="primary", icon=":material/play_arrow:"):
            bar = st.progress(0.0, text="Scanning…")
            try:
                frame = scan.scan_records(bundle, loaders.upload_records(pairs), window=int(window), stride=int(stride),
                                          progress=lambda done, total: bar.progress(
                                              done / total, text=f"Scanned {done:,} of {total:,} windows"))
            except BioseqError as e:
                widgets.error(e)
                return
            finally:
                bar.empty()
            st.session_state.update(scan_key=key, scan_frame=frame)
        if st.session_state.get("scan_key") != key:
            return
        frame, column = st.session_state["scan_frame"], f"p_{target}"
        st.caption(f"{len(frame):,} windows of {frame['record'].nunique():,} record(s).")
        widgets.chart(plots.scan_track(frame, column), "scan_track", "scan_track")
        text = scan.bedgraph_text(frame, column)
        left, right = st.columns(2)
        left.download_button("Download the scan (bedGraph)", text, file_name="scan.bedgraph", mime="text/plain",
                             key="scan_download", on_click="ignore", icon=":material/download:",
                             help="one window per line, with a track line: opens in IGV or the UCSC browser")
        try:
            track = bigwig.bigwig_bytes(text)
        except BioseqError as e:  # a record name met twice: a bigWig names each chromosome once
            right.caption(f"No bigWig: {e}")
        else:
            right.download_button("Download the scan (bigWig)", track, file_name="scan.bw",
                                  mime="application/octet-stream", key="scan_download_bigwig", on_click="ignore",
                                  icon=":material/download:", help="the same scores as a binary, indexed track "
                                  "for genome browsers (overlapping windows cut at the midpoints between centres)")
