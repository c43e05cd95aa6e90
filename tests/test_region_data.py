"""Training data from genome regions: windows, backgrounds, classes per BED file or label column, chromosome hold-out,
per-position labels from BED, option checks, and ``bioseq train --regions``."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import TINY_ARGS

from bioseq.cli import main
from bioseq.data.bed import Region
from bioseq.data.region_data import (
    RegionReader,
    dinucleotide_shuffle,
    fetch_padded,
    flank_regions,
    load_region_split,
    window,
)
from bioseq.data.source import DataOptions
from bioseq.errors import InputError

CHR1 = "AAAACCCCGGGGTTTTacgtNNNNAAAACCCCGGGGTTTT"  # 40: soft-masked acgt at 16-20, N run at 20-24
TWO = "GATTACAGATTACAGATTACA"  # 21, named "2" (no chr prefix)
CHR3 = "ACGTTGCAACGTTGCAACGTTGCAACGTTG"  # 30


@pytest.fixture
def genome(write):
    return write("g.fa", f">chr1\n{CHR1}\n>2\n{TWO}\n>chr3\n{CHR3}\n")


def opts(**kw) -> DataOptions:
    return DataOptions([], **kw).validate()


def test_windows_recentre_flank_and_pad_with_n(genome):
    from bioseq.data.genome import Genome

    r = Region("chr1", 4, 12)
    assert window(r, None, None) == (4, 12)
    assert window(r, 4, None) == (6, 10)
    assert window(r, 4, 2) == (4, 12)
    assert window(r, None, 5) == (-1, 17)
    g = Genome(genome)
    assert fetch_padded(g, "chr1", -2, 3) == "NNAAA"
    assert fetch_padded(g, "chr1", 38, 43) == "TTNNN"
    assert fetch_padded(g, "chr1", 16, 24) == "ACGTNNNN"  # upper case, the N run kept
    assert fetch_padded(g, "chr1", 45, 47) == "NN"


def test_dinucleotide_shuffle_keeps_first_letter_and_dinucleotide_counts():
    seq = "ACGTTGCAACGGATCCATGNNACGT"
    rng = np.random.default_rng(0)
    shuffled = [dinucleotide_shuffle(seq, rng) for _ in range(20)]

    def pairs(s):
        return Counter(s[i:i + 2] for i in range(len(s) - 1))

    assert all(s[0] == seq[0] and pairs(s) == pairs(seq) for s in shuffled)
    assert len(set(shuffled)) > 10  # really shuffled
    again = np.random.default_rng(0)
    assert [dinucleotide_shuffle(seq, again) for _ in range(20)] == shuffled  # seeded
    assert dinucleotide_shuffle("AC", rng) == "AC"


def test_flanks_beside_each_region_never_over_another():
    regions = [Region("c", 10, 20), Region("c", 20, 25), Region("c", 0, 5)]
    got = [(r.start, r.end, r.label) for r in flank_regions(regions, {"c": 40})]
    # first: left 0-10 overlaps 0-5, right 20-30 overlaps 20-25: none; second (odd: right first): 25-30;
    # third: left is off the chromosome, right 5-10 is free
    assert got == [(25, 30, "background"), (5, 10, "background")]


def test_one_bed_gets_shuffled_negatives_by_default(genome, write):
    bed = write("peaks.tr.bed", "chr1\t0\t8\tp1\nchr3\t1\t7\tp2\t0\t-\n")
    reader = RegionReader(opts(regions=[str(bed)], genome=str(genome)))
    regions, seqs = reader.classified(seed=1)
    assert [(r.chrom, r.label) for r in regions] == [("chr1", "peaks"), ("chr3", "peaks"),
                                                      ("chr1", "background"), ("chr3", "background")]
    assert seqs[0] == "AAAACCCC"
    assert CHR3[1:7] == "CGTTGC" and seqs[1] == "GCAACG"  # the - strand: reverse complement
    assert sorted(seqs[2]) == sorted(seqs[0]) and seqs[2][0] == "A"


def test_flanks_and_bed_backgrounds(genome, write):
    bed = write("peaks.bed", "chr1\t8\t12\nchr3\t20\t30\n")
    regions, seqs = RegionReader(opts(regions=[str(bed)], genome=str(genome), background="flanks")).classified()
    assert [(r.chrom, r.start, r.end, r.label) for r in regions[2:]] == [("chr1", 4, 8, "background"),
                                                                       ("chr3", 10, 20, "background")]
    assert seqs[2:] == ["CCCC", CHR3[10:20]]
    neg = write("neg.bed", "2\t0\t4\n")
    regions, seqs = RegionReader(opts(regions=[str(bed)], genome=str(genome), background_bed=[str(neg)])).classified()
    assert [(r.chrom, r.label) for r in regions[2:]] == [("2", "background")] and seqs[2:] == ["GATT"]


def test_classes_from_files_or_a_label_column(genome, write):
    a = write("enh.bed", "chr1\t0\t4\nchr3\t0\t4\n")
    b = write("prom.x.bed", "chr1\t24\t28\n")
    regions, _ = RegionReader(opts(regions=[str(a), str(b)], genome=str(genome))).classified()
    assert [r.label for r in regions] == ["enh", "enh", "prom"]  # no drawn negatives with two classes
    labelled = write("all.bed", "chr1\t0\t4\tx\t0\t+\tup\nchr1\t24\t28\ty\t0\t+\tdown\n")
    regions, _ = RegionReader(opts(regions=[str(labelled)], genome=str(genome), bed_label_column=7)).classified()
    assert [r.label for r in regions] == ["up", "down"]
    with pytest.raises(InputError, match=r"--background draws negatives when --regions gives one class; these regions "
                                         r"have 2 \(enh, prom\)"):
        RegionReader(opts(regions=[str(a), str(b)], genome=str(genome), background="flanks")).classified()


def test_whole_chromosomes_held_out_with_names_matched(genome, write):
    bed = write("pos.bed", "1\t0\t8\nchr1\t24\t32\nchr2\t0\t8\nchr2\t8\t16\nchr3\t0\t8\n")
    train, val, rule = load_region_split(opts(regions=[str(bed)], genome=str(genome), val_chroms="chr2",
                                              test_chroms="3", width=6))
    assert [i.split(":")[0] for i in train.ids] == ["chr1", "chr1", "chr1", "chr1"]  # 2 regions, 2 shuffled
    assert [i.split(":")[0] for i in val.ids] == ["2", "2", "2", "2"]
    assert val.classes == ["background", "pos"] and sorted(val.labels.tolist()) == [0, 0, 1, 1]
    assert train.seqs[0] == "AAACCC"  # recentred to 6: 1..7
    assert rule["method"] == "chromosomes" and rule["val_chroms"] == ["2"] and rule["test_chroms"] == ["chr3"]
    assert rule["test_records"] == 2 and rule["val_fraction"] == 0.4
    assert rule["notes"] == [f"chromosome '1' read as 'chr1' of the genome {genome}",
                             f"chromosome '3' read as 'chr3' of the genome {genome}",
                             f"chromosome 'chr2' read as '2' of the genome {genome}",
                             f"2 records on the test chromosomes (3) left out: score them with bioseq evaluate MODEL "
                             f"--regions {bed} --genome {genome} --test-chroms 3"]
    from bioseq.data.splits import describe_split

    assert describe_split(rule) == ("whole chromosomes held out: validation on 2, 40.0% of the records held out; "
                                    "test chromosomes chr3 left out (2 records)")


def test_hold_out_errors(genome, write):
    bed = write("pos.bed", "chr1\t0\t8\nchr1\t8\t16\n")
    with pytest.raises(InputError, match=r"g.fa: --val-chroms chr9: no chromosome 'chr9' in the genome \(chr1, 2, "
                                         r"chr3\)"):
        load_region_split(opts(regions=[str(bed)], genome=str(genome), val_chroms="chr9"))
    with pytest.raises(InputError, match=r"pos.bed: no regions on the validation chromosomes \(--val-chroms chr3\)"):
        load_region_split(opts(regions=[str(bed)], genome=str(genome), val_chroms="chr3"))
    with pytest.raises(InputError, match="pos.bed: no regions left to train on after holding out"):
        load_region_split(opts(regions=[str(bed)], genome=str(genome), test_chroms="chr1"))


def test_a_stratified_split_without_val_chroms(genome, write):
    bed = write("pos.bed", "".join(f"chr1\t{a}\t{a + 8}\n" for a in range(0, 32, 4)))
    train, val, rule = load_region_split(opts(regions=[str(bed)], genome=str(genome), val_fraction=0.25), seed=0)
    assert len(train) + len(val) == 16 and rule["method"] == "stratified" and rule["test_chroms"] == []


def test_per_position_labels_from_bed(genome, write):
    windows = write("win.bed", "chr1\t0\t8\nchr3\t4\t12\tw\t0\t-\n")
    features = write("feat.bed", "chr1\t2\t4\nchr1\t7\t20\nchr3\t10\t11\n")
    train, val, rule = load_region_split(opts(regions=[str(windows)], genome=str(genome), regions_labels=[
        str(features)], val_chroms="chr3"), per_position=True)
    assert train.ids == ["chr1:0-8"] and train.labels == ["00110001"] and train.seqs == ["AAAACCCC"]
    assert val.ids == ["w|chr3:4-12(-)"] and val.labels == ["01000000"]  # 00000010 reversed with the strand
    assert train.label_set == ["0", "1"] and bool(train.masks[0].all())


@pytest.mark.parametrize(("kw", "problem"), [
    ({"regions": ["a.bed"]}, "--regions needs --genome"),
    ({"regions": ["a.bed"], "genome": "g.fa", "train": ["x.fa"]}, "give sequence files or --regions, not both"),
    ({"regions": ["a.bed"], "genome": "g.fa", "labels": "l.csv"}, "--labels FILE is for sequence files"),
    ({"regions": ["a.bed"], "genome": "g.fa", "background": "bed"}, "--background bed needs --background-bed"),
    ({"regions": ["a.bed"], "genome": "g.fa", "background": "flanks", "background_bed": ["n.bed"]},
     "--background-bed gives the negatives of --background bed, not of --background flanks"),
    ({"regions": ["a.bed"], "genome": "g.fa", "regions_labels": ["f.bed"], "background": "flanks"},
     "--regions-labels labels each letter"),
    ({"regions": ["a.bed"], "genome": "g.fa", "val_chroms": "chr1,chr2", "test_chroms": "chr2"},
     "chr2 is in both --val-chroms and --test-chroms"),
    ({}, "no training data: give sequence files, or --regions BED files with --genome"),
    ({"regions": ["a.bed"], "genome": "g.fa", "width": 0}, "--width must be at least 1, not 0"),
])
def test_option_checks(kw, problem):
    with pytest.raises(InputError, match=problem):
        DataOptions(**{"train": [], **kw}).validate()


def test_bioseq_train_regions(genome, write, tmp_path, capsys):
    bed = write("peaks.bed", "".join(f"1\t{a}\t{a + 8}\n" for a in range(0, 32, 4)) + "chr3\t0\t8\nchr3\t10\t18\n")
    out = tmp_path / "m.safetensors"
    assert main(["train", "--regions", str(bed), "--genome", str(genome), "--val-chroms", "chr3", "--out", str(out),
                 *TINY_ARGS, "--epochs", "1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"bioseq: note: chromosome '1' read as 'chr1' of the genome {genome}" in err
    assert "16 training records (background 8, peaks 8)" in err
    from bioseq.model.store import load_model

    meta = load_model(out).meta
    assert meta["training"]["split"]["method"] == "chromosomes"
    assert [f["role"] for f in meta["training"]["files"]] == ["regions", "genome"]


def test_bioseq_train_regions_errors_are_one_line(genome, write, tmp_path, capsys):
    bed = write("peaks.bed", "chr1\t0\t8\nchr1\t30\t41\n")
    code = main(["train", "--regions", str(bed), "--genome", str(genome), "--out", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "peaks.bed: line 2 (chr1:30-41): the region ends past the end of chr1 (length 40)" in err
    assert main(["train", "--out", str(tmp_path / "m.safetensors")]) == 2
    assert "no training data" in capsys.readouterr().err


@pytest.mark.slow
def test_acceptance_a_planted_motif_is_learned_on_held_out_chromosomes(tmp_path):
    """Issue 19's acceptance (``python -m bench.regions``): a 3 Mbp genome, AP-1 planted in the positive regions;
    trained with --val-chroms chr4 --test-chroms chr5, at least 0.9 accuracy on both held-out chromosomes."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.regions import run

    figures = run(tmp_path, mbp=3.0, per_mb=400, epochs=6)
    assert figures["val_accuracy"] >= 0.9 and figures["test_accuracy"] >= 0.9, figures


