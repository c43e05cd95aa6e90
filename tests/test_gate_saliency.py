"""Gate saliency: a hand-built LSTM that remembers its signal letter shows the forget gate holding the memory
from the signal to the read-out; exact identities of gradient × activation; every cell in the registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from _cells import CELL_KINDS

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import pad_batch
from bioseq.data.io import Record
from bioseq.interpret.gate_saliency import COLUMNS, gate_saliency, gate_summary, top_units
from bioseq.model import cells
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle
from bioseq.prediction.predict import encode_records

HEAD_BIAS = (-0.1, 0.1)


def memory_lstm() -> ModelBundle:
    """One LSTM unit that writes +1 (A) or -1 (T) into its cell and keeps it; C and G write nothing.

    Gates (order i, f, g, o): i = σ(10 [A or T] - 5); f = σ(6) ≈ 0.9975; g = tanh(3 [A] - 3 [T]);
    o = σ(6); no recurrent weights. The head reads the last state: logit(A-first) = 2 h, logit(T-first) = -2 h.
    """
    cfg = ModelConfig(DNA.size, 2, cell="lstm", hidden=1, layers=1, bidirectional=False, conv=False,
                      pooling="last", dropout=0.0)
    model = SequenceClassifier(cfg).eval()
    a, c, g, t = (DNA.letters.index(x) for x in "ACGT")
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        w, b = model.rnns[0].weight_ih_l0, model.rnns[0].bias_ih_l0
        w[0, [a, t]] = 10.0
        b[0] = -5.0
        b[1] = 6.0
        w[2, a], w[2, t] = 3.0, -3.0
        b[3] = 6.0
        model.head.weight.copy_(torch.tensor([[-2.0], [2.0]]))
        model.head.bias.copy_(torch.tensor(HEAD_BIAS))
    return ModelBundle(model, DNA, ["T-first", "A-first"])


def rec(seq: str, ident: str = "r") -> Record:
    return Record(ident, ident, seq, "test", 1)


SIGNAL = 3  # 1-based position of the signal letter
A_FIRST = "GC" + "A" + "CGGCGCCGGCGCGGCCGCGC"  # 23 letters: the signal, then 20 of C/G to the read-out
T_FIRST = A_FIRST.replace("A", "T")


def track(df, gate: str) -> np.ndarray:
    return gate_summary(df).query("gate == @gate").sort_values("position")["score"].to_numpy()


@pytest.mark.parametrize("seq", [A_FIRST, T_FIRST])
def test_the_forget_gate_holds_the_memory_from_the_signal_to_the_read_out(seq):
    df = gate_saliency(memory_lstm(), [rec(seq)])
    forget, inp, cell = track(df, "forget"), track(df, "input"), track(df, "cell")
    after = slice(SIGNAL, len(seq))  # positions SIGNAL+1 .. the read-out
    assert (forget[after] > 0).all()  # every position of the stretch keeps the memory, and it counts
    assert np.abs(forget[:SIGNAL]).max() == 0.0  # nothing to keep before the signal
    assert (df.query("gate == 'forget'")["value"] > 0.99).all()
    assert int(np.argmax(inp)) + 1 == SIGNAL and np.abs(np.delete(inp, SIGNAL - 1)).max() < 1e-6  # written once
    assert (cell[SIGNAL - 1:] > 0).all() and np.abs(cell[:SIGNAL - 1]).max() == 0.0
    assert set(df["target"]) == {"A-first" if "A" in seq else "T-first"}  # the predicted class


def test_explaining_the_other_class_turns_the_memory_negative():
    df = gate_saliency(memory_lstm(), [rec(A_FIRST)], target="T-first")
    assert (track(df, "forget")[SIGNAL:] < 0).all()


def test_the_forget_score_is_f_times_the_previous_cell_times_the_cell_gradient():
    df = gate_saliency(memory_lstm(), [rec(A_FIRST)])
    by = {g: d.sort_values("position") for g, d in df.groupby("gate")}
    f, c = by["forget"]["value"].to_numpy(), by["cell"]["value"].to_numpy()
    dy_dc = by["cell"]["score"].to_numpy()[SIGNAL:] / c[SIGNAL:]  # the cell's score is C(t) dy/dC(t)
    expected = f[SIGNAL:] * c[SIGNAL - 1:-1] * dy_dc
    np.testing.assert_allclose(by["forget"]["score"].to_numpy()[SIGNAL:], expected, rtol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell,activation", CELL_KINDS)
def test_last_hidden_scores_add_up_to_the_logit_minus_the_bias(cell, activation, bidirectional, make_bundle):
    bundle = make_bundle(DNA, ("a", "b"), 3, cell=cell, activation=activation, conv=False, layers=1,
                         bidirectional=bidirectional, pooling="last")
    records = [rec("ACGTTGCAAGT", "x"), rec("GGATC", "y")]
    df = gate_saliency(bundle, records, target="b")
    assert list(df.columns) == COLUMNS
    spec = cells.get(cell)
    h, dirs = bundle.model.cfg.hidden, 2 if bidirectional else 1
    assert len(df) == (11 + 5) * h * len(spec.gates) * dirs and set(df["gate"]) == set(spec.gates)
    x, lengths = pad_batch(encode_records(bundle, records))
    with torch.no_grad():
        logits = bundle.model(x, lengths)[:, 1].numpy()
        bias = float(bundle.model.head.bias[1])
    for r, n, logit in zip(records, (11, 5), logits):
        hid = df[(df["id"] == r.id) & (df["gate"] == "hidden")]
        read = hid[((hid["direction"] == "forward") & (hid["position"] == n)) |
                   ((hid["direction"] == "reverse") & (hid["position"] == 1))]
        assert read["score"].sum() == pytest.approx(logit - bias, rel=1e-5, abs=1e-6)
    assert all(p.grad is None for p in bundle.model.parameters())  # a shared model is left untouched


def test_summary_and_top_units_by_hand():
    rows = [(1, 1, 0.4, 2.0), (1, 2, 0.6, -3.0), (2, 1, 0.5, 1.0), (2, 2, 0.7, 1.0)]  # position, unit, value, score
    df = pd.DataFrame([{"id": "r", "layer": 1, "direction": "forward", "position": p, "span_start": p, "span_end": p,
                        "unit": u, "gate": "forget", "value": v, "score": sc, "target": "a"} for p, u, v, sc in rows])
    s = gate_summary(df)
    row = s[(s["gate"] == "forget") & (s["position"] == 1)].iloc[0]
    assert (row["score"], row["abs_score"], row["value"]) == pytest.approx((-1.0, 5.0, 0.5))
    top = top_units(df, n=1)
    assert top["unit"].unique().tolist() == [2] and top["rank"].unique().tolist() == [1]  # |−3| + |1| > |2| + |1|


def test_no_records_give_an_empty_table():
    assert list(gate_saliency(memory_lstm(), []).columns) == COLUMNS


@pytest.mark.slow
def test_a_trained_lstm_keeps_the_distant_signal_through_its_forget_gates():
    """memory_dna: which 8-mer sits in positions 1-12 sets the class; the read-out is position 25. A small
    LSTM (32 units, forget bias 1) trained to fit it (~20 s on one core): averaged over held-out records,
    the forget gates' and the cell state's saliency is positive at every position of the stretch 13..25."""
    from bioseq.data.encoding import encode
    from bioseq.data.synthetic import memory_dna
    from bioseq.training.config import TrainConfig, seed_everything
    from bioseq.training.loop import train

    def arrays(rs):
        return [encode(s, DNA) for _, s, _ in rs], np.array([int(y[-1]) - 1 for *_, y in rs])

    seed_everything(0)
    cfg = ModelConfig(DNA.size, 2, cell="lstm", hidden=32, layers=1, bidirectional=False, conv=False,
                      pooling="last", dropout=0.0, forget_bias=1.0)
    model = SequenceClassifier(cfg)
    result = train(model, *arrays(memory_dna(2000, 25, seed=0)), *arrays(memory_dna(64, 25, seed=1)),
                   TrainConfig(epochs=12, batch_size=32, lr=0.003, device="cpu", patience=100))
    assert result.val_metrics["accuracy"] >= 0.95  # it has learned the distant signal
    bundle = ModelBundle(model.eval(), DNA, ["kmer1", "kmer2"])
    held_out = [rec(s, i) for i, s, _ in memory_dna(40, 25, seed=7)]
    summary = gate_summary(gate_saliency(bundle, held_out))
    for gate in ("forget", "cell"):
        mean = summary[summary["gate"] == gate].groupby("position")["score"].mean()
        assert (mean.loc[13:25] > 0).all(), (gate, mean.round(3).tolist())


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell,activation", CELL_KINDS)
def test_a_labellers_hidden_scores_at_t_add_up_to_its_logit_there(cell, activation, bidirectional, make_bundle):
    """y = head(h(t)): Σ_j h_j(t) ∂y/∂h_j(t) over both directions is y minus the bias; no later forward gate scores."""
    from bioseq.errors import InputError

    bundle = make_bundle(DNA, ("a", "b"), 4, cell=cell, activation=activation, conv=False, layers=1,
                         bidirectional=bidirectional, task="label", conv_pool=1)
    records, t = [rec("ACGTTGCAAGT", "x"), rec("GGATC", "y")], 4
    df = gate_saliency(bundle, records, target="b", position=t)
    assert list(df.columns) == [*COLUMNS, "at"] and (df["at"] == t).all()
    x, lengths = pad_batch(encode_records(bundle, records))
    with torch.no_grad():
        logits = bundle.model(x, lengths)[:, t - 1, 1].numpy()
        bias = float(bundle.model.head.bias[1])
    for r, logit in zip(records, logits):
        hid = df[(df["id"] == r.id) & (df["gate"] == "hidden") & (df["position"] == t)]
        assert hid["score"].sum() == pytest.approx(logit - bias, rel=1e-5, abs=1e-6)
    later = df[(df["direction"] == "forward") & (df["position"] > t)]
    assert len(later) and (later["score"] == 0).all()
    with pytest.raises(InputError, match="choose the position to explain"):
        gate_saliency(bundle, records)
