"""Unlike the training data: length range and composition distance, by hand."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.profile import compositions, js_divergence, training_profile
from bioseq.prediction.novelty import flag_arrays, length_range, summary, tally


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
    assert flags["flag"][1] == "shorter than any training sequence by over 20% (4 letters; the shortest 6)"
    assert flags["flag"][2] == "longer than any training sequence by over 25% (20 letters; the longest 10)"
    assert flags["flag"][3].startswith("unusual composition")
    assert summary(flags) == ("3 of 4 sequences are unlike the training data (1 much shorter than any training "
                              "sequence, 1 much longer than any training sequence, 1 with an unusual letter "
                              "composition); their predictions may be confident and still wrong.")
    assert summary(flags.iloc[:1]) is None


def test_length_flags_only_real_extrapolation():
    """Lengths within 1.25 times the training range are interpolation: 405 against a longest of 404 is not
    flagged, 506 is (404 x 1.25 = 505); 324 against a shortest of 404 is not (404 / 1.25 = 323.2), 323 is."""
    prof = {"length_min": 404, "length_max": 404, "composition": [0.25] * 4, "composition_cutoff": 1.0}
    assert length_range(prof) == (324, 505)
    seqs = ["ACGT" * 101 + "A", "A" * 505, "A" * 506, "A" * 808, "A" * 324, "A" * 323]
    flags = flag_arrays(enc(*seqs), prof)["flag"].tolist()
    assert flags[:2] == ["", ""] and flags[4] == ""
    assert flags[2] == "longer than any training sequence by over 25% (506 letters; the longest 404)"
    assert flags[3] == "longer than any training sequence by over 25% (808 letters; the longest 404)"
    assert flags[5] == "shorter than any training sequence by over 20% (323 letters; the shortest 404)"


def test_one_sentence_counts_each_reason():
    flags = ["", "unusual composition (distance 0.5 > 0.1)",
             "longer than any training sequence by over 25% (30 letters; the longest 10); unusual composition (x)"]
    counts = tally(flags)
    assert counts == Counter(records=3, flagged=2, composition=2, long=1)
    assert summary(counts) == ("2 of 3 sequences are unlike the training data (1 much longer than any training "
                               "sequence, 2 with an unusual letter composition); their predictions may be confident "
                               "and still wrong.")
    assert summary(tally(flags[1:2])).startswith("1 of 1 sequence is unlike")
    assert tally(pd.DataFrame({"unlike_training": [np.nan, "unusual composition"]}))["flagged"] == 1  # read back


def test_old_model_files_have_no_profile():
    flags = flag_arrays(enc("ACGT"), None)
    assert flags["flag"][0].startswith("not checked") and summary(flags) is None
