"""What the interpretation methods share: records as the model sees them, targets, batches, input gradients."""

from __future__ import annotations

import numpy as np
import pytest
from _linear import HEAD, U, decay, linear_bundle, rec, records

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.errors import InputError
from bioseq.interpret.inputs import batches, check_length, input_gradients, prepared, prepared_lengths, resolve_targets


def test_prepared_is_what_the_model_sees():
    bundle = linear_bundle()
    bundle.max_length, bundle.length_policy = 4, "end"
    seqs, arrays = prepared(bundle, records("ACGTTG", "GA"))
    assert seqs == ["GTTG", "GA"] and [a.shape for a in arrays] == [(4, 4), (2, 4)]
    assert prepared_lengths(bundle, records("ACGTTG", "GA")) == [4, 2]


def test_targets_are_the_chosen_class_or_each_prediction():
    bundle = linear_bundle(head=np.array([2.0, -1.0]))  # now class a is always predicted
    arrays = [encode("ACGT", DNA), encode("GG", DNA)]
    assert resolve_targets(bundle, arrays, None).tolist() == [0, 0]
    assert resolve_targets(bundle, arrays, "b").tolist() == [1, 1]
    assert resolve_targets(bundle, [], None).tolist() == []
    with pytest.raises(InputError, match="unknown class 'z'; the model's classes are a, b"):
        resolve_targets(bundle, arrays, "z")


def test_input_gradients_take_one_target_for_all_or_one_per_record():
    bundle = linear_bundle()
    arrays = [encode("ACG", DNA), encode("TTAC", DNA)]
    expected = [HEAD[c] * decay(len(a))[:, None] * U[None, :] for a, c in zip(arrays, (0, 1))]
    grads, targets = input_gradients(bundle, arrays, np.array([0, 1]))
    assert targets.tolist() == [0, 1]
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6)
    grads, targets = input_gradients(bundle, arrays, None)
    assert targets.tolist() == [1, 1]
    np.testing.assert_allclose(grads[0], HEAD[1] * decay(3)[:, None] * U[None, :], rtol=1e-6)


def test_batches_group_lengths():
    bundle = linear_bundle()
    arrays = [np.zeros((n, 4), dtype=np.float32) for n in (5, 3, 5, 3, 4)]
    same = [(idx.tolist(), tuple(x.shape), lengths.tolist()) for idx, x, lengths in batches(bundle, arrays, 2, True)]
    assert same == [([1, 3], (2, 3, 4), [3, 3]), ([4], (1, 4, 4), [4]), ([0, 2], (2, 5, 4), [5, 5])]
    mixed = [idx.tolist() for idx, _, _ in batches(bundle, arrays, 2)]
    assert mixed == [[1, 3], [4, 0], [2]]


def test_check_length_names_the_record():
    check_length(rec("ACGT"), 4, 4, "a method")
    check_length(rec("ACGT"), 4, None, "a method")
    with pytest.raises(InputError, match=r"record 1 \(s\): a method is limited to 3 letters; this one has 4"):
        check_length(rec("ACGT"), 4, 3, "a method")
