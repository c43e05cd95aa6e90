"""Mixed precision (``--amp``) and the CUDA path: dtype choice, float16 loss scaling, training under autocast.

Tests marked ``gpu`` need a CUDA GPU and skip without one (``python bench/gpu_check.py`` runs them there).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from bioseq.data.encoding import pad_batch
from bioseq.errors import TrainingError
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.precision import amp_dtype, autocast, grad_scaler
from bioseq.training.config import TrainConfig
from bioseq.training.loop import evaluate, scaled_step, to_device, train
from bioseq.training.recorder import GradientRecorder

CUDA = torch.device("cuda")


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    opts = {"hidden": 8, "conv_filters": 8, "conv_width": 3, "dropout": 0.0}
    opts.update(kw)
    return SequenceClassifier(ModelConfig(4, 2, **opts))


@pytest.fixture
def task(two_letter):
    return (*two_letter(64, seed=0), *two_letter(32, seed=1))


def test_amp_choices_by_device():
    cpu = torch.device("cpu")
    assert amp_dtype("off", cpu) is None and amp_dtype(None, cpu) is None
    assert amp_dtype("auto", cpu) is None  # float32 on a CPU
    assert amp_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(TrainingError, match="needs a CUDA GPU"):
        amp_dtype("fp16", cpu)
    with pytest.raises(TrainingError, match="unknown mixed precision 'fp8'"):
        amp_dtype("fp8", cpu)
    assert grad_scaler("bf16", cpu) is None and grad_scaler("off", cpu) is None
    with autocast("off", cpu):
        assert not torch.is_autocast_enabled("cpu")
    with autocast("bf16", cpu):
        assert torch.is_autocast_enabled("cpu")


def test_bf16_training_on_the_cpu_runs_and_reports_float32(task):
    """The autocast path of the loop (bf16 works on any CPU): finite history, gradient rows, float32 probabilities."""
    result = train(tiny(), *task, TrainConfig(epochs=2, batch_size=16, device="cpu", amp="bf16"))
    assert all(math.isfinite(r["loss"]) for r in result.history)
    assert len(result.gradients) == 2 * 4 and all(math.isfinite(r["grad_norm"]) for r in result.gradients)
    _, probs = evaluate(tiny(), task[2], task[3], amp="bf16")
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-2)


def test_fp16_on_the_cpu_is_refused_with_the_option_named(task):
    with pytest.raises(TrainingError, match="fp16"):
        train(tiny(), *task, TrainConfig(epochs=1, device="cpu", amp="fp16"))


def scaled_run(model, x, lengths, y, scale: float, poison: bool = False):
    """One :func:`scaled_step` with a CPU loss scaler; returns the recorder and the scaler."""
    recorder = GradientRecorder(model)
    scaler = torch.amp.GradScaler("cpu", init_scale=scale)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    loss = nn.functional.cross_entropy(model(x, lengths), y) * (math.inf if poison else 1.0)
    scaled_step(scaler, loss, opt, model, None, recorder, epoch=1, step=1)
    return recorder, scaler


def test_scaled_step_records_the_unscaled_gradient_and_forgets_a_skipped_step():
    x, lengths = pad_batch([np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 1]], np.eye(4, dtype=np.float32)[[2, 2]]])
    y = torch.tensor([0, 1])
    model = tiny(conv=False)
    plain = copy.deepcopy(model)
    nn.functional.cross_entropy(plain(x, lengths), y).backward()
    want = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in plain.rnns[0].parameters()))
    recorder, _ = scaled_run(model, x, lengths, y, scale=1024.0)
    assert recorder.table()[0]["grad_norm"] == pytest.approx(want, rel=1e-5)  # recorded after unscaling
    before = copy.deepcopy(model.state_dict())
    recorder, scaler = scaled_run(model, x, lengths, y, scale=1024.0, poison=True)
    assert recorder.table() == [] and scaler.get_scale() == 512.0  # skipped: no row, lower scale
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


# --- on a CUDA GPU --------------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("bidirectional", [True, False])
def test_cuda_packed_run_matches_the_cpu_fast_path(bidirectional, two_letter, monkeypatch):
    """On CUDA the model runs cuDNN's packed kernels; outputs and gradients agree with the CPU fast path."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # float32 products, not TF32
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    arrays, y = two_letter(12, seed=3, min_len=3, max_len=30)
    x, lengths = pad_batch(arrays)
    got = {}
    for device in ("cpu", "cuda"):
        model = tiny(bidirectional=bidirectional, conv=True, pooling="mean", layers=2).to(device).train()
        out = model(x.to(device), lengths)
        nn.functional.cross_entropy(out, torch.as_tensor(y, device=device)).backward()
        got[device] = (out.detach().cpu(), {n: p.grad.cpu() for n, p in model.named_parameters()})
    torch.testing.assert_close(got["cuda"][0], got["cpu"][0], atol=1e-4, rtol=1e-4)
    for name, g in got["cpu"][1].items():
        torch.testing.assert_close(got["cuda"][1][name], g, atol=1e-4, rtol=1e-3, msg=name)


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["off", "auto", "bf16", "fp16"])
def test_training_on_cuda_learns_under_each_precision(amp, task):
    result = train(tiny(), *task, TrainConfig(epochs=6, batch_size=16, lr=1e-2, device="cuda", amp=amp))
    assert result.val_metrics["accuracy"] >= 0.9
    assert result.gradients and all(math.isfinite(r["grad_norm"]) for r in result.gradients)
    if amp == "auto":
        assert amp_dtype("auto", CUDA) is (torch.bfloat16 if torch.cuda.is_bf16_supported() else None)


@pytest.mark.gpu
def test_pinned_copy_to_the_gpu_keeps_the_values():
    x = torch.randn(4, 7, 3)
    y = to_device(x, CUDA)
    assert y.device.type == "cuda" and torch.equal(y.cpu(), x)


@pytest.mark.gpu
def test_prediction_hook_runs_the_forward_in_bf16_on_cuda(task):
    model = tiny().to(CUDA).eval()
    x, lengths = pad_batch(task[2][:8])
    with torch.no_grad(), autocast("bf16", CUDA):
        logits = model(x.to(CUDA), lengths)
    assert logits.dtype == torch.bfloat16
    with torch.no_grad():
        full = model(x.to(CUDA), lengths)
    torch.testing.assert_close(logits.float(), full, atol=5e-2, rtol=5e-2)
