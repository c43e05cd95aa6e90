"""Helpers for the robustness tests: tiny trained models, running the real ``bioseq`` command.

Imported by ``test_bad_input.py``, ``test_hostile_models.py`` and ``test_faults.py``; not a test
module itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
