"""``bioseq inspect KIND MODEL FILE -o OUT``: every kind (each registered attribution method, and the
other views) writes its documented CSV; the registry drives kinds, flags and help; errors leave no file."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, TINY_TRAIN

from bioseq.cli import main
from bioseq.cli.inspect import KINDS
from bioseq.data.source import DataOptions
from bioseq.data.synthetic import motif_dna, write_fasta
from bioseq.interpret.attribution import METHODS
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit

ATTRIBUTION = ["id", "position", "letter", "score", "method", "target"]
MIN_COLUMNS = {
    **{name: ATTRIBUTION for name in METHODS},
    "mutations": ["id", "position", "ref", "alt", "delta", "delta_prob", "target"],
    "gates": ["id", "layer", "direction", "position", "span_start", "span_end", "unit", "gate", "value"],
    "gate-saliency": ["id", "layer", "direction", "position", "span_start", "span_end", "unit", "gate", "value",
                      "score", "target"],
    "gradients": ["id", "layer", "direction", "step", "position", "distance", "grad_norm"],
    "motifs": ["target", "motif", "count", "mean_score", "sequences", "in_class", "in_others", "enrichment"],
    "memory": ["direction", "distance", "influence", "relative", "sequences"],
    "window": ["id", "t", "length", "mass", "back", "ahead", "width", "rf_back", "rf_ahead", "past_share",
               "future_share"],
}
LABELLER_ONLY = {"window"}
SEQS = motif_dna(6, length=20, seed=5)  # the sequences to inspect: ids seq1..seq6, 20 letters each


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """The tiny model (an LSTM, bidirectional, conv width 3 pool 2) trained for one epoch."""
    root = tmp_path_factory.mktemp("inspect")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSEQ_HOME", str(root / "home"))
        train_file = write_fasta(root / "train.fa", motif_dna(24, length=20, seed=1))
        r = fit(DataOptions([str(train_file)]),
                TINY, TrainConfig(**TINY_TRAIN),
                out=root / "tiny.safetensors", log_dir=root / "run")
    fasta = write_fasta(root / "inspect.fa", SEQS)
    return {"model": str(r.path), "fasta": str(fasta), "classes": r.bundle.classes, "cfg": r.bundle.model.cfg}


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["inspect", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_registered_method_is_a_kind():
    assert KINDS[: len(METHODS)] == tuple(METHODS)
    assert {"saliency", "ig", "ism", "deeplift", "gradientshap", "occlusion", "mutations", "gates", "gradients",
            "motifs", "memory"} <= set(KINDS)


def test_help_lists_every_method_with_its_help_and_options(capsys):
    with pytest.raises(SystemExit):
        main(["inspect", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for m in METHODS.values():
        assert f"{m.name} {m.label}: {m.help}" in out
        for o in m.options:
            assert f"--{o.name}" in out and f"{o.help}, default {o.default}" in out


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_its_documented_csv(trained, tmp_path, capsys, kind):
    out = tmp_path / f"{kind}.csv"
    kmers = ["--kmers"] if kind == "motifs" else []  # a DNA model's named motifs: test_named_motifs_*
    code, stdout, err = run(capsys, kind, trained["model"], trained["fasta"], "-o", out, *kmers)
    if kind in LABELLER_ONLY:  # a classifier is refused in one line, and nothing is written
        assert code != 0 and "needs a labeller" in err and len(err.strip().splitlines()) == 1
        assert not out.exists()
        return
    assert code == 0, err
    assert stdout == ""
    df = pd.read_csv(out)
    assert list(df.columns)[: len(MIN_COLUMNS[kind])] == MIN_COLUMNS[kind]
    assert err.startswith(kind)  # the summary goes to standard error
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind
    if kind not in ("motifs",):
        assert len(df) > 0
    if kind in METHODS:
        assert (df["method"] == kind).all() and df["score"].notna().all()
        assert err.startswith(f"{kind} ({METHODS[kind].label}): ")


def test_saliency_has_one_row_per_position(trained, tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert run(capsys, "saliency", trained["model"], trained["fasta"], "-o", out)[0] == 0
    df = pd.read_csv(out)
    assert len(df) == sum(len(s) for _, s, _ in SEQS)
    for ident, seq, _ in SEQS:
        sub = df[df["id"] == ident]
        assert sub["position"].tolist() == list(range(1, len(seq) + 1))
        assert "".join(sub["letter"]) == seq
    assert set(df["target"]) <= set(trained["classes"])
    assert df["score"].notna().all()


def test_gates_csv_has_lstm_gate_names(trained, tmp_path, capsys):
    out = tmp_path / "g.csv"
    assert run(capsys, "gates", trained["model"], trained["fasta"], "-o", out)[0] == 0
    df = pd.read_csv(out)
    assert {"input", "forget", "candidate", "output"} <= set(df["gate"])
    assert set(df["gate"]) == {"input", "forget", "candidate", "output", "cell", "hidden"}
    assert set(df["direction"]) == {"forward", "reverse"}
    steps = math.ceil(20 / trained["cfg"].conv_pool)
    assert len(df) == len(SEQS) * 2 * steps * trained["cfg"].hidden * 6
    assert sorted(df["position"].unique()) == list(range(1, 20, 2))
    assert not df.duplicated(["id", "layer", "direction", "position", "unit", "gate"]).any()
    sig = df[df["gate"].isin(["input", "forget", "output"])]["value"]
    assert sig.between(0, 1).all()


def test_gradients_csv_distances(trained, tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert run(capsys, "gradients", trained["model"], trained["fasta"], "-o", out)[0] == 0
    df = pd.read_csv(out)
    steps = math.ceil(20 / trained["cfg"].conv_pool)
    assert len(df) == len(SEQS) * 2 * steps
    fwd = df[df["direction"] == "forward"]
    rev = df[df["direction"] == "reverse"]
    assert (fwd[fwd["step"] == steps]["distance"] == 0).all()
    assert (rev[rev["step"] == 1]["distance"] == 0).all()
    assert (df["grad_norm"] >= 0).all()


def test_mutations_rows(trained, tmp_path, capsys):
    out = tmp_path / "i.csv"
    assert run(capsys, "mutations", trained["model"], trained["fasta"], "-o", out, "--max-records", 2)[0] == 0
    df = pd.read_csv(out)
    assert len(df) == 2 * 20 * 3
    assert list(dict.fromkeys(df["id"])) == ["seq1", "seq2"]


def test_ism_scores_are_the_mutations_averaged_per_position(trained, tmp_path, capsys):
    args = (trained["model"], trained["fasta"], "--max-records", 2, "-o")
    assert run(capsys, "mutations", *args, tmp_path / "m.csv")[0] == 0
    assert run(capsys, "ism", *args, tmp_path / "i.csv")[0] == 0
    table, scores = pd.read_csv(tmp_path / "m.csv"), pd.read_csv(tmp_path / "i.csv")
    mean_drop = -table.groupby(["id", "position"], sort=False)["delta"].mean()
    assert scores["score"].to_numpy() == pytest.approx(mean_drop.to_numpy(), rel=1e-4, abs=1e-5)


def test_method_options_reach_the_method(trained, tmp_path, capsys):
    args = (trained["model"], trained["fasta"], "--max-records", 2, "-o")
    assert run(capsys, "occlusion", *args, tmp_path / "w1.csv")[0] == 0
    assert run(capsys, "occlusion", *args, tmp_path / "w5.csv", "--window", 5)[0] == 0
    assert run(capsys, "occlusion", *args, tmp_path / "w5b.csv", "--window", 5)[0] == 0
    w1, w5, w5b = (pd.read_csv(tmp_path / f"{n}.csv")["score"] for n in ("w1", "w5", "w5b"))
    assert not (abs(w1 - w5) < 1e-9).all() and (w5 == w5b).all()
    code, _, err = run(capsys, "occlusion", *args, tmp_path / "bad.csv", "--baseline", "random")
    assert code != 0 and "occlusion: option baseline must be one of zero, uniform" in err
    assert not (tmp_path / "bad.csv").exists()


def test_motifs_take_a_method(trained, tmp_path, capsys):
    out = tmp_path / "m.csv"
    code, _, err = run(capsys, "motifs", trained["model"], trained["fasta"], "-o", out, "--method", "deeplift",
                       "--k", 4, "--kmers")
    assert code == 0 and err.startswith("motifs (deeplift)")
    assert list(pd.read_csv(out).columns) == MIN_COLUMNS["motifs"]
    with pytest.raises(SystemExit):
        main(["inspect", "motifs", trained["model"], trained["fasta"], "--method", "colour"])


def test_named_motifs_on_records_too_short_are_one_line(trained, tmp_path, capsys):
    out = tmp_path / "m.csv"
    code, _, err = run(capsys, "motifs", trained["model"], trained["fasta"], "-o", out)
    assert code == 2 and err.strip() == ("bioseq: error: TF-MoDISco needs records of at least 21 letters (its window "
                                         "and flanks); the longest here has 20")
    assert not out.exists()


def test_named_motifs_write_json_and_meme(trained, tmp_path, capsys, monkeypatch):
    from memelite.io import read_meme
    from test_named_motifs import _fos_jun

    from bioseq.interpret import named_motifs

    monkeypatch.setattr(named_motifs, "discover", lambda onehots, hyps, max_seqlets: ([_fos_jun()], 0.5))
    out, meme = tmp_path / "m.json", tmp_path / "m.meme"
    longer = write_fasta(tmp_path / "longer.fa", motif_dna(4, length=30, seed=2))  # TF-MoDISco needs 21 letters
    code, _, err = run(capsys, "motifs", trained["model"], longer, "-o", out, "--json", "--meme-out", meme,
                       "--class", "motif")
    assert code == 0, err
    assert err.startswith("motifs (saliency): TF-MoDISco found 1 in 0.5 s; best matches in JASPAR2026 CORE "
                          "vertebrates:\n  motif pos_1 (+) ")
    (row,) = json.loads(out.read_text())
    assert row["match_name"] == "FOS::JUN" and row["positions"] == [10, 20, 30, 40] and len(row["ppm"]) == row["width"]
    assert list(read_meme(str(meme))) == [f"motif_pos_1_{row['match_id']}_FOS::JUN"]
    code, _, err = run(capsys, "motifs", trained["model"], trained["fasta"], "--kmers", "--meme-out", meme)
    assert code == 2 and "--meme-out needs the motifs of a DNA/RNA model" in err


def test_named_motifs_say_what_they_ignore_and_what_failed(trained, tmp_path, capsys, monkeypatch):
    """--k is the k-mer length: a DNA model's named motifs say on stderr that they ignore it; --top keeps that
    many motifs per class; a class where TF-MoDISco failed while another found motifs is named on stderr; the
    CSV and the MEME file are the bytes the dashboard's downloads give."""
    from test_named_motifs import _fos_jun

    from bioseq.app.downloads import table_csv
    from bioseq.interpret import named_motifs
    from bioseq.interpret.modisco import NoMotifs, Pattern

    other = Pattern("pos_2", "+", np.full((6, 4), 0.25), np.zeros((6, 4)), 3, 2, [5, 6, 7])
    tables = []

    def discover(onehots, hyps, max_seqlets):
        if len(onehots) == 1:
            raise NoMotifs("TF-MoDISco failed on 1 records (ValueError: degenerate)")
        return [_fos_jun(), other], 0.5

    monkeypatch.setattr(named_motifs, "discover", discover)
    monkeypatch.setattr(named_motifs, "resolve_targets", lambda bundle, arrays, target: np.array([0] * 3 + [1]))
    real = named_motifs.named_motifs
    monkeypatch.setattr(named_motifs, "named_motifs", lambda *a, **k: tables.append(real(*a, **k)) or tables[-1])
    longer = write_fasta(tmp_path / "longer.fa", motif_dna(4, length=30, seed=2))
    out, meme = tmp_path / "m.csv", tmp_path / "m.meme"
    code, _, err = run(capsys, "motifs", trained["model"], longer, "-o", out, "--meme-out", meme, "--k", 4,
                       "--top", 1)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0] == ("motifs: --k 4 ignored: it is the k-mer length of --kmers; TF-MoDISco sizes the named "
                        "motifs")
    first = trained["classes"][0]
    assert lines[-1] == (f"  no motif for class {trained['classes'][1]}: TF-MoDISco failed on 1 records (ValueError: "
                         "degenerate)")
    table = pd.read_csv(out)
    assert table["target"].tolist() == [first] and table["motif"].tolist() == ["pos_1"]  # --top 1
    assert out.read_bytes() == table_csv(tables[-1]) and meme.read_bytes() == named_motifs.meme_bytes(tables[-1])
    code, _, err = run(capsys, "motifs", trained["model"], trained["fasta"], "--kmers", "--k", 3, "--top", 2,
                       "-o", tmp_path / "k.csv")
    assert code == 0 and "ignored" not in err
    assert pd.read_csv(tmp_path / "k.csv").groupby("target").size().max() <= 2


