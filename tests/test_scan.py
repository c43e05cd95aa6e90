"""``bioseq scan`` (bioseq.prediction.scan, bioseq.cli.scan): window placement, the exact bedGraph, a long
record with motifs planted at known places, bad input, and 2 processes under torchrun.

The motif model (tests/_linear.py, bias -4.5) gives p(motif) = sigmoid(2) = 0.880797 to a window that holds
all of GATTA and exactly 0.5 to any other, so the expected scores are known for every window.
"""

from __future__ import annotations

import numpy as np
import pytest
from _linear import MOTIF, linear_labeller, motif_bundle
from test_shards import bioseq_run

from bioseq.cli import main as cli
from bioseq.data.io import Record
from bioseq.model.store import save_model
from bioseq.prediction import scan

HIT, MISS = "0.880797", "0.5"
TRACK = 'track type=bedGraph name="motif scan" description="motif scan: probability of motif per window"\n'


def profiled(bundle, longest: int = 20):
    """The bundle with a training profile whose longest sequence is ``longest``."""
    size = bundle.alphabet.size  # one mean share per letter (a model file with any other count is refused)
    bundle.meta["training"] = {"profile": {"length_min": 10, "length_max": longest, "composition": [1 / size] * size,
                                           "composition_cutoff": 1.0}}
    return bundle


@pytest.fixture
def model(tmp_path):
    return str(save_model(tmp_path / "motif.safetensors", profiled(motif_bundle(bias=-4.5))))


def background(n: int, seed: int = 0) -> list[str]:
    """C and G only: no window holds GATTA unless it is planted."""
    return list("".join(np.random.default_rng(seed).choice(list("CG"), n)))


def plant(n: int, at: list[int], seed: int = 0) -> str:
    s = background(n, seed)
    for p in at:
        s[p:p + len(MOTIF)] = MOTIF
    return "".join(s)


@pytest.mark.parametrize("length, window, stride, starts", [
    (25, 10, 7, [0, 7, 14, 15]),  # 14 + 10 = 24 < 25: one more window ends at the end
    (24, 10, 7, [0, 7, 14]),  # the windows reach the end exactly
    (10, 10, 3, [0]),
    (6, 10, 3, [0]),  # shorter than the window: one window, the whole record
    (11, 10, 20, [0, 1]),
])
def test_window_starts(length, window, stride, starts):
    assert scan.window_starts(length, window, stride).tolist() == starts
    assert scan.window_count(length, window, stride) == len(starts)
    assert scan.window_starts(length, window, stride, 1, 2).tolist() == starts[1:3]


def test_window_starts_of_a_chromosome_are_computed_a_batch_at_a_time():
    n = scan.window_count(50_000_000, 147, 1)
    assert n == 50_000_000 - 147 + 1
    assert scan.window_starts(50_000_000, 147, 1, 1_000_000, 3).tolist() == [1_000_000, 1_000_001, 1_000_002]
    m = scan.window_count(50_000_000, 147, 10)
    assert m == 4_999_986 + 1  # starts 0, 10, ..., 49,999,850, then the end window
    assert scan.window_starts(50_000_000, 147, 10, m - 2, 512).tolist() == [49_999_850, 50_000_000 - 147]


def test_bedgraph_is_exact(tmp_path, model, capsys):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r1 first\nCCGATTACCCCCCCCCCCCCCCCCC\n>r2\nGGGATTAG\n")  # 25 letters, GATTA at 2..6; 8 letters
    assert cli(["scan", model, str(fasta), "--window", "10", "--stride", "7"]) == 0
    assert capsys.readouterr().out == (f"{TRACK}r1\t0\t10\t{HIT}\nr1\t7\t17\t{MISS}\nr1\t14\t24\t{MISS}\n"
                                       f"r1\t15\t25\t{MISS}\nr2\t0\t8\t{HIT}\n")


def test_csv_has_every_class_and_a_header(tmp_path, model):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r1\nCCGATTACCCCCCCCC\n")
    out = tmp_path / "out.csv"
    assert cli(["scan", model, str(fasta), "--window", "10", "--stride", "6", "--format", "csv", "-o", str(out)]) == 0
    assert out.read_text() == ("record,start,end,p_background,p_motif\n"
                               "r1,0,10,0.119203,0.880797\nr1,6,16,0.5,0.5\n")


