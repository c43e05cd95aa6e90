"""Attribution: exact saliency, IG and ISM on a model linear in its input; completeness; motifs; memory.

The "linear" model is a real :class:`SequenceClassifier`: one ReLU RNN unit with positive input
weights ``u`` and recurrent weight ``w``, read at the last position, no convolution. Every
pre-activation is positive, so ``h(T) = Σ_t w^(T-t) u[x(t)]`` and logit c is ``head[c] · h(T)``:
the gradient of logit c with respect to the one-hot letter at position t is ``head[c] w^(T-t) u``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.data.io import Record
from bioseq.errors import InputError
from bioseq.interpret import ism as ism_module
from bioseq.interpret.attribution import integrated_gradients, saliency
from bioseq.interpret.ism import ism
from bioseq.interpret.memory import effective_memory, memory_curve
from bioseq.interpret.motifs import motif_instances, motif_logo, motifs
from bioseq.model.classifier import build_model
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

U = np.array([0.5, 1.0, 1.5, 2.0])  # input weight per letter A C G T
HEAD = np.array([-1.0, 2.0])  # class a, class b: b is always predicted (h > 0)


def linear_bundle(w: float = 0.5, u=U, head=HEAD) -> ModelBundle:
    cfg = ModelConfig(DNA.size, 2, cell="rnn", activation="relu", hidden=1, bidirectional=False, conv=False,
                      pooling="last", dropout=0.0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        rnn = model.rnns[0]
        rnn.weight_ih_l0.copy_(torch.tensor(np.asarray(u)[None], dtype=torch.float32))
        rnn.weight_hh_l0.fill_(w)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        model.head.weight.copy_(torch.tensor(head, dtype=torch.float32)[:, None])
        model.head.bias.copy_(torch.tensor([0.3, -0.2]))
    return ModelBundle(model, DNA, ["a", "b"])


def rec(seq: str, ident: str = "s", number: int = 1) -> Record:
    return Record(ident, ident, seq, "test.fa", number)


def expected_linear_saliency(seq: str, cls: int, w: float = 0.5) -> np.ndarray:
    x = encode(seq, DNA)
    decay = w ** np.arange(len(seq) - 1, -1, -1)  # w^(T-t)
    return HEAD[cls] * decay * (x @ U)


def logits_of(bundle: ModelBundle, arrays) -> np.ndarray:
    x, lengths = pad_batch(arrays)
    with torch.no_grad():
        return bundle.model(x, lengths).numpy()


# --- saliency ---------------------------------------------------------------------------------------


def test_saliency_of_a_linear_model_is_the_weight_picked_by_each_letter():
    bundle = linear_bundle()
    seqs = ["ACGTTGCA", "GGNAC", "TACGATCGATCGTA"]  # N is a quarter of each letter
    df = saliency(bundle, [rec(s, f"s{i}", i + 1) for i, s in enumerate(seqs)])
    assert list(df.columns) == ["id", "position", "letter", "saliency", "target"]
    assert (df["target"] == "b").all()  # the prediction
    for i, s in enumerate(seqs):
        sub = df[df["id"] == f"s{i}"]
        assert sub["position"].tolist() == list(range(1, len(s) + 1))
        assert "".join(sub["letter"]) == s
        np.testing.assert_allclose(sub["saliency"], expected_linear_saliency(s, 1), rtol=1e-6, atol=1e-7)


def test_saliency_with_w_one_is_exactly_head_times_u():
    bundle = linear_bundle(w=1.0)
    df = saliency(bundle, [rec("TTGACA")])
    np.testing.assert_allclose(df["saliency"], HEAD[1] * U[[3, 3, 2, 0, 1, 0]], rtol=1e-6)


def test_saliency_for_a_chosen_class_differs_from_the_prediction():
    bundle = linear_bundle()
    seq = "ACGTAC"
    chosen = saliency(bundle, [rec(seq)], target="a")
    predicted = saliency(bundle, [rec(seq)])
    assert (chosen["target"] == "a").all() and (predicted["target"] == "b").all()
    np.testing.assert_allclose(chosen["saliency"], expected_linear_saliency(seq, 0), rtol=1e-6)
    assert np.sign(chosen["saliency"]).tolist() == [-1.0] * len(seq)


def test_unknown_class_raises_input_error():
    bundle = linear_bundle()
    for fn in (saliency, integrated_gradients, memory_curve, motifs):
        with pytest.raises(InputError, match="unknown class 'c'.*a, b"):
            fn(bundle, [rec("ACGT")], target="c")
    with pytest.raises(InputError, match="unknown class"):
        ism(bundle, rec("ACGT"), target="c")


@pytest.mark.parametrize("cfg", [
    dict(cell="lstm", layers=2, bidirectional=True, norm="batch", pooling="attention", conv=True),
    dict(cell="gru", layers=1, bidirectional=True, pooling="last", conv=False),
    dict(cell="rnn", activation="tanh", layers=2, bidirectional=False, skip=True, pooling="max", conv=True),
])
def test_saliency_does_not_depend_on_the_batch(make_bundle, cfg):
    bundle = make_bundle(seed=4, **cfg)
    short = rec("ACGTTGCAGT", "short", 1)
    others = [rec("ACGTACGTACGTACGTACGTAC", "long1", 2), rec("TTTTGGGGCCCCAAAATTGG", "long2", 3)]
    alone = saliency(bundle, [short])
    together = saliency(bundle, [others[0], short, others[1]])
    np.testing.assert_allclose(together[together["id"] == "short"]["saliency"].to_numpy(),
                               alone["saliency"].to_numpy(), rtol=1e-4, atol=1e-6)


# --- integrated gradients ---------------------------------------------------------------------------


def test_integrated_gradients_of_a_linear_model_equal_saliency():
    bundle = linear_bundle()
    records = [rec("ACGTTGCA", "x"), rec("GGNACTT", "y", 2)]
    for target in (None, "a"):
        ig = integrated_gradients(bundle, records, target=target, steps=8)
        sal = saliency(bundle, records, target=target)
        assert list(ig.columns) == ["id", "position", "letter", "ig", "target"]
        np.testing.assert_allclose(ig["ig"], sal["saliency"], rtol=1e-5, atol=1e-7)
        assert (ig["target"] == sal["target"]).all()


@pytest.mark.parametrize("cfg,tol", [
    (dict(cell="lstm", conv=False, pooling="attention", bidirectional=True), 1e-3),  # smooth: error ~ f''/(24·64²)
    (dict(cell="gru", conv=False, pooling="mean", layers=2, norm="layer"), 1e-3),
    (dict(cell="rnn", activation="tanh", conv=False, pooling="last"), 1e-3),
    (dict(cell="lstm", conv=True, pooling="max"), 1e-2),  # ReLU and max-pool kinks cost the midpoint rule more
])
def test_integrated_gradients_are_complete(make_bundle, cfg, tol):
    """Σ_positions IG = f(x) - f(0) for the target logit, up to the midpoint rule's error."""
    bundle = make_bundle(seed=1, **cfg)
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), n)) for n in (6, 17, 25)]
    records = [rec(s, f"r{i}", i + 1) for i, s in enumerate(seqs)]
    ig = integrated_gradients(bundle, records, steps=64)
    for r in records:
        sub = ig[ig["id"] == r.id]
        x = encode(r.seq, DNA)
        t = bundle.classes.index(sub["target"].iloc[0])
        fx, f0 = logits_of(bundle, [x])[0, t], logits_of(bundle, [np.zeros_like(x)])[0, t]
        assert t == int(logits_of(bundle, [x])[0].argmax())  # the target is the prediction
        assert abs(sub["ig"].sum() - (fx - f0)) <= tol, (sub["ig"].sum(), fx - f0)


