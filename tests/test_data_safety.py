"""Lose nothing, hang never, let nothing in (the issue of that name): each helper's section below covers its
items. Lose nothing: no command replaces a user's file it was not asked to write. Let nothing in: a hostile
model file is refused in one line, at once, by every loader."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
import torch
from _robust import assert_one_line_error, bounded, run_cli
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import bioseq
from bioseq.app import uploads
from bioseq.cli import commands as cli
from bioseq.cli import main
from bioseq.errors import ModelFileError
from bioseq.model.store import load_model
from bioseq.workspace import uploads_dir

# --- outputs: an output that is an input, a link or a special file (items 1, 2) -----------------------


@pytest.fixture
def files(tmp_path, dna_bundle, dna_fasta):
    """A saved tiny model and a labelled FASTA, with their bytes as they were."""
    from bioseq.model.store import save_model

    model = save_model(tmp_path / "m.safetensors", dna_bundle)
    return {"model": model, "fasta": dna_fasta, "bytes": {p: p.read_bytes() for p in (model, dna_fasta)}}


def refused(capsys, argv: list, out, victim: Path | None = None) -> str:
    """Run ``argv``: exit 2, one line naming ``out`` as an input of the command, ``victim`` untouched."""
    before = victim.read_bytes() if victim else None
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"bioseq: error: {out}: is also an input of this command")
    if victim:
        assert victim.read_bytes() == before
    return err


COMMANDS = {"predict": ["predict"], "scan": ["scan", "--window", "12"]}


@pytest.mark.parametrize("command", COMMANDS)
def test_output_onto_an_input_fasta_is_refused(files, capsys, command):
    fasta = files["fasta"]
    refused(capsys, [*COMMANDS[command], files["model"], fasta, "-o", fasta], fasta, fasta)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_onto_the_model_file_is_refused(files, capsys, command):
    model = files["model"]
    refused(capsys, [*COMMANDS[command], model, files["fasta"], "-o", model], model, model)


def test_output_onto_a_hard_link_or_symbolic_link_of_an_input_is_refused(files, tmp_path, capsys):
    fasta = files["fasta"]
    hard, soft = tmp_path / "hard.fa", tmp_path / "soft.fa"
    os.link(fasta, hard)
    soft.symlink_to(fasta)
    for out in (hard, soft):
        err = refused(capsys, ["predict", files["model"], fasta, "-o", out], out, fasta)
        assert f"({fasta})" in err  # names the input it would have destroyed


def test_train_out_onto_its_training_file_or_labels_is_refused(write, capsys):
    from bioseq.data.synthetic import motif_dna

    records = motif_dna(20, length=12, seed=3)
    fasta = write("d.fa", "".join(f">{i}\n{s}\n" for i, s, _ in records))
    labels = write("labels.csv", "id,label\n" + "".join(f"{i},{lab}\n" for i, _, lab in records))
    refused(capsys, ["train", fasta, "--labels", labels, "--out", fasta, "--epochs", "1", "--quiet"], fasta, fasta)
    refused(capsys, ["train", fasta, "--labels", labels, "--out", labels, "--epochs", "1", "--quiet"], labels,
            labels)


def test_inspect_and_check_overlap_outputs_onto_an_input_are_refused(files, capsys):
    fasta = files["fasta"]
    refused(capsys, ["inspect", "gates", files["model"], fasta, "-o", fasta], fasta, fasta)
    refused(capsys, ["check-overlap", fasta, "--against", files["model"], "-o", files["model"]], files["model"],
            files["model"])


def test_predict_files_refuses_its_input_as_output(files):
    from bioseq.errors import OutputError
    from bioseq.model.store import load_model
    from bioseq.prediction.predict import predict_files

    with pytest.raises(OutputError, match="is also an input"):
        predict_files(load_model(files["model"]), [files["fasta"]], str(files["model"]))
    assert files["model"].read_bytes() == files["bytes"][files["model"]]


def test_output_through_a_symbolic_link_writes_its_target_and_keeps_the_link(files, tmp_path, capsys):
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    assert main(["predict", str(files["model"]), str(files["fasta"]), "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == "target.csv"
    assert target.read_text().startswith("id,prediction,")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_output_to_a_fifo_is_streamed_into_it_not_replaced(files, tmp_path, capsys):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert main(["predict", str(files["model"]), str(files["fasta"]), "-o", str(fifo)]) == 0
    reader.join(30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    lines = got[0].decode().splitlines()
    assert lines[0].startswith("id,prediction,") and len(lines) == 41  # the header and 40 records


def test_output_to_a_character_device_writes_into_it(files, tmp_path, capsys):
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own (needs root)
    except (PermissionError, OSError):
        pytest.skip("cannot make a character device here")
    assert main(["predict", str(files["model"]), str(files["fasta"]), "-o", str(null)]) == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode) and os.lstat(null).st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_dev_null_is_still_a_character_device_after_predict(files, capsys):
    if not stat.S_ISCHR(os.lstat("/dev/null").st_mode):
        pytest.skip("/dev/null on this machine is not a character device (something replaced it before this test)")
    assert main(["predict", str(files["model"]), str(files["fasta"]), "-o", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert "wrote 40 predictions to /dev/null" in capsys.readouterr().err


# --- hostile models: a model file's metadata is checked field by field and against the weights in the file
# before anything is built, by every loader (library, CLI, dashboard upload, ensembles)

LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def hostile(src: Path, dst: Path, change) -> Path:
    """A copy of the model file ``src`` with its metadata changed by ``change(meta)``; the weights untouched."""
    with safe_open(str(src), framework="pt") as f:
        meta = json.loads(f.metadata()["bioseq"])
    change(meta)
    save_file(load_file(src), dst, metadata={"bioseq": json.dumps(meta)})
    return dst


def _config(key, value):
    def change(meta):
        meta["config"][key] = value
    return change


@pytest.fixture
def billion_layers(tmp_path) -> Path:
    return hostile(LEGACY / "dna_default.safetensors", tmp_path / "deep.safetensors", _config("layers", 10**9))


def test_a_billion_layers_is_refused_at_once_by_every_loader(billion_layers, tmp_path, capsys):
    """It ran past 120 s, growing: every loader built the stack (on the meta device, one module at a time)."""
    expected = (f"{billion_layers}: damaged bioseq model file: metadata disagrees with weights (config.layers is "
                "1,000,000,000, but the file holds 12 tensors (every layer has weights))")
    for load in (load_model, bioseq.load):
        with bounded(cpu_seconds=1.0, memory_mib=100), pytest.raises(ModelFileError) as err:
            load(str(billion_layers))
        assert str(err.value) == expected
    for command in (["info", str(billion_layers)],
                    ["predict", str(billion_layers), str(LEGACY / "dna.fa"), "-o", str(tmp_path / "out.csv")]):
        capsys.readouterr()
        with bounded(cpu_seconds=1.0, memory_mib=100):
            assert cli.main(command) == 2
        captured = capsys.readouterr()
        assert captured.err == f"bioseq: error: {expected}\n" and captured.out == ""
    assert not (tmp_path / "out.csv").exists()


def test_a_billion_layers_is_refused_by_the_command_in_seconds(billion_layers, tmp_path):
    proc = run_cli("predict", billion_layers, LEGACY / "dna.fa", home=tmp_path / "home", timeout=60)
    assert_one_line_error(proc, str(billion_layers), "config.layers is 1,000,000,000")


def test_the_dashboard_upload_refuses_a_hostile_model_and_keeps_nothing(billion_layers):
    data = billion_layers.read_bytes()
    for register in (False, True):
        with bounded(cpu_seconds=1.0, memory_mib=100), pytest.raises(ModelFileError) as err:
            uploads.save_model_upload(data, "deep.safetensors", register=register)
        assert err.value.dashboard() == ("deep.safetensors: damaged bioseq model file: metadata disagrees with "
                                         "weights (config.layers is 1,000,000,000, but the file holds 12 tensors "
                                         "(every layer has weights))")
        assert not any((uploads_dir() / "models").iterdir())


def test_an_ensemble_member_or_member_count_beyond_the_weights_is_refused(make_bundle, tmp_path):
    from bioseq.model.ensemble import combine
    from bioseq.model.store import save_model

    src = save_model(tmp_path / "ens.safetensors", combine([make_bundle(seed=0), make_bundle(seed=1)]))
    member = dict(load_model(src).meta["ensemble"]["members"][1])

    def deep_member(meta):
        meta["ensemble"]["members"][1]["layers"] = 10**9

    def many_members(meta):
        meta["ensemble"]["members"] += [member] * 10_000

    for change, words in ((deep_member, "ensemble.members[1].layers"),
                          (many_members, "ensemble.members must be a list of 2 to")):
        path = hostile(src, tmp_path / "hostile.safetensors", change)
        with bounded(cpu_seconds=1.0, memory_mib=100), pytest.raises(ModelFileError, match=words.replace(
                "[", r"\[").replace("]", r"\]")):
            load_model(path)


def test_more_tensors_than_any_model_has_are_refused_before_building(tmp_path):
    """Layers within the tensor count, but more tensors than any bioseq model: refused before the meta build
    (tens of seconds for 20,001 layers)."""
    n = 20_001  # bioseq.model.filecheck.MAX_TENSORS + 1
    with safe_open(str(LEGACY / "dna_default.safetensors"), framework="pt") as f:
        meta = json.loads(f.metadata()["bioseq"])
    meta["config"]["layers"] = n
    path = tmp_path / "many.safetensors"
    save_file({f"rnns.{i}.w": torch.zeros(0) for i in range(n)}, path, metadata={"bioseq": json.dumps(meta)})
    with bounded(cpu_seconds=1.0, memory_mib=100), pytest.raises(ModelFileError, match="holds 20,001 tensors"):
        load_model(path)


ONE_LINE = {  # issue item 13: internal errors became one line naming the file and the field
    "max_length -5": (lambda m: m["length"].update(max_length=-5),
                      "length.max_length must be a whole number from 1 to 1,000,000,000, not -5"),
    "policy sideways": (lambda m: m["length"].update(policy="sideways"),
                        "unknown length.policy 'sideways'; choose one of start, end, centre"),
    "format version '1'": (lambda m: m.update(format_version="1"),
                           "format_version must be a whole number from 1 up, not '1'"),
    "alphabet without letters": (lambda m: m["alphabet"].pop("letters"), "alphabet has no letters"),
    "alphabet letters a number": (lambda m: m["alphabet"].update(letters=4),
                                  "alphabet.letters must be distinct capital letters A-Z, not 4"),
    "alphabet a string": (lambda m: m.update(alphabet="dna"),
                          "alphabet must be a mapping with name, letters and ambiguity, not str"),
    "ambiguity code for a letter that is not there": (
        lambda m: m["alphabet"]["ambiguity"].update(N="ACGU"),
        "alphabet.ambiguity.N must be letters of ACGT, not 'ACGU'"),
    "class name with a line break": (lambda m: m.update(classes=["background", "mo\ntif"]),
                                     "classes[1] must be a non-empty name of printable characters, not 'mo\\ntif'"),
    "training seconds as text": (lambda m: m["training"].update(seconds="12"),
                                 "training.seconds must be a finite number of at least 0, not '12'"),
    "training file without a checksum": (lambda m: m["training"]["files"][0].pop("sha256"),
                                         "training.files[0].sha256 is missing"),
}


@pytest.mark.parametrize("case", list(ONE_LINE))
def test_bad_metadata_is_one_line_naming_the_file_and_field(case, tmp_path, capsys):
    change, words = ONE_LINE[case]
    path = hostile(LEGACY / "dna_default.safetensors", tmp_path / "bad.safetensors", change)
    expected = f"{path}: damaged bioseq model file: {words}"
    for command in (["info", str(path)], ["predict", str(path), str(LEGACY / "dna.fa")]):
        capsys.readouterr()
        assert cli.main(command) == 2
        captured = capsys.readouterr()
        assert captured.err == f"bioseq: error: {expected}\n" and captured.out == ""
    with pytest.raises(ModelFileError) as err:
        uploads.save_model_upload(path.read_bytes(), "bad.safetensors")
    assert err.value.dashboard() == f"bad.safetensors: damaged bioseq model file: {words}"


@pytest.mark.parametrize("name", sorted(p.name for p in LEGACY.glob("*.safetensors")))
def test_legacy_models_pass_the_check(name):
    bundle = load_model(LEGACY / name)
    assert bundle.max_length is None and bundle.length_policy == "start" and len(bundle.classes) == 2
