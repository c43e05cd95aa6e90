"""``--device`` and ``--batch-size`` of ``bioseq predict``, ``scan`` and ``inspect`` (bioseq.cli.device).

On the CPU: the batch size does not change what is written, and asking for CUDA where there is none is one
clear line. Tests marked ``gpu`` compare a GPU run with a CPU run; they are skipped where PyTorch sees no GPU.
"""

from __future__ import annotations

import argparse

import pandas as pd
import pytest
import torch
from _linear import linear_labeller, motif_bundle

from bioseq.cli import main as cli
from bioseq.cli.device import device, positive
from bioseq.data.synthetic import motif_dna, write_fasta
from bioseq.model.store import save_model


@pytest.fixture
def files(tmp_path):
    fasta = write_fasta(tmp_path / "in.fa", motif_dna(40, length=20, motif="GATTA", seed=2))
    return (str(save_model(tmp_path / "c.safetensors", motif_bundle(bias=-4.5))),
            str(save_model(tmp_path / "l.safetensors", linear_labeller())), str(fasta))


def run(args: list[str], capsys) -> str:
    assert cli(args) == 0
    return capsys.readouterr().out


def test_positive_whole_numbers_only():
    assert positive("3") == 3
    for bad in ("0", "-2", "x", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive(bad)


def test_the_batch_size_does_not_change_what_is_written(files, capsys):
    classifier, labeller, fasta = files
    for model in (classifier, labeller):
        default = run(["predict", model, fasta], capsys)
        assert run(["predict", model, fasta, "--batch-size", "3", "--device", "cpu"], capsys) == default
    for kind in ("saliency", "ig"):
        default = run(["inspect", kind, classifier, fasta, "--max-records", "5"], capsys)
        assert run(["inspect", kind, classifier, fasta, "--max-records", "5", "--batch-size", "2", "--device",
                    "cpu"], capsys) == default
    default = run(["scan", classifier, fasta, "--window", "10"], capsys)
    assert run(["scan", classifier, fasta, "--window", "10", "--batch-size", "2", "--device", "cpu"],
               capsys) == default


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here")
@pytest.mark.parametrize("command", ["predict", "scan", "inspect"])
def test_cuda_where_there_is_none_is_one_line(files, capsys, command):
    classifier, _, fasta = files
    args = ["inspect", "saliency"] if command == "inspect" else [command]
    assert cli([*args, classifier, fasta, "--device", "cuda"]) == 2
    assert capsys.readouterr().err == ("bioseq: error: --device cuda was asked for, but PyTorch sees no CUDA GPU "
                                       "here; use --device cpu\n")
    assert device("auto") == torch.device("cpu")


def test_a_batch_size_below_one_is_refused(files, capsys):
    with pytest.raises(SystemExit):
        cli(["predict", files[0], files[2], "--batch-size", "0"])
    assert "must be at least 1, not 0" in capsys.readouterr().err


# --- on a GPU ---------------------------------------------------------------------------------------


def table(text: str) -> pd.DataFrame:
    import io

    return pd.read_csv(io.StringIO(text))


@pytest.mark.gpu
def test_auto_is_the_gpu_and_predictions_match_the_cpu(files, capsys):
    classifier, labeller, fasta = files
    assert device("auto").type == "cuda"
    for model in (classifier, labeller):
        cpu = table(run(["predict", model, fasta, "--device", "cpu"], capsys))
        gpu = table(run(["predict", model, fasta, "--batch-size", "7"], capsys))
        pd.testing.assert_frame_equal(cpu, gpu, atol=1e-5, rtol=1e-4)


@pytest.mark.gpu
def test_scan_and_saliency_on_the_gpu_match_the_cpu(files, capsys):
    classifier, _, fasta = files
    cpu = run(["scan", classifier, fasta, "--window", "10", "--format", "csv", "--device", "cpu"], capsys)
    gpu = run(["scan", classifier, fasta, "--window", "10", "--format", "csv", "--device", "cuda"], capsys)
    pd.testing.assert_frame_equal(table(cpu), table(gpu), atol=1e-5, rtol=1e-4)
    cpu = run(["inspect", "saliency", classifier, fasta, "--device", "cpu"], capsys)
    gpu = run(["inspect", "saliency", classifier, fasta, "--device", "cuda", "--batch-size", "5"], capsys)
    pd.testing.assert_frame_equal(table(cpu), table(gpu), atol=1e-5, rtol=1e-4)
