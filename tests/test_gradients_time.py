"""‖∂C/∂h(t)‖ per layer, direction and step: layout, exact values at the read-out, full BPTT, decay."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _cells import CELL_KINDS, FUSED_CELLS

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode
from bioseq.data.io import Record
from bioseq.errors import InputError
from bioseq.interpret.gates import gate_arrays
from bioseq.interpret.time_gradients import time_gradients, time_profile
from bioseq.model import cells
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

COLUMNS = ["id", "layer", "direction", "step", "position", "distance", "grad_norm"]


def bundle_of(seed: int = 0, **cfg) -> ModelBundle:
    torch.manual_seed(seed)
    opts = {"hidden": 4, "conv_filters": 4, "conv_width": 3, "dropout": 0.0, "conv": False,
            "bidirectional": False, "pooling": "last", **cfg}
    return ModelBundle(SequenceClassifier(ModelConfig(DNA.size, 2, **opts)).eval(), DNA, ["a", "b"])


def rec(seq: str, ident: str = "s", number: int = 1) -> Record:
    return Record(ident, ident, seq, "test.fa", number)


def random_seq(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def test_columns_rows_positions_and_distances():
    bundle = bundle_of(cell="lstm", layers=2, bidirectional=True, conv=True, conv_pool=2, pooling="max")
    records = [rec(random_seq(n, n), f"r{n}", i + 1) for i, n in enumerate((9, 14, 5))]
    df = time_gradients(bundle, records)
    assert list(df.columns) == COLUMNS
    assert list(dict.fromkeys(df["id"])) == ["r9", "r14", "r5"]  # input order
    for r in records:
        steps = math.ceil(len(r.seq) / 2)
        sub = df[df["id"] == r.id]
        assert len(sub) == 2 * 2 * steps  # layers x directions x steps
        for (_, direction), g in sub.groupby(["layer", "direction"]):
            assert g["step"].tolist() == list(range(1, steps + 1))
            assert g["position"].tolist() == list(range(1, 2 * steps, 2))  # where each pooled step starts
            if direction == "forward":
                assert g["distance"].tolist() == list(range(steps - 1, -1, -1))  # 0 at the last step
            else:
                assert g["distance"].tolist() == list(range(steps))  # 0 at the first step
    assert np.isfinite(df["grad_norm"]).all() and (df["grad_norm"] >= 0).all()
    prof = time_profile(df, min_share=0)
    assert list(prof.columns) == ["layer", "direction", "distance", "grad_norm", "relative", "sequences"]
    assert len(prof) == 2 * 2 * 7  # the longest record has 7 steps
    assert ((prof["relative"] >= 0) & (prof["relative"] <= 1)).all()
    shortest = df.groupby("id")["step"].max().min()
    kept = time_profile(df)  # distances that fewer than half of the records reach are left out
    assert kept["distance"].max() >= shortest - 1 and len(kept) <= len(prof)
    assert (kept["sequences"] >= df["id"].nunique() / 2).all()


def _head_grad(bundle: ModelBundle, seq: str, target: int | None) -> tuple[np.ndarray, int]:
    """∂C/∂(read-out vector) = head.weightᵀ (softmax - onehot), by hand."""
    with torch.no_grad():
        x = torch.from_numpy(encode(seq, DNA))[None]
        logits = bundle.model(x, torch.tensor([len(seq)]))[0].numpy().astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    t = int(logits.argmax()) if target is None else target
    return bundle.model.head.weight.detach().numpy().T @ (p - np.eye(len(p))[t]), t


@pytest.mark.parametrize("cell,activation", CELL_KINDS)
@pytest.mark.parametrize("target", [None, "a", "b"])
def test_last_step_gradient_equals_the_head_by_hand(cell, activation, target):
    bundle = bundle_of(seed=2, cell=cell, activation=activation)
    seq = random_seq(11, 0)
    g, _ = _head_grad(bundle, seq, None if target is None else bundle.classes.index(target))
    df = time_gradients(bundle, [rec(seq)], target=target)
    last = df[df["distance"] == 0]
    assert len(last) == 1 and last["step"].iloc[0] == 11
    assert last["grad_norm"].iloc[0] == pytest.approx(np.linalg.norm(g), rel=1e-5)


def test_bidirectional_read_out_steps_equal_the_head_by_hand():
    """Read at the last state: forward at the last step, reverse at step 1; both end their recurrence."""
    bundle = bundle_of(seed=5, cell="gru", bidirectional=True)
    seq = random_seq(9, 1)
    g, _ = _head_grad(bundle, seq, None)
    df = time_gradients(bundle, [rec(seq)])
    d0 = df[df["distance"] == 0].set_index("direction")["grad_norm"]
    assert d0["forward"] == pytest.approx(np.linalg.norm(g[:4]), rel=1e-5)
    assert d0["reverse"] == pytest.approx(np.linalg.norm(g[4:]), rel=1e-5)


def _fused_from(rnn, cell: str, x: torch.Tensor, t: int, h_t: np.ndarray, c_t: np.ndarray | None, head, target):
    """∂C/∂h(t) the slow way: restart the fused layer at step t+1 from a leaf h(t) (and a fixed C(t))."""
    h0 = torch.tensor(h_t, dtype=torch.float32)[None, None].requires_grad_(True)
    rest = x[:, t:]
    if rest.shape[1] == 0:
        last = h0[0]
    else:
        hx = (h0, torch.tensor(c_t, dtype=torch.float32)[None, None]) if "cell" in cells.get(cell).state else h0
        out, _ = rnn(rest, hx)
        last = out[:, -1]
    loss = torch.nn.functional.cross_entropy(head(last), torch.tensor([target]))
    (g,) = torch.autograd.grad(loss, h0)
    return float(g.norm())


@pytest.mark.parametrize("cell", FUSED_CELLS)
def test_gradient_reaches_back_through_time(cell):
    """Every step's ‖∂C/∂h(t)‖ is the full BPTT gradient, checked against the fused layer restarted at t."""
    bundle = bundle_of(seed=3, cell=cell)
    seq = random_seq(10, 2)
    _, target = _head_grad(bundle, seq, None)
    arrays = gate_arrays(bundle, encode(seq, DNA))
    hidden = arrays[(1, "forward", "hidden")]
    cell_state = arrays.get((1, "forward", "cell"))
    x = torch.from_numpy(encode(seq, DNA))[None]
    df = time_gradients(bundle, [rec(seq)])
    got = df.sort_values("step")["grad_norm"].to_numpy()
    want = [_fused_from(bundle.model.rnns[0], cell, x, t, hidden[t - 1], None if cell_state is None
                        else cell_state[t - 1], bundle.model.head, target) for t in range(1, 11)]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert (got[:-1] > 0).all()  # not only the read-out step


