"""Classification metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bioseq.metrics import METRICS, classification_metrics, confusion


def binary_probs(p1):
    p1 = np.asarray(p1)
    return np.stack([1 - p1, p1], axis=1)


def test_binary_metrics_by_hand():
    # predictions 0,0,1,1,0 against truth 0,0,0,1,1: TP 1, FN 1, FP 1, TN 2
    m = classification_metrics(np.array([0, 0, 0, 1, 1]), binary_probs([0.1, 0.2, 0.7, 0.8, 0.4]), loss=0.25)
    assert set(m) == set(METRICS)
    assert m["loss"] == 0.25
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["mcc"] == pytest.approx((1 * 2 - 1 * 1) / math.sqrt(2 * 2 * 3 * 3))
    assert m["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    assert m["auroc"] == pytest.approx(5 / 6)  # 5 of 6 positive-negative pairs ranked right
    assert m["auprc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_positive_class_is_the_second():
    y = np.array([0, 0, 0, 1, 1])
    p = binary_probs([0.1, 0.2, 0.7, 0.8, 0.4])
    swapped = classification_metrics(1 - y, p[:, ::-1])
    # class 0 is now the positive one: TP 2 (old TN), FP 1, FN 1
    assert swapped["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


def test_multiclass_is_macro_averaged():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.5, 0.4]])  # predictions 0,1,1,1
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx((2 / 3 + 0.8 + 0.0) / 3)  # class 2 never occurs nor is predicted
    # one-vs-rest over the classes present: class 0 ranked perfectly, class 1 gets 3 of 4 pairs right
    assert m["auroc"] == pytest.approx((1 + 3 / 4) / 2)
    assert m["auprc"] == pytest.approx((1 + (0.5 * 1 + 0.5 * 2 / 3)) / 2)


def test_undefined_metrics_are_nan():
    m = classification_metrics(np.array([1, 1, 1]), binary_probs([0.9, 0.2, 0.8]))
    assert math.isnan(m["auroc"]) and math.isnan(m["auprc"]) and math.isnan(m["loss"])
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_confusion_rows_are_true_classes():
    assert confusion(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 4) == [
        [1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("seed", range(4))
def test_numpy_metrics_are_scikit_learns(n_classes, seed):
    """The NumPy metrics reproduce scikit-learn's functions, with tied scores and classes never predicted."""
    from sklearn import metrics as skm
    from sklearn.preprocessing import label_binarize

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    y = rng.integers(0, n_classes, n)
    y[:2] = [0, 1]  # at least two classes present
    p = rng.integers(0, 6, (n, n_classes)).astype(float) + 0.01  # coarse values: many ties
    p /= p.sum(1, keepdims=True)
    m = classification_metrics(y, p)
    pred = p.argmax(1)
    want = {"accuracy": skm.accuracy_score(y, pred), "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "mcc": skm.matthews_corrcoef(y, pred)}
    if n_classes == 2:
        want.update(f1=skm.f1_score(y, pred, zero_division=0), auroc=skm.roc_auc_score(y, p[:, 1]),
                    auprc=skm.average_precision_score(y, p[:, 1]))
    else:
        onehot = label_binarize(y, classes=list(range(n_classes)))
        cols = [c for c in range(n_classes) if onehot[:, c].any()]
        want.update(f1=skm.f1_score(y, pred, average="macro", labels=list(range(n_classes)), zero_division=0),
                    auroc=np.mean([skm.roc_auc_score(onehot[:, c], p[:, c]) for c in cols]),
                    auprc=np.mean([skm.average_precision_score(onehot[:, c], p[:, c]) for c in cols]))
    for k, v in want.items():
        assert m[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k
