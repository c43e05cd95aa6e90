"""``bioseq variants`` (bioseq.prediction.variants, bioseq.cli.variants): windows around REF and ALT, exact
scores from the hand-built motif model, the REF check by line, CSV and BED, a labeller's positions, both
strands, and 2 processes under torchrun.

The motif model (tests/_linear.py, bias -4.5) gives p(motif) = 0.880797 to a window holding all of GATTA and
0.5 to any other: breaking the planted GATTA changes p(motif) by -0.380797, log odds by -2 exactly.
"""

from __future__ import annotations

import dataclasses
import gzip

import pandas as pd
import pysam
import pytest
from _linear import linear_labeller, motif_bundle
from test_scan import profiled
from test_shards import bioseq_run

from bioseq.cli import main as cli
from bioseq.data.genome import Genome
from bioseq.data.vcf import Variant
from bioseq.model.store import save_model
from bioseq.prediction import variants

HEAD = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
CHR1 = "CG" * 10 + "GATTA" + "GC" * 17 + "G"  # 60 letters, GATTA at 1-based 21..25
CHR2 = "ccgg" * 5 + "NNNNNNNNNN" + "ccgg" * 5  # soft-masked, an N run


def vcf_text(*rows: str) -> str:
    return HEAD + "".join("\t".join(r.split()) + "\t.\t.\t.\n" for r in rows)


@pytest.fixture
def files(tmp_path):
    genome = tmp_path / "g.fa"
    genome.write_text(f">chr1\n{CHR1}\n>chr2\n{CHR2}\n")
    vcf = tmp_path / "v.vcf"  # chromosome names with and without chr; a multi-allelic line; a deletion
    vcf.write_text(vcf_text("1 23 brk T C,G", "chr1 50 far G A", "chr1 21 del GA G", "chr2 3 sv G <DEL>",
                            "chr2 22 inN N A"))
    model = save_model(tmp_path / "motif.safetensors", profiled(motif_bundle(bias=-4.5)))
    return tmp_path, str(model), genome, vcf


def test_effects_are_exact(files, capsys):
    tmp, model, genome, vcf = files
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome)]) == 0
    out = capsys.readouterr()
    assert out.out == (
        "chrom,pos,id,ref,alt,class,ref_score,alt_score,diff,log_odds_ratio\n"
        "1,23,brk,T,C,background,0.119203,0.5,0.380797,2\n1,23,brk,T,C,motif,0.880797,0.5,-0.380797,-2\n"
        "1,23,brk,T,G,background,0.119203,0.5,0.380797,2\n1,23,brk,T,G,motif,0.880797,0.5,-0.380797,-2\n"
        "chr1,50,far,G,A,background,0.5,0.5,0,0\nchr1,50,far,G,A,motif,0.5,0.5,0,0\n"
        "chr1,21,del,GA,G,background,0.119203,0.5,0.380797,2\nchr1,21,del,GA,G,motif,0.880797,0.5,-0.380797,-2\n"
        "chr2,22,inN,N,A,background,0.5,0.5,0,0\nchr2,22,inN,N,A,motif,0.5,0.5,0,0\n")
    assert out.err == "bioseq: note: skipped 1 allele with symbolic or structural ALT (<DEL>, breakend, *)\n"


def test_windows_keep_the_left_flank_and_pad_with_n(tmp_path):
    (tmp_path / "t.fa").write_text(">chrT\nACGTACGTAC\n")
    with Genome(tmp_path / "t.fa") as g:
        def win(pos, ref, alt):
            return variants.allele_windows(g, Variant("T", pos, "", ref, alt, 3), 6)
        assert win(5, "A", "T") == ("CGTACG", "CGTTCG")  # the variant's first letter at index 6 // 2
        assert win(5, "AC", "A") == ("CGTACG", "CGTAGT")  # a deletion pulls letters in from the right
        assert win(5, "A", "ATTT") == ("CGTACG", "CGTATT")  # an insertion pushes them out
        assert win(1, "A", "C") == ("NNNACG", "NNNCCG")
        assert win(10, "C", "G") == ("GTACNN", "GTAGNN")


def test_a_ref_mismatch_is_reported_by_line_and_never_scored(files, capsys):
    tmp, model, genome, vcf = files
    vcf.write_text(vcf_text("chr1 23 ok T C", "chr1 24 bad1 G C", "chr1 2 ok2 G A", "chr1 30 bad2 AAA T"))
    out = tmp / "e.csv"
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"bioseq: error: {vcf}: the REF allele does not match the genome {genome} at 2 alleles: lines 4 (chr1:24 "
        "REF G, genome T), 6 (chr1:30 REF AAA, genome GCG); is it the same assembly? (--skip-mismatch scores the "
        "others and leaves these out)\n")
    assert not out.exists()
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "-o", str(out),
                "--skip-mismatch"]) == 0
    assert "left out 2 alleles whose REF does not match the genome (lines 4 (chr1:24" in capsys.readouterr().err
    assert pd.read_csv(out)["id"].unique().tolist() == ["ok", "ok2"]


