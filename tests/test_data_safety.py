"""Lose nothing: no command replaces a user's file it was not asked to write (issue "Lose nothing, hang never,
let nothing in"). Each helper's section below covers its items."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from bioseq.cli import main

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
