"""Session state shared by the pages, and the page address: the dataset chosen on the Data page (kept in
``?data=<key>&classes=<map>`` so it survives a reload), the model chosen last (``?model=<name>``: a link from a
model card or a run opens its page on that model), and the choices that belong to one model (:func:`follow`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

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


_MODEL_ADDRESS = "_model_address"  # the ?model= value last taken from the address (or put there)


def current_model() -> str | None:
    """The model chosen last, shared by the pages; it survives a browser reload through ``?model=<name>``, and a
    link that names a model (a model card's, a run's) opens its page on that one: an address naming another model
    than the one last taken from or put in it wins."""
    name = st.query_params.get("model")
    if name and st.session_state.get(_MODEL_ADDRESS) != name:
        st.session_state[_MODEL_ADDRESS] = name
        st.session_state[MODEL_KEY] = name
    return st.session_state.get(MODEL_KEY)


def set_model(name: str | None) -> None:
    """Choose the model for every page, and keep it in the page address."""
    st.session_state[MODEL_KEY] = name
    st.session_state[_MODEL_ADDRESS] = name
    if name:
        st.query_params["model"] = name
    else:
        st.query_params.pop("model", None)


OWNERS_KEY = "_choice_owners"  # widget key -> what its choice was made for


def follow(key: str, owner: Hashable, default: Any) -> Any:
    """``default`` for the widget ``key`` whose choice belongs to ``owner`` (the model; or the model and the
    record, for a position or a window on it): the first time the widget is drawn for another owner than before,
    the old choice is dropped and the widget set back to ``default``, through the session state so that the
    browser shows it too (a widget's key is its identity: without this it keeps the choice made for the last
    model, e.g. a record index that now names another record). Call it just before the widget, passing the
    widget's own default: ``st.selectbox(..., index=state.follow("x_record", path, 0), key="x_record")`` for an
    index, or the value itself for a value."""
    owners = st.session_state.setdefault(OWNERS_KEY, {})
    if key in owners and owners[key] != owner:
        st.session_state[key] = default
    owners[key] = owner
    return default
