"""Encoding: lookup-table one-hot equals a hand loop, errors name the place, length policies, batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bioseq.data.alphabets import DNA, PROTEIN, RNA
from bioseq.data.encoding import LENGTH_POLICIES, clean, encode, fit_length, length_batches, pad_batch
from bioseq.errors import InputError

IUPAC = {"R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
         "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}


def hand_encode_dna(seq: str) -> np.ndarray:
    """The documented rule written out letter by letter, independent of the lookup table."""
    out = np.zeros((len(seq), 4), dtype=np.float32)
    for i, c in enumerate(seq.upper()):
        stands_for = IUPAC.get(c, c)
        for letter in stands_for:
            out[i, "ACGT".index(letter)] += 1 / len(stands_for)
    return out


def test_lookup_table_encoding_equals_a_hand_loop():
    rng = np.random.default_rng(7)
    letters = list("ACGTacgt" + "".join(IUPAC) + "".join(IUPAC).lower())
    seq = "".join(rng.choice(letters, 500))
    x = encode(seq, DNA)
    assert x.shape == (500, 4) and x.dtype == np.float32
    np.testing.assert_allclose(x, hand_encode_dna(seq), rtol=1e-6)


def test_small_exact_examples():
    np.testing.assert_array_equal(encode("ANr", DNA), [[1, 0, 0, 0], [0.25] * 4, [0.5, 0, 0.5, 0]])
    np.testing.assert_array_equal(encode("u", RNA), [[0, 0, 0, 1]])
    np.testing.assert_array_equal(encode("UO", PROTEIN), encode("CK", PROTEIN))
    assert encode("", DNA).shape == (0, 4)


def test_protein_terminal_stop_is_dropped_once():
    assert clean("MK*", PROTEIN) == "MK"
    assert clean("MK*", DNA) == "MK*"  # the stop rule is a protein rule
    np.testing.assert_array_equal(encode("MK*", PROTEIN), encode("MK", PROTEIN))
    with pytest.raises(InputError) as e:
        encode("M*K", PROTEIN, file="p.fa", record="1 (p1)")
    assert (e.value.position, e.value.record, e.value.file) == (2, "1 (p1)", "p.fa")
    with pytest.raises(InputError) as e:
        encode("MK**", PROTEIN)
    assert e.value.position == 3


def test_invalid_character_error_names_file_record_position_and_character():
    with pytest.raises(InputError) as e:
        encode("ACGTXA", DNA, file="reads.fa", record="7 (r7)")
    err = e.value
    assert (err.file, err.record, err.position) == ("reads.fa", "7 (r7)", 5)
    assert str(err).startswith("reads.fa: record 7 (r7): position 5: invalid character 'X'")
    assert "accepted: ACGTRYSWKMBDHVN" in str(err)


@pytest.mark.parametrize(("seq", "pos", "char"), [("AC-GT", 3, "-"), ("ACGT*", 5, "*"), ("ACéGT", 3, "é"),
                                                  ("ACG T", 4, " ")])
def test_invalid_characters_including_non_ascii(seq, pos, char):
    with pytest.raises(InputError) as e:
        encode(seq, DNA, file="f.fa", record="1")
    assert e.value.position == pos and repr(char) in str(e.value)


def test_fit_length_policies():
    s = "ABCDEFG"
    assert fit_length(s, 3, "start") == "ABC"
    assert fit_length(s, 3, "end") == "EFG"
    assert fit_length(s, 3, "centre") == "CDE"
    assert fit_length("ABCDEF", 3, "centre") == "BCD"  # odd slack: one more from the end
    assert fit_length(s, None, "end") == s and fit_length(s, 7, "end") == s and fit_length(s, 99) == s
    assert LENGTH_POLICIES == ("start", "end", "centre")
    with pytest.raises(ValueError, match="choose one of start, end, centre"):
        fit_length(s, 3, "middle")


def test_pad_batch_shapes_and_zero_padding():
    arrays = [encode("ACG", DNA), encode("A", DNA), encode("TTTTT", DNA)]
    x, lengths = pad_batch(arrays)
    assert x.shape == (3, 5, 4) and x.dtype == torch.float32
    assert lengths.dtype == torch.int64 and lengths.tolist() == [3, 1, 5]
    for i, a in enumerate(arrays):
        np.testing.assert_array_equal(x[i, : len(a)].numpy(), a)
        assert not x[i, len(a):].any()


def test_length_batches_group_by_length_and_cover_every_index_once():
    lengths = [5, 1, 9, 3, 3, 7, 2, 8, 4, 6, 10]
    batches = length_batches(lengths, 3)
    assert [len(b) for b in batches] == [3, 3, 3, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    spans = [(min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches]
    assert spans == [(1, 3), (3, 5), (6, 8), (9, 10)]


def test_length_batches_shuffled_is_seeded_and_still_grouped():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 50, 100).tolist()
    a = length_batches(lengths, 8, shuffle=True, rng=np.random.default_rng(3))
    b = length_batches(lengths, 8, shuffle=True, rng=np.random.default_rng(3))
    c = length_batches(lengths, 8, shuffle=True, rng=np.random.default_rng(4))
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert [x.tolist() for x in a] != [x.tolist() for x in c]
    assert sorted(np.concatenate(a).tolist()) == list(range(100))
    # grouped: the length ranges of different batches overlap at most at a shared end point
    spans = sorted((min(lengths[i] for i in x), max(lengths[i] for i in x)) for x in a)
    assert all(hi <= lo2 for (_, hi), (lo2, _) in zip(spans, spans[1:], strict=False))


def test_length_batches_ungrouped_keeps_input_order():
    batches = length_batches([5, 1, 9, 3], 2, group=False)
    assert [b.tolist() for b in batches] == [[0, 1], [2, 3]]


def test_length_batches_with_a_letter_budget():
    lengths = [10, 50, 10, 10, 30, 200]
    # sorted: 0, 2, 3 (10), 4 (30), 1 (50), 5 (200); a batch's members x its longest stay within 100 letters
    got = length_batches(lengths, 512, letters=100)
    assert [b.tolist() for b in got] == [[0, 2, 3], [4, 1], [5]]  # 4 x 30 > 100; 2 x 50 = 100; 200 alone
    assert [b.tolist() for b in length_batches(lengths, 2, letters=10_000)] == \
        [b.tolist() for b in length_batches(lengths, 2)]


@pytest.mark.parametrize("policy", LENGTH_POLICIES)
def test_encode_cut_equals_cutting_the_encoded_record(policy):
    from bioseq.data.encoding import encode_cut

    seq = "".join(np.random.default_rng(3).choice(list("ACGTN"), 101))
    for max_length in (None, 1, 20, 101, 500):
        np.testing.assert_array_equal(encode_cut(seq, DNA, max_length, policy),
                                      fit_length(encode(seq, DNA), max_length, policy))
    assert encode_cut("MKV*", PROTEIN, 2, policy).shape == (2, PROTEIN.size)  # the stop is cleaned first


def test_check_letters_and_encode_span_name_the_position_in_the_whole_record():
    from bioseq.data.encoding import check_letters, encode_span

    seq = "ACGT" * 10 + "X" + "A" * 9
    with pytest.raises(InputError, match="position 41: invalid character 'X'") as e:
        check_letters(seq, DNA, file="f.fa", record="1 (r)", block=7)  # the X is in the sixth block
    assert (e.value.file, e.value.record, e.value.position) == ("f.fa", "1 (r)", 41)
    with pytest.raises(InputError, match="position 41: invalid character 'X'"):
        encode_span(seq[38:45], DNA, offset=38)
    with pytest.raises(InputError, match="position 4: invalid character 'é'"):
        encode_span("ACé", DNA, offset=1)
    check_letters("ACGT" * 100, DNA, block=3)  # no error
    with pytest.raises(InputError, match="position 2: invalid character '\\*'"):
        check_letters("M*KV*", PROTEIN, block=2)  # the final stop is cleaned, the inner one is not
