"""The bundled models (``bioseq/bundled/``, :mod:`bioseq.model.bundled`): they load and predict from the package
with no training, by name wherever a name is accepted, the same as when they were written (the expected
predictions in tests/fixtures/bundled, within PROB_TOL, as tests/test_legacy.py); they are listed as bundled,
read-only, their names reserved; their cards state the data, its source and licence, the split and the test
figures."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest
from conftest import TINY_TRAIN

import bioseq
from bioseq.cli import main
from bioseq.errors import ModelFileError
from bioseq.model import bundled
from bioseq.model.card import card_html
from bioseq.model.store import (
    delete_model,
    list_models,
    load_model,
    model_path,
    register_model,
    rename_model,
    resolve,
    save_model,
)
from bioseq.prediction.predict import predict_files

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "bundled"
NAMES = ["amp", "splice", "ss3"]
PROB_TOL = 1e-5
READ_ONLY = ("is a bundled model (it ships with bioseq): it cannot be renamed, deleted or overwritten, and no other "
             "model can take its name; choose another name")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_three_models_ship_inside_the_package_and_are_small():
    assert bundled.names() == NAMES
    assert bundled.BUNDLED_DIR == ROOT / "bioseq" / "bundled"
    for name in NAMES:
        assert bundled.path(name).stat().st_size < 4_000_000  # a few MB at most
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "bundled/*.safetensors" in package_data["bioseq"]  # an install includes them


@pytest.mark.parametrize("name", NAMES)
def test_bundled_model_predicts_as_when_it_was_written(name, tmp_path):
    bundle = bioseq.load(name)  # by name, no file path, no training
    assert bundle.name == name and Path(bundle.path) == bundled.path(name)
    out = tmp_path / "p.csv"
    predict_files(bundle, [FIXTURES / f"{name}.fa"], str(out))
    then, now = _rows(FIXTURES / f"{name}.predictions.csv"), _rows(out)
    assert len(now) == len(then) > 0
    assert [(r["id"], r.get("position")) for r in now] == [(r["id"], r.get("position")) for r in then]
    probs = [c for c in then[0] if c.startswith("p_")]
    assert probs
    for old, new in zip(then, now):
        for col in probs:
            assert abs(float(new[col]) - float(old[col])) <= PROB_TOL, (old["id"], col, old[col], new[col])
        top = sorted((float(old[c]) for c in probs), reverse=True)
        if top[0] - top[1] > PROB_TOL:
            assert new["prediction"] == old["prediction"], old["id"]


def test_what_each_model_tells_apart():
    amp, splice, ss3 = (load_model(bundled.path(n)) for n in NAMES)
    assert amp.task == "classify" and amp.classes == ["AMP", "DECOY"] and amp.alphabet.name == "protein"
    assert splice.task == "classify" and splice.classes == ["EI", "IE", "N"] and splice.alphabet.name == "dna"
    assert ss3.task == "label" and ss3.classes == ["C", "E", "H"] and ss3.alphabet.name == "protein"


@pytest.mark.parametrize("name", NAMES)
def test_card_states_data_source_licence_split_and_test_figures(name):
    meta = load_model(bundled.path(name)).meta
    card = meta["bundled"]
    assert {"data", "source", "licence", "split", "test", "published", "command"} <= set(card)
    lo, hi = card["test"]["wilson95"]
    assert 0.5 < lo < card["test"]["accuracy"] < hi < 1 and card["test"]["n"] > 700
    assert card["command"] == f"python -m bench.bundle {name}"
    rows = dict(bundled.card_rows(meta))
    assert list(rows) == ["bundled", "data", "data source", "data licence", "split", "test", "published",
                          "trained with"]
    assert rows["test"].startswith(f"accuracy {100 * card['test']['accuracy']:.1f}% (Wilson 95% CI "
                                   f"{100 * lo:.1f}-{100 * hi:.1f}%; {card['test']['n']:,} ")
    assert all(not str(f["path"]).startswith("/") for f in meta["training"]["files"])  # no training machine's path
    html = card_html(load_model(bundled.path(name)))
    assert "data licence" in html and "Wilson 95% CI" in html


def test_licences_are_those_of_the_sources():
    licence = {n: load_model(bundled.path(n)).meta["bundled"]["licence"] for n in NAMES}
    assert licence["amp"].startswith("GPL-3.0") and licence["splice"].startswith("CC BY 4.0")
    assert licence["ss3"].startswith("not stated")


def test_listed_as_bundled_after_the_workspace_models(dna_bundle, tmp_path):
    assert list_models() == []  # the registry alone, as before
    rows = list_models(include_bundled=True)
    assert [(r["name"], r["bundled"]) for r in rows] == [(n, True) for n in NAMES]
    save_model(tmp_path / "mine.safetensors", dna_bundle)
    register_model(tmp_path / "mine.safetensors", "mine")
    assert [(r["name"], r["bundled"]) for r in list_models(include_bundled=True)] == [
        ("mine", False), *((n, True) for n in NAMES)]


def test_read_only_and_names_reserved(dna_bundle, tmp_path):
    src = save_model(tmp_path / "mine.safetensors", dna_bundle)
    register_model(src, "mine")
    for attempt in (lambda: rename_model("amp", "other"), lambda: delete_model("ss3"),
                    lambda: register_model(src, "splice"), lambda: register_model(src, "amp", overwrite=True),
                    lambda: rename_model("mine", "amp"), lambda: rename_model("mine", "amp", overwrite=True),
                    lambda: model_path("ss3")):
        with pytest.raises(ModelFileError) as e:
            attempt()
        assert str(e.value).endswith(READ_ONLY)
    assert bundled.names() == NAMES and resolve("mine").is_file()


def test_training_cannot_take_a_bundled_name(dna_fasta, tiny, bioseq_home):
    with pytest.raises(ModelFileError, match="'amp' is a bundled model"):
        bioseq.train([str(dna_fasta)], name="amp", **tiny, **TINY_TRAIN)
    assert not (bioseq_home / "models").exists() and bundled.names() == NAMES


def test_a_workspace_file_with_a_bundled_name_is_marked_and_the_bundled_one_used(dna_bundle, bioseq_home):
    """A file saved under a bundled name before that name was bundled: the name means the bundled model."""
    (bioseq_home / "models").mkdir(parents=True)
    save_model(bioseq_home / "models" / "amp.safetensors", dna_bundle)
    assert resolve("amp") == bundled.path("amp")
    row = next(r for r in list_models(include_bundled=True) if not r["bundled"])
    assert row["name"] == "amp" and "has the name of a bundled model" in row["error"]


def test_cli_lists_and_uses_them(capsys, bioseq_home, tmp_path):
    assert main(["models"]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == f"no models in {bioseq_home}"
    lines = out.splitlines()[1:]
    assert [ln.split()[0] for ln in lines] == NAMES and all("bundled (read-only)" in ln for ln in lines)
    assert main(["models", "--json"]) == 0
    assert [(r["name"], r["bundled"]) for r in json.loads(capsys.readouterr().out)] == [(n, True) for n in NAMES]
    out_csv = tmp_path / "p.csv"
    assert main(["predict", "amp", str(FIXTURES / "amp.fa"), "-o", str(out_csv)]) == 0
    assert [r["id"] for r in _rows(out_csv)] == [r["id"] for r in _rows(FIXTURES / "amp.predictions.csv")]
    capsys.readouterr()
    assert main(["info", "splice"]) == 0
    info = capsys.readouterr().out
    assert "data licence:  CC BY 4.0" in info and "Wilson 95% CI" in info


def test_cli_refuses_rename_delete_train_and_tune_in_one_line(capsys, dna_fasta, bioseq_home):
    for args in (["models", "rename", "amp", "x"], ["models", "delete", "ss3", "--yes"],
                 ["train", str(dna_fasta), "--name", "splice", "--epochs", "1", "--quiet"],
                 ["tune", str(dna_fasta), "--name", "amp", "--budget", "5s"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.endswith(READ_ONLY)
    assert bundled.names() == NAMES and not (bioseq_home / "models").exists()
