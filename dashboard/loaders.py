"""Cached loaders of the dashboard: models, parsed data, reports and interpretation tables, and the job registry.

Models with ``st.cache_resource`` (keyed by path and modification time, never mutated), parsed data with
``st.cache_data`` and bounded entries. The training-job registry is one ``st.cache_resource`` object per server
process, so runs outlive page switches and reloads. Each loader imports its library module when first called.
"""

from __future__ import annotations

import os

import streamlit as st

from bioseq.data.source import DataSource

MAX_RECORDS = 20_000  # records a page reads from a dataset to search and explain


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


@st.cache_data(max_entries=8, show_spinner="Reading the uploaded files…")
def upload_records(files: tuple[tuple[str, bytes], ...]) -> list:
    from bioseq.app.uploads import read_uploads

    return read_uploads(files)


@st.cache_data(max_entries=16, show_spinner="Back-propagating through the sequences…")
def flow_report(name: str, n: int, model_mtime: float, member: int | None = None):
    """:class:`bioseq.app.flow.FlowReport` of a finished run (cached per run, model file, sample size and, for an
    ensemble, the member looked inside)."""
    from bioseq.app.flow import gradient_flow

    return gradient_flow(name, n, member=member)


@st.cache_data(max_entries=8, show_spinner="Reading the labelled sequences…")
def labelled_records(origin: str, path: str, source: DataSource | None = None,
                     files: tuple[tuple[str, bytes], ...] = ()) -> tuple[list, list | None]:
    """:func:`bioseq.app.records.labelled_records`: up to :data:`MAX_RECORDS` records of ``data`` (the model's
    training files), ``dataset`` (the Data page's) or ``upload`` (``files``), with their true labels as the model's
    task keeps them."""
    from bioseq.app.records import labelled_records as read

    return read(path, origin, source, files, MAX_RECORDS)


def record_table(path: str, records, labels=None):
    """:func:`bioseq.app.records.record_table` of ``records`` with their true ``labels`` as the model's task keeps
    them (cached)."""
    return _record_table(str(path), os.path.getmtime(path), tuple(records), labels)


@st.cache_data(max_entries=8, show_spinner="Predicting the records…")
def _record_table(path: str, mtime: float, records: tuple, labels):
    from bioseq.app.records import record_table

    return record_table(load_bundle(path), list(records), labels)


def explain(kind: str, path: str, records, target: str | None = None, member: int | None = None, **options):
    """One interpretation table for a model file (cached by file, modification time and inputs).

    ``kind``: any attribution method of :data:`bioseq.interpret.attribution.METHODS` (its tidy ``explain`` table,
    ``options`` are the method's) or any view of :data:`bioseq.interpret.views.VIEWS` (``options`` are the
    view's; a labeller's ``position`` explained, its true ``labels``). ``member`` (1-based) looks inside one member
    of an ensemble instead of the whole.
    """
    return _explain(kind, str(path), os.path.getmtime(path), tuple(records), target, member, **options)


@st.cache_data(max_entries=32, show_spinner="Looking inside the model…")
def _explain(kind: str, path: str, mtime: float, records: tuple, target: str | None = None,
             member: int | None = None, **options):
    from bioseq.interpret import attribution, views

    bundle = load_bundle(path)
    if member is not None:
        bundle = bundle.member(member - 1)
    if kind in attribution.METHODS:
        return attribution.explain(bundle, list(records), kind, target, **options)
    return views.get_view(kind).table(bundle, records, target, **options)


@st.cache_data(max_entries=4, show_spinner="Evaluating on the labelled files…")
def _evaluation(path: str, mtime: float, files: tuple, labels: tuple | None):
    from bioseq.app.predictions import evaluate_upload

    return evaluate_upload(load_bundle(path), files, labels)


def evaluation(path: str, files: tuple, labels: tuple | None = None):
    """:func:`bioseq.app.predictions.evaluate_upload` (raises :class:`~bioseq.errors.InputError` when the files
    carry no labels)."""
    return _evaluation(str(path), os.path.getmtime(path), files, labels)