@pytest.mark.parametrize("row, message", [
    ("chr9 5 x A C", "line 3: chromosome 'chr9' is not in the genome"),
    ("chr2 51 x C A", "line 3: chr2:51 C>A lies past the end of chr2 (50 letters)"),
])
def test_a_variant_off_the_genome_names_the_line(files, capsys, row, message):
    tmp, model, genome, vcf = files
    vcf.write_text(vcf_text(row))
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bioseq: error: {vcf}: {message}") and err.count("\n") == 1


def test_gzipped_and_bgzipped_vcf_give_the_same_table(files, capsys):
    tmp, model, genome, vcf = files
    gz, bgz = tmp / "v.vcf.gz", tmp / "b.vcf.gz"
    gz.write_bytes(gzip.compress(vcf.read_bytes()))
    pysam.tabix_compress(str(vcf), str(bgz))
    outs = []
    for path in (vcf, gz, bgz):
        assert cli(["variants", model, "--vcf", str(path), "--genome", str(genome)]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] == outs[2] and outs[0].count("\n") == 11


def test_bed_holds_one_class_with_scores(files, capsys):
    tmp, model, genome, vcf = files
    out = tmp / "e.bed"
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "--format", "bed",
                "-o", str(out)]) == 0
    assert out.read_text() == (
        'track name="v.vcf" description="variant effects on P(motif): score 1000 x |alt - ref|" useScore=1\n'
        "1\t22\t23\tbrk:T>C:-0.3808\t381\n1\t22\t23\tbrk:T>G:-0.3808\t381\nchr1\t49\t50\tfar:G>A:+0\t0\n"
        "chr1\t20\t22\tdel:GA>G:-0.3808\t381\nchr2\t21\t22\tinN:N>A:+0\t0\n")


def test_both_strands_where_the_model_reads_both(files, capsys):
    tmp, model, genome, vcf = files
    genome.write_text(">chr1\n" + "CG" * 10 + "TAATC" + "GC" * 17 + "G\n")  # GATTA on the other strand
    vcf.write_text(vcf_text("chr1 23 brk A C"))
    bundle = profiled(motif_bundle(bias=-4.5))
    scores = []
    for strand in ("forward", "both"):
        bundle.model.cfg = dataclasses.replace(bundle.model.cfg, strand=strand)
        table, checked = variants.variant_frame(bundle, vcf, genome)
        scores.append(table.set_index("class").loc["motif", "diff"])
    assert scores[0] == 0 and scores[1] == pytest.approx((0.5 - 0.880797) / 2, abs=1e-6)


def test_a_labeller_writes_the_change_at_every_position(files, capsys):
    tmp, _, genome, vcf = files
    model = save_model(tmp / "lab.safetensors", linear_labeller())
    vcf.write_text(vcf_text("chr1 23 brk T C,G"))
    out, pos = tmp / "e.csv", tmp / "p.csv"
    assert cli(["variants", str(model), "--vcf", str(vcf), "--genome", str(genome), "-o", str(out)]) == 2
    assert "give the window (--window)" in capsys.readouterr().err
    assert cli(["variants", str(model), "--vcf", str(vcf), "--genome", str(genome), "--window", "6", "-o", str(out),
                "--positions-out", str(pos)]) == 0
    effects, positions = pd.read_csv(out), pd.read_csv(pos)
    assert list(positions.columns) == variants.POSITION_COLUMNS and len(positions) == 2 * 6 * 2
    assert positions["offset"].unique().tolist() == [-3, -2, -1, 0, 1, 2]
    assert (positions[positions["offset"] < 0]["diff"] == 0).all()  # the labeller reads left to right
    at = positions[positions["offset"] == 0].reset_index(drop=True)
    pd.testing.assert_series_equal(at["diff"], effects["diff"], check_names=False)
    assert cli(["variants", str(model), "--vcf", str(vcf), "--genome", str(genome), "--window", "6", "-o", str(out),
                "--positions-out", str(out)]) == 2  # never the effects' own file
    assert "is also an input of this command" in capsys.readouterr().err and pd.read_csv(out).equals(effects)
    assert cli(["variants", str(tmp / "motif.safetensors"), "--vcf", str(vcf), "--genome", str(genome),
                "--positions-out", str(pos)]) == 2
    assert "--positions-out is for a labeller" in capsys.readouterr().err


def test_inputs_are_never_overwritten_and_protein_models_refused(files, capsys, protein_bundle, tmp_path):
    tmp, model, genome, vcf = files
    before = vcf.read_bytes()
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "-o", str(vcf)]) == 2
    assert "is also an input of this command" in capsys.readouterr().err and vcf.read_bytes() == before
    prot = save_model(tmp / "p.safetensors", protein_bundle)
    assert cli(["variants", str(prot), "--vcf", str(vcf), "--genome", str(genome)]) == 2
    assert "this model reads PROTEIN; variant effects need a DNA (or RNA) model" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_processes_write_the_one_process_csv(files):
    tmp, model, genome, vcf = files
    vcf.write_text(vcf_text(*[f"chr1 {p} v{p} {CHR1[p - 1]} {'A' if CHR1[p - 1] != 'A' else 'C'}"
                              for p in range(1, 61)]))
    outs = []
    for procs in (1, 2):
        out = tmp / f"o{procs}.csv"
        done = bioseq_run(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "--batch-size", "7",
                           "--device", "cpu", "-o", str(out)], procs, tmp)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.count("wrote the effects of 60") == 1
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") == 121