def test_the_task_and_the_labels_must_agree(genome, write, tmp_path, capsys):
    bed = write("pos.bed", "chr1\t0\t8\nchr1\t8\t16\n")
    base = ["train", "--regions", str(bed), "--genome", str(genome), "--out", str(tmp_path / "m.safetensors")]
    assert main([*base, "--task", "label"]) == 2
    assert "a labeller on genome regions takes its per-position labels from --regions-labels" in capsys.readouterr().err
    assert main([*base, "--regions-labels", str(bed), "--task", "classify"]) == 2
    assert "--regions-labels gives a label per position: train a labeller" in capsys.readouterr().err
    assert main([*base, "--cache", "on"]) == 2
    assert "--cache on reads sequence files; --regions are read in memory" in capsys.readouterr().err


def test_windows_line_endings_and_bgzipped_genome(genome, write, tmp_path):
    import pysam

    bgz = tmp_path / "g.fa.gz"
    pysam.tabix_compress(str(genome), str(bgz))
    bed = write("pos.bed", "track name=x\r\nchr1\t0\t8\r\nchr1\t8\t16\r\n")
    train, val, _ = load_region_split(opts(regions=[str(bed)], genome=str(bgz), val_fraction=0.5), seed=0)
    assert {"AAAACCCC", "GGGGTTTT"} <= set(train.seqs + val.seqs) and len(train) + len(val) == 4


