"""Helpers for the robustness tests: tiny trained models, running the real ``bioseq`` command.

Imported by ``test_bad_input.py``, ``test_hostile_models.py`` and ``test_faults.py``; not a test
module itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from conftest import TINY, TINY_TRAIN

from bioseq.data.source import DataOptions
from bioseq.data.synthetic import cterm_protein, motif_dna, write_fasta
from bioseq.training.config import TrainConfig
from bioseq.training.fit import fit

_SCRIPT = Path(sys.executable).with_name("bioseq")  # the installed console script, as a user runs it
BIOSEQ = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bioseq.cli"]

def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """One DNA and one protein model, trained once per test session (``{"dna": path, "protein": path}``)."""
    root = tmp_path_factory.getbasetemp() / "robust-models"
    paths = {"dna": root / "dna.safetensors", "protein": root / "protein.safetensors"}
    if all(p.is_file() for p in paths.values()):
        return paths
    root.mkdir(exist_ok=True)
    data = {"dna": motif_dna(16, length=30, seed=1), "protein": cterm_protein(16, min_len=20, max_len=40, seed=1)}
    for kind, records in data.items():
        fasta = write_fasta(root / f"{kind}.fa", records)
        fit(DataOptions([str(fasta)]), TINY, TrainConfig(**TINY_TRAIN),
            out=paths[kind], log_dir=root / f"run-{kind}")
    return paths


def cli_env(home: str | os.PathLike, **extra: str) -> dict[str, str]:
    env = {**os.environ, "BIOSEQ_HOME": str(home), "OMP_NUM_THREADS": "1", **extra}
    env.pop("BIOSEQ_DEBUG", None)
    return env


def run_cli(*args, home: str | os.PathLike, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run ``bioseq ARGS`` in a fresh process with ``$BIOSEQ_HOME`` set to ``home``."""
    return subprocess.run([*BIOSEQ, *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          errors="replace", env=cli_env(home, **env), timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *must_name: str) -> str:
    """The process failed with exactly one stderr line, no traceback, naming each of ``must_name``."""
    assert proc.returncode != 0, f"exit 0; stdout={proc.stdout!r} stderr={proc.stderr!r}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{proc.stderr}"
    for name in must_name:
        assert name in lines[0], f"{name!r} not named in: {lines[0]}"
    assert proc.stdout == "", proc.stdout
    return lines[0]


class Hung(BaseException):
    """Raised by :func:`bounded` when its block runs too long: a ``BaseException``, so no ``except Exception``
    in the code under test turns it into an ordinary error."""


def _peak_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


@contextmanager
def bounded(cpu_seconds: float = 1.0, memory_mib: int = 100, wall_seconds: int = 20):
    """The block must use at most ``cpu_seconds`` of CPU time and raise this process's peak memory by at most
    ``memory_mib``; one still running after ``wall_seconds`` is stopped with :class:`Hung` (so a hang fails the
    test instead of hanging the suite). Peak memory is reset through ``/proc/self/clear_refs`` (Linux); where
    that cannot be written, memory is not checked."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident size to the current one
        before = _peak_kib()
    except OSError:
        before = None

    def stop(signum, frame):
        raise Hung(f"still running after {wall_seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(wall_seconds)
    start = time.process_time()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    used = time.process_time() - start
    assert used <= cpu_seconds, f"took {used:.2f} s of CPU time (at most {cpu_seconds} s)"
    if before is not None:
        grew = (_peak_kib() - before) / 1024
        assert grew <= memory_mib, f"peak memory grew by {grew:.0f} MiB (at most {memory_mib} MiB)"
