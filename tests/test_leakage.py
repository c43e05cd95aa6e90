"""Leakage: near copies of training sequences among the validation ones, by a tool or by k-mers."""

from __future__ import annotations

import shutil

import pytest

from bioseq.data import leakage as leak_module
from bioseq.data.leakage import describe_leakage, kmer_hits, leakage

ROOT = "ACGTTGCAGGATCCATGCAAGTCCGATTACGGAT"  # 34 letters
NEAR = ROOT[:10] + "T" + ROOT[11:]  # one substitution
FAR = "TTTTGGGGCCCCAAAATTTTGGGGCCCCAAAATT"


def test_kmer_hits_by_hand():
    # 8-mers: ROOT has 27 distinct; NEAR loses the 8 that cover position 11
    found = kmer_hits([FAR, ROOT], [NEAR, FAR, "ACG"], k=8)
    assert found == {0: (1, pytest.approx(19 / 27)), 1: (0, 1.0)}  # "ACG": shorter than k, no exact copy
    assert kmer_hits([ROOT], ["ACG"], k=8) == {} and kmer_hits(["ACG"], ["acg"], k=8) == {0: (0, 1.0)}


def test_without_tools_the_kmer_check_says_so(monkeypatch):
    monkeypatch.setattr(leak_module, "available", lambda tool: False)
    got = leakage(["r", "f"], [ROOT, FAR], ["n", "x"], [NEAR, "ACGTACGTAAAACCCCGGGG"], nucleotide=True)
    assert got == {"method": "k-mer", "identity": None, "count": 1, "checked": 2, "share": 0.5,
                   "examples": [{"val": "n", "train": "r", "similarity": round(19 / 27, 4)}]}
    assert describe_leakage(got) == ("1 of 2 validation sequences (50.0%) have a training sequence sharing 40% of "
                                     "their k-mers (k-mer check; MMseqs2 and CD-HIT not installed)")


def test_too_many_kmers_falls_back_to_exact_duplicates(monkeypatch):
    monkeypatch.setattr(leak_module, "available", lambda tool: False)
    monkeypatch.setattr(leak_module, "MAX_KMERS", 10)
    got = leakage(["r"], [ROOT], ["a", "b"], [NEAR, ROOT.lower()], nucleotide=True)
    assert got["method"] == "exact duplicates" and got["count"] == 1 and "k-mers" in got["note"]
    assert got["examples"] == [{"val": "b", "train": "r", "similarity": 1.0}]


@pytest.mark.skipif(shutil.which("mmseqs") is None, reason="mmseqs is not installed")
def test_with_mmseqs_the_identity_is_measured():
    got = leakage(["r", "f"], [ROOT, FAR], ["n", "x"], [NEAR, ROOT[::-1]], nucleotide=True, tool="mmseqs")
    assert got["method"] == "mmseqs" and got["identity"] == 0.9 and got["count"] == 1
    assert got["examples"] == [{"val": "n", "train": "r", "similarity": round(33 / 34, 4)}]
    assert describe_leakage(got).endswith("have a training sequence 90% or more identical (MMseqs2)")
    assert describe_leakage(None) == "not measured"


def test_a_cross_validation_card_says_what_its_folds_guarantee():
    homology = {"method": "homology", "folds": 5, "identity": 0.4, "tool": "mmseqs", "tool_version": "15.6f452",
                "definition": "identical aligned positions / length of the shorter sequence", "seed": 0}
    assert describe_leakage(None, homology) == (
        "none at 40% identity or more, by construction: homology-aware folds (no test sequence has a training "
        "sequence 40% or more identical in the other folds; identical aligned positions / length of the shorter "
        "sequence; MMseqs2 15.6f452, checked by search)")
    assert describe_leakage(None, {"method": "grouped", "folds": 5, "seed": 0}) == (
        "folds not homology-aware (only identical sequences kept in one fold; similar sequences in other folds not "
        "checked: give --split-identity for homology-aware folds)")
    assert describe_leakage(None, {"method": "chromosomes", "folds": 3, "seed": 0}).startswith(
        "folds not homology-aware (only whole chromosomes kept in one fold;")
    assert describe_leakage(None, {"method": "stratified", "val_fraction": 0.2}) == "not measured"  # a train split
