"""Streamlit helpers shared by ``app.py`` and ``views/``: the page list, cached loaders, the job registry, exports.

Only this module and the pages import Streamlit; everything they show comes from ``bioseq``.
Heavy libraries (PyTorch, scikit-learn, pandas) are imported inside the helpers, so the home page
paints its first elements before they have loaded.
Caching: models with ``st.cache_resource`` (keyed by path and modification time, never mutated),
parsed data with ``st.cache_data`` and bounded entries. The training-job registry is one
``st.cache_resource`` object per server process, so runs outlive page switches and reloads.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, replace

import streamlit as st

# PyTorch's OpenMP threads spin while they wait for work. On a busy or shared machine that starves
# every other thread (measured: predictions 9x slower at load 8 on 2 cores, the page stalls while a
# model trains). Passive waiting avoids it; it must be set before PyTorch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bioseq.data import examples  # noqa: E402
from bioseq.data.source import DataSource  # noqa: E402
from bioseq.errors import BioseqError


@dataclass(frozen=True)
class Page:
    """One dashboard page as the frame (``app.py``) lists it."""

    path: str
    title: str
    icon: str
    section: str
    caption: str
    heading: str = ""  # the page's title on screen, when it differs from its name in the sidebar


PAGES = (
    Page("views/home.py", "Home", ":material/home:", "", "Recurrent networks for DNA, RNA and protein sequences — "
         "offline, on your machine.", heading="bioseq"),
    Page("views/data.py", "Data", ":material/dataset:", "Data and training", "Labelled sequences for training: a "
         "bundled example, or your own FASTA files."),
    Page("views/train.py", "Train", ":material/model_training:", "Data and training", "Train a recurrent "
         "classifier (or a labeller, for a label per position) in the background; the run and its model are saved "
         "in the workspace, so you can leave this page or reload it."),
    Page("views/gradient_flow.py", "Gradient flow", ":material/show_chart:", "Look inside", "Does the error signal "
         "reach the first layer and the far end of the sequence? Vanishing gradients mean early layers and distant "
         "letters barely learn; exploding ones break training."),
    Page("views/gates_saliency.py", "Gates & saliency", ":material/grid_on:", "Look inside", "What the network "
         "remembers along a sequence, and which letters decide its answer."),
    Page("views/predict.py", "Predict", ":material/batch_prediction:", "Use", "Classify new sequences, or label "
         "every position of them. Results stay in input order; download them as CSV."),
    Page("views/models.py", "Models", ":material/inventory_2:", "Use", "Saved models in the workspace. A model file "
         "carries its weights, alphabet, classes and training history; it is loaded without unpickling anything."),
)
MAX_RECORDS = 20_000  # records a page reads from a dataset to search and explain
WINDOW = 100  # letters a sequence view shows at first
SOURCE_KEY = "data_source"
MODEL_KEY = "current_model"


@st.cache_resource(show_spinner=False)
def job_registry():
    """The process-wide :class:`bioseq.training.jobs.JobRegistry`."""
    from bioseq.training.jobs import JobRegistry

    return JobRegistry()


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load_bundle(path: str, mtime: float):
    from bioseq.model.store import load_model

    return load_model(path)


def load_bundle(path: str):
    """A validated model from a file (raises :class:`~bioseq.errors.ModelFileError`)."""
    return _load_bundle(str(path), os.path.getmtime(path))


def bundle_or_stop(path: str):
    """:func:`load_bundle`, or the file's one-line error and the end of the page."""
    try:
        return load_bundle(path)
    except BioseqError as e:
        error(e)
        st.stop()


@st.cache_data(max_entries=8, show_spinner="Reading and checking the data…")
def data_report(source: DataSource):
    """:class:`bioseq.app.data_report.DataReport` of a source (raises :class:`~bioseq.errors.InputError`)."""
    from bioseq.app.data_report import report

    return report(source)


@st.cache_data(max_entries=8, show_spinner="Aligning the held-out sequences against the training ones…")
def overlap(source: DataSource, identity: float):
    """:func:`bioseq.app.data_report.overlap_check` of a source (raises :class:`~bioseq.errors.BioseqError`)."""
    from bioseq.app.data_report import overlap_check

    return overlap_check(source, identity)


@st.cache_data(max_entries=16, show_spinner=False)
def importances(study: str, trials: int) -> dict:
    """:func:`bioseq.training.tune.importances` of a study, recomputed when its number of ``trials`` changes."""
    from bioseq.training.tune import importances as study_importances

    return study_importances(study)


