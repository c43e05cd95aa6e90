"""Prediction: CSV layout and order, chunking, stdout, no partial output, alphabet checks."""

from __future__ import annotations

import csv
import io
import tempfile

import numpy as np
import pytest

from bioseq.app.predictions import predict_frame
from bioseq.data.alphabets import DNA as DNA_ALPHABET
from bioseq.data.encoding import encode, fit_length
from bioseq.data.io import read_many
from bioseq.errors import InputError
from bioseq.prediction.predict import (
    check_alphabet,
    predict_arrays,
    predict_files,
    predict_records,
)

A = ">r1\nACGTACGTAC\n>r2\nGG\n>r3 x\nTTGACTCAAAAAAAAAAAAAAA\n>r4\nNNRYAC\n"
B = ">r5\nAAAAC\n>r6\nCCCCCCCCCCCCCCCCCG\n"


@pytest.fixture
def inputs(write):
    return [write("a.fa", A), write("b.fa", B)]


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """Temporary files of stdout prediction go here, so the tests can see that none is left."""
    tmp = tmp_path / "systmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def read_csv(text):
    return list(csv.reader(io.StringIO(text)))


def expected_probs(bundle, paths):
    recs = list(read_many(paths))
    arrays = [encode(fit_length(r.seq, bundle.max_length, bundle.length_policy), bundle.alphabet) for r in recs]
    return [r.id for r in recs], predict_arrays(bundle, arrays)


def test_csv_columns_and_input_order(dna_bundle, inputs, tmp_path):
    out = tmp_path / "pred.csv"
    assert predict_files(dna_bundle, inputs, str(out)) == 6
    rows = read_csv(out.read_text())
    assert rows[0] == ["id", "prediction", "p_background", "p_motif", "length", "unlike_training", "file"]
    ids, probs = expected_probs(dna_bundle, inputs)
    assert [r[0] for r in rows[1:]] == ids == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert [r[4] for r in rows[1:]] == ["10", "2", "22", "6", "5", "18"]
    assert [r[6] for r in rows[1:]] == [str(inputs[0])] * 4 + [str(inputs[1])] * 2
    got = np.array([[float(v) for v in r[2:4]] for r in rows[1:]])
    np.testing.assert_allclose(got, probs, rtol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-5)
    assert [r[1] for r in rows[1:]] == [dna_bundle.classes[i] for i in probs.argmax(1)]
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".tmp")) == ["pred.csv"]


def test_chunk_size_does_not_change_the_result(dna_bundle, inputs, tmp_path):
    texts = []
    for size in (1, 3, 1000):
        out = tmp_path / f"c{size}.csv"
        predict_files(dna_bundle, inputs, str(out), chunk_size=size)
        texts.append(out.read_text())
    assert texts[0] == texts[1] == texts[2]


@pytest.mark.parametrize("target", [None, "-"])
def test_stdout(dna_bundle, inputs, tmp_path, capsys, private_tempdir, target):
    predict_files(dna_bundle, inputs, str(tmp_path / "file.csv"))
    capsys.readouterr()
    assert predict_files(dna_bundle, inputs, target) == 6
    assert capsys.readouterr().out == (tmp_path / "file.csv").read_bytes().decode()
    assert list(private_tempdir.iterdir()) == []


def test_progress_every_chunk(dna_bundle, inputs, tmp_path):
    seen = []
    predict_files(dna_bundle, inputs, str(tmp_path / "p.csv"), chunk_size=2, progress=seen.append)
    assert seen == [2, 4, 6]


def test_a_bad_record_leaves_no_output(dna_bundle, write, tmp_path, capsys, private_tempdir):
    bad = write("bad.fa", ">ok\n" + "ACGT" * 10 + "\n>ok2\n" + "GGCC" * 10 + "\n>broken\n" + "ACGT" * 5 + "EACGT\n")
    out = tmp_path / "out" / "pred.csv"
    out.parent.mkdir()
    for size in (1, 4096):
        with pytest.raises(InputError) as e:
            predict_files(dna_bundle, [bad], str(out), chunk_size=size)
        assert (e.value.file, e.value.record, e.value.position) == (str(bad), "3 (broken)", 21)
        assert list(out.parent.iterdir()) == []  # neither the CSV nor a temporary file
    with pytest.raises(InputError):
        predict_files(dna_bundle, [bad], None)
    assert capsys.readouterr().out == ""
    assert list(private_tempdir.iterdir()) == []


