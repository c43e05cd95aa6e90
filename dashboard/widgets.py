"""Widgets the pages share: one clear error line in the dashboard's words, charts and tables placed with their
downloads, the model and ensemble-member pickers, uploaded files as hashable pairs."""

from __future__ import annotations

import hashlib

import streamlit as st

from bioseq.errors import BioseqError
from dashboard.loaders import load_bundle
from dashboard.state import SOURCE_KEY, current_model, follow, set_model

WINDOW = 100  # letters a sequence view shows at first


def form(key: str, **kw):
    """Every form of the dashboard: Enter in one of its fields never submits it (never starts a run or a
    search); only its buttons do."""
    return st.form(key, enter_to_submit=False, **kw)


def scroll_to(anchor: str) -> None:
    """Scroll the page to the element with id ``anchor`` (a header's anchor), once: a script in an empty frame
    of the page itself (no request leaves the machine). It waits up to 10 s for the element (the frame may load
    before the page has drawn it) and jumps there at once (a smooth scroll can be cut short by a rerun)."""
    import json

    import streamlit.components.v1 as components

    components.html(f"<script>const id = {json.dumps(anchor)}; let tries = 0;"
                    "function go() { const el = window.parent.document.getElementById(id);"
                    " if (el) el.scrollIntoView({block: 'start'}); else if (tries++ < 50) setTimeout(go, 200); }"
                    "go();</script>", height=0)


def uploaded(files) -> tuple[tuple[str, bytes], ...]:
    """Streamlit ``UploadedFile`` objects (one or a list) as hashable ``(name, bytes)`` pairs."""
    if files is None:
        return ()
    files = files if isinstance(files, list) else [files]
    return tuple((f.name, f.getvalue()) for f in files)


def digest(files: tuple[tuple[str, bytes], ...]) -> str:
    """A short content hash of uploaded files, to tell whether results are still current."""
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def bundle_or_stop(path: str):
    """:func:`load_bundle`, or the file's one-line error and the end of the page."""
    try:
        return load_bundle(path)
    except BioseqError as e:
        error(e)
        st.stop()


def member_choice(path: str, key: str, label: str = "Ensemble member") -> int | None:
    """For an ensemble, the member (1-based) whose gates and gradients are shown; ``None`` for one network."""
    size = load_bundle(path).size
    if size == 1:
        return None
    follow(key, path, 1)  # a member of this ensemble, not of the one picked before
    return st.selectbox(label, range(1, size + 1), key=key, format_func=lambda i: f"member {i} of {size}",
                        help="Gates, gate saliency and gradients look inside one network of the ensemble; "
                        "attributions (saliency and the other methods) average over all its members.")


def words(text: str) -> str:
    """A library message in the dashboard's words: option names as form fields, uploaded files by the names
    the user gave them (not their place in the workspace)."""
    from bioseq.app.uploads import display_names
    from bioseq.errors import render

    text = render(text, "dashboard")
    for stored, name in display_names(st.session_state.get(SOURCE_KEY)).items():
        text = text.replace(stored, name)
    return text


def error(e: BaseException | str) -> None:
    """One clear message: a BioseqError's text in the dashboard's words (it names file and record), never a
    traceback."""
    if isinstance(e, BioseqError):
        text = words(e.dashboard())
    else:
        text = words(e) if isinstance(e, str) else f"{type(e).__name__}: {e}"
    st.error(text, icon=":material/error:")


def chart(c, key: str, name: str | None = None) -> None:
    """Place an Altair chart with PNG and SVG downloads (rendered only when clicked)."""
    from bioseq.app import downloads as export

    st.altair_chart(c, width="stretch", key=f"{key}_chart")
    name = name or key
    with st.popover("Export chart", icon=":material/download:"):
        st.download_button("PNG", data=lambda: export.chart_png(c), file_name=f"{name}.png", mime="image/png",
                           key=f"{key}_png", on_click="ignore")
        st.download_button("SVG", data=lambda: export.chart_svg(c), file_name=f"{name}.svg",
                           mime="image/svg+xml", key=f"{key}_svg", on_click="ignore")


def table(df, key: str, name: str | None = None, download_help: str | None = None, download=None, **kwargs):
    """Place a DataFrame (numbers to three significant digits) with a CSV download of the full values (of
    ``download`` when given, e.g. with columns not shown; its ``download_help`` says what the file holds);
    ``kwargs`` go to ``st.dataframe`` (returns its selection)."""
    from bioseq.app import downloads as export
    from bioseq.app.readable import for_people

    out = st.dataframe(for_people(df), key=f"{key}_table", **kwargs)
    st.download_button("Download table (CSV)", data=export.table_csv(df if download is None else download),
                       file_name=f"{name or key}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/table:",
                       help=download_help or "this table as shown, every column, numbers in full")
    return out


def _model_words(row: dict) -> str:
    return f"bundled: {', '.join(map(str, row['classes']))}" if row.get("bundled") else row["architecture"]


def model_choice(key: str, label: str = "Model") -> str | None:
    """A registry or bundled model picked in a select box (the last trained or chosen one first, or the one the page
    address names: ``?model=NAME`` survives a reload; the bundled ones after the workspace's); its path."""
    from bioseq.model import store

    models = [m for m in store.list_models(include_bundled=True) if "error" not in m]
    if not models:
        return None
    names = [m["name"] for m in models]
    current = current_model()  # the last chosen, on any page or in the address (?model=NAME)
    index = names.index(current) if current in names else 0
    name = st.selectbox(label, names, index=index, key=key,
                        format_func=lambda n: f"{n} — {_model_words(next(m for m in models if m['name'] == n))}")
    set_model(name)
    return next(m["path"] for m in models if m["name"] == name)