@st.cache_data(max_entries=8, show_spinner="Reading sequences…")
def source_records(source: DataSource, limit: int | None = None) -> list:
    return source.records(limit)


@st.cache_data(max_entries=8, show_spinner="Reading the uploaded files…")
def upload_records(files: tuple[tuple[str, bytes], ...]) -> list:
    from bioseq.app.uploads import read_uploads

    return read_uploads(files)


def uploaded(files) -> tuple[tuple[str, bytes], ...]:
    """Streamlit ``UploadedFile`` objects (one or a list) as hashable ``(name, bytes)`` pairs."""
    if files is None:
        return ()
    files = files if isinstance(files, list) else [files]
    return tuple((f.name, f.getvalue()) for f in files)


@st.cache_data(max_entries=16, show_spinner="Back-propagating through the sequences…")
def flow_report(name: str, n: int, model_mtime: float, member: int | None = None):
    """:class:`bioseq.app.flow.FlowReport` of a finished run (cached per run, model file, sample size and, for an
    ensemble, the member looked inside)."""
    from bioseq.app.flow import gradient_flow

    return gradient_flow(name, n, member=member)


def member_choice(path: str, key: str, label: str = "Ensemble member") -> int | None:
    """For an ensemble, the member (1-based) whose gates and gradients are shown; ``None`` for one network."""
    size = load_bundle(path).size
    if size == 1:
        return None
    return st.selectbox(label, range(1, size + 1), key=key, format_func=lambda i: f"member {i} of {size}",
                        help="Gates, gate saliency and gradients look inside one network of the ensemble; "
                        "attributions (saliency and the other methods) average over all its members.")


@st.cache_data(max_entries=16, show_spinner="Back-propagating from every labelled position…")
def _position_flow(path: str, mtime: float, record, labels):
    from bioseq.interpret.position_gradients import position_gradients

    return position_gradients(load_bundle(path), record, labels)


def position_flow(path: str, record, labels=None):
    """G[t, s] of one record for a labeller (:func:`bioseq.interpret.position_gradients.position_gradients`;
    ``labels`` its true track, else the predicted labels are explained)."""
    return _position_flow(str(path), os.path.getmtime(path), record, labels)


@st.cache_data(max_entries=8, show_spinner="Reading the model's training sequences…")
def model_records(path: str, limit: int = 500) -> list:
    from bioseq.app.records import model_records

    return model_records(path, limit)


def record_table(path: str, records, origin: str, source: DataSource | None):
    """:func:`bioseq.app.records.record_table` of ``records`` with their true labels as training saw them
    (the model's labels table for its own data, the Data page's for its dataset)."""
    return _record_table(str(path), os.path.getmtime(path), tuple(records), origin, source)


@st.cache_data(max_entries=8, show_spinner="Predicting the records…")
def _record_table(path: str, mtime: float, records: tuple, origin: str, source: DataSource | None):
    from bioseq.app import records as lib

    records = list(records)
    if origin == "data":
        labels = lib.model_labels(path, records)
    elif origin == "dataset" and source is not None:
        labels = lib.labels_for(records, source.labels, source.class_map)
    else:
        labels = lib.labels_for(records)
    return lib.record_table(load_bundle(path), records, labels)


@st.cache_data(max_entries=8, show_spinner="Reading the labelled sequences…")
def labelled_records(origin: str, path: str, source: DataSource | None = None,
                     files: tuple[tuple[str, bytes], ...] = ()) -> tuple[list, list | None]:
    """Records and their true label tracks for a labeller (:mod:`bioseq.app.position_data`): ``data`` (the
    model's training files), ``dataset`` (the Data page's) or ``upload`` (``files``, three-line FASTA or plain)."""
    from bioseq.app import position_data
    from bioseq.app.uploads import save_uploads
    from bioseq.model.store import read_meta

    meta = read_meta(path)
    if origin == "data":
        return position_data.model_labelled(meta, MAX_RECORDS)
    if origin == "dataset":
        return position_data.source_labelled(source, meta.get("classes"), MAX_RECORDS)
    return position_data.read_labelled([str(p) for p in save_uploads(list(files))], meta.get("classes"),
                                       ignore_label=(meta.get("labelling") or {}).get("ignore_label"),
                                       limit=MAX_RECORDS)


