"""One registry of the views that are not attribution methods, beside :data:`.attribution.METHODS`.

Each :class:`View` says its name (the ``bioseq inspect`` kind), a one-line help, its function, the columns its
table starts with, the tasks it supports (``task.name`` of :mod:`bioseq.task`), how many records the CLI uses
unless told, which command-line options it takes, and the summary the CLI prints. The CLI's ``inspect`` kinds,
flags and summaries and the dashboard's cached tables (``dashboard.loaders.explain``) read it; nothing else
dispatches on a view's name. Every function is ``fn(bundle, records, target=None, **options) -> DataFrame``.

To add a view: write its function (in a small module next to this one), add one :class:`View` to :data:`VIEWS`
and its summary, and the tests parametrized over :data:`VIEWS` cover it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from ..errors import InputError
from ..task import TASKS, task_of
from . import attribution, ism

BOTH = ("classify", "label")


@dataclass(frozen=True)
class View:
    """One view of a model: what the CLI, the dashboard and the tests need to know about it."""

    name: str
    help: str  # one line, shown in the CLI
    fn: Callable[..., pd.DataFrame]
    columns: tuple[str, ...]  # the columns its table starts with (may differ: see ``columns_for``)
    tasks: tuple[str, ...] = BOTH  # the tasks whose models it explains
    default_records: int | None = None  # how many records the CLI uses unless told (costly views)
    options: tuple[str, ...] = ()  # command-line options it takes (``--position``, ``--k``, ...)
    method: bool = False  # takes an attribution ``method`` and that method's options
    one_network: bool = False  # looks inside one network: an ensemble shows one member
    cli: bool = True  # a ``bioseq inspect`` kind (else the dashboard's own)
    summary: Callable[[pd.DataFrame, dict], str] = lambda df, opts: ""
    label_columns: tuple[str, ...] | None = None  # the columns for a task with an output per position, if other
    max_length: Callable[[], int | None] = lambda: None  # longest record (letters the model sees) it accepts
    columns_of: Callable[[object, dict], tuple[str, ...]] | None = None  # the columns by model and options, if other

    def columns_for(self, bundle, options: dict | None = None) -> tuple[str, ...]:
        """The columns its table of ``bundle`` starts with, given these options: ``columns_of`` where the view
        gives more than one table (motifs: named or k-mers), else ``label_columns`` for a task with an output per
        position where it has them, else ``columns``."""
        if self.columns_of is not None:
            return self.columns_of(bundle, dict(options or {}))
        return self.label_columns if task_of(bundle).per_position and self.label_columns else self.columns

    def fits(self, bundle) -> bool:
        """Whether this view explains ``bundle``'s task."""
        return task_of(bundle).name in self.tasks

    def check(self, bundle) -> None:
        """Refuse, in one line, a model whose task this view does not explain."""
        task = task_of(bundle)
        if not self.fits(task):
            nouns = " or a ".join(TASKS[t].noun for t in self.tasks)
            raise InputError(f"{self.name} needs a {nouns}; this model is a {task.noun}")

    def limit(self, options: dict) -> int | None:
        """The longest record (letters the model sees) it accepts with these options."""
        return attribution.get_method(options.get("method", "saliency")).max_length if self.method \
            else self.max_length()

    def table(self, bundle, records: Sequence, target: str | None = None, **options) -> pd.DataFrame:
        """The view's table of ``records`` (its task checked first)."""
        self.check(bundle)
        return self.fn(bundle, list(records), target, **options)


# --- the functions (one per view, each task's difference asked of the Task) ---------------------------------------

def _mutations(bundle, records, target=None, position=None):
    from .ism import ism
    return pd.concat([ism(bundle, r, target, position) for r in records], ignore_index=True)


def _gates(bundle, records, target=None):
    from .gates import gate_table
    return gate_table(bundle, records)


def _gate_saliency(bundle, records, target=None, position=None):
    from .gate_saliency import gate_saliency
    return gate_saliency(bundle, records, target, position=position)


def _gradients(bundle, records, target=None, labels=None):
    """‖∂C/∂h‖: from the one read-out by step (:func:`.time_gradients.time_gradients`), or G[t, s] from every
    position of a task with an output per position (:func:`.position_gradients.position_gradients`, each
    record's true labels when given)."""
    if not task_of(bundle).per_position:
        from .time_gradients import time_gradients
        return time_gradients(bundle, records, target)
    from .position_gradients import COLUMNS, position_gradients
    tables = [position_gradients(bundle, r, labels[i] if labels is not None else None, target)
              for i, r in enumerate(records)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)


def _memory(bundle, records, target=None, **options):
    from .memory import memory_curve
    return memory_curve(bundle, records, target, **options)