def test_the_test_chromosomes_are_read_as_training_reads_them(genome, write):
    """load_region_test gives the --test-chroms windows that load_region_split left out: the same width, the same
    shuffled negatives for the same seed, the classes in the model's order; every window without --test-chroms."""
    from bioseq.data.region_data import load_region_test, record_id

    bed = write("pos.bed", "1\t0\t8\nchr1\t24\t32\nchr2\t0\t8\nchr2\t8\t16\nchr3\t0\t8\nchr3\t10\t18\n")
    kw = {"regions": [str(bed)], "genome": str(genome), "val_chroms": "chr2", "test_chroms": "3", "width": 6}
    train, val, rule = load_region_split(opts(**kw), seed=4)
    assert rule["test_records"] == 4 and not any(i.startswith("chr3") for i in train.ids + val.ids)
    test = load_region_test(opts(**kw), seed=4, classes=["pos", "background"])
    assert test.ids == ["chr3:0-8", "chr3:10-18", "chr3:0-8 shuffled|chr3:0-8", "chr3:10-18 shuffled|chr3:10-18"]
    regions, seqs = RegionReader(opts(**kw)).classified(4)  # what training read, negatives included
    assert test.seqs == [s for r, s in zip(regions, seqs) if record_id(r) in test.ids]
    assert test.seqs[:2] == [CHR3[1:7], CHR3[11:17]] and test.classes == ["pos", "background"]
    assert test.labels.tolist() == [0, 0, 1, 1]
    assert len(load_region_test(opts(**{**kw, "test_chroms": None}), seed=4)) == 12
    with pytest.raises(InputError, match=r"pos.bed: class 'background' of the regions is not one of the model's"):
        load_region_test(opts(**kw), classes=["a", "b"])
    one = write("one.bed", "chr1\t0\t8\n")
    with pytest.raises(InputError, match=r"one.bed: no regions on the test chromosomes \(--test-chroms chr3\)"):
        load_region_test(opts(regions=[str(one)], genome=str(genome), test_chroms="chr3"))


