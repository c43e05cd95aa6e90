"""TF-MoDISco (``modisco-lite``) on a model's attribution maps: the motifs a DNA/RNA model learned.

TF-MoDISco reads, per record, the one-hot input ``(L, 4)`` and the **hypothetical contributions** ``(L, 4)``:
what each letter would contribute at each position, had it been there. :func:`contributions` gives them for
any registered attribution method (:data:`bioseq.interpret.attribution.METHODS`):

* ``saliency`` — the gradient of the class score itself; ``ig`` — the gradient averaged along its path (``steps``);
  both mean-centred over the alphabet at each position by the methods' own simplex correction
  (:func:`~bioseq.interpret.inputs.simplex_centred`, on by default; ``simplex="off"`` gives the raw gradient);
* every other method (ISM, DeepLIFT, GradientSHAP, SmoothGrad, occlusion) — its per-position score on the letter
  that is there and zero on the others (those methods give one score per position, not one per letter).

:func:`discover` pads the records to one length and runs :func:`modiscolite.tfmodisco.TFMoDISco` with windows
sized for short motifs (:data:`SETTINGS`), at most ``max_seqlets`` seqlets per sign, and returns its patterns as
:class:`Pattern` (position probability matrix, contribution weight matrix, seqlets, where they sit), trimmed to
the columns that carry at least :data:`TRIM` of the largest column's contribution. Too few seqlets, records
shorter than its window, or a failure inside TF-MoDISco raise :class:`NoMotifs`, one line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..data.io import Record
from ..errors import BioseqError
from ..model.store import ModelBundle
from .attribution import attribute, get_method
from .inputs import input_gradients, prepared

# TF-MoDISco's settings here (its defaults are sized for 1 kb ChIP-seq windows and 10,000s of seqlets)
SETTINGS = {"sliding_window_size": 11, "flank_size": 5, "trim_to_window_size": 15, "initial_flank_to_add": 5,
            "final_flank_to_add": 0, "min_metacluster_size": 20, "final_min_cluster_size": 20, "n_leiden_runs": 8}
MAX_SEQLETS = 2000  # seqlets per sign (TF-MoDISco's max_seqlets_per_metacluster)
MAX_SEQUENCES = 2000  # records per class explained
TRIM = 0.3  # a pattern keeps the columns with at least this share of its largest column's |contribution|
GRADIENT_METHODS = ("saliency", "ig")  # the methods whose per-letter gradient is their hypothetical contribution


class NoMotifs(BioseqError, ValueError):
    """TF-MoDISco found no motif (too few seqlets, records too short, or it failed): the reason in one line."""


@dataclass
class Pattern:
    """One motif TF-MoDISco found: ``sign`` + (raises the class score) or - (lowers it); ``ppm`` and ``cwm``
    ``(W, 4)`` trimmed; ``seqlets``; ``sequences`` (records with one); ``positions`` the 1-based centre of each
    seqlet in its record (as the model sees it)."""

    name: str
    sign: str
    ppm: np.ndarray
    cwm: np.ndarray
    seqlets: int
    sequences: int
    positions: list[int] = field(default_factory=list)


def _gradients(bundle: ModelBundle, arrays, targets, method: str, options: dict) -> list[np.ndarray]:
    """The gradient (``saliency``) or the path-averaged gradient (``ig``) of the target logit ``(L, K)``; an
    ensemble's is the mean of its members'."""
    if bundle.size > 1:
        each = [_gradients(bundle.member(i), arrays, targets, method, options) for i in range(bundle.size)]
        return [np.mean([e[j] for e in each], axis=0) for j in range(len(arrays))]
    alphas = [1.0] if method == "saliency" else list((np.arange(options["steps"]) + 0.5) / options["steps"])
    total = [np.zeros_like(a, dtype=np.float64) for a in arrays]
    for alpha in alphas:
        grads, _ = input_gradients(bundle, arrays, targets, scale=float(alpha), simplex=options["simplex"])
        for tot, g in zip(total, grads):
            tot += g
    return [t / len(alphas) for t in total]


def contributions(bundle: ModelBundle, records: Sequence[Record], target: str, method: str = "saliency",
                  **options) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The one-hot inputs and the hypothetical contributions ``(L, K)`` of class ``target`` (see the module)."""
    m = get_method(method)
    seqs, arrays = prepared(bundle, records)
    if m.name in GRADIENT_METHODS:
        targets = np.full(len(arrays), bundle.classes.index(target), dtype=np.int64)
        return arrays, _gradients(bundle, arrays, targets, m.name, m.parse(options))
    a = attribute(bundle, records, m.name, target, **options)
    return arrays, [s[:, None] * x for s, x in zip(a.scores, arrays)]


def _trim(cwm: np.ndarray) -> slice:
    weight = np.abs(cwm).sum(1)
    keep = np.flatnonzero(weight >= TRIM * weight.max()) if weight.max() > 0 else np.arange(len(weight))
    return slice(int(keep[0]), int(keep[-1]) + 1)


def _pattern(p, name: str, sign: str, lengths: Sequence[int]) -> Pattern:
    cwm = np.asarray(p.contrib_scores, dtype=np.float64)
    cut = _trim(cwm)
    mid = (cut.start + cut.stop) / 2
    positions = []
    for s in p.seqlets:
        centre = s.end - mid if s.is_revcomp else s.start + mid
        positions.append(int(np.clip(int(centre) + 1, 1, lengths[s.example_idx])))
    return Pattern(name, sign, np.asarray(p.sequence, dtype=np.float64)[cut], cwm[cut], len(p.seqlets),
                   len({s.example_idx for s in p.seqlets}), positions)


def check_lengths(lengths: Sequence[int]) -> None:
    """Refuse, in one line, records that are all shorter than TF-MoDISco's window and flanks."""
    need = SETTINGS["sliding_window_size"] + 2 * SETTINGS["flank_size"]
    if not len(lengths) or max(lengths) < need:
        raise NoMotifs(f"TF-MoDISco needs records of at least {need} letters (its window and flanks); "
                       f"the longest here has {max(lengths, default=0)}")


def discover(onehots: Sequence[np.ndarray], hyps: Sequence[np.ndarray], max_seqlets: int = MAX_SEQLETS
             ) -> tuple[list[Pattern], float]:
    """TF-MoDISco's patterns of these records (positive first, each by size) and the seconds it took."""
    lengths = [len(x) for x in onehots]
    check_lengths(lengths)
    x = np.zeros((len(onehots), max(lengths), onehots[0].shape[1]), dtype=np.float32)
    h = np.zeros_like(x)
    for i, (o, hy) in enumerate(zip(onehots, hyps)):
        x[i, : len(o)], h[i, : len(o)] = o, hy
    from modiscolite.tfmodisco import TFMoDISco

    start = time.perf_counter()
    try:
        found = TFMoDISco(x, h, max_seqlets_per_metacluster=int(max_seqlets), **SETTINGS)
    except Exception as e:  # noqa: BLE001 - its failures on small inputs are many and undocumented: one line
        raise NoMotifs(f"TF-MoDISco failed on {len(onehots)} records ({type(e).__name__}: {e})") from None
    seconds = time.perf_counter() - start
    patterns = [_pattern(p, f"{tag}_{i + 1}", sign, lengths)
                for (tag, sign), found_sign in zip((("pos", "+"), ("neg", "-")), found)
                for i, p in enumerate(found_sign or [])]
    return patterns, seconds
