"""``bioseq inspect``: saliency, integrated gradients, ISM, gates, gradients, motifs and memory."""

from __future__ import annotations

import argparse


def add_inspect_parser(sub, func) -> None:
    p = sub.add_parser("inspect", help="look inside a trained model (saliency, gates, gradients, ...)")
    p.add_argument("kind", choices=("saliency", "ig", "ism", "gates", "gradients", "motifs", "memory"))
    p.add_argument("model", metavar="MODEL")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT.csv")
    p.add_argument("--class", dest="target", metavar="C")
    p.set_defaults(func=func)


def run_inspect(a: argparse.Namespace) -> int:
    raise NotImplementedError("inspect is being written")
