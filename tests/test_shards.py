"""One output from several processes (bioseq.prediction.shards): part files merged in input order are the
one-process file byte for byte; errors agree; under torchrun with 2 CPU processes (gloo), ``bioseq predict``
writes the one-process CSV of a classifier and of a labeller, byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _linear import linear_labeller, motif_bundle

from bioseq.data.synthetic import motif_dna, write_fasta
from bioseq.errors import BioseqError, InputError
from bioseq.model.store import save_model
from bioseq.prediction import shards

ROOT = Path(__file__).resolve().parent.parent


def render(fh, i: int, chunk: list[str]) -> int:
    """Chunk i as lines ``i,word`` (a header with chunk 0); a chunk holding "bad" fails."""
    if "bad" in chunk:
        raise InputError(f"chunk {i} is bad", "in.txt")
    if i == 0:
        fh.write("chunk,word\n")
    fh.writelines(f"{i},{w}\n" for w in chunk)
    return len(chunk)


CHUNKS = [["a", "b"], ["c"], ["d", "é"], ["f"], ["g", "h", "i"]]


def test_one_process_writes_every_chunk_in_order(tmp_path, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    out = tmp_path / "out.csv"
    assert shards.write_chunks(str(out), iter(CHUNKS), render) == 9
    assert out.read_text(encoding="utf-8") == "chunk,word\n0,a\n0,b\n1,c\n2,d\n2,é\n3,f\n4,g\n4,h\n4,i\n"


@pytest.mark.parametrize("size", [2, 3, 7])
def test_parts_merged_in_input_order_are_the_one_process_file(tmp_path, monkeypatch, size):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    one = tmp_path / "one.csv"
    shards.write_chunks(str(one), iter(CHUNKS), render)
    out = str(tmp_path / "many.csv")
    parts = [shards.part_path(out, r, size) for r in range(size)]
    done = [shards.write_part(p, iter(CHUNKS), render, r, size) for r, p in enumerate(parts)]
    # rank r renders chunks r, r + size, ...: its byte counts are theirs
    assert [len(d["sizes"]) for d in done] == [len(CHUNKS[r::size]) for r in range(size)]
    assert sum(d["count"] for d in done) == 9 and all(d["error"] is None for d in done)
    shards.merge_parts(out, parts, [d["sizes"] for d in done])
    assert Path(out).read_bytes() == one.read_bytes()


def test_a_rank_stops_at_its_first_failing_chunk_and_says_which(tmp_path):
    chunks = [["a"], ["bad"], ["c"], ["bad"]]
    zero = shards.write_part(str(tmp_path / "p0"), iter(chunks), render, 0, 2)
    one = shards.write_part(str(tmp_path / "p1"), iter(chunks), render, 1, 2)
    assert zero == {"sizes": [len(b"chunk,word\n0,a\n"), len(b"2,c\n")], "count": 2, "error": None}
    assert one["error"] == (1, "in.txt: chunk 1 is bad", True) and one["sizes"] == []


def test_an_error_while_reading_is_met_by_every_rank_at_the_same_chunk(tmp_path):
    def chunks():
        yield ["a"]
        yield ["b"]
        raise InputError("damaged file after record 2", "in.fa")

    for rank in (0, 1):
        assert shards.write_part(str(tmp_path / f"p{rank}"), chunks(), render, rank, 2)["error"] == (
            2, "in.fa: damaged file after record 2", True)


def test_a_missing_part_says_the_folder_must_be_shared(tmp_path):
    out = str(tmp_path / "out.csv")
    with pytest.raises(InputError, match="filesystem that every node shares"):
        shards.merge_parts(out, [shards.part_path(out, 0, 2), shards.part_path(out, 1, 2)], [[], []])
    assert not os.path.exists(out)


@pytest.mark.parametrize("rank, quiet", [("0", False), ("1", True)])
def test_standard_output_is_refused_under_torchrun(monkeypatch, rank, quiet):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    with pytest.raises(BioseqError, match="give -o OUT") as e:
        shards.write_chunks(None, iter(CHUNKS), render)
    assert getattr(e.value, "quiet", False) is quiet  # rank 0 prints; the others end quietly


def test_part_files_sit_beside_the_output_hidden(tmp_path):
    assert shards.part_path(str(tmp_path / "o.csv"), 1, 4) == str(tmp_path / ".o.csv.part-1-of-4")


# --- torchrun, 2 CPU processes ------------------------------------------------------------------


def bioseq_run(args: list[str], procs: int, tmp_path: Path) -> subprocess.CompletedProcess:
    """``bioseq ARGS`` in one process, or under ``torchrun --nproc-per-node procs`` (gloo on the CPU)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "BIOSEQ_HOME": str(tmp_path / "home")}
    if procs == 1:
        cmd = [sys.executable, "-m", "bioseq", *args]
    else:
        cmd = [shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun"),
               "--nproc-per-node", str(procs), "-m", "bioseq", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["classifier", "labeller"])