@st.cache_data(max_entries=8, show_spinner="Labelling the records…")
def _position_records(path: str, mtime: float, records: tuple, tracks):
    from bioseq.app.records import position_record_table

    return position_record_table(load_bundle(path), list(records), tracks)


def position_records(path: str, records, tracks=None):
    """:func:`bioseq.app.records.position_record_table` of a labeller's records (cached)."""
    return _position_records(str(path), os.path.getmtime(path), tuple(records), tracks)


def explain(kind: str, path: str, records, target: str | None = None, member: int | None = None, **options):
    """One interpretation table for a model file (cached by file, modification time and inputs).

    ``kind``: any attribution method of :data:`bioseq.interpret.attribution.METHODS` (its tidy
    ``explain`` table, ``options`` are the method's), ``gates`` (:func:`bioseq.interpret.gates.gate_table`),
    ``gate_saliency`` (:func:`bioseq.interpret.gate_saliency.gate_saliency`),
    ``mutations`` (:func:`bioseq.interpret.ism.ism` of the first record), ``motifs`` or ``logo``
    (:mod:`bioseq.interpret.motifs`; ``options`` may name a ``method``). For a labeller, ``options`` give the
    ``position`` explained; ``tracks`` (:func:`bioseq.interpret.tracks.label_tracks`, ``labels=``) and
    ``window`` (:func:`bioseq.interpret.window.used_window`) are its own. ``member`` (1-based) looks inside one
    member of an ensemble instead of the whole.
    """
    return _explain(kind, str(path), os.path.getmtime(path), tuple(records), target, member, **options)


@st.cache_data(max_entries=32, show_spinner="Looking inside the model…")
def _explain(kind: str, path: str, mtime: float, records: tuple, target: str | None = None,
             member: int | None = None, **options):
    from bioseq.interpret import attribution, gate_saliency, gates, ism, motifs, tracks, window

    bundle = load_bundle(path)
    if member is not None:
        bundle = bundle.member(member - 1)
    records = list(records)
    if kind in attribution.METHODS:
        return attribution.explain(bundle, records, kind, target, **options)
    calls = {
        "gates": lambda: gates.gate_table(bundle, records),
        "gate_saliency": lambda: gate_saliency.gate_saliency(bundle, records, target, **options),
        "mutations": lambda: ism.ism(bundle, records[0], target, **options),
        "tracks": lambda: tracks.label_tracks(bundle, records, **options),
        "window": lambda: window.used_window(bundle, records, target=target, **options),
        "motifs": lambda: motifs.motifs(bundle, records, target=target, **options),
        "logo": lambda: motifs.motif_logo(bundle, records, target=target, **options),
    }
    return calls[kind]()


@st.cache_data(max_entries=4, show_spinner="Evaluating on the labelled files…")
def _evaluation(path: str, mtime: float, files: tuple, labels: tuple | None):
    from bioseq.app.predictions import evaluate_upload

    return evaluate_upload(load_bundle(path), files, labels)


def evaluation(path: str, files: tuple, labels: tuple | None = None):
    """:func:`bioseq.app.predictions.evaluate_upload` (raises :class:`~bioseq.errors.InputError` when the files
    carry no labels)."""
    return _evaluation(str(path), os.path.getmtime(path), files, labels)


def digest(files: tuple[tuple[str, bytes], ...]) -> str:
    """A short content hash of uploaded files, to tell whether results are still current."""
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


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


def table(df, key: str, name: str | None = None, **kwargs):
    """Place a DataFrame with a CSV download; ``kwargs`` go to ``st.dataframe`` (returns its selection)."""
    from bioseq.app import downloads as export

    out = st.dataframe(df, key=f"{key}_table", **kwargs)
    st.download_button("Download table (CSV)", data=export.table_csv(df), file_name=f"{name or key}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/table:")
    return out


def model_choice(key: str, label: str = "Model") -> str | None:
    """A registry model picked in a select box (the last trained or chosen one first); its path."""
    from bioseq.model import store

    models = [m for m in store.list_models() if "error" not in m]
    if not models:
        return None
    names = [m["name"] for m in models]
    current = st.session_state.get(MODEL_KEY)
    index = names.index(current) if current in names else 0
    name = st.selectbox(label, names, index=index, key=key,
                        format_func=lambda n: f"{n} — {next(m['architecture'] for m in models if m['name'] == n)}")
    st.session_state[MODEL_KEY] = name
    return next(m["path"] for m in models if m["name"] == name)
