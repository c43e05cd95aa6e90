"""The output guard (bioseq.outputs): write errors name the output path (exit 2), and temporary or part files
left by a killed process are removed on the next write, never those a live process holds."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from bioseq import outputs
from bioseq.cli import main
from bioseq.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent


def text_writer(text: str):
    return lambda tmp: Path(tmp).write_text(text)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- write errors name the output -----------------------------------------------------------------


def test_a_temporary_file_that_cannot_be_made_is_named_as_the_output(tmp_path, monkeypatch):
    def denied(prefix, suffix, dir):  # what mkstemp raises in a folder without write permission
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, f"{prefix}xomert0g{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    out = tmp_path / "out.csv"
    with pytest.raises(OutputError) as e:
        outputs.write_output(out, text_writer("x"))
    assert str(e.value) == f"{out}: cannot write the output: Permission denied"


def test_a_full_disk_is_named_as_the_output(tmp_path):
    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "out.csv"
    with pytest.raises(OutputError, match=r"out\.csv: cannot write the output: No space left on device"):
        outputs.write_output(out, full)
    assert hidden(tmp_path) == [] and not out.exists()


def test_an_input_that_cannot_be_read_keeps_its_own_name(tmp_path):
    """Commands read their inputs while writing: an input's error is not the output's."""
    missing = tmp_path / "in.fa"

    def read_input(tmp):
        missing.read_text()

    with pytest.raises(FileNotFoundError) as e:
        outputs.write_output(tmp_path / "out.csv", read_input)
    assert not isinstance(e.value, OutputError) and e.value.filename == str(missing)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_predict_into_a_read_only_folder_names_the_output_and_exits_2(tmp_path, dna_bundle, dna_fasta, capsys):
    from bioseq.model.store import save_model

    model = save_model(tmp_path / "m.safetensors", dna_bundle)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    out = folder / "out.csv"
    assert main(["predict", str(model), str(dna_fasta), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"bioseq: error: {out}: cannot write the output: Permission denied\n"


def test_predict_with_a_denied_temporary_file_exits_2_naming_the_output(tmp_path, dna_bundle, dna_fasta, capsys,
                                                                       monkeypatch):
    from bioseq.model.store import save_model

    model = save_model(tmp_path / "m.safetensors", dna_bundle)

    def denied(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, f"{prefix}xomert0g{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    out = tmp_path / "out.csv"
    assert main(["predict", str(model), str(dna_fasta), "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"bioseq: error: {out}: cannot write the output: Permission denied\n"


def test_a_missing_output_folder_exits_2_naming_the_output(tmp_path, dna_bundle, dna_fasta, capsys):
    from bioseq.model.store import save_model

    model = save_model(tmp_path / "m.safetensors", dna_bundle)
    out = tmp_path / "no" / "out.csv"
    assert main(["predict", str(model), str(dna_fasta), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (f"bioseq: error: {out}: cannot write the output: No such file or directory "
                                       f"(the folder {tmp_path / 'no'} does not exist)\n")


def test_a_folder_is_refused_as_an_output(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        outputs.write_output(tmp_path, text_writer("x"))


# --- stale temporary and part files ---------------------------------------------------------------------


def killed_writer(out: Path, part: bool = False) -> str:
    """Start a process that holds a temporary (or part) file for ``out``, kill it with SIGKILL: the file's name."""
    hold = (f"fd = outputs.hold({str(out.parent / ('.' + out.name + '.part-1-of-2'))!r}); name = 'part'" if part
            else f"fd, name = outputs.hold_temporary(Path({str(out)!r}))")
    code = (f"import time\nfrom pathlib import Path\nfrom bioseq import outputs\n{hold}\n"
            "print(name, flush=True)\ntime.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return hidden(out.parent)[0]


def test_a_temporary_file_left_by_a_killed_process_is_removed_on_the_next_write(tmp_path):
    out = tmp_path / "out.csv"
    left = killed_writer(out)
    assert left.startswith(".out.csv.") and left.endswith(".tmp")
    outputs.write_output(out, text_writer("new"))
    assert hidden(tmp_path) == [] and out.read_text() == "new"


@pytest.mark.slow
def test_predict_killed_with_sigkill_leaves_nothing_after_the_next_run(tmp_path, dna_bundle):
    from bioseq.data.synthetic import motif_dna, write_fasta
    from bioseq.model.store import save_model

    model = save_model(tmp_path / "m.safetensors", dna_bundle)
    fasta = write_fasta(tmp_path / "big.fa", motif_dna(40_000, length=24, seed=5))
    out = tmp_path / "out.csv"
    cmd = [sys.executable, "-m", "bioseq", "predict", str(model), str(fasta), "-o", str(out), "--chunk-size", "64"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not hidden(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(hidden(tmp_path)) == 1 and not out.exists()  # killed while writing: its temporary file is left
    small = write_fasta(tmp_path / "small.fa", motif_dna(4, length=24, seed=5))
    done = subprocess.run(cmd[:5] + [str(small), "-o", str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert hidden(tmp_path) == [] and len(out.read_text().splitlines()) == 5


def test_a_part_file_left_by_a_killed_rank_is_removed_on_the_next_write(tmp_path):
    out = tmp_path / "out.csv"
    assert killed_writer(out, part=True) == ".out.csv.part-1-of-2"
    outputs.write_output(tmp_path / "other.csv", text_writer("x"))  # any output written to that folder
    assert hidden(tmp_path) == []


def test_files_a_live_process_holds_are_kept(tmp_path):
    out = tmp_path / "out.csv"
    fd, tmp = outputs.hold_temporary(out)
    part = tmp_path / ".out.csv.part-0-of-2"
    part_fd = outputs.hold(part)
    try:
        assert outputs.clean_stale(tmp_path) == []
        outputs.write_output(out, text_writer("x"))
        assert hidden(tmp_path) == sorted([Path(tmp).name, part.name])
    finally:
        os.close(fd)
        os.close(part_fd)
    assert sorted(outputs.clean_stale(tmp_path)) == sorted([Path(tmp).name, part.name])


def test_an_earlier_versions_temporary_file_is_removed_once_a_day_old(tmp_path):
    out = tmp_path / "out.csv"
    fresh, old = tmp_path / ".out.csv.ab12cd34.tmp", tmp_path / ".out.csv.zz99yy88.tmp"
    other = tmp_path / ".notes.txt.ab12cd34.tmp"  # not bioseq's output: never touched
    for p in (fresh, old, other):
        p.write_text("half")
    day_ago = time.time() - outputs.SAFE_AGE - 60
    for p in (old, other):
        os.utime(p, (day_ago, day_ago))
    outputs.write_output(out, text_writer("x"))
    assert hidden(tmp_path) == sorted([fresh.name, other.name])


def test_a_stream_folder_left_by_a_killed_process_is_removed_and_a_live_one_kept(tmp_path, monkeypatch):
    """Outputs to standard output (or /dev/null) are written in a temporary folder first; one that a killed
    process left in the system's temporary folder is removed by the next such output."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = ("import os, tempfile, time\nfrom bioseq import outputs\n"
            "fd = outputs.hold(os.path.join(tempfile.mkdtemp(prefix=outputs.STREAM_PREFIX), 'output'))\n"
            "print('held', flush=True)\ntime.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
    try:
        assert proc.stdout.readline() == "held\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    live = Path(tempfile.mkdtemp(prefix=outputs.STREAM_PREFIX)) / "output"
    fd = outputs.hold(live)
    got = []
    try:
        outputs.via_temporary(text_writer("x"), lambda tmp: got.append(Path(tmp).read_text()))
        assert got == ["x"] and os.listdir(tmp_path) == [live.parent.name]  # the killed one's folder is gone
    finally:
        os.close(fd)


# ---------- strict JSON (every --json) ----------

def strict_json(text: str):
    """``json.loads`` that refuses NaN and Infinity (not JSON): a strict parser."""
    import json

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_text_writes_null_for_undefined_figures():
    import numpy as np

    from bioseq.outputs import json_text

    value = {"auroc": float("nan"), "inf": float("inf"), 1: np.float32(0.5), "n": np.int64(3),
             "rows": (np.array([1.5, np.nan]), [float("-inf")]), "ok": True, "path": Path("a/b")}
    assert strict_json(json_text(value)) == {"auroc": None, "inf": None, "1": 0.5, "n": 3, "rows": [[1.5, None],
                                             [None]], "ok": True, "path": "a/b"}
    assert json_text([1.0], indent=None) == "[1.0]"