def test_a_missing_second_file_leaves_no_output(dna_bundle, inputs, tmp_path):
    out = tmp_path / "pred.csv"
    with pytest.raises(InputError, match="no such file"):
        predict_files(dna_bundle, [inputs[0], tmp_path / "nope.fa"], str(out))
    assert not out.exists()


def test_protein_into_a_dna_model_is_refused(dna_bundle, write, tmp_path):
    prot = write("prot.fa", ">p1\nMKWVTFISLLLLFSSAYSRGV\n>p2\nMEEPQSDPSV\n")
    out = tmp_path / "p.csv"
    with pytest.raises(InputError, match="looks like PROTEIN, but the model expects DNA sequences") as e:
        predict_files(dna_bundle, [prot], str(out))
    assert e.value.file == str(prot)
    assert not out.exists()


def test_dna_into_a_protein_model(protein_bundle, write):
    short = write("pep.fa", ">p1\nACGT\n>p2\nGATTACA\n")  # short peptides may look like DNA
    assert len(list(predict_records(protein_bundle, read_many([short])))) == 2
    long = write("dna.fa", ">d1\n" + "ACGT" * 10 + "\n")
    with pytest.raises(InputError, match="looks like DNA, but the model expects PROTEIN") as e:
        check_alphabet(protein_bundle, list(read_many([long])))
    assert e.value.file == str(long)


def test_length_policy_of_the_model(dna_bundle, inputs, tmp_path):
    dna_bundle.max_length, dna_bundle.length_policy = 4, "end"
    rows = predict_frame(dna_bundle, list(read_many(inputs)))
    ids, probs = expected_probs(dna_bundle, inputs)
    np.testing.assert_allclose(rows[["p_background", "p_motif"]].to_numpy(), probs, rtol=1e-6)
    assert list(rows["length"]) == [4, 2, 4, 4, 4, 4]  # what the model reads
    cut_alone = predict_arrays(dna_bundle, [encode("GTAC", dna_bundle.alphabet)])
    np.testing.assert_allclose(probs[0], cut_alone[0], rtol=1e-6)  # r1 keeps its last 4 letters


def test_errors_give_the_position_in_the_record_not_in_the_cut(dna_bundle, write):
    dna_bundle.max_length, dna_bundle.length_policy = 4, "end"
    path = write("e.fa", ">a\n" + "ACGT" * 10 + "EA\n")
    with pytest.raises(InputError, match="invalid character 'E'") as e:
        list(predict_records(dna_bundle, read_many([path])))
    assert (e.value.record, e.value.position) == ("1 (a)", 41)


def test_protein_stop_codon(protein_bundle, write):
    ok = write("ok.fa", ">a\nMKLVW*\n>b\nMKLVW\n")
    (_, p1), (_, p2) = predict_records(protein_bundle, read_many([ok]))
    np.testing.assert_array_equal(p1, p2)  # the terminal * is dropped
    two = write("two.fa", ">a\nMKLVW**\n")
    with pytest.raises(InputError) as e:
        list(predict_records(protein_bundle, read_many([two])))
    assert e.value.position == 6


def test_sequence_column_on_request(dna_bundle, inputs, tmp_path):
    out = tmp_path / "pred.csv"
    predict_files(dna_bundle, inputs, str(out), with_sequence=True)
    rows = read_csv(out.read_text())
    assert rows[0][-1] == "sequence" and rows[3][-1] == "TTGACTCAAAAAAAAAAAAAAA"


def test_the_dashboard_table_is_the_cli_table(dna_bundle, inputs, tmp_path):
    out = tmp_path / "pred.csv"
    predict_files(dna_bundle, inputs, str(out))
    frame = predict_frame(dna_bundle, list(read_many(inputs)))
    parsed = read_csv(out.read_text())
    assert parsed[0] == list(frame.columns) and len(parsed) == 7
    assert [r[0] for r in parsed[1:]] == list(frame["id"])
    assert float(parsed[3][2]) == pytest.approx(frame["p_background"].iloc[2], rel=1e-5)


# --- long records: refused far beyond the training lengths, or cut in bounded memory ---------------


def _profiled(bundle, longest: int = 20):
    bundle.meta["training"] = {"profile": {"length_min": 10, "length_max": longest, "composition": [0.25] * 4,
                                           "composition_cutoff": 1.0}}
    return bundle


def test_the_limit_is_ten_times_the_longest_training_sequence_and_at_least_the_floor(dna_bundle):
    from bioseq.prediction.predict import MIN_LIMIT, length_limit

    assert MIN_LIMIT == 300_000
    assert length_limit(_profiled(dna_bundle, 147)) == (300_000, 147)
    assert length_limit(_profiled(dna_bundle, 40_000)) == (400_000, 40_000)
    dna_bundle.meta = {}
    assert length_limit(dna_bundle) == (300_000, None)


