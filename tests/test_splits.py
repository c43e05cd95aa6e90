"""Splits: with --split-identity no validation sequence has a training sequence that close (checked by an
independent aligner on hand-made families), the rule is recorded, and the plain split would leak."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from _families import crossing_pairs, families

from bioseq.app.cards import model_card
from bioseq.data.alphabets import DNA, PROTEIN
from bioseq.data.dataset import Dataset, split_dataset
from bioseq.data.source import DataOptions
from bioseq.data.splits import describe_split, files_rule, homology_split, split
from bioseq.data.synthetic import write_fasta
from bioseq.errors import InputError
from bioseq.model.store import read_meta
from bioseq.training.fit import fit, load_split_rule

TOOLS = [pytest.param(t, marks=pytest.mark.skipif(shutil.which("mmseqs" if t == "mmseqs" else "cd-hit") is None,
                                                  reason=f"{t} is not installed (bash scripts/test.sh installs it)"))
         for t in ("mmseqs", "cd-hit")]
THRESHOLD = {"protein": 0.4, "dna": 0.8}
needs_mmseqs = pytest.mark.skipif(shutil.which("mmseqs") is None, reason="mmseqs is not installed")


def dataset(kind: str, **kw) -> Dataset:
    recs = families(kind, **kw)
    return Dataset([i for i, _, _ in recs], [s for _, s, _ in recs],
                   np.array([int(y[1]) for _, _, y in recs]), ["c0", "c1"], PROTEIN if kind == "protein" else DNA)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("kind", ["protein", "dna"])
def test_no_validation_sequence_is_that_close_to_a_training_one(kind, tool):
    ds = dataset(kind)
    x = THRESHOLD[kind]
    for seed in range(2):
        train, val, rule = homology_split(ds, 0.3, x, seed, tool)
        assert len(train) + len(val) == len(ds) and 0 < len(val) < len(ds)
        assert crossing_pairs(kind, train.seqs, val.seqs, x) == [], (seed, rule)
        assert rule["method"] == "homology" and rule["identity"] == x and rule["tool"] == tool
        assert rule["rounds"] >= 1 and rule["val_fraction"] == pytest.approx(len(val) / len(ds))
        for f in range(4):  # each family (but its distant variant) is on one side
            far = "v30" if kind == "protein" else "v70"
            sides = {n in val.ids for n in ds.ids if n.startswith(f"f{f}_") and not n.endswith(far)}
            assert len(sides) == 1


@pytest.mark.parametrize("kind", ["protein", "dna"])
def test_the_plain_split_would_leak(kind):
    ds = dataset(kind)
    leaks = [crossing_pairs(kind, t.seqs, v.seqs, THRESHOLD[kind]) for t, v in
             (split_dataset(ds, 0.3, seed) for seed in range(3))]
    assert all(leaks)  # the check above can fail: without clusters, family members straddle the split


@needs_mmseqs
def test_one_family_cannot_be_split():
    ds = dataset("protein", n=1, unrelated=0)
    ds = ds.subset([i for i, n in enumerate(ds.ids) if not n.endswith("v30")])
    with pytest.raises(InputError, match=r"at 0.4 identity the 5 sequences form 1 cluster\(s\), the largest of 5"):
        homology_split(ds, 0.3, 0.4, 0, "mmseqs")


def test_without_identity_the_split_is_the_stratified_one():
    ds = dataset("protein")
    train, val, rule = split(ds, 0.3, seed=2)
    t2, v2 = split_dataset(ds, 0.3, seed=2)
    assert train.ids == t2.ids and val.ids == v2.ids
    assert rule == {"method": "stratified", "val_fraction": len(val) / len(ds), "seed": 2}


def test_rules_in_words():
    assert describe_split(None) == "not recorded"
    assert describe_split({"method": "stratified", "val_fraction": 0.2, "seed": 0}) == (
        "stratified random split, 20.0% of the records held out; identical sequences on one side (seed 0)")
    rule = {"method": "homology", "identity": 0.4, "tool": "mmseqs", "tool_version": "14", "definition": "DEF",
            "clusters": 7, "largest_cluster": 3, "val_fraction": 0.25}
    assert describe_split(rule) == ("homology-aware: no validation sequence is 40% or more identical to a training "
                                    "sequence (DEF; MMseqs2 14); 7 clusters, the largest 3; 25.0% of the records "
                                    "held out")
    assert describe_split({"method": "files", "val_fraction": 0.3}) == "validation files"
    assert describe_split({"method": "files", "overlap": 2, "checked": 9, "identity": 0.8, "tool": "cd-hit",
                           "tool_version": "4.8.1"}) == (
        "validation files; 2 of 9 have a training sequence 80% or more identical (CD-HIT 4.8.1)")


@needs_mmseqs
def test_validation_files_are_checked_not_changed():
    ds = dataset("dna")  # families f0-f3 of six records each, then six lone ones
    train = ds.subset([i for i in range(18) if i != 1])  # f0-f2 without f0_v95
    val = ds.subset([1, *range(18, 30)])  # f0_v95, family f3 and the lone ones
    rule = files_rule(train, val, 0.8, "mmseqs")
    assert {k: rule[k] for k in ("method", "identity", "tool", "overlap", "checked")} == {
        "method": "files", "identity": 0.8, "tool": "mmseqs", "overlap": 1, "checked": 13}
    assert files_rule(train, val) == {"method": "files", "val_fraction": 13 / 30}


@needs_mmseqs
def test_fit_records_the_rule_in_the_model_file_and_the_card(tmp_path, tiny, tiny_train):
    recs = families("protein")
    path = write_fasta(tmp_path / "fam.fa", recs)
    opts = DataOptions([str(path)], val_fraction=0.3, split_identity=0.4)
    train, val, rule = load_split_rule(opts)
    assert rule["method"] == "homology" and crossing_pairs("protein", train.seqs, val.seqs, 0.4) == []
    r = fit(opts, tiny, tiny_train,
            out=tmp_path / "m.safetensors", log_dir=tmp_path / "run")
    t = read_meta(r.path)["training"]
    assert t["split"] == rule and t["leakage"]["method"] == "mmseqs" and t["leakage"]["count"] == 0
    card = dict(model_card(read_meta(r.path)).values.tolist())
    assert card["validation split"].startswith("homology-aware: no validation sequence is 40% or more identical")
    assert card["leakage"] == f"0 of {len(val)} validation sequences (0.0%) have a training sequence 90% or more " \
                              "identical (MMseqs2)"
