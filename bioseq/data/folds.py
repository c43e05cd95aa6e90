"""Cross-validation folds: which of K folds each record is tested in (``bioseq cv``, :mod:`bioseq.training.cv`).

* **Groups stay whole.** Identical sequences (case-insensitive) are one group; with ``identity`` (``--split-identity
  X``) the sequences are clustered at X (:func:`bioseq.data.homology.cluster`) and the folds are checked as the
  homology split checks its validation part (:mod:`bioseq.data.splits`): each fold is searched against the other
  folds, the clusters of any pair found at X or more are merged and the folds are dealt again, until the search
  finds none. So no test sequence has a training sequence at X or more in the other folds.
* **Stratified.** Each class (a group's class is its first record's) is dealt on its own: its groups, largest first
  (equal sizes in a random order of the seed), each go to the fold with the fewest records of that class so far,
  then the fewest records overall, then the lowest number. With single-record groups every fold holds
  ``floor(n_c / K)`` or ``ceil(n_c / K)`` records of class c. A labeller's records are one stratum.
* **By chromosome** (genome regions, ``--fold-by chrom``: :func:`chromosome_folds`): each chromosome is one group,
  dealt as above in one stratum (largest first to the fold with the fewest records), so every fold is a set of
  whole chromosomes, the genomics norm for held-out data.

Folds are numbered 0..K-1; :func:`assign_folds` returns one fold number per record, ``(N,)`` int64.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..errors import InputError, ToolError
from .dataset import group_ids
from .homology import choose_tool, cluster, components, search
from .splits import MAX_ROUNDS, tool_fields


def assign_folds(strata: Sequence[int], groups: Sequence, k: int, seed: int = 0) -> np.ndarray:
    """One fold (0..k-1) per record: whole ``groups`` (one key per record), each stratum dealt evenly (see the
    module docstring). Raises ``ValueError`` when there are fewer groups than folds."""
    gid = group_ids(groups if isinstance(groups, np.ndarray) else list(groups))
    n_groups = int(gid.max()) + 1 if len(gid) else 0
    if k < 2 or n_groups < k:
        raise ValueError(f"{n_groups} group(s) cannot fill {k} folds")
    first = np.full(n_groups, len(gid), dtype=np.int64)
    np.minimum.at(first, gid, np.arange(len(gid)))
    size, group_stratum = np.bincount(gid, minlength=n_groups), np.asarray(strata)[first]
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n_groups, dtype=np.int64)
    total = np.zeros(k, dtype=np.int64)
    for c in np.unique(group_stratum):
        mine = np.flatnonzero(group_stratum == c)
        mine = mine[rng.permutation(len(mine))]
        mine = mine[np.argsort(-size[mine], kind="stable")]  # largest first, equal sizes in the seed's order
        have = np.zeros(k, dtype=np.int64)
        for g in mine:
            f = min(range(k), key=lambda j: (have[j], total[j], j))
            fold_of[g] = f
            have[f] += size[g]
            total[f] += size[g]
    return fold_of[gid]


def make_folds(seqs: Sequence[str], strata: Sequence[int], k: int, seed: int = 0, identity: float | None = None,
               nucleotide: bool = True, tool: str | None = None, where: str = "") -> tuple[np.ndarray, dict]:
    """``(fold per record, rule)``: identical sequences kept together, or with ``identity`` whole homology
    clusters, checked by search (module docstring). The rule is a JSON-ready dict (``method`` ``grouped`` or
    ``homology``, ``folds``, ``seed``, ``stratified`` and for homology folds the tool, clusters and rounds).
    :class:`InputError` (naming ``where``, the files) when the data cannot fill ``k`` folds."""
    common = {"folds": k, "seed": seed, "stratified": len(set(np.asarray(strata).tolist())) > 1}
    if not identity:
        return _dealt(strata, [s.upper() for s in seqs], k, seed, len(seqs), "identical sequences", where), {
            "method": "grouped", **common}
    tool = choose_tool(nucleotide, identity, tool)
    labels = cluster(list(seqs), identity, nucleotide, tool)
    for rounds in range(1, MAX_ROUNDS + 1):
        folds = _dealt(strata, labels.tolist(), k, seed, len(seqs), f"clusters at {identity:g} identity", where)
        pairs = []
        for f in range(k):
            test, rest = np.flatnonzero(folds == f), np.flatnonzero(folds != f)
            hits = search([seqs[i] for i in test], [seqs[j] for j in rest], identity, nucleotide, tool)
            pairs += [(int(test[h.query]), int(rest[h.target])) for h in hits]
        if not pairs:
            sizes = Counter(labels.tolist())
            return folds, {"method": "homology", **tool_fields(tool, identity), "clusters": len(sizes),
                           "largest_cluster": max(sizes.values()), "rounds": rounds, **common}
        first: dict[int, int] = {}
        joined = [(i, first.setdefault(int(c), i)) for i, c in enumerate(labels)]
        labels = components(len(seqs), joined + pairs)
    raise ToolError(f"the homology folds did not settle in {MAX_ROUNDS} rounds of merging clusters")


def _dealt(strata, groups: list, k: int, seed: int, n: int, what: str, where: str) -> np.ndarray:
    try:
        return assign_folds(strata, groups, k, seed)
    except ValueError:
        found = len(set(groups))
        raise InputError(f"{n} records form {found} group(s) of {what}: too few for {k} folds; give fewer --folds "
                         "(at least 2)" + (", or raise --split-identity" if "clusters" in what else "")
                         + (", or fold by record (drop --fold-by chrom)" if what == "chromosomes" else ""),
                         where) from None


def chromosome_folds(chroms: Sequence[str], k: int, seed: int = 0, where: str = "") -> tuple[np.ndarray, dict]:
    """``(fold per record, rule)`` with whole chromosomes in a fold (``chroms``: each record's chromosome); the rule
    (``method`` ``chromosomes``) lists each fold's chromosomes. :class:`InputError` (naming ``where``) when there
    are fewer chromosomes than folds."""
    folds = _dealt(np.zeros(len(chroms), dtype=np.int64), list(chroms), k, seed, len(chroms), "chromosomes", where)
    per_fold = [sorted({c for c, f in zip(chroms, folds) if f == j}) for j in range(k)]
    return folds, {"method": "chromosomes", "folds": k, "seed": seed, "stratified": False, "fold_chroms": per_fold}
