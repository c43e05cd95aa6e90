"""G[t, s] = ‖∂C⁽ᵗ⁾/∂h⁽ˢ⁾‖ in a labeller: zero ahead of t one way, autograd by hand, both directions, profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.data.io import Record
from bioseq.errors import InputError
from bioseq.interpret.position_gradients import (
    COLUMNS,
    PROFILE_COLUMNS,
    REACH_COLUMNS,
    flow_reach,
    position_gradients,
    position_profile,
    sample_positions,
    table_profile,
)
from bioseq.interpret.unrolled import unrolled_outputs
from bioseq.model import cells
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

LABELS = ["C", "E", "H"]


def labeller(seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    opts = {"hidden": 3, "conv": False, "bidirectional": False, "dropout": 0.0, "conv_pool": 1,
            "conv_filters": 4, "conv_width": 3, "task": "label", **cfg}
    return ModelBundle(SequenceClassifier(ModelConfig(DNA.size, len(LABELS), **opts)).eval(), DNA, list(LABELS))


def rec(seq: str, ident: str = "s", number: int = 1) -> Record:
    return Record(ident, ident, seq, "test.fa", number)


SEQ = "ACGTTGCA"


def flow_matrix(df: pd.DataFrame, layer: int = 1, direction: str = "forward") -> np.ndarray:
    """One layer and direction of a position_gradients table as a matrix: row i the i-th measured t, column
    s - 1 the state at s."""
    sub = df[(df["layer"] == layer) & (df["direction"] == direction)]
    return sub.pivot(index="t", columns="s", values="grad_norm").to_numpy()


def test_layout_one_row_per_layer_direction_t_and_s():
    bundle = labeller(layers=2, bidirectional=True)
    df = position_gradients(bundle, rec(SEQ))
    assert list(df.columns) == COLUMNS
    assert len(df) == 2 * 2 * 8 * 8  # layers x directions x t x s
    sub = df[(df["layer"] == 1) & (df["direction"] == "forward")]
    assert sub["t"].tolist() == list(np.repeat(np.arange(1, 9), 8))
    assert sub["s"].tolist() == list(range(1, 9)) * 8
    assert (sub["distance"] == sub["t"] - sub["s"]).all()
    assert flow_matrix(df, 2, "reverse").shape == (8, 8)
    chosen = position_gradients(bundle, rec(SEQ), positions=[3, 7])
    assert sorted(set(chosen["t"])) == [3, 7]
    np.testing.assert_allclose(flow_matrix(chosen, 1, "forward"), flow_matrix(df, 1, "forward")[[2, 6]], rtol=1e-6)


@pytest.mark.parametrize("cell", cells.names())
def test_the_unrolled_stand_in_is_the_labeller_itself(cell):
    """G is the gradient of the model's own outputs: the unrolled run gives the fused model's logits."""
    bundle = labeller(cell=cell, layers=2, bidirectional=True, conv=True, norm="batch", skip=True, seed=7)
    with torch.no_grad():
        for norm in bundle.model.norms:  # non-trivial running statistics
            norm.running_mean.copy_(torch.randn_like(norm.running_mean))
            norm.running_var.copy_(torch.rand_like(norm.running_var) + 0.5)
    x, lengths = pad_batch([encode(s, DNA) for s in ("ACGTTGCA", "GGA", "TTACG")])
    with torch.no_grad():
        out, _, _, steps = unrolled_outputs(bundle.model, x, lengths)
        np.testing.assert_allclose(bundle.model.per_position(out, steps), bundle.model(x, lengths), atol=1e-5)


@pytest.mark.parametrize("cell,extra", [*((c, {}) for c in cells.names()),
                                        ("lstm", {"conv": True, "norm": "batch", "skip": True})])
def test_a_forward_model_sends_no_error_to_later_states(cell, extra):
    bundle = labeller(cell=cell, layers=2, seed=1, **extra)
    df = position_gradients(bundle, rec(SEQ))
    assert set(df["direction"]) == {"forward"}
    assert (df.loc[df["s"] > df["t"], "grad_norm"] == 0).all()  # exactly zero: no path from x(s > t) to C(t)
    assert (df.loc[df["s"] == df["t"], "grad_norm"] > 0).all()


def _hand_grads(bundle: ModelBundle, seq: str, labels: list[int]) -> np.ndarray:
    """G[t, s] of a one-layer tanh RNN by torch.autograd.functional.jacobian of the recurrence run from h(s)."""
    rnn, head = bundle.model.rnns[0], bundle.model.head
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double()
    v, c = head.weight.detach().double(), head.bias.detach().double()
    x = torch.from_numpy(encode(seq, DNA)).double()
    n = len(seq)
    h, states = torch.zeros(w_hh.shape[0], dtype=torch.float64), []
    for k in range(n):
        h = torch.tanh(w_ih @ x[k] + w_hh @ h + b)
        states.append(h)
    out = np.zeros((n, n))
    for t in range(n):
        for s in range(t + 1):
            def loss_from(hs, s=s, t=t):
                for k in range(s + 1, t + 1):
                    hs = torch.tanh(w_ih @ x[k] + w_hh @ hs + b)
                return torch.nn.functional.cross_entropy((v @ hs + c)[None], torch.tensor([labels[t]]))
            out[t, s] = float(torch.linalg.norm(torch.autograd.functional.jacobian(loss_from, states[s])))
    return out


def test_matches_autograd_of_a_hand_unrolled_rnn():
    bundle = labeller(cell="rnn", hidden=2, seed=4)
    labels = [0, 2, 1, 1, 0, 2, 2, 1]
    got = flow_matrix(position_gradients(bundle, rec(SEQ), labels="".join(LABELS[i] for i in labels)))
    np.testing.assert_allclose(got, _hand_grads(bundle, SEQ, labels), rtol=1e-4, atol=1e-7)


def _hand_lstm_grads(bundle: ModelBundle, seq: str, labels: list[int]) -> np.ndarray:
    """G[t, s] of a one-layer LSTM by jacobian of the recurrence run from h(s), the cell state C(s) held as it is
    (∂C⁽ᵗ⁾/∂h⁽ˢ⁾ is the derivative along h; C(s) is its own path)."""
    rnn, head = bundle.model.rnns[0], bundle.model.head
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double()
    v, c0 = head.weight.detach().double(), head.bias.detach().double()
    x = torch.from_numpy(encode(seq, DNA)).double()
    n, hsz = len(seq), w_hh.shape[1]

    def step(k, h, c):
        i, f, g, o = (w_ih @ x[k] + w_hh @ h + b).split(hsz)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c

    h, c, states = torch.zeros(hsz, dtype=torch.float64), torch.zeros(hsz, dtype=torch.float64), []
    for k in range(n):
        h, c = step(k, h, c)
        states.append((h, c))
    out = np.zeros((n, n))
    for t in range(n):
        for s in range(t + 1):
            def loss_from(hs, s=s, t=t):
                cs = states[s][1]
                for k in range(s + 1, t + 1):
                    hs, cs = step(k, hs, cs)
                return torch.nn.functional.cross_entropy((v @ hs + c0)[None], torch.tensor([labels[t]]))
            out[t, s] = float(torch.linalg.norm(torch.autograd.functional.jacobian(loss_from, states[s][0])))
    return out


def test_an_lstm_matches_autograd_along_its_hidden_state():
    bundle = labeller(cell="lstm", hidden=3, seed=9)
    labels = [2, 2, 0, 1, 1, 0, 2, 1]
    got = flow_matrix(position_gradients(bundle, rec(SEQ), labels="".join(LABELS[i] for i in labels)))
    np.testing.assert_allclose(got, _hand_lstm_grads(bundle, SEQ, labels), rtol=1e-4, atol=1e-7)


def test_without_labels_the_predicted_label_is_the_target():
    bundle = labeller(cell="rnn", hidden=2, seed=4)
    with torch.no_grad():
        logits = bundle.model(torch.from_numpy(encode(SEQ, DNA))[None], torch.tensor([len(SEQ)]))[0]
    predicted = logits.argmax(1).tolist()
    got = flow_matrix(position_gradients(bundle, rec(SEQ)))
    np.testing.assert_allclose(got, _hand_grads(bundle, SEQ, predicted), rtol=1e-4, atol=1e-7)
    chosen = flow_matrix(position_gradients(bundle, rec(SEQ), target="E"))
    np.testing.assert_allclose(chosen, _hand_grads(bundle, SEQ, [1] * 8), rtol=1e-4, atol=1e-7)


def test_a_bidirectional_models_reverse_direction_reaches_forward():
    bundle = labeller(cell="lstm", bidirectional=True, seed=2)
    df = position_gradients(bundle, rec(SEQ))
    fwd, rev = flow_matrix(df, 1, "forward"), flow_matrix(df, 1, "reverse")
    later, earlier = np.triu_indices(8, 1), np.tril_indices(8, -1)
    assert (fwd[later] == 0).all() and (fwd[earlier] > 0).all()  # forward: only states at or before t
    assert (rev[earlier] == 0).all() and (rev[later] > 0).all()  # reverse: only states at or after t
    deep = position_gradients(labeller(cell="lstm", bidirectional=True, layers=2, seed=2), rec(SEQ))
    assert (flow_matrix(deep, 1, "forward")[later] > 0).all()  # layer 1 feeds layer 2's reverse direction


def test_unscored_positions_are_not_loss_positions():
    bundle = labeller(cell="gru", seed=3)
    bundle.meta["labelling"] = {"ignore_label": "-"}
    df = position_gradients(bundle, rec(SEQ), labels="CE-HH--C")
    assert sorted(set(df["t"])) == [1, 2, 4, 5, 8]
    with pytest.raises(InputError, match="test.fa: record 1 \\(s\\): position 2: label 'X' is not one of"):
        position_gradients(bundle, rec(SEQ), labels="CXCCCCCC")
    with pytest.raises(InputError, match="label track has 3 positions but the sequence has 8"):
        position_gradients(bundle, rec(SEQ), labels="CEH")
    with pytest.raises(InputError, match="position 9 is outside the sequence"):
        position_gradients(bundle, rec(SEQ), positions=[9])


def test_long_records_measure_sampled_positions():
    assert sample_positions(4, 8).tolist() == [1, 2, 3, 4]
    assert sample_positions(100, 5).tolist() == [1, 26, 50, 75, 100]
    df = position_gradients(labeller(), rec("ACGT" * 10), max_positions=4)
    assert sorted(set(df["t"])) == [1, 14, 27, 40]


def test_a_classifier_is_refused():
    torch.manual_seed(0)
    clf = ModelBundle(SequenceClassifier(ModelConfig(DNA.size, 2, hidden=2, conv=False)).eval(), DNA, ["a", "b"])
    with pytest.raises(InputError, match="needs a labeller"):
        position_gradients(clf, rec(SEQ))


def test_profile_of_one_record_is_its_relative_gradients_by_distance():
    bundle = labeller(cell="lstm", bidirectional=True, seed=5)
    df = position_gradients(bundle, rec(SEQ))
    peak = df.groupby("t")["grad_norm"].transform("max")
    df = df.assign(relative=df["grad_norm"] / peak)
    want = df.groupby(["direction", "distance"], as_index=False).agg(relative=("relative", "mean"),
                                                                     grad_norm=("grad_norm", "mean"))
    prof = position_profile(bundle, [rec(SEQ)], min_share=0)
    assert list(prof.columns) == PROFILE_COLUMNS
    assert prof["distance"].tolist() == list(range(-7, 8)) * 2
    assert prof["direction"].tolist() == ["forward"] * 15 + ["reverse"] * 15
    merged = prof.merge(want, on=["direction", "distance"], suffixes=("", "_want"))
    np.testing.assert_allclose(merged["relative"], merged["relative_want"], rtol=1e-6)
    np.testing.assert_allclose(merged["grad_norm"], merged["grad_norm_want"], rtol=1e-6)
    assert (prof["positions"] == 8 - prof["distance"].abs()).all() and (prof["sequences"] == 1).all()
    assert (prof.loc[(prof["direction"] == "forward") & (prof["distance"] < 0), "relative"] == 0).all()


def test_profile_does_not_depend_on_the_batch_and_drops_rare_distances():
    bundle = labeller(cell="gru", seed=6)
    records = [rec("ACGTAC", "a"), rec("GGTTACGATT", "b", 2), rec("TTGCA", "c", 3)]
    alone = position_profile(bundle, records[:1], min_share=0)
    together = position_profile(bundle, records, min_share=0, batch_size=1)
    batched = position_profile(bundle, records, min_share=0)
    pd.testing.assert_frame_equal(together, batched, rtol=1e-5)
    assert together["sequences"].max() == 3
    tables = pd.concat([position_gradients(bundle, r) for r in records], ignore_index=True)
    pd.testing.assert_frame_equal(table_profile(tables, min_share=0), together, rtol=1e-5, check_dtype=False)
    kept = position_profile(bundle, records)  # at least 2 of the 3 records must reach a distance
    assert kept["distance"].abs().max() == 5 and (kept["sequences"] >= 2).all()
    assert len(alone) == 11


def test_reach_reads_how_far_the_error_goes():
    prof = pd.DataFrame({"layer": 1, "direction": "forward", "distance": [-2, -1, 0, 1, 2, 3, 4],
                         "relative": [0.0, 0.0, 1.0, 0.3, 0.02, 0.005, 0.011]})
    reach = flow_reach(prof)
    assert list(reach.columns) == REACH_COLUMNS
    assert reach.iloc[0][["back", "ahead", "measured_back", "measured_ahead"]].tolist() == [4, 0, 4, 2]
    assert flow_reach(prof, fraction=0.1).iloc[0]["back"] == 1


def test_the_model_is_left_untouched():
    bundle = labeller(cell="lstm", bidirectional=True)
    before = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    position_profile(bundle, [rec(SEQ)])
    assert all(p.grad is None for p in bundle.model.parameters())
    assert all(torch.equal(before[k], v) for k, v in bundle.model.state_dict().items())


@pytest.mark.parametrize("rows", [1, 3, 64])
def test_copies_of_the_batch_give_the_same_gradients(rows, monkeypatch):
    """One copy per loss position (and several backward passes over one run) changes no number."""
    import bioseq.interpret.position_gradients as pgrad

    bundle = labeller(cell="lstm", bidirectional=True, layers=2, seed=8)
    records = [rec("ACGTTGCA", "a"), rec("GGATC", "b", 2)]
    want = pd.concat([position_gradients(bundle, r) for r in records], ignore_index=True)
    monkeypatch.setattr(pgrad, "ROWS", rows)
    got = pd.concat([position_gradients(bundle, r) for r in records], ignore_index=True)
    pd.testing.assert_frame_equal(got, want, rtol=1e-5)
    pd.testing.assert_frame_equal(position_profile(bundle, records, min_share=0), table_profile(want, min_share=0),
                                  rtol=1e-5, check_dtype=False)