def test_torchrun_two_processes_write_the_one_process_csv(tmp_path, kind):
    bundle = motif_bundle(bias=-4.5) if kind == "classifier" else linear_labeller()
    model = save_model(tmp_path / "m.safetensors", bundle)
    fasta = write_fasta(tmp_path / "in.fa", motif_dna(150, length=20, motif="GATTA", seed=4))
    outs = []
    for procs in (1, 2):
        out = tmp_path / f"out{procs}.csv"
        done = bioseq_run(["predict", str(model), str(fasta), "--chunk-size", "16", "--device", "cpu",
                           "-o", str(out)], procs, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.count("wrote 150") == 1  # rank 0 reports
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert len(outs[0].splitlines()) == 1 + (150 if kind == "classifier" else 150 * 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fa", "m.safetensors", "out1.csv", "out2.csv"]


@pytest.mark.slow
def test_torchrun_warns_about_records_unlike_the_training_data_over_every_rank(tmp_path):
    """Each rank flags its own chunks; rank 0's warning counts every rank's, as one process does."""
    bundle = motif_bundle(bias=-4.5)
    bundle.meta["training"] = {"profile": {"length_min": 100, "length_max": 100, "composition": [0.25] * 4,
                                           "composition_cutoff": 1.0}}  # 20 letters: shorter by over 20%
    model = save_model(tmp_path / "m.safetensors", bundle)
    fasta = write_fasta(tmp_path / "in.fa", motif_dna(150, length=20, motif="GATTA", seed=4))
    warnings = []
    for procs in (1, 2):
        done = bioseq_run(["predict", str(model), str(fasta), "--chunk-size", "16", "--device", "cpu",
                           "-o", str(tmp_path / f"out{procs}.csv")], procs, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        warnings.append([line for line in done.stderr.splitlines() if line.startswith("bioseq: warning:")])
    assert warnings[0] == warnings[1] == [
        "bioseq: warning: 150 of 150 sequences are unlike the training data (150 much shorter than any training "
        "sequence); their predictions may be confident and still wrong. See the unlike_training column."]


@pytest.mark.slow
def test_torchrun_a_bad_record_of_rank_one_is_named_once_and_nothing_is_written(tmp_path):
    model = save_model(tmp_path / "m.safetensors", motif_bundle(bias=-4.5))
    good = "".join(f">s{i}\nACGTACGTAC\n" for i in range(40))
    fasta = tmp_path / "in.fa"
    fasta.write_text(good.replace(">s20\nACGTACGTAC", ">s20\nACGTXCGTAC"))  # chunk 2 of 4: rank 0's
    fasta2 = tmp_path / "in2.fa"
    fasta2.write_text(good.replace(">s12\nACGTACGTAC", ">s12\nACGTACGTAX"))  # chunk 1: rank 1's
    for path, where in ((fasta, "record 21 (s20): position 5"), (fasta2, "record 13 (s12): position 10")):
        done = bioseq_run(["predict", str(model), str(path), "--chunk-size", "10", "-o", str(tmp_path / "o.csv")],
                          2, tmp_path)
        assert done.returncode != 0
        errors = [line for line in done.stderr.splitlines() if line.startswith("bioseq: error:")]
        assert errors == [f"bioseq: error: {path}: {where}: invalid character "
                          f"'X' (not a dna letter; accepted: ACGTRYSWKMBDHVN)"]
        assert [name for name in os.listdir(tmp_path) if "o.csv" in name] == []  # no output, no part files


# --- a rank that stops answering ----------------------------------------------------------------

STOPPING_RANK = """
import os, signal, sys
from bioseq.prediction import shards

def render(fh, i, chunk):
    if i == 1 and os.environ["RANK"] == os.environ["STOP_RANK"]:  # rank 1's first chunk, or rank 0's second
        os.kill(os.getpid(), signal.SIGSTOP)
    if i == 2 and os.environ["RANK"] == os.environ["STOP_RANK"] == "0":
        os.kill(os.getpid(), signal.SIGSTOP)
    fh.write(f"{i}\\n")
    return 1

try:
    shards.write_chunks(sys.argv[1], iter([["x"]] * 4), render, rank_timeout=float(sys.argv[2]))
except Exception as e:
    print(f"{type(e).__name__}|{getattr(e, 'quiet', False)}|{e}", flush=True)
    sys.exit(2)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("stopped", [1, 0])
def test_a_stopped_rank_is_named_by_the_others_within_the_timeout(tmp_path, stopped):
    """Two processes (the store held by rank 0, as without torchrun's agent); one stops itself (SIGSTOP) while
    writing its part: the other names it in one line once 0.05 minutes (3 s) pass without a word from it."""
    out = tmp_path / "out.csv"
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
               "MASTER_PORT": str(port), "STOP_RANK": str(stopped), "OMP_NUM_THREADS": "1"}
        env.pop("TORCHELASTIC_USE_AGENT_STORE", None)
        procs.append(subprocess.Popen([sys.executable, "-c", STOPPING_RANK, str(out), "0.05"], env=env,
                                      stdout=subprocess.PIPE, text=True))
    speaker = procs[1 - stopped]
    try:
        said, _ = speaker.communicate(timeout=120)
    finally:
        procs[stopped].kill()
        procs[stopped].wait()
    assert speaker.returncode == 2
    assert said == (f"BioseqError|False|rank {stopped} of 2 did not answer within 0.05 minutes (stopped, hung or "
                    f"killed?): nothing was written to {out}; --rank-timeout MINUTES sets how long to wait\n")
    assert not out.exists()
    shards.write_chunks(str(out), iter(CHUNKS), render)  # the next run removes the stopped rank's part file
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


@pytest.mark.parametrize("rank, quiet", [("0", False), ("1", True)])
def test_an_input_as_the_output_is_refused_under_torchrun_by_rank_0_only(tmp_path, monkeypatch, rank, quiet):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nACGT\n")
    with pytest.raises(BioseqError, match="is also an input of this command") as e:
        shards.write_chunks(str(fasta), iter(CHUNKS), render, inputs=[fasta])
    assert getattr(e.value, "quiet", False) is quiet and fasta.read_text() == ">a\nACGT\n"
