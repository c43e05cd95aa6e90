"""The training objectives: the labelling loss is the mean of the per-position cross-entropies over scored
positions (C = Σₜ C⁽ᵗ⁾ per scored position), with per-label weights; unscored positions count nowhere."""

from __future__ import annotations

import math

import numpy as np
import torch

from bioseq.data.position_labels import UNSCORED
from bioseq.task import Label, class_weight_vector, pad_targets, position_loss

LOGITS = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]],
                       [[1.0, 1.0, 1.0], [0.5, 0.0, -0.5], [9.0, 9.0, 9.0]]])  # (B=2, T=3, C=3)
TARGETS = torch.tensor([[0, 2, UNSCORED], [1, 0, UNSCORED]])  # (2, 3): the last column unscored / padded


def hand_cross_entropies():
    """−log softmax(o)[y] at each scored position, by the formula, in a plain loop."""
    out = []
    for b in range(2):
        for t in range(3):
            y = int(TARGETS[b, t])
            if y == UNSCORED:
                continue
            o = LOGITS[b, t].tolist()
            out.append((y, -(o[y] - math.log(sum(math.exp(v) for v in o)))))
    return out


def test_loss_is_the_mean_of_the_per_position_cross_entropies_over_scored_positions():
    loss, count = position_loss(LOGITS, TARGETS)
    terms = hand_cross_entropies()
    assert len(terms) == 4 and float(count) == 4
    assert math.isclose(float(loss), sum(c for _, c in terms) / 4, rel_tol=1e-6)
    # by hand for the first position: -log(e^2 / (e^2 + 2))
    assert math.isclose(terms[0][1], -math.log(math.e ** 2 / (math.e ** 2 + 2)), rel_tol=1e-9)


def test_weighted_loss_is_the_weighted_mean():
    w = torch.tensor([0.5, 2.0, 1.0])
    loss, count = position_loss(LOGITS, TARGETS, w)
    terms = hand_cross_entropies()
    expected = sum(float(w[y]) * c for y, c in terms) / sum(float(w[y]) for y, _ in terms)
    assert math.isclose(float(loss), expected, rel_tol=1e-6) and math.isclose(float(count), 0.5 + 1 + 2 + 0.5)


def test_unscored_positions_change_neither_loss_nor_gradient():
    a = LOGITS.clone().requires_grad_(True)
    b = LOGITS.clone()
    b[:, 2] = torch.tensor([[-7.0, 4.0, 100.0], [3.0, 3.0, -3.0]])  # whatever sits at unscored positions
    b.requires_grad_(True)
    la, _ = position_loss(a, TARGETS)
    lb, _ = position_loss(b, TARGETS)
    la.backward()
    lb.backward()
    assert la.item() == lb.item()
    assert torch.equal(a.grad, b.grad) and (a.grad[:, 2] == 0).all()


def test_a_batch_with_nothing_scored_gives_zero_not_nan():
    logits = LOGITS.clone().requires_grad_(True)
    loss, count = position_loss(logits, torch.full((2, 3), UNSCORED))
    loss.backward()
    assert loss.item() == 0.0 and float(count) == 0 and (logits.grad == 0).all()


def test_pad_targets_and_flat_labels():
    tracks = [np.array([1, 0]), np.array([2, UNSCORED, 0])]
    assert pad_targets(tracks, 4).tolist() == [[1, 0, UNSCORED, UNSCORED], [2, UNSCORED, 0, UNSCORED]]
    assert Label().flat(tracks).tolist() == [1, 0, 2, UNSCORED, 0]
    # class weights count scored positions only: 2 zeros, 1 one, 1 two
    np.testing.assert_allclose(class_weight_vector(Label().flat(tracks), 3).numpy(),
                               np.array([4 / 6, 4 / 3, 4 / 3]) / np.mean([4 / 6, 4 / 3, 4 / 3]), rtol=1e-6)


