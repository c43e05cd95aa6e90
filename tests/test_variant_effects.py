"""bioseq.app.variant_effects.compare_alleles: a variant's reference and alternative windows side by side, for one
class and one attribution method, with the scores of each as ``bioseq variants`` gives them.

The motif model (tests/_linear.py, bias -4.5) gives p(motif) = 0.880797 to a window holding GATTA, 0.5 otherwise."""

from __future__ import annotations

import pytest
from _linear import linear_labeller, motif_bundle
from test_variants import CHR1

from bioseq import plots
from bioseq.app import variant_effects
from bioseq.data.io import Record
from bioseq.errors import InputError

REF = CHR1[12:32]  # 20 letters, the variant (CHR1's 23rd letter, a T of GATTA) at index 10
PAIR = [Record("ref|brk", "", REF, "variant", 1), Record("alt|brk", "", REF[:10] + "C" + REF[11:], "variant", 2)]


@pytest.mark.parametrize("method", ["saliency", "ism"])
def test_both_windows_for_one_class_with_their_scores(method):
    table, summary = variant_effects.compare_alleles(motif_bundle(bias=-4.5), PAIR, method)
    assert summary == pytest.approx({"target": "motif", "position": 11, "ref_score": 0.880797, "alt_score": 0.5,
                                     "diff": -0.380797, "log_odds_ratio": -2.0}, abs=1e-5)
    assert table["allele"].tolist() == ["reference"] * 20 + ["alternative"] * 20
    assert set(table["target"]) == {"motif"} and table["position"].tolist() == [*range(1, 21)] * 2
    assert "".join(table["letter"][20:]) == PAIR[1].seq
    chart = plots.allele_logos(table, summary["position"], "brk: ").to_dict()
    assert len(chart["vconcat"]) == 2


def test_a_labeller_is_scored_and_explained_at_the_variant():
    table, summary = variant_effects.compare_alleles(linear_labeller(), PAIR, "saliency", "a")
    assert summary["target"] == "a" and summary["position"] == 11 and set(table["at"]) == {11}
    assert summary["diff"] == pytest.approx(summary["alt_score"] - summary["ref_score"])
    with pytest.raises(InputError, match="two windows, reference and alternative, not 1"):
        variant_effects.compare_alleles(linear_labeller(), PAIR[:1])