def test_defaults_window_from_training_lengths_stride_half_last_class(tmp_path, model, capsys):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r\n" + plant(50, [30]) + "\n")
    assert cli(["scan", model, str(fasta)]) == 0  # window 20 (longest training sequence), stride 10, p_motif
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(int(a), int(b), p) for _, a, b, p in lines] == [(0, 20, MISS), (10, 30, MISS), (20, 40, HIT),
                                                               (30, 50, HIT)]
    assert cli(["scan", model, str(fasta), "--class", "background"]) == 0
    assert capsys.readouterr().out.splitlines()[3].endswith("\t0.119203")


def test_the_highest_windows_of_a_long_record_cover_the_planted_motifs(tmp_path, model):
    planted = [123, 4_567, 9_001, 15_432, 19_990]
    fasta = tmp_path / "long.fa"
    fasta.write_text(">chrT a long record\n" + plant(20_000, planted, seed=3) + "\n")
    out = tmp_path / "out.bedgraph"
    assert cli(["scan", model, str(fasta), "--window", "20", "--stride", "7", "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    starts = np.array([int(r[1]) for r in rows])
    scores = np.array([float(r[3]) for r in rows])
    assert len(rows) == scan.window_count(20_000, 20, 7) and starts[-1] == 20_000 - 20
    holds = np.array([any(s <= p and p + len(MOTIF) <= s + 20 for p in planted) for s in starts])
    assert holds.sum() >= len(planted)
    np.testing.assert_array_equal(scores == scores.max(), holds)  # the top windows are exactly those
    for p in planted:  # every motif lies in a top window
        assert any(s <= p and p + len(MOTIF) <= s + 20 for s in starts[scores == scores.max()])


@pytest.mark.slow
def test_batches_do_not_change_the_output(tmp_path, model):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\n" + plant(3_000, [100, 2_000]) + "\n>b\n" + plant(47, [3], seed=1) + "\n")
    outs = []
    for batch in ("1", "7", "512"):
        out = tmp_path / f"o{batch}.bg"
        assert cli(["scan", model, str(fasta), "--window", "20", "--stride", "3", "--batch-size", batch,
                    "-o", str(out)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_scan_records_is_the_table_of_scan_files(tmp_path, model):
    from bioseq.model.store import load_model

    bundle = load_model(model)
    seq = plant(300, [40, 250])
    fasta = tmp_path / "in.fa"
    fasta.write_text(">x\n" + seq + "\n")
    out = tmp_path / "o.csv"
    scan.scan_files(bundle, [fasta], str(out), window=20, stride=9, fmt="csv")
    seen = []
    table = scan.scan_records(bundle, [Record("x", "x", seq, "up.fa", 1)], window=20, stride=9,
                              progress=lambda done, total: seen.append((done, total)))
    assert table.to_csv(index=False, float_format="%.6g", lineterminator="\n") == out.read_text()
    assert seen[-1] == (len(table), len(table))
    assert scan.bedgraph_text(table.head(2), "p_motif") == (
        'track type=bedGraph name="bioseq scan" description="bioseq scan: probability of motif per window"\n'
        f"x\t0\t20\t{MISS}\nx\t9\t29\t{MISS}\n")


@pytest.mark.parametrize("args, message", [
    (["--class", "nope"], "unknown class 'nope'; the model's classes are background, motif"),
    (["--window", "300001"], "a window of 300,001 letters is far beyond the sequences this model was trained on (at "
                             "most 20 letters); choose a window of at most 300,000"),
])
def test_bad_settings_are_one_line(tmp_path, model, capsys, args, message):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r\nACGT\n")
    assert cli(["scan", model, str(fasta), *args]) == 2
    assert capsys.readouterr().err == f"bioseq: error: {message}\n"


@pytest.mark.slow
def test_a_bad_letter_deep_in_a_long_record_is_named_and_nothing_written(tmp_path, model, capsys):
    seq = background(3_000_000)
    seq[2_500_000] = "X"
    fasta = tmp_path / "in.fa"
    fasta.write_text(">ok\nCCCC\n>chrX\n" + "".join(seq) + "\n")
    out = tmp_path / "o.bg"
    assert cli(["scan", model, str(fasta), "--window", "20", "-o", str(out)]) == 2
    assert capsys.readouterr().err == (f"bioseq: error: {fasta}: record 2 (chrX): position 2500001: invalid "
                                       "character 'X' (not a dna letter; accepted: ACGTRYSWKMBDHVN)\n")
    assert not out.exists()


def test_window_longer_than_max_length_and_labellers_and_no_lengths_are_refused(tmp_path, capsys):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r\nACGTACGT\n")
    capped = profiled(motif_bundle(bias=-4.5))
    capped.max_length = 15
    path = save_model(tmp_path / "capped.safetensors", capped)
    assert cli(["scan", str(path), str(fasta), "--window", "16"]) == 2
    assert "a window of 16 letters is longer than the model reads (its max_length, 15); choose --window 15" \
        in capsys.readouterr().err
    lab = save_model(tmp_path / "lab.safetensors", profiled(linear_labeller()))
    assert cli(["scan", str(lab), str(fasta)]) == 2
    assert "this model labels every position; scan slides a classifier" in capsys.readouterr().err
    bare = save_model(tmp_path / "bare.safetensors", motif_bundle(bias=-4.5))
    assert cli(["scan", str(bare), str(fasta)]) == 2
    assert capsys.readouterr().err == (f"bioseq: error: {bare}: the model file records no training lengths: give "
                                       "the window (--window)\n")
    assert cli(["scan", str(bare), str(fasta), "--window", "4", "--stride", "4"]) == 0
    assert capsys.readouterr().out.count("\n") == 3  # the track line and two windows


def test_protein_model_refuses_dna_in_words(tmp_path, protein_bundle, capsys):
    path = save_model(tmp_path / "p.safetensors", profiled(protein_bundle))
    fasta = tmp_path / "in.fa"
    fasta.write_text(">d\n" + "ACGT" * 30 + "\n")
    assert cli(["scan", str(path), str(fasta)]) == 2
    assert "looks like DNA, but the model expects PROTEIN sequences" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_processes_write_the_one_process_bedgraph(tmp_path, model):
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\n" + plant(5_000, [100, 2_000, 4_990]) + "\n>b\n" + plant(60, [3], seed=1) + "\n")
    outs = []
    for procs in (1, 2):
        out = tmp_path / f"o{procs}.bedgraph"
        done = bioseq_run(["scan", model, str(fasta), "--window", "20", "--stride", "5", "--batch-size", "50",
                           "-o", str(out)], procs, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") == scan.window_count(5_000, 20, 5) + 9 + 1


def test_a_window_beyond_the_models_memory_is_refused_in_one_line(tmp_path, model, capsys, monkeypatch):
    from bioseq.model.store import load_model
    from bioseq.prediction import predict

    monkeypatch.setattr(predict, "MEMORY", 50 * predict.position_bytes(load_model(model)))
    fasta = tmp_path / "in.fa"
    fasta.write_text(">r\n" + plant(200, [30]) + "\n")
    assert cli(["scan", model, str(fasta), "--window", "51"]) == 2
    assert capsys.readouterr().err == ("bioseq: error: a window of 51 letters is more than this model reads at once in "
                                       "bounded memory (at most 50 letters for a model of this size); choose a window "
                                       "of at most 50\n")
    assert cli(["scan", model, str(fasta), "--window", "50"]) == 0  # batches of one 50-letter window
    assert capsys.readouterr().out.count("\n") == scan.window_count(200, 50, 25) + 1


@pytest.mark.parametrize("stride", [20, 5_000])
def test_a_long_record_is_scanned_without_being_held(tmp_path, model, monkeypatch, stride):
    """scan reads a record a block at a time: memory stays far below the record's length, however sparse the
    windows (a stride far beyond the window once encoded every letter between them)."""
    import tracemalloc

    from bioseq.data import io as bio
    from bioseq.data.io import stream_many
    from bioseq.model.store import load_model

    monkeypatch.setattr(bio, "BLOCK", 1 << 13)  # bytes read (and letters checked) at a time
    n = 2_000_000
    seq = "".join(plant(n, [1_000, n - 10]))
    fasta = tmp_path / "in.fa"
    fasta.write_text(">chrL\n" + "\n".join(seq[i:i + 60] for i in range(0, n, 60)) + "\n")
    bundle, out = load_model(model), tmp_path / "o.bg"
    tracemalloc.start()
    try:
        seen = [(len(b.starts), int(b.starts.sum()), b.letters[-20:]) for b in
                scan.stream_batches(bundle, stream_many([fasta]), 20, stride)]
        _, peak_batches = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        count = scan.scan_files(bundle, [fasta], str(out), window=20, stride=stride) if stride > 20 else \
            sum(k for k, _, _ in seen)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    starts = scan.window_starts(n, 20, stride)
    assert sum(total for _, total, _ in seen) == starts.sum() and seen[-1][2] == seq[-20:]
    assert count == scan.window_count(n, 20, stride) and peak_batches < n / 4 and peak < n / 3
    if stride > 20:
        assert out.read_text().splitlines()[-1] == f"chrL\t{n - 20}\t{n}\t{HIT}"