def test_memory_csv(trained, tmp_path, capsys):
    out = tmp_path / "m.csv"
    code, _, err = run(capsys, "memory", trained["model"], trained["fasta"], "-o", out)
    assert code == 0
    df = pd.read_csv(out)
    for _, g in df.groupby("direction"):  # one curve per direction of the bidirectional model
        assert g["distance"].tolist() == list(range(20))
        assert (g["sequences"] == len(SEQS)).all()
    assert set(df["direction"]) == {"forward", "reverse"}
    assert 0 < df["relative"].max() <= 1.0
    assert "effective_memory" not in err and "distance" in err


@pytest.mark.parametrize("kind", [*METHODS, "mutations", "memory", "gradients", "gate-saliency"])
def test_class_option_sets_the_target(trained, tmp_path, capsys, kind):
    classes = trained["classes"]
    out = tmp_path / "pred.csv"
    assert run(capsys, "saliency", trained["model"], trained["fasta"], "-o", out)[0] == 0
    predicted = pd.read_csv(out)
    for cls in classes:
        out = tmp_path / f"{kind}-{cls}.csv"
        code, _, err = run(capsys, kind, trained["model"], trained["fasta"], "-o", out, "--class", cls,
                           "--steps", 4, "--samples", 4)
        assert code == 0, err
        df = pd.read_csv(out)
        if "target" in df.columns:
            assert (df["target"] == cls).all()
    # explaining the other class changes the answer for at least one sequence
    if kind == "saliency":
        first = predicted.groupby("id")["target"].first()
        ident = first.index[0]
        other = next(c for c in classes if c != first[ident])
        chosen = pd.read_csv(tmp_path / f"saliency-{other}.csv")
        a = predicted[predicted["id"] == ident]["score"].to_numpy()
        b = chosen[chosen["id"] == ident]["score"].to_numpy()
        assert not (abs(a - b) < 1e-9).all()


