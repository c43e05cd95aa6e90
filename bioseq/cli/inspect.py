"""``bioseq inspect KIND MODEL FILE…``: tidy long-format CSV plus a short text summary.

Kinds and their minimum columns:

* ``saliency`` — id, position, letter, saliency (gradient × input summed over the alphabet), target
* ``ig`` — id, position, letter, ig, target (integrated gradients)
* ``ism`` — id, position, ref, alt, delta, delta_prob, target (every single-letter substitution)
* ``gates`` — id, layer, direction, position, span_start, span_end, unit, gate, value
* ``gradients`` — id, layer, direction, step, position, distance, grad_norm (‖∂C/∂h(t)‖)
* ``motifs`` — target, motif, count, mean_score, sequences
* ``memory`` — distance, influence, relative, sequences

The CSV goes to ``-o`` (written atomically) or standard output; the summary goes to standard error.
"""

from __future__ import annotations

import argparse
import itertools
import sys

import pandas as pd

from ..errors import InputError
from ..workspace import atomic_write

KINDS = ("saliency", "ig", "ism", "gates", "gradients", "motifs", "memory")
DEFAULT_MAX = {"gates": 10, "ism": 20}


def add_inspect_parser(sub, func) -> None:
    p = sub.add_parser("inspect", help="look inside a trained model (saliency, gates, gradients, ...)",
                       description="Compute one view of a trained model on sequence files: " + ", ".join(KINDS)
                       + ". Writes a tidy CSV (see README) and prints a short summary.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("model", metavar="MODEL", help="model file or registry name")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="output CSV (default or '-': standard output)")
    p.add_argument("--class", dest="target", metavar="C", help="explain this class (default: the predicted one)")
    p.add_argument("--k", type=int, default=6, help="motif length for 'motifs' (6)")
    p.add_argument("--top", type=int, default=20, help="motifs per class (20)")
    p.add_argument("--steps", type=int, default=32, help="integration steps for 'ig' (32)")
    p.add_argument("--max-records", type=int, help="use at most this many records (default: all; "
                   "gates 10, ism 20)")
    p.set_defaults(func=func)


def _summary(kind: str, df: pd.DataFrame, extra: dict) -> str:
    if df.empty:
        return f"{kind}: no rows"
    if kind in ("saliency", "ig"):
        col = "saliency" if kind == "saliency" else "ig"
        top = df.loc[df.groupby("id")[col].idxmax()].head(10)
        lines = [f"{kind}: {df['id'].nunique()} sequences; highest-scoring position per sequence:"]
        lines += [f"  {r.id}: position {r.position} {r.letter} ({getattr(r, col):.3g}, class {r.target})"
                  for r in top.itertuples()]
        return "\n".join(lines)
    if kind == "ism":
        worst = df.nsmallest(5, "delta")
        return "ism: strongest loss-of-score substitutions:\n" + "\n".join(
            f"  {r.id}: {r.ref}{r.position}{r.alt} delta {r.delta:.3g} (prob {r.delta_prob:+.3f})"
            for r in worst.itertuples())
    if kind == "gates":
        g = df.groupby(["layer", "direction", "gate"])["value"].agg(["mean", "min", "max"]).reset_index()
        return "gates: mean (min..max) per layer, direction and gate:\n" + "\n".join(
            f"  L{r.layer} {r.direction:<7} {r.gate:<9} {r.mean:.3f} ({r.min:.3f}..{r.max:.3f})"
            for r in g.itertuples())
    if kind == "gradients":
        from ..interpret.time_gradients import time_profile

        prof = time_profile(df)
        lines = ["gradients: mean ‖∂C/∂h(t)‖ by distance from the read-out (near, far):"]
        for (layer, direction), g in prof.groupby(["layer", "direction"]):
            near, far = g.iloc[0], g.iloc[-1]
            lines.append(f"  L{layer} {direction:<7} d={int(near.distance)}: {near.grad_norm:.3g}  "
                         f"d={int(far.distance)}: {far.grad_norm:.3g}")
        return "\n".join(lines)
    if kind == "motifs":
        return "motifs: top candidates per class:\n" + "\n".join(
            f"  {r.target}: {r.motif} x{r.count} (mean score {r.mean_score:.3g})"
            for r in df.groupby("target").head(5).itertuples())
    return (f"memory: influence falls below 1% of its peak at distance {extra.get('effective_memory')} "
            f"(None = never, within {int(df['distance'].max()) + 1} positions)")


def compute(kind: str, bundle, records, a: argparse.Namespace) -> tuple[pd.DataFrame, dict]:
    from ..interpret import attribution, gates, ism, memory, motifs, time_gradients

    if kind == "saliency":
        return attribution.saliency(bundle, records, a.target), {}
    if kind == "ig":
        return attribution.integrated_gradients(bundle, records, a.target, steps=a.steps), {}
    if kind == "ism":
        seen = attribution.prepared_lengths(bundle, records)  # after the model's own cut (--max-length)
        fits = [r for r, n in zip(records, seen) if n <= ism.ISM_MAX_LENGTH]
        if not fits:
            raise InputError(f"every record is longer than the ISM limit of {ism.ISM_MAX_LENGTH} letters",
                             records[0].file)
        if len(fits) < len(records):
            print(f"ism: skipped {len(records) - len(fits)} records longer than {ism.ISM_MAX_LENGTH}",
                  file=sys.stderr)
        return pd.concat([ism.ism(bundle, r, a.target) for r in fits], ignore_index=True), {}
    if kind == "gates":
        return gates.gate_table(bundle, records), {}
    if kind == "gradients":
        return time_gradients.time_gradients(bundle, records, a.target), {}
    if kind == "motifs":
        return motifs.motifs(bundle, records, k=a.k, top=a.top, target=a.target), {}
    curve = memory.memory_curve(bundle, records, a.target)
    return curve, {"effective_memory": memory.effective_memory(curve)}


def run_inspect(a: argparse.Namespace) -> int:
    from ..data.io import read_many
    from ..interpret.attribution import target_index
    from ..model.store import load_model, resolve
    from ..prediction.predict import check_alphabet

    bundle = load_model(resolve(a.model))
    target_index(bundle, a.target)  # an unknown --class is an error for every kind, gates included
    limit = a.max_records or DEFAULT_MAX.get(a.kind)
    records = list(itertools.islice(read_many(a.files), limit))
    check_alphabet(bundle, records)
    df, extra = compute(a.kind, bundle, records, a)
    if a.output in (None, "-"):
        df.to_csv(sys.stdout, index=False)
    else:
        atomic_write(a.output, lambda tmp: df.to_csv(tmp, index=False))
    print(_summary(a.kind, df, extra), file=sys.stderr)
    return 0
