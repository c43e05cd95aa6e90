"""BED reading: BED3/BED6, label column, gzip and bgzip, skipped lines, and every error naming file, line and
region."""

from __future__ import annotations

import gzip

import pysam
import pytest

from bioseq.data.bed import Region, check_regions, read_bed
from bioseq.data.genome import Genome
from bioseq.errors import InputError

BED = ("track name=peaks\nbrowser position chr1:1-100\n# a comment\n\n"
       "chr1\t2\t10\tp1\t5\t-\tenhancer\nchr1\t12\t20\n2 0 5 p3\n")


def test_bed3_bed6_and_skipped_lines(write):
    path = write("peaks.bed", BED)
    regions = read_bed(path)
    assert regions == [Region("chr1", 2, 10, "p1", "-", None, str(path), 5),
                       Region("chr1", 12, 20, "", ".", None, str(path), 6),
                       Region("2", 0, 5, "p3", ".", None, str(path), 7)]  # white space when there is no tab
    assert regions[0].width == 8 and regions[0].text == "chr1:2-10"


def test_label_column(write):
    path = write("peaks.bed", "chr1\t2\t10\tp1\t5\t-\tenhancer\nchr1\t12\t20\tp2\t0\t+\tsilencer\n")
    assert [r.label for r in read_bed(path, 7)] == ["enhancer", "silencer"]
    assert [r.label for r in read_bed(path, 4)] == ["p1", "p2"]
    with pytest.raises(InputError, match=r"peaks.bed: line 1 \(chr1:2-10\): no label in column 8 \(the line has 7 "
                                         r"columns\)"):
        read_bed(path, 8)


def test_gzipped_and_bgzipped(write, tmp_path):
    plain = write("peaks.bed", BED)
    gz = tmp_path / "peaks.bed.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    bgz = tmp_path / "peaks.bgz.bed.gz"
    pysam.tabix_compress(str(plain), str(bgz))
    expected = [(r.chrom, r.start, r.end, r.line) for r in read_bed(plain)]
    for path in (gz, bgz):
        assert [(r.chrom, r.start, r.end, r.line) for r in read_bed(path)] == expected


@pytest.mark.parametrize(("line", "problem"), [
    ("chr1\t2", r"line 2: a BED line needs at least 3 columns \(chrom, start, end\); this one has 2"),
    ("chr1\tx\t10", r"line 2 \(chr1:x-10\): the start 'x' is not a whole number"),
    ("chr1\t2\t10.5", r"line 2 \(chr1:2-10.5\): the end '10.5' is not a whole number"),
    ("chr1\t-3\t10", r"line 2 \(chr1:-3-10\): the start is negative"),
    ("chr1\t10\t10", r"line 2 \(chr1:10-10\): zero width \(the end must be after the start\)"),
    ("chr1\t10\t4", r"line 2 \(chr1:10-4\): negative width"),
])
def test_bad_lines_name_the_file_line_and_region(write, line, problem):
    path = write("peaks.bed", f"chr1\t0\t5\n{line}\n")
    with pytest.raises(InputError, match=f"peaks.bed: {problem}"):
        read_bed(path)


def test_bad_files(write, tmp_path):
    with pytest.raises(InputError, match="nope.bed: no such BED file"):
        read_bed(tmp_path / "nope.bed")
    with pytest.raises(InputError, match="empty.bed: the BED file has no regions"):
        read_bed(write("empty.bed", "track name=x\n# nothing\n"))
    with pytest.raises(InputError, match="bin.bed: is not a text BED file"):
        read_bed(write("bin.bed", b"\xff\xfe\x00chr1"))


def test_regions_against_the_genome(write):
    genome = Genome(write("g.fa", ">chr1\n" + "A" * 30 + "\n>2\n" + "C" * 10 + "\n"))
    path = write("peaks.bed", "1\t0\t30\nchr2\t5\t10\n")
    assert [(r.chrom, r.start, r.end) for r in check_regions(read_bed(path), genome)] == [("chr1", 0, 30), ("2", 5, 10)]
    with pytest.raises(InputError, match=r"past.bed: line 2 \(chr2:5-11\): the region ends past the end of 2 "
                                         r"\(length 10\) in .*g.fa"):
        check_regions(read_bed(write("past.bed", "chr1\t0\t5\nchr2\t5\t11\n")), genome)
    with pytest.raises(InputError, match=r"unknown.bed: line 1 \(chrX:0-5\): unknown chromosome 'chrX': the genome "
                                         r".*g.fa has chr1, 2"):
        check_regions(read_bed(write("unknown.bed", "chrX\t0\t5\n")), genome)


def test_an_empty_or_odd_strand_column_reads_as_no_strand(write):
    path = write("peaks.bed", "chr1\t0\t5\tn\t0\t\nchr1\t5\t9\tm\t0\t*\nchr1\t9\t12\tk\t0\t-\n")
    assert [r.strand for r in read_bed(path)] == [".", ".", "-"]


@pytest.mark.parametrize("header", ["chrom\tstart\tend\tname", "chrom start end", "#chrom\tchromStart\tchromEnd",
                                    "Chromosome\tStart\tEnd", "seqnames\tstart\tend\twidth\tstrand"])
def test_a_header_line_is_skipped_with_a_note(write, header):
    path = write("peaks.bed", f"# written by a tool\n{header}\nchr1\t2\t10\tp1\n")
    notes: list[str] = []
    assert [(r.chrom, r.start, r.end, r.line) for r in read_bed(path, notes=notes)] == [("chr1", 2, 10, 3)]
    if header.startswith("#"):
        assert notes == []  # a comment, as ever
    else:
        assert notes == [f"{path}: line 2 read as a header and skipped ({' '.join(header.split()[:3])} ...)"]
    assert [r.chrom for r in read_bed(write("odd.bed", "chrom\t0\t5\n"))] == ["chrom"]  # whole numbers: a region


@pytest.mark.parametrize(("text", "problem"), [
    ("chr1\t0\t5\nchrom\tstart\tend\n", r"line 2 \(chrom:start-end\): the start 'start' is not a whole number"),
    ("chr1\tx\t10\n", r"line 1 \(chr1:x-10\): the start 'x' is not a whole number"),
    ("chrom\tstart\tend\nchr1\t5\tten\n", r"line 2 \(chr1:5-ten\): the end 'ten' is not a whole number"),
])
def test_only_a_first_line_that_looks_like_a_header_is_skipped(write, text, problem):
    path = write("peaks.bed", text)
    with pytest.raises(InputError, match=f"peaks.bed: {problem}"):
        read_bed(path)
