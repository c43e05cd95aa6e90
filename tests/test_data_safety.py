"""Lose nothing: no command replaces a user's file it was not asked to write (issue "Lose nothing, hang never,
let nothing in"). One section per part of the fix: outputs, runs, hostile model files."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch
from _robust import assert_one_line_error, bounded, run_cli
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import bioseq
from bioseq.app import uploads
from bioseq.cli import main
from bioseq.cli import main as cli
from bioseq.data.dataset import file_sha256
from bioseq.data.source import DataOptions
from bioseq.data.synthetic import motif_dna, write_fasta
from bioseq.errors import BioseqError, InputError, ModelFileError
from bioseq.model.store import load_model, model_path, read_meta
from bioseq.training import jobs
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit
from bioseq.training.runs import RunFolder, read_run
from bioseq.workspace import check_name, runs_dir, uploads_dir

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
# --- runs: names claimed once (train, tune, dashboard, bioseq.train), --overwrite, resume on the same data and
# options only, the model path and metadata checked before training, a failed save keeps the checkpoint, and
# names matched whole (items 3, 4, 5, 6, 8 and 14's --resume with no run)

RUN_TINY = {"hidden": 4, "conv_filters": 4, "conv_width": 3, "dropout": 0.0}
RUN_TINY_ARGS = ["--hidden", "4", "--conv-filters", "4", "--conv-width", "3", "--batch-size", "8", "--quiet"]


def run_cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "batch_size": 8, "device": "cpu", **kw})


def run_files(home) -> list[str]:
    folder = home / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bioseq: error: "), err
    return err[0]


@pytest.fixture
def other_fasta(tmp_path):
    """Other records with other classes than ``dna_fasta``'s."""
    recs = [(f"o{i}", seq, "x" if lab == "motif" else "y") for i, (_, seq, lab) in
            enumerate(motif_dna(40, length=24, seed=9))]
    return write_fasta(tmp_path / "other.fa", recs)


# item 3: a taken name is refused unless --overwrite (or --resume), in the CLI, the library and the dashboard

@pytest.mark.slow
def test_train_refuses_a_taken_name_and_keeps_the_model(dna_fasta, other_fasta, bioseq_home, capsys):
    assert cli(["train", str(dna_fasta), "--name", "kept", "--epochs", "2", *RUN_TINY_ARGS]) == 0
    model, ckpt = model_path("kept"), runs_dir() / "kept" / "checkpoint.safetensors"
    before, ckpt_before = model.read_bytes(), ckpt.read_bytes()
    capsys.readouterr()
    assert cli(["train", str(other_fasta), "--name", "kept", "--epochs", "1", *RUN_TINY_ARGS]) == 2
    line = one_error_line(capsys)
    assert "'kept' already exists" in line and "--overwrite" in line and "--resume" in line
    assert model.read_bytes() == before and ckpt.read_bytes() == ckpt_before  # nothing replaced
    assert read_run("kept")["status"] == "done"
    assert cli(["train", str(other_fasta), "--name", "kept", "--epochs", "1", "--overwrite", *RUN_TINY_ARGS]) == 0
    assert load_model(model).classes == ["x", "y"] and read_run("kept")["status"] == "done"


def test_the_library_refuses_a_taken_name_and_out_path(dna_fasta, other_fasta, tmp_path):
    first = bioseq.train([str(dna_fasta)], name="lib", epochs=1, batch_size=8, **RUN_TINY)
    before = first.path.read_bytes()
    with pytest.raises(InputError, match="'lib' already exists"):
        bioseq.train([str(other_fasta)], name="lib", epochs=1, batch_size=8, **RUN_TINY)
    assert first.path.read_bytes() == before
    again = bioseq.train([str(other_fasta)], name="lib", epochs=1, batch_size=8, overwrite=True, **RUN_TINY)
    assert again.bundle.classes == ["x", "y"] and load_model(first.path).classes == ["x", "y"]

    out = tmp_path / "mine.safetensors"
    out.write_bytes(b"not yours to replace")
    with pytest.raises(InputError, match="already exists.*--out"):
        fit(DataOptions([str(dna_fasta)]), RUN_TINY, run_cfg(), out=out, log_dir=tmp_path / "log")
    assert out.read_bytes() == b"not yours to replace"


