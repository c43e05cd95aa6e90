"""Both DNA strands (bioseq.model.strands, ``--strand``): reverse complements by hand, augmentation, the
two-strand average, and the refusals."""

from __future__ import annotations

import numpy as np
import torch
from conftest import TINY_ARGS

from bioseq.cli import main as cli
from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.data.position_labels import UNSCORED
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.strands import augment, flip_batch, reverse, reverse_complement, reverse_complement_array


def test_reverse_complement_of_one_sequence_by_hand():
    assert np.array_equal(reverse_complement_array(encode("AACGR", DNA)), encode("YCGTT", DNA))


def test_reverse_complement_of_a_padded_batch_keeps_padding_zero():
    x, lengths = pad_batch([encode("ACG", DNA), encode("AATTC", DNA)])
    rc = reverse_complement(x, lengths)
    assert torch.equal(rc[0, :3], torch.from_numpy(encode("CGT", DNA))) and not rc[0, 3:].any()
    assert torch.equal(rc[1], torch.from_numpy(encode("GAATT", DNA)))
    assert torch.equal(reverse_complement(rc, lengths), x)  # twice is the identity


def test_augment_flips_about_half():
    arrays = [encode("AAAA", DNA)] * 1000
    flipped = sum(a[0, 3] == 1 for a in augment(arrays, np.random.default_rng(0)))  # TTTT starts with T
    assert 450 < flipped < 550


def test_both_strands_average_the_probabilities():
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=2, hidden=4, conv=False,
                                           strand="both").validate()).eval()
    x, lengths = pad_batch([encode("ACGTTGCA", DNA), encode("GGGAT", DNA)])
    with torch.no_grad():
        p = torch.softmax(model(x, lengths), -1)
        one = torch.softmax(model.strand_logits(x, lengths), -1)
        other = torch.softmax(model.strand_logits(reverse_complement(x, lengths), lengths), -1)
    assert torch.allclose(p, (one + other) / 2, atol=1e-6)
    rc, _ = pad_batch([reverse_complement_array(encode(s, DNA)) for s in ("ACGTTGCA", "GGGAT")])
    with torch.no_grad():
        assert torch.allclose(torch.softmax(model(rc, lengths), -1), p, atol=1e-6)  # strand-symmetric


def test_reverse_complement_of_a_hand_made_batch_with_its_labels():
    x, lengths = pad_batch([encode("ACG", DNA), encode("AATTC", DNA)])
    y = torch.tensor([[0, 1, 2, UNSCORED, UNSCORED], [0, 0, 1, 1, 2]])
    fx, fy = flip_batch(x, lengths, np.array([True, False]), y)
    assert torch.equal(fx[0, :3], torch.from_numpy(encode("CGT", DNA))) and not fx[0, 3:].any()
    assert fy[0].tolist() == [2, 1, 0, UNSCORED, UNSCORED]  # the labels reversed with their letters
    assert torch.equal(fx[1], x[1]) and torch.equal(fy[1], y[1])  # not drawn: unchanged
    assert flip_batch(x, lengths, np.array([True, True]))[1] is None  # a classifier's labels stay as they are
    logits = torch.arange(10.0).view(1, 5, 2)
    assert reverse(logits, torch.tensor([3]))[0].tolist() == [[4, 5], [2, 3], [0, 1], [0, 0], [0, 0]]


def test_a_labeller_averages_both_strands_position_by_position():
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=3, task="label", conv_pool=1, hidden=4,
                                           strand="both").validate()).eval()
    x, lengths = pad_batch([encode("ACGTTGCA", DNA), encode("GGGAT", DNA)])
    with torch.no_grad():
        out = model(x, lengths)
        one = torch.softmax(model.strand_logits(x, lengths), -1)
        other = torch.softmax(reverse(model.strand_logits(reverse_complement(x, lengths), lengths), lengths), -1)
    assert torch.allclose(torch.softmax(out, -1)[1, :5], ((one + other) / 2)[1, :5], atol=1e-6)
    assert not out[1, 5:].any()  # zero past the length, as every labeller's logits


def test_a_labeller_trains_on_both_strands(bioseq_home):
    from bioseq.training.config import TrainConfig
    from bioseq.training.loop import train

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(24)]
    arrays = [encode(s, DNA) for s in seqs]
    tracks = [np.array([int(c in "GC") for c in s]) for s in seqs]  # strand-symmetric: G/C vs A/T
    torch.manual_seed(0)
    model = SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=2, task="label", conv_pool=1, hidden=8,
                                           conv_filters=8, conv_width=3, strand="augment").validate())
    r = train(model, arrays, tracks, arrays[:8], tracks[:8], TrainConfig(epochs=30, batch_size=8, lr=3e-2,
                                                                          device="cpu", patience=30))
    train_acc = [h["accuracy"] for h in r.history if h["split"] == "train"]
    assert train_acc[-1] > 0.95 and r.val_metrics["accuracy"] > 0.95  # kept at its own positions: they agree


def test_protein_refuses_strands(protein_fasta, bioseq_home, capsys):
    assert cli(["train", str(protein_fasta), "--strand", "augment", "--epochs", "1", "--quiet"]) == 2
    assert "--strand augment reads both DNA strands; PROTEIN has one strand" in capsys.readouterr().err


def test_train_with_both_strands(dna_fasta, bioseq_home, capsys):
    assert cli(["train", str(dna_fasta), "--strand", "both", "--epochs", "1", *TINY_ARGS, "--name", "two",
                "--quiet"]) == 0
    assert cli(["info", "two"]) == 0
    assert "strand" in capsys.readouterr().out
