"""The genome reader: random access through pyfaidx, plain and bgzipped FASTA, soft-masked letters, N runs, chromosome
names with and without ``chr``, the index never written beside the user's file."""

from __future__ import annotations

import gzip
import os
import stat

import pysam
import pytest

from bioseq.data.genome import Genome, compression, name_candidates
from bioseq.errors import InputError

# chr1: 3 lines of 10 (soft-masked stretch, N run); "2": no chr prefix; chrM: the mitochondrion
GENOME = ">chr1 the first\nACGTacgtNN\nNNNNGGGGCC\nTTAA\n>2\nGGGGGCCCCCAAAAA\n>chrM\nACGT\n"


@pytest.fixture
def genome_fa(write):
    return write("g/genome.fa", GENOME)


def test_fetch_is_zero_based_half_open_upper_case_with_n_runs(genome_fa):
    g = Genome(genome_fa)
    assert dict(g.lengths) == {"chr1": 24, "2": 15, "chrM": 4}
    assert g.fetch("chr1", 0, 4) == "ACGT"
    assert g.fetch("chr1", 4, 8) == "ACGT"  # soft-masked acgt reads as upper case
    assert g.fetch("chr1", 8, 14) == "NNNNNN"  # the N run kept (across a line break)
    assert g.fetch("chr1", 18, 24) == "CCTTAA"
    assert g.fetch("2", 10, 15) == "AAAAA"
    assert g.fetch("chr1", 5, 5) == ""


def test_chromosome_names_with_and_without_chr(genome_fa):
    g = Genome(genome_fa)
    assert name_candidates("chr7") == ["chr7", "7", "Chr7", "CHR7"] and name_candidates("7") == ["7", "chr7", "Chr7",
                                                                                                "CHR7"]
    assert name_candidates("Chr7")[:3] == ["Chr7", "7", "chr7"]  # TAIR's spelling
    assert name_candidates("chrM") == ["chrM", "M", "ChrM", "CHRM", "MT", "chrMT"]
    assert name_candidates("MT") == ["MT", "chrMT", "ChrMT", "CHRMT", "chrM", "M", "ChrM"]
    assert g.resolve("chr1") == "chr1" and g.renamed == {}
    assert g.resolve("1") == "chr1"
    assert g.resolve("chr2") == "2"
    assert g.resolve("MT") == "chrM"
    assert g.resolve("chr3") is None and g.resolve("3") is None
    assert g.fetch("chr2", 0, 3) == "GGG"
    assert g.length("1") == 24
    assert g.notes() == [f"chromosome '1' read as 'chr1' of the genome {genome_fa}",
                         f"chromosome 'MT' read as 'chrM' of the genome {genome_fa}",
                         f"chromosome 'chr2' read as '2' of the genome {genome_fa}"]


def test_fetch_errors_name_the_genome(genome_fa):
    g = Genome(genome_fa)
    with pytest.raises(InputError, match=r"genome.fa: no chromosome 'chr9' in the genome \(chr1, 2, chrM\)"):
        g.fetch("chr9", 0, 1)
    with pytest.raises(InputError, match=r"genome.fa: chr1:20-30 is outside chr1 \(length 24\)"):
        g.fetch("chr1", 20, 30)
    with pytest.raises(InputError, match=r"chr1:-1-3 is outside"):
        g.fetch("chr1", -1, 3)


def test_the_index_is_built_in_the_workspace_never_beside_the_genome(genome_fa, bioseq_home):
    folder = genome_fa.parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)  # a read-only genome folder
    try:
        with Genome(genome_fa) as g:
            assert g.fetch("chr1", 0, 2) == "AC"
        assert sorted(os.listdir(folder)) == ["genome.fa"]
        assert [p.name for p in (bioseq_home / "genome-index").rglob("*.fai")] == ["genome.fa.fai"]
        assert Genome(genome_fa).fetch("2", 0, 2) == "GG"  # the built index is found again
    finally:
        folder.chmod(0o755)


def test_an_up_to_date_index_beside_the_genome_is_used(genome_fa, bioseq_home):
    pysam.faidx(str(genome_fa))  # samtools' index beside the FASTA
    assert Genome(genome_fa).fetch("chrM", 0, 4) == "ACGT"
    assert not (bioseq_home / "genome-index").exists()


def test_bgzipped_genome(genome_fa, tmp_path, bioseq_home):
    bgz = tmp_path / "genome.fa.gz"
    pysam.tabix_compress(str(genome_fa), str(bgz))
    assert compression(bgz) == "bgzip" and compression(genome_fa) == "plain"
    g = Genome(bgz)
    assert g.fetch("chr1", 4, 12) == "ACGTNNNN" and g.fetch("2", 5, 10) == "CCCCC"
    assert sorted(p.name for p in (bioseq_home / "genome-index").rglob("*")
                  if p.is_file()) == ["genome.fa.gz.fai", "genome.fa.gz.gzi"]
    assert sorted(os.listdir(tmp_path)) == sorted(["g", "genome.fa.gz", "home"])


def test_plain_gzip_is_read_through_a_bgzipped_copy_in_the_workspace(genome_fa, tmp_path, bioseq_home):
    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(genome_fa.read_bytes()))
    assert compression(gz) == "gzip"
    before = sorted(os.listdir(tmp_path))
    g = Genome(gz)
    before.append("home")  # the workspace, made by the copy
    assert g.fetch("chr1", 4, 12) == "ACGTNNNN" and g.fetch("2", 5, 10) == "CCCCC"
    assert g.compressed and g.copied is not None and compression(g.copied) == "bgzip"
    assert g.copied.is_relative_to(bioseq_home / "genome-index")
    assert any("plain gzip" in n and "bgzipped copy" in n for n in g.notes())
    assert sorted(os.listdir(tmp_path)) == sorted(before)  # nothing written beside the user's file
    made = g.copied.stat().st_mtime_ns
    g.close()
    with Genome(gz) as again:  # the copy is made once
        assert again.copied == g.copied and again.copied.stat().st_mtime_ns == made
        assert again.fetch("chr1", 4, 12) == "ACGTNNNN"


def test_a_broken_gzip_genome_is_one_line(tmp_path, bioseq_home):
    gz = tmp_path / "genome.fa.gz"
    gz.write_bytes(gzip.compress(b">a\nACGT\n" * 100)[:-20])  # cut short
    with pytest.raises(InputError, match=r"genome.fa.gz: cannot read the gzipped genome"):
        Genome(gz)
    assert not [p for p in (bioseq_home / "genome-index").rglob("*") if p.is_file()]


@pytest.mark.parametrize(("content", "problem"), [
    (">a\nACGT\n>a\nACGT\n", r"cannot read the genome: Duplicate key \"a\""),
    ("hello\n", "cannot index the genome: Unexpected text before the first sequence"),
    (">a\nACGT\nACGTAA\nAC\n", "cannot index the genome: Line length of fasta file is not consistent"),
    ("", "cannot index the genome: The FASTA file .* does not contain a valid sequence"),
])
def test_bad_genomes_are_one_line_naming_the_file(write, content, problem):
    path = write("bad.fa", content)
    with pytest.raises(InputError, match=f"bad.fa: {problem}"):
        Genome(path)


def test_missing_genome(tmp_path):
    with pytest.raises(InputError, match="nope.fa: no such genome file"):
        Genome(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="the genome is not a file"):
        Genome(tmp_path)