def test_the_dashboard_replaces_a_model_only_when_told(dna_fasta, other_fasta):
    bioseq.train([str(dna_fasta)], name="dash", epochs=1, batch_size=8, **RUN_TINY)
    reg = jobs.JobRegistry()
    data, cfg = DataOptions([str(other_fasta)]), run_cfg(epochs=1)
    with pytest.raises(BioseqError, match="already exists") as refused:
        reg.start("dash", data, RUN_TINY, cfg)
    assert "Replace" in refused.value.dashboard() and "--overwrite" not in refused.value.dashboard()
    job = reg.start("dash", data, RUN_TINY, cfg, overwrite=True)
    assert job.join(120)
    assert read_run("dash")["status"] == "done", read_run("dash").get("error")
    assert load_model(model_path("dash")).classes == ["x", "y"]


def test_resume_and_overwrite_together_are_refused(dna_fasta):
    with pytest.raises(InputError, match="--resume.*--overwrite"):
        fit(DataOptions([str(dna_fasta)]), RUN_TINY, run_cfg(), name="both", resume=True, overwrite=True)


# item 14 (part): --resume with no run to resume

def test_resume_with_no_run_is_refused_in_one_line(dna_fasta, bioseq_home, capsys):
    assert cli(["train", str(dna_fasta), "--name", "never", "--resume", *RUN_TINY_ARGS]) == 2
    assert "nothing to resume" in one_error_line(capsys)
    assert run_files(bioseq_home) == [] and not (runs_dir() / "never").exists()


# item 4: one name, two trainings at once: the second is refused at once, in one line

@pytest.mark.slow
def test_a_name_in_training_is_refused_to_a_second_process(dna_fasta, bioseq_home, capsys):
    from _robust import BIOSEQ, cli_env

    first = subprocess.Popen([*BIOSEQ, "train", str(dna_fasta), "--name", "busy", "--epochs", "1000",
                              "--patience", "1000", *RUN_TINY_ARGS], env=cli_env(bioseq_home),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        status = runs_dir() / "busy" / "run.json"
        deadline = time.monotonic() + 120
        while not status.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, first.stderr.read()
        for extra in ([], ["--overwrite"]):  # not even --overwrite takes a name from a live run
            assert cli(["train", str(dna_fasta), "--name", "busy", "--epochs", "1", *extra, *RUN_TINY_ARGS]) == 2
            line = one_error_line(capsys)
            assert "being trained right now" in line and f"process {first.pid}" in line
        with pytest.raises(BioseqError, match="being trained right now"):
            jobs.JobRegistry().start("busy", DataOptions([str(dna_fasta)]), RUN_TINY, run_cfg())
        assert json.loads(status.read_text())["pid"] == first.pid  # its run.json is untouched
    finally:
        first.kill()
        first.communicate()
    assert run_files(bioseq_home) == []


# item 5: a finished training is never lost to the final save

def test_a_training_file_deleted_during_training_still_gives_the_model(tmp_path):
    data = write_fasta(tmp_path / "v.fa", motif_dna(40, length=24, seed=1))
    digest = file_sha256(data)

    def delete(p) -> None:
        if p.phase == "epoch" and data.exists():
            data.unlink()

    r = fit(DataOptions([str(data)]), RUN_TINY, run_cfg(), name="gone", callback=delete)
    assert not data.exists() and r.path.is_file()
    assert read_meta(r.path)["training"]["files"][0]["sha256"] == digest
    assert read_run("gone")["status"] == "done"


@pytest.mark.parametrize("where", ["a-file/m.safetensors", "a-folder"])
def test_an_unwritable_model_path_is_refused_before_training(where, dna_fasta, tmp_path):
    (tmp_path / "a-file").write_text("a file, not a folder")
    (tmp_path / "a-folder").mkdir()
    epochs = []
    with pytest.raises(BioseqError, match="a-f"):  # the output guard or the model-path check
        fit(DataOptions([str(dna_fasta)]), RUN_TINY, run_cfg(), out=tmp_path / where, log_dir=tmp_path / "log",
            callback=epochs.append)
    assert epochs == [] and not (tmp_path / "log").exists()  # no training, no run folder


def test_metadata_over_the_format_limit_is_refused_before_training(dna_fasta, monkeypatch, bioseq_home):
    from bioseq.model import store

    monkeypatch.setattr(store, "MAX_HEADER", 3000)  # as 10,000 classes are to 100,000,000 bytes
    epochs = []
    with pytest.raises(ModelFileError, match="metadata would be .*--class-map"):
        fit(DataOptions([str(dna_fasta)]), RUN_TINY, run_cfg(epochs=50), name="big", callback=epochs.append)
    assert epochs == [] and not (runs_dir() / "big").exists() and run_files(bioseq_home) == []


def test_the_header_estimate_is_the_real_header(dna_fasta, tmp_path):
    import struct

    from bioseq.model.store import file_meta, header_bytes

    r = fit(DataOptions([str(dna_fasta)]), {**RUN_TINY, "norm": "layer"}, run_cfg(seeds=2), out=tmp_path / "m.st",
            log_dir=tmp_path / "log")
    real = struct.unpack("<Q", (tmp_path / "m.st").read_bytes()[:8])[0]
    assert header_bytes(file_meta(r.bundle, r.path), r.bundle.model.state_dict()) == real


@pytest.mark.slow
def test_the_header_limit_is_safetensors_own(tmp_path):
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    from bioseq.model.store import MAX_HEADER, header_bytes

    tensors = {"w": torch.zeros(2)}
    pad = MAX_HEADER - header_bytes({}, tensors)

    def save(extra: int) -> None:
        # a real file: safetensors replaces its target, so os.devnull here would replace /dev/null (as root)
        save_file(tensors, tmp_path / "h.safetensors", metadata={"bioseq": json.dumps({"x": "a" * (pad + extra - 8)})})

    save(0)  # exactly MAX_HEADER bytes of header are written
    with pytest.raises(SafetensorError, match="header too large"):
        save(8)


def test_a_failed_save_keeps_the_checkpoint_and_marks_the_run_failed(dna_fasta, monkeypatch, capsys):
    import bioseq.training.fit as fit_module

    real_save = fit_module.save_model

    def full_disk(path, bundle):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fit_module, "save_model", full_disk)
    args = ["train", str(dna_fasta), "--name", "unsaved", "--epochs", "2", *RUN_TINY_ARGS]
    assert cli(args) == 2
    line = one_error_line(capsys)
    ckpt = runs_dir() / "unsaved" / "checkpoint.safetensors"
    assert "No space left on device" in line and str(ckpt) in line and "--resume" in line
    info = read_run("unsaved")
    assert info["status"] == "failed" and "No space left" in info["error"] and ckpt.is_file()
    assert not model_path("unsaved").exists()

    monkeypatch.setattr(fit_module, "save_model", real_save)  # the disk has room again: --resume saves it
    assert cli([*args, "--resume"]) == 0
    assert load_model(model_path("unsaved")).meta["training"]["best_epoch"] >= 1
    assert read_run("unsaved")["status"] == "done"