def _hand_state_grads(bundle: ModelBundle, seq: str) -> dict[str, np.ndarray]:
    """‖∂C/∂h(t)‖ per direction by autograd through a plain loop over one sequence with the cell's step.

    One bidirectional layer, mean read-out, C the cross-entropy of the predicted class. The loop
    shares only the step function with the stand-in (the step is checked against PyTorch's fused
    layers in test_cells): no packing, no batch, no reverse walk over packed data.
    """
    model, cfg = bundle.model, bundle.model.cfg
    spec, rnn = cells.get(cfg.cell), bundle.model.rnns[0]
    x = torch.from_numpy(encode(seq, DNA))  # (T, 4)
    per_direction = []
    for sfx, xs in (("", x), ("_reverse", x.flip(0))):
        p = {k: getattr(rnn, f"{k}_l0{sfx}") for k in spec.param_names}
        state = {k: torch.zeros(1, cfg.hidden) for k in spec.state}
        hs = []
        for t in range(len(seq)):
            gates = spec.step(cfg, p, xs[t:t + 1] @ p["weight_ih"].T + p["bias_ih"], state)
            hs.append(gates["hidden"])
            state = {k: gates[k] for k in spec.state}
        per_direction.append(hs if not sfx else hs[::-1])  # both by position
    out = torch.cat([torch.cat(per_direction[0]), torch.cat(per_direction[1])], dim=1)  # (T, 2H)
    logits = model.head(out.mean(0, keepdim=True))
    with torch.no_grad():
        torch.testing.assert_close(logits, model(x[None], torch.tensor([len(seq)])), atol=1e-5, rtol=0)
    loss = torch.nn.functional.cross_entropy(logits, logits.argmax(1))
    grads = torch.autograd.grad(loss, per_direction[0] + per_direction[1])
    norms = np.array([float(g.norm()) for g in grads])
    return {"forward": norms[: len(seq)], "reverse": norms[len(seq):]}


