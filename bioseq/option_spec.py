"""How an option is declared, checked and named: :class:`Option`, :func:`opt`, :func:`declare`, the one rule
for a value (:meth:`Option.problem`) and the words for an option in a message (:func:`ref`, :func:`render`).

This module is a leaf: it imports nothing of bioseq, so the config dataclasses (:mod:`bioseq.data.source`,
:mod:`bioseq.model.config`, :mod:`bioseq.training.config`), :mod:`bioseq.errors` and the options table
(:mod:`bioseq.options`, which gathers them) all build on it without an import loop, and reading the
options costs no PyTorch.

A config class is declared with ``@declare("model")`` over ``@dataclass``; each of its fields is made
with :func:`opt`. Its ``validate()`` calls :func:`check_fields`, which applies :meth:`Option.problem` to
every field: the type, the ``choices``, and ``min``/``max`` (a NaN is never in range). The command line,
the dashboard's form, ``bioseq.train(...)`` and ``tune`` all go through those ``validate()`` methods, so a
value is refused by the same rule, in the same words, wherever it is given. Options of one command only
(``predict --chunk-size``, ``tune --ensemble``) are :class:`Option` objects checked with
:meth:`Option.check`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, NoneType, UnionType
from typing import Any

GROUPS = ("data", "model", "training")
ALPHABET_NAMES = MappingProxyType({"dna": "DNA", "rna": "RNA", "protein": "protein"})
TASK_NAMES = MappingProxyType({"classify": "classifiers", "label": "labellers"})
_REF = re.compile(r"⟦([a-z_]+)(?:=([^⟧]*))?⟧")
_DECLARED: dict[str, Option] = {}  # every option of a declared config class, by name (see declare)


@dataclass(frozen=True)
class Option:
    """One option. ``min``/``max`` bound its value everywhere (:meth:`problem`); ``step`` shapes the
    dashboard's widget. ``none`` is the form value that stands for ``None`` (``max_length`` 0 = no limit).
    ``choices`` may be a zero-argument callable (a registry); ``open_choices`` marks them as suggestions
    that are not enforced (``--device cuda:1``)."""

    name: str
    group: str
    type: type
    default: Any
    help: str
    label: str = ""
    choices: tuple | Callable[[], Sequence] | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    internal: bool = False  # not on the dashboard's form (e.g. the files, which come from the Data page)
    cli: bool = True  # a `bioseq train` option; False for values taken from the data (alphabet_size)
    aliases: tuple[str, ...] = ()  # older CLI spellings, e.g. --arch for --cell
    by_alphabet: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    by_task: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))  # e.g. label
    detected: bool = False  # chosen from the inputs when not given (the task kind)
    alphabets: tuple[str, ...] = ()  # the alphabets it applies to (DNA strands: dna); empty: every alphabet
    none: Any = None
    unset: str = "none"  # how the help shows a default of None
    many: bool = False  # a list of values (files)
    positional: bool = False
    metavar: str | None = None
    open_choices: bool = False
    where: str = ""  # how the dashboard asks for an internal option, e.g. "a labels file on the Data page"
    nullable: bool = True  # whether None is a value (the field's annotation allows it)

    @property
    def flag(self) -> str:
        return self.name if self.positional else "--" + self.name.replace("_", "-")

    @property
    def allowed(self) -> tuple:
        """The choices, read from the registry now when they are a callable."""
        c = self.choices() if callable(self.choices) else self.choices
        return tuple(c or ())

    @property
    def kind(self) -> str:
        """``bool``, ``choice``, ``int``, ``float`` or ``text``: the widget the form draws."""
        if self.type is bool:
            return "bool"
        if self.choices is not None:
            return "choice"
        return {int: "int", float: "float"}.get(self.type, "text")

    @property
    def form_label(self) -> str:
        return self.label + (f" ({self.none:g} = {self.unset})" if self.none is not None else "")

    @property
    def form_min(self) -> float | None:
        return self.none if self.none is not None else self.min

    @property
    def from_data(self) -> bool:
        """Whether the default is decided by the data (alphabet, task kind): the CLI's default is then None."""
        return bool(self.by_alphabet or self.by_task or self.detected)

    def default_for(self, alphabet: str | None, task: str | None = None) -> Any:
        """The default for data of ``alphabet`` (``dna``, ``rna``, ``protein``) and ``task`` (``classify``,
        ``label``); a task's default wins over the alphabet's."""
        if task in self.by_task:
            return self.by_task[task]
        return self.by_alphabet.get(alphabet or "dna", self.default)

    def to_form(self, value: Any) -> Any:
        return self.none if value is None else value

    def from_form(self, value: Any) -> Any:
        return None if self.none is not None and value == self.none else value

    def default_text(self) -> str:
        """The default in words, with the alphabets where it differs: ``9 DNA/RNA, 5 protein``."""
        tasks = "".join(f"; {_show(v, self.unset)} for {TASK_NAMES.get(t, t)}" for t, v in self.by_task.items())
        if not self.by_alphabet:
            return _show(self.default, self.unset) + tasks
        by_value: dict[str, list[str]] = {}
        for a, shown in ALPHABET_NAMES.items():
            by_value.setdefault(_show(self.default_for(a), self.unset), []).append(shown)
        return ", ".join(f"{v} {'/'.join(names)}" for v, names in by_value.items()) + tasks

    def describe(self) -> str:
        """The help text with its default, as ``--help`` and the dashboard show it."""
        return f"{self.help} (default {self.default_text()})"

    def range_text(self) -> str:
        """The valid values in words: ``at least 0 and at most 1``, ``at least 1``; empty when unbounded."""
        lo, hi = _number(self.min), _number(self.max)
        if self.min is not None and self.max is not None:
            return f"at least {lo} and at most {hi}"
        return f"at least {lo}" if self.min is not None else f"at most {hi}" if self.max is not None else ""

    def problem(self, value: Any, named: str | None = None) -> str | None:
        """What is wrong with ``value`` for this option, as one line that names the option (through
        :func:`ref`, or as ``named``: a model file's key) and what it takes; ``None`` when the value is valid.
        The one rule for every surface."""
        name = named or ref(self.name)
        if value is None:
            return None if self.nullable else f"{name} needs a value"
        if self.many or self.positional or self.type not in (bool, int, float, str):
            return None  # files and lists: their readers check them
        if self.type is bool:
            return None if isinstance(value, bool) else f"{name} is on or off (True or False), not {shown(value)}"
        if self.choices is not None and not self.open_choices:
            allowed = self.allowed
            return None if isinstance(value, str) and value in allowed else (
                f"unknown {named or self.name} {shown(value)}; choose one of {', '.join(map(str, allowed))}")
        if self.type is str:
            return None if isinstance(value, str) else f"{name} takes text, not {shown(value)}"
        whole = self.type is int
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
            limits = f" ({self.range_text()})" if self.range_text() else ""
            return f"{name} must be a {'whole number' if whole else 'number'}{limits}, not {shown(value)}"
        bad = not math.isfinite(value) or (self.min is not None and value < self.min) or (
            self.max is not None and value > self.max)
        if not bad:
            return None
        return f"{name} must be {self.range_text() or 'a finite number'}, not {_number(value)}"

    def check(self, value: Any, error: type[Exception] = ValueError) -> Any:
        """``value`` if :meth:`problem` finds nothing wrong with it, else ``error`` with the problem."""
        problem = self.problem(value)
        if problem:
            raise error(problem)
        return value