# item 6: resume only on the run's (or study's) own data and options

@pytest.mark.slow
def test_train_resume_with_other_options_or_data_is_refused(dna_fasta, other_fasta, capsys):
    assert cli(["train", str(dna_fasta), "--name", "r", "--epochs", "1", *RUN_TINY_ARGS]) == 0
    ckpt = runs_dir() / "r" / "checkpoint.safetensors"
    before = ckpt.read_bytes()
    capsys.readouterr()
    assert cli(["train", str(dna_fasta), "--name", "r", "--epochs", "2", "--resume", *RUN_TINY_ARGS,
                "--hidden", "6"]) == 2
    line = one_error_line(capsys)
    assert "--hidden 6 (it used --hidden 4)" in line and "size mismatch" not in line
    assert cli(["train", str(other_fasta), "--name", "r", "--epochs", "2", "--resume", *RUN_TINY_ARGS]) == 2
    assert "train file 1 differs" in one_error_line(capsys)
    assert cli(["train", str(dna_fasta), "--name", "r", "--epochs", "2", "--resume", "--seed", "3",
                *RUN_TINY_ARGS]) == 2
    assert "--seed 3" in one_error_line(capsys)
    assert read_run("r")["status"] == "done" and ckpt.read_bytes() == before  # the finished run is unharmed
    assert cli(["train", str(dna_fasta), "--name", "r", "--epochs", "2", "--resume", "--lr", "1e-3",
                *RUN_TINY_ARGS]) == 0  # the learning rate may change


def test_tune_resume_on_other_data_is_refused(dna_fasta, other_fasta):
    from bioseq.training.tune import read_study, tune

    cfg = TrainConfig(epochs=1, patience=1, batch_size=16)
    tune(DataOptions([str(dna_fasta)]), "study", "5m", max_trials=1, train_cfg=cfg)
    with pytest.raises(InputError, match="other data: train file 1 differs"):
        tune(DataOptions([str(other_fasta)]), "study", "5m", max_trials=2, train_cfg=cfg, resume=True)
    with pytest.raises(InputError, match="--val-fraction 0.3"):
        tune(DataOptions([str(dna_fasta)], val_fraction=0.3), "study", "5m", max_trials=2, train_cfg=cfg,
             resume=True)
    info, rows = read_study("study")
    assert len(rows) == 1 and info["status"] == "done"  # the study is as it was
    assert load_model(model_path("study")).classes == ["background", "motif"]


