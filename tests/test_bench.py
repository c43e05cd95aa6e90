"""Smoke tests: the benchmark scripts still run, at tiny sizes. No timing is asserted anywhere."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import attribution_motif, bench_core, bench_large, benchmarks, run  # noqa: E402
from bench.report import Figure, at_least, table  # noqa: E402

DATA = bench_core.DEFAULT_DATA
needs_data = pytest.mark.skipif(not (DATA / "amp_scanner_v2").is_dir(), reason=f"no benchmark data in {DATA}")


def check(figures: list[Figure], targets: int) -> None:
    assert all(math.isfinite(f.value) for f in figures), figures
    assert sum(f.ok is not None for f in figures) == targets
    assert "PASS" in table(figures) or "FAIL" in table(figures)


@pytest.mark.slow
def test_training_figures():
    setups = [bench_core.Setup(True, True, True)]
    figs = bench_core.train_throughput(n=32, epochs=1, repeats=1, hidden=4, setups=setups, gemm_n=128)
    check(figs, 2)  # the ratio against the plain loop, the recording overhead
    assert figs[0].name == "train speed bioseq / plain loop, bi, conv on, mixed lengths"
    assert [f.name.startswith("share of GEMM peak") for f in figs].count(True) == 1


def test_prediction_figures(tmp_path):
    check(bench_core.predict_throughput(n=300, length=40, repeats=1, workdir=tmp_path), 1)


@pytest.mark.slow
def test_peak_rss_of_the_real_command(tmp_path):
    (rss,) = bench_core.predict_rss(n=2000, length=50, workdir=tmp_path)
    assert 10 < rss.value < 10_000 and rss.unit == " MiB"


def test_random_fasta_is_valid(tmp_path):
    from bioseq.data.io import read_records

    recs = list(read_records(bench_core.write_random_fasta(tmp_path / "r.fa", 5, 7)))
    assert [r.id for r in recs] == ["s0", "s1", "s2", "s3", "s4"]
    assert all(len(r.seq) == 7 and set(r.seq) <= set("ACGT") for r in recs)


def test_labelled_random_fasta_and_the_cache_figures(tmp_path):
    from bioseq.data.dataset import load_dataset

    ds = load_dataset([bench_core.write_random_fasta(tmp_path / "r.fa", 4, 30, labels=True)])
    assert ds.classes == ["a", "b"] and ds.labels.tolist() == [0, 1, 0, 1]
    figs = bench_large.cache_throughput(n=200, length=30, steps=2)
    check(figs, 1)
    assert figs[-1].name == "batch building / model step speed" and figs[-1].value > 0


@pytest.mark.slow  # two real commands in subprocesses: about 20 s
def test_peak_rss_of_training_and_prediction_through_the_cache():
    (train,) = bench_large.train_rss(n=300, length=30, max_steps=2)
    (pred,) = bench_large.predict_rss(n=500, length=30)
    assert 10 < train.value < 10_000 and 10 < pred.value < 10_000 and train.unit == pred.unit == " MiB"


def test_front_pad_keeps_the_sequence_at_the_end():
    import numpy as np

    (p,) = bench_core.front_pad([np.ones((2, 3), dtype=np.float32)], 5)
    assert p.shape == (5, 3) and p[:3].sum() == 0 and p[3:].sum() == 6


@needs_data
def test_grouping_figures():
    check(bench_core.grouping_speedup(DATA, epochs=1, repeats=1, limit=32), 1)


@needs_data
def test_benchmark_tasks_follow_the_protocols(tmp_path):
    splice = benchmarks.make_task("splice", DATA, tmp_path)
    assert splice.notes["kept"] == 3004 and splice.notes["dropped_conflicting"] == 1
    split = splice.notes["split"]
    assert split["train"] + split["val"] + split["test"] == 3004
    (tmp_path / "e1").mkdir()
    enh = benchmarks.make_task("ienhancer1", DATA, tmp_path / "e1")
    assert enh.notes["case_insensitive_encoding_checked"]
    assert enh.notes["test_records"] == 400 and enh.notes["test_records_also_in_training"] == 100


def test_run_reads_the_dashboard_rows():
    rows = "load 3.0\n  server up (health check answers)  3.10 s  \n  page Data (again)   1.50 s  <= 1 s\n"
    up, page = run.parse_rows(rows)
    assert (up.value, up.ok) == (3.1, None)
    assert (page.name, page.value, page.target, page.ok) == ("page Data (again)", 1.5, "<= 1 s", False)
    assert run.as_figure({"name": "x", "value": 1.0, "target": ">= 1", "ok": True}).ok is True
    assert at_least("r", 0.5, 0.8).ok is False


def test_attribution_motif_figures(dna_bundle):
    """The motif-hit table of every method on the bundled test file (a random model: no target is asserted)."""
    records = attribution_motif.positives(n=2)
    assert len(records) == 2 and all(attribution_motif.DNA_MOTIF in r.seq for r in records)
    figs = attribution_motif.figures(dna_bundle, records, methods=["saliency", "occlusion"])
    check(figs, 2)
    assert [f.name for f in figs] == [f"top position inside the motif, {m}" for m in ("saliency", "occlusion")]
    assert all(f.value in (0.0, 50.0, 100.0) for f in figs)


@pytest.mark.slow
def write_ss_layout(folder: Path) -> Path:
    """A few records of each secondary-structure split, in the benchmark's file layout, in ``folder``."""
    import gzip

    rows = {"train": [("t1", "MKVLAAGIVE", "CCHHHHHEEC", "1111111110"),
                      ("t2", "GSSPLLEKKV", "CEEECCHHHC", "1111111111"),
                      ("t3", "MKKLLVVAAG", "CHHHHEEEEC", "0111111111"),
                      ("t4", "PPGSAEEVLK", "CCCCHHHHHC", "1111111111")],
            "valid": [("v1", "MSEVLKKAGE", "CHHHHHHCCC", "1111111111"),
                      ("v2", "GGKVVLLEAK", "CCEEEECCHC", "1111111111")],
            "cb513": [("cb513_1", "MKVVLAEGKS", "CEEEEHHHCC", "1111111100"),
                      ("cb513_330", "MKVLAAGIVE", "CCHHHHHEEC", "1111111111")]}
    for split, recs in rows.items():
        for k, col in (("seq", 1), ("ss3", 2), ("mask", 3)):
            text = "".join(f">{r[0]}\n{r[col]}\n" for r in recs).encode()
            path = folder / f"{split}_{k}.fasta{'' if split == 'cb513' else '.gz'}"
            path.write_bytes(text if split == "cb513" else gzip.compress(text))
    return folder


