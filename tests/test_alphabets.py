"""Alphabets: one-hot rows, IUPAC ambiguity as fractions, protein odd letters, detection."""

from __future__ import annotations

import numpy as np
import pytest

from bioseq.data.alphabets import ALPHABETS, DNA, PROTEIN, RNA, Alphabet, detect_alphabet, get_alphabet
from bioseq.data.encoding import encode_span


def row(alpha: Alphabet, char: str) -> np.ndarray:
    """The encoding row of one character, ``(size,)``."""
    return encode_span(char, alpha)[0]


def col(alpha: Alphabet, weights: dict[str, float]) -> np.ndarray:
    row = np.zeros(alpha.size, dtype=np.float32)
    for letter, w in weights.items():
        row[alpha.letters.index(letter)] = w
    return row


def test_standard_letters_are_one_hot_in_column_order():
    assert DNA.letters == "ACGT" and RNA.letters == "ACGU" and len(PROTEIN.letters) == 20
    for alpha in (DNA, RNA, PROTEIN):
        rows = np.stack([row(alpha, c) for c in alpha.letters])
        np.testing.assert_array_equal(rows, np.eye(alpha.size, dtype=np.float32))


@pytest.mark.parametrize("alpha", [DNA, RNA])
def test_nucleotide_ambiguity_codes_are_fractions(alpha):
    t = alpha.letters[3]  # T for DNA, U for RNA
    np.testing.assert_array_equal(row(alpha, "N"), [0.25] * 4)
    np.testing.assert_array_equal(row(alpha, "R"), col(alpha, {"A": 0.5, "G": 0.5}))
    np.testing.assert_array_equal(row(alpha, "Y"), col(alpha, {"C": 0.5, t: 0.5}))
    np.testing.assert_allclose(row(alpha, "B"), col(alpha, {"C": 1 / 3, "G": 1 / 3, t: 1 / 3}), rtol=1e-6)
    np.testing.assert_allclose(row(alpha, "V"), col(alpha, {"A": 1 / 3, "C": 1 / 3, "G": 1 / 3}), rtol=1e-6)
    for code in "RYSWKMBDHVN":
        assert row(alpha, code).sum() == pytest.approx(1.0)


def test_letters_are_case_insensitive():
    for alpha in (DNA, RNA, PROTEIN):
        for c in alpha.accepted:
            np.testing.assert_array_equal(row(alpha, c.lower()), row(alpha, c))


def test_protein_odd_letters():
    np.testing.assert_allclose(row(PROTEIN, "X"), np.full(20, 1 / 20), rtol=1e-6)
    np.testing.assert_array_equal(row(PROTEIN, "B"), col(PROTEIN, {"D": 0.5, "N": 0.5}))
    np.testing.assert_array_equal(row(PROTEIN, "Z"), col(PROTEIN, {"E": 0.5, "Q": 0.5}))
    np.testing.assert_array_equal(row(PROTEIN, "J"), col(PROTEIN, {"I": 0.5, "L": 0.5}))
    np.testing.assert_array_equal(row(PROTEIN, "U"), row(PROTEIN, "C"))
    np.testing.assert_array_equal(row(PROTEIN, "O"), row(PROTEIN, "K"))


@pytest.mark.parametrize(("alpha", "char"), [(DNA, "U"), (RNA, "T"), (DNA, "-"), (DNA, "."), (DNA, "*"),
                                             (PROTEIN, "*"), (PROTEIN, "-"), (DNA, "E")])
def test_rejected_characters(alpha, char):
    assert np.isnan(alpha.table()[ord(char)]).all()
    with pytest.raises(ValueError, match="not a"):
        row(alpha, char)


def test_table_is_read_only_and_shaped_over_bytes():
    table = DNA.table()
    assert table.shape == (256, 4) and table.dtype == np.float32
    assert not table.flags.writeable
    assert int((~np.isnan(table[:, 0])).sum()) == 2 * len(DNA.accepted)  # upper and lower case only


def test_dict_round_trip_gives_the_same_table():
    for alpha in ALPHABETS.values():
        back = Alphabet.from_dict(alpha.to_dict())
        assert back.name == alpha.name and back.letters == alpha.letters and back.rule == alpha.rule
        np.testing.assert_array_equal(back.table(), alpha.table())


def test_get_alphabet():
    assert get_alphabet("DNA") is DNA and get_alphabet("protein") is PROTEIN
    with pytest.raises(ValueError, match="choose one of dna, rna, protein"):
        get_alphabet("amino")


def test_detect_alphabet():
    assert detect_alphabet(["ACGTN", "acgtacgt"]) is DNA
    assert detect_alphabet(["ACGU", "UUAG"]) is RNA
    assert detect_alphabet(["MKVLAAGIW", "PEPTIDE*"]) is PROTEIN
    # short peptides made of nucleotide-like letters inside a protein file are fine
    assert detect_alphabet(["MKWLLVHHEEPP", "ACGT"]) is PROTEIN


def test_detect_alphabet_names_the_offending_record():
    with pytest.raises(ValueError, match=r"f\.fa: mixes DNA \(T in record 1\) and RNA \(U in record 3\)"):
        detect_alphabet(["ACGT" * 10, "ACGA" * 10, "ACGU" * 10], "f.fa")
    with pytest.raises(ValueError, match=r"record 2 looks like protein in a nucleotide file"):
        detect_alphabet(["ACGT" * 30, "MEEPQS", "ACGT" * 30], "f.fa")
    with pytest.raises(ValueError, match=r"record 2 looks like a nucleotide sequence in a protein file"):
        detect_alphabet(["MKWLLVHHEEPPQRSTWY", "ACGTACGTACGTACGTACGTAC"], "f.fa")
    with pytest.raises(ValueError, match="no sequences"):
        detect_alphabet(["", "*"], "f.fa")
