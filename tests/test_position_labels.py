"""Per-position labels: three-line FASTA, paired files matched by id, masks, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from bioseq.data.position_labels import UNSCORED, is_position_data, looks_three_line, read_positions
from bioseq.errors import InputError

THREE = ">p1 first\nMKLVAAG\nOOMMMII\n>p2\nMKW\nOMI\n"


def test_three_line_fasta(write):
    path = write("tm.fa", THREE)
    assert looks_three_line(path) and is_position_data([path])
    ds = read_positions([path])
    assert ds.ids == ["p1", "p2"] and ds.seqs == ["MKLVAAG", "MKW"] and ds.labels == ["OOMMMII", "OMI"]
    assert ds.label_set == ["I", "M", "O"]
    assert [t.tolist() for t in ds.targets()] == [[2, 2, 1, 1, 1, 0, 0], [2, 1, 0]]


def test_a_wrapped_fasta_of_equal_lengths_is_not_three_line(write):
    path = write("w.fa", ">a\nACGTACGT\nTTGACCAA\n>b\nGGGGCCCC\nACGTACGT\n")  # 16 bp wrapped at 8
    assert not looks_three_line(path) and not is_position_data([path])
    assert not looks_three_line(write("one.fa", ">a\nACGT\n"))


def test_paired_files_are_matched_by_id_not_order(write):
    seqs = write("s.fa", ">a\nACGTAC\n>b\nGGC\n")
    labels = write("l.fa", ">b\nNNC\n>a\nCCCNNN\n")
    ds = read_positions([seqs], labels_fasta=[str(labels)])
    assert ds.labels == ["CCCNNN", "NNC"] and ds.label_set == ["C", "N"]


def test_mask_file_and_ignored_label(write):
    seqs = write("s.fa", ">a\nACGTAC\n")
    labels = write("l.fa", ">a\nCC-NNC\n")
    mask = write("m.fa", ">a\n011111\n")
    ds = read_positions([seqs], labels_fasta=[str(labels)], mask=[str(mask)], ignore_label="-")
    assert ds.masks[0].tolist() == [False, True, False, True, True, True]
    assert ds.targets()[0].tolist() == [UNSCORED, 0, UNSCORED, 1, 1, 0]
    assert ds.label_set == ["C", "N"]  # the ignored character is no label


def test_length_mismatch_names_file_record_and_both_lengths(write):
    seqs = write("s.fa", ">a\nACGTAC\n>b\nGG\n")
    labels = write("l.fa", ">a\nCCCNNN\n>b\nCCC\n")
    with pytest.raises(InputError) as e:
        read_positions([seqs], labels_fasta=[str(labels)])
    assert str(e.value) == f"{labels}: record 2 (b): the label string has 3 characters but the sequence has 2 letters"
    three = write("t.fa", ">x\nMKL\nOO\n")
    with pytest.raises(InputError, match=r"t.fa: record 1 \(x\): the label string has 2 characters but the "
                                         "sequence has 3 letters"):
        read_positions([three])


def test_missing_ids_either_way(write):
    seqs = write("s.fa", ">a\nAC\n>b\nGG\n")
    with pytest.raises(InputError, match=r"s.fa: record 2 \(b\): id 'b' has no label string in"):
        read_positions([seqs], labels_fasta=[str(write("l.fa", ">a\nCN\n"))])
    with pytest.raises(InputError, match=r"l2.fa: record 3 \(c\): id 'c' has a label string but no sequence"):
        read_positions([seqs], labels_fasta=[str(write("l2.fa", ">a\nCN\n>b\nNC\n>c\nCC\n"))])
    with pytest.raises(InputError, match="id 'a' has no mask"):
        read_positions([seqs], labels_fasta=[str(write("l3.fa", ">a\nCN\n>b\nNC\n"))],
                       mask=[str(write("m.fa", ">b\n11\n"))])


def test_unknown_label_and_bad_mask(write):
    path = write("tm.fa", THREE)
    with pytest.raises(InputError, match=r"tm.fa: record 1 \(p1\): position 6: label 'I' is not one of the labels MO"):
        read_positions([path], label_set=["M", "O"])
    seqs = write("s.fa", ">a\nAC\n")
    with pytest.raises(InputError, match="a mask is made of 0 .* found '2'"):
        read_positions([seqs], labels_fasta=[str(write("l.fa", ">a\nCN\n"))], mask=[str(write("m.fa", ">a\n12\n"))])


def test_empty_label_string_and_one_label(write):
    with pytest.raises(InputError, match=r"e.fa: record 1 \(x\).*1 line"):
        read_positions([write("e.fa", ">x\nMKL\n\n>y\nMK\nOO\n")])
    with pytest.raises(InputError, match="at least two labels"):
        read_positions([write("o.fa", ">x\nMKL\nOOO\n")])
    seqs = write("s.fa", ">a\nAC\n")
    with pytest.raises(InputError, match=r"l.fa: record 1 \(a\): empty record"):
        read_positions([seqs], labels_fasta=[str(write("l.fa", ">a\n\n"))])


def test_targets_are_int64_for_the_loss(write):
    ds = read_positions([write("tm.fa", THREE)])
    assert all(t.dtype == np.int64 for t in ds.targets())


def test_a_label_that_is_not_one_ascii_character_is_one_clear_error(write):
    path = write("a.fa", ">p1\nMKLV\nOOMM\n>p2\nMKW\nOαI\n")
    for kw in ({}, {"label_set": ["I", "M", "O"]}):  # training, and a model's labels (evaluate)
        with pytest.raises(InputError) as e:
            read_positions([path], **kw)
        assert str(e.value) == (f"{path}: record 2 (p2): position 2: label 'α' is not a printable ASCII character; "
                                "a label is one ASCII letter, digit or sign per position")
    with pytest.raises(InputError, match="the unscored label must be one ASCII character, not 'α'"):
        read_positions([write("b.fa", THREE)], ignore_label="α")


def test_a_three_line_file_missing_some_label_lines_says_which(write):
    lines = []
    for i in range(10):
        lines.append(f">r{i}\nMKLVAAG\n" + ("OOMMMII\n" if i % 5 else ""))  # a fifth lack their label line
    path = write("m.fa", "".join(lines))
    assert looks_three_line(path) and is_position_data([path])
    with pytest.raises(InputError) as e:
        read_positions([path])
    assert str(e.value) == (f"{path}: record 1 (r0): a three-line FASTA record has a sequence line and a label "
                            "line; this one has 1 line (2 of 10 records lack a label line or have more lines: "
                            "1 (r0), 6 (r5))")
