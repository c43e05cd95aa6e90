"""Cross-validation (``bioseq cv``, :mod:`bioseq.training.cv`, :mod:`bioseq.data.folds`): hand-checked folds (every
record tested once, groups and homology clusters never split, classes stratified), mean and sd exact from the
per-fold figures, the JSON shape, a labeller, the ensemble model, ``tune --cv`` and the dashboard's run view."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from _families import crossing_pairs, families
from conftest import TINY_ARGS
from streamlit.testing.v1 import AppTest

import bioseq
from bioseq.cli import main as cli
from bioseq.data.folds import assign_folds, make_folds
from bioseq.data.synthetic import transmembrane_protein, write_three_line
from bioseq.errors import InputError
from bioseq.model.store import model_path, read_meta
from bioseq.training.cv import summarize_folds
from bioseq.training.runs import RunFolder, read_run

ROOT = Path(__file__).resolve().parent.parent
QUICK = [*TINY_ARGS, "--epochs", "1", "--quiet"]
CLASSIFIER_FIGURES = {"accuracy", "balanced_accuracy", "auroc", "auprc", "mcc", "f1", "loss"}
needs_mmseqs = pytest.mark.skipif(shutil.which("mmseqs") is None, reason="mmseqs is not installed")


# ---------- folds ----------

def test_groups_stay_whole_largest_first():
    # one stratum; groups c (3 records), a (2), then b, d, e (1 each): c -> fold 0, a -> fold 1, then the
    # singles fill the smaller fold, ties to the fold with fewer records, then the lower number
    groups = ["a", "a", "b", "c", "c", "c", "d", "e"]
    for seed in range(3):
        folds = assign_folds([0] * 8, groups, 2, seed)
        assert folds[3] == folds[4] == folds[5] == 0 and folds[0] == folds[1] == 1
        assert Counter(folds.tolist()) == {0: 4, 1: 4}


def test_every_record_is_in_exactly_one_fold_and_classes_are_stratified():
    strata = [0] * 10 + [1] * 5
    for seed in range(3):
        folds = assign_folds(strata, [str(i) for i in range(15)], 5, seed)
        assert folds.shape == (15,) and set(folds.tolist()) == set(range(5))  # one fold each, every fold used
        for f in range(5):  # exactly 2 of class 0 and 1 of class 1 in every fold
            assert Counter(np.asarray(strata)[folds == f].tolist()) == {0: 2, 1: 1}
    uneven = assign_folds([0] * 7 + [1] * 3, [str(i) for i in range(10)], 3, 0)
    for c, n in ((0, 7), (1, 3)):  # floor or ceil of n / K of each class per fold
        assert {int(((uneven == f) & (np.arange(10) < 7 if c == 0 else np.arange(10) >= 7)).sum()) for f in range(3)
                } <= {n // 3, -(-n // 3)}


def test_the_seed_changes_the_folds_not_their_sizes():
    a, b = (assign_folds([0] * 20, [str(i) for i in range(20)], 4, s) for s in (0, 1))
    assert a.tolist() != b.tolist() and sorted(Counter(a.tolist()).values()) == sorted(Counter(b.tolist()).values())


def test_identical_sequences_share_a_fold_and_too_few_groups_is_one_line():
    seqs = ["ACGT", "acgt", "GGGG", "TTTT", "CCCC", "ACGT"]
    folds, rule = make_folds(seqs, [0, 1, 0, 1, 0, 1], 2, seed=3)
    assert folds[0] == folds[1] == folds[5]
    assert rule == {"method": "grouped", "folds": 2, "seed": 3, "stratified": True}
    with pytest.raises(InputError, match=r"x\.fa: 6 records form 4 group\(s\) of identical sequences: too few for 5 "
                                         r"folds; give fewer --folds"):
        make_folds(seqs, [0] * 6, 5, where="x.fa")
    with pytest.raises(ValueError):
        assign_folds([0, 0], ["a", "b"], 1)


@needs_mmseqs
@pytest.mark.parametrize("kind,identity", [("protein", 0.4), ("dna", 0.8)])
def test_homology_folds_keep_clusters_whole(kind, identity):
    recs = families(kind)
    ids, seqs = [i for i, _, _ in recs], [s for _, s, _ in recs]
    folds, rule = make_folds(seqs, [int(y[1]) for _, _, y in recs], 3, 0, identity, kind == "dna", "mmseqs")
    assert rule["method"] == "homology" and rule["identity"] == identity and rule["folds"] == 3
    for f in range(3):  # no test sequence has a training sequence that close (an independent aligner)
        test = [s for s, g in zip(seqs, folds) if g == f]
        rest = [s for s, g in zip(seqs, folds) if g != f]
        assert test and crossing_pairs(kind, rest, test, identity) == []
    far = "v30" if kind == "protein" else "v70"
    for fam in range(4):  # each family (but its distant variant) in one fold
        assert len({g for i, g in zip(ids, folds) if i.startswith(f"f{fam}_") and not i.endswith(far)}) == 1


# ---------- the summary ----------

def test_mean_and_sd_are_exact():
    mean, sd = summarize_folds([{"accuracy": 0.5, "f1": 1.0}, {"accuracy": 0.75, "f1": 1.0},
                                {"accuracy": 1.0, "f1": math.nan}])
    assert mean["accuracy"] == 0.75 and sd["accuracy"] == 0.25  # sample sd: sqrt((0.0625 * 2) / 2)
    assert math.isnan(mean["f1"]) and math.isnan(sd["f1"])  # undefined in one fold: not hidden
    one_mean, one_sd = summarize_folds([{"mcc": 0.3}])
    assert one_mean == {"mcc": 0.3} and math.isnan(one_sd["mcc"])


# ---------- runs ----------

def _cv_json(capsys, *args) -> dict:
    assert cli(["cv", *map(str, args), *QUICK, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_json_shape_and_the_run(dna_fasta, capsys):
    out = _cv_json(capsys, dna_fasta, "--folds", "2", "--name", "cv1")
    assert len(out["folds"]) == 2 and set(out["mean"]) == set(out["sd"]) == CLASSIFIER_FIGURES
    assert all(set(f) == CLASSIFIER_FIGURES for f in out["folds"])
    for k in CLASSIFIER_FIGURES:  # mean and sd from the per-fold figures, exactly
        a, b = (f[k] for f in out["folds"])
        assert out["mean"][k] == (a + b) / 2 or (math.isnan(a) or math.isnan(b))
        assert out["sd"][k] == pytest.approx(abs(a - b) / math.sqrt(2), abs=1e-15) or math.isnan(a + b)
    assert sum(out["fold_sizes"]) == 40 and out["model"] is None and out["split"]["stratified"] is True
    info = read_run("cv1")
    assert info["status"] == "done" and info["cv"]["mean"] == out["mean"] and info["val_metrics"] == out["mean"]
    curves = RunFolder.named("cv1").member_metrics()
    assert set(curves["run"]) == {"fold 1", "fold 2"}  # one curve per fold
    assert not model_path("cv1").exists()  # no --ensemble: no model


def test_cli_table_prints_per_fold_and_mean_sd(dna_fasta, capsys):
    assert cli(["cv", str(dna_fasta), "--folds", "2", "--name", "cv2", *QUICK]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["metric", "fold", "1", "fold", "2", "mean", "±", "sd"]
    row = next(line.split() for line in out if line.startswith("accuracy "))
    assert len(row) == 6 and row[4] == "±" and float(row[3]) == pytest.approx((float(row[1]) + float(row[2])) / 2,
                                                                            abs=1e-4)


def test_refusals_are_one_line_before_training(dna_fasta, capsys):
    assert cli(["cv", str(dna_fasta), "--folds", "2", "--name", "taken", *QUICK]) == 0
    capsys.readouterr()
    cases = [(["--name", "taken"], "add --overwrite to replace it, or choose another --name"),  # no --resume here
             (["--folds", "1"], "--folds"),
             (["--out", "x.safetensors"], "add --ensemble"), (["--val", str(dna_fasta)], "drop --val"),
             (["--seeds", "2"], "drop --seeds 2"), (["--folds", "41"], "too few for 41 folds"),
             (["--fold-by", "chrom"], "--fold-by chrom deals whole chromosomes into folds: it needs genome regions")]
    for extra, words in cases:
        assert cli(["cv", str(dna_fasta), *QUICK, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, (extra, err)
    assert cli(["cv", str(dna_fasta), "--folds", "2", "--name", "taken", "--overwrite", *QUICK]) == 0
    capsys.readouterr()
    assert cli(["cv", str(dna_fasta), "--folds", "2", "--fold-by", "chrom", *QUICK]) == 2
    assert "--fold-by chrom deals whole chromosomes" in capsys.readouterr().err  # regions only


# ---------- genome regions ----------

@pytest.fixture
def regions(tmp_path) -> dict:
    """A genome of four 80-letter chromosomes (chr1..chr4, random letters of seed 0) and a BED of three 10-letter
    peaks on each: with the drawn (shuffled) negatives, 6 records per chromosome."""
    rng = np.random.default_rng(0)
    genome = tmp_path / "g.fa"
    genome.write_text("".join(f">chr{c}\n{''.join(rng.choice(list('ACGT'), 80))}\n" for c in range(1, 5)))
    bed = tmp_path / "peaks.bed"
    bed.write_text("".join(f"chr{c}\t{a}\t{a + 10}\n" for c in range(1, 5) for a in (5, 35, 65)))
    return {"genome": str(genome), "bed": str(bed)}


def test_regions_are_cross_validated_by_record_from_the_records_train_reads(regions, capsys):
    from bioseq.data.region_data import load_region_split
    from bioseq.data.source import DataOptions
    from bioseq.training.cv import read_pool

    args = ["--regions", regions["bed"], "--genome", regions["genome"], "--test-chroms", "chr4"]
    out = _cv_json(capsys, *args, "--folds", "3", "--name", "reg")
    assert sum(out["fold_sizes"]) == 18 and out["fold_sizes"] == [6, 6, 6]  # chr1..chr3: 9 peaks, 9 negatives
    assert out["split"]["method"] == "grouped" and out["split"]["stratified"] is True
    assert (out["split"]["test_chroms"], out["split"]["test_records"], out["split"]["regions"]) == (["chr4"], 6, 24)
    assert out["classes"] == ["background", "peaks"] and set(out["mean"]) == CLASSIFIER_FIGURES
    data = DataOptions([], regions=[regions["bed"]], genome=regions["genome"], test_chroms="chr4")
    train, val, _ = load_region_split(data, 0)
    pool = read_pool(data, False, 0)  # the records bioseq train reads (train + validation), the same letters
    assert sorted(zip(pool.ds.ids, pool.ds.seqs)) == sorted([*zip(train.ids, train.seqs), *zip(val.ids, val.seqs)])
    assert pool.val is None and pool.chroms == [i.split("|")[-1].split(":")[0] for i in pool.ds.ids]


def test_regions_folded_by_whole_chromosomes_with_val_chroms(regions, capsys):
    args = ["--regions", regions["bed"], "--genome", regions["genome"], "--val-chroms", "chr4"]
    out = _cv_json(capsys, *args, "--folds", "3", "--fold-by", "chrom", "--name", "chroms")
    assert out["split"]["method"] == "chromosomes" and out["fold_sizes"] == [6, 6, 6]
    assert sorted(c for f in out["split"]["fold_chroms"] for c in f) == ["chr1", "chr2", "chr3"]
    assert all(len(f) == 1 for f in out["split"]["fold_chroms"])  # each fold one whole chromosome
    assert (out["split"]["val_chroms"], out["split"]["val_records"]) == (["chr4"], 6)
    run = read_run("chroms")
    assert run["cv"]["split"]["fold_chroms"] == out["split"]["fold_chroms"]
    r = bioseq.cv([], regions=[regions["bed"]], genome=regions["genome"], val_chroms="chr4", fold_by="chrom",
                  folds=3, name="chroms-api", epochs=1, hidden=8, conv_filters=8, batch_size=8, device="cpu")
    assert len(r.folds) == 3 and r.split["val_records"] == 6 and r.split["method"] == "chromosomes"  # the API too
    for extra, words in [(["--folds", "4"], "18 records form 3 group(s) of chromosomes: too few for 4 folds"),
                         (["--split-identity", "0.9"], "--fold-by chrom keeps whole chromosomes in a fold")]:
        assert cli(["cv", *args, "--fold-by", "chrom", *QUICK, *extra]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


@pytest.mark.slow
def test_a_labeller_and_its_ensemble_predict(tmp_path, capsys):
    path = write_three_line(tmp_path / "tm.fa", transmembrane_protein(24, 30, 60, seed=3))
    out = _cv_json(capsys, path, "--folds", "3", "--name", "tm-cv", "--ensemble")
    assert {"accuracy", "sov", "f1_M", "f1_O", "sov_M", "recall_O", "loss"} <= set(out["mean"])
    assert len(out["folds"]) == 3 and out["task"] == "label" and out["model"] == str(model_path("tm-cv"))
    meta = read_meta(model_path("tm-cv"))
    assert len(meta["ensemble"]["members"]) == 3 and meta["cv"]["mean"] == out["mean"]
    table = bioseq.predict("tm-cv", [path])
    assert len(table) == sum(len(s) for _, s, _ in transmembrane_protein(24, 30, 60, seed=3))
    assert cli(["info", "tm-cv"]) == 0
    info = capsys.readouterr().out
    assert "3-fold cross-validation" in info and f"cross-val:     accuracy {out['mean']['accuracy']:.4f} ± " in info
    assert "leakage:       folds not homology-aware (only identical sequences kept in one fold;" in info


@needs_mmseqs
def test_a_homology_aware_cv_model_card_states_the_guarantee(tmp_path, capsys):
    from bioseq.app.cards import model_card

    path = tmp_path / "fams.fa"
    path.write_text("".join(f">{i} label={c}\n{s}\n" for i, s, c in families("protein")))
    _cv_json(capsys, path, "--folds", "2", "--split-identity", "0.4", "--name", "hom", "--ensemble")
    card = dict(model_card(read_meta(model_path("hom"))).values.tolist())
    assert card["leakage"].startswith("none at 40% identity or more, by construction: homology-aware folds")
    assert "checked by search" in card["leakage"] and ("MMseqs2" in card["leakage"] or "CD-HIT" in card["leakage"])
    assert card["validation split"].startswith("2-fold cross-validation, whole homology clusters at 40% identity")


def test_a_class_rarer_than_the_folds_is_a_warning(write, capsys):
    recs = "".join(f">r{i} label={'rare' if i < 2 else 'common'}\n{'ACGT'[i % 4] * 3}{'ACGT'[i // 4 % 4] * 3}"
                   f"{'ACGT'[i // 16 % 4] * 3}\n" for i in range(12))
    out = _cv_json(capsys, write("rare.fa", recs), "--folds", "3", "--name", "rare", "--val-fraction", "0.3")
    assert out["warnings"] == ["class 'rare' has 2 records, fewer than the 3 folds: some test folds lack it, and "
                               "figures that need it (AUROC, its F1) are undefined there (NaN); give fewer --folds"]
    assert out["mean"]["auroc"] is None  # one fold has no 'rare' record: its AUROC, and so the mean, is undefined


def test_the_python_api(dna_fasta):
    r = bioseq.cv([dna_fasta], folds=2, name="api-cv", epochs=1, hidden=8, conv_filters=8, batch_size=8,
                  device="cpu")
    assert len(r.folds) == 2 and r.as_json()["mean"]["accuracy"] == r.mean["accuracy"]
    assert [row["metric"] for row in r.table()][:2] == ["accuracy", "balanced_accuracy"]


@pytest.mark.slow
def test_tune_scores_trials_by_cross_validation(dna_fasta):
    from bioseq.data.source import DataOptions
    from bioseq.training.config import TrainConfig
    from bioseq.training.tune import tune

    r = tune(DataOptions([str(dna_fasta)]), "tcv", "5m", max_trials=1, cv=2,
             train_cfg=TrainConfig(epochs=1, batch_size=32, device="cpu"))
    assert r.trials[0]["state"] == "complete"
    run = RunFolder(r.folder / "trial-0").info()
    assert r.best_value == pytest.approx(run["cv"]["mean"]["loss"])  # the trial's score: the folds' mean loss
    assert len(read_meta(r.model_path)["ensemble"]["members"]) == 2
    with pytest.raises(InputError, match="drop --val"):
        tune(DataOptions([str(dna_fasta)], val=[str(dna_fasta)]), "tcv2", "1m", cv=2)


# ---------- the dashboard ----------

@pytest.fixture
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.slow
def test_the_run_view_shows_one_curve_per_fold_and_the_summary(dna_fasta, fresh_caches):
    from dashboard import pages

    assert cli(["cv", str(dna_fasta), "--folds", "2", "--name", "cv-view", "--ensemble", *QUICK]) == 0
    paths = {p.name: p.path for p in pages.PAGES}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(paths["train"]).run()
    at.selectbox(key="train_run").set_value("cv-view").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "cross-validation" in " ".join(str(e.value) for e in at.info)
    assert "Cross-validation of 2 folds: mean test accuracy" in " ".join(str(e.value) for e in at.success)
    table = next(d.value for d in at.dataframe if "mean" in d.value.columns)
    assert list(table.columns[:5]) == ["metric", "mean", "sd", "fold 1", "fold 2"]
    assert "accuracy" in set(table["metric"])
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 2 and "fold 2" in charts[0].proto.spec  # one colour per fold, named in the legend
    at.switch_page(paths["models"]).run()
    at.selectbox(key="models_pick").set_value("cv-view").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("fold 2" in d.value.columns for d in at.dataframe)