def test_standard_output_when_no_file_is_given(trained, capsys):
    code, stdout, _ = run(capsys, "memory", trained["model"], trained["fasta"])
    assert code == 0
    assert stdout.splitlines()[0] == "direction,distance,influence,relative,sequences"


@pytest.mark.parametrize("kind", KINDS)
def test_bad_class_is_one_line_and_no_file(trained, tmp_path, capsys, kind):
    out = tmp_path / "bad.csv"
    code, stdout, err = run(capsys, kind, trained["model"], trained["fasta"], "-o", out, "--class", "nosuch")
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert "unknown class 'nosuch'" in err
    assert not out.exists() and stdout == ""


@pytest.mark.parametrize("problem", ["missing", "protein", "empty", "not fasta"])
def test_bad_file_is_one_line_and_no_file(trained, tmp_path, capsys, problem):
    bad = tmp_path / "bad.fa"
    if problem == "protein":
        bad.write_text(">p1\nMKWVTFISLLLLFSSAYSRGVFRRDTHKSEIAHRFKDLGE\n")
    elif problem == "empty":
        bad.write_text("")
    elif problem == "not fasta":
        bad.write_text("ACGTACGT\n>late header\nACGT\n")
    out = tmp_path / "out.csv"
    code, stdout, err = run(capsys, "saliency", trained["model"], bad, "-o", out)
    assert code != 0
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("bioseq: error:") and str(bad) in err
    assert not out.exists() and stdout == ""


