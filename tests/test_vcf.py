"""bioseq.data.vcf: VCF (plain, gzipped, bgzipped) through pysam, one Variant per ALT allele, errors by line."""

from __future__ import annotations

import gzip

import pysam
import pytest

from bioseq.data.vcf import Skipped, Variant, read_variants
from bioseq.errors import InputError

HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def vcf_text(*rows: str) -> str:
    return HEAD + "".join("\t".join(r.split()) + "\t.\t.\t.\n" for r in rows)


@pytest.fixture
def vcf(tmp_path):
    path = tmp_path / "v.vcf"
    path.write_text(vcf_text("chr1 10 rs1 A G,t", "1 20 . AC A", "chr1 30 sv A <DEL>", "chr1 40 b A A[chr1:5[",
                             "chr1 50 x g .", "chr1 60 y C *"))
    return path


EXPECTED = [Variant("chr1", 10, "rs1", "A", "G", 3), Variant("chr1", 10, "rs1", "A", "T", 3),
            Variant("1", 20, "", "AC", "A", 4)]


def test_one_variant_per_alt_allele_and_skipped_alleles_counted(vcf):
    skipped = Skipped()
    assert list(read_variants(vcf, skipped)) == EXPECTED
    assert skipped == {"symbolic": 3, "no_alt": 1}
    assert skipped.words() == ("1 allele with no ALT allele ('.'); 3 alleles with symbolic or structural ALT "
                               "(<DEL>, breakend, *)")


def test_gzipped_and_bgzipped_vcf_read_alike(vcf, tmp_path):
    gz, bgz = tmp_path / "v.vcf.gz", tmp_path / "b.vcf.gz"
    gz.write_bytes(gzip.compress(vcf.read_bytes()))
    pysam.tabix_compress(str(vcf), str(bgz))
    assert list(read_variants(gz)) == list(read_variants(bgz)) == EXPECTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.vcf.gz", "v.vcf", "v.vcf.gz"]


def test_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.vcf"
    bad.write_text(vcf_text("chr1 10 a A G") + "chr1\t5\t.\tA\n")
    with pytest.raises(InputError, match=r"bad\.vcf: line 4: cannot be read as a VCF record"):
        list(read_variants(bad))
    bad.write_text(vcf_text("chr1 10 a A G", "chr1 11 b AX G"))
    with pytest.raises(InputError, match=r"bad\.vcf: line 4: REF 'AX' is not made of A, C, G, T and N letters"):
        list(read_variants(bad))
    bad.write_text(">not a vcf\nACGT\n")
    with pytest.raises(InputError, match=r"bad\.vcf: is not a VCF file"):
        list(read_variants(bad))
    with pytest.raises(InputError, match=r"none\.vcf: no such VCF file"):
        list(read_variants(tmp_path / "none.vcf"))


def test_blank_lines_never_shift_the_line_numbers(tmp_path):
    """pysam reads blank lines in the header but stops on one among the records: the header's count them,
    a blank record line is named as such, and blank lines at the very end are harmless."""
    path = tmp_path / "b.vcf"
    head = "##fileformat=VCFv4.2\n\n##source=x\n\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    path.write_text(head + "chr1\t10\ta\tA\tG\t.\t.\t.\nchr1\t11\tb\tAX\tG\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"b\.vcf: line 7: REF 'AX'"):
        list(read_variants(path))
    path.write_text(vcf_text("chr1 10 a A G") + "\n \n")
    assert list(read_variants(path)) == [Variant("chr1", 10, "a", "A", "G", 3)]
    for blank in ("\n", "\t\n"):
        path.write_text(vcf_text("chr1 10 a A G") + blank + "chr1\t11\tb\tA\tG\t.\t.\t.\n")
        with pytest.raises(InputError, match=r"^.*b\.vcf: line 4: a blank line among the records \(a VCF has "
                                             r"none: remove it\)$"):
            list(read_variants(path))
    gz = tmp_path / "b.vcf.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(InputError, match=r"b\.vcf\.gz: line 4: a blank line among the records"):
        list(read_variants(gz))