def shown(value: Any, width: int = 40) -> str:
    """``repr(value)`` cut to ``width`` characters: a value read from a file, quoted in a one-line message."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _number(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _show(value: Any, unset: str = "none") -> str:
    if value is None:
        return unset
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def opt(default: Any = dataclasses.MISSING, *, help: str, **spec) -> Any:
    """A dataclass field that is also an option; ``spec`` takes the :class:`Option` fields after ``help``."""
    for key in ("by_alphabet", "by_task"):
        if key in spec:
            spec[key] = MappingProxyType(dict(spec[key]))
    return dataclasses.field(default=default, metadata={"option": {"help": help, **spec}})


def _field_type(hint) -> tuple[type, bool, bool]:
    """``(type, many, nullable)`` from an annotation: ``int | None`` -> (int, False, True);
    ``Sequence[str] | None`` -> (str, True, True)."""
    nullable = False
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        nullable = NoneType in typing.get_args(hint)
        hint = next(a for a in typing.get_args(hint) if a is not NoneType)
    if typing.get_origin(hint) in (list, tuple, Sequence):
        return typing.get_args(hint)[0], True, nullable
    return hint, False, nullable


def collect(cls, group: str) -> list[Option]:
    """The options of the dataclass ``cls`` (its fields made with :func:`opt`), in field order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if "option" in f.metadata:
            kind, many, nullable = _field_type(hints[f.name])
            default = None if f.default is dataclasses.MISSING else f.default
            out.append(Option(f.name, group, kind, default, many=many, nullable=nullable, **f.metadata["option"]))
    return out