def test_bad_model_is_one_line(tmp_path, capsys, trained):
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "saliency", tmp_path / "nope.safetensors", trained["fasta"], "-o", out)
    assert code != 0 and len(err.strip().splitlines()) == 1 and not out.exists()


def test_unknown_kind_is_a_usage_error(trained, capsys):
    with pytest.raises(SystemExit) as e:
        main(["inspect", "colour", trained["model"], trained["fasta"]])
    assert e.value.code == 2


def test_existing_output_survives_a_failure(trained, tmp_path, capsys):
    out = tmp_path / "keep.csv"
    out.write_text("old\n")
    code, _, _ = run(capsys, "saliency", trained["model"], trained["fasta"], "-o", out, "--class", "nosuch")
    assert code != 0 and Path(out).read_text() == "old\n"


@pytest.mark.parametrize("kind", ["ism", "mutations"])
def test_ism_limit_counts_the_letters_the_model_sees(trained, tmp_path, capsys, monkeypatch, kind):
    from bioseq.interpret import attribution
    from bioseq.interpret import ism as interpret
    from bioseq.model.store import load_model, save_model

    monkeypatch.setattr(interpret, "ISM_MAX_LENGTH", 15)  # the table's limit, and the method entry's below
    monkeypatch.setattr(attribution, "METHODS", MappingProxyType(
        {**attribution.METHODS, "ism": replace(attribution.METHODS["ism"], max_length=15)}))
    out = tmp_path / "i.csv"
    code, _, err = run(capsys, kind, trained["model"], trained["fasta"], "-o", out)
    assert code != 0 and "longer than the limit of 15" in err and not out.exists()
    bundle = load_model(trained["model"])
    bundle.max_length = 15  # the model itself cuts every record to 15 letters
    cut = save_model(tmp_path / "cut.safetensors", bundle)
    code, _, err = run(capsys, kind, cut, trained["fasta"], "-o", out)
    assert code == 0, err
    assert len(pd.read_csv(out)) == len(SEQS) * 15 * (3 if kind == "mutations" else 1)


