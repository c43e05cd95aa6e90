"""Session state shared by the pages, and the page address: the dataset chosen on the Data page (kept in
``?data=<key>&classes=<map>`` so it survives a reload) and the model chosen last."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import streamlit as st

from bioseq.data import examples
from bioseq.data.source import DataSource
from bioseq.errors import BioseqError

SOURCE_KEY = "data_source"
MODEL_KEY = "current_model"


def _argv_example() -> str | None:
    """``streamlit run app.py -- --example dna_motif`` preloads a bundled example."""
    args = sys.argv[1:]
    if "--example" in args and args.index("--example") + 1 < len(args):
        return args[args.index("--example") + 1]
    return os.environ.get("BIOSEQ_EXAMPLE") or None


def current_source() -> DataSource | None:
    """The dataset chosen on the Data page, shared by all pages.

    It survives a browser reload through the page address (``?data=<key>``, see
    :func:`bioseq.app.uploads.source_by_key`); ``--example`` preloads a bundled one.
    """
    if SOURCE_KEY not in st.session_state:
        from bioseq.app.uploads import source_by_key

        source = source_by_key(st.query_params.get("data", ""))
        if source is not None and st.query_params.get("classes"):
            source = replace(source, class_map=st.query_params["classes"])
        key = _argv_example()
        if source is None and key:
            try:
                source = examples.example(key).source()
            except BioseqError:
                source = None
        st.session_state[SOURCE_KEY] = source
    source = st.session_state[SOURCE_KEY]
    if source is not None and source.key and st.query_params.get("data") != source.key:
        _to_address(source)  # every page's address carries the dataset
    return source


def _to_address(source: DataSource | None) -> None:
    if source is not None and source.key:
        st.query_params["data"] = source.key
    else:
        st.query_params.pop("data", None)
    if source is not None and source.class_map:
        st.query_params["classes"] = source.class_map
    else:
        st.query_params.pop("classes", None)


def set_source(source: DataSource | None) -> None:
    st.session_state[SOURCE_KEY] = source
    _to_address(source)
