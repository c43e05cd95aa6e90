"""Ensembles in one model file (bioseq.model.ensemble, ``--seeds``): the mean of the members' probabilities,
one self-describing file, refused when inconsistent or truncated, a member taken out for the inside views."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_ARGS

from bioseq.cli import main as cli
from bioseq.data.alphabets import DNA
from bioseq.data.encoding import encode, pad_batch
from bioseq.data.io import Record
from bioseq.errors import ModelFileError
from bioseq.interpret.gates import gate_table
from bioseq.model.classifier import SequenceClassifier
from bioseq.model.config import ModelConfig
from bioseq.model.ensemble import Ensemble
from bioseq.model.store import ModelBundle, combine, load_model, read_meta, save_model
from bioseq.prediction.predict import predict_records


def _net(seed: int, hidden: int = 4, **kw) -> SequenceClassifier:
    torch.manual_seed(seed)
    return SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=2, hidden=hidden, conv=False, **kw).validate())


def _p(bundle, records):
    return np.stack([p for _, p in predict_records(bundle, records)])


def test_the_ensemble_averages_the_probabilities():
    nets = [_net(0), _net(1, hidden=6)]
    model = Ensemble(nets).eval()
    x, lengths = pad_batch([encode("ACGTAC", DNA), encode("GGA", DNA)])
    with torch.no_grad():
        mean = sum(torch.softmax(n.eval()(x, lengths), -1) for n in nets) / 2
        assert torch.allclose(torch.softmax(model(x, lengths), -1), mean, atol=1e-6)
    assert model.cfg.hidden == 4 and model.rnns is nets[0].rnns  # views read member 1


def test_members_must_agree():
    with pytest.raises(ValueError, match="member 2 disagrees with member 1 on n_classes"):
        Ensemble([_net(0), SequenceClassifier(ModelConfig(alphabet_size=4, n_classes=3, conv=False))])
    with pytest.raises(ValueError, match="at least two"):
        Ensemble([_net(0)])


@pytest.fixture
def saved(tmp_path):
    bundles = [ModelBundle(_net(s).eval(), DNA, ["a", "b"], meta={"name": f"m{s}"}) for s in range(3)]
    path = save_model(tmp_path / "ens.safetensors", combine(bundles))
    return path, bundles


def test_one_file_that_loads_and_predicts_the_mean(saved):
    path, bundles = saved
    loaded = load_model(path)
    meta = read_meta(path)
    assert loaded.size == 3 and meta["format_version"] == 3 and len(meta["ensemble"]["members"]) == 3
    records = [Record("r1", "", "ACGTTT", "x.fa", 1), Record("r2", "", "GCA", "x.fa", 2)]
    each = [_p(b, records) for b in bundles]
    assert abs(_p(loaded, records) - sum(each) / 3).max() < 1e-6
    member = loaded.member(1)
    assert member.size == 1 and abs(_p(member, records) - each[1]).max() < 1e-6
    with pytest.raises(IndexError, match="no member 4"):
        loaded.member(3)


def test_a_truncated_ensemble_is_refused(saved, tmp_path):
    path, _ = saved
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="not a readable safetensors file|damaged"):
        load_model(cut)


def test_an_inconsistent_ensemble_is_refused(saved, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path, _ = saved
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["bioseq"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["ensemble"]["members"][1]["hidden"] = 8  # the config of member 2 no longer fits its weights
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata={"bioseq": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="weights do not match the config"):
        load_model(bad)
    del tensors[next(k for k in tensors if k.startswith("members.2."))]
    save_file(tensors, str(bad), metadata={"bioseq": json.dumps(read_meta(path))})
    with pytest.raises(ModelFileError, match="weights do not match the config"):
        load_model(bad)


def test_train_seeds_gives_one_ensemble_file(dna_fasta, bioseq_home, capsys):
    assert cli(["train", str(dna_fasta), "--seeds", "2", "--epochs", "1", *TINY_ARGS, "--name", "pair",
                "--quiet"]) == 0
    capsys.readouterr()
    assert cli(["info", "pair"]) == 0
    out = capsys.readouterr().out
    assert "ensemble of 2: 2x" in out and "2 members (seeds)" in out
    meta = read_meta(bioseq_home / "models" / "pair.safetensors")
    assert meta["ensemble"]["seeds"] == [0, 1] and len(meta["ensemble"]["member_val_metrics"]) == 2
    assert cli(["predict", "pair", str(dna_fasta), "-o", str(bioseq_home / "p.csv")]) == 0


@pytest.mark.parametrize("method", ["saliency", "ig"])
def test_attributions_are_the_members_mean(saved, method):
    from bioseq.interpret.attribution import explain

    path, bundles = saved
    loaded = load_model(path)
    records = [Record("r1", "", "ACGTTTGA", "x.fa", 1)]
    target = explain(loaded, records, method)["target"].iloc[0]
    got = explain(loaded, records, method, target)["score"].to_numpy()
    each = [explain(b, records, method, target)["score"].to_numpy() for b in bundles]
    assert np.allclose(got, sum(each) / 3, atol=1e-6)


def test_inspect_looks_inside_the_member_chosen(saved, tmp_path, capsys):
    path, bundles = saved
    fasta = tmp_path / "r.fa"
    fasta.write_text(">r1\nACGTTTGA\n")
    records = [Record("r1", "", "ACGTTTGA", str(fasta), 1)]
    for n in (None, 2):
        out = tmp_path / f"gates{n}.csv"
        assert cli(["inspect", "gates", str(path), str(fasta), "-o", str(out)]
                   + ([] if n is None else ["--member", str(n)])) == 0
        assert f"member {n or 1} of 3" in capsys.readouterr().err
        want = gate_table(bundles[(n or 1) - 1], records)["value"].to_numpy()
        assert np.allclose(pd.read_csv(out)["value"].to_numpy(), want, atol=1e-6)
    assert cli(["inspect", "gates", str(path), str(fasta), "--member", "4"]) == 2
    assert "3 member(s)" in capsys.readouterr().err
