"""The Train page's form, generated from the options table (:mod:`bioseq.options`).

The form shows every option that is not ``internal``, in three columns (model, training, data); the
files, labels and alphabet come from the Data page's :class:`~bioseq.data.source.DataSource`. Form
values are plain numbers, booleans and strings: an option's ``none`` value (``max_length`` 0,
``clip`` 0) stands for ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from ..data.source import DataOptions
from ..options import Option, options, split_options

COLUMNS = ("model", "training", "data")
KEY_PREFIX = "train_opt_"  # the Streamlit key of an option's widget: train_opt_<name>


def fields(group: str | None = None) -> tuple[Option, ...]:
    """The options on the form (of one ``group``), in the table's order."""
    return tuple(o for o in options(group) if not o.internal)


def key(o: Option | str) -> str:
    return KEY_PREFIX + (o if isinstance(o, str) else o.name)


def read(state: Mapping) -> dict:
    """The form's values from the widgets' state (Streamlit's session state, keyed by :func:`key`)."""
    return {o.name: state[key(o)] for o in fields()}


def defaults(alphabet: str | None = "dna", task: str | None = None) -> dict:
    """Every form field's default as a form value; model defaults depend on the alphabet and the task
    (``label``: a labeller's convolution does not pool)."""
    return {o.name: o.to_form(o.default_for(alphabet, task)) for o in fields()}


def to_configs(values: Mapping, data: DataOptions) -> tuple:
    """Form values and the Data page's ``data`` as ``(DataOptions, model options, TrainConfig)`` for ``fit``;
    raises :class:`~bioseq.errors.InputError` for an invalid value (each option's one rule, the message naming
    the form field in ``error.dashboard()``). ``bioseq tune`` and the Tune panel take the data and training
    configs (the search chooses the model)."""
    form = {o.name: o for o in fields()}
    given = {k: form[k].from_form(v) if k in form else v for k, v in values.items()}
    base = {k: v for k, v in asdict(data).items() if k != "train"}
    return split_options(data.train, {**base, **given})
