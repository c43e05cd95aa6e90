"""Training checkpoints: safetensors round trip of weights, optimiser, best weights and RNG; atomic writes."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from bioseq import workspace
from bioseq.errors import TrainingError
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.training import checkpoint


def model_and_opt(seed=0, hidden=4):
    torch.manual_seed(seed)
    model = SequenceClassifier(ModelConfig(4, 2, hidden=hidden, conv_filters=3, conv_width=3, dropout=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    return model, opt


def take_steps(model, opt, n=2):
    for _ in range(n):
        x = torch.rand(3, 6, 4, generator=torch.Generator().manual_seed(7))
        loss = model(x, torch.tensor([6, 4, 2])).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_atomic_write_success_and_failure(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    workspace.atomic_write(target, lambda tmp: open(tmp, "w").write("new"))
    assert target.read_text() == "new"

    def fail(tmp):
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        workspace.atomic_write(target, fail)
    assert target.read_text() == "new"  # the old file is untouched
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]  # and no temporary file is left


def test_save_load_round_trip(tmp_path):
    model, opt = model_and_opt()
    take_steps(model, opt)
    best_state = copy.deepcopy(model.state_dict())
    take_steps(model, opt, 1)
    history = [{"epoch": 1, "split": "val", "loss": 0.5, "auroc": math.nan}]
    torch.manual_seed(42)
    rng = torch.get_rng_state()
    path = tmp_path / "checkpoint.safetensors"
    checkpoint.save(path, model, opt, {"epoch": 3, "step": 9, "history": history, "waited": 1, "gradients": [],
                                       "best": {"loss": 0.5, "epoch": 2, "state": best_state}})
    assert path.read_bytes()[8:9] == b"{"  # safetensors: an 8-byte length, then a JSON header

    fresh, fresh_opt = model_and_opt(seed=1)
    torch.manual_seed(0)
    meta = checkpoint.load(path, fresh, fresh_opt, torch.device("cpu"))
    assert (meta["epoch"], meta["step"], meta["waited"]) == (3, 9, 1)
    assert meta["history"][0]["loss"] == 0.5 and math.isnan(meta["history"][0]["auroc"])
    assert meta["best"]["epoch"] == 2 and meta["best"]["loss"] == 0.5
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v)
        assert torch.equal(meta["best"]["state"][k], best_state[k])
    assert torch.equal(torch.get_rng_state(), rng)
    # the optimiser continues exactly as the original one would
    take_steps(model, opt, 1)
    take_steps(fresh, fresh_opt, 1)
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k


def test_load_refuses_damage_and_mismatch(tmp_path):
    model, opt = model_and_opt()
    take_steps(model, opt, 1)
    path = tmp_path / "c.safetensors"
    checkpoint.save(path, model, opt, {"epoch": 1, "step": 1, "history": [], "waited": 0, "gradients": [],
                                       "best": {"loss": 1.0, "epoch": 1, "state": copy.deepcopy(model.state_dict())}})
    other, other_opt = model_and_opt(hidden=5)
    with pytest.raises(TrainingError, match="does not match this model"):
        checkpoint.load(path, other, other_opt, torch.device("cpu"))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(TrainingError, match=r"c\.safetensors: cannot resume"):
        checkpoint.load(path, model, opt, torch.device("cpu"))
