"""Homology: identity by MMseqs2 and CD-HIT on hand-made families, checked by an independent aligner;
the tools' limits and the messages when they are missing."""

from __future__ import annotations

import shutil

import pytest
from _families import AMINO, families, independent_identity, variant

from bioseq.data import homology
from bioseq.data.homology import Hit, best_hits, choose_tool, cluster, components, nucleotide_identity, search
from bioseq.errors import ToolError

TOOLS = [pytest.param(t, marks=pytest.mark.skipif(shutil.which("mmseqs" if t == "mmseqs" else "cd-hit") is None,
                                                  reason=f"{t} is not installed (bash scripts/test.sh installs it)"))
         for t in homology.TOOLS]
THRESHOLD = {"protein": 0.4, "dna": 0.8}


def test_components_are_single_linkage():
    assert components(6, [(0, 2), (2, 4), (5, 5)]).tolist() == [0, 1, 0, 2, 0, 3]
    assert components(3, []).tolist() == [0, 1, 2]


def test_identity_is_counted_over_the_shorter_sequence():
    assert homology._aligned_identity("AC-GT", "ACTGA", 4, 10) == pytest.approx(3 / 4)
    assert homology._aligned_identity("AXXK", "AXXK", 4, 4) == pytest.approx(2 / 4)  # X is never identical


def test_nucleotide_identity_by_hand():
    s = "ACGTTGCAGGATCCATGCAA"
    assert nucleotide_identity(s, s) == 1.0
    assert nucleotide_identity(s, s[::-1].translate(str.maketrans("ACGT", "TGCA"))) == 1.0  # the other strand
    assert nucleotide_identity(s[5:15], s) == 1.0  # a fragment: 10 of its 10 letters
    assert nucleotide_identity("ACGU" * 5, "ACGT" * 5) == 1.0  # RNA reads U as T
    assert nucleotide_identity("NNNNNNNN", "NNNNNNNN") == 0.0  # an ambiguous letter is never identical


def test_a_variant_has_the_designed_identity():
    root = AMINO * 2  # 40 letters
    v = variant(root, 22, 3, AMINO)
    assert sum(a == b for a, b in zip(root, v)) == 18  # 22 of 40 changed


def test_cdhit_word_sizes_limit_the_identity(monkeypatch):
    monkeypatch.setattr(homology, "available", lambda tool: tool == "cd-hit")
    assert choose_tool(False, 0.4) == "cd-hit" and choose_tool(True, 0.75) == "cd-hit"
    assert homology._cdhit_word(0.45, False) == 2 and homology._cdhit_word(0.9, True) == 8
    with pytest.raises(ToolError, match=r"protein at an identity of 0.4 or more .* not 0.3; MMseqs2"):
        choose_tool(False, 0.3)
    with pytest.raises(ToolError, match=r"DNA/RNA at an identity of 0.75 or more .* not 0.5"):
        choose_tool(True, 0.5)


def test_without_a_tool_the_message_says_how_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolError, match=r"needs MMseqs2 or CD-HIT, which is not installed.*apt-get install mmseqs2"):
        choose_tool(False, 0.4)
    with pytest.raises(ToolError, match=r"needs MMseqs2, which is not installed"):
        search(["ACDE"], ["ACDE"], 0.9, False, tool="mmseqs")
    with pytest.raises(ToolError, match="unknown tool 'blast'"):
        choose_tool(False, 0.4, "blast")
    with pytest.raises(ToolError, match="above 0 and at most 1"):
        choose_tool(False, 1.5)


def test_clstr_files_are_read(write):
    path = write("out.clstr", ">Cluster 0\n0\t60aa, >s3... at 45.50%\n1\t60aa, >s0... *\n>Cluster 1\n"
                 "0\t80nt, >s1... *\n1\t15nt, >s2... at -/100.00%\n")
    assert homology._clusters(path) == [[("s0", 1.0), ("s3", 0.455)], [("s1", 1.0), ("s2", 1.0)]]


def test_best_hits_keeps_the_most_identical_target():
    hits = [Hit(0, 1, 0.5), Hit(0, 2, 0.9), Hit(1, 0, 0.6)]
    assert best_hits(hits) == {0: Hit(0, 2, 0.9), 1: Hit(1, 0, 0.6)}


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("kind", ["protein", "dna"])
def test_search_finds_the_designed_pairs(kind, tool):
    recs = families(kind, n=1, unrelated=0)
    seqs = [s for _, s, _ in recs]
    root, others = seqs[0], seqs[1:]
    found = {h.query: h.identity for h in search(others, [root], THRESHOLD[kind], kind == "dna", tool)}
    names = [i for i, _, _ in recs[1:]]
    expected = {"protein": {"f0_v90": 0.9, "f0_v70": 0.7, "f0_v45": 0.45, "f0_frag": 1.0},
                "dna": {"f0_v95": 0.95, "f0_v88rc": 0.883, "f0_v83": 0.833, "f0_frag": 1.0}}[kind]
    assert {names[q]: round(x, 3) for q, x in found.items()} == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("kind", ["protein", "dna"])
def test_clusters_join_each_family_and_leave_the_distant_variant_out(kind, tool):
    recs = families(kind)
    labels = cluster([s for _, s, _ in recs], THRESHOLD[kind], kind == "dna", tool)
    by_id = dict(zip([i for i, _, _ in recs], labels.tolist()))
    far = "v30" if kind == "protein" else "v70"
    for f in range(4):
        members = [v for k, v in by_id.items() if k.startswith(f"f{f}_") and not k.endswith(far)]
        assert len(set(members)) == 1, (f, members)
        assert by_id[f"f{f}_{far}"] != members[0]


@pytest.mark.parametrize("kind", ["protein", "dna"])
def test_the_independent_check_sees_the_designed_identities(kind):
    recs = families(kind, n=1, unrelated=0)
    identity = independent_identity(kind)
    got = [round(identity(recs[0][1], s), 3) for _, s, _ in recs[1:]]
    assert got == ([0.9, 0.7, 0.45, 0.3, 1.0] if kind == "protein" else [0.95, 0.883, 0.833, 0.7, 1.0])
