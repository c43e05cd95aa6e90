"""The Train page's form, generated from the options table (:mod:`bioseq.options`).

The form shows the options that are not ``internal`` and that apply to the data's alphabet, its task and the
chosen cell (:func:`bioseq.options.applies`), in three columns (model, training, data): the :data:`COMMON`
ones first, the rest under "Advanced" (:func:`layout`). The files, labels and alphabet come from the Data
page's :class:`~bioseq.data.source.DataSource`. Form values are plain numbers, booleans and strings: an
option's ``none`` value (``max_length`` 0, ``clip`` 0) stands for ``None``; an option the form does not show
takes its default (:func:`read`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from ..data.source import DataOptions
from ..options import Option, applies, options, split_options

COLUMNS = ("model", "training", "data")
KEY_PREFIX = "train_opt_"  # the Streamlit key of an option's widget: train_opt_<name>
# the options most runs set, shown first; the others are under "Advanced" (the cell is chosen above the form)
COMMON = ("cell", "activation", "layers", "hidden", "bidirectional", "dropout", "conv", "pooling", "strand", "epochs",
          "batch_size", "lr", "patience", "seed", "val_fraction", "max_length")


def fields(group: str | None = None) -> tuple[Option, ...]:
    """The options on the form (of one ``group``), in the table's order."""
    return tuple(o for o in options(group) if not o.internal)


def key(o: Option | str) -> str:
    return KEY_PREFIX + (o if isinstance(o, str) else o.name)


def shown(alphabet: str | None = None, task=None, cell: str | None = None, group: str | None = None,
          common: bool | None = None) -> tuple[Option, ...]:
    """The form's options (of one ``group``) that apply to data of ``alphabet`` and ``task`` with ``cell``;
    ``common`` True: only the :data:`COMMON` ones, False: only the advanced ones, None: both."""
    return tuple(o for o in fields(group) if applies(o, task, alphabet, cell)
                 and common in (None, o.name in COMMON))


def layout(alphabet: str | None, task, cell: str | None) -> dict[bool, dict[str, tuple[Option, ...]]]:
    """``{True: common, False: advanced}``, each the shown options by column (:data:`COLUMNS`), less the cell
    (chosen above the form, since it decides what applies)."""
    return {c: {g: tuple(o for o in shown(alphabet, task, cell, g, c) if o.name != "cell") for g in COLUMNS}
            for c in (True, False)}


def read(state: Mapping, alphabet: str | None = None, task=None) -> dict:
    """The form's values from the widgets' state (Streamlit's session state, keyed by :func:`key`): an option
    that does not apply to ``alphabet``, ``task`` and the chosen cell (so is not on the form) takes its default
    for them, whatever its widget last held."""
    base = defaults(alphabet, task)
    cell = state.get(key("cell"), base["cell"])
    on_form = {o.name for o in shown(alphabet, task, cell)}
    return {o.name: state[key(o)] if o.name in on_form and key(o) in state else base[o.name] for o in fields()}


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


def saved_values(*saved: Mapping | None, alphabet: str | None = None, task=None) -> tuple[dict, list[str]]:
    """Form values from a run's or a model's saved options (its model config, training config and data
    options, as stored), and notes on what was left out: an option this version does not know (or that is
    not on the form) is ignored, and so is a value the option's rule refuses (the form keeps its default).
    Keys that are not form options (files, labels, the task, sizes from the data) are skipped silently."""
    form = {o.name: o for o in fields()}
    internal = {o.name for o in options() if o.internal}
    values, unknown, refused = {}, [], []
    for config in saved:
        for name, value in (config or {}).items():
            if name in internal:
                continue
            o = form.get(name)
            if o is None:
                unknown.append(name)
            elif o.problem(value):
                refused.append(o.problem(value, f"“{o.label}”"))
            else:
                values[name] = o.to_form(value)
    notes = [f"ignored, not options of this version: {', '.join(sorted(set(unknown)))}"] if unknown else []
    notes += [f"ignored, not valid now: {r}" for r in refused]
    base = defaults(alphabet, task)
    return {**base, **values}, notes