NAMED_OPTIONS = ("jaspar_release", "jaspar_collection", "jaspar_taxa", "motifs_file", "max_seqlets")


KMER_COLUMNS = ("target", "motif", "count", "mean_score", "sequences", "in_class", "in_others", "enrichment")
KMER_DEFAULTS = {"k": 6, "top": 20}  # the k-mer table's length and candidates per class unless given


def named(bundle, options: dict) -> bool:
    """Whether the motifs view gives ``bundle`` the named motifs (a DNA/RNA model without ``kmers``)."""
    from .named_motifs import nucleic

    return nucleic(bundle) and not options.get("kmers")


def _motif_columns(bundle, options: dict) -> tuple[str, ...]:
    from .named_motifs import COLUMNS

    return tuple(COLUMNS) if named(bundle, options) else KMER_COLUMNS


def _motifs(bundle, records, target=None, k=None, top=None, kmers=False, **options):
    """A DNA/RNA model's motifs with names (:func:`.named_motifs.named_motifs`: TF-MoDISco and TomTom against
    JASPAR, at most ``top`` per class when given) unless ``kmers``; any other model's (or with ``kmers``) the
    ``top`` k-mers at the attribution peaks, most enriched in the class explained first (:func:`.motifs.motifs`,
    :data:`KMER_DEFAULTS`)."""
    from .named_motifs import named_motifs

    chosen = {name: options.pop(name) for name in NAMED_OPTIONS if name in options}
    chosen = {name: value for name, value in chosen.items() if value is not None}  # None: the default
    if named(bundle, {"kmers": kmers}):
        return named_motifs(bundle, records, target, top=top, **chosen, **options)
    from .motifs import motifs
    return motifs(bundle, records, k=KMER_DEFAULTS["k"] if k is None else k,
                  top=KMER_DEFAULTS["top"] if top is None else top, target=target, **options)


def _logo(bundle, records, target=None, **options):
    from .motifs import motif_logo
    return motif_logo(bundle, records, target=target, **options)


def _window(bundle, records, target=None, **options):
    from .window import used_window
    return used_window(bundle, records, target=target, **options)


def _tracks(bundle, records, target=None, labels=None):
    from .tracks import label_tracks
    return label_tracks(bundle, records, labels)


# --- the CLI's summaries -----------------------------------------------------------------------------------------

def _sum_mutations(df, opts):
    worst = df.nsmallest(5, "delta")
    return "mutations: strongest loss-of-score substitutions:\n" + "\n".join(
        f"  {r.id}: {r.ref}{r.position}{r.alt} delta {r.delta:.3g} (prob {r.delta_prob:+.3f})"
        for r in worst.itertuples())


def _sum_gates(df, opts):
    g = df.groupby(["layer", "direction", "gate"])["value"].agg(["mean", "min", "max"]).reset_index()
    return "gates: mean (min..max) per layer, direction and gate:\n" + "\n".join(
        f"  L{r.layer} {r.direction:<7} {r.gate:<9} {r.mean:.3f} ({r.min:.3f}..{r.max:.3f})" for r in g.itertuples())


def _sum_gate_saliency(df, opts):
    g = df.assign(a=df["score"].abs()).groupby(["layer", "direction", "gate"])["a"].sum().reset_index()
    return "gate-saliency: total |gradient x activation| per layer, direction and gate:\n" + "\n".join(
        f"  L{r.layer} {r.direction:<7} {r.gate:<10} {r.a:.4g}" for r in g.sort_values("a", ascending=False)
        .itertuples())


def _sum_gradients(df, opts):
    if "t" in df.columns:  # G[t, s] from every position
        from .position_gradients import flow_reach, table_profile

        return "gradients: how far the error at a position reaches (relative ‖∂C(t)/∂h(s)‖ ≥ 1%):\n" + "\n".join(
            f"  L{r.layer} {r.direction:<7} back {r.back}, ahead {r.ahead}" for r in
            flow_reach(table_profile(df)).itertuples())
    from .time_gradients import time_profile

    lines = ["gradients: mean ‖∂C/∂h(t)‖ by distance from the read-out (near, far):"]
    for (layer, direction), g in time_profile(df).groupby(["layer", "direction"]):
        near, far = g.iloc[0], g.iloc[-1]
        lines.append(f"  L{layer} {direction:<7} d={int(near.distance)}: {near.grad_norm:.3g}  "
                     f"d={int(far.distance)}: {far.grad_norm:.3g}")
    return "\n".join(lines)


