"""Hand-built models whose attributions can be worked out on paper; not a test module itself.

Imported by the attribution tests (``test_attribution``, ``test_saliency``, ``test_ism``,
``test_captum_methods``, ``test_motifs``, ``test_memory``).

The "linear" model is a real :class:`SequenceClassifier`: one ReLU RNN unit with positive input
weights ``u`` and recurrent weight ``w``, read at the last position, no convolution. Every
pre-activation is positive, so ``h(T) = Σ_t w^(T-t) u[x(t)]`` and logit c is ``head[c] · h(T)``:
the gradient of logit c with respect to the one-hot letter at position t is ``head[c] w^(T-t) u``.

The "motif" model is a convolution that scores matches to :data:`MOTIF` (see :func:`motif_bundle`).
"""

from __future__ import annotations

import numpy as np
import torch

from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.data.io import Record
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.store import ModelBundle

U = np.array([0.5, 1.0, 1.5, 2.0])  # input weight per letter A C G T
HEAD = np.array([-1.0, 2.0])  # class a, class b: b is always predicted (h > 0)
MOTIF = "GATTA"


def linear_bundle(w: float = 0.5, u=U, head=HEAD) -> ModelBundle:
    cfg = ModelConfig(DNA.size, 2, cell="rnn", activation="relu", hidden=1, bidirectional=False, conv=False,
                      pooling="last", dropout=0.0)
    model = SequenceClassifier(cfg).eval()
    with torch.no_grad():
        rnn = model.rnns[0]
        rnn.weight_ih_l0.copy_(torch.tensor(np.asarray(u)[None], dtype=torch.float32))
        rnn.weight_hh_l0.fill_(w)
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
        model.head.weight.copy_(torch.tensor(head, dtype=torch.float32)[:, None])
        model.head.bias.copy_(torch.tensor([0.3, -0.2]))
    return ModelBundle(model, DNA, ["a", "b"])


def linear_labeller(w: float = 0.5, u=U, head=HEAD) -> ModelBundle:
    """The linear model as a labeller (labels a, b): logit c at t is ``head[c] · h(t) + bias[c]``, with
    ``h(t) = Σ_{p ≤ t} w^(t-p) u[x(p)]``; the gradient at input p is ``head[c] w^(t-p) u`` for p ≤ t, 0 after."""
    cfg = ModelConfig(DNA.size, 2, cell="rnn", activation="relu", hidden=1, bidirectional=False, conv=False,
                      dropout=0.0, task="label", conv_pool=1)
    model = SequenceClassifier(cfg).eval()
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


def records(*seqs: str) -> list[Record]:
    """Records ``s0, s1, ...`` numbered from 1."""
    return [rec(s, f"s{i}", i + 1) for i, s in enumerate(seqs)]


def decay(n: int, w: float = 0.5) -> np.ndarray:
    """``w^(T-t)`` for t = 1..T: how much of position t reaches the read-out."""
    return w ** np.arange(n - 1, -1, -1)


def expected_linear_saliency(seq: str, cls: int, w: float = 0.5, simplex: bool = False) -> np.ndarray:
    """Gradient × input of logit ``cls``: ``head[cls] w^(T-t) u·x(t)``; with the simplex correction the
    gradient is centred over the alphabet first, ``head[cls] w^(T-t) (u - mean(u))·x(t)`` (an N scores 0)."""
    x = encode(seq, DNA)
    return HEAD[cls] * decay(len(seq), w) * (x @ (U - U.mean() if simplex else U))


def logits_of(bundle: ModelBundle, arrays) -> np.ndarray:
    x, lengths = pad_batch(arrays)
    with torch.no_grad():
        return bundle.model(x, lengths).numpy()


def by_id(df, ident: str, column: str = "score") -> np.ndarray:
    return df[df["id"] == ident][column].to_numpy()


def motif_bundle(bias: float) -> ModelBundle:
    """A convolution that scores matches to MOTIF: ReLU(#matches + bias), read by max over positions.

    The gradient reaches only the best window, where letter × weight is 1 for each matching letter
    and 0 for a mismatch, so the saliency is ``head`` on the matching letters and 0 elsewhere.
    """
    cfg = ModelConfig(DNA.size, 2, cell="rnn", activation="relu", hidden=1, bidirectional=False, conv=True,
                      conv_filters=1, conv_width=len(MOTIF), conv_pool=1, pooling="max", dropout=0.0)
    model = SequenceClassifier(cfg).eval()
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
