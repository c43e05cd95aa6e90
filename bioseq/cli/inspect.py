"""``bioseq inspect KIND MODEL FILE…``: tidy long-format CSV plus a short text summary.

Kinds and their minimum columns:

* every attribution method of :data:`bioseq.interpret.attribution.METHODS` (``saliency``, ``ig``,
  ``ism``, ``deeplift``, ``gradientshap``, ``smoothgrad``, ``occlusion``, ...) — id, position, letter,
  score, method, target; the method's options are flags (``--steps``, ``--window``, ...), their help
  and defaults come from the registry;
* ``mutations`` — id, position, ref, alt, delta, delta_prob, target (every single-letter substitution)
* ``gates`` — id, layer, direction, position, span_start, span_end, unit, gate, value
* ``gate-saliency`` — id, layer, direction, position, span_start, span_end, unit, gate, value, score, target
  (gradient × activation of the class score for every gate, unit and position)
* ``gradients`` — id, layer, direction, step, position, distance, grad_norm (‖∂C/∂h(t)‖)
* ``motifs`` — a DNA/RNA model: target, motif, sign, consensus, seqlets, sequences, match_id, match_name,
  match_family, q_value, p_value, matches, position_median, position_q1, position_q3, width, ppm, positions
  (TF-MoDISco on the maps of ``--method``, TomTom against JASPAR: ``--jaspar-release``, ``--jaspar-collection``,
  ``--jaspar-taxa``, or ``--motifs-file``; ``--meme-out`` writes the motifs as a MEME file; ``--top`` keeps that
  many per class; ``--k`` is ignored, said on standard error); a protein model, or ``--kmers``: target, motif,
  count, mean_score, sequences, in_class, in_others, enrichment (most enriched in the class explained first)
* ``memory`` — distance, influence, relative, sequences
* ``window`` (labellers) — id, t, length, mass, back, ahead, width, rf_back, rf_ahead, past_share, future_share
  (the span holding 90% / 99% of the attribution mass around each position, ``--method``)

A labeller (one label per position) is explained at ``--position T`` by the attribution kinds,
``mutations`` and ``gate-saliency``; its ``gradients`` are G[t, s] = ‖∂C(t)/∂h(s)‖ (id, layer, direction,
t, s, distance, grad_norm; the true labels of a three-line FASTA when given, else the predicted ones) and
its ``memory`` is counted from each position (direction past / future). Three-line FASTA files are read as sequences
with their label strings.

The CSV (``--json``: JSON records) goes to ``-o`` (written atomically) or standard output; the summary goes to
standard error.
``--device`` (default ``auto``, a GPU when there is one, for the batched methods saliency and ig; ``cpu`` for
the other kinds unless given) and ``--batch-size`` (saliency and ig) choose where and how many at a time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..interpret import attribution, jaspar, modisco
from ..interpret.views import CLI_VIEWS, KMER_DEFAULTS, named
from ..outputs import check_output, json_text, write_output
from .device import add_device_arguments

KINDS = (*attribution.METHODS, *CLI_VIEWS)


def _kind_help() -> str:
    rows = [(m.name, f"{m.label}: {m.help}") for m in attribution.METHODS.values()] + \
        [(v.name, v.help) for v in CLI_VIEWS.values()]
    return "kinds:\n" + "\n".join(f"  {name:<13} {text}" for name, text in rows)


def _max_records(kind: str) -> int | None:
    return (attribution.METHODS.get(kind) or CLI_VIEWS[kind]).default_records


def add_inspect_arguments(p, func) -> None:
    p.description = ("Compute one view of a trained model on sequence files. Writes a tidy CSV (see docs/inspect.md) "
                     "and prints a short summary.")
    p.epilog, p.formatter_class = _kind_help(), argparse.RawDescriptionHelpFormatter
    p.add_argument("kind", choices=KINDS, metavar="KIND", help="one of: " + ", ".join(KINDS))
    p.add_argument("model", metavar="MODEL", help="model file or registry name")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="output CSV (default or '-': standard output)")
    p.add_argument("--class", dest="target", metavar="C", help="explain this class (default: the predicted one)")
    p.add_argument("--method", default="saliency", choices=list(attribution.METHODS),
                   help="attribution method for 'motifs' (saliency)")
    p.add_argument("--position", type=int, metavar="T",
                   help="labellers: the 1-based position whose label the attribution kinds, mutations and "
                   "gate-saliency explain")
    p.add_argument("--k", type=int, help=f"k-mer length for 'motifs' --kmers or a protein model "
                   f"({KMER_DEFAULTS['k']}); a DNA/RNA model's named motifs ignore it")
    p.add_argument("--top", type=int, help=f"motifs per class for 'motifs': the k-mers ({KMER_DEFAULTS['top']}) "
                   "or the named motifs (all)")
    _motif_arguments(p)
    uses: dict[str, list] = {}
    for m in attribution.METHODS.values():
        for o in m.options:
            uses.setdefault(o.name, []).append((m, o))
    for name, pairs in uses.items():
        same: dict[tuple, list[str]] = {}  # methods that share the option's help and default
        for m, o in pairs:
            same.setdefault((o.help, o.default), []).append(m.name)
        p.add_argument(f"--{name}", type=type(pairs[0][1].default), metavar=name.upper(),
                       help="; ".join(f"{', '.join(ms)}: {h}, default {d}" for (h, d), ms in same.items()))
    p.add_argument("--member", type=int, metavar="N", help="ensembles: look inside member N (1-based). Gates, "
                   "gate-saliency, gradients and memory show one member (default 1); attribution methods average "
                   "over the members unless --member is given")
    limits = ", ".join(f"{k} {_max_records(k)}" for k in KINDS if _max_records(k))
    p.add_argument("--max-records", type=int, help=f"use at most this many records (default: all; {limits})")
    batched = ", ".join(m.name for m in attribution.METHODS.values() if m.batched)
    add_device_arguments(p, f"{batched}: records per forward and backward pass (64)", device_default=None,
                         device_note=f"; default: auto for {batched}, cpu for the other kinds")
    p.set_defaults(func=func)


def _motif_arguments(p) -> None:
    """The options of ``motifs`` on a DNA/RNA model: TF-MoDISco, the JASPAR reference, the outputs."""
    g = p.add_argument_group("motifs of a DNA/RNA model (TF-MoDISco, named against JASPAR)")
    g.add_argument("--kmers", action="store_true", help="the k-mer enrichment table instead (as for a protein model)")
    g.add_argument("--jaspar-release", metavar="YEAR", help=f"JASPAR release inside pyjaspar ({jaspar.RELEASE}; "
                   f"{', '.join(jaspar.releases())})")
    g.add_argument("--jaspar-collection", metavar="NAME", help=f"JASPAR collection ({jaspar.COLLECTION})")
    g.add_argument("--jaspar-taxa", choices=jaspar.TAXA, help="JASPAR matrices of vertebrates (default) or of all "
                   "taxonomic groups")
    g.add_argument("--motifs-file", metavar="FILE.meme", help="match against the motifs of this MEME file instead "
                   "of JASPAR")
    g.add_argument("--max-seqlets", type=int, metavar="N", help=f"TF-MoDISco seqlets per sign ({modisco.MAX_SEQLETS})"
                   f"; at most {modisco.MAX_SEQUENCES} records per class explained are read")
    g.add_argument("--meme-out", metavar="OUT.meme", help="also write the motifs found as a MEME file")
    p.add_argument("--json", action="store_true", help="write the table as JSON records instead of CSV")


def _summary(kind: str, df: pd.DataFrame, options: dict) -> str:
    if df.empty:
        return f"{kind}: no rows"
    if kind in CLI_VIEWS:
        return CLI_VIEWS[kind].summary(df, options)
    top = df.loc[df.groupby("id", sort=False)["score"].idxmax()].head(10)
    lines = [f"{kind} ({attribution.METHODS[kind].label}): {df['id'].nunique()} sequences; "
             "highest-scoring position per sequence:"]
    lines += [f"  {r.id}: position {r.position} {r.letter} ({r.score:.3g}, class {r.target})" for r in top.itertuples()]
    return "\n".join(lines)


def _within(kind: str, bundle, records, limit: int | None) -> list:
    """The records the model sees at most ``limit`` letters of (after its own cut, ``--max-length``)."""
    if limit is None:
        return records
    seen = attribution.prepared_lengths(bundle, records)
    fits = [r for r, n in zip(records, seen) if n <= limit]
    if not fits:
        raise InputError(f"{kind}: every record is longer than the limit of {limit} letters", records[0].file)
    if len(fits) < len(records):
        print(f"{kind}: skipped {len(records) - len(fits)} records longer than {limit}", file=sys.stderr)
    return fits


def _options(method: str, a: argparse.Namespace) -> dict:
    """The method's options given on the command line (the others keep the registry's defaults)."""
    given = ((o.name, getattr(a, o.name, None)) for o in attribution.get_method(method).options)
    return {name: value for name, value in given if value is not None}


def compute(kind: str, bundle, records, a: argparse.Namespace, labels: list | None = None
            ) -> tuple[pd.DataFrame, dict]:
    """The table of ``kind`` and the options it ran with (the summary reads them)."""
    if kind in attribution.METHODS:
        fits = _within(kind, bundle, records, attribution.METHODS[kind].max_length)
        return attribution.explain(bundle, fits, kind, a.target, a.position, batch_size=a.batch_size,
                                   **_options(kind, a)), {}
    view = CLI_VIEWS[kind]
    view.check(bundle)
    given = {"labels": labels, **{name: getattr(a, name) for name in view.options if name != "labels"}}
    opts = {name: given[name] for name in view.options}
    if view.method:
        opts.update(method=a.method, **_options(a.method, a))
    return view.table(bundle, _within(kind, bundle, records, view.limit(opts)), a.target, **opts), opts


def _member(bundle, a: argparse.Namespace):
    """The ensemble member ``--member`` chooses (1-based); member 1 for the one-network views by default."""
    if a.member is None and (bundle.size == 1 or not getattr(CLI_VIEWS.get(a.kind), "one_network", False)):
        return bundle
    n = 1 if a.member is None else a.member
    if not 1 <= n <= bundle.size:
        raise InputError(f"--member {n}: {bundle.name} has {bundle.size} member(s), numbered 1 to {bundle.size}")
    if bundle.size > 1:
        print(f"{a.kind}: member {n} of {bundle.size} (--member chooses another)", file=sys.stderr)
    return bundle.member(n - 1)


def _json(df: pd.DataFrame) -> str:
    """The table as JSON records (missing values null); the columns ``df.attrs["json_columns"]`` names hold JSON
    text (a motif's matrix, its positions) and are written as JSON, not as strings."""
    rows = json.loads(df.to_json(orient="records"))
    for row in rows:
        for col in df.attrs.get("json_columns", ()):
            row[col] = json.loads(row[col])
    return json_text(rows) + "\n"


def run_inspect(a: argparse.Namespace) -> int:
    from ..data.io import read_many
    from ..data.position_labels import looks_three_line, read_three_line
    from ..interpret.named_motifs import meme_bytes
    from ..prediction.predict import check_alphabet
    from ..task import task_of
    from .device import load

    batched = a.kind in attribution.METHODS and attribution.METHODS[a.kind].batched
    bundle = _member(load(a.model, a.device or ("auto" if batched else "cpu")), a)
    inputs = (a.files, bundle.path)
    if a.meme_out and (a.kind != "motifs" or a.kmers):
        raise InputError("--meme-out needs the motifs of a DNA/RNA model ('motifs' without --kmers)")
    for out in (a.output, a.meme_out):
        if out not in (None, "-"):
            check_output(out, inputs)  # before any work
    attribution.target_index(bundle, a.target)  # an unknown --class is an error for every kind, gates included
    limit = a.max_records or _max_records(a.kind)
    labels = None
    if task_of(bundle).per_position and all(looks_three_line(f) for f in a.files):
        pairs = list(itertools.islice((p for f in a.files for p in read_three_line(f)), limit))
        records, labels = [r for r, _ in pairs], [lab for _, lab in pairs]
    else:
        records = list(itertools.islice(read_many(a.files), limit))
    check_alphabet(bundle, records)
    if a.kind == "motifs" and a.k is not None and named(bundle, {"kmers": a.kmers}):
        print(f"motifs: --k {a.k} ignored: it is the k-mer length of --kmers; TF-MoDISco sizes the named motifs",
              file=sys.stderr)
    df, options = compute(a.kind, bundle, records, a, labels)
    if a.meme_out and "ppm" not in df.columns:
        raise InputError("--meme-out needs the motifs of a DNA/RNA model ('motifs' without --kmers)")
    if a.output in (None, "-"):
        sys.stdout.write(_json(df)) if a.json else df.to_csv(sys.stdout, index=False)
    else:
        write_output(a.output, (lambda tmp: Path(tmp).write_text(_json(df))) if a.json
                     else (lambda tmp: df.to_csv(tmp, index=False)), inputs)
    if a.meme_out:
        write_output(a.meme_out, lambda tmp: Path(tmp).write_bytes(meme_bytes(df)), inputs)
    print(_summary(a.kind, df, options), file=sys.stderr)
    return 0
