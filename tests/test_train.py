"""The training loop: learning, determinism, early stopping, NaN, checkpoints and resume, weights, gradients."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
from safetensors import safe_open
from torch import nn

from bioseq.data.encoding import length_batches, pad_batch
from bioseq.errors import TrainingError
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.runtime import resolve_device
from bioseq.training.config import TrainConfig, seed_everything
from bioseq.training.loop import class_weight_vector, evaluate, train


def tiny_model(seed=0, **kw):
    torch.manual_seed(seed)
    opts = {"hidden": 8, "conv_filters": 8, "conv_width": 3, "dropout": 0.1}
    opts.update(kw)
    return SequenceClassifier(ModelConfig(4, 2, **opts))


def cfg(**kw):
    opts = {"epochs": 3, "batch_size": 16, "lr": 1e-2, "device": "cpu"}
    opts.update(kw)
    return TrainConfig(**opts)


@pytest.fixture
def task(two_letter):
    """64 training and 32 validation sequences of length 6-12."""
    return (*two_letter(64, seed=0), *two_letter(32, seed=1))


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def checkpoint_meta(path):
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["bioseq_checkpoint"])


def test_tiny_task_learns(task):
    model = tiny_model()
    result = train(model, *task, cfg())
    val = [h for h in result.history if h["split"] == "val"]
    train_rows = [h for h in result.history if h["split"] == "train"]
    assert [h["epoch"] for h in val] == [1, 2, 3] and len(train_rows) == 3
    assert train_rows[-1]["loss"] < train_rows[0]["loss"]
    assert val[-1]["loss"] < val[0]["loss"]
    assert result.val_metrics["accuracy"] >= 0.9
    assert sum(map(sum, result.confusion)) == 32
    assert not result.stopped_early and not result.interrupted
    # the reported metrics are those of the restored (best) model
    m, _ = evaluate(model, task[2], task[3], loss_fn=nn.CrossEntropyLoss(weight=class_weight_vector(task[1], 2)))
    assert m["loss"] == pytest.approx(result.val_metrics["loss"], rel=1e-6)


def test_same_seed_same_history_and_weights(task):
    a, b, c = tiny_model(), tiny_model(), tiny_model()
    ra, rb = train(a, *task, cfg(seed=5)), train(b, *task, cfg(seed=5))
    rc = train(c, *task, cfg(seed=6))
    assert ra.history == rb.history and ra.gradients == rb.gradients
    assert states_equal(a.state_dict(), b.state_dict())
    assert rc.history != ra.history  # the seed drives batch order and dropout
    assert not states_equal(a.state_dict(), c.state_dict())


def test_early_stopping_restores_the_best_weights(task):
    x_tr, y_tr, x_va, y_va = task
    model = tiny_model()
    snapshots = {}

    def on_progress(p):
        if p.phase == "epoch":
            snapshots[p.epoch] = copy.deepcopy(model.state_dict())

    # validation labels are the opposite of training labels: the better it learns, the worse validation gets
    result = train(model, x_tr, y_tr, x_va, 1 - y_va, cfg(epochs=6, patience=1), callback=on_progress)
    val_losses = [h["loss"] for h in result.history if h["split"] == "val"]
    assert result.stopped_early and result.best_epoch == 1
    assert len(val_losses) == 2 and val_losses[1] > val_losses[0]
    assert states_equal(model.state_dict(), snapshots[1])
    assert not states_equal(model.state_dict(), snapshots[2])
    assert result.val_metrics["loss"] == pytest.approx(val_losses[0], rel=1e-6)


class PoisonedLoss(nn.CrossEntropyLoss):
    """Cross-entropy that turns NaN on the fifth training step (epoch 2, step 1 with 4 steps an epoch)."""

    calls = 0

    def forward(self, logits, y):
        loss = super().forward(logits, y)
        if torch.is_grad_enabled():
            PoisonedLoss.calls += 1
            if PoisonedLoss.calls >= 5:
                return loss * float("nan")
        return loss


def test_nan_loss_raises_with_advice_and_keeps_the_last_checkpoint(task, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", PoisonedLoss)
    PoisonedLoss.calls = 0
    with pytest.raises(TrainingError) as e:
        train(tiny_model(), *task, cfg(), checkpoint_path=tmp_path / "checkpoint.safetensors")
    msg = str(e.value)
    assert "loss became nan at epoch 2, step 1" in msg
    assert "lower learning rate" in msg and "clipping" in msg
    assert checkpoint_meta(tmp_path / "checkpoint.safetensors")["epoch"] == 1


def test_huge_learning_rate_raises_training_error(task):
    model = tiny_model(cell="rnn", activation="relu", conv=False)
    with pytest.raises(TrainingError, match="gradients are probably exploding"):
        train(model, *task, cfg(lr=1e6, clip=None, epochs=5))


def test_a_checkpoint_every_epoch(task, tmp_path):
    seen = []

    def on_progress(p):
        if p.phase == "epoch":
            seen.append(checkpoint_meta(tmp_path / "checkpoint.safetensors")["epoch"])

    train(tiny_model(), *task, cfg(), checkpoint_path=tmp_path / "checkpoint.safetensors", callback=on_progress)
    assert seen == [1, 2, 3]
    meta = checkpoint_meta(tmp_path / "checkpoint.safetensors")
    assert meta["step"] == 12 and len(meta["history"]) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.safetensors"]  # no temporary files left


def test_resume_gives_the_same_result_as_an_uninterrupted_run(task, tmp_path):
    full = tiny_model()
    r_full = train(full, *task, cfg())

    polls = 0

    def stop_in_epoch_two():
        nonlocal polls
        polls += 1
        return polls == 6  # epoch 2, before its second batch

    first = tiny_model()
    r_first = train(first, *task, cfg(), checkpoint_path=tmp_path / "checkpoint.safetensors",
                    should_stop=stop_in_epoch_two)
    assert r_first.interrupted and [h["epoch"] for h in r_first.history] == [1, 1]
    assert not states_equal(first.state_dict(), full.state_dict())

    resumed = tiny_model(seed=123)  # its own weights are replaced by the checkpoint
    r_resumed = train(resumed, *task, cfg(), checkpoint_path=tmp_path / "checkpoint.safetensors", resume=True)
    assert states_equal(resumed.state_dict(), full.state_dict())
    assert r_resumed.history == r_full.history
    assert r_resumed.gradients == r_full.gradients
    assert r_resumed.best_epoch == r_full.best_epoch


def test_resume_refuses_a_checkpoint_of_another_model(task, tmp_path):
    train(tiny_model(), *task, cfg(epochs=1), checkpoint_path=tmp_path / "checkpoint.safetensors")
    with pytest.raises(TrainingError, match="does not match this model"):
        train(tiny_model(hidden=5), *task, cfg(), checkpoint_path=tmp_path / "checkpoint.safetensors", resume=True)
    (tmp_path / "checkpoint.safetensors").write_bytes(b"garbage")
    with pytest.raises(TrainingError, match="cannot resume from this checkpoint"):
        train(tiny_model(), *task, cfg(), checkpoint_path=tmp_path / "checkpoint.safetensors", resume=True)


def test_stop_before_the_first_batch(task):
    model = tiny_model()
    before = copy.deepcopy(model.state_dict())
    result = train(model, *task, cfg(), should_stop=lambda: True)
    assert result.interrupted and result.history == [] and result.best_epoch == 0
    assert states_equal(model.state_dict(), before)


def test_class_weight_vector_by_hand():
    np.testing.assert_allclose(class_weight_vector(np.array([0, 0, 0, 1]), 2).numpy(), [0.5, 1.5], rtol=1e-6)
    # a class with no records gets weight 1 before normalising to mean 1
    w = np.array([4 / (3 * 4), 1.0, 1.0])
    np.testing.assert_allclose(class_weight_vector(np.array([0, 0, 0, 0]), 3).numpy(), w / w.mean(), rtol=1e-6)


@pytest.mark.parametrize("use_weights", [True, False])
def test_class_weights_reach_the_loss(task, monkeypatch, use_weights):
    made = []

    class Spy(nn.CrossEntropyLoss):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self.weight)

    monkeypatch.setattr(torch.nn, "CrossEntropyLoss", Spy)
    x_tr, y_tr, x_va, y_va = task
    keep = np.r_[np.flatnonzero(y_tr == 0), np.flatnonzero(y_tr == 1)[:8]]  # 32 : 8
    train(tiny_model(), [x_tr[i] for i in keep], y_tr[keep], x_va, y_va, cfg(epochs=1, class_weights=use_weights))
    if use_weights:
        # counts 32 and 8 of 40: inverse frequencies 40/64 and 40/16, normalised to mean 1
        np.testing.assert_allclose(made[0].numpy(), np.array([0.625, 2.5]) / 1.5625, rtol=1e-6)
    else:
        assert made[0] is None


def test_gradient_rows_one_per_layer_per_step(task):
    model = tiny_model(layers=2, dropout=0.0)
    result = train(model, *task, cfg(epochs=2))
    rows = result.gradients
    assert len(rows) == 2 * 2 * 4  # layers x epochs x steps
    assert [(r["step"], r["layer"]) for r in rows[:4]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert [r["epoch"] for r in rows if r["layer"] == 1] == [1] * 4 + [2] * 4
    every2 = train(tiny_model(layers=2), *task, cfg(epochs=2, grad_every=3)).gradients
    assert sorted({r["step"] for r in every2}) == [1, 4, 7]


def test_first_recorded_norm_equals_a_hand_computation(task):
    """Replay the first step by hand: the recorded norm is the pre-clipping L2 norm of each layer's grads."""
    x_tr, y_tr, x_va, y_va = task
    config = cfg(epochs=1, clip=1e-4, seed=3)
    result = train(tiny_model(layers=2, dropout=0.0), x_tr, y_tr, x_va, y_va, config)

    model = tiny_model(layers=2, dropout=0.0).train()
    seed_everything(config.seed)
    idx = length_batches([len(a) for a in x_tr], config.batch_size, shuffle=True,
                         rng=np.random.default_rng([config.seed, 1]))[0]
    loss_fn = nn.CrossEntropyLoss(weight=class_weight_vector(y_tr, 2))
    loss_fn(model(*pad_batch([x_tr[i] for i in idx])), torch.as_tensor(y_tr[idx])).backward()
    for layer, rnn in enumerate(model.rnns, 1):
        hand = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in rnn.parameters()))
        row = next(r for r in result.gradients if r["step"] == 1 and r["layer"] == layer)
        assert row["grad_norm"] == pytest.approx(hand, rel=1e-5)
        assert row["grad_norm"] > config.clip  # recorded before clipping


def test_progress_callback(task):
    events = []
    train(tiny_model(), *task, cfg(epochs=2), callback=lambda p: events.append((p.phase, p.epoch, p.step)))
    assert [e for e in events if e[0] == "epoch"] == [("epoch", 1, 4), ("epoch", 2, 4)]
    assert [e[2] for e in events if e[0] == "batch"] == [1, 2, 3, 4, 1, 2, 3, 4]


def test_evaluate_returns_probabilities_in_input_order(task):
    model = tiny_model().eval()
    x_va, y_va = task[2], task[3]
    metrics, probs = evaluate(model, x_va, y_va, batch_size=5)
    with torch.no_grad():
        alone = np.concatenate([torch.softmax(model(*pad_batch([a])), 1).numpy() for a in x_va])
    np.testing.assert_allclose(probs, alone, atol=1e-6)
    assert metrics["accuracy"] == pytest.approx(float((probs.argmax(1) == y_va).mean()))


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(TrainingError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="sees no CUDA GPU"):
            resolve_device("cuda")
        assert resolve_device("auto") == torch.device("cpu")
