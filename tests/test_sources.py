"""Dashboard data helpers: bundled examples, saved uploads, data reports, prediction tables, model cards."""

from __future__ import annotations

import gzip
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bioseq import workspace
from bioseq.app import cards, data_report, downloads, records, uploads
from bioseq.app import predictions as batch
from bioseq.data import examples, source
from bioseq.data.io import read_records
from bioseq.data.source import DataOptions
from bioseq.errors import InputError, ModelFileError
from bioseq.model.store import load_model, model_path, save_model
from bioseq.prediction.predict import predict_records
from bioseq.training.fit import fit


def test_examples_exist_and_are_light():
    for ex in examples.EXAMPLES:
        src = ex.source()
        assert all(p.endswith(".fa") for p in src.train + src.test)
        assert next(read_records(src.train[0])).id
    assert examples.example("protein_kdel").alphabet == "protein"
    assert [e.key for e in examples.EXAMPLES if e.task == "label"] == ["protein_tm"]
    with pytest.raises(InputError, match="unknown example"):
        examples.example("nope")
    out = subprocess.run([sys.executable, "-c", "import sys, bioseq.data.examples; "
                          "print(any(m in sys.modules for m in ('torch', 'pandas', 'sklearn')))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the home page paints before the heavy imports


def test_data_options_from_a_source():
    src = source.DataSource("x", ("a.fa", "b.fa"), labels="l.csv", val=("v.fa",), alphabet="dna")
    opts = src.data_options(max_length=10)
    assert opts == DataOptions(["a.fa", "b.fa"], labels="l.csv", val=["v.fa"], alphabet="dna", max_length=10)
    assert hash(src) == hash(source.DataSource("x", ("a.fa", "b.fa"), labels="l.csv", val=("v.fa",), alphabet="dna"))


def test_report_of_the_dna_example():
    rep = data_report.report(examples.example("dna_motif").source())
    assert rep.summary["records"] == 1600 and rep.classes == ["background", "motif"]
    assert rep.summary["alphabet"] == "dna" and rep.summary["ambiguous_fraction"] > 0
    assert set(rep.records.columns) == {"id", "label", "length", "ambiguous"} and len(rep.records) == 1600
    n = rep.composition[(rep.composition["letter"] == "N")]
    assert len(n) and not n["standard"].any()
    comp = rep.composition.groupby("label")["fraction"].sum()
    assert np.allclose(comp.to_numpy(), 1.0)


def test_report_of_the_protein_example():
    rep = data_report.report(examples.example("protein_kdel").source())
    assert rep.summary["alphabet"] == "protein" and rep.classes == ["retained", "secreted"]


def test_uploads_are_saved_once_with_safe_names(protein_fasta):
    data = protein_fasta.read_bytes()
    p1 = uploads.save_uploads([("../../evil name.fa", data)])
    p2 = uploads.save_uploads([("../../evil name.fa", data)])
    assert p1 == p2 and p1[0].name == "evil_name.fa" and p1[0].parent.parent == workspace.uploads_dir()
    with pytest.raises(InputError, match="both called"):
        uploads.save_uploads([("a.fa", data), ("a.fa", data)])
    with pytest.raises(InputError, match="no files"):
        uploads.save_uploads([])


def test_upload_source_with_header_labels_and_gzip(dna_fasta):
    src = uploads.upload_source([("dna.fa.gz", gzip.compress(dna_fasta.read_bytes()))])
    rep = data_report.report(src)
    assert rep.summary["records"] == 40 and src.train[0].endswith("dna.fa.gz")


def test_upload_source_one_file_per_class():
    pos = b">p1\nACGTACGTAC\n>p2\nACGTTTGTAC\n"
    neg = b">n1\nGGGGCCCCAA\n>n2\nGGCCGGCCAA\n"
    rep = data_report.report(uploads.upload_source([("bound.fa", pos), ("unbound.fa", neg)], "files"))
    assert rep.summary["per_class"] == {"bound": 2, "unbound": 2}
    with pytest.raises(InputError, match="at least two files"):
        uploads.upload_source([("bound.fa", pos)], "files")


def test_one_file_per_class_refuses_labelled_headers(dna_fasta):
    with pytest.raises(InputError, match="choose 'header'"):  # checked before the upload is kept
        uploads.upload_source([("a.fa", dna_fasta.read_bytes()), ("b.fa", dna_fasta.read_bytes())], "files")


def test_upload_source_with_a_label_table():
    fasta = b">s1\nACGTAC\n>s2\nGGGTTT\n>s3\nACGAAC\n"
    table = b"id,label\ns1,x\ns2,y\ns3,x\n"
    rep = data_report.report(uploads.upload_source([("seqs.fa", fasta)], "table", ("labels.csv", table)))
    assert rep.summary["per_class"] == {"x": 2, "y": 1}
    assert any("records" in n for n in rep.notes)
    with pytest.raises(InputError, match="upload a labels file"):
        uploads.upload_source([("seqs.fa", fasta)], "table")


def test_bad_upload_names_the_file_and_record():
    with pytest.raises(InputError, match=r"^broken\.fa: record 2 \(s2\): position 3"):  # named as uploaded
        uploads.upload_source([("broken.fa", b">s1 label=a\nACGT\n>s2 label=b\nAC!T\n")])
    with pytest.raises(InputError, match="broken.fa"):
        uploads.read_uploads([("broken.fa", b"ACGT\n")])


def test_duplicates_table():
    fasta = b">a label=x\nACGTACGT\n>b label=y\nacgtacgt\n>c label=x\nGGGGCCCC\n"
    rep = data_report.report(uploads.upload_source([("dup.fa", fasta)]))
    assert rep.duplicates.iloc[0]["count"] == 2 and rep.duplicates.iloc[0]["labels"] == "x, y"
    assert any("different labels" in n for n in rep.notes)


@pytest.fixture
def bundle(dna_fasta, tiny, tiny_train):
    r = fit(DataOptions([str(dna_fasta)]), tiny, tiny_train, name="m")
    return r.bundle


def test_model_upload_is_validated_not_unpickled(bundle, tmp_path):
    data = model_path("m").read_bytes()
    kept = uploads.save_model_upload(data, "m.safetensors")
    assert kept.parent == workspace.uploads_dir() / "models" and load_model(kept).classes == bundle.classes
    with pytest.raises(ModelFileError, match="already in the registry"):
        uploads.save_model_upload(data, "m.safetensors", register=True)
    with pytest.raises(ModelFileError, match="junk.safetensors: not a bioseq model file"):
        uploads.save_model_upload(b"\x80\x04pickle", "junk.safetensors")


def test_model_upload_into_the_registry(bundle, tmp_path):
    other = tmp_path / "other.safetensors"
    bundle.meta = {**bundle.meta, "name": "imported"}
    save_model(other, bundle)
    path = uploads.save_model_upload(other.read_bytes(), other.name, register=True)
    assert path == model_path("imported") and load_model(path).name == "imported"


def test_model_records(bundle, dna_fasta):
    recs = records.model_records(model_path("m"), limit=5)
    assert [r.id for r in recs] == [f"seq{i}" for i in range(1, 6)]


def test_predict_frame_matches_the_cli_table(bundle, dna_fasta):
    records = list(read_records(dna_fasta))
    calls = []
    df = batch.predict_frame(bundle, records, chunk_size=16, progress=lambda d, n: calls.append((d, n)))
    assert calls == [(16, 40), (32, 40), (40, 40)]
    rows = list(predict_records(bundle, records))
    assert list(df["id"]) == [r.id for r, _ in rows]
    assert list(df["prediction"]) == [bundle.classes[int(p.argmax())] for _, p in rows]
    assert np.allclose(df["p_motif"], [p[1] for _, p in rows], atol=1e-6)
    assert list(df.columns) == ["id", "prediction", "p_background", "p_motif", "length", "unlike_training", "file"]


def test_predict_frame_refuses_the_wrong_alphabet(bundle, protein_fasta):
    with pytest.raises(InputError, match="looks like PROTEIN"):
        batch.predict_frame(bundle, list(read_records(protein_fasta)))


def test_filter_predictions(bundle, dna_fasta):
    df = batch.predict_frame(bundle, list(read_records(dna_fasta)))
    one = df["prediction"].iloc[0]
    assert set(batch.filter_predictions(df, [one])["prediction"]) == {one}
    assert len(batch.filter_predictions(df, min_probability=1.01)) == 0
    hit = batch.filter_predictions(df, text="SEQ1")
    assert set(hit["id"]) == {"seq1"} | {f"seq{i}" for i in range(10, 20)}
    assert list(batch.filter_predictions(df, text="seq3").index) == [2, *range(29, 39)]  # original rows kept


def test_model_card(bundle):
    meta = load_model(model_path("m")).meta
    card = dict(cards.model_card(meta).itertuples(index=False))
    assert card["name"] == "m" and card["classes"] == "background, motif"
    assert "validation accuracy" in card and "sha256" in card["train file"]
    assert list(cards.history(meta)["split"]) == ["train", "val"]
    assert np.asarray(cards.confusion(meta)).sum() > 0
    assert cards.model_card({"name": "bare"}).shape[1] == 2


def test_an_uploaded_dataset_is_found_again_by_its_key(dna_fasta, protein_fasta):
    src = uploads.upload_source([("my reads.fa", dna_fasta.read_bytes())], "header")
    assert src.key.startswith("upload:")
    assert uploads.source_by_key(src.key) == src
    later = uploads.upload_source([("prot.fa", protein_fasta.read_bytes())], "header", alphabet="protein")
    assert uploads.recent_sources() == [later, src]  # most recent first
    assert uploads.display_names(src) == {src.train[0]: "my reads.fa"}
    assert uploads.source_by_key("example:dna_motif") == examples.example("dna_motif").source()
    for bad in ("upload:../../etc", "upload:0123456789abcdef", "example:nope", "", "what:ever"):
        assert uploads.source_by_key(bad) is None


def test_a_dataset_whose_files_are_gone_is_not_offered(dna_fasta):
    src = uploads.upload_source([("a.fa", dna_fasta.read_bytes())], "header")
    Path(src.train[0]).unlink()
    assert uploads.source_by_key(src.key) is None and uploads.recent_sources() == []


def test_record_table_and_orders(bundle, write):
    fasta = write("r.fa", "".join(f">r{i} label={'motif' if i % 2 else 'background'}\n{'ACGT' * (i + 2)}\n"
                                  for i in range(6)) + ">nolabel\nACGTACGT\n")
    recs = list(read_records(fasta))
    table = records.record_table(bundle, recs)
    assert list(table["id"]) == [f"r{i}" for i in range(6)] + ["nolabel"]
    assert table["true"].iloc[-1] is None and table["correct"].iloc[-1] is None
    assert list(table["length"]) == [8, 12, 16, 20, 24, 28, 8]
    assert np.allclose(table[["p_background", "p_motif"]].sum(axis=1), 1.0)
    wrong_first = records.order_records(table, "misclassified first")
    flags = list(wrong_first["correct"])
    assert flags == sorted(flags, key=lambda c: {False: 0, None: 1, True: 2}[c])
    turns = records.order_records(table, "most confident per class")
    assert set(turns["prediction"].iloc[:2]) == set(table["prediction"])  # each class near the top
    assert list(records.order_records(table, "file order")["id"]) == list(table["id"])
    with pytest.raises(ValueError, match="choose one of file order"):
        records.order_records(table, "random")


def test_labelled_records_of_each_origin_for_a_classifier(bundle, dna_fasta, write):
    path = model_path("m")
    first = list(read_records(dna_fasta))[:3]
    want = ([r.id for r in first], records.labels_for(first))
    recs, labels = records.labelled_records(path, "data", limit=3)  # the files the model was trained on
    assert ([r.id for r in recs], labels) == want and set(labels) <= {"motif", "background"}
    recs, labels = records.labelled_records(path, "dataset", source.DataSource("d", (str(dna_fasta),)), limit=3)
    assert ([r.id for r in recs], labels) == want
    recs, labels = records.labelled_records(path, "upload", files=[("u.fa", b">a label=motif\nACGT\n>b\nACGA\n")])
    assert [r.id for r in recs] == ["a", "b"] and labels == ["motif", None]


def test_labels_as_training_saw_them(write):
    fasta = write("l.fa", ">a label=weak\nACGT\n>b label=strong\nACGA\n>c\nCCGT\n")
    recs = list(read_records(fasta))
    assert records.labels_for(recs) == ["weak", "strong", None]
    assert records.labels_for(recs, class_map="weak=enhancer,strong=") == ["enhancer", None, None]
    table = write("t.csv", "id,label\na,x\nc,y\n")
    assert records.labels_for(recs, str(table)) == ["x", None, "y"]


def test_threshold_banner_and_uploaded_evaluation(bundle, dna_fasta, write):
    df = batch.predict_frame(bundle, list(read_records(dna_fasta)))
    low = batch.apply_threshold(df, bundle.classes, 0.0)
    assert set(low["prediction"]) == {bundle.classes[1]}
    assert set(batch.apply_threshold(df, bundle.classes, 1.01)["prediction"]) == {bundle.classes[0]}
    assert batch.unlike_training(df) is None  # the fixture's model has no training profile
    ev = batch.evaluate_upload(bundle, [("mine.fa", dna_fasta.read_bytes())])
    assert ev.metrics["n"] == 40
    with pytest.raises(InputError, match=r"^plain.fa: record 1 \(a\): no label=VALUE"):
        batch.evaluate_upload(bundle, [("plain.fa", b">a\nACGT\n")])


def test_model_card_notes_a_high_auroc_at_chance():
    meta = {"training": {"val_counts": {"a": 50, "b": 50},
                         "val_metrics": {"auroc": 1.0, "balanced_accuracy": 0.5, "accuracy": 0.5, "mcc": 0.0}}}
    assert len(cards.notes(meta)) == 1 and "ranks the sequences" in cards.notes(meta)[0]
    assert cards.notes({}) == []


def test_repeated_sequences_are_a_note_for_per_position_data_too():
    fasta = b">a\nACDE\nMMOO\n>b\nacde\nMOOO\n>c\nKLMN\nOOOO\n>d\nKLMN\nOOOO\n"
    rep = data_report.report(uploads.upload_source([("tm.fa", fasta)], "positions"))
    assert rep.notes[0] == ("2 of 4 records repeat another record's sequence exactly (2 sequences occur more than "
                            "once, 1 with different label strings): a repeated sequence counts more than once in "
                            "training and in the metrics")


def test_true_labels_only_wrong_and_the_threshold_in_the_table(bundle, dna_fasta):
    recs = list(read_records(dna_fasta))
    df = batch.apply_threshold(batch.with_truth(bundle, batch.predict_frame(bundle, recs), recs), bundle.classes, 1.01)
    assert list(df.columns)[-2:] == ["true", "threshold"] and list(df.columns)[:2] == ["id", "prediction"]
    assert (df["true"] == [r.description.split("label=")[1] for r in recs]).all()
    wrong = batch.filter_predictions(df, wrong=True)  # at 1.01 every record is called background
    assert set(wrong["true"]) == {"motif"} and len(wrong) == 20
    assert "threshold" in downloads.table_csv(df).decode().splitlines()[0].split(",")[-1]
    table = ("t.csv", b"id,label\nseq1,motif\n")
    unlabelled = [replace(r, description=r.id, file="batch.fa") for r in recs]  # no token, one file: no labels
    assert "true" not in batch.with_truth(bundle, batch.predict_frame(bundle, unlabelled), unlabelled)
    found = batch.with_truth(bundle, batch.predict_frame(bundle, unlabelled), unlabelled, table)["true"]
    assert found.iloc[0] == "motif" and found.iloc[1:].isna().all()
    with pytest.raises(InputError, match="^bad.csv"):
        batch.with_truth(bundle, batch.predict_frame(bundle, unlabelled), unlabelled, ("bad.csv", b"nothing"))
