"""How a run's validation part is chosen, and the rule recorded with the model (a JSON-ready dict).

* ``stratified`` — a stratified random split of ``--val-fraction``; identical sequences stay on one side
  (:func:`bioseq.data.dataset.split_indices`);
* ``homology`` — ``--split-identity X``: the sequences are clustered at identity X
  (:func:`bioseq.data.homology.cluster`), whole clusters go to one side, and the split is checked: the
  validation part is searched against the training part, the clusters of any pair found at X or more
  are merged and the split is redone, until the search finds none. So no validation sequence has a
  training sequence at X or more, as the tool measures identity (:data:`bioseq.data.homology.IDENTITY`);
* ``files`` — validation files were given (``--val``); with ``--split-identity`` the overlap between
  them and the training files is measured and recorded, not changed.

The rule holds ``method`` and, as they apply, ``identity``, ``tool``, ``tool_version``, ``definition``,
``clusters``, ``largest_cluster``, ``rounds``, ``val_fraction``, ``overlap`` and ``seed``.
"""

from __future__ import annotations

from collections import Counter

from ..errors import InputError, ToolError
from .dataset import Dataset, split_indices
from .homology import IDENTITY, TOOL_LABELS, best_hits, choose_tool, cluster, components, search, tool_version

MAX_ROUNDS = 50


def _nucleotide(ds: Dataset) -> bool:
    return ds.alphabet.name != "protein"


def tool_fields(tool: str, identity: float) -> dict:
    return {"identity": identity, "tool": tool, "tool_version": tool_version(tool), "definition": IDENTITY}


def homology_split(ds: Dataset, fraction: float, identity: float, seed: int = 0,
                   tool: str | None = None) -> tuple[Dataset, Dataset, dict]:
    """Split ``ds`` so that no validation sequence has a training sequence at ``identity`` or more.

    Raises :class:`ToolError` without a tool, :class:`InputError` when the clusters leave one side empty.
    """
    nucleotide = _nucleotide(ds)
    tool = choose_tool(nucleotide, identity, tool)
    labels = cluster(ds.seqs, identity, nucleotide, tool)
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        train, val = split_indices(ds, fraction, seed, groups=labels.tolist())
        if not train or not val:
            sizes = Counter(labels.tolist())
            raise InputError(f"at {identity:g} identity the {len(ds)} sequences form {len(sizes)} cluster(s), "
                             f"the largest of {max(sizes.values())}: too few to hold out a validation part. "
                             "Unrelated short sequences reach low identities by chance; raise --split-identity "
                             "or give --val files", ", ".join(ds.files))
        hits = search([ds.seqs[i] for i in val], [ds.seqs[j] for j in train], identity, nucleotide, tool)
        if not hits:
            break
        first: dict[int, int] = {}
        joined = [(i, first.setdefault(int(c), i)) for i, c in enumerate(labels)]
        labels = components(len(ds), joined + [(val[h.query], train[h.target]) for h in hits])
    if hits:
        raise ToolError(f"the homology split did not settle in {MAX_ROUNDS} rounds of merging clusters")
    sizes = Counter(labels.tolist())
    rule = {"method": "homology", **tool_fields(tool, identity), "clusters": len(sizes),
            "largest_cluster": max(sizes.values()), "rounds": rounds, "val_fraction": len(val) / len(ds),
            "seed": seed}
    return ds.subset(train), ds.subset(val), rule


def split(ds: Dataset, fraction: float, seed: int = 0, identity: float | None = None,
          tool: str | None = None) -> tuple[Dataset, Dataset, dict]:
    """``(train, val, rule)``: the homology split with ``identity``, else the stratified one."""
    if identity:
        return homology_split(ds, fraction, identity, seed, tool)
    train, val = split_indices(ds, fraction, seed)
    rule = {"method": "stratified", "val_fraction": len(val) / max(len(ds), 1), "seed": seed}
    return ds.subset(train), ds.subset(val), rule


def files_rule(train: Dataset, val: Dataset, identity: float | None = None, tool: str | None = None) -> dict:
    """The rule for ``--val`` files: with ``identity``, how many of them have a training sequence that close."""
    rule: dict = {"method": "files", "val_fraction": len(val) / max(len(train) + len(val), 1)}
    if identity:
        nucleotide = _nucleotide(train)
        tool = choose_tool(nucleotide, identity, tool)
        found = best_hits(search(val.seqs, train.seqs, identity, nucleotide, tool))
        rule.update(tool_fields(tool, identity), overlap=len(found), checked=len(val))
    return rule


def describe_split(rule: dict | None) -> str:
    """The rule in words, for the model card and ``bioseq info``."""
    if not rule:
        return "not recorded"
    if "folds" in rule:  # cross-validation (bioseq.data.folds)
        kept = {"homology": f"whole homology clusters at {rule.get('identity', 0):.0%} identity",
                "chromosomes": "whole chromosomes"}.get(rule.get("method"), "identical sequences")
        return (f"{rule['folds']}-fold cross-validation, {kept} in one fold"
                + (", classes stratified" if rule.get("stratified") else "") + f" (seed {rule.get('seed')})"
                + (f"; every fold validated on {', '.join(rule['val_chroms'])}" if rule.get("val_chroms") else "")
                + (f"; test chromosomes {', '.join(rule['test_chroms'])} left out ({rule.get('test_records')} "
                   "records)" if rule.get("test_chroms") else ""))
    held = f"{rule.get('val_fraction', 0):.1%} of the records held out"
    method = rule.get("method")
    if rule.get("test_chroms"):
        rest = describe_split({k: v for k, v in rule.items() if k != "test_chroms"})
        test = ", ".join(rule["test_chroms"])
        return f"{rest}; test chromosomes {test} left out ({rule.get('test_records')} records)"
    if method == "chromosomes":
        return f"whole chromosomes held out: validation on {', '.join(rule['val_chroms'])}, {held}"
    if method == "stratified":
        return f"stratified random split, {held}; identical sequences on one side (seed {rule.get('seed')})"
    tool = f"{TOOL_LABELS.get(rule.get('tool'), rule.get('tool'))} {rule.get('tool_version', '')}".strip()
    if method == "homology":
        return (f"homology-aware: no validation sequence is {rule['identity']:.0%} or more identical to a training "
                f"sequence ({rule.get('definition')}; {tool}); {rule.get('clusters')} clusters, the largest "
                f"{rule.get('largest_cluster')}; {held}")
    text = "validation files"
    if "overlap" in rule:
        text += (f"; {rule['overlap']} of {rule['checked']} have a training sequence {rule['identity']:.0%} "
                 f"or more identical ({tool})")
    return text
