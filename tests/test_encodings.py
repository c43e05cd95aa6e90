"""Input encodings (bioseq.model.encodings, ``--encoding``): the BLOSUM62 and physicochemical rows by hand, the
k-mer vectors of a hand-made sequence, padding, gradients on the one-hot input, the refusals, and files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY, TINY_ARGS

from bioseq.cli import main as cli
from bioseq.data.alphabets import DNA, PROTEIN
from bioseq.data.encoding import encode, pad_batch
from bioseq.errors import InputError
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.encodings import PHYSCHEM, blosum62_rows, out_size, physchem_rows
from bioseq.model.store import ModelBundle, load_model, read_meta, save_model

# BLOSUM62's row of A over ACDEFGHIKLMNPQRSTVWY, as printed in Henikoff & Henikoff (1992)
A_ROW = [4, 0, -2, -1, -2, 0, -2, -1, -1, -1, -1, -2, -1, -1, -1, 1, 0, 0, -3, -2]


def _model(encoding: str, size: int, **cfg) -> SequenceClassifier:
    torch.manual_seed(0)
    return SequenceClassifier(ModelConfig(alphabet_size=size, n_classes=2, **{**TINY, "encoding": encoding, **cfg})
                              ).eval()


def test_blosum62_row_of_alanine_and_tryptophan():
    rows = blosum62_rows()
    assert rows.shape == (20, 20)
    assert rows[PROTEIN.letters.index("A")].tolist() == [v / 4 for v in A_ROW]
    assert rows[PROTEIN.letters.index("W"), PROTEIN.letters.index("W")] == 11 / 4
    assert np.array_equal(rows, rows.T)  # the matrix is symmetric


def test_blosum62_is_the_models_first_layer_and_mixes_ambiguity_codes():
    model = _model("blosum62", 20)
    x, lengths = pad_batch([encode("AB", PROTEIN)])  # B = half D, half N
    out = model.encode(x, lengths)[0]
    assert torch.equal(out[0], torch.tensor([v / 4 for v in A_ROW]))
    d, n = (blosum62_rows()[PROTEIN.letters.index(c)] for c in "DN")
    assert torch.allclose(out[1], torch.from_numpy((d + n) / 2))
    assert model.front.conv.in_channels == out_size(model.cfg) == 20


def test_physchem_rows_keep_one_hot_and_standardise_four_scales():
    rows = physchem_rows()
    assert rows.shape == (20, 24) and np.array_equal(rows[:, :20], np.eye(20))
    assert np.allclose(rows[:, 20:].mean(0), 0, atol=1e-6) and np.allclose(rows[:, 20:].std(0), 1, atol=1e-5)
    k, d, i = (PROTEIN.letters.index(c) for c in "KDI")
    assert rows[k, 21] > 0 > rows[d, 21]  # charge: lysine positive, aspartate negative
    assert rows[i, 20] == rows[:, 20].max()  # isoleucine: the most hydrophobic on Kyte-Doolittle (4.5)
    assert PHYSCHEM["I"][0] == 4.5 and PHYSCHEM["W"][2] == 227.8


def test_kmer_vectors_of_a_hand_made_sequence():
    model = _model("kmer", 4, kmer=3, embed_size=64)
    with torch.no_grad():
        model.encode.embed.weight.copy_(torch.eye(64))  # the embedding shows the k-mer vector itself
    x, lengths = pad_batch([encode("ACGN", DNA), encode("AC", DNA)])
    v = model.encode(x, lengths).detach()
    A, C, G = 0, 1, 2
    assert v[0, 1].tolist() == torch.nn.functional.one_hot(torch.tensor(A * 16 + C * 4 + G), 64).float().tolist()
    # position 0: the letter before the sequence is unknown, 1/4 on each of xAC
    assert sorted(torch.nonzero(v[0, 0]).flatten().tolist()) == [a * 16 + A * 4 + C for a in range(4)]
    assert torch.allclose(v[0, 0][v[0, 0] > 0], torch.full((4,), 0.25))
    # position 2 is C G N: N spreads over four k-mers; the second record's padding stays zero
    assert torch.allclose(v[0, 2][[C * 16 + G * 4 + t for t in range(4)]], torch.full((4,), 0.25))
    assert not v[1, 2:].any()


@pytest.mark.parametrize("encoding,size,extra", [("onehot", 4, {}), ("blosum62", 20, {}), ("physchem", 20, {}),
                                                  ("embedding", 20, {"embed_size": 5}), ("kmer", 4, {"kmer": 2})])
def test_padding_changes_nothing_and_gradients_reach_the_one_hot_input(encoding, size, extra):
    model = _model(encoding, size, **extra)
    alphabet = DNA if size == 4 else PROTEIN
    x, lengths = pad_batch([encode("ACGTACGTAC", alphabet), encode("CATG", alphabet)])
    x.requires_grad_(True)
    out = model(x, lengths)
    alone = model(x[1:, :4].detach(), lengths[1:])
    assert torch.allclose(out[1], alone[0], atol=1e-6)
    out[:, 1].sum().backward()
    assert x.grad.shape == x.shape and x.grad[:, :4].abs().sum() > 0  # saliency sees the one-hot letters


def test_protein_encodings_need_protein_and_kmers_a_small_alphabet():
    with pytest.raises(ValueError, match="blosum62 encoding is for protein"):
        ModelConfig(alphabet_size=4, n_classes=2, encoding="blosum62").validate()
    with pytest.raises(ValueError, match="8,000 k-mers, more than 4,096"):
        ModelConfig(alphabet_size=20, n_classes=2, encoding="kmer", kmer=3).validate()
    with pytest.raises(InputError, match="unknown encoding 'bag'"):
        ModelConfig(alphabet_size=4, n_classes=2, encoding="bag").validate()


def test_cli_refuses_blosum62_for_dna(dna_fasta, bioseq_home, capsys):
    assert cli(["train", str(dna_fasta), "--encoding", "blosum62", "--epochs", "1", "--quiet", *TINY_ARGS]) == 2
    assert "--encoding blosum62 encodes amino acids; this data is DNA" in capsys.readouterr().err
    assert cli(["train", str(dna_fasta), "--encoding", "physchem", "--epochs", "1", "--quiet", *TINY_ARGS]) == 2
    assert "physchem encodes amino acids; this data is DNA" in capsys.readouterr().err


def test_an_encoded_model_saves_loads_and_predicts_the_same(tmp_path):
    model = _model("kmer", 4, kmer=3, embed_size=6)
    bundle = ModelBundle(model, DNA, ["a", "b"])
    save_model(tmp_path / "k.safetensors", bundle)
    again = load_model(tmp_path / "k.safetensors")
    assert again.model.cfg.encoding == "kmer" and again.model.cfg.embed_size == 6
    x, lengths = pad_batch([encode("ACGTTGCA", DNA)])
    assert torch.equal(again.model(x, lengths), model(x, lengths))
    fixed = ModelBundle(_model("blosum62", 20), PROTEIN, ["a", "b"])
    save_model(tmp_path / "b.safetensors", fixed)  # the fixed matrix is rebuilt, not saved
    assert "encode.rows" not in load_model(tmp_path / "b.safetensors").model.state_dict()


def test_a_one_hot_model_file_has_no_encoding_keys(tmp_path):
    save_model(tmp_path / "o.safetensors", ModelBundle(_model("onehot", 4), DNA, ["a", "b"]))
    config = read_meta(tmp_path / "o.safetensors")["config"]
    assert not {"encoding", "embed_size", "kmer"} & set(config)  # readable by earlier versions


def test_train_with_a_learned_embedding(protein_fasta, bioseq_home, capsys):
    assert cli(["train", str(protein_fasta), "--encoding", "embedding", "--embed-size", "4", "--epochs", "1",
                *TINY_ARGS, "--name", "emb", "--quiet"]) == 0
    assert cli(["info", "emb"]) == 0
    assert "embedding/4" in capsys.readouterr().out


@pytest.mark.parametrize("encoding,alphabet,seq", [("kmer", DNA, "ACGTACGTAAGG"),
                                                   ("blosum62", PROTEIN, "MKLVACDEFGHW")])
def test_every_attribution_method_explains_an_encoded_model(encoding, alphabet, seq):
    from bioseq.data.io import Record
    from bioseq.interpret.attribution import METHODS, explain

    bundle = ModelBundle(_model(encoding, alphabet.size), alphabet, ["a", "b"])
    for method in METHODS:
        df = explain(bundle, [Record("r1", "", seq, "f.fa", 1)], method)
        assert len(df) == len(seq) and np.isfinite(df["score"]).all(), method