@pytest.mark.parametrize(("background", "negatives"), [
    ("flanks", ["CGGGGTTTTA", "NAAAACCCCG"]),  # beside each window (the first's right, the second's left), upper case
    ("bed", ["NNNACGTTGC", "AACGTTGNNN"]),  # the --background-bed regions, windowed the same way
])
def test_a_flank_at_position_0_and_at_the_chromosome_end_with_each_background(genome, write, background, negatives):
    """Regions at 0 and at the end of chr1 (40) with --flank 3: windows padded with N, one class, negatives drawn."""
    bed = write("pos.bed", "chr1\t0\t4\nchr1\t36\t40\n")
    extra = {"background_bed": [str(write("neg.bed", "chr3\t0\t4\nchr3\t26\t30\n"))]} if background == "bed" else {}
    regions, seqs = RegionReader(opts(regions=[str(bed)], genome=str(genome), flank=3, background=background,
                                      **extra)).classified()
    assert seqs[:2] == ["NNNAAAACCC", "GGGTTTTNNN"] and seqs[2:] == negatives
    assert [r.label for r in regions] == ["pos", "pos", "background", "background"]


def test_shuffled_negatives_of_padded_windows_keep_their_letters(genome, write):
    bed = write("pos.bed", "chr1\t0\t4\nchr1\t36\t40\n")
    _, seqs = RegionReader(opts(regions=[str(bed)], genome=str(genome), flank=3)).classified(seed=1)
    assert [sorted(s) for s in seqs[2:]] == [sorted(s) for s in seqs[:2]] and [s[0] for s in seqs[2:]] == ["N", "G"]