# ---------- a labeller ----------

@pytest.fixture(scope="module")
def labeller(tmp_path_factory) -> dict:
    """The tiny model (a bidirectional LSTM) as a transmembrane labeller, trained for one epoch; a three-line FASTA."""
    from bioseq.data.synthetic import transmembrane_protein, write_three_line

    root = tmp_path_factory.mktemp("inspect_label")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSEQ_HOME", str(root / "home"))
        train_file = write_three_line(root / "train.fa", transmembrane_protein(16, min_len=24, max_len=30, seed=1))
        r = fit(DataOptions([str(train_file)]), TINY, TrainConfig(**TINY_TRAIN), out=root / "tm.safetensors",
                log_dir=root / "run")
    three = write_three_line(root / "inspect.fa", transmembrane_protein(3, min_len=12, max_len=16, seed=7))
    return {"model": str(r.path), "three": str(three), "lengths": [len(s) for _, s, _ in
                                                                     transmembrane_protein(3, 12, 16, seed=7)]}


@pytest.mark.parametrize("kind,extra,columns", [
    ("saliency", ["--position", "5"], [*ATTRIBUTION, "at"]),
    ("ig", ["--position", "5", "--steps", "4"], [*ATTRIBUTION, "at"]),
    ("mutations", ["--position", "5"], MIN_COLUMNS["mutations"]),
    ("gradients", [], ["id", "layer", "direction", "t", "s", "distance", "grad_norm"]),
    ("memory", [], MIN_COLUMNS["memory"]),
    ("window", [], MIN_COLUMNS["window"]),
    ("gates", [], MIN_COLUMNS["gates"]),
    ("gate-saliency", ["--position", "5"], [*MIN_COLUMNS["gate-saliency"], "at"]),
])
def test_a_labeller_is_inspected_per_position(labeller, tmp_path, capsys, kind, extra, columns):
    out = tmp_path / f"{kind}.csv"
    code, _, err = run(capsys, kind, labeller["model"], labeller["three"], "-o", out, *extra)
    assert code == 0, err
    df = pd.read_csv(out)
    assert list(df.columns) == columns and len(df) > 0
    if "at" in columns:
        assert (df["at"] == 5).all()
    if kind in METHODS:
        assert len(df) == sum(labeller["lengths"])
    if kind == "gradients":
        n = labeller["lengths"]
        assert len(df) == 2 * sum(k * k for k in n)  # two directions, every (t, s) of each record
        assert "back" in err and "ahead" in err
    if kind == "memory":
        assert set(df["direction"]) == {"past", "future"}
    if kind == "window":
        assert set(df["mass"]) == {0.9, 0.99} and "receptive field" in err


def test_a_labeller_needs_a_position_to_explain(labeller, tmp_path, capsys):
    out = tmp_path / "s.csv"
    code, _, err = run(capsys, "saliency", labeller["model"], labeller["three"], "-o", out)
    assert code != 0 and "choose the position to explain" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "saliency", labeller["model"], labeller["three"], "-o", out, "--position", "99")
    assert code != 0 and "position 99 is past the end of the sequence" in err and not out.exists()