def test_label_objective_keeps_probabilities_per_sequence_and_scores_scored_positions():
    tracks = [np.array([0, 2]), np.array([1, 0, UNSCORED])]
    task = Label(tracks, 3)
    buf = task.buffer()
    logits = torch.tensor([[[5.0, 0, 0], [0, 0, 5.0], [0, 0, 0]], [[0, 5.0, 0], [0, 5.0, 0], [5.0, 0, 0]]])
    task.keep(buf, np.array([0, 1]), logits, torch.tensor([2, 3]))
    assert [b.shape for b in buf] == [(2, 3), (3, 3)]
    m = task.metrics(buf, 0.1)
    assert m["accuracy"] == 0.75 and m["loss"] == 0.1  # 3 of the 4 scored positions right
    assert task.confusion(buf) == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_a_labellers_batch_loss_and_gradients_equal_the_hand_sum_over_scored_positions():
    """Padding and masking invariance of the loss and its gradients, against a per-sequence hand loop."""
    from bioseq.data.alphabets import DNA
    from bioseq.data.encoding import encode, pad_batch
    from bioseq.model.classifier import SequenceClassifier
    from bioseq.model.config import ModelConfig

    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=2, task="label", conv_pool=1, hidden=5,
                                    conv_filters=4, conv_width=3, dropout=0.0, layers=2))
    seqs = ["ACGTAC", "GG", "TTACG"]
    tracks = [np.array([0, 1, UNSCORED, 1, 0, 0]), np.array([1, UNSCORED]), np.array([0, 0, 1, 1, UNSCORED])]
    arrays = [encode(s, DNA) for s in seqs]

    def grads(loss):
        model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in model.parameters()]

    x, lengths = pad_batch(arrays)
    loss, count = position_loss(model(x, lengths), pad_targets(tracks, x.shape[1]))
    batch = grads(loss)
    total, terms = 0.0, 0
    for a, t in zip(arrays, tracks):  # each sequence alone, the cross-entropy summed at its scored positions
        logits = model(*pad_batch([a]))[0]
        for pos, y in enumerate(t):
            if y != UNSCORED:
                total = total + torch.nn.functional.cross_entropy(logits[pos][None], torch.tensor([int(y)]))
                terms += 1
    assert terms == 10 and float(count) == 10
    hand = grads(total / terms)
    torch.testing.assert_close(loss.detach(), (total / terms).detach(), atol=1e-6, rtol=1e-6)
    for g, h in zip(batch, hand):
        torch.testing.assert_close(g, h, atol=1e-6, rtol=1e-5)


def test_a_partial_epoch_is_scored_on_the_records_it_saw():
    from bioseq.task import Classify, Label

    buf = np.array([[0.9, 0.1], [0.0, 0.0], [0.2, 0.8], [0.0, 0.0]], dtype=np.float32)
    task, probs = Classify(np.array([0, 1, 1, 0]), 2).visited(buf, [np.array([2]), np.array([0])])
    assert task.labels.tolist() == [0, 1] and probs.tolist() == [buf[0].tolist(), buf[2].tolist()]
    assert task.metrics(probs, 0.5)["accuracy"] == 1.0  # the unseen rows of zeros would make it 0.5
    tracks = [np.array([0, 1]), np.array([1]), np.array([0])]
    task, probs = Label(tracks, 2).visited(["p0", None, "p2"], [np.array([2, 0])])
    assert [t.tolist() for t in task.labels] == [[0, 1], [0]] and probs == ["p0", "p2"]


def test_a_rare_class_weight_is_capped_and_warned_about():
    from bioseq.task_tools import WEIGHT_CAP, weight_warnings

    w = class_weight_vector(np.array([0] * 80 + [1] * 80 + [2]), 3).numpy()
    np.testing.assert_allclose(w[2] / w[0], WEIGHT_CAP, rtol=1e-6)  # inverse frequency would give 80
    np.testing.assert_allclose(w.mean(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(class_weight_vector(np.array([0, 0, 0, 1]), 2).numpy(), [0.5, 1.5], rtol=1e-6)
    assert weight_warnings({"a": 80, "b": 80, "c": 1}) == [
        "class 'c' has 1 training sequence against 80 of the largest class: its weight is capped at 10x the "
        "largest class's (inverse frequency would give 80x); so few are hard to learn: add some, or merge or drop "
        "the class (class map)"]
    assert weight_warnings({"a": 80, "b": 8}) == [] and weight_warnings({"a": 80, "b": 0}) == []
    label = weight_warnings({"H": 30, "E": 2}, weighted=False, unit="positions", word="label")[0]
    assert label.startswith("label 'E' has 2 training positions against 30 of the largest label: so few") \
        and "capped" not in label
