"""Motif candidates: the top k-mer windows by attribution, per class; sequence-logo data.

The motif model (``tests/_linear.py``) scores matches to GATTA: its saliency is ``head`` on the
matching letters of the best window and 0 elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest
from _linear import MOTIF, motif_bundle, planted, rec

from bioseq.errors import InputError
from bioseq.interpret.motifs import motif_instances, motif_logo, motifs


def test_top_motif_is_the_planted_one():
    bundle = motif_bundle(bias=-3.5)  # 5 matches -> 1.5, 4 matches -> 0.5, fewer -> 0
    records = planted(4, 2, 2)
    inst = motif_instances(bundle, records, k=5, target="motif")
    for r in records:
        got = inst[inst["id"] == r.id]
        if MOTIF in r.seq:
            assert got[["kmer", "start"]].values.tolist() == [[MOTIF, r.seq.index(MOTIF) + 1]]
            # weight 2 on each motif letter, 0 on the others: simplex-corrected, 2 - 2/4 = 1.5 per letter
            assert got["score"].iloc[0] == pytest.approx(1.5 * 5)
        elif "GCTTA" in r.seq:
            assert got[["kmer", "start"]].values.tolist() == [["GCTTA", r.seq.index("GCTTA") + 1]]
            # the mismatched letter has weight 0 there: 0 - 2/4 = -0.5 after the correction
            assert got["score"].iloc[0] == pytest.approx(1.5 * 4 - 0.5)
        else:
            assert got.empty
    table = motifs(bundle, records, k=5, target="motif")
    assert list(table.columns) == ["target", "motif", "count", "mean_score", "sequences", "in_class", "in_others",
                                   "enrichment"]
    # 6 records predicted motif (a match of 4 or 5 letters), 2 background (no match: a tie, the first class):
    # GATTA at the peak of 4 of the 6, of none of the 2: (4 + 1) / (6 + 2) against (0 + 1) / (2 + 2)
    assert table.iloc[0].tolist() == ["motif", MOTIF, 4, pytest.approx(7.5), 4, pytest.approx(4 / 6), 0.0,
                                      pytest.approx(2.5)]
    assert table.iloc[1].tolist() == ["motif", "GCTTA", 2, pytest.approx(5.5), 2, pytest.approx(2 / 6), 0.0,
                                      pytest.approx(1.5)]
    assert len(table) == 2


def test_motifs_per_predicted_class():
    bundle = motif_bundle(bias=-4.5)  # exact matches only
    table = motifs(bundle, planted(3, 0, 3, seed=1), k=5)
    # sequences without the motif have zero saliency, so only the motif class has candidates
    assert table[["target", "motif", "count"]].values.tolist() == [["motif", MOTIF, 3]]


def test_motif_logo_frequencies_and_bits():
    bundle = motif_bundle(bias=-3.5)
    logo = motif_logo(bundle, planted(4, 2, 2), k=5, target="motif")  # the motif is chosen by total score
    assert list(logo.columns) == ["position", "letter", "frequency", "bits"]
    assert len(logo) == len(MOTIF) * 4
    np.testing.assert_allclose(logo.groupby("position")["frequency"].sum(), 1.0)
    assert (logo["bits"] <= np.log2(4) + 1e-12).all() and (logo["bits"] >= -1e-12).all()
    freq = logo.pivot(index="position", columns="letter", values="frequency")
    bits = logo.pivot(index="position", columns="letter", values="bits")
    for p, c in enumerate(MOTIF, 1):
        if p != 2:
            assert freq.loc[p, c] == 1.0 and bits.loc[p, c] == pytest.approx(2.0)
    # position 2: A in 4 windows, C in 2 (GCTTA is within one mismatch of GATTA)
    assert freq.loc[2, "A"] == pytest.approx(2 / 3) and freq.loc[2, "C"] == pytest.approx(1 / 3)
    ic = 2 + (2 / 3) * np.log2(2 / 3) + (1 / 3) * np.log2(1 / 3)
    assert bits.loc[2, "A"] == pytest.approx(2 / 3 * ic) and bits.loc[2, "C"] == pytest.approx(1 / 3 * ic)


def test_motif_logo_of_random_model_is_well_formed(make_bundle):
    bundle = make_bundle(seed=2)
    rng = np.random.default_rng(3)
    records = [rec("".join(rng.choice(list("ACGT"), 24)), f"r{i}", i + 1) for i in range(8)]
    logo = motif_logo(bundle, records, k=4)
    if not logo.empty:
        sums = logo.groupby("position")["frequency"].sum()
        np.testing.assert_allclose(sums, 1.0)
        assert (logo["bits"] <= 2 + 1e-9).all()


@pytest.mark.parametrize("method", ["ism", "occlusion", "deeplift"])
def test_other_methods_find_the_planted_motif_too(method):
    bundle = motif_bundle(bias=-4.5)  # exact matches only
    recs = planted(3, 0, 3, seed=1)
    inst = motif_instances(bundle, recs, k=5, target="motif", per_seq=1, method=method)
    for r in recs:
        if MOTIF in r.seq:
            got = inst[inst["id"] == r.id]
            assert got[["kmer", "start"]].values.tolist() == [[MOTIF, r.seq.index(MOTIF) + 1]]
    table = motifs(bundle, recs, k=5, target="motif", method=method)
    assert table.iloc[0][["motif", "count"]].tolist() == [MOTIF, 3]


def test_motifs_pass_the_method_and_its_options_on():
    bundle = motif_bundle(bias=-3.5)
    recs = planted(2, 1, 1)
    with pytest.raises(InputError, match="unknown attribution method 'colour'"):
        motifs(bundle, recs, k=5, method="colour")
    with pytest.raises(InputError, match="saliency has no option steps"):
        motifs(bundle, recs, k=5, steps=4)
    assert not motifs(bundle, recs, k=5, method="ig", steps=4).empty


def noisy_background_bundle():
    """The motif model with a background class that four matches win: logit background = h + 1, motif = 2h, so
    GATTA (h = 1.5) is called motif and any one-letter variant (h = 0.5) background, its four matching letters
    scoring +1 each for background."""
    import torch

    bundle = motif_bundle(bias=-3.5)
    with torch.no_grad():
        bundle.model.head.weight.copy_(torch.tensor([[1.0], [2.0]]))
        bundle.model.head.bias.copy_(torch.tensor([1.0, 0.0]))
    return bundle


def test_motifs_rank_by_enrichment_in_the_class_explained():
    """The issue's table: the background class's count-1 noise (a different variant in each background record)
    came first, the planted site of every motif record was buried; ranked by enrichment it comes first."""
    variants = ["GCTTA", "GGTTA", "GAATA", "GACTA", "GATGA"]  # one inner letter off: one window holds 4
    records = [rec("CGCGC" + MOTIF + "GCGCG", f"m{i}", i + 1) for i in range(5)]
    records += [rec("CGCGC" + v + "GCGCG", f"b{i}", i + 6) for i, v in enumerate(variants)]
    table = motifs(noisy_background_bundle(), records, k=5)
    assert set(table["target"]) == {"background", "motif"}  # each record explains its predicted class
    assert table.iloc[0][["target", "motif", "sequences"]].tolist() == ["motif", MOTIF, 5]
    assert table.iloc[0][["in_class", "in_others"]].tolist() == [1.0, 0.0]
    assert table.iloc[0]["enrichment"] == pytest.approx((6 / 7) / (1 / 7))
    noise = table[table["target"] == "background"]
    assert sorted(noise["motif"]) == sorted(variants) and (noise["sequences"] == 1).all()
    assert noise["enrichment"].tolist() == pytest.approx([(2 / 7) / (1 / 7)] * 5)  # count-1 noise: 2