def _sum_motifs(df, opts):
    if "consensus" in df.columns:
        return (f"motifs ({opts.get('method', 'saliency')}): TF-MoDISco found {len(df)} in "
                f"{df.attrs.get('seconds', 0):.1f} s; best matches in {df.attrs.get('reference', 'the reference')}:\n"
                + "\n".join([f"  {r.target} {r.motif} ({r.sign}) {r.consensus}: {r.seqlets} seqlets, around position "
                             f"{r.position_median:g}; {r.matches or 'no match'}" for r in df.itertuples()]
                            + [f"  no motif for {note}" for note in df.attrs.get("notes", ())]))
    return f"motifs ({opts.get('method', 'saliency')}): top candidates per class, most enriched first:\n" + "\n".join(
        f"  {r.target}: {r.motif} x{r.count} (at the peak of {r.in_class:.0%} of its class, {r.in_others:.0%} of "
        f"the others; enrichment {r.enrichment:.3g}; mean score {r.mean_score:.3g})"
        for r in df.groupby("target").head(5).itertuples())


def _sum_memory(df, opts):
    from .memory import effective_memory

    span, measured = effective_memory(df), int(df["distance"].max()) + 1
    if span is None:
        return (f"memory: inputs keep 1% of the peak influence up to the farthest distance measured ({measured - 1}): "
                f"effective memory ≥ {measured} positions")
    return f"memory: inputs at distance {span} or more get under 1% of the peak influence: effective memory {span}"


def _sum_window(df, opts):
    from .window import window_summary

    return "window: mean span (back, ahead) holding each share of the attribution mass:\n" + "\n".join(
        f"  {r.mass:.0%}: back {r.back_mean:.1f}, ahead {r.ahead_mean:.1f} (receptive field: back "
        f"{r.rf_back_mean:.1f}, ahead {r.rf_ahead_mean:.1f})" for r in window_summary(df).itertuples())


GATE_COLUMNS = ("id", "layer", "direction", "position", "span_start", "span_end", "unit", "gate", "value")

VIEWS = MappingProxyType({v.name: v for v in (
    View("mutations", "every single-letter substitution: change of the class score and probability", _mutations,
         ("id", "position", "ref", "alt", "delta", "delta_prob", "target"), default_records=20,
         options=("position",), summary=_sum_mutations, max_length=lambda: ism.ISM_MAX_LENGTH),
    View("gates", "gate activations, cell and hidden state per layer, direction, position and unit", _gates,
         GATE_COLUMNS, default_records=10, one_network=True, summary=_sum_gates),
    View("gate-saliency", "how much each gate decides the class score: gradient x activation per gate, unit, "
         "position", _gate_saliency, (*GATE_COLUMNS, "score", "target"), default_records=10, options=("position",),
         one_network=True, summary=_sum_gate_saliency),
    View("gradients", "‖∂C/∂h(t)‖ per layer, direction and step (gradient flow across time)", _gradients,
         ("id", "layer", "direction", "step", "position", "distance", "grad_norm"), options=("labels",),
         one_network=True, summary=_sum_gradients,
         label_columns=("id", "layer", "direction", "t", "s", "distance", "grad_norm")),
    View("motifs", "DNA/RNA: TF-MoDISco motifs of the attribution maps (--method) named by TomTom against JASPAR; "
         "protein (or --kmers): the k-mers at the attribution peaks, most enriched in the class explained first",
         _motifs, KMER_COLUMNS, ("classify",), options=("k", "top", "kmers", *NAMED_OPTIONS), method=True,
         summary=_sum_motifs, columns_of=_motif_columns),
    View("memory", "influence of a position by distance from the end; the effective memory", _memory,
         ("direction", "distance", "influence", "relative", "sequences"), one_network=True, summary=_sum_memory),
    View("window", "labellers: the input span that holds 90%/99% of the attribution around each position "
         "(--method)", _window, ("id", "t", "length", "mass", "back", "ahead", "width", "rf_back", "rf_ahead",
                                 "past_share", "future_share"), ("label",), method=True, summary=_sum_window),
    View("tracks", "a labeller's true and predicted label per position, to align with the gates", _tracks,
         ("id", "position", "letter", "true", "predicted", "probability", "scored", "correct"), ("label",),
         options=("labels",), cli=False),
    View("logo", "the windows within one letter of a motif, as a logo", _logo, (), ("classify",), method=True,
         cli=False),
)})

CLI_VIEWS = MappingProxyType({name: v for name, v in VIEWS.items() if v.cli})


def get_view(name: str) -> View:
    """The registered view ``name``, or an :class:`InputError` listing the known ones."""
    if name not in VIEWS:
        raise InputError(f"unknown view {name!r}; choose one of {', '.join(VIEWS)}")
    return VIEWS[name]