def declare(group: str):
    """Class decorator (over ``@dataclass``): the options of a config class, kept as ``cls.OPTIONS`` and
    known by name to :func:`mention`."""
    def decorate(cls):
        cls.OPTIONS = tuple(collect(cls, group))
        _DECLARED.update({o.name: o for o in cls.OPTIONS})
        return cls
    return decorate


def check_fields(config, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` for the first field of a declared ``config`` whose value breaks :meth:`Option.problem`."""
    for o in type(config).OPTIONS:
        o.check(getattr(config, o.name), error)


def undeclared(*classes) -> list[str]:
    """``Class.field`` for each field of ``classes`` not declared with :func:`opt` (it would have no CLI
    flag, no form field and no row in docs/options.md)."""
    return [f"{cls.__name__}.{f.name}" for cls in classes for f in dataclasses.fields(cls)
            if "option" not in f.metadata]


def ref(name: str, value=None) -> str:
    """A reference to the option ``name`` (optionally with a value) inside a message; :func:`render` words it."""
    return f"⟦{name}⟧" if value is None else f"⟦{name}={value}⟧"


def mention(name: str, value: Any = None, surface: str = "cli") -> str:
    """An option named in a message, in the words of the surface that shows it.

    ``cli``: the flag (``--activation relu``, ``--labels FILE``, ``--no-skip``); ``dashboard``: the form
    field's label (“RNN activation” set to relu), or, for an option the form does not show, where the
    dashboard asks for it (``where``). An option of no declared config (``--chunk-size``) is its flag.
    """
    if surface not in ("cli", "dashboard"):
        raise ValueError(f"unknown surface {surface!r}; choose cli or dashboard")
    o = _DECLARED.get(name) or Option(name, "", str, None, "", label=name.replace("_", " "))
    if surface == "cli":
        if not o.cli:
            return o.name
        if o.type is bool and value is not None:
            return o.flag if value else f"--no-{o.flag[2:]}"
        if value is None:
            return f"{o.flag} FILE" if o.metavar == "FILE" else o.flag
        return f"{o.flag} {value}"
    if o.internal:
        return o.where or o.help
    if value is None:
        return f"“{o.label}”"
    return f"“{o.label}” {_show(value)}" if o.type is bool else f"“{o.label}” set to {value}"


def render(text: str, surface: str = "cli") -> str:
    """``text`` with every :func:`ref` worded for ``surface`` (``cli`` or ``dashboard``)."""
    if "⟦" not in text:
        return text

    def word(m: re.Match) -> str:
        value = m.group(2)
        value = {"True": True, "False": False}.get(value, value)
        return mention(m.group(1), value, surface)

    return _REF.sub(word, text)