def test_flanks_that_find_no_room_are_one_line(write):
    genome = write("g.fa", ">MT\nACGTACGTACGTACGTAAAA\n")
    with pytest.raises(InputError, match=r"full.bed: --background flanks found no free window beside any region"):
        RegionReader(opts(regions=[str(write("full.bed", "MT\t0\t20\n"))], genome=str(genome),
                          background="flanks")).classified()


def test_per_position_labels_at_the_chromosome_ends_with_a_flank_on_both_strands(genome, write):
    windows = write("win.bed", "chr1\t0\t4\tx\t0\t-\nchr1\t36\t40\nchr3\t0\t8\n")
    features = write("feat.bed", "chr1\t0\t1\nchr1\t39\t40\nchr1\t2\t6\n")  # overlapping features are one feature
    train, val, _ = load_region_split(opts(regions=[str(windows)], genome=str(genome), regions_labels=[str(features)],
                                           flank=2, val_chroms="chr3"), per_position=True)
    assert train.seqs == ["GGTTTTNN", "GGTTTTNN"]  # chr1:-2..6 reverse-complemented: NNAAAACC -> GGTTTTNN
    assert train.labels == ["11110100", "00000100"]  # 00101111 (-2..6) reversed with the strand; the feature at 39
    assert val.labels == ["0" * 12]  # chr3:-2..10, no feature


def test_chromosome_spellings_a_byte_order_mark_and_crlf_genome(write):
    """BED chrM / Chr1 / 1 against a genome of MT / chr1 written with CRLF line ends; a BED starting with a UTF-8
    byte-order mark (as Windows tools write it)."""
    genome = write("g.fa", b">chr1\r\nAAAACCCCGG\r\nGGTTTTACGT\r\n>MT\r\nACGTACGTAC\r\nGTACGTAAAA\r\n")
    bed = write("pos.bed", "\ufeffchrM\t0\t8\nChr1\t0\t8\n1\t8\t16\n".encode())
    regions, seqs = RegionReader(opts(regions=[str(bed)], genome=str(genome))).classified()
    assert [(r.chrom, s) for r, s in zip(regions, seqs)][:3] == [("MT", "ACGTACGT"), ("chr1", "AAAACCCC"),
                                                                 ("chr1", "GGGGTTTT")]
    with pytest.raises(InputError, match=r"empty.bed: the BED file has no regions"):
        RegionReader(opts(regions=[str(write("empty.bed", ""))], genome=str(genome)))