# --- in-silico mutagenesis --------------------------------------------------------------------------


def test_ism_of_a_linear_model_is_the_weight_difference():
    bundle = linear_bundle()
    seq = "ACGTTGCA"
    df = ism(bundle, rec(seq))
    assert list(df.columns) == ["id", "position", "ref", "alt", "delta", "delta_prob", "target"]
    assert len(df) == len(seq) * (DNA.size - 1)
    assert not df.duplicated(["position", "alt"]).any()
    assert (df["ref"] != df["alt"]).all()
    assert (df["target"] == "b").all()
    decay = 0.5 ** (len(seq) - df["position"].to_numpy())
    ref = np.array(["ACGT".index(c) for c in df["ref"]])
    alt = np.array(["ACGT".index(c) for c in df["alt"]])
    np.testing.assert_allclose(df["delta"], HEAD[1] * decay * (U[alt] - U[ref]), rtol=1e-5, atol=1e-6)
    # delta_prob is the change of the softmax probability of the target
    base = logits_of(bundle, [encode(seq, DNA)])[0]
    p_base = np.exp(base[1]) / np.exp(base).sum()
    lb = base[1] + df["delta"].to_numpy()
    la = np.full_like(lb, base[0]) + df["delta"].to_numpy() * HEAD[0] / HEAD[1]
    np.testing.assert_allclose(df["delta_prob"], np.exp(lb) / (np.exp(lb) + np.exp(la)) - p_base, atol=1e-6)


