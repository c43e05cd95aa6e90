"""Hostile and damaged model files: refused by ``load_model`` and ``bioseq predict``; no code from them runs."""

from __future__ import annotations

import builtins
import json
import pickle
import random
import struct
from pathlib import Path

import pytest
import torch
from _robust import assert_one_line_error, bounded, run_cli, tiny_models
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from bioseq.cli import commands as cli
from bioseq.errors import ModelFileError
from bioseq.model.store import list_models, load_model
from bioseq.workspace import models_dir


class Payload:
    """Unpickling this creates ``marker`` (an ``open(marker, "w")`` call): proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    return tiny_models(tmp_path_factory)


@pytest.fixture
def fasta(tmp_path) -> Path:
    path = tmp_path / "in.fa"
    path.write_text(">a\nACGTTGCAAGGCTTACGATC\n>b\nGGGTTTAAACCCGGGTTTAA\n")
    return path


def rewrite(src: Path, dst: Path, change=None, *, metadata: dict | None = None, tensors=None) -> Path:
    """Copy a model file, changing its metadata (``change(meta)`` in place) or its tensors."""
    weights = load_file(src)
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()["bioseq"])
    if change:
        change(meta)
    if tensors:
        tensors(weights)
    save_file(weights, dst, metadata=metadata if metadata is not None else {"bioseq": json.dumps(meta)})
    return dst


def assert_refused(path: Path, fasta: Path, capsys, *words: str) -> None:
    """Refused by the library and by ``bioseq predict`` (in process: one stderr line naming the file)."""
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    assert str(path) in str(err.value)
    for w in words:
        assert w in str(err.value)
    capsys.readouterr()
    out = path.parent / "out.csv"
    rc = cli.main(["predict", str(path), str(fasta), "-o", str(out)])
    captured = capsys.readouterr()
    assert rc != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()


def _set(key, value):
    def change(meta):
        meta[key] = value
    return change


def _set_config(key, value):
    def change(meta):
        meta["config"][key] = value
    return change


def _drop_first_tensor(weights):
    weights.pop(sorted(weights)[0])


def _reshape_first_tensor(weights):
    name = sorted(weights)[0]
    weights[name] = torch.zeros(weights[name].numel() + 1)


def _extra_tensor(weights):
    weights["extra.weight"] = torch.zeros(3)


def _three_classes(meta):
    meta["classes"] = ["a", "b", "c"]


def _protein_alphabet(meta):
    meta["alphabet"] = {"name": "protein", "letters": "ACDEFGHIKLMNPQRSTVWY", "ambiguity": {}}


METADATA_CASES = {
    "newer-format-version": (_set("format_version", 4), None, ("newer", "upgrade")),
    "format-version-not-int": (_set("format_version", "1"), None, ()),
    "other-format": (_set("format", "not-bioseq"), None, ("not a bioseq model",)),
    "hidden-size-changed": (_set_config("hidden", 16), None, ("disagree",)),
    "layers-changed": (_set_config("layers", 2), None, ("disagree",)),
    "cell-changed": (_set_config("cell", "gru"), None, ("disagree",)),
    "unknown-config-key": (_set_config("evil", 1), None, ()),
    "config-missing": (lambda m: m.pop("config"), None, ()),
    "three-classes-two-outputs": (_three_classes, None, ("disagree",)),
    "protein-alphabet-dna-weights": (_protein_alphabet, None, ("disagree",)),
    "weight-missing": (None, _drop_first_tensor, ("disagree",)),
    "weight-wrong-shape": (None, _reshape_first_tensor, ("disagree",)),
    "extra-weight": (None, _extra_tensor, ("disagree",)),
}


@pytest.mark.parametrize("case", list(METADATA_CASES))
def test_inconsistent_model_is_refused(case, models, fasta, tmp_path, capsys):
    change, tensors, words = METADATA_CASES[case]
    path = rewrite(models["dna"], tmp_path / "model.safetensors", change, tensors=tensors)
    assert_refused(path, fasta, capsys, *words)


@pytest.mark.parametrize("metadata", [{}, {"other": "x"}, {"bioseq": "{not json"}, {"bioseq": "[1, 2]"},
                                      {"bioseq": "null"}],
                         ids=["no-metadata", "no-bioseq-key", "not-json", "json-list", "json-null"])
def test_safetensors_without_usable_bioseq_metadata_is_refused(metadata, models, fasta, tmp_path, capsys):
    path = rewrite(models["dna"], tmp_path / "model.safetensors", metadata=metadata)
    assert_refused(path, fasta, capsys, "model file")


def test_the_untouched_model_loads(models, fasta, tmp_path, capsys):
    """The control: a faithful copy passes, so the refusals above are about the changes."""
    path = rewrite(models["dna"], tmp_path / "model.safetensors")
    assert load_model(path).classes == ["background", "motif"]
    assert cli.main(["predict", str(path), str(fasta), "-o", str(tmp_path / "out.csv")]) == 0
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3


def _random_bytes(src: Path) -> bytes:
    return random.Random(0).randbytes(4096)


DAMAGED = {
    "random-bytes": _random_bytes,
    "empty-file": lambda src: b"",
    "truncated-half": lambda src: src.read_bytes()[: src.stat().st_size // 2],
    "truncated-in-header": lambda src: src.read_bytes()[:40],
    "truncated-last-byte": lambda src: src.read_bytes()[:-1],
    "huge-header-length": lambda src: struct.pack("<Q", 2**62) + b"{}",
    "json-not-safetensors": lambda src: json.dumps({"format": "bioseq-model"}).encode(),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_model_file_is_refused(case, models, fasta, tmp_path, capsys):
    path = tmp_path / "model.safetensors"
    path.write_bytes(DAMAGED[case](models["dna"]))
    assert_refused(path, fasta, capsys, "model file")


def pickles(marker: Path) -> dict[str, bytes]:
    """Pickled payloads: plain pickle protocols and a ``torch.save`` archive."""
    out = {f"pickle-protocol-{p}": pickle.dumps(Payload(marker), protocol=p) for p in (2, 5)}
    torch_file = marker.parent / "payload.pt"
    torch.save({"state_dict": Payload(marker)}, torch_file)
    out["torch-save"] = torch_file.read_bytes()
    torch_file.unlink()
    return out


def test_the_pickle_payload_works_when_unpickled(tmp_path):
    """The control: unpickling really would run code, so the marker checks below can fail."""
    marker = tmp_path / "marker"
    for kind, payload in pickles(marker).items():
        if kind == "torch-save":
            (tmp_path / "payload.pt").write_bytes(payload)
            torch.load(tmp_path / "payload.pt", weights_only=False)
        else:
            pickle.loads(payload)
        assert marker.exists(), kind
        marker.unlink()


@pytest.mark.parametrize("name", ["model.safetensors", "model.pt"])
def test_pickled_model_is_refused_and_never_unpickled(name, fasta, tmp_path, capsys):
    marker = tmp_path / "marker"
    home = tmp_path / "home"
    for kind, payload in pickles(marker).items():
        path = tmp_path / kind / name
        path.parent.mkdir()
        path.write_bytes(payload)
        with pytest.raises(ModelFileError) as err:
            load_model(path)
        assert str(path) in str(err.value)
        assert_refused(path, fasta, capsys)
        assert not marker.exists(), f"{kind} as {name}: code from the model file ran"
        if kind == "torch-save":  # one real process too, for the path a user takes
            proc = run_cli("predict", path, fasta, "-o", tmp_path / "out.csv", home=home)
            assert_one_line_error(proc, str(path))
            assert not marker.exists() and not (tmp_path / "out.csv").exists()
    # in the registry, the listing marks it damaged without unpickling it
    models_dir().mkdir(parents=True)
    (models_dir() / "evil.safetensors").write_bytes(pickles(marker)["pickle-protocol-2"])
    (row,) = list_models()
    assert row["name"] == "evil" and "error" in row
    assert not marker.exists()


# --- every size and type in the metadata, hostile, field by field: refused in one line naming the file and the
# field, within a second of CPU time, with no large allocation (the README: "shapes are checked before any
# weights are allocated")

BAD_WHOLE_NUMBERS = {"huge": 10**12, "negative": -5, "zero": 0, "fraction": 2.5, "boolean": True, "string": "2",
                     "list": [2], "null": None}
SIZE_FIELDS = ("format_version", "config.layers", "config.hidden", "config.alphabet_size", "config.n_classes",
               "config.conv_filters", "config.conv_width", "config.conv_pool", "length.max_length",
               "training.profile.length_min", "training.profile.length_max", "ensemble.members.1.layers",
               "ensemble.members.1.hidden")
VALID = {("length.max_length", "null"), ("training.profile.length_min", "zero"),
         ("training.profile.length_max", "zero")}
CONFIG = {"alphabet_size": 4, "n_classes": 2, "hidden": 8, "conv_filters": 4, "conv_width": 3, "dropout": 0.0}
SHAPED_FIELDS = {  # fields whose size is their length: (field, variant) -> value (ensemble members: see below)
    ("alphabet.letters", "huge"): "ACGT" * 250_000, ("alphabet.letters", "zero"): "",
    ("alphabet.letters", "wrong type"): 4, ("alphabet.letters", "list"): list("ACGT"),
    ("classes", "huge"): [f"c{i}" for i in range(100_000)], ("classes", "zero"): [], ("classes", "one"): ["a"],
    ("classes", "wrong type"): "ab", ("classes", "numbers"): [0, 1],
    ("ensemble.members", "huge"): [{**CONFIG}] * 10_000, ("ensemble.members", "zero"): [],
    ("ensemble.members", "one"): [{**CONFIG}], ("ensemble.members", "wrong type"): "x",
}
MATRIX = {**{(f, v): value for f in SIZE_FIELDS for v, value in BAD_WHOLE_NUMBERS.items() if (f, v) not in VALID},
          **SHAPED_FIELDS}


@pytest.fixture(scope="module")
def ensemble_file(tmp_path_factory) -> Path:
    from bioseq.data.alphabets import DNA
    from bioseq.model.classifier import SequenceClassifier
    from bioseq.model.config import ModelConfig
    from bioseq.model.store import ModelBundle, combine, save_model

    bundles = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = SequenceClassifier(ModelConfig(**CONFIG)).eval()
        bundles.append(ModelBundle(model, DNA, ["a", "b"]))
    return save_model(tmp_path_factory.mktemp("ensemble") / "ens.safetensors", combine(bundles))


def _put(meta: dict, field: str, value) -> None:
    *path, leaf = field.split(".")
    for key in path:
        meta = meta[int(key)] if isinstance(meta, list) else meta[key]
    meta[leaf] = value


@pytest.mark.parametrize(("field", "variant"), list(MATRIX), ids=[f"{f}={v}" for f, v in MATRIX])
def test_hostile_size_or_type_is_refused_at_once(field, variant, models, ensemble_file, tmp_path, capsys):
    src = ensemble_file if field.startswith("ensemble") else models["dna"]
    path = rewrite(src, tmp_path / "model.safetensors", lambda meta: _put(meta, field, MATRIX[field, variant]))
    leaf = next(p for p in reversed(field.split(".")) if not p.isdigit())
    with bounded(cpu_seconds=1.0, memory_mib=100):
        with pytest.raises(ModelFileError) as err:
            load_model(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and len(message) < 300, message
    assert leaf in message or leaf.replace("_", " ") in message, message
    capsys.readouterr()
    with bounded(cpu_seconds=1.0, memory_mib=100):
        rc = cli.main(["info", str(path)])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == "" and captured.err.strip().splitlines() == [f"bioseq: error: {message}"]