@pytest.mark.parametrize("cell,activation", CELL_KINDS)
def test_stand_in_matches_autograd_through_a_plain_loop(cell, activation):
    bundle = bundle_of(seed=4, cell=cell, activation=activation, hidden=3, bidirectional=True, pooling="mean")
    seq = random_seq(7, 8)
    want = _hand_state_grads(bundle, seq)
    df = time_gradients(bundle, [rec(seq)])
    for direction, norms in want.items():
        got = df[df["direction"] == direction].sort_values("step")["grad_norm"].to_numpy()
        np.testing.assert_allclose(got, norms, rtol=1e-4, atol=1e-7, err_msg=direction)


def test_sigmoid_rnn_gradient_shrinks_with_distance():
    """∂C/∂h(t-1) = W_hhᵀ diag(σ'(a(t))) ∂C/∂h(t) and σ' ≤ 1/4, so each step back scales by ≤ ‖W_hh‖₂/4."""
    bundle = bundle_of(seed=7, cell="rnn", activation="sigmoid")
    seq = random_seq(12, 3)
    df = time_gradients(bundle, [rec(seq)]).sort_values("distance")
    norms = df["grad_norm"].to_numpy()
    w_hh = bundle.model.rnns[0].weight_hh_l0.detach().numpy().astype(np.float64)
    factor = np.linalg.norm(w_hh, 2) / 4
    assert factor < 1
    assert (norms[1:] <= factor * norms[:-1] * (1 + 1e-5) + 1e-12).all()
    assert (norms[1:] < norms[:-1]).all()
    # one step back, exactly: σ'(a(T)) = h(T)(1 - h(T))
    g_last, _ = _head_grad(bundle, seq, None)
    h_last = gate_arrays(bundle, encode(seq, DNA))[(1, "forward", "hidden")][-1].astype(np.float64)
    assert norms[1] == pytest.approx(np.linalg.norm(w_hh.T @ (h_last * (1 - h_last) * g_last)), rel=1e-5)


@pytest.mark.parametrize("cfg", [
    dict(cell="lstm", layers=2, bidirectional=True, norm="batch", skip=True, conv=True, pooling="attention"),
    dict(cell="rnn", activation="sigmoid", layers=2, bidirectional=True, pooling="last"),
    dict(cell="gru", layers=1, bidirectional=True, pooling="mean"),
])
def test_time_gradients_do_not_depend_on_the_batch(cfg):
    bundle = bundle_of(seed=1, **cfg)
    short = rec(random_seq(8, 4), "short")
    others = [rec(random_seq(21, 5), "long1", 2), rec(random_seq(15, 6), "long2", 3)]
    alone = time_gradients(bundle, [short])
    together = time_gradients(bundle, [others[0], short, others[1]])
    mine = together[together["id"] == "short"].reset_index(drop=True)
    np.testing.assert_array_equal(mine.drop(columns="grad_norm").to_numpy(), alone.drop(columns="grad_norm").to_numpy())
    np.testing.assert_allclose(mine["grad_norm"], alone["grad_norm"], rtol=1e-4, atol=1e-7)
    assert (alone.groupby(["layer", "direction"])["grad_norm"].apply(lambda s: (s > 0).sum()) > 1).all()


def test_unknown_class_raises_input_error():
    with pytest.raises(InputError, match="unknown class"):
        time_gradients(bundle_of(), [rec("ACGT")], target="zzz")


def test_time_gradients_leave_the_model_untouched():
    bundle = bundle_of(cell="lstm", layers=2)
    before = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    time_gradients(bundle, [rec("ACGTACGT")])
    assert all(torch.equal(before[k], v) for k, v in bundle.model.state_dict().items())
    assert all(p.grad is None for p in bundle.model.parameters())
    assert isinstance(bundle.model.rnns[0], torch.nn.LSTM)


def test_a_labeller_is_refused_in_words():
    bundle = bundle_of(task="label", conv_pool=1)
    with pytest.raises(InputError, match="a labeller gives one per position"):
        time_gradients(bundle, [rec("ACGTACGT")])
