"""Unlike the training data: length range and composition distance, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.profile import compositions, js_divergence, training_profile
from bioseq.prediction.novelty import flag_arrays, summary


def enc(*seqs):
    return [encode(s, DNA) for s in seqs]


def test_compositions_count_ambiguity_codes_fractionally():
    comp = compositions(enc("AACG", "N"))
    np.testing.assert_allclose(comp, [[0.5, 0.25, 0.25, 0.0], [0.25, 0.25, 0.25, 0.25]])


def test_js_divergence_by_hand():
    q = np.array([0.5, 0.5])
    assert js_divergence(np.array([[0.5, 0.5]]), q)[0] == pytest.approx(0.0)
    # p = (1, 0) against q = (1/2, 1/2): m = (3/4, 1/4); JS = (log2(4/3) + (1/2 log2(2/3) + 1/2 log2(2))) / 2
    expected = (np.log2(4 / 3) + 0.5 * np.log2(2 / 3) + 0.5 * np.log2(2)) / 2
    assert js_divergence(np.array([[1.0, 0.0]]), q)[0] == pytest.approx(expected)


def test_profile_and_flags():
    train = enc("ACGTACGT", "ACGTAC", "GTACGTACGT")
    prof = training_profile(train)
    assert (prof["length_min"], prof["length_max"]) == (6, 10)
    np.testing.assert_allclose(prof["composition"], [0.25] * 4, atol=0.02)
    flags = flag_arrays(enc("ACGTACGT", "ACGT", "ACGT" * 5, "AAAAAAAA"), prof)
    assert list(flags["length"]) == [8, 4, 20, 8]
    assert flags["flag"][0] == ""
    assert flags["flag"][1] == "shorter than any training sequence (4 < 6)"
    assert flags["flag"][2] == "longer than any training sequence (20 > 10)"
    assert flags["flag"][3].startswith("unusual composition")
    assert summary(flags).startswith("3 of 4 sequences are unlike the training data")
    assert summary(flags.iloc[:1]) is None


def test_old_model_files_have_no_profile():
    flags = flag_arrays(enc("ACGT"), None)
    assert flags["flag"][0].startswith("not checked") and summary(flags) is None
