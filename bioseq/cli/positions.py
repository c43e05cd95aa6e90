"""``bioseq evaluate`` for a labeller: per-position, per-label, segment and per-sequence metrics, printed."""

from __future__ import annotations

import argparse
import json
import math


def _fmt(v) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def print_position_evaluation(bundle, a: argparse.Namespace) -> int:
    from ..prediction.positions import evaluate_position_files

    ev = evaluate_position_files(bundle, a.files, labels_fasta=a.labels_fasta, mask=a.mask,
                                 ignore_label=a.ignore_label)
    name = ev.accuracy_name
    if a.json:
        print(json.dumps({**ev.metrics, "accuracy_name": name, "labels": ev.labels, "per_label": ev.per_label,
                          "confusion": ev.confusion, "per_sequence_accuracy_quantiles":
                          {str(q): v for q, v in ev.quantiles().items()}}, indent=1, default=float))
        return 0
    m = ev.metrics
    print(f"{'records':<22} {m['n']}")
    print(f"{'scored positions':<22} {m['positions']}")
    print(f"{name + ' (per position)':<22} {_fmt(m['accuracy'])}")
    for k in ("balanced_accuracy", "mcc", "f1", "sov"):
        print(f"{k if k != 'f1' else 'macro F1':<22} {_fmt(m[k])}")
    print("\nper label        positions  precision  recall     F1         segments  seg-prec   seg-rec    "
          "seg-F1     SOV")
    for r in ev.per_label:
        print(f"{r['label']:<16} {r['positions']:<10} {_fmt(r['precision']):<10} {_fmt(r['recall']):<10} "
              f"{_fmt(r['f1']):<10} {r['true_segments']:<9} {_fmt(r['segment_precision']):<10} "
              f"{_fmt(r['segment_recall']):<10} {_fmt(r['segment_f1']):<10} {_fmt(r['sov'])}")
    print(f"\nconfusion (rows true, columns predicted: {', '.join(ev.labels)}): {ev.confusion}")
    q = ev.quantiles()
    print(f"per-sequence {name}: " + "  ".join(
        f"{'min' if k == 0 else 'max' if k == 1 else f'q{round(100 * k)}'} {_fmt(v)}" for k, v in q.items()))
    return 0
