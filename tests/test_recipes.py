"""Training recipes (bioseq.training.recipes): schedule values at known steps, label smoothing on a hand-made
example, the weight average by hand, and each recipe through the training loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import TINY
from torch import nn

from bioseq.data.position_labels import UNSCORED
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.task import Classify
from bioseq.task_tools import position_loss
from bioseq.training.config import TrainConfig
from bioseq.training.loop import train
from bioseq.training.recipes import WeightAverage, lr_factor, set_lr, smooth


def test_cosine_at_known_steps():
    assert [lr_factor("cosine", s, 4) for s in range(4)] == pytest.approx([1.0, (1 + math.sqrt(0.5)) / 2, 0.5,
                                                                           (1 - math.sqrt(0.5)) / 2])
    assert lr_factor("constant", 7, 10) == 1.0


def test_onecycle_at_known_steps_and_as_pytorch_computes_it():
    f = [lr_factor("onecycle", s, 10) for s in range(10)]
    assert f[0] == pytest.approx(1 / 25) and f[2] == pytest.approx(1.0) and f[9] == pytest.approx(1 / 250_000)
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=37)
    ours = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    for step in range(37):
        set_lr(ours, 0.5, "onecycle", step, 37)
        assert ours.param_groups[0]["lr"] == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        sched.step()


def test_label_smoothing_on_a_hand_made_example():
    logits = torch.tensor([[math.log(3.0), 0.0]])  # p = (0.75, 0.25)
    task = smooth(Classify(np.array([0]), 2), 0.2)  # the target becomes (0.9, 0.1)
    expected = -(0.9 * math.log(0.75) + 0.1 * math.log(0.25))
    assert task.loss(logits, torch.tensor([0]))[0].item() == pytest.approx(expected, rel=1e-6)
    # per position: the same at a scored position, nothing from an unscored one
    loss, count = position_loss(logits[None].repeat(1, 2, 1), torch.tensor([[0, UNSCORED]]), smoothing=0.2)
    assert loss.item() == pytest.approx(expected, rel=1e-6) and count.item() == 1
    assert smooth(Classify(np.array([0]), 2), 0.0).loss(logits, torch.tensor([0]))[0].item() == pytest.approx(
        -math.log(0.75), rel=1e-6)


def test_weight_average_by_hand():
    model = nn.Linear(1, 1, bias=False)
    avg = WeightAverage(model)
    avg.update(1, improved=True)  # still improving: not averaged
    for epoch, w in ((2, 1.0), (3, 3.0), (4, 8.0)):
        with torch.no_grad():
            model.weight.fill_(w)
        avg.update(epoch, improved=False)
    state = avg.state(lambda: [], lambda *a: None)
    assert state["weight"].item() == pytest.approx(4.0) and avg.epochs == [2, 3, 4]
    one = WeightAverage(model)
    one.update(5, improved=False)
    assert one.state(lambda: [], lambda *a: None) is None  # one epoch is no average


@pytest.mark.parametrize("recipe", [{"schedule": "onecycle"}, {"schedule": "cosine"}, {"swa": True},
                                    {"label_smoothing": 0.1}])
def test_each_recipe_trains(two_letter, recipe):
    arrays, labels = two_letter(48, seed=1)
    val_arrays, val_labels = two_letter(16, seed=2)
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=2, **{**TINY, "norm": "batch", "layers": 2}))
    cfg = TrainConfig(epochs=4, batch_size=8, device="cpu", patience=1, **recipe)
    r = train(model, arrays, labels, val_arrays, val_labels, cfg)
    assert math.isfinite(r.val_metrics["loss"]) and 1 <= r.best_epoch <= 4
    val_losses = [h["loss"] for h in r.history if h["split"] == "val"]
    assert r.val_metrics["loss"] <= min(val_losses) + 1e-6  # the kept weights are never worse on validation
