"""``bioseq scan --format bigwig`` (bioseq.prediction.bigwig): pyBigWig reads back the bedGraph's scores."""

from __future__ import annotations

import pyBigWig
import pytest
from test_scan import HIT, MISS, model, plant  # noqa: F401 - model is a fixture

from bioseq.cli import main as cli
from bioseq.prediction import bigwig


def bedgraph_rows(path):
    return [(c, int(s), int(e), float(v)) for c, s, e, v in
            (line.split("\t") for line in path.read_text().splitlines()[1:])]


@pytest.mark.parametrize("window, stride", [(20, 20), (20, 7), (20, 30)])
def test_bigwig_holds_the_bedgraph_scores(tmp_path, model, window, stride):  # noqa: F811
    fasta = tmp_path / "in.fa"
    fasta.write_text(">chrA\n" + plant(300, [40, 250]) + "\n>chrB\n" + plant(57, [3], seed=1) + "\n")
    bg, bw = tmp_path / "o.bedgraph", tmp_path / "o.bw"
    args = ["scan", model, str(fasta), "--window", str(window), "--stride", str(stride)]
    assert cli([*args, "-o", str(bg)]) == 0
    assert bg.read_text().startswith("track type=bedGraph name=")
    assert cli([*args, "--format", "bigwig", "-o", str(bw)]) == 0
    rows = bedgraph_rows(bg)
    with pyBigWig.open(str(bw)) as f:
        assert f.chroms() == {"chrA": 300, "chrB": 57}  # the records' lengths
        for chrom, start, end, value in rows:  # each window's score at its centre
            assert f.values(chrom, (start + end) // 2, (start + end) // 2 + 1)[0] == pytest.approx(value, abs=1e-6)
        got = {(c, s, e): v for c in ("chrA", "chrB") for s, e, v in f.intervals(c)}
    alone = [r for i, r in enumerate(rows)  # windows that overlap no neighbour are written as they are
             if all(not (o[0] == r[0] and o[1] < r[2] and r[1] < o[2]) for o in rows[:i] + rows[i + 1:])]
    assert len(alone) >= (len(rows) - 4 if stride >= window else 0)  # all but the end windows and their neighbours
    for chrom, start, end, value in alone:
        assert got[(chrom, start, end)] == pytest.approx(value, abs=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa", "motif.safetensors", "o.bedgraph", "o.bw"]


def test_overlapping_windows_are_cut_at_the_midpoints_between_centres(tmp_path):
    bg = tmp_path / "w.bedgraph"
    bg.write_text("track type=bedGraph\nr\t0\t10\t0.1\nr\t7\t17\t0.2\nr\t14\t24\t0.3\nr\t15\t25\t0.4\ns\t0\t8\t0.5\n")
    assert list(bigwig.intervals(str(bg))) == [("r", 0, 8, 0.1), ("r", 8, 15, 0.2), ("r", 15, 19, 0.3),
                                               ("r", 19, 25, 0.4), ("s", 0, 8, 0.5)]
    assert bigwig.chromosome_sizes(str(bg)) == [("r", 25), ("s", 8)]


def test_bigwig_needs_an_output_file_and_unique_record_names(tmp_path, model, capsys):  # noqa: F811
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r\n" + plant(40, [3]) + "\n>r\n" + plant(40, [3]) + "\n")
    assert cli(["scan", model, str(fasta), "--format", "bigwig"]) == 2
    assert capsys.readouterr().err == ("bioseq: error: a bigWig is a binary file: give -o OUT.bw (standard output "
                                       "is refused)\n")
    out = tmp_path / "o.bw"
    assert cli(["scan", model, str(fasta), "--format", "bigwig", "-o", str(out)]) == 2
    assert "the record name 'r' occurs twice" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa", "motif.safetensors"]  # nothing left behind


def test_bigwig_bytes_are_the_file_the_cli_writes(tmp_path, model):  # noqa: F811
    """The dashboard's bigWig download: the same bigWig as ``scan --format bigwig``, read back by pyBigWig."""
    fasta = tmp_path / "in.fa"
    fasta.write_text(">chrA\n" + plant(300, [40, 250]) + "\n")
    bg, bw = tmp_path / "o.bedgraph", tmp_path / "o.bw"
    args = ["scan", model, str(fasta), "--window", "20", "--stride", "10"]
    assert cli([*args, "-o", str(bg)]) == 0 and cli([*args, "--format", "bigwig", "-o", str(bw)]) == 0
    data = bigwig.bigwig_bytes(bg.read_text())
    (tmp_path / "d.bw").write_bytes(data)
    with pyBigWig.open(str(tmp_path / "d.bw")) as got, pyBigWig.open(str(bw)) as want:
        assert got.chroms() == want.chroms() == {"chrA": 300}
        assert got.intervals("chrA") == want.intervals("chrA")