def test_the_genome_is_read_with_or_without_chr_soft_masked_and_bgzipped(files, capsys):
    tmp, model, genome, vcf = files
    genome.write_text(f">1\n{CHR1.lower()}\n>chr2\n{CHR2}\n")  # soft-masked; no 'chr' where the VCF has it
    bgz = tmp / "g.fa.gz"
    pysam.tabix_compress(str(genome), str(bgz))
    outs = []
    for path in (genome, bgz):
        assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(path)]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].splitlines()[2] == "1,23,brk,T,C,motif,0.880797,0.5,-0.380797,-2"
    gz = tmp / "p.fa.gz"
    gz.write_bytes(gzip.compress(genome.read_bytes()))
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(gz)]) == 0  # through a bgzipped copy
    assert capsys.readouterr().out == outs[0]
    with Genome(genome) as g:
        assert variants.padded(g, "chr2", -3, 2) == "NNNCC" and variants.padded(g, "2", 48, 53) == "GGNNN"


@pytest.mark.slow
def test_acceptance_motif_breaking_snps_outrank_random_ones(tmp_path, monkeypatch):
    """bench/variants.py: a model trained on a generated genome's planted AP-1 sites; on a chromosome it never saw,
    |diff| tells motif-breaking SNPs from random ones (AUROC ≥ 0.9), and a REF mismatch is named by its line."""
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    sys.modules.pop("bench", None)
    from bench import variants as acceptance

    figures = acceptance.run(tmp_path)
    assert [f.ok for f in figures[:2]] == [True, True], [(f.name, f.value) for f in figures]


def test_many_mismatches_are_counted_and_the_first_ten_listed(files, capsys):
    tmp, model, genome, vcf = files
    vcf.write_text(vcf_text(*[f"chr1 {p} m{p} A C" for p in range(1, 61) if CHR1[p - 1] != "A"]))
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome)]) == 2
    err = capsys.readouterr().err
    assert "at 58 alleles: lines 3 (chr1:1 REF A, genome C), 4 (chr1:2 REF A, genome G)" in err
    assert err.count("REF A, genome") == 10 and "and 48 more; is it the same assembly?" in err


def test_general_vcfs_score_or_say_why(files, capsys):
    """An indel at a chromosome's start, a deletion longer than the window, REF in lower case or with N, a
    ``##contig`` header naming the chromosome without 'chr', a multi-allelic line mixing letters, ``*`` and a
    symbolic ALT: each is scored exactly or counted in a note."""
    tmp, model, genome, vcf = files
    long_del = CHR1[1:40]  # 39 letters from position 2: GATTA deleted, but only 11 letters fit the window
    vcf.write_text(HEAD.replace("#CHROM", "##contig=<ID=1,length=60>\n#CHROM") + "".join(
        "\t".join(r.split()) + "\t.\t.\t.\n" for r in (
            "chr1 1 st CG C", f"1 2 long {long_del} G", "chr1 23 low t c", "chr1 21 n GNTTA G",
            "chr1 23 multi T a,*,<NON_REF>")))
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "--class", "motif"]) == 0
    out = capsys.readouterr()
    assert out.out == (
        "chrom,pos,id,ref,alt,class,ref_score,alt_score,diff,log_odds_ratio\n"
        "chr1,1,st,CG,C,motif,0.5,0.5,0,0\n"
        f"1,2,long,{long_del},G,motif,0.5,0.5,0,0\n"
        "chr1,23,low,T,C,motif,0.880797,0.5,-0.380797,-2\n"
        "chr1,21,n,GNTTA,G,motif,0.880797,0.5,-0.380797,-2\n"
        "chr1,23,multi,T,A,motif,0.880797,0.5,-0.380797,-2\n")
    assert out.err == (
        "bioseq: note: skipped 2 alleles with symbolic or structural ALT (<DEL>, breakend, *)\n"
        "bioseq: note: 1 allele (REF or ALT) longer than the 10 letters the window holds from the variant on: "
        "scored on the part inside the window (a larger window holds more)\n")


@pytest.mark.parametrize("rows, note", [((), ""), (("chr1 3 sv G <DEL>", "chr1 4 sp C *"),
                                                   "bioseq: note: skipped 2 alleles with symbolic or structural "
                                                   "ALT (<DEL>, breakend, *)\n")])
def test_a_vcf_with_nothing_to_score_gives_the_header_only(files, capsys, rows, note):
    tmp, model, genome, vcf = files
    vcf.write_text(vcf_text(*rows))
    out = tmp / "e.csv"
    assert cli(["variants", model, "--vcf", str(vcf), "--genome", str(genome), "-o", str(out)]) == 0
    assert out.read_text() == ",".join(variants.COLUMNS) + "\n"
    assert capsys.readouterr().err == note + f"wrote the effects of 0 variant alleles to {out}\n"
