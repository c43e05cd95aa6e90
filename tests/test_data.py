"""Labelled datasets: labels from headers, tables or file names; splits; summaries."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bioseq.data.alphabets import DNA, PROTEIN
from bioseq.data.dataset import (
    Dataset,
    class_from_filename,
    file_sha256,
    header_label,
    load_dataset,
    read_label_table,
    split_dataset,
    summarize,
)
from bioseq.errors import InputError

PLAIN = ">a\nACGT\n>b\nGGCC\n>c\nTTAA\n"


def test_header_label_token():
    assert header_label("s1 label=AMP") == "AMP"
    assert header_label("s1|label=AMP|human") == "AMP"
    assert header_label("s1 organism=x;label=non-AMP") == "non-AMP"
    assert header_label("label=first other") == "first"
    assert header_label("s1 mylabel=AMP") is None
    assert header_label("s1 AMP") is None


def test_class_from_filename():
    assert class_from_filename("data/AMP.tr.fa") == "AMP"
    assert class_from_filename("nonAMP.fa.gz") == "nonAMP"


def test_labels_from_headers(write):
    path = write("h.fa", ">a label=pos\nACGT\n>b label=neg\nGGCC\n>c label=pos\nTTAA\n")
    ds = load_dataset([path])
    assert ds.classes == ["neg", "pos"]  # sorted
    assert ds.ids == ["a", "b", "c"] and ds.labels.tolist() == [1, 0, 1]
    assert ds.alphabet is DNA and ds.files == [str(path)]


@pytest.mark.parametrize(("name", "table"), [
    ("labels.csv", "\ufeffid,label\na,x\nb,y\nc,x\n"),
    ("labels.tsv", "id\tlabel\tnote\na\tx\tfirst\nb\ty\t\nc\tx\t\n"),
])
def test_labels_from_a_table(write, name, table):
    ds = load_dataset([write("p.fa", PLAIN)], labels=write(name, table))
    assert ds.classes == ["x", "y"] and ds.labels.tolist() == [0, 1, 0]


def test_label_table_errors(write, tmp_path):
    seqs = write("p.fa", PLAIN)
    with pytest.raises(InputError, match=r"record 3 \(c\): id 'c' is not in the labels file") as e:
        load_dataset([seqs], labels=write("l.csv", "id,label\na,x\nb,y\n"))
    assert e.value.file == str(seqs)
    with pytest.raises(InputError, match="header row with columns id,label"):
        read_label_table(write("nohead.csv", "a,x\nb,y\n"))
    with pytest.raises(InputError, match="header row with columns id,label"):
        read_label_table(write("empty.csv", ""))
    with pytest.raises(InputError, match="line 3: empty id or label"):
        read_label_table(write("gap.csv", "id,label\na,x\nb,\n"))
    with pytest.raises(InputError, match="no such labels file"):
        read_label_table(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="not UTF-8"):
        read_label_table(write("latin.csv", b"id,label\na,caf\xe9\n"))


def test_label_table_refuses_an_id_labelled_twice_differently(write):
    """The same id with two labels was a silent last-row-wins; identical repeats stay accepted."""
    path = write("dup.csv", "id,label\na,x\nb,y\nc,x\nb,x\n")
    with pytest.raises(InputError) as e:
        read_label_table(path)
    assert str(e.value) == (f"{path}: line 5: id 'b' is labelled 'x' here but 'y' on line 3; give each id one "
                            "label")
    with pytest.raises(InputError, match="line 5: id 'b' is labelled 'x' here but 'y' on line 3"):
        load_dataset([write("p.fa", PLAIN)], labels=path)
    same = write("same.tsv", "id\tlabel\na\tx\nb\ty\nc\tx\nb\ty\n")
    assert read_label_table(same) == {"a": "x", "b": "y", "c": "x"}


def test_one_file_per_class(write):
    amp = write("AMP.tr.fa", ">p1\nMKLLVV\n>p2\nMKKLLW\n")
    non = write("nonAMP.tr.fa", ">n1\nMEEPQS\n")
    ds = load_dataset([non, amp])
    assert ds.classes == ["AMP", "nonAMP"]
    assert ds.ids == ["n1", "p1", "p2"] and ds.labels.tolist() == [1, 0, 0]
    assert ds.alphabet is PROTEIN


def test_missing_header_label_names_the_record(write):
    path = write("h.fa", ">a label=x\nACGT\n>b\nGGCC\n>c label=y\nTTAA\n")
    with pytest.raises(InputError, match="no label=VALUE token") as e:
        load_dataset([path])
    assert (e.value.file, e.value.record) == (str(path), "2 (b)")
    with pytest.raises(InputError, match="no label=VALUE token") as e:
        load_dataset([write("plain.fa", PLAIN)])  # one file and no labels at all
    assert e.value.record == "1 (a)"


def test_class_checks(write):
    with pytest.raises(InputError, match="at least two classes"):
        load_dataset([write("one.fa", ">a label=x\nACGT\n>b label=x\nGGCC\n")])
    path = write("h.fa", ">a label=x\nACGT\n>b label=z\nGGCC\n")
    with pytest.raises(InputError, match=r"record 2 \(b\): label 'z' is not one of the classes") as e:
        load_dataset([path], classes=["x", "y"])
    assert e.value.file == str(path)
    ds = load_dataset([write("v.fa", ">a label=y\nACGT\n")], classes=["x", "y"])  # fixed classes may be unseen
    assert ds.classes == ["x", "y"] and ds.labels.tolist() == [1]


def test_sequences_are_checked_before_training(write):
    path = write("bad.fa", ">a label=x\nACGT\n>b label=y\nGGJCC\n")
    with pytest.raises(InputError) as e:
        load_dataset([path], alphabet="dna")
    assert (e.value.file, e.value.record, e.value.position) == (str(path), "2 (b)", 3)
    assert "'J'" in str(e.value)


def test_protein_stop_codons(write):
    ds = load_dataset([write("p.fa", ">a label=x\nMKLV*\n>b label=y\nMKKL\n")], alphabet="protein")
    assert ds.seqs == ["MKLV", "MKKL"]
    assert [a.shape for a in ds.encoded()] == [(4, 20), (4, 20)]
    path = write("pp.fa", ">a label=x\nMKLV**\n>b label=y\nMKKL\n")
    with pytest.raises(InputError, match="invalid character") as e:  # only ONE terminal * is dropped
        load_dataset([path], alphabet="protein")
    assert (e.value.record, e.value.position) == ("1 (a)", 5)


def test_alphabet_detection_errors_name_the_file(write):
    path = write("mix.fa", ">a label=x\n" + "ACGT" * 10 + "\n>b label=y\n" + "ACGU" * 10 + "\n")
    with pytest.raises(InputError, match="mix.fa: mixes DNA"):
        load_dataset([path])


def test_max_length_and_policy(write):
    path = write("l.fa", ">a label=x\nAAAACCCCGG\n>b label=y\nACG\n")
    ds = load_dataset([path], max_length=4, length_policy="end")
    assert ds.seqs == ["CCGG", "ACG"] and ds.truncated == 1
    assert load_dataset([path], max_length=4, length_policy="centre").seqs == ["ACCC", "ACG"]


def make_ds(seqs, labels, classes=("a", "b")) -> Dataset:
    return Dataset([f"s{i}" for i in range(len(seqs))], list(seqs), np.array(labels), list(classes), DNA)


def test_split_is_stratified():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(50)]
    labels = [0] * 40 + [1] * 10
    train, val = split_dataset(make_ds(seqs, labels), 0.2, seed=1)
    assert np.bincount(val.labels).tolist() == [8, 2]
    assert np.bincount(train.labels).tolist() == [32, 8]
    assert sorted(train.ids + val.ids) == sorted(f"s{i}" for i in range(50))


def test_split_is_seeded():
    seqs = [f"{'ACGT'[i % 4]}{i:b}".replace("0", "A").replace("1", "C") for i in range(40)]
    ds = make_ds(seqs, [i % 2 for i in range(40)])
    assert split_dataset(ds, 0.25, seed=3)[1].ids == split_dataset(ds, 0.25, seed=3)[1].ids
    assert split_dataset(ds, 0.25, seed=3)[1].ids != split_dataset(ds, 0.25, seed=4)[1].ids


def test_identical_sequences_never_straddle_the_split():
    rng = np.random.default_rng(1)
    uniques = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(15)]
    seqs, labels = [], []
    for i, s in enumerate(uniques):
        for k in range(1 + i % 4):  # 1-4 copies, some lower case
            seqs.append(s.lower() if k % 2 else s)
            labels.append(i % 2)
    ds = make_ds(seqs, labels)
    for seed in range(10):
        train, val = split_dataset(ds, 0.3, seed=seed)
        assert {s.upper() for s in train.seqs}.isdisjoint({s.upper() for s in val.seqs})
        assert len(train) + len(val) == len(ds) and len(val) > 0


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_dataset(make_ds(["A", "C"], [0, 1]), 1.0)


def test_summarize_counts():
    ds = make_ds(["ACGN", "ACGN", "acgn", "TT", "GGGGGG"], [0, 0, 1, 1, 1])
    s = summarize(ds)
    assert s["records"] == 5 and s["per_class"] == {"a": 2, "b": 3}
    assert (s["length_min"], s["length_median"], s["length_max"]) == (2, 4.0, 6)
    assert s["alphabet"] == "dna"
    assert s["ambiguous_fraction"] == pytest.approx(3 / 20)
    assert s["duplicate_records"] == 2  # three copies of ACGN (case-insensitive)
    assert s["conflicting_duplicates"] == 1  # ...with two different labels
    assert s["composition"] == pytest.approx({"A": 3 / 20, "C": 3 / 20, "G": 9 / 20, "N": 3 / 20, "T": 2 / 20})
    assert s["truncated"] == 0


def test_subset_and_encoded():
    ds = make_ds(["ACG", "T", "GG"], [0, 1, 1])
    sub = ds.subset([2, 0])
    assert sub.ids == ["s2", "s0"] and sub.seqs == ["GG", "ACG"] and sub.labels.tolist() == [1, 0]
    assert [a.shape for a in sub.encoded()] == [(2, 4), (3, 4)]
    assert ds.lengths().tolist() == [3, 1, 2]


def test_file_sha256(write):
    path = write("x.bin", b"hello\n" * 1000)
    assert file_sha256(path) == hashlib.sha256(b"hello\n" * 1000).hexdigest()


def test_class_map_renames_merges_and_drops(write):
    from bioseq.data.dataset import format_class_map, parse_class_map

    path = write("c.fa", ">a label=weak\nACGT\n>b label=strong\nACGA\n>c label=none\nCCGT\n>d label=junk\nGGGT\n")
    cmap = parse_class_map("weak=enhancer, strong=enhancer,junk=")
    assert cmap == {"weak": "enhancer", "strong": "enhancer", "junk": ""}
    ds = load_dataset([path], class_map=cmap)
    assert ds.classes == ["enhancer", "none"] and ds.ids == ["a", "b", "c"]
    assert ds.labels.tolist() == [0, 0, 1]
    same = load_dataset([path]).with_classes(cmap)
    assert (same.ids, same.classes, same.labels.tolist()) == (ds.ids, ds.classes, ds.labels.tolist())
    assert format_class_map({"weak": "enhancer", "none": "none"}) == "weak=enhancer"
    assert format_class_map({"none": "none"}) is None
    with pytest.raises(InputError, match="OLD=NEW"):
        parse_class_map("weak")
    with pytest.raises(InputError, match="every class was dropped"):
        load_dataset([path], class_map={"weak": "", "strong": "", "none": "", "junk": ""})
