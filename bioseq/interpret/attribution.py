"""Attribution: which input letters decide the model's score. One registry, one entry point.

:func:`explain` runs any method of :data:`METHODS` on records and returns one tidy table::

    id, position, letter, score, method, target

one row per position (1-based) of each record as the model sees it (cleaned and cut by its
length policy). ``score`` is the method's attribution of the target class logit to that position
(positive = the letter pushes the class up); ``target`` is the class explained: the chosen one, or
each record's predicted class. :func:`attribute` gives the same as arrays (motifs read it).

Every method has one signature: ``fn(bundle, arrays, targets, **options) -> scores``, where
``arrays`` are the encoded records ``(L, K)`` (K = alphabet size), ``targets`` the class index per
record ``(N,)``, and ``scores`` one ``(L,)`` array per record. Batches inside are ``x (B, T, K)``
with ``lengths (B,)``; padding is packed away, so a record's scores do not depend on its batch.

To add a method: write its function (in a small module next to this one), add one
:class:`Method` entry to :data:`METHODS` (name, label, one-line help, options with their defaults,
limits), and add one test. The CLI (``bioseq inspect NAME``), the dashboard's method choice, motif
search and :func:`bioseq.explain` read this registry; nothing else needs to change.

A labeller (logits ``(B, T, C)``) is explained at one chosen 1-based ``position`` t: every method then
explains the logit of a label at t (the chosen one, or each record's predicted label there), through
:class:`~bioseq.interpret.at_position.AtPosition`; the table gains a column ``at`` (= t).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..data.io import Record
from ..errors import InputError
from ..model.store import ModelBundle
from . import captum_methods, ism, saliency
from .at_position import explained
from .inputs import (
    check_length,
    input_gradients,
    no_cudnn,
    prepared,
    prepared_lengths,
    resolve_targets,
    target_index,
)

# the shared helpers are re-exported for modules that import them from here (time_gradients)
__all__ = ["COLUMNS", "METHODS", "Attribution", "Method", "Option", "attribute", "explain", "get_method",
           "input_gradients", "no_cudnn", "prepared", "prepared_lengths", "target_index"]

COLUMNS = ["id", "position", "letter", "score", "method", "target"]


@dataclass(frozen=True)
class Option:
    """One option of a method: its name (a keyword of the method's function), default and help.

    The type is the default's type; ``choices`` limits the values; ``minimum`` bounds numbers.
    """

    name: str
    default: int | float | str
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None

    def parse(self, method: str, value) -> int | float | str:
        """``value`` as this option's type, or an :class:`InputError` naming the method and option."""
        kind = type(self.default)
        try:
            v = kind(value)
            if kind is int and isinstance(value, float) and value != v:
                raise ValueError
        except (TypeError, ValueError):
            raise InputError(f"{method}: option {self.name} must be {kind.__name__}, not {value!r}") from None
        if self.choices and v not in self.choices:
            raise InputError(f"{method}: option {self.name} must be one of {', '.join(self.choices)}, not {v!r}")
        if self.minimum is not None and v < self.minimum:
            raise InputError(f"{method}: option {self.name} must be at least {self.minimum:g}, not {v!r}")
        return v


@dataclass(frozen=True)
class Method:
    """One attribution method: what the CLI, the dashboard and :func:`explain` need to know about it."""

    name: str
    label: str
    help: str  # one line, shown in the CLI and the dashboard
    fn: Callable[..., list[np.ndarray]]
    options: tuple[Option, ...] = ()
    max_length: int | None = None  # longest record (letters the model sees) it accepts
    default_records: int | None = None  # how many records the CLI uses unless told (costly methods)
    batched: bool = False  # fn takes batch_size (records per forward and backward pass)

    @property
    def heading(self) -> str:
        """The label at the start of a sentence: first letter up, the rest as written (DeepLIFT stays DeepLIFT)."""
        return self.label[:1].upper() + self.label[1:]

    def parse(self, options: dict) -> dict:
        """The method's options: defaults, overridden by ``options`` (checked and converted)."""
        known = {o.name: o for o in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise InputError(f"{self.name} has no option {', '.join(unknown)}; its options: {allowed}")
        return {n: o.parse(self.name, options[n]) if n in options else o.default for n, o in known.items()}


_SEED = Option("seed", 0, "seed of the random draws (reproducible results)", minimum=0)
_SIMPLEX = Option("simplex", "on", "simplex correction: remove the mean over the alphabet from the gradient at "
                  "each position (Majdandzic et al. 2023); off gives the raw gradient", ("on", "off"))
_CORRECTED = "; gradients simplex-corrected (mean over the alphabet removed at each position)"

METHODS = MappingProxyType({m.name: m for m in (
    Method("saliency", "gradient × input",
           "gradient of the class score at each letter, times the letter (bioseq's own; fast)" + _CORRECTED,
           saliency.gradient_x_input, (_SIMPLEX,), batched=True),
    Method("ig", "integrated gradients",
           "gradients averaged on the straight path from no letters to the sequence" + _CORRECTED
           + " (with simplex off the scores sum to f(x) − f(0))",
           saliency.integrated_gradients, (Option("steps", 32, "integration steps (midpoint rule)", minimum=1),
                                           _SIMPLEX), batched=True),
    Method("ism", "in-silico mutagenesis",
           "drop of the class score when the letter is replaced, averaged over the other letters (no gradients)",
           ism.ism_scores, max_length=ism.ISM_MAX_LENGTH, default_records=20),
    Method("deeplift", "DeepLIFT",
           "differences from a reference input (no letters) carried back by the rescale rule (Captum)",
           captum_methods.deeplift,
           (Option("baseline", "zero", "reference input: zero (no letter) or uniform (1/K per letter)",
                   ("zero", "uniform")),)),
    Method("gradientshap", "GradientSHAP",
           "gradient × (input − reference) at random points between random sequences and the input "
           "(Captum)" + _CORRECTED,
           captum_methods.gradient_shap,
           (Option("baseline", "random", "references: random sequences, zero or uniform", captum_methods.BASELINES),
            Option("samples", 32, "random draws per record", minimum=1),
            Option("noise", 0.0, "standard deviation of Gaussian noise added to the input", minimum=0.0),
            _SEED, _SIMPLEX)),
    Method("smoothgrad", "SmoothGrad",
           "gradient × input averaged over noisy copies of the sequence: less speckle (Captum NoiseTunnel)"
           + _CORRECTED,
           captum_methods.smoothgrad,
           (Option("samples", 32, "noisy copies per record", minimum=1),
            Option("noise", 0.25, "standard deviation of the Gaussian noise (one-hot rows span 0 to 1)",
                   minimum=0.0),
            _SEED, _SIMPLEX)),
    Method("occlusion", "occlusion",
           "drop of the class score when a window of letters is blanked out, no gradients (Captum)",
           captum_methods.occlusion,
           (Option("window", 1, "letters blanked at a time", minimum=1),
            Option("baseline", "zero", "what replaces them: zero (no letter) or uniform (1/K per letter)",
                   ("zero", "uniform"))),
           max_length=ism.ISM_MAX_LENGTH, default_records=20),
)})


def get_method(name: str) -> Method:
    """The registered method ``name``, or an :class:`InputError` listing the known ones."""
    if name not in METHODS:
        raise InputError(f"unknown attribution method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


@dataclass
class Attribution:
    """What a method found: per record the sequence as seen, its scores ``(L,)`` and the target index."""

    method: str
    seqs: list[str]
    scores: list[np.ndarray]
    targets: np.ndarray


def attribute(bundle: ModelBundle, records: Sequence[Record], method: str = "saliency", target: str | None = None,
              position: int | None = None, batch_size: int | None = None, **options) -> Attribution:
    """Run one registered method on ``records``; see the module docstring for the signature.

    ``position`` (1-based) is required for a labeller, and refused for a classifier. ``batch_size`` (records per
    pass) applies to the ``batched`` methods (saliency, ig); the others keep their own.
    """
    m = get_method(method)
    opts = m.parse(options)
    if batch_size is not None and m.batched:
        opts["batch_size"] = int(batch_size)
    bundle = explained(bundle, records, position)
    seqs, arrays = prepared(bundle, records)
    targets = resolve_targets(bundle, arrays, target)  # an unknown class is an error even with no records
    for r, s in zip(records, seqs):
        check_length(r, len(s), m.max_length, m.label)
    scores = _scores(m, bundle, arrays, targets, opts) if arrays else []
    return Attribution(m.name, seqs, [np.asarray(s, dtype=np.float64) for s in scores], targets)


def _scores(m, bundle: ModelBundle, arrays, targets, opts: dict) -> list:
    """The method's scores per record; for an ensemble the mean of each member's own scores (the target of
    every record is the ensemble's)."""
    if bundle.size == 1:
        return m.fn(bundle, arrays, targets, **opts)
    each = [m.fn(bundle.member(i), arrays, targets, **opts) for i in range(bundle.size)]
    return [np.mean([np.asarray(e[j], dtype=np.float64) for e in each], axis=0) for j in range(len(arrays))]


def explain(bundle: ModelBundle, records: Sequence[Record], method: str = "saliency", target: str | None = None,
            position: int | None = None, batch_size: int | None = None, **options) -> pd.DataFrame:
    """Per-position attribution by any registered method: columns id, position, letter, score, method, target
    (and ``at``, the explained position, for a labeller); ``batch_size`` as in :func:`attribute`."""
    a = attribute(bundle, records, method, target, position, batch_size, **options)
    extra = {} if position is None else {"at": int(position)}
    frames = [pd.DataFrame({"id": r.id, "position": np.arange(1, len(s) + 1), "letter": list(s), "score": sc,
                            "method": a.method, "target": bundle.classes[t], **extra})
              for r, s, sc, t in zip(records, a.seqs, a.scores, a.targets)]
    cols = COLUMNS + list(extra)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