def test_a_record_far_beyond_the_training_lengths_is_refused_pointing_to_scan(dna_bundle, write, tmp_path, capsys,
                                                                              monkeypatch):
    from bioseq.cli import main as cli
    from bioseq.model.store import save_model
    from bioseq.prediction import predict
    from bioseq.prediction.predict import LONG_FACTOR

    monkeypatch.setattr(predict, "MIN_LIMIT", 1_000)  # the floor below 10 x 2,000

    path = save_model(tmp_path / "m.safetensors", _profiled(dna_bundle, 2_000))
    limit = LONG_FACTOR * 2_000
    fasta = write("g.fa", f">ok\n{'A' * limit}\n>chr1 genome\n{'ACGT' * 5_000 + 'A'}\n")  # 20,000 letters, then 20,001
    out = tmp_path / "o.csv"
    assert cli(["predict", str(path), str(fasta), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"bioseq: error: {fasta}: record 2 (chr1): 20,001 letters, far beyond the sequences this model was trained "
        "on (at most 2,000 letters; predict reads records of up to 20,000): slide the model along it with `bioseq "
        "scan MODEL FILE` (in the dashboard: Scan a long sequence, on the Predict page)\n")
    assert not out.exists()
    assert cli(["predict", str(path), str(write("ok.fa", f">ok\n{'A' * limit}\n")), "-o", str(out)]) == 0


def test_a_labeller_refuses_a_long_record_without_pointing_to_scan(write, tmp_path, monkeypatch):
    from _linear import linear_labeller

    from bioseq.prediction import predict

    monkeypatch.setattr(predict, "MIN_LIMIT", 10_000)
    fasta = write("g.fa", ">chr1\n" + "A" * 10_001 + "\n")  # 10 x 20 is below the floor of 10,000
    with pytest.raises(InputError, match=r"record 1 \(chr1\): 10,001 letters, .*at most 20 letters; predict reads "
                                         r"records of up to 10,000\): cut it into pieces near the training "
                                         "lengths") as e:
        predict.predict_files(_profiled(linear_labeller()), [fasta], str(tmp_path / "o.csv"))
    assert "scan" not in str(e.value)


def test_a_model_that_cuts_reads_a_long_record_and_checks_every_letter(dna_bundle, write, tmp_path, monkeypatch):
    from bioseq.data import encoding

    monkeypatch.setattr(encoding, "BLOCK", 1000)  # the long record is checked in 1000-letter blocks
    bundle = _profiled(dna_bundle)
    bundle.max_length, bundle.length_policy = 20, "end"
    seq = "C" * 4980 + "ACGTACGTACGTACGTACGT"
    out = tmp_path / "o.csv"
    assert predict_files(bundle, [write("g.fa", f">g\n{seq}\n")], str(out)) == 1
    row = read_csv(out.read_text())[1]
    expected = predict_arrays(bundle, [encode(seq[-20:], DNA_ALPHABET)])[0]
    np.testing.assert_allclose([float(v) for v in row[2:4]], expected, rtol=1e-5)
    assert row[4] == "20"
    bad = seq[:2999] + "X" + seq[3000:]
    with pytest.raises(InputError, match=r"record 1 \(g\): position 3000: invalid character 'X'"):
        predict_files(bundle, [write("b.fa", f">g\n{bad}\n")], str(out))


def test_without_training_lengths_the_limit_is_fixed(dna_bundle, write, tmp_path, monkeypatch):
    from bioseq.prediction import predict

    monkeypatch.setattr(predict, "MIN_LIMIT", 30)
    with pytest.raises(InputError, match="31 letters, far beyond .*lengths not recorded in the model file; "
                                         "predict reads records of up to 30"):
        predict_files(dna_bundle, [write("g.fa", ">g\n" + "A" * 31 + "\n")], str(tmp_path / "o.csv"))


def test_long_records_come_in_small_batches_and_chunks(dna_bundle, monkeypatch):
    """A batch holds at most BATCH_LETTERS padded positions, so memory does not grow with batch_size x length."""
    from bioseq.model.classifier import SequenceClassifier
    from bioseq.prediction import predict

    monkeypatch.setattr(predict, "BATCH_LETTERS", 100)
    seen = []
    forward = SequenceClassifier.forward
    monkeypatch.setattr(SequenceClassifier, "forward", lambda self, x, lengths: seen.append(tuple(x.shape[:2]))
                        or forward(self, x, lengths))
    arrays = [encode("ACGT" * 10, DNA_ALPHABET)] * 5 + [encode("A" * 150, DNA_ALPHABET)]
    probs = predict_arrays(dna_bundle, arrays, batch_size=512)
    assert seen == [(2, 40), (2, 40), (1, 40), (1, 150)]
    np.testing.assert_allclose(probs[0], probs[4], rtol=1e-6)


def test_a_record_that_will_be_refused_is_counted_not_held(dna_bundle, write, tmp_path, monkeypatch):
    """predict reads a record beyond its limit without holding it: only the first limit + 1 letters are kept
    (the message still counts every letter), so refusing a chromosome costs no memory."""
    import tracemalloc

    from bioseq.data import io as bio
    from bioseq.prediction import predict

    monkeypatch.setattr(predict, "MIN_LIMIT", 1_000)
    monkeypatch.setattr(bio, "BLOCK", 1 << 16)
    n = 2_000_040
    fasta = write("chr.fa", ">ok\nACGT\n>chr1\n" + ("ACGTACGTAC" * 6 + "\n") * (n // 60))
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=r"record 2 \(chr1\): 2,000,040 letters, far beyond the sequences this "
                                             r"model was trained on \(lengths not recorded in the model file; predict "
                                             r"reads records of up to 1,000\): slide the model along it"):
            predict_files(dna_bundle, [fasta], str(tmp_path / "o.csv"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n / 4 and not (tmp_path / "o.csv").exists()


def test_a_protein_record_one_star_beyond_the_limit_is_read(protein_bundle, write, tmp_path, monkeypatch):
    from bioseq.prediction import predict

    monkeypatch.setattr(predict, "MIN_LIMIT", 30)
    assert predict_files(protein_bundle, [write("p.fa", ">p\n" + "MKWV" * 7 + "MK*\n")], str(tmp_path / "o.csv")) == 1
    with pytest.raises(InputError, match="31 letters, far beyond"):
        predict_files(protein_bundle, [write("q.fa", ">q\n" + "MKWV" * 7 + "MKW*\n")], str(tmp_path / "o.csv"))


def test_records_and_batches_are_bounded_by_the_models_memory(dna_bundle, write, tmp_path, monkeypatch):
    """A record longer than the model reads within MEMORY is refused in one line (whatever its training lengths),
    and batches hold at most that many padded positions."""
    from bioseq.model.classifier import SequenceClassifier
    from bioseq.prediction import predict

    per = predict.position_bytes(dna_bundle)
    monkeypatch.setattr(predict, "MEMORY", 100 * per)
    assert predict.memory_limit(dna_bundle) == predict.batch_letters(dna_bundle) == 100
    with pytest.raises(InputError, match=r"record 1 \(g\): 101 letters, more than this model reads at once in bounded "
                                         r"memory \(at most 100 letters for a model of this size\): slide the model"):
        predict_files(dna_bundle, [write("g.fa", ">g\n" + "A" * 101 + "\n")], str(tmp_path / "o.csv"))
    seen = []
    forward = SequenceClassifier.forward
    monkeypatch.setattr(SequenceClassifier, "forward", lambda self, x, lengths: seen.append(tuple(x.shape[:2]))
                        or forward(self, x, lengths))
    predict_arrays(dna_bundle, [encode("ACGT" * 10, DNA_ALPHABET)] * 5 + [encode("A" * 100, DNA_ALPHABET)])
    assert seen == [(2, 40), (2, 40), (1, 40), (1, 100)]


def test_the_memory_estimate_of_the_default_models():
    """The default DNA model keeps its 300,000-letter floor and its 262,144-position batches; a 2-layer model of
    128 units reads at most about 137,000 letters at once (measured: python -m bench.bench_memory)."""
    from bioseq.model.classifier import SequenceClassifier
    from bioseq.model.store import ModelBundle
    from bioseq.prediction import predict
    from bioseq.training.fit import default_model_config

    def bundle(**kw):
        return ModelBundle(SequenceClassifier(default_model_config("dna", 4, 2, **kw)), DNA_ALPHABET, ["a", "b"])

    default, big = bundle(), bundle(hidden=128, layers=2)
    assert predict.memory_limit(default) >= predict.MIN_LIMIT and predict.batch_letters(default) == 1 << 18
    assert predict.position_bytes(default) == 2040 and predict.memory_limit(big) == 136_770
    assert predict.read_limit(big)[0] == 136_770 and predict.refuses_beyond(big) == 136_771
