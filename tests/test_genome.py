"""bioseq.data.genome: random access to a reference FASTA, chromosome names with or without ``chr``."""

from __future__ import annotations

import gzip

import pysam
import pytest

from bioseq.data.genome import Genome
from bioseq.errors import InputError


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chr1 first\nACGTACgtac\nNNNNacgt\n>2\nGGGG\n>chrM\nTTT\n")
    return path


def test_fetch_is_0_based_half_open_and_keeps_soft_masking(fasta):
    with Genome(fasta) as g:
        assert g.fetch("chr1", 0, 4) == "ACGT"
        assert g.fetch("chr1", 4, 12) == "ACgtacNN"  # across a line break; lower case kept
        assert g.fetch("1", 14, 18) == "acgt" and g.length("chr1") == 18
        assert g.sizes() == {"chr1": 18, "2": 4, "chrM": 3}


def test_names_match_with_or_without_chr(fasta):
    with Genome(fasta) as g:
        assert g.resolve("1") == g.resolve("CHR1") == "chr1"
        assert g.resolve("chr2") == "2" and g.resolve("MT") == "chrM" and g.resolve("3") is None
        with pytest.raises(InputError, match=r"g\.fa: no chromosome 'chr3' \(with or without 'chr'\); it has chr1, "
                                             r"2, chrM"):
            g.fetch("chr3", 0, 1)


def test_window_pads_beyond_the_ends_with_n(fasta):
    with Genome(fasta) as g:
        assert g.window("2", -3, 2) == "NNNGG"
        assert g.window("2", 2, 7) == "GGNNN"
        assert g.window("2", 6, 8) == "NN"
        with pytest.raises(InputError, match="lies outside the chromosome"):
            g.fetch("2", 2, 7)


def test_bgzipped_fasta_is_read_and_plain_gzip_refused(fasta, tmp_path):
    bgz = tmp_path / "b.fa.gz"
    pysam.tabix_compress(str(fasta), str(bgz))
    with Genome(bgz) as g:
        assert g.fetch("chr1", 8, 14) == "acNNNN"
    gz = tmp_path / "p.fa.gz"
    gz.write_bytes(gzip.compress(fasta.read_bytes()))
    with pytest.raises(InputError, match=r"p\.fa\.gz: is gzipped but not bgzipped"):
        Genome(gz)
    with pytest.raises(InputError, match=r"nope\.fa: no such genome file"):
        Genome(tmp_path / "nope.fa")
