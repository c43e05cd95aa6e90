"""Leakage: the share of validation sequences that have a nearly identical training sequence.

A validation sequence with a near copy in the training data measures memory, not generalisation.
:func:`leakage` counts them, by the best method at hand, and says which it used:

* ``mmseqs`` / ``cd-hit`` — a training sequence at :data:`LEAK_IDENTITY` (90%) identity or more, as
  :mod:`bioseq.data.homology` measures it (identical positions / the shorter length);
* ``k-mer`` — when neither tool is installed: a training sequence that holds at least
  :data:`KMER_SHARE` of the distinct k-mers (k = :data:`KMER` letters) of the shorter of the two.
  Substitutions at 10% keep about 0.9^k of the k-mers: 43% for DNA (k = 8), 66% for protein (k = 4),
  so 0.4 stands for roughly 89% (DNA) or 80% (protein) identity; approximate by design. An exact
  duplicate always counts.

The result is a JSON-ready dict: ``method, identity, count, checked, share, examples`` (up to
:data:`EXAMPLES` pairs ``{"val", "train", "similarity"}`` by id), plus ``note`` when a tool failed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from ..errors import ToolError
from .homology import IDENTITY, TOOL_LABELS, available, best_hits, search

LEAK_IDENTITY = 0.9
KMER = {"nucleotide": 8, "protein": 4}
KMER_SHARE = 0.4
EXAMPLES = 10
MAX_KMERS = 20_000_000  # k-mer postings of the training data the k-mer check indexes at most


def _kmers(seq: str, k: int) -> set[str]:
    s = seq.upper().replace("U", "T")
    return {s[i:i + k] for i in range(len(s) - k + 1)} or {s}


def kmer_hits(train: Sequence[str], val: Sequence[str], k: int, share: float = KMER_SHARE) -> dict[int, tuple]:
    """``{val index: (train index, share of shared k-mers)}`` for the best training match at ``share`` or more."""
    index: dict[str, list[int]] = defaultdict(list)
    sets = [_kmers(s, k) for s in train]
    if sum(map(len, sets)) > MAX_KMERS:
        raise ToolError(f"the training data has more than {MAX_KMERS:,} k-mers: too many for the k-mer check")
    for j, km in enumerate(sets):
        for x in km:
            index[x].append(j)
    found = {}
    for i, s in enumerate(val):
        mine = _kmers(s, k)
        shared = Counter(j for x in mine for j in index.get(x, ()))
        best = max(((n / min(len(mine), len(sets[j])), j) for j, n in shared.items()), default=(0.0, -1))
        if best[0] >= share:
            found[i] = (best[1], best[0])
    return found


def leakage(train_ids: Sequence[str], train_seqs: Sequence[str], val_ids: Sequence[str], val_seqs: Sequence[str],
            nucleotide: bool, identity: float = LEAK_IDENTITY, tool: str | None = None) -> dict:
    """How many validation sequences have a near copy in the training data (see the module docstring)."""
    note = ""
    method = tool or next((t for t in ("mmseqs", "cd-hit") if available(t)), "k-mer")
    found: dict[int, tuple] = {}
    if method != "k-mer":
        try:
            found = {q: (h.target, h.identity) for q, h in best_hits(search(val_seqs, train_seqs, identity,
                                                                          nucleotide, method)).items()}
        except ToolError as e:
            method, note = "k-mer", f"{method} could not run ({e}); k-mer check instead"
    if method == "k-mer":
        try:
            found = kmer_hits(train_seqs, val_seqs, KMER["nucleotide" if nucleotide else "protein"])
        except ToolError as e:
            method, note = "exact duplicates", str(e)
            exact = {s.upper(): j for j, s in enumerate(train_seqs)}
            found = {i: (exact[s.upper()], 1.0) for i, s in enumerate(val_seqs) if s.upper() in exact}
    examples = [{"val": val_ids[i], "train": train_ids[j], "similarity": round(float(v), 4)}
                for i, (j, v) in sorted(found.items(), key=lambda kv: -kv[1][1])[:EXAMPLES]]
    out = {"method": method, "identity": identity if method in ("mmseqs", "cd-hit") else None,
           "count": len(found), "checked": len(val_seqs), "share": len(found) / max(len(val_seqs), 1),
           "examples": examples}
    return {**out, "note": note} if note else out


def fold_leakage(rule: dict) -> str:
    """What cross-validation folds guarantee about leakage, in words: homology-aware folds (``--split-identity``)
    carry the guarantee, with its identity and tool; other folds are not homology-aware."""
    if rule.get("method") == "homology":
        tool = f"{TOOL_LABELS.get(rule.get('tool'), rule.get('tool'))} {rule.get('tool_version') or ''}".strip()
        return (f"none at {rule['identity']:.0%} identity or more, by construction: homology-aware folds (no test "
                f"sequence has a training sequence {rule['identity']:.0%} or more identical in the other folds; "
                f"{rule.get('definition') or IDENTITY}; {tool}, checked by search)")
    kept = "whole chromosomes" if rule.get("method") == "chromosomes" else "identical sequences"
    return (f"folds not homology-aware (only {kept} kept in one fold; similar sequences in other folds not "
            "checked: give --split-identity for homology-aware folds)")


def describe_leakage(leak: dict | None, split: dict | None = None) -> str:
    """The leakage result in words, for the model card; for a cross-validation model (no leakage result, a fold
    rule in ``split``: :mod:`bioseq.data.folds`) what its folds guarantee."""
    if not leak:
        return fold_leakage(split) if split and "folds" in split else "not measured"
    how = {"k-mer": f"sharing {KMER_SHARE:.0%} of their k-mers (k-mer check; MMseqs2 and CD-HIT not installed)",
           "exact duplicates": "identical (exact duplicates only)"}.get(
        leak["method"], f"{leak.get('identity') or LEAK_IDENTITY:.0%} or more identical "
                        f"({TOOL_LABELS.get(leak['method'], leak['method'])})")
    return (f"{leak['count']} of {leak['checked']} validation sequences ({leak['share']:.1%}) have a training "
            f"sequence {how}")