def test_ism_for_a_chosen_class():
    bundle = linear_bundle()
    df = ism(bundle, rec("GATTACA"), target="a")
    assert (df["target"] == "a").all()
    ref = np.array(["ACGT".index(c) for c in df["ref"]])
    alt = np.array(["ACGT".index(c) for c in df["alt"]])
    decay = 0.5 ** (7 - df["position"].to_numpy())
    np.testing.assert_allclose(df["delta"], HEAD[0] * decay * (U[alt] - U[ref]), rtol=1e-5, atol=1e-6)


def test_ism_refuses_sequences_over_the_limit(monkeypatch):
    bundle = linear_bundle()
    monkeypatch.setattr(ism_module, "ISM_MAX_LENGTH", 10)
    assert len(ism(bundle, rec("A" * 10))) == 30
    with pytest.raises(InputError, match="limited to 10 letters; this one has 11"):
        ism(bundle, rec("A" * 11))


# --- motifs -----------------------------------------------------------------------------------------

MOTIF = "GATTA"


def motif_bundle(bias: float) -> ModelBundle:
    """A convolution that scores matches to MOTIF: ReLU(#matches + bias), read by max over positions.

    The gradient reaches only the best window, where letter × weight is 1 for each matching letter
    and 0 for a mismatch, so the saliency is ``head`` on the matching letters and 0 elsewhere.
    """
    cfg = ModelConfig(DNA.size, 2, cell="rnn", activation="relu", hidden=1, bidirectional=False, conv=True,
                      conv_filters=1, conv_width=len(MOTIF), conv_pool=1, pooling="max", dropout=0.0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        w = torch.zeros(1, DNA.size, len(MOTIF))
        for j, c in enumerate(MOTIF):
            w[0, "ACGT".index(c), j] = 1.0
        model.front.conv.weight.copy_(w)
        model.front.conv.bias.fill_(bias)
        rnn = model.rnns[0]
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        model.head.weight.copy_(torch.tensor([[-2.0], [2.0]]))
        model.head.bias.zero_()
    return ModelBundle(model, DNA, ["background", "motif"])


def planted(n_exact: int, n_mismatch: int, n_none: int, length: int = 20, seed: int = 0) -> list[Record]:
    """Flanks of C and G (at most 2 matches to GATTA in any window); GATTA or GCTTA planted."""
    rng = np.random.default_rng(seed)
    out = []
    kinds = ["GATTA"] * n_exact + ["GCTTA"] * n_mismatch + [None] * n_none
    for i, kmer in enumerate(kinds):
        s = "".join(rng.choice(list("CG"), length))
        if kmer:
            at = int(rng.integers(2, length - len(kmer) - 2))
            s = s[:at] + kmer + s[at + len(kmer):]
        out.append(rec(s, f"q{i + 1}", i + 1))
    return out


def test_top_motif_is_the_planted_one():
    bundle = motif_bundle(bias=-3.5)  # 5 matches -> 1.5, 4 matches -> 0.5, fewer -> 0
    records = planted(4, 2, 2)
    inst = motif_instances(bundle, records, k=5, target="motif")
    for r in records:
        got = inst[inst["id"] == r.id]
        if MOTIF in r.seq:
            assert got[["kmer", "start"]].values.tolist() == [[MOTIF, r.seq.index(MOTIF) + 1]]
            assert got["score"].iloc[0] == pytest.approx(2.0 * 5)
        elif "GCTTA" in r.seq:
            assert got[["kmer", "start"]].values.tolist() == [["GCTTA", r.seq.index("GCTTA") + 1]]
            assert got["score"].iloc[0] == pytest.approx(2.0 * 4)  # the mismatched letter scores 0
        else:
            assert got.empty
    table = motifs(bundle, records, k=5, target="motif")
    assert list(table.columns) == ["target", "motif", "count", "mean_score", "sequences"]
    assert table.iloc[0].tolist() == ["motif", MOTIF, 4, pytest.approx(10.0), 4]
    assert table.iloc[1].tolist() == ["motif", "GCTTA", 2, pytest.approx(8.0), 2]
    assert len(table) == 2


def test_motifs_per_predicted_class():
    bundle = motif_bundle(bias=-4.5)  # exact matches only
    table = motifs(bundle, planted(3, 0, 3, seed=1), k=5)
    # sequences without the motif have zero saliency, so only the motif class has candidates
    assert table[["target", "motif", "count"]].values.tolist() == [["motif", MOTIF, 3]]


def test_motif_logo_frequencies_and_bits():
    bundle = motif_bundle(bias=-3.5)
    logo = motif_logo(bundle, planted(4, 2, 2), k=5, target="motif")  # the motif is chosen by total score
    assert list(logo.columns) == ["position", "letter", "frequency", "bits"]
    assert len(logo) == len(MOTIF) * 4
    np.testing.assert_allclose(logo.groupby("position")["frequency"].sum(), 1.0)
    assert (logo["bits"] <= np.log2(4) + 1e-12).all() and (logo["bits"] >= -1e-12).all()
    freq = logo.pivot(index="position", columns="letter", values="frequency")
    bits = logo.pivot(index="position", columns="letter", values="bits")
    for p, c in enumerate(MOTIF, 1):
        if p != 2:
            assert freq.loc[p, c] == 1.0 and bits.loc[p, c] == pytest.approx(2.0)
    # position 2: A in 4 windows, C in 2 (GCTTA is within one mismatch of GATTA)
    assert freq.loc[2, "A"] == pytest.approx(2 / 3) and freq.loc[2, "C"] == pytest.approx(1 / 3)
    ic = 2 + (2 / 3) * np.log2(2 / 3) + (1 / 3) * np.log2(1 / 3)
    assert bits.loc[2, "A"] == pytest.approx(2 / 3 * ic) and bits.loc[2, "C"] == pytest.approx(1 / 3 * ic)


def test_motif_logo_of_random_model_is_well_formed(make_bundle):
    bundle = make_bundle(seed=2)
    rng = np.random.default_rng(3)
    records = [rec("".join(rng.choice(list("ACGT"), 24)), f"r{i}", i + 1) for i in range(8)]
    logo = motif_logo(bundle, records, k=4)
    if not logo.empty:
        sums = logo.groupby("position")["frequency"].sum()
        np.testing.assert_allclose(sums, 1.0)
        assert (logo["bits"] <= 2 + 1e-9).all()


# --- memory -----------------------------------------------------------------------------------------


def test_memory_of_a_last_position_model():
    bundle = linear_bundle(w=0.0)  # no recurrence: only the last letter reaches the read-out
    curve = memory_curve(bundle, [rec("ACGTACGTAC", "x"), rec("GGTACA", "y", 2)])
    assert list(curve.columns) == ["distance", "influence", "relative", "sequences"]
    assert curve["distance"].tolist() == list(range(10))
    assert curve["sequences"].tolist() == [2] * 6 + [1] * 4
    assert curve["influence"].iloc[0] == pytest.approx(HEAD[1] * np.linalg.norm(U), rel=1e-6)
    assert (curve["influence"].iloc[1:] == 0).all()
    assert curve["relative"].tolist() == [1.0] + [0.0] * 9
    assert effective_memory(curve) == 1


def test_memory_of_a_decaying_model():
    """Influence w^d: with w = 1/2 it first falls below 1% at d = 7 (1/128)."""
    bundle = linear_bundle(w=0.5)
    curve = memory_curve(bundle, [rec("ACGTACGTACGT", "x"), rec("TTGACATTGA", "y", 2)])
    np.testing.assert_allclose(curve["relative"], 0.5 ** np.arange(12), rtol=1e-5)
    np.testing.assert_allclose(curve["influence"], HEAD[1] * np.linalg.norm(U) * 0.5 ** np.arange(12), rtol=1e-5)
    assert effective_memory(curve) == 7
    assert effective_memory(curve, fraction=0.1) == 4  # 1/16 < 0.1 <= 1/8


def _curve(relative) -> pd.DataFrame:
    rel = np.asarray(relative, dtype=float)
    return pd.DataFrame({"distance": np.arange(len(rel)) * 2, "influence": rel * 3.0, "relative": rel,
                         "sequences": 1})


def test_effective_memory_on_synthetic_curves():
    # the first distance beyond the peak where influence < 1% of the peak
    assert effective_memory(_curve([0.5, 1.0, 0.3, 0.02, 0.005, 0.2])) == 8
    # values below 1% before the peak do not count
    assert effective_memory(_curve([0.001, 0.2, 1.0, 0.5, 0.0099])) == 8
    # exactly 1% is not below 1%
    assert effective_memory(_curve([1.0, 0.01, 0.0])) == 4
    # never below: the model reaches all the way back
    assert effective_memory(_curve([1.0, 0.5, 0.02])) is None
    assert effective_memory(_curve([])) is None
    assert effective_memory(pd.DataFrame(columns=["distance", "influence", "relative", "sequences"])) is None


@pytest.mark.slow
def test_saliency_peaks_on_the_planted_motif_of_a_trained_default_model(tmp_path):
    """End to end: default training on the motif task, then saliency on held-out sequences."""
    from bioseq.data.io import read_records
    from bioseq.data.source import DataOptions
    from bioseq.data.synthetic import DNA_MOTIF, motif_dna, write_fasta
    from bioseq.training.fit import fit

    train = write_fasta(tmp_path / "train.fa", motif_dna(800, seed=5))
    test = write_fasta(tmp_path / "test.fa", motif_dna(60, seed=6))
    bundle = fit(DataOptions([str(train)]), name="saliency-check").bundle
    positives = [r for r in read_records(test) if "label=motif" in r.description]
    sal = saliency(bundle, positives, target="motif")
    inside = 0
    for r in positives:
        top = sal[sal["id"] == r.id].set_index("position")["saliency"].idxmax()
        start = r.seq.find(DNA_MOTIF) + 1
        inside += start <= top < start + len(DNA_MOTIF)
    assert inside >= 0.9 * len(positives)