# item 8: a name is matched whole: no trailing newline, NUL or look-alike letter

BAD_NAMES = ["abc\n", "abc\r\n", "\nabc", "ab\nc", "abc\x00", "a\x00b", "abc ", " abc", "\u0430bc",  # Cyrillic a
             "ab\uff43", "ab\u0131", "abc\u200b", "ab\u00e9", "ab/c", "../abc", ".abc", "-abc", "", "a" * 101,
             "abc\t", "ab\\c"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_check_name_refuses_the_whole_name(name):
    with pytest.raises(ModelFileError, match="invalid model name"):
        check_name(name)
    with pytest.raises(ModelFileError):
        model_path(name)
    with pytest.raises(ModelFileError):
        RunFolder.named(name)


def test_train_with_a_newline_in_the_name_is_refused(dna_fasta, bioseq_home, capsys):
    assert cli(["train", str(dna_fasta), "--name", "abc\n", *RUN_TINY_ARGS]) == 2
    assert "invalid model name" in one_error_line(capsys)
    assert run_files(bioseq_home) == [] and not runs_dir().exists()


def test_an_uploaded_model_named_with_a_newline_is_not_registered(dna_bundle, tmp_path, bioseq_home):
    from bioseq.app.uploads import save_model_upload
    from bioseq.model.store import save_model

    dna_bundle.meta = {"name": "ok\n"}
    path = save_model(tmp_path / "up.safetensors", dna_bundle)
    with pytest.raises(ModelFileError, match="invalid model name"):
        save_model_upload(path.read_bytes(), "up.safetensors", register=True)
    assert run_files(bioseq_home) == []


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
    expected = (f"{billion_layers}: damaged bioseq model file: config.layers must be at least 1 and at most 8, "
                "not 1000000000")  # the options' one rule, before anything is built
    for load in (load_model, bioseq.load):
        with bounded(cpu_seconds=1.0, memory_mib=100), pytest.raises(ModelFileError) as err:
            load(str(billion_layers))
        assert str(err.value) == expected
    for command in (["info", str(billion_layers)],
                    ["predict", str(billion_layers), str(LEGACY / "dna.fa"), "-o", str(tmp_path / "out.csv")]):
        capsys.readouterr()
        with bounded(cpu_seconds=1.0, memory_mib=100):
            assert main(command) == 2
        captured = capsys.readouterr()
        assert captured.err == f"bioseq: error: {expected}\n" and captured.out == ""
    assert not (tmp_path / "out.csv").exists()


def test_a_billion_layers_is_refused_by_the_command_in_seconds(billion_layers, tmp_path):
    proc = run_cli("predict", billion_layers, LEGACY / "dna.fa", home=tmp_path / "home", timeout=60)
    assert_one_line_error(proc, str(billion_layers), "config.layers must be at least 1 and at most 8, not 1000000000")


def test_the_dashboard_upload_refuses_a_hostile_model_and_keeps_nothing(billion_layers):
    data = billion_layers.read_bytes()
    for register in (False, True):
        with bounded(cpu_seconds=1.0, memory_mib=100), pytest.raises(ModelFileError) as err:
            uploads.save_model_upload(data, "deep.safetensors", register=register)
        assert err.value.dashboard() == ("deep.safetensors: damaged bioseq model file: config.layers must be at "
                                         "least 1 and at most 8, not 1000000000")
        assert not any((uploads_dir() / "models").iterdir())


def test_an_ensemble_member_or_member_count_beyond_the_weights_is_refused(make_bundle, tmp_path):
    from bioseq.model.store import combine, save_model

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
        assert main(command) == 2
        captured = capsys.readouterr()
        assert captured.err == f"bioseq: error: {expected}\n" and captured.out == ""
    with pytest.raises(ModelFileError) as err:
        uploads.save_model_upload(path.read_bytes(), "bad.safetensors")
    assert err.value.dashboard() == f"bad.safetensors: damaged bioseq model file: {words}"


@pytest.mark.parametrize("name", sorted(p.name for p in LEGACY.glob("*.safetensors")))
def test_legacy_models_pass_the_check(name):
    bundle = load_model(LEGACY / name)
    assert bundle.max_length is None and bundle.length_policy == "start" and len(bundle.classes) == 2