def test_secondary_structure_benchmark_runs_on_a_tiny_copy_of_its_layout(tmp_path, monkeypatch):
    """The CB513 protocol end to end on a few records of each split (written in its file layout)."""
    from bench import secondary_structure as ss

    write_ss_layout(tmp_path)
    monkeypatch.setattr(ss, "MODEL", {**ss.MODEL, "hidden": 4, "conv_filters": 4})
    r = ss.run(tmp_path, threads=1, epochs=1, echo=lambda s: None)
    assert r["shared_chains"]["dropped_from_test"] == ["cb513_330"]
    assert r["test"]["chains"] == 1 and r["test"]["scored_residues"] == 8  # mask = 1 residues only
    assert r["test_all_511"]["chains"] == 2 and r["test_all_511"]["scored_residues"] == 18
    assert r["train_cpu_s"] > 0 and r["model_config"]["task"] == "label"
    text = ss.markdown(r)
    assert "| CB513 without the 2 shared chains | 1 | 8 |" in text and "| H |" in text
    kept = ss.run(tmp_path, threads=1, epochs=1, echo=lambda s: None, work=tmp_path / "w")
    assert (tmp_path / "w" / "run" / "checkpoint.safetensors").exists()
    again = ss.run(tmp_path, threads=1, epochs=1, echo=lambda s: None, work=tmp_path / "w", resume_cpu_s=1000.0)
    assert again["test"]["confusion"] == kept["test"]["confusion"]  # resumed after its last epoch: the same model
    assert again["train_cpu_s"] >= 1000.0
    out = tmp_path / "results"
    out.mkdir()
    (out / "benchmarks.json").write_text((ROOT / "bench" / "results" / "benchmarks.json").read_text())
    ss.save(r, out)  # its own files, and a section of the combined report that keeps every other benchmark
    combined = (out / "benchmarks.md").read_text()
    assert "## Protein secondary structure (3 states), CB513" in combined and "| amp | test | 1424 |" in combined
    assert (out / "secondary_structure.md").read_text() == ss.markdown(r)


