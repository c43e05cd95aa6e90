"""Model files (safetensors + JSON metadata, never pickle) and the workspace registry."""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import bioseq.workspace as ws
from bioseq.data.alphabets import DNA, PROTEIN
from bioseq.data.encoding import encode
from bioseq.errors import InputError, ModelFileError
from bioseq.model import store
from bioseq.model.card import describe_config
from bioseq.model.store import (
    ModelBundle,
    delete_model,
    list_models,
    load_model,
    model_path,
    read_meta,
    resolve,
    save_model,
)
from bioseq.prediction.predict import predict_arrays
from bioseq.workspace import check_name, workspace

SEQS = ["ACGTACGTAA", "GGG", "ACGTNNRYACGTTTGACTCA", "T"]


def header(path) -> dict:
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])


def rewrite_meta(src, dst, **changes):
    """Copy a model file, changing top-level metadata entries (``None`` deletes one)."""
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()["bioseq"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for k, v in changes.items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    save_file(tensors, str(dst), metadata={"bioseq": json.dumps(meta)})
    return dst


@pytest.fixture
def saved(tmp_path, dna_bundle):
    dna_bundle.max_length, dna_bundle.length_policy = 50, "centre"
    dna_bundle.meta = {"training": {"val_metrics": {"accuracy": 0.75}}, "seed": 3}
    return save_model(tmp_path / "m.safetensors", dna_bundle)


def probs(bundle):
    return predict_arrays(bundle, [encode(s, bundle.alphabet) for s in SEQS])


def test_round_trip(saved, dna_bundle):
    loaded = load_model(saved)
    assert loaded.classes == ["background", "motif"] and loaded.alphabet == DNA
    assert (loaded.max_length, loaded.length_policy) == (50, "centre")
    assert loaded.model.cfg == dna_bundle.model.cfg and not loaded.model.training
    assert loaded.name == "m" and loaded.path == str(saved)
    assert loaded.meta["seed"] == 3 and loaded.meta["training"]["val_metrics"]["accuracy"] == 0.75
    assert loaded.meta["versions"]["torch"] == torch.__version__
    np.testing.assert_array_equal(probs(loaded), probs(dna_bundle))


def test_the_file_is_safetensors_with_a_json_header(saved):
    head = header(saved)
    meta = json.loads(head["__metadata__"]["bioseq"])
    assert meta["format"] == "bioseq-model" and meta["format_version"] == 1  # a classifier: version 1
    assert meta["task"] == "classify" and "task" not in meta["config"] and "labelling" not in meta
    assert meta["classes"] == ["background", "motif"] and meta["alphabet"]["letters"] == "ACGT"
    assert meta["alphabet"]["rule"].startswith("IUPAC") and meta["length"] == {"max_length": 50, "policy": "centre"}
    assert set(head) - {"__metadata__"} == set(load_model(saved).model.state_dict())
    assert not saved.read_bytes().startswith(b"PK")  # not a torch.save zip archive


def test_loading_never_unpickles(saved, monkeypatch, dna_bundle):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    class NoUnpickler:
        def __init__(self, *args, **kwargs):
            refuse()

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", NoUnpickler)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_model(saved)
    np.testing.assert_array_equal(probs(loaded), probs(dna_bundle))


@pytest.mark.slow
def test_same_predictions_in_a_fresh_process(saved, dna_bundle):
    script = (
        "import json, sys, torch\n"
        "torch.set_num_threads(1)\n"
        "from bioseq.model.store import load_model\n"
        "from bioseq.data.encoding import encode\n"
        "from bioseq.prediction.predict import predict_arrays\n"
        "b = load_model(sys.argv[1])\n"
        f"p = predict_arrays(b, [encode(s, b.alphabet) for s in {SEQS!r}])\n"
        "print(json.dumps(p.tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(saved)], capture_output=True, text=True, timeout=120,
                         check=True)
    fresh = np.array(json.loads(out.stdout), dtype=np.float32)
    np.testing.assert_array_equal(fresh, probs(dna_bundle))


def test_refuses_files_that_are_not_models(tmp_path, saved, dna_bundle):
    rng = np.random.default_rng(0)
    random_bytes = tmp_path / "random.safetensors"
    random_bytes.write_bytes(rng.bytes(4096))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(saved.read_bytes()[:-100])
    pickled = tmp_path / "pickled.safetensors"
    torch.save(dna_bundle.model.state_dict(), pickled)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    for path, why in [(random_bytes, "not a readable safetensors"), (truncated, "not a readable safetensors"),
                      (pickled, "not a readable safetensors"), (plain, "no bioseq metadata"),
                      (tmp_path / "missing.safetensors", "no such model file"), (tmp_path, "is not a file")]:
        with pytest.raises(ModelFileError, match=why) as e:
            load_model(path)
        assert str(e.value).startswith(str(path))


def test_refuses_a_newer_format_version(tmp_path, saved):
    newer = rewrite_meta(saved, tmp_path / "newer.safetensors", format_version=store.FORMAT_VERSION + 1)
    with pytest.raises(ModelFileError, match="format version 4 is newer than this bioseq understands"):
        load_model(newer)
    with pytest.raises(ModelFileError, match="format is 'other'"):
        load_model(rewrite_meta(saved, tmp_path / "other.safetensors", format="other"))


def test_refuses_metadata_that_disagrees_with_the_weights(tmp_path, saved):
    meta = read_meta(saved)
    cases = {
        "hidden.safetensors": {"config": {**meta["config"], "hidden": meta["config"]["hidden"] + 1}},
        "cell.safetensors": {"config": {**meta["config"], "cell": "gru"}},
        "classes.safetensors": {"classes": ["a", "b", "c"]},
        "alphabet.safetensors": {"alphabet": PROTEIN.to_dict()},
    }
    for name, change in cases.items():
        with pytest.raises(ModelFileError, match="metadata disagrees with weights"):
            load_model(rewrite_meta(saved, tmp_path / name, **change))
    bad = rewrite_meta(saved, tmp_path / "badconfig.safetensors", config={**meta["config"], "pooling": "sum"})
    with pytest.raises(ModelFileError, match=r"unknown config\.pooling 'sum'; choose one of last, mean, max, "):
        load_model(bad)
    missing_tensor = tmp_path / "missing.safetensors"
    with safe_open(str(saved), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys() if k != "head.bias"}
        save_file(tensors, str(missing_tensor), metadata=f.metadata())
    with pytest.raises(ModelFileError, match="metadata disagrees with weights"):
        load_model(missing_tensor)


def test_refuses_metadata_that_is_not_json(tmp_path, saved):
    path = tmp_path / "notjson.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"bioseq": "{not json"})
    with pytest.raises(ModelFileError, match="metadata is not valid JSON"):
        load_model(path)


def test_registry_lists_resolves_and_deletes(bioseq_home, dna_bundle, protein_bundle):
    assert workspace() == bioseq_home and list_models() == []
    dna_bundle.meta = {"created": "2024-01-01T00:00:00+00:00"}
    save_model(model_path("first"), dna_bundle)
    protein_bundle.meta = {"created": "2025-01-01T00:00:00+00:00", "training": {"val_metrics": {"accuracy": 0.5}}}
    save_model(model_path("second"), protein_bundle)
    (bioseq_home / "models" / "broken.safetensors").write_bytes(b"not a model")
    rows = list_models()
    assert [r["name"] for r in rows] == ["second", "first", "broken"]  # newest first, damaged last
    assert rows[0]["alphabet"] == "protein" and rows[0]["val_accuracy"] == 0.5
    assert rows[1]["classes"] == ["background", "motif"] and rows[1]["val_accuracy"] is None
    assert rows[1]["architecture"] == "conv8/3 pool2 -> 1x BiLSTM 8 -> max"
    assert "error" in rows[2] and "not a readable safetensors" in rows[2]["error"]

    assert resolve("first") == bioseq_home / "models" / "first.safetensors"
    assert resolve("first.safetensors") == resolve("first")
    assert resolve(str(resolve("second"))) == resolve("second")  # a path works too
    with pytest.raises(ModelFileError, match=f"no such model file or registry name.*{bioseq_home}"):
        resolve("third")
    delete_model("first")
    assert [r["name"] for r in list_models()] == ["second", "broken"]
    with pytest.raises(ModelFileError, match="no such model in the registry"):
        delete_model("first")


def test_check_name():
    assert check_name("lstm-dna_1.v2") == "lstm-dna_1.v2"
    for bad in ["", "../escape", "a/b", "-dash-first", "x" * 101, "with space"]:
        with pytest.raises(ModelFileError, match="invalid model name"):
            check_name(bad)


def test_workspace_defaults_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("BIOSEQ_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert workspace() == tmp_path / ".bioseq"
    assert ws.models_dir() == tmp_path / ".bioseq" / "models"


def test_saves_are_atomic(bioseq_home, dna_bundle, protein_bundle, monkeypatch):
    path = save_model(model_path("m"), dna_bundle)
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors"]
    before = path.read_bytes()

    def broken_save(tensors, filename, metadata=None):
        open(filename, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(store, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, protein_bundle)
    assert path.read_bytes() == before  # the old model is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors"]  # no temporary file left


def test_describe_config():
    cfg = {"cell": "lstm", "conv": True, "conv_filters": 64, "conv_width": 9, "conv_pool": 2, "layers": 2,
           "bidirectional": True, "hidden": 64, "norm": "batch", "skip": True, "pooling": "max"}
    assert describe_config(cfg) == "conv64/9 pool2 -> 2x BiLSTM 64 [batch, skip] -> max"
    cfg.update(cell="rnn", activation="relu", conv=False, bidirectional=False, norm="none", skip=False,
               pooling="last", layers=1)
    assert describe_config(cfg) == "1x RNN-relu 64 -> last"


def test_bundle_name_falls_back_to_the_file_name():
    assert ModelBundle(None, DNA, ["a", "b"], path="/x/y/cnn.safetensors").name == "cnn"  # type: ignore[arg-type]


# ---------- rename, delete and register, atomic, never over a taken name, never while being trained ----------

def test_rename_model_renames_the_file_and_the_name_inside_it(dna_bundle):
    save_model(model_path("old"), dna_bundle)
    before = load_model(model_path("old")).model.state_dict()
    assert store.rename_model("old", "new") == model_path("new")
    assert not model_path("old").exists() and read_meta(model_path("new"))["name"] == "new"
    assert [r["name"] for r in list_models()] == ["new"]
    after = load_model(model_path("new")).model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the same weights
    with pytest.raises(ModelFileError, match="^old: no such model in the registry$"):
        store.rename_model("old", "other")
    with pytest.raises(ModelFileError, match="invalid model name"):
        store.rename_model("new", "../escape")


def test_rename_model_refuses_a_taken_name_unless_overwrite(dna_bundle, protein_bundle):
    save_model(model_path("a"), dna_bundle)
    save_model(model_path("b"), protein_bundle)
    b_bytes = model_path("b").read_bytes()
    with pytest.raises(ModelFileError, match="^b: a model called 'b' is already in the registry; choose another name$"):
        store.rename_model("a", "b")
    assert model_path("a").is_file() and model_path("b").read_bytes() == b_bytes  # nothing changed
    store.rename_model("a", "b", overwrite=True)
    assert not model_path("a").exists() and read_meta(model_path("b"))["alphabet"]["name"] == "dna"


def test_a_model_being_trained_is_neither_renamed_nor_deleted(dna_bundle):
    from bioseq.training.claims import claim
    from bioseq.workspace import runs_dir

    save_model(model_path("busy"), dna_bundle)
    save_model(model_path("other"), dna_bundle)
    with claim("busy", runs_dir() / "busy", model_path("busy"), overwrite=True):  # as a training run holds it
        with pytest.raises(InputError, match=f"^'busy' is being trained right now \\(process {os.getpid()}\\)"):
            delete_model("busy")
        with pytest.raises(InputError, match="'busy' is being trained right now"):
            store.rename_model("busy", "free")
        with pytest.raises(InputError, match="'busy' is being trained right now"):
            store.rename_model("other", "busy", overwrite=True)
    assert model_path("busy").is_file() and model_path("other").is_file() and not model_path("free").exists()
    assert not (runs_dir() / "free").exists()  # the lock folders made for the rename are gone
    delete_model("busy")  # the run is over: now it can go
    assert not model_path("busy").exists()
