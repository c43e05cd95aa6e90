"""Rename and delete, the same on every page that lists something kept in the workspace (a model, a run, an
upload): a new-name field with a Rename button, and a Delete button that only works after its confirmation box is
ticked. The library does the work (and refuses a taken name, or a name being trained); the outcome is said once,
on the next run of the page (:func:`message`)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from bioseq.errors import BioseqError
from dashboard import widgets


def message(key: str) -> None:
    """The outcome of the last rename or delete under ``key``, shown once."""
    said = st.session_state.pop(f"{key}_message", None)
    if said is None:
        return
    kind, text = said
    if kind == "error":
        widgets.error(text)
    else:
        st.success(text, icon=":material/check_circle:")


def _do(key: str, action: Callable[[], object], done: str, after: Callable[[], None]) -> None:
    try:
        action()
    except BioseqError as e:
        st.session_state[f"{key}_message"] = ("error", e.dashboard())
        return
    st.session_state.update({f"{key}_message": ("success", done), f"{key}_confirm": False, f"{key}_new_name": ""})
    after()


def _rename(what: str, name: str, key: str, rename, renamed) -> None:
    new = (st.session_state.get(f"{key}_new_name") or "").strip()  # what the field holds when the button is clicked
    if not new or new == name:
        st.session_state[f"{key}_message"] = ("error", f"type a new name for {what} {name} first")
        return
    _do(key, lambda: rename(name, new), f"Renamed {what} {name} to {new}.", lambda: renamed(new))


def controls(what: str, name: str, key: str, *, rename: Callable[[str, str], object] | None = None,
             delete: Callable[[str], object] | None = None, renamed: Callable[[str], None] = lambda new: None,
             deleted: Callable[[], None] = lambda: None) -> None:
    """Rename (``rename(old, new)``) and delete (``delete(name)``) controls for the ``what`` called ``name``;
    ``renamed(new)`` and ``deleted()`` then update the page's choice. Widget keys start with ``key``."""
    left, right = st.columns(2)
    if rename is not None:
        with left:
            st.text_input(f"New name for this {what}", key=f"{key}_new_name", placeholder=name,
                          help="letters, digits, '.', '_' or '-'; a name in use is refused")
            st.button(f"Rename {what}", key=f"{key}_rename", icon=":material/edit:", on_click=_rename,
                      args=(what, name, key, rename, renamed))
    if delete is not None:
        with right:
            sure = st.checkbox(f"Yes, delete **{name}** for good", key=f"{key}_confirm")
            st.button(f"Delete {what}", key=f"{key}_delete", disabled=not sure, type="primary",
                      icon=":material/delete:", on_click=lambda: _do(
                          key, lambda: delete(name), f"Deleted {what} {name}.", deleted))