def test_bundle_trains_packages_and_repackages_a_labeller(tmp_path, monkeypatch):
    """``python -m bench.bundle ss3`` on a tiny copy of the layout: the model file with its card, the expected
    predictions, the summary; ``--package-only`` writes the same file again from the kept result."""
    from dataclasses import replace

    from bench import bundle
    from bioseq.model.store import load_model

    write_ss_layout((tmp_path / "data" / "secondary_structure").mkdir(parents=True) or
                    tmp_path / "data" / "secondary_structure")
    spec = bundle.MODELS["ss3"]
    monkeypatch.setattr(bundle, "MODELS", {"ss3": replace(spec, model={**spec.model, "hidden": 4, "conv_filters": 4},
                                                          train={**spec.train, "epochs": 1})})
    monkeypatch.setattr(bundle, "RESULTS", tmp_path / "results")
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    (fixtures / "ss3.fa").write_text(">p\nMKVLAAG\n")
    monkeypatch.setattr(bundle, "FIXTURES", fixtures)
    args = ["ss3", "--data", str(tmp_path / "data"), "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert bundle.main(args) == 0
    b = load_model(tmp_path / "out" / "ss3.safetensors")
    card = b.meta["bundled"]
    assert b.name == "ss3" and b.task == "label" and card["command"] == "python -m bench.bundle ss3"
    assert card["test"]["n"] == 8 and card["test"]["unit"] == "residues" and card["test"]["chains"] == 1
    assert card["test"]["wilson95"][0] < card["test"]["accuracy"] < card["test"]["wilson95"][1]
    assert card["licence"] == spec.licence and card["split"] == spec.split and card["options"]["train"]["epochs"] == 1
    assert [f["path"] for f in b.meta["training"]["files"]][:2] == ["train_seq.fasta.gz", "valid_seq.fasta.gz"]
    expected = (fixtures / "ss3.predictions.csv").read_text()
    assert expected.splitlines()[0].startswith("id,position,letter,prediction,p_C,p_E,p_H")
    summary = json.loads((tmp_path / "results" / "bundled.json").read_text())
    size = (tmp_path / "out" / "ss3.safetensors").stat().st_size
    assert list(summary) == ["ss3"] and summary["ss3"]["size_bytes"] == size
    assert bundle.main([*args, "--package-only"]) == 0
    assert (fixtures / "ss3.predictions.csv").read_text() == expected
    assert bundle.main([*args, "--resume-cpu", "0.5", "--epochs", "1"]) == 0  # its 1 epoch done: the same model
    assert (fixtures / "ss3.predictions.csv").read_text() == expected
    card = load_model(tmp_path / "out" / "ss3.safetensors").meta["bundled"]
    assert card["train_cpu_s"] >= 30 and card["resumed_after_cpu_s"] == 30
    with pytest.raises(SystemExit):
        bundle.main(["nope"])


def test_the_bundle_table_names_the_bundled_models():
    from bench import bundle
    from bioseq.model import bundled

    assert sorted(bundle.MODELS) == bundled.names() == ["amp", "splice", "ss3"]
    assert bundle.FIXTURES == ROOT / "tests" / "fixtures" / "bundled"


def test_wilson_interval_matches_hand_values():
    from bench.tuned import wilson

    lo, hi = wilson(5, 10)  # p = 0.5, z = 1.96: 0.5 -/+ 0.2634
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = wilson(0, 10)  # no successes: the interval starts at 0 and ends at z^2 / (n + z^2)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(1.96 ** 2 / (10 + 1.96 ** 2), abs=1e-3)


def test_cpu_budget_stops_before_an_epoch_that_would_not_fit():
    from bench.secondary_structure import CpuBudget

    b = CpuBudget(100.0)
    b.start = b.epoch_start = 0.0  # pretend the budget began at CPU time 0
    b.used = lambda: 30.0  # type: ignore[method-assign]
    assert not b() and not b()  # first epoch: nothing known yet, and mid-epoch only the hard limit counts
    b.last_epoch, b.fresh_epoch = 40.0, True
    assert not b()  # 30 + 40 <= 100: the next epoch fits
    b.used = lambda: 70.0  # type: ignore[method-assign]
    b.fresh_epoch = True
    assert b()  # 70 + 40 > 100: no new epoch
    b.fresh_epoch = False
    assert not b()  # mid-epoch, under the budget: carry on
    b.used = lambda: 100.0  # type: ignore[method-assign]
    assert b()  # the hard limit


def test_tuned_summary_and_table_from_hand_made_runs():
    from bench import tuned

    def one(seed, acc):
        return {"seed": seed, "cpu_s": 60.0, "wall_s": 120.0, "trials": 3, "complete": 2, "pruned": 1,
                "best_trial": 1, "best_val_loss": 0.5, "best_val_accuracy": 0.8, "params": {"hidden": 32},
                "test": {"test": {"n": 100, "accuracy": acc, "wilson95": list(tuned.wilson(acc * 100, 100))}}}

    runs = [one(0, 0.80), one(1, 0.90)]
    s = tuned.summary(runs)["test"]
    assert s["mean"] == pytest.approx(0.85) and s["sd"] == pytest.approx(math.sqrt(0.005))
    r = {"amp": {"name": "amp", "title": "AMP", "budget_cpu_min": 1.0, "machine": "m", "runs": runs,
                 "summary": {"test": s}, "published": {"target": {"method": "X", "accuracy": 0.91}}}}
    text = tuned.markdown(r)
    row = "| amp | test | 100 | 1 | 0, 1 | 80.0 [71.1, 86.7]; 90.0 [82.6, 94.5] | 85.0 ± 7.1 | X: 91.0 | -6.0 points |"
    assert row in text


@pytest.mark.slow
def test_scan_figures_of_the_real_command(tmp_path):
    from bench import bench_scale

    rss, secs = bench_scale.scan_rss(length=5_000, workdir=tmp_path)
    assert 10 < rss.value < 10_000 and rss.unit == " MiB" and rss.ok is not None
    assert secs.value > 0 and "windows" in secs.note


@pytest.mark.slow
def test_distributed_figures(tmp_path):
    from bench import bench_scale

    speedup, cpu, same, _ = bench_scale.distributed_speedup(n=600, length=30, workdir=tmp_path)
    assert speedup.value > 0 and cpu.value > 0 and same.value == 1.0 and "cores" in speedup.note


@pytest.mark.slow
def test_distributed_training_figures(tmp_path):
    from bench import bench_scale

    speedup, cpu, rate = bench_scale.distributed_training(n=200, length=30, epochs=1, workdir=tmp_path)
    assert speedup.value > 0 and cpu.value > 0 and rate.value > 0 and "cores" in speedup.note


def test_inputs_table_from_hand_made_results():
    from bench.inputs import VARIANTS, table

    rows = [{"label": "defaults", "val_acc": 0.9, "val_acc_sd": 0.01, "val_loss": 0.25, "test_acc": 0.89,
             "best_epoch": 7.0, "wall_s": 60.0},
            {"label": "BLOSUM62 rows", "val_acc": 0.92, "val_acc_sd": 0.0, "val_loss": 0.2, "test_acc": 0.9,
             "best_epoch": 6.5, "wall_s": 50.0}]
    lines = table("AMP", rows).splitlines()
    assert lines[0] == "### AMP"
    assert lines[-1] == "| BLOSUM62 rows | 0.9200 | 0.0000 | +0.0200 | 0.2000 | 0.9000 | 6.5 | 50 |"
    assert all(v[0] == ("defaults", {}, {}) for v in VARIANTS.values())  # every table starts from the defaults
